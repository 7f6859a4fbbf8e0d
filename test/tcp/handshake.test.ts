/**
 * Connection establishment (RFC 9293 3.5): the three-way handshake, option
 * negotiation (RFC 7323 window scale and timestamps, RFC 2018 SACK, MSS),
 * refusal, SYN retransmission in virtual time, simultaneous open, the
 * listen backlog, SYN-ACK discipline and back-to-back connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../src/index.js';
import {
  A_IP, ACK, B_IP, ECONNREFUSED, EINPROGRESS, ETIMEDOUT, EV_ERROR, EV_WRITABLE, RST, SO_ERROR, SO_REUSEADDR, SYN,
  STACK_IP, TapPeer, add32, backlogRace, connect, describe, ip, pattern, tapStack, tcpPair, transfer, waitFor,
} from './helpers.js';

test('three-way handshake: both ends reach ESTABLISHED, SYN, SYN-ACK, ACK on the wire', () => {
  const p = tcpPair();
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  assert.equal(p.a.sockets.tcpState(cfd), 'ESTABLISHED');
  assert.equal(p.b.sockets.tcpState(sfd), 'ESTABLISHED');
  const a = p.ra.segments().map((x) => x.seg);
  const b = p.rb.segments().map((x) => x.seg);
  assert.equal(a[0].flags, SYN, describe(a[0]));
  assert.equal(b[0].flags, SYN | ACK, describe(b[0]));
  assert.equal(b[0].ack, add32(a[0].seq, 1), 'SYN-ACK acknowledges the SYN');
  assert.equal(a[1].flags & (SYN | ACK | RST), ACK, describe(a[1]));
  assert.equal(a[1].seq, add32(a[0].seq, 1), 'the SYN consumed one sequence number');
  assert.equal(a[1].ack, add32(b[0].seq, 1));
  for (const s of [...a, ...b]) assert.ok(s.checksumOk, `bad checksum on ${describe(s)}`);
  assert.equal(p.a.stats.tcp.activeOpens, 1);
  assert.equal(p.b.stats.tcp.passiveOpens, 1);
  // Data flows both ways.
  const d1 = pattern(3000, 1);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d1), d1);
  const d2 = pattern(3000, 2);
  assert.deepEqual(transfer(p.sim, p.b, sfd, p.a, cfd, d2), d2);
});

test('negotiated options: timestamps, SACK, window scale 5 for a 1 MiB buffer, MSS 1460 - 12', () => {
  const p = tcpPair({ tcpRecvBufferBytes: 1 << 20, tcpSendBufferBytes: 1 << 20, maxTcpSockets: 3 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const syn = p.ra.segments()[0].seg;
  assert.equal(syn.opts.mss, 1460);
  assert.equal(syn.opts.ws, 5);
  assert.ok(syn.opts.sackOk);
  assert.ok(syn.opts.ts !== null && syn.opts.ts.ecr === 0, 'SYN carries TSval with TSecr 0');
  const synAck = p.rb.segments()[0].seg;
  assert.equal(synAck.opts.ws, 5);
  assert.ok(synAck.opts.ts !== null && synAck.opts.ts.ecr === syn.opts.ts.val, 'SYN-ACK echoes the SYN\'s TSval');
  for (const [stack, fd] of [[p.a, cfd], [p.b, sfd]] as Array<[Stack, number]>) {
    const info = stack.sockets.tcpInfo(fd);
    assert.ok(info !== null);
    assert.equal(info.options.timestamps, true);
    assert.equal(info.options.sack, true);
    assert.equal(info.options.windowScale, 5);
    assert.equal(info.options.peerWindowScale, 5);
    assert.equal(info.mss, 1460 - 12, 'payload per segment: MSS minus the 12-byte timestamp option');
  }
  // A full-sized data segment carries exactly 1448 bytes.
  const data = pattern(5000, 3);
  p.ra.clear();
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, data), data);
  const sizes = p.ra.segments().map((x) => x.seg.payload.length).filter((n) => n > 0);
  assert.equal(Math.max(...sizes), 1448, `segment sizes ${sizes}`);
});

test('options disabled by configuration are not negotiated', async (t) => {
  await t.test('server with all options off', () => {
    const p = tcpPair({}, {}, {}, { tcpSack: 0, tcpTimestamps: 0, tcpWindowScaling: 0 });
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
    const synAck = p.rb.segments()[0].seg;
    assert.equal(synAck.opts.ws, -1, 'no window scale in the SYN-ACK');
    assert.equal(synAck.opts.sackOk, false);
    assert.equal(synAck.opts.ts, null);
    for (const [stack, fd] of [[p.a, cfd], [p.b, sfd]] as Array<[Stack, number]>) {
      const info = stack.sockets.tcpInfo(fd)!;
      assert.deepEqual(info.options, { timestamps: false, sack: false, windowScale: -1, peerWindowScale: -1 });
      assert.equal(info.mss, 1460);
    }
    // Later segments from the client carry no timestamp option.
    p.ra.clear();
    const d = pattern(2000);
    assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d), d);
    for (const { seg } of p.ra.segments()) assert.equal(seg.opts.ts, null, describe(seg));
  });
  await t.test('client with all options off', () => {
    const p = tcpPair({}, {}, { tcpSack: 0, tcpTimestamps: 0, tcpWindowScaling: 0 });
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
    const syn = p.ra.segments()[0].seg;
    assert.equal(syn.opts.ws, -1);
    assert.equal(syn.opts.sackOk, false);
    assert.equal(syn.opts.ts, null);
    assert.equal(syn.opts.mss, 1460, 'MSS is always sent');
    for (const [stack, fd] of [[p.a, cfd], [p.b, sfd]] as Array<[Stack, number]>) {
      const info = stack.sockets.tcpInfo(fd)!;
      assert.deepEqual(info.options, { timestamps: false, sack: false, windowScale: -1, peerWindowScale: -1 });
    }
    const synAck = p.rb.segments()[0].seg;
    assert.equal(synAck.opts.ws, -1, 'a server must not send window scale to a client that did not offer it');
    assert.equal(synAck.opts.ts, null);
    assert.equal(synAck.opts.sackOk, false);
  });
  await t.test('only window scaling off on the server: timestamps and SACK still negotiated', () => {
    const p = tcpPair({}, {}, {}, { tcpWindowScaling: 0 });
    const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
    for (const [stack, fd] of [[p.a, cfd], [p.b, sfd]] as Array<[Stack, number]>) {
      const info = stack.sockets.tcpInfo(fd)!;
      assert.deepEqual(info.options, { timestamps: true, sack: true, windowScale: -1, peerWindowScale: -1 });
    }
  });
});

test('connection refused: RST answers the SYN; EV_ERROR, SO_ERROR and recv report ECONNREFUSED', () => {
  const p = tcpPair();
  const events: number[] = [];
  const fd1 = p.a.sockets.socket('tcp');
  p.a.sockets.setCallback(fd1, (_fd, ev) => events.push(ev));
  assert.equal(p.a.sockets.connect(fd1, B_IP, 81), -EINPROGRESS);
  p.sim.advance(10);
  const rst = p.rb.segments().map((x) => x.seg).filter((s) => s.flags & RST);
  assert.equal(rst.length, 1);
  const syn = p.ra.segments()[0].seg;
  assert.equal(rst[0].flags, RST | ACK);
  assert.equal(rst[0].seq, 0);
  assert.equal(rst[0].ack, add32(syn.seq, 1));
  assert.ok(events.some((e) => (e & EV_ERROR) !== 0), `events ${events}`);
  assert.equal(p.a.sockets.tcpState(fd1), 'CLOSED');
  assert.equal(p.a.sockets.getsockopt(fd1, SO_ERROR), ECONNREFUSED);
  assert.equal(p.a.sockets.getsockopt(fd1, SO_ERROR), 0, 'SO_ERROR clears the error');
  assert.equal(p.a.stats.tcp.failedOpens, 1);

  const fd2 = p.a.sockets.socket('tcp');
  assert.equal(p.a.sockets.connect(fd2, B_IP, 82), -EINPROGRESS);
  p.sim.advance(10);
  const buf = new Uint8Array(16);
  assert.equal(p.a.sockets.recv(fd2, buf, 0, 16), -ECONNREFUSED);
  assert.equal(p.b.stats.tcp.rstOut, 2);
  p.a.sockets.close(fd1);
  p.a.sockets.close(fd2);
  assert.equal(p.a.sockets.usage.used, 0);
});

test('SYN retransmitted at 1 s, 2 s, 4 s, 8 s (tcpInitialRtoMs) then ETIMEDOUT after tcpSynRetries', () => {
  const p = tcpPair({ tcpSynRetries: 3 });
  // Resolve ARP first, then cut the wire.
  connect(p.sim, p.a, p.b, B_IP, 80);
  p.la.setFaults({ loss: 1 });
  p.ra.clear();
  const events: Array<[number, number]> = [];
  const fd = p.a.sockets.socket('tcp');
  p.a.sockets.setCallback(fd, (_f, ev) => events.push([p.sim.now, ev]));
  const t0 = p.sim.now;
  assert.equal(p.a.sockets.connect(fd, B_IP, 80), -EINPROGRESS);
  p.sim.advance(20000);
  const syns = p.ra.segments().filter((x) => x.seg.flags === SYN);
  assert.deepEqual(syns.map((x) => x.t - t0), [0, 1000, 3000, 7000], 'SYN at 0 then after 1, 2, 4 s');
  assert.ok(syns.every((x) => x.seg.seq === syns[0].seg.seq), 'retransmitted SYNs reuse the ISN');
  const err = events.find(([, ev]) => (ev & EV_ERROR) !== 0);
  assert.ok(err !== undefined, 'EV_ERROR raised');
  assert.equal(err[0] - t0, 15000, 'gives up 8 s after the last retransmission');
  assert.equal(p.a.sockets.tcpState(fd), 'CLOSED');
  assert.equal(p.a.sockets.getsockopt(fd, SO_ERROR), ETIMEDOUT);
  assert.equal(p.a.stats.tcp.failedOpens, 1);
});

test('simultaneous open: both connect to each other\'s bound port; both reach ESTABLISHED', () => {
  const p = tcpPair({}, { delayMs: 1 });
  const A = p.a.sockets;
  const B = p.b.sockets;
  const fa = A.socket('tcp');
  const fb = B.socket('tcp');
  assert.equal(A.bind(fa, 0, 5001), 0);
  assert.equal(B.bind(fb, 0, 5002), 0);
  assert.equal(A.connect(fa, B_IP, 5002), -EINPROGRESS);
  assert.equal(B.connect(fb, A_IP, 5001), -EINPROGRESS);
  p.sim.advance(3000);
  assert.equal(A.tcpState(fa), 'ESTABLISHED');
  assert.equal(B.tcpState(fb), 'ESTABLISHED');
  // A settled connection stops talking.
  const before = p.ra.frames.length + p.rb.frames.length;
  p.sim.advance(1000);
  assert.equal(p.ra.frames.length + p.rb.frames.length, before, 'no more segments on an idle connection');
  const d = pattern(4000, 9);
  assert.deepEqual(transfer(p.sim, p.a, fa, p.b, fb, d), d);
});

test('listen backlog 2 with 5 concurrent connects: excess SYNs dropped silently, all complete after accept()', () => {
  // Without SYN cookies (with them, see syn-flood.test.ts, the excess SYNs get cookie SYN-ACKs as on Linux).
  const p = tcpPair({ tcpSyncookies: 0 });
  const { lfd, clients, maxQueued } = backlogRace(p, 2, 5);
  assert.equal(maxQueued, 2, 'the accept queue holds at most the backlog');
  const states = clients.map((fd) => p.a.sockets.tcpState(fd));
  assert.equal(states.filter((s) => s === 'ESTABLISHED').length, 2, `client states ${states}`);
  assert.equal(states.filter((s) => s === 'SYN_SENT').length, 3, `client states ${states}`);
  assert.ok(p.b.stats.tcp.synDropped >= 3, `synDropped ${p.b.stats.tcp.synDropped}`);
  assert.equal(p.b.stats.tcp.rstOut, 0, 'no RST to a client of a full listener');
  assert.equal(p.rb.segments().filter((x) => x.seg.flags & RST).length, 0);
  // Let the retries hit the full queue at least once more.
  p.sim.advance(1000);
  assert.equal(p.b.tcp.user.acceptQueueLength(lfd), 2);
  // Now accept as they come: the retried SYNs complete.
  const accepted: number[] = [];
  waitFor(p.sim, () => {
    for (let fd = p.b.sockets.accept(lfd); fd >= 0; fd = p.b.sockets.accept(lfd)) accepted.push(fd);
    return accepted.length === 5 && clients.every((fd) => p.a.sockets.tcpState(fd) === 'ESTABLISHED');
  }, 20000, 10);
  assert.equal(new Set(accepted).size, 5);
  for (const fd of accepted) assert.equal(p.b.sockets.tcpState(fd), 'ESTABLISHED');
  assert.equal(p.b.stats.tcp.rstOut, 0);
  assert.ok(p.b.tcp.user.acceptQueueLength(lfd) <= 2);
});

test('three concurrent SYNs are all accepted, each on its own connection', () => {
  const p = tcpPair();
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 128);
  const clients = [0, 1, 2].map(() => {
    const fd = p.a.sockets.socket('tcp');
    assert.equal(p.a.sockets.connect(fd, B_IP, 80), -EINPROGRESS);
    return fd;
  });
  p.sim.advance(50);
  const peers = new Map<number, number>();
  const from = { address: 0, port: 0 };
  for (let fd = p.b.sockets.accept(lfd, from); fd >= 0; fd = p.b.sockets.accept(lfd, from)) peers.set(from.port, fd);
  assert.equal(peers.size, 3);
  assert.equal(p.b.stats.tcp.synDropped, 0);
  // Each client's bytes arrive on the matching accepted descriptor.
  const name = { address: 0, port: 0 };
  for (const [i, cfd] of clients.entries()) {
    assert.equal(p.a.sockets.tcpState(cfd), 'ESTABLISHED');
    p.a.sockets.getsockname(cfd, name);
    const sfd = peers.get(name.port);
    assert.ok(sfd !== undefined, `no accepted connection from port ${name.port}`);
    const d = pattern(100 + i, 20 + i);
    assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, d), d);
  }
});

test('exactly one SYN-ACK per SYN (byte-level)', () => {
  const ts = tapStack(5);
  const lfd = ts.stack.sockets.socket('tcp');
  ts.stack.sockets.bind(lfd, 0, 80);
  ts.stack.sockets.listen(lfd, 8);
  const peer = new TapPeer(ts, { port: 40000, stackPort: 80, isn: 1000 });
  const syn = peer.synFrame();
  const out1 = ts.feed(syn);
  assert.equal(out1.length, 1, out1.map(describe).join('; '));
  assert.equal(out1[0].flags, SYN | ACK);
  assert.equal(out1[0].ack, 1001);
  assert.equal(out1[0].src, ip(STACK_IP));
  // The same SYN again (our SYN-ACK was "lost"): one more SYN-ACK, same ISN.
  const out2 = ts.feed(syn, 10);
  assert.equal(out2.length, 1, out2.map(describe).join('; '));
  assert.equal(out2[0].flags, SYN | ACK);
  assert.equal(out2[0].seq, out1[0].seq);
  assert.equal(out2[0].ack, 1001);
  // Nothing else before the retransmission timer (1 s from the first SYN-ACK).
  const quiet = ts.stepTimed(980);
  assert.deepEqual(quiet.map((x) => describe(x.seg)), []);
  // At the RTO exactly one retransmitted SYN-ACK.
  const rtx = ts.stepTimed(20);
  assert.equal(rtx.length, 1, rtx.map((x) => describe(x.seg)).join('; '));
  assert.equal(rtx[0].seg.flags, SYN | ACK);
  assert.equal(rtx[0].t, 1000);
  assert.equal(ts.stack.stats.tcp.passiveOpens, 1, 'the duplicate SYN did not open a second connection');
  // The half-open connection is a request record, not a socket: only the listener holds a descriptor.
  assert.equal(ts.stack.sockets.usage.used, 1);
  assert.equal(ts.stack.tcp.core.passive.q.used, 1);
});

test('ten back-to-back connections from the same client port: all succeed, no PAWS drops', () => {
  const p = tcpPair({ tcpTimeWaitMs: 60000 });
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 8);
  const buf = new Uint8Array(64);
  for (let i = 0; i < 10; i++) {
    const cfd = p.a.sockets.socket('tcp');
    assert.equal(p.a.sockets.setsockopt(cfd, SO_REUSEADDR, 1), 0);
    assert.equal(p.a.sockets.bind(cfd, 0, 40000), 0, `bind round ${i}`);
    let writable = false;
    p.a.sockets.setCallback(cfd, (_f, ev) => { if (ev & EV_WRITABLE) writable = true; });
    assert.equal(p.a.sockets.connect(cfd, B_IP, 80), -EINPROGRESS);
    let sfd = -1;
    waitFor(p.sim, () => {
      if (sfd < 0) sfd = p.b.sockets.accept(lfd);
      return sfd >= 0 && p.a.sockets.tcpState(cfd) === 'ESTABLISHED';
    }, 10000);
    assert.ok(writable, `round ${i}: connect completion reported`);
    const msg = pattern(20 + i, i);
    assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, msg), msg, `round ${i} request`);
    assert.deepEqual(transfer(p.sim, p.b, sfd, p.a, cfd, msg), msg, `round ${i} reply`);
    // The server closes first and holds TIME_WAIT; the next SYN from the same port must reopen it.
    p.b.sockets.close(sfd);
    waitFor(p.sim, () => p.a.sockets.recv(cfd, buf, 0, 64) === 0, 5000);
    p.a.sockets.close(cfd);
    p.sim.advance(5);
    assert.equal(p.a.sockets.usage.used, 0, `round ${i}: client slot freed`);
    assert.equal(p.a.stats.tcp.pawsDropped, 0, `round ${i}: client PAWS drops`);
    assert.equal(p.b.stats.tcp.pawsDropped, 0, `round ${i}: server PAWS drops`);
  }
  assert.equal(p.a.stats.tcp.activeOpens, 10);
  assert.equal(p.b.stats.tcp.passiveOpens, 10);
  assert.equal(p.a.stats.tcp.failedOpens, 0);
  assert.equal(p.a.stats.tcp.retransmits, 0, 'no SYN had to be retried');
  assert.ok(p.b.stats.tcp.timeWaitRecycled >= 9, `TIME_WAIT reopened by new SYNs: ${p.b.stats.tcp.timeWaitRecycled}`);
});
