/**
 * `wirestack up` against Debian's wireguard-go, as a user runs it: the CLI in
 * a child process with a wg-quick file holding [Socks5] and
 * [TCPServerTunnel] sections, wireguard-go with Linux behind it in a network
 * namespace this test creates.
 *
 * Outer network: a veth pair, 10.92.0.1/24 in the root namespace (the
 * child's host UDP socket) and 10.92.0.2/24 in the namespace (wireguard-go
 * on UDP 51820, in its own mount namespace). Tunnel 10.93.0.0/24: wirestack
 * 10.93.0.1, wireguard-go 10.93.0.2, where the namespace runs an HTTP server
 * (a Node process) and dnsmasq as the tunnel's DNS. The host side is curl on
 * 127.0.0.1 through the SOCKS5 proxy, and an HTTP server of this process on
 * 127.0.0.1 that the peer reaches through the server tunnel. No other
 * address is used; every process is killed by PID and the namespace and
 * veth are removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { Up, freePort } from '../helpers/wirestack-up.js';
import { waitForOutput } from '../helpers/tun-traffic.js';
import {
  WireGuardGo, createVeth, mustRun, parseWgDump, runHost, wireguardToolsMissing, type Veth,
} from '../helpers/wireguard-go.js';

const OUR_OUTER = '10.92.0.1';
const GO_OUTER = '10.92.0.2';
const OUR_INNER = '10.93.0.1';
const GO_INNER = '10.93.0.2';
const GO_PORT = 51820;
const NS_HTTP_PORT = 8000;
const TUNNEL_PORT = 8080;
const NAME = 'svc.wg.test';
const FILE_BYTES = 4 << 20;
const HOST_BYTES = 3 << 20;


// CI runs as root with the packages installed: a missing capability or tool is a failure, not a skip.
const cannot = missingCapability() ?? wireguardToolsMissing()
  ?? (['curl', 'dnsmasq'].filter((c) => !haveCommand(c)).map((c) => `${c} missing (Debian package ${c})`)[0] ?? null);

/**
 * A static file server for the namespace: serves the files of argv[1] on
 * argv[2]:argv[3], prints `ready`, and exits by itself after two minutes so
 * it never outlives the test.
 */
const NS_HTTP_SCRIPT = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const [dir, host, port] = process.argv.slice(1);
setTimeout(() => process.exit(3), 120000).unref();
http.createServer((req, res) => {
  const file = path.join(dir, path.basename(req.url));
  fs.readFile(file, (err, data) => {
    if (err) { res.statusCode = 404; res.end('not found\\n'); return; }
    res.setHeader('content-type', 'application/octet-stream');
    res.end(data);
  });
}).listen(Number(port), host, () => console.log('ready'));
`;

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('wirestack up against wireguard-go in a network namespace: SOCKS5 in, server tunnel out', () => {
  let ns: Netns | null = null;
  let veth: Veth | null = null;
  let go: WireGuardGo | null = null;
  let up: Up | null = null;
  let web: http.Server | null = null;
  let dnsmasqLog = '';
  let dir = '';
  let socksPort = 0;
  let ourPort = 0;
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();
  const ourPub = encodeKey(suite.publicKey(ourPriv));
  const goPub = encodeKey(suite.publicKey(goPriv));
  const name = `wsu${process.pid % 100000}`;
  const uapiPath = `/var/run/wireguard/${name}.sock`;
  const nsFile = randomBytes(FILE_BYTES);
  const hostFile = randomBytes(HOST_BYTES);

  before(async () => {
    assert.equal(cannot, null, `wirestack up interop needs root, /dev/net/tun, the Debian packages wireguard-go wireguard-tools curl dnsmasq: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-wgup-'));
    fs.writeFileSync(join(dir, 'blob.bin'), nsFile);
    fs.writeFileSync(join(dir, 'hello.txt'), `hello from ${GO_INNER} behind wireguard-go\n`);

    // The loopback service the peer reaches through [TCPServerTunnel].
    web = http.createServer((req, res) => {
      if (req.url === '/blob') res.end(hostFile);
      else res.end(`host loopback server: ${req.method} ${req.url} from ${req.socket.remoteAddress}\n`);
    });
    await new Promise<void>((resolve) => web!.listen(0, '127.0.0.1', resolve));
    const webPort = (web.address() as net.AddressInfo).port;

    ns = Netns.create();
    veth = createVeth({ a: `wsu${process.pid % 100000}a`, b: 'wsub', aCidr: `${OUR_OUTER}/24`, bCidr: `${GO_OUTER}/24`, nsB: ns });
    go = await WireGuardGo.start(ns, 'wgu0');
    // No Endpoint for our peer: wireguard-go can only learn it from the handshake wirestack starts.
    await go.setconf([
      '[Interface]', `PrivateKey = ${encodeKey(goPriv)}`, `ListenPort = ${GO_PORT}`, '',
      '[Peer]', `PublicKey = ${ourPub}`, `AllowedIPs = ${OUR_INNER}/32`, '',
    ].join('\n'));
    await go.up(`${GO_INNER}/24`);

    // Services in the namespace, bound to the tunnel address (so only reachable through the tunnel).
    const httpd = ns.spawn(process.execPath, ['-e', NS_HTTP_SCRIPT, dir, GO_INNER, String(NS_HTTP_PORT)]);
    await waitForOutput(httpd, /^ready$/m, 10_000, 'HTTP server in the namespace');
    const dnsmasq = ns.spawn('dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--user=root', '--no-resolv', '--no-hosts', '--log-queries',
      '--log-facility=-', `--listen-address=${GO_INNER}`, '--bind-interfaces', '--port=53',
      '--local=/wg.test/', `--address=/${NAME}/${GO_INNER}`,
    ]);
    dnsmasq.stdout?.setEncoding('utf8').on('data', (s: string) => { dnsmasqLog += s; });
    dnsmasq.stderr?.setEncoding('utf8').on('data', (s: string) => { dnsmasqLog += s; });
    await waitForOutput(dnsmasq, /started, version/, 10_000, 'dnsmasq in the namespace');

    ourPort = await freePort('udp', '0.0.0.0');
    socksPort = await freePort('tcp', '127.0.0.1');
    const file = join(dir, `${name}.conf`);
    fs.writeFileSync(file, `# wirestack side of the wireguard-go interop test
[Interface]
PrivateKey = ${encodeKey(ourPriv)}
Address = ${OUR_INNER}/24
ListenPort = ${ourPort}
DNS = ${GO_INNER}

[Peer]
PublicKey = ${goPub}
Endpoint = ${GO_OUTER}:${GO_PORT}
AllowedIPs = ${GO_INNER}/32
PersistentKeepalive = 25

[Socks5]
BindAddress = 127.0.0.1:${socksPort}

[TCPServerTunnel]
ListenPort = ${TUNNEL_PORT}
Target = 127.0.0.1:${webPort}
`, { mode: 0o600 });
    up = Up.start([file, '--stats-interval', '1']);
    const ready = await up.wait((e) => e.event === 'up', 15_000, 'wirestack up');
    assert.equal(ready.name, name);
    assert.equal(ready.publicKey, ourPub);
    assert.equal(ready.listenPort, ourPort);
    assert.deepEqual(ready.dns, [GO_INNER]);
    assert.equal(ready.uapi, uapiPath);
  });

  after(async () => {
    try {
      up?.kill();
      if (web !== null) {
        web.closeAllConnections();
        await new Promise<void>((resolve) => web!.close(() => resolve()));
      }
    } finally {
      go?.stop();
      ns?.remove();
      veth?.remove();
      if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PersistentKeepalive makes wirestack initiate at once; wireguard-go answers and learns its endpoint', { timeout: 30_000 }, async () => {
    assert.ok(up !== null && go !== null);
    const hs = await up.wait((e) => e.event === 'handshake', 15_000, 'handshake');
    assert.equal(hs.peer, goPub);
    assert.equal(hs.initiator, true);
    assert.equal(hs.endpoint, `${GO_OUTER}:${GO_PORT}`);
    const endpoints = (await go.must('wg', ['show', 'wgu0', 'endpoints'])).trim();
    assert.equal(endpoints, `${ourPub}\t${OUR_OUTER}:${ourPort}`);
  });

  it('curl --socks5-hostname by address: a 4 MiB file from the HTTP server behind wireguard-go, byte-exact', { timeout: 60_000 }, async () => {
    const out = join(dir, 'socks-ip.out');
    const r = await runHost('curl', ['-sS', '--max-time', '40', '--fail', '--socks5-hostname', `127.0.0.1:${socksPort}`,
      '-o', out, `http://${GO_INNER}:${NS_HTTP_PORT}/blob.bin`], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, `curl through the SOCKS5 proxy failed: ${r.stderr}\n${up?.stderr ?? ''}`);
    const got = fs.readFileSync(out);
    assert.equal(got.length, FILE_BYTES);
    assert.equal(sha256(got), sha256(nsFile));
  });

  it('curl --socks5-hostname by name: the name is resolved by dnsmasq through the tunnel (DNS = in the config)', { timeout: 60_000 }, async () => {
    const r = await runHost('curl', ['-sS', '--max-time', '20', '--fail', '--socks5-hostname', `127.0.0.1:${socksPort}`,
      `http://${NAME}:${NS_HTTP_PORT}/hello.txt`], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `curl ${NAME} through the SOCKS5 proxy failed: ${r.stderr}\n${up?.stderr ?? ''}\ndnsmasq: ${dnsmasqLog}`);
    assert.equal(r.stdout, `hello from ${GO_INNER} behind wireguard-go\n`);
    // The query came through the tunnel, from wirestack's tunnel address, and nowhere else.
    assert.match(dnsmasqLog, new RegExp(`query\\[A\\] ${NAME.replace(/\./g, '\\.')} from ${OUR_INNER.replace(/\./g, '\\.')}`));
    const big = join(dir, 'socks-name.out');
    const b = await runHost('curl', ['-sS', '--max-time', '40', '--fail', '--socks5-hostname', `127.0.0.1:${socksPort}`,
      '-o', big, `http://${NAME}:${NS_HTTP_PORT}/blob.bin`], { timeoutMs: 50_000 });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(sha256(fs.readFileSync(big)), sha256(nsFile));
  });

  it('a name the tunnel DNS does not know is refused by the proxy (host unreachable), not resolved on the host', { timeout: 30_000 }, async () => {
    const r = await runHost('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${socksPort}`,
      `http://nosuch.wg.test:${NS_HTTP_PORT}/hello.txt`], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    // curl: "Can't complete SOCKS5 connection to nosuch.wg.test. (4)": reply 4, host unreachable.
    assert.match(r.stderr, /SOCKS5 connection to nosuch\.wg\.test\. \(4\)/, r.stderr);
    assert.match(dnsmasqLog, /query\[A\] nosuch\.wg\.test from 10\.93\.0\.1/);
  });

  it('[TCPServerTunnel]: curl in the namespace reaches the host loopback server through the tunnel, byte-exact', { timeout: 60_000 }, async () => {
    assert.ok(ns !== null);
    const text = await ns.run('curl', ['-sS', '--max-time', '20', '--fail', `http://${OUR_INNER}:${TUNNEL_PORT}/from/the/peer`], { timeoutMs: 30_000 });
    assert.equal(text.code, 0, `curl from the namespace failed: ${text.stderr}\n${up?.stderr ?? ''}`);
    // The tunnel dials the target from the host's loopback.
    assert.equal(text.stdout, 'host loopback server: GET /from/the/peer from 127.0.0.1\n');
    const out = join(dir, 'tunnel.out');
    const r = await ns.run('curl', ['-sS', '--max-time', '40', '--fail', '-o', out, `http://${OUR_INNER}:${TUNNEL_PORT}/blob`], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    const got = fs.readFileSync(out);
    assert.equal(got.length, HOST_BYTES);
    assert.equal(sha256(got), sha256(hostFile));
  });

  it('wg show against the child\'s UAPI socket, and its transfer events, count the traffic', { timeout: 30_000 }, async () => {
    assert.ok(up !== null);
    const dump = parseWgDump(await mustRun('wg', ['show', name, 'dump'], { timeoutMs: 10_000 }));
    assert.equal(dump.publicKey, ourPub);
    assert.equal(dump.listenPort, ourPort);
    assert.equal(dump.peers.length, 1);
    const p = dump.peers[0];
    assert.equal(p.publicKey, goPub);
    assert.equal(p.endpoint, `${GO_OUTER}:${GO_PORT}`);
    assert.equal(p.keepalive, '25');
    const age = Date.now() / 1000 - p.latestHandshake;
    assert.ok(age >= -5 && age < 120, `latest handshake ${age.toFixed(0)} s ago`);
    // Two 4 MiB downloads came in, 3 MiB went out, plus headers.
    assert.ok(p.rx > 2 * FILE_BYTES && p.tx > HOST_BYTES, `rx ${p.rx} tx ${p.tx}`);
    const n0 = up.events.length;
    const t = await up.wait((e) => up!.events.indexOf(e) >= n0 && e.event === 'transfer', 5_000, 'transfer event');
    assert.ok(Number(t.rxBytes) >= p.rx && Number(t.txBytes) >= p.tx, JSON.stringify(t));
  });

  it('SIGTERM: the child shuts down cleanly, exits 0 and removes its UAPI socket', { timeout: 20_000 }, async () => {
    assert.ok(up !== null && up.child.pid !== undefined);
    process.kill(up.child.pid, 'SIGTERM');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exit = await Promise.race([
      up.exited,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no exit within 10 s: ${up?.stderr}`)), 10_000); }),
    ]).finally(() => clearTimeout(timer));
    assert.deepEqual(exit, { code: 0, signal: null }, up.stderr);
    assert.ok(up.events.some((e) => e.event === 'stopping' && e.signal === 'SIGTERM'));
    assert.equal(up.events.at(-1)?.event, 'down');
    assert.equal(fs.existsSync(uapiPath), false, 'UAPI socket removed');
    // The proxy port is free again.
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer().once('error', reject).listen(socksPort, '127.0.0.1', () => s.close(() => resolve()));
    });
  });
});
