/**
 * Where the microseconds of one ping go, from the kernel's own time stamps
 * (bench/tap-ping.ts `--perf-trace 1`): `perf record` of scheduler and
 * system-call tracepoints on all CPUs while ping runs against one responder,
 * then, per echo, the time between these events:
 *
 *   A ping's sendto()            B the responder's thread woken
 *   C it runs (switched in)      D its epoll_pwait()/poll() returns
 *   E its read() starts          F the read returns (the request in hand)
 *   G its write() starts         H ping woken (the reply delivered, inside G)
 *   J ping's recvmsg() returns
 *
 * A→D is the kernel's path to the device and the wake-up; D→E what runs in
 * user space before the request is read (for Node: libuv, Node-API, JS);
 * F→G the work on the request (for the stack: the engine and the TX path);
 * G→J the kernel's path back to ping. D→G (pollReturnToWrite) is all the
 * responder's user-space time: compare it across responders, since where
 * the read falls inside it differs (the stack's TapLink has the addon read
 * the first frame before entering JS, Node's floor reads from JS). Medians, means and 90th percentiles
 * over the pings. Tracepoints cost a little each (µs here); compare figures
 * within one run, not with the untraced RTTs.
 *
 * Needs `perf` and tracefs (root); returns null without them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const EVENTS = [
  'sched:sched_switch', 'sched:sched_wakeup', 'syscalls:sys_enter_sendto', 'syscalls:sys_exit_recvmsg',
  'syscalls:sys_exit_epoll_pwait', 'syscalls:sys_exit_poll', 'syscalls:sys_enter_read', 'syscalls:sys_exit_read',
  'syscalls:sys_enter_readv', 'syscalls:sys_exit_readv', 'syscalls:sys_enter_write', 'syscalls:sys_enter_writev',
];

/** Hop names (see the file comment) and the events they run between. */
const HOPS: readonly (readonly [string, string, string])[] = [
  ['sendToWake', 'A', 'B'], ['wakeToRun', 'B', 'C'], ['runToPollReturn', 'C', 'D'], ['pollReturnToRead', 'D', 'E'],
  ['read', 'E', 'F'], ['readToWrite', 'F', 'G'], ['writeToPingWake', 'G', 'H'], ['pingWakeToReturn', 'H', 'J'], ['rtt', 'A', 'J'],
  ['pollReturnToWrite', 'D', 'G'],
];

export interface HopFigures { n: number; medianUs: number; meanUs: number; p90Us: number }

/** True when `perf` can record tracepoints here. */
export function perfAvailable(): boolean {
  try {
    execFileSync('perf', ['list', 'sched:sched_switch'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Record while `run()` pings a responder whose reading thread is `tid`;
 * returns the hop figures by name. `seconds` bounds the recording.
 */
export async function perfTrace(file: string, tid: number, seconds: number, run: () => Promise<unknown>): Promise<Record<string, HopFigures> | null> {
  const args = ['record', '-q', '-a', '-o', file];
  for (const e of EVENTS) args.push('-e', e);
  args.push('--exclude-perf', '--', 'sleep', String(seconds));
  const perf = spawn('perf', args, { stdio: 'ignore' });
  const done = new Promise<number | null>((resolve) => perf.once('close', resolve));
  await new Promise((r) => setTimeout(r, 500)); // perf has set its events up
  try {
    await run();
  } finally {
    perf.kill('SIGINT'); // ends the recording now; perf writes its file and exits
    await done;
  }
  let text: string;
  try {
    text = execFileSync('perf', ['script', '-i', file, '-F', 'comm,tid,time,event,trace'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
  return hops(text, tid);
}

interface Ping { A: number; B?: number; C?: number; D?: number; E?: number; F?: number; G?: number; H?: number; J?: number; ping: number }

/** Per-ping event times from `perf script` lines, then the hop figures. */
export function hops(text: string, tid: number): Record<string, HopFigures> {
  const line = /^\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$/;
  const evs: { t: number; comm: string; tid: number; ev: string; tr: string }[] = [];
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (m !== null) evs.push({ t: Number(m[3]) * 1e6, comm: m[1], tid: Number(m[2]), ev: m[4], tr: m[5] });
  }
  evs.sort((a, b) => a.t - b.t);
  const pings: Ping[] = [];
  // Per ping process (another ping may run at the same time, against another target): its open echo.
  const open = new Map<number, Ping>();
  let lastSender = -1;
  /** The echo the responder is working on: the latest request sent when it was woken. */
  let cur: Ping | null = null;
  for (const e of evs) {
    if (e.comm === 'ping' && e.ev === 'syscalls:sys_enter_sendto') {
      open.set(e.tid, { A: e.t, ping: e.tid });
      lastSender = e.tid;
      continue;
    }
    if (e.ev === 'syscalls:sys_exit_recvmsg') {
      const p = open.get(e.tid);
      // A reply (a positive length), not an EAGAIN (a negative errno, printed as a large unsigned number).
      const v = e.tr.startsWith('0x') ? Number.parseInt(e.tr, 16) : Number(e.tr);
      if (p !== undefined && v > 0 && v < 1 << 20) {
        p.J = e.t;
        if (p.D !== undefined) pings.push(p); // answered by the responder traced
        open.delete(e.tid);
        if (cur === p) cur = null;
      }
      continue;
    }
    if (e.ev === 'sched:sched_wakeup') {
      const w = Number(/ pid=(\d+)/.exec(e.tr)?.[1] ?? -1);
      if (w === tid) {
        const p = open.get(lastSender);
        if (p !== undefined && p.B === undefined && p.D === undefined) {
          p.B = e.t;
          cur = p;
        }
      } else if (cur !== null && w === cur.ping && cur.G !== undefined && cur.H === undefined) {
        cur.H = e.t;
      }
      continue;
    }
    if (e.ev === 'sched:sched_switch') {
      if (cur !== null && Number(/next_pid=(\d+)/.exec(e.tr)?.[1] ?? -1) === tid && cur.B !== undefined && cur.C === undefined) cur.C = e.t;
      continue;
    }
    if (e.tid !== tid) continue;
    if (e.ev === 'syscalls:sys_exit_epoll_pwait' || e.ev === 'syscalls:sys_exit_poll') {
      // Woken without a recorded wakeup (it was running): the latest request is the one.
      if (cur === null || cur.D !== undefined) {
        const p = open.get(lastSender);
        cur = p !== undefined && p.D === undefined ? p : cur;
      }
      if (cur !== null && cur.D === undefined) cur.D = e.t;
      continue;
    }
    if (cur === null) continue;
    if ((e.ev === 'syscalls:sys_enter_read' || e.ev === 'syscalls:sys_enter_readv') && cur.D !== undefined && cur.E === undefined) cur.E = e.t;
    else if ((e.ev === 'syscalls:sys_exit_read' || e.ev === 'syscalls:sys_exit_readv') && cur.E !== undefined && cur.F === undefined) cur.F = e.t;
    else if ((e.ev === 'syscalls:sys_enter_write' || e.ev === 'syscalls:sys_enter_writev') && cur.F !== undefined && cur.G === undefined) cur.G = e.t;
  }
  const out: Record<string, HopFigures> = {};
  for (const [name, a, b] of HOPS) {
    const xs: number[] = [];
    for (const p of pings) {
      const ta = p[a as keyof Ping];
      const tb = p[b as keyof Ping];
      if (ta !== undefined && tb !== undefined) xs.push(tb - ta);
    }
    xs.sort((x, y) => x - y);
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    out[name] = xs.length === 0 ? { n: 0, medianUs: -1, meanUs: -1, p90Us: -1 }
      : { n: xs.length, medianUs: r1(xs[xs.length >> 1]), meanUs: r1(xs.reduce((s, x) => s + x, 0) / xs.length), p90Us: r1(xs[Math.floor(xs.length * 0.9)]) };
  }
  return out;
}

/** For a test or a look by hand: `node dist/bench/ping-perf-trace.js FILE.txt TID` on saved `perf script` output. */
if (process.argv[1] !== undefined && process.argv[1].endsWith('ping-perf-trace.js') && process.argv.length === 4) {
  console.log(JSON.stringify(hops(readFileSync(process.argv[2], 'utf8'), Number(process.argv[3])), null, 1));
}
