/**
 * 0 GC on the real-time ping path (issue #13: garbage makes scavenges, and
 * a scavenge inside a wake-up is a late echo): a link's event-loop callback
 * calls the driver's poll-at-once (RealtimeDriver.pollNow, as TapLink's fd
 * and RX-thread callbacks do), the driver reads the clock and polls the
 * stack, the stack answers the echo request the link delivers and transmits
 * the reply. No Node I/O: the test's link calls pollNow itself, in a
 * synchronous loop, so any garbage is the stack's or the driver's (bench/
 * ping-alloc.ts measures the same path over a real TAP device, Node's own
 * callback entry included).
 *
 * Two clocks: an injected integer clock (virtual time through the real
 * driver), and the stack's default clock, which with the native addon is
 * native/clock.c's clockMs (performance.now() would leave a 16 B heap number
 * per wake-up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Stack } from '../../src/index.js';
import type { FrameReceiver, Link, LinkStats } from '../../src/link/link.js';
import { tryNativeAddon } from '../../src/link/addon.js';
import { arpFrame, icmpEcho, ipv4Frame } from '../helpers/frames.js';
import { maglevByDefault } from '../helpers/maglev.js';

const STACK_MAC = '02:00:00:00:00:0a';
const PEER_MAC = '02:00:00:00:00:01';
const STACK_IP = '10.0.0.2';
const PEER_IP = '10.0.0.1';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** A link that delivers one prepared echo request per poll when asked, answers ARP for the peer, counts replies. */
class EchoLink implements Link {
  readonly name = 'echo0';
  readonly mtu = 1500;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  pollNow: (() => void) | null = null;
  /** An echo request waits to be delivered at the next poll. */
  pending = false;
  replies = 0;
  private arpPending = false;
  private readonly request = ipv4Frame(STACK_MAC, PEER_MAC,
    { src: PEER_IP, dst: STACK_IP, proto: 1, payload: icmpEcho(8, 0x77, 1, new Uint8Array(56).fill(0xa5)) });
  private readonly arpReply = arpFrame(STACK_MAC, { oper: 2, sha: PEER_MAC, spa: PEER_IP, tha: STACK_MAC, tpa: STACK_IP });

  transmit(f: Uint8Array, o: number, len: number): number {
    this.stats.txFrames++;
    // An echo reply: IPv4, ICMP, type 0.
    if (len >= 42 && f[o + 12] === 0x08 && f[o + 13] === 0 && f[o + 23] === 1 && f[o + 34] === 0) this.replies++;
    // An ARP request (for the peer): answered at the next poll.
    else if (len >= 42 && f[o + 12] === 0x08 && f[o + 13] === 0x06 && f[o + 21] === 1) this.arpPending = true;
    return 0;
  }

  poll(_now: number, rx: FrameReceiver): number {
    if (this.arpPending) {
      this.arpPending = false;
      rx.receiveFrame(this.arpReply, 0, this.arpReply.length);
    }
    if (this.pending) {
      this.pending = false;
      rx.receiveFrame(this.request, 0, this.request.length);
    }
    return Infinity;
  }

  setWakeup(_wakeup: (() => void) | null, pollNow: (() => void) | null = null): void {
    this.pollNow = pollNow;
  }

  close(): void {
    this.pollNow = null;
  }
}

/** Wake-ups before the measured ones: enough for V8 to have optimized even the path's small functions. */
const SETTLE = 150_000;

interface Loop {
  gcs: number;
  replies: number;
  /**
   * The young generation's used bytes after the loop minus before it, no collection between (asserted
   * by gcs 0): what the loop allocated in objects. Code V8 compiles meanwhile lands in other spaces.
   */
  allocated: number;
  /** The same for the whole heap (code, feedback and compiled data included), for the report. */
  heapUsed: number;
}

/** Bytes in use in the young generation. */
function youngUsed(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') n += s.space_used_size;
  return n;
}

/**
 * `rounds` echo requests, each delivered and answered inside one pollNow() (the link's wake-up);
 * `tick(settling)` is called before each wake-up.
 */
function run(link: EchoLink, rounds: number, tick: (settling: boolean) => void): Loop {
  const wake = link.pollNow;
  assert.ok(wake !== null, 'the running stack registered its poll-at-once');
  // Settle: ARP, IPv6's start-up timers (DAD, router solicitations), V8's optimization of the path.
  for (let i = 0; i < SETTLE; i++) {
    tick(true);
    link.pending = true;
    wake();
  }
  fullGc();
  let gcs = 0;
  const obs = new PerformanceObserver((l) => { gcs += l.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  const r0 = link.replies;
  const h0 = process.memoryUsage().heapUsed;
  const y0 = youngUsed();
  for (let i = 0; i < rounds; i++) {
    tick(false);
    link.pending = true;
    wake();
  }
  const allocated = youngUsed() - y0;
  const heapUsed = process.memoryUsage().heapUsed - h0;
  const replies = link.replies - r0;
  gcs += obs.takeRecords().length;
  obs.disconnect();
  return { gcs, replies, allocated, heapUsed };
}

// Enough wake-ups that 16 B each (one heap number) would show as 6 MB allocated.
const ROUNDS = 400_000;

function check(r: Loop): void {
  console.log(`${ROUNDS} wake-ups: ${JSON.stringify(r)}`);
  assert.equal(r.replies, ROUNDS, 'every echo request answered inside the wake-up that delivered it');
  assert.equal(r.gcs, 0, `garbage collections during ${ROUNDS} wake-ups: ${JSON.stringify(r)}`);
  // Without a collection the young generation only grows by what was allocated: a few kB in all here
  // (the meter's own reads), i.e. ~0.01 B per wake-up; one heap number per wake-up would be 16 B, and
  // even one small object per 50 wake-ups shows above 0.25 B.
  assert.ok(r.allocated / ROUNDS < 0.25, `allocated ${(r.allocated / ROUNDS).toFixed(3)} B per wake-up: ${JSON.stringify(r)}`);
}

test('real-time ping path, integer clock: every echo answered inside its wake-up, no GC', () => {
  let t = 1;
  const link = new EchoLink();
  const stack = new Stack({ clock: () => t, seed: 1 });
  stack.addInterface(link, { address: `${STACK_IP}/24`, mac: STACK_MAC });
  stack.start({ keepAlive: false });
  try {
    // Settling: a millisecond every 5th wake-up (30 s: IPv6's start-up timers are done); then a new
    // millisecond every 32nd wake-up, as pings a fraction of a millisecond apart see it (12.5 s more:
    // ARP's entry, 60 s, stays fresh throughout). The stack's own timers (an ARP refresh, a deadline re-armed) are rare events that
    // leave V8 re-optimizing the path, not per-ping garbage: kept out of the measured stretch.
    let i = 0;
    check(run(link, ROUNDS, (settling) => { if (settling ? ++i % 5 === 0 : (++i & 31) === 0) t++; }));
    assert.ok(t < 60_000, 'the measured stretch ends before ARP\'s entry expires');
  } finally {
    stack.stop();
  }
});

const addon = tryNativeAddon();
const nativeClock = !(addon instanceof Error) && typeof addon.clockMs === 'function';

test('real-time ping path, the default clock (native clockMs): no GC', { skip: nativeClock ? false : 'native addon (clockMs) not built' }, () => {
  const link = new EchoLink();
  const stack = new Stack({ seed: 1 });
  stack.addInterface(link, { address: `${STACK_IP}/24`, mac: STACK_MAC });
  stack.start({ keepAlive: false });
  try {
    check(run(link, ROUNDS, () => {}));
    // The engine's time follows performance.now()'s (the native clock is aligned on it): a poll's time
    // lies between the whole milliseconds read around it (1 ms of slack for the alignment).
    for (let i = 0; i < 100; i++) {
      const before = Math.floor(performance.now());
      link.pollNow?.();
      const after = Math.floor(performance.now());
      const now = stack.now;
      assert.ok(now >= before - 1 && now <= after + 1, `engine time ${now} outside [${before}, ${after}] of performance.now()`);
    }
  } finally {
    stack.stop();
  }
});

/**
 * Node 24 and later run a path in Maglev's code for a long stretch before TurboFan takes it, and when
 * TurboFan's compile comes late (a loaded machine) the tests above measure Maglev's code. Getters
 * returning a deadline (Infinity when idle) and a deadline passed to a call left a heap number per
 * wake-up there (16-17 B: 6.9 MB over the 400,000); CI on Node 26 saw 2.4 B per wake-up when TurboFan
 * came 60,000 wake-ups late. So the same tests again in a child with TurboFan off, where Maglev is on
 * by default (Node 20 and 22 have it off: there the tier below TurboFan is the interpreter's, which
 * boxes numbers anyway).
 */
const maglevOn = maglevByDefault() === true;
const inMaglevChild = process.env.WST_MAGLEV_ONLY === '1';

test('the same wake-ups in Maglev\'s code alone (--no-turbofan): no GC, nothing allocated',
  { skip: inMaglevChild ? 'this is the child' : maglevOn ? false : `no Maglev by default on Node ${process.versions.node}` }, () => {
    // The file run as a script (its tests run at exit), out of this runner's context: a nested --test is refused.
    const env: NodeJS.ProcessEnv = { ...process.env, WST_MAGLEV_ONLY: '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--no-turbofan', fileURLToPath(import.meta.url)],
      { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', env });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    // Not vacuous: the child measured the wake-ups (its report lines) and passed.
    assert.ok((out.match(/400000 wake-ups: /g) ?? []).length >= 1, `the child measured nothing: ${out.slice(-800)}`);
    assert.equal(r.status, 0, `with TurboFan off: ${out.split('\n').filter((l) => /wake-ups:|allocated|✖/.test(l)).join(' | ')}`);
  });
