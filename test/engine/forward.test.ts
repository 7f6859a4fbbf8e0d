import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Stack, MemoryLink, Simulation, IP_DONTFRAG, Errno, type StackConfig, type Link, type FrameReceiver,
} from '../../src/index.js';
import { ipv4Frame, udpDatagram, u16, PROTO_UDP } from '../helpers/frames.js';
import { connect, pattern, transfer } from '../tcp/helpers.js';

/** A link wrapper keeping copies of the frames it delivers (to read ICMP messages a stack received). */
class Sniff implements Link {
  readonly received: Uint8Array[] = [];
  constructor(private readonly inner: Link) {}
  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats() { return this.inner.stats; }
  transmit(f: Uint8Array, o: number, l: number, now: number): number { return this.inner.transmit(f, o, l, now); }
  poll(now: number, rx: FrameReceiver): number {
    return this.inner.poll(now, {
      receiveFrame: (f, o, l) => {
        this.received.push(f.slice(o, o + l));
        rx.receiveFrame(f, o, l);
      },
    });
  }
  setWakeup(w: (() => void) | null): void { this.inner.setWakeup(w); }
  close(): void { this.inner.close(); }
}

interface Net {
  a: Stack;
  r: Stack;
  b: Stack;
  sim: Simulation;
  /** A's side of the A-R cable (frames transmitted here reach R as if A sent them). */
  la: MemoryLink;
  sniffA: Sniff;
}

/** A (10.1.0.2) — R (10.1.0.1 | 10.2.0.1) — B (10.2.0.2), R forwarding. */
function net(rConfig: StackConfig = {}, rbMtu = 1500, common: StackConfig = {}): Net {
  const [la, lra] = MemoryLink.pair({ seed: 1 });
  const [lrb, lb] = MemoryLink.pair({ seed: 2 });
  const cfg: StackConfig = { arpReachableMs: 86400000, udpRecvBufferBytes: 131072, ...common };
  const a = new Stack({ seed: 11, ...cfg });
  const r = new Stack({ seed: 12, ipForwarding: true, ...cfg, ...rConfig });
  const b = new Stack({ seed: 13, ...cfg });
  const sniffA = new Sniff(la);
  a.addInterface(sniffA, { address: '10.1.0.2/24', gateway: '10.1.0.1' });
  r.addInterface(lra, { address: '10.1.0.1/24' });
  r.addInterface(lrb, { address: '10.2.0.1/24', mtu: rbMtu });
  b.addInterface(lb, { address: '10.2.0.2/24', gateway: '10.2.0.1', mtu: rbMtu });
  const sim = new Simulation([a, r, b]);
  sim.advance(1);
  return { a, r, b, sim, la, sniffA };
}

function icmpFrom(s: Sniff, type: number, code: number): Uint8Array[] {
  return s.received.filter((f) => u16(f, 12) === 0x0800 && f[23] === 1 && f[34] === type && f[35] === code);
}

test('a router forwards pings both ways and counts per interface; forwarding is off by default', async () => {
  const { a, r, b, sim } = net();
  assert.ok(await sim.until(a.ping('10.2.0.2')) >= 0);
  assert.ok(await sim.until(b.ping('10.1.0.2', { size: 1000 })) >= 0);
  assert.equal(r.interfaces[0].stats.forwarded, 2, 'A->B request and B->A reply arrive on if0');
  assert.equal(r.interfaces[1].stats.forwarded, 2);
  assert.equal(r.stats.ip.forwarded, 4);
  // The TTL went down by one through R.
  const off = net({ ipForwarding: false });
  await assert.rejects(off.sim.until(off.a.ping('10.2.0.2', { timeoutMs: 200 })), { code: 'ETIMEDOUT' });
  assert.equal(off.r.stats.ip.notForUs, 1);
  assert.equal(off.r.stats.ip.forwarded, 0);
});

test('TCP 4 MiB through the router, byte-exact', () => {
  const { a, r, b, sim } = net({}, 1500, { tcpSendBufferBytes: 262144, tcpRecvBufferBytes: 262144 });
  const c = connect(sim, a, b, '10.2.0.2', 80);
  const data = pattern(4 << 20, 3);
  const got = transfer(sim, a, c.cfd, b, c.sfd, data, 120000);
  assert.ok(Buffer.from(got).equals(Buffer.from(data)));
  assert.ok(r.stats.ip.forwarded > 2900, `forwarded ${r.stats.ip.forwarded}`);
  assert.equal(r.stats.ip.forwardDropped, 0);
});

test('TTL 1 expires at the router: ping rejects with ETIME naming the router; TTL 2 gets through', async () => {
  const { a, r, sim, sniffA } = net();
  const err = await sim.until(a.ping('10.2.0.2', { ttl: 1 }).then(() => null, (e: unknown) => e)) as { code: string; message: string };
  assert.equal(err.code, 'ETIME');
  assert.match(err.message, /time exceeded \(code 0\) from 10\.1\.0\.1/);
  assert.equal(r.interfaces[0].stats.ttlExceeded, 1);
  const te = icmpFrom(sniffA, 11, 0);
  assert.equal(te.length, 1);
  assert.equal(u16(te[0], 26), 0x0a01, 'from the router address facing A');
  assert.ok(await sim.until(a.ping('10.2.0.2', { ttl: 2 })) >= 0);
});

test('no route at the router: net unreachable; an unanswered next hop: host unreachable', async () => {
  const { a, r, sim } = net();
  a.addRoute('10.9.0.0/16', '10.1.0.1');
  await assert.rejects(sim.until(a.ping('10.9.9.9')), (e: Error & { code: string }) =>
    e.code === 'ENETUNREACH' && /code 0\) from 10\.1\.0\.1/.test(e.message));
  assert.equal(r.interfaces[0].stats.noRoute, 1);
  // 10.2.0.99 does not exist: R's ARP gives up after its retries and tells A.
  await assert.rejects(sim.until(a.ping('10.2.0.99', { timeoutMs: 10000 })), (e: Error & { code: string }) =>
    e.code === 'EHOSTUNREACH' && /code 1\) from 10\.1\.0\.1/.test(e.message));
  assert.equal(r.interfaces[1].stats.hostUnreachable, 1);
});

test('DF and a smaller egress MTU: fragmentation needed with the next-hop MTU; without DF the router fragments', () => {
  const { a, r, b, sim, sniffA } = net({}, 1000);
  const srv = b.sockets.socket('udp');
  assert.equal(b.sockets.bind(srv, 0, 9000), 0);
  const cli = a.sockets.socket('udp');
  assert.equal(a.sockets.connect(cli, '10.2.0.2', 9000), 0);
  assert.equal(a.sockets.setsockopt(cli, IP_DONTFRAG, 1), 0);
  const data = pattern(1400, 9);
  assert.equal(a.sockets.send(cli, data, 0, data.length), 1400);
  sim.advance(10);
  assert.equal(r.interfaces[0].stats.fragNeeded, 1);
  const fn = icmpFrom(sniffA, 3, 4);
  assert.equal(fn.length, 1);
  assert.equal(u16(fn[0], 34 + 6), 1000, 'next-hop MTU');
  const buf = new Uint8Array(16384);
  assert.equal(a.sockets.recv(cli, buf, 0, buf.length), -Errno.EMSGSIZE, 'the connected socket hears EMSGSIZE');
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, null), -Errno.EAGAIN);
  // Without DF: R fragments (A sends one 1428-byte packet, B reassembles two).
  assert.equal(a.sockets.setsockopt(cli, IP_DONTFRAG, 0), 0);
  assert.equal(a.sockets.send(cli, data, 0, data.length), 1400);
  sim.advance(10);
  assert.equal(a.stats.ip.fragmentedOut, 0);
  assert.equal(r.interfaces[0].stats.fragmented, 1);
  assert.equal(r.stats.ip.fragmentedOut, 1);
  assert.equal(b.stats.ip.reassembled, 1);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, null), 1400);
  assert.ok(Buffer.from(buf.buffer, 0, 1400).equals(Buffer.from(data)));
  // Already-fragmented datagrams are fragmented further (8000 bytes from A in 1480-byte pieces, R cuts to 976).
  const big = pattern(8000, 4);
  assert.equal(a.sockets.send(cli, big, 0, big.length), 8000);
  sim.advance(10);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, null), 8000);
  assert.ok(Buffer.from(buf.buffer, 0, 8000).equals(Buffer.from(big)));
});

test('reverse-path filter: strict drops spoofed sources, loose and off forward them', () => {
  for (const [mode, dropped] of [[1, true], [2, false], [0, false]] as const) {
    const { r, b, sim, la } = net({ ipRpFilter: mode });
    sim.advance(1);
    const srv = b.sockets.socket('udp');
    assert.equal(b.sockets.bind(srv, 0, 7), 0);
    const rMac = r.interfaceList()[0].mac;
    // From A's wire, claiming to come from B's subnet (10.2.0.77).
    const f = ipv4Frame(rMac, '02:00:00:00:aa:aa', {
      src: '10.2.0.77', dst: '10.2.0.2', proto: PROTO_UDP, id: 1, payload: udpDatagram('10.2.0.77', '10.2.0.2', 1234, 7, pattern(10)),
    });
    la.transmit(f, 0, f.length, sim.now);
    sim.advance(5);
    assert.equal(r.interfaces[0].stats.rpFilter, dropped ? 1 : 0, `mode ${mode}`);
    const buf = new Uint8Array(64);
    assert.equal(b.sockets.recvfrom(srv, buf, 0, 64, null), dropped ? -Errno.EAGAIN : 10, `mode ${mode}`);
  }
});

test('broadcasts and martian destinations are never forwarded', () => {
  const { r, sim, la } = net();
  const rMac = r.interfaceList()[0].mac;
  for (const dst of ['10.2.0.255', '255.255.255.255', '224.0.0.9', '127.0.0.1', '0.0.0.0']) {
    const f = ipv4Frame(rMac, '02:00:00:00:aa:aa', {
      src: '10.1.0.2', dst, proto: PROTO_UDP, id: 2, payload: udpDatagram('10.1.0.2', dst, 1, 7, pattern(4)),
    });
    la.transmit(f, 0, f.length, sim.now);
  }
  sim.advance(5);
  // 255.255.255.255 is for R itself (it is a broadcast on if0); the other four are not forwardable.
  assert.equal(r.interfaces[0].stats.notForwardable, 4);
  assert.equal(r.stats.ip.forwarded, 0);
});

test('ICMP errors from the router are rate-limited (token bucket)', async () => {
  const { a, r, sim } = net({ icmpErrorBurst: 3, icmpErrorsPerSecond: 1 });
  const results = await sim.until(Promise.all(Array.from({ length: 8 }, () =>
    a.ping('10.2.0.2', { ttl: 1, timeoutMs: 300 }).then(() => 'ok', (e: { code: string }) => e.code))));
  assert.equal(results.filter((c) => c === 'ETIME').length, 3);
  assert.equal(results.filter((c) => c === 'ETIMEDOUT').length, 5);
  assert.equal(r.stats.icmp.errorsRateLimited, 5);
  assert.equal(r.interfaces[0].stats.ttlExceeded, 8);
});

test('an ICMP error sent while the router fragments (ARP evicts a queued next hop) leaves the fragments not yet sent intact', async () => {
  // R's cache holds two entries: A, and 10.1.0.99 (R's gateway to 10.3.0.0/24, absent) still being
  // resolved with a forwarded 1028-byte packet from A queued for it.
  const { a, r, b, sim, sniffA } = net({ arpCacheSize: 2, arpPendingFrames: 8 }, 400);
  r.addRoute('10.3.0.0/24', '10.1.0.99');
  assert.ok(await sim.until(a.ping('10.1.0.1')) >= 0);
  const srv = b.sockets.socket('udp');
  assert.equal(b.sockets.bind(srv, 0, 9000), 0);
  const cli = a.sockets.socket('udp');
  const lost = pattern(1000, 5);
  assert.equal(a.sockets.sendto(cli, lost, 0, lost.length, '10.3.0.5', 9000), 1000);
  sim.advance(2);
  assert.equal(r.stats.arp.queued, 1);
  // 1400 bytes to B leave R in 376-byte pieces: resolving B evicts 10.1.0.99 while fragment 0 goes out,
  // and R sends A a 576-byte host unreachable quoting the evicted packet before fragments 1.. are sent.
  const data = pattern(1400, 6);
  assert.equal(a.sockets.sendto(cli, data, 0, data.length, '10.2.0.2', 9000), 1400);
  sim.advance(10);
  assert.equal(r.interfaces[0].stats.hostUnreachable, 1);
  const hu = icmpFrom(sniffA, 3, 1);
  assert.equal(hu.length, 1);
  assert.equal(u16(hu[0], 16), 576, 'the error took 576 bytes of a transmit frame');
  assert.equal(r.interfaces[0].stats.fragmented, 1);
  assert.equal(r.stats.ip.fragmentsOut, 4);
  const buf = new Uint8Array(2000);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, null), 1400);
  assert.ok(Buffer.from(buf.buffer, 0, 1400).equals(Buffer.from(data)), 'byte-exact');
  assert.equal(b.stats.udp.badChecksum, 0);
});
