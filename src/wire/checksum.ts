import { wholeView } from './bytes.js';

/**
 * Internet checksum (RFC 1071) over byte ranges of a Uint8Array.
 *
 * Sums 16-bit big-endian words into a 32-bit accumulator and folds once at
 * the end; partial sums can be chained (pseudo-header + payload) by passing
 * the previous unfolded sum as `initial`.
 */

/** Ones' complement sum of `buf[off .. off+len)` added to `initial`, not folded or inverted. */
export function sum16(buf: Uint8Array, off: number, len: number, initial: number): number {
  let s = initial;
  let i = off;
  const end = off + (len & ~1);
  if (len >= 64) {
    // 32-bit big-endian words through a cached DataView: a quarter of the loads
    // of a byte loop. Each word adds its two 16-bit halves.
    const v = wholeView(buf);
    const base = buf.byteOffset;
    const end16 = off + (len & ~15);
    for (; i < end16; i += 16) {
      const a = v.getInt32(base + i);
      const b = v.getInt32(base + i + 4);
      const c = v.getInt32(base + i + 8);
      const d = v.getInt32(base + i + 12);
      s += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff) + (c >>> 16) + (c & 0xffff) + (d >>> 16) + (d & 0xffff);
      // Fold now and then so the sum stays a small integer (SMI).
      if (s > 0x3fffffff) s = (s & 0xffff) + (s >>> 16);
    }
  }
  for (; i < end; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (len & 1) s += buf[off + len - 1] << 8;
  return s;
}

/** Fold a 32-bit sum to 16 bits and invert it: the value to store in a header. */
export function finish(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Checksum of one range, ready to store. A range containing a correct checksum yields 0. */
export function checksum(buf: Uint8Array, off: number, len: number): number {
  return finish(sum16(buf, off, len, 0));
}

/** Unfolded sum of the IPv4 pseudo-header used by UDP and TCP. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
