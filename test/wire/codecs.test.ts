import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ethType, ethIsBroadcast, ethIsGroup, macEquals, writeEth, formatMac,
} from '../../src/wire/ethernet.js';
import {
  ARP_LEN, ARP_REPLY, ARP_REQUEST, arpIsEthernetIpv4, arpOper, arpSpa, arpTpa, writeArp,
} from '../../src/wire/arp.js';
import {
  UDP_HLEN, udpChecksumField, udpChecksumOk, udpDstPort, udpLength, udpSrcPort, writeUdp,
} from '../../src/wire/udp.js';
import {
  ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, icmpCode, icmpId, icmpIsError, icmpSeq, icmpType, writeIcmp,
} from '../../src/wire/icmp.js';
import { get16, get32, set16, set32, copyBytes } from '../../src/wire/bytes.js';
import {
  TestRng, arpPacket, ethFrame, hex, icmpEcho, mac, pseudoHeader, refChecksum, seedFromEnv, udpDatagram,
} from '../helpers/frames.js';

const SEED = seedFromEnv('WIRE_SEED', 0xc0dec);

function randomMac(rng: TestRng): Uint8Array {
  return rng.bytes(6);
}

test('bytes: 16/32-bit big-endian round trips and copyBytes (distinct and overlapping)', () => {
  const rng = new TestRng(SEED);
  const b = new Uint8Array(16);
  for (let i = 0; i < 1000; i++) {
    const v16 = rng.int(65536);
    const v32 = rng.u32();
    const o = rng.int(12);
    set16(b, o, v16);
    assert.equal(get16(b, o), v16);
    assert.equal(new DataView(b.buffer).getUint16(o), v16);
    set32(b, o, v32);
    assert.equal(get32(b, o), v32 | 0);
    assert.equal(new DataView(b.buffer).getUint32(o), v32);
  }
  const src = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const dst = new Uint8Array(10);
  copyBytes(src, 2, dst, 3, 4);
  assert.deepEqual([...dst], [0, 0, 0, 3, 4, 5, 6, 0, 0, 0]);
  // Overlapping copies within one array behave like memmove.
  const ov = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  copyBytes(ov, 0, ov, 2, 6);
  assert.deepEqual([...ov], [1, 2, 1, 2, 3, 4, 5, 6]);
  const ov2 = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  copyBytes(ov2, 2, ov2, 0, 6);
  assert.deepEqual([...ov2], [3, 4, 5, 6, 7, 8, 7, 8]);
});

test('ethernet: writeEth matches the independent builder; readers agree', () => {
  const rng = new TestRng(SEED ^ 1);
  for (let iter = 0; iter < 300; iter++) {
    const dst = randomMac(rng);
    const src = randomMac(rng);
    const type = rng.int(65536);
    const off = rng.int(20);
    const b = new Uint8Array(off + 40).fill(0x77);
    const broadcast = iter % 5 === 0;
    // Take the MACs from inside larger arrays to exercise the source offsets.
    const dstHost = new Uint8Array(10);
    dstHost.set(dst, 3);
    const srcHost = new Uint8Array(9);
    srcHost.set(src, 2);
    writeEth(b, off, broadcast ? null : dstHost, 3, srcHost, 2, type);
    const want = ethFrame(broadcast ? 'ff:ff:ff:ff:ff:ff' : dst, src, type, new Uint8Array(0), false);
    assert.equal(hex(b.subarray(off, off + ETH_HLEN)), hex(want));
    assert.equal(b[off + ETH_HLEN], 0x77, 'wrote past the header');
    assert.equal(ethType(b, off), type);
    assert.equal(ethIsBroadcast(b, off), broadcast || dst.every((x) => x === 0xff));
    assert.equal(ethIsGroup(b, off), broadcast || (dst[0] & 1) === 1);
    assert.equal(macEquals(b, off + 6, src, 0), true);
    assert.equal(macEquals(b, off + 6, srcHost, 2), true);
  }
});

test('ethernet: broadcast/group/equality predicates on edge MACs', () => {
  const f = (d: string): Uint8Array => ethFrame(d, '02:00:00:00:00:01', ETHERTYPE_IPV4, new Uint8Array(0));
  assert.equal(ethIsBroadcast(f('ff:ff:ff:ff:ff:ff'), 0), true);
  assert.equal(ethIsBroadcast(f('ff:ff:ff:ff:ff:fe'), 0), false);
  assert.equal(ethIsBroadcast(f('7f:ff:ff:ff:ff:ff'), 0), false);
  assert.equal(ethIsGroup(f('01:00:5e:00:00:01'), 0), true);
  assert.equal(ethIsGroup(f('02:00:5e:00:00:01'), 0), false);
  const a = mac('02:11:22:33:44:55');
  for (let i = 0; i < 6; i++) {
    const b = Uint8Array.from(a);
    b[i] ^= 1;
    assert.equal(macEquals(b, 0, a, 0), false, `byte ${i}`);
  }
  assert.equal(formatMac(mac('0a:0b:0c:d0:e0:ff')), '0a:0b:0c:d0:e0:ff');
  assert.equal(ethType(ethFrame(a, a, ETHERTYPE_ARP, new Uint8Array(0)), 0), 0x0806);
});

test('arp: writeArp matches the independent builder; readers agree', () => {
  const rng = new TestRng(SEED ^ 2);
  for (let iter = 0; iter < 300; iter++) {
    const oper = rng.pick([ARP_REQUEST, ARP_REPLY]);
    const sha = randomMac(rng);
    const tha = iter % 3 === 0 ? null : randomMac(rng);
    const spa = rng.u32();
    const tpa = rng.u32();
    const off = rng.int(30);
    const b = new Uint8Array(off + ARP_LEN + 4).fill(0x33);
    writeArp(b, off, oper, sha, 0, spa, tha, 0, tpa);
    const want = arpPacket({ oper, sha, spa, tha: tha ?? undefined, tpa });
    assert.equal(hex(b.subarray(off, off + ARP_LEN)), hex(want));
    assert.equal(b[off + ARP_LEN], 0x33, 'wrote past the packet');
    assert.equal(arpIsEthernetIpv4(b, off), true);
    assert.equal(arpOper(b, off), oper);
    assert.equal(arpSpa(b, off), spa | 0);
    assert.equal(arpTpa(b, off), tpa | 0);
  }
});

test('arp: arpIsEthernetIpv4 rejects each wrong fixed field', () => {
  const base = { oper: 1, sha: '02:00:00:00:00:02', spa: '10.0.0.2', tpa: '10.0.0.1' };
  assert.equal(arpIsEthernetIpv4(arpPacket(base), 0), true);
  assert.equal(arpIsEthernetIpv4(arpPacket({ ...base, htype: 6 }), 0), false);
  assert.equal(arpIsEthernetIpv4(arpPacket({ ...base, htype: 0x0101 }), 0), false);
  assert.equal(arpIsEthernetIpv4(arpPacket({ ...base, ptype: 0x86dd }), 0), false);
  assert.equal(arpIsEthernetIpv4(arpPacket({ ...base, hlen: 8 }), 0), false);
  assert.equal(arpIsEthernetIpv4(arpPacket({ ...base, plen: 16 }), 0), false);
});

test('udp: writeUdp matches the independent builder (checksum over the pseudo-header)', () => {
  const rng = new TestRng(SEED ^ 3);
  for (let iter = 0; iter < 500; iter++) {
    const n = iter < 10 ? iter : rng.int(1472);
    const payload = rng.bytes(n);
    const src = rng.u32();
    const dst = rng.u32();
    const sport = rng.int(65536);
    const dport = rng.int(65536);
    const off = rng.int(50);
    const b = new Uint8Array(off + UDP_HLEN + n + 3).fill(0x99);
    b.set(payload, off + UDP_HLEN);
    writeUdp(b, off, UDP_HLEN + n, sport, dport, src, dst);
    const want = udpDatagram(src, dst, sport, dport, payload);
    assert.equal(hex(b.subarray(off, off + UDP_HLEN + n)), hex(want), `iter ${iter}`);
    assert.equal(b[off + UDP_HLEN + n], 0x99);
    assert.equal(udpSrcPort(b, off), sport);
    assert.equal(udpDstPort(b, off), dport);
    assert.equal(udpLength(b, off), UDP_HLEN + n);
    assert.notEqual(udpChecksumField(b, off), 0, 'a computed checksum is never sent as 0');
    assert.equal(udpChecksumOk(b, off, UDP_HLEN + n, src, dst), true);
    // Wrong pseudo-header (other source) fails, as does a flipped payload bit.
    assert.equal(udpChecksumOk(b, off, UDP_HLEN + n, (src ^ 0x100) >>> 0, dst), false);
    if (n > 0) {
      b[off + UDP_HLEN + rng.int(n)] ^= 1 << rng.int(8);
      assert.equal(udpChecksumOk(b, off, UDP_HLEN + n, src, dst), false);
    }
  }
});

test('udp: a datagram whose checksum computes to zero is sent as 0xffff and still verifies', () => {
  // Choose the last two payload bytes so that the full sum is 0xffff (checksum 0).
  const src = 0x0a000002;
  const dst = 0x0a000001;
  const payload = Uint8Array.from([1, 2, 3, 4, 0, 0]);
  const probe = udpDatagram(src, dst, 1000, 2000, payload, { checksum: 'none' });
  const ph = pseudoHeader(src, dst, 17, probe.length);
  const all = new Uint8Array(ph.length + probe.length);
  all.set(ph);
  all.set(probe, ph.length);
  // The checksum field is 0 in `probe`; the stored value must make the sum 0xffff.
  const needed = refChecksum(all);
  payload[4] = needed >>> 8;
  payload[5] = needed & 0xff;
  const b = new Uint8Array(UDP_HLEN + payload.length);
  b.set(payload, UDP_HLEN);
  writeUdp(b, 0, b.length, 1000, 2000, src, dst);
  assert.equal(udpChecksumField(b, 0), 0xffff);
  assert.equal(udpChecksumOk(b, 0, b.length, src, dst), true);
  assert.equal(hex(b), hex(udpDatagram(src, dst, 1000, 2000, payload)));
});

test('udp: checksum 0 means none and is accepted', () => {
  const d = udpDatagram('10.0.0.2', '10.0.0.1', 5, 6, Uint8Array.from([9, 9, 9]), { checksum: 'none' });
  assert.equal(udpChecksumField(d, 0), 0);
  assert.equal(udpChecksumOk(d, 0, d.length, 1, 2), true);
});

test('icmp: writeIcmp matches the independent echo builder; readers agree', () => {
  const rng = new TestRng(SEED ^ 4);
  for (let iter = 0; iter < 300; iter++) {
    const n = rng.int(1000);
    const payload = rng.bytes(n);
    const type = rng.pick([ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY]);
    const id = rng.int(65536);
    const seq = rng.int(65536);
    const off = rng.int(40);
    const b = new Uint8Array(off + 8 + n + 2).fill(0x5c);
    b.set(payload, off + 8);
    writeIcmp(b, off, 8 + n, type, 0, id, seq);
    assert.equal(hex(b.subarray(off, off + 8 + n)), hex(icmpEcho(type, id, seq, payload)), `iter ${iter}`);
    assert.equal(b[off + 8 + n], 0x5c);
    assert.equal(icmpType(b, off), type);
    assert.equal(icmpCode(b, off), 0);
    assert.equal(icmpId(b, off), id);
    assert.equal(icmpSeq(b, off), seq);
    assert.equal(refChecksum(b, off, 8 + n), 0);
  }
});

test('icmp: icmpIsError classifies types', () => {
  const errors = new Set([3, 4, 5, 11, 12]);
  for (let t = 0; t < 256; t++) assert.equal(icmpIsError(t), errors.has(t), `type ${t}`);
});
