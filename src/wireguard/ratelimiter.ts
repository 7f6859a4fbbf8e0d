/**
 * The handshake rate limiter (the Linux driver's ratelimiter.c): a token
 * bucket per source — 20 per second, burst 5 — for cookie replies and
 * handshakes answered while the device is under load, in a fixed table
 * hashed by the source key (an IPv4 address, or a fold of an IPv6 /64, see
 * endpoint.ts). A collision resets the bucket for the newcomer, so the
 * table never grows and a flood of sources can't pin entries.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';

const LIMITER_BITS = 10;
const LIMITER_SLOTS = 1 << LIMITER_BITS;
const LIMITER_RATE = 20;
const LIMITER_BURST = 5;

export class Ratelimiter {
  private readonly addr: Int32Array;
  private readonly tokens: Float64Array;
  private readonly time: Float64Array;

  static plan(plan: MemoryPlan): void {
    plan.add('wg.ratelimit', LIMITER_SLOTS, 4).add('wg.ratelimit', LIMITER_SLOTS, 8).add('wg.ratelimit', LIMITER_SLOTS, 8);
  }

  constructor(arena: Arena) {
    this.addr = arena.i32('wg.ratelimit', LIMITER_SLOTS);
    this.tokens = arena.f64('wg.ratelimit', LIMITER_SLOTS);
    this.time = arena.f64('wg.ratelimit', LIMITER_SLOTS);
  }

  /** Take `cost` tokens from `key`'s bucket at `now` (ms); false when it has too few. */
  take(key: number, now: number, cost: number): boolean {
    const h = Math.imul(key | 0, 0x9e3779b1) >>> (32 - LIMITER_BITS);
    if (this.addr[h] !== (key | 0) || now - this.time[h] > 1000) {
      if (this.addr[h] !== (key | 0)) this.tokens[h] = LIMITER_BURST;
      this.addr[h] = key | 0;
    } else {
      this.tokens[h] = Math.min(LIMITER_BURST, this.tokens[h] + ((now - this.time[h]) * LIMITER_RATE) / 1000);
    }
    this.time[h] = now;
    if (this.tokens[h] < cost) return false;
    this.tokens[h] -= cost;
    return true;
  }
}
