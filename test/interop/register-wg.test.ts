/**
 * Unmodified programs over wirestack against Debian's wireguard-go (issue
 * #12 items 1 and 2): a plain Node script run with
 * `node --import <dist>/src/register/index.js` (WIRESTACK_CONFIG), and
 * `wirestack up` with an [HTTP] section driven by `curl -x`.
 *
 * Outer network: a veth pair, 10.96.0.1/24 in the root namespace (the host
 * UDP sockets of the script and of `up`) and 10.96.0.2/24 in a namespace
 * this test creates (wireguard-go on UDP 51820, in its own mount
 * namespace). Tunnel 10.97.0.0/24: the script 10.97.0.1, `up` 10.97.0.3,
 * wireguard-go 10.97.0.2, where the namespace runs HTTP (:8000), HTTPS
 * (:8443, the demo certificate), UDP echo (:7) and dnsmasq as the tunnel's
 * DNS. No other address is used; every process is killed by PID and the
 * namespace and veth are removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { getSuite, encodeKey } from '../../src/index.js';
import { DEMO_CERT, DEMO_KEY } from '../../src/cli/demo-cert.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { Up, freePort } from '../helpers/wirestack-up.js';
import { WireGuardGo, createVeth, runHost, wireguardToolsMissing, type Veth } from '../helpers/wireguard-go.js';
import { runScript } from '../helpers/register-script.js';

const OUTER_HOST = '10.96.0.1';
const OUTER_GO = '10.96.0.2';
const SCRIPT_INNER = '10.97.0.1';
const GO_INNER = '10.97.0.2';
const UP_INNER = '10.97.0.3';
const GO_PORT = 51820;
const NAME = 'svc.wgr.test';
const FILE_BYTES = 4 << 20;

// CI runs as root with the packages installed: a missing capability or tool is a failure, not a skip.
const cannot = missingCapability() ?? wireguardToolsMissing()
  ?? (['curl', 'dnsmasq'].filter((c) => !haveCommand(c)).map((c) => `${c} missing (Debian package ${c})`)[0] ?? null);

/**
 * Services of the namespace, on the tunnel address only: HTTP and HTTPS
 * serving the files of argv[1], UDP echo; prints `ready`, exits by itself
 * after three minutes so it never outlives the test.
 */
const NS_SCRIPT = `
const http = require('node:http');
const https = require('node:https');
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const [dir, host] = process.argv.slice(1);
setTimeout(() => process.exit(3), 180000).unref();
const serve = (req, res) => {
  fs.readFile(path.join(dir, path.basename(req.url)), (err, data) => {
    if (err) { res.statusCode = 404; res.end('not found\\n'); return; }
    res.end(data);
  });
};
let n = 3;
const ready = () => { if (--n === 0) console.log('ready'); };
http.createServer(serve).listen(8000, host, ready);
https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, serve).listen(8443, host, ready);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(Buffer.concat([Buffer.from('echo: '), m]), r.port, r.address));
u.bind(7, host, ready);
`;

/** Connects from the namespace to argv[1]:argv[2] and prints what it gets until the end. */
const NS_CLIENT = `
const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
s.setEncoding('utf8');
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => { process.stdout.write(got); });
s.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => process.exit(2), 20000).unref();
`;

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Resolves once a child printed a line matching `re` (at most `ms`). */
function waitForOutput(child: ChildProcess, re: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within ${ms} ms: ${out}`)), ms);
    const on = (s: string): void => {
      out += s;
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.setEncoding('utf8').on('data', on);
    child.stderr?.setEncoding('utf8').on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before ready: ${out}`));
    });
  });
}

describe('unmodified programs against wireguard-go: --import register, and up with [HTTP]', () => {
  let ns: Netns | null = null;
  let veth: Veth | null = null;
  let go: WireGuardGo | null = null;
  let up: Up | null = null;
  let dir = '';
  let dnsmasqLog = '';
  let proxyPort = 0;
  const suite = getSuite('standard');
  const scriptPriv = suite.generatePrivateKey();
  const upPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();
  const goPub = encodeKey(suite.publicKey(goPriv));
  const blob = randomBytes(FILE_BYTES);
  const suffix = process.pid % 100000;

  /** A wg-quick file for one of our two sides. */
  const config = (priv: Uint8Array, inner: string, extra = ''): string => `[Interface]
PrivateKey = ${encodeKey(priv)}
Address = ${inner}/24
DNS = ${GO_INNER}

[Peer]
PublicKey = ${goPub}
Endpoint = ${OUTER_GO}:${GO_PORT}
AllowedIPs = ${GO_INNER}/32
${extra}`;

  before(async () => {
    assert.equal(cannot, null, `this interop test needs root, /dev/net/tun, the Debian packages wireguard-go wireguard-tools curl dnsmasq: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-regwg-'));
    fs.writeFileSync(join(dir, 'blob.bin'), blob);
    fs.writeFileSync(join(dir, 'hello.txt'), `hello from ${GO_INNER}\n`);
    fs.writeFileSync(join(dir, 'key.pem'), DEMO_KEY);
    fs.writeFileSync(join(dir, 'cert.pem'), DEMO_CERT);

    ns = Netns.create();
    veth = createVeth({ a: `wsr${suffix}a`, b: 'wsrb', aCidr: `${OUTER_HOST}/24`, bCidr: `${OUTER_GO}/24`, nsB: ns });
    go = await WireGuardGo.start(ns, 'wgr0');
    await go.setconf([
      '[Interface]', `PrivateKey = ${encodeKey(goPriv)}`, `ListenPort = ${GO_PORT}`, '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(scriptPriv))}`, `AllowedIPs = ${SCRIPT_INNER}/32`, '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(upPriv))}`, `AllowedIPs = ${UP_INNER}/32`, '',
    ].join('\n'));
    await go.up(`${GO_INNER}/24`);
    const services = ns.spawn(process.execPath, ['-e', NS_SCRIPT, dir, GO_INNER]);
    await waitForOutput(services, /^ready$/m, 10_000, 'services in the namespace');
    const dnsmasq = ns.spawn('dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--user=root', '--no-resolv', '--no-hosts', '--log-queries',
      '--log-facility=-', `--listen-address=${GO_INNER}`, '--bind-interfaces', '--port=53',
      '--local=/wgr.test/', `--address=/${NAME}/${GO_INNER}`,
    ]);
    dnsmasq.stdout?.setEncoding('utf8').on('data', (s: string) => { dnsmasqLog += s; });
    dnsmasq.stderr?.setEncoding('utf8').on('data', (s: string) => { dnsmasqLog += s; });
    await waitForOutput(dnsmasq, /started, version/, 10_000, 'dnsmasq in the namespace');

    proxyPort = await freePort('tcp', '127.0.0.1');
    const upFile = join(dir, `wsr${suffix}.conf`);
    fs.writeFileSync(upFile, config(upPriv, UP_INNER, `PersistentKeepalive = 25

[HTTP]
BindAddress = 127.0.0.1:${proxyPort}
Username = alice
Password = s3cret
`), { mode: 0o600 });
    up = Up.start([upFile, '--no-uapi']);
    await up.wait((e) => e.event === 'up', 15_000, 'wirestack up');
    await up.wait((e) => e.event === 'http-proxy', 1_000, 'http-proxy event');
  });

  after(() => {
    try {
      up?.kill();
    } finally {
      go?.stop();
      ns?.remove();
      veth?.remove();
      if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('node --import register: fetch and http.get (4 MiB, sha256), HTTPS, dns.lookup through the tunnel DNS, UDP, the peer reaches the script\'s server, loopback untouched', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null);
    const nsRef = ns;
    let reached: Promise<string> | null = null;
    let reachedTunnelOnly: Promise<string> | null = null;
    const run = await runScript(join(dir), config(scriptPriv, SCRIPT_INNER),
      { PEER: GO_INNER, HTTP_PORT: '8000', HTTPS_PORT: '8443', UDP_PORT: '7', NAME, SELF: SCRIPT_INNER, NODE_TLS_REJECT_UNAUTHORIZED: '0' }, (l) => {
        if (l.what === 'listening') {
          // The peer (Linux behind wireguard-go) connects to the script's server on the script's tunnel address.
          reached = nsRef.run(process.execPath, ['-e', NS_CLIENT, SCRIPT_INNER, String(l.port)], { timeoutMs: 30_000 })
            .then((r) => r.stdout + r.stderr);
          reachedTunnelOnly = nsRef.run(process.execPath, ['-e', NS_CLIENT, SCRIPT_INNER, String(l.tunnelOnlyPort)], { timeoutMs: 30_000 })
            .then((r) => r.stdout + r.stderr);
        }
      });
    const by = (w: string): Record<string, unknown> => {
      const l = run.lines.find((x) => x.what === w);
      assert.ok(l !== undefined, `no '${w}' line: ${JSON.stringify(run.lines)}\nstderr: ${run.stderr}\ndnsmasq: ${dnsmasqLog}`);
      return l;
    };
    assert.equal(run.lines.find((l) => l.what === 'error'), undefined, `${JSON.stringify(run.lines)}\n${run.stderr}`);
    assert.deepEqual(by('fetch'), { what: 'fetch', status: 200, length: FILE_BYTES, sha: sha256(blob) });
    assert.deepEqual(by('http.get'), { what: 'http.get', status: 200, length: FILE_BYTES, sha: sha256(blob) });
    assert.equal(by('hello').body, `hello from ${GO_INNER}\n`);
    assert.deepEqual(by('dns'), { what: 'dns', lookup: { address: GO_INNER, family: 4 }, promises: { address: GO_INNER, family: 4 },
      byName: `hello from ${GO_INNER}\n` });
    // The name went to dnsmasq through the tunnel, from the script's tunnel address.
    assert.match(dnsmasqLog, new RegExp(`query\\[A\\] ${NAME.replace(/\./g, '\\.')} from ${SCRIPT_INNER.replace(/\./g, '\\.')}`));
    assert.deepEqual(by('https'), { what: 'https', viaGet: `hello from ${GO_INNER}\n`, viaFetch: `hello from ${GO_INNER}\n` });
    assert.deepEqual(by('tunnel-only'), { what: 'tunnel-only', address: { address: SCRIPT_INNER, family: 'IPv4', port: by('listening').tunnelOnlyPort },
      listening: true, loopback: 'ECONNREFUSED' });
    assert.ok(reachedTunnelOnly !== null);
    assert.equal(await reachedTunnelOnly, `tunnel-only server to ${GO_INNER}\n`);
    assert.deepEqual(by('udp'), { what: 'udp', text: 'echo: ping over udp', from: `${GO_INNER}:7` });
    assert.deepEqual(by('loopback'), { what: 'loopback', viaFetch: { remote: '127.0.0.1', host: true }, viaGet: { remote: '127.0.0.1', host: true } });
    assert.deepEqual(by('served'), { what: 'served', from: GO_INNER });
    assert.ok(reached !== null, 'the script printed its port');
    assert.equal(await reached, `hello from the script to ${GO_INNER}\n`);
    assert.deepEqual(by('exit'), { what: 'exit', code: 0 });
    assert.equal(run.code, 0, run.stderr);
  });

  it('curl -x through up\'s [HTTP]: absolute-form HTTP and HTTPS through CONNECT, byte-exact; wrong credentials get 407', { timeout: 60_000 }, async () => {
    const proxy = `http://alice:s3cret@127.0.0.1:${proxyPort}`;
    for (const [how, url, extra] of [
      ['absolute-form', `http://${GO_INNER}:8000/blob.bin`, []],
      ['CONNECT (-p)', `http://${GO_INNER}:8000/blob.bin`, ['-p']],
      ['HTTPS through CONNECT', `https://${GO_INNER}:8443/blob.bin`, ['-k']],
      ['by a name the tunnel DNS resolves', `https://${NAME}:8443/blob.bin`, ['-k']],
    ] as const) {
      const out = join(dir, 'proxy.out');
      const r = await runHost('curl', ['-sS', '--fail', '--max-time', '40', ...extra, '-x', proxy, '-o', out, url],
        { timeoutMs: 50_000 });
      assert.equal(r.code, 0, `${how}: ${r.stderr}\n${up?.stderr ?? ''}`);
      const got = fs.readFileSync(out);
      assert.equal(got.length, FILE_BYTES, how);
      assert.equal(sha256(got), sha256(blob), how);
    }
    const wrong = await runHost('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', `http://alice:nope@127.0.0.1:${proxyPort}`,
      `http://${GO_INNER}:8000/hello.txt`], { timeoutMs: 30_000 });
    assert.equal(wrong.stdout, '407');
    const none = await runHost('curl', ['-sS', '-k', '-x', `http://127.0.0.1:${proxyPort}`, `https://${GO_INNER}:8443/hello.txt`], { timeoutMs: 30_000 });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /407/);
  });
});
