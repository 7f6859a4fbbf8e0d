/**
 * WireGuard interop against Debian's wireguard-go and wg.
 *
 * Outer network: a veth pair between the root namespace (10.91.0.1/24, where
 * this process's stack binds its host UDP socket) and a namespace the test
 * creates (10.91.0.2/24, wireguard-go on UDP 51820 in its own mount
 * namespace). Tunnel 10.90.0.0/24: wirestack 10.90.0.1, wireguard-go
 * 10.90.0.2. The Linux-side TCP peers are Node processes in the namespace
 * (test/helpers/tcp-peer.ts), curl and ping. Everything is killed by PID and
 * removed in `after`. No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Stack, getSuite, encodeKey } from '../../src/index.js';
import type { WireGuardInterface } from '../../src/wireguard/setup.js';
import type { UapiServer } from '../../src/wireguard/uapi.js';
import type { NativeUdpTransport } from '../../src/wireguard/transport-native.js';
import { defaultCryptThreads } from '../../src/wireguard/crypt-native.js';
import { Netns, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import {
  WireGuardGo, createVeth, mustRun, parseWgDump, wireguardToolsMissing, type Veth,
} from '../helpers/wireguard-go.js';
import { TCP_PEER_SCRIPT, patternSha256, writePattern, type PeerReport } from '../helpers/tcp-peer.js';
import { withTimeout } from '../helpers/timeout.js';

const OUR_OUTER = '10.91.0.1';
const GO_OUTER = '10.91.0.2';
const OUR_INNER = '10.90.0.1';
const GO_INNER = '10.90.0.2';
const GO_PORT = 51820;
const BULK = 64 << 20;

// CI runs as root with the packages installed: a missing capability or tool is a failure, not a skip.
const cannot = missingCapability() ?? wireguardToolsMissing();

/** Start the Node TCP peer in the namespace; resolves once it printed `ready` (listening modes). */
async function startPeer(ns: Netns, args: string[]): Promise<{ child: ChildProcess; report: Promise<PeerReport> }> {
  const child = ns.spawn(process.execPath, [TCP_PEER_SCRIPT, ...args]);
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (/^ready$/m.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcp-peer ${args.join(' ')} exited ${code} before ready: ${err}`)));
  });
  const report = new Promise<PeerReport>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as PeerReport);
      else reject(new Error(`tcp-peer ${args.join(' ')} exited ${code}: ${out}${err}`));
    });
  });
  report.catch(() => undefined);
  await withTimeout(ready, 10_000, 'tcp-peer ready');
  return { child, report };
}

function gbps(bytes: number, ms: number): string {
  return ((bytes * 8) / (ms / 1000) / 1e9).toFixed(2);
}

/** How our device runs its data path: crypt threads and UDP offload (the suite runs once per variant). */
interface Variant {
  label: string;
  /** undefined: the default (one per core). */
  cryptThreads?: number;
  udpOffload: boolean;
  /** Suffix of the host-side names, unique per variant. */
  tag: string;
}

const VARIANTS: Variant[] = [
  { label: 'crypt on every core (default), UDP GSO/GRO on', udpOffload: true, tag: 'n' },
  { label: '1 crypt thread, UDP GSO/GRO off', cryptThreads: 1, udpOffload: false, tag: '1' },
];

function interopSuite(v: Variant): void {
  let ns: Netns | null = null;
  let veth: Veth | null = null;
  let go: WireGuardGo | null = null;
  let stack: Stack | null = null;
  let wg: WireGuardInterface | null = null;
  let uapi: UapiServer | null = null;
  const events: Array<{ type: string; initiator?: boolean }> = [];
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();
  const ourPub = encodeKey(suite.publicKey(ourPriv));
  const goPub = encodeKey(suite.publicKey(goPriv));
  const ifname = `wst${process.pid % 100000}${v.tag}`;

  before(async () => {
    assert.equal(cannot, null, `WireGuard interop needs root, /dev/net/tun and the Debian packages wireguard-go wireguard-tools: ${cannot}`);
    ns = Netns.create();
    veth = createVeth({ a: `wsv${process.pid % 100000}${v.tag}`, b: 'wsvb', aCidr: `${OUR_OUTER}/24`, bCidr: `${GO_OUTER}/24`, nsB: ns });
    stack = new Stack({ seed: 90, maxTcpSockets: 8, tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
    wg = await stack.addWireGuard({
      name: ifname, privateKey: ourPriv, address: `${OUR_INNER}/24`, listenPort: 0, bindAddress: OUR_OUTER,
      peers: [{ publicKey: goPub, endpoint: `${GO_OUTER}:${GO_PORT}`, allowedIps: [`${GO_INNER}/32`] }],
      cryptThreads: v.cryptThreads, udpOffload: v.udpOffload,
    });
    // The variant took effect: batches on native crypt threads, offload as asked.
    const t = wg.device.transport as NativeUdpTransport;
    assert.equal(wg.device.crypter?.threads, v.cryptThreads ?? defaultCryptThreads());
    assert.equal(t.gso, v.udpOffload);
    assert.equal(t.gro, v.udpOffload);
    wg.on('handshake', (e: { initiator: boolean }) => events.push({ type: 'handshake', initiator: e.initiator }));
    stack.start();
    go = await WireGuardGo.start(ns, 'wgt0');
    await go.setconf([
      '[Interface]', `PrivateKey = ${encodeKey(goPriv)}`, `ListenPort = ${GO_PORT}`, '',
      '[Peer]', `PublicKey = ${ourPub}`, `Endpoint = ${OUR_OUTER}:${wg.listenPort}`, `AllowedIPs = ${OUR_INNER}/32`, '',
    ].join('\n'));
    await go.up(`${GO_INNER}/24`);
  });

  after(async () => {
    await uapi?.close().catch(() => undefined);
    try {
      stack?.stop();
    } finally {
      await wg?.close().catch(() => undefined);
      teardown(() => go?.stop(), () => ns?.remove(), () => veth?.remove());
    }
  });

  it('wireguard-go initiates: ping from its namespace reaches the stack, replies come back', { timeout: 30_000 }, async () => {
    assert.ok(go !== null && wg !== null);
    const r = await go.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', OUR_INNER], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, `ping ${OUR_INNER} from the namespace failed:\n${r.stdout}${r.stderr}\nwireguard-go: ${go.output}`);
    const st = wg.device.stats;
    assert.equal(st.initiationsSent, 0, 'we did not initiate');
    assert.ok(st.initiationsReceived >= 1);
    assert.ok(st.handshakesCompleted >= 1);
    assert.deepEqual(events[0], { type: 'handshake', initiator: false });
    assert.equal(st.rxBadAuth + st.rxReplay + st.rxBadSourceIp + st.rxMalformed + st.rxBadMac1, 0);
  });

  it('wirestack initiates: after dropping its sessions, stack.ping starts a handshake that wireguard-go answers', { timeout: 30_000 }, async () => {
    assert.ok(stack !== null && wg !== null && go !== null);
    const peer = wg.device.activePeers()[0];
    wg.device.dropSessions(peer);
    const sent0 = wg.device.stats.initiationsSent;
    const events0 = events.length;
    const rtt = await withTimeout(stack.ping(GO_INNER, { timeoutMs: 10_000 }), 15_000, 'ping through the tunnel');
    assert.ok(rtt >= 0);
    assert.ok(wg.device.stats.initiationsSent > sent0);
    assert.ok(wg.device.stats.responsesReceived >= 1);
    assert.deepEqual(events.slice(events0)[0], { type: 'handshake', initiator: true });
    for (let i = 0; i < 3; i++) await withTimeout(stack.ping(GO_INNER, { timeoutMs: 5000 }), 10_000, 'ping');
    const r = await go.run('ping', ['-c', '2', '-i', '0.2', '-W', '5', OUR_INNER], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('TCP 64 MiB from wirestack to Linux in the namespace, byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    const peer = await startPeer(ns, ['sink', '9001']);
    const t0 = performance.now();
    let reply = '';
    const closed = new Promise<void>((resolve, reject) => {
      const s = stack!.net.connect({ host: GO_INNER, port: 9001 }, () => writePattern(s, BULK));
      s.setEncoding('utf8');
      s.on('data', (d: string) => { reply += d; });
      s.on('end', () => resolve());
      s.on('error', reject);
    });
    await withTimeout(closed, 100_000, 'upload through the tunnel');
    const ms = performance.now() - t0;
    const far = await withTimeout(peer.report, 10_000, 'sink report');
    assert.equal(far.bytes, BULK);
    assert.equal(far.sha256, patternSha256(BULK));
    assert.deepEqual(JSON.parse(reply.trim()), far);
    console.log(`# wirestack -> wireguard-go/Linux: 64 MiB in ${ms.toFixed(0)} ms, ${gbps(BULK, ms)} Gbit/s`);
  });

  it('TCP 64 MiB from Linux in the namespace to wirestack, byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    const peer = await startPeer(ns, ['source', '9002', String(BULK)]);
    const t0 = performance.now();
    const hash = createHash('sha256');
    let bytes = 0;
    const ended = new Promise<void>((resolve, reject) => {
      const s = stack!.net.connect({ host: GO_INNER, port: 9002 });
      s.on('data', (d: Buffer) => {
        bytes += d.length;
        hash.update(d);
      });
      s.on('end', () => {
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
    await withTimeout(ended, 100_000, 'download through the tunnel');
    const ms = performance.now() - t0;
    await withTimeout(peer.report, 10_000, 'source exit');
    assert.equal(bytes, BULK);
    assert.equal(hash.digest('hex'), patternSha256(BULK));
    console.log(`# wireguard-go/Linux -> wirestack: 64 MiB in ${ms.toFixed(0)} ms, ${gbps(BULK, ms)} Gbit/s`);
  });

  it('curl in the namespace fetches a page from stack.http.createServer over the tunnel', { timeout: 30_000 }, async () => {
    assert.ok(stack !== null && go !== null);
    const body = `hello from wirestack over WireGuard ${ourPub}\n`;
    const app = stack.http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(req.url === '/hello' ? body : 'wrong path\n');
    });
    await new Promise<void>((resolve) => app.listen(8080, resolve));
    try {
      const r = await go.run('curl', ['-sS', '--max-time', '10', '-D', '-', `http://${OUR_INNER}:8080/hello`], { timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(r.stdout.endsWith(`\r\n\r\n${body}`), r.stdout);
    } finally {
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });

  it('wg show on the wireguard-go side lists our peer with a recent handshake and traffic', { timeout: 20_000 }, async () => {
    assert.ok(go !== null && wg !== null);
    const dump = parseWgDump(await go.must('wg', ['show', 'wgt0', 'dump']));
    assert.equal(dump.publicKey, goPub);
    assert.equal(dump.listenPort, GO_PORT);
    assert.equal(dump.peers.length, 1);
    const p = dump.peers[0];
    assert.equal(p.publicKey, ourPub);
    assert.equal(p.endpoint, `${OUR_OUTER}:${wg.listenPort}`);
    assert.equal(p.allowedIps, `${OUR_INNER}/32`);
    const age = Date.now() / 1000 - p.latestHandshake;
    assert.ok(age >= -5 && age < 180, `latest handshake ${age.toFixed(0)} s ago`);
    // 64 MiB went each way, plus headers.
    assert.ok(p.rx > BULK && p.tx > BULK, `rx ${p.rx} tx ${p.tx}`);
  });

  it('wg show against the wirestack UAPI socket lists the peer with a recent handshake and transfer counters', { timeout: 20_000 }, async () => {
    assert.ok(wg !== null);
    uapi = await wg.serveUapi();
    const dump = parseWgDump(await mustRun('wg', ['show', ifname, 'dump'], { timeoutMs: 10_000 }));
    assert.equal(dump.publicKey, ourPub);
    assert.equal(dump.privateKey, encodeKey(ourPriv));
    assert.equal(dump.listenPort, wg.listenPort);
    assert.equal(dump.peers.length, 1);
    const p = dump.peers[0];
    assert.equal(p.publicKey, goPub);
    assert.equal(p.endpoint, `${GO_OUTER}:${GO_PORT}`);
    assert.equal(p.allowedIps, `${GO_INNER}/32`);
    const age = Date.now() / 1000 - p.latestHandshake;
    assert.ok(age >= -5 && age < 180, `latest handshake ${age.toFixed(0)} s ago`);
    assert.ok(p.rx > BULK && p.tx > BULK, `rx ${p.rx} tx ${p.tx}`);
    // The human form too, as users read it.
    const text = await mustRun('wg', ['show', ifname], { timeoutMs: 10_000 });
    assert.match(text, new RegExp(`peer: ${goPub.replace(/[+/]/g, '\\$&')}`));
    assert.match(text, /latest handshake: .*(second|minute)s? ago/);
    assert.match(text, /transfer: [\d.]+ MiB received, [\d.]+ MiB sent/);
  });
}

for (const v of VARIANTS) describe(`WireGuard interop with wireguard-go in a network namespace: ${v.label}`, () => interopSuite(v));
