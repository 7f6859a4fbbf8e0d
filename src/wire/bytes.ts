/** Big-endian field access on a Uint8Array at an offset: the building block of every codec. */

export function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/**
 * 32-bit read as a signed int32. Sequence numbers and IPv4 addresses are
 * kept signed on the packet path: V8 holds int32 values unboxed, while an
 * unsigned value >= 2^31 becomes a heap number (a GC allocation) whenever it
 * crosses a call or is stored. Use `>>> 0` only for display and at the API.
 */
export function get32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Whole-buffer views, created once per ArrayBuffer and looked up in a
 * WeakMap (no leak when buffers die), with a two-entry memo in front: with
 * them a copy needs no per-call view (`subarray` allocates).
 */
const views = new WeakMap<ArrayBufferLike, DataView>();
const wholes = new WeakMap<ArrayBufferLike, Uint8Array>();
const words = new WeakMap<ArrayBufferLike, Int32Array>();
let memoWordsBuf: ArrayBufferLike | null = null;
let memoWords: Int32Array | null = null;
/** The one before: a reply's checksum alternates between the received frame's buffer and the transmit buffer. */
let memoWordsBuf2: ArrayBufferLike | null = null;
let memoWords2: Int32Array | null = null;
let memoBuf1: ArrayBufferLike | null = null;
let memoView1: DataView | null = null;
let memoBuf2: ArrayBufferLike | null = null;
let memoView2: DataView | null = null;

function viewOf(buf: ArrayBufferLike): DataView {
  if (buf === memoBuf1) return memoView1 as DataView;
  let v: DataView | undefined;
  if (buf === memoBuf2) v = memoView2 as DataView;
  else {
    v = views.get(buf);
    if (v === undefined) {
      v = new DataView(buf);
      views.set(buf, v);
    }
  }
  memoBuf2 = memoBuf1;
  memoView2 = memoView1;
  memoBuf1 = buf;
  memoView1 = v;
  return v;
}

function wholeOf(buf: ArrayBufferLike): Uint8Array {
  let w = wholes.get(buf);
  if (w === undefined) {
    w = new Uint8Array(buf);
    wholes.set(buf, w);
  }
  return w;
}

/**
 * An Int32Array over the whole buffer of `b` (cached; its trailing 0–3 bytes
 * are not covered). Index `k` holds bytes 4k..4k+3 in the platform's byte
 * order (see {@link LITTLE_ENDIAN}).
 */
export function wholeWords(b: Uint8Array): Int32Array {
  const buf = b.buffer;
  if (buf === memoWordsBuf) return memoWords as Int32Array;
  let w: Int32Array | undefined;
  if (buf === memoWordsBuf2) {
    w = memoWords2 as Int32Array;
  } else {
    w = words.get(buf);
    if (w === undefined) {
      w = new Int32Array(buf, 0, buf.byteLength >>> 2);
      words.set(buf, w);
    }
  }
  memoWordsBuf2 = memoWordsBuf;
  memoWords2 = memoWords;
  memoWordsBuf = buf;
  memoWords = w;
  return w;
}

/** True on little-endian platforms (all that Node runs on in practice), where typed arrays hold words byte-swapped. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An Int32Array over the very bytes of `b` (no copy: writes to either show
 * in both), in the platform's byte order as {@link wholeWords}. For arrays
 * carved from the arena (8-byte aligned) that hold 16-byte IPv6 addresses:
 * an address is then four word compares, against a packet's words read with
 * `wholeView(pkt).getInt32(off, LITTLE_ENDIAN)`. Made once, at construction.
 */
export function wordsOf(b: Uint8Array): Int32Array {
  if ((b.byteOffset & 3) !== 0) throw new RangeError('wordsOf: the bytes must start on a 4-byte boundary');
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/** A DataView over the whole buffer of `b` (cached; add `b.byteOffset` to offsets). */
export function wholeView(b: Uint8Array): DataView {
  // The memo's hit inline (small enough for callers to inline): IPv6 reads a packet's addresses through it.
  const buf = b.buffer;
  return buf === memoBuf1 ? memoView1 as DataView : viewOf(buf);
}

/**
 * Exact-range views for large copies across buffers. `TypedArray.prototype.set`
 * copies natively (several times the word loop's speed) but takes a source
 * view of exactly the range, and a new view per copy would be garbage per
 * packet. Large copies on the packet path repeat the same ranges, though: a
 * link's frame slots and a stack's transmit buffer hold TCP super-segments of
 * the same few lengths at the same few offsets. So each source buffer gets a
 * small direct-mapped table (in a WeakMap: it dies with the buffer): a range
 * seen twice in a row at its entry gets a view, kept for every later copy of
 * it; ranges that do not repeat never allocate and take the word loop.
 */
const EXACT_MIN = 2048;
const EXACT_SLOTS = 2048;

class ExactViews {
  readonly start = new Int32Array(EXACT_SLOTS).fill(-1);
  readonly len = new Int32Array(EXACT_SLOTS);
  /** The entry's view; null while its range was seen once only. */
  readonly view: Array<Uint8Array | null> = new Array<Uint8Array | null>(EXACT_SLOTS).fill(null);
}

const exactTables = new WeakMap<ArrayBufferLike, ExactViews>();
let memoExactBuf: ArrayBufferLike | null = null;
let memoExact: ExactViews | null = null;

function exactView(buf: ArrayBufferLike, start: number, len: number): Uint8Array | null {
  let t: ExactViews | undefined;
  if (buf === memoExactBuf) t = memoExact as ExactViews;
  else {
    t = exactTables.get(buf);
    if (t === undefined) {
      t = new ExactViews();
      exactTables.set(buf, t);
    }
    memoExactBuf = buf;
    memoExact = t;
  }
  const h = (Math.imul(start, 0x9e3779b1) ^ Math.imul(len, 0x85ebca6b)) >>> 21; // 11 bits: 0..2047
  if (t.start[h] === start && t.len[h] === len) {
    const v = t.view[h];
    if (v !== null) return v;
    const made = new Uint8Array(buf, start, len);
    t.view[h] = made;
    return made;
  }
  t.start[h] = start;
  t.len[h] = len;
  t.view[h] = null;
  return null;
}

/**
 * Copy `len` bytes from `src[so..]` to `dst[d..]` without allocating. Within
 * one buffer (the arena) it is a native `copyWithin`; across buffers, a range
 * of 2 KiB or more that repeats (see exactView) is a native `set`, anything
 * else moves 32-bit words through cached DataViews, about twice a byte loop's speed.
 */
export function copyBytes(src: Uint8Array, so: number, dst: Uint8Array, d: number, len: number): void {
  if (src === dst) {
    dst.copyWithin(d, so, so + len); // memmove semantics for overlaps
    return;
  }
  if (len < 64) {
    for (let i = 0; i < len; i++) dst[d + i] = src[so + i];
    return;
  }
  const sb = src.buffer;
  const db = dst.buffer;
  const s = src.byteOffset + so;
  const t = dst.byteOffset + d;
  if (sb === db) {
    wholeOf(sb).copyWithin(t, s, s + len);
    return;
  }
  if (len >= EXACT_MIN) {
    const v = exactView(sb, s, len);
    if (v !== null) {
      dst.set(v, d); // native memcpy (TypedArray.prototype.set), no allocation on a cache hit
      return;
    }
  }
  const sv = viewOf(sb);
  const dv = viewOf(db);
  let i = 0;
  // 16 bytes per round, loads before stores: measured ~25 % faster than
  // interleaving. (Float64 moves would be faster still but may rewrite NaN bits.)
  const end16 = len & ~15;
  for (; i < end16; i += 16) {
    const x0 = sv.getInt32(s + i, true);
    const x1 = sv.getInt32(s + i + 4, true);
    const x2 = sv.getInt32(s + i + 8, true);
    const x3 = sv.getInt32(s + i + 12, true);
    dv.setInt32(t + i, x0, true);
    dv.setInt32(t + i + 4, x1, true);
    dv.setInt32(t + i + 8, x2, true);
    dv.setInt32(t + i + 12, x3, true);
  }
  for (; i < len; i++) dst[d + i] = src[so + i];
}

/** From this many bytes {@link copyFrame} tries an exact view. */
const FRAME_EXACT_MIN = 256;

/**
 * Copy like {@link copyBytes}, for a whole frame into a link's slot: frames
 * repeat their source range (a stack's transmit buffer at the same offset,
 * MSS-sized segments of the same length), so from {@link FRAME_EXACT_MIN}
 * bytes a range seen twice in a row takes a cached exact view and a native
 * `set`, as copyBytes does from 2 KiB. Ranges that do not repeat allocate
 * nothing and take the word loop.
 */
export function copyFrame(src: Uint8Array, so: number, dst: Uint8Array, d: number, len: number): void {
  if (len >= FRAME_EXACT_MIN && len < EXACT_MIN && src.buffer !== dst.buffer) {
    const v = exactView(src.buffer, src.byteOffset + so, len);
    if (v !== null) {
      dst.set(v, d);
      return;
    }
  }
  copyBytes(src, so, dst, d, len);
}

/** Below this many bytes a bulk copy is not worth one view object. */
const BULK_MIN = 2048;

/**
 * Copy like {@link copyBytes}, for copies between the stack and a caller's
 * buffer (socket send/recv), once per call rather than once per packet: from
 * {@link BULK_MIN} bytes across buffers it uses the native
 * `TypedArray.prototype.set`, about five times the word loop's speed, at the
 * price of one small view object per call. Never use it per packet: the
 * packet path must not allocate.
 */
export function copyBulk(src: Uint8Array, so: number, dst: Uint8Array, d: number, len: number): void {
  // A whole view (a write()'s Buffer, as a chatty client's header and body are) takes the native set at any
  // length, with no view to make: cold, the word loop's DataView calls cost ~4 µs per 100 bytes (issue #10).
  if (so === 0 && len === src.length && len > 0 && src.buffer !== dst.buffer) {
    dst.set(src, d);
    return;
  }
  if (len < BULK_MIN || src.buffer === dst.buffer) {
    copyBytes(src, so, dst, d, len);
    return;
  }
  dst.set(so === 0 && len === src.length ? src : src.subarray(so, so + len), d);
}
