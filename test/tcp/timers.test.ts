/**
 * TCP timers in virtual time: retransmission backoff (RFC 6298), persist
 * and zero-window probes (RFC 9293 3.8.6.1), keepalive (RFC 1122 4.2.3.6)
 * and delayed ACKs (RFC 5681 4.2, RFC 1122 4.2.3.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemoryLinkOptions, StackConfig } from '../../src/index.js';
import {
  B_IP, ETIMEDOUT, EV_ERROR, SO_ERROR, SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL,
  TapPeer, add32, connect, describe, pattern, tapStack, tcpPair, transfer, drain,
} from './helpers.js';

test('RTO: retransmissions at doubling intervals from the RTO (bounded by tcpMinRtoMs), then ETIMEDOUT', () => {
  // The tail loss probe would add one retransmission before the first RTO; this test is about the RTO alone.
  const p = tcpPair({ tcpMinRtoMs: 300, tcpMaxRetries: 5, tcpTailLossProbe: 0 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const warm = pattern(4000);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, warm), warm);
  p.sim.advance(100);
  const rto = p.a.sockets.tcpInfo(cfd)!.rtoMs;
  // As Linux: RTO = SRTT + max(4 RTTVAR, tcpMinRtoMs); the RTT is a few ms (delayed ACKs) here.
  assert.ok(rto >= 300 && rto < 310, `RTT ~0 on this link: the RTO is tcpMinRtoMs plus SRTT (${rto})`);
  const events: Array<[number, number]> = [];
  p.a.sockets.setCallback(cfd, (_f, ev) => events.push([p.sim.now, ev]));
  p.la.setFaults({ loss: 1 });
  p.ra.clear();
  const t0 = p.sim.now;
  const d = pattern(1000, 2);
  assert.equal(p.a.sockets.send(cfd, d, 0, d.length), d.length);
  p.sim.advance(30000);
  const dataSegs = p.ra.segments().filter((x) => x.seg.payload.length > 0);
  const times = dataSegs.map((x) => x.t - t0);
  const expected = [0, 1, 3, 7, 15, 31].map((k) => k * rto);
  assert.equal(times.length, expected.length, `times ${times}`);
  times.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= 1, `original, then after RTO, 2, 4, 8, 16 RTO: ${times}`));
  assert.ok(dataSegs.every((x) => x.seg.seq === dataSegs[0].seg.seq), 'every retransmission starts at sndUna');
  assert.equal(p.a.stats.tcp.rtoTimeouts, 5);
  const err = events.find(([, ev]) => (ev & EV_ERROR) !== 0);
  assert.ok(err !== undefined, 'EV_ERROR');
  assert.ok(Math.abs(err[0] - t0 - 63 * rto) <= 1, 'fails one more doubled RTO after the last retransmission');
  assert.equal(p.a.sockets.tcpState(cfd), 'CLOSED');
  assert.equal(p.a.sockets.getsockopt(cfd, SO_ERROR), ETIMEDOUT);
});

test('RTO: the first retransmission waits the measured RTO when it exceeds tcpMinRtoMs', () => {
  // About the RTO alone: a tail loss probe would take the first retransmission's place.
  const p = tcpPair({ tcpMinRtoMs: 200, tcpTailLossProbe: 0 }, { delayMs: 100 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const warm = pattern(3000);
  // A few exchanges, so that the RTT variance settles (RFC 6298) and the RTO comes before a tail loss probe.
  for (let i = 0; i < 4; i++) assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, warm), warm);
  p.sim.advance(1000);
  const info = p.a.sockets.tcpInfo(cfd)!;
  assert.ok(info.rttMs >= 190 && info.rttMs <= 300, `srtt ${info.rttMs} (200 ms path plus delayed ACKs)`);
  assert.ok(info.rtoMs > 200, `rto ${info.rtoMs}`);
  p.la.setFaults({ loss: 1 });
  p.ra.clear();
  const t0 = p.sim.now;
  assert.equal(p.a.sockets.send(cfd, warm, 0, 500), 500);
  p.sim.advance(Math.ceil(info.rtoMs) * 4);
  const times = p.ra.segments().filter((x) => x.seg.payload.length > 0).map((x) => x.t - t0);
  assert.ok(times.length >= 3, `times ${times}`);
  assert.ok(Math.abs(times[1] - info.rtoMs) <= 1, `first retransmission after ${times[1]} ms, RTO ${info.rtoMs}`);
  assert.ok(Math.abs((times[2] - times[1]) - 2 * info.rtoMs) <= 1, `second after ${times[2] - times[1]} ms`);
});

/**
 * Zero window: the receiver (4096-byte buffer) never reads; the sender must
 * fill the window, see it close, probe it for as long as it takes without
 * giving up, and resume when the reader drains the buffer.
 */
function persistScenario(common: StackConfig, link: MemoryLinkOptions): void {
  const p = tcpPair(common, link, {}, { tcpRecvBufferBytes: 4096 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const data = pattern(64 * 1024, 7);
  let sent = p.a.sockets.send(cfd, data, 0, data.length);
  assert.ok(sent > 0);
  // Within a few seconds (RFC 9293 3.8.6.2.1: the SWS override timeout is 0.1-1 s) the window is full.
  p.sim.advance(5000);
  assert.equal(p.b.sockets.readableBytes(sfd), 4096, 'the receive buffer is full');
  assert.equal(p.a.sockets.tcpInfo(cfd)!.sendWindow, 0, 'the sender sees a zero window');
  const probes0 = p.a.stats.tcp.windowProbes;
  p.sim.advance(60000);
  const probes1 = p.a.stats.tcp.windowProbes;
  assert.ok(probes1 - probes0 >= 4, `window probes in 60 s: ${probes1 - probes0}`);
  p.sim.advance(240000);
  assert.ok(p.a.stats.tcp.windowProbes >= probes1 + 3, 'probing goes on at the maximum interval');
  assert.equal(p.a.sockets.tcpState(cfd), 'ESTABLISHED', 'a zero window never kills the connection');
  assert.equal(p.b.sockets.tcpState(sfd), 'ESTABLISHED');
  assert.equal(p.a.stats.tcp.timeouts, 0);
  assert.equal(p.a.stats.tcp.rtoTimeouts, 0, 'probes are not retransmission timeouts');
  // Now read: the transfer completes.
  const got: number[] = [];
  const start = p.sim.now;
  while (got.length < data.length) {
    if (sent < data.length) {
      const n = p.a.sockets.send(cfd, data, sent, data.length - sent);
      if (n > 0) sent += n;
    }
    drain(p.b, sfd, got);
    p.sim.advance(1);
    assert.ok(p.sim.now - start < 60000, `stalled after reading ${got.length}`);
  }
  assert.deepEqual(Uint8Array.from(got), data);
  assert.ok(p.sim.now - start < 5000, `the transfer resumed promptly (${p.sim.now - start} ms)`);
}

test('persist: zero window with a 4096-byte receiver, MSS 1024 (window fills exactly)', () => {
  persistScenario({ tcpTimestamps: 0 }, { mtu: 1064 });
});

test('persist: zero window with a 4096-byte receiver, MSS 1448 (last 1200 bytes need the SWS override)', () => {
  persistScenario({}, {});
});

test('keepalive: probes after TCP_KEEPIDLE are answered; with the peer gone, ETIMEDOUT after idle + cnt * intvl', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const s = p.a.sockets;
  assert.equal(s.setsockopt(cfd, SO_KEEPALIVE, 1), 0);
  assert.equal(s.setsockopt(cfd, TCP_KEEPIDLE, 1000), 0);
  assert.equal(s.setsockopt(cfd, TCP_KEEPINTVL, 500), 0);
  assert.equal(s.setsockopt(cfd, TCP_KEEPCNT, 3), 0);
  assert.equal(s.getsockopt(cfd, SO_KEEPALIVE), 1);
  p.ra.clear();
  p.rb.clear();
  p.sim.advance(5500);
  const probes = p.a.stats.tcp.keepaliveProbes;
  assert.ok(probes >= 5 && probes <= 6, `probes in 5.5 s with idle 1 s: ${probes}`);
  const sentProbes = p.ra.segments().map((x) => x.seg);
  assert.ok(sentProbes.length >= 5);
  const answers = p.rb.segments().map((x) => x.seg);
  assert.ok(answers.length >= sentProbes.length, 'each probe answered');
  assert.equal(s.tcpState(cfd), 'ESTABLISHED');
  assert.equal(p.b.sockets.tcpState(sfd), 'ESTABLISHED');
  // A probe is an ACK one below sndNxt with no data (RFC 9293 3.8.4).
  const ackSeq = answers[0].ack;
  assert.equal(sentProbes[0].seq, add32(ackSeq, -1));
  assert.ok(sentProbes[0].payload.length <= 1);

  // The peer vanishes.
  const events: Array<[number, number]> = [];
  s.setCallback(cfd, (_f, ev) => events.push([p.sim.now, ev]));
  const lastHeard = p.rb.segments().at(-1)!.t;
  p.la.setFaults({ loss: 1 });
  const before = p.a.stats.tcp.keepaliveProbes;
  p.sim.advance(5000);
  const err = events.find(([, ev]) => (ev & EV_ERROR) !== 0);
  assert.ok(err !== undefined, 'connection declared dead');
  assert.equal(p.a.stats.tcp.keepaliveProbes - before, 3, 'exactly TCP_KEEPCNT unanswered probes');
  assert.equal(err[0] - lastHeard, 1000 + 3 * 500, 'idle + cnt * intvl after the last thing heard');
  assert.equal(s.getsockopt(cfd, SO_ERROR), ETIMEDOUT);
  assert.equal(s.tcpState(cfd), 'CLOSED');
});

test('keepalive is off by default: an idle connection sends nothing', () => {
  const p = tcpPair();
  const { cfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.ra.clear();
  p.rb.clear();
  p.sim.advance(3 * 3600 * 1000);
  // IPv4 only: the stacks' own IPv6 start-up (DAD probe, router solicitations in the first ~9 s) is not the connection's.
  const v4 = (r: typeof p.ra): number => r.frames.filter((x) => !(x.frame[12] === 0x86 && x.frame[13] === 0xdd)).length;
  assert.equal(v4(p.ra) + v4(p.rb), 0);
  assert.equal(p.a.sockets.tcpState(cfd), 'ESTABLISHED');
});

test('delayed ACK: quick ACKs for the first 16 segments, then one small segment is acknowledged tcpDelayedAckMs (40) later; quick again after idle', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.sim.advance(200);
  // Quick-ACK mode at the start (Linux tcp_incr_quickack: 16 for a 64 KiB buffer).
  for (let i = 0; i < 16; i++) {
    assert.equal(p.a.sockets.send(cfd, pattern(100), 0, 100), 100);
    p.sim.advance(1);
    assert.equal(p.a.sockets.tcpInfo(cfd)!.unacked, 0, `segment ${i} acknowledged at once`);
  }
  assert.equal(p.b.stats.tcp.quickAcks, 16);
  assert.equal(p.b.stats.tcp.delayedAcks, 0);
  assert.equal(drain(p.b, sfd).length, 1600);
  p.rb.clear();
  const t0 = p.sim.now;
  assert.equal(p.a.sockets.send(cfd, pattern(100), 0, 100), 100);
  p.sim.advance(39);
  assert.equal(p.a.sockets.tcpInfo(cfd)!.unacked, 100, 'not acknowledged before 40 ms');
  assert.equal(p.rb.frames.length, 0);
  p.sim.advance(1);
  assert.equal(p.a.sockets.tcpInfo(cfd)!.unacked, 0, 'acknowledged at 40 ms');
  const acks = p.rb.segments();
  assert.equal(acks.length, 1);
  assert.equal(acks[0].t - t0, 40);
  assert.equal(p.b.stats.tcp.delayedAcks, 1);
  assert.equal(p.b.sockets.readableBytes(sfd), 100, 'the data itself was delivered at once');
  // After a silence longer than the RTO the sender may be restarting slow start: quick ACKs again.
  p.sim.advance(1000);
  assert.equal(p.a.sockets.send(cfd, pattern(100), 0, 100), 100);
  p.sim.advance(1);
  assert.equal(p.a.sockets.tcpInfo(cfd)!.unacked, 0, 'acknowledged at once after idle');
  assert.equal(p.b.stats.tcp.quickAcks, 17);
  assert.equal(p.b.stats.tcp.delayedAcks, 1);
});

test('delayed ACK: two full-sized segments are acknowledged at once', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.sim.advance(200);
  p.rb.clear();
  p.ra.clear();
  const mss = p.a.sockets.tcpInfo(cfd)!.mss;
  const t0 = p.sim.now;
  assert.equal(p.a.sockets.send(cfd, pattern(2 * mss), 0, 2 * mss), 2 * mss);
  p.sim.advance(0);
  const data = p.ra.segments().filter((x) => x.seg.payload.length > 0);
  assert.deepEqual(data.map((x) => x.seg.payload.length), [mss, mss]);
  const acks = p.rb.segments();
  assert.equal(acks.length, 1, acks.map((x) => describe(x.seg)).join('; '));
  assert.equal(acks[0].t, t0);
  assert.equal(acks[0].seg.ack, add32(data[0].seg.seq, 2 * mss));
  assert.equal(p.a.sockets.tcpInfo(cfd)!.unacked, 0);
  assert.equal(p.b.stats.tcp.delayedAcks, 0);
  assert.equal(p.b.sockets.readableBytes(sfd), 2 * mss);
});

test('delayed ACK (byte-level): a small segment is ACKed after 40 ms, a second segment triggers an ACK at once', () => {
  const ts = tapStack(31);
  const lfd = ts.stack.sockets.socket('tcp');
  ts.stack.sockets.bind(lfd, 0, 80);
  ts.stack.sockets.listen(lfd, 4);
  const peer = new TapPeer(ts, { port: 40002, stackPort: 80, isn: 77 });
  const fd = peer.handshake(lfd);
  // The first 16 segments are acknowledged at once (quick-ACK mode at the start).
  for (let i = 0; i < 16; i++) {
    const q = peer.send(pattern(10), 1);
    assert.equal(q.length, 1, `quick ACK ${i}: ${q.map(describe).join('; ')}`);
    assert.equal(q[0].ack, peer.sndNxt);
  }
  assert.equal(drain(ts.stack, fd).length, 160);
  assert.deepEqual(peer.send(pattern(10)).map(describe), [], 'no immediate ACK for one small segment');
  const timed = ts.stepTimed(60);
  assert.equal(timed.length, 1);
  assert.equal(timed[0].t - (ts.now - 60), 40);
  assert.equal(timed[0].seg.ack, peer.sndNxt);
  // Two segments in a row: the second one is acknowledged immediately.
  assert.deepEqual(peer.send(pattern(10), 1).map(describe), []);
  const out = peer.send(pattern(10), 1);
  assert.equal(out.length, 1, out.map(describe).join('; '));
  assert.equal(out[0].ack, peer.sndNxt);
  assert.deepEqual(ts.stepTimed(100).map((x) => describe(x.seg)), [], 'nothing left to acknowledge');
  assert.equal(drain(ts.stack, fd).length, 30);
});
