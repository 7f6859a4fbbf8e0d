/**
 * The IPv6 routing table: fixed slots of 16-byte prefixes searched for the
 * longest match over 128 bits. A lookup returns the matching slot;
 * {@link Route6Record} is where `Ipv6.route6()` puts its full answer, in a
 * record owned by the caller (as IPv4's RouteRecord, routes.ts).
 */
import type { Carver } from '../storage/arena.js';
import { ip6Equal, ip6MaskInPlace, ip6PrefixMatch, isUnspecified6 } from '../wire/ipv6addr.js';
import type { NetInterface } from './netif.js';

/**
 * The outcome of `route6()`, filled into a record its caller owns (each
 * sender makes one at construction) and handed back to `output6()`.
 */
export class Route6Record {
  /** Outgoing interface; null until a route6() succeeded. */
  iface: NetInterface | null = null;
  /** Source address of the packet. */
  readonly src = new Uint8Array(16);
  /** The same 16 bytes as `src`, as words in the platform's byte order (a sender writes them four at a time). */
  readonly srcw = new Int32Array(this.src.buffer);
  /** The neighbour the packet goes to: the gateway, or the destination itself. */
  readonly nextHop = new Uint8Array(16);
  /** Addressed to one of our own addresses: goes through the loopback queue. */
  local = false;
  /** Multicast destination: sent to the group's link-layer address, never to a gateway. */
  multicast = false;
  /**
   * Which of route6's remembered answers the record holds (-1: none): a
   * sender asking again for the same destination gets it back without the
   * 32 bytes copied again. Only route6 writes records.
   */
  stamp = -1;
}

/** How a route was made (as routes.ts): removed together with its interface's address. */
export const ROUTE6_CONNECTED = 1;
export const ROUTE6_DEFAULT = 2;
export const ROUTE6_STATIC = 3;
/** Learned from a router advertisement (V6ND): default routers and on-link prefixes. */
export const ROUTE6_RA = 4;

export class Route6Table {
  private readonly dest: Uint8Array;
  private readonly gateway: Uint8Array;
  private readonly prefix: Uint8Array;
  private readonly ifIndex: Uint8Array;
  private readonly kind: Uint8Array;
  /** Expiry of RA-learned routes, absolute ms (Infinity: none). */
  readonly expires: Float64Array;
  /** One past the highest slot ever used: lookup() (per packet) scans no further. */
  private top = 0;
  /** Bumped by every change of the table (Ipv6.route6 keeps a memo while it holds). */
  generation = 0;

  /** Carve from the arena, or plan (a MemoryPlan as the Carver): one layout. */
  constructor(m: Carver, readonly capacity: number) {
    this.dest = m.u8('routes6', capacity * 16);
    this.gateway = m.u8('routes6', capacity * 16);
    this.prefix = m.u8('routes6', capacity);
    this.ifIndex = m.u8('routes6', capacity);
    this.kind = m.u8('routes6', capacity);
    this.expires = m.f64('routes6', capacity);
  }

  /**
   * Add a route `dest/prefixLength` (dest's host bits are cleared); `gw` null
   * or `::` means directly connected. Returns the slot, or -1 when the table
   * is full. An existing route with the same prefix, interface and kind is
   * updated in place (its slot returned) so RAs can refresh it.
   */
  add(dest: Uint8Array, dOff: number, prefixLength: number, gw: Uint8Array | null, gOff: number,
    ifIndex: number, kind: number, expires = Infinity): number {
    let free = -1;
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] === 0) {
        if (free < 0) free = i;
        continue;
      }
      if (this.kind[i] === kind && this.ifIndex[i] === ifIndex && this.prefix[i] === prefixLength
        && ip6PrefixMatch(this.dest, i * 16, dest, dOff, prefixLength)
        && (gw === null ? isUnspecified6(this.gateway, i * 16) : ip6Equal(this.gateway, i * 16, gw, gOff))) {
        this.expires[i] = expires;
        return i;
      }
    }
    if (free < 0) return -1;
    const at = free * 16;
    for (let k = 0; k < 16; k++) {
      this.dest[at + k] = dest[dOff + k];
      this.gateway[at + k] = gw === null ? 0 : gw[gOff + k];
    }
    ip6MaskInPlace(this.dest, at, prefixLength);
    this.prefix[free] = prefixLength;
    this.ifIndex[free] = ifIndex;
    this.kind[free] = kind;
    this.expires[free] = expires;
    if (free >= this.top) this.top = free + 1;
    this.generation++;
    return free;
  }

  /** Remove routes of an interface (all kinds, or one). */
  removeInterface(ifIndex: number, kind = 0): void {
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] !== 0 && this.ifIndex[i] === ifIndex && (kind === 0 || this.kind[i] === kind)) this.kind[i] = 0;
    }
    this.generation++;
  }

  /** Remove one route (exact prefix and interface, any gateway); returns whether it existed. */
  remove(dest: Uint8Array, dOff: number, prefixLength: number, ifIndex: number): boolean {
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] !== 0 && this.prefix[i] === prefixLength && this.ifIndex[i] === ifIndex
        && ip6PrefixMatch(this.dest, i * 16, dest, dOff, prefixLength)) {
        this.kind[i] = 0;
        this.generation++;
        return true;
      }
    }
    return false;
  }

  /** Remove the slot `r`. */
  removeSlot(r: number): void {
    this.kind[r] = 0;
    this.generation++;
  }

  /** Drop RA-learned routes whose lifetime ended; returns the earliest remaining expiry. */
  expire(now: number): number {
    let next = Infinity;
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] === 0) continue;
      const e = this.expires[i];
      if (e <= now) {
        this.kind[i] = 0;
        this.generation++;
      }
      else if (e < next) next = e;
    }
    return next;
  }

  /** Longest-prefix match: the matching slot, or -1 when unroutable. */
  lookup(dst: Uint8Array, dOff: number): number {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.top; i++) {
      if (this.kind[i] === 0 || this.prefix[i] <= bestLen) continue;
      if (!ip6PrefixMatch(this.dest, i * 16, dst, dOff, this.prefix[i])) continue;
      best = i;
      bestLen = this.prefix[i];
    }
    return best;
  }

  /** Interface index of the route in slot `r`. */
  ifIndexOf(r: number): number {
    return this.ifIndex[r];
  }

  /** Kind of the route in slot `r` (0: free). */
  kindOf(r: number): number {
    return this.kind[r];
  }

  /** Whether the route in slot `r` has a gateway (else the destination is on-link). */
  hasGateway(r: number): boolean {
    return !isUnspecified6(this.gateway, r * 16);
  }

  /** Copy the gateway of slot `r` to `out[off]`. */
  copyGateway(r: number, out: Uint8Array, off: number): void {
    const at = r * 16;
    for (let k = 0; k < 16; k++) out[off + k] = this.gateway[at + k];
  }

  /** Snapshot for display (allocates; not for the packet path). */
  list(): Array<{ dest: Uint8Array; prefixLength: number; gateway: Uint8Array | null; ifIndex: number; kind: number }> {
    const out = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] === 0) continue;
      out.push({
        dest: this.dest.slice(i * 16, i * 16 + 16), prefixLength: this.prefix[i],
        gateway: this.hasGateway(i) ? this.gateway.slice(i * 16, i * 16 + 16) : null,
        ifIndex: this.ifIndex[i], kind: this.kind[i],
      });
    }
    return out;
  }
}
