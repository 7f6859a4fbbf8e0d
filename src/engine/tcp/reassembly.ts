/**
 * The receive side of a connection's buffer: in-order bytes for the reader,
 * and out-of-order segments written straight into their final place in the
 * same ring, tracked as a bounded list of [left, right) sequence ranges. No
 * copy or allocation happens when a hole is filled: the ranges just merge.
 */
import { copyBulk, copyBytes } from '../../wire/bytes.js';
import { seqLt, seqGt, seqLe, seqGe } from '../../wire/tcp.js';
import type { TcbTable } from './tcb.js';

/** Copy `len` bytes from `src[so..]` into the receive ring of `s` at sequence `seq` (already in window). */
export function writeAt(t: TcbTable, s: number, seq: number, src: Uint8Array, so: number, len: number): void {
  const ring = t.rcvBufs[t.buf[s]];
  const cap = t.rcvCap[s];
  let pos = t.rcvHead[s] + t.rcvLen[s] + ((seq - t.rcvNxt[s]) >>> 0);
  if (pos >= cap) pos -= cap;
  if (pos >= cap) pos -= cap;
  const first = cap - pos < len ? cap - pos : len;
  copyBytes(src, so, ring, pos, first);
  if (first < len) copyBytes(src, so + first, ring, 0, len - first);
}

/**
 * Record that [left, right) is present beyond rcvNxt. Ranges stay sorted and
 * disjoint. When the table is full and the segment would need a range of its
 * own, the segment is not kept (it will be retransmitted): forgetting a range
 * we already SACKed instead would be reneging, which costs the sender a
 * timeout. Returns the index of the range now holding `left`, or -1.
 */
export function addRange(t: TcbTable, s: number, left: number, right: number): number {
  const base = s * t.rangesR;
  const L = t.oooLeft;
  const R = t.oooRight;
  let n = t.oooCount[s];
  if (n === t.rangesR) {
    // Full: keep the segment only if it touches an existing range.
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
  t.oooCount[s] = n + 1;
  t.oooLast[s] = at;
  return at;
}

/**
 * After rcvNxt advanced, absorb ranges that now start at or below it; returns
 * the new rcvNxt (the caller adds the difference to rcvLen).
 */
export function absorbRanges(t: TcbTable, s: number, rcvNxt: number): number {
  const base = s * t.rangesR;
  let n = t.oooCount[s];
  let next = rcvNxt;
  while (n > 0 && seqLe(t.oooLeft[base], next)) {
    if (seqGt(t.oooRight[base], next)) next = t.oooRight[base];
    for (let k = 0; k < n - 1; k++) {
      t.oooLeft[base + k] = t.oooLeft[base + k + 1];
      t.oooRight[base + k] = t.oooRight[base + k + 1];
    }
    n--;
    if (t.oooLast[s] >= 0) t.oooLast[s]--;
  }
  t.oooCount[s] = n;
  return next | 0;
}

/** Copy up to `len` in-order bytes to `dst[off..]`, consuming them. Returns the count. */
export function readInOrder(t: TcbTable, s: number, dst: Uint8Array, off: number, len: number): number {
  const avail = t.rcvLen[s];
  const n = len < avail ? len : avail;
  if (n === 0) return 0;
  const ring = t.rcvBufs[t.buf[s]];
  const cap = t.rcvCap[s];
  const head = t.rcvHead[s];
  const first = cap - head < n ? cap - head : n;
  copyBulk(ring, head, dst, off, first);
  if (first < n) copyBulk(ring, 0, dst, off + first, n - first);
  let h = head + n;
  if (h >= cap) h -= cap;
  t.rcvHead[s] = h;
  t.rcvLen[s] = avail - n;
  return n;
}
