/**
 * What the real-time ping path allocates on the JS heap (issue #13: garbage
 * makes scavenges, scavenges make the RTT's tail). A stack runs on a TAP
 * device in a namespace this script creates and removes (10.76.0.1/2 only),
 * driven by its RealtimeDriver as in bench/tap-ping.ts; Linux's ping sends
 * `--count` echo requests `--interval-ms` apart (0: flood) after a flood
 * warm-up. Around the measured pings: V8's sampling heap profiler with the
 * objects young collections freed kept in the profile (so short-lived
 * garbage shows), the GCs seen, and heapUsed before/after. Prints one JSON
 * line: bytes per ping, GCs, and the allocation sites (function, file:line)
 * by bytes.
 *
 *   node dist/bench/ping-alloc.js [--count N] [--interval-ms N] [--warmup N]
 *                                 [--threads 0|1] [--handoff 0|1] [--sample-bytes N] [--profile 0|1] [--floor 0|1]
 *
 * `--floor 1` answers with bench/ping-responder-node.ts's responder in this
 * process instead of a stack (a libuv poll handle and a few lines of JS on
 * the addon's device functions): what Node itself allocates per wake-up.
 *
 * `--profile 0` measures heapUsed and GCs only (the profiler's own
 * bookkeeping costs time; heapUsed does not see it, the objects it samples
 * being the stack's). With a large young generation (`node
 * --max-semi-space-size=64`) the loop makes no scavenge and heapUsed's growth
 * is the garbage itself.
 */
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import { Stack } from '../src/stack.js';
import { TapLink } from '../src/link/tap.js';
import { loadNativeAddon } from '../src/link/addon.js';
import { ip, numberOption } from './tap-lab.js';
import { startFloorResponder } from './ping-responder-node.js';

const COUNT = numberOption('count', 20000);
const INTERVAL_MS = numberOption('interval-ms', 1);
const WARMUP = numberOption('warmup', 20000);
const THREADS = numberOption('threads', -1);
const HANDOFF = numberOption('handoff', -1);
const SAMPLE_BYTES = numberOption('sample-bytes', 64);
const PROFILE = numberOption('profile', 1) !== 0;
const FLOOR = numberOption('floor', 0) !== 0;
const ns = `wspa-${process.pid}`;
const LINUX_IP = '10.76.0.1';
const STACK_IP = '10.76.0.2';

/** Linux's ping from the namespace; resolves with its summary line. */
function ping(count: number, intervalMs: number): Promise<string> {
  const args = ['netns', 'exec', ns, 'ping', '-q', '-c', String(count), ...(intervalMs === 0 ? ['-f'] : ['-i', String(intervalMs / 1000)]), STACK_IP];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000 + count * (intervalMs + 1) * 2);
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(out.trim().split('\n').slice(-2).join(' | '));
    });
  });
}

/** Allocation sites of this script's own doing (see pathBytesPerPing). */
const HARNESS = /bench\/ping-alloc|node:inspector|child_process|node:internal\/streams|memoryUsage|node:internal\/perf/;

function post<T>(s: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    s.post(method, params, (err, res) => (err !== null ? reject(err) : resolve(res as T)));
  });
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes by allocation site (self sizes of the sampled profile's nodes), largest first. */
function sites(root: ProfileNode): Array<{ site: string; bytes: number }> {
  const by = new Map<string, number>();
  const walk = (n: ProfileNode, parent: string): void => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/dist\//, '');
    const here = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    if (n.selfSize > 0) {
      const key = `${here} <- ${parent}`;
      by.set(key, (by.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(root, '');
  return [...by].map(([site, bytes]) => ({ site, bytes })).sort((a, b) => b.bytes - a.bytes);
}

ip('netns', 'add', ns);
const devName = `wspa${process.pid % 100000}`;
const tap = FLOOR ? null : TapLink.open(devName, {
  ...(THREADS >= 0 ? { threads: THREADS === 1 } : {}), ...(HANDOFF >= 0 ? { rxHandoff: HANDOFF === 1 } : {}),
});
const stack = FLOOR ? null : new Stack({ maxTcpSockets: 2 });
const native = FLOOR ? loadNativeAddon() : null;
let floorFd = -1;
let floorHandle: object | null = null;
/** Echo replies sent so far (the floor responder does not count: every ping answered is one). */
const replies = (): number => (stack === null ? 0 : stack.stats.icmp.echoRepliesOut);
let failed = false;
try {
  if (tap !== null && stack !== null) {
    tap.moveToNetns(ns, { hostAddress: `${LINUX_IP}/24` });
    stack.addInterface(tap, { address: `${STACK_IP}/24` });
    stack.start();
  } else if (native !== null) {
    floorFd = native.open(devName).fd;
    floorHandle = startFloorResponder(native, floorFd, STACK_IP);
    ip('link', 'set', 'dev', devName, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'dev', devName, 'up');
    ip('-n', ns, 'addr', 'add', `${LINUX_IP}/24`, 'dev', devName);
  }
  await ping(20, 10);
  if (WARMUP > 0) await ping(WARMUP, 0);
  await ping(200, INTERVAL_MS);
  // No inspector session at all without the profiler: a connected session may cost allocations of its own.
  const session = PROFILE ? new Session() : null;
  if (session !== null) {
    session.connect();
    await post(session, 'HeapProfiler.enable');
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: SAMPLE_BYTES, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true,
    });
  }
  const gcs: Array<{ kind: number; ms: number; at: number }> = [];
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0, ms: e.duration, at: e.startTime }); });
  obs.observe({ entryTypes: ['gc'] });
  const replies0 = replies();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const summary = await ping(COUNT, INTERVAL_MS);
  const h1 = process.memoryUsage().heapUsed;
  const t1 = performance.now();
  const received = /(\d+) received/.exec(summary);
  const answered = stack !== null ? replies() - replies0 : (received !== null ? Number(received[1]) : COUNT);
  let top: Array<{ site: string; bytes: number }> = [];
  let sampled = 0;
  if (session !== null) {
    const { profile } = await post<{ profile: { head: ProfileNode } }>(session, 'HeapProfiler.stopSampling');
    top = sites(profile.head);
    sampled = top.reduce((s, x) => s + x.bytes, 0);
  }
  obs.disconnect();
  session?.disconnect();
  console.log(JSON.stringify({
    responder: FLOOR ? 'node floor' : 'stack', count: COUNT, intervalMs: INTERVAL_MS, answered, seconds: Math.round(t1 - t0) / 1000, ping: summary,
    heapUsedDeltaPerPing: Math.round((h1 - h0) / Math.max(1, answered)), gcs: gcs.length,
    // perf_hooks kinds: 1 scavenge, 2 mark-compact, 4 incremental marking, 8 weak callbacks; at ms since the pings began.
    gcKinds: gcs.map((g) => `${g.kind}@${Math.round(g.at - t0)}`).join(' '),
    gcPauseMs: Math.round(gcs.reduce((s, g) => s + g.ms, 0) * 100) / 100,
    sampledBytesPerPing: PROFILE ? Math.round(sampled / Math.max(1, answered) * 10) / 10 : null,
    // Without what this script allocates itself (ping's spawn and pipe, the profiler's session, its own frames).
    pathBytesPerPing: PROFILE ? Math.round(top.filter((x) => !HARNESS.test(x.site)).reduce((a, x) => a + x.bytes, 0) / Math.max(1, answered) * 10) / 10 : null,
    sites: top.slice(0, 25).map((x) => ({ ...x, perPing: Math.round(x.bytes / Math.max(1, answered) * 10) / 10 })),
  }, null, 1));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  stack?.stop();
  tap?.close();
  if (native !== null && floorHandle !== null) native.pollStop(floorHandle);
  if (native !== null && floorFd >= 0) native.close(floorFd);
  try {
    ip('netns', 'del', ns);
  } catch {
    // absent
  }
}
process.exit(failed ? 1 : 0);
