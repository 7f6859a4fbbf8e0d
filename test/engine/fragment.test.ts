import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, MemoryLink, Simulation, type StackConfig } from '../../src/index.js';
import {
  ipv4Frame, udpDatagram, arpFrame, icmpEcho, u16, ip, TestRng, PROTO_UDP, PROTO_ICMP,
} from '../helpers/frames.js';
import { makeFixture, type Fixture, STACK_MAC, STACK_IP, PEER_MAC, PEER_IP, BOUND_PORT } from '../fuzz/fixture.js';

const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 8) * 17 + seed) & 0xff;
  return b;
}

/** A UDP datagram from the peer cut into IP fragments of `chunk` data bytes (a multiple of 8). */
function udpFragments(data: Uint8Array, id: number, chunk: number, src = PEER_IP): Uint8Array[] {
  const d = udpDatagram(src, STACK_IP, 5000, BOUND_PORT, data);
  const out: Uint8Array[] = [];
  for (let off = 0; off < d.length; off += chunk) {
    const end = Math.min(d.length, off + chunk);
    out.push(ipv4Frame(STACK_MAC, PEER_MAC, {
      src, dst: STACK_IP, proto: PROTO_UDP, id, flags: (end < d.length ? 0x2000 : 0) | (off >>> 3), payload: d.slice(off, end),
    }));
  }
  return out;
}

function learnPeer(fx: Fixture): void {
  assert.equal(fx.feed(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP })).length, 1);
}

function recvAll(fx: Fixture): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(70000);
  for (;;) {
    const n = fx.stack.sockets.recvfrom(fx.fd, buf, 0, buf.length, null);
    if (n < 0) return out;
    out.push(buf.slice(0, n));
  }
}

function pair(config: StackConfig = {}, mtuA = 1500, mtuB = 1500): { a: Stack; b: Stack; la: MemoryLink; sim: Simulation } {
  const [la, lb] = MemoryLink.pair({ seed: 3 });
  const common: StackConfig = { udpRecvBufferBytes: 262144, arpPendingFrames: 64, ...config };
  const a = new Stack({ seed: 1, ...common });
  const b = new Stack({ seed: 2, ...common });
  a.addInterface(la, { address: '10.0.0.1/24', mtu: mtuA });
  b.addInterface(lb, { address: '10.0.0.2/24', mtu: mtuB });
  return { a, b, la, sim: new Simulation([a, b]) };
}

function udpRoundTrip(from: Stack, to: Stack, toIp: string, sim: Simulation, sizes: number[], seed: number): void {
  const srv = to.sockets.socket('udp');
  assert.equal(to.sockets.bind(srv, 0, 4000), 0);
  const cli = from.sockets.socket('udp');
  const buf = new Uint8Array(65536);
  for (const n of sizes) {
    const data = payload(n, seed + n);
    assert.equal(from.sockets.sendto(cli, data, 0, n, toIp, 4000), n, `send ${n}`);
    sim.advance(5);
    const got = to.sockets.recvfrom(srv, buf, 0, buf.length, null);
    assert.equal(got, n, `datagram of ${n} bytes arrived whole`);
    assert.ok(Buffer.from(buf.buffer, 0, n).equals(Buffer.from(data)), `datagram of ${n} bytes byte-exact`);
  }
  to.sockets.close(srv);
  from.sockets.close(cli);
}

test('UDP datagrams of 1473..65507 bytes round-trip between two stacks as fragments, both ways', () => {
  const { a, b, sim } = pair();
  const rng = new TestRng(99);
  const sizes = [1473, 1480, 1481, 2953, 2960, 4000, 8000, 16384, 32768, 65507];
  for (let i = 0; i < 10; i++) sizes.push(rng.range(1473, 65507));
  udpRoundTrip(a, b, '10.0.0.2', sim, sizes, 1);
  udpRoundTrip(b, a, '10.0.0.1', sim, sizes, 2);
  assert.equal(b.stats.ip.reassembled, sizes.length);
  assert.equal(a.stats.ip.reassembled, sizes.length);
  assert.equal(a.stats.ip.fragmentedOut, sizes.length);
  // 65507 + 8 + 20 bytes at MTU 1500: 44 fragments of 1480 and one of 395.
  assert.ok(a.stats.ip.fragmentsOut >= 45);
  assert.equal(a.reassemblyBusy + b.reassemblyBusy, 0, 'every slot freed');
  for (const s of [a, b]) {
    assert.equal(s.stats.ip.fragmentsDropped, 0);
    assert.equal(s.stats.ip.reassemblyOverlaps, 0);
  }
});

test('fragment sizes follow each side\'s MTU (576 and 1000), 8-byte aligned', () => {
  const { a, b, sim } = pair({}, 576, 1000);
  udpRoundTrip(a, b, '10.0.0.2', sim, [549, 1000, 5000, 20000], 5);
  udpRoundTrip(b, a, '10.0.0.1', sim, [973, 5000, 20000], 6);
  assert.equal(a.reassemblyBusy + b.reassemblyBusy, 0);
});

test('an 8000-byte ping is answered (the reply is fragmented too); loopback datagrams are fragmented and reassembled', async () => {
  const { a, b, sim } = pair();
  const rtt = await sim.until(a.ping('10.0.0.2', { size: 8000 }));
  assert.ok(rtt >= 0);
  assert.equal(b.stats.icmp.echoRepliesOut, 1);
  assert.equal(b.stats.ip.fragmentedOut, 1, 'the reply was fragmented');
  assert.equal(a.stats.ip.reassembled, 1);
  assert.equal(b.stats.ip.reassembled, 1);
  // To our own address: through the loopback queue (8 slots; 6 fragments).
  udpRoundTrip(a, a, '10.0.0.1', sim, [8000], 9);
  assert.equal(a.stats.ip.reassembled, 2);
});

test('reassembly accepts fragments in any order and ignores exact duplicates', () => {
  const fx = makeFixture(4);
  learnPeer(fx);
  const rng = new TestRng(1234);
  for (let round = 0; round < 30; round++) {
    const data = payload(rng.range(100, 6000), round);
    // Always at least two fragments (a whole datagram is no fragment: its duplicates are delivered twice).
    const frags = udpFragments(data, 0x1000 + round, 8 * rng.range(1, Math.min(185, (data.length + 7) >>> 3)));
    // Shuffle, then add a few exact duplicates at random places.
    for (let i = frags.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [frags[i], frags[j]] = [frags[j], frags[i]];
    }
    const dups = rng.int(3);
    // Duplicates arrive before the datagram completes (a complete set arriving again is a new datagram).
    // The last fragment is never duplicated, so the datagram completes with it.
    for (let k = 0; k < dups; k++) frags.splice(rng.int(frags.length - 1), 0, frags[rng.int(frags.length - 1)]);
    fx.feed(...frags);
    const got = recvAll(fx);
    assert.equal(got.length, 1, `round ${round}: one datagram`);
    assert.ok(Buffer.from(got[0]).equals(Buffer.from(data)), `round ${round}: byte-exact`);
  }
  assert.equal(fx.stack.stats.ip.reassembled, 30);
  assert.ok(fx.stack.stats.ip.fragmentDuplicates > 0);
  assert.equal(fx.stack.reassemblyBusy, 0);
});

test('overlapping fragments drop the whole datagram (RFC 5722 spirit); a differing "duplicate" counts as an overlap', () => {
  const fx = makeFixture(5);
  learnPeer(fx);
  const d = udpDatagram(PEER_IP, STACK_IP, 5000, BOUND_PORT, payload(2992, 1));
  const frag = (off: number, end: number, more: boolean, id = 7, bytes = d.slice(off, end)): Uint8Array =>
    ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: PROTO_UDP, id, flags: (more ? 0x2000 : 0) | (off >>> 3), payload: bytes });
  // [0, 1480) then [1472, 3000): 8 bytes overlap.
  fx.feed(frag(0, 1480, true), frag(1472, 3000, false));
  assert.equal(recvAll(fx).length, 0);
  assert.equal(fx.stack.stats.ip.reassemblyOverlaps, 1);
  assert.equal(fx.stack.reassemblyBusy, 0, 'the datagram is gone');
  // The remaining fragments of the dropped datagram start a new one that never completes... unless resent whole.
  // Same units, different bytes (a "teardrop"-style rewrite): overlap, dropped.
  const evil = d.slice(0, 1480);
  evil[100] ^= 0xff;
  fx.feed(frag(0, 1480, true, 8), frag(0, 1480, true, 8, evil));
  assert.equal(fx.stack.stats.ip.reassemblyOverlaps, 2);
  // Two last fragments with different ends.
  fx.feed(frag(1480, 3000, false, 9), frag(1480, 2000, false, 9));
  assert.equal(fx.stack.stats.ip.reassemblyOverlaps, 3);
  // A fragment beyond a known end.
  fx.feed(frag(1480, 2000, false, 10), frag(2000, 2400, true, 10));
  assert.equal(fx.stack.stats.ip.reassemblyOverlaps, 4);
  assert.equal(fx.stack.reassemblyBusy, 0);
  // A clean datagram still goes through afterwards.
  fx.feed(frag(0, 1480, true, 11), frag(1480, 3000, false, 11));
  const got = recvAll(fx);
  assert.equal(got.length, 1);
  assert.ok(Buffer.from(got[0]).equals(Buffer.from(d.subarray(8))));
});

test('tiny and oversized fragments are dropped; fragments of a ping of death never reach 65535', () => {
  const fx = makeFixture(6);
  const tiny = ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: PROTO_UDP, id: 1, flags: 0x2000, payload: new Uint8Array(0) });
  fx.feed(tiny);
  const pod = ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: PROTO_ICMP, id: 2, flags: 8189, payload: new Uint8Array(100) });
  fx.feed(pod);
  assert.equal(fx.stack.stats.ip.fragmentsMalformed, 1);
  assert.equal(fx.stack.stats.ip.fragmentsTooBig, 1);
  assert.equal(fx.stack.reassemblyBusy, 0);
});

test('reassembly timeout: ICMP time exceeded (code 1) only when fragment 0 arrived; the slot is freed', () => {
  const fx = makeFixture(7, { ipReassemblyTimeoutMs: 30000 });
  learnPeer(fx);
  const frags = udpFragments(payload(4000, 3), 0x55, 1480);
  fx.feed(frags[0], frags[2]); // fragment 1 never comes
  assert.equal(fx.stack.reassemblyBusy, 1);
  // IPv4 only: neighbour discovery's own IPv6 timers (DAD, router solicitations) run meanwhile.
  assert.equal(fx.advance(29000).filter((f) => f[12] === 0x08 && f[13] === 0x00).length, 0, 'nothing before the timeout');
  const out = fx.advance(1000);
  assert.equal(fx.stack.stats.ip.reassemblyTimeouts, 1);
  assert.equal(fx.stack.reassemblyBusy, 0);
  assert.equal(out.length, 1, 'one ICMP error');
  const f = out[0];
  assert.equal(f[14 + 9], PROTO_ICMP);
  assert.equal(f[34], 11, 'time exceeded');
  assert.equal(f[35], 1, 'code 1: reassembly');
  // The quote is fragment 0's header (id 0x55, MF, offset 0) and the UDP header.
  assert.equal(u16(f, 42 + 4), 0x55);
  assert.equal(u16(f, 42 + 6), 0x2000);
  assert.equal(u16(f, 42 + 20 + 2), BOUND_PORT);
  // Without fragment 0: silently discarded.
  fx.feed(frags[1], frags[2]);
  assert.equal(fx.advance(30000).filter((f) => f[12] === 0x08 && f[13] === 0x00).length, 0);
  assert.equal(fx.stack.stats.ip.reassemblyTimeouts, 2);
  assert.equal(fx.stack.stats.icmp.errorsOut, 1);
});

test('slot exhaustion evicts the oldest incomplete datagram, counted', () => {
  const fx = makeFixture(8, { ipReassemblySlots: 2 });
  learnPeer(fx);
  const a = udpFragments(payload(3000, 1), 1, 1480);
  const b = udpFragments(payload(3000, 2), 2, 1480);
  const c = udpFragments(payload(3000, 3), 3, 1480);
  fx.feed(a[0], b[0], c[0]); // c evicts a
  assert.equal(fx.stack.stats.ip.reassemblyEvicted, 1);
  fx.feed(c[1], c[2], a[1], a[2]);
  // c completes; a's remaining fragments start a new datagram (evicting b) that never completes.
  const got = recvAll(fx);
  assert.equal(got.length, 1);
  assert.equal(fx.stack.stats.ip.reassemblyEvicted, 1, 'c freed its slot on completion');
  assert.equal(fx.stack.reassemblyBusy, 2, 'b and the rest of a wait for their timeout');
  assert.ok(Buffer.from(got[0]).equals(Buffer.from(payload(3000, 3))));
});

test('a fragment storm (random, overlapping, never complete) leaves other traffic working and memory unchanged', async () => {
  const { a, b, la, sim } = pair({ ipReassemblyTimeoutMs: 2000 });
  const memoryBefore = JSON.stringify(b.memory);
  const bMac = b.interfaceList()[0].mac;
  const aMac = a.interfaceList()[0].mac;
  const rng = new TestRng(0x5eed);
  await sim.until(a.ping('10.0.0.2'));
  const srv = b.sockets.socket('udp');
  assert.equal(b.sockets.bind(srv, 0, 4000), 0);
  const cli = a.sockets.socket('udp');
  const buf = new Uint8Array(65536);
  let legitOk = 0;
  let pings = 0;
  let stormFrames = 0;
  for (let ms = 0; ms < 3000; ms++) {
    // 20 junk fragments per ms from a few spoofed neighbours, ids from a small space so they collide and overlap.
    for (let k = 0; k < 20; k++) {
      const off = rng.int(64) * 8;
      const len = 8 * rng.range(1, 60);
      const frame = ipv4Frame(bMac, aMac, {
        src: `10.0.0.${rng.range(100, 103)}`, dst: '10.0.0.2', proto: rng.pick([PROTO_UDP, PROTO_ICMP, 6]), id: rng.int(64),
        flags: 0x2000 | (off >>> 3), payload: rng.bytes(len),
      });
      la.transmit(frame, 0, frame.length, sim.now);
      stormFrames++;
    }
    if (ms % 50 === 0) {
      const data = payload(rng.range(1500, 9000), ms);
      assert.equal(a.sockets.sendto(cli, data, 0, data.length, '10.0.0.2', 4000), data.length);
      sim.advance(1);
      const n = b.sockets.recvfrom(srv, buf, 0, buf.length, null);
      if (n === data.length && Buffer.from(buf.buffer, 0, n).equals(Buffer.from(data))) legitOk++;
      continue;
    }
    if (ms % 100 === 25) {
      await sim.until(a.ping('10.0.0.2', { timeoutMs: 500 }));
      pings++;
    }
    sim.advance(1);
  }
  assert.equal(legitOk, 60, 'every fragmented datagram got through the storm');
  assert.equal(pings, 30);
  const st = b.stats.ip;
  assert.ok(st.reassemblyEvicted > 0, 'slots were exhausted');
  assert.ok(st.reassemblyOverlaps > 0, 'overlaps were seen');
  assert.ok(st.fragmentsIn + st.fragmentsDropped + st.fragmentDuplicates >= stormFrames);
  sim.advance(5000);
  assert.equal(b.reassemblyBusy, 0, 'every slot freed after the timeout');
  assert.ok(st.reassemblyTimeouts > 0);
  assert.equal(JSON.stringify(b.memory), memoryBefore);
  // And normal traffic after the storm.
  await sim.until(a.ping('10.0.0.2', { size: 8000 }));
});

test('an ICMP echo in fragments sent by hand is reassembled and answered in fragments', () => {
  const fx = makeFixture(9);
  learnPeer(fx);
  const msg = icmpEcho(8, 0x77, 1, payload(3000, 4));
  const frames: Uint8Array[] = [];
  for (let off = 0; off < msg.length; off += 1480) {
    const end = Math.min(msg.length, off + 1480);
    frames.push(ipv4Frame(STACK_MAC, PEER_MAC, {
      src: PEER_IP, dst: STACK_IP, proto: PROTO_ICMP, id: 99, flags: (end < msg.length ? 0x2000 : 0) | (off >>> 3), payload: msg.slice(off, end),
    }));
  }
  const out = fx.feed(...frames.reverse());
  assert.equal(out.length, 3, 'three reply fragments');
  let total = 0;
  for (const f of out) {
    assert.equal(u16(f, 12), 0x0800);
    assert.equal(f[14 + 9], PROTO_ICMP);
    assert.equal(u16(f, 14 + 12) >>> 0, ip(STACK_IP) >>> 16);
    total += u16(f, 16) - 20;
  }
  assert.equal(total, msg.length);
  assert.equal(u16(out[0], 20), 0x2000, 'first: MF, offset 0');
  assert.equal(u16(out[2], 20) & 0x2000, 0, 'last: no MF');
});
