/**
 * Anti-replay windows (RFC 4303 3.4.3 and Appendix A) for every inbound SA,
 * in one bitmap from the memory plan. Each window is a ring of 32-bit words
 * indexed by sequence number (RFC 6479's layout: advancing clears whole
 * words, no shifting), one spare word so a window of W bits always has W
 * bits of history. Sequence numbers are 64-bit, held as signed int32 halves.
 */
import type { Carver } from '../storage/arena.js';

export const REPLAY_OK = 0;
export const REPLAY_DUPLICATE = 1;
export const REPLAY_TOO_OLD = 2;

const TWO32 = 4294967296;

/** Words per window for a largest window of `maxBits`: a power of two above maxBits/32. */
export function replayWords(maxBits: number): number {
  let w = 1;
  while (w < maxBits / 32 + 1) w <<= 1;
  return w;
}

/** True when 64-bit (h1,l1) > (h2,l2), halves compared unsigned. */
export function seqGreater(h1: number, l1: number, h2: number, l2: number): boolean {
  return h1 === h2 ? (l1 >>> 0) > (l2 >>> 0) : (h1 >>> 0) > (h2 >>> 0);
}

export class ReplayWindows {
  private readonly words: number;
  private readonly mask: number;
  private readonly bitmap: Uint32Array;
  /** Window size in bits per SA (0 = anti-replay off). */
  readonly size: Uint16Array;
  /** Highest authenticated sequence number per SA. */
  readonly topHi: Int32Array;
  readonly topLo: Int32Array;

  constructor(carver: Carver, slots: number, maxBits: number) {
    this.words = replayWords(maxBits);
    this.mask = this.words - 1;
    this.bitmap = carver.u32('ipsecReplay', slots * this.words);
    this.size = carver.u16('ipsecReplay', slots);
    this.topHi = carver.i32('ipsecReplay', slots);
    this.topLo = carver.i32('ipsecReplay', slots);
  }

  /** Start SA `i` with a `bits`-wide window and highest-seen (hi, lo). */
  reset(i: number, bits: number, hi: number, lo: number): void {
    this.size[i] = bits;
    this.topHi[i] = hi;
    this.topLo[i] = lo;
    this.bitmap.fill(0, i * this.words, (i + 1) * this.words);
    // Everything up to the imported top counts as seen: a restart never reopens old numbers.
    if (hi !== 0 || lo !== 0) {
      this.bitmap.fill(0xffffffff, i * this.words, (i + 1) * this.words);
      // ...but not the numbers above the top that share its word: they are still to come.
      const bit = lo & 31;
      this.bitmap[i * this.words + ((lo >>> 5) & this.mask)] = bit === 31 ? 0xffffffff : (2 ** (bit + 1) - 1) >>> 0;
    }
  }

  /**
   * The high 32 bits of an ESN sequence number whose low bits are `lo`
   * (RFC 4303 Appendix A2.2): the value that puts it inside or ahead of the window.
   */
  inferHi(i: number, lo: number): number {
    const w = this.size[i];
    const th = this.topHi[i];
    const tl = this.topLo[i] >>> 0;
    const sl = lo >>> 0;
    if (tl >= w - 1) return sl >= tl - w + 1 ? th : (th + 1) | 0;
    return sl >= tl - w + 1 + TWO32 ? (th - 1) | 0 : th;
  }

  /** REPLAY_OK for a number not seen and inside or ahead of the window. Changes nothing. */
  check(i: number, hi: number, lo: number): number {
    const th = this.topHi[i];
    const tl = this.topLo[i];
    if (seqGreater(hi, lo, th, tl)) return REPLAY_OK;
    let diff: number;
    if (hi === th) diff = (tl >>> 0) - (lo >>> 0);
    else if (((th - hi) | 0) === 1) diff = (tl >>> 0) + TWO32 - (lo >>> 0);
    else return REPLAY_TOO_OLD;
    if (diff >= this.size[i]) return REPLAY_TOO_OLD;
    const word = this.bitmap[i * this.words + ((lo >>> 5) & this.mask)];
    return (word & (1 << (lo & 31))) !== 0 ? REPLAY_DUPLICATE : REPLAY_OK;
  }

  /** Record an authenticated number (call only after the ICV was verified and check() passed). */
  mark(i: number, hi: number, lo: number): void {
    const base = i * this.words;
    const th = this.topHi[i];
    const tl = this.topLo[i];
    if (seqGreater(hi, lo, th, tl)) {
      const dh = (hi - th) >>> 0;
      const ahead = dh === 0 ? (lo >>> 0) - (tl >>> 0) : dh === 1 ? (lo >>> 0) + TWO32 - (tl >>> 0) : Infinity;
      const blocks = Math.floor(((tl & 31) + ahead) / 32);
      if (blocks >= this.words) {
        this.bitmap.fill(0, base, base + this.words);
      } else {
        const first = tl >>> 5;
        for (let k = 1; k <= blocks; k++) this.bitmap[base + ((first + k) & this.mask)] = 0;
      }
      this.topHi[i] = hi;
      this.topLo[i] = lo;
    }
    this.bitmap[base + ((lo >>> 5) & this.mask)] |= 1 << (lo & 31);
  }
}
