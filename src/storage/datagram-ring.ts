/**
 * A FIFO of variable-length datagrams in a fixed byte region, each record
 * holding its peer address and port. Records never straddle the end of the
 * region: a record that would is placed at the start, and the skipped tail is
 * accounted as used until the reader passes it.
 */
import { copyBytes } from '../wire/bytes.js';
import { Arena, MemoryPlan } from './arena.js';

/** Record header of an IPv4 datagram: length (2), port (2), family (1), address (4). */
export const DGRAM_RECORD_HEADER = 9;
/** An IPv6 record's address takes 12 bytes more (16 instead of 4). */
export const DGRAM_RECORD_V6_EXTRA = 12;

export class DatagramRing {
  private readonly data: Uint8Array;
  private head = 0;
  private tail = 0;
  /** Bytes in use including headers and skipped tails. */
  private used = 0;
  /** Offset where the writer wrapped, or -1: the reader jumps to 0 there. */
  private wrapAt = -1;
  count = 0;

  /** Address and port of the record returned by the last {@link pop}. */
  lastAddress = 0;
  lastPort = 0;
  /** Family (4 or 6) of the record returned by the last {@link pop}; for 6 the address is in {@link lastAddress6}. */
  lastFamily = 4;
  /** IPv6 source of the last record popped (when {@link lastFamily} is 6). */
  readonly lastAddress6 = new Uint8Array(16);

  static plan(plan: MemoryPlan, part: string, bytes: number): void {
    plan.add(part, bytes);
  }

  constructor(arena: Arena, part: string, readonly capacity: number, readonly maxRecords: number) {
    this.data = arena.u8(part, capacity);
  }

  /** Bytes available to the next datagram's payload if written now (0 when full). */
  get freeBytes(): number {
    return Math.max(0, this.capacity - this.used - DGRAM_RECORD_HEADER);
  }

  /** Length of the next datagram's payload, or -1 when empty. */
  peekLength(): number {
    if (this.count === 0) return -1;
    const h = this.head === this.wrapAt ? 0 : this.head;
    return (this.data[h] << 8) | this.data[h + 1];
  }

  /** Append a datagram; false (and nothing written) when it does not fit. */
  push(src: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    const at = this.reserve(len, port, 0);
    if (at < 0) return false;
    const d = this.data;
    d[at + 4] = 4;
    d[at + 5] = address >>> 24;
    d[at + 6] = (address >>> 16) & 0xff;
    d[at + 7] = (address >>> 8) & 0xff;
    d[at + 8] = address & 0xff;
    copyBytes(src, off, d, at + DGRAM_RECORD_HEADER, len);
    return true;
  }

  /** Append a datagram from an IPv6 source (`a[aOff .. aOff+16)`); false when it does not fit. */
  push6(src: Uint8Array, off: number, len: number, a: Uint8Array, aOff: number, port: number): boolean {
    const at = this.reserve(len, port, DGRAM_RECORD_V6_EXTRA);
    if (at < 0) return false;
    const d = this.data;
    d[at + 4] = 6;
    copyBytes(a, aOff, d, at + 5, 16);
    copyBytes(src, off, d, at + DGRAM_RECORD_HEADER + DGRAM_RECORD_V6_EXTRA, len);
    return true;
  }

  /** Claim room for a record and write its length and port (the caller writes the rest); its offset, or -1. */
  private reserve(len: number, port: number, extra6: number): number {
    const need = DGRAM_RECORD_HEADER + extra6 + len;
    // The record header stores the length in 16 bits.
    if (len > 0xffff || this.count >= this.maxRecords || need > this.capacity) return -1;
    let at = this.tail;
    let extra = 0;
    if (at + need > this.capacity) {
      // Skip to the start; the unused tail counts as used until the reader wraps.
      extra = this.capacity - at;
      at = 0;
    }
    if (this.used + extra + need > this.capacity) return -1;
    if (extra > 0) this.wrapAt = this.tail;
    const d = this.data;
    d[at] = len >>> 8;
    d[at + 1] = len & 0xff;
    d[at + 2] = port >>> 8;
    d[at + 3] = port & 0xff;
    this.tail = at + need;
    if (this.tail === this.capacity) this.tail = 0;
    this.used += extra + need;
    this.count++;
    return at;
  }

  /**
   * Remove the oldest datagram, copying up to `max` bytes of it to `dst[off..]`
   * (the rest is discarded, as recvfrom truncates). Returns the datagram's full
   * length, or -1 when empty. Its address and port are left in lastAddress/lastPort.
   */
  pop(dst: Uint8Array | null, off: number, max: number): number {
    if (this.count === 0) return -1;
    const d = this.data;
    if (this.head === this.wrapAt) {
      this.used -= this.capacity - this.head;
      this.head = 0;
      this.wrapAt = -1;
    }
    const h = this.head;
    const len = (d[h] << 8) | d[h + 1];
    this.lastPort = (d[h + 2] << 8) | d[h + 3];
    let p = h + DGRAM_RECORD_HEADER;
    if (d[h + 4] === 6) {
      this.lastFamily = 6;
      this.lastAddress = 0;
      copyBytes(d, h + 5, this.lastAddress6, 0, 16);
      p += DGRAM_RECORD_V6_EXTRA;
    } else {
      this.lastFamily = 4;
      this.lastAddress = (d[h + 5] << 24) | (d[h + 6] << 16) | (d[h + 7] << 8) | d[h + 8];
    }
    if (dst !== null) {
      const n = len < max ? len : max;
      copyBytes(d, p, dst, off, n);
    }
    const size = p - h + len;
    this.head = h + size;
    if (this.head === this.capacity) this.head = 0;
    this.used -= size;
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      this.tail = 0;
      this.used = 0;
      this.wrapAt = -1;
    }
    return len;
  }

  clear(): void {
    this.head = this.tail = this.used = this.count = 0;
    this.wrapAt = -1;
  }
}
