/**
 * Hand-made bad (and good) frames fed to a single stack through a FrameTap:
 * each class of bad input must be dropped silently (nothing transmitted) and
 * counted under exactly its named counter; good input must be answered
 * byte-exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, PROTO_ICMP, PROTO_UDP, arpFrame, arpPacket, ethFrame, hex,
  icmpEcho, icmpMessage, ip, ipv4Frame, ipv4Packet, refChecksum, u16, udpDatagram, type Ipv4Fields,
} from '../helpers/frames.js';
import {
  BOUND_PORT, CLOSED_PORT, OTHER_MAC, PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, SUBNET_BROADCAST, delta, dropDelta, makeFixture,
  snapshot, type Counters, type Fixture,
} from './fixture.js';

const PAYLOAD = Uint8Array.from([0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x77, 0x69, 0x72, 0x65, 0x21]);

function udpFrame(over: Partial<Ipv4Fields> = {}, udp: Uint8Array | null = null, ethDst = STACK_MAC, pad = true): Uint8Array {
  const src = over.src ?? PEER_IP;
  const dst = over.dst ?? STACK_IP;
  return ipv4Frame(ethDst, PEER_MAC, {
    src, dst, proto: PROTO_UDP, id: 0x4242, ttl: 64,
    payload: udp ?? udpDatagram(src, dst, 5000, BOUND_PORT, PAYLOAD),
    ...over,
  }, pad);
}

function pingFrame(over: Partial<Ipv4Fields> = {}, msg: Uint8Array | null = null, ethDst = STACK_MAC): Uint8Array {
  return ipv4Frame(ethDst, PEER_MAC, {
    src: PEER_IP, dst: STACK_IP, proto: PROTO_ICMP, id: 0x4343, ttl: 64,
    payload: msg ?? icmpEcho(8, 0x1234, 1, PAYLOAD), ...over,
  });
}

/** Change a 16-bit checksum at `o` to a value that is definitely wrong (not 0, not its ones'-complement twin). */
function breakChecksum(f: Uint8Array, o: number): Uint8Array {
  const old = u16(f, o);
  let v = old ^ 0x0101;
  if (v === 0 || v === 0xffff || old === 0 || old === 0xffff) v = old === 0x1234 ? 0x4321 : 0x1234;
  f[o] = v >>> 8;
  f[o + 1] = v & 0xff;
  return f;
}

function truncated(f: Uint8Array, len: number): Uint8Array {
  return f.slice(0, len);
}

/** Put the fixture in a state where the stack knows the peer's MAC, so replies go out at once. */
function learnPeer(fx: Fixture): void {
  const out = fx.feed(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }));
  assert.equal(out.length, 1, 'ARP reply to the priming request');
}

interface BadCase {
  name: string;
  frame: () => Uint8Array;
  drop: Counters;
}

const badCases: BadCase[] = [
  // Ethernet
  ...[0, 1, 6, 13].map((n) => ({ name: `runt frame of ${n} bytes`, frame: () => new Uint8Array(n).fill(0xff), drop: { 'eth.runt': 1 } })),
  { name: 'frame to another unicast MAC', frame: () => udpFrame({}, null, OTHER_MAC), drop: { 'eth.notForUs': 1 } },
  { name: 'frame to a multicast MAC', frame: () => udpFrame({}, null, '01:00:5e:00:00:01'), drop: { 'eth.notForUs': 1 } },
  // 0x86dd is IPv6 now: an IPv4 packet under it is a bad IPv6 version.
  {
    name: 'IPv4 packet under the IPv6 ethertype',
    frame: () => ethFrame(STACK_MAC, PEER_MAC, 0x86dd, ipv4Packet({ src: PEER_IP, dst: STACK_IP, proto: 17, payload: PAYLOAD })),
    drop: { 'ip6.badVersion': 1 },
  },
  ...[0x0000, 0x8100, 0x88cc, 0x0801].map((type) => ({
    name: `unknown ethertype 0x${type.toString(16)}`,
    frame: () => ethFrame(STACK_MAC, PEER_MAC, type, ipv4Packet({ src: PEER_IP, dst: STACK_IP, proto: 17, payload: PAYLOAD })),
    drop: { 'eth.unknownType': 1 },
  })),
  // IPv4 header
  { name: 'bad IP header checksum', frame: () => breakChecksum(udpFrame(), 24), drop: { 'ip.badChecksum': 1 } },
  { name: 'IP header with a flipped TTL bit (checksum no longer matches)', frame: () => { const f = udpFrame(); f[22] ^= 0x10; return f; }, drop: { 'ip.badChecksum': 1 } },
  ...[0, 1, 19].map((n) => ({
    name: `truncated IP (${n} bytes after Ethernet)`,
    frame: () => truncated(udpFrame({}, null, STACK_MAC, false), 14 + n),
    drop: { 'ip.truncated': 1 },
  })),
  ...[0, 6, 15].map((v) => ({ name: `IP version ${v}`, frame: () => udpFrame({ version: v }), drop: { 'ip.badVersion': 1 } })),
  ...[0, 1, 4].map((ihl) => ({ name: `IHL ${ihl}`, frame: () => udpFrame({ ihl }), drop: { 'ip.badHeaderLength': 1 } })),
  { name: 'IHL 15 beyond the frame', frame: () => udpFrame({ ihl: 15 }, udpDatagram(PEER_IP, STACK_IP, 1, BOUND_PORT, new Uint8Array(0)), STACK_MAC, false), drop: { 'ip.badHeaderLength': 1 } },
  { name: 'total length one beyond the frame', frame: () => udpFrame({ totalLength: 20 + 8 + PAYLOAD.length + 1 }, null, STACK_MAC, false), drop: { 'ip.badTotalLength': 1 } },
  { name: 'total length 1500 in a 60-byte frame', frame: () => udpFrame({ totalLength: 1500 }), drop: { 'ip.badTotalLength': 1 } },
  { name: 'total length below the header length', frame: () => udpFrame({ totalLength: 19 }), drop: { 'ip.badTotalLength': 1 } },
  // Fragments: a valid one is held for reassembly (see test/engine/fragment.test.ts), bad ones dropped.
  { name: 'fragment: MF set, 16 bytes at offset 16 (held)', frame: () => udpFrame({ flags: 0x2000 | 2 }, new Uint8Array(16)), drop: { 'ip.fragmentsIn': 1 } },
  { name: 'fragment: last fragment with DF and offset (held)', frame: () => udpFrame({ flags: 0x4000 | 0x00b9 }), drop: { 'ip.fragmentsIn': 1 } },
  { name: 'fragment: MF set, length not a multiple of 8', frame: () => udpFrame({ flags: 0x2000 }, new Uint8Array(13)), drop: { 'ip.fragmentsDropped': 1, 'ip.fragmentsMalformed': 1 } },
  { name: 'fragment: reaching beyond 65535 bytes', frame: () => udpFrame({ flags: 0x1fff }, new Uint8Array(16)), drop: { 'ip.fragmentsDropped': 1, 'ip.fragmentsTooBig': 1 } },
  { name: 'fragment: tiny first TCP fragment (16 bytes)', frame: () => udpFrame({ flags: 0x2000, proto: 6 }, new Uint8Array(16)), drop: { 'ip.fragmentsDropped': 1, 'ip.fragmentsTiny': 1 } },
  { name: 'fragment: TCP fragment at offset 8 (RFC 1858)', frame: () => udpFrame({ flags: 0x2000 | 1, proto: 6 }, new Uint8Array(16)), drop: { 'ip.fragmentsDropped': 1, 'ip.fragmentsTiny': 1 } },
  ...['127.0.0.1', '224.0.0.1', STACK_IP, '0.1.2.3', '240.0.0.1', '255.255.255.255', SUBNET_BROADCAST, '239.255.255.250'].map((src) => ({
    name: `martian source ${src}`, frame: () => udpFrame({ src }), drop: { 'ip.martianSource': 1 },
  })),
  { name: 'unicast IP in a link-layer broadcast frame', frame: () => udpFrame({}, null, BROADCAST_MAC), drop: { 'ip.notForUs': 1 } },
  { name: 'IP to another host on the subnet', frame: () => udpFrame({ dst: '10.0.0.3' }), drop: { 'ip.notForUs': 1 } },
  { name: 'IP to 0.0.0.0', frame: () => udpFrame({ dst: '0.0.0.0' }), drop: { 'ip.notForUs': 1 } },
  { name: 'IP to a multicast group we did not join', frame: () => udpFrame({ dst: '224.0.0.251' }), drop: { 'ip.notForUs': 1 } },
  // UDP
  { name: 'UDP bad checksum', frame: () => breakChecksum(udpFrame(), 14 + 20 + 6), drop: { 'udp.badChecksum': 1 } },
  { name: 'UDP payload bit flip under a correct IP header', frame: () => { const f = udpFrame(); f[14 + 28 + 3] ^= 0x04; return f; }, drop: { 'udp.badChecksum': 1 } },
  { name: 'UDP checksum over the wrong pseudo-header (other source)', frame: () => udpFrame({}, udpDatagram('10.0.0.3', STACK_IP, 5000, BOUND_PORT, PAYLOAD)), drop: { 'udp.badChecksum': 1 } },
  { name: 'UDP length > IP payload', frame: () => udpFrame({}, udpDatagram(PEER_IP, STACK_IP, 5000, BOUND_PORT, PAYLOAD, { length: 8 + PAYLOAD.length + 1 })), drop: { 'udp.malformed': 1 } },
  { name: 'UDP length 65535', frame: () => udpFrame({}, udpDatagram(PEER_IP, STACK_IP, 5000, BOUND_PORT, PAYLOAD, { length: 65535 })), drop: { 'udp.malformed': 1 } },
  { name: 'UDP length < 8', frame: () => udpFrame({}, udpDatagram(PEER_IP, STACK_IP, 5000, BOUND_PORT, PAYLOAD, { length: 7 })), drop: { 'udp.malformed': 1 } },
  { name: 'UDP header cut short by the IP total length', frame: () => udpFrame({}, Uint8Array.from([0x13, 0x88, 0x1e])), drop: { 'udp.malformed': 1 } },
  // ICMP
  { name: 'ICMP bad checksum', frame: () => breakChecksum(pingFrame(), 14 + 20 + 2), drop: { 'icmp.badChecksum': 1 } },
  { name: 'ICMP payload bit flip', frame: () => { const f = pingFrame(); f[14 + 28 + 5] ^= 0x80; return f; }, drop: { 'icmp.badChecksum': 1 } },
  { name: 'ICMP shorter than its header', frame: () => pingFrame({}, Uint8Array.from([8, 0, 0xf7, 0xff])), drop: { 'icmp.malformed': 1 } },
  // ARP
  { name: 'ARP with hardware type 6', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP, htype: 6 }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP with protocol type IPv6', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP, ptype: 0x86dd }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP with hardware length 8', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP, hlen: 8 }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP with protocol length 16', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP, plen: 16 }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP operation 3', frame: () => arpFrame(BROADCAST_MAC, { oper: 3, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP operation 0', frame: () => arpFrame(BROADCAST_MAC, { oper: 0, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }), drop: { 'arp.malformed': 1 } },
  { name: 'ARP truncated to 27 bytes', frame: () => truncated(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }, false), 14 + 27), drop: { 'arp.malformed': 1 } },
  { name: 'ARP request with a multicast sender MAC', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: '01:00:5e:00:00:01', spa: PEER_IP, tpa: STACK_IP }), drop: { 'arp.requestsIn': 1, 'arp.malformed': 1 } },
  { name: 'ARP request claiming our address (conflict)', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: STACK_IP, tpa: STACK_IP }), drop: { 'arp.requestsIn': 1, 'arp.conflicts': 1 } },
  { name: 'ARP carrying our own MAC (looped back)', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: STACK_MAC, spa: '10.0.0.7', tpa: STACK_IP }), drop: { 'arp.requestsIn': 1, 'arp.ignored': 1 } },
  { name: 'unsolicited ARP reply about an unknown host, for another host', frame: () => arpFrame(BROADCAST_MAC, { oper: 2, sha: '02:00:00:00:00:33', spa: '10.0.0.33', tha: '02:00:00:00:00:44', tpa: '10.0.0.44' }), drop: { 'arp.repliesIn': 1, 'arp.ignored': 1 } },
  { name: 'ARP request for another host from an unknown host', frame: () => arpFrame(BROADCAST_MAC, { oper: 1, sha: '02:00:00:00:00:33', spa: '10.0.0.33', tpa: '10.0.0.44' }), drop: { 'arp.requestsIn': 1, 'arp.ignored': 1 } },
];

for (const c of badCases) {
  test(`bad input: ${c.name} -> ${Object.keys(c.drop).join(' + ')}`, () => {
    const fx = makeFixture(1);
    const entries = fx.stack.arp.entries();
    const before = snapshot(fx.stack);
    const frame = c.frame();
    const out = fx.feed(frame);
    const after = snapshot(fx.stack);
    assert.deepEqual(dropDelta(before, after), c.drop, `frame ${hex(frame)}`);
    assert.equal(after['eth.rxFrames'] - before['eth.rxFrames'], 1);
    assert.equal(after['eth.rxBytes'] - before['eth.rxBytes'], frame.length);
    assert.equal(out.length, 0, 'a dropped frame is never answered');
    assert.deepEqual(fx.stack.arp.entries(), entries, 'the neighbour cache is unchanged');
    // A following good datagram is still delivered (the drop left no residue).
    const buf = new Uint8Array(64);
    assert.equal(fx.stack.sockets.recvfrom(fx.fd, buf, 0, 64), -11, 'nothing queued');
    fx.feed(udpFrame());
    assert.equal(fx.stack.sockets.recvfrom(fx.fd, buf, 0, 64), PAYLOAD.length);
  });
}

test('the same frames are handled identically at an odd offset inside a larger buffer', () => {
  for (const c of badCases) {
    const a = makeFixture(2);
    const b = makeFixture(2);
    const frame = c.frame();
    a.feed(frame);
    // Embed the frame between junk that would change the outcome if it were read.
    const host = new Uint8Array(frame.length + 200).fill(0x45);
    host.set(frame, 77);
    b.tap.inject(host, 77, frame.length);
    b.advance(1);
    assert.deepEqual(snapshot(b.stack), snapshot(a.stack), c.name);
  }
});

test('unsolicited ARP reply addressed to us from an unknown host is not learned', () => {
  const fx = makeFixture(3);
  const before = snapshot(fx.stack);
  const out = fx.feed(arpFrame(STACK_MAC, { oper: 2, sha: '02:00:00:00:00:66', spa: '10.0.0.66', tha: STACK_MAC, tpa: STACK_IP }));
  const after = snapshot(fx.stack);
  assert.equal(out.length, 0);
  assert.deepEqual(fx.stack.arp.entries(), [], 'no entry for 10.0.0.66');
  assert.deepEqual(dropDelta(before, after), { 'arp.repliesIn': 1, 'arp.ignored': 1 });
});

test('ARP request for our address is answered byte-exactly and teaches us the asker', () => {
  const fx = makeFixture(4);
  const out = fx.feed(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }));
  assert.equal(out.length, 1);
  const want = arpFrame(PEER_MAC, { oper: 2, sha: STACK_MAC, spa: STACK_IP, tha: PEER_MAC, tpa: PEER_IP }, false);
  assert.ok(out[0].length >= want.length);
  assert.equal(hex(out[0].subarray(0, want.length)), hex(want));
  for (let i = want.length; i < out[0].length; i++) assert.equal(out[0][i], 0, 'padding is zero');
  const e = fx.stack.arp.entries();
  assert.equal(e.length, 1);
  assert.equal(e[0].ip, ip(PEER_IP));
  assert.equal(hex(e[0].mac), hex(Uint8Array.from([2, 0, 0, 0, 0, 2])));
  assert.equal(e[0].state, 'reachable');
  // An RFC 5227 probe (sender 0.0.0.0) is answered but teaches nothing.
  const probe = fx.feed(arpFrame(BROADCAST_MAC, { oper: 1, sha: '02:00:00:00:00:77', spa: '0.0.0.0', tpa: STACK_IP }));
  assert.equal(probe.length, 1);
  assert.equal(hex(probe[0].subarray(0, 42)),
    hex(arpFrame('02:00:00:00:00:77', { oper: 2, sha: STACK_MAC, spa: STACK_IP, tha: '02:00:00:00:00:77', tpa: '0.0.0.0' }, false)));
  assert.equal(fx.stack.arp.entries().length, 1);
});

/** Check an echo reply frame byte-exactly against the request's id/seq/payload. */
function assertEchoReply(frame: Uint8Array, id: number, seq: number, payload: Uint8Array, to = PEER_IP, toMac = PEER_MAC): void {
  const ipId = u16(frame, 14 + 4);
  const flags = u16(frame, 14 + 6);
  assert.equal(flags & ~0x4000, 0, 'reply is not a fragment');
  const want = ipv4Frame(toMac, STACK_MAC, {
    src: STACK_IP, dst: to, proto: PROTO_ICMP, ttl: 64, id: ipId, flags, payload: icmpEcho(0, id, seq, payload),
  }, false);
  assert.equal(hex(frame.subarray(0, want.length)), hex(want));
  assert.ok(frame.subarray(want.length).every((x) => x === 0), 'only zero padding after the packet');
}

test('ICMP echo request is answered byte-exactly (with and without IP options, small and large)', () => {
  const fx = makeFixture(5);
  learnPeer(fx);
  const sizes = [0, 1, 12, 57, 1472];
  for (const [k, n] of sizes.entries()) {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i * 13 + k) & 0xff);
    const options = k % 2 === 1 ? Uint8Array.from([0x01, 0x01, 0x01, 0x00]) : undefined;
    if (options !== undefined && n > 1468) continue;
    const out = fx.feed(pingFrame({ options }, icmpEcho(8, 0xbeef, k + 1, payload)));
    assert.equal(out.length, 1, `size ${n}`);
    assertEchoReply(out[0], 0xbeef, k + 1, payload);
  }
  assert.equal(fx.stack.stats.icmp.echoRepliesOut, sizes.length);
  assert.ok(fx.stack.stats.ip.optionsSkipped >= 1);
});

test('an echo to an unresolved peer waits for ARP, then goes out byte-exactly', () => {
  const fx = makeFixture(6);
  const out = fx.feed(pingFrame({}, icmpEcho(8, 7, 9, PAYLOAD)));
  assert.equal(out.length, 1, 'an ARP request for the peer');
  assert.equal(hex(out[0].subarray(0, 42)),
    hex(arpFrame(BROADCAST_MAC, { oper: 1, sha: STACK_MAC, spa: STACK_IP, tpa: PEER_IP }, false)));
  // The peer answers; the queued echo reply follows.
  const after = fx.feed(arpFrame(STACK_MAC, { oper: 2, sha: PEER_MAC, spa: PEER_IP, tha: STACK_MAC, tpa: STACK_IP }));
  assert.equal(after.length, 1);
  assertEchoReply(after[0], 7, 9, PAYLOAD);
});

test('echo to the subnet broadcast is ignored and counted', () => {
  const fx = makeFixture(7);
  learnPeer(fx);
  const before = snapshot(fx.stack);
  const out = fx.feed(pingFrame({ dst: SUBNET_BROADCAST }, null, BROADCAST_MAC));
  assert.equal(out.length, 0);
  assert.deepEqual(dropDelta(before, snapshot(fx.stack)), { 'icmp.echoRequestsIn': 1, 'icmp.broadcastEchoIgnored': 1 });
});

test('UDP datagrams reach the bound socket through the descriptor API (padded, unpadded, no checksum)', () => {
  const fx = makeFixture(8);
  const buf = new Uint8Array(2000);
  const from = { address: 0, port: 0 };
  const cases: Array<{ frame: Uint8Array; payload: Uint8Array; sport: number }> = [];
  for (const [k, n] of [0, 1, 5, 17, 18, 100, 1472].entries()) {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i ^ (k * 37)) & 0xff);
    const sport = 40000 + k;
    const udp = udpDatagram(PEER_IP, STACK_IP, sport, BOUND_PORT, payload, k === 3 ? { checksum: 'none' } : {});
    cases.push({ frame: udpFrame({}, udp, STACK_MAC, k % 2 === 0), payload, sport });
  }
  for (const c of cases) {
    fx.feed(c.frame);
    const n = fx.stack.sockets.recvfrom(fx.fd, buf, 0, buf.length, from);
    assert.equal(n, c.payload.length, `payload of ${c.payload.length}`);
    assert.equal(hex(buf.subarray(0, n)), hex(c.payload));
    assert.equal(from.address, ip(PEER_IP));
    assert.equal(from.port, c.sport);
  }
  // Subnet- and limited-broadcast datagrams reach the wildcard-bound socket too.
  for (const dst of [SUBNET_BROADCAST, '255.255.255.255']) {
    fx.feed(udpFrame({ dst }, udpDatagram(PEER_IP, dst, 1234, BOUND_PORT, PAYLOAD), BROADCAST_MAC));
    assert.equal(fx.stack.sockets.recvfrom(fx.fd, buf, 0, buf.length, from), PAYLOAD.length, dst);
  }
  assert.equal(fx.stack.stats.udp.delivered, cases.length + 2);
});

test('UDP to a closed port is answered with an ICMP port unreachable quoting the datagram', () => {
  const fx = makeFixture(9);
  learnPeer(fx);
  const udp = udpDatagram(PEER_IP, STACK_IP, 5000, CLOSED_PORT, PAYLOAD);
  const frame = udpFrame({}, udp, STACK_MAC, false);
  const packet = frame.subarray(14);
  const before = snapshot(fx.stack);
  const out = fx.feed(frame);
  assert.equal(fx.stack.stats.udp.noPort - before['udp.noPort'], 1);
  assert.equal(out.length, 1);
  const r = out[0];
  const want = ipv4Frame(PEER_MAC, STACK_MAC, {
    src: STACK_IP, dst: PEER_IP, proto: PROTO_ICMP, ttl: 64, id: u16(r, 18), flags: u16(r, 20),
    payload: icmpMessage(3, 3, 0, packet),
  }, false);
  assert.equal(hex(r.subarray(0, want.length)), hex(want));
  // Not for broadcasts.
  const quiet = fx.feed(udpFrame({ dst: SUBNET_BROADCAST }, udpDatagram(PEER_IP, SUBNET_BROADCAST, 5000, CLOSED_PORT, PAYLOAD), BROADCAST_MAC));
  assert.equal(quiet.length, 0);
});

test('unknown IP protocol is counted and answered with protocol unreachable', () => {
  const fx = makeFixture(10);
  learnPeer(fx);
  const frame = ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: 253, payload: PAYLOAD }, false);
  const before = snapshot(fx.stack);
  const out = fx.feed(frame);
  const d = delta(before, snapshot(fx.stack));
  assert.equal(d['ip.unknownProtocol'], 1);
  assert.equal(d['ip.delivered'], undefined, 'an unknown protocol is not counted as delivered');
  assert.equal(out.length, 1);
  assert.equal(out[0][14 + 9], PROTO_ICMP);
  assert.equal(out[0][14 + 20], 3);
  assert.equal(out[0][14 + 21], 2);
  assert.equal(refChecksum(out[0], 34, out[0].length - 34), 0);
});

test('ICMP errors are never sent about ICMP errors', () => {
  const fx = makeFixture(11);
  learnPeer(fx);
  // A port-unreachable from the peer about some datagram: accepted, never answered.
  const quoted = ipv4Packet({ src: STACK_IP, dst: PEER_IP, proto: PROTO_UDP, payload: udpDatagram(STACK_IP, PEER_IP, 1, 2, PAYLOAD) });
  const out = fx.feed(pingFrame({}, icmpMessage(3, 3, 0, quoted)));
  assert.equal(out.length, 0);
  assert.equal(fx.stack.stats.icmp.errorsIn, 1);
  assert.equal(fx.stack.stats.icmp.errorsOut, 0);
});

test('ethertype constants used by the helpers are the standard ones', () => {
  // Guards the helper itself: a wrong constant would make every test above vacuous.
  assert.equal(ETHERTYPE_IPV4, 0x0800);
  assert.equal(ETHERTYPE_ARP, 0x0806);
  assert.equal(hex(arpPacket({ oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }).subarray(0, 8)), '0001080006040001');
});

test('UDP length shorter than the IP payload: trailing bytes are not part of the datagram', () => {
  const fx = makeFixture(12);
  const udp = udpDatagram(PEER_IP, STACK_IP, 5000, BOUND_PORT, PAYLOAD);
  const withTrailer = new Uint8Array(udp.length + 9).fill(0xcc);
  withTrailer.set(udp);
  fx.feed(udpFrame({}, withTrailer, STACK_MAC, false));
  const buf = new Uint8Array(64);
  assert.equal(fx.stack.sockets.recvfrom(fx.fd, buf, 0, 64), PAYLOAD.length);
  assert.equal(hex(buf.subarray(0, PAYLOAD.length)), hex(PAYLOAD));
});

test('echo from an off-subnet source with no route is dropped quietly', () => {
  const fx = makeFixture(13);
  const before = snapshot(fx.stack);
  const out = fx.feed(pingFrame({ src: '192.0.2.7' }));
  assert.equal(out.length, 0);
  const d = dropDelta(before, snapshot(fx.stack));
  assert.equal(d['icmp.echoRequestsIn'], 1);
  assert.equal(d['ip.noRoute'], 1);
  assert.equal(d['icmp.echoRepliesOut'] ?? 0, 0);
});
