/**
 * Payload and FIN of an acceptable segment, after ACK processing (RFC 9293
 * 3.10.7.4, seventh and eighth steps): in-order data into the receive ring,
 * out-of-order data into its place with its range in the assembler (SACK,
 * RFC 2018; D-SACK, RFC 2883), when to acknowledge, and the FIN's state
 * changes, TIME_WAIT included.
 */
import { TH_FIN, seqLt } from '../../wire/tcp.js';
import { Errno } from '../errno.js';
import type { TcpCore } from './core.js';
import type { Segment } from './segment.js';
import {
  CLOSE_WAIT, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT, TF_ACKNOW, TF_ACK_HELD, TF_ACK_SOON, TF_DELACK,
  TF_FIN_ACKED, TF_FIN_RCVD, TF_ORPHAN, TF_PINGPONG, TF_SACK, canReceive, setState,
} from './tcb.js';
import { quickAck } from './acks.js';

/** Segments in order after which an ACK goes out at once, not at the end of the receive batch. */
const ACK_STRETCH = 16;

/**
 * Payload and FIN of an acceptable segment (after ACK processing). The rare
 * cases are separate functions, so that V8 optimizes this one early (see
 * TcpInput.segmentInput).
 */
export function processData(c: TcpCore, g: Segment, s: number): void {
  const t = c.t;
  const f = g.flags;
  const state = t.state[s];
  let finOk = (f & TH_FIN) !== 0;
  if (g.len > 0) {
    if (!canReceive(state) || (t.tflags[s] & TF_ORPHAN) !== 0 || t.buf[s] < 0) {
      if (payloadRefused(c, s, state)) return;
    }
    const rn = t.rcvNxt[s];
    let seq = g.seq;
    let off = g.dataOff;
    let len = g.len;
    if (seqLt(seq, rn)) {
      // Partly old: report the duplicate part with D-SACK (RFC 2883), keep the rest.
      const skip = (rn - seq) >>> 0;
      if ((t.tflags[s] & TF_SACK) !== 0) {
        t.dsackLeft[s] = seq;
        t.dsackRight[s] = rn;
      }
      seq = rn;
      off += skip;
      len -= skip;
    }
    const room = t.rcv.space(s) - ((seq - rn) >>> 0);
    if (len > room) {
      len = room > 0 ? room : 0;
      finOk = false;
    }
    if (len <= 0) {
      t.tflags[s] |= TF_ACKNOW; // window full: say where we are
      return;
    }
    t.rcv.writeAt(s, (seq - rn) >>> 0, g.b, off, len);
    if (seq === rn) {
      const hadHoles = t.oooCount[s] > 0;
      let next = (rn + len) | 0;
      if (hadHoles) next = t.ooo.absorb(s, next);
      const added = (next - rn) >>> 0;
      t.rcvNxt[s] = next;
      t.rcv.commit(s, added);
      t.bytesReceived[s] += added;
      c.readable(s);
      // A coalesced segment (offload) counts as the several it stands for:
      // more than one full segment is acknowledged without delay (RFC 5681 4.2,
      // Linux __tcp_ack_snd_check), or a 64 KiB window would wait for the delayed ACK.
      t.unackedSegs[s] += len > c.smss(s) ? 2 : 1;
      const quick = quickAck(c, s, len);
      // ACK at once when a hole was filled (RFC 5681 4.2). Every second segment
      // is acknowledged too, but at the end of this poll's batch of frames
      // (the timer is due now and runs after the links are drained): one ACK
      // covers the batch, as Linux's GRO does, and each ACK sent over a TAP
      // device costs a system call and the peer's ACK processing. A long
      // batch still gets an ACK every ACK_STRETCH segments. In quick-ACK
      // mode a single segment is acknowledged at the end of the batch too.
      if (hadHoles || t.unackedSegs[s] >= ACK_STRETCH) {
        t.tflags[s] |= TF_ACKNOW;
      } else if (t.unackedSegs[s] >= 2 || quick) {
        if (quick && (t.tflags[s] & TF_ACK_SOON) === 0) {
          c.stats.quickAcks++;
          // A lone segment's quick ACK waits for the next poll (in real time the same turn of
          // the event loop, after the application's callbacks): a reply written meanwhile carries
          // it, as a request's response does (one frame instead of two), and it is still sent
          // within the wake-up otherwise (RFC 1122 4.2.3.2 allows far more delay).
          if (t.unackedSegs[s] < 2) t.tflags[s] |= TF_ACK_HELD;
        }
        if (t.unackedSegs[s] >= 2) t.tflags[s] &= ~TF_ACK_HELD;
        t.tflags[s] |= TF_DELACK | TF_ACK_SOON;
        if (t.delackAt[s] > c.ctx.now) {
          t.delackAt[s] = c.ctx.now;
          c.arm(c.ctx.now);
        }
      } else if ((t.tflags[s] & TF_DELACK) === 0) {
        t.tflags[s] |= TF_DELACK;
        t.delackAt[s] = c.ctx.now + c.cfg.tcpDelayedAckMs;
        c.arm(t.delackAt[s]);
      }
    } else {
      outOfOrder(c, s, seq, len);
      return;
    }
  }
  if (!finOk || t.rcvNxt[s] !== ((g.seq + g.len) | 0)) return;
  finArrived(c, s, state);
}

/**
 * Payload that cannot be taken as it stands: after the peer's FIN, for an
 * orphan, or while no buffer pair is free. Returns true when the segment is
 * finished with (false: a buffer pair was just taken, go on).
 */
function payloadRefused(c: TcpCore, s: number, state: number): boolean {
  const t = c.t;
  if (!canReceive(state)) {
    t.tflags[s] |= TF_ACKNOW; // data after the peer's FIN
    return true;
  }
  if ((t.tflags[s] & TF_ORPHAN) !== 0) {
    // Nobody will ever read this: tell the peer (RFC 9293 3.10.7.4, as Linux does).
    c.out.sendRstFor(s);
    c.finish(s, Errno.ECONNRESET);
    return true;
  }
  if (t.buf[s] < 0 && !t.takeBuffers(s)) {
    // No buffer pair free: drop as if lost; the peer retransmits into the window we promised.
    c.stats.bufferDrops++;
    return true;
  }
  return false;
}

/** Data beyond rcvNxt, already in its place in the ring: its range goes to the assembler (SACK). */
function outOfOrder(c: TcpCore, s: number, seq: number, len: number): void {
  const t = c.t;
  c.stats.outOfOrder++;
  const end = (seq + len) | 0;
  if (t.ooo.covers(s, seq, end)) {
    // Out-of-order data we already hold: report it with D-SACK (RFC 2883 4.1.2, Linux
    // tcp_data_queue_ofo), so a sender that retransmitted too early can undo and widen its
    // reordering window (RFC 8985 6.2). Without it only duplicates below rcvNxt were reported.
    c.stats.duplicateSegments++;
    if ((t.tflags[s] & TF_SACK) !== 0) {
      t.dsackLeft[s] = seq;
      t.dsackRight[s] = end;
    }
  }
  if (t.ooo.add(s, seq, end) < 0) c.stats.reassemblyDropped++;
  t.tflags[s] |= TF_ACKNOW; // a duplicate ACK (with SACK blocks) tells the sender at once
}

/** The peer's FIN, in sequence: the state changes of RFC 9293 3.10.7.4, eighth step. */
function finArrived(c: TcpCore, s: number, state: number): void {
  const t = c.t;
  if ((t.tflags[s] & TF_FIN_RCVD) !== 0) {
    t.tflags[s] |= TF_ACKNOW;
    return;
  }
  t.rcvNxt[s] = (t.rcvNxt[s] + 1) | 0;
  if (state === ESTABLISHED) {
    // The peer closed first: its FIN's ACK is delayed, as Linux's tcp_fin does (ping-pong
    // mode, then tcp_send_delayed_ack), so that it rides on our own FIN when the application
    // closes in time (a request/response server closing after the client's FIN sends one
    // segment instead of two); otherwise the delayed-ACK timer sends it (RFC 1122 4.2.3.2).
    // Data in the same segment may already have asked for an ACK soon: that one stays.
    t.tflags[s] |= TF_FIN_RCVD | TF_PINGPONG;
    delayAck(c, s);
    c.readable(s);
    setState(t, s, CLOSE_WAIT);
    return;
  }
  t.tflags[s] |= TF_FIN_RCVD | TF_ACKNOW;
  c.readable(s);
  if (state === FIN_WAIT_1) {
    if ((t.tflags[s] & TF_FIN_ACKED) !== 0) enterTimeWait(c, s);
    else setState(t, s, CLOSING);
  } else if (state === FIN_WAIT_2) enterTimeWait(c, s);
}

/** Arm the delayed ACK of `s` unless an ACK is already pending (delayed or soon). */
function delayAck(c: TcpCore, s: number): void {
  const t = c.t;
  if ((t.tflags[s] & (TF_DELACK | TF_ACKNOW)) !== 0) return;
  t.tflags[s] |= TF_DELACK;
  t.delackAt[s] = c.ctx.now + c.cfg.tcpDelayedAckMs;
  c.arm(t.delackAt[s]);
}

/**
 * Enter TIME_WAIT. `ack`: the peer's FIN has just arrived and wants its
 * ACK; not when our FIN's ACK moved CLOSING on (the peer's FIN was
 * acknowledged on arrival: a second ACK is a duplicate, RFC 9293 3.10.7.4).
 */
export function enterTimeWait(c: TcpCore, s: number, ack = true): void {
  const t = c.t;
  setState(t, s, TIME_WAIT);
  c.timeWaitEntered(s);
  t.rtoAt[s] = t.persistAt[s] = Infinity;
  t.stateAt[s] = c.ctx.now + c.cfg.tcpTimeWaitMs;
  c.arm(t.stateAt[s]);
  if (ack) {
    t.tflags[s] |= TF_ACKNOW;
    c.out.output(s);
  }
  if ((t.tflags[s] & TF_ORPHAN) !== 0 || t.rcvLen[s] === 0) c.releaseBuffers(s);
  c.readable(s);
}
