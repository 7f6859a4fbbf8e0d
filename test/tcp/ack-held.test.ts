/**
 * The quick ACK of a lone segment waits for the next poll (processData,
 * TF_ACK_HELD): the application gets its turn first, and a reply it writes
 * meanwhile carries the ACK, as an HTTP response does for its request (one
 * frame instead of two). Without a reply the ACK leaves at the next poll of
 * the same instant (the driver polls again at once for a due deadline).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EV_READABLE } from '../../src/socket/api.js';
import { describe, drain, parseTcpFrame, pattern, tapEstablished, tapStack, TapPeer, type Seg } from './helpers.js';

/** One poll (no re-poll of a due deadline): the segments sent, and the deadline the poll returned. */
function pollOnce(ts: ReturnType<typeof tapStack>): { out: Seg[]; next: number } {
  const next = ts.stack.poll(ts.now);
  const out: Seg[] = [];
  for (const f of ts.tap.take()) {
    const seg = parseTcpFrame(f);
    if (seg !== null) out.push(seg);
  }
  return { out, next };
}

const show = (segs: Seg[]): string => segs.map(describe).join('; ') || '(nothing)';

test('a request\'s quick ACK rides on the reply written before the next poll: one segment', () => {
  const { ts, peer, fd } = tapEstablished(71);
  const quick0 = ts.stack.stats.tcp.quickAcks;
  ts.tap.inject(peer.dataFrame(pattern(27, 1)));
  const first = pollOnce(ts);
  assert.deepEqual(first.out, [], `the ACK waits for the application: ${show(first.out)}`);
  assert.ok(first.next <= ts.now, 'the poll asks to be polled again at once');
  assert.equal(ts.stack.stats.tcp.quickAcks, quick0 + 1, 'still counted as a quick ACK');
  // The application's turn: it reads the request and answers.
  assert.equal(drain(ts.stack, fd).length, 27);
  const reply = pattern(199, 2);
  assert.equal(ts.stack.sockets.send(fd, reply, 0, reply.length), reply.length);
  const sent = [...ts.tap.take(), ...(() => { ts.stack.poll(ts.now); return ts.tap.take(); })()]
    .map(parseTcpFrame).filter((x): x is Seg => x !== null);
  peer.absorb(sent);
  assert.equal(sent.length, 1, show(sent));
  assert.equal(sent[0].payload.length, 199);
  assert.equal(sent[0].ack, peer.sndNxt, 'the reply acknowledges the request');
});

test('without a reply the held quick ACK leaves at the next poll of the same instant', () => {
  const { ts, peer } = tapEstablished(72);
  ts.tap.inject(peer.dataFrame(pattern(27, 1)));
  const t0 = ts.now;
  const first = pollOnce(ts);
  assert.deepEqual(first.out, [], show(first.out));
  const second = pollOnce(ts);
  peer.absorb(second.out);
  assert.equal(second.out.length, 1, show(second.out));
  assert.equal(second.out[0].payload.length, 0);
  assert.equal(second.out[0].ack, peer.sndNxt);
  assert.equal(ts.now, t0, 'no time passed');
  assert.deepEqual(pollOnce(ts).out, [], 'one ACK, no copy');
});

test('two segments in one poll are acknowledged at the end of that poll, not held', () => {
  const { ts, peer } = tapEstablished(73);
  ts.tap.inject(peer.dataFrame(pattern(100, 1)));
  ts.tap.inject(peer.dataFrame(pattern(100, 2)));
  const first = pollOnce(ts);
  peer.absorb(first.out);
  assert.equal(first.out.length, 1, show(first.out));
  assert.equal(first.out[0].ack, peer.sndNxt, 'one ACK for both');
});

test('a reply written in the readable callback carries the held ACK, and the poll leaves no deadline due', () => {
  const { ts, peer, fd } = tapEstablished(74);
  const reply = pattern(120, 3);
  let answered = 0;
  // The application's turn inside the poll (its dispatch), as an HTTP server answers a request.
  ts.stack.sockets.setCallback(fd, (_fd, ev) => {
    if ((ev & EV_READABLE) === 0 || drain(ts.stack, fd).length === 0) return;
    assert.equal(ts.stack.sockets.send(fd, reply, 0, reply.length), reply.length);
    answered++;
  });
  ts.tap.inject(peer.dataFrame(pattern(27, 1)));
  const first = pollOnce(ts);
  peer.absorb(first.out);
  assert.equal(answered, 1);
  assert.equal(first.out.length, 1, show(first.out));
  assert.equal(first.out[0].payload.length, 120);
  assert.equal(first.out[0].ack, peer.sndNxt, 'the reply acknowledges the request');
  // Before the held-ACK list, TCP's deadline stayed at now and the driver polled again for nothing.
  assert.ok(first.next > ts.now, `deadline ${first.next} at ${ts.now}: the poll asks for another at once`);
  assert.deepEqual(pollOnce(ts).out, [], 'no second ACK');
});

test('held ACKs of two connections in one poll: the one answered rides on its reply, the other leaves at the next poll', () => {
  const { ts, peer, fd } = tapEstablished(75);
  const lfd2 = ts.stack.sockets.socket('tcp');
  assert.equal(ts.stack.sockets.bind(lfd2, 0, 81), 0);
  assert.equal(ts.stack.sockets.listen(lfd2, 4), 0);
  const peer2 = new TapPeer(ts, { port: 40700, stackPort: 81, isn: 9000 });
  const fd2 = peer2.handshake(lfd2);
  ts.tap.inject(peer.dataFrame(pattern(27, 1)));
  ts.tap.inject(peer2.dataFrame(pattern(33, 2)));
  const first = pollOnce(ts);
  assert.deepEqual(first.out, [], show(first.out));
  assert.ok(first.next <= ts.now, 'both ACKs are owed: poll again at once');
  // Only the first connection answers before the next poll.
  assert.equal(drain(ts.stack, fd).length, 27);
  const reply = pattern(50, 4);
  assert.equal(ts.stack.sockets.send(fd, reply, 0, reply.length), reply.length);
  assert.equal(drain(ts.stack, fd2).length, 33);
  const sent = [...ts.tap.take(), ...(() => { ts.stack.poll(ts.now); return ts.tap.take(); })()]
    .map(parseTcpFrame).filter((x): x is Seg => x !== null);
  const toPeer1 = sent.filter((x) => x.dport === 40600);
  const toPeer2 = sent.filter((x) => x.dport === 40700);
  peer.absorb(toPeer1);
  peer2.absorb(toPeer2);
  assert.equal(toPeer1.length, 1, show(sent));
  assert.equal(toPeer1[0].payload.length, 50);
  assert.equal(toPeer2.length, 1, show(sent));
  assert.equal(toPeer2[0].payload.length, 0, 'a bare ACK for the connection that did not answer');
  assert.equal(toPeer2[0].ack, peer2.sndNxt);
  const after = pollOnce(ts);
  assert.deepEqual(after.out, [], 'no copies');
  assert.ok(after.next > ts.now, 'nothing owed any more');
});
