/**
 * Half-open connections as request records (not sockets) and SYN cookies
 * (RFC 4987), in virtual time: a spoofed SYN flood fills the request queue
 * while a legitimate client still connects through a cookie; forged and
 * expired cookies are refused and counted; a cookie keeps window scale and
 * SACK through the timestamp; requests give up after their SYN-ACK retries
 * and the oldest is evicted first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StackConfig } from '../../src/index.js';
import { TestRng } from '../helpers/frames.js';
import {
  SYNR_SACK, SYNR_TIMESTAMPS, SYNR_WSCALE, SYN_RESPONDER_HOLD_MS, type SynResponder,
} from '../../src/engine/tcp/syn-responder.js';
import {
  SynCookies, cookieMssIndex, cookieTsSack, cookieTsVal, cookieTsWscale,
} from '../../src/engine/tcp/syncookie.js';
import {
  ACK, EINPROGRESS, PEER_MAC, RST, SYN, STACK_IP, STACK_MAC, TapPeer, add32, describe, drain, ip, optionBlock, opt,
  pattern, tapStack, tcpFrame, tcpPair, A_IP, B_IP, backlogRace, waitFor, type Seg, type TapStack,
} from './helpers.js';

const SPOOFED_NET = '198.18.0.0/15';

/** A stack on a tap whose off-link traffic (the spoofed sources) goes to the peer's MAC and is never answered. */
function floodStack(seed: number, config: StackConfig): TapStack {
  const ts = tapStack(seed, config);
  ts.stack.addRoute(SPOOFED_NET, '10.0.0.2');
  return ts;
}

function listen(ts: TapStack, port: number, backlog: number): number {
  const lfd = ts.stack.sockets.socket('tcp');
  assert.equal(ts.stack.sockets.bind(lfd, 0, port), 0);
  assert.equal(ts.stack.sockets.listen(lfd, backlog), 0);
  return lfd;
}

/** Source i of the spoofed range. */
function spoofed(i: number): string {
  return `198.18.${(i >>> 8) & 255}.${i & 255}`;
}

/** A SYN as Linux sends it (MSS 1460, SACK, timestamps, window scale 7) from a spoofed source. */
function synFrom(src: string, sport: number, dport: number, isn: number, tsVal = 12345): Uint8Array {
  return tcpFrame(STACK_MAC, PEER_MAC, {
    src, dst: STACK_IP, sport, dport, seq: isn, flags: SYN, win: 64240,
    options: optionBlock([opt.mss(1460), opt.sackOk(), opt.ts(tsVal, 0), opt.nop(), opt.ws(7)]),
  });
}

function ackFrom(src: string, sport: number, dport: number, seq: number, ack: number, tsEcr?: number): Uint8Array {
  return tcpFrame(STACK_MAC, PEER_MAC, {
    src, dst: STACK_IP, sport, dport, seq, ack, flags: ACK, win: 502,
    options: tsEcr === undefined ? undefined : optionBlock([opt.nop(), opt.nop(), opt.ts(99999, tsEcr)]),
  });
}

function synAcks(segs: Seg[]): Seg[] {
  return segs.filter((s) => (s.flags & (SYN | ACK)) === (SYN | ACK));
}

test('SYN flood from spoofed sources: the request queue stays bounded and a legitimate client connects within 1 s via a cookie', () => {
  const ts = floodStack(31, { tcpSynBacklog: 64, maxTcpSockets: 32, maxSockets: 48 });
  const st = ts.stack.stats.tcp;
  const lfd = listen(ts, 80, 128);
  const rng = new TestRng(7);
  let synAckCount = 0;
  let n = 0;
  // 200 ms of flood at 10 SYNs per ms before the client comes.
  for (let ms = 0; ms < 200; ms++) {
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 10; k++, n++) frames.push(synFrom(spoofed(n), 1024 + rng.int(60000), 80, rng.u32()));
    synAckCount += synAcks(ts.feed(frames, 1)).length;
  }
  const q = ts.stack.tcp.core.passive.q;
  assert.ok(q.used <= 64, `request records ${q.used}`);
  assert.equal(q.used, 56, 'one listener holds at most 7/8 of the request table');
  assert.equal(ts.stack.sockets.usage.used, 1, 'half-open connections hold no socket');
  assert.equal(synAckCount, 2000, 'every SYN was answered (record or cookie)');
  assert.equal(st.syncookiesSent, 2000 - 56);
  assert.equal(st.synQueueOverflow, 2000 - 56);

  // The legitimate client, while the flood goes on.
  const peer = new TapPeer(ts, { port: 40001, stackPort: 80, isn: 5000 });
  const start = ts.now;
  let accepted = -1;
  let synAck: Seg | null = null;
  const flood = (): Uint8Array[] => {
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 10; k++, n++) frames.push(synFrom(spoofed(n), 1024 + rng.int(60000), 80, rng.u32()));
    return frames;
  };
  const out = ts.feed([...flood(), peer.synFrame()], 1);
  synAck = out.find((s) => s.dport === 40001) ?? null;
  assert.ok(synAck !== null, 'the client got a SYN-ACK');
  assert.equal(synAck.flags, SYN | ACK);
  assert.equal(q.lookup(ip(STACK_IP) | 0, 80, ip('10.0.0.2') | 0, 40001), -1, 'answered with a cookie: no record');
  assert.ok(synAck.opts.ts !== null && synAck.opts.sackOk && synAck.opts.ws >= 0, 'the cookie SYN-ACK offers the options');
  ts.feed(flood(), 1);
  accepted = peer.finishHandshake(lfd, synAck);
  assert.ok(ts.now - start < 1000, `connected after ${ts.now - start} ms`);
  assert.equal(st.syncookiesRecv, 1);
  const info = ts.stack.sockets.tcpInfo(accepted);
  assert.ok(info !== null);
  assert.equal(info.state, 'ESTABLISHED');
  assert.equal(info.options.timestamps, true);
  assert.equal(info.options.sack, true, 'SACK came back through the timestamp');
  assert.equal(info.options.peerWindowScale, 7, 'the peer\'s window scale came back through the timestamp');
  assert.equal(info.options.windowScale, synAck.opts.ws);
  assert.equal(info.mss, 1460 - 12, 'MSS 1460 is in the cookie table');
  // Data both ways, still under flood.
  const up = pattern(20000, 4);
  const got: number[] = [];
  peer.pushData(up, () => {
    drain(ts.stack, accepted, got);
    for (const f of flood()) ts.tap.inject(f);
  });
  drain(ts.stack, accepted, got);
  assert.deepEqual(Uint8Array.from(got), up);
  const down = pattern(5000, 5);
  assert.equal(ts.stack.sockets.send(accepted, down, 0, down.length), down.length);
  peer.received = [];
  peer.pullUntil(() => peer.received.length >= down.length);
  assert.deepEqual(Uint8Array.from(peer.received), down);
  assert.ok(q.used <= 64);
});

test('forged cookie ACKs (random ISN + 1) are rejected, counted and reset; no connection is made', () => {
  const ts = floodStack(32, { tcpSynBacklog: 16 });
  const st = ts.stack.stats.tcp;
  const lfd = listen(ts, 80, 8);
  const rng = new TestRng(8);
  // Fill the listener's queue (8) so cookies are being sent.
  for (let i = 0; i < 20; i++) ts.feed(synFrom(spoofed(i), 2000 + i, 80, rng.u32()), 1);
  assert.equal(st.syncookiesSent, 12);
  const usedBefore = ts.stack.sockets.usage.used;
  const rstBefore = st.rstOut;
  let rsts = 0;
  for (let i = 0; i < 1000; i++) {
    const out = ts.feed(ackFrom(spoofed(1000 + i), 3000 + (i % 1000), 80, rng.u32(), rng.u32()), 0);
    rsts += out.filter((s) => (s.flags & RST) !== 0).length;
  }
  ts.advance(1);
  assert.equal(st.syncookiesFailed, 1000, 'every forged cookie counted');
  assert.equal(st.syncookiesRecv, 0);
  assert.equal(rsts, 1000, 'each answered with a RST (as Linux does after a failed cookie check)');
  assert.equal(st.rstOut - rstBefore, 1000);
  assert.equal(ts.stack.sockets.usage.used, usedBefore, 'no socket taken');
  assert.equal(ts.stack.sockets.accept(lfd), -11);
  // A forged ACK for a tuple that got a real cookie, with a wrong ISN, fails too.
  const out = synAcks(ts.feed(synFrom(spoofed(5000), 4000, 80, 777), 1));
  assert.equal(out.length, 1);
  ts.feed(ackFrom(spoofed(5000), 4000, 80, 778, add32(out[0].seq, 2), out[0].opts.ts?.val), 1);
  assert.equal(st.syncookiesFailed, 1001);
  // (A peer ISN off by a few only shifts the MSS index, as in Linux's layout; off by more, the cookie fails.)
  ts.feed(ackFrom(spoofed(5000), 4000, 80, 778 + 0x10000, add32(out[0].seq, 1), out[0].opts.ts?.val), 1);
  assert.equal(st.syncookiesFailed, 1002, 'the peer ISN is part of the cookie');
  assert.equal(ts.stack.sockets.accept(lfd), -11);
  // The right one is accepted.
  ts.feed(ackFrom(spoofed(5000), 4000, 80, 778, add32(out[0].seq, 1), out[0].opts.ts?.val), 1);
  assert.equal(st.syncookiesRecv, 1);
  assert.ok(ts.stack.sockets.accept(lfd) >= 0);
});

test('an expired cookie is rejected; one within its lifetime (1-2 minutes) is accepted', () => {
  const ts = floodStack(33, { tcpSyncookies: 2 });
  const st = ts.stack.stats.tcp;
  const lfd = listen(ts, 80, 8);
  const a = synAcks(ts.feed(synFrom(spoofed(1), 1111, 80, 100), 1))[0];
  const b = synAcks(ts.feed(synFrom(spoofed(2), 2222, 80, 200), 1))[0];
  assert.equal(ts.stack.tcp.core.passive.q.used, 0, 'tcpSyncookies 2: no records at all');
  assert.equal(st.syncookiesSent, 2);
  ts.advance(61_000);
  ts.feed(ackFrom(spoofed(1), 1111, 80, 101, add32(a.seq, 1), a.opts.ts?.val), 1);
  assert.equal(st.syncookiesRecv, 1, 'still valid after 61 s');
  assert.ok(ts.stack.sockets.accept(lfd) >= 0);
  ts.advance(120_000);
  const out = ts.feed(ackFrom(spoofed(2), 2222, 80, 201, add32(b.seq, 1), b.opts.ts?.val), 1);
  assert.equal(st.syncookiesFailed, 1, 'expired after 3 minutes');
  assert.equal(out.filter((s) => (s.flags & RST) !== 0).length, 1);
  assert.equal(ts.stack.sockets.accept(lfd), -11);
});

test('a cookie without timestamps: no window scaling, no SACK, MSS rounded down to the cookie table (1400 -> 1300)', () => {
  const ts = floodStack(34, { tcpSyncookies: 2 });
  const lfd = listen(ts, 80, 8);
  const syn = tcpFrame(STACK_MAC, PEER_MAC, {
    src: spoofed(3), dst: STACK_IP, sport: 3333, dport: 80, seq: 1000, flags: SYN,
    options: optionBlock([opt.mss(1400), opt.sackOk(), opt.nop(), opt.ws(7)]),
  });
  const sa = synAcks(ts.feed(syn, 1))[0];
  assert.equal(sa.opts.ts, null);
  assert.equal(sa.opts.ws, -1, 'nothing could carry window scale back: not offered');
  assert.equal(sa.opts.sackOk, false);
  ts.feed(ackFrom(spoofed(3), 3333, 80, 1001, add32(sa.seq, 1)), 1);
  const fd = ts.stack.sockets.accept(lfd);
  assert.ok(fd >= 0);
  const info = ts.stack.sockets.tcpInfo(fd);
  assert.ok(info !== null);
  assert.equal(info.options.windowScale, -1);
  assert.equal(info.options.sack, false);
  assert.equal(info.options.timestamps, false);
  assert.equal(info.mss, 1300);
});

test('requests retransmit their SYN-ACK at 1, 3, 7, 15, 31 s and are freed at 63 s (tcpSynAckRetries 5)', () => {
  const ts = floodStack(35, { tcpSyncookies: 0 });
  const st = ts.stack.stats.tcp;
  listen(ts, 80, 8);
  const first = synAcks(ts.feed(synFrom(spoofed(9), 9999, 80, 4242), 0));
  assert.equal(first.length, 1);
  const q = ts.stack.tcp.core.passive.q;
  assert.equal(q.used, 1);
  const times: number[] = [];
  for (let i = 0; i < 70; i++) {
    for (const s of synAcks(ts.advance(1000))) {
      assert.equal(s.seq, first[0].seq, 'same ISN');
      times.push(ts.now);
    }
    if ((q.used as number) === 0) break;
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000]);
  assert.equal(ts.now, 63000, 'freed when the last retransmission timed out');
  assert.equal(st.synAckRetransmits, 5);
  assert.equal(st.synRequestTimeouts, 1);
  assert.equal(ts.stack.sockets.usage.used, 1);
});

test('table full without cookies: the oldest request is evicted first (counted), and its late ACK is reset', () => {
  const ts = floodStack(36, { tcpSyncookies: 0, tcpSynBacklog: 8 });
  const st = ts.stack.stats.tcp;
  const l1 = listen(ts, 80, 100);
  const l2 = listen(ts, 81, 100);
  const sas: Seg[] = [];
  // Listener 80 takes its share (7 of 8), listener 81 the last record.
  for (let i = 0; i < 7; i++) sas.push(synAcks(ts.feed(synFrom(spoofed(i), 5000 + i, 80, 1000 * i), 1))[0]);
  assert.equal(synAcks(ts.feed(synFrom(spoofed(7), 5007, 80, 7000), 1)).length, 0, 'listener 80 is at its share');
  assert.equal(st.synQueueOverflow, 1);
  sas.push(synAcks(ts.feed(synFrom(spoofed(8), 5008, 81, 8000), 1))[0]);
  const q = ts.stack.tcp.core.passive.q;
  assert.equal(q.used, 8);
  // One more for listener 81: the table is full, the oldest (the first SYN to 80) goes.
  sas.push(synAcks(ts.feed(synFrom(spoofed(9), 5009, 81, 9000), 1))[0]);
  assert.equal(st.synRequestsEvicted, 1);
  assert.equal(q.used, 8);
  assert.equal(q.lookup(ip(STACK_IP) | 0, 80, ip(spoofed(0)) | 0, 5000), -1, 'the oldest is gone');
  // Its ACK now finds nothing: RST (no cookies). The second oldest still completes.
  const late = ts.feed(ackFrom(spoofed(0), 5000, 80, 1, add32(sas[0].seq, 1), sas[0].opts.ts?.val), 1);
  assert.equal(late.filter((s) => (s.flags & RST) !== 0).length, 1, late.map(describe).join('; '));
  ts.feed(ackFrom(spoofed(1), 5001, 80, 1001, add32(sas[1].seq, 1), sas[1].opts.ts?.val), 1);
  assert.ok(ts.stack.sockets.accept(l1) >= 0);
  ts.feed(ackFrom(spoofed(9), 5009, 81, 9001, add32(sas[8].seq, 1), sas[8].opts.ts?.val), 1);
  assert.ok(ts.stack.sockets.accept(l2) >= 0);
  assert.equal(q.used, 6);
});

test('a RST for a pending request frees its record; a SYN with a new ISN replaces it', () => {
  const ts = floodStack(37, { tcpSyncookies: 0 });
  listen(ts, 80, 8);
  const q = ts.stack.tcp.core.passive.q;
  const sa = synAcks(ts.feed(synFrom(spoofed(1), 6000, 80, 50), 1))[0];
  assert.equal(q.used, 1);
  ts.feed(tcpFrame(STACK_MAC, PEER_MAC, { src: spoofed(1), dst: STACK_IP, sport: 6000, dport: 80, seq: 51, flags: RST }), 1);
  assert.equal(q.used, 0);
  void sa;
  const a = synAcks(ts.feed(synFrom(spoofed(2), 6001, 80, 70), 1))[0];
  const b = synAcks(ts.feed(synFrom(spoofed(2), 6001, 80, 90000), 1))[0];
  assert.equal(q.used, 1);
  assert.equal(a.ack, 71);
  assert.equal(b.ack, 90001);
});

test('listen backlog 2 with 5 concurrent connects and cookies on: all get SYN-ACKs; the accept queue holds 2, the rest complete after accept()', () => {
  const p = tcpPair();
  const { lfd, clients, maxQueued } = backlogRace(p, 2, 5);
  const st = p.b.stats.tcp;
  assert.equal(maxQueued, 2, 'the accept queue holds at most the backlog');
  assert.equal(st.syncookiesSent, 3, 'the request queue holds the backlog; the others got cookies');
  assert.equal(st.listenOverflows, 3, 'their ACKs found the accept queue full (counted, dropped)');
  assert.equal(st.rstOut, 0, 'no RST to a client of a full listener');
  // Clients believe they are connected (as with Linux); once they send, their data finds room after accept().
  const accepted: number[] = [];
  for (let fd = p.b.sockets.accept(lfd); fd >= 0; fd = p.b.sockets.accept(lfd)) accepted.push(fd);
  const hello = pattern(10, 1);
  for (const fd of clients) {
    assert.equal(p.a.sockets.tcpState(fd), 'ESTABLISHED');
    assert.equal(p.a.sockets.send(fd, hello, 0, hello.length), hello.length);
  }
  waitFor(p.sim, () => {
    for (let fd = p.b.sockets.accept(lfd); fd >= 0; fd = p.b.sockets.accept(lfd)) accepted.push(fd);
    return accepted.length === 5;
  }, 20000, 10);
  for (const fd of accepted) {
    waitFor(p.sim, () => p.b.sockets.readableBytes(fd) === hello.length, 5000);
  }
  assert.equal(p.b.stats.tcp.rstOut, 0);
});

test('a wirestack client connects and exchanges data within 1 s while spoofed SYNs whose SYN-ACKs go nowhere flood the server', () => {
  const p = tcpPair({}, {}, {}, { tcpSynBacklog: 32 });
  // The spoofed sources are off-link, behind the client's host as a router (as a Linux host in front of a TAP
  // device): the server's SYN-ACKs go there and are dropped. (From on-link addresses that never answer, the
  // flood would fill the server's ARP cache and queue with resolutions that fail, a neighbour-layer limit.)
  p.b.addRoute('198.18.0.0/15', A_IP);
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 16);
  const rng = new TestRng(12);
  const bMac = Array.from(p.b.interfaces[0].mac, (x) => x.toString(16).padStart(2, '0')).join(':');
  let n = 0;
  const flood = (count: number): void => {
    for (let k = 0; k < count; k++, n++) {
      const f = tcpFrame(bMac, '02:00:00:00:99:99', {
        src: spoofed(n), dst: B_IP, sport: 1024 + rng.int(60000), dport: 80, seq: rng.u32(), flags: SYN,
        options: optionBlock([opt.mss(1460), opt.sackOk(), opt.ts(rng.u32(), 0), opt.nop(), opt.ws(7)]),
      });
      p.la.transmit(f, 0, f.length, p.sim.now);
    }
  };
  for (let ms = 0; ms < 300; ms++) {
    flood(20);
    p.sim.advance(1);
  }
  assert.ok(p.b.stats.tcp.syncookiesSent > 0 || p.b.tcp.core.passive.q.used > 0);
  const start = p.sim.now;
  const cfd = p.a.sockets.socket('tcp');
  assert.equal(p.a.sockets.connect(cfd, B_IP, 80), -EINPROGRESS);
  let sfd = -1;
  waitFor(p.sim, () => {
    flood(20);
    if (sfd < 0) sfd = p.b.sockets.accept(lfd);
    return sfd >= 0 && p.a.sockets.tcpState(cfd) === 'ESTABLISHED';
  }, 1000);
  assert.ok(p.sim.now - start < 1000, `connected in ${p.sim.now - start} ms`);
  assert.equal(p.b.stats.tcp.syncookiesRecv, 1, 'through a cookie');
  const info = p.b.sockets.tcpInfo(sfd);
  assert.ok(info !== null && info.options.sack && info.options.timestamps && info.options.peerWindowScale >= 0);
  const d = pattern(100000, 6);
  const got = new Uint8Array(d.length);
  let sent = 0;
  let have = 0;
  const buf = new Uint8Array(65536);
  waitFor(p.sim, () => {
    flood(5);
    if (sent < d.length) {
      const k = p.a.sockets.send(cfd, d, sent, d.length - sent);
      if (k > 0) sent += k;
    }
    for (let k = p.b.sockets.recv(sfd, buf, 0, buf.length); k > 0; k = p.b.sockets.recv(sfd, buf, 0, buf.length)) {
      got.set(buf.subarray(0, k), have);
      have += k;
    }
    return have === d.length;
  }, 10000);
  assert.deepEqual(got, d);
  assert.ok(p.b.tcp.core.passive.q.used <= 32);
});

test('random passive-open traffic (SYNs, replayed and mangled third segments, RSTs, junk) in each cookie mode: the books balance', () => {
  for (const mode of [0, 1, 2]) {
    const rng = new TestRng(100 + mode);
    const ts = floodStack(9, { tcpSyncookies: mode, tcpSynBacklog: 8, maxTcpSockets: 12, maxSockets: 20, tcpBufferPairs: 3 });
    const lfd = listen(ts, 80, 4);
    const seen: Array<{ src: string; sport: number; seq: number; ack: number; ts: number | null }> = [];
    const held: number[] = [];
    let accepted = 0;
    for (let i = 0; i < 6000; i++) {
      const src = `198.18.0.${rng.int(20)}`;
      const sport = 1000 + rng.int(4);
      const r = rng.int(10);
      let f: Uint8Array;
      if (r < 3 || seen.length === 0) {
        const parts = [opt.mss(500 + rng.int(1500))];
        if (rng.int(2) === 1) parts.push(opt.sackOk());
        if (rng.int(2) === 1) parts.push(opt.ts(rng.u32(), 0));
        if (rng.int(2) === 1) parts.push(opt.nop(), opt.ws(rng.int(16)));
        f = tcpFrame(STACK_MAC, PEER_MAC, {
          src, dst: STACK_IP, sport, dport: 80, seq: rng.u32(), flags: SYN | (rng.int(8) === 0 ? rng.int(256) : 0),
          options: optionBlock(parts),
        });
      } else if (r < 7) {
        const s = seen[rng.int(seen.length)];
        const flags = [0x10, 0x18, 0x11, 0x14, 0x04, 0x12][rng.int(6)];
        f = tcpFrame(STACK_MAC, PEER_MAC, {
          src: s.src, dst: STACK_IP, sport: s.sport, dport: 80, seq: add32(s.ack, rng.int(4) === 0 ? rng.int(100) : 0),
          ack: add32(s.seq, 1 + (rng.int(4) === 0 ? rng.int(3) : 0)), flags,
          payload: rng.int(2) === 1 ? new Uint8Array(rng.int(1400)) : undefined,
          options: s.ts !== null && rng.int(3) > 0 ? optionBlock([opt.nop(), opt.nop(), opt.ts(rng.u32(), s.ts)]) : undefined,
        });
      } else {
        f = tcpFrame(STACK_MAC, PEER_MAC, { src, dst: STACK_IP, sport, dport: 80, seq: rng.u32(), ack: rng.u32(), flags: rng.int(256) });
      }
      for (const s of synAcks(ts.feed(f, rng.int(3) === 0 ? rng.int(2000) : 0))) {
        seen.push({ src: `198.18.0.${s.dst & 255}`, sport: s.dport, seq: s.seq, ack: s.ack, ts: s.opts.ts !== null ? s.opts.ts.val : null });
        if (seen.length > 50) seen.shift();
      }
      for (let fd = ts.stack.sockets.accept(lfd); fd >= 0; fd = ts.stack.sockets.accept(lfd)) {
        accepted++;
        if (rng.int(2) === 0) ts.stack.sockets.close(fd);
        else held.push(fd);
      }
    }
    assert.ok(accepted > 5, `mode ${mode}: ${accepted} connections made`);
    for (const fd of held) ts.stack.sockets.close(fd);
    for (let k = 0; k < 20; k++) ts.advance(100_000);
    const c = ts.stack.tcp.core;
    assert.equal(c.passive.q.used, 0, `mode ${mode}: records`);
    assert.equal(c.t.synCount[lfd], 0);
    assert.equal(c.tcpConns, 0, `mode ${mode}: connections`);
    assert.equal(c.passiveConns, 0);
    assert.equal(c.t.children[lfd], 0);
    assert.equal(c.t.freeBuffers, 3, `mode ${mode}: buffer pairs back`);
    assert.equal(ts.stack.sockets.usage.used, 1, 'only the listener');
  }
});

test('a listener answering with cookies is handed to the link\'s SYN responder with the stack\'s keys, renewed while its queue overflows, withdrawn when it closes', () => {
  const ts = floodStack(91, { tcpSyncookies: 2 });
  const calls: Array<{ op: string; args: number[] }> = [];
  const responder: SynResponder = {
    configure: (key, secret, ttl, opts) => { calls.push({ op: 'configure', args: [...key, ...secret, ttl, opts] }); },
    activate: (addr, port, mss, window, wscale, until) => { calls.push({ op: 'activate', args: [addr >>> 0, port, mss, window, wscale, until] }); return true; },
    deactivate: (port) => { calls.push({ op: 'deactivate', args: [port] }); },
  };
  (ts.tap as unknown as { synResponder: SynResponder }).synResponder = responder;
  const lfd = listen(ts, 80, 64);
  ts.advance(10);
  const out = ts.feed(synFrom(spoofed(1), 40001, 80, 1000), 0);
  assert.equal(out.length, 1, 'the engine answers the first SYN itself');
  const cfg = calls.find((c) => c.op === 'configure');
  assert.ok(cfg !== undefined);
  assert.equal(cfg.args.length, 10);
  assert.equal(cfg.args[8], 64, 'TTL');
  assert.equal(cfg.args[9], SYNR_TIMESTAMPS | SYNR_SACK | SYNR_WSCALE);
  const act = calls.filter((c) => c.op === 'activate');
  assert.equal(act.length, 1);
  const [addr, port, mss, , , until] = act[0].args;
  assert.equal(addr, ip(STACK_IP) >>> 0);
  assert.equal(port, 80);
  assert.equal(mss, 1460, 'the SYN-ACK\'s MSS option');
  assert.equal(until, ts.now + SYN_RESPONDER_HOLD_MS);
  // Half a hold later the listener still answers with cookies (mode 2): renewed.
  ts.advance(SYN_RESPONDER_HOLD_MS / 2 + 1);
  const renewed = calls.filter((c) => c.op === 'activate');
  assert.equal(renewed.length, 2, 'renewed while cookies are due');
  assert.equal(renewed[1].args[5], ts.now + SYN_RESPONDER_HOLD_MS);
  assert.equal(ts.stack.sockets.close(lfd), 0);
  assert.deepEqual(calls.filter((c) => c.op === 'deactivate').map((c) => c.args[0]), [80], 'withdrawn at close');
  ts.advance(SYN_RESPONDER_HOLD_MS);
  assert.equal(calls.filter((c) => c.op === 'activate').length, 2, 'not renewed once closed');
});

test('a retransmitted SYN the link\'s responder answered with a cookie completes the engine\'s pending request with the options the cookie carried; forged ACKs on that path are counted and dropped', () => {
  const ts = floodStack(92, { tcpSyncookies: 1, tcpSynBacklog: 16 });
  const st = ts.stack.stats.tcp;
  let key: Int32Array | null = null;
  let hand: { mss: number; window: number; wscale: number; opts: number } | null = null;
  const responder: SynResponder = {
    configure: (k, _secret, _ttl, opts) => { key = Int32Array.from(k); if (hand) hand.opts = opts; else hand = { mss: 0, window: 0, wscale: 0, opts }; },
    activate: (_addr, _port, mss, window, wscale) => { if (hand) { hand.mss = mss; hand.window = window; hand.wscale = wscale; } return true; },
    deactivate: () => {},
  };
  (ts.tap as unknown as { synResponder: SynResponder }).synResponder = responder;
  const lfd = listen(ts, 80, 8);
  ts.advance(10);
  // The client's first SYN gets a request record and the engine's own SYN-ACK (which the client never sees).
  const client = spoofed(7777);
  const isn = 0x1234_5678;
  const first = synAcks(ts.feed(synFrom(client, 5555, 80, isn, 4242), 1));
  assert.equal(first.length, 1);
  const passive = ts.stack.tcp.core.passive as unknown as { q: { used: number } };
  assert.equal(passive.q.used, 1);
  // A flood fills the listener's share (8): cookies go out and the listener is handed to the link.
  for (let i = 0; i < 12; i++) ts.feed(synFrom(spoofed(i), 2000 + i, 80, 1000 + i), 0);
  assert.ok(st.syncookiesSent > 0);
  assert.ok(key !== null && hand !== null, 'handed to the link\'s responder');
  const h = hand as { mss: number; window: number; wscale: number; opts: number };
  assert.equal(h.opts, SYNR_TIMESTAMPS | SYNR_SACK | SYNR_WSCALE);
  // The client's retransmitted SYN is answered on the link (the engine never sees it): its SYN-ACK,
  // computed here with the engine's own cookie and timestamp code under the keys the responder was given.
  const engineCookies = new SynCookies({ random32: (() => { let i = 0; return () => (key as Int32Array)[i++]; })() } as never);
  const mssIndex = cookieMssIndex(1460);
  const cookie = engineCookies.make(ip(STACK_IP), 80, ip(client), 5555, isn, mssIndex);
  const core = ts.stack.tcp.core;
  const tsVal = cookieTsVal((Math.floor(ts.now) + core.tsOffsetFor(ip(STACK_IP), 80, ip(client), 5555)) | 0, 7, true);
  assert.equal(cookieTsWscale(tsVal), 7);
  assert.equal(cookieTsSack(tsVal), true);
  const usedBefore = passive.q.used;
  const recvBefore = st.syncookiesRecv;
  const failedBefore = st.syncookiesFailed;
  const oowBefore = st.outOfWindow;
  // Forged third segments for the pending request's tuple: a wrong cookie, and the right cookie with a wrong ISN.
  const forged = [
    ackFrom(client, 5555, 80, isn + 1, add32(cookie, 2), tsVal),
    ackFrom(client, 5555, 80, isn + 1 + 0x10000, add32(cookie, 1), tsVal),
    ackFrom(client, 5555, 80, isn + 1, add32(cookie ^ 0x0100_0000, 1), tsVal),
  ];
  let rsts = 0;
  for (const f of forged) rsts += ts.feed(f, 1).filter((s) => (s.flags & RST) !== 0).length;
  assert.equal(st.outOfWindow - oowBefore, 3, 'each forged ACK counted');
  assert.equal(rsts, 3, 'and reset');
  assert.equal(st.syncookiesRecv, recvBefore, 'no cookie accepted');
  assert.equal(passive.q.used, usedBefore, 'the pending request stays');
  assert.equal(ts.stack.sockets.accept(lfd), -11, 'no connection');
  // The real third segment, acknowledging the responder's cookie: the request goes and the connection is made.
  const out = ts.feed(ackFrom(client, 5555, 80, isn + 1, add32(cookie, 1), tsVal), 1);
  assert.equal(out.filter((s) => (s.flags & RST) !== 0).length, 0);
  assert.equal(st.syncookiesRecv, recvBefore + 1, 'accepted through the cookie');
  assert.equal(st.syncookiesFailed, failedBefore);
  assert.equal(passive.q.used, usedBefore - 1, 'the pending request was removed');
  const fd = ts.stack.sockets.accept(lfd);
  assert.ok(fd >= 0);
  const info = ts.stack.sockets.tcpInfo(fd);
  assert.ok(info !== null);
  assert.equal(info.state, 'ESTABLISHED');
  assert.equal(info.options.timestamps, true);
  assert.equal(info.options.sack, true, 'SACK from the cookie\'s TSval');
  assert.equal(info.options.peerWindowScale, 7, 'the peer\'s window scale from the cookie\'s TSval');
  assert.equal(info.options.windowScale, h.wscale, 'our window scale as the responder advertised it');
  assert.equal(info.mss, h.mss - 12, 'the advertised MSS (1460, in the cookie table), less the timestamp option');
});
