/**
 * One stack on a FrameTap, for feeding hand-made frames and inspecting its
 * replies. Not a test file itself (no tests are declared here).
 */
import { Stack } from '../../src/stack.js';
import type { StackConfig } from '../../src/engine/config.js';
import { FrameTap } from '../helpers/frames.js';

export const STACK_MAC = '02:00:00:00:00:01';
export const STACK_IP = '10.0.0.1';
export const PEER_MAC = '02:00:00:00:00:02';
export const PEER_IP = '10.0.0.2';
/** A unicast MAC on the segment that is not the stack's. */
export const OTHER_MAC = '02:00:00:00:00:99';
export const SUBNET_BROADCAST = '10.0.0.255';
export const BOUND_PORT = 7777;
export const CLOSED_PORT = 9999;

export type Counters = Record<string, number>;

/** Flatten the stack's nested counters into 'group.name' -> value. */
export function snapshot(stack: Stack): Counters {
  const out: Counters = {};
  for (const [group, counters] of Object.entries(stack.stats)) {
    for (const [name, value] of Object.entries(counters as Record<string, number>)) out[`${group}.${name}`] = value;
  }
  return out;
}

/** Counters that changed between two snapshots, with their deltas. */
export function delta(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const k of Object.keys(after)) {
    const d = after[k] - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Counters that only say "seen" or "passed up" (every frame that gets that far bumps them). */
const SEEN = /\.(rx|rxFrames|rxBytes)$|^ip\.delivered$/;

/** The non-"seen" counters that changed: for a dropped frame, exactly its drop reason. */
export function dropDelta(before: Counters, after: Counters): Counters {
  const d = delta(before, after);
  for (const k of Object.keys(d)) if (SEEN.test(k)) delete d[k];
  return d;
}

export interface Fixture {
  stack: Stack;
  tap: FrameTap;
  /** A UDP socket bound to 0.0.0.0:BOUND_PORT. */
  fd: number;
  now: number;
  /** Inject frames, poll once (1 ms later), return what the stack transmitted. */
  feed(...frames: Uint8Array[]): Uint8Array[];
  /** Poll at `now + ms` and return what the stack transmitted. */
  advance(ms: number): Uint8Array[];
}

/**
 * The stack's own IPv6 start-up messages (slaac.ts): the DAD probe of its
 * link-local address (NS from ::) and its router solicitations. They go out
 * at random times in the first ~9 s; the IPv4 tests here look past them.
 */
function isNdStartup(f: Uint8Array): boolean {
  if (f.length < 55 || f[12] !== 0x86 || f[13] !== 0xdd || f[20] !== 58) return false;
  if (f[54] === 133) return true;
  if (f[54] !== 135) return false;
  for (let i = 22; i < 38; i++) if (f[i] !== 0) return false;
  return true;
}

export function makeFixture(seed: number, config: StackConfig = {}): Fixture {
  const tap = new FrameTap('tap0', 1500);
  const stack = new Stack({ seed, ...config });
  stack.addInterface(tap, { address: `${STACK_IP}/24`, mac: STACK_MAC });
  const fd = stack.sockets.socket('udp');
  if (fd < 0) throw new Error(`socket() failed: ${fd}`);
  const r = stack.sockets.bind(fd, 0, BOUND_PORT);
  if (r !== 0) throw new Error(`bind() failed: ${r}`);
  const fx: Fixture = {
    stack, tap, fd, now: 0,
    feed(...frames: Uint8Array[]): Uint8Array[] {
      for (const f of frames) tap.inject(f);
      fx.now += 1;
      stack.poll(fx.now);
      return tap.take().filter((f) => !isNdStartup(f));
    },
    advance(ms: number): Uint8Array[] {
      fx.now += ms;
      stack.poll(fx.now);
      return tap.take().filter((f) => !isNdStartup(f));
    },
  };
  // The first poll sends the gratuitous ARP announcement; start from a quiet tap.
  stack.poll(0);
  tap.take();
  return fx;
}
