/**
 * When to acknowledge, as Linux decides it: quick-ACK and ping-pong
 * (interactive) mode of the delayed ACK (tcp_event_data_recv,
 * tcp_in_quickack_mode, tcp_event_data_sent), the ACK owed when the reader
 * drains a small segment (tcp_cleanup_rbuf), and the limit on ACKs for
 * invalid segments (tcp_oow_rate_limited) with the challenge and
 * out-of-window ACKs it limits (RFC 5961). Functions of a connection index;
 * nothing here allocates.
 */
import type { TcpCore } from './core.js';
import { TH_FIN, TH_SYN } from '../../wire/tcp.js';
import type { Segment } from './segment.js';
import { TF_ACKNOW, TF_ACK_PUSHED, TF_ACK_PUSHED2, TF_PINGPONG } from './tcb.js';

/** Most quick ACKs in a run (Linux TCP_MAX_QUICKACKS). */
const MAX_QUICKACKS = 16;
/** At most one ACK per this many ms for invalid segments of a connection (Linux tcp_invalid_ratelimit). */
export const OOW_ACK_INTERVAL_MS = 500;

/**
 * Bookkeeping for `len` bytes of in-order data arriving on `s`: the first
 * data of a connection, and data after a silence longer than the RTO, start
 * a run of quick ACKs (the sender may be in slow start, waiting on each ACK:
 * Linux tcp_incr_quickack, half the receive window in segments, 2 to 16).
 * A small segment marks the pending ACK as "pushed" (see {@link readAckDue}).
 * Returns whether this segment is to be acknowledged without delay: quick
 * ACKs left and not in ping-pong mode, where ACKs ride on the replies.
 */
export function quickAck(c: TcpCore, s: number, len: number): boolean {
  const t = c.t;
  const now = c.ctx.now;
  const smss = c.smss(s);
  if (now - t.dataRcvTime[s] > t.rto[s]) {
    const mss = smss > 0 ? smss : 536;
    let q = Math.floor((t.rcvCap[s] - t.rcvLen[s]) / (2 * mss));
    if (q < 2) q = 2;
    if (q > MAX_QUICKACKS) q = MAX_QUICKACKS;
    if (q > t.ackQuick[s]) t.ackQuick[s] = q;
  }
  t.dataRcvTime[s] = now;
  if (len < smss) {
    if ((t.tflags[s] & TF_ACK_PUSHED) !== 0) t.tflags[s] |= TF_ACK_PUSHED2;
    t.tflags[s] |= TF_ACK_PUSHED;
  }
  return t.ackQuick[s] > 0 && (t.tflags[s] & TF_PINGPONG) === 0;
}

/**
 * With a delayed ACK pending, after the reader took data: is the ACK due
 * now? As Linux's tcp_cleanup_rbuf: when more than one segment's worth is
 * unacknowledged, or when the read emptied the buffer of a small segment
 * and the connection is not interactive (an interactive one acknowledges
 * with its reply; two small segments in a row are acknowledged either way).
 */
export function readAckDue(c: TcpCore, s: number, mss: number): boolean {
  const t = c.t;
  const f = t.tflags[s];
  if (((t.rcvNxt[s] - t.lastAckSent[s]) | 0) > mss) return true;
  const pushed = (f & TF_ACK_PUSHED2) !== 0 || ((f & TF_ACK_PUSHED) !== 0 && (f & TF_PINGPONG) === 0);
  return t.rcvLen[s] === 0 && pushed;
}

/**
 * True (and counted in `ackRateLimited`) when `s` already answered an
 * invalid segment less than {@link OOW_ACK_INTERVAL_MS} ago; otherwise the
 * caller may answer, and the time is noted.
 */
export function oowRateLimited(c: TcpCore, s: number): boolean {
  const t = c.t;
  const now = c.ctx.now;
  const since = now - t.oowAckTime[s];
  if (since >= 0 && since < OOW_ACK_INTERVAL_MS) {
    c.stats.ackRateLimited++;
    return true;
  }
  t.oowAckTime[s] = now;
  return false;
}

function ackNow(c: TcpCore, s: number): void {
  c.t.tflags[s] |= TF_ACKNOW;
  c.out.output(s);
}

/**
 * RFC 5961 challenge ACK, limited per connection like the ACKs of
 * {@link oowAck} (Linux tcp_send_challenge_ack; Linux's host-wide limit,
 * tcp_challenge_ack_limit, is off by default since 6.0 and not applied).
 */
export function challengeAck(c: TcpCore, s: number): void {
  if (oowRateLimited(c, s)) return;
  c.stats.challengeAcks++;
  c.out.sendAck(s);
}

/**
 * The ACK owed to an unacceptable segment (PAWS, outside the window, ACK of
 * unsent data). A segment without data (or a SYN) gets it at most once per
 * 500 ms (OOW_ACK_INTERVAL_MS in acks.ts), so that two ends disagreeing on sequence or
 * timestamps cannot ping-pong ACKs at line rate, and a blind flood draws
 * few replies (Linux tcp_oow_rate_limited). Data segments are answered
 * every time: they are not part of an ACK loop, and their sender needs to
 * know where the receiver is.
 */
export function oowAck(c: TcpCore, g: Segment, s: number): void {
  const f = g.flags;
  if ((g.len === 0 && (f & TH_FIN) === 0) || (f & TH_SYN) !== 0) {
    if (oowRateLimited(c, s)) return;
  }
  ackNow(c, s);
}
