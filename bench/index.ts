/**
 * wirestack benchmark: packet rates and garbage of the packet path.
 *
 *   npm run bench        (node --expose-gc dist/bench/index.js)
 *   BENCH_SCALE=0.2 node --expose-gc dist/bench/index.js    (quicker: fewer packets)
 *
 * Every loop drives the stacks by calling poll() by hand with a virtual clock;
 * nothing waits on the event loop per packet. Each scenario runs in its own
 * Node process (bench/run-one.ts) so that one loop's JIT feedback does not
 * change another's inlining. It prints figures, not pass/fail. It ends with
 * the WireGuard benchmark (bench/wireguard.ts: tunnel throughput against
 * wireguard-go as root, handshakes per second everywhere).
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Stack } from '../src/stack.js';
import { EMBEDDED_CONFIG } from '../src/engine/config.js';
import { canForceGc } from './gc-meter.js';
import type { RunResult } from './run-one.js';
import { DISTINCT_FRAMES, RX_BATCH, defaultOptions, type ScenarioKind } from './scenarios.js';
import { formatWireGuardBench, type WireGuardBenchResult } from './wireguard.js';
import { espSection as espBench } from './esp-section.js';
import { chattySection as chattyBench, synFloodSection as synFloodBench, tapPingSection as tapPingBench, tapSection as tapBench } from './tap-sections.js';

/** Scale every loop count, e.g. BENCH_SCALE=0.1 for a quick look. */
const SCALE = ((): number => {
  const v = Number(process.env.BENCH_SCALE ?? '1');
  return Number.isFinite(v) && v > 0 ? v : 1;
})();

function scaled(n: number): number {
  return Math.max(RX_BATCH, Math.round(n * SCALE));
}

const runOne = fileURLToPath(new URL('./run-one.js', import.meta.url));
const wgScript = fileURLToPath(new URL('./wireguard.js', import.meta.url));

function child(kind: ScenarioKind, opts: string[]): RunResult {
  const r = spawnSync(process.execPath, ['--expose-gc', runOne, kind, ...opts, '--json'], {
    encoding: 'utf8', timeout: 180_000, maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`run-one ${kind} ${opts.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as RunResult;
}

function fmt(n: number | null, digits = 0): string {
  if (n === null || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(headers: string[], rows: string[][], leftCols = 1): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]) : c.padStart(widths[i])))
    .join('  ').trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function per(r: RunResult): string {
  return r.unit === 'round trip' ? 'RT' : 'pkt';
}

const progress = (msg: string): void => {
  process.stderr.write(`  ${msg}\n`);
};

/**
 * Loss recovery as the sender (bench/loss.ts): 64 MiB over a FaultLink with
 * 5 % loss and 5 % reordering each way on TAP, wirestack sending vs Linux
 * sending over the same link, alternating, median of 3; with Reno and with
 * CUBIC, each against its own Linux baseline of the same run.
 */
function lossSection(): void {
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    console.log('Loss recovery over TAP: SKIPPED, needs root and /dev/net/tun');
    return;
  }
  const script = fileURLToPath(new URL('./loss.js', import.meta.url));
  const mib = Math.max(16, Math.round(64 * SCALE));
  console.log(`Loss recovery as the sender: ${mib} MiB over a FaultLink (5 % loss + 5 % reordering each way, reordered frames `
    + 'held <= 3 ms) on TAP; Linux (socat) as the other end; alternate runs, median of 3');
  const rows: string[][] = [];
  const defaultCubic = new Stack().config.tcpCubic;
  for (const cubic of [0, 1]) {
    progress(`loss recovery, ${cubic === 1 ? 'CUBIC' : 'Reno'}`);
    const r = spawnSync(process.execPath, [script, '--mib', String(mib), '--runs', '3', '--cubic', String(cubic)],
      { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) {
      console.log(`  ${cubic === 1 ? 'CUBIC' : 'Reno'}: the run failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    const t = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    rows.push([(cubic === 1 ? 'CUBIC' : 'Reno') + (cubic === defaultCubic ? ' (default)' : ''), fmt(t.wirestackMedianS, 2), fmt(t.linuxMedianS, 2), `${fmt(t.ratio, 2)} x`,
      fmt(t.retransmits), fmt(t.rtoTimeouts), fmt(t.tailLossProbes), fmt(t.spuriousRetransUndone)]);
  }
  if (rows.length > 0) {
    printTable(['wirestack cc', 'wirestack sends s', 'Linux sends s', 'ratio (goal <= 1.5)', 'retransmits', 'RTOs',
      'TLPs', 'undone'], rows);
  }
}

/**
 * IPv6 beside IPv4 (bench/v6.ts): TCP bulk and UDP echo between two
 * dual-stack stacks on one link, the families alternating within one
 * series (only ratios within a run count); goal: IPv6 within 10 %, 0 GC.
 */
function v6Section(): void {
  const script = fileURLToPath(new URL('./v6.js', import.meta.url));
  const run = (args: string[]): Record<string, number> => {
    const r = spawnSync(process.execPath, ['--expose-gc', script, ...args], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`v6 bench ${args.join(' ')} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  };
  const mib = String(Math.max(64, Math.round(512 * SCALE)));
  const units = String(scaled(300_000));
  const ROUNDS = 5;
  const all: Record<string, Array<Record<string, number>>> = {};
  const rows: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [kind, extra] of [['tcp', ['--mib', mib]], ['udp', ['--units', units, '--size', '64']]] as const) {
      for (const family of ['4', '6']) {
        const r = run([kind, '--family', family, ...extra]);
        const key = `${kind}${family}`;
        (all[key] ??= []).push(r);
        rows.push([`${kind === 'tcp' ? 'TCP bulk' : 'UDP echo 64 B'} IPv${family} (run ${round + 1})`,
          kind === 'tcp' ? `${fmt(r.gbps, 2)} Gbit/s` : `${fmt(r.perSecond)} RT/s`, fmt(r.seconds, 2), fmt(r.gcMinor),
          fmt(r.gcMajor), fmt(r.heapDelta)]);
        progress(`v6 bench ${key} run ${round + 1}`);
      }
    }
  }
  console.log('IPv6 beside IPv4: two dual-stack stacks in one process over a point-to-point MemoryLink (MTU 1500), families alternating');
  printTable(['scenario', 'rate', 'seconds', 'minor GCs', 'major GCs', 'heapUsed Δ B'], rows);
  // Each run is a fresh process, and its speed is bimodal (about 2.6 or 3.9 Gbit/s on this machine for
  // either family, whatever the CPU it is pinned to): the ratio of medians is the figure, the ratio of
  // the best runs shows the code's reach.
  const pick = (key: string, f: (r: Record<string, number>) => number, best: boolean): number => {
    const v = all[key].map(f).sort((x, y) => x - y);
    return best ? v[v.length - 1] : v[v.length >> 1];
  };
  const rate = (r: Record<string, number>): number => r.perSecond;
  // Per unit of CPU time (process.cpuUsage over the loop): steadier than wall time when other work shares the cores.
  const perCpu = (r: Record<string, number>): number => r.units / r.cpuSeconds;
  for (const [label, f] of [['rate', rate], ['rate per CPU second', perCpu]] as const) {
    const ratio = (kind: string, best: boolean): string => fmt(pick(`${kind}6`, f, best) / pick(`${kind}4`, f, best), 3);
    console.log(`IPv6/IPv4 by ${label}, median of ${ROUNDS} runs each: TCP bulk ${ratio('tcp', false)}, UDP echo ${ratio('udp', false)}`
      + ` (best runs: ${ratio('tcp', true)}, ${ratio('udp', true)}) (goal >= 0.9)`);
  }
  console.log('');
}

/** IPsec ESP (bench/esp-section.ts). */
function espSection(): void {
  espBench(sectionIo);
}

/** What the section modules (esp-section.ts, tap-sections.ts) borrow from here. */
const sectionIo = { scale: SCALE, fmt, printTable, progress };
const tapSection = (): void => tapBench(sectionIo);
const tapPingSection = (): void => tapPingBench(sectionIo);
const chattySection = (): void => chattyBench(sectionIo);
const synFloodSection = (): void => synFloodBench(sectionIo);

function main(): void {
  // BENCH_ONLY=v6 runs only the IPv6 section (its 20 fresh processes), to re-measure that figure alone.
  if (process.env.BENCH_ONLY === 'v6') {
    v6Section();
    return;
  }
  // BENCH_ONLY=esp runs only the IPsec ESP section.
  if (process.env.BENCH_ONLY === 'esp') {
    espSection();
    return;
  }
  // BENCH_ONLY=tap runs only the TCP-over-TAP section.
  if (process.env.BENCH_ONLY === 'tap') {
    tapSection();
    return;
  }
  // BENCH_ONLY=tap-ping runs only the ping-over-TAP section (with its per-hop trace).
  if (process.env.BENCH_ONLY === 'tap-ping') {
    tapPingSection();
    return;
  }
  // BENCH_ONLY=chatty runs only the chatty-client section.
  if (process.env.BENCH_ONLY === 'chatty') {
    chattySection();
    return;
  }
  const started = performance.now();
  const cpus = os.cpus();
  console.log('wirestack packet-path benchmark');
  console.log('===============================');
  console.log(`node ${process.version}  v8 ${process.versions.v8}  ${process.platform}/${process.arch}  `
    + `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}  load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`global.gc: ${canForceGc ? 'available' : 'NOT available (run with --expose-gc)'}   scale: ${SCALE}   `
    + 'each scenario in a fresh node process');
  console.log(`stacks: default config; ${defaultOptions.addrB} -> ${defaultOptions.addrA}/${defaultOptions.prefix}; `
    + `poll() called by hand, virtual clock +${defaultOptions.step} ms per poll; no event loop, no Promises`);
  console.log('(1)+(2): two stacks over MemoryLink (no faults, no delay), one request in flight; RT = round trip = 2 packets');
  console.log(`(3): one stack; a Link hands it ${RX_BATCH} of ${DISTINCT_FRAMES} distinct prepared frames per poll(); `
    + 'UDP drained with recvfrom after each poll, echo replies go to the Link, which counts and drops them');
  console.log('');

  // [kind, warm-up units, measured units]: every measured loop covers >= 1,000,000 packets.
  // [kind, warm-up units, measured units, units of the allocation runs]. The small-packet
  // loop of each of (1), (2) and (3) covers >= 1,000,000 packets; the large-payload loops
  // are shorter to keep the whole bench near a minute (their cost is per byte, not per call).
  const plan: Array<[ScenarioKind, number, number, number]> = [
    ['ping56', 100_000, 600_000, 20_000],
    ['udp64', 100_000, 600_000, 20_000],
    ['udp1400', 20_000, 200_000, 10_000],
    ['rx64', 200_000, 2_000_000, 100_000],
    ['rx1472', 30_000, 500_000, 50_000],
    ['echo56', 200_000, 2_000_000, 100_000],
    ['echo1472', 30_000, 500_000, 50_000],
    ['fwd64', 200_000, 2_000_000, 100_000],
    ['fwd1472', 30_000, 500_000, 50_000],
  ];
  const rows: RunResult[] = [];
  for (const [kind, warm, units, alloc] of plan) {
    const r = child(kind, ['--warm', String(scaled(warm)), '--units', String(scaled(units)), '--alloc-units', String(alloc)]);
    rows.push(r);
    progress(`${r.name}: ${fmt(r.seconds, 2)} s`);
  }

  console.log('Throughput (after warm-up; payload = UDP payload or ICMP echo data, both directions of a round trip)');
  printTable(
    ['scenario', 'measured', 'seconds', 'round trips/s', 'µs/RT', 'µs/packet', 'Mpackets/s', 'payload Gbit/s'],
    rows.map((r) => {
      const ups = r.units / r.seconds;
      const pps = r.packets / r.seconds;
      return [
        r.name, `${fmt(r.units)} ${per(r)}`, fmt(r.seconds, 2),
        r.unit === 'round trip' ? fmt(ups) : '-', r.unit === 'round trip' ? fmt(1e6 / ups, 2) : '-',
        fmt(1e6 / pps, 3), fmt(pps / 1e6, 3), fmt((r.units * r.payloadBytesPerUnit * 8) / r.seconds / 1e9, 3),
      ];
    }),
  );
  for (const r of rows) {
    if (r.name.startsWith('forward')) {
      console.log(`IPv4 forwarding rate (${r.name}, router stack between two MemoryLinks): ${fmt(r.packets / r.seconds)} packets/s`);
    }
  }
  console.log('');
  console.log('Garbage in the same measured loops (PerformanceObserver "gc" entries; baseline heapUsed taken after global.gc())');
  printTable(
    ['scenario', 'packets', 'minor GCs', 'major GCs', 'GC pause ms', 'heapUsed Δ B', 'alloc B/unit', 'alloc B/packet'],
    rows.map((r) => {
      const gc = r.gc;
      const bpp = r.bytesPerUnit === null ? null : r.bytesPerUnit / (r.packets / r.units);
      return [
        r.name, fmt(r.packets), fmt(gc?.minor ?? null), fmt(gc?.major ?? null), fmt(gc?.pauseMs ?? null, 1),
        fmt(gc?.heapDelta ?? null), `${fmt(r.bytesPerUnit, 1)}/${per(r)}`, fmt(bpp, 2),
      ];
    }),
  );
  console.log('(alloc B/unit: heapUsed growth per unit over further runs of the same loop in which no GC ran; smaller of two)');
  console.log('');

  // Where the garbage comes from: the same loops with a clock that stays a small
  // integer, and with addresses >= 128.0.0.0 (uint32 values above 2^31-1 are
  // not small integers on x64, so they get boxed like fractional numbers).
  const variants: Array<[string, string[]]> = [
    ['10.0.0.x, clock +0.001 ms/poll', ['--step', '0.001']],
    ['10.0.0.x, clock +1 ms/poll', ['--step', '1']],
    ['192.168.1.x, clock +0.001 ms/poll', ['--addr', '192.168.1.1,192.168.1.2', '--step', '0.001']],
    ['192.168.1.x, clock +1 ms/poll', ['--addr', '192.168.1.1,192.168.1.2', '--step', '1']],
  ];
  const kinds: Array<[ScenarioKind, string, number]> = [
    ['ping56', 'ICMP echo 56 B', 20_000],
    ['udp64', 'UDP echo 64 B', 20_000],
    ['rx64', 'rx UDP 64 B', 100_000],
    ['echo56', 'rx ICMP echo 56 B', 100_000],
  ];
  const matrix: string[][] = [];
  for (const [label, opts] of variants) {
    const cells = [label];
    for (const [kind, , n] of kinds) {
      const r = child(kind, [...opts, '--warm', String(scaled(100_000)), '--units', '0', '--alloc-units', String(n)]);
      cells.push(`${fmt(r.bytesPerUnit, 1)}/${per(r)}`);
    }
    matrix.push(cells);
    progress(`allocation variant: ${label}`);
  }
  console.log('Allocation by clock and address: bytes allocated per unit after warm-up (16 B = one boxed number)');
  printTable(['variant', ...kinds.map(([, k]) => k)], matrix);
  console.log('(clock +1 ms runs set arpReachableMs 86400000 so that neighbours do not expire during the run)');
  console.log('');

  // TCP: bulk transfer and connection rate, each in its own process.
  const tcpScript = fileURLToPath(new URL('./tcp.js', import.meta.url));
  const tcpRun = (args: string[]): Record<string, number> => {
    const r = spawnSync(process.execPath, ['--expose-gc', tcpScript, ...args], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`tcp bench ${args.join(' ')} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  };
  const bulkRows: string[][] = [];
  const bulkGbps: number[][] = [[], []];
  const bulkCpu: number[][] = [[], []];
  // Offload off (MSS-sized frames) and on (64 KiB super-segments, as over veth), alternating; >= 1 GiB a run at any scale (205 MiB runs, 0.2 s, printed 2.25x where 1 GiB runs gave 3.6x).
  for (let i = 0; i < 3; i++) {
    for (const offload of [0, 1]) {
      const b = tcpRun(['bulk', '--mib', String(Math.max(1024, Math.round(1024 * SCALE))), '--offload', String(offload)]);
      bulkGbps[offload].push(b.gbps);
      bulkCpu[offload].push(b.cpuSecondsPerGB);
      bulkRows.push([`run ${i + 1}, offload ${offload === 1 ? 'on' : 'off'}`, fmt(b.bytes / 2 ** 20), fmt(b.seconds, 2), fmt(b.gbps, 2),
        fmt(b.cpuSecondsPerGB, 2), fmt(b.gcMinor), fmt(b.gcMajor), fmt(b.heapDelta), fmt(b.retransmits), fmt(b.segmentsOut)]);
      progress(`tcp bulk run ${i + 1} offload ${offload}`);
    }
  }
  console.log('TCP bulk, one connection between two stacks in one process over MemoryLink (MTU 1500, 4 MiB buffers, no loss), '
    + 'without and with offload (MemoryLink option offload: super-segments up to 64 KiB pass as one frame, as over veth)');
  printTable(['run', 'MiB', 'seconds', 'Gbit/s', 'CPU s/GB', 'minor GCs', 'major GCs', 'heapUsed Δ B', 'retransmits', 'segments'], bulkRows);
  const medOf = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`In-process TCP with offload / without (goal >= 3x): ${fmt(medOf(bulkGbps[1]) / medOf(bulkGbps[0]), 2)}x the throughput, `
    + `${fmt(medOf(bulkCpu[0]) / medOf(bulkCpu[1]), 2)}x less CPU per GB (medians of 3)`);
  const conn = tcpRun(['conns', '--conns', String(Math.max(1000, Math.round(20000 * SCALE)))]);
  console.log('');
  console.log(`TCP connections (open + one request/response + close): ${fmt(conn.perSecond)} per second over ${fmt(conn.connections)}, `
    + `${fmt(conn.gcMinor)} minor GCs; memory per connection ${fmt(conn.bytesPerConnection)} bytes `
    + '(16 KiB send + 16 KiB receive buffer + control block)');
  console.log('');

  v6Section();
  wgV6Section();

  espSection();

  tapSection();
  console.log('');
  tapPingSection();
  chattySection();
  lossSection();
  console.log('');

  synFloodSection();
  console.log('');

  const stack = new Stack();
  const mem = stack.memory;
  console.log(`stack.memory for the default config: ${fmt(mem.totalBytes)} bytes (${(mem.totalBytes / 2 ** 20).toFixed(2)} MiB)`);
  const parts = Object.entries(mem.parts).sort((x, y) => y[1] - x[1]);
  printTable(['part', 'bytes', 'share'], parts.map(([k, v]) => [k, fmt(v), `${fmt((100 * v) / mem.totalBytes, 1)} %`]));
  // wolfIP's static state for its default config.h (8 sockets, 4 TCP with
  // 32 KiB send / 20 KiB receive buffers), measured with its build: a fixed
  // figure, since wolfIP doesn't run here.
  const WOLFIP_BYTES = 483_656;
  const small = Stack.planMemory(EMBEDDED_CONFIG);
  console.log(`stack.memory for EMBEDDED_CONFIG (shaped like wolfIP's defaults): ${fmt(small.totalBytes)} bytes = `
    + `${fmt(small.totalBytes / WOLFIP_BYTES, 2)}x wolfIP's ${fmt(WOLFIP_BYTES)} bytes (goal <= 1.0); `
    + `largest parts: ${Object.entries(small.parts).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  console.log('');

  wireguardSection();
  console.log('');
  tunSection();
  console.log('');
  console.log(`total bench time ${fmt((performance.now() - started) / 1000, 1)} s`);
}

/**
 * WireGuard throughput and handshakes (bench/wireguard.ts) in its own process
 * with a hard time limit, like every other part; its progress goes to stderr
 * as it runs, its JSON result is printed here as its table.
 */
function wireguardSection(): void {
  const mib = Math.max(16, Math.round(64 * SCALE));
  const args = ['--mib', String(mib), '--runs', '3', '--handshake-seconds', String(Math.max(0.5, 2 * SCALE)), '--json'];
  progress(`wireguard bench: ${mib} MiB x 3 runs per direction and pair`);
  const r = spawnSync(process.execPath, [wgScript, ...args], {
    encoding: 'utf8', timeout: 900_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  const json = lines.pop() ?? '';
  // Lines before the JSON are its notes, e.g. that the wireguard-go pairs need root.
  for (const l of lines) if (l.trim() !== '') console.log(l);
  if (r.status !== 0 || !json.startsWith('{')) {
    console.log(`WireGuard: the run failed (${r.status ?? r.signal}${r.error !== undefined ? `, ${r.error.message}` : ''}); see its messages on stderr`);
    return;
  }
  console.log(formatWireGuardBench(JSON.parse(json) as WireGuardBenchResult));
}

/**
 * WireGuard for the host (bench/tun.ts): iperf3 through `wirestack up --tun`
 * against wireguard-go and against itself, with the wireguard-go pair of the
 * same run as the baseline, and CPU seconds per GiB of each side. Root only.
 */
function tunSection(): void {
  const script = fileURLToPath(new URL('./tun.js', import.meta.url));
  const seconds = Math.max(2, Math.round(5 * SCALE));
  progress(`tun bench: iperf3 ${seconds} s x 3 runs per direction and pair`);
  const r = spawnSync(process.execPath, [script, '--seconds', String(seconds), '--runs', '3'], {
    encoding: 'utf8', timeout: 900_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
  });
  if (r.status !== 0) {
    console.log(`WireGuard for the host: the run failed (${r.status ?? r.signal}); see its messages on stderr`);
    return;
  }
  console.log((r.stdout ?? '').trim());
}

try {
  main();
} catch (err: unknown) {
  console.error(err);
  process.exitCode = 1;
}

/** The WireGuard device's data path by family (bench/wg-v6.ts): ratios against IPv4 in IPv4 of the same run, GCs. */
function wgV6Section(): void {
  const script = fileURLToPath(new URL('./wg-v6.js', import.meta.url));
  const r = spawnSync(process.execPath, ['--expose-gc', script, '--packets', String(Math.max(20_000, Math.round(100_000 * SCALE))), '--json'],
    { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`wg-v6 bench failed:\n${r.stderr}`);
  const rows = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as Array<{ inner: number; outer: number; pps: number; ratio: number; gcs: number }>;
  console.log('WireGuard device data path by family (1400-byte packets, encrypt + decrypt on one core, no sockets)');
  printTable(['inner in outer', 'packets/s', 'vs IPv4 in IPv4', 'GCs'],
    rows.map((x) => [`IPv${x.inner} in IPv${x.outer}`, fmt(x.pps), fmt(x.ratio, 3), fmt(x.gcs)]));
  console.log('');
}
