/**
 * The bookkeeping IPv4 and IPv6 reassembly share (engine/fragment.ts,
 * engine/reassembly6.ts): a fixed pool of slots from the memory plan, each a
 * buffer with `head` bytes of room for the packet's header followed by the
 * data, and a bitmap of the 8-byte units received. Because every fragment
 * but the last carries a multiple of 8 bytes (RFC 791 3.2, RFC 8200 §4.5),
 * the bitmap is exact. Per slot it also keeps how many units arrived, one
 * past the highest (to clear only what was used), the data length once the
 * last fragment fixed it, a deadline, and an age for evicting the oldest.
 *
 * What a fragment means (which overlaps drop the packet, which ends are
 * consistent, first-fragment rules, ICMP errors, counters) stays with each
 * family: this class only answers and records. It allocates nothing.
 */
import type { Carver } from './arena.js';
import { copyBytes } from '../wire/bytes.js';

/** Slot states; a family may add its own above {@link SLOT_BUSY}. */
export const SLOT_FREE = 0;
export const SLOT_BUSY = 1;

export class ReassemblySlots {
  /** Slot `s`'s buffer starts at `s * slotBytes`; its data at {@link dataAt}(s). */
  readonly buf: Uint8Array;
  readonly state: Uint8Array;
  /** Data length once the last fragment arrived, else -1. */
  readonly end: Int32Array;
  /** 8-byte units received. */
  readonly units: Int32Array;
  /** One past the highest unit received. */
  readonly maxUnit: Int32Array;
  readonly deadline: Float64Array;
  private readonly bitmap: Uint8Array;
  private readonly born: Float64Array;
  private bornCounter = 0;
  readonly slotBytes: number;
  /** The most data a slot holds. */
  readonly maxData: number;
  private readonly mapBytes: number;
  /** Earliest deadline, kept by {@link claim} and {@link nextExpired} (a field: no boxed number per poll). */
  nextDeadline = Infinity;
  /** Whether the last {@link claim} evicted the oldest packet to make room. */
  evicted = false;
  private scanNext = Infinity;

  /**
   * Carve (or, with a MemoryPlan, plan) `slots` slots of `head` bytes of
   * header room and `maxData` bytes of data, under the plan's `part`.
   */
  constructor(m: Carver, part: string, readonly slots: number, private readonly head: number, maxData: number) {
    const units = (maxData + 7) >>> 3;
    this.maxData = maxData;
    this.slotBytes = head + units * 8;
    this.mapBytes = (units + 7) >>> 3;
    this.buf = m.u8(part, slots * this.slotBytes);
    this.bitmap = m.u8(part, slots * this.mapBytes);
    this.state = m.u8(part, slots);
    this.end = m.i32(part, slots);
    this.units = m.i32(part, slots);
    this.maxUnit = m.i32(part, slots);
    this.deadline = m.f64(part, slots);
    this.born = m.f64(part, slots);
  }

  /** Offset in {@link buf} of slot `s`'s data (its header ends there). */
  dataAt(s: number): number {
    return s * this.slotBytes + this.head;
  }

  /** Slots in use (any state but free). */
  get busySlots(): number {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (this.state[i] !== SLOT_FREE) n++;
    return n;
  }

  /**
   * A slot for a new packet, due at `due`: a free one, else the oldest is
   * released for it ({@link evicted} says which). The slot is busy, with no
   * data and no end.
   */
  claim(due: number): number {
    let s = -1;
    let oldest = -1;
    for (let i = 0; i < this.slots; i++) {
      if (this.state[i] === SLOT_FREE) {
        s = i;
        break;
      }
      if (oldest < 0 || this.born[i] < this.born[oldest]) oldest = i;
    }
    this.evicted = s < 0;
    if (s < 0) {
      s = oldest;
      this.release(s);
    }
    this.state[s] = SLOT_BUSY;
    this.end[s] = -1;
    this.units[s] = 0;
    this.maxUnit[s] = 0;
    this.born[s] = ++this.bornCounter;
    this.deadline[s] = due;
    if (due < this.nextDeadline) this.nextDeadline = due;
    return s;
  }

  /** How many of units [u0, u1) slot `s` already holds. */
  covered(s: number, u0: number, u1: number): number {
    const map = s * this.mapBytes;
    let n = 0;
    for (let u = u0; u < u1; u++) if ((this.bitmap[map + (u >>> 3)] & (1 << (u & 7))) !== 0) n++;
    return n;
  }

  /** Whether `b[p .. p+len)` equals the data slot `s` holds at `off` (an exact duplicate). */
  sameBytes(s: number, b: Uint8Array, p: number, off: number, len: number): boolean {
    const d = this.buf;
    const q = this.dataAt(s) + off;
    for (let i = 0; i < len; i++) if (b[p + i] !== d[q + i]) return false;
    return true;
  }

  /** Copy `len` bytes of fragment data from `b[p]` to offset `off` of slot `s`, and mark its units. */
  store(s: number, b: Uint8Array, p: number, off: number, len: number): void {
    const u0 = off >>> 3;
    const u1 = (off + len + 7) >>> 3;
    const map = s * this.mapBytes;
    copyBytes(b, p, this.buf, this.dataAt(s) + off, len);
    for (let u = u0; u < u1; u++) this.bitmap[map + (u >>> 3)] |= 1 << (u & 7);
    this.units[s] += u1 - u0;
    if (u1 > this.maxUnit[s]) this.maxUnit[s] = u1;
  }

  /** Whether the last fragment arrived and every unit up to it. */
  complete(s: number): boolean {
    const e = this.end[s];
    return e >= 0 && this.units[s] === (e + 7) >>> 3;
  }

  /** Units received contiguously from offset 0. */
  contiguousUnits(s: number): number {
    const map = s * this.mapBytes;
    let u = 0;
    while (u < this.maxUnit[s] && (this.bitmap[map + (u >>> 3)] & (1 << (u & 7))) !== 0) u++;
    return u;
  }

  /** Forget slot `s`'s units (the caller sets its state). */
  clear(s: number): void {
    const map = s * this.mapBytes;
    const used = (this.maxUnit[s] + 7) >>> 3;
    for (let i = 0; i < used; i++) this.bitmap[map + i] = 0;
    this.maxUnit[s] = 0;
  }

  /** Free slot `s`. Its bytes stay until it is claimed again. */
  release(s: number): void {
    this.clear(s);
    this.state[s] = SLOT_FREE;
  }

  /**
   * For an expiry pass at `now`: the first slot in use at or after `from`
   * whose deadline has passed, or -1 when none is left (scan from 0, then
   * from the slot returned + 1). Passing `from` 0 with nothing due before
   * {@link nextDeadline} returns -1 at once; when a pass ends,
   * {@link nextDeadline} holds the earliest deadline still ahead.
   */
  nextExpired(now: number, from: number): number {
    if (from === 0) {
      if (now < this.nextDeadline) return -1;
      this.scanNext = Infinity;
    }
    for (let s = from; s < this.slots; s++) {
      if (this.state[s] === SLOT_FREE) continue;
      const d = this.deadline[s];
      if (d > now) {
        if (d < this.scanNext) this.scanNext = d;
        continue;
      }
      return s;
    }
    this.nextDeadline = this.scanNext;
    return -1;
  }
}
