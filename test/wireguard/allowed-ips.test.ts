/**
 * AllowedIps (IPv4) and AllowedIps6 (IPv6), the two widths of one trie
 * (src/wireguard/allowed-ips-trie.ts): the hand cases of Linux's allowedips
 * selftest for each family, API edge cases, and both families against one
 * naive model (random prefixes, removals, peer removal, churn at capacity).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { Arena, MemoryPlan, align8 } from '../../src/storage/arena.js';
import { AllowedIps } from '../../src/wireguard/allowed-ips.js';
import { AllowedIps6 } from '../../src/wireguard/allowed-ips6.js';
import { Prng } from '../../src/storage/prng.js';
import { seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('WG_SEED', 0xa11d1);
const SEED6 = seedFromEnv('WG_SEED', 0xa11d6);

function make(maxPrefixes: number): { t: AllowedIps; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}

function make6(maxPrefixes: number): { t: AllowedIps6; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps6.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps6(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}

/** Unsigned form of a.b.c.d. */
function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
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

for (const [name, words] of [['AllowedIps', 1], ['AllowedIps6', 4]] as const) {
  test(`${name}: plan reserves exactly what the arena carves (2n - 1 nodes)`, () => {
    for (const n of [0, 1, 2, 7, 1000]) {
      const nodes = n > 0 ? 2 * n - 1 : 0;
      // key and mask: `words` int32 per node; child0, child1, parent: int32; peer: u16; cidr: u8.
      const expected = 2 * align8(4 * words * nodes) + 3 * align8(4 * nodes) + align8(2 * nodes) + align8(nodes);
      if (words === 1) {
        const { t, plan } = make(n);
        assert.equal(plan.parts.allowedIps ?? 0, expected, `n=${n}`);
        assert.equal(plan.totalBytes, expected);
        assert.equal(t.capacity, n);
        assert.equal(t.size, 0);
        assert.equal(t.lookup(ip(1, 2, 3, 4)), -1);
      } else {
        const { t, plan } = make6(n);
        assert.equal(plan.parts.allowedIps6 ?? 0, expected, `n=${n}`);
        assert.equal(plan.totalBytes, expected);
        assert.equal(t.capacity, n);
        assert.equal(t.size, 0);
        assert.equal(t.lookup(ip6('2001:db8::1'), 0), -1);
      }
    }
    assert.throws(() => (words === 1 ? make(-1) : make6(-1)), RangeError);
  });
}

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

test('AllowedIps6: the hand cases of Linux allowedips selftest (IPv6 part)', () => {
  const { t } = make6(64);
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
  const { t } = make6(8);
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
  const { t: small } = make6(2);
  assert.ok(small.insert(ip6('fd00::'), 0, 8, 1));
  assert.ok(small.insert(ip6('fe80::'), 0, 10, 2));
  assert.equal(small.insert(ip6('2001:db8::'), 0, 32, 3), false);
  assert.ok(small.insert(ip6('fd00::'), 0, 8, 3));
  assert.equal(small.lookup(ip6('fd12::1'), 0), 3);
});

// ---- Both families against one naive model (Linux selftest's "horrible" table) ----

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
