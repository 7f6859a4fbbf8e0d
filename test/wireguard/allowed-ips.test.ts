/**
 * AllowedIps (IPv4) and AllowedIps6 (IPv6), the two widths of one trie
 * (src/wireguard/allowed-ips-trie.ts): the hand cases of Linux's allowedips
 * selftest for each family and API edge cases. Both families against one
 * naive model: allowed-ips-model.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { align8 } from '../../src/storage/arena.js';
import { make, make6 } from './allowed-ips-tables.js';

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
