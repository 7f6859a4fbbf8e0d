/**
 * The gathered send (SocketApi.sendv -> TcpUser.sendv), segment by segment
 * in virtual time: the node:net facade hands a corked write (mqtt.js's
 * header + body) over as one call, which must send what the chunks sent one
 * by one with MSG_MORE on all but the last would: one segment for a small
 * request, full segments at once for a large one, a partial take (never a
 * hold) when the send buffer fills, positions inside the chunks honoured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../../src/engine/errno.js';
import { B_IP, PSH, describe, drain, pattern, tapEstablished, tcpPair, waitFor, type Seg } from './helpers.js';

const show = (segs: Seg[]): string => segs.map(describe).join('; ') || '(nothing)';

test('sendv: a corked header + body is one segment with PSH; empty chunks and a start inside a chunk are honoured', () => {
  const { ts, peer, fd } = tapEstablished(71);
  const s = ts.stack.sockets;
  const header = pattern(8, 1);
  const body = pattern(100, 2);
  assert.equal(s.sendv(fd, [header, new Uint8Array(0), body], 0, 0, 2), 108);
  let out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [108], show(out));
  assert.ok(out[0].flags & PSH);
  peer.absorb(ts.feed(peer.ackFrame(), 1)); // acknowledged: Nagle lets the next small segment go
  // From byte 5 of chunk 1 on: 95 bytes of the body, then a trailing empty chunk.
  assert.equal(s.sendv(fd, [header, body, new Uint8Array(0)], 1, 5, 1), 95);
  out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [95], show(out));
  assert.deepEqual(peer.received, [...header, ...body, ...body.subarray(5)]);
});

test('sendv: full segments of a large gathered write go at once, the partial tail with the last chunk (also when the first chunk fills segments)', () => {
  const { ts, peer, fd } = tapEstablished(72);
  const s = ts.stack.sockets;
  const smss = s.tcpInfo(fd)!.mss;
  const a = pattern(10, 3);
  const b = pattern(smss + 40, 4);
  assert.equal(s.sendv(fd, [a, b], 0, 0, 1), smss + 50);
  const out = peer.absorb(ts.advance(0));
  assert.deepEqual(out.map((x) => x.payload.length), [smss, 50], show(out));
  assert.deepEqual(peer.received, [...a, ...b]);
  peer.absorb(ts.feed(peer.ackFrame(), 1));
  // A first chunk of more than two segments (its output pass deferred to the last chunk's): the same segments.
  const big = pattern(2 * smss + 5, 5);
  const tail = pattern(3, 6);
  assert.equal(s.sendv(fd, [big, tail], 0, 0, 1), 2 * smss + 8);
  const out2 = peer.absorb(ts.advance(0));
  assert.deepEqual(out2.map((x) => x.payload.length), [smss, smss, 8], show(out2));
  assert.deepEqual(peer.received, [...a, ...b, ...big, ...tail]);
});

test('sendv: bad positions are EINVAL, a UDP socket EOPNOTSUPP, a closed descriptor EBADF', () => {
  const { ts, fd } = tapEstablished(73);
  const s = ts.stack.sockets;
  const c = [pattern(4, 1)];
  assert.equal(s.sendv(fd, c, 1, 0, 0), -Errno.EINVAL);
  assert.equal(s.sendv(fd, c, 0, 5, 0), -Errno.EINVAL);
  assert.equal(s.sendv(fd, c, -1, 0, 0), -Errno.EINVAL);
  const u = s.socket('udp');
  assert.equal(s.sendv(u, c, 0, 0, 0), -Errno.EOPNOTSUPP);
  assert.equal(s.close(u), 0);
  assert.equal(s.sendv(u, c, 0, 0, 0), -Errno.EBADF);
});

test('sendv with a send buffer smaller than the write: partial takes, never a hold of what cannot fit; all delivered in order', () => {
  const p = tcpPair({ maxMtu: 9000 }, { mtu: 9000 });
  const SO_SNDBUF = 7;
  const cfd = p.a.sockets.socket('tcp');
  assert.equal(p.a.sockets.setsockopt(cfd, SO_SNDBUF, 2048), 0);
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 4);
  p.a.sockets.connect(cfd, B_IP, 80);
  let sfd = -1;
  waitFor(p.sim, () => (sfd = sfd >= 0 ? sfd : p.b.sockets.accept(lfd)) >= 0 && p.a.sockets.tcpState(cfd) === 'ESTABLISHED', 5000);
  const data = pattern(6000, 6);
  const chunks = [data.subarray(0, 2000), data.subarray(2000, 4000), data.subarray(4000)];
  // The facade's cursor: chunk index and offset, advanced by what sendv took.
  let index = 0;
  let off = 0;
  let sent = 0;
  let partial = 0;
  const got: number[] = [];
  for (let round = 0; round < 2000 && got.length < data.length; round++) {
    if (index < chunks.length) {
      const n = p.a.sockets.sendv(cfd, chunks, index, off, 2);
      if (n !== -Errno.EAGAIN) {
        assert.ok(n > 0 && n <= data.length - sent, `took ${n} with ${data.length - sent} left`);
        if (n < data.length - sent) partial++;
        sent += n;
        off += n;
        while (index < chunks.length && off >= chunks[index].length) off -= chunks[index++].length;
      }
    }
    p.sim.advance(1);
    drain(p.b, sfd, got);
  }
  assert.equal(sent, data.length);
  assert.ok(partial > 0, 'the buffer took part of the write at least once');
  assert.deepEqual(Uint8Array.from(got), data, `delivered ${got.length} of ${data.length}`);
});
