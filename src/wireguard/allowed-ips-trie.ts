/**
 * The trie under WireGuard's allowed IPs ({@link AllowedIps} for IPv4,
 * {@link AllowedIps6} for IPv6), generic in the key width: a key is `words`
 * big-endian int32 words per node (1 for 32-bit keys, 4 for 128-bit keys).
 *
 * It is a path-compressed binary trie like Linux's allowedips.c (one per
 * family, as Linux keeps one root per family): a node stands either for a
 * stored prefix or for a branching point whose two subtrees differ at bit
 * `cidr`. A branching node without a prefix always has exactly two children
 * (removal splices out any that would be left with one), so a trie holding P
 * prefixes has at most P - 1 of them: 2P - 1 nodes bound the whole trie, and
 * that is what the memory plan reserves. Freed nodes go on a free list, so
 * insert/remove churn never runs out of nodes.
 *
 * This class holds the structure and the control plane (insert, remove,
 * removePeer, the walk for list); the subclasses take their family's address
 * form and keep their own `lookup`, specialised to their key width, because
 * that is the per-packet path.
 */
import type { Arena, Carver } from '../storage/arena.js';

/** `peer` value of a node that only branches (no prefix stored there). */
export const NO_PEER = 0xffff;
/** Child/parent index meaning "none". */
export const NIL = -1;
/** Highest peer index the 16-bit peer field can hold next to {@link NO_PEER}. */
const MAX_PEER = 0xfffe;

/** Mask of word `w` of a /cidr prefix. */
export function wordMask(cidr: number, w: number): number {
  const bits = cidr - 32 * w;
  if (bits >= 32) return -1;
  if (bits <= 0) return 0;
  return -1 << (32 - bits);
}

function nodeCount(maxPrefixes: number): number {
  return maxPrefixes > 0 ? 2 * maxPrefixes - 1 : 0;
}

function checkPeer(peer: number): void {
  if (!Number.isInteger(peer) || peer < 0 || peer > MAX_PEER) {
    throw new RangeError(`peer index must be an integer 0..${MAX_PEER}, got ${peer}`);
  }
}

interface TrieArrays {
  key: Int32Array; mask: Int32Array; child0: Int32Array; child1: Int32Array; parent: Int32Array;
  peer: Uint16Array; cidr: Uint8Array;
}

export abstract class AllowedIpsTrie {
  /** `words` words per node: prefix bits, host bits zero. */
  protected readonly key: Int32Array;
  /** `words` words per node: the netmask of the node's `cidr`, so lookup does no shifting per node. */
  protected readonly mask: Int32Array;
  protected readonly child0: Int32Array;
  protected readonly child1: Int32Array;
  /** Parent node, or {@link NIL} for the root; on free nodes, the next free node. */
  private readonly parent: Int32Array;
  protected readonly peer: Uint16Array;
  protected readonly cidr: Uint8Array;
  private readonly nodes: number;
  /** The key being inserted/removed (control-plane scratch, made once): the subclass fills it. */
  protected readonly k: Int32Array;
  protected root = NIL;
  private freeHead = NIL;
  private count = 0;

  /** Carve (or plan) the arrays of a trie of `words`-word keys for up to `maxPrefixes` prefixes, as `part`. */
  protected static carveTrie(m: Carver, maxPrefixes: number, words: number, part: string): TrieArrays {
    if (!Number.isInteger(maxPrefixes) || maxPrefixes < 0) {
      throw new RangeError(`maxPrefixes must be a non-negative integer, got ${maxPrefixes}`);
    }
    const n = nodeCount(maxPrefixes);
    return {
      key: m.i32(part, words * n),
      mask: m.i32(part, words * n),
      child0: m.i32(part, n),
      child1: m.i32(part, n),
      parent: m.i32(part, n),
      peer: m.u16(part, n),
      cidr: m.u8(part, n),
    };
  }

  /**
   * @param words key width in 32-bit words (1 or 4)
   * @param part the memory plan's name for these arrays
   * @param name the class name, for the invariant error
   */
  protected constructor(arena: Arena, readonly capacity: number, private readonly words: number, part: string,
    private readonly name: string) {
    const a = AllowedIpsTrie.carveTrie(arena, capacity, words, part);
    this.key = a.key;
    this.mask = a.mask;
    this.child0 = a.child0;
    this.child1 = a.child1;
    this.parent = a.parent;
    this.peer = a.peer;
    this.cidr = a.cidr;
    this.nodes = nodeCount(capacity);
    this.k = new Int32Array(words);
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

  /** Remove every prefix of `peer` (as `wg set ... replace-allowed-ips` / peer removal need). */
  removePeer(peer: number): void {
    // Removing a node only ever frees it and/or a branching node (no peer), so
    // one pass over the pool sees every node of this peer exactly once.
    for (let i = 0; i < this.nodes && this.count > 0; i++) {
      if (this.peer[i] === peer && peer !== NO_PEER) this.removeNode(i);
    }
  }

  /**
   * Add or re-own the prefix in the scratch key {@link k} / `prefixLength`
   * (host bits are masked off here) for `peer`. Returns false when full
   * (nothing changed). The subclass has checked the prefix length.
   */
  protected insertKey(prefixLength: number, peer: number): boolean {
    checkPeer(peer);
    const k = this.k;
    for (let w = 0; w < this.words; w++) k[w] &= wordMask(prefixLength, w);
    if (this.root === NIL) {
      if (this.count >= this.capacity) return false;
      this.root = this.newNode(prefixLength, peer, NIL);
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
        const bit = this.keyBit(nc);
        const next = bit === 0 ? this.child0[node] : this.child1[node];
        if (next !== NIL) {
          node = next;
          continue;
        }
        if (this.count >= this.capacity) return false;
        this.setChild(node, bit, this.newNode(prefixLength, peer, node));
        this.count++;
        return true;
      }
      // Past here the prefix is new and needs one or two nodes.
      if (this.count >= this.capacity) return false;
      const up = this.parent[node];
      if (common === prefixLength) {
        // The new prefix covers `node`: it goes in between.
        const n = this.newNode(prefixLength, peer, up);
        this.replaceInParent(node, n);
        this.setChild(n, this.nodeBit(node, prefixLength), node);
        this.count++;
        return true;
      }
      // They part ways below both: a branching node takes both.
      const br = this.newNode(common, NO_PEER, up);
      this.replaceInParent(node, br);
      this.setChild(br, this.nodeBit(node, common), node);
      this.setChild(br, this.keyBit(common), this.newNode(prefixLength, peer, br));
      this.count++;
      return true;
    }
  }

  /**
   * Remove the prefix in the scratch key / `prefixLength` (host bits ignored);
   * returns whether it existed (and belonged to `peer` if given).
   */
  protected removeKey(prefixLength: number, peer?: number): boolean {
    const k = this.k;
    for (let w = 0; w < this.words; w++) k[w] &= wordMask(prefixLength, w);
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

  /**
   * The nodes holding prefixes of `peer` in address order (shorter prefix
   * first on equal addresses): a pre-order walk, 0-side first. Allocates (for
   * display/UAPI).
   */
  protected listNodes(peer: number): number[] {
    const out: number[] = [];
    const stack: number[] = [];
    if (this.root !== NIL) stack.push(this.root);
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (this.peer[node] === peer) out.push(node);
      if (this.child1[node] !== NIL) stack.push(this.child1[node]);
      if (this.child0[node] !== NIL) stack.push(this.child0[node]);
    }
    return out;
  }

  /** Leading bits (0..32 * words) the scratch key shares with `node`'s key. */
  private commonBits(node: number): number {
    const words = this.words;
    for (let w = 0; w < words; w++) {
      const d = this.k[w] ^ this.key[words * node + w];
      if (d !== 0) return 32 * w + Math.clz32(d);
    }
    return 32 * words;
  }

  /** Bit `i` (0 = most significant) of the scratch key. */
  private keyBit(i: number): number {
    return (this.k[i >> 5] >>> (31 - (i & 31))) & 1;
  }

  /** Bit `i` of `node`'s key. */
  private nodeBit(node: number, i: number): number {
    return (this.key[this.words * node + (i >> 5)] >>> (31 - (i & 31))) & 1;
  }

  /** A node for the scratch key masked to `cidr`. */
  private newNode(cidr: number, peer: number, parent: number): number {
    const n = this.freeHead;
    if (n === NIL) {
      // Unreachable while the 2P - 1 bound holds; a bug, not a full table.
      throw new Error(`${this.name}: node pool exhausted (trie invariant broken)`);
    }
    this.freeHead = this.parent[n];
    const words = this.words;
    for (let w = 0; w < words; w++) {
      const m = wordMask(cidr, w);
      this.key[words * n + w] = this.k[w] & m;
      this.mask[words * n + w] = m;
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
