/**
 * A FIFO of variable-length datagrams in a fixed byte region, each record
 * holding its peer address and port. Records never straddle the end of the
 * region: a record that would is placed at the start, and the skipped tail is
 * accounted as used until the reader passes it. A ring planned for IPv6
 * (`v6`) also keeps, per record slot (`maxRecords` of them, in FIFO order
 * beside the byte region), the family and a 16-byte IPv6 source.
 */
import { copyBytes } from '../wire/bytes.js';
import { ip6Copy } from '../wire/ipv6addr.js';
import { Arena, MemoryPlan } from './arena.js';

/** Record header: length (2), port (2), address (4). */
export const DGRAM_RECORD_HEADER = 8;

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
  /** Family (4 or 6) of the record returned by the last {@link pop}; for 6 the source is {@link lastAddress6}. */
  lastFamily = 4;
  /** IPv6 source of the last record popped (when {@link lastFamily} is 6). */
  readonly lastAddress6 = new Uint8Array(16);
  /** Per record slot: 6 for an IPv6 record (empty without `v6`), and its 16-byte source. */
  private readonly fam: Uint8Array;
  private readonly addr6: Uint8Array;
  /** Record slots of the next push and the next pop (FIFO, modulo maxRecords). */
  private pushSlot = 0;
  private popSlot = 0;

  /** @param v6 with `maxRecords`: plan the IPv6 record slots (17 bytes each) */
  static plan(plan: MemoryPlan, part: string, bytes: number, v6 = 0): void {
    plan.add(part, bytes);
    if (v6 > 0) plan.add(part, v6).add(part, 16 * v6);
  }

  constructor(arena: Arena, part: string, readonly capacity: number, readonly maxRecords: number, v6 = false) {
    this.data = arena.u8(part, capacity);
    this.fam = v6 ? arena.u8(part, maxRecords) : new Uint8Array(0);
    this.addr6 = v6 ? arena.u8(part, 16 * maxRecords) : new Uint8Array(0);
  }

  /** True when the ring was planned for IPv6 sources ({@link push6}). */
  get v6(): boolean {
    return this.fam.length > 0;
  }

  /**
   * Append a datagram from an IPv6 source (`a[aOff .. aOff+16)`); false when
   * it does not fit or the ring has no IPv6 slots.
   */
  push6(src: Uint8Array, off: number, len: number, a: Uint8Array, aOff: number, port: number): boolean {
    if (this.fam.length === 0) return false;
    const slot = this.pushSlot;
    if (!this.push(src, off, len, 0, port)) return false;
    this.fam[slot] = 6;
    ip6Copy(a, aOff, this.addr6, 16 * slot);
    return true;
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
    const need = DGRAM_RECORD_HEADER + len;
    // The record header stores the length in 16 bits.
    if (len > 0xffff || this.count >= this.maxRecords || need > this.capacity) return false;
    let at = this.tail;
    let extra = 0;
    if (at + need > this.capacity) {
      // Skip to the start; the unused tail counts as used until the reader wraps.
      extra = this.capacity - at;
      at = 0;
    }
    if (this.used + extra + need > this.capacity) return false;
    if (extra > 0) this.wrapAt = this.tail;
    if (this.fam.length > 0) {
      this.fam[this.pushSlot] = 4;
      this.pushSlot = this.pushSlot + 1 === this.maxRecords ? 0 : this.pushSlot + 1;
    }
    const d = this.data;
    d[at] = len >>> 8;
    d[at + 1] = len & 0xff;
    d[at + 2] = port >>> 8;
    d[at + 3] = port & 0xff;
    d[at + 4] = address >>> 24;
    d[at + 5] = (address >>> 16) & 0xff;
    d[at + 6] = (address >>> 8) & 0xff;
    d[at + 7] = address & 0xff;
    const p = at + DGRAM_RECORD_HEADER;
    copyBytes(src, off, d, p, len);
    this.tail = at + need;
    if (this.tail === this.capacity) this.tail = 0;
    this.used += extra + need;
    this.count++;
    return true;
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
    this.lastAddress = (d[h + 4] << 24) | (d[h + 5] << 16) | (d[h + 6] << 8) | d[h + 7];
    if (this.fam.length > 0) {
      const slot = this.popSlot;
      this.popSlot = slot + 1 === this.maxRecords ? 0 : slot + 1;
      this.lastFamily = this.fam[slot] === 6 ? 6 : 4;
      if (this.lastFamily === 6) ip6Copy(this.addr6, 16 * slot, this.lastAddress6, 0);
    }
    if (dst !== null) {
      const n = len < max ? len : max;
      const p = h + DGRAM_RECORD_HEADER;
      copyBytes(d, p, dst, off, n);
    }
    const size = DGRAM_RECORD_HEADER + len;
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
    this.pushSlot = this.popSlot = 0;
    this.wrapAt = -1;
  }
}
