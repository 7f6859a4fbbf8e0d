/**
 * WireGuard's allowed IPs for IPv6: the trie of {@link AllowedIpsTrie} (as
 * {@link AllowedIps}; Linux's allowedips.c keeps one root per family too)
 * over 128-bit keys stored as four big-endian int32 words per node. Addresses
 * come and go as 16 bytes at an offset of a Uint8Array (network order), so the
 * packet path reads the inner header in place: {@link AllowedIps6.lookup} loads
 * the address into four locals and walks at most 129 nodes, allocation-free.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { AllowedIpsTrie } from './allowed-ips-trie.js';

// The trie's NO_PEER and NIL (allowed-ips-trie.ts), as module-local constants:
// an imported binding is a load (and a hole check) per use in the lookup loop.
const NO_PEER = 0xffff;
const NIL = -1;

function readWord(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}

function checkArgs(b: Uint8Array, off: number, prefixLength: number): void {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 128) {
    throw new RangeError(`prefix length must be an integer 0..128, got ${prefixLength}`);
  }
  if (!Number.isInteger(off) || off < 0 || off + 16 > b.length) {
    throw new RangeError('an IPv6 address needs 16 bytes at the offset');
  }
}

export class AllowedIps6 extends AllowedIpsTrie {
  /** Reserve memory for up to `maxPrefixes` prefixes. */
  static plan(plan: MemoryPlan, maxPrefixes: number): void {
    AllowedIpsTrie.carveTrie(plan, maxPrefixes, 4, 'allowedIps6');
  }

  constructor(arena: Arena, capacity: number) {
    super(arena, capacity, 4, 'allowedIps6', 'AllowedIps6');
  }

  /**
   * Add or re-own the prefix of the 16 bytes at `b[off]` / `prefixLength`
   * (host bits are masked off) for `peer` (0..65534). Returns false when full
   * (nothing changed). Throws RangeError on a bad prefix length, offset or peer.
   */
  insert(b: Uint8Array, off: number, prefixLength: number, peer: number): boolean {
    checkArgs(b, off, prefixLength);
    this.loadKey(b, off);
    return this.insertKey(prefixLength, peer);
  }

  /** Remove one prefix; returns whether it existed (and belonged to `peer` if given). */
  remove(b: Uint8Array, off: number, prefixLength: number, peer?: number): boolean {
    checkArgs(b, off, prefixLength);
    this.loadKey(b, off);
    return this.removeKey(prefixLength, peer);
  }

  /** Peer owning the longest prefix containing the 16 bytes at `b[off]`, or -1. Allocation-free. */
  lookup(b: Uint8Array, off: number): number {
    const a0 = readWord(b, off);
    const a1 = readWord(b, off + 4);
    const a2 = readWord(b, off + 8);
    const a3 = readWord(b, off + 12);
    const { key, mask, peer, cidr, child0, child1 } = this;
    let best = NO_PEER;
    let node = this.root;
    while (node !== NIL) {
      const j = node << 2;
      if (((a0 ^ key[j]) & mask[j]) !== 0 || ((a1 ^ key[j + 1]) & mask[j + 1]) !== 0
        || ((a2 ^ key[j + 2]) & mask[j + 2]) !== 0 || ((a3 ^ key[j + 3]) & mask[j + 3]) !== 0) break;
      const p = peer[node];
      if (p !== NO_PEER) best = p;
      const c = cidr[node];
      if (c === 128) break;
      const w = c < 32 ? a0 : c < 64 ? a1 : c < 96 ? a2 : a3;
      node = ((w >>> (31 - (c & 31))) & 1) === 0 ? child0[node] : child1[node];
    }
    return best === NO_PEER ? -1 : best;
  }

  /**
   * Prefixes of a peer in address order (shorter prefix first on equal
   * addresses), each address as 16 fresh bytes; for display/UAPI, allocates.
   */
  list(peer: number): Array<{ address: Uint8Array; prefixLength: number }> {
    return this.listNodes(peer).map((node) => {
      const a = new Uint8Array(16);
      for (let w = 0; w < 4; w++) {
        const v = this.key[4 * node + w];
        a[4 * w] = v >>> 24;
        a[4 * w + 1] = v >>> 16;
        a[4 * w + 2] = v >>> 8;
        a[4 * w + 3] = v;
      }
      return { address: a, prefixLength: this.cidr[node] };
    });
  }

  /** The 16 bytes at `b[off]` into the scratch key (insertKey/removeKey mask them). */
  private loadKey(b: Uint8Array, off: number): void {
    for (let w = 0; w < 4; w++) this.k[w] = readWord(b, off + 4 * w);
  }
}
