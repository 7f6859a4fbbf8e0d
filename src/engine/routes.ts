/**
 * The routing table: fixed slots searched for the longest matching prefix.
 * A lookup returns the matching slot; {@link RouteRecord} is where IPv4's
 * route() puts its full answer, in a record owned by the caller.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { prefixMask } from '../wire/ipv4addr.js';
import type { NetInterface } from './netif.js';

/**
 * The outcome of `Ipv4.route()`, filled into a record its caller owns (each
 * sender makes one at construction) and handed back to `Ipv4.output()`. A
 * route() made by someone else in between (a nested send) fills another
 * record, so it cannot redirect this one's packet.
 */
export class RouteRecord {
  /** Outgoing interface; null until a route() succeeded. */
  iface: NetInterface | null = null;
  /** Source address of the packet. */
  src = 0;
  /** The neighbour the frame goes to: the gateway, or the destination itself. */
  nextHop = 0;
  /** Sent as a link-layer broadcast (limited or directed broadcast destination). */
  broadcast = false;
  /** Addressed to one of our own addresses: goes through the loopback queue. */
  local = false;
}

/** How a route was made: removed together with its interface's address. */
export const ROUTE_CONNECTED = 1;
export const ROUTE_DEFAULT = 2;
export const ROUTE_STATIC = 3;

export class RouteTable {
  private readonly dest: Int32Array;
  private readonly mask: Int32Array;
  private readonly gateway: Int32Array;
  private readonly prefix: Uint8Array;
  private readonly ifIndex: Uint8Array;
  private readonly kind: Uint8Array;

  static plan(plan: MemoryPlan, n: number): void {
    plan.add('routes', n, 4).add('routes', n, 4).add('routes', n, 4).add('routes', n).add('routes', n).add('routes', n);
  }

  constructor(arena: Arena, readonly capacity: number) {
    this.dest = arena.i32('routes', capacity);
    this.mask = arena.i32('routes', capacity);
    this.gateway = arena.i32('routes', capacity);
    this.prefix = arena.u8('routes', capacity);
    this.ifIndex = arena.u8('routes', capacity);
    this.kind = arena.u8('routes', capacity);
  }

  /** Add a route; returns false when the table is full. `gateway` 0 means directly connected. */
  add(dest: number, prefixLength: number, gateway: number, ifIndex: number, kind: number): boolean {
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] !== 0) continue;
      const m = prefixMask(prefixLength);
      this.dest[i] = dest & m;
      this.mask[i] = m;
      this.prefix[i] = prefixLength;
      this.gateway[i] = gateway;
      this.ifIndex[i] = ifIndex;
      this.kind[i] = kind;
      return true;
    }
    return false;
  }

  /** Remove routes of an interface (all kinds, or one). */
  removeInterface(ifIndex: number, kind = 0): void {
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] !== 0 && this.ifIndex[i] === ifIndex && (kind === 0 || this.kind[i] === kind)) this.kind[i] = 0;
    }
  }

  /** Remove one route (exact destination, prefix and interface); returns whether it existed. */
  remove(dest: number, prefixLength: number, ifIndex: number): boolean {
    const m = prefixMask(prefixLength);
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] !== 0 && this.prefix[i] === prefixLength && this.dest[i] === (dest & m) && this.ifIndex[i] === ifIndex) {
        this.kind[i] = 0;
        return true;
      }
    }
    return false;
  }

  /** Longest-prefix match: the matching slot (see {@link ifIndexOf}, {@link gatewayOf}), or -1 when unroutable. */
  lookup(dst: number): number {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] === 0) continue;
      if ((dst & this.mask[i]) !== this.dest[i]) continue;
      if (this.prefix[i] > bestLen) {
        best = i;
        bestLen = this.prefix[i];
      }
    }
    return best;
  }

  /** Interface index of the route in slot `r` (from {@link lookup}). */
  ifIndexOf(r: number): number {
    return this.ifIndex[r];
  }

  /** Gateway of the route in slot `r`, 0 when directly connected. */
  gatewayOf(r: number): number {
    return this.gateway[r];
  }

  /** Snapshot for display (allocates; not for the packet path). */
  list(): Array<{ dest: number; prefixLength: number; gateway: number; ifIndex: number; kind: number }> {
    const out = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.kind[i] === 0) continue;
      out.push({ dest: this.dest[i], prefixLength: this.prefix[i], gateway: this.gateway[i], ifIndex: this.ifIndex[i], kind: this.kind[i] });
    }
    return out;
  }
}
