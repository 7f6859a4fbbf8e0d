/**
 * WireGuard's allowed IPs: IPv4 prefixes mapped to peers, searched by longest
 * prefix match. Incoming packets are dropped unless their source lies in the
 * sending peer's prefixes, and outgoing packets pick their peer by destination,
 * so both directions do one {@link AllowedIps.lookup} per packet.
 *
 * The structure is a path-compressed binary trie like Linux's allowedips.c: a
 * node stands either for a stored prefix or for a branching point whose two
 * subtrees differ at bit `cidr`. A branching node without a prefix always has
 * exactly two children (removal splices out any that would be left with one),
 * so a trie holding P prefixes has at most P - 1 of them: 2P - 1 nodes bound
 * the whole trie, and that is what the memory plan reserves. Freed nodes go on
 * a free list, so insert/remove churn never runs out of nodes.
 */
import type { Arena, Carver, MemoryPlan } from '../storage/arena.js';

/** `peer` value of a node that only branches (no prefix stored there). */
const NO_PEER = 0xffff;
/** Child/parent index meaning "none". */
const NIL = -1;
/** Highest peer index the 16-bit peer field can hold next to {@link NO_PEER}. */
const MAX_PEER = 0xfffe;

function maskOf(cidr: number): number {
  return cidr === 0 ? 0 : (-1 << (32 - cidr));
}

/** Bit `i` (0 = most significant) of a 32-bit address. */
function bitAt(address: number, i: number): number {
  return (address >>> (31 - i)) & 1;
}

function nodeCount(maxPrefixes: number): number {
  return maxPrefixes > 0 ? 2 * maxPrefixes - 1 : 0;
}

function checkPrefixLength(prefixLength: number): void {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new RangeError(`prefix length must be an integer 0..32, got ${prefixLength}`);
  }
}

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < -0x80000000 || address > 0xffffffff) {
    throw new RangeError(`IPv4 address must be a 32-bit integer (signed or unsigned), got ${address}`);
  }
}

function checkPeer(peer: number): void {
  if (!Number.isInteger(peer) || peer < 0 || peer > MAX_PEER) {
    throw new RangeError(`peer index must be an integer 0..${MAX_PEER}, got ${peer}`);
  }
}

export class AllowedIps {
  /** Prefix bits of each node, host bits zero (signed int32). */
  private readonly key: Int32Array;
  /** Netmask of each node's `cidr`, kept so lookup does no shifting per node. */
  private readonly mask: Int32Array;
  private readonly child0: Int32Array;
  private readonly child1: Int32Array;
  /** Parent node, or {@link NIL} for the root; on free nodes, the next free node. */
  private readonly parent: Int32Array;
  private readonly peer: Uint16Array;
  private readonly cidr: Uint8Array;
  private readonly nodes: number;
  private root = NIL;
  private freeHead = NIL;
  private count = 0;

  /** Reserve memory for up to `maxPrefixes` prefixes. */
  static plan(plan: MemoryPlan, maxPrefixes: number): void {
    AllowedIps.carve(plan, maxPrefixes);
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
      key: m.i32('allowedIps', n),
      mask: m.i32('allowedIps', n),
      child0: m.i32('allowedIps', n),
      child1: m.i32('allowedIps', n),
      parent: m.i32('allowedIps', n),
      peer: m.u16('allowedIps', n),
      cidr: m.u8('allowedIps', n),
    };
  }

  constructor(arena: Arena, readonly capacity: number) {
    const a = AllowedIps.carve(arena, capacity);
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
   * Add or re-own `address/prefixLength` (host bits are masked off) for `peer`
   * (0..65534). Returns false when full (nothing changed). Throws RangeError on
   * prefixLength outside 0..32, or on a bad address or peer.
   */
  insert(address: number, prefixLength: number, peer: number): boolean {
    checkAddress(address);
    checkPrefixLength(prefixLength);
    checkPeer(peer);
    const m = maskOf(prefixLength);
    const k = address & m;
    if (this.root === NIL) {
      if (this.count >= this.capacity) return false;
      this.root = this.newNode(k, prefixLength, peer, NIL);
      this.count++;
      return true;
    }
    let node = this.root;
    for (;;) {
      const nc = this.cidr[node];
      const diff = k ^ this.key[node];
      let common = diff === 0 ? 32 : Math.clz32(diff);
      if (common > nc) common = nc;
      if (common > prefixLength) common = prefixLength;
      if (common === nc && nc === prefixLength) {
        // The prefix has a node already (stored, or a bare branching point).
        if (this.peer[node] === NO_PEER) {
          if (this.count >= this.capacity) return false;
          this.count++;
        }
        this.peer[node] = peer;
        return true;
      }
      if (common === nc) {
        // `node` covers the new prefix: descend, or hang the new prefix here.
        const next = bitAt(k, nc) === 0 ? this.child0[node] : this.child1[node];
        if (next !== NIL) {
          node = next;
          continue;
        }
        if (this.count >= this.capacity) return false;
        this.setChild(node, bitAt(k, nc), this.newNode(k, prefixLength, peer, node));
        this.count++;
        return true;
      }
      // Past here the prefix is new and needs one or two nodes.
      if (this.count >= this.capacity) return false;
      const up = this.parent[node];
      if (common === prefixLength) {
        // The new prefix covers `node`: it goes in between.
        const n = this.newNode(k, prefixLength, peer, up);
        this.replaceInParent(node, n);
        this.setChild(n, bitAt(this.key[node], prefixLength), node);
        this.count++;
        return true;
      }
      // They part ways below both: a branching node takes both.
      const b = this.newNode(k & maskOf(common), common, NO_PEER, up);
      this.replaceInParent(node, b);
      this.setChild(b, bitAt(this.key[node], common), node);
      this.setChild(b, bitAt(k, common), this.newNode(k, prefixLength, peer, b));
      this.count++;
      return true;
    }
  }

  /** Remove one prefix; returns whether it existed (and belonged to `peer` if given). */
  remove(address: number, prefixLength: number, peer?: number): boolean {
    checkAddress(address);
    checkPrefixLength(prefixLength);
    const k = address & maskOf(prefixLength);
    let node = this.root;
    while (node !== NIL) {
      const nc = this.cidr[node];
      if (nc > prefixLength || ((k ^ this.key[node]) & this.mask[node]) !== 0) return false;
      if (nc === prefixLength) break;
      node = bitAt(k, nc) === 0 ? this.child0[node] : this.child1[node];
    }
    if (node === NIL || this.peer[node] === NO_PEER) return false;
    if (peer !== undefined && this.peer[node] !== peer) return false;
    this.removeNode(node);
    return true;
  }

  /** Remove every prefix of `peer` (as `wg set ... replace-allowed-ips` / peer removal need). */
  removePeer(peer: number): void {
    // Removing a node only ever frees it and/or a branching node (no peer), so
    // one pass over the pool sees every node of this peer exactly once.
    for (let i = 0; i < this.nodes && this.count > 0; i++) {
      if (this.peer[i] === peer && peer !== NO_PEER) this.removeNode(i);
    }
  }

  /** Peer owning the longest prefix containing `address`, or -1. Allocation-free. */
  lookup(address: number): number {
    const a = address | 0;
    let best = NO_PEER;
    let node = this.root;
    while (node !== NIL) {
      if (((a ^ this.key[node]) & this.mask[node]) !== 0) break;
      const p = this.peer[node];
      if (p !== NO_PEER) best = p;
      const c = this.cidr[node];
      if (c === 32) break;
      node = ((a >>> (31 - c)) & 1) === 0 ? this.child0[node] : this.child1[node];
    }
    return best === NO_PEER ? -1 : best;
  }

  /**
   * Prefixes of a peer in address order (shorter prefix first on equal
   * addresses), addresses unsigned; for display/UAPI, allocates.
   */
  list(peer: number): Array<{ address: number; prefixLength: number }> {
    const out: Array<{ address: number; prefixLength: number }> = [];
    const stack: number[] = [];
    if (this.root !== NIL) stack.push(this.root);
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (this.peer[node] === peer) out.push({ address: this.key[node] >>> 0, prefixLength: this.cidr[node] });
      // Pre-order, 0-side first: a trie walk yields prefixes in sorted order.
      if (this.child1[node] !== NIL) stack.push(this.child1[node]);
      if (this.child0[node] !== NIL) stack.push(this.child0[node]);
    }
    return out;
  }

  private newNode(key: number, cidr: number, peer: number, parent: number): number {
    const n = this.freeHead;
    if (n === NIL) {
      // Unreachable while the 2P - 1 bound holds; a bug, not a full table.
      throw new Error('AllowedIps: node pool exhausted (trie invariant broken)');
    }
    this.freeHead = this.parent[n];
    this.key[n] = key;
    this.mask[n] = maskOf(cidr);
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

  /** Put `next` (or NIL) where `node` hangs: under its parent, or at the root. */
  private replaceInParent(node: number, next: number): void {
    const up = this.parent[node];
    if (up === NIL) this.root = next;
    else if (this.child0[up] === node) this.child0[up] = next;
    else this.child1[up] = next;
    if (next !== NIL) this.parent[next] = up;
  }

  /** Drop the prefix stored at `node`, then restore "branching nodes have two children". */
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
    // `up` is a branching node left with one child: splice it out as well.
    const rest = this.child0[up] !== NIL ? this.child0[up] : this.child1[up];
    this.replaceInParent(up, rest);
    this.release(up);
  }
}
