/**
 * The routing table: fixed slots searched for the longest matching prefix.
 * A lookup leaves its answer in fields instead of returning an object.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { prefixMask } from '../wire/ipv4addr.js';

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
  /** Result of the last successful {@link lookup}. */
  resultIf = -1;
  resultGateway = 0;

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

  /** Longest-prefix match; sets resultIf/resultGateway and returns true, or false when unroutable. */
  lookup(dst: number): boolean {
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
    if (best < 0) return false;
    this.resultIf = this.ifIndex[best];
    this.resultGateway = this.gateway[best];
    return true;
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
