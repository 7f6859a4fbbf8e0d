/**
 * The send side of a TCP connection's buffer: a byte ring per connection slot
 * over buffers carved from the arena. A slot's ring holds the bytes from the
 * oldest unacknowledged one (at `head`) onwards, `len` of them, in a buffer of
 * `cap` bytes (at most the pool buffer's size, less after SO_SNDBUF). The
 * writer appends at the tail, the sender copies segments out from any offset
 * in the ring, and acknowledgements consume from the head.
 *
 * State lives in typed arrays indexed by slot, as the rest of the TCB (no
 * object per connection); the arrays are passed in so that the TCB keeps
 * them under its own names. Nothing here allocates.
 */
import { copyBulk, copyBytes } from '../wire/bytes.js';

export class SendRing {
  /**
   * @param buffers the pool's buffers; slot `s` uses `buffers[pair[s]]` (its pair must be >= 0 to copy)
   * @param pair buffer index per slot, -1 when the slot holds none
   * @param head ring offset of the first byte per slot
   * @param len bytes held per slot
   * @param cap capacity per slot (at most the length of its buffer)
   */
  constructor(
    private readonly buffers: readonly Uint8Array[],
    private readonly pair: Int16Array,
    readonly head: Int32Array,
    readonly len: Int32Array,
    readonly cap: Int32Array,
  ) {}

  /** Bytes that can be appended to slot `s` now. */
  space(s: number): number {
    return this.cap[s] - this.len[s];
  }

  /** Append `n` bytes of `src[off..]` to slot `s`; `n` must not exceed {@link space}. */
  append(s: number, src: Uint8Array, off: number, n: number): void {
    const ring = this.buffers[this.pair[s]];
    const cap = this.cap[s];
    let at = this.head[s] + this.len[s];
    if (at >= cap) at -= cap;
    const first = cap - at < n ? cap - at : n;
    copyBulk(src, off, ring, at, first);
    if (first < n) copyBulk(src, off + first, ring, 0, n - first);
    this.len[s] += n;
  }

  /**
   * Copy `n` bytes starting `offset` bytes past the head of slot `s` to
   * `dst[d..]` (a segment's payload); `offset + n` must not exceed the length.
   */
  copyOut(s: number, offset: number, dst: Uint8Array, d: number, n: number): void {
    const ring = this.buffers[this.pair[s]];
    const cap = this.cap[s];
    let from = this.head[s] + offset;
    if (from >= cap) from -= cap;
    const first = cap - from < n ? cap - from : n;
    copyBytes(ring, from, dst, d, first);
    if (first < n) copyBytes(ring, 0, dst, d + first, n - first);
  }

  /** Drop `n` bytes (at most the length) from the head of slot `s`: they were acknowledged. */
  consume(s: number, n: number): void {
    let h = this.head[s] + n;
    if (h >= this.cap[s]) h -= this.cap[s];
    this.head[s] = h;
    this.len[s] -= n;
  }
}
