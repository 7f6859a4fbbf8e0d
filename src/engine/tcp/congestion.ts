/**
 * Congestion control and loss recovery: RFC 5681 slow start and congestion
 * avoidance, fast retransmit and NewReno (RFC 6582) for peers without SACK;
 * with SACK, a bounded scoreboard, losses found by RACK (rack.ts, RFC 8985)
 * and the recovery window set by PRR (RFC 6937). Restart after idle follows
 * RFC 5681 4.1 (cwnd validation).
 */
import { seqGe, seqGt, seqLe, seqLt, type TcpOptions } from '../../wire/tcp.js';
import type { TcpCore } from './core.js';
import { TH_ACK, TH_FIN } from '../../wire/tcp.js';
import { TF_RECOVERY, TF_SACK, TF_FIN_QUEUED, TF_FIN_ACKED, TF_TLP, TF_LOSS, TF_UNDO } from './tcb.js';

const DUP_THRESH = 3;
/** RFC 9438: C = 0.4, beta = 0.7, and the Reno-friendly increase 3 (1 - beta) / (1 + beta). */
const CUBIC_C = 0.4;
const CUBIC_BETA = 0.7;
const RENO_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
const BIG = 1 << 30;

export class Congestion {
  constructor(private readonly core: TcpCore) {}

  /** Initial window (RFC 6928): min(10 * SMSS, max(2 * SMSS, 14600)). */
  initialWindow(s: number): number {
    const smss = this.core.smss(s);
    return Math.min(10 * smss, Math.max(2 * smss, 14600));
  }

  init(s: number): void {
    const t = this.core.t;
    t.cwnd[s] = this.initialWindow(s);
    t.ssthresh[s] = BIG;
    t.dupAcks[s] = 0;
    t.sackCount[s] = 0;
    t.bytesAcked[s] = 0;
    t.recover[s] = t.sndUna[s];
    t.rtxHigh[s] = t.sndUna[s];
    t.cubicWmax[s] = 0;
    t.cubicEpoch[s] = -1;
    this.core.rack.init(s);
  }

  /**
   * CUBIC congestion avoidance (RFC 9438 4.2–4.4), in segments and seconds:
   * W(t) = C (t - K)^3 + Wmax, aiming one RTT ahead, never slower than the
   * Reno-friendly estimate.
   */
  private cubicAvoid(s: number, acked: number, smss: number): void {
    const t = this.core.t;
    const now = this.core.ctx.now;
    const cwndSeg = t.cwnd[s] / smss;
    if (t.cubicEpoch[s] < 0) {
      t.cubicEpoch[s] = now;
      if (t.cubicWmax[s] < cwndSeg) {
        t.cubicK[s] = 0;
        t.cubicWmax[s] = cwndSeg;
      } else {
        t.cubicK[s] = Math.cbrt((t.cubicWmax[s] - cwndSeg) / CUBIC_C);
      }
      t.cubicWest[s] = cwndSeg;
    }
    const rtt = t.srtt[s] > 0 ? t.srtt[s] : 100;
    const elapsed = (now - t.cubicEpoch[s] + rtt) / 1000;
    const d = elapsed - t.cubicK[s];
    let target = CUBIC_C * d * d * d + t.cubicWmax[s];
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    // Reno-friendly region (RFC 9438 4.3).
    t.cubicWest[s] += RENO_ALPHA * (acked / smss) / cwndSeg;
    if (t.cubicWest[s] > target) target = t.cubicWest[s];
    if (target > cwndSeg) t.cwnd[s] += ((target - cwndSeg) / cwndSeg) * smss * (acked / smss);
  }

  /** Multiplicative decrease: ssthresh from the flight (Reno halves, CUBIC keeps 0.7), CUBIC remembers Wmax. */
  private reduce(s: number, flight: number, smss: number): void {
    const t = this.core.t;
    if (this.core.cfg.tcpCubic === 1) {
      const seg = t.cwnd[s] / smss;
      // Fast convergence (RFC 9438 4.7).
      t.cubicWmax[s] = seg < t.cubicWmax[s] ? seg * (1 + CUBIC_BETA) / 2 : seg;
      t.cubicEpoch[s] = -1;
      t.ssthresh[s] = Math.max(flight * CUBIC_BETA, 2 * smss);
    } else {
      t.ssthresh[s] = Math.max(flight / 2, 2 * smss);
    }
  }

  /** A loss repaired without a recovery episode (by a tail loss probe): one reduction, cwnd = ssthresh. */
  reduceOnce(s: number): void {
    const c = this.core;
    const t = c.t;
    const smss = c.smss(s);
    t.priorCwnd[s] = t.cwnd[s];
    t.priorSsthresh[s] = t.ssthresh[s];
    // From cwnd, as Linux's ssthresh functions: the flight may be only the probe by now.
    this.reduce(s, t.cwnd[s], smss);
    if (t.cwnd[s] > t.ssthresh[s]) t.cwnd[s] = t.ssthresh[s];
  }

  /**
   * RFC 3042 limited transmit: on the first two duplicate ACKs, one new
   * segment each may go beyond cwnd, so a small window still produces the
   * duplicate ACKs that fast retransmit needs.
   */
  allowance(s: number): number {
    const t = this.core.t;
    if ((t.tflags[s] & TF_RECOVERY) !== 0 || t.dupAcks[s] === 0 || t.dupAcks[s] > 2) return 0;
    return t.dupAcks[s] * this.core.smss(s);
  }

  /** Bytes of the scoreboard. */
  sacked(s: number): number {
    const t = this.core.t;
    // RACK's records know every SACKed segment; the scoreboard only its first ranges.
    const rack = (t.tflags[s] & TF_SACK) !== 0 && t.buf[s] >= 0;
    // The scoreboard's loop also runs (empty) on RACK's calls, its reads done on every call: the loop first
    // has work when a connection has given its buffers back (a FIN after the data), and code first reached
    // there had no type feedback when V8 optimized sendData, which this is inlined into (a deopt and a
    // recompile at each process's first close).
    const base = s * t.rangesS;
    const sc = t.sackCount[s];
    const count = rack ? 0 : sc;
    let n = 0;
    for (let i = 0; i < count; i++) n += (t.sackRight[base + i] - t.sackLeft[base + i]) | 0;
    return rack ? t.sackedBytes[s] : n;
  }

  /**
   * Data in the network (RFC 6675 "pipe", Linux's in_flight): outstanding
   * bytes minus those SACKed and those marked lost by RACK and not yet
   * retransmitted. Without SACK it is simply the flight size.
   */
  pipe(s: number): number {
    const t = this.core.t;
    const flight = (t.sndNxt[s] - t.sndUna[s]) >>> 0;
    if ((t.tflags[s] & TF_SACK) === 0) return flight;
    const p = flight - this.sacked(s) - t.lostBytes[s];
    return p > 0 ? p : 0;
  }

  /** Merge the SACK blocks of an ACK into the scoreboard; true when it learned something new. */
  updateScoreboard(s: number, o: TcpOptions, ack: number): boolean {
    const t = this.core.t;
    const base = s * t.rangesS;
    let grew = false;
    for (let k = 0; k < o.sackCount; k++) {
      let l = o.sackLeft[k];
      let r = o.sackRight[k];
      // Ignore D-SACKs and blocks outside what we sent (RFC 2883, RFC 6675 5.1).
      if (!seqGt(r, l) || seqLe(r, ack) || seqGt(r, t.sndMax[s])) continue;
      if (seqLt(l, ack)) l = ack;
      let n = t.sackCount[s];
      let i = 0;
      let covered = false;
      while (i < n) {
        const L = t.sackLeft[base + i];
        const R = t.sackRight[base + i];
        if (seqLe(L, l) && seqGe(R, r)) {
          covered = true;
          break;
        }
        if (seqLe(L, r) && seqGe(R, l)) {
          if (seqLt(L, l)) l = L;
          if (seqGt(R, r)) r = R;
          for (let j = i; j < n - 1; j++) {
            t.sackLeft[base + j] = t.sackLeft[base + j + 1];
            t.sackRight[base + j] = t.sackRight[base + j + 1];
          }
          n--;
        } else {
          i++;
        }
      }
      if (covered) continue;
      grew = true;
      let at = 0;
      while (at < n && seqLt(t.sackLeft[base + at], l)) at++;
      if (n === t.rangesS) {
        if (at === n) { t.sackCount[s] = n; continue; }
        n--; // forget the highest range: at worst it is retransmitted needlessly
      }
      for (let j = n; j > at; j--) {
        t.sackLeft[base + j] = t.sackLeft[base + j - 1];
        t.sackRight[base + j] = t.sackRight[base + j - 1];
      }
      t.sackLeft[base + at] = l;
      t.sackRight[base + at] = r;
      t.sackCount[s] = n + 1;
    }
    return grew;
  }

  /** Drop scoreboard ranges at or below the cumulative ACK. */
  trimScoreboard(s: number): void {
    const t = this.core.t;
    const base = s * t.rangesS;
    const una = t.sndUna[s];
    let n = t.sackCount[s];
    let drop = 0;
    while (drop < n && seqLe(t.sackRight[base + drop], una)) drop++;
    if (drop > 0) {
      for (let j = 0; j + drop < n; j++) {
        t.sackLeft[base + j] = t.sackLeft[base + j + drop];
        t.sackRight[base + j] = t.sackRight[base + j + drop];
      }
      n -= drop;
    }
    if (n > 0 && seqLt(t.sackLeft[base], una)) t.sackLeft[base] = una;
    t.sackCount[s] = n;
  }

  /** New data acknowledged outside recovery: grow cwnd (byte counting; in slow start every byte acknowledged, up to ssthresh). */
  onNewAck(s: number, acked: number): void {
    const t = this.core.t;
    // The probe is answered once everything up to it is acknowledged (before
    // the caller rearms the timers, so the next flight gets its own probe).
    if (t.sndUna[s] === t.sndMax[s] || seqGe(t.sndUna[s], t.tlpHigh[s])) t.tflags[s] &= ~TF_TLP;
    const smss = this.core.smss(s);
    t.dupAcks[s] = 0;
    if (t.cwnd[s] < t.ssthresh[s]) {
      // Every byte acknowledged counts, up to ssthresh, as Linux's tcp_slow_start
      // does (RFC 3465's limit L = 2 SMSS per ACK is for stretch ACKs only): a
      // receiver that coalesces (GRO, Linux behind a TAP) acknowledges tens of
      // segments at once, and 2 SMSS per such ACK stretched slow start ~20-fold
      // (a 64 KiB super-segment each way, 500 ms to reach a 1.6 MB window).
      const room = t.ssthresh[s] - t.cwnd[s];
      t.cwnd[s] += acked < room ? acked : room;
    } else if (this.core.cfg.tcpCubic === 1) {
      this.cubicAvoid(s, acked, smss);
    } else {
      t.bytesAcked[s] += acked;
      if (t.bytesAcked[s] >= t.cwnd[s]) {
        t.bytesAcked[s] -= t.cwnd[s];
        t.cwnd[s] += smss;
      }
    }
    const cap = t.maxSndWnd[s] * 2 + 4 * smss;
    if (t.cwnd[s] > cap && cap > 0) t.cwnd[s] = cap; // never far beyond what the peer could take
  }

  /**
   * A duplicate ACK (or an ACK with new SACK information). Returns true when
   * it triggered fast retransmit.
   */
  onDupAck(s: number): boolean {
    const c = this.core;
    const t = c.t;
    c.stats.dupAcks++;
    // With SACK, RACK (rack.ts) decides what is lost, not a count of duplicates.
    if ((t.tflags[s] & TF_SACK) !== 0) return false;
    if ((t.tflags[s] & TF_RECOVERY) !== 0) {
      if ((t.tflags[s] & TF_SACK) === 0) t.cwnd[s] += c.smss(s); // NewReno inflation
      return false;
    }
    t.dupAcks[s]++;
    const smss = c.smss(s);
    const flight = (t.sndMax[s] - t.sndUna[s]) >>> 0;
    // RFC 5827 early retransmit: with few segments outstanding and nothing new
    // to send, three duplicate ACKs can never come; lower the threshold.
    let thresh = DUP_THRESH;
    const unsent = (t.sndUna[s] + t.sndLen[s] - t.sndMax[s]) | 0;
    const segs = Math.ceil(flight / smss);
    if (segs < 4 && (unsent <= 0 || t.sndWnd[s] - flight < smss)) thresh = Math.max(1, segs - 1);
    if (t.dupAcks[s] < thresh) return false;
    // RFC 6582: no new recovery until everything sent before the last one is acknowledged.
    if (seqLt(t.sndUna[s], t.recover[s])) return false;
    this.enterRecovery(s);
    return true;
  }

  /**
   * Fast recovery begins: multiplicative decrease; with SACK the window is
   * then set by PRR on each ACK and what RACK marked lost is resent by
   * output; without SACK, NewReno retransmits the first segment.
   */
  enterRecovery(s: number): void {
    const c = this.core;
    const t = c.t;
    t.tflags[s] &= ~TF_TLP;
    const smss = c.smss(s);
    const flight = (t.sndMax[s] - t.sndUna[s]) >>> 0;
    t.priorCwnd[s] = t.cwnd[s];
    t.priorSsthresh[s] = t.ssthresh[s];
    this.reduce(s, flight, smss);
    t.recover[s] = t.sndMax[s];
    t.tflags[s] |= TF_RECOVERY;
    c.stats.fastRetransmits++;
    t.rtxHigh[s] = t.sndUna[s];
    if ((t.tflags[s] & TF_SACK) !== 0) {
      c.stats.sackRecoveries++;
      c.stats.prrRecoveries++;
      // Undo state (Linux tcp_init_undo): retransmissions from here on may prove spurious.
      t.undoMarker[s] = t.sndUna[s];
      t.undoRetrans[s] = 0;
      t.tflags[s] |= TF_UNDO;
      c.rack.initPrr(s);
    } else {
      t.cwnd[s] = t.ssthresh[s] + DUP_THRESH * smss;
      this.retransmitFirst(s);
    }
  }

  /** Retransmit one segment at sndUna. */
  private retransmitFirst(s: number): void {
    const c = this.core;
    const t = c.t;
    const len = Math.min(t.sndLen[s], c.smss(s));
    const finOnly = len === 0 && (t.tflags[s] & TF_FIN_QUEUED) !== 0 && (t.tflags[s] & TF_FIN_ACKED) === 0;
    if (len === 0 && !finOnly) return;
    const fin = (t.tflags[s] & TF_FIN_QUEUED) !== 0 && len === t.sndLen[s] && seqGt(t.sndMax[s], (t.sndUna[s] + len) | 0);
    c.out.transmit(s, t.sndUna[s], len, TH_ACK | (fin ? TH_FIN : 0));
    t.rtxHigh[s] = (t.sndUna[s] + len) | 0;
  }

  /**
   * An ACK advanced sndUna during recovery. Full ACK: leave recovery.
   * Partial ACK: retransmit the next hole (RFC 6582 / RFC 6675).
   */
  onRecoveryAck(s: number, acked: number): void {
    const c = this.core;
    const t = c.t;
    const smss = c.smss(s);
    if (seqGe(t.sndUna[s], t.tlpHigh[s])) t.tflags[s] &= ~TF_TLP;
    if (seqGe(t.sndUna[s], t.recover[s])) {
      t.tflags[s] &= ~TF_RECOVERY;
      t.dupAcks[s] = 0;
      if ((t.tflags[s] & TF_SACK) !== 0) {
        // RFC 6937: recovery ends with cwnd = ssthresh (Linux tcp_end_cwnd_reduction).
        t.cwnd[s] = t.ssthresh[s];
        // RFC 8985 6.2 step 4: a widened reordering window lasts 16 recoveries.
        if (t.reoWndPersist[s] > 0 && --t.reoWndPersist[s] === 0) t.reoWndMult[s] = 1;
        return;
      }
      const flight = (t.sndMax[s] - t.sndUna[s]) >>> 0;
      t.cwnd[s] = Math.min(t.ssthresh[s], Math.max(flight, smss) + smss);
      return;
    }
    // With SACK, a partial ACK is handled by RACK and PRR (rack.ts afterAck).
    if ((t.tflags[s] & TF_SACK) !== 0) return;
    // NewReno partial ACK: deflate by the amount acked, add back one SMSS, retransmit the next segment.
    t.cwnd[s] = Math.max(t.cwnd[s] - acked + smss, smss);
    this.retransmitFirst(s);
  }

  /** Retransmission timeout (RFC 5681 3.1, RFC 6298 5.5). */
  onTimeout(s: number): void {
    const c = this.core;
    const t = c.t;
    const smss = c.smss(s);
    const flight = (t.sndMax[s] - t.sndUna[s]) >>> 0;
    // Reduce once per episode (Linux tcp_enter_loss): not again on a backed-off
    // timeout, nor when fast recovery already did.
    if (t.backoff[s] === 0 && (t.tflags[s] & (TF_RECOVERY | TF_LOSS)) === 0) {
      t.priorCwnd[s] = t.cwnd[s];
      t.priorSsthresh[s] = t.ssthresh[s];
      this.reduce(s, flight, smss);
      t.undoMarker[s] = t.sndUna[s];
      t.undoRetrans[s] = 0;
      t.tflags[s] |= TF_UNDO;
    }
    t.cwnd[s] = smss;
    t.bytesAcked[s] = 0;
    t.dupAcks[s] = 0;
    t.tflags[s] &= ~(TF_RECOVERY | TF_TLP);
    t.recover[s] = t.sndMax[s];
    t.rtxHigh[s] = t.sndUna[s];
    // Keep the scoreboard so the retransmissions skip what the peer holds; but
    // a peer may renege on SACKed data (RFC 2018 8): after a second timeout
    // without progress, forget it and resend everything.
    const renege = t.backoff[s] >= 1;
    if (renege) t.sackCount[s] = 0;
    if ((t.tflags[s] & TF_SACK) !== 0) {
      // RTO recovery (RFC 8985): all that is not SACKed is lost and resent from the ring.
      t.tflags[s] |= TF_LOSS;
      this.core.rack.onTimeout(s, renege);
    }
  }

  /**
   * For a (re)transmission starting at `seq`: the first sequence at or after
   * it that the peer has not SACKed.
   */
  skipSacked(s: number, seq: number): number {
    const t = this.core.t;
    const base = s * t.rangesS;
    for (let i = 0; i < t.sackCount[s]; i++) {
      const L = t.sackLeft[base + i];
      const R = t.sackRight[base + i];
      if (seqLe(L, seq) && seqGt(R, seq)) seq = R;
      else if (seqGt(L, seq)) break;
    }
    return seq;
  }

  /** Bytes from `seq` to the next SACKed range (Infinity when none follows). */
  untilSacked(s: number, seq: number): number {
    const t = this.core.t;
    const base = s * t.rangesS;
    for (let i = 0; i < t.sackCount[s]; i++) {
      const L = t.sackLeft[base + i];
      if (seqGt(L, seq)) return (L - seq) >>> 0;
    }
    return Infinity;
  }

  /** RFC 5681 4.1: after an idle period longer than the RTO, restart from at most the initial window. */
  restartAfterIdle(s: number, now: number): void {
    const t = this.core.t;
    if (t.sndNxt[s] !== t.sndUna[s]) return;
    if (now - t.lastSendTime[s] > t.rto[s]) {
      const iw = this.initialWindow(s);
      if (t.cwnd[s] > iw) t.cwnd[s] = iw;
    }
  }
}
