/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32).
 *
 * Fault injection must be reproducible: a failing test run is only useful if
 * the same seed replays the same losses, so `Math.random` is not an option.
 * sfc32 keeps its whole state in four 32-bit integers, so a draw allocates
 * nothing and stays in V8's small-integer fast paths.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed Any finite number; equal seeds give equal sequences. Bits above
   *   2^32 are folded in so that large seeds (e.g. timestamps) still differ.
   */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Prng seed must be finite, got ${seed}`);
    // Fold the high word in rather than truncating, so seeds 1 and 2^32+1 differ.
    let s = (Math.trunc(seed) >>> 0) ^ (Math.trunc(seed / 4294967296) >>> 0);
    // splitmix32 spreads even tiny seeds (0, 1, 2) over the whole state; sfc32
    // started from near-zero state would emit correlated values at first.
    s = (s + 0x9e3779b9) | 0;
    this.a = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.b = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.c = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.d = splitmix(s);
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Next unsigned 32-bit integer, uniform over 0 .. 2^32-1. */
  nextU32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Next float uniform in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in 0 .. n-1 (n a positive integer up to 2^32). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function splitmix(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}
