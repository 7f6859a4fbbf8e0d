/**
 * WireGuard's allowed IPs for IPv6: the same path-compressed binary trie as
 * {@link AllowedIps} (Linux's allowedips.c keeps one root per family too),
 * over 128-bit keys stored as four big-endian int32 words per node. Addresses
 * come and go as 16 bytes at an offset of a Uint8Array (network order), so the
 * packet path reads the inner header in place: {@link AllowedIps6.lookup} loads
 * the address into four locals and walks at most 129 nodes, allocation-free.
 *
 * Bounds as the IPv4 trie: a branching node without a prefix always has two
 * children, so P prefixes need at most 2P - 1 nodes, which the plan reserves;
 * freed nodes go on a free list.
 */
import type { Arena, Carver, MemoryPlan } from '../storage/arena.js';

const NO_PEER = 0xffff;
const NIL = -1;
const MAX_PEER = 0xfffe;

/** Mask of word `w` (0..3) of a /cidr prefix. */
function wordMask(cidr: number, w: number): number {
  const bits = cidr - 32 * w;
  if (bits >= 32) return -1;
  if (bits <= 0) return 0;
  return -1 << (32 - bits);
}

function nodeCount(maxPrefixes: number): number {
  return maxPrefixes > 0 ? 2 * maxPrefixes - 1 : 0;
}

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

function checkPeer(peer: number): void {
  if (!Number.isInteger(peer) || peer < 0 || peer > MAX_PEER) {
    throw new RangeError(`peer index must be an integer 0..${MAX_PEER}, got ${peer}`);
  }
}

export class AllowedIps6 {
  /** Four words per node: prefix bits, host bits zero. */
  private readonly key: Int32Array;
  /** Four words per node: the netmask of the node's `cidr`. */
  private readonly mask: Int32Array;
  private readonly child0: Int32Array;
  private readonly child1: Int32Array;
  /** Parent node, or NIL for the root; on free nodes, the next free node. */
  private readonly parent: Int32Array;
  private readonly peer: Uint16Array;
  private readonly cidr: Uint8Array;
  private readonly nodes: number;
  /** The key being inserted/removed (control plane scratch, made once). */
  private readonly k = new Int32Array(4);
  private root = NIL;
  private freeHead = NIL;
  private count = 0;

  /** Reserve memory for up to `maxPrefixes` prefixes. */
  static plan(plan: MemoryPlan, maxPrefixes: number): void {
    AllowedIps6.carve(plan, maxPrefixes);
  }

  private static carve(m: Carver, maxPrefixes: number): {
    key: Int32Array; mask: Int32Array; child0: Int32Array; child1: Int32Array; parent: Int32Array;
    peer: Uint16Array; cidr: Uint8Array;
  } {
    if (!Number.isInteger(maxPrefixes) || maxPrefixes < 0) {
      throw new RangeError(`maxPrefixes must be a non-negative integer, got ${maxPrefixes}`);
    }
    const n = nodeCount(maxPrefixes);
    return {
      key: m.i32('allowedIps6', 4 * n),
      mask: m.i32('allowedIps6', 4 * n),
      child0: m.i32('allowedIps6', n),
      child1: m.i32('allowedIps6', n),
      parent: m.i32('allowedIps6', n),
      peer: m.u16('allowedIps6', n),
      cidr: m.u8('allowedIps6', n),
    };
  }

  constructor(arena: Arena, readonly capacity: number) {
    const a = AllowedIps6.carve(arena, capacity);
    this.key = a.key;
    this.mask = a.mask;
    this.child0 = a.child0;
    this.child1 = a.child1;
    this.parent = a.parent;
    this.peer = a.peer;
    this.cidr = a.cidr;
    this.nodes = nodeCount(capacity);
    this.clear();
  }

  /** Number of prefixes stored. */
  get size(): number {
    return this.count;
  }

  /** Drop every prefix. */
  clear(): void {
    this.root = NIL;
    this.count = 0;
    this.freeHead = NIL;
    for (let i = this.nodes - 1; i >= 0; i--) this.release(i);
  }

  /**
   * Add or re-own the prefix of the 16 bytes at `b[off]` / `prefixLength`
   * (host bits are masked off) for `peer` (0..65534). Returns false when full
   * (nothing changed). Throws RangeError on a bad prefix length, offset or peer.
   */
  insert(b: Uint8Array, off: number, prefixLength: number, peer: number): boolean {
    checkArgs(b, off, prefixLength);
    checkPeer(peer);
    const k = this.loadKey(b, off, prefixLength);
    if (this.root === NIL) {
      if (this.count >= this.capacity) return false;
      this.root = this.newNode(k, prefixLength, peer, NIL);
      this.count++;
      return true;
    }
    let node = this.root;
    for (;;) {
      const nc = this.cidr[node];
      let common = this.commonBits(node);
      if (common > nc) common = nc;
      if (common > prefixLength) common = prefixLength;
      if (common === nc && nc === prefixLength) {
        if (this.peer[node] === NO_PEER) {
          if (this.count >= this.capacity) return false;
          this.count++;
        }
        this.peer[node] = peer;
        return true;
      }
      if (common === nc) {
        const bit = this.keyBit(nc);
        const next = bit === 0 ? this.child0[node] : this.child1[node];
        if (next !== NIL) {
          node = next;
          continue;
        }
        if (this.count >= this.capacity) return false;
        this.setChild(node, bit, this.newNode(k, prefixLength, peer, node));
        this.count++;
        return true;
      }
      if (this.count >= this.capacity) return false;
      const up = this.parent[node];
      if (common === prefixLength) {
        // The new prefix covers `node`: it goes in between.
        const n = this.newNode(k, prefixLength, peer, up);
        this.replaceInParent(node, n);
        this.setChild(n, this.nodeBit(node, prefixLength), node);
        this.count++;
        return true;
      }
      // They part ways below both: a branching node takes both.
      const br = this.newNode(k, common, NO_PEER, up);
      this.replaceInParent(node, br);
      this.setChild(br, this.nodeBit(node, common), node);
      this.setChild(br, this.keyBit(common), this.newNode(k, prefixLength, peer, br));
      this.count++;
      return true;
    }
  }

  /** Remove one prefix; returns whether it existed (and belonged to `peer` if given). */
  remove(b: Uint8Array, off: number, prefixLength: number, peer?: number): boolean {
    checkArgs(b, off, prefixLength);
    this.loadKey(b, off, prefixLength);
    let node = this.root;
    while (node !== NIL) {
      const nc = this.cidr[node];
      if (nc > prefixLength || this.commonBits(node) < nc) return false;
      if (nc === prefixLength) break;
      node = this.keyBit(nc) === 0 ? this.child0[node] : this.child1[node];
    }
    if (node === NIL || this.peer[node] === NO_PEER) return false;
    if (peer !== undefined && this.peer[node] !== peer) return false;
    this.removeNode(node);
    return true;
  }

  /** Remove every prefix of `peer`. */
  removePeer(peer: number): void {
    for (let i = 0; i < this.nodes && this.count > 0; i++) {
      if (this.peer[i] === peer && peer !== NO_PEER) this.removeNode(i);
    }
  }

  /** Peer owning the longest prefix containing the 16 bytes at `b[off]`, or -1. Allocation-free. */
  lookup(b: Uint8Array, off: number): number {
    const a0 = readWord(b, off);
    const a1 = readWord(b, off + 4);
    const a2 = readWord(b, off + 8);
    const a3 = readWord(b, off + 12);
    const key = this.key;
    const mask = this.mask;
    let best = NO_PEER;
    let node = this.root;
    while (node !== NIL) {
      const j = node << 2;
      if (((a0 ^ key[j]) & mask[j]) !== 0 || ((a1 ^ key[j + 1]) & mask[j + 1]) !== 0
        || ((a2 ^ key[j + 2]) & mask[j + 2]) !== 0 || ((a3 ^ key[j + 3]) & mask[j + 3]) !== 0) break;
      const p = this.peer[node];
      if (p !== NO_PEER) best = p;
      const c = this.cidr[node];
      if (c === 128) break;
      const w = c < 32 ? a0 : c < 64 ? a1 : c < 96 ? a2 : a3;
      node = ((w >>> (31 - (c & 31))) & 1) === 0 ? this.child0[node] : this.child1[node];
    }
    return best === NO_PEER ? -1 : best;
  }

  /**
   * Prefixes of a peer in address order (shorter prefix first on equal
   * addresses), each address as 16 fresh bytes; for display/UAPI, allocates.
   */
  list(peer: number): Array<{ address: Uint8Array; prefixLength: number }> {
    const out: Array<{ address: Uint8Array; prefixLength: number }> = [];
    const stack: number[] = [];
    if (this.root !== NIL) stack.push(this.root);
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (this.peer[node] === peer) {
        const a = new Uint8Array(16);
        for (let w = 0; w < 4; w++) {
          const v = this.key[4 * node + w];
          a[4 * w] = v >>> 24;
          a[4 * w + 1] = v >>> 16;
          a[4 * w + 2] = v >>> 8;
          a[4 * w + 3] = v;
        }
        out.push({ address: a, prefixLength: this.cidr[node] });
      }
      if (this.child1[node] !== NIL) stack.push(this.child1[node]);
      if (this.child0[node] !== NIL) stack.push(this.child0[node]);
    }
    return out;
  }

  /** Load the masked key of `b[off..off+16)` / `len` into the scratch key. */
  private loadKey(b: Uint8Array, off: number, len: number): Int32Array {
    const k = this.k;
    for (let w = 0; w < 4; w++) k[w] = readWord(b, off + 4 * w) & wordMask(len, w);
    return k;
  }

  /** Leading bits (0..128) the scratch key shares with `node`'s key. */
  private commonBits(node: number): number {
    for (let w = 0; w < 4; w++) {
      const d = this.k[w] ^ this.key[4 * node + w];
      if (d !== 0) return 32 * w + Math.clz32(d);
    }
    return 128;
  }

  /** Bit `i` (0 = most significant) of the scratch key. */
  private keyBit(i: number): number {
    return (this.k[i >> 5] >>> (31 - (i & 31))) & 1;
  }

  private nodeBit(node: number, i: number): number {
    return (this.key[4 * node + (i >> 5)] >>> (31 - (i & 31))) & 1;
  }

  private newNode(k: Int32Array, cidr: number, peer: number, parent: number): number {
    const n = this.freeHead;
    if (n === NIL) throw new Error('AllowedIps6: node pool exhausted (trie invariant broken)');
    this.freeHead = this.parent[n];
    for (let w = 0; w < 4; w++) {
      const m = wordMask(cidr, w);
      this.key[4 * n + w] = k[w] & m;
      this.mask[4 * n + w] = m;
    }
    this.cidr[n] = cidr;
    this.peer[n] = peer;
    this.child0[n] = NIL;
    this.child1[n] = NIL;
    this.parent[n] = parent;
    return n;
  }

  private release(n: number): void {
    this.peer[n] = NO_PEER;
    this.child0[n] = NIL;
    this.child1[n] = NIL;
    this.parent[n] = this.freeHead;
    this.freeHead = n;
  }

  private setChild(node: number, bit: number, child: number): void {
    if (bit === 0) this.child0[node] = child;
    else this.child1[node] = child;
    if (child !== NIL) this.parent[child] = node;
  }

  private replaceInParent(node: number, next: number): void {
    const up = this.parent[node];
    if (up === NIL) this.root = next;
    else if (this.child0[up] === node) this.child0[up] = next;
    else this.child1[up] = next;
    if (next !== NIL) this.parent[next] = up;
  }

  private removeNode(node: number): void {
    this.count--;
    const c0 = this.child0[node];
    const c1 = this.child1[node];
    if (c0 !== NIL && c1 !== NIL) {
      this.peer[node] = NO_PEER;
      return;
    }
    const up = this.parent[node];
    const only = c0 !== NIL ? c0 : c1;
    this.replaceInParent(node, only);
    this.release(node);
    if (only !== NIL || up === NIL || this.peer[up] !== NO_PEER) return;
    const rest = this.child0[up] !== NIL ? this.child0[up] : this.child1[up];
    this.replaceInParent(up, rest);
    this.release(up);
  }
}
