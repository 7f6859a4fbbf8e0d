/**
 * Out-of-order reassembly bookkeeping for TCP (in the spirit of smoltcp's
 * `Assembler`): per connection slot, a bounded list of the byte ranges
 * [left, right) received beyond the next expected sequence number, kept
 * sorted, disjoint and non-adjacent (touching ranges merge). The bytes
 * themselves are written straight into their final place in the receive ring
 * (storage/recv-ring.ts), so filling a hole copies nothing: ranges just merge
 * and are absorbed when the in-order edge reaches them.
 *
 * Bounds are 32-bit sequence numbers compared modulo 2^32 (RFC 9293 3.4), so
 * the list works across the wrap. The most recently extended range is
 * remembered, as SACK reports it first (RFC 2018 section 4).
 *
 * State lives in typed arrays indexed by slot (`slot * ranges + k`); they are
 * passed in so the TCB keeps them under its names (SACK generation reads them
 * directly). Nothing here allocates.
 */
import { seqGe, seqGt, seqLe, seqLt } from '../wire/tcp.js';

export class Assembler {
  /**
   * @param left left edges, `ranges` per slot
   * @param right right edges (exclusive), `ranges` per slot
   * @param count ranges in use per slot
   * @param last index of the range last extended by {@link add} per slot, -1 when it is gone
   * @param ranges most ranges a slot can hold
   */
  constructor(
    readonly left: Int32Array,
    readonly right: Int32Array,
    readonly count: Uint8Array,
    readonly last: Int16Array,
    readonly ranges: number,
  ) {}

  /** Forget every range of slot `s`. */
  clear(s: number): void {
    this.count[s] = 0;
    this.last[s] = -1;
  }

  /**
   * Record that [left, right) is present (beyond the in-order edge). When the
   * list is full and the range would need an entry of its own, it is not
   * kept (TCP will have it retransmitted): forgetting a range already SACKed
   * instead would be reneging, which costs the sender a timeout. Returns the
   * index of the range now holding `left` (also remembered as the last
   * extended), or -1 when the range was not kept.
   */
  add(s: number, left: number, right: number): number {
    const base = s * this.ranges;
    const L = this.left;
    const R = this.right;
    let n = this.count[s];
    if (n === this.ranges) {
      // Full: keep the range only if it touches an existing one.
      let touches = false;
      for (let k = 0; k < n; k++) {
        if (seqLe(L[base + k], right) && seqGe(R[base + k], left)) {
          touches = true;
          break;
        }
      }
      if (!touches) return -1;
    }
    // Merge with every overlapping or adjacent range.
    let i = 0;
    while (i < n) {
      const l = L[base + i];
      const r = R[base + i];
      if (seqLe(l, right) && seqGe(r, left)) {
        if (seqLt(l, left)) left = l;
        if (seqGt(r, right)) right = r;
        for (let k = i; k < n - 1; k++) {
          L[base + k] = L[base + k + 1];
          R[base + k] = R[base + k + 1];
        }
        n--;
      } else {
        i++;
      }
    }
    // Insert in order.
    let at = 0;
    while (at < n && seqLt(L[base + at], left)) at++;
    for (let k = n; k > at; k--) {
      L[base + k] = L[base + k - 1];
      R[base + k] = R[base + k - 1];
    }
    L[base + at] = left;
    R[base + at] = right;
    this.count[s] = n + 1;
    this.last[s] = at;
    return at;
  }

  /** Whether [left, right) lies wholly within one recorded range of slot `s` (a duplicate). */
  covers(s: number, left: number, right: number): boolean {
    const base = s * this.ranges;
    const n = this.count[s];
    for (let k = 0; k < n; k++) {
      if (seqLe(this.left[base + k], left) && seqGe(this.right[base + k], right)) return true;
    }
    return false;
  }

  /**
   * The in-order edge of slot `s` moved to `next`: remove the ranges that now
   * start at or below it and return the edge extended over them (the caller
   * makes those bytes readable).
   */
  absorb(s: number, next: number): number {
    const base = s * this.ranges;
    const L = this.left;
    const R = this.right;
    let n = this.count[s];
    while (n > 0 && seqLe(L[base], next)) {
      if (seqGt(R[base], next)) next = R[base];
      for (let k = 0; k < n - 1; k++) {
        L[base + k] = L[base + k + 1];
        R[base + k] = R[base + k + 1];
      }
      n--;
      if (this.last[s] >= 0) this.last[s]--;
    }
    this.count[s] = n;
    return next | 0;
  }
}
