/**
 * WireGuard's allowed IPs: IPv4 prefixes mapped to peers, searched by longest
 * prefix match. Incoming packets are dropped unless their source lies in the
 * sending peer's prefixes, and outgoing packets pick their peer by destination,
 * so both directions do one {@link AllowedIps.lookup} per packet.
 *
 * The structure is the path-compressed binary trie of {@link AllowedIpsTrie}
 * (as Linux's allowedips.c) over one-word keys; 2P - 1 nodes bound a trie of P
 * prefixes, and that is what the memory plan reserves.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { isIpv4Number } from '../wire/ipv4addr.js';
import { AllowedIpsTrie } from './allowed-ips-trie.js';

// The trie's NO_PEER and NIL (allowed-ips-trie.ts), as module-local constants:
// an imported binding is a load (and a hole check) per use in the lookup loop.
const NO_PEER = 0xffff;
const NIL = -1;

function checkPrefixLength(prefixLength: number): void {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new RangeError(`prefix length must be an integer 0..32, got ${prefixLength}`);
  }
}

function checkAddress(address: number): void {
  if (!isIpv4Number(address)) {
    throw new RangeError(`IPv4 address must be a 32-bit integer (signed or unsigned), got ${address}`);
  }
}

export class AllowedIps extends AllowedIpsTrie {
  /** Reserve memory for up to `maxPrefixes` prefixes. */
  static plan(plan: MemoryPlan, maxPrefixes: number): void {
    AllowedIpsTrie.carveTrie(plan, maxPrefixes, 1, 'allowedIps');
  }

  constructor(arena: Arena, capacity: number) {
    super(arena, capacity, 1, 'allowedIps', 'AllowedIps');
  }

  /**
   * Add or re-own `address/prefixLength` (host bits are masked off) for `peer`
   * (0..65534). Returns false when full (nothing changed). Throws RangeError on
   * prefixLength outside 0..32, or on a bad address or peer.
   */
  insert(address: number, prefixLength: number, peer: number): boolean {
    checkAddress(address);
    checkPrefixLength(prefixLength);
    this.k[0] = address;
    return this.insertKey(prefixLength, peer);
  }

  /** Remove one prefix; returns whether it existed (and belonged to `peer` if given). */
  remove(address: number, prefixLength: number, peer?: number): boolean {
    checkAddress(address);
    checkPrefixLength(prefixLength);
    this.k[0] = address;
    return this.removeKey(prefixLength, peer);
  }

  /** Peer owning the longest prefix containing `address` (signed or unsigned), or -1. Allocation-free. */
  lookup(address: number): number {
    const a = address | 0;
    const { key, mask, peer, cidr, child0, child1 } = this;
    let best = NO_PEER;
    let node = this.root;
    while (node !== NIL) {
      if (((a ^ key[node]) & mask[node]) !== 0) break;
      const p = peer[node];
      if (p !== NO_PEER) best = p;
      const c = cidr[node];
      if (c === 32) break;
      node = ((a >>> (31 - c)) & 1) === 0 ? child0[node] : child1[node];
    }
    return best === NO_PEER ? -1 : best;
  }

  /**
   * Prefixes of a peer in address order (shorter prefix first on equal
   * addresses), addresses unsigned; for display/UAPI, allocates.
   */
  list(peer: number): Array<{ address: number; prefixLength: number }> {
    return this.listNodes(peer).map((node) => ({ address: this.key[node] >>> 0, prefixLength: this.cidr[node] }));
  }
}
