/**
 * The security association database (RFC 4301 4.4.2): a fixed table of
 * `ipsecMaxSa` SAs from the memory plan. Inbound SAs are found by
 * (SPI, source, destination) through a hash on the SPI; outbound SAs are
 * chosen by the policy that protects a packet (see spd.ts). The transform
 * objects holding imported keys sit in a fixed array beside the tables
 * (keys are opaque crypto handles, not numbers).
 */
import type { Carver } from '../storage/arena.js';
import { ReplayWindows } from './replay.js';
import type { EspTransform } from './transform.js';

export const SA_FREE = 0;
export const SA_LIVE = 1;
/** Hard-expired (lifetime or sequence numbers used up): kept so its packets are counted, never used. */
export const SA_DEAD = 2;

export const DIR_IN = 0;
export const DIR_OUT = 1;

export const SAF_ESN = 1;
export const SAF_ENCAP = 2;

/** Lifetime limits per SA, in this order (Infinity = none). */
export const LIM_SOFT_BYTES = 0;
export const LIM_HARD_BYTES = 1;
export const LIM_SOFT_PACKETS = 2;
export const LIM_HARD_PACKETS = 3;
export const LIM_SOFT_MS = 4;
export const LIM_HARD_MS = 5;
const LIMITS = 6;

/** Why an SA expired. */
export const EXPIRE_BYTES = 1;
export const EXPIRE_PACKETS = 2;
export const EXPIRE_TIME = 3;
export const EXPIRE_SEQUENCE = 4;
export const EXPIRE_DELETED = 5;

/** Event bits: fired (never again) and pending (not yet reported). */
export const EV_SOFT = 1;
export const EV_HARD = 2;

export class SaTable {
  readonly capacity: number;
  readonly state: Uint8Array;
  readonly dir: Uint8Array;
  readonly flags: Uint8Array;
  readonly spi: Int32Array;
  readonly src: Int32Array;
  readonly dst: Int32Array;
  readonly encapSport: Uint16Array;
  readonly encapDport: Uint16Array;
  /** Outbound: the last sequence number sent (64 bits as two int32 halves). */
  readonly seqHi: Int32Array;
  readonly seqLo: Int32Array;
  /** Outbound GCM/GMAC: a random 64-bit base the IV counts up from. */
  readonly ivBase: Int32Array;
  readonly bytes: Float64Array;
  readonly packets: Float64Array;
  readonly added: Float64Array;
  readonly limits: Float64Array;
  readonly fired: Uint8Array;
  readonly pending: Uint8Array;
  /** Expiry reasons: [soft, hard] per SA. */
  readonly reason: Uint8Array;
  readonly replay: ReplayWindows;
  private readonly buckets: Int32Array;
  private readonly chain: Int32Array;
  readonly transforms: Array<EspTransform | null>;
  /** Bumped on every add/delete/expiry so cached policy → SA choices are revalidated. */
  generation = 0;
  live = 0;

  constructor(carver: Carver, slots: number, replayBits: number) {
    this.capacity = slots;
    const part = 'ipsecSa';
    this.state = carver.u8(part, slots);
    this.dir = carver.u8(part, slots);
    this.flags = carver.u8(part, slots);
    this.fired = carver.u8(part, slots);
    this.pending = carver.u8(part, slots);
    this.reason = carver.u8(part, slots * 2);
    this.spi = carver.i32(part, slots);
    this.src = carver.i32(part, slots);
    this.dst = carver.i32(part, slots);
    this.encapSport = carver.u16(part, slots);
    this.encapDport = carver.u16(part, slots);
    this.seqHi = carver.i32(part, slots);
    this.seqLo = carver.i32(part, slots);
    this.ivBase = carver.i32(part, slots * 2);
    this.bytes = carver.f64(part, slots);
    this.packets = carver.f64(part, slots);
    this.added = carver.f64(part, slots);
    this.limits = carver.f64(part, slots * LIMITS);
    let nb = 1;
    while (nb < slots * 2) nb <<= 1;
    this.buckets = carver.i32(part, nb);
    this.chain = carver.i32(part, slots);
    this.buckets.fill(-1);
    this.replay = new ReplayWindows(carver, slots, replayBits);
    this.transforms = new Array<EspTransform | null>(slots).fill(null);
  }

  private bucket(spi: number): number {
    return (Math.imul(spi, 0x9e3779b1) >>> 16) & (this.buckets.length - 1);
  }

  /** A free slot, or -1. */
  allocate(): number {
    for (let i = 0; i < this.capacity; i++) if (this.state[i] === SA_FREE) return i;
    return -1;
  }

  /** Make slot `i` (filled by the caller) live and findable. */
  link(i: number): void {
    this.state[i] = SA_LIVE;
    this.live++;
    this.generation++;
    if (this.dir[i] === DIR_IN) {
      const h = this.bucket(this.spi[i]);
      this.chain[i] = this.buckets[h];
      this.buckets[h] = i;
    }
  }

  /** Free slot `i`. */
  remove(i: number): void {
    if (this.state[i] === SA_FREE) return;
    if (this.state[i] === SA_LIVE) this.live--;
    if (this.dir[i] === DIR_IN) {
      const h = this.bucket(this.spi[i]);
      let p = -1;
      for (let j = this.buckets[h]; j >= 0; p = j, j = this.chain[j]) {
        if (j !== i) continue;
        if (p < 0) this.buckets[h] = this.chain[j];
        else this.chain[p] = this.chain[j];
        break;
      }
    }
    this.state[i] = SA_FREE;
    this.transforms[i] = null;
    this.pending[i] = 0;
    this.generation++;
  }

  /** Hard expiry: stop using the SA, report it once. */
  kill(i: number, why: number): void {
    if (this.state[i] !== SA_LIVE) return;
    this.state[i] = SA_DEAD;
    this.live--;
    this.generation++;
    if ((this.fired[i] & EV_HARD) === 0) {
      this.fired[i] |= EV_HARD;
      this.pending[i] |= EV_HARD;
      this.reason[i * 2 + 1] = why;
    }
  }

  /** Soft expiry: report once, keep using the SA. */
  soften(i: number, why: number): void {
    if ((this.fired[i] & EV_SOFT) !== 0) return;
    this.fired[i] |= EV_SOFT;
    this.pending[i] |= EV_SOFT;
    this.reason[i * 2] = why;
  }

  /** The inbound SA for (SPI, source, destination), live or dead, or -1. */
  findIn(spi: number, src: number, dst: number): number {
    for (let j = this.buckets[this.bucket(spi)]; j >= 0; j = this.chain[j]) {
      if (this.spi[j] === spi && this.dst[j] === dst && this.src[j] === src) return j;
    }
    return -1;
  }

  /** Any SA (either state) with this SPI, destination and direction, or -1 (for duplicate checks and the API). */
  findAny(spi: number, dst: number, dir: number): number {
    for (let i = 0; i < this.capacity; i++) {
      if (this.state[i] !== SA_FREE && this.spi[i] === spi && this.dst[i] === dst && this.dir[i] === dir) return i;
    }
    return -1;
  }

  /**
   * The live outbound SA for (source, destination), restricted to `spi` when
   * `wantSpi`; the most recently added wins (a rekeyed SA replaces the old one).
   */
  findOut(src: number, dst: number, wantSpi: boolean, spi: number): number {
    let best = -1;
    for (let i = 0; i < this.capacity; i++) {
      if (this.state[i] !== SA_LIVE || this.dir[i] !== DIR_OUT || this.dst[i] !== dst) continue;
      if (this.src[i] !== 0 && this.src[i] !== src) continue;
      if (wantSpi && this.spi[i] !== spi) continue;
      if (best < 0 || this.added[i] >= this.added[best]) best = i;
    }
    return best;
  }

  /** Count `len` bytes of traffic on SA `i` and apply byte/packet lifetimes. */
  account(i: number, len: number): void {
    const b = (this.bytes[i] += len);
    const p = ++this.packets[i];
    const l = i * LIMITS;
    const lim = this.limits;
    if (b >= lim[l + LIM_HARD_BYTES]) this.kill(i, EXPIRE_BYTES);
    else if (p >= lim[l + LIM_HARD_PACKETS]) this.kill(i, EXPIRE_PACKETS);
    else if (b >= lim[l + LIM_SOFT_BYTES]) this.soften(i, EXPIRE_BYTES);
    else if (p >= lim[l + LIM_SOFT_PACKETS]) this.soften(i, EXPIRE_PACKETS);
  }

  /** Apply time lifetimes at `now`; returns the next time one is due (Infinity when none). */
  expireByTime(now: number): number {
    let next = Infinity;
    for (let i = 0; i < this.capacity; i++) {
      if (this.state[i] !== SA_LIVE) continue;
      const l = i * LIMITS;
      const hard = this.added[i] + this.limits[l + LIM_HARD_MS];
      const soft = this.added[i] + this.limits[l + LIM_SOFT_MS];
      if (now >= hard) {
        this.kill(i, EXPIRE_TIME);
        continue;
      }
      if ((this.fired[i] & EV_SOFT) === 0) {
        if (now >= soft) this.soften(i, EXPIRE_TIME);
        else if (soft < next) next = soft;
      }
      if (hard < next) next = hard;
    }
    return next;
  }
}

export { LIMITS as SA_LIMITS };
