/**
 * Anti-replay windows for WireGuard transport data (RFC 6479 style), with the
 * parameters of Linux's drivers/net/wireguard: a ring of 8192 bits in 64-bit
 * words, of which one word's worth is sacrificed so that advancing the window
 * only ever zeroes whole words. A counter is fresh if it is not older than
 * `greatest - REPLAY_WINDOW_SIZE` and its bit is not yet set.
 *
 * Counters are JS numbers (exact integers below 2^53), so word and bit
 * positions come from Math.floor and `%`, never from 32-bit bit operations on
 * the counter itself. Each 64-bit word is a pair of Uint32Array elements.
 * Internally the slot stores `greatest + 1` (0 = nothing seen) and counter
 * `n` lives at bit `n + 1`, as in Linux, so the window edges are identical.
 */
import type { Arena, Carver, MemoryPlan } from '../storage/arena.js';

const RING_BITS = 8192;
const WORD_BITS = 64;
const RING_WORDS = RING_BITS / WORD_BITS;
/** Uint32 elements per slot's ring. */
const SLOT_U32 = RING_WORDS * 2;

/**
 * Counters below the greatest one still accepted: 8192 - 64 = 8128 (64-bit
 * words, as Linux on 64-bit machines). A counter `n` is too old when
 * `n < greatest - REPLAY_WINDOW_SIZE`.
 */
export const REPLAY_WINDOW_SIZE = RING_BITS - WORD_BITS;

export class ReplayWindows {
  private readonly bits: Uint32Array;
  /** Per slot, greatest accepted counter + 1; 0 when none. */
  private readonly top: Float64Array;

  static plan(plan: MemoryPlan, slots: number): void {
    ReplayWindows.carve(plan, slots);
  }

  private static carve(m: Carver, slots: number): { bits: Uint32Array; top: Float64Array } {
    if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`slots must be a non-negative integer, got ${slots}`);
    return { bits: m.u32('replay', slots * SLOT_U32), top: m.f64('replay', slots) };
  }

  constructor(arena: Arena, readonly slots: number) {
    const a = ReplayWindows.carve(arena, slots);
    this.bits = a.bits;
    this.top = a.top;
  }

  /** Forget everything for a slot (a new keypair). */
  reset(slot: number): void {
    this.checkSlot(slot);
    this.top[slot] = 0;
    this.bits.fill(0, slot * SLOT_U32, (slot + 1) * SLOT_U32);
  }

  /**
   * Validate and record `counter` (integer, 0 ≤ counter < 2^53) for `slot`:
   * true if fresh, false if too old, a duplicate, ≥ `limit`, or not a safe
   * non-negative integer. The caller applies REJECT_AFTER_MESSAGES through
   * `limit`. Call only after the packet authenticated, or a forger could move
   * the window. Allocation-free.
   */
  accept(slot: number, counter: number, limit: number): boolean {
    this.checkSlot(slot);
    if (!(counter >= 0 && counter < limit) || !Number.isSafeInteger(counter)) return false;
    const c = counter + 1;
    const cur = this.top[slot];
    // Subtract rather than add so nothing is rounded near 2^53.
    if (cur - c > REPLAY_WINDOW_SIZE) return false;
    const base = slot * SLOT_U32;
    const word = Math.floor(c / WORD_BITS);
    if (c > cur) {
      // Zero the words the window slides into (at most the whole ring).
      const curWord = Math.floor(cur / WORD_BITS);
      const n = Math.min(word - curWord, RING_WORDS);
      for (let i = 1; i <= n; i++) {
        const at = base + ((curWord + i) % RING_WORDS) * 2;
        this.bits[at] = 0;
        this.bits[at + 1] = 0;
      }
      this.top[slot] = c;
    }
    const bit = c % WORD_BITS;
    const at = base + (word % RING_WORDS) * 2 + (bit >= 32 ? 1 : 0);
    const m = 1 << (bit & 31);
    const v = this.bits[at];
    if ((v & m) !== 0) return false;
    this.bits[at] = v | m;
    return true;
  }

  /** Highest counter accepted so far in the slot (-1 if none). */
  greatest(slot: number): number {
    this.checkSlot(slot);
    return this.top[slot] - 1;
  }

  private checkSlot(slot: number): void {
    if (!(slot >= 0 && slot < this.slots) || (slot | 0) !== slot) {
      throw new RangeError(`replay slot must be an integer 0..${this.slots - 1}, got ${slot}`);
    }
  }
}
