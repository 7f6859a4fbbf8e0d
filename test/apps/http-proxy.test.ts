/**
 * The HTTP proxy ([HTTP] of `wirestack up`): listening on the host's
 * loopback, dialing into stack A, whose peer stack B runs an HTTP server, an
 * HTTPS server and TCP echo; real time on a MemoryLink cable. Clients are
 * curl (`-x`, `-p` for CONNECT, HTTPS through CONNECT) and Node's http.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { Stack } from '../../src/index.js';
import { createHttpProxy, type HttpProxy, type HttpProxyOptions } from '../../src/apps/http-proxy.js';
import { DEMO_CERT, DEMO_KEY } from '../../src/cli/demo-cert.js';
import { withStacks } from '../helpers/socks.js';

const B = '10.0.0.2';
const BLOB = randomBytes(3 << 20);

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** HTTP on B:80 (/blob: 3 MiB; POST: the body's sha256), HTTPS on B:443, TCP echo on B:7. */
function servers(b: Stack): () => void {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => h.update(c));
      req.on('end', () => res.end(`posted ${h.digest('hex')}`));
      return;
    }
    if (req.url === '/blob') {
      res.end(BLOB);
      return;
    }
    res.setHeader('x-seen-proxy-auth', String(req.headers['proxy-authorization'] !== undefined));
    res.end(`hello from B: ${req.method} ${req.url} from ${req.socket.remoteAddress}`);
  };
  const web = b.http.createServer(handler);
  web.listen(80);
  const secure = b.https.createServer({ key: DEMO_KEY, cert: DEMO_CERT }, handler);
  secure.listen(443);
  const echo = b.net.createServer((s) => s.pipe(s));
  echo.listen(7);
  return () => {
    web.close();
    secure.close();
    echo.close();
  };
}

async function withProxy(fn: (a: Stack, p: HttpProxy) => Promise<void>, options: Partial<HttpProxyOptions> = {}): Promise<void> {
  await withStacks(async (a, b) => {
    const stop = servers(b);
    a.net.resolver = async (h) => {
      if (h === 'web.wirestack.test') return B;
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    };
    const p = await createHttpProxy(a, { host: '127.0.0.1', port: 0, ...options });
    try {
      await fn(a, p);
    } finally {
      await p.close();
      stop();
    }
  }, { arpRetryMs: 100, arpMaxRequests: 2 });
}

/** curl with no proxy variables from the environment; resolves to { code, stdout (binary), stderr }. */
function curl(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 25000, encoding: 'buffer', maxBuffer: 64 << 20,
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

test('curl -x: absolute-form GET and POST, CONNECT with -p, HTTPS through CONNECT, byte-exact; names resolved by the stack', { timeout: 60000 }, () => withProxy(async (_a, p) => {
  const proxy = `http://127.0.0.1:${p.address().port}`;
  const hello = await curl(['-x', proxy, `http://${B}/x?y=1`]);
  assert.equal(hello.code, 0, hello.stderr);
  assert.equal(hello.stdout.toString(), 'hello from B: GET /x?y=1 from ::ffff:10.0.0.1');
  const byName = await curl(['-x', proxy, 'http://web.wirestack.test/named']);
  assert.equal(byName.stdout.toString(), 'hello from B: GET /named from ::ffff:10.0.0.1');
  const blob = await curl(['-x', proxy, `http://${B}/blob`]);
  assert.equal(blob.code, 0, blob.stderr);
  assert.equal(blob.stdout.length, BLOB.length);
  assert.equal(sha256(blob.stdout), sha256(BLOB));
  const post = await curl(['-x', proxy, '--data-binary', 'some body bytes', `http://${B}/up`]);
  assert.equal(post.stdout.toString(), `posted ${sha256(Buffer.from('some body bytes'))}`);
  assert.equal(p.stats.forwarded, 4);
  // -p: curl tunnels plain HTTP through CONNECT.
  const tunneled = await curl(['-p', '-x', proxy, `http://${B}/blob`]);
  assert.equal(tunneled.code, 0, tunneled.stderr);
  assert.equal(sha256(tunneled.stdout), sha256(BLOB));
  // HTTPS: CONNECT, TLS end to end with the server in stack B (self-signed: -k).
  const secure = await curl(['-k', '-x', proxy, `https://${B}/blob`]);
  assert.equal(secure.code, 0, secure.stderr);
  assert.equal(sha256(secure.stdout), sha256(BLOB));
  // HTTPS_PROXY from the environment, as curl and other tools read it.
  const env = await curl(['-k', 'https://web.wirestack.test/env'], { HTTPS_PROXY: proxy });
  assert.match(env.stdout.toString(), /^hello from B: GET \/env from /);
  assert.equal(p.stats.connects, 3);
  assert.equal(p.stats.upstreamFailures, 0);
}));

test('failures: refused port → 502, unknown name → 502, origin-form → 400, https:// in absolute form → 400', { timeout: 30000 }, () => withProxy(async (_a, p) => {
  const proxy = `http://127.0.0.1:${p.address().port}`;
  const refused = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, `http://${B}:81/`]);
  assert.equal(refused.stdout.toString(), '502');
  const noName = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, 'http://nosuch.wirestack.test/']);
  assert.equal(noName.stdout.toString(), '502');
  const connectRefused = await curl(['-p', '-x', proxy, `http://${B}:81/`]);
  assert.notEqual(connectRefused.code, 0);
  assert.match(connectRefused.stderr, /502/);
  const origin = await curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${p.address().port}/x`]);
  assert.equal(origin.stdout.toString(), '400');
  const absHttps = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: p.address().port, path: `https://${B}/` }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
  assert.equal(absHttps, 400);
  assert.equal(p.stats.upstreamFailures, 3);
  assert.equal(p.stats.badRequests, 2);
}));

test('Basic proxy auth: right credentials pass (and are not sent on), none or wrong ones get 407 with Proxy-Authenticate', { timeout: 30000 }, () => withProxy(async (_a, p) => {
  const port = p.address().port;
  const ok = await curl(['-D', '-', '-x', `http://alice:s3cret@127.0.0.1:${port}`, `http://${B}/auth`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout.toString(), /x-seen-proxy-auth: false/i);
  assert.match(ok.stdout.toString(), /hello from B: GET \/auth/);
  const okTls = await curl(['-k', '-x', `http://alice:s3cret@127.0.0.1:${port}`, `https://${B}/auth`]);
  assert.match(okTls.stdout.toString(), /^hello from B: GET \/auth from /);
  const none = await curl(['-D', '-', '-o', '/dev/null', '-x', `http://127.0.0.1:${port}`, `http://${B}/auth`]);
  assert.match(none.stdout.toString(), /^HTTP\/1\.1 407 /);
  assert.match(none.stdout.toString(), /proxy-authenticate: Basic realm="wirestack"/i);
  const wrong = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://alice:wrong@127.0.0.1:${port}`, `http://${B}/auth`]);
  assert.equal(wrong.stdout.toString(), '407');
  const wrongConnect = await curl(['-k', '-x', `http://alice:wrong@127.0.0.1:${port}`, `https://${B}/auth`]);
  assert.notEqual(wrongConnect.code, 0);
  assert.match(wrongConnect.stderr, /407/);
  assert.equal(p.stats.authFailures, 3);
  assert.equal(p.stats.forwarded + p.stats.connects, 2);
}, { username: 'alice', password: 's3cret' }));
