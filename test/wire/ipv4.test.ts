import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IpCheck, ipv4Check, writeIpv4, ipVersion, ipHeaderLen, ipTotalLen, ipId, ipFragField, ipIsFragment, ipTtl, ipProto,
  ipSrc, ipDst, IP_FLAG_DF, IP_FLAG_MF,
} from '../../src/wire/ipv4.js';
import { TestRng, hex, ip, ipv4Packet, refChecksum, seedFromEnv } from '../helpers/frames.js';
import { formatIpv4 } from '../../src/wire/ipv4addr.js';

const SEED = seedFromEnv('WIRE_SEED', 0x1b4);

function payload(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + 1) & 0xff;
  return p;
}

/** Copy `pkt` into a bigger buffer at `off` surrounded by junk, as packets sit in frames. */
function embed(pkt: Uint8Array, off: number, extra = 0): Uint8Array {
  const b = new Uint8Array(off + pkt.length + extra + 7).fill(0xee);
  b.set(pkt, off);
  return b;
}

const good = ipv4Packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17, ttl: 64, id: 0x1234, flags: IP_FLAG_DF, payload: payload(30) });

test('ipv4Check accepts a good packet, at any offset', () => {
  for (const off of [0, 1, 14, 33]) {
    const b = embed(good, off);
    assert.equal(ipv4Check(b, off, good.length), IpCheck.Ok, `offset ${off}`);
  }
});

test('ipv4Check accepts trailing link padding (avail > total length)', () => {
  const b = embed(good, 14, 40);
  assert.equal(ipv4Check(b, 14, good.length + 40), IpCheck.Ok);
  // A minimal packet padded to a 60-byte frame.
  const small = ipv4Packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17, payload: new Uint8Array(0) });
  const frame = new Uint8Array(60);
  frame.set(small, 14);
  assert.equal(ipv4Check(frame, 14, 46), IpCheck.Ok);
});

test('ipv4Check accepts options (IHL > 5) with a correct checksum', () => {
  const opt = ipv4Packet({
    src: '10.0.0.2', dst: '10.0.0.1', proto: 1, payload: payload(8), options: Uint8Array.from([0x94, 0x04, 0, 0]),
  });
  assert.equal(opt[0], 0x46);
  assert.equal(ipv4Check(opt, 0, opt.length), IpCheck.Ok);
  assert.equal(ipHeaderLen(opt, 0), 24);
  const max = ipv4Packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 1, payload: payload(8), options: new Uint8Array(40) });
  assert.equal(max[0], 0x4f);
  assert.equal(ipv4Check(max, 0, max.length), IpCheck.Ok);
});

test('ipv4Check reports truncation below 20 bytes', () => {
  for (let avail = 0; avail < 20; avail++) {
    assert.equal(ipv4Check(good, 0, avail), IpCheck.Truncated, `avail ${avail}`);
  }
  // Even a completely garbage (or empty) buffer with avail < 20 is only "truncated".
  assert.equal(ipv4Check(new Uint8Array(0), 0, 0), IpCheck.Truncated);
});

test('ipv4Check reports a wrong version', () => {
  for (const v of [0, 1, 5, 6, 15]) {
    const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(4), version: v });
    assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadVersion, `version ${v}`);
  }
});

test('ipv4Check reports a bad header length (IHL < 5 or beyond the data)', () => {
  for (let ihl = 0; ihl < 5; ihl++) {
    const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(40), ihl });
    assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadHeaderLength, `ihl ${ihl}`);
  }
  // IHL 15 = 60 bytes, but only 40 present.
  const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(20), ihl: 15 });
  assert.equal(p.length, 40);
  assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadHeaderLength);
  // IHL 6 with exactly 20 bytes available.
  const q = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: new Uint8Array(0), ihl: 6 });
  assert.equal(ipv4Check(q, 0, 20), IpCheck.BadHeaderLength);
});

test('ipv4Check reports a bad total length (below header, above data)', () => {
  for (const total of [0, 1, 19]) {
    const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(10), totalLength: total });
    assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadTotalLength, `total ${total}`);
  }
  // With options, total must cover the whole header.
  const o = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(10), options: new Uint8Array(8), totalLength: 24 });
  assert.equal(ipv4Check(o, 0, o.length), IpCheck.BadTotalLength);
  for (const extra of [1, 2, 1000, 65535 - 50]) {
    const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(30), totalLength: 50 + extra });
    assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadTotalLength, `total ${50 + extra} > 50`);
  }
  // total == hlen (no payload) is fine.
  const empty = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: new Uint8Array(0) });
  assert.equal(ipv4Check(empty, 0, 20), IpCheck.Ok);
  // The same packet seen with fewer bytes available than it claims.
  assert.equal(ipv4Check(good, 0, good.length - 1), IpCheck.BadTotalLength);
});

test('ipv4Check reports a bad checksum, including a flipped bit anywhere in the header', () => {
  const bad = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: payload(4), checksum: 0x1234 });
  assert.equal(ipv4Check(bad, 0, bad.length), IpCheck.BadChecksum);
  // Flip each bit of the header fields that are not validated before the checksum.
  for (let bit = 0; bit < 160; bit++) {
    const byte = bit >>> 3;
    if (byte <= 3) continue; // version/IHL/total length are checked first
    const p = Uint8Array.from(good);
    p[byte] ^= 1 << (bit & 7);
    assert.equal(ipv4Check(p, 0, p.length), IpCheck.BadChecksum, `bit ${bit}`);
  }
  // Payload bytes are not covered by the header checksum.
  const p = Uint8Array.from(good);
  p[25] ^= 0xff;
  assert.equal(ipv4Check(p, 0, p.length), IpCheck.Ok);
});

test('writeIpv4 produces the same bytes as the independent builder, at random offsets', () => {
  const rng = new TestRng(SEED);
  for (let iter = 0; iter < 500; iter++) {
    const len = rng.int(200);
    const total = 20 + len;
    const id = rng.int(65536);
    const flags = rng.pick([0, IP_FLAG_DF, IP_FLAG_MF, IP_FLAG_MF | 0x0123, 0x1fff]);
    const ttl = rng.int(256);
    const proto = rng.int(256);
    const src = rng.u32();
    const dst = rng.u32();
    const off = rng.int(40);
    const b = new Uint8Array(off + total + 5).fill(0xaa);
    writeIpv4(b, off, total, id, flags, ttl, proto, src, dst);
    const want = ipv4Packet({ src, dst, proto, ttl, id, flags, payload: new Uint8Array(0), totalLength: total });
    assert.equal(hex(b.subarray(off, off + 20)), hex(want), `iter ${iter}`);
    assert.equal(b[off - 1] ?? 0xaa, 0xaa, 'wrote before the offset');
    assert.equal(b[off + 20], 0xaa, 'wrote past the header');
    // The readers return what was written.
    assert.equal(ipVersion(b, off), 4);
    assert.equal(ipHeaderLen(b, off), 20);
    assert.equal(ipTotalLen(b, off), total);
    assert.equal(ipId(b, off), id);
    assert.equal(ipFragField(b, off), flags);
    assert.equal(ipIsFragment(b, off), (flags & 0x3fff) !== 0);
    assert.equal(ipTtl(b, off), ttl);
    assert.equal(ipProto(b, off), proto);
    assert.equal(ipSrc(b, off), src | 0);
    assert.equal(ipDst(b, off), dst | 0);
    assert.equal(refChecksum(b, off, 20), 0);
  }
});

test('ipSrc/ipDst are signed int32 (unboxed) for addresses >= 128.0.0.0, and format back', () => {
  const p = ipv4Packet({ src: '255.255.255.255', dst: '192.168.1.1', proto: 17, payload: new Uint8Array(0) });
  assert.equal(ipSrc(p, 0), -1);
  assert.equal(ipDst(p, 0), ip('192.168.1.1') | 0);
  assert.ok(ipDst(p, 0) < 0);
  assert.equal(formatIpv4(ipDst(p, 0)), '192.168.1.1');
});

test('ipIsFragment: MF or any offset, not DF', () => {
  const cases: Array<[number, boolean]> = [[0, false], [IP_FLAG_DF, false], [IP_FLAG_MF, true], [1, true], [0x1fff, true],
    [IP_FLAG_DF | 8, true], [0x8000, false]];
  for (const [flags, frag] of cases) {
    const p = ipv4Packet({ src: 1, dst: 2, proto: 17, payload: new Uint8Array(0), flags });
    assert.equal(ipIsFragment(p, 0), frag, `flags ${flags.toString(16)}`);
  }
});
