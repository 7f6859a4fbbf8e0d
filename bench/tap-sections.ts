/**
 * The TCP-over-TAP sections of `npm run bench` (bench/index.ts), in their own
 * module: bulk both ways against Linux over a veth, ping against a C
 * responder, the chatty client against Node's net, and the SYN flood.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SectionIo } from './esp-section.js';
import { haveCommand } from '../test/helpers/netns.js';
import { maglevOf, median as med, pairs as pairsOf, printLines, runOtherLines } from './chatty-lines.js';

/**
 * TCP over TAP against the Linux kernel (bench/tap.ts), offload on (with
 * Linux <-> Linux over a veth in the same process) and off.
 */
export function tapSection(io: SectionIo): void {
  const { scale: SCALE, fmt, printTable, progress } = io;
  // TAP against the Linux kernel (root and /dev/net/tun only): offload on (with Linux <-> Linux over a veth
  // measured in the same process, between its runs) and off, one after the other in this run.
  if (process.getuid?.() === 0 && existsSync('/dev/net/tun')) {
    const tapScript = fileURLToPath(new URL('./tap.js', import.meta.url));
    const mib = String(Math.max(32, Math.round(256 * SCALE)));
    const med = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // Median over all runs (5): under load the first runs after the warm-up are often the slowest,
    // and single runs swung 13-66 % of the veth figure within one process (TAPIN, s6).
    const m3 = (t: Record<string, number>, k: string): number => med(Array.from({ length: t.runs }, (_, i) => t[`${k}${i + 1}`]));
    const tapRuns: Array<[string, Record<string, number>]> = [];
    // The veth baseline is iperf3's: without it the TAP runs still go, with no ratio to veth.
    const iperf3 = haveCommand('iperf3');
    if (!iperf3) console.log('TCP over TAP: the Linux <-> Linux veth baseline SKIPPED, iperf3 missing (apt-get install iperf3)');
    for (const offload of [1, 0]) {
      progress(`tap offload ${offload}`);
      const r = spawnSync(process.execPath, [tapScript, '--mib', mib, '--runs', '5', '--offload', String(offload), ...(offload === 1 && iperf3 ? ['--veth', '1'] : [])],
        { encoding: 'utf8', timeout: 600_000 });
      if (r.status === 0) tapRuns.push([offload === 1 ? 'offload on (default)' : 'offload off', JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>]);
      else console.log(`TCP over TAP, offload ${offload === 1 ? 'on' : 'off'}: the run failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (tapRuns.length > 0) {
      const t0 = tapRuns[0][1];
      const veth = Number.isFinite(t0.vethGbps1) ? { out: m3(t0, 'vethGbps'), in: m3(t0, 'vethRevGbps') } : null;
      console.log(`TCP over a TAP device against the Linux kernel's stack (${t0.mib} MiB per run, median of ${t0.runs}), offload on and off in this run`
        + (veth !== null ? `; Linux <-> Linux over a veth (iperf3, same run, between the runs with offload): ${fmt(veth.out, 2)} / ${fmt(veth.in, 2)} Gbit/s` : ''));
      const rows = tapRuns.map(([label, t]) => {
        const inG = m3(t, 'inGbps');
        const outG = m3(t, 'outGbps');
        return [label, fmt(inG, 2), veth !== null ? `${fmt((100 * inG) / veth.in, 0)} %` : 'n/a', fmt(outG, 2),
          veth !== null ? `${fmt((100 * outG) / veth.out, 0)} %` : 'n/a', fmt(m3(t, 'inCpuSPerGB'), 2), fmt(m3(t, 'outCpuSPerGB'), 2),
          fmt(m3(t, 'inMainSPerGB'), 2), fmt(m3(t, 'outMainSPerGB'), 2), fmt(t.tsoSegments), fmt(t.groSegments), `${fmt(t.pingAvgMs, 3)} ms`];
      });
      printTable(['TAP', 'Linux->stack Gbit/s', 'of veth (goal >= 25 %)', 'stack->Linux Gbit/s', 'of veth (goal >= 25 %)',
        'in CPU s/GB', 'out CPU s/GB', 'in JS s/GB', 'out JS s/GB', 'TSO segs', 'GRO segs', 'ping avg'], rows);
      if (tapRuns.length === 2) {
        const on = tapRuns[0][1];
        const off = tapRuns[1][1];
        console.log(`  offload on / off: Linux -> stack ${fmt(m3(on, 'inGbps') / m3(off, 'inGbps'), 2)}x, stack -> Linux ${fmt(m3(on, 'outGbps') / m3(off, 'outGbps'), 2)}x `
          + `(CPU per GB ${fmt(m3(off, 'inCpuSPerGB') / m3(on, 'inCpuSPerGB'), 2)}x / ${fmt(m3(off, 'outCpuSPerGB') / m3(on, 'outCpuSPerGB'), 2)}x less)`);
      }
      for (const [label, t] of tapRuns) {
        if (Number.isFinite(t.inOnreadGbps1)) {
          const g = m3(t, 'inOnreadGbps');
          console.log(`  ${label}: Linux -> stack through stack.net with the server's onread (one reused 128 KiB buffer, no Buffer per chunk): ${fmt(g, 2)} Gbit/s`
            + (veth !== null ? ` = ${fmt((100 * g) / veth.in, 0)} % of veth` : '') + `, CPU ${fmt(m3(t, 'inOnreadCpuSPerGB'), 2)} s/GB (JS ${fmt(m3(t, 'inOnreadMainSPerGB'), 2)}); `
            + `'data' path: ${fmt(m3(t, 'inGcMajor'), 0)} major GCs per run, GC pauses ${fmt(m3(t, 'inGcMsPerGB'), 0)} ms/GB, ${fmt(m3(t, 'inTxFramesPerMiB'), 1)} ACK frames/MiB`);
        }
        if (Number.isFinite(t.inNodeNetGbps1)) {
          // Not the stack: Node's own net server in the same process over loopback, a fresh Buffer per read.
          console.log(`  ${label}: the same stream into Node's own net server in this process (loopback, 'data'): ${fmt(m3(t, 'inNodeNetGbps'), 2)} Gbit/s, `
            + `CPU ${fmt(m3(t, 'inNodeNetCpuSPerGB'), 2)} s/GB, ${fmt(m3(t, 'inNodeNetGcMajor'), 0)} major GCs per run (stack 'data': ${fmt(m3(t, 'inGcMajor'), 0)})`);
        }
        if (!Number.isFinite(t.inRecvGbps1)) continue;
        const g = m3(t, 'inRecvGbps');
        console.log(`  ${label}: Linux -> stack through recv() into one 128 KiB buffer (as iperf3 reads): ${fmt(g, 2)} Gbit/s`
          + (veth !== null ? ` = ${fmt((100 * g) / veth.in, 0)} % of veth` : '') + `, CPU ${fmt(m3(t, 'inRecvCpuSPerGB'), 2)} s/GB (JS ${fmt(m3(t, 'inRecvMainSPerGB'), 2)})`
          + (Number.isFinite(t.inColdGbps) ? `; unmeasured warm-up transfer: ${fmt(t.inColdGbps, 2)} Gbit/s` : ''));
      }
      console.log('  CPU is this process\'s (user + system; system includes the kernel\'s work behind our TAP reads and writes); JS: the JS thread\'s part');
      tapSyncSweepDiagnostic(io, tapScript, mib, m3);
    }
  } else {
    console.log('TCP over TAP: SKIPPED, needs root and /dev/net/tun');
  }
}

/**
 * Diagnostic, not the headline: the 'data' path (and Node's own net server)
 * in a process started with V8's --no-concurrent-array-buffer-sweeping, with
 * its own veth baseline. That flag is the application's choice (it is
 * process-wide; the library does not set it): V8 then subtracts the freed
 * Buffers from its external-memory count inside the scavenge, before the
 * check that otherwise starts a mark-compact after each one (see
 * bench/tap.ts's header).
 */
function tapSyncSweepDiagnostic(io: SectionIo, tapScript: string, mib: string, m3: (t: Record<string, number>, k: string) => number): void {
  const { fmt, progress } = io;
  if (!haveCommand('iperf3')) return; // its figure is a fraction of the veth baseline (said above)
  progress('tap data, V8 synchronous ArrayBuffer sweeping');
  const r = spawnSync(process.execPath, ['--no-concurrent-array-buffer-sweeping', tapScript, '--mib', mib, '--runs', '5', '--veth', '1', '--parts', 'in,node'],
    { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    console.log(`  'data' with --no-concurrent-array-buffer-sweeping: the run failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const t = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  const g = m3(t, 'inGbps');
  const veth = m3(t, 'vethRevGbps');
  console.log(`  diagnostic, a process started with V8's --no-concurrent-array-buffer-sweeping (process-wide: the application's choice): 'data' ${fmt(g, 2)} Gbit/s = `
    + `${fmt((100 * g) / veth, 0)} % of its veth ${fmt(veth, 2)}, CPU ${fmt(m3(t, 'inCpuSPerGB'), 2)} s/GB, ${fmt(m3(t, 'inGcMajor'), 0)} major GCs per run; `
    + `Node's net ${fmt(m3(t, 'inNodeNetGbps'), 2)} Gbit/s, CPU ${fmt(m3(t, 'inNodeNetCpuSPerGB'), 2)} s/GB, ${fmt(m3(t, 'inNodeNetGcMajor'), 0)} major GCs per run`);
}

/**
 * Ping over TAP (bench/tap-ping.ts) against a blocking-read C responder on
 * its own TAP device (wolfIP's stock driver's shape) and Linux over a veth,
 * alternating in one run; issue #13's goal: stack / responder <= 2.
 */
export function tapPingSection(io: SectionIo): void {
  const { fmt, printTable } = io;
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    console.log('Ping over TAP: SKIPPED, needs root and /dev/net/tun');
    return;
  }
  const script = fileURLToPath(new URL('./tap-ping.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--runs', '5', '--count', '200', '--idle', '3', '--perf-trace', '1'],
    { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    console.log(`Ping over TAP: the run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  type P = { avgMs: number; medianMs: number; p90Ms: number; runsAvgMs: number[]; tail5SharePercent?: number; stalls?: number; stalls512?: number;
    stalls512SharePercent?: number };
  const c = JSON.parse(line) as { count: number; runs: number; stack: P; responder?: P; nodeFloor?: P; veth?: P; ratioAvg?: number;
    ratioMedian?: number; nodeFloorRatioMedian?: number; idleCpuTicks: number; stackJsCpuUsPerPing?: number;
    ratioAvg95?: number; nodeFloorRatioAvg95?: number; stackRoundsGcs?: number; nodeFloorCpuUsPerPing?: number;
    perfTrace?: Record<string, Record<string, { medianUs: number; meanUs: number }> | null> };
  const row = (name: string, p: P): string[] => [name, fmt(p.avgMs, 3), fmt(p.medianMs, 3), fmt(p.p90Ms, 3), p.runsAvgMs.map((x) => fmt(x, 3)).join(' ')];
  console.log(`Ping over TAP: ${c.runs} alternating runs of ${c.count} pings 10 ms apart (medians of the runs)`);
  const rows = [row('stack on TAP', c.stack)];
  if (c.responder !== undefined) rows.push(row('C responder on TAP (blocking read)', c.responder));
  if (c.nodeFloor !== undefined) rows.push(row('Node responder on TAP (libuv poll, no stack)', c.nodeFloor));
  if (c.veth !== undefined) rows.push(row('Linux over veth', c.veth));
  printTable(['path', 'avg ms', 'median ms', 'p90 ms', 'runs avg (ms)'], rows);
  console.log(`  stack / C responder: average ${fmt(c.ratioAvg ?? NaN, 2)}x, median ${fmt(c.ratioMedian ?? NaN, 2)}x `
    + `(goal <= 2x: wolfIP's stock driver, 0.048 ms, was about Linux's own figure); Node's own floor ${fmt(c.nodeFloorRatioMedian ?? NaN, 2)}x (median); `
    + `idle CPU ${c.idleCpuTicks} ticks over 3 s (goal 0); the stack's JS thread ${fmt(c.stackJsCpuUsPerPing ?? NaN, 1)} µs CPU per ping `
    + `(the Node floor's ${fmt(c.nodeFloorCpuUsPerPing ?? NaN, 1)} µs)`);
  // The tail: how much of each average its slowest 5 % of pings make, and the ratios without them.
  console.log(`  the slowest 5 % of pings make ${c.stack.tail5SharePercent ?? NaN} % of the stack's average (C responder `
    + `${c.responder?.tail5SharePercent ?? NaN} %, Node floor ${c.nodeFloor?.tail5SharePercent ?? NaN} %); without them stack / C `
    + `${fmt(c.ratioAvg95 ?? NaN, 2)}x, Node floor / C ${fmt(c.nodeFloorRatioAvg95 ?? NaN, 2)}x; GCs in the stack's process during its rounds: ${c.stackRoundsGcs ?? NaN}`);
  // Node's periodic stall (~0.3-0.8 ms every ~512 ms, in Node's floor too, not in C): per round (medians), the stalls, those on the period, their share of the average.
  const st = (p?: P): string => (p === undefined ? '-' : `${p.stalls ?? NaN} stalls, ${p.stalls512 ?? NaN} on the 512 ms period (${p.stalls512SharePercent ?? NaN} % of the average)`);
  console.log(`  stalls per round of ${c.count} (> 3x the median and +0.3 ms): stack ${st(c.stack)}; C responder ${st(c.responder)}; Node floor ${st(c.nodeFloor)}`);
  // What a ping allocates on the JS heap (bench/ping-alloc.ts, sampling heap profile), the stack's path and Node's floor.
  const alloc: string[] = [];
  for (const floor of ['0', '1']) {
    const a = spawnSync(process.execPath, [fileURLToPath(new URL('./ping-alloc.js', import.meta.url)), '--count', '3000', '--floor', floor],
      { encoding: 'utf8', timeout: 180_000, killSignal: 'SIGKILL' });
    const out = (a.stdout ?? '').trim();
    const m = /"pathBytesPerPing": ([\d.]+)/.exec(out);
    alloc.push(a.status === 0 && m !== null ? `${floor === '1' ? 'Node floor' : 'stack'} ${m[1]} B` : `${floor === '1' ? 'Node floor' : 'stack'} failed (${a.status ?? a.signal})`);
  }
  console.log(`  JS heap allocated per ping (sampling heap profile, the harness's own excluded): ${alloc.join(', ')}`);
  // Each echo's hops from the kernel's time stamps (bench/ping-perf-trace.ts), median/mean µs: where the stack's path differs from C's.
  for (const [who, hops] of Object.entries(c.perfTrace ?? {})) {
    if (hops === null) continue;
    console.log(`  hops, ${who} (median/mean µs): ${Object.entries(hops).map(([h, v]) => `${h} ${fmt(v.medianUs, 0)}/${fmt(v.meanUs, 0)}`).join(', ')}`);
  }
  console.log('');
}

/**
 * The chatty client (bench/chatty.ts): 200 corked request/response exchanges
 * over stack.net on TAP against Node's net over a veth, same Linux server;
 * median of alternating runs and the ratio. Root and /dev/net/tun only.
 * 9 alternating runs (fresh processes: 7), not 5: Node's side of one run
 * ranged 13-45 ms within minutes, so 5 runs left the median to one or two
 * noisy ones; the ratio of each alternating pair is printed with its spread.
 */
export function chattySection(io: SectionIo): void {
  const { fmt, printTable, progress } = io;
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    console.log('Chatty client over TAP: SKIPPED, needs root and /dev/net/tun');
    return;
  }
  const script = fileURLToPath(new URL('./chatty.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--rounds', '200', '--runs', '9', '--fresh', '7'], { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  const json = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !json.startsWith('{')) {
    console.log(`Chatty client over TAP: the run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  type Chatty = { rounds: number; runs: number; body: number; stackMs: number[]; linuxMs: number[]; delayedAcks: number;
    stackCpuUsPerExchange: number; stackJsCpuUsPerExchange?: number; stackWorkerCpuUsPerExchange?: number; perExchange?: { polls: number; immediates: number; timersArmed: number };
    warmup?: number; warmupStackMs?: number; warmupLinuxMs?: number;
    freshStackMs?: number[]; freshLinuxMs?: number[]; freshStackCpuUs?: number[]; freshLinuxCpuUs?: number[] };
  const c = JSON.parse(json) as Chatty;
  // Each run's stack/Linux ratio against the other side's run next to it: median (min-max).
  const pairs = (a: number[], b: number[]): string => pairsOf(fmt, a, b);
  const s = med(c.stackMs);
  const l = med(c.linuxMs);
  // The same after 5,000 uncounted exchanges (25 connections of 200, as the runs: bench/chatty.ts on one long
  // warm-up connection): the steady state, once V8 has compiled the stack's path
  // (the figure above includes that warm-up; Node's net client, mostly C++, has little to warm up).
  const w = spawnSync(process.execPath, [script, '--rounds', '200', '--runs', '9', '--warmup', '5000'], { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  const wJson = (w.stdout ?? '').trim().split('\n').pop() ?? '';
  const warm = w.status === 0 && wJson.startsWith('{') ? JSON.parse(wJson) as Chatty : null;
  console.log(`Chatty client: ${c.rounds} exchanges (8-byte header + ${c.body}-byte body corked, wait for a 4-byte reply), `
    + `median of ${c.runs} alternating runs against one Linux server`);
  printTable(['path', 'median ms', 'ms/exchange', 'runs (ms)'], [
    ['stack.net over TAP', fmt(s, 1), fmt(s / c.rounds, 3), c.stackMs.map((x) => fmt(x, 0)).join(' ')],
    ["Node's net over veth", fmt(l, 1), fmt(l / c.rounds, 3), c.linuxMs.map((x) => fmt(x, 0)).join(' ')],
  ]);
  console.log(`  ratio stack.net / Linux: ${fmt(s / l, 2)} (goal <= 1.5; before the Nagle/delayed-ACK fixes about 9 s, each exchange waiting for the peer's delayed ACK); `
    + `delayed ACKs on the stack's side: ${fmt(c.delayedAcks)}`);
  console.log(`  ratio of each alternating pair: median ${pairs(c.stackMs, c.linuxMs)}`);
  const pe = c.perExchange;
  if (pe !== undefined) {
    console.log(`  per exchange: stack CPU ${fmt(c.stackCpuUsPerExchange)} us (all threads; JS thread ${fmt(c.stackJsCpuUsPerExchange ?? NaN)}, `
      + `V8 workers: compiler, GC ${fmt(c.stackWorkerCpuUsPerExchange ?? NaN)}), ${fmt(pe.polls, 2)} polls, `
      + `${fmt(pe.immediates, 2)} setImmediate, ${fmt(pe.timersArmed, 2)} timers armed`);
  }
  if (c.warmup !== undefined && c.warmupStackMs !== undefined && c.warmupLinuxMs !== undefined) {
    // The uncounted warm-up: the stack's first exchanges in its process (V8 still interpreting and compiling it),
    // Node's net in a fresh process (as each of its runs above).
    console.log(`  first ${fmt(c.warmup)} exchanges (warm-up, not in the ratio): stack.net ${fmt(c.warmupStackMs / c.warmup, 3)} ms/exchange, `
      + `Node's net ${fmt(c.warmupLinuxMs / c.warmup, 3)}: ratio ${fmt(c.warmupStackMs / c.warmupLinuxMs, 2)}`);
  }
  if (c.freshStackMs !== undefined && c.freshLinuxMs !== undefined && c.freshStackMs.length > 0) {
    // Like for like: the runs above put a fresh Node process against exchanges 50.. of the stack's process.
    const fs = med(c.freshStackMs);
    const fl = med(c.freshLinuxMs);
    const perEx = (xs: number[] | undefined): string => (xs === undefined ? '-' : fmt(med(xs) / c.rounds));
    console.log(`  fresh process on both sides (${fmt(c.freshStackMs.length)} alternating runs each): stack.net ${fmt(fs / c.rounds, 3)} ms/exchange, `
      + `Node's net ${fmt(fl / c.rounds, 3)}: ratio ${fmt(fs / fl, 2)} (pairs ${pairs(c.freshStackMs, c.freshLinuxMs)}); client process CPU ${perEx(c.freshStackCpuUs)} vs ${perEx(c.freshLinuxCpuUs)} us/exchange`);
  }
  if (warm !== null) {
    const ws = med(warm.stackMs);
    const wl = med(warm.linuxMs);
    console.log(`  warm (after 5,000 exchanges over 25 connections): stack.net ${fmt(ws / warm.rounds, 3)} ms/exchange, Node's net ${fmt(wl / warm.rounds, 3)}: `
      + `ratio ${fmt(ws / wl, 2)} (pairs ${pairs(warm.stackMs, warm.linuxMs)}), stack CPU ${fmt(warm.stackCpuUsPerExchange)} us/exchange `
      + `(JS thread ${fmt(warm.stackJsCpuUsPerExchange ?? NaN)}, V8 workers ${fmt(warm.stackWorkerCpuUsPerExchange ?? NaN)})`);
  } else {
    console.log(`  warm run failed (${w.status ?? w.signal})`);
  }
  // The same comparison on the other supported Node lines (bench/chatty-lines.ts): how soon V8 compiles the stack's
  // path differs by line, Node's net client hardly.
  const others = runOtherLines(['--rounds', '200', '--runs', '9', '--fresh', '7'], progress);
  if (others.length === 0) return;
  console.log(`  the same on other Node lines, each with its own server and Node's net client (${c.runs} runs, ${c.freshStackMs?.length ?? 0} fresh pairs):`);
  const rows = [{ label: `Node ${process.version} (this one)`, maglev: maglevOf(process.execPath), run: c, why: '' }, ...others];
  printLines(io, rows);
  const ratio = (r: (typeof rows)[number]): number => (r.run === null ? NaN : med(r.run.stackMs) / med(r.run.linuxMs));
  const met = rows.filter((r) => ratio(r) <= 1.5).map((r) => r.label);
  const notMet = rows.filter((r) => !(ratio(r) <= 1.5)).map((r) => r.label);
  console.log(`  goal <= 1.5 (median ratio): met on ${met.length > 0 ? met.join(', ') : 'none'}; not met on ${notMet.length > 0 ? notMet.join(', ') : 'none'}`);
}

/**
 * Accept rate of `wirestack tap --http` during a SYN flood as a fraction of
 * its rate without one (bench/syn-flood.ts, root only): the flood at the
 * highest rate the sender reaches here, then at fixed lower rates for the curve;
 * then the same over IPv6 at the highest rate alone (one line), whose SYNs the
 * eBPF program at the TAP's egress answers or else the engine (the RX
 * thread's responder is IPv4-only).
 */
export function synFloodSection(io: SectionIo): void {
  const { scale: SCALE, fmt, printTable, progress } = io;
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    console.log('SYN flood accept rate: SKIPPED, needs root and /dev/net/tun');
    return;
  }
  const script = fileURLToPath(new URL('./syn-flood.js', import.meta.url));
  const seconds = Math.max(2, Math.round(5 * SCALE));
  progress(`syn flood bench: ${seconds} s per measurement`);
  const r = spawnSync(process.execPath, [script, '--seconds', String(seconds), '--rates', '0,10000,30000'],
    { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    console.log(`SYN flood accept rate: the run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  type Point = Record<string, number>;
  const j = JSON.parse(line) as Point & { points: Point[]; linux: Point & { points: Point[] } };
  console.log(`SYN flood against tap --http (spoofed sources, SYN-ACKs to nowhere; client: ${j.loops} loops of connect + GET + close in the namespace): `
    + `accept rate without flood ${fmt(j.baseline)}/s (mean of the baselines between the floods, first ${fmt(j.baseline1)}, last ${fmt(j.baseline2)})`);
  console.log(`  during a flood at the highest rate this machine's sender reached, ${fmt(j.floodRate)} SYN/s: ${fmt(j.during)}/s = `
    + `${fmt(100 * j.ratio, 1)} % of the no-flood rate measured next to it (${fmt(j.points[0].baseline)}/s) (goal >= 50 %)`);
  const eg = (j as unknown as { egress: { attached?: boolean; reason?: string } | null }).egress;
  console.log(eg?.attached === true
    ? `  flood SYNs answered at the TAP's egress (eBPF, in the sender's context) ${fmt(j.tapSynEgressAnsweredRate ?? 0)}/s, `
      + `on the TAP RX thread ${fmt(j.tapSynAnsweredRate ?? 0)}/s, by the engine ${fmt(j.cookiesPerSecond)}/s`
    : `  no eBPF responder at the TAP's egress (${eg?.reason?.split('\n')[0] ?? 'not tried'}): flood SYNs answered on the TAP RX thread `
      + `${fmt(j.tapSynAnsweredRate ?? 0)}/s, by the engine ${fmt(j.cookiesPerSecond)}/s`);
  const l = j.linux;
  console.log(`  Linux as the server (Node's http.Server on Linux TCP over a veth, same client and flood): ${fmt(l.baseline)}/s without flood; `
    + `during a flood of ${fmt(l.floodRate)} SYN/s ${fmt(l.during)}/s = ${fmt(100 * l.ratio, 1)} % of its no-flood rate next to it; wirestack's fraction / Linux's: ${fmt(j.ratio / l.ratio, 2)}`);
  printTable(['flood target', 'wirestack: SYN/s sent', 'accepts/s', 'no flood', 'ratio', 'p50 ms', 'p99 ms', 'stack rx seg/s', 'cookies/s',
    'kernel TAP drops/s', 'TapLink drops/s', 'Linux: SYN/s sent', 'accepts/s', 'no flood', 'ratio'],
  j.points.map((p, i) => {
    const q = l.points[i] ?? {};
    return [p.targetRate === 0 ? 'max' : fmt(p.targetRate), fmt(p.floodRate), fmt(p.during), fmt(p.baseline), `${fmt(100 * p.ratio, 1)} %`, fmt(p.duringP50Ms, 1),
      fmt(p.duringP99Ms, 1), fmt(p.stackRxRate), fmt(p.cookiesPerSecond), fmt(p.kernelDropRate), fmt(p.linkDropRate),
      fmt(q.floodRate ?? null), fmt(q.during ?? null), fmt(q.baseline ?? null), q.ratio === undefined ? 'n/a' : `${fmt(100 * q.ratio, 1)} %`];
  }), 1);
  synFlood6(io, script, seconds);
}

/**
 * The IPv6 flood (bench/syn-flood.ts --family 6) at the sender's maximum
 * only, the same seconds, with Linux beside it: one line, ~1 min.
 */
function synFlood6(io: SectionIo, script: string, seconds: number): void {
  const { fmt, progress } = io;
  progress('syn flood bench over IPv6: the maximum rate only');
  const r = spawnSync(process.execPath, [script, '--seconds', String(seconds), '--rates', '0', '--family', '6'],
    { encoding: 'utf8', timeout: 150_000, killSignal: 'SIGKILL' });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    console.log(`  IPv6 SYN flood: the run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const j = JSON.parse(line) as Record<string, number> & { linux: Record<string, number>; egress: { attached?: boolean; reason?: string } | null };
  const l = j.linux;
  const where = j.egress?.attached === true
    ? `at the TAP's egress (eBPF) ${fmt(j.tapSynEgressAnsweredRate ?? 0)}/s, by the engine ${fmt(j.cookiesPerSecond)}/s`
    : `no eBPF responder (${j.egress?.reason?.split('\n')[0] ?? 'not tried'}), by the engine ${fmt(j.cookiesPerSecond)}/s`;
  console.log(`  IPv6 (same client over IPv6, spoofed sources in 2001:db8::/32), flood at the sender's maximum only: wirestack `
    + `${fmt(100 * j.ratio, 1)} % of its no-flood rate (${fmt(j.during)}/s of ${fmt(j.baseline)}/s, ${fmt(j.floodRate)} SYN/s sent); `
    + `Linux ${fmt(100 * l.ratio, 1)} % (${fmt(l.during)}/s of ${fmt(l.baseline)}/s, ${fmt(l.floodRate)} SYN/s); wirestack / Linux ${fmt(j.ratio / l.ratio, 2)}; `
    + `IPv6 SYNs answered ${where}`);
}
