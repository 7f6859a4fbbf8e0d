/**
 * Chatty-client benchmark (issue #10): ROUNDS request/response exchanges,
 * each request a header and a body corked together (as mqtt.js writes), the
 * next one sent when the short reply is in. The same client runs over
 * `stack.net` (wirestack on a TAP device into a namespace holding the
 * server) and over Node's own `net` (from a second namespace over a veth to
 * the same server); runs alternate so that drift in the machine's speed
 * hits both alike. Needs root and /dev/net/tun (see test/helpers/chatty.ts
 * for the namespaces and addresses). Prints one JSON line.
 *
 *   node dist/bench/chatty.js [--rounds N] [--runs N] [--body BYTES] [--threads 0|1] [--handoff 0|1] [--warmup N] [--long-warmup 0|1] [--fresh N]
 *
 * The runs above compare unlike processes: each Node's net run is a fresh
 * process's first ROUNDS exchanges, while the stack's runs are exchanges
 * WARMUP.. of one process, half-way through V8's compiling of it. --fresh N
 * (default 0) adds N alternating runs where the stack's side is a fresh
 * process too (ChattyLab.overStackFresh: its own TAP device into the same
 * server's namespace), with each client process's CPU time.
 *
 * --handoff 0 keeps the TAP device with the RX thread even while it is
 * quiet (TapLinkOptions.rxHandoff false), for comparison.
 *
 * --warmup (default 50) sets the uncounted exchanges before the runs. The
 * stack's JS takes a few thousand exchanges to be fully compiled (V8's
 * compiler threads compete for the same 2 cores meanwhile), so the default
 * figures include JIT warm-up, while Node's net client, mostly C++, has
 * little to warm up; a large --warmup shows the steady state. The warm-up
 * runs over connections of --rounds exchanges each, as the measured runs
 * do: warmed up on one long connection instead, V8 optimizes the engine
 * without type feedback for a connection's opening and closing, and the
 * first close and reconnect deoptimize ~20 of its hot functions, which then
 * run unoptimized for ~2,000 exchanges (measured: 9 later runs of 200 took
 * 40-120 ms at 150-430 us CPU per exchange, against 12-25 ms at 34-91 us
 * after the same 3,000 exchanges over 15 connections). --long-warmup 1
 * keeps the single long warm-up connection, to measure that.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { ChattyLab } from '../test/helpers/chatty.js';

/** Context switches of every thread of this process so far (Linux /proc), or NaN elsewhere. */
function contextSwitches(): number {
  try {
    let n = 0;
    for (const task of readdirSync('/proc/self/task')) {
      const m = /voluntary_ctxt_switches:\s+(\d+)\s+nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${task}/status`, 'utf8'));
      if (m !== null) n += Number(m[1]) + Number(m[2]);
    }
    return n;
  } catch {
    return NaN;
  }
}

/**
 * CPU time of this process's threads so far, µs, from /proc/self/task/TID/schedstat (Linux; NaN elsewhere):
 * `js` the main (JS) thread, `workers` the other threads named "node" (V8's platform workers, where its
 * optimizing compiler and GC helpers run, and libuv's pool). The TAP I/O threads have names of their own.
 */
function threadCpuUs(): { js: number; workers: number } {
  try {
    let js = 0;
    let workers = 0;
    for (const task of readdirSync('/proc/self/task')) {
      const ns = Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      if (Number(task) === process.pid) js += ns / 1000;
      else if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'node') workers += ns / 1000;
    }
    return { js, workers };
  } catch {
    return { js: NaN, workers: NaN };
  }
}

/** Event-loop work of the stack per exchange, counted over one instrumented pass (not a timed one). */
interface LoopCounts {
  polls: number;
  immediates: number;
  timersArmed: number;
}

/**
 * `rounds` exchanges over the stack with the stack's polls and this
 * process's setImmediate/setTimeout calls counted (the wrappers come off
 * afterwards): how many polls and event-loop hops one exchange costs.
 */
async function countLoopWork(lab: ChattyLab, rounds: number, body: number): Promise<LoopCounts> {
  const g = globalThis as unknown as Record<'setImmediate' | 'setTimeout', (...a: unknown[]) => unknown>;
  const stack = lab.stack as unknown as { poll(now: number): number };
  const origImmediate = g.setImmediate;
  const origTimeout = g.setTimeout;
  const n = { polls: 0, immediates: 0, timersArmed: 0 };
  g.setImmediate = (...a: unknown[]) => { n.immediates++; return origImmediate(...a); };
  g.setTimeout = (...a: unknown[]) => { n.timersArmed++; return origTimeout(...a); };
  const poll = stack.poll;
  stack.poll = (now: number) => { n.polls++; return poll.call(stack, now); };
  try {
    await lab.overStack(rounds, body);
  } finally {
    g.setImmediate = origImmediate;
    g.setTimeout = origTimeout;
    delete (stack as { poll?: unknown }).poll;
  }
  const per = (x: number): number => +(x / rounds).toFixed(2);
  return { polls: per(n.polls), immediates: per(n.immediates), timersArmed: per(n.timersArmed) };
}

const argv = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const ROUNDS = opt('rounds', 200);
const RUNS = Math.max(3, opt('runs', 5));
const BODY = opt('body', 100);
const THREADS = opt('threads', -1);
const HANDOFF = opt('handoff', -1);
const WARMUP = Math.max(1, opt('warmup', 50));
const FRESH = Math.max(0, opt('fresh', 0));
const LONG_WARMUP = opt('long-warmup', 0) === 1;

const lab = await ChattyLab.open({
  ...(THREADS >= 0 ? { threads: THREADS === 1 } : {}),
  ...(HANDOFF >= 0 ? { rxHandoff: HANDOFF === 1 } : {}),
});
let failed = false;
try {
  // Warm-up (JIT, ARP, the server's first connection), not counted in the runs. Its times are
  // printed: the stack's first exchanges in this process against a fresh Node process's first ones.
  // The first warm-up connection's exchanges against as many in a fresh Node process (as each of its runs is).
  const first = LONG_WARMUP ? WARMUP : Math.min(WARMUP, ROUNDS);
  const firstStack = await lab.overStack(first, BODY);
  const firstLinux = await lab.overLinux(first, BODY);
  for (let left = WARMUP - first; left > 0; left -= ROUNDS) await lab.overStack(Math.min(left, ROUNDS), BODY);
  const stackMs: number[] = [];
  const linuxMs: number[] = [];
  // This process's CPU time and context switches (all its threads: JS, the
  // TAP I/O threads, V8's) during the stack's runs: unlike times, these hardly
  // depend on what else the machine is running.
  let cpuUs = 0;
  let switches = 0;
  // The same split by thread: the cold cost is V8 running the stack unoptimized on the JS thread and
  // compiling it on its workers, which compete for the same cores.
  let jsCpuUs = 0;
  let workerCpuUs = 0;
  const overStack = async (): Promise<void> => {
    const c0 = process.cpuUsage();
    const s0 = contextSwitches();
    const t0 = threadCpuUs();
    stackMs.push((await lab.overStack(ROUNDS, BODY)).ms);
    const c1 = process.cpuUsage(c0);
    const t1 = threadCpuUs();
    cpuUs += c1.user + c1.system;
    switches += contextSwitches() - s0;
    jsCpuUs += t1.js - t0.js;
    workerCpuUs += t1.workers - t0.workers;
  };
  for (let run = 0; run < RUNS; run++) {
    // Alternate which goes first.
    if (run % 2 === 0) {
      await overStack();
      linuxMs.push((await lab.overLinux(ROUNDS, BODY)).ms);
    } else {
      linuxMs.push((await lab.overLinux(ROUNDS, BODY)).ms);
      await overStack();
    }
  }
  // Fresh processes on both sides (see --fresh), alternating which goes first.
  const fresh = { freshStackMs: [] as number[], freshLinuxMs: [] as number[], freshStackCpuUs: [] as number[], freshLinuxCpuUs: [] as number[] };
  const freshStack = async (): Promise<void> => {
    const r = await lab.overStackFresh(ROUNDS, BODY);
    fresh.freshStackMs.push(r.ms);
    fresh.freshStackCpuUs.push(r.cpuUs ?? NaN);
  };
  const freshLinux = async (): Promise<void> => {
    const r = await lab.overLinux(ROUNDS, BODY);
    fresh.freshLinuxMs.push(r.ms);
    fresh.freshLinuxCpuUs.push(r.cpuUs ?? NaN);
  };
  for (let run = 0; run < FRESH; run++) {
    if (run % 2 === 0) {
      await freshStack();
      await freshLinux();
    } else {
      await freshLinux();
      await freshStack();
    }
  }
  const tcp = lab.stack.stats.tcp;
  const timed = {
    rounds: ROUNDS, runs: RUNS, body: BODY, warmup: first, warmupTotal: WARMUP, longWarmup: LONG_WARMUP, stackMs, linuxMs,
    warmupStackMs: firstStack.ms, warmupLinuxMs: firstLinux.ms,
    ...(FRESH > 0 ? fresh : {}),
    stackCpuUsPerExchange: Math.round(cpuUs / (ROUNDS * RUNS)),
    stackJsCpuUsPerExchange: Math.round(jsCpuUs / (ROUNDS * RUNS)), stackWorkerCpuUsPerExchange: Math.round(workerCpuUs / (ROUNDS * RUNS)),
    stackSwitchesPerExchange: +(switches / (ROUNDS * RUNS)).toFixed(2), delayedAcks: tcp.delayedAcks, retransmits: tcp.retransmits,
    txFrames: lab.tap.stats.txFrames, rxFrames: lab.tap.stats.rxFrames, threads: lab.tap.threadCounters(),
  };
  console.log(JSON.stringify({ ...timed, perExchange: await countLoopWork(lab, ROUNDS, BODY) }));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  lab.close();
}
process.exit(failed ? 1 : 0);
