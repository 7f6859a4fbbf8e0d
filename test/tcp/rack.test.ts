/**
 * Loss recovery as the sender, segment by segment in virtual time: RACK
 * (RFC 8985) finds losses by send time, the tail loss probe repairs a lost
 * tail, PRR (RFC 6937) paces the recovery, and D-SACK undoes spurious
 * retransmissions. The sender's data segments are seen (and dropped or held
 * back) at its side of a 10 ms MemoryLink, so the RTT is about 20 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from '../helpers/net.js';
import type { StackConfig } from '../../src/index.js';

interface Sent { t: number; off: number; len: number }
type Verdict = 'pass' | 'drop' | 'hold';

let MSS = 1448;

/** A connection a -> b, warmed up so the RTT is known and cwnd is large, with a hook on a's data segments. */
function scenario(ca: StackConfig = {}) {
  MSS = ca.tcpTimestamps === 0 ? 1460 : 1448;
  const big = { tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 };
  const p = makePair({ delayMs: 10 }, { ...big, tcpMinRtoMs: 1000, ...ca }, big);
  const l = p.b.sockets.socket('tcp');
  p.b.sockets.bind(l, 0, 9000);
  p.b.sockets.listen(l, 1);
  const c = p.a.sockets.socket('tcp');
  p.a.sockets.connect(c, '10.0.0.2', 9000);
  p.sim.advance(100);
  const s = p.b.sockets.accept(l);
  assert.ok(s >= 0);
  const sink = new Uint8Array(1 << 20);
  let received = 0;
  const drain = () => {
    for (let r; (r = p.b.sockets.recv(s, sink, 0, sink.length)) > 0;) received += r;
  };
  const warm = new Uint8Array(400 * 1024);
  let off = 0;
  for (let i = 0; i < 2000 && received < warm.length; i++) {
    if (off < warm.length) off += Math.max(0, p.a.sockets.send(c, warm, off, warm.length - off));
    p.sim.advance(5);
    drain();
  }
  assert.equal(received, warm.length, 'warm-up done');
  p.sim.advance(300);
  received = 0;
  const sent: Sent[] = [];
  let base = -1;
  let hook: (off: number, len: number, nth: number) => Verdict = () => 'pass';
  const held: Array<{ frame: Uint8Array; at: number }> = [];
  const transmit = p.la.transmit.bind(p.la);
  p.la.transmit = (f, o, len, now) => {
    const ihl = (f[o + 14] & 15) * 4;
    const total = (f[o + 16] << 8) | f[o + 17];
    const tcp = o + 14 + ihl;
    const seq = ((f[tcp + 4] << 24) | (f[tcp + 5] << 16) | (f[tcp + 6] << 8) | f[tcp + 7]) >>> 0;
    const plen = total - ihl - (f[tcp + 12] >> 4) * 4;
    if (f[o + 23] === 6 && plen > 0) {
      if (base < 0) base = seq;
      const rel = (seq - base) >>> 0;
      const nth = sent.filter((x) => x.off === rel).length;
      sent.push({ t: p.sim.now, off: rel, len: plen });
      const v = hook(rel, plen, nth);
      if (v === 'drop') return 0;
      if (v === 'hold') {
        held.push({ frame: f.slice(o, o + len), at: now });
        return 0;
      }
    }
    return transmit(f, o, len, now);
  };
  const stats = p.a.stats.tcp;
  const before = { ...stats };
  return {
    p, c, sent, stats, before, drain,
    setHook(h: typeof hook) { hook = h; },
    /** Queue `n` segments and run until b has them all or `ms` passed; releases held frames after `holdMs`. */
    run(n: number, ms: number, holdMs = 0): number {
      const data = new Uint8Array(n * MSS);
      let o = 0;
      const t0 = p.sim.now;
      received = 0;
      let doneAt = -1;
      for (let i = 0; i < ms && (received < data.length || held.length > 0); i++) {
        if (o < data.length) o += Math.max(0, p.a.sockets.send(c, data, o, data.length - o));
        p.sim.advance(1);
        for (let k = held.length - 1; k >= 0; k--) {
          if (p.sim.now - held[k].at >= holdMs) {
            const h = held.splice(k, 1)[0];
            transmit(h.frame, 0, h.frame.length, p.sim.now);
          }
        }
        drain();
        if (doneAt < 0 && received === data.length) doneAt = p.sim.now - t0;
      }
      return doneAt;
    },
    delta(k: keyof typeof stats): number {
      return stats[k] - before[k];
    },
    times(off: number): number[] {
      return sent.filter((x) => x.off === off).map((x) => x.t);
    },
  };
}

test('RACK: a lost segment with only two segments after it is found after the reordering window, not by 3 dupACKs or the RTO', () => {
  const x = scenario();
  // 20 segments; the 18th is lost: only two duplicate ACKs can ever come.
  x.setHook((off, _len, nth) => (off === 17 * MSS && nth === 0 ? 'drop' : 'pass'));
  const took = x.run(20, 3000);
  assert.ok(took > 0, 'delivered');
  const t = x.times(17 * MSS);
  assert.equal(t.length, 2, 'sent once, retransmitted once');
  const last = x.times(19 * MSS)[0];
  // The SACK of segment 20 is back one RTT (~20 ms) after it left; RACK waits
  // min_RTT / 4 (~5 ms) more before declaring 18 lost: no probe, no timeout.
  const wait = t[1] - last;
  assert.ok(wait >= 21 && wait <= 35, `retransmitted ${wait} ms after the last segment left`);
  assert.ok(x.delta('rackReorderTimeouts') >= 1, 'the reordering timer fired');
  assert.ok(x.delta('rackLossMarked') >= 1);
  assert.equal(x.delta('tailLossProbes'), 0);
  assert.equal(x.delta('rtoTimeouts'), 0);
});

test('RACK: a hole with three or more segments SACKed after it is resent on that ACK (reordering window 0)', () => {
  const x = scenario();
  x.setHook((off, _len, nth) => (off === 5 * MSS && nth === 0 ? 'drop' : 'pass'));
  assert.ok(x.run(40, 3000) > 0);
  const t = x.times(5 * MSS);
  assert.equal(t.length, 2);
  const sentAt = t[0];
  // One RTT after the burst: the first SACKs arrive and RACK marks it lost at once.
  assert.ok(t[1] - sentAt >= 19 && t[1] - sentAt <= 24, `retransmitted after ${t[1] - sentAt} ms`);
  assert.equal(x.delta('rtoTimeouts'), 0);
  assert.equal(x.delta('prrRecoveries'), 1);
});

test('TLP: a lost tail is probed after about two RTTs and repaired by RACK, without an RTO', () => {
  const x = scenario();
  // The last three of 10 segments are lost.
  x.setHook((off, _len, nth) => (off >= 7 * MSS && nth === 0 ? 'drop' : 'pass'));
  const took = x.run(10, 3000);
  assert.ok(took > 0 && took < 200, `done in ${took} ms`);
  const last = x.times(9 * MSS)[0];
  const probe = x.times(9 * MSS)[1];
  const srtt = x.p.a.sockets.tcpInfo(x.c)!.rttMs;
  // PTO = 2 SRTT from the last ACK of new data (one RTT after the burst), RFC 8985 7.2.
  const pto = probe - last - 20;
  assert.ok(pto >= 2 * srtt - 2 && pto <= 2 * srtt + 5, `probe ${probe - last} ms after the tail, srtt ${srtt}`);
  assert.equal(x.delta('tailLossProbes'), 1);
  // The probe's SACK shows 8 and 9 missing: RACK resends them, one RTT after the probe.
  for (const k of [7, 8]) {
    const t = x.times(k * MSS);
    assert.equal(t.length, 2, `segment ${k} resent once`);
    assert.ok(t[1] > probe && t[1] - probe <= 35, `segment ${k} resent ${t[1] - probe} ms after the probe`);
  }
  assert.equal(x.delta('rtoTimeouts'), 0);
});

test('RACK: a lost retransmission is detected by later deliveries and resent again, without an RTO', () => {
  const x = scenario();
  // Segment 6 is lost twice; the transfer (longer than the window after the warm-up) is long enough that new data sent after the first
  // retransmission is SACKed and reveals it.
  x.setHook((off, _len, nth) => (off === 5 * MSS && nth < 2 ? 'drop' : 'pass'));
  const took = x.run(600, 5000);
  assert.ok(took > 0, 'delivered');
  const t = x.times(5 * MSS);
  assert.equal(t.length, 3, `sent ${t.length} times`);
  // The second retransmission follows the first by about an RTT plus the window, far less than the 1 s RTO.
  assert.ok(t[2] - t[1] >= 19 && t[2] - t[1] < 80, `second retransmission ${t[2] - t[1]} ms after the first`);
  assert.equal(x.delta('rtoTimeouts'), 0);
});

test('PRR: during recovery the sender sends about ssthresh/RecoverFS per delivered segment; cwnd ends at ssthresh', () => {
  // Reno, so that ssthresh / RecoverFS is one half.
  const x = scenario({ tcpCubic: 0 });
  x.setHook((off, _len, nth) => (off === 10 * MSS && nth === 0 ? 'drop' : 'pass'));
  const cwndBefore = x.p.a.sockets.tcpInfo(x.c)!.cwnd;
  // Enough data that the sender is never short of it: it is cwnd-limited throughout.
  const data = new Uint8Array(400 * MSS);
  let o = 0;
  let rtxAt = -1;
  let endAt = -1;
  let ssthresh = 0;
  for (let i = 0; i < 1000 && endAt < 0; i++) {
    if (o < data.length) o += Math.max(0, x.p.a.sockets.send(x.c, data, o, data.length - o));
    x.p.sim.advance(1);
    const info = x.p.a.sockets.tcpInfo(x.c)!;
    if (rtxAt < 0 && info.inRecovery) {
      rtxAt = x.p.sim.now;
      ssthresh = info.ssthresh;
    }
    if (rtxAt >= 0 && !info.inRecovery) {
      endAt = x.p.sim.now;
      assert.equal(info.cwnd, info.ssthresh, 'cwnd = ssthresh when recovery ends');
    }
    x.drain();
  }
  assert.ok(rtxAt > 0 && endAt > rtxAt, 'one recovery episode');
  assert.ok(Math.abs(ssthresh - cwndBefore / 2) <= 2 * MSS || ssthresh < cwndBefore, `ssthresh ${ssthresh}, cwnd before ${cwndBefore}`);
  // Segments sent during the episode (excluding the retransmission) against those it delivered:
  // PRR keeps the ratio near ssthresh / RecoverFS (1/2 for Reno), not bursting after a full window.
  const during = x.sent.filter((s) => s.t >= rtxAt && s.t < endAt && s.off !== 10 * MSS).length;
  const flight = x.sent.filter((s) => s.t < rtxAt).length;
  assert.ok(during > 0.3 * flight && during < 0.75 * flight, `sent ${during} during recovery for a flight of ${flight}`);
  assert.equal(x.delta('prrRecoveries'), 1);
  assert.equal(x.delta('rtoTimeouts'), 0);
});

for (const timestamps of [0, 1]) {
  test(`D-SACK: a retransmission proved spurious is undone (cwnd and ssthresh restored) and widens the reordering window (timestamps ${timestamps})`, () => {
    // With timestamps the late original is dropped by PAWS at the (wirestack)
    // receiver, which still reports it with a D-SACK, as Linux does.
    const x = scenario({ tcpTimestamps: timestamps });
    // Segment 6 is delayed 30 ms: with 30 segments SACKed above it RACK declares it lost at once.
    x.setHook((off, _len, nth) => (off === 5 * MSS && nth === 0 ? 'hold' : 'pass'));
    const info0 = x.p.a.sockets.tcpInfo(x.c)!;
    assert.ok(x.run(40, 3000, 30) > 0);
    assert.equal(x.times(5 * MSS).length, 2, 'retransmitted once');
    x.p.sim.advance(100);
    assert.equal(x.delta('spuriousRetransUndone'), 1, 'the receiver D-SACKed the late original: undone');
    const info = x.p.a.sockets.tcpInfo(x.c)!;
    assert.ok(info.cwnd >= info0.cwnd, `cwnd ${info.cwnd} restored (was ${info0.cwnd})`);
    assert.equal(info.ssthresh, info0.ssthresh);
    assert.equal(info.inRecovery, false);

    // Reordering has now been seen: a segment 3 ms late (within min_RTT/4 * 2) is not retransmitted.
    const rtxBefore = x.p.a.stats.tcp.retransmits;
    const start = x.sent.length;
    x.setHook((off, _len, nth) => (nth === 0 && x.sent.length === start + 6 ? 'hold' : 'pass'));
    assert.ok(x.run(40, 3000, 3) > 0);
    assert.equal(x.p.a.stats.tcp.retransmits, rtxBefore, 'no retransmission for reordering within the window');
  });
}

test('RTO recovery resends only what the peer has not SACKed', () => {
  const x = scenario();
  // Segment 3 and its retransmission by RACK are lost; the probe (segment 20
  // again) tells nothing new, so the RTO fires with segments 4..20 SACKed.
  x.setHook((off, _len, nth) => (off === 2 * MSS && nth < 2 ? 'drop' : 'pass'));
  assert.ok(x.run(20, 5000) > 0, 'delivered');
  assert.equal(x.delta('rtoTimeouts'), 1);
  assert.equal(x.times(2 * MSS).length, 3, 'segment 3: sent, resent by RACK, then after the RTO');
  for (let k = 3; k < 19; k++) assert.equal(x.times(k * MSS).length, 1, `segment ${k + 1} (SACKed) was not resent`);
  assert.equal(x.times(19 * MSS).length, 2, 'segment 20: sent, and once as the probe');
});

test('TLP: a probe that repairs a lost last segment is answered by one window reduction (RFC 8985 7.4)', () => {
  const x = scenario();
  x.setHook((off, _len, nth) => (off === 9 * MSS && nth === 0 ? 'drop' : 'pass'));
  const before = x.p.a.sockets.tcpInfo(x.c)!;
  assert.ok(x.run(10, 3000) > 0);
  x.p.sim.advance(200); // the (delayed) ACK of the probe
  assert.equal(x.times(9 * MSS).length, 2, 'the last segment, then the probe resending it');
  assert.equal(x.delta('tailLossProbes'), 1);
  assert.equal(x.delta('tlpLossRepaired'), 1);
  assert.equal(x.delta('rtoTimeouts'), 0);
  const after = x.p.a.sockets.tcpInfo(x.c)!;
  // CUBIC's beta 0.7 (then a little congestion-avoidance growth from the probe's ACK).
  assert.ok(after.ssthresh < 0.75 * before.cwnd && after.cwnd < 0.75 * before.cwnd,
    `cwnd ${before.cwnd} -> ${after.cwnd}, ssthresh ${after.ssthresh}`);
});
