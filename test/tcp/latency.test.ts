/**
 * Request/response latency in virtual time: Nagle as Linux applies it
 * (Minshall's variant), quick-ACK and ping-pong (interactive) mode of the
 * delayed ACK, a corked header + body leaving as one segment through the
 * node:net facade, the window-update ACK after a reader drains its buffer,
 * one ACK for the peer's FIN on a simultaneous close, and the limit on ACKs
 * for invalid segments (one per 500 ms per connection, Linux
 * tcp_invalid_ratelimit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetSocket } from '../../src/index.js';
import {
  ACK, B_IP, FIN, PSH, RST, SHUT_WR, SYN, add32, connect, describe, drain, pattern, tapEstablished, tcpPair, waitFor,
  type Seg,
} from './helpers.js';

const show = (segs: Seg[]): string => segs.map(describe).join('; ') || '(nothing)';
const HEADER = 8;

/**
 * The client of the chatty-client scenario, over the node:net facade: each
 * request is a header (8 bytes: "REQ" + body length) and a body, corked and
 * uncorked on the next tick as mqtt.js does; the next request goes once the
 * 4-byte reply is in.
 */
function corkedRequest(sock: NetSocket, body: Buffer): void {
  const header = Buffer.alloc(HEADER);
  header.write('REQ', 0);
  header.writeUInt32BE(body.length, 4);
  sock.cork();
  sock.write(header);
  sock.write(body);
  process.nextTick(() => sock.uncork());
}

/** The server side: answers every complete header + body with "OK\r\n". */
function replyServer(sock: NetSocket): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= HEADER) {
      const need = HEADER + buf.readUInt32BE(4);
      if (buf.length < need) break;
      buf = buf.subarray(need);
      sock.write('OK\r\n');
    }
  });
}

for (const bodyLen of [100, 3000]) {
  test(`corked header + ${bodyLen}-byte body over stack.net, 200 rounds stack to stack: no round waits for a delayed ACK`, { timeout: 60000 }, async () => {
    const p = tcpPair({}, { delayMs: 1 });
    const server = p.b.net.createServer((s) => replyServer(s));
    server.listen(80);
    const sock = p.a.net.connect(80, B_IP);
    await p.sim.until(new Promise((r) => sock.once('connect', r)), 5000);
    const body = Buffer.from(pattern(bodyLen, 5));
    let replies = 0;
    let wake: (() => void) | null = null;
    sock.on('data', (d: Buffer) => {
      replies += d.length / 4;
      if (wake !== null) wake();
    });
    p.ra.clear();
    p.rb.clear();
    const times: number[] = [];
    const start = p.sim.now;
    for (let i = 0; i < 200; i++) {
      const t0 = p.sim.now;
      const want = i + 1;
      corkedRequest(sock, body);
      await p.sim.until(new Promise<void>((r) => {
        wake = () => { if (replies >= want) r(); };
        wake();
      }), 1000);
      times.push(p.sim.now - t0);
    }
    const total = p.sim.now - start;
    const slowest = Math.max(...times);
    // One round is one round trip of 2 ms (plus a second one for a body of several segments in slow start).
    assert.ok(slowest < 10, `slowest round ${slowest} ms (a delayed-ACK wait would be 40 ms): ${times.join(',')}`);
    assert.ok(total < 200 * 10, `200 rounds in ${total} ms`);
    const mss = p.a.sockets.tcpInfo(sock.descriptor)!.mss;
    const requestSegs = p.ra.segments().filter((x) => x.seg.payload.length > 0);
    assert.equal(requestSegs.length, 200 * Math.ceil((HEADER + bodyLen) / mss),
      `each request leaves in the fewest segments (${Math.ceil((HEADER + bodyLen) / mss)})`);
    if (bodyLen + HEADER <= mss) {
      assert.ok(requestSegs.every((x) => x.seg.payload.length === HEADER + bodyLen), 'header and body in one segment');
      // Ping-pong mode: both ends' ACKs ride on the requests and replies, bar a few at the start and end.
      const pureAcks = p.ra.segments().concat(p.rb.segments()).filter((x) => x.seg.payload.length === 0);
      assert.ok(pureAcks.length <= 6, `pure ACKs: ${pureAcks.length}`);
    }
    assert.equal(p.a.stats.tcp.retransmits + p.b.stats.tcp.retransmits, 0);
    sock.destroy();
    server.close();
    await p.sim.run(10);
  });
}

test('Nagle, Minshall\'s variant: a small segment goes out while a full one is in flight; a second small one waits for the first small one\'s ACK', () => {
  const { ts, peer, fd } = tapEstablished(61, 40500, 9000);
  const s = ts.stack.sockets;
  const smss = s.tcpInfo(fd)!.mss;
  const data = pattern(smss + 300, 9);
  // One full segment: sent.
  assert.equal(s.send(fd, data, 0, smss), smss);
  let out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [smss], show(out));
  // A small one while the full one is unacknowledged: no small segment is outstanding, so it goes at once.
  assert.equal(s.send(fd, data, smss, 100), 100);
  out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [100], show(out));
  // A second small one: the first small one is unacknowledged, so it waits.
  assert.equal(s.send(fd, data, smss + 100, 50), 50);
  assert.deepEqual(ts.advance(5).map(describe), [], 'held by Nagle');
  // The peer acknowledges the full segment only: the small one is still out, still waiting.
  const ackFull = add32(peer.irs, 1 + smss);
  out = peer.absorb(ts.feed(peer.frame({ flags: ACK, ack: ackFull, options: peer.stdOptions() }), 1));
  assert.deepEqual(out.map(describe), [], 'still held while the first small segment is unacknowledged');
  // The small segment acknowledged: the held one leaves.
  out = peer.absorb(ts.feed(peer.frame({ flags: ACK, ack: add32(ackFull, 100), options: peer.stdOptions() }), 1));
  assert.deepEqual(out.map((x) => x.payload.length), [50], show(out));
  // Then more than one segment's worth in one send: the full segment and the 150-byte tail both go,
  // with nothing small outstanding (the 50 was acknowledged below).
  peer.absorb(ts.feed(peer.frame({ flags: ACK, ack: peer.rcvNxt, options: peer.stdOptions() }), 1));
  const big = pattern(smss + 150, 4);
  assert.equal(s.send(fd, big, 0, big.length), big.length);
  out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [smss, 150], `the tail is not held behind the full segment: ${show(out)}`);
  // With TCP_NODELAY a small segment goes whatever is outstanding.
  assert.equal(s.setsockopt(fd, 0x101, 1), 0);
  assert.equal(s.send(fd, data, 0, 20), 20);
  out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [20], show(out));
  assert.deepEqual(peer.received, [...data.subarray(0, smss + 150), ...big, ...data.subarray(0, 20)]);
});

test('writes: send() with MSG_MORE holds a partial segment until the send without it; full segments go meanwhile', () => {
  const { ts, peer, fd } = tapEstablished(62, 40500, 9000);
  const s = ts.stack.sockets;
  const smss = s.tcpInfo(fd)!.mss;
  const MSG_MORE = 0x8000;
  const d = pattern(2 * smss, 3);
  assert.equal(s.send(fd, d, 0, 10, MSG_MORE), 10);
  assert.deepEqual(ts.advance(1).map(describe), [], 'a partial segment waits for the rest of the write');
  assert.equal(s.send(fd, d, 10, smss, MSG_MORE), smss);
  let out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [smss], `full segments go at once: ${show(out)}`);
  assert.equal(s.send(fd, d, 10 + smss, 30), 30);
  out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [40], show(out));
  assert.ok(out[0].flags & PSH);
  assert.deepEqual(peer.received, [...d.subarray(0, smss + 40)]);
});

test('ping-pong mode: a receiver that answers within the delayed-ACK time sends no pure ACKs; one that goes quiet leaves it', () => {
  const { ts, peer, fd } = tapEstablished(63, 40500, 9000);
  const s = ts.stack.sockets;
  const reply = pattern(20, 2);
  // 5 requests answered at once by the application.
  for (let i = 0; i < 5; i++) {
    let out = peer.send(pattern(30, i), 1);
    assert.equal(drain(ts.stack, fd).length, 30);
    assert.equal(s.send(fd, reply, 0, reply.length), 20);
    out = out.concat(peer.absorb(ts.advance(0)));
    const data = out.filter((x) => x.payload.length > 0);
    assert.equal(data.length, 1, show(out));
    assert.equal(data[0].ack, peer.sndNxt, 'the reply carries the ACK');
    if (i > 0) assert.equal(out.length, 1, `request ${i}: only the reply, no pure ACK: ${show(out)}`);
    peer.absorb(ts.feed(peer.ackFrame(), 1));
  }
  // The application does not answer: the ACK waits 40 ms, and ping-pong mode ends.
  const delayed0 = ts.stack.stats.tcp.delayedAcks;
  assert.deepEqual(peer.send(pattern(30), 0).map(describe), []);
  assert.equal(drain(ts.stack, fd).length, 30, 'read, no reply');
  const timed = ts.stepTimed(60);
  assert.equal(timed.length, 1, timed.map((x) => describe(x.seg)).join('; '));
  assert.equal(ts.stack.stats.tcp.delayedAcks, delayed0 + 1);
  // Out of ping-pong mode, with quick ACKs of the start left over, the next segment is acknowledged at once.
  const out = peer.send(pattern(30), 1);
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].ack, peer.sndNxt);
  assert.equal(drain(ts.stack, fd).length, 30);
});

test('delayed ACK: a small segment is acknowledged as soon as the reader drains it, unless in ping-pong mode', () => {
  const { ts, peer, fd } = tapEstablished(65, 40500, 9000);
  for (let i = 0; i < 16; i++) assert.equal(peer.send(pattern(10), 1).length, 1, `quick ACK ${i}`);
  assert.equal(drain(ts.stack, fd).length, 160);
  // Past the quick ACKs: a small segment waits for the delayed ACK...
  assert.deepEqual(peer.send(pattern(30), 1).map(describe), []);
  assert.deepEqual(ts.advance(5).map(describe), []);
  // ...until the application reads it (Linux tcp_cleanup_rbuf: ICSK_ACK_PUSHED on a connection that is not interactive).
  assert.equal(drain(ts.stack, fd).length, 30);
  const out = peer.absorb(ts.advance(0));
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].ack, peer.sndNxt);
  assert.equal(ts.stack.stats.tcp.delayedAcks, 0);
});

test('window update: a reader draining a full receive buffer advertises the open window at once', () => {
  const p = tcpPair({}, { delayMs: 1 }, {}, { tcpRecvBufferBytes: 8192 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const data = pattern(64 * 1024, 8);
  let sent = p.a.sockets.send(cfd, data, 0, data.length);
  // The last bytes of the window wait for the SWS-override fill of the persist timer.
  p.sim.advance(3000);
  assert.equal(p.b.sockets.readableBytes(sfd), 8192, 'the receive buffer is full');
  assert.equal(p.a.sockets.tcpInfo(cfd)!.sendWindow, 0, 'the sender sees a zero window');
  p.rb.clear();
  const got = drain(p.b, sfd);
  assert.equal(got.length, 8192);
  // The update leaves with the read, not at the next timer or probe.
  const upd = p.rb.segments();
  assert.equal(upd.length, 1, upd.map((x) => describe(x.seg)).join('; '));
  assert.ok(upd[0].seg.win >= 4096, `window ${upd[0].seg.win} (an 8 KiB buffer needs no scaling)`);
  assert.equal(upd[0].t, p.sim.now);
  // And the transfer resumes one round trip later.
  const t0 = p.sim.now;
  waitFor(p.sim, () => p.b.sockets.readableBytes(sfd) > 0, 100);
  assert.ok(p.sim.now - t0 <= 3, `resumed after ${p.sim.now - t0} ms`);
  while (got.length < data.length) {
    if (sent < data.length) {
      const n = p.a.sockets.send(cfd, data, sent, data.length - sent);
      if (n > 0) sent += n;
    }
    drain(p.b, sfd, got);
    p.sim.advance(1);
    assert.ok(p.sim.now - t0 < 5000, `stalled at ${got.length}`);
  }
  assert.deepEqual(Uint8Array.from(got), data);
});

test('simultaneous close: each end acknowledges the other\'s FIN exactly once', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 }, { delayMs: 10 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.sim.advance(100);
  p.ra.clear();
  p.rb.clear();
  assert.equal(p.a.sockets.shutdown(cfd, SHUT_WR), 0);
  assert.equal(p.b.sockets.shutdown(sfd, SHUT_WR), 0);
  p.sim.advance(500);
  assert.equal(p.a.sockets.tcpState(cfd), 'TIME_WAIT');
  assert.equal(p.b.sockets.tcpState(sfd), 'TIME_WAIT');
  for (const [name, r] of [['a', p.ra], ['b', p.rb]] as const) {
    const segs = r.segments().map((x) => x.seg);
    assert.equal(segs.length, 2, `${name}: FIN, then one ACK: ${segs.map(describe).join('; ')}`);
    assert.equal(segs[0].flags & (FIN | ACK), FIN | ACK);
    assert.equal(segs[1].flags & (FIN | ACK | RST | SYN), ACK);
    assert.equal(segs[1].ack, add32(segs[0].ack, 1), `${name}: the ACK covers the peer's FIN`);
  }
});

test('invalid segments: a flood of PAWS-rejected and out-of-window ACKs draws at most one ACK per 500 ms; data is answered', () => {
  const { ts, peer, fd } = tapEstablished(64, 40500, 9000);
  ts.advance(1000);
  const st = ts.stack.stats.tcp;
  const paws0 = st.pawsDropped;
  const limited0 = st.ackRateLimited;
  const oldTs = add32(peer.o.tsOffset, -1000);
  let acks = 0;
  // 100 ACKs with an old timestamp over 2 s (one per 20 ms).
  for (let i = 0; i < 100; i++) {
    const out = ts.feed(peer.frame({ flags: ACK, options: peer.stdOptions([], oldTs) }), 20);
    acks += out.length;
  }
  assert.equal(st.pawsDropped - paws0, 100);
  assert.ok(acks >= 4 && acks <= 5, `ACKs for 100 PAWS-rejected segments in 2 s: ${acks}`);
  assert.equal(st.ackRateLimited - limited0, 100 - acks, 'every ACK held back is counted');
  // Out-of-window pure ACKs (sequence far ahead): the same limit, shared.
  ts.advance(500);
  acks = 0;
  for (let i = 0; i < 50; i++) {
    const out = ts.feed(peer.frame({ flags: ACK, seq: add32(peer.sndNxt, 0x100000), options: peer.stdOptions() }), 10);
    acks += out.length;
  }
  assert.ok(acks >= 1 && acks <= 2, `ACKs for 50 out-of-window segments in 500 ms: ${acks}`);
  // A PAWS-rejected data segment is answered even within the interval (no ACK loop: its sender needs to know).
  ts.feed(peer.frame({ flags: ACK, options: peer.stdOptions([], oldTs) }), 1);
  const dataOut = ts.feed(peer.frame({ flags: ACK | PSH, payload: pattern(10), options: peer.stdOptions([], oldTs) }), 1);
  assert.equal(dataOut.length, 1, show(dataOut));
  assert.equal(ts.stack.sockets.readableBytes(fd), 0, 'the data was not taken');
  // Challenge ACKs share the limit (Linux tcp_send_challenge_ack).
  ts.advance(600);
  const ch0 = st.challengeAcks;
  let challenged = 0;
  for (let i = 0; i < 20; i++) {
    challenged += ts.feed(peer.frame({ flags: RST, seq: add32(peer.sndNxt, 100 + i), ack: 0 }), 10).length;
  }
  assert.equal(challenged, 1, 'one challenge ACK for 20 in-window RSTs within 200 ms');
  assert.equal(st.challengeAcks - ch0, 1);
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  // The connection still works.
  peer.send(pattern(10), 1);
  assert.equal(drain(ts.stack, fd).length, 10);
});

test('MSG_MORE with a send buffer smaller than a segment: a full buffer is pushed out, never held for data that cannot fit', () => {
  const p = tcpPair({ maxMtu: 9000 }, { mtu: 9000 });
  const MSG_MORE = 0x8000;
  const SO_SNDBUF = 7;
  const cfd = p.a.sockets.socket('tcp');
  assert.equal(p.a.sockets.setsockopt(cfd, SO_SNDBUF, 2048), 0);
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 4);
  p.a.sockets.connect(cfd, B_IP, 80);
  let sfd = -1;
  waitFor(p.sim, () => (sfd = sfd >= 0 ? sfd : p.b.sockets.accept(lfd)) >= 0 && p.a.sockets.tcpState(cfd) === 'ESTABLISHED', 5000);
  assert.ok(p.a.sockets.tcpInfo(cfd)!.mss > 2048, 'a segment holds more than the whole send buffer');
  const data = pattern(6000, 6);
  // A gathered write of 3 x 2000 bytes, as _writev does it: MSG_MORE on all but the last.
  let sent = 0;
  const got: number[] = [];
  for (let round = 0; round < 2000 && got.length < data.length; round++) {
    const chunkEnd = Math.min(data.length, (Math.floor(sent / 2000) + 1) * 2000);
    if (sent < data.length) {
      const n = p.a.sockets.send(cfd, data.subarray(0, chunkEnd), sent, chunkEnd - sent, chunkEnd < data.length ? MSG_MORE : 0);
      if (n > 0) sent += n;
    }
    p.sim.advance(1);
    drain(p.b, sfd, got);
  }
  assert.deepEqual(Uint8Array.from(got), data, `delivered ${got.length} of ${data.length}`);
});
