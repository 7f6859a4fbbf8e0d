/**
 * A one-entry memo of a subarray view. libsodium takes whole typed arrays,
 * so the data path needs a view of [off, off+len) per call, and each view is
 * a ~100-byte heap object. Bulk traffic encrypts the same slot at the same
 * length over and over (full-size segments in a fixed packet buffer), and
 * then the previous view is the right one. Typed arrays over a
 * non-resizable ArrayBuffer never move, so a view keyed by (array, off, len)
 * stays valid. The memo keeps the last array alive until the next miss.
 */
export class ViewMemo {
  private array: Uint8Array | null = null;
  private off = -1;
  private len = -1;
  private view: Uint8Array = new Uint8Array(0);

  get(array: Uint8Array, off: number, len: number): Uint8Array {
    if (array !== this.array || off !== this.off || len !== this.len) {
      this.array = array;
      this.off = off;
      this.len = len;
      this.view = array.subarray(off, off + len);
    }
    return this.view;
  }
}
