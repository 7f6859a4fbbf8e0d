/**
 * Ping over TAP: RTT of Linux's ping against a stack on a TAP device, next
 * to two baselines measured in the same run, alternating (stack, responder,
 * veth, stack, ...) so that drift in the machine's speed hits all alike:
 *
 * - `responder`: bench/ping-responder.c (built here with `cc`), the least a
 *   user-space stack can do on a TAP device: one thread blocked in poll()
 *   on the fd, answering ARP and ICMP echo, in the shape of wolfIP's stock
 *   Linux TAP driver. Issue #13's goal (ping ≤ 2× wolfIP's stock driver,
 *   whose 0.048 ms was about Linux's own veth figure then) is stated as
 *   `ratio` = stack / responder ≤ 2.
 * - `nodeFloor`: bench/ping-responder-node.ts, the same responder in a few
 *   lines of JS on the addon's device functions (a libuv poll handle, no
 *   stack): what Node's event-loop wake-up and a call into JS cost here.
 * - `veth`: Linux ↔ Linux over a veth pair (no user space on the path).
 *
 * Everything runs in namespaces this script creates and removes (only
 * 10.75.x.y addresses inside them). Then the process's CPU while idle (from
 * /proc/self/stat over `--idle` seconds after the pings): it must stay 0.
 * Prints one JSON line.
 *
 *   node dist/bench/tap-ping.js [--count N] [--runs N] [--interval-ms N] [--idle S] [--settle S]
 *                               [--threads 0|1] [--handoff 0|1] [--direct 0|1] [--offload 0|1] [--spin-us N] [--baseline 0|1] [--trace 0|1]
 *                               [--warmup N] [--perf-trace 0|1]
 *
 * `--warmup N` (default 20000) flood pings (`ping -f`) first, uncounted:
 * see the warm-up below.
 *
 * `--spin-us N`: TapLinkOptions.busyPollUs (default 0: off).
 *
 * `stackJsCpuUsPerPing`: the JS thread's CPU time (/proc/thread-self/schedstat)
 * per ping during the stack's rounds, median of the rounds: what the stack's
 * wake-ups cost, a figure load moves less than the RTT (which it also delays).
 *
 * `--settle` is the wait between the last ping and the idle measurement
 * (default 1 s): V8 may still finish a garbage collection shortly after the
 * traffic (its memory reducer), which is not the stack's idle cost.
 *
 * `--trace 1` adds one more round of pings over the stack with the hops
 * timed (µs, medians): `toReplyUs` the link's readable callback → the
 * reply reaches `TapLink.transmit` (driver, read, stack), `writeUs` the
 * transmit itself (the direct write(), in which the kernel delivers the
 * reply to ping, and may switch to it), `restUs` the rest of the poll,
 * `rttUs` ping's RTT. What rttUs leaves beyond toReplyUs is the kernel's
 * path to the device and the JS thread's wake-up, libuv and Node-API.
 * The wrappers cost a little time themselves; the untraced rounds are the figure.
 *
 * `--perf-trace 1` adds one round per responder (stack, C, Node floor) under
 * `perf record` of scheduler and syscall tracepoints: each echo's hops from
 * the kernel's time stamps (see bench/ping-perf-trace.ts), so the stack's
 * path can be set beside the C responder's hop by hop.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from '../src/stack.js';
import { ip, numberOption } from './tap-lab.js';
import { TapLink } from '../src/link/tap.js';
import { perfAvailable, perfTrace } from './ping-perf-trace.js';
import { PerformanceObserver } from 'node:perf_hooks';

const COUNT = numberOption('count', 200);
const RUNS = Math.max(1, numberOption('runs', 3));
const INTERVAL_MS = numberOption('interval-ms', 10);
const IDLE_S = numberOption('idle', 5);
const SETTLE_S = numberOption('settle', 1);
const THREADS = numberOption('threads', -1);
const HANDOFF = numberOption('handoff', -1);
const DIRECT = numberOption('direct', -1);
const OFFLOAD = numberOption('offload', -1);
const SPIN_US = numberOption('spin-us', -1);
const BASELINE = numberOption('baseline', 1) !== 0;
const TRACE = numberOption('trace', 0) !== 0;
const WARMUP = numberOption('warmup', 20000);
const PERF_TRACE = numberOption('perf-trace', 0) !== 0;
const ns = `wstp-${process.pid}`;
const nsVeth = `wstv-${process.pid}`;
const LINUX_IP = '10.75.0.1';
const STACK_IP = '10.75.0.2';
const RESP_LINUX_IP = '10.75.1.1';
const RESP_IP = '10.75.1.2';
const NODE_LINUX_IP = '10.75.3.1';
const NODE_IP = '10.75.3.2';
const VETH_IP = '10.75.2.1';
const VETH_PEER_IP = '10.75.2.2';

/**
 * Nanoseconds the JS thread (this thread) has run, from /proc/thread-self/schedstat: its CPU time
 * while the stack answers, per ping, is a figure load moves far less than the RTT does.
 */
function threadCpuNs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

/** Nanoseconds the main thread of process `pid` has run (/proc/PID/schedstat); -1 when gone. */
function processCpuNs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return -1;
  }
}

/** utime + stime of this process in clock ticks (/proc/self/stat fields 14 and 15). */
function cpuTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

interface PingRun {
  avgMs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  lossPercent: number;
  /** 99th percentile. */
  p99Ms: number;
  /** Average of the fastest 95 % of the pings: the average without its tail. */
  avg95Ms: number;
  /** Pings slower than max(3 × median, median + 0.3 ms): stalls. */
  stalls: number;
  /** Of those, the ones 512 ± 8 ms (or a multiple, up to 4) from another stall: Node's periodic stall. */
  stalls512: number;
  /** The share of the average (%) that the periodic stalls add above the median. */
  stalls512SharePercent: number;
}

/**
 * The stalls of one round (see {@link PingRun.stalls}) from ping's `-D` time stamps. Node
 * processes (the stack, and Node's floor without any stack) show one every ~512 ms, the C
 * responder none; the cause is in Node or V8, not found.
 */
function stallFigures(pings: Array<[number, number]>, medianMs: number, sumMs: number): Pick<PingRun, 'stalls' | 'stalls512' | 'stalls512SharePercent'> {
  const slow = pings.filter(([, r]) => r > Math.max(3 * medianMs, medianMs + 0.3));
  const near512 = (dtMs: number): boolean => {
    const k = Math.round(dtMs / 512);
    return k >= 1 && k <= 4 && Math.abs(dtMs - k * 512) <= 8;
  };
  const periodic = slow.filter(([t], i) => slow.some(([u], j) => j !== i && near512(Math.abs(t - u) * 1000)));
  const extra = periodic.reduce((a, [, r]) => a + r - medianMs, 0);
  return { stalls: slow.length, stalls512: periodic.length, stalls512SharePercent: Math.round((100 * extra) / sumMs) };
}

/**
 * Ping `target` from the namespace. Its output goes to a file, read once it
 * exits: the process under test then does nothing between pings (reading
 * ping's pipe woke it after every reply and made garbage).
 */
function ping(target: string, count = COUNT, flood = false): Promise<PingRun> {
  const outFile = join(dir, 'ping.out');
  return new Promise((resolve, reject) => {
    const args = ['netns', 'exec', ns, 'ping', '-c', String(count), ...(flood ? ['-f', '-q'] : ['-D', '-i', String(INTERVAL_MS / 1000)]), target];
    const fd = openSync(outFile, 'w');
    const child = spawn('ip', args, { stdio: ['ignore', fd, 'ignore'] });
    closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000 + count * INTERVAL_MS * 2);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const out = readFileSync(outFile, 'utf8');
      const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(out);
      const loss = /(\d+)% packet loss/.exec(out);
      // The median and 90th percentile: the average follows a few late wake-ups on a busy machine.
      const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((x) => Number(x[1])).sort((a, b) => a - b);
      // With -D: [epoch seconds] before each reply line.
      const stamped = [...out.matchAll(/^\[([\d.]+)\].*time=([\d.]+) ms/gm)].map((x): [number, number] => [Number(x[1]), Number(x[2])]);
      if (m === null) {
        reject(new Error(`ping ${target} failed: ${out.slice(-200)}`));
        return;
      }
      if (rtts.length === 0) rtts.push(Number(m[2]));
      resolve({
        avgMs: Number(m[2]), minMs: Number(m[1]), maxMs: Number(m[3]), lossPercent: loss ? Number(loss[1]) : -1,
        medianMs: rtts[Math.floor(rtts.length / 2)], p90Ms: rtts[Math.floor(rtts.length * 0.9)],
        p99Ms: rtts[Math.floor(rtts.length * 0.99)], avg95Ms: mean(rtts.slice(0, Math.max(1, Math.floor(rtts.length * 0.95)))),
        ...stallFigures(stamped, rtts[Math.floor(rtts.length / 2)], rtts.reduce((a, b) => a + b, 0)),
      });
    });
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Build and start the baseline responder on a new TAP device; resolves once it created the device. */
async function startResponder(dir: string, dev: string): Promise<ChildProcess> {
  const src = fileURLToPath(new URL('../../bench/ping-responder.c', import.meta.url));
  const bin = join(dir, 'ping-responder');
  execFileSync('cc', ['-O2', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
  const child = spawn(bin, [dev, RESP_IP], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`ping-responder exited ${code}`)));
  });
  return child;
}

/** Start the Node floor responder (a second process) on a new TAP device. */
async function startNodeResponder(dev: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./ping-responder-node.js', import.meta.url));
  const child = spawn(process.execPath, [script, dev, NODE_IP], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`ping-responder-node exited ${code}`)));
  });
  return child;
}

/** Per-ping hop times of the traced round (see the file comment). */
interface Hops { toReplyUs: number[]; writeUs: number[]; restUs: number[] }

/** Wrap the link's readable callback, transmit and the stack's poll with time stamps (bench only). */
function traceHops(tap: TapLink, stack: Stack): { hops: Hops; stop: () => void } {
  const hops: Hops = { toReplyUs: [], writeUs: [], restUs: [] };
  const nowUs = (): number => performance.now() * 1000;
  // The link calls its `pollNow` (the driver's) from the fd's and the RX thread's callbacks.
  const t = tap as unknown as { pollNow: () => void; transmit: TapLink['transmit'] };
  const s = stack as unknown as { poll: (now: number) => number };
  const origWake = t.pollNow;
  const origTx = t.transmit;
  const origPoll = s.poll;
  let wokeAt = 0;
  let txEnd = 0;
  t.pollNow = () => { wokeAt = nowUs(); origWake(); };
  t.transmit = function (frame, offset, length, now, tx) {
    const t0 = nowUs();
    const r = origTx.call(tap, frame, offset, length, now, tx);
    const t1 = nowUs();
    // An echo reply (IPv4, ICMP type 0) sent in the wake-up we timed.
    if (length >= 42 && frame[offset + 12] === 0x08 && frame[offset + 13] === 0 && frame[offset + 23] === 1
      && frame[offset + 34] === 0 && wokeAt !== 0) {
      hops.toReplyUs.push(t0 - wokeAt);
      hops.writeUs.push(t1 - t0);
      txEnd = t1;
    }
    return r;
  };
  s.poll = function (now: number): number {
    const r = origPoll.call(stack, now);
    if (txEnd !== 0) {
      hops.restUs.push(nowUs() - txEnd);
      txEnd = 0;
    }
    wokeAt = 0;
    return r;
  };
  return {
    hops,
    stop: () => {
      t.pollNow = origWake;
      t.transmit = origTx;
      s.poll = origPoll;
    },
  };
}

ip('netns', 'add', ns);
const tap = TapLink.open(`wstp${process.pid % 100000}`, {
  ...(THREADS >= 0 ? { threads: THREADS === 1 } : {}), ...(HANDOFF >= 0 ? { rxHandoff: HANDOFF === 1 } : {}),
  ...(DIRECT >= 0 ? { directWrite: DIRECT === 1 } : {}), ...(OFFLOAD >= 0 ? { offload: OFFLOAD === 1 } : {}),
  ...(SPIN_US >= 0 ? { busyPollUs: SPIN_US } : {}),
});
const stack = new Stack({ maxTcpSockets: 2 });
const dir = mkdtempSync(join(tmpdir(), 'wstp-'));
let responder: ChildProcess | null = null;
let nodeResponder: ChildProcess | null = null;
let failed = false;
try {
  tap.moveToNetns(ns, { hostAddress: `${LINUX_IP}/24` });
  stack.addInterface(tap, { address: `${STACK_IP}/24` });
  stack.start();
  if (BASELINE) {
    const dev = `wstr${process.pid % 100000}`;
    responder = await startResponder(dir, dev);
    ip('link', 'set', 'dev', dev, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'dev', dev, 'up');
    ip('-n', ns, 'addr', 'add', `${RESP_LINUX_IP}/24`, 'dev', dev);
    const ndev = `wstn${process.pid % 100000}`;
    nodeResponder = await startNodeResponder(ndev);
    ip('link', 'set', 'dev', ndev, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'dev', ndev, 'up');
    ip('-n', ns, 'addr', 'add', `${NODE_LINUX_IP}/24`, 'dev', ndev);
    ip('netns', 'add', nsVeth);
    const a = `wsva${process.pid % 100000}`;
    const b = `wsvb${process.pid % 100000}`;
    ip('-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsVeth);
    ip('-n', ns, 'addr', 'add', `${VETH_IP}/24`, 'dev', a);
    ip('-n', ns, 'link', 'set', 'dev', a, 'up');
    ip('-n', nsVeth, 'addr', 'add', `${VETH_PEER_IP}/24`, 'dev', b);
    ip('-n', nsVeth, 'link', 'set', 'dev', b, 'up');
  }
  // Warm-up: ARP both ways, then a flood so that V8 has optimised the
  // stack's path (a ping every 10 ms alone leaves it in the baseline tier
  // for thousands of pings, where any real traffic would have optimised it).
  await ping(STACK_IP, 20);
  if (WARMUP > 0) await ping(STACK_IP, WARMUP, true);
  if (BASELINE) {
    await ping(RESP_IP, 20);
    await ping(NODE_IP, 20);
    if (WARMUP > 0) await ping(NODE_IP, WARMUP, true);
    await ping(VETH_PEER_IP, 20);
  }
  const runs: { stack: PingRun[]; responder: PingRun[]; nodeFloor: PingRun[]; veth: PingRun[] } = { stack: [], responder: [], nodeFloor: [], veth: [] };
  // What starting ping costs this thread (spawning from a large process), taken off each round's CPU.
  const spawnCpu0 = threadCpuNs();
  await new Promise((resolve) => spawn('ip', ['netns', 'exec', ns, 'true'], { stdio: 'ignore' }).once('close', resolve));
  const spawnCpuNs = threadCpuNs() - spawnCpu0;
  const jsCpuUs: number[] = [];
  /** The Node floor's main thread, the same way (it spawns nothing: no spawn cost to take off). */
  const floorCpuUs: number[] = [];
  // This process's garbage collections while the stack's rounds run (a pause there delays the echo in hand).
  let stackRounds = false;
  const stackGcs = { count: 0, pauseMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    if (!stackRounds) return;
    for (const e of list.getEntries()) {
      stackGcs.count++;
      stackGcs.pauseMs += e.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let r = 0; r < RUNS; r++) {
    const cpu0 = threadCpuNs();
    stackRounds = true;
    runs.stack.push(await ping(STACK_IP));
    stackRounds = false;
    jsCpuUs.push((threadCpuNs() - cpu0 - spawnCpuNs) / 1000 / COUNT);
    if (BASELINE) {
      runs.responder.push(await ping(RESP_IP));
      const floorCpu0 = processCpuNs(nodeResponder?.pid);
      runs.nodeFloor.push(await ping(NODE_IP));
      floorCpuUs.push((processCpuNs(nodeResponder?.pid) - floorCpu0) / 1000 / COUNT);
      runs.veth.push(await ping(VETH_PEER_IP));
    }
  }
  gcObserver.disconnect();
  const summary = (xs: PingRun[]): Record<string, number | number[]> => ({
    avgMs: round3(median(xs.map((x) => x.avgMs))), medianMs: round3(median(xs.map((x) => x.medianMs))),
    p90Ms: round3(median(xs.map((x) => x.p90Ms))), minMs: Math.min(...xs.map((x) => x.minMs)),
    p99Ms: round3(median(xs.map((x) => x.p99Ms))), avg95Ms: round3(median(xs.map((x) => x.avg95Ms))),
    // The share of the average that its slowest 5 % of pings make.
    tail5SharePercent: Math.round(median(xs.map((x) => 100 * (1 - (0.95 * x.avg95Ms) / x.avgMs)))),
    // Stalls (slower than 3× the median and +0.3 ms) per round, those on Node's ~512 ms period, and their share of the average.
    stalls: median(xs.map((x) => x.stalls)), stalls512: median(xs.map((x) => x.stalls512)),
    stalls512SharePercent: median(xs.map((x) => x.stalls512SharePercent)),
    runsAvgMs: xs.map((x) => x.avgMs), lossPercent: Math.max(...xs.map((x) => x.lossPercent)),
  });
  const result: Record<string, unknown> = { threads: tap.threaded, count: COUNT, runs: RUNS, intervalMs: INTERVAL_MS, stack: summary(runs.stack) };
  // The JS thread's CPU per ping while the stack answered (median of the runs; less what one spawn of `ip netns exec` cost).
  result.stackJsCpuUsPerPing = round3(median(jsCpuUs));
  if (BASELINE) result.nodeFloorCpuUsPerPing = round3(median(floorCpuUs));
  result.stackRoundsGcs = stackGcs.count;
  result.stackRoundsGcPauseMs = round3(stackGcs.pauseMs);
  if (BASELINE) {
    result.responder = summary(runs.responder);
    result.nodeFloor = summary(runs.nodeFloor);
    result.veth = summary(runs.veth);
    // Ratios per run (stack and its baselines pinged back to back), then the median.
    result.ratioAvg = round3(median(runs.stack.map((s, i) => s.avgMs / runs.responder[i].avgMs)));
    // Without each round's slowest 5 % (its tail): stack / responder.
    result.ratioAvg95 = round3(median(runs.stack.map((s, i) => s.avg95Ms / runs.responder[i].avg95Ms)));
    result.nodeFloorRatioAvg95 = round3(median(runs.nodeFloor.map((s, i) => s.avg95Ms / runs.responder[i].avg95Ms)));
    result.ratioMedian = round3(median(runs.stack.map((s, i) => s.medianMs / runs.responder[i].medianMs)));
    result.nodeFloorRatioAvg = round3(median(runs.nodeFloor.map((s, i) => s.avgMs / runs.responder[i].avgMs)));
    result.nodeFloorRatioMedian = round3(median(runs.nodeFloor.map((s, i) => s.medianMs / runs.responder[i].medianMs)));
    result.ratioAvgVsVeth = round3(median(runs.stack.map((s, i) => s.avgMs / runs.veth[i].avgMs)));
    result.goal = 'ratioAvg <= 2 (stack / the blocking-read C responder, standing in for wolfIP\'s stock TAP driver)';
  }
  // Idle: the device gets no traffic; the process must not spend CPU (no spinning, no timers).
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const t0 = cpuTicks();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  result.idleCpuTicks = cpuTicks() - t0;
  result.idleSeconds = IDLE_S;
  // After the idle figure: the trace's wrappers make garbage that V8 collects later.
  if (TRACE) {
    const tr = traceHops(tap, stack);
    const p = await ping(STACK_IP);
    tr.stop();
    const m = (xs: number[]): number => (xs.length === 0 ? -1 : Math.round(median(xs)));
    result.trace = {
      pings: tr.hops.toReplyUs.length, toReplyUs: m(tr.hops.toReplyUs), writeUs: m(tr.hops.writeUs),
      restUs: m(tr.hops.restUs), rttUs: Math.round(p.medianMs * 1000),
    };
  }
  // One more round per responder under `perf record` (bench/ping-perf-trace.ts): the hops of each echo.
  if (PERF_TRACE && perfAvailable()) {
    const traced: Record<string, unknown> = {};
    const seconds = Math.ceil((COUNT * INTERVAL_MS) / 1000) + 30;
    traced.stack = await perfTrace(join(dir, 'stack.perf'), process.pid, seconds, () => ping(STACK_IP));
    if (responder?.pid !== undefined) traced.responder = await perfTrace(join(dir, 'resp.perf'), responder.pid, seconds, () => ping(RESP_IP));
    if (nodeResponder?.pid !== undefined) traced.nodeFloor = await perfTrace(join(dir, 'node.perf'), nodeResponder.pid, seconds, () => ping(NODE_IP));
    result.perfTrace = traced;
  }
  const counters = tap.threadCounters();
  if (counters !== null) result.counters = counters;
  // Reads on the JS thread that found the device empty (a lone request is read once: TapLink.readFd).
  result.rxEmptyReads = tap.rxEmptyReads;
  console.log(JSON.stringify(result));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  stack.stop();
  tap.close();
  if (responder !== null) responder.kill('SIGKILL');
  if (nodeResponder !== null) nodeResponder.kill('SIGKILL');
  for (const n of [ns, nsVeth]) {
    try {
      ip('netns', 'del', n);
    } catch {
      // absent
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
