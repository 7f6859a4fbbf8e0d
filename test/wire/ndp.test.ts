import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ND_ROUTER_SOLICIT, ND_ROUTER_ADVERT, ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ND_REDIRECT,
  RS_LEN, RA_LEN, NS_LEN, NA_LEN, REDIRECT_LEN, ND_TARGET, REDIRECT_DEST, NA_FLAG_SOLICITED, NA_FLAG_OVERRIDE,
  OPT_SOURCE_LLA, OPT_TARGET_LLA, OPT_PREFIX_INFO, OPT_MTU, OPT_RDNSS, PREFIX_FLAG_AUTO, PREFIX_FLAG_ONLINK,
  PREFIX_LENGTH, PREFIX_FLAGS, PREFIX_VALID, PREFIX_PREFERRED, PREFIX_PREFIX, RDNSS_LIFETIME, RDNSS_ADDRS,
  ND_INFINITE, ndFixedLength, ndOptionsValid, ndFindOption, ndNextOption, writeRs, writeNs, writeNa, writeRa,
  writeRedirect, writeLlaOption, writePrefixOption, writeMtuOption, writeRdnssOption, raRouterLifetime,
  raReachableTime, raRetransTimer, rdnssCount, getU32, RA_FLAG_OTHER,
} from '../../src/wire/ndp.js';

const A = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);
const B = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const MAC = Uint8Array.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);

test('fixed lengths per message type (RFC 4861 §4.1–4.5)', () => {
  assert.equal(ndFixedLength(ND_ROUTER_SOLICIT), 8);
  assert.equal(ndFixedLength(ND_ROUTER_ADVERT), 16);
  assert.equal(ndFixedLength(ND_NEIGHBOR_SOLICIT), 24);
  assert.equal(ndFixedLength(ND_NEIGHBOR_ADVERT), 24);
  assert.equal(ndFixedLength(ND_REDIRECT), 40);
  assert.equal(ndFixedLength(128), 0);
});

test('NS with SLLA: layout as Linux sends it (bytes checked by hand)', () => {
  const b = new Uint8Array(64).fill(0xee);
  let n = writeNs(b, 3, B, 0);
  n += writeLlaOption(b, 3 + n, OPT_SOURCE_LLA, MAC, 0);
  assert.equal(n, 32);
  assert.deepEqual([...b.subarray(3, 11)], [135, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(b.subarray(3 + ND_TARGET, 3 + ND_TARGET + 16), B);
  assert.deepEqual([...b.subarray(27, 35)], [1, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
  assert.equal(b[2], 0xee);
  assert.equal(b[35], 0xee);
  assert.ok(ndOptionsValid(b, 3 + NS_LEN, 3 + n));
  assert.equal(ndFindOption(b, 3 + NS_LEN, 3 + n, OPT_SOURCE_LLA), 27);
  assert.equal(ndFindOption(b, 3 + NS_LEN, 3 + n, OPT_TARGET_LLA), -1);
});

test('NA flags, RS, Redirect', () => {
  const b = new Uint8Array(64).fill(0xff);
  assert.equal(writeNa(b, 0, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE | 0x1f, A, 0), NA_LEN);
  assert.deepEqual([...b.subarray(0, 8)], [136, 0, 0, 0, 0x60, 0, 0, 0]);
  assert.deepEqual(b.subarray(8, 24), A);
  b.fill(0xff);
  assert.equal(writeRs(b, 0), RS_LEN);
  assert.deepEqual([...b.subarray(0, 8)], [133, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(writeRedirect(b, 0, A, 0, B, 0), REDIRECT_LEN);
  assert.equal(b[0], 137);
  assert.deepEqual(b.subarray(ND_TARGET, ND_TARGET + 16), A);
  assert.deepEqual(b.subarray(REDIRECT_DEST, REDIRECT_DEST + 16), B);
});

test('RA with prefix, MTU and RDNSS options reads back', () => {
  const b = new Uint8Array(200);
  let n = writeRa(b, 0, 64, RA_FLAG_OTHER, 1800, 30000, 1000);
  assert.equal(n, RA_LEN);
  n += writeLlaOption(b, n, OPT_SOURCE_LLA, MAC, 0);
  const pfx = n;
  n += writePrefixOption(b, n, B, 0, 64, PREFIX_FLAG_ONLINK | PREFIX_FLAG_AUTO, 86400, ND_INFINITE);
  const mtu = n;
  n += writeMtuOption(b, n, 1480);
  const dns = new Uint8Array(32);
  dns.set(B, 0);
  dns.set(A, 16);
  const rd = n;
  n += writeRdnssOption(b, n, 600, dns, 0, 2);
  assert.equal(n, 16 + 8 + 32 + 8 + 40);
  assert.equal(b[0], 134);
  assert.equal(b[4], 64);
  assert.equal(b[5], 0x40);
  assert.equal(raRouterLifetime(b, 0), 1800);
  assert.equal(raReachableTime(b, 0), 30000);
  assert.equal(raRetransTimer(b, 0), 1000);
  assert.ok(ndOptionsValid(b, RA_LEN, n));
  assert.equal(ndFindOption(b, RA_LEN, n, OPT_PREFIX_INFO), pfx);
  assert.equal(b[pfx + 1], 4);
  assert.equal(b[pfx + PREFIX_LENGTH], 64);
  assert.equal(b[pfx + PREFIX_FLAGS], 0xc0);
  assert.equal(getU32(b, pfx + PREFIX_VALID), 86400);
  assert.equal(getU32(b, pfx + PREFIX_PREFERRED), ND_INFINITE);
  assert.deepEqual(b.subarray(pfx + PREFIX_PREFIX, pfx + PREFIX_PREFIX + 16), B);
  assert.equal(ndFindOption(b, RA_LEN, n, OPT_MTU), mtu);
  assert.equal(getU32(b, mtu + 4), 1480);
  assert.equal(ndFindOption(b, RA_LEN, n, OPT_RDNSS), rd);
  assert.equal(b[rd + 1], 5);
  assert.equal(rdnssCount(b, rd), 2);
  assert.equal(getU32(b, rd + RDNSS_LIFETIME), 600);
  assert.deepEqual(b.subarray(rd + RDNSS_ADDRS + 16, rd + RDNSS_ADDRS + 32), A);
  // Walk visits each option once, in order.
  const seen: number[] = [];
  for (let o = RA_LEN; o < n; o = ndNextOption(b, o)) seen.push(b[o]);
  assert.deepEqual(seen, [OPT_SOURCE_LLA, OPT_PREFIX_INFO, OPT_MTU, OPT_RDNSS]);
});

test('options: zero length, truncation and overrun are invalid (§7.1)', () => {
  const b = new Uint8Array(40);
  writeLlaOption(b, 0, OPT_SOURCE_LLA, MAC, 0);
  assert.ok(ndOptionsValid(b, 0, 8));
  assert.ok(ndOptionsValid(b, 0, 0), 'no options is valid');
  b[1] = 0;
  assert.ok(!ndOptionsValid(b, 0, 8), 'zero length');
  b[1] = 2;
  assert.ok(!ndOptionsValid(b, 0, 8), 'runs past the end');
  b[1] = 1;
  assert.ok(!ndOptionsValid(b, 0, 9), 'a single trailing byte');
  b[1] = 1;
  b[8] = 25;
  b[9] = 1;
  assert.ok(ndOptionsValid(b, 0, 16));
  assert.equal(rdnssCount(b, 8), 0, 'RDNSS shorter than 3 units carries no address');
  // Random bytes never make the walk overrun or loop.
  let seed = 7;
  for (let i = 0; i < 5000; i++) {
    for (let j = 0; j < 40; j++) { seed = (seed * 1103515245 + 12345) >>> 0; b[j] = seed >>> 24; }
    const end = 8 + (seed % 33);
    if (ndOptionsValid(b, 0, end)) {
      let o = 0;
      let k = 0;
      while (o < end) { o = ndNextOption(b, o); k++; }
      assert.equal(o, end);
      assert.ok(k <= end / 8);
    }
  }
});
