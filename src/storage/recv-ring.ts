/**
 * The receive side of a TCP connection's buffer: a byte ring per connection
 * slot over buffers carved from the arena. From `head` on, `len` bytes are in
 * order and readable; past them, out-of-order bytes are written at their
 * final place (their offset from the in-order end) and become readable when
 * the in-order end reaches them (storage/assembler.ts tracks which are there).
 *
 * State lives in typed arrays indexed by slot, passed in so the TCB keeps
 * them under its names. Nothing here allocates.
 */
import { copyBulk, copyBytes } from '../wire/bytes.js';

export class RecvRing {
  /**
   * @param buffers the pool's buffers; slot `s` uses `buffers[pair[s]]` (its pair must be >= 0 to copy)
   * @param pair buffer index per slot, -1 when the slot holds none
   * @param head ring offset of the first readable byte per slot
   * @param len readable (in-order) bytes per slot
   * @param cap capacity per slot (at most the length of its buffer)
   */
  constructor(
    private readonly buffers: readonly Uint8Array[],
    private readonly pair: Int16Array,
    readonly head: Int32Array,
    readonly len: Int32Array,
    readonly cap: Int32Array,
  ) {}

  /** Bytes free past the readable ones. */
  space(s: number): number {
    return this.cap[s] - this.len[s];
  }

  /**
   * Copy `n` bytes of `src[so..]` to `offset` bytes past the readable end of
   * slot `s` (0: right after it); `offset + n` must not exceed {@link space}.
   * They become readable only through {@link commit}.
   */
  writeAt(s: number, offset: number, src: Uint8Array, so: number, n: number): void {
    const ring = this.buffers[this.pair[s]];
    const cap = this.cap[s];
    let pos = this.head[s] + this.len[s] + offset;
    if (pos >= cap) pos -= cap;
    if (pos >= cap) pos -= cap;
    const first = cap - pos < n ? cap - pos : n;
    copyBytes(src, so, ring, pos, first);
    if (first < n) copyBytes(src, so + first, ring, 0, n - first);
  }

  /** Make the next `n` written bytes of slot `s` readable. */
  commit(s: number, n: number): void {
    this.len[s] += n;
  }

  /** Copy up to `max` readable bytes of slot `s` to `dst[off..]`, consuming them. Returns the count. */
  read(s: number, dst: Uint8Array, off: number, max: number): number {
    const avail = this.len[s];
    const n = max < avail ? max : avail;
    if (n === 0) return 0;
    const ring = this.buffers[this.pair[s]];
    const cap = this.cap[s];
    const head = this.head[s];
    const first = cap - head < n ? cap - head : n;
    copyBulk(ring, head, dst, off, first);
    if (first < n) copyBulk(ring, 0, dst, off + first, n - first);
    let h = head + n;
    if (h >= cap) h -= cap;
    this.head[s] = h;
    this.len[s] = avail - n;
    return n;
  }
}
