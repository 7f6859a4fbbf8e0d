/**
 * IPsec ESP throughput: one TCP connection between two stacks in one process
 * over a MemoryLink (MTU 1500), everything between them in ESP transport mode.
 * Run by bench/index.ts in its own process; prints one JSON line.
 *
 *   node --expose-gc dist/bench/esp.js <gcm|gcm256|cbc|null> [--mib N] [--min-seconds S] [--threads] [--gcm node] [--cbc node]
 *
 * `--min-seconds S` repeats the N MiB transfer until the measured loop has
 * run at least S seconds (default 0: once), so a fast suite is not timed
 * over a fraction of a second, where one scheduling hiccup moves the figure.
 *
 * `--threads` adds each thread's CPU time over the measured loop (from
 * /proc/self/task): the JS thread's, and the rest (V8's platform workers:
 * parallel scavenges, concurrent marking and sweeping, compilation) with
 * their voluntary context switches (wake-ups) — to tell what pinning the
 * process to one CPU (taskset) changes.
 * `--gcm node` runs AES-GCM on node:crypto (a cipher object per packet)
 * instead of the addon's reused OpenSSL context, `--cbc node` the same for
 * AES-CBC, HMAC and the CBC IVs: the baselines the defaults are compared
 * with in the same run.
 */
import { Stack } from '../src/stack.js';
import { NodeEspCrypto } from '../src/ipsec/crypto-node.js';
import type { AesGcmImpl } from '../src/crypto/aes-gcm.js';
import type { CbcHmacImpl } from '../src/ipsec/crypto-node.js';
import { MemoryLink } from '../src/link/memory-link.js';
import type { AlgorithmSpec } from '../src/ipsec/algorithms.js';
import { readFileSync, readdirSync } from 'node:fs';
import { GcMeter } from './gc-meter.js';
import { bulkPump, connect } from './tcp-pump.js';

/** Per-thread CPU over the measured loop (`--threads`). */
export interface ThreadSplit {
  /** The JS thread: CPU ms, and how often it was preempted (involuntary context switches). */
  mainMs: number;
  mainPreempted: number;
  /** Every other thread of the process: CPU ms and wake-ups (voluntary context switches). */
  helperMs: number;
  helperWakeups: number;
}

/** [CPU ms, voluntary, involuntary context switches] per thread id. */
function threadTimes(): Map<string, [number, number, number]> {
  const r = new Map<string, [number, number, number]>();
  const tick = 10; // ms per clock tick (USER_HZ 100 on Linux)
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      const vol = Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      r.set(t, [(Number(f[11]) + Number(f[12])) * tick, vol, invol]);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return r;
}

function threadSplit(before: Map<string, [number, number, number]>, after: Map<string, [number, number, number]>): ThreadSplit {
  const main = String(process.pid); // the JS thread's id is the process id
  const out: ThreadSplit = { mainMs: 0, mainPreempted: 0, helperMs: 0, helperWakeups: 0 };
  for (const [t, [ms, vol, invol]] of after) {
    const [ms0, vol0, invol0] = before.get(t) ?? [0, 0, 0];
    if (t === main) {
      out.mainMs = ms - ms0;
      out.mainPreempted = invol - invol0;
    } else {
      out.helperMs += ms - ms0;
      out.helperWakeups += vol - vol0;
    }
  }
  return out;
}

export interface EspBulkResult {
  suite: string;
  bytes: number;
  seconds: number;
  gbps: number;
  cpuSecondsPerGB: number;
  espPackets: number;
  gcMinor: number;
  gcMajor: number;
  retransmits: number;
  threads?: ThreadSplit;
}

const key = (n: number, seed: number): string => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)).toString('hex');

const SUITES: Record<string, [string, (seed: number) => AlgorithmSpec]> = {
  gcm: ['rfc4106(gcm(aes)) AES-128', (s) => ({ aead: { name: 'rfc4106(gcm(aes))', key: key(20, s) } })],
  gcm256: ['rfc4106(gcm(aes)) AES-256', (s) => ({ aead: { name: 'rfc4106(gcm(aes))', key: key(36, s) } })],
  cbc: ['cbc(aes) AES-128 + hmac(sha256)', (s) => ({ enc: { name: 'cbc(aes)', key: key(16, s) }, auth: { name: 'hmac(sha256)', key: key(32, s + 1) } })],
  null: ['ecb(cipher_null) + hmac(sha1)', (s) => ({ enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha1)', key: key(20, s) } })],
};

async function bulk(suiteName: string, mib: number, minSeconds: number, withThreads: boolean, gcm: AesGcmImpl | undefined, cbc: CbcHmacImpl | undefined): Promise<EspBulkResult> {
  const entry = SUITES[suiteName];
  if (entry === undefined) throw new Error(`unknown suite ${suiteName} (${Object.keys(SUITES).join(', ')})`);
  const [label, suite] = entry;
  const [la, lb] = MemoryLink.pair({ queueFrames: 4096, seed: 1 });
  const cfg = { tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20, maxTcpSockets: 2 };
  const a = new Stack({ seed: 1, ...cfg });
  const b = new Stack({ seed: 2, ...cfg });
  if (gcm !== undefined || cbc !== undefined) {
    for (const st of [a, b]) {
      if (st.ipsecEngine === null) throw new Error('IPsec is off');
      st.ipsecEngine.crypto = new NodeEspCrypto(gcm, cbc); // before any SA imports its keys
    }
  }
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  const ab = { spi: 0x1001, src: '10.0.0.1', dst: '10.0.0.2', ...suite(1) };
  const ba = { spi: 0x2002, src: '10.0.0.2', dst: '10.0.0.1', ...suite(2) };
  a.ipsec.addSa({ dir: 'out', ...ab });
  b.ipsec.addSa({ dir: 'in', ...ab });
  b.ipsec.addSa({ dir: 'out', ...ba });
  a.ipsec.addSa({ dir: 'in', ...ba });
  a.ipsec.addPolicy({ dir: 'both', src: '10.0.0.1', dst: '10.0.0.2', action: 'protect' });
  b.ipsec.addPolicy({ dir: 'both', src: '10.0.0.2', dst: '10.0.0.1', action: 'protect' });
  let now = 0;
  const poll = (): void => {
    now += 1;
    a.poll(now);
    b.poll(now);
  };
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 5001);
  b.sockets.listen(l, 1);
  const [c, s] = connect(a, b, poll, 5001, l);
  const run = bulkPump(a, b, c, s, poll);
  run(16 << 20); // warm-up
  const packets0 = a.stats.ipsec.tx + b.stats.ipsec.tx;
  const meter = new GcMeter();
  await meter.start();
  const threads0 = withThreads ? threadTimes() : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  do bytes += run(mib << 20);
  while ((performance.now() - t0) / 1000 < minSeconds);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const threads = threads0 !== null ? threadSplit(threads0, threadTimes()) : undefined;
  const gc = await meter.stop();
  meter.close();
  const drops = Object.entries(b.stats.ipsec).filter(([k, v]) => v > 0 && !['rx', 'delivered', 'tx'].includes(k));
  if (drops.length > 0) throw new Error(`ESP drops during the bench: ${JSON.stringify(drops)}`);
  return {
    suite: gcm === 'node' || cbc === 'node' ? `${label} (node:crypto)` : label, bytes, seconds, gbps: (bytes * 8) / seconds / 1e9,
    cpuSecondsPerGB: ((cpu.user + cpu.system) / 1e6) / (bytes / 1e9),
    espPackets: a.stats.ipsec.tx + b.stats.ipsec.tx - packets0,
    gcMinor: gc.minor, gcMajor: gc.major, retransmits: a.sockets.tcpInfo(c)?.retransmits ?? -1, threads,
  };
}

const argv = process.argv.slice(2);
const suiteArg = argv[0] ?? 'gcm';
const mibAt = argv.indexOf('--mib');
const mib = mibAt >= 0 ? Number(argv[mibAt + 1]) : 256;
const minAt = argv.indexOf('--min-seconds');
const minSeconds = minAt >= 0 ? Number(argv[minAt + 1]) : 0;
if (!(minSeconds >= 0)) throw new Error(`--min-seconds S (>= 0), got ${argv[minAt + 1]}`);
const gcmAt = argv.indexOf('--gcm');
const gcmArg = gcmAt >= 0 ? argv[gcmAt + 1] : undefined;
if (gcmArg !== undefined && gcmArg !== 'node' && gcmArg !== 'native') throw new Error(`--gcm node|native, got ${gcmArg}`);
const cbcAt = argv.indexOf('--cbc');
const cbcArg = cbcAt >= 0 ? argv[cbcAt + 1] : undefined;
if (cbcArg !== undefined && cbcArg !== 'node' && cbcArg !== 'native') throw new Error(`--cbc node|native, got ${cbcArg}`);
bulk(suiteArg, mib, minSeconds, argv.includes('--threads'), gcmArg, cbcArg).then((r) => console.log(JSON.stringify(r)), (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
