import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { Arena, MemoryPlan, align8 } from '../../src/storage/arena.js';
import { AllowedIps6 } from '../../src/wireguard/allowed-ips6.js';
import { Prng } from '../../src/storage/prng.js';
import { seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('WG_SEED', 0xa11d6);

function make(maxPrefixes: number): { t: AllowedIps6; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps6.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps6(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}

/** Test-side text → 16 bytes (full and :: forms; no embedded IPv4 needed here). */
function ip6(text: string): Uint8Array {
  assert.ok(isIPv6(text), text);
  const out = new Uint8Array(16);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head === '' ? [] : head.split(':');
  const t = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function masked(a: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = len - 8 * i;
    out[i] = bits >= 8 ? a[i] : bits <= 0 ? 0 : a[i] & (0xff << (8 - bits));
  }
  return out;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function prefixMatch(a: Uint8Array, key: Uint8Array, len: number): boolean {
  for (let i = 0; i < 16; i++) {
    const bits = len - 8 * i;
    if (bits <= 0) return true;
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & m) !== key[i]) return false;
  }
  return true;
}

/** The naive model: a flat list scanned in full (Linux selftest's "horrible" table). */
class NaiveTable {
  keys: Uint8Array[] = [];
  lens: number[] = [];
  peers: number[] = [];

  find(a: Uint8Array, len: number): number {
    const k = masked(a, len);
    for (let i = 0; i < this.keys.length; i++) if (this.lens[i] === len && eq(this.keys[i], k)) return i;
    return -1;
  }

  insert(a: Uint8Array, len: number, peer: number, capacity: number): boolean {
    const i = this.find(a, len);
    if (i >= 0) {
      this.peers[i] = peer;
      return true;
    }
    if (this.keys.length >= capacity) return false;
    this.keys.push(masked(a, len));
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

  remove(a: Uint8Array, len: number, peer?: number): boolean {
    const i = this.find(a, len);
    if (i < 0 || (peer !== undefined && this.peers[i] !== peer)) return false;
    this.removeAt(i);
    return true;
  }

  removePeer(peer: number): void {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.peers[i] === peer) this.removeAt(i);
  }

  lookup(a: Uint8Array): number {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.lens[i] > bestLen && prefixMatch(a, this.keys[i], this.lens[i])) {
        best = this.peers[i];
        bestLen = this.lens[i];
      }
    }
    return best;
  }

  list(peer: number): Array<{ address: Uint8Array; prefixLength: number }> {
    const out = [];
    for (let i = 0; i < this.keys.length; i++) {
      if (this.peers[i] === peer) out.push({ address: this.keys[i], prefixLength: this.lens[i] });
    }
    const cmp = (x: Uint8Array, y: Uint8Array): number => {
      for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i] - y[i];
      return 0;
    };
    return out.sort((x, y) => cmp(x.address, y.address) || x.prefixLength - y.prefixLength);
  }
}

function randomAddr(rng: Prng): Uint8Array {
  const a = new Uint8Array(16);
  for (let i = 0; i < 16; i += 4) {
    const v = rng.nextU32();
    a[i] = v >>> 24;
    a[i + 1] = v >>> 16;
    a[i + 2] = v >>> 8;
    a[i + 3] = v;
  }
  return a;
}

/** An address sharing a random-length prefix with `base`, rest random. */
function mutate(rng: Prng, base: Uint8Array): Uint8Array {
  const keep = rng.int(129);
  const r = randomAddr(rng);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = keep - 8 * i;
    const m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    out[i] = (base[i] & m) | (r[i] & ~m & 0xff);
  }
  return out;
}

function randomLen(rng: Prng): number {
  const r = rng.int(40);
  if (r === 0) return 0;
  if (r < 5) return 128;
  if (r < 12) return [32, 48, 56, 64, 96][rng.int(5)];
  return rng.int(129);
}

/** Lookups at an offset inside a bigger buffer, as the device reads inner headers in place. */
const probe = new Uint8Array(40);

function checkLookups(t: AllowedIps6, h: NaiveTable, rng: Prng, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const a = i % 2 === 0 || h.keys.length === 0 ? randomAddr(rng) : mutate(rng, h.keys[rng.int(h.keys.length)]);
    const off = 24 - (i & 7);
    probe.set(a, off);
    const want = h.lookup(a);
    const got = t.lookup(probe, off);
    if (got !== want) assert.fail(`${what}: lookup(${Buffer.from(a).toString('hex')}) = ${got}, model says ${want} (seed ${SEED})`);
  }
}

test('AllowedIps6: plan reserves exactly what the arena carves (2n - 1 nodes)', () => {
  for (const n of [0, 1, 2, 7, 1000]) {
    const { t, plan } = make(n);
    const nodes = n > 0 ? 2 * n - 1 : 0;
    const expected = 2 * align8(16 * nodes) + 3 * align8(4 * nodes) + align8(2 * nodes) + align8(nodes);
    assert.equal(plan.parts.allowedIps6 ?? 0, expected, `n=${n}`);
    assert.equal(plan.totalBytes, expected);
    assert.equal(t.capacity, n);
    assert.equal(t.size, 0);
    assert.equal(t.lookup(ip6('2001:db8::1'), 0), -1);
  }
});

test('AllowedIps6: the hand cases of Linux allowedips selftest (IPv6 part)', () => {
  const { t } = make(64);
  const [a, b, c, d, f, g, h] = [1, 2, 3, 4, 6, 7, 8];
  assert.ok(t.insert(ip6('2607:5300:6000:6b00::'), 0, 64, d));
  assert.ok(t.insert(ip6('2607:5300:6000:6b00::'), 0, 128, c));
  assert.ok(t.insert(ip6('::'), 0, 0, f));
  assert.ok(t.insert(ip6('2404:6800::'), 0, 32, g));
  assert.ok(t.insert(ip6('2404:6800:4004:800:dead:beef:dead:beef'), 0, 64, h)); // host bits masked
  assert.ok(t.insert(ip6('2404:6800:4004:800:dead:beef:dead:beef'), 0, 128, a));
  assert.ok(t.insert(ip6('2444:6800:40e4:800:deae:beef:def:beef'), 0, 128, c));
  assert.ok(t.insert(ip6('2444:6800:f0e4:800:eeae:beef::'), 0, 98, b));
  assert.equal(t.size, 8);
  const cases: Array<[number, string]> = [
    [d, '2607:5300:6000:6b00::1'], [c, '2607:5300:6000:6b00::'], [f, '2607:5300:6000:6b01::'],
    [g, '2404:6800:4004:806::1006'], [g, '2404:6800:4004:806:0:1234:0:5678'], [f, '2444:6800:40e4:800:deae:beef:def:beee'],
    [f, '2444:6800:f0e3:800:eeae:beef::'], [h, '2404:6800:4004:800::1'], [a, '2404:6800:4004:800:dead:beef:dead:beef'],
    [c, '2444:6800:40e4:800:deae:beef:def:beef'], [b, '2444:6800:f0e4:800:eeae:beef:1234:5678'],
  ];
  for (const [want, text] of cases) assert.equal(t.lookup(ip6(text), 0), want, text);

  t.removePeer(f);
  assert.equal(t.lookup(ip6('2607:5300:6000:6b01::'), 0), -1, '::/0 gone with its peer');
  assert.equal(t.lookup(ip6('2404:6800:4004:800::1'), 0), h);

  // Every single-bit-cleared /128 under one peer, then free it all (all four words and their edges).
  t.clear();
  const ones = new Uint8Array(16).fill(0xff);
  for (let i = 0; i < 128; i++) {
    const x = ones.slice();
    x[i >> 3] &= ~(0x80 >> (i & 7));
    if (i < 64) assert.ok(t.insert(x, 0, 128, a), `bit ${i}`);
  }
  assert.equal(t.size, 64);
  for (let i = 0; i < 64; i++) {
    const x = ones.slice();
    x[i >> 3] &= ~(0x80 >> (i & 7));
    assert.equal(t.lookup(x, 0), a);
  }
  assert.equal(t.lookup(ones, 0), -1);
  t.removePeer(a);
  assert.equal(t.size, 0);

  t.insert(ip6('fd00:1::'), 0, 48, a);
  t.insert(ip6('fd00::2'), 0, 128, a);
  t.insert(ip6('fd00::2'), 0, 127, b);
  assert.deepEqual(t.list(a).map((e) => [Buffer.from(e.address).toString('hex'), e.prefixLength]), [
    ['fd000000000000000000000000000002', 128],
    ['fd000001000000000000000000000000', 48],
  ]);
  assert.deepEqual(t.list(b).map((e) => e.prefixLength), [127]);
});

test('AllowedIps6: remove with and without owner; /0 and /128; offsets; bad input', () => {
  const { t } = make(8);
  const buf = new Uint8Array(32);
  buf.set(ip6('fd00::1'), 7);
  assert.ok(t.insert(buf, 7, 128, 5));
  assert.ok(t.insert(ip6('fd00::'), 0, 64, 4));
  assert.equal(t.lookup(buf, 7), 5);
  assert.equal(t.lookup(ip6('fd00::2'), 0), 4);
  assert.equal(t.remove(ip6('fd00::'), 0, 64, 5), false, 'owned by 4');
  assert.equal(t.remove(ip6('fd00::'), 0, 63), false, 'no such prefix');
  assert.ok(t.remove(ip6('fd00::ffff'), 0, 64), 'host bits ignored');
  assert.equal(t.lookup(ip6('fd00::2'), 0), -1);
  assert.ok(t.insert(ip6('::'), 0, 0, 65534));
  assert.equal(t.lookup(new Uint8Array(16).fill(0xff), 0), 65534);
  assert.equal(t.lookup(new Uint8Array(16), 0), 65534);
  assert.throws(() => t.insert(ip6('::'), 0, 129, 1), RangeError);
  assert.throws(() => t.insert(ip6('::'), 0, -1, 1), RangeError);
  assert.throws(() => t.insert(ip6('::'), 0, 8, 65535), RangeError);
  assert.throws(() => t.insert(new Uint8Array(15), 0, 8, 1), RangeError);
  assert.throws(() => t.insert(buf, 20, 8, 1), RangeError);
  // Full: refuses a new prefix but re-owns an existing one.
  const { t: small } = make(2);
  assert.ok(small.insert(ip6('fd00::'), 0, 8, 1));
  assert.ok(small.insert(ip6('fe80::'), 0, 10, 2));
  assert.equal(small.insert(ip6('2001:db8::'), 0, 32, 3), false);
  assert.ok(small.insert(ip6('fd00::'), 0, 8, 3));
  assert.equal(small.lookup(ip6('fd12::1'), 0), 3);
});

test('AllowedIps6: random prefixes against the naive list (Linux selftest style)', () => {
  const rng = new Prng(SEED);
  const capacity = 1200;
  const { t } = make(capacity);
  const h = new NaiveTable();
  const peers = 200;
  for (let i = 0; i < 40; i++) {
    const base = randomAddr(rng);
    const p0 = rng.int(peers);
    const l0 = randomLen(rng);
    assert.equal(t.insert(base, 0, l0, p0), h.insert(base, l0, p0, capacity));
    for (let j = 0; j < 40; j++) {
      const a = mutate(rng, base);
      const len = randomLen(rng);
      const p = rng.int(peers);
      assert.equal(t.insert(a, 0, len, p), h.insert(a, len, p, capacity), 'insert');
    }
  }
  assert.equal(t.size, h.keys.length);
  assert.equal(t.size, capacity, 'filled to capacity, some inserts refused');
  checkLookups(t, h, rng, 20_000, 'after inserts');
  for (let p = 0; p < 10; p++) {
    assert.deepEqual(t.list(p).map((e) => [Buffer.from(e.address).toString('hex'), e.prefixLength]),
      h.list(p).map((e) => [Buffer.from(e.address).toString('hex'), e.prefixLength]), `list(${p})`);
  }
  for (let i = 0; i < 600; i++) {
    let a: Uint8Array;
    let len: number;
    let owner: number | undefined;
    if (rng.int(4) !== 0 && h.keys.length > 0) {
      const k = rng.int(h.keys.length);
      // The stored prefix with random host bits.
      const r = randomAddr(rng);
      const m = masked(new Uint8Array(16).fill(0xff), h.lens[k]);
      a = h.keys[k].map((v, j) => v | (r[j] & ~m[j]));
      len = h.lens[k];
      owner = rng.int(3) === 0 ? rng.int(peers) : rng.int(2) === 0 ? h.peers[k] : undefined;
    } else {
      a = randomAddr(rng);
      len = randomLen(rng);
    }
    assert.equal(t.remove(a, 0, len, owner), h.remove(a, len, owner), `remove /${len} owner ${owner}`);
  }
  assert.equal(t.size, h.keys.length);
  checkLookups(t, h, rng, 10_000, 'after removals');
  for (let p = 0; p < peers; p++) {
    t.removePeer(p);
    h.removePeer(p);
    assert.equal(t.size, h.keys.length, `size after removePeer(${p})`);
    if (p % 40 === 0) checkLookups(t, h, rng, 2_000, `after removePeer(${p})`);
  }
  assert.equal(t.size, 0);
  // Every node came back: the table fills to capacity again.
  for (let i = 0; i < capacity; i++) {
    const a = new Uint8Array(16);
    a[0] = 0xfd;
    a[14] = i >> 8;
    a[15] = i & 0xff;
    assert.ok(t.insert(a, 0, 128, i % peers));
  }
  assert.equal(t.insert(ip6('fe80::1'), 0, 128, 1), false);
});

test('AllowedIps6: insert/remove churn at capacity never exhausts the node pool', () => {
  const rng = new Prng(SEED ^ 0x5eed);
  const capacity = 48;
  const { t } = make(capacity);
  const h = new NaiveTable();
  const base = randomAddr(rng);
  for (let step = 0; step < 15_000; step++) {
    const r = rng.int(10);
    if (r < 6) {
      const a = mutate(rng, base);
      const len = 48 + rng.int(81);
      const p = rng.int(8);
      assert.equal(t.insert(a, 0, len, p), h.insert(a, len, p, capacity), `step ${step}`);
    } else if (r < 9 && h.keys.length > 0) {
      const k = rng.int(h.keys.length);
      assert.ok(t.remove(h.keys[k], 0, h.lens[k]));
      h.removeAt(k);
    } else if (r === 9 && rng.int(50) === 0) {
      const p = rng.int(8);
      t.removePeer(p);
      h.removePeer(p);
    }
    assert.equal(t.size, h.keys.length);
    if (step % 500 === 0) checkLookups(t, h, rng, 300, `churn step ${step}`);
  }
});
