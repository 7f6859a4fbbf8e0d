/**
 * RACK-TLP loss detection (RFC 8985) and PRR (RFC 6937) for connections with
 * SACK. Every segment sent is recorded, in sequence order, in a bounded ring
 * (send time, SACKed / lost / retransmitted): a segment is deemed lost when a
 * segment sent at least a reordering window later has been delivered, instead
 * of counting duplicate ACKs. Lost segments are retransmitted from the ring,
 * the window during recovery follows PRR, and retransmissions that D-SACKs
 * prove spurious are undone (RFC 3708, as Linux's undo_marker/undo_retrans).
 * Nothing here allocates.
 */
import { seqGe, seqGt, seqLe, seqLt, TH_ACK, TH_FIN, type TcpOptions } from '../../wire/tcp.js';
import type { TcpCore } from './core.js';
import {
  RACK_DSACK_ROUND, RACK_REORDER_SEEN, RK_LOST, RK_RETRANS, RK_SACKED, TF_FIN_QUEUED, TF_LOSS, TF_RECOVERY, TF_TLP,
  TF_TLP_RTX, TF_TS, TF_UNDO,
} from './tcb.js';

/** RFC 8985 6.2: the reordering window grows by min_RTT/4 per D-SACK round, and is kept 16 recoveries. */
const REO_WND_PERSIST = 16;
/** RACK.min_RTT is a windowed minimum (Linux: tcp_min_rtt_wlen, 300 s). */
const MIN_RTT_WINDOW_MS = 300000;
/** RFC 6675 DupThresh, used by RFC 8985 6.2 step 4 to close the window when enough is SACKed. */
const DUP_THRESH = 3;

export class Rack {
  constructor(private readonly core: TcpCore) {}

  /** Fresh state for a connection that just became established. */
  init(s: number): void {
    const t = this.core.t;
    t.rkHead[s] = 0;
    t.rkCount[s] = 0;
    t.rackXmit[s] = -1;
    t.rackOrder[s] = -1;
    t.txOrder[s] = 0;
    t.rackEnd[s] = t.sndUna[s];
    t.rackRtt[s] = 0;
    t.rackMinRtt[s] = Infinity;
    t.rackMinRttAt[s] = 0;
    t.rackFack[s] = t.sndUna[s];
    t.reoWndMult[s] = 1;
    t.reoWndPersist[s] = 0;
    t.dsackRound[s] = t.sndUna[s];
    t.rackFlags[s] = 0;
    t.rackAt[s] = Infinity;
    t.lostBytes[s] = 0;
    t.sackedBytes[s] = 0;
    t.prrDelivered[s] = 0;
    t.prrOut[s] = 0;
    t.recoverFs[s] = 0;
    t.undoRetrans[s] = 0;
    t.tlpHigh[s] = t.sndUna[s];
    t.tflags[s] &= ~(TF_LOSS | TF_UNDO);
  }

  private pos(s: number, i: number): number {
    const t = this.core.t;
    const R = t.rackRecords;
    let p = t.rkHead[s] + i;
    if (p >= R) p -= R;
    return t.buf[s] * R + p;
  }

  /** Start of record i (the first starts at sndUna). */
  private start(s: number, i: number): number {
    return i === 0 ? this.core.t.sndUna[s] : this.core.t.rkEnd[this.pos(s, i - 1)];
  }

  /** Index of the first record ending after `seq` (binary search; records are in sequence order). */
  private find(s: number, seq: number): number {
    const t = this.core.t;
    const una = t.sndUna[s];
    const key = (seq - una) >>> 0;
    let lo = 0;
    let hi = t.rkCount[s];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((t.rkEnd[this.pos(s, mid)] - una) >>> 0) <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Split record i at `at` (inside it); both halves keep its time and flags. False when the ring is full. */
  private split(s: number, i: number, at: number): boolean {
    const t = this.core.t;
    const n = t.rkCount[s];
    if (n >= t.rackRecords) return false;
    for (let j = n; j > i + 1; j--) {
      const to = this.pos(s, j);
      const from = this.pos(s, j - 1);
      t.rkEnd[to] = t.rkEnd[from];
      t.rkTime[to] = t.rkTime[from];
      t.rkFlags[to] = t.rkFlags[from];
      t.rkOrder[to] = t.rkOrder[from];
    }
    const p = this.pos(s, i);
    const q = this.pos(s, i + 1);
    t.rkEnd[q] = t.rkEnd[p];
    t.rkTime[q] = t.rkTime[p];
    t.rkFlags[q] = t.rkFlags[p];
    t.rkOrder[q] = t.rkOrder[p];
    t.rkEnd[p] = at;
    t.rkCount[s] = n + 1;
    return true;
  }

  private append(s: number, end: number, now: number): void {
    const t = this.core.t;
    const n = t.rkCount[s];
    if (n < t.rackRecords) {
      const p = this.pos(s, n);
      t.rkEnd[p] = end;
      t.rkTime[p] = now;
      t.rkOrder[p] = ++t.txOrder[s];
      t.rkFlags[p] = 0;
      t.rkCount[s] = n + 1;
      return;
    }
    // Full: the newest record grows (its send time becomes the newer one, so
    // the older part of it is declared lost later rather than too early).
    const p = this.pos(s, n - 1);
    t.rkEnd[p] = end;
    t.rkTime[p] = now;
    t.rkOrder[p] = ++t.txOrder[s];
  }

  /**
   * A segment [seq, end) left (end includes a FIN): new data is appended,
   * resent data gets its new send time and loses its lost mark.
   */
  onSend(s: number, seq: number, end: number, isRtx: boolean): void {
    const c = this.core;
    const t = c.t;
    if (t.buf[s] < 0 || !seqGt(end, seq)) return;
    const now = c.ctx.now;
    const max = t.sndMax[s];
    // RFC 6937 prr_out: everything sent during recovery.
    if ((t.tflags[s] & TF_RECOVERY) !== 0) t.prrOut[s] += (end - seq) >>> 0;
    if (!isRtx) {
      if (seqGe(seq, max)) this.append(s, end, now);
      return;
    }
    this.onResend(s, seq, end, max, now);
  }

  /** onSend() for data sent before (apart: see TcpInput.segmentInput): the records it covers are marked resent. */
  private onResend(s: number, seq: number, end: number, max: number, now: number): void {
    const t = this.core.t;
    const rtxEnd = seqLt(end, max) ? end : max;
    let i = this.find(s, seq);
    while (i < t.rkCount[s]) {
      const st = this.start(s, i);
      if (seqGe(st, rtxEnd)) break;
      if (seqLt(st, seq) && this.split(s, i, seq)) {
        i++;
        continue;
      }
      let p = this.pos(s, i);
      if (seqGt(t.rkEnd[p], rtxEnd)) {
        this.split(s, i, rtxEnd);
        p = this.pos(s, i);
      }
      const len = (t.rkEnd[p] - st) >>> 0;
      if ((t.rkFlags[p] & RK_LOST) !== 0) {
        t.rkFlags[p] &= ~RK_LOST;
        t.lostBytes[s] = t.lostBytes[s] > len ? t.lostBytes[s] - len : 0;
      }
      t.rkFlags[p] |= RK_RETRANS;
      t.rkTime[p] = now;
      t.rkOrder[p] = ++t.txOrder[s];
      if ((t.tflags[s] & TF_UNDO) !== 0) t.undoRetrans[s] += len;
      i++;
    }
    if (seqGt(end, max)) this.append(s, end, now);
  }

  /** RFC 8985 6.2 steps 2 and 3 for one segment newly delivered (cumulatively ACKed or SACKed). */
  private delivered(s: number, p: number, end: number, fack: number, tsEcr: number): void {
    const c = this.core;
    const t = c.t;
    const now = c.ctx.now;
    const xmit = t.rkTime[p];
    const f = t.rkFlags[p];
    const rtt = now - xmit;
    if ((f & RK_RETRANS) === 0) {
      if (seqLt(end, fack)) t.rackFlags[s] |= RACK_REORDER_SEEN;
      if (rtt < t.rackMinRtt[s] || now - t.rackMinRttAt[s] > MIN_RTT_WINDOW_MS) {
        t.rackMinRtt[s] = rtt;
        t.rackMinRttAt[s] = now;
      }
    } else if (tsEcr !== 0 ? (((tsEcr - t.tsOffset[s]) | 0) - Math.floor(xmit)) < 0
      : rtt < (t.rackMinRtt[s] > 1 ? t.rackMinRtt[s] : 1)) {
      // RFC 8985 6.2 step 2: an ACK that may be for the original, not the
      // retransmission (its echoed timestamp predates the retransmission, or
      // it came sooner than a round trip; the clock ticks in ms): no RTT
      // sample, and not a send time to judge the others by, which would
      // declare everything in flight lost.
      if (seqGt(end, t.rackFack[s])) t.rackFack[s] = end;
      return;
    }
    if (seqGt(end, t.rackFack[s])) t.rackFack[s] = end;
    t.rackRtt[s] = rtt;
    // RACK_sent_after by transmission order: send times tie within a millisecond.
    if (t.rkOrder[p] > t.rackOrder[s]) {
      t.rackXmit[s] = xmit;
      t.rackOrder[s] = t.rkOrder[p];
      t.rackEnd[s] = end;
    }
  }

  /**
   * The SACK and cumulative parts of an ACK, before sndUna moves: marks the
   * segments they deliver, and handles a D-SACK (RFC 2883) for the
   * reordering window and the undo of spurious retransmissions.
   */
  onAck(s: number, ack: number, o: TcpOptions): void {
    const c = this.core;
    const t = c.t;
    // Without a buffer pair there are no records (they go with the pair), but a
    // D-SACK arriving after everything was acknowledged still proves an episode spurious.
    const una = t.sndUna[s];
    // The echoed timestamp tells which transmission arrived only for data that
    // arrived in order (RFC 7323 4.3: out-of-order data does not update TS.Recent).
    const tsEcr = o.hasTimestamp && (t.tflags[s] & TF_TS) !== 0 ? o.tsEcr : 0;
    // Cumulatively acknowledged segments are judged against the highest SACK before this ACK.
    const priorFack = t.rackFack[s];
    // SACK blocks are apart (see TcpInput.segmentInput: V8 optimizes a lean hot function sooner).
    if (o.sackCount > 0) this.onSackBlocks(s, ack, o);
    else if ((t.tflags[s] & TF_TLP) !== 0 && seqGe(ack, t.tlpHigh[s])) this.probeAnswered(s, false);
    // Cumulatively acknowledged records leave the ring.
    if (!seqGt(ack, una)) return;
    let st = una;
    while (t.rkCount[s] > 0) {
      const p = this.pos(s, 0);
      const end = t.rkEnd[p];
      if (seqGt(end, ack)) {
        if ((t.rkFlags[p] & (RK_LOST | RK_SACKED)) !== 0 && seqGt(ack, st)) {
          const len = (ack - st) >>> 0;
          if ((t.rkFlags[p] & RK_LOST) !== 0) t.lostBytes[s] = t.lostBytes[s] > len ? t.lostBytes[s] - len : 0;
          else t.sackedBytes[s] = t.sackedBytes[s] > len ? t.sackedBytes[s] - len : 0;
        }
        break;
      }
      if ((t.rkFlags[p] & RK_SACKED) === 0) this.delivered(s, p, end, priorFack, tsEcr);
      else t.sackedBytes[s] = t.sackedBytes[s] > ((end - st) >>> 0) ? t.sackedBytes[s] - ((end - st) >>> 0) : 0;
      if ((t.rkFlags[p] & RK_LOST) !== 0) {
        const len = (end - st) >>> 0;
        t.lostBytes[s] = t.lostBytes[s] > len ? t.lostBytes[s] - len : 0;
      }
      st = end;
      t.rkHead[s] = t.rkHead[s] + 1 === t.rackRecords ? 0 : t.rkHead[s] + 1;
      t.rkCount[s]--;
    }
  }

  /**
   * The SACK blocks of an ACK (RFC 2018): a D-SACK first block (RFC 2883),
   * the tail loss probe's answer, then the newly SACKed records, delivered.
   */
  private onSackBlocks(s: number, ack: number, o: TcpOptions): void {
    const t = this.core.t;
    let first = 0;
    let probeDuplicated = false;
    if (o.sackCount > 0) {
      const l0 = o.sackLeft[0];
      const r0 = o.sackRight[0];
      const dsack = seqLe(r0, ack) || (o.sackCount > 1 && seqGe(l0, o.sackLeft[1]) && seqLe(r0, o.sackRight[1]));
      if (dsack && seqGt(r0, l0)) {
        first = 1;
        probeDuplicated = seqLt(l0, t.tlpHigh[s]) && seqGe(r0, t.tlpHigh[s]);
        this.onDsack(s, l0, r0);
      }
    }
    if ((t.tflags[s] & TF_TLP) !== 0 && seqGe(ack, t.tlpHigh[s])) this.probeAnswered(s, probeDuplicated);
    // SACK blocks in sequence order, so that reordering is judged against the highest SACK before each.
    let done = 0;
    for (let k = first; k < o.sackCount; k++) {
      let best = -1;
      for (let j = first; j < o.sackCount; j++) {
        if ((done & (1 << j)) !== 0) continue;
        if (best < 0 || seqLt(o.sackLeft[j], o.sackLeft[best])) best = j;
      }
      done |= 1 << best;
      let l = o.sackLeft[best];
      const r = o.sackRight[best];
      if (seqLt(l, ack)) l = ack;
      if (!seqGt(r, l) || seqGt(r, t.sndMax[s])) continue;
      for (let i = this.find(s, l); i < t.rkCount[s]; i++) {
        const st = this.start(s, i);
        if (seqGe(st, r)) break;
        const p = this.pos(s, i);
        const end = t.rkEnd[p];
        if (seqLt(st, l) || seqGt(end, r) || (t.rkFlags[p] & RK_SACKED) !== 0) continue;
        if ((t.rkFlags[p] & RK_LOST) !== 0) {
          const len = (end - st) >>> 0;
          t.lostBytes[s] = t.lostBytes[s] > len ? t.lostBytes[s] - len : 0;
        }
        t.rkFlags[p] = (t.rkFlags[p] & ~RK_LOST) | RK_SACKED;
        t.sackedBytes[s] += (end - st) >>> 0;
        this.delivered(s, p, end, t.rackFack[s], 0);
      }
    }
  }

  /**
   * RFC 8985 7.4: the ACK covers the probe. If the probe resent old data and
   * no D-SACK says the original arrived too, the probe repaired a real loss:
   * reduce the window once, as a recovery would have (Linux tcp_process_tlp_ack).
   */
  private probeAnswered(s: number, duplicated: boolean): void {
    const c = this.core;
    const t = c.t;
    const repaired = (t.tflags[s] & TF_TLP_RTX) !== 0 && !duplicated && (t.tflags[s] & (TF_RECOVERY | TF_LOSS)) === 0;
    t.tflags[s] &= ~(TF_TLP | TF_TLP_RTX);
    if (!repaired) return;
    c.stats.tlpLossRepaired++;
    c.cc.reduceOnce(s);
  }

  /** A D-SACK: widen the reordering window once per round (RFC 8985 6.2 step 4); maybe undo (RFC 3708). */
  private onDsack(s: number, l: number, r: number): void {
    const c = this.core;
    const t = c.t;
    c.stats.dsacksReceived++;
    t.rackFlags[s] |= RACK_REORDER_SEEN;
    if ((t.rackFlags[s] & RACK_DSACK_ROUND) === 0 || seqGe(t.sndUna[s], t.dsackRound[s])) {
      t.dsackRound[s] = t.sndMax[s];
      t.rackFlags[s] |= RACK_DSACK_ROUND;
      if (t.reoWndMult[s] < 255) t.reoWndMult[s]++;
      t.reoWndPersist[s] = REO_WND_PERSIST;
    }
    // Linux tcp_check_dsack: a D-SACK at or above the undo marker takes back one retransmission.
    if ((t.tflags[s] & TF_UNDO) !== 0 && t.undoRetrans[s] > 0 && seqGe(l, t.undoMarker[s])) {
      t.undoRetrans[s] -= (r - l) >>> 0;
      if (t.undoRetrans[s] <= 0) this.undo(s);
    }
  }

  /**
   * Every retransmission of the episode was a duplicate: the losses were not
   * real, so the window reduction is taken back (Linux tcp_undo_cwnd_reduction).
   */
  private undo(s: number): void {
    const c = this.core;
    const t = c.t;
    if (t.cwnd[s] < t.priorCwnd[s]) t.cwnd[s] = t.priorCwnd[s];
    if (t.ssthresh[s] < t.priorSsthresh[s]) t.ssthresh[s] = t.priorSsthresh[s];
    t.tflags[s] &= ~(TF_RECOVERY | TF_LOSS | TF_UNDO);
    t.undoRetrans[s] = 0;
    t.dupAcks[s] = 0;
    // What is still marked lost was marked by the same mistake.
    for (let i = 0; i < t.rkCount[s]; i++) t.rkFlags[this.pos(s, i)] &= ~RK_LOST;
    t.lostBytes[s] = 0;
    c.stats.spuriousRetransUndone++;
  }

  /** RFC 8985 6.2 step 4: the reordering window. */
  reoWnd(s: number): number {
    const c = this.core;
    const t = c.t;
    if ((t.rackFlags[s] & RACK_REORDER_SEEN) === 0) {
      if ((t.tflags[s] & (TF_RECOVERY | TF_LOSS)) !== 0) return 0;
      if (c.cc.sacked(s) >= DUP_THRESH * c.smss(s)) return 0;
    }
    const minRtt = t.rackMinRtt[s] === Infinity ? t.srtt[s] : t.rackMinRtt[s];
    let w = (minRtt / 4) * t.reoWndMult[s];
    if (w > t.srtt[s]) w = t.srtt[s];
    // The clock ticks in milliseconds: once reordering has been seen, a window
    // below one tick would declare every reordered segment lost.
    if ((t.rackFlags[s] & RACK_REORDER_SEEN) !== 0 && w < 1) w = 1;
    return w;
  }

  /**
   * RFC 8985 6.2 step 5: mark lost every segment sent a reordering window
   * before the most recently sent segment that was delivered; arm the
   * reordering timer for those not yet old enough. A walk over every record
   * recounts the lost and SACKed bytes.
   */
  detectLoss(s: number): void {
    const c = this.core;
    const t = c.t;
    if (t.buf[s] < 0 || t.rackXmit[s] < 0) return;
    const now = c.ctx.now;
    const reo = this.reoWnd(s);
    const order = t.rackOrder[s];
    const rtt = t.rackRtt[s];
    let timeout = 0;
    let lost = 0;
    let sacked = 0;
    let newly = 0;
    let complete = true;
    let st = t.sndUna[s];
    for (let i = 0, n = t.rkCount[s]; i < n; i++) {
      const p = this.pos(s, i);
      const end = t.rkEnd[p];
      const f = t.rkFlags[p];
      const len = (end - st) >>> 0;
      st = end;
      if ((f & RK_SACKED) !== 0) {
        sacked += len;
        continue;
      }
      if ((f & RK_LOST) !== 0) {
        lost += len;
        continue;
      }
      const xmit = t.rkTime[p];
      // Only segments the delivered one was sent after (RACK_sent_after).
      if (t.rkOrder[p] >= order) {
        // A first transmission sent after it: so was every segment above it
        // (first sent later still, resent later again), so the walk can stop
        // there; without losses that is the first record, whatever the window.
        if ((f & RK_RETRANS) === 0) {
          complete = false;
          break;
        }
        continue;
      }
      const remaining = xmit + rtt + reo - now;
      if (remaining <= 0) {
        t.rkFlags[p] = f | RK_LOST;
        lost += len;
        newly += len;
        c.stats.rackLossMarked++;
      } else if (remaining > timeout) {
        timeout = remaining;
      }
    }
    // A full walk recounts; a partial one adds what it marked.
    if (complete) {
      t.lostBytes[s] = lost;
      t.sackedBytes[s] = sacked;
    } else {
      t.lostBytes[s] += newly;
    }
    if (timeout > 0) {
      t.rackAt[s] = now + timeout;
      c.arm(t.rackAt[s]);
    } else {
      t.rackAt[s] = Infinity;
    }
  }

  /**
   * After an ACK was processed (sndUna moved, scoreboard current): detect
   * losses, enter recovery on the first, and set the recovery window by PRR.
   */
  afterAck(s: number, priorUna: number, priorSacked: number): void {
    const c = this.core;
    const t = c.t;
    if ((t.tflags[s] & TF_TLP) !== 0 && seqGe(t.sndUna[s], t.tlpHigh[s])) t.tflags[s] &= ~TF_TLP;
    if ((t.tflags[s] & TF_LOSS) !== 0 && seqGe(t.sndUna[s], t.recover[s])) t.tflags[s] &= ~TF_LOSS;
    if (t.sndUna[s] === t.sndMax[s]) {
      t.rackAt[s] = Infinity;
      t.lostBytes[s] = 0;
      t.sackedBytes[s] = 0;
      return;
    }
    this.detectLoss(s);
    if (t.lostBytes[s] > 0 && (t.tflags[s] & (TF_RECOVERY | TF_LOSS)) === 0) c.cc.enterRecovery(s);
    if ((t.tflags[s] & TF_RECOVERY) !== 0) {
      const delivered = ((t.sndUna[s] - priorUna) >>> 0) + c.cc.sacked(s) - priorSacked;
      this.prr(s, delivered > 0 ? delivered : 0);
    }
  }

  /** The reordering timer fired (RFC 8985 6.3). */
  onReorderTimeout(s: number): void {
    const c = this.core;
    const t = c.t;
    t.rackAt[s] = Infinity;
    if (t.sndUna[s] === t.sndMax[s]) return;
    c.stats.rackReorderTimeouts++;
    this.detectLoss(s);
    if (t.lostBytes[s] === 0) return;
    if ((t.tflags[s] & (TF_RECOVERY | TF_LOSS)) === 0) c.cc.enterRecovery(s);
    if ((t.tflags[s] & TF_RECOVERY) !== 0) this.prr(s, 0);
    c.out.output(s);
    c.out.rearmRtoFromHead(s);
  }

  /** Recovery starts: PRR state (RFC 6937 "on entering recovery"). */
  initPrr(s: number): void {
    const t = this.core.t;
    t.prrDelivered[s] = 0;
    t.prrOut[s] = 0;
    t.recoverFs[s] = (t.sndMax[s] - t.sndUna[s]) >>> 0;
  }

  /**
   * RFC 6937 on every ACK during recovery: send in proportion to what was
   * delivered while the pipe is above ssthresh, then slow-start back up to
   * it (the slow-start reduction bound, as Linux); cwnd = pipe + sndcnt.
   */
  prr(s: number, delivered: number): void {
    const c = this.core;
    const t = c.t;
    const smss = c.smss(s);
    t.prrDelivered[s] += delivered;
    const pipe = c.cc.pipe(s);
    const ssthresh = t.ssthresh[s];
    let sndcnt: number;
    if (pipe > ssthresh) {
      const fs = t.recoverFs[s] > 0 ? t.recoverFs[s] : 1;
      sndcnt = Math.ceil((t.prrDelivered[s] * ssthresh) / fs) - t.prrOut[s];
    } else {
      let limit = t.prrDelivered[s] - t.prrOut[s];
      if (delivered > limit) limit = delivered;
      limit += smss;
      sndcnt = ssthresh - pipe < limit ? ssthresh - pipe : limit;
    }
    if (sndcnt < 0) sndcnt = 0;
    // Linux: the first retransmission of an episode goes out whatever the count.
    if (t.prrOut[s] === 0 && sndcnt < smss) sndcnt = smss;
    t.cwnd[s] = pipe + sndcnt;
  }

  /** RTO (RFC 8985 "RTO recovery"): everything not SACKed is lost; after repeated timeouts SACKs are distrusted. */
  onTimeout(s: number, renege: boolean): void {
    const t = this.core.t;
    if (t.buf[s] < 0) return;
    let st = t.sndUna[s];
    let lost = 0;
    if (renege) t.sackedBytes[s] = 0;
    for (let i = 0; i < t.rkCount[s]; i++) {
      const p = this.pos(s, i);
      if (renege) t.rkFlags[p] &= ~RK_SACKED;
      if ((t.rkFlags[p] & RK_SACKED) === 0) {
        t.rkFlags[p] |= RK_LOST;
        lost += (t.rkEnd[p] - st) >>> 0;
      }
      st = t.rkEnd[p];
    }
    t.lostBytes[s] = lost;
    t.rackAt[s] = Infinity;
  }

  /** Send time of the oldest outstanding segment (for the RTO), or -1. */
  headTime(s: number): number {
    const t = this.core.t;
    if (t.buf[s] < 0 || t.rkCount[s] === 0) return -1;
    return t.rkTime[this.pos(s, 0)];
  }

  /**
   * Retransmit segments marked lost, oldest first, while the congestion
   * window has room (RFC 8985 with RFC 6675's pipe; Linux
   * tcp_xmit_retransmit_queue).
   */
  retransmitLost(s: number): void {
    const c = this.core;
    const t = c.t;
    if (t.buf[s] < 0) return;
    const smss = c.smss(s);
    const dataEnd = (t.sndUna[s] + t.sndLen[s]) | 0;
    for (let i = 0; i < t.rkCount[s] && t.lostBytes[s] > 0; i++) {
      const p = this.pos(s, i);
      if ((t.rkFlags[p] & RK_LOST) === 0) continue;
      const st = this.start(s, i);
      const end = t.rkEnd[p];
      let len = ((seqLt(end, dataEnd) ? end : dataEnd) - st) | 0;
      if (len < 0) len = 0;
      const fin = seqGt(end, dataEnd) && (t.tflags[s] & TF_FIN_QUEUED) !== 0 && len <= smss;
      if (len > smss) len = smss;
      if (len === 0 && !fin) continue;
      if (c.cc.pipe(s) + (len > 0 ? len : 1) > t.cwnd[s]) return;
      const before = t.rkCount[s];
      c.out.transmit(s, st, len, TH_ACK | (fin ? TH_FIN : 0));
      // Not sent (no route) or the record could not be split: stop, the RTO will cover it.
      if ((t.rkFlags[p] & RK_LOST) !== 0 && t.rkCount[s] === before) return;
    }
  }
}
