/**
 * createHttpServer / createHttpsServer / staticFiles, in REAL time over two
 * started stacks on a MemoryLink cable (Node's http/tls run on real timers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import {
  MemoryLink, Stack, createHttpServer, createHttpsServer, staticFiles, contentTypeOf, type HttpApp, type NetSocket,
} from '../../src/index.js';

async function withPair(fn: (a: Stack, b: Stack) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 21 });
  const b = new Stack({ seed: 22 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  try {
    await fn(a, b);
  } finally {
    a.stop();
    b.stop();
  }
}

function listen<S extends http.Server>(app: HttpApp<S>, port: number): Promise<void> {
  return new Promise((resolve) => { app.listen(port, resolve); });
}

function close<S extends http.Server>(app: HttpApp<S>): Promise<void> {
  return new Promise((resolve, reject) => { app.close((err) => err ? reject(err) : resolve()); });
}

/** A keep-alive agent whose connections are the client stack's sockets. */
class StackAgent extends http.Agent {
  connections = 0;
  constructor(private readonly stack: Stack) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    this.connections++;
    return this.stack.net.connect(Number(options.port), String(options.host));
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  localPort: number;
}

function request(agent: http.Agent, method: string, path: string, port = 80, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '10.0.0.2', port, method, path, agent, headers }, (res) => {
      const localPort = (res.socket as unknown as NetSocket).localPort ?? 0;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), localPort }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-cert-'));
  try {
    const k = join(dir, 'k.pem');
    const c = join(dir, 'c.pem');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-subj', '/CN=test', '-days', '1', '-keyout', k, '-out', c], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`the HTTPS test needs the openssl CLI to make a self-signed certificate: ${(e as Error).message}`);
    }
    return { key: readFileSync(k, 'utf8'), cert: readFileSync(c, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('createHttpServer: requests with keep-alive over one connection, address(), close()', { timeout: 15000 }, () => withPair(async (a, b) => {
  let seen = 0;
  const app = createHttpServer(b, (req, res) => {
    seen++;
    res.setHeader('content-type', 'text/plain');
    res.end(`#${seen} ${req.method} ${req.url} from ${req.socket.remoteAddress}`);
  });
  await listen(app, 80);
  assert.deepEqual(app.address(), { address: '::', family: 'IPv6', port: 80 });
  const agent = new StackAgent(a);
  try {
    const r1 = await request(agent, 'GET', '/one');
    const r2 = await request(agent, 'GET', '/two?x=1');
    const r3 = await request(agent, 'DELETE', '/three');
    assert.equal(r1.body.toString(), '#1 GET /one from ::ffff:10.0.0.1');
    assert.equal(r2.body.toString(), '#2 GET /two?x=1 from ::ffff:10.0.0.1');
    assert.equal(r3.body.toString(), '#3 DELETE /three from ::ffff:10.0.0.1');
    assert.equal(r1.headers.connection, 'keep-alive');
    assert.equal(agent.connections, 1, 'one TCP connection for all three requests');
    assert.equal(r1.localPort, r3.localPort);
    assert.equal(app.connections, 1);
  } finally {
    agent.destroy();
  }
  await close(app);
  assert.equal(app.address(), null);
  assert.equal(app.connections, 0);
}));

test('close() ends a busy keep-alive connection after its response', { timeout: 15000 }, () => withPair(async (a, b) => {
  let release: () => void = () => undefined;
  const app = createHttpServer(b, (_req, res) => {
    release = () => res.end('late');
  });
  await listen(app, 80);
  const agent = new StackAgent(a);
  try {
    const pending = request(agent, 'GET', '/slow');
    while (app.connections === 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    const closed = close(app);
    release();
    const r = await pending;
    assert.equal(r.body.toString(), 'late');
    assert.equal(r.headers.connection, 'close');
    await closed;
  } finally {
    agent.destroy();
  }
}));

test('close() also ends a connection whose response headers were already sent', { timeout: 15000 }, () => withPair(async (a, b) => {
  let release: () => void = () => undefined;
  const app = createHttpServer(b, (_req, res) => {
    res.write('early ');
    release = () => res.end('late');
  });
  await listen(app, 80);
  const agent = new StackAgent(a);
  try {
    const pending = request(agent, 'GET', '/streaming');
    while (app.connections === 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    let closedAt = 0;
    const closed = close(app).then(() => { closedAt = Date.now(); });
    release();
    const r = await pending;
    assert.equal(r.body.toString(), 'early late');
    const t = Date.now();
    await closed;
    assert.ok(closedAt - t < 1000, 'closed promptly, not after keepAliveTimeout');
    assert.equal(app.connections, 0);
  } finally {
    agent.destroy();
  }
}));

test('staticFiles: 200 with content-type and length, index.html, HEAD, 404, 405, traversal refused', { timeout: 15000 }, () => withPair(async (a, b) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-www-'));
  const outside = mkdtempSync(join(tmpdir(), 'wirestack-secret-'));
  try {
    writeFileSync(join(dir, 'index.html'), '<h1>home</h1>');
    writeFileSync(join(dir, 'data.json'), '{"ok":true}');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a b.txt'), 'spaced');
    const big = Buffer.alloc(300000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(outside, 'secret.txt'), 'top secret');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));

    const app = createHttpServer(b, staticFiles(dir));
    await listen(app, 8080);
    const agent = new StackAgent(a);
    const get = (path: string, method = 'GET'): Promise<Reply> => request(agent, method, path, 8080);
    try {
      const home = await get('/');
      assert.equal(home.status, 200);
      assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(home.body.toString(), '<h1>home</h1>');

      const json = await get('/data.json');
      assert.equal(json.status, 200);
      assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(json.headers['content-length'], '11');
      assert.deepEqual(JSON.parse(json.body.toString()), { ok: true });

      const spaced = await get('/sub/a%20b.txt');
      assert.equal(spaced.body.toString(), 'spaced');
      assert.equal(spaced.headers['content-type'], 'text/plain; charset=utf-8');

      const bin = await get('/big.bin');
      assert.equal(bin.headers['content-type'], 'application/octet-stream');
      assert.ok(bin.body.equals(big), '300 kB file byte-exact');

      const head = await get('/data.json', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '11');
      assert.equal(head.body.length, 0);

      assert.equal((await get('/missing.txt')).status, 404);
      assert.equal((await get('/missing.txt', 'HEAD')).status, 404);
      const post = await get('/data.json', 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');

      for (const evil of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/sub/%2E%2E/%2e%2e/etc/passwd',
        '/..%2fsecret.txt', '/..%5csecret.txt', '/a%00b']) {
        const r = await get(evil);
        assert.equal(r.status, 403, `${evil} refused`);
        assert.ok(!r.body.toString().includes('top secret'));
      }
      const link = await get('/link.txt');
      assert.equal(link.status, 403, 'a symbolic link out of the tree is refused');
      assert.equal(agent.connections, 1, 'all over one keep-alive connection');
    } finally {
      agent.destroy();
    }
    await close(app);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
  assert.equal(contentTypeOf('x.PNG'), 'image/png');
  assert.equal(contentTypeOf('noext'), 'application/octet-stream');
}));

test('staticFiles: Range (206, 416, multi-range refused to one), ETag and Last-Modified conditional GET (304), If-Range, hidden files', { timeout: 15000 }, () => withPair(async (a, b) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-www-'));
  try {
    const big = Buffer.alloc(300000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(dir, '.env'), 'SECRET=1');
    const app = createHttpServer(b, staticFiles(dir));
    await listen(app, 8080);
    const agent = new StackAgent(a);
    const get = (path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Reply> => request(agent, method, path, 8080, headers);
    try {
      const full = await get('/big.bin');
      assert.equal(full.status, 200);
      assert.equal(full.headers['accept-ranges'], 'bytes');
      const etag = full.headers.etag;
      assert.ok(typeof etag === 'string' && etag.length > 2, 'an ETag');
      const lastModified = full.headers['last-modified'];
      assert.ok(typeof lastModified === 'string');

      const part = await get('/big.bin', { range: 'bytes=1000-1999' });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 1000-1999/${big.length}`);
      assert.equal(part.headers['content-length'], '1000');
      assert.ok(part.body.equals(big.subarray(1000, 2000)), 'the asked bytes');
      const tail = await get('/big.bin', { range: 'bytes=-500' });
      assert.equal(tail.status, 206);
      assert.ok(tail.body.equals(big.subarray(big.length - 500)), 'a suffix range');
      const beyond = await get('/big.bin', { range: `bytes=${big.length}-` });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers['content-range'], `bytes */${big.length}`);

      const same = await get('/big.bin', { 'if-none-match': etag });
      assert.equal(same.status, 304);
      assert.equal(same.body.length, 0);
      assert.equal((await get('/big.bin', { 'if-none-match': '"other"' })).status, 200);
      assert.equal((await get('/big.bin', { 'if-modified-since': lastModified })).status, 304);
      // If-Range with a stale validator: the whole file instead of the range.
      const stale = await get('/big.bin', { range: 'bytes=0-9', 'if-range': '"stale"' });
      assert.equal(stale.status, 200);
      assert.equal(stale.body.length, big.length);
      const fresh = await get('/big.bin', { range: 'bytes=0-9', 'if-range': etag });
      assert.equal(fresh.status, 206);
      assert.equal(fresh.body.length, 10);

      assert.equal((await get('/.env')).status, 404, 'hidden files are not served');
    } finally {
      agent.destroy();
    }
    await close(app);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('createHttpsServer: https.request through tls.connect({ socket }) over our sockets, keep-alive', { timeout: 20000 }, () => withPair(async (a, b) => {
  const { key, cert } = selfSigned();
  const app = createHttpsServer(b, { key, cert }, (req, res) => {
    const s = req.socket as tls.TLSSocket;
    res.end(`secure=${s.encrypted === true} ${req.method} ${req.url}`);
  });
  await listen(app, 443);
  let opened = 0;
  class TlsAgent extends https.Agent {
    override createConnection(): Duplex {
      opened++;
      return tls.connect({ socket: a.net.connect(443, '10.0.0.2'), rejectUnauthorized: false });
    }
  }
  const agent = new TlsAgent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<{ status: number; text: string; cn: unknown }> => new Promise((resolve, reject) => {
    const req = https.request({ host: '10.0.0.2', port: 443, path, agent, rejectUnauthorized: false }, (res) => {
      const cn = (res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString(), cn }));
    });
    req.on('error', reject);
    req.end();
  });
  try {
    const r1 = await get('/hello');
    assert.equal(r1.status, 200);
    assert.equal(r1.text, 'secure=true GET /hello');
    assert.equal(r1.cn, 'test');
    const r2 = await get('/again');
    assert.equal(r2.text, 'secure=true GET /again');
    assert.equal(opened, 1, 'the TLS connection was kept alive');

    // A one-off request with createConnection in the request options.
    const r3 = await new Promise<string>((resolve, reject) => {
      const req = https.request({
        host: '10.0.0.2', port: 443, path: '/direct', rejectUnauthorized: false,
        createConnection: () => tls.connect({ socket: a.net.connect(443, '10.0.0.2'), rejectUnauthorized: false }),
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts).toString()));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r3, 'secure=true GET /direct');
  } finally {
    agent.destroy();
  }
  await close(app);
}));
