/**
 * Byte-level TCP: hand-made segments injected into one stack through a
 * FrameTap, its replies decoded by the test's own parser. Options parsing,
 * window scale arithmetic (RFC 7323), PAWS, RFC 5961 robustness, sequence
 * wrap-around, reassembly with SACK (RFC 2018/2883), RST generation for
 * closed ports (RFC 9293 3.10.7.1) and ACK pacing (RFC 5681 4.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StackConfig } from '../../src/index.js';
import {
  ACK, ECONNRESET, FIN, PSH, RST, SYN, TapPeer, add32, describe, drain, opt, optionBlock, pattern, tapStack,
  type Seg, type TapStack,
} from './helpers.js';

const PORT = 80;

function listener(seed: number, config: StackConfig = {}): { ts: TapStack; lfd: number } {
  const ts = tapStack(seed, config);
  const lfd = ts.stack.sockets.socket('tcp');
  assert.equal(ts.stack.sockets.bind(lfd, 0, PORT), 0);
  assert.equal(ts.stack.sockets.listen(lfd, 16), 0);
  return { ts, lfd };
}

function established(seed: number, config: StackConfig = {}, isn = 1000000, port = 40000) {
  const { ts, lfd } = listener(seed, config);
  const peer = new TapPeer(ts, { port, stackPort: PORT, isn });
  const fd = peer.handshake(lfd);
  return { ts, lfd, peer, fd };
}

const show = (segs: Seg[]): string => segs.map(describe).join('; ') || '(nothing)';

// ---------------------------------------------------------------- options

test('malformed option lists: the segment is dropped and counted as badOptions', () => {
  const { ts } = listener(41);
  const cases: Array<[string, number[]]> = [
    ['MSS with length 3', [2, 3, 5, 0]],
    ['unknown option with length 0', [30, 0, 1, 1]],
    ['unknown option with length 1', [30, 1, 1, 1]],
    ['length running past the header', [30, 10, 0, 0]],
    ['kind in the last byte with no length', [1, 1, 1, 30]],
    ['window scale with length 4', [3, 4, 7, 1]],
    ['timestamps with length 8', [8, 8, 0, 0, 0, 1, 0, 0]],
    ['SACK-permitted with length 3', [4, 3, 0, 1]],
    ['SACK with a length not 2 + 8n', [5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
  ];
  let port = 41000;
  for (const [name, bytes] of cases) {
    const before = ts.stack.stats.tcp.badOptions;
    const peer = new TapPeer(ts, { port: port++, stackPort: PORT, isn: 5 });
    const out = ts.feed(peer.frame({ flags: SYN, ack: 0, options: Uint8Array.from(bytes) }), 1);
    assert.deepEqual(out.map(describe), [], `${name}: no SYN-ACK`);
    assert.equal(ts.stack.stats.tcp.badOptions, before + 1, `${name}: counted`);
  }
  assert.equal(ts.stack.stats.tcp.passiveOpens, 0);
  assert.equal(ts.stack.sockets.usage.used, 1);
});

test('malformed options on an established connection: data dropped, nothing sent, connection intact', () => {
  const { ts, peer, fd } = established(42);
  const before = ts.stack.stats.tcp.badOptions;
  const out = ts.feed(peer.frame({ flags: ACK | PSH, options: Uint8Array.from([1, 1, 8, 12, 0, 0, 0, 0]), payload: pattern(100) }), 1);
  assert.deepEqual(out.map(describe), []);
  assert.equal(ts.stack.stats.tcp.badOptions, before + 1);
  assert.equal(ts.stack.sockets.readableBytes(fd), 0);
  // The same bytes with good options are taken.
  peer.send(pattern(100), 1);
  assert.equal(ts.stack.sockets.readableBytes(fd), 100);
});

test('unknown options are skipped by their length; options after EOL are ignored', () => {
  const { ts, lfd } = listener(43);
  const peer = new TapPeer(ts, { port: 42000, stackPort: PORT, isn: 99 });
  const options = optionBlock([
    opt.raw(30, 6, 0xde, 0xad, 0xbe, 0xef), opt.mss(1000), opt.raw(253, 2), opt.sackOk(), opt.nop(), opt.ws(2),
    opt.raw(77, 3, 9), opt.eol(), opt.raw(2, 3, 0xff, 0xff),
  ]);
  const out = ts.feed(peer.frame({ flags: SYN, ack: 0, options }), 1);
  assert.equal(out.length, 1, show(out));
  const sa = out[0];
  assert.equal(sa.flags, SYN | ACK);
  assert.ok(sa.opts.sackOk, 'SACK-permitted after an unknown option was seen');
  assert.ok(sa.opts.ws >= 0, 'window scale after an unknown option was seen');
  assert.equal(sa.opts.ts, null, 'no timestamps offered, none answered');
  assert.equal(ts.stack.stats.tcp.badOptions, 0);
  const ackOut = ts.feed(peer.frame({ flags: ACK, seq: 100, ack: add32(sa.seq, 1) }), 1);
  assert.deepEqual(ackOut.map(describe), []);
  const fd = ts.stack.sockets.accept(lfd);
  assert.ok(fd >= 0);
  const info = ts.stack.sockets.tcpInfo(fd)!;
  assert.equal(info.mss, 1000, 'the peer\'s MSS bounds our segments');
  assert.equal(info.options.peerWindowScale, 2);
  // Our segments respect it.
  const d = pattern(5000);
  assert.equal(ts.stack.sockets.send(fd, d, 0, d.length), d.length);
  const segs = ts.advance(1).filter((s) => s.payload.length > 0);
  assert.ok(segs.length >= 2);
  for (const s of segs) assert.ok(s.payload.length <= 1000, describe(s));
});

// ---------------------------------------------------------------- window scaling

test('window scaling: the SYN-ACK window is unscaled; later windows are free space >> shift', () => {
  const { ts, lfd } = listener(44, { tcpRecvBufferBytes: 1 << 20, maxTcpSockets: 2 });
  const peer = new TapPeer(ts, { port: 43000, stackPort: PORT, isn: 7000, ws: 7, win: 1000 });
  const out = ts.feed(peer.synFrame(), 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].opts.ws, 5, '1 MiB needs shift 5');
  assert.equal(out[0].win, 65535, 'SYN-ACK window: min(buffer, 65535), never scaled (RFC 7323 2.2)');
  // Complete the handshake with a window field of 100 << 7.
  peer.o.win = 100;
  const fd = peer.finishHandshake(lfd, out[0]);
  const info = ts.stack.sockets.tcpInfo(fd)!;
  assert.equal(info.sendWindow, 100 << 7, 'the peer\'s window field is scaled by its shift');
  // An ACK from the stack with nothing received advertises 1 MiB >> 5.
  const probe = peer.absorb(ts.feed(peer.frame({ flags: ACK, seq: add32(peer.sndNxt, -1), options: peer.stdOptions() }), 1));
  assert.equal(probe.length, 1, show(probe));
  assert.equal(probe[0].win, (1 << 20) >> 5);
  // 1000 unread bytes: floor((1 MiB - 1000) / 32). (The first data of a connection is acknowledged at once: quick-ACK mode.)
  const ack = peer.send(pattern(1000)).concat(peer.absorb(ts.advance(40)));
  assert.equal(ack.length, 1, show(ack));
  assert.equal(ack[0].win, Math.floor(((1 << 20) - 1000) / 32));
  assert.equal(drain(ts.stack, fd).length, 1000);
});

// ---------------------------------------------------------------- PAWS

test('PAWS: a segment with an older TSval is dropped, counted and answered with an ACK', () => {
  const { ts, peer, fd } = established(45);
  ts.advance(100);
  peer.send(pattern(200), 1);
  assert.equal(ts.stack.sockets.readableBytes(fd), 200);
  const before = ts.stack.stats.tcp.pawsDropped;
  const rcvNxtBefore = peer.sndNxt;
  const old = peer.frame({ flags: ACK | PSH, payload: pattern(300), options: peer.stdOptions([], add32(peer.tsVal(), -50)) });
  const out = peer.absorb(ts.feed(old, 1));
  assert.equal(ts.stack.stats.tcp.pawsDropped, before + 1);
  assert.equal(out.length, 1, `one ACK: ${show(out)}`);
  assert.equal(out[0].flags & (ACK | SYN | RST | FIN), ACK);
  assert.equal(out[0].ack, rcvNxtBefore, 'ACK of what was received before');
  assert.equal(ts.stack.sockets.readableBytes(fd), 200, 'the payload was not taken');
  // The same bytes with a current TSval are accepted.
  peer.send(pattern(300), 40);
  assert.equal(ts.stack.sockets.readableBytes(fd), 500);
});

// ---------------------------------------------------------------- RFC 5961

test('RFC 5961: an in-window RST with seq != rcvNxt draws a challenge ACK and does not reset', () => {
  const { ts, peer, fd } = established(46);
  peer.send(pattern(10), 40);
  const before = ts.stack.stats.tcp.challengeAcks;
  const out = peer.absorb(ts.feed(peer.frame({ flags: RST, seq: add32(peer.sndNxt, 100), ack: 0 }), 1));
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].flags & (ACK | RST), ACK);
  assert.equal(out[0].ack, peer.sndNxt, 'the challenge ACK says where the receiver is');
  assert.equal(ts.stack.stats.tcp.challengeAcks, before + 1);
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  // Out of the window entirely: silently dropped.
  const far = ts.feed(peer.frame({ flags: RST, seq: add32(peer.sndNxt, 0x40000000), ack: 0 }), 1);
  assert.deepEqual(far.map(describe), []);
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  // Data still flows.
  peer.send(pattern(10), 40);
  assert.equal(drain(ts.stack, fd).length, 20);
});

test('RFC 5961: a RST with seq == rcvNxt resets the connection (ECONNRESET), with no reply', () => {
  const { ts, peer, fd } = established(47);
  const out = ts.feed(peer.frame({ flags: RST | ACK, seq: peer.sndNxt }), 1);
  assert.deepEqual(out.map(describe), []);
  assert.equal(ts.stack.sockets.tcpState(fd), 'CLOSED');
  assert.equal(ts.stack.sockets.recv(fd, new Uint8Array(8), 0, 8), -ECONNRESET);
  assert.equal(ts.stack.stats.tcp.resets, 1);
});

test('RFC 5961: a SYN on an established connection draws a challenge ACK and changes nothing', () => {
  const { ts, peer, fd } = established(48);
  peer.send(pattern(10), 40);
  const before = ts.stack.stats.tcp.challengeAcks;
  // In-window SYN (new ISN).
  const out = peer.absorb(ts.feed(peer.frame({ flags: SYN, seq: add32(peer.sndNxt, 500), ack: 0, options: peer.stdOptions() }), 1));
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].flags & (SYN | ACK | RST), ACK);
  assert.equal(out[0].ack, peer.sndNxt);
  assert.equal(ts.stack.stats.tcp.challengeAcks, before + 1);
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  // The original SYN retransmitted (old sequence number): also just an ACK, once
  // the per-connection limit of one such ACK per 500 ms allows (Linux tcp_invalid_ratelimit).
  ts.advance(500);
  const again = peer.absorb(ts.feed(peer.frame({ flags: SYN, seq: add32(peer.o.isn, 0), ack: 0, options: peer.stdOptions() }), 1));
  assert.equal(again.length, 1, show(again));
  assert.equal(again[0].flags & (SYN | ACK | RST), ACK);
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  assert.equal(ts.stack.stats.tcp.passiveOpens, 1);
  peer.send(pattern(10), 40);
  assert.equal(drain(ts.stack, fd).length, 20);
});

test('an ACK for data never sent is answered with an ACK and the segment (with its data) dropped', () => {
  const { ts, peer, fd } = established(49);
  const out = peer.absorb(ts.feed(peer.frame({
    flags: ACK | PSH, ack: add32(peer.rcvNxt, 5000), payload: pattern(100), options: peer.stdOptions(),
  }), 1));
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].flags & (ACK | RST | FIN), ACK);
  assert.equal(out[0].ack, peer.sndNxt, 'rcvNxt unchanged');
  assert.equal(ts.stack.sockets.readableBytes(fd), 0, 'payload of the bad segment not delivered');
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  peer.send(pattern(100), 40);
  assert.equal(ts.stack.sockets.readableBytes(fd), 100);
});

test('each kind of unacceptable segment draws exactly one ACK (no duplicate bursts)', () => {
  const { ts, peer, fd } = established(50);
  peer.send(pattern(3000).subarray(0, 1400));
  peer.send(pattern(3000).subarray(1400, 2800));
  ts.advance(50);
  const rn = peer.sndNxt;
  const cases: Array<[string, () => Uint8Array]> = [
    ['old duplicate data', () => peer.frame({ flags: ACK | PSH, seq: add32(rn, -1400), payload: pattern(1400), options: peer.stdOptions() })],
    ['data beyond the window', () => peer.frame({ flags: ACK | PSH, seq: add32(rn, 200000), payload: pattern(100), options: peer.stdOptions() })],
    ['keepalive probe (seq = rcvNxt - 1)', () => peer.frame({ flags: ACK, seq: add32(rn, -1), options: peer.stdOptions() })],
    ['PAWS-old timestamp', () => peer.frame({ flags: ACK | PSH, payload: pattern(10), options: peer.stdOptions([], add32(peer.o.tsOffset, -1)) })],
    ['ACK of unsent data', () => peer.frame({ flags: ACK, ack: add32(peer.rcvNxt, 100000), options: peer.stdOptions() })],
    ['in-window RST', () => peer.frame({ flags: RST, seq: add32(rn, 10), ack: 0 })],
    ['in-window SYN', () => peer.frame({ flags: SYN, seq: add32(rn, 10), ack: 0, options: peer.stdOptions() })],
    ['old FIN', () => peer.frame({ flags: ACK | FIN, seq: add32(rn, -1), options: peer.stdOptions() })],
  ];
  for (const [name, make] of cases) {
    ts.advance(400); // 500 ms apart: ACKs for invalid segments are limited to one per 500 ms
    const out = ts.feed(make(), 0);
    assert.equal(out.length, 1, `${name}: ${show(out)}`);
    assert.equal(out[0].flags & (ACK | RST | SYN | FIN), ACK, `${name}: ${show(out)}`);
    assert.equal(out[0].ack, rn, name);
    assert.deepEqual(ts.advance(100).map(describe), [], `${name}: nothing afterwards`);
  }
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  assert.equal(drain(ts.stack, fd).length, 2800);
});

// ---------------------------------------------------------------- sequence space

test('sequence wrap-around: 16 KiB from ISN 0xFFFFF000 cross 2^32 and arrive in order', () => {
  const { ts, peer, fd } = established(51, {}, 0xfffff000);
  assert.equal(peer.sndNxt, 0xfffff001);
  const data = pattern(16384, 77);
  const got: number[] = [];
  let lastAck = 0;
  for (let off = 0; off < data.length; off += 1400) {
    const out = peer.send(data.subarray(off, Math.min(off + 1400, data.length)), 1);
    for (const s of out) lastAck = s.ack;
    drain(ts.stack, fd, got);
  }
  for (const s of peer.absorb(ts.advance(40))) lastAck = s.ack;
  drain(ts.stack, fd, got);
  assert.deepEqual(Uint8Array.from(got), data);
  assert.equal(lastAck, (0xfffff001 + 16384) % 2 ** 32, 'the ACK number wrapped too');
  assert.equal(lastAck, 0x3001);
  assert.equal(ts.stack.stats.tcp.outOfWindow + ts.stack.stats.tcp.duplicateSegments, 0);
  // And back: the stack's data to us arrives intact too.
  const back = pattern(20000, 78);
  assert.equal(ts.stack.sockets.send(fd, back, 0, back.length), back.length);
  peer.pullUntil(() => peer.received.length >= back.length);
  assert.deepEqual(Uint8Array.from(peer.received), back);
});

test('out-of-order segments are reassembled; ACKs carry SACK blocks (most recent first) and a D-SACK for a duplicate', () => {
  const { ts, peer, fd } = established(52);
  const base = peer.sndNxt;
  const data = pattern(5000, 5);
  const segAt = (k: number) => peer.frame({
    flags: ACK | PSH, seq: add32(base, k * 1000), payload: data.subarray(k * 1000, (k + 1) * 1000), options: peer.stdOptions(),
  });
  const r1 = ts.feed(segAt(1), 1);
  assert.equal(r1.length, 1, show(r1));
  assert.equal(r1[0].ack, base);
  assert.deepEqual(r1[0].opts.sack, [[add32(base, 1000), add32(base, 2000)]]);
  const r2 = ts.feed(segAt(2), 1);
  assert.equal(r2.length, 1, show(r2));
  assert.deepEqual(r2[0].opts.sack, [[add32(base, 1000), add32(base, 3000)]]);
  const r4 = ts.feed(segAt(4), 1);
  assert.equal(r4.length, 1, show(r4));
  assert.deepEqual(r4[0].opts.sack, [[add32(base, 4000), add32(base, 5000)], [add32(base, 1000), add32(base, 3000)]],
    'the block of the latest segment comes first (RFC 2018 4)');
  assert.equal(ts.stack.sockets.readableBytes(fd), 0, 'nothing readable while the first hole is open');
  const r0 = ts.feed(segAt(0), 1);
  assert.equal(r0.length, 1, `hole filled: ACK at once (${show(r0)})`);
  assert.equal(r0[0].ack, add32(base, 3000));
  assert.deepEqual(r0[0].opts.sack, [[add32(base, 4000), add32(base, 5000)]]);
  const r3 = ts.feed(segAt(3), 1);
  assert.equal(r3.length, 1, show(r3));
  assert.equal(r3[0].ack, add32(base, 5000));
  assert.deepEqual(r3[0].opts.sack, []);
  // A duplicate of segment 0: D-SACK (RFC 2883) names it.
  const rd = ts.feed(segAt(0), 1);
  assert.equal(rd.length, 1, show(rd));
  assert.equal(rd[0].ack, add32(base, 5000));
  assert.deepEqual(rd[0].opts.sack, [[base, add32(base, 1000)]]);
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), data);
});

test('a duplicate of out-of-order data already held gets a D-SACK for it, ahead of the SACK block that holds it (RFC 2883 4.1.2)', () => {
  const { ts, peer, fd } = established(57);
  const base = peer.sndNxt;
  const data = pattern(3000, 9);
  const segAt = (k: number) => peer.frame({
    flags: ACK | PSH, seq: add32(base, k * 1000), payload: data.subarray(k * 1000, (k + 1) * 1000), options: peer.stdOptions(),
  });
  const r2 = ts.feed(segAt(2), 1);
  assert.deepEqual(r2[0].opts.sack, [[add32(base, 2000), add32(base, 3000)]]);
  const dup = ts.stack.stats.tcp.duplicateSegments;
  // The same segment again (a retransmission that came too early, its original only reordered):
  // the sender learns from the D-SACK that it was spurious (RFC 8985 6.2 widens its reordering window).
  const rd = ts.feed(segAt(2), 1);
  assert.equal(rd.length, 1, show(rd));
  assert.equal(rd[0].ack, base);
  assert.deepEqual(rd[0].opts.sack, [[add32(base, 2000), add32(base, 3000)], [add32(base, 2000), add32(base, 3000)]]);
  assert.equal(ts.stack.stats.tcp.duplicateSegments, dup + 1);
  ts.feed(segAt(0), 1);
  ts.feed(segAt(1), 1);
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), data);
});

// ---------------------------------------------------------------- closed ports

test('a segment to a closed port gets a RST: seq = SEG.ACK when ACK is set, else ack = SEG.SEQ + SEG.LEN', () => {
  const { ts } = listener(53);
  const peer = new TapPeer(ts, { port: 44000, stackPort: 81, isn: 0 });
  // With ACK.
  let out = ts.feed(peer.frame({ flags: ACK | PSH, seq: 1234, ack: 0xabcdef01, payload: pattern(50) }), 1);
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].flags, RST);
  assert.equal(out[0].seq, 0xabcdef01);
  assert.equal(out[0].sport, 81);
  assert.equal(out[0].dport, 44000);
  assert.ok(out[0].checksumOk);
  // SYN without ACK: ack = seq + 1.
  out = ts.feed(peer.frame({ flags: SYN, seq: 0xffffffff, ack: 0 }), 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, RST | ACK);
  assert.equal(out[0].seq, 0);
  assert.equal(out[0].ack, 0, 'SEG.SEQ + 1 wraps');
  // Data + FIN without ACK: ack = seq + len + 1.
  out = ts.feed(peer.frame({ flags: FIN | PSH, seq: 500, ack: 0, payload: pattern(20) }), 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, RST | ACK);
  assert.equal(out[0].ack, 521);
  // Data without ACK or FIN.
  out = ts.feed(peer.frame({ flags: PSH, seq: 500, ack: 0, payload: pattern(20) }), 1);
  assert.equal(out[0].ack, 520);
  // A RST is never answered.
  out = ts.feed(peer.frame({ flags: RST, seq: 1, ack: 0 }), 1);
  assert.deepEqual(out.map(describe), []);
  assert.equal(ts.stack.stats.tcp.rstOut, 4);
  assert.equal(ts.stack.stats.tcp.noSocket, 5);
});

test('an ACK to a listening port (no connection) is answered with RST seq = SEG.ACK', () => {
  const { ts } = listener(54);
  const peer = new TapPeer(ts, { port: 44001, stackPort: PORT, isn: 0 });
  const out = ts.feed(peer.frame({ flags: ACK, seq: 99, ack: 0x12345678 }), 1);
  assert.equal(out.length, 1, show(out));
  assert.equal(out[0].flags, RST);
  assert.equal(out[0].seq, 0x12345678);
});

// ---------------------------------------------------------------- ACK pacing

function ackPacing(seed: number, oneByOne: boolean): Seg[] {
  const { ts, peer, fd } = established(seed);
  // Past the quick-ACK mode of the connection's start (16 segments acknowledged one by one).
  for (let k = 0; k < 16; k++) ts.feed(peer.dataFrame(pattern(100, k)), 1);
  assert.equal(ts.stack.stats.tcp.quickAcks, 16);
  assert.equal(drain(ts.stack, fd).length, 1600);
  ts.advance(10);
  const data = pattern(20 * 1400, 3);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 20; k++) frames.push(peer.dataFrame(data.subarray(k * 1400, (k + 1) * 1400)));
  const out: Seg[] = [];
  if (oneByOne) for (const f of frames) out.push(...ts.feed(f, 1));
  else out.push(...ts.feed(frames, 1));
  out.push(...ts.advance(100));
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), data);
  return out;
}

for (const oneByOne of [true, false]) {
  const what = oneByOne ? 'every second full segment when each poll brings one' : 'once per batch of frames, and at every 16th segment';
  test(`ACK ${what}, no identical ACK copies (${oneByOne ? 'one segment per poll' : 'one burst'})`, () => {
    const acks = ackPacing(oneByOne ? 55 : 56, oneByOne);
    if (oneByOne) assert.ok(acks.length >= 9 && acks.length <= 11, `about 10 ACKs for 20 segments, got ${acks.length}: ${show(acks)}`);
    else {
      // 20 segments in one poll: an ACK at the 16th, one at the end of the batch (as Linux's GRO would).
      assert.equal(acks.length, 2, `2 ACKs for a burst of 20 segments, got ${acks.length}: ${show(acks)}`);
      assert.equal(acks[1].ack - acks[0].ack, 4 * 1400, show(acks));
    }
    for (let i = 1; i < acks.length; i++) {
      assert.ok(acks[i].ack > acks[i - 1].ack || acks[i].ack < acks[i - 1].ack - 0x80000000,
        `ACK ${i} does not advance: ${describe(acks[i - 1])} / ${describe(acks[i])}`);
      assert.notDeepEqual(acks[i].tcp, acks[i - 1].tcp, `byte-identical consecutive ACKs at ${i}`);
    }
    // The first ACK covers 2 segments (one per poll) or 16 (one burst); the last one all 20.
    assert.equal(acks.at(-1)!.ack, acks[0].ack + (oneByOne ? 18 : 4) * 1400, 'the last ACK covers all 20 segments');
  });
}

test('the handshake completed by a data segment (final ACK lost): connection accepted with the data', () => {
  const { ts, lfd } = listener(57, { tcpRecvBufferBytes: 4096 });
  const peer = new TapPeer(ts, { port: 45000, stackPort: PORT, isn: 3000 });
  const out = ts.feed(peer.synFrame(), 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].win, 4096, 'SYN-ACK window = the whole (small) buffer');
  assert.equal(out[0].opts.ws, 0, 'a 4096-byte buffer needs no shift, but scaling is still offered');
  const sa = out[0];
  peer.irs = sa.seq;
  peer.rcvNxt = add32(sa.seq, 1);
  peer.sndNxt = add32(peer.sndNxt, 1);
  peer.tsOn = true;
  peer.tsRecent = sa.opts.ts!.val;
  const reply = peer.send(pattern(500, 8), 1);
  assert.ok(reply.every((s) => (s.flags & (RST | SYN)) === 0), show(reply));
  const fd = ts.stack.sockets.accept(lfd);
  assert.ok(fd >= 0, 'the data segment completed the handshake');
  assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), pattern(500, 8));
});
