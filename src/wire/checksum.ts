import { LITTLE_ENDIAN, wholeWords } from './bytes.js';

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
  const base = buf.byteOffset;
  if (len >= 64 && ((base + i) & 1) === 0) {
    // Whole 32-bit words from a cached Int32Array over the buffer: one load per
    // 4 bytes, no bounds arithmetic of a DataView. Each word adds its two
    // halves. On a little-endian machine those are byte-swapped 16-bit words,
    // and the ones' complement sum of swapped words is the swapped sum
    // (RFC 1071 2(B)), so the partial sum is folded and swapped back once.
    if (((base + i) & 2) !== 0) {
      s += (buf[i] << 8) | buf[i + 1];
      i += 2;
    }
    const w = wholeWords(buf);
    let k = (base + i) >>> 2;
    const kEnd = k + (((end - i) >>> 4) << 2);
    i += (kEnd - k) << 2;
    let t = 0;
    for (; k < kEnd; k += 4) {
      const a = w[k];
      const b = w[k + 1];
      const c = w[k + 2];
      const d = w[k + 3];
      t += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff) + (c >>> 16) + (c & 0xffff) + (d >>> 16) + (d & 0xffff);
      // Fold now and then so the sum stays a small integer (SMI).
      if (t > 0x3fffffff) t = (t & 0xffff) + (t >>> 16);
    }
    while (t > 0xffff) t = (t & 0xffff) + (t >>> 16);
    s += LITTLE_ENDIAN ? ((t & 0xff) << 8) | (t >>> 8) : t;
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

/**
 * Unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1) used by ICMPv6,
 * UDP and TCP over IPv6: the source and destination addresses at
 * `b[srcOff]`/`b[dstOff]` (16 bytes each), the upper-layer length and the
 * next header value. Chain it into {@link sum16} as `initial`.
 */
export function pseudoSum6(b: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, upperLen: number): number {
  let s = nextHeader + (upperLen >>> 16) + (upperLen & 0xffff);
  for (let i = 0; i < 16; i += 2) {
    s += ((b[srcOff + i] << 8) | b[srcOff + i + 1]) + ((b[dstOff + i] << 8) | b[dstOff + i + 1]);
  }
  return s;
}

/** As {@link pseudoSum6} with the two addresses in different arrays. */
export function pseudoSum6Split(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number,
  nextHeader: number, upperLen: number): number {
  let s = nextHeader + (upperLen >>> 16) + (upperLen & 0xffff);
  for (let i = 0; i < 16; i += 2) {
    s += ((src[srcOff + i] << 8) | src[srcOff + i + 1]) + ((dst[dstOff + i] << 8) | dst[dstOff + i + 1]);
  }
  return s;
}

/**
 * Unfolded sum of the IPv6 pseudo-header (addresses at `b[srcOff]`,
 * `b[dstOff]`) and the upper-layer packet `b[o .. o+len)`. When the packet
 * follows the fixed header directly (no extension headers: source,
 * destination and packet lie back to back), the addresses are summed in the
 * same pass as the packet, 32 bits at a time, instead of byte pair by byte
 * pair in {@link pseudoSum6}: the same ones' complement sum (RFC 1071 2(B),
 * addition is associative), on every IPv6 TCP and UDP packet.
 */
export function sum6(b: Uint8Array, srcOff: number, dstOff: number, o: number, len: number, nextHeader: number): number {
  const lenSum = nextHeader + (len >>> 16) + (len & 0xffff);
  if (dstOff === srcOff + 16 && o === srcOff + 32) return sum16(b, srcOff, len + 32, lenSum);
  return sum16(b, o, len, pseudoSum6(b, srcOff, dstOff, nextHeader, len));
}
