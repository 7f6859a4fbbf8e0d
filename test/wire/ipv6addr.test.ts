import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseIpv6, formatIpv6, ip6Equal, ip6PrefixMatch, ip6CommonPrefixLen, ip6MaskInPlace, isLinkLocal6, isMulticast6,
  isUnspecified6, isLoopback6, isV4Mapped, v4MappedWrite, v4MappedRead, solicitedNode, isSolicitedNode, multicastMac,
  eui64Iid, parseCidr6, ip6Copy,
} from '../../src/wire/ipv6addr.js';
import { pseudoSum6, pseudoSum6Split, sum16, sum6, finish } from '../../src/wire/checksum.js';

function p(text: string): Uint8Array {
  const a = new Uint8Array(16);
  assert.ok(parseIpv6(text, a, 0), text);
  return a;
}

test('parseIpv6 + formatIpv6: RFC 4291 §2.2 forms in, RFC 5952 out', () => {
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed (RFC 5952 §4.2.2)
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longer run wins (§4.2.3)
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs
    ['fe80::1:2', 'fe80::1:2'],
    ['::ffff:192.0.2.128', '::ffff:192.0.2.128'],
    ['::13.1.68.3', '::d01:4403'],
    ['ff02::1:ff00:1', 'ff02::1:ff00:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
  ];
  for (const [text, canon] of cases) {
    const a = p(text);
    assert.equal(formatIpv6(a, 0), canon, text);
    assert.ok(ip6Equal(p(canon), 0, a, 0), canon);
  }
  const off = new Uint8Array(20);
  assert.ok(parseIpv6('fd00::2', off, 3));
  assert.equal(formatIpv6(off, 3), 'fd00::2');
});

test('parseIpv6 rejects malformed text', () => {
  const bad = [
    '', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8::',
    '::1.2.3', '::1.2.3.256', '::01.2.3.4', '1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', ' ::1', '::1 ',
    ':1::', '1::2:', '::ffff:1.2.3.4:5', '[::1]', '2001:db8::/64',
  ];
  const a = new Uint8Array(16);
  for (const text of bad) assert.equal(parseIpv6(text, a, 0), false, JSON.stringify(text));
});

test('random round trip: format(parse(format(x))) is stable and equal bytes', () => {
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 16; };
  for (let n = 0; n < 2000; n++) {
    const a = new Uint8Array(16);
    for (let i = 0; i < 8; i++) {
      const g = rnd() % 4 === 0 ? 0 : rnd();
      a[2 * i] = g >>> 8;
      a[2 * i + 1] = g & 0xff;
    }
    const t = formatIpv6(a, 0);
    const b = p(t);
    assert.ok(ip6Equal(a, 0, b, 0), t);
    assert.equal(formatIpv6(b, 0), t);
  }
});

test('prefix helpers', () => {
  const a = p('2001:db8:abcd:12::1');
  const b = p('2001:db8:abcd:13::1');
  assert.ok(ip6PrefixMatch(a, 0, b, 0, 63));
  assert.ok(!ip6PrefixMatch(a, 0, b, 0, 64));
  assert.ok(ip6PrefixMatch(a, 0, b, 0, 0));
  assert.equal(ip6CommonPrefixLen(a, 0, b, 0), 63);
  assert.equal(ip6CommonPrefixLen(a, 0, a, 0), 128);
  const m = p('2001:db8:abcd:12:ffff::1');
  ip6MaskInPlace(m, 0, 68);
  assert.equal(formatIpv6(m, 0), '2001:db8:abcd:12:f000::');
  const c = parseCidr6('fd00::2/64');
  assert.equal(c.prefixLength, 64);
  assert.equal(formatIpv6(c.address, 0), 'fd00::2');
  assert.equal(parseCidr6('fd00::2').prefixLength, 128);
  assert.throws(() => parseCidr6('fd00::2/129'), /0..128/);
  assert.throws(() => parseCidr6('10.0.0.1/8'), /not an IPv6/);
});

test('classification', () => {
  assert.ok(isLinkLocal6(p('fe80::1'), 0) && isLinkLocal6(p('febf::1'), 0) && !isLinkLocal6(p('fec0::1'), 0));
  assert.ok(isMulticast6(p('ff02::1'), 0) && !isMulticast6(p('fe80::1'), 0));
  assert.ok(isUnspecified6(p('::'), 0) && !isUnspecified6(p('::1'), 0));
  assert.ok(isLoopback6(p('::1'), 0) && !isLoopback6(p('::'), 0));
  assert.ok(isV4Mapped(p('::ffff:10.0.0.1'), 0) && !isV4Mapped(p('::10.0.0.1'), 0));
  const m = new Uint8Array(16);
  v4MappedWrite(m, 0, 0xc0a80001 | 0);
  assert.equal(formatIpv6(m, 0), '::ffff:192.168.0.1');
  assert.equal(v4MappedRead(m, 0), 0xc0a80001 | 0);
});

test('solicited-node, multicast MAC, modified EUI-64', () => {
  const sn = new Uint8Array(16);
  solicitedNode(sn, 0, p('2001:db8::1234:5678'), 0);
  assert.equal(formatIpv6(sn, 0), 'ff02::1:ff34:5678');
  assert.ok(isSolicitedNode(sn, 0) && !isSolicitedNode(p('ff02::1'), 0));
  const mac = new Uint8Array(6);
  multicastMac(mac, sn, 0);
  assert.deepEqual([...mac], [0x33, 0x33, 0xff, 0x34, 0x56, 0x78]);
  const ll = p('fe80::');
  eui64Iid(ll, 0, Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
  assert.equal(formatIpv6(ll, 0), 'fe80::5054:ff:fe12:3456');
});

test('pseudoSum6 matches a checksum over an explicit pseudo-header', () => {
  const b = new Uint8Array(40);
  b.set(p('fd00::1'), 8);
  b.set(p('fd00::abcd:2'), 24);
  const payload = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
  const ph = new Uint8Array(40 + payload.length);
  ph.set(b.subarray(8, 40), 0);
  ph[34] = 0; ph[35] = payload.length; ph[39] = 58;
  ph.set(payload, 40);
  const want = finish(sum16(ph, 0, ph.length, 0));
  assert.equal(finish(sum16(payload, 0, payload.length, pseudoSum6(b, 8, 24, 58, payload.length))), want);
  assert.equal(finish(sum16(payload, 0, payload.length, pseudoSum6Split(b, 8, b, 24, 58, payload.length))), want);
});

test('ip6Equal, ip6Copy, isUnspecified6: every byte position counts', () => {
  const a = p('2001:db8:1:2:3:4:5:6');
  for (let i = 0; i < 16; i++) {
    const b = new Uint8Array(20);
    ip6Copy(a, 0, b, 3);
    assert.ok(ip6Equal(a, 0, b, 3), `copy equal (${i})`);
    b[3 + i] ^= 0x40;
    assert.ok(!ip6Equal(a, 0, b, 3), `differs at byte ${i}`);
    assert.ok(!ip6Equal(b, 3, a, 0), `differs at byte ${i}, swapped`);
    const z = new Uint8Array(16);
    z[i] = 1;
    assert.ok(!isUnspecified6(z, 0), `non-zero byte ${i}`);
  }
  assert.ok(isUnspecified6(new Uint8Array(17), 1));
});

test('sum6 equals the pseudo-header sum plus the packet, with and without extension headers between', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  };
  for (let round = 0; round < 400; round++) {
    const len = round < 200 ? round : rnd() * 6;
    const gap = round % 3 === 0 ? 8 * (1 + (round % 4)) : 0; // extension headers between the fixed header and the packet
    const ipOff = round % 5; // odd and even offsets
    const b = new Uint8Array(ipOff + 40 + gap + len + 1);
    for (let i = 0; i < b.length; i++) b[i] = rnd();
    const o = ipOff + 40 + gap;
    const want = finish(sum16(b, o, len, pseudoSum6(b, ipOff + 8, ipOff + 24, 6, len)));
    assert.equal(finish(sum6(b, ipOff + 8, ipOff + 24, o, len, 6)), want, `len ${len} gap ${gap} off ${ipOff}`);
  }
});
