/**
 * WireGuard benchmark: TCP throughput through a tunnel, in one run, for
 *   1. wirestack (this process) ↔ wireguard-go, Linux TCP behind wireguard-go;
 *   2. wirestack ↔ wirestack in two Node processes (host UDP on loopback);
 *   3. wireguard-go ↔ wireguard-go in two namespaces, Linux TCP on both ends;
 * plus full handshakes per CPU-second between two WireGuardDevice objects in
 * one process (no network), for each suite.
 *
 *   node dist/bench/wireguard.js [--mib 256] [--runs 3] [--json]
 *
 * 1 and 3 need root (namespaces, TUN) and Debian's wireguard-go and
 * wireguard-tools; without them they are skipped with a line saying why.
 * Network traffic stays on loopback and in namespaces this script creates
 * (10.90.1-3.x tunnels, 10.91.1.x and 10.91.3.x outer), which it removes,
 * killing every process it started by PID.
 */
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Stack } from '../src/stack.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import { sendInitiation } from '../src/wireguard/send.js';
import { encodeKey, getSuite, type SuiteName } from '../src/wireguard/crypto/index.js';
import type { DatagramReceiver, WgTransport } from '../src/wireguard/transport.js';
import type { FrameReceiver } from '../src/link/link.js';
import type { WireGuardInterface } from '../src/wireguard/setup.js';
import { defaultCryptThreads } from '../src/wireguard/crypt-native.js';
import { Netns, missingCapability } from '../test/helpers/netns.js';
import { WireGuardGo, createVeth, killChild, wireguardToolsMissing, type Veth } from '../test/helpers/wireguard-go.js';
import { TCP_PEER_SCRIPT, patternPeriod, writePattern, type PeerReport } from '../test/helpers/tcp-peer.js';

/** Median Gbit/s of each direction, with every run's figure. A→B is from the first-named end. */
export interface PairFigure {
  pair: string;
  aToB: number[];
  bToA: number[];
  aToBMedian: number;
  bToAMedian: number;
  /** Counters of our device(s) worth a look when a figure is low. */
  notes?: string;
  /**
   * CPU-seconds per GiB moved (both directions, all runs) of each WireGuard
   * endpoint process: less sensitive than Gbit/s to a machine shared with
   * other work. A wirestack process's figure includes its TCP; wireguard-go's
   * does not include the kernel's TCP.
   */
  cpuPerGiB: Record<string, number>;
}

export interface HandshakeFigure {
  suite: SuiteName;
  handshakes: number;
  /** Full handshakes (initiation, response, confirmation; both ends' work) per CPU-second of this process. */
  perCpuSecond: number;
  /** The same per wall-clock second. */
  perSecond: number;
}

export interface WireGuardBenchResult {
  mib: number;
  runs: number;
  pairs: PairFigure[];
  skipped: string[];
  handshakes: HandshakeFigure[];
}

export interface WireGuardBenchOptions {
  /** MiB per transfer (default 256). */
  mib?: number;
  /** Transfers per direction (default 3; the median is reported). */
  runs?: number;
  /** Seconds of handshakes per suite (default 2). */
  handshakeSeconds?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

const MAX_RUN_MS = 180_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[(s.length - 1) >> 1];
}

function gbps(bytes: number, ms: number): number {
  return (bytes * 8) / (ms / 1000) / 1e9;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---- handshakes per second ----

/** Two transports wired back to back: what one sends, the other's device receives at once. */
class LoopTransport implements WgTransport {
  private rx: DatagramReceiver | null = null;
  other: LoopTransport | null = null;
  constructor(readonly port: number, private readonly address: number) {}
  send(b: Uint8Array, off: number, len: number): boolean {
    const o = this.other;
    if (o === null || o.rx === null) return false;
    o.rx(b, off, len, this.address, this.port);
    return true;
  }
  setReceiver(rx: DatagramReceiver | null): void {
    this.rx = rx;
  }
  close(): void {
    this.rx = null;
  }
}

const discard: FrameReceiver = { receiveFrame() { /* keepalives only */ } };

/**
 * Full handshakes between two devices: A's initiation, B's response, A's
 * confirming keepalive that B turns into its current session. Virtual time
 * steps past REKEY_TIMEOUT each round so every round is a fresh handshake.
 */
export function handshakeRate(suiteName: SuiteName, seconds = 2): HandshakeFigure {
  const suite = getSuite(suiteName);
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  let now = 0;
  const wallClock = (): number => 1_790_000_000_000 + now;
  const a = new WireGuardDevice({ suite, privateKey: aPriv, wallClock, maxPeers: 1, maxAllowedIps: 1, stagedPackets: 4 });
  const b = new WireGuardDevice({ suite, privateKey: bPriv, wallClock, maxPeers: 1, maxAllowedIps: 1, stagedPackets: 4 });
  const ta = new LoopTransport(1, 0x0a000001);
  const tb = new LoopTransport(2, 0x0a000002);
  ta.other = tb;
  tb.other = ta;
  a.attachTransport(ta);
  b.attachTransport(tb);
  const pa = a.addPeer({ publicKey: suite.publicKey(bPriv), endpoint: { address: '10.0.0.2', port: 2 } });
  b.addPeer({ publicKey: suite.publicKey(aPriv), endpoint: { address: '10.0.0.1', port: 1 } });
  const round = (): void => {
    now += 5001;
    sendInitiation(a, pa, now, false);
    b.poll(now, discard);
    a.poll(now, discard);
    b.poll(now, discard);
  };
  for (let i = 0; i < 20; i++) round(); // warm up the JIT
  const done0 = b.stats.handshakesCompleted;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (n < 1_000_000) {
    for (let i = 0; i < 16; i++) round();
    n += 16;
    if (performance.now() - t0 > seconds * 1000) break;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const completed = b.stats.handshakesCompleted - done0;
  if (completed !== n || a.stats.handshakesCompleted !== b.stats.handshakesCompleted) {
    throw new Error(`${suiteName}: ${n} rounds but ${completed} handshakes completed (a ${a.stats.handshakesCompleted}, b ${b.stats.handshakesCompleted})`);
  }
  a.close();
  b.close();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { suite: suiteName, handshakes: n, perCpuSecond: n / cpuSeconds, perSecond: n / (wallMs / 1000) };
}

// ---- CPU accounting ----

const CLK_TCK = ((): number => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** CPU-seconds (user + system) a process used so far; this process by cpuUsage, others from /proc. */
function cpuSeconds(pid: number | 'self'): number {
  if (pid === 'self') {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Sum the CPU the named processes spend in `fn` into `acc`. */
async function metered<T>(acc: Record<string, number>, procs: Record<string, number | 'self'>, fn: () => Promise<T>): Promise<T> {
  const before = Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)] as const);
  const r = await fn();
  for (const [k, c0] of before) acc[k] = (acc[k] ?? 0) + cpuSeconds(procs[k]) - c0;
  return r;
}

function perGiB(acc: Record<string, number>, bytes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(acc)) out[k] = v / (bytes / 2 ** 30);
  return out;
}

// ---- TCP through a tunnel, from a stack in this process ----

/** Send `bytes` to a sink on `host:9001`-style port; resolves with Gbit/s (connect to the sink's report). */
async function stackUpload(stack: Stack, host: string, port: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  let reply = '';
  await withTimeout(new Promise<void>((resolve, reject) => {
    const s = stack.net.connect({ host, port }, () => writePattern(s, bytes));
    s.setEncoding('utf8');
    s.on('data', (d: string) => { reply += d; });
    s.on('end', () => resolve());
    s.on('error', reject);
  }), MAX_RUN_MS, `upload to ${host}:${port}`);
  const ms = performance.now() - t0;
  const far = JSON.parse(reply.trim()) as PeerReport;
  if (far.bytes !== bytes) throw new Error(`sink got ${far.bytes} of ${bytes} bytes`);
  return gbps(bytes, ms);
}

/** Read everything a source on `host:port` sends; resolves with Gbit/s. */
async function stackDownload(stack: Stack, host: string, port: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  let got = 0;
  await withTimeout(new Promise<void>((resolve, reject) => {
    const s = stack.net.connect({ host, port });
    s.on('data', (d: Buffer) => { got += d.length; });
    s.on('end', () => {
      s.end();
      resolve();
    });
    s.on('error', reject);
  }), MAX_RUN_MS, `download from ${host}:${port}`);
  const ms = performance.now() - t0;
  if (got !== bytes) throw new Error(`got ${got} of ${bytes} bytes`);
  return gbps(bytes, ms);
}

/** Start tcp-peer in a namespace; resolves when it listens (listening modes) with its report. */
async function nsPeer(ns: Netns, args: string[], waitReady: boolean): Promise<{ child: ChildProcess; report: Promise<PeerReport> }> {
  const child = ns.spawn(process.execPath, [TCP_PEER_SCRIPT, ...args]);
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (/^ready$/m.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcp-peer ${args.join(' ')} exited ${code}: ${err}`)));
  });
  ready.catch(() => undefined);
  const report = new Promise<PeerReport>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as PeerReport);
      else reject(new Error(`tcp-peer ${args.join(' ')} exited ${code}: ${out}${err}`));
    });
  });
  report.catch(() => undefined);
  if (waitReady) await withTimeout(ready, 15_000, 'tcp-peer ready');
  return { child, report };
}

function deviceNotes(wg: WireGuardInterface): string {
  const s = wg.device.stats;
  return `our device: rx queue drops ${s.rxQueueDrops}, tx transport drops ${s.txTransportDrops}, handshakes ${s.handshakesCompleted}`;
}

function bigStack(seed: number): Stack {
  return new Stack({ seed, maxTcpSockets: 8, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
}

/** 1. wirestack in this process ↔ wireguard-go in a namespace (veth 10.91.3.1 ↔ .2, tunnel 10.90.3.1 ↔ .2). */
async function wirestackToGo(bytes: number, runs: number, log: (s: string) => void): Promise<PairFigure> {
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();
  let ns: Netns | null = null;
  let veth: Veth | null = null;
  let go: WireGuardGo | null = null;
  let wg: WireGuardInterface | null = null;
  const stack = bigStack(93);
  try {
    ns = Netns.create();
    veth = createVeth({ a: `wsb${process.pid % 100000}a`, b: 'wsbb', aCidr: '10.91.3.1/24', bCidr: '10.91.3.2/24', nsB: ns });
    wg = await stack.addWireGuard({
      privateKey: ourPriv, address: '10.90.3.1/24', listenPort: 0, bindAddress: '10.91.3.1',
      peers: [{ publicKey: suite.publicKey(goPriv), endpoint: '10.91.3.2:51820', allowedIps: ['10.90.3.2/32'] }],
    });
    stack.start();
    go = await WireGuardGo.start(ns, 'wgb0');
    await go.setconf(['[Interface]', `PrivateKey = ${encodeKey(goPriv)}`, 'ListenPort = 51820', '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(ourPriv))}`, `Endpoint = 10.91.3.1:${wg.listenPort}`,
      'AllowedIPs = 10.90.3.1/32', ''].join('\n'));
    await go.up('10.90.3.2/24');
    await withTimeout(stack.ping('10.90.3.2', { timeoutMs: 10_000 }), 15_000, 'first ping through the tunnel');
    const up: number[] = [];
    const down: number[] = [];
    const cpu: Record<string, number> = {};
    const procs = { wirestack: 'self' as const, 'wireguard-go': go.pid };
    for (let r = 0; r < runs; r++) {
      const sink = await nsPeer(ns, ['sink', '9001', '--no-hash'], true);
      up.push(await metered(cpu, procs, () => stackUpload(stack, '10.90.3.2', 9001, bytes)));
      await withTimeout(sink.report, 10_000, 'sink exit');
      log(`  wirestack -> wireguard-go run ${r + 1}: ${up[r].toFixed(3)} Gbit/s`);
      const source = await nsPeer(ns, ['source', '9002', String(bytes)], true);
      down.push(await metered(cpu, procs, () => stackDownload(stack, '10.90.3.2', 9002, bytes)));
      await withTimeout(source.report, 10_000, 'source exit');
      log(`  wireguard-go -> wirestack run ${r + 1}: ${down[r].toFixed(3)} Gbit/s`);
    }
    return { pair: 'wirestack <-> wireguard-go (Linux TCP)', aToB: up, bToA: down, aToBMedian: median(up), bToAMedian: median(down), notes: deviceNotes(wg), cpuPerGiB: perGiB(cpu, 2 * runs * bytes) };
  } finally {
    stack.stop();
    await wg?.close().catch(() => undefined);
    go?.stop();
    ns?.remove();
    veth?.remove();
  }
}

/**
 * 2. wirestack here ↔ wirestack in a child process, host UDP on 127.0.0.1 (tunnel 10.90.2.1 ↔ .2),
 * both with `threads` crypt threads (undefined: the default, one per core).
 */
async function wirestackToWirestack(bytes: number, runs: number, log: (s: string) => void, threads?: number): Promise<PairFigure> {
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const childPriv = suite.generatePrivateKey();
  const script = fileURLToPath(new URL('./wg-peer.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--private', encodeKey(childPriv), '--peer', encodeKey(suite.publicKey(ourPriv)),
    '--address', '10.90.2.2/24', '--allowed', '10.90.2.1/32', '--bind', '127.0.0.1', '--source-bytes', String(bytes),
    ...(threads === undefined ? [] : ['--crypt-threads', String(threads)])],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  const stack = bigStack(92);
  let wg: WireGuardInterface | null = null;
  try {
    const first = await withTimeout(new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`wg-peer exited ${code}`)));
    }), 15_000, 'wg-peer start');
    const info = JSON.parse(first) as { port: number; publicKey: string };
    wg = await stack.addWireGuard({
      privateKey: ourPriv, address: '10.90.2.1/24', listenPort: 0, bindAddress: '127.0.0.1',
      peers: [{ publicKey: info.publicKey, endpoint: `127.0.0.1:${info.port}`, allowedIps: ['10.90.2.2/32'] }],
      cryptThreads: threads,
    });
    stack.start();
    await withTimeout(stack.ping('10.90.2.2', { timeoutMs: 10_000 }), 15_000, 'first ping through the tunnel');
    const up: number[] = [];
    const down: number[] = [];
    const cpu: Record<string, number> = {};
    const procs = { 'wirestack (here)': 'self' as const, 'wirestack (child)': child.pid ?? 0 };
    for (let r = 0; r < runs; r++) {
      up.push(await metered(cpu, procs, () => stackUpload(stack, '10.90.2.2', 9001, bytes)));
      log(`  wirestack -> wirestack run ${r + 1}: ${up[r].toFixed(3)} Gbit/s`);
      down.push(await metered(cpu, procs, () => stackDownload(stack, '10.90.2.2', 9002, bytes)));
      log(`  wirestack <- wirestack run ${r + 1}: ${down[r].toFixed(3)} Gbit/s`);
    }
    const t = threads ?? defaultCryptThreads();
    return { pair: `wirestack <-> wirestack (2 processes, loopback UDP, ${t} crypt thread${t === 1 ? '' : 's'})`, aToB: up, bToA: down, aToBMedian: median(up), bToAMedian: median(down), notes: deviceNotes(wg), cpuPerGiB: perGiB(cpu, 2 * runs * bytes) };
  } finally {
    stack.stop();
    await wg?.close().catch(() => undefined);
    child.stdin?.end();
    setTimeout(() => killChild(child), 2000).unref();
  }
}

/** 3. wireguard-go ↔ wireguard-go in two namespaces (veth 10.91.1.1 ↔ .2, tunnel 10.90.1.1 ↔ .2). */
async function goToGo(bytes: number, runs: number, log: (s: string) => void): Promise<PairFigure> {
  const suite = getSuite('standard');
  const privA = suite.generatePrivateKey();
  const privB = suite.generatePrivateKey();
  let nsA: Netns | null = null;
  let nsB: Netns | null = null;
  let veth: Veth | null = null;
  let goA: WireGuardGo | null = null;
  let goB: WireGuardGo | null = null;
  try {
    nsA = Netns.create();
    nsB = Netns.create();
    veth = createVeth({ a: 'wsga', b: 'wsgb', aCidr: '10.91.1.1/24', bCidr: '10.91.1.2/24', nsA, nsB });
    goA = await WireGuardGo.start(nsA, 'wga0');
    goB = await WireGuardGo.start(nsB, 'wgb0');
    const conf = (priv: Uint8Array, peerPriv: Uint8Array, endpoint: string, allowed: string): string => [
      '[Interface]', `PrivateKey = ${encodeKey(priv)}`, 'ListenPort = 51820', '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(peerPriv))}`, `Endpoint = ${endpoint}`, `AllowedIPs = ${allowed}`, '',
    ].join('\n');
    await goA.setconf(conf(privA, privB, '10.91.1.2:51820', '10.90.1.2/32'));
    await goB.setconf(conf(privB, privA, '10.91.1.1:51820', '10.90.1.1/32'));
    await goA.up('10.90.1.1/24');
    await goB.up('10.90.1.2/24');
    const ping = await goA.run('ping', ['-c', '1', '-W', '5', '10.90.1.2'], { timeoutMs: 15_000 });
    if (ping.code !== 0) throw new Error(`wireguard-go <-> wireguard-go: no ping through the tunnel: ${ping.stdout}${ping.stderr}`);
    const transfer = async (from: Netns, to: Netns, host: string): Promise<number> => {
      const sink = await nsPeer(to, ['sink', '9001', '--no-hash'], true);
      const sender = await nsPeer(from, ['send', host, '9001', String(bytes)], false);
      const r = await withTimeout(sender.report, MAX_RUN_MS, 'kernel TCP transfer');
      await withTimeout(sink.report, 10_000, 'sink exit');
      if (r.bytes !== bytes) throw new Error(`sink got ${r.bytes} of ${bytes} bytes`);
      return gbps(bytes, r.ms);
    };
    const ab: number[] = [];
    const ba: number[] = [];
    const cpu: Record<string, number> = {};
    const procs = { 'wireguard-go A': goA.pid, 'wireguard-go B': goB.pid };
    for (let r = 0; r < runs; r++) {
      ab.push(await metered(cpu, procs, () => transfer(nsA!, nsB!, '10.90.1.2')));
      log(`  wireguard-go A -> B run ${r + 1}: ${ab[r].toFixed(3)} Gbit/s`);
      ba.push(await metered(cpu, procs, () => transfer(nsB!, nsA!, '10.90.1.1')));
      log(`  wireguard-go B -> A run ${r + 1}: ${ba[r].toFixed(3)} Gbit/s`);
    }
    return { pair: 'wireguard-go <-> wireguard-go (Linux TCP both ends)', aToB: ab, bToA: ba, aToBMedian: median(ab), bToAMedian: median(ba), cpuPerGiB: perGiB(cpu, 2 * runs * bytes) };
  } finally {
    goA?.stop();
    goB?.stop();
    nsA?.remove();
    nsB?.remove();
    veth?.remove();
  }
}

/** Run everything that can run here; figures for what ran, reasons for what did not. */
export async function runWireGuardBench(options: WireGuardBenchOptions = {}): Promise<WireGuardBenchResult> {
  const mib = options.mib ?? 256;
  const runs = options.runs ?? 3;
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const bytes = mib * 1024 * 1024;
  const result: WireGuardBenchResult = { mib, runs, pairs: [], skipped: [], handshakes: [] };
  for (const s of ['standard', 'fips'] as const) {
    log(`handshakes (${s})...`);
    result.handshakes.push(handshakeRate(s, options.handshakeSeconds ?? 2));
  }
  patternPeriod();
  // 1 crypt thread vs one per core, same run.
  log('wirestack <-> wirestack...');
  result.pairs.push(await wirestackToWirestack(bytes, runs, log));
  if (defaultCryptThreads() > 1) {
    log('wirestack <-> wirestack, 1 crypt thread...');
    result.pairs.push(await wirestackToWirestack(bytes, runs, log, 1));
  }
  const cannot = missingCapability() ?? wireguardToolsMissing();
  if (cannot !== null) {
    result.skipped.push(`wirestack <-> wireguard-go and wireguard-go <-> wireguard-go skipped: ${cannot}`);
    return result;
  }
  log('wirestack <-> wireguard-go...');
  result.pairs.push(await wirestackToGo(bytes, runs, log));
  log('wireguard-go <-> wireguard-go...');
  result.pairs.push(await goToGo(bytes, runs, log));
  return result;
}

/** The result as the table the standalone run prints. */
export function formatWireGuardBench(r: WireGuardBenchResult): string {
  const lines: string[] = [];
  lines.push(`WireGuard TCP throughput, ${r.runs} runs of ${r.mib} MiB per direction, median Gbit/s (all runs)`);
  const w = Math.max(...r.pairs.map((p) => p.pair.length), 4);
  lines.push(`${'pair'.padEnd(w)}  ${'A -> B'.padStart(24)}  ${'B -> A'.padStart(24)}`);
  const cell = (m: number, xs: number[]): string => `${m.toFixed(3)} (${xs.map((x) => x.toFixed(2)).join(' ')})`.padStart(24);
  for (const p of r.pairs) {
    lines.push(`${p.pair.padEnd(w)}  ${cell(p.aToBMedian, p.aToB)}  ${cell(p.bToAMedian, p.bToA)}`);
    const cpu = Object.entries(p.cpuPerGiB).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    lines.push(`${''.padEnd(w)}  CPU-seconds per GiB: ${cpu}`);
    if (p.notes !== undefined) lines.push(`${''.padEnd(w)}  ${p.notes}`);
  }
  for (const s of r.skipped) lines.push(`SKIPPED: ${s}`);
  lines.push('');
  lines.push('Handshakes (initiation + response + confirmation, both ends in one thread, no network)');
  for (const h of r.handshakes) {
    lines.push(`  ${h.suite.padEnd(8)} ${Math.round(h.perCpuSecond).toLocaleString('en-US')} per CPU-second `
      + `(${Math.round(h.perSecond).toLocaleString('en-US')} per wall second, ${h.handshakes} handshakes)`);
  }
  return lines.join('\n');
}

function numArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.log('wireguard bench: not root: the wireguard-go pairs (namespaces, TUN) are skipped; run as root for all figures');
  }
  runWireGuardBench({ mib: numArg('mib', 256), runs: numArg('runs', 3), handshakeSeconds: numArg('handshake-seconds', 2) })
    .then((r) => {
      console.log(process.argv.includes('--json') ? JSON.stringify(r) : formatWireGuardBench(r));
      process.exit(0);
    }, (err: unknown) => {
      console.error(`wireguard bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exit(1);
    });
}
