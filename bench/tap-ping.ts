/**
 * Ping over TAP: RTT of Linux's ping against a stack on a TAP device (in a
 * namespace this script creates and removes; only 10.75.0.1/2 inside it),
 * and the process's CPU while idle (from /proc/self/stat over `--idle`
 * seconds after the pings: it must stay 0). Prints one JSON line.
 *
 *   node dist/bench/tap-ping.js [--count N] [--interval-ms N] [--idle S] [--settle S] [--threads 0|1] [--handoff 0|1] [--direct 0|1]
 *
 * `--settle` is the wait between the last ping and the idle measurement
 * (default 1 s): V8 may still finish a garbage collection shortly after the
 * traffic (its memory reducer), which is not the stack's idle cost.
 *
 * The stack answers ICMP echo in its poll; what the figure measures beyond
 * the kernel's own path is how soon a frame on an idle device reaches the
 * stack and the reply reaches the device (the wake-up path: RX thread or
 * the JS thread's uv_poll, event-loop wake, driver kick, poll, TX).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Stack } from '../src/stack.js';
import { ip, numberOption } from './tap-lab.js';
import { TapLink } from '../src/link/tap.js';

const COUNT = numberOption('count', 200);
const INTERVAL_MS = numberOption('interval-ms', 10);
const IDLE_S = numberOption('idle', 5);
const SETTLE_S = numberOption('settle', 1);
const THREADS = numberOption('threads', -1);
const HANDOFF = numberOption('handoff', -1);
const DIRECT = numberOption('direct', -1);
const ns = `wstp-${process.pid}`;
const LINUX_IP = '10.75.0.1';
const STACK_IP = '10.75.0.2';

/** utime + stime of this process in clock ticks (/proc/self/stat fields 14 and 15). */
function cpuTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function ping(): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['netns', 'exec', ns, 'ping', '-c', String(COUNT), '-i', String(INTERVAL_MS / 1000), STACK_IP];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000 + COUNT * INTERVAL_MS * 2);
    child.on('error', reject);
    child.on('close', () => { clearTimeout(timer); resolve(out); });
  });
}

ip('netns', 'add', ns);
const tap = TapLink.open(`wstp${process.pid % 100000}`, {
  ...(THREADS >= 0 ? { threads: THREADS === 1 } : {}), ...(HANDOFF >= 0 ? { rxHandoff: HANDOFF === 1 } : {}),
  ...(DIRECT >= 0 ? { directWrite: DIRECT === 1 } : {}),
});
const stack = new Stack({ maxTcpSockets: 2 });
let failed = false;
try {
  tap.moveToNetns(ns, { hostAddress: `${LINUX_IP}/24` });
  stack.addInterface(tap, { address: `${STACK_IP}/24` });
  stack.start();
  // Warm-up: ARP both ways and the JIT.
  await ping();
  const out = await ping();
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(out);
  const loss = /(\d+)% packet loss/.exec(out);
  const result: Record<string, number | boolean | string> = { threads: tap.threaded, count: COUNT, intervalMs: INTERVAL_MS };
  if (m) {
    result.minMs = Number(m[1]);
    result.avgMs = Number(m[2]);
    result.maxMs = Number(m[3]);
    result.mdevMs = Number(m[4]);
  }
  result.lossPercent = loss ? Number(loss[1]) : -1;
  // The median and 90th percentile: the average follows a few late wake-ups on a busy machine.
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((x) => Number(x[1])).sort((a, b) => a - b);
  if (rtts.length > 0) {
    result.medianMs = rtts[Math.floor(rtts.length / 2)];
    result.p90Ms = rtts[Math.floor(rtts.length * 0.9)];
  }
  // Idle: the device gets no traffic; the process must not spend CPU (no spinning, no timers).
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const t0 = cpuTicks();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  result.idleCpuTicks = cpuTicks() - t0;
  result.idleSeconds = IDLE_S;
  const counters = tap.threadCounters();
  if (counters !== null) Object.assign(result, counters);
  console.log(JSON.stringify(result));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  stack.stop();
  tap.close();
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
}
process.exit(failed ? 1 : 0);
