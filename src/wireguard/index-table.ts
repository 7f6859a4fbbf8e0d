/**
 * Receiver indices → what they name (a handshake or a keypair), in an
 * open-addressing hash over typed arrays so the data path looks indices up
 * without allocating. Indices are random 32-bit values chosen by us, so
 * their low bits hash well enough as they are.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';

const EMPTY = 0;
const LIVE = 1;
const DELETED = 2;

export class IndexTable {
  private readonly keys: Uint32Array;
  private readonly values: Int32Array;
  private readonly state: Uint8Array;
  private readonly mask: number;
  private live = 0;

  static slotsFor(entries: number): number {
    let n = 8;
    while (n < entries * 2) n *= 2;
    return n;
  }

  static plan(plan: MemoryPlan, entries: number): void {
    const n = IndexTable.slotsFor(entries);
    plan.add('wg.index', n, 4).add('wg.index', n, 4).add('wg.index', n);
  }

  constructor(arena: Arena, readonly entries: number) {
    const n = IndexTable.slotsFor(entries);
    this.keys = arena.u32('wg.index', n);
    this.values = arena.i32('wg.index', n);
    this.state = arena.u8('wg.index', n);
    this.mask = n - 1;
  }

  /** Value stored for `index`, or -1. */
  get(index: number): number {
    const k = index >>> 0;
    let i = k & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const st = this.state[i];
      if (st === EMPTY) return -1;
      if (st === LIVE && this.keys[i] === k) return this.values[i];
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /**
   * Register a fresh random index for `value` (drawing from `random32` until
   * unused); returns the index. Throws when full, which the plan rules out.
   */
  insert(value: number, random32: () => number): number {
    if (this.live >= this.entries) throw new RangeError('WireGuard index table full');
    for (;;) {
      const k = random32() >>> 0;
      if (this.get(k) >= 0) continue;
      let i = k & this.mask;
      while (this.state[i] === LIVE) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.values[i] = value;
      this.state[i] = LIVE;
      this.live++;
      return k;
    }
  }

  /** Point an existing index at a new value (a handshake's index becomes its keypair's). */
  set(index: number, value: number): boolean {
    const k = index >>> 0;
    let i = k & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const st = this.state[i];
      if (st === EMPTY) return false;
      if (st === LIVE && this.keys[i] === k) {
        this.values[i] = value;
        return true;
      }
      i = (i + 1) & this.mask;
    }
    return false;
  }

  remove(index: number): void {
    const k = index >>> 0;
    let i = k & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const st = this.state[i];
      if (st === EMPTY) return;
      if (st === LIVE && this.keys[i] === k) {
        this.state[i] = DELETED;
        this.live--;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }
}
