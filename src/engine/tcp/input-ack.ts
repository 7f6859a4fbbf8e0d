/**
 * ACK processing of an acceptable segment in a synchronized state (RFC 9293
 * 3.10.7.4, fifth step): ACK validation (RFC 5961 5.2), SACK and RACK
 * (RFC 2018, RFC 8985), new data acknowledged, duplicate ACKs, the send
 * window update, and the state changes that wait for our FIN's ACK.
 */
import { TH_FIN, seqGt, seqLe, seqLt } from '../../wire/tcp.js';
import type { TcpCore } from './core.js';
import type { Segment } from './segment.js';
import {
  CLOSING, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, TF_FIN_ACKED, TF_FIN_SENT, TF_ORPHAN, TF_RECOVERY, TF_RTT_TIMING, TF_SACK,
  TF_TS, TF_WANT_WRITE, setState,
} from './tcb.js';
import { challengeAck, oowAck } from './acks.js';
import { enterTimeWait } from './input-data.js';

/** ACK processing for synchronized states. Returns false when the segment is finished with. */
export function processAck(c: TcpCore, g: Segment, s: number): boolean {
  const t = c.t;
  const ack = g.ack;
  const una = t.sndUna[s];
  // RFC 5961 5.2: ACKs for data never sent, or far below sndUna, are answered and dropped.
  if (seqGt(ack, t.sndMax[s])) {
    c.stats.outOfWindow++;
    oowAck(c, g, s);
    return false;
  }
  if (seqLt(ack, (una - t.maxSndWnd[s]) | 0)) {
    challengeAck(c, s);
    return false;
  }
  const sack = (t.tflags[s] & TF_SACK) !== 0;
  const priorSacked = sack ? c.cc.sacked(s) : 0;
  const sackNews = (t.tflags[s] & TF_SACK) !== 0 && g.opts.sackCount > 0
    && c.cc.updateScoreboard(s, g.opts, seqGt(ack, una) ? ack : una);
  // RACK (RFC 8985): what this ACK delivered, before sndUna moves.
  if (sack) c.rack.onAck(s, ack, g.opts);
  const scaledWin = g.win * (1 << t.sndWscale[s]);
  if (seqGt(ack, una)) {
    newAck(c, g, s, ack);
  } else if (ack === una && t.sndMax[s] !== una
    && (sackNews || (g.len === 0 && (g.flags & TH_FIN) === 0 && scaledWin === t.sndWnd[s]))) {
    // With SACK, an ACK bringing new SACK information is a duplicate even when it
    // carries data or moves the window (RFC 6675 section 2): a receiver that read
    // meanwhile advertises a wider window on the very ACK that reports the loss.
    c.cc.onDupAck(s);
  }
  // Losses, recovery and the PRR window (rack.ts); output() then resends what is lost.
  if (sack && t.sndMax[s] !== una) c.rack.afterAck(s, una, priorSacked);
  // Window update (RFC 9293 3.10.7.4): from the newest segment only.
  if (seqLt(t.sndWl1[s], g.seq) || (t.sndWl1[s] === g.seq && seqLe(t.sndWl2[s], ack))) {
    const opened = scaledWin > t.sndWnd[s];
    t.sndWnd[s] = scaledWin;
    t.sndWl1[s] = g.seq;
    t.sndWl2[s] = ack;
    if (scaledWin > t.maxSndWnd[s]) t.maxSndWnd[s] = scaledWin;
    if (opened && scaledWin > 0) t.persistAt[s] = Infinity;
  }
  // State changes that wait for our FIN to be acknowledged (apart: see TcpInput.segmentInput).
  if ((t.tflags[s] & TF_FIN_ACKED) !== 0) return finAcked(c, s);
  return true;
}

/** Our FIN is acknowledged: FIN_WAIT_1, CLOSING and LAST_ACK move on. Returns false when the connection ended. */
function finAcked(c: TcpCore, s: number): boolean {
  const t = c.t;
  const st = t.state[s];
  if (st === FIN_WAIT_1) {
    setState(t, s, FIN_WAIT_2);
    if ((t.tflags[s] & TF_ORPHAN) !== 0) {
      t.stateAt[s] = c.ctx.now + c.cfg.tcpFinTimeoutMs;
      c.arm(t.stateAt[s]);
    }
  } else if (st === CLOSING) {
    enterTimeWait(c, s, false);
  } else if (st === LAST_ACK) {
    c.finish(s, 0);
    return false;
  }
  return true;
}

/** RTT: the echoed timestamp, or the timed segment (Karn's rule is applied at retransmission). */
function ackRtt(c: TcpCore, g: Segment, s: number, ack: number): void {
  const t = c.t;
  if ((t.tflags[s] & TF_TS) !== 0 && g.opts.hasTimestamp && g.opts.tsEcr !== 0) {
    c.rttSample(s, (c.tsNow(s) - g.opts.tsEcr) | 0);
  } else if ((t.tflags[s] & TF_RTT_TIMING) !== 0 && seqGt(ack, t.rttSeq[s])) {
    t.tflags[s] &= ~TF_RTT_TIMING;
    c.rttSample(s, c.ctx.now - t.rttStart[s]);
  }
}

function newAck(c: TcpCore, g: Segment, s: number, ack: number): void {
  const t = c.t;
  const una = t.sndUna[s];
  const acked = (ack - una) >>> 0;
  ackRtt(c, g, s, ack);
  const data = acked < t.sndLen[s] ? acked : t.sndLen[s];
  if (acked > t.sndLen[s] && (t.tflags[s] & TF_FIN_SENT) !== 0) t.tflags[s] |= TF_FIN_ACKED;
  if (data > 0 && t.buf[s] >= 0) {
    t.snd.consume(s, data);
    if (t.sndLen[s] === 0) c.idleBuffers(s);
  }
  t.sndUna[s] = ack;
  if (seqLt(t.sndNxt[s], ack)) t.sndNxt[s] = ack;
  t.backoff[s] = 0;
  t.firstRtxTime[s] = 0;
  if ((t.tflags[s] & TF_RECOVERY) !== 0) c.cc.onRecoveryAck(s, acked);
  else c.cc.onNewAck(s, acked);
  c.cc.trimScoreboard(s);
  if (t.sndMax[s] === ack) t.rtoAt[s] = t.ptoAt[s] = Infinity;
  else c.out.armRto(s);
  if ((t.tflags[s] & TF_WANT_WRITE) !== 0 && c.sendSpace(s) > 0) {
    t.tflags[s] &= ~TF_WANT_WRITE;
    c.writable(s);
  }
}
