/**
 * WireGuard for the host: iperf3 through a tunnel between two network
 * namespaces, for three pairs set up side by side and measured in
 * alternation in the same run:
 *   - wireguard-go <-> wireguard-go (the baseline),
 *   - wirestack up --tun <-> wireguard-go,
 *   - wirestack up --tun <-> wirestack up --tun,
 * the wirestack sides with their default crypt threads (one per core: the
 * data path's ChaCha20-Poly1305 in batches on native threads, UDP GSO/GRO),
 * plus wirestack <-> wirestack with 1 crypt thread (batches and offload,
 * no second core) and with 0 (packet by packet, no batches: the path
 * before batching), so 1 worker vs N and before/after are in one series;
 * and wirestack without UDP GSO/GRO <-> wireguard-go.
 * Each pair: namespaces A and B joined by a veth, the tunnel between them,
 * an iperf3 server on B's tunnel address, iperf3 clients from A (A->B, then
 * -R for B->A). Figures: median Gbit/s per direction, the ratio to the
 * wireguard-go pair, and CPU seconds per GiB of each side's WireGuard
 * process (from /proc/PID/stat around each run). Root, /dev/net/tun,
 * wireguard-go, wg and iperf3 needed; otherwise it says why and exits 0.
 *
 *   node dist/bench/tun.js [--seconds S] [--runs N] [--json]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeKey, getSuite } from '../src/wireguard/crypto/index.js';
import { Netns, haveCommand, missingCapability } from '../test/helpers/netns.js';
import { WireGuardGo, createVeth, delay, killChild, wireguardToolsMissing, type Veth } from '../test/helpers/wireguard-go.js';
import { TunDaemon } from '../test/helpers/wirestack-tun.js';
import { defaultCryptThreads } from '../src/wireguard/crypt-native.js';

type Kind = 'wireguard-go' | 'wirestack';
/** A side: wireguard-go, or wirestack with a crypt thread count (undefined: its default). */
interface SideSpec {
  kind: Kind;
  threads?: number;
  /** false: --no-udp-offload (no UDP GSO/GRO). */
  offload?: boolean;
}

interface Side {
  kind: Kind;
  pid: number;
  stop(): Promise<void>;
}

interface Pair {
  label: string;
  a: Netns;
  b: Netns;
  sideA: Side;
  sideB: Side;
  veth: Veth;
  innerB: string;
  iperfServer: ChildProcess;
  aToB: number[];
  bToA: number[];
  cpuA: number;
  cpuB: number;
  bytes: number;
}

/** What the bench prints last, as one JSON line. */
export interface TunBenchResult {
  seconds: number;
  runs: number;
  pairs: Array<{ pair: string; aToBMedian: number; bToAMedian: number; ratioAToB: number; ratioBToA: number;
    cpuPerGiBA: number; cpuPerGiBB: number; aToB: number[]; bToA: number[] }>;
}

const CLK_TCK = ((): number => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
}

const PORT = 51820;

async function startSide(spec: SideSpec, ns: Netns, ifname: string, dir: string, o: {
  priv: Uint8Array; peerPub: Uint8Array; inner: string; peerInner: string; peerOuter: string;
}): Promise<Side> {
  const kind = spec.kind;
  if (kind === 'wireguard-go') {
    const go = await WireGuardGo.start(ns, ifname);
    await go.setconf(['[Interface]', `PrivateKey = ${encodeKey(o.priv)}`, `ListenPort = ${PORT}`, '',
      '[Peer]', `PublicKey = ${encodeKey(o.peerPub)}`, `AllowedIPs = ${o.peerInner}/32`, `Endpoint = ${o.peerOuter}:${PORT}`, ''].join('\n'));
    await go.must('ip', ['link', 'set', 'mtu', '1420', 'dev', ifname]);
    await go.up(`${o.inner}/24`);
    return { kind, pid: go.pid, stop: async () => go.stop() };
  }
  const file = join(dir, `${ifname}.conf`);
  writeFileSync(file, ['[Interface]', `PrivateKey = ${encodeKey(o.priv)}`, `Address = ${o.inner}/24`, `ListenPort = ${PORT}`, 'MTU = 1420', '',
    '[Peer]', `PublicKey = ${encodeKey(o.peerPub)}`, `AllowedIPs = ${o.peerInner}/32`, `Endpoint = ${o.peerOuter}:${PORT}`, ''].join('\n'), { mode: 0o600 });
  const d = await TunDaemon.start(ns, file, ifname, [...(spec.threads === undefined ? [] : ['--crypt-threads', String(spec.threads)]),
    ...(spec.offload === false ? ['--no-udp-offload'] : [])]);
  return { kind, pid: d.pid, stop: async () => { await d.stop(); } };
}

function sideLabel(s: SideSpec): string {
  if (s.kind === 'wireguard-go') return s.kind;
  const notes = [...(s.threads === undefined ? [] : [`${s.threads} crypt thread${s.threads === 1 ? '' : 's'}`]),
    ...(s.offload === false ? ['no UDP GSO/GRO'] : [])];
  return `wirestack --tun${notes.length === 0 ? '' : ` (${notes.join(', ')})`}`;
}

async function setUpPair(n: number, kindA: SideSpec, kindB: SideSpec, dir: string): Promise<Pair> {
  const suite = getSuite('standard');
  const privA = suite.generatePrivateKey();
  const privB = suite.generatePrivateKey();
  const outerA = `10.87.${n}.1`;
  const outerB = `10.87.${n}.2`;
  const innerA = `10.88.${n}.1`;
  const innerB = `10.88.${n}.2`;
  const a = Netns.create();
  const b = Netns.create();
  const veth = createVeth({ a: `wstb${n}a`, b: `wstb${n}b`, aCidr: `${outerA}/24`, bCidr: `${outerB}/24`, nsA: a, nsB: b });
  const sideA = await startSide(kindA, a, `wstb${n}x`, dir, { priv: privA, peerPub: suite.publicKey(privB), inner: innerA, peerInner: innerB, peerOuter: outerB });
  const sideB = await startSide(kindB, b, `wstb${n}y`, dir, { priv: privB, peerPub: suite.publicKey(privA), inner: innerB, peerInner: innerA, peerOuter: outerA });
  const iperfServer = b.spawn('iperf3', ['-s', '-B', innerB, '-p', '5201']);
  // Handshake and a reachable server before measuring (bounded).
  for (let i = 0; i < 40; i++) {
    const r = await a.run('ping', ['-c', '1', '-W', '1', innerB], { timeoutMs: 5000 });
    if (r.code === 0) break;
    await delay(250);
  }
  const label = `${sideLabel(kindA)} <-> ${sideLabel(kindB)}`;
  return { label, a, b, sideA, sideB, veth, innerB, iperfServer, aToB: [], bToA: [], cpuA: 0, cpuB: 0, bytes: 0 };
}

/** One iperf3 run from A (reverse: B sends); returns Gbit/s and adds bytes and CPU to the pair. */
async function measure(p: Pair, seconds: number, reverse: boolean): Promise<number> {
  const a0 = cpuSeconds(p.sideA.pid);
  const b0 = cpuSeconds(p.sideB.pid);
  let r = await p.a.run('iperf3', ['-c', p.innerB, '-p', '5201', '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 30) * 1000 });
  for (let i = 0; r.code !== 0 && i < 20 && /busy|refused/i.test(r.stdout + r.stderr); i++) {
    await delay(250); // the server still finishing the previous test
    r = await p.a.run('iperf3', ['-c', p.innerB, '-p', '5201', '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 30) * 1000 });
  }
  if (r.code !== 0) throw new Error(`iperf3 ${p.label}${reverse ? ' -R' : ''} failed: ${r.stdout.slice(-400)}${r.stderr}`);
  p.cpuA += cpuSeconds(p.sideA.pid) - a0;
  p.cpuB += cpuSeconds(p.sideB.pid) - b0;
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bytes: number; seconds: number } } };
  p.bytes += j.end.sum_received.bytes;
  return (j.end.sum_received.bytes * 8) / j.end.sum_received.seconds / 1e9;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const seconds = Math.max(1, Number(values.seconds));
  const runs = Math.max(1, Number(values.runs));
  const cannot = missingCapability() ?? wireguardToolsMissing() ?? (haveCommand('iperf3') ? null : 'iperf3 missing (apt-get install iperf3)');
  if (cannot !== null) {
    console.log(`WireGuard for the host (iperf3 through --tun): SKIPPED, ${cannot}`);
    if (values.json) console.log('{}');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wst-tunbench-'));
  const pairs: Pair[] = [];
  try {
    const go: SideSpec = { kind: 'wireguard-go' };
    const ws = (threads?: number): SideSpec => ({ kind: 'wirestack', threads });
    pairs.push(await setUpPair(0, go, go, dir));
    pairs.push(await setUpPair(1, ws(), go, dir));
    pairs.push(await setUpPair(2, ws(), ws(), dir));
    pairs.push(await setUpPair(3, ws(1), ws(1), dir));
    pairs.push(await setUpPair(4, ws(0), ws(0), dir));
    pairs.push(await setUpPair(5, { kind: 'wirestack', offload: false }, go, dir));
    for (let run = 0; run < runs; run++) {
      for (const p of pairs) {
        p.aToB.push(await measure(p, seconds, false));
        p.bToA.push(await measure(p, seconds, true));
        process.stderr.write(`  tun bench run ${run + 1}: ${p.label}: ${p.aToB.at(-1)!.toFixed(2)} / ${p.bToA.at(-1)!.toFixed(2)} Gbit/s\n`);
      }
    }
  } finally {
    for (const p of pairs) {
      killChild(p.iperfServer);
      await p.sideA.stop();
      await p.sideB.stop();
      p.veth.remove();
      p.a.remove();
      p.b.remove();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const base = pairs[0];
  const result: TunBenchResult = {
    seconds, runs,
    pairs: pairs.map((p) => ({
      pair: p.label, aToBMedian: median(p.aToB), bToAMedian: median(p.bToA),
      ratioAToB: median(p.aToB) / median(base.aToB), ratioBToA: median(p.bToA) / median(base.bToA),
      cpuPerGiBA: p.cpuA / (p.bytes / 2 ** 30), cpuPerGiBB: p.cpuB / (p.bytes / 2 ** 30), aToB: p.aToB, bToA: p.bToA,
    })),
  };
  console.log(formatTunBench(result));
  if (values.json) console.log(JSON.stringify(result));
}

/** The result as a table. */
export function formatTunBench(r: TunBenchResult): string {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const head = ['pair (A <-> B)', 'A->B Gbit/s', 'B->A Gbit/s', 'ratio A->B', 'ratio B->A', 'CPU s/GiB A', 'CPU s/GiB B'];
  const rows = r.pairs.map((p) => [p.pair, f(p.aToBMedian), f(p.bToAMedian), `${f(p.ratioAToB)} x`, `${f(p.ratioBToA)} x`, f(p.cpuPerGiBA), f(p.cpuPerGiBB)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [
    `WireGuard for the host: iperf3 (one TCP stream, ${r.seconds} s; wirestack's default crypt threads: ${defaultCryptThreads()}) through the tunnel between two namespaces over a veth, MTU 1420;`
      + ` median of ${r.runs} alternating runs per direction; ratio against the wireguard-go pair of this run`
      + ' (goals, #13: wirestack <-> wirestack >= 2 x, wirestack -> wireguard-go >= 1.0 x); CPU of each side\'s WireGuard process per GiB moved',
    line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line),
  ].join('\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
