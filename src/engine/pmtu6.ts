/**
 * The path MTU cache of RFC 8201: destinations that sent us an ICMPv6
 * Packet Too Big, with the MTU it reported. Fixed slots from the memory
 * plan; when full the entry expiring first is replaced. An entry expires
 * after 10 minutes (RFC 8201 §4: at least 5 minutes, 10 recommended), and
 * the interface MTU applies again (the path is probed by sending at it).
 */
import type { Carver } from '../storage/arena.js';
import { ip6Equal } from '../wire/ipv6addr.js';
import { IPV6_MIN_MTU } from '../wire/ipv6.js';

/** How long a learned path MTU holds, ms (RFC 8201 §4). */
export const PMTU6_TIMEOUT_MS = 10 * 60 * 1000;

export class PathMtu6 {
  private readonly dst: Uint8Array;
  private readonly mtu: Uint16Array;
  private readonly expires: Float64Array;
  private memo = -1;
  /** Slots holding an entry (mtu not 0): with none, as on most paths, a lookup answers at once. */
  private used = 0;

  constructor(m: Carver, readonly capacity: number) {
    this.dst = m.u8('pmtu6', capacity * 16);
    this.mtu = m.u16('pmtu6', capacity);
    this.expires = m.f64('pmtu6', capacity);
  }

  /** The path MTU learned for `d[o..o+16)`, or 0 when none is known (or it expired) at `now`. */
  lookup(d: Uint8Array, o: number, now: number): number {
    if (this.used === 0) return 0;
    const k = this.find(d, o);
    if (k < 0) return 0;
    if (this.expires[k] <= now) {
      this.mtu[k] = 0;
      this.used--;
      return 0;
    }
    return this.mtu[k];
  }

  /**
   * Record a Packet Too Big's MTU for a destination. RFC 8201 §4: never below
   * the IPv6 minimum of 1280 (a smaller report is raised to it), and only a
   * decrease counts (an increase waits for the entry's expiry). Returns
   * whether the path MTU changed.
   */
  update(d: Uint8Array, o: number, reported: number, now: number): boolean {
    const m = reported < IPV6_MIN_MTU ? IPV6_MIN_MTU : reported > 65535 ? 65535 : reported;
    let k = this.find(d, o);
    if (k >= 0 && this.mtu[k] !== 0 && this.expires[k] > now && this.mtu[k] <= m) return false;
    if (k < 0) {
      // The free or earliest-expiring slot.
      let best = 0;
      for (let i = 0; i < this.capacity; i++) {
        if (this.mtu[i] === 0 || this.expires[i] <= now) { best = i; break; }
        if (this.expires[i] < this.expires[best]) best = i;
      }
      k = best;
      for (let i = 0; i < 16; i++) this.dst[k * 16 + i] = d[o + i];
    }
    if (this.mtu[k] === 0) this.used++;
    this.mtu[k] = m;
    this.expires[k] = now + PMTU6_TIMEOUT_MS;
    this.memo = k;
    return true;
  }

  private find(d: Uint8Array, o: number): number {
    const memo = this.memo;
    if (memo >= 0 && this.mtu[memo] !== 0 && ip6Equal(this.dst, memo * 16, d, o)) return memo;
    for (let i = 0; i < this.capacity; i++) {
      if (this.mtu[i] !== 0 && ip6Equal(this.dst, i * 16, d, o)) {
        this.memo = i;
        return i;
      }
    }
    return -1;
  }
}
