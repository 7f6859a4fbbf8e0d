import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseIpv4, formatIpv4, parseCidr, prefixMask, isMulticast, isLoopback, isMartianSource,
} from '../../src/wire/ipv4addr.js';
import { parseMac, formatMac } from '../../src/wire/ethernet.js';
import { TestRng, ip, ipText, seedFromEnv } from '../helpers/frames.js';

test('parseIpv4 accepts valid dotted quads', () => {
  const ok: Array<[string, number]> = [
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.0.0.1', 0x0a000001],
    ['192.168.1.254', 0xc0a801fe],
    ['1.2.3.4', 0x01020304],
    ['128.0.0.0', 0x80000000],
    ['100.64.0.10', 0x6440000a],
  ];
  for (const [text, v] of ok) assert.equal(parseIpv4(text), v, text);
});

test('parseIpv4 rejects malformed text with -1', () => {
  const bad = [
    '', '256.1.1.1', '1.256.1.1', '1.1.1.256', '01.2.3.4', '1.02.3.4', '1.2.3.00', '1.2.3', '1.2.3.4.5', '1..2.3',
    '.1.2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '1.2.3.-4', '+1.2.3.4', '0x1.2.3.4', '1e1.2.3.4',
    '1.2.3.4/24', 'a.b.c.d', '1234.1.1.1', '1.2.3.4444', '\u0661.2.3.4', '1,2,3,4', '999.999.999.999',
  ];
  for (const text of bad) assert.equal(parseIpv4(text), -1, JSON.stringify(text));
});

test('formatIpv4 and parseIpv4 round-trip random addresses', () => {
  const rng = new TestRng(seedFromEnv('WIRE_SEED', 0xadd5));
  for (let i = 0; i < 2000; i++) {
    const a = rng.u32();
    const text = formatIpv4(a);
    assert.equal(text, ipText(a));
    assert.equal(parseIpv4(text), a);
  }
});

test('parseCidr accepts address/prefix and bare addresses', () => {
  const ok: Array<[string, number, number]> = [
    ['10.0.0.1/24', ip('10.0.0.1'), 24],
    ['10.0.0.1', ip('10.0.0.1'), 32],
    ['0.0.0.0/0', 0, 0],
    ['192.168.0.1/32', ip('192.168.0.1'), 32],
    ['172.16.5.4/12', ip('172.16.5.4'), 12],
    ['1.2.3.4/1', ip('1.2.3.4'), 1],
  ];
  for (const [text, address, prefixLength] of ok) assert.deepEqual(parseCidr(text), { address, prefixLength }, text);
});

test('parseCidr rejects bad addresses and prefix lengths with a message naming the input', () => {
  const bad = [
    '1.2.3.4/33', '1.2.3.4/99', '1.2.3.4/100', '1.2.3.4/', '1.2.3.4/-1', '1.2.3.4/ 8', '1.2.3.4/8 ', '1.2.3.4/8/8',
    '1.2.3.4/x', '/8', '256.1.1.1/8', '01.2.3.4/8', '1.2.3/8', '', '1.2.3.4//8', '1.2.3.4/2.5',
  ];
  for (const text of bad) {
    assert.throws(() => parseCidr(text, 'thing'), (e: unknown) => e instanceof Error && e.message.includes('thing')
      && e.message.includes(`'${text}'`), JSON.stringify(text));
  }
});

test('parseMac accepts colon and dash forms, any case', () => {
  const ok: Array<[string, number[]]> = [
    ['aa:bb:cc:dd:ee:ff', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]],
    ['AA:BB:CC:DD:EE:FF', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]],
    ['00-11-22-33-44-55', [0, 0x11, 0x22, 0x33, 0x44, 0x55]],
    ['02:00:00:00:00:01', [2, 0, 0, 0, 0, 1]],
    ['ff:ff:ff:ff:ff:ff', [255, 255, 255, 255, 255, 255]],
  ];
  for (const [text, want] of ok) {
    const m = parseMac(text);
    assert.ok(m instanceof Uint8Array);
    assert.deepEqual([...m], want, text);
    assert.equal(formatMac(m), text.toLowerCase().replaceAll('-', ':'));
  }
});

test('parseMac rejects malformed text', () => {
  const bad = [
    '', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa:bb:cc:dd:ee:fg', 'aaa:bb:cc:dd:ee:ff', 'aa::cc:dd:ee:ff',
    'aabb.ccdd.eeff', 'aabbccddeeff', ' aa:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff ', 'aa:bb:cc:dd:ee:', 'gg:bb:cc:dd:ee:ff',
    '0x1:2:3:4:5:6', '+1:2:3:4:5:6', 'aa bb cc dd ee ff',
  ];
  for (const text of bad) assert.throws(() => parseMac(text), /invalid MAC/, JSON.stringify(text));
});

test('prefixMask for every length', () => {
  assert.equal(prefixMask(0), 0);
  // Masks are in the engine's signed int32 form (see get32).
  assert.equal(prefixMask(32), -1);
  assert.equal(prefixMask(24) >>> 0, 0xffffff00);
  for (let len = 0; len <= 32; len++) {
    const m = prefixMask(len);
    assert.equal(m, m | 0, `len ${len} is an int32`);
    let ones = 0;
    for (let bit = 31; bit >= 0; bit--) if ((m >>> bit) & 1) ones++;
    assert.equal(ones, len, `len ${len}`);
    // Contiguous from the top: m + lowest-set-bit wraps to 0 (mod 2^32), or m is 0.
    assert.equal(len === 0 ? 0 : (m + (2 ** (32 - len))) % 2 ** 32, 0);
  }
});

test('address class predicates', () => {
  assert.equal(isMulticast(ip('224.0.0.1')), true);
  assert.equal(isMulticast(ip('239.255.255.255')), true);
  assert.equal(isMulticast(ip('223.255.255.255')), false);
  assert.equal(isMulticast(ip('240.0.0.0')), false);
  assert.equal(isLoopback(ip('127.0.0.1')), true);
  assert.equal(isLoopback(ip('127.255.0.9')), true);
  assert.equal(isLoopback(ip('128.0.0.1')), false);
  const martian = ['127.0.0.1', '224.0.0.1', '239.1.2.3', '240.0.0.1', '255.255.255.255', '0.1.2.3', '0.0.0.1'];
  const fine = ['0.0.0.0', '10.0.0.1', '1.1.1.1', '223.255.255.254', '126.255.255.255', '128.0.0.1', '192.168.1.1'];
  for (const a of martian) assert.equal(isMartianSource(ip(a)), true, a);
  for (const a of fine) assert.equal(isMartianSource(ip(a)), false, a);
});
