/**
 * Connection teardown (RFC 9293 3.6): FIN sequence accounting, LAST_ACK and
 * TIME_WAIT, half-close, simultaneous close, aborts with RST (unread data,
 * SO_LINGER), and many short connections leaving no slot behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACK, B_IP, EAGAIN, ECONNRESET, EV_ERROR, FIN, RST, SHUT_WR, SO_LINGER, connect, describe, pattern, tcpPair,
  transfer, waitFor, add32, tapStack, TapPeer,
} from './helpers.js';

const buf = new Uint8Array(65536);

test('FIN consumes one sequence number; the passive closer leaves LAST_ACK when its FIN is acknowledged', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const d = pattern(1000);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d), d);
  p.sim.advance(100);
  p.ra.clear();
  p.rb.clear();
  const usedB = p.b.sockets.usage.used;

  p.a.sockets.close(cfd);
  p.sim.advance(1);
  const finA = p.ra.segments().map((x) => x.seg).filter((s) => s.flags & FIN);
  assert.equal(finA.length, 1, p.ra.segments().map((x) => describe(x.seg)).join('; '));
  // The FIN's ACK is delayed (Linux tcp_fin: ping-pong mode), here by tcpDelayedAckMs (40) as nobody closes.
  assert.equal(p.rb.segments().length, 0, 'no ACK of the FIN before the delayed-ACK time');
  p.sim.advance(39);
  const ackOfFin = p.rb.segments().map((x) => x.seg).find((s) => s.ack === add32(finA[0].seq, 1));
  assert.ok(ackOfFin !== undefined, 'the peer acknowledges FIN seq + 1');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSE_WAIT');
  assert.equal(p.b.sockets.recv(sfd, buf, 0, buf.length), 0, 'EOF after the FIN');

  p.b.sockets.close(sfd);
  assert.equal(p.b.sockets.usage.used, usedB, 'slot held in LAST_ACK until the FIN is acknowledged');
  p.sim.advance(1);
  const finB = p.rb.segments().map((x) => x.seg).filter((s) => s.flags & FIN);
  assert.equal(finB.length, 1);
  const last = p.ra.segments().map((x) => x.seg).at(-1)!;
  assert.equal(last.flags & (ACK | FIN | RST), ACK);
  assert.equal(last.ack, add32(finB[0].seq, 1), 'the active closer acknowledges FIN seq + 1');
  assert.equal(last.seq, add32(finA[0].seq, 1), 'and its own sequence moved past its FIN');
  assert.equal(p.b.sockets.usage.used, usedB - 1, 'LAST_ACK completed: the passive closer\'s slot is free');
  assert.equal(p.a.sockets.usage.used, 1, 'the active closer holds TIME_WAIT');
  assert.equal(p.a.tcp.user.state(cfd), 10 /* TIME_WAIT */);
  assert.equal(p.b.stats.tcp.retransmits + p.a.stats.tcp.retransmits, 0);
});

test('the passive closer\'s FIN carries the ACK of the peer\'s FIN when it closes in time: one segment, as Linux', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const d = pattern(300);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d), d);
  p.sim.advance(100);
  p.ra.clear();
  p.rb.clear();
  p.a.sockets.close(cfd);
  p.sim.advance(5);
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSE_WAIT');
  assert.equal(p.b.sockets.recv(sfd, buf, 0, buf.length), 0, 'EOF after the FIN');
  assert.equal(p.rb.segments().length, 0, 'the ACK of the FIN waits');
  p.b.sockets.close(sfd);
  p.sim.advance(5);
  const fromB = p.rb.segments().map((x) => x.seg);
  assert.equal(fromB.length, 1, fromB.map(describe).join('; '));
  const finA = p.ra.segments().map((x) => x.seg).find((s) => s.flags & FIN)!;
  assert.equal(fromB[0].flags & (ACK | FIN | RST), ACK | FIN);
  assert.equal(fromB[0].ack, add32(finA.seq, 1), 'one FIN+ACK acknowledges the peer\'s FIN');
  assert.equal(p.a.tcp.user.state(cfd), 10 /* TIME_WAIT */);
  p.sim.advance(1);
  assert.equal(p.b.sockets.usage.used, 1, 'LAST_ACK done: only the listener is left');
  assert.equal(p.b.stats.tcp.retransmits + p.a.stats.tcp.retransmits, 0);
});

test('TIME_WAIT lasts exactly tcpTimeWaitMs (1000) in virtual time', async (t) => {
  await t.test('descriptor kept (shutdown): state visible', () => {
    const p = tcpPair({ tcpTimeWaitMs: 1000 });
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
    assert.equal(p.a.sockets.shutdown(cfd, SHUT_WR), 0);
    p.sim.advance(40); // the peer's delayed ACK of the FIN
    assert.equal(p.a.sockets.tcpState(cfd), 'FIN_WAIT_2');
    p.b.sockets.close(sfd);
    const t0 = p.sim.now;
    p.sim.advance(0);
    assert.equal(p.a.sockets.tcpState(cfd), 'TIME_WAIT');
    p.sim.advance(999);
    assert.equal(p.a.sockets.tcpState(cfd), 'TIME_WAIT', `at +${p.sim.now - t0} ms`);
    p.sim.advance(1);
    assert.equal(p.a.sockets.tcpState(cfd), 'CLOSED', `at +${p.sim.now - t0} ms`);
    assert.equal(p.a.sockets.recv(cfd, buf, 0, 16), 0);
    p.a.sockets.close(cfd);
    assert.equal(p.a.sockets.usage.used, 0);
  });
  await t.test('descriptor closed: the slot is freed at +1000 ms', () => {
    const p = tcpPair({ tcpTimeWaitMs: 1000 });
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
    p.a.sockets.close(cfd);
    p.sim.advance(1);
    p.b.sockets.close(sfd);
    const t0 = p.sim.now;
    p.sim.advance(0);
    assert.equal(p.a.sockets.usage.used, 1, 'TIME_WAIT holds the slot');
    assert.equal(p.b.sockets.usage.used, 1, 'only the listener is left on the passive side');
    p.sim.advance(999);
    assert.equal(p.a.sockets.usage.used, 1, `at +${p.sim.now - t0} ms`);
    p.sim.advance(1);
    assert.equal(p.a.sockets.usage.used, 0, `at +${p.sim.now - t0} ms`);
    assert.equal(p.a.tcp.core.t.freeBuffers, p.a.config.maxTcpSockets, 'all buffers back in the pool');
  });
});

test('half-close: data still flows towards the side that shut down its sending half', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const req = pattern(500, 4);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, req), req);
  assert.equal(p.a.sockets.shutdown(cfd, SHUT_WR), 0);
  p.sim.advance(40); // the server's delayed ACK of the FIN
  assert.equal(p.b.sockets.recv(sfd, buf, 0, buf.length), 0, 'server sees EOF');
  assert.equal(p.a.sockets.tcpState(cfd), 'FIN_WAIT_2');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSE_WAIT');
  assert.ok(p.a.sockets.send(cfd, req, 0, 10) < 0, 'no sending after SHUT_WR');
  // The server keeps sending: 100 KiB (more than one buffer).
  const reply = pattern(100000, 5);
  assert.deepEqual(transfer(p.sim, p.b, sfd, p.a, cfd, reply), reply);
  assert.equal(p.a.sockets.recv(cfd, buf, 0, buf.length), -EAGAIN, 'no EOF before the peer\'s FIN');
  p.sim.advance(500);
  assert.equal(p.a.sockets.recv(cfd, buf, 0, buf.length), -EAGAIN, 'still no EOF');
  p.b.sockets.close(sfd);
  p.sim.advance(5);
  assert.equal(p.a.sockets.recv(cfd, buf, 0, buf.length), 0, 'EOF after the peer\'s FIN');
  assert.equal(p.a.sockets.tcpState(cfd), 'TIME_WAIT');
});

test('half-close: data queued before shutdown is delivered before the FIN', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const d = pattern(60000, 6);
  assert.equal(p.a.sockets.send(cfd, d, 0, d.length), d.length);
  assert.equal(p.a.sockets.shutdown(cfd, SHUT_WR), 0);
  const got: number[] = [];
  waitFor(p.sim, () => {
    const n = p.b.sockets.recv(sfd, buf, 0, buf.length);
    if (n > 0) for (let i = 0; i < n; i++) got.push(buf[i]);
    return n === 0;
  }, 10000);
  assert.deepEqual(Uint8Array.from(got), d);
});

test('simultaneous close: both FIN_WAIT_1 -> CLOSING -> TIME_WAIT', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 }, { delayMs: 10 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.sim.advance(100);
  assert.equal(p.a.sockets.shutdown(cfd, SHUT_WR), 0);
  assert.equal(p.b.sockets.shutdown(sfd, SHUT_WR), 0);
  assert.equal(p.a.sockets.tcpState(cfd), 'FIN_WAIT_1');
  assert.equal(p.b.sockets.tcpState(sfd), 'FIN_WAIT_1');
  p.sim.advance(10);
  assert.equal(p.a.sockets.tcpState(cfd), 'CLOSING');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSING');
  p.sim.advance(10);
  assert.equal(p.a.sockets.tcpState(cfd), 'TIME_WAIT');
  assert.equal(p.b.sockets.tcpState(sfd), 'TIME_WAIT');
  assert.equal(p.a.sockets.recv(cfd, buf, 0, 16), 0);
  assert.equal(p.b.sockets.recv(sfd, buf, 0, 16), 0);
  p.sim.advance(1000);
  assert.equal(p.a.sockets.tcpState(cfd), 'CLOSED');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSED');
  assert.equal(p.a.stats.tcp.retransmits + p.b.stats.tcp.retransmits, 0, 'no FIN needed retransmission');
  assert.equal(p.a.stats.tcp.rstOut + p.b.stats.tcp.rstOut, 0);
  p.a.sockets.close(cfd);
  p.b.sockets.close(sfd);
  assert.equal(p.a.sockets.usage.used, 0);
  assert.equal(p.b.sockets.usage.used, 1);
});

test('simultaneous close() of both descriptors frees every connection slot after TIME_WAIT', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.a.sockets.close(cfd);
  p.b.sockets.close(sfd);
  p.sim.advance(1001);
  assert.equal(p.a.sockets.usage.used, 0);
  assert.equal(p.b.sockets.usage.used, 1);
});

test('close() with unread data sends RST; the peer gets ECONNRESET', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const events: number[] = [];
  p.b.sockets.setCallback(sfd, (_f, ev) => events.push(ev));
  const d = pattern(2000);
  assert.equal(p.b.sockets.send(sfd, d, 0, d.length), d.length);
  p.sim.advance(50);
  assert.equal(p.a.sockets.readableBytes(cfd), 2000);
  p.ra.clear();
  p.a.sockets.close(cfd);
  assert.equal(p.a.sockets.usage.used, 0, 'aborted: slot freed at once');
  p.sim.advance(5);
  const segs = p.ra.segments().map((x) => x.seg);
  assert.ok(segs.some((s) => (s.flags & RST) !== 0), segs.map(describe).join('; '));
  assert.ok(!segs.some((s) => (s.flags & FIN) !== 0), 'abort, not a graceful FIN');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSED');
  assert.ok(events.some((e) => (e & EV_ERROR) !== 0));
  assert.equal(p.b.sockets.recv(sfd, buf, 0, 16), -ECONNRESET);
  p.b.sockets.close(sfd);
  assert.equal(p.b.sockets.usage.used, 1);
});

test('SO_LINGER (abortive close) sends RST; the peer gets ECONNRESET', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const d = pattern(300);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d), d);
  assert.equal(p.a.sockets.setsockopt(cfd, SO_LINGER, 1), 0);
  p.ra.clear();
  p.a.sockets.close(cfd);
  p.sim.advance(5);
  const segs = p.ra.segments().map((x) => x.seg);
  assert.equal(segs.length, 1, segs.map(describe).join('; '));
  assert.ok(segs[0].flags & RST);
  assert.equal(p.a.stats.tcp.rstOut, 1);
  assert.equal(p.a.sockets.usage.used, 0, 'no TIME_WAIT after an abort');
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSED');
  assert.equal(p.b.sockets.getsockopt(sfd, 4 /* SO_ERROR */), ECONNRESET);
  assert.equal(p.b.stats.tcp.resets, 1);
});

test('100 sequential short connections, active close alternating sides: no connection stuck', () => {
  const TW = 1000;
  const p = tcpPair({ tcpTimeWaitMs: TW });
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 16);
  for (let i = 0; i < 100; i++) {
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80, lfd);
    const req = pattern(10 + (i % 7), i);
    assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, req), req, `round ${i}`);
    assert.deepEqual(transfer(p.sim, p.b, sfd, p.a, cfd, req), req, `round ${i}`);
    const [first, ffd, second, sfd2] = i % 2 === 0 ? [p.a, cfd, p.b, sfd] : [p.b, sfd, p.a, cfd];
    first.sockets.close(ffd);
    waitFor(p.sim, () => second.sockets.recv(sfd2, buf, 0, buf.length) === 0, 5000);
    second.sockets.close(sfd2);
    p.sim.advance(5);
  }
  assert.equal(p.a.stats.tcp.activeOpens, 100);
  assert.equal(p.b.stats.tcp.passiveOpens, 100);
  assert.equal(p.a.stats.tcp.resets + p.b.stats.tcp.resets, 0);
  assert.equal(p.a.stats.tcp.rstOut + p.b.stats.tcp.rstOut, 0);
  p.sim.advance(TW);
  assert.equal(p.a.sockets.usage.used, 0, 'client: every slot free');
  assert.equal(p.b.sockets.usage.used, 1, 'server: only the listener');
  assert.equal(p.a.tcp.core.t.freeBuffers, p.a.config.maxTcpSockets);
  assert.equal(p.b.tcp.core.t.freeBuffers, p.b.config.maxTcpSockets);
});

/** The stack closes actively against a scripted peer and ends in TIME_WAIT; returns what the test needs. */
function timeWaitSetup() {
  const ts = tapStack(21, { tcpTimeWaitMs: 1000 });
  const lfd = ts.stack.sockets.socket('tcp');
  ts.stack.sockets.bind(lfd, 0, 80);
  ts.stack.sockets.listen(lfd, 4);
  const peer = new TapPeer(ts, { port: 40001, stackPort: 80, isn: 5000 });
  const fd = peer.handshake(lfd);
  ts.stack.sockets.close(fd);
  const fin = peer.absorb(ts.advance(1));
  assert.equal(fin.length, 1, fin.map(describe).join('; '));
  assert.equal(fin[0].flags & (FIN | ACK), FIN | ACK);
  assert.ok(peer.finReceived);
  // Peer ACKs the FIN and sends its own FIN.
  const finSeq = peer.sndNxt;
  const out = peer.absorb(ts.feed(peer.dataFrame(new Uint8Array(0), FIN | ACK), 1));
  assert.equal(out.length, 1, out.map(describe).join('; '));
  assert.equal(out[0].flags & (ACK | FIN | RST), ACK);
  assert.equal(out[0].ack, peer.sndNxt, 'ACK of our FIN');
  assert.equal(ts.stack.tcp.user.state(fd), 10 /* TIME_WAIT */);
  const refin = () => peer.absorb(ts.feed(peer.frame({ flags: FIN | ACK, seq: finSeq, options: peer.stdOptions() }), 1));
  return { ts, peer, fd, refin };
}

test('TIME_WAIT: a retransmitted FIN is acknowledged exactly once', () => {
  const { ts, peer, refin } = timeWaitSetup();
  ts.advance(599);
  const again = refin();
  assert.equal(again.length, 1, `one ACK expected: ${again.map(describe).join('; ')}`);
  assert.equal(again[0].ack, peer.sndNxt);
});

test('TIME_WAIT restarts its timer on a retransmitted FIN; a RST does not end it (RFC 1337)', () => {
  const { ts, peer, fd, refin } = timeWaitSetup();
  const base = ts.stack.sockets.usage.used;
  // Our FIN again (the ACK was "lost"), 600 ms later: re-ACKed, timer restarted.
  ts.advance(599);
  const again = refin();
  assert.ok(again.length >= 1, 'the retransmitted FIN is acknowledged again');
  assert.ok(again.every((s) => s.ack === peer.sndNxt && (s.flags & (ACK | FIN | RST)) === ACK));
  const restart = ts.now;
  // A RST must not cut TIME_WAIT short.
  ts.feed(peer.frame({ flags: RST, seq: peer.sndNxt, ack: 0 }), 1);
  assert.equal(ts.stack.tcp.user.state(fd), 10, 'RST ignored in TIME_WAIT');
  ts.advance(restart + 999 - ts.now);
  assert.equal(ts.stack.sockets.usage.used, base, 'still in TIME_WAIT 999 ms after the restart');
  ts.advance(1);
  assert.equal(ts.stack.sockets.usage.used, base - 1, 'freed 1000 ms after the last FIN');
});
