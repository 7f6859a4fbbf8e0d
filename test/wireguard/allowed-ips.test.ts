import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan, align8 } from '../../src/storage/arena.js';
import { AllowedIps } from '../../src/wireguard/allowed-ips.js';
import { Prng } from '../../src/engine/prng.js';
import { seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('WG_SEED', 0xa11d1);

function make(maxPrefixes: number): { t: AllowedIps; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}

/** Unsigned form of a.b.c.d. */
function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (-1 << (32 - len));
}

/**
 * The "horrible" model of Linux's selftest: a flat list scanned in full for
 * the longest prefix containing the address.
 */
class NaiveTable {
  keys: number[] = [];
  lens: number[] = [];
  peers: number[] = [];

  find(address: number, len: number): number {
    const k = address & maskOf(len);
    for (let i = 0; i < this.keys.length; i++) if (this.lens[i] === len && this.keys[i] === k) return i;
    return -1;
  }

  /** Mirrors insert(): false when the prefix is new and the table holds `capacity`. */
  insert(address: number, len: number, peer: number, capacity: number): boolean {
    const i = this.find(address, len);
    if (i >= 0) {
      this.peers[i] = peer;
      return true;
    }
    if (this.keys.length >= capacity) return false;
    this.keys.push(address & maskOf(len));
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

  remove(address: number, len: number, peer?: number): boolean {
    const i = this.find(address, len);
    if (i < 0 || (peer !== undefined && this.peers[i] !== peer)) return false;
    this.removeAt(i);
    return true;
  }

  removePeer(peer: number): void {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.peers[i] === peer) this.removeAt(i);
  }

  lookup(address: number): number {
    const a = address | 0;
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.keys.length; i++) {
      const len = this.lens[i];
      if (len > bestLen && (a & maskOf(len)) === this.keys[i]) {
        best = this.peers[i];
        bestLen = len;
      }
    }
    return best;
  }

  list(peer: number): Array<{ address: number; prefixLength: number }> {
    const out = [];
    for (let i = 0; i < this.keys.length; i++) {
      if (this.peers[i] === peer) out.push({ address: this.keys[i] >>> 0, prefixLength: this.lens[i] });
    }
    return out.sort((x, y) => x.address - y.address || x.prefixLength - y.prefixLength);
  }
}

/** An address sharing a random-length prefix with `base`, rest random (Linux's "mutated" routes). */
function mutate(rng: Prng, base: number): number {
  const keep = rng.int(33);
  const m = maskOf(keep);
  return ((base & m) | (rng.nextU32() & ~m)) >>> 0;
}

function randomLen(rng: Prng): number {
  const r = rng.int(40);
  if (r === 0) return 0;
  if (r < 5) return 32;
  return rng.int(33);
}

function checkLookups(t: AllowedIps, h: NaiveTable, rng: Prng, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    // Half uniformly random, half near stored prefixes (uniform addresses rarely reach long prefixes).
    let a: number;
    if (i % 2 === 0 || h.keys.length === 0) a = rng.nextU32();
    else a = mutate(rng, h.keys[rng.int(h.keys.length)]);
    if ((i & 4) !== 0) a |= 0; // both signed and unsigned forms
    const want = h.lookup(a);
    const got = t.lookup(a);
    if (got !== want) assert.fail(`${what}: lookup(${a >>> 0}) = ${got}, model says ${want} (seed ${SEED})`);
  }
}

test('AllowedIps: plan reserves exactly what the arena carves (2n - 1 nodes)', () => {
  for (const n of [0, 1, 2, 7, 1000]) {
    const { t, plan } = make(n);
    const nodes = n > 0 ? 2 * n - 1 : 0;
    const expected = 5 * align8(4 * nodes) + align8(2 * nodes) + align8(nodes);
    assert.equal(plan.parts.allowedIps ?? 0, expected, `n=${n}`);
    assert.equal(plan.totalBytes, expected);
    assert.equal(t.capacity, n);
    assert.equal(t.size, 0);
    assert.equal(t.lookup(ip(1, 2, 3, 4)), -1);
  }
});

test('AllowedIps: the hand cases of Linux allowedips selftest (IPv4 part)', () => {
  const { t } = make(64);
  const [a, b, c, d, e, g, h] = [1, 2, 3, 4, 5, 7, 8];
  t.insert(ip(192, 168, 4, 0), 24, a);
  t.insert(ip(192, 168, 4, 4), 32, b);
  t.insert(ip(192, 168, 0, 0), 16, c);
  t.insert(ip(192, 95, 5, 64), 27, d);
  t.insert(ip(192, 95, 5, 65), 27, c); // re-owns the previous entry; host bits masked
  t.insert(ip(0, 0, 0, 0), 0, e);
  t.insert(ip(64, 15, 112, 0), 20, g);
  t.insert(ip(64, 15, 123, 211), 25, h); // host bits masked
  t.insert(ip(10, 0, 0, 0), 25, a);
  t.insert(ip(10, 0, 0, 128), 25, b);
  t.insert(ip(10, 1, 0, 0), 30, a);
  t.insert(ip(10, 1, 0, 4), 30, b);
  t.insert(ip(10, 1, 0, 8), 29, c);
  t.insert(ip(10, 1, 0, 16), 29, d);
  assert.equal(t.size, 13);

  const cases: Array<[number, number]> = [
    [a, ip(192, 168, 4, 20)], [a, ip(192, 168, 4, 0)], [b, ip(192, 168, 4, 4)], [c, ip(192, 168, 200, 182)],
    [c, ip(192, 95, 5, 68)], [e, ip(192, 95, 5, 96)], [g, ip(64, 15, 116, 26)], [g, ip(64, 15, 127, 3)],
    [g, ip(64, 15, 123, 1)], [h, ip(64, 15, 123, 128)], [h, ip(64, 15, 123, 129)], [a, ip(10, 0, 0, 52)],
    [b, ip(10, 0, 0, 220)], [a, ip(10, 1, 0, 2)], [b, ip(10, 1, 0, 6)], [c, ip(10, 1, 0, 10)], [d, ip(10, 1, 0, 20)],
  ];
  for (const [want, addr] of cases) {
    assert.equal(t.lookup(addr), want, `unsigned ${addr}`);
    assert.equal(t.lookup(addr | 0), want, `signed ${addr | 0}`);
  }

  for (const x of [1, 64, 128, 192, 255]) t.insert(ip(x, 0, 0, 0), 32, a);
  t.removePeer(a);
  for (const x of [1, 64, 128, 192, 255]) assert.notEqual(t.lookup(ip(x, 0, 0, 0)), a);
  assert.equal(t.lookup(ip(192, 168, 4, 20)), c, 'a gone: falls back to 192.168.0.0/16');
  assert.equal(t.lookup(ip(10, 1, 0, 2)), e, 'a gone: falls back to 0/0');

  t.clear();
  assert.equal(t.size, 0);
  t.insert(ip(192, 168, 0, 0), 16, a);
  t.insert(ip(192, 168, 0, 0), 24, a);
  t.removePeer(a);
  assert.notEqual(t.lookup(ip(192, 168, 0, 1)), a);
  assert.equal(t.size, 0);

  // Every single-bit-cleared /32 under one peer, then free it all.
  for (let i = 0; i < 32; i++) assert.ok(t.insert(~(1 << i) >>> 0, 32, a));
  assert.equal(t.size, 32);
  for (let i = 0; i < 32; i++) assert.equal(t.lookup(~(1 << i)), a);
  assert.equal(t.lookup(0xffffffff), -1);
  t.removePeer(a);
  assert.equal(t.size, 0);

  t.insert(ip(192, 95, 5, 93), 27, a);
  t.insert(ip(10, 1, 0, 20), 29, a);
  t.insert(ip(10, 1, 0, 20), 32, b);
  assert.deepEqual(t.list(a), [
    { address: ip(10, 1, 0, 16), prefixLength: 29 },
    { address: ip(192, 95, 5, 64), prefixLength: 27 },
  ]);
  assert.deepEqual(t.list(b), [{ address: ip(10, 1, 0, 20), prefixLength: 32 }]);
  assert.deepEqual(t.list(c), []);
});

test('AllowedIps: remove, with and without owner; /0 and /32; nested prefixes', () => {
  const { t } = make(16);
  assert.ok(t.insert(0, 0, 9));
  assert.ok(t.insert(ip(10, 0, 0, 0), 8, 1));
  assert.ok(t.insert(ip(10, 1, 0, 0), 16, 2));
  assert.ok(t.insert(ip(10, 1, 2, 3), 32, 3));
  assert.equal(t.lookup(ip(10, 1, 2, 3)), 3);
  assert.equal(t.lookup(ip(10, 1, 2, 4)), 2);
  assert.equal(t.lookup(ip(10, 2, 0, 0)), 1);
  assert.equal(t.lookup(ip(11, 0, 0, 0)), 9);
  assert.equal(t.remove(ip(10, 1, 0, 0), 16, 3), false, 'owned by 2, not 3');
  assert.equal(t.remove(ip(10, 1, 0, 0), 17), false, 'no such prefix');
  assert.equal(t.remove(ip(10, 1, 0, 0), 12), false, 'no such prefix');
  assert.equal(t.remove(ip(10, 1, 99, 99), 16, 2), true, 'host bits ignored');
  assert.equal(t.remove(ip(10, 1, 0, 0), 16), false, 'already gone');
  assert.equal(t.lookup(ip(10, 1, 2, 4)), 1);
  assert.equal(t.lookup(ip(10, 1, 2, 3)), 3);
  assert.ok(t.remove(0, 0));
  assert.equal(t.lookup(ip(11, 0, 0, 0)), -1);
  assert.ok(t.remove(ip(10, 0, 0, 0), 8, 1));
  assert.ok(t.remove(ip(10, 1, 2, 3) | 0, 32, 3), 'signed address form');
  assert.equal(t.size, 0);
  assert.equal(t.lookup(ip(10, 1, 2, 3)), -1);
  // /0 catches everything, including 0.0.0.0 and 255.255.255.255.
  assert.ok(t.insert(ip(1, 2, 3, 4), 0, 65534));
  assert.equal(t.lookup(0), 65534);
  assert.equal(t.lookup(-1), 65534);
  assert.deepEqual(t.list(65534), [{ address: 0, prefixLength: 0 }]);
});

test('AllowedIps: bad input throws RangeError', () => {
  const { t } = make(4);
  assert.throws(() => t.insert(0, 33, 1), RangeError);
  assert.throws(() => t.insert(0, -1, 1), RangeError);
  assert.throws(() => t.insert(0, 1.5, 1), RangeError);
  assert.throws(() => t.insert(0, 8, 65535), RangeError);
  assert.throws(() => t.insert(0, 8, -1), RangeError);
  assert.throws(() => t.insert(2 ** 32, 8, 1), RangeError);
  assert.throws(() => t.insert(Number.NaN, 8, 1), RangeError);
  assert.throws(() => t.remove(0, 40), RangeError);
  assert.equal(t.size, 0);
  assert.throws(() => make(-1), RangeError);
});

test('AllowedIps: a full table refuses new prefixes but still re-owns existing ones', () => {
  const { t } = make(3);
  assert.ok(t.insert(ip(10, 0, 0, 0), 8, 1));
  assert.ok(t.insert(ip(10, 128, 0, 0), 9, 2));
  assert.ok(t.insert(ip(10, 0, 0, 0), 9, 3)); // makes 10/8 a prefix node with two children
  assert.equal(t.size, 3);
  assert.equal(t.insert(ip(10, 0, 0, 1), 32, 4), false);
  assert.equal(t.insert(ip(11, 0, 0, 0), 8, 4), false);
  assert.equal(t.insert(0, 0, 4), false);
  assert.equal(t.size, 3);
  assert.equal(t.lookup(ip(10, 0, 0, 1)), 3, 'unchanged after refusals');
  assert.equal(t.lookup(ip(11, 0, 0, 0)), -1);
  assert.ok(t.insert(ip(10, 200, 0, 0), 9, 7), 're-own an existing prefix when full');
  assert.equal(t.lookup(ip(10, 200, 0, 0)), 7);
  // 10/8 becomes a bare branching node: inserting it again must still count against capacity.
  assert.ok(t.remove(ip(10, 0, 0, 0), 8));
  assert.ok(t.insert(ip(12, 0, 0, 0), 8, 5));
  assert.equal(t.insert(ip(10, 0, 0, 0), 8, 1), false, 'branching node exists but the table is full');
  assert.equal(t.size, 3);
  assert.equal(make(0).t.insert(0, 0, 1), false);
});

test('AllowedIps: random prefixes against the naive list (Linux selftest style)', () => {
  const rng = new Prng(SEED);
  const capacity = 2500;
  const { t } = make(capacity);
  const h = new NaiveTable();
  const peers = 300;
  // Base routes, each with mutated neighbours sharing a random-length prefix: dense overlaps.
  for (let i = 0; i < 80; i++) {
    const base = rng.nextU32();
    const p0 = rng.int(peers);
    const l0 = randomLen(rng);
    assert.equal(t.insert(base, l0, p0), h.insert(base, l0, p0, capacity));
    for (let j = 0; j < 50; j++) {
      const a = mutate(rng, base);
      const len = randomLen(rng);
      const p = rng.int(peers);
      const want = h.insert(a, len, p, capacity);
      assert.equal(t.insert(rng.int(2) === 0 ? a : a | 0, len, p), want, `insert ${a}/${len}`);
    }
  }
  assert.equal(t.size, h.keys.length);
  assert.equal(t.size, capacity, 'filled to capacity, some inserts refused');
  // Re-own existing prefixes for other peers.
  for (let i = 0; i < 500; i++) {
    const k = rng.int(h.keys.length);
    const p = rng.int(peers);
    assert.ok(t.insert(h.keys[k], h.lens[k], p));
    h.insert(h.keys[k], h.lens[k], p, capacity);
  }
  checkLookups(t, h, rng, 100_000, 'after inserts');

  for (let p = 0; p < 10; p++) assert.deepEqual(t.list(p), h.list(p), `list(${p})`);

  // Single removals: right owner, wrong owner, absent prefixes.
  for (let i = 0; i < 1000; i++) {
    let a: number;
    let len: number;
    let owner: number | undefined;
    if (rng.int(4) !== 0 && h.keys.length > 0) {
      const k = rng.int(h.keys.length);
      a = (h.keys[k] | (rng.nextU32() & ~maskOf(h.lens[k]))) >>> 0;
      len = h.lens[k];
      owner = rng.int(3) === 0 ? rng.int(peers) : rng.int(2) === 0 ? h.peers[k] : undefined;
    } else {
      a = rng.nextU32();
      len = randomLen(rng);
      owner = undefined;
    }
    assert.equal(t.remove(a, len, owner), h.remove(a, len, owner), `remove ${a}/${len} owner ${owner}`);
  }
  assert.equal(t.size, h.keys.length);
  checkLookups(t, h, rng, 30_000, 'after removals');

  // Refill what removals freed, then drop peers one by one (as Linux's randomized test does).
  for (let i = 0; i < 2000; i++) {
    const a = mutate(rng, h.keys[rng.int(h.keys.length)]);
    const len = randomLen(rng);
    const p = rng.int(peers);
    assert.equal(t.insert(a, len, p), h.insert(a, len, p, capacity));
  }
  assert.equal(t.size, capacity);
  for (let p = 0; p < peers; p++) {
    t.removePeer(p);
    h.removePeer(p);
    assert.equal(t.size, h.keys.length, `size after removePeer(${p})`);
    assert.deepEqual(t.list(p), []);
    if (p % 30 === 0) checkLookups(t, h, rng, 3_000, `after removePeer(${p})`);
  }
  assert.equal(t.size, 0);
  assert.equal(t.lookup(rng.nextU32()), -1);
  // Every node came back: the table fills to capacity again with disjoint /32s.
  for (let i = 0; i < capacity; i++) assert.ok(t.insert(i * 7919, 32, i % peers));
  assert.equal(t.insert(0xfffffff0, 32, 1), false);
});

test('AllowedIps: insert/remove churn at capacity never exhausts the node pool', () => {
  const rng = new Prng(SEED ^ 0x5eed);
  const capacity = 64;
  const { t } = make(capacity);
  const h = new NaiveTable();
  const base = rng.nextU32();
  for (let step = 0; step < 40_000; step++) {
    const r = rng.int(10);
    if (r < 6) {
      const a = mutate(rng, base);
      const len = 16 + rng.int(17);
      const p = rng.int(8);
      assert.equal(t.insert(a, len, p), h.insert(a, len, p, capacity), `step ${step}`);
    } else if (r < 9 && h.keys.length > 0) {
      const k = rng.int(h.keys.length);
      assert.ok(t.remove(h.keys[k], h.lens[k]));
      h.removeAt(k);
    } else if (r === 9 && rng.int(50) === 0) {
      const p = rng.int(8);
      t.removePeer(p);
      h.removePeer(p);
    }
    assert.equal(t.size, h.keys.length);
    if (step % 500 === 0) checkLookups(t, h, rng, 500, `churn step ${step}`);
  }
  t.clear();
  assert.equal(t.size, 0);
  for (let i = 0; i < capacity; i++) assert.ok(t.insert(base + i, 32, 1), `refill ${i}`);
  assert.equal(t.insert(base + capacity, 32, 1), false);
});
