/** Big-endian field access on a Uint8Array at an offset: the building block of every codec. */

export function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** Unsigned 32-bit read (always >= 0). */
export function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Copy `len` bytes; a plain loop, because `set(subarray())` allocates a view per call. */
export function copyBytes(src: Uint8Array, so: number, dst: Uint8Array, d: number, len: number): void {
  if (src === dst) {
    dst.copyWithin(d, so, so + len);
    return;
  }
  for (let i = 0; i < len; i++) dst[d + i] = src[so + i];
}
