/**
 * AllowedIps (IPv4) and AllowedIps6 (IPv6) against one naive model, as
 * Linux's allowedips selftest does with its "horrible" table: random
 * prefixes, removals, peer removal, churn at capacity. The hand cases are in
 * allowed-ips.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/storage/prng.js';
import { seedFromEnv } from '../helpers/frames.js';
import { make, make6 } from './allowed-ips-tables.js';

const SEED = seedFromEnv('WG_SEED', 0xa11d1);
const SEED6 = seedFromEnv('WG_SEED', 0xa11d6);

/**
 * Addresses in the model are `words` big-endian int32 words (1 for IPv4, 4
 * for IPv6); each family's adapter hands them to its table in that table's
 * own forms (IPv4: signed and unsigned numbers; IPv6: 16 bytes at varying
 * offsets of a bigger buffer, as the device reads inner headers in place).
 */
type Words = Int32Array;

function wordMask(len: number, w: number): number {
  const bits = len - 32 * w;
  return bits >= 32 ? -1 : bits <= 0 ? 0 : -1 << (32 - bits);
}

function maskedWords(a: Words, len: number): Words {
  return a.map((v, w) => v & wordMask(len, w));
}

function sameWords(a: Words, b: Words): boolean {
  for (let w = 0; w < a.length; w++) if (a[w] !== b[w]) return false;
  return true;
}

function hex(a: Words): string {
  return Array.from(a, (v) => (v >>> 0).toString(16).padStart(8, '0')).join('');
}

/** The naive model: a flat list scanned in full for the longest prefix containing the address. */
class NaiveTable {
  keys: Words[] = [];
  lens: number[] = [];
  peers: number[] = [];

  find(a: Words, len: number): number {
    const k = maskedWords(a, len);
    for (let i = 0; i < this.keys.length; i++) if (this.lens[i] === len && sameWords(this.keys[i], k)) return i;
    return -1;
  }

  /** Mirrors insert(): false when the prefix is new and the table holds `capacity`. */
  insert(a: Words, len: number, peer: number, capacity: number): boolean {
    const i = this.find(a, len);
    if (i >= 0) {
      this.peers[i] = peer;
      return true;
    }
    if (this.keys.length >= capacity) return false;
    this.keys.push(maskedWords(a, len));
    this.lens.push(len);
    this.peers.push(peer);
    return true;
  }

  removeAt(i: number): void {
    const last = this.keys.length - 1;
    this.keys[i] = this.keys[last];
    this.lens[i] = this.lens[last];
    this.peers[i] = this.peers[last];
    this.keys.pop();
    this.lens.pop();
    this.peers.pop();
  }

  remove(a: Words, len: number, peer?: number): boolean {
    const i = this.find(a, len);
    if (i < 0 || (peer !== undefined && this.peers[i] !== peer)) return false;
    this.removeAt(i);
    return true;
  }

  removePeer(peer: number): void {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.peers[i] === peer) this.removeAt(i);
  }

  lookup(a: Words): number {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.keys.length; i++) {
      const len = this.lens[i];
      if (len <= bestLen) continue;
      const k = this.keys[i];
      let match = true;
      for (let w = 0; w < k.length && match; w++) match = (a[w] & wordMask(len, w)) === k[w];
      if (match) {
        best = this.peers[i];
        bestLen = len;
      }
    }
    return best;
  }

  /** Prefixes of `peer` as "hex/len", in address order, shorter prefix first. */
  list(peer: number): string[] {
    const out: Array<{ k: Words; len: number }> = [];
    for (let i = 0; i < this.keys.length; i++) if (this.peers[i] === peer) out.push({ k: this.keys[i], len: this.lens[i] });
    const cmp = (x: Words, y: Words): number => {
      for (let w = 0; w < x.length; w++) if (x[w] !== y[w]) return (x[w] >>> 0) - (y[w] >>> 0);
      return 0;
    };
    return out.sort((x, y) => cmp(x.k, y.k) || x.len - y.len).map((e) => `${hex(e.k)}/${e.len}`);
  }
}

/** A family's table behind one interface; `form` (0..7) picks the address form the table is given. */
interface Table {
  readonly size: number;
  insert(a: Words, len: number, peer: number, form: number): boolean;
  remove(a: Words, len: number, peer: number | undefined, form: number): boolean;
  removePeer(peer: number): void;
  lookup(a: Words, form: number): number;
  /** As NaiveTable.list. */
  list(peer: number): string[];
  clear(): void;
}

interface Family {
  name: string;
  words: number;
  make(capacity: number): Table;
  randomLen(rng: Prng): number;
  /** The Linux-selftest-style random run: sizes. */
  random: { capacity: number; bases: number; perBase: number; peers: number; lookups: number; removals: number; lookupsAfterRemovals: number; lookupsEveryPeers: number; lookupsPerPeer: number };
  /** The churn run: sizes and the shortest prefix. */
  churn: { capacity: number; steps: number; minLen: number; lookups: number };
}

function ipv4Table(capacity: number): Table {
  const { t } = make(capacity);
  return {
    get size() { return t.size; },
    // Both signed and unsigned forms of the address.
    insert: (a, len, peer, form) => t.insert((form & 4) !== 0 ? a[0] : a[0] >>> 0, len, peer),
    remove: (a, len, peer, form) => t.remove((form & 4) !== 0 ? a[0] : a[0] >>> 0, len, peer),
    removePeer: (peer) => t.removePeer(peer),
    lookup: (a, form) => t.lookup((form & 4) !== 0 ? a[0] : a[0] >>> 0),
    list: (peer) => t.list(peer).map((e) => `${hex(Int32Array.of(e.address))}/${e.prefixLength}`),
    clear: () => t.clear(),
  };
}

function ipv6Table(capacity: number): Table {
  const { t } = make6(capacity);
  // Addresses at an offset inside a bigger buffer, as the device reads inner headers in place.
  const probe = new Uint8Array(40);
  const put = (a: Words, form: number): number => {
    const off = 24 - form;
    for (let w = 0; w < 4; w++) {
      probe[off + 4 * w] = a[w] >>> 24;
      probe[off + 4 * w + 1] = a[w] >>> 16;
      probe[off + 4 * w + 2] = a[w] >>> 8;
      probe[off + 4 * w + 3] = a[w];
    }
    return off;
  };
  const words = (b: Uint8Array): Words => {
    const out = new Int32Array(4);
    for (let w = 0; w < 4; w++) out[w] = (b[4 * w] << 24) | (b[4 * w + 1] << 16) | (b[4 * w + 2] << 8) | b[4 * w + 3];
    return out;
  };
  return {
    get size() { return t.size; },
    insert: (a, len, peer, form) => t.insert(probe, put(a, form), len, peer),
    remove: (a, len, peer, form) => t.remove(probe, put(a, form), len, peer),
    removePeer: (peer) => t.removePeer(peer),
    lookup: (a, form) => t.lookup(probe, put(a, form)),
    list: (peer) => t.list(peer).map((e) => `${hex(words(e.address))}/${e.prefixLength}`),
    clear: () => t.clear(),
  };
}

const FAMILIES: Family[] = [
  {
    name: 'AllowedIps',
    words: 1,
    make: ipv4Table,
    randomLen: (rng) => {
      const r = rng.int(40);
      if (r === 0) return 0;
      if (r < 5) return 32;
      return rng.int(33);
    },
    random: { capacity: 2500, bases: 80, perBase: 50, peers: 300, lookups: 100_000, removals: 1000, lookupsAfterRemovals: 30_000, lookupsEveryPeers: 30, lookupsPerPeer: 3_000 },
    churn: { capacity: 64, steps: 40_000, minLen: 16, lookups: 500 },
  },
  {
    name: 'AllowedIps6',
    words: 4,
    make: ipv6Table,
    randomLen: (rng) => {
      const r = rng.int(40);
      if (r === 0) return 0;
      if (r < 5) return 128;
      if (r < 12) return [32, 48, 56, 64, 96][rng.int(5)];
      return rng.int(129);
    },
    random: { capacity: 1200, bases: 40, perBase: 40, peers: 200, lookups: 20_000, removals: 600, lookupsAfterRemovals: 10_000, lookupsEveryPeers: 40, lookupsPerPeer: 2_000 },
    churn: { capacity: 48, steps: 15_000, minLen: 48, lookups: 300 },
  },
];

function randomWords(rng: Prng, words: number): Words {
  const a = new Int32Array(words);
  for (let w = 0; w < words; w++) a[w] = rng.nextU32();
  return a;
}

/** An address sharing a random-length prefix with `base`, rest random (Linux's "mutated" routes). */
function mutate(rng: Prng, base: Words): Words {
  const keep = rng.int(32 * base.length + 1);
  const out = new Int32Array(base.length);
  for (let w = 0; w < base.length; w++) {
    const m = wordMask(keep, w);
    out[w] = (base[w] & m) | (rng.nextU32() & ~m);
  }
  return out;
}

function checkLookups(t: Table, h: NaiveTable, f: Family, rng: Prng, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    // Half uniformly random, half near stored prefixes (uniform addresses rarely reach long prefixes).
    const a = i % 2 === 0 || h.keys.length === 0 ? randomWords(rng, f.words) : mutate(rng, h.keys[rng.int(h.keys.length)]);
    const want = h.lookup(a);
    const got = t.lookup(a, i & 7);
    if (got !== want) assert.fail(`${what}: lookup(${hex(a)}) = ${got}, model says ${want} (seed ${SEED})`);
  }
}

for (const f of FAMILIES) {
  test(`${f.name}: random prefixes against the naive list (Linux selftest style)`, () => {
    const rng = new Prng(f.words === 1 ? SEED : SEED6);
    const { capacity, peers } = f.random;
    const t = f.make(capacity);
    const h = new NaiveTable();
    // Base routes, each with mutated neighbours sharing a random-length prefix: dense overlaps.
    for (let i = 0; i < f.random.bases; i++) {
      const base = randomWords(rng, f.words);
      const p0 = rng.int(peers);
      const l0 = f.randomLen(rng);
      assert.equal(t.insert(base, l0, p0, 0), h.insert(base, l0, p0, capacity));
      for (let j = 0; j < f.random.perBase; j++) {
        const a = mutate(rng, base);
        const len = f.randomLen(rng);
        const p = rng.int(peers);
        const want = h.insert(a, len, p, capacity);
        assert.equal(t.insert(a, len, p, rng.int(8)), want, `insert ${hex(a)}/${len}`);
      }
    }
    assert.equal(t.size, h.keys.length);
    assert.equal(t.size, capacity, 'filled to capacity, some inserts refused');
    // Re-own existing prefixes for other peers.
    for (let i = 0; i < 500; i++) {
      const k = rng.int(h.keys.length);
      const p = rng.int(peers);
      assert.ok(t.insert(h.keys[k], h.lens[k], p, i & 7));
      h.insert(h.keys[k], h.lens[k], p, capacity);
    }
    checkLookups(t, h, f, rng, f.random.lookups, 'after inserts');

    for (let p = 0; p < 10; p++) assert.deepEqual(t.list(p), h.list(p), `list(${p})`);

    // Single removals: right owner, wrong owner, absent prefixes.
    for (let i = 0; i < f.random.removals; i++) {
      let a: Words;
      let len: number;
      let owner: number | undefined;
      if (rng.int(4) !== 0 && h.keys.length > 0) {
        const k = rng.int(h.keys.length);
        // The stored prefix with random host bits.
        len = h.lens[k];
        const r = randomWords(rng, f.words);
        a = h.keys[k].map((v, w) => v | (r[w] & ~wordMask(len, w)));
        owner = rng.int(3) === 0 ? rng.int(peers) : rng.int(2) === 0 ? h.peers[k] : undefined;
      } else {
        a = randomWords(rng, f.words);
        len = f.randomLen(rng);
        owner = undefined;
      }
      assert.equal(t.remove(a, len, owner, i & 7), h.remove(a, len, owner), `remove ${hex(a)}/${len} owner ${owner}`);
    }
    assert.equal(t.size, h.keys.length);
    checkLookups(t, h, f, rng, f.random.lookupsAfterRemovals, 'after removals');

    // Refill what removals freed, then drop peers one by one (as Linux's randomized test does).
    for (let i = 0; i < 2000; i++) {
      const a = mutate(rng, h.keys[rng.int(h.keys.length)]);
      const len = f.randomLen(rng);
      const p = rng.int(peers);
      assert.equal(t.insert(a, len, p, i & 7), h.insert(a, len, p, capacity));
    }
    assert.equal(t.size, capacity);
    for (let p = 0; p < peers; p++) {
      t.removePeer(p);
      h.removePeer(p);
      assert.equal(t.size, h.keys.length, `size after removePeer(${p})`);
      assert.deepEqual(t.list(p), []);
      if (p % f.random.lookupsEveryPeers === 0) checkLookups(t, h, f, rng, f.random.lookupsPerPeer, `after removePeer(${p})`);
    }
    assert.equal(t.size, 0);
    assert.equal(t.lookup(randomWords(rng, f.words), 0), -1);
    // Every node came back: the table fills to capacity again with disjoint full-length prefixes.
    const full = 32 * f.words;
    const fresh = (i: number): Words => (f.words === 1 ? Int32Array.of(i * 7919) : Int32Array.of(0xfd000000 | 0, 0, 0, i));
    for (let i = 0; i < capacity; i++) assert.ok(t.insert(fresh(i), full, i % peers, i & 7));
    assert.equal(t.insert(f.words === 1 ? Int32Array.of(0xfffffff0 | 0) : Int32Array.of(0xfe800000 | 0, 0, 0, 1), full, 1, 0), false);
  });

  test(`${f.name}: insert/remove churn at capacity never exhausts the node pool`, () => {
    const rng = new Prng((f.words === 1 ? SEED : SEED6) ^ 0x5eed);
    const { capacity, steps, minLen } = f.churn;
    const t = f.make(capacity);
    const h = new NaiveTable();
    const base = randomWords(rng, f.words);
    const span = 32 * f.words - minLen + 1;
    for (let step = 0; step < steps; step++) {
      const r = rng.int(10);
      if (r < 6) {
        const a = mutate(rng, base);
        const len = minLen + rng.int(span);
        const p = rng.int(8);
        assert.equal(t.insert(a, len, p, step & 7), h.insert(a, len, p, capacity), `step ${step}`);
      } else if (r < 9 && h.keys.length > 0) {
        const k = rng.int(h.keys.length);
        assert.ok(t.remove(h.keys[k], h.lens[k], undefined, step & 7));
        h.removeAt(k);
      } else if (r === 9 && rng.int(50) === 0) {
        const p = rng.int(8);
        t.removePeer(p);
        h.removePeer(p);
      }
      assert.equal(t.size, h.keys.length);
      if (step % 500 === 0) checkLookups(t, h, f, rng, f.churn.lookups, `churn step ${step}`);
    }
    t.clear();
    assert.equal(t.size, 0);
    const last = f.words - 1;
    for (let i = 0; i < capacity; i++) {
      const a = base.slice();
      a[last] = (base[last] + i) | 0;
      assert.ok(t.insert(a, 32 * f.words, 1, i & 7), `refill ${i}`);
    }
    const over = base.slice();
    over[last] = (base[last] + capacity) | 0;
    assert.equal(t.insert(over, 32 * f.words, 1, 0), false);
  });
}
