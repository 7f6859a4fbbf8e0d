/**
 * The security policy database (RFC 4301 4.4.1): ordered selectors over
 * source/destination prefixes, protocol and port ranges, each with an
 * action: bypass, protect (with ESP) or discard. A fixed table of
 * `ipsecMaxSp` entries from the memory plan, searched in priority order
 * (lower value first, then insertion order). No match means bypass.
 */
import type { Carver } from '../storage/arena.js';

export const ACT_BYPASS = 0;
export const ACT_PROTECT = 1;
export const ACT_DISCARD = 2;

export const SP_OUT = 1;
export const SP_IN = 2;

export class PolicyTable {
  readonly capacity: number;
  count = 0;
  readonly dir: Uint8Array;
  readonly action: Uint8Array;
  readonly proto: Uint8Array;
  readonly hasSpi: Uint8Array;
  readonly priority: Int32Array;
  readonly srcNet: Int32Array;
  readonly srcMask: Int32Array;
  readonly dstNet: Int32Array;
  readonly dstMask: Int32Array;
  readonly sportLo: Uint16Array;
  readonly sportHi: Uint16Array;
  readonly dportLo: Uint16Array;
  readonly dportHi: Uint16Array;
  readonly spi: Int32Array;
  /** Cached outbound SA of a protect policy, valid while `cacheGen` equals the SA table's generation. */
  readonly cacheSa: Int32Array;
  readonly cacheGen: Float64Array;
  readonly hits: Float64Array;
  /** Slots in search order. */
  private readonly order: Uint16Array;
  private readonly seqNo: Float64Array;
  private added = 0;
  readonly used: Uint8Array;

  constructor(carver: Carver, slots: number) {
    this.capacity = slots;
    const part = 'ipsecSp';
    this.used = carver.u8(part, slots);
    this.dir = carver.u8(part, slots);
    this.action = carver.u8(part, slots);
    this.proto = carver.u8(part, slots);
    this.hasSpi = carver.u8(part, slots);
    this.priority = carver.i32(part, slots);
    this.srcNet = carver.i32(part, slots);
    this.srcMask = carver.i32(part, slots);
    this.dstNet = carver.i32(part, slots);
    this.dstMask = carver.i32(part, slots);
    this.sportLo = carver.u16(part, slots);
    this.sportHi = carver.u16(part, slots);
    this.dportLo = carver.u16(part, slots);
    this.dportHi = carver.u16(part, slots);
    this.spi = carver.i32(part, slots);
    this.cacheSa = carver.i32(part, slots);
    this.cacheGen = carver.f64(part, slots);
    this.hits = carver.f64(part, slots);
    this.order = carver.u16(part, slots);
    this.seqNo = carver.f64(part, slots);
  }

  /** A free slot, or -1. */
  allocate(): number {
    for (let i = 0; i < this.capacity; i++) if (this.used[i] === 0) return i;
    return -1;
  }

  /** Insert slot `i` (filled by the caller) into the search order. */
  link(i: number): void {
    this.used[i] = 1;
    this.cacheGen[i] = -1;
    this.hits[i] = 0;
    this.seqNo[i] = this.added++;
    let at = this.count;
    while (at > 0) {
      const j = this.order[at - 1];
      if (this.priority[j] < this.priority[i] || (this.priority[j] === this.priority[i] && this.seqNo[j] < this.seqNo[i])) break;
      this.order[at] = j;
      at--;
    }
    this.order[at] = i;
    this.count++;
  }

  remove(i: number): void {
    if (this.used[i] === 0) return;
    this.used[i] = 0;
    let k = 0;
    for (let n = 0; n < this.count; n++) if (this.order[n] !== i) this.order[k++] = this.order[n];
    this.count = k;
  }

  /** Slots in search order (for listing). */
  slots(): number[] {
    return Array.from(this.order.subarray(0, this.count));
  }

  /**
   * The first policy of direction `dir` matching the packet, or -1.
   * `sport`/`dport` are -1 for protocols without ports: such packets never
   * match a policy that restricts ports.
   */
  lookup(dir: number, src: number, dst: number, proto: number, sport: number, dport: number): number {
    for (let n = 0; n < this.count; n++) {
      const i = this.order[n];
      if (this.dir[i] !== dir) continue;
      if ((src & this.srcMask[i]) !== this.srcNet[i] || (dst & this.dstMask[i]) !== this.dstNet[i]) continue;
      if (this.proto[i] !== 0 && this.proto[i] !== proto) continue;
      const sLo = this.sportLo[i];
      const sHi = this.sportHi[i];
      const dLo = this.dportLo[i];
      const dHi = this.dportHi[i];
      if (sLo !== 0 || sHi !== 65535) {
        if (sport < sLo || sport > sHi) continue;
      }
      if (dLo !== 0 || dHi !== 65535) {
        if (dport < dLo || dport > dHi) continue;
      }
      return i;
    }
    return -1;
  }
}
