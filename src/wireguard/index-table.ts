/**
 * Receiver indices → what they name (a handshake or a keypair), in an
 * open-addressing hash over typed arrays so the data path looks indices up
 * without allocating. Indices are random 32-bit values chosen by us, so
 * their low bits hash well enough as they are. Linear probing with
 * backward-shift deletion: no tombstones, so years of rekeying every two
 * minutes never lengthen the probe chains.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';

export class IndexTable {
  private readonly keys: Uint32Array;
  private readonly values: Int32Array;
  private readonly used: Uint8Array;
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
    this.used = arena.u8('wg.index', n);
    this.mask = n - 1;
  }

  /** Entries stored. */
  get size(): number {
    return this.live;
  }

  /** Slot holding `index`, or -1. */
  private find(index: number): number {
    const k = index >>> 0;
    let i = k & this.mask;
    // At most half the slots are used, so an empty slot ends every chain.
    while (this.used[i] !== 0) {
      if (this.keys[i] === k) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Value stored for `index`, or -1. */
  get(index: number): number {
    const i = this.find(index);
    return i < 0 ? -1 : this.values[i];
  }

  /**
   * Register a fresh random index for `value` (drawing from `random32` until
   * unused); returns the index. Throws when full, which the plan rules out.
   */
  insert(value: number, random32: () => number): number {
    if (this.live >= this.entries) throw new RangeError('WireGuard index table full');
    for (;;) {
      const k = random32() >>> 0;
      if (this.find(k) >= 0) continue;
      let i = k & this.mask;
      while (this.used[i] !== 0) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.values[i] = value;
      this.used[i] = 1;
      this.live++;
      return k;
    }
  }

  /** Point an existing index at a new value (a handshake's index becomes its keypair's). */
  set(index: number, value: number): boolean {
    const i = this.find(index);
    if (i < 0) return false;
    this.values[i] = value;
    return true;
  }

  remove(index: number): void {
    let i = this.find(index);
    if (i < 0) return;
    this.live--;
    // Backward shift: move later members of the cluster into the hole when their home allows it.
    for (let j = (i + 1) & this.mask; this.used[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.keys[j] & this.mask;
      // j may move to i when home is not cyclically in (i, j].
      const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (inRange) continue;
      this.keys[i] = this.keys[j];
      this.values[i] = this.values[j];
      i = j;
    }
    this.used[i] = 0;
  }
}
