/**
 * Transmission control blocks in parallel typed arrays, one entry per socket
 * slot, plus the pool of send/receive buffers that connections borrow. No
 * per-connection objects exist: a connection is an index.
 */
import type { Carver } from '../../storage/arena.js';
import { SendRing } from '../../storage/send-ring.js';
import { RecvRing } from '../../storage/recv-ring.js';
import { Assembler } from '../../storage/assembler.js';

/** RFC 9293 states. */
export const CLOSED = 0;
export const LISTEN = 1;
export const SYN_SENT = 2;
export const SYN_RECEIVED = 3;
export const ESTABLISHED = 4;
export const FIN_WAIT_1 = 5;
export const FIN_WAIT_2 = 6;
export const CLOSE_WAIT = 7;
export const CLOSING = 8;
export const LAST_ACK = 9;
export const TIME_WAIT = 10;

export const STATE_NAMES = [
  'CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT',
  'CLOSING', 'LAST_ACK', 'TIME_WAIT',
] as const;
/** Number of states (the transition counters are STATE_COUNT x STATE_COUNT). */
export const STATE_COUNT = 11;

// Named predicates over the states, so that no code depends on their order.

// State sets as bit masks (bit = state number), one test: in a chain of comparisons the later ones get no type
// feedback until a connection first closes, and V8 then discards and recompiles every hot function inlining it.
const HANDSHAKING = (1 << SYN_SENT) | (1 << SYN_RECEIVED);
const CAN_SEND = (1 << ESTABLISHED) | (1 << CLOSE_WAIT);
const SENDING = (1 << ESTABLISHED) | (1 << CLOSE_WAIT) | (1 << FIN_WAIT_1) | (1 << CLOSING) | (1 << LAST_ACK);
const CAN_RECEIVE = (1 << ESTABLISHED) | (1 << FIN_WAIT_1) | (1 << FIN_WAIT_2);

/**
 * ESTABLISHED and every state after it: the handshake completed, both
 * sequence spaces are synchronized (RFC 9293 3.5, 3.10.7.4).
 */
export function isSynchronized(state: number): boolean {
  // The numbering follows RFC 9293's order: ESTABLISHED..TIME_WAIT are the last ones.
  return state >= ESTABLISHED;
}

/** SYN_SENT or SYN_RECEIVED: a handshake in progress. */
export function isHandshaking(state: number): boolean {
  return ((HANDSHAKING >>> state) & 1) !== 0;
}

/** No connection (never opened, or over). */
export function isClosed(state: number): boolean {
  return state === CLOSED;
}

/** The user may still send: our side is open (ESTABLISHED, CLOSE_WAIT; RFC 9293 3.10.2). */
export function canSend(state: number): boolean {
  return ((CAN_SEND >>> state) & 1) !== 0;
}

/**
 * Our send sequence space is live (data or FIN may be sent or resent):
 * synchronized, and our FIN not known to be acknowledged (FIN_WAIT_2 and
 * TIME_WAIT have nothing left to send).
 */
export function isSending(state: number): boolean {
  return ((SENDING >>> state) & 1) !== 0;
}

/** The peer has not closed its side: its data is still accepted (RFC 9293 3.10.7.4, seventh step). */
export function canReceive(state: number): boolean {
  return ((CAN_RECEIVE >>> state) & 1) !== 0;
}

/**
 * Change the state of connection `s`. Every state change goes through here:
 * one place to trace, and `transitions` counts each (from, to) pair.
 */
export function setState(t: TcbTable, s: number, state: number): void {
  const from = t.state[s];
  if (from !== state) t.transitions[from * STATE_COUNT + state]++;
  t.state[s] = state;
}

/** Per-connection flag bits (`tflags`). */
export const TF_TS = 1 << 0;           // timestamps negotiated
export const TF_WS = 1 << 1;           // window scaling negotiated
export const TF_SACK = 1 << 2;         // SACK permitted by both
export const TF_NODELAY = 1 << 3;      // Nagle off
export const TF_KEEPALIVE = 1 << 4;
export const TF_ACKNOW = 1 << 5;       // send an ACK at the next output
export const TF_DELACK = 1 << 6;       // an ACK is being delayed
export const TF_FIN_QUEUED = 1 << 7;   // user closed the send side: FIN after the data
export const TF_FIN_SENT = 1 << 8;
export const TF_FIN_RCVD = 1 << 9;     // peer's FIN received (EOF after the buffered data)
export const TF_ORPHAN = 1 << 10;      // user closed the descriptor; free when CLOSED
export const TF_RECOVERY = 1 << 11;    // in fast recovery
export const TF_RTT_TIMING = 1 << 12;  // a segment is being timed (no timestamps)
export const TF_ACCEPTED = 1 << 13;    // returned by accept() (or an active open)
export const TF_SHUT_RD = 1 << 14;
export const TF_CONNECTING = 1 << 15;  // active open in progress: report completion
export const TF_RST_ON_CLOSE = 1 << 17; // abortive close (SO_LINGER 0)
export const TF_WINDOW_UPDATE = 1 << 18;
export const TF_FIN_ACKED = 1 << 19;
/** The writer was refused space: report EV_WRITABLE when acknowledgements free some. */
export const TF_WANT_WRITE = 1 << 20;
/** A tail loss probe is outstanding: SACK of it means the segments before it were lost. */
export const TF_TLP = 1 << 21;
/** send() found the buffer pool empty: report EV_WRITABLE when a pair is given back. */
export const TF_WANT_BUF = 1 << 16;

/** `origin` of a slot that is no connection (yet). */
export const ORIGIN_NONE = -1;
/** `origin` of an active open. */
export const ORIGIN_ACTIVE = -2;
/** `origin` of a passive open whose listener has been closed (or that the user closed). */
export const ORIGIN_GONE = -3;
/** `origin` of a connection in TIME_WAIT: it counts only as a connection, and is recycled first. */
export const ORIGIN_TIME_WAIT = -4;

/** Interactive (ping-pong) connection: we answered received data within the delayed-ACK time (Linux icsk_ack.pingpong). */
export const TF_PINGPONG = 1 << 24;
/** The writer has more to add at once (MSG_MORE): hold a partial last segment (Linux TCP_NAGLE_CORK for one call). */
export const TF_MORE = 1 << 25;
/** A small (pushed) segment arrived since our last ACK; twice: TF_ACK_PUSHED2 (Linux ICSK_ACK_PUSHED/PUSHED2). */
export const TF_ACK_PUSHED = 1 << 26;
export const TF_ACK_PUSHED2 = 1 << 27;
/** The pending ACK is due at the end of this poll (quick-ACK or ACK pacing), not a delayed one. */
export const TF_ACK_SOON = 1 << 28;
/**
 * The pending quick ACK (TF_ACK_SOON) of a single segment waits for the next poll: the application
 * gets its turn first, and a reply it writes at once carries the ACK (see processData).
 */
export const TF_ACK_HELD = 1 << 30;

/** RTO recovery (RFC 8985 "RTO recovery", Linux's CA_Loss): everything sent before the timeout is being resent. */
export const TF_LOSS = 1 << 22;
/** A recovery episode whose retransmissions may prove spurious (D-SACK undo, RFC 3708 / Linux undo_marker). */
export const TF_UNDO = 1 << 23;
/** The outstanding tail loss probe resent old data (so its ACK may reveal a repaired loss, RFC 8985 7.4). */
export const TF_TLP_RTX = 1 << 29;

/** RACK record flags (`rkFlags`). */
export const RK_SACKED = 1;
export const RK_LOST = 2;
export const RK_RETRANS = 4;
/** RACK connection flags (`rackFlags`). */
export const RACK_REORDER_SEEN = 1;
export const RACK_DSACK_ROUND = 2;

export interface TcbOptions {
  maxSockets: number;
  maxTcpSockets: number;
  tcpBufferPairs: number;
  tcpSendBufferBytes: number;
  tcpRecvBufferBytes: number;
  tcpReassemblyRanges: number;
  tcpSackRanges: number;
  tcpRackRecords: number;
}

export class TcbTable {
  readonly n: number;
  /** RFC 9293 state; written only by {@link setState}. */
  readonly state: Uint8Array;
  /** State changes so far, by `from * STATE_COUNT + to` (see {@link setState}). */
  readonly transitions: Float64Array;
  readonly tflags: Int32Array;
  /** Listener of a not-yet-accepted child, -1 otherwise. */
  readonly parent: Int16Array;
  /** Next child in the listener's accept queue (-1 ends it). */
  readonly acceptNext: Int16Array;
  readonly acceptHead: Int16Array;
  readonly acceptTail: Int16Array;
  readonly acceptCount: Uint16Array;
  readonly synCount: Uint16Array;
  readonly backlog: Uint16Array;
  /** Buffer pair index, -1 when none is held. */
  readonly buf: Int16Array;
  /**
   * What the slot counts as among TCP connections: ORIGIN_NONE, ORIGIN_ACTIVE,
   * ORIGIN_GONE, or the listener slot it was accepted from (passive open).
   */
  readonly origin: Int16Array;
  /** Of a listener: its live connections (queued + accepted), until each is destroyed. */
  readonly children: Uint16Array;
  /** 4-tuple hash chain. */
  readonly hashNext: Int16Array;
  readonly hashHead: Int16Array;
  readonly hashMask: number;

  // Send sequence space.
  readonly iss: Int32Array;
  readonly sndUna: Int32Array;
  readonly sndNxt: Int32Array;
  /** Highest sequence number sent + 1 (sndNxt can be pulled back by a retransmission timeout). */
  readonly sndMax: Int32Array;
  readonly sndWnd: Float64Array;
  readonly maxSndWnd: Float64Array;
  readonly sndWl1: Int32Array;
  readonly sndWl2: Int32Array;
  /** Bytes in the send buffer, starting at sndUna (not counting SYN/FIN). */
  readonly sndLen: Int32Array;
  /** Ring offset of the byte at sndUna. */
  readonly sndHead: Int32Array;
  readonly sndCap: Int32Array;
  /** SO_SNDBUF/SO_RCVBUF requests (0: the whole pool buffer), applied when buffers are taken. */
  readonly sndCapWant: Int32Array;
  readonly rcvCapWant: Int32Array;

  // Receive sequence space.
  readonly irs: Int32Array;
  readonly rcvNxt: Int32Array;
  /** Right edge of the window we advertised last (never shrunk, RFC 9293 3.8.6.2.2). */
  readonly rcvAdv: Int32Array;
  /** In-order bytes buffered for the user. */
  readonly rcvLen: Int32Array;
  readonly rcvHead: Int32Array;
  readonly rcvCap: Int32Array;
  /** Out-of-order ranges [left, right) in sequence space, `oooCount` of them. */
  readonly oooLeft: Int32Array;
  readonly oooRight: Int32Array;
  readonly oooCount: Uint8Array;
  /** Range last extended, reported first in SACK blocks (RFC 2018). */
  readonly oooLast: Int16Array;
  /** D-SACK block to report once (RFC 2883); right === left means none. */
  readonly dsackLeft: Int32Array;
  readonly dsackRight: Int32Array;
  readonly rcvWscale: Uint8Array;
  readonly sndWscale: Uint8Array;
  /** Full-sized segments received since the last ACK we sent. */
  readonly unackedSegs: Uint8Array;
  /** Quick ACKs left (Linux icsk_ack.quick): each in-order segment is acknowledged at once while > 0. */
  readonly ackQuick: Uint8Array;
  /** When in-order data last arrived (Linux icsk_ack.lrcvtime); -Infinity before any. */
  readonly dataRcvTime: Float64Array;
  /** When we last answered an unacceptable segment with an ACK (Linux last_oow_ack_time); -Infinity before any. */
  readonly oowAckTime: Float64Array;
  /** End of the last sub-MSS segment sent (Linux snd_sml), for Minshall's Nagle check. */
  readonly sndSml: Int32Array;

  // Options and timing.
  readonly mss: Uint16Array;          // our send MSS (payload per segment, before options)
  readonly peerMss: Uint16Array;
  readonly tsRecent: Int32Array;
  readonly tsOffset: Int32Array;
  readonly lastAckSent: Int32Array;
  readonly srtt: Float64Array;
  readonly rttvar: Float64Array;
  readonly rto: Float64Array;
  readonly rttSeq: Int32Array;
  readonly rttStart: Float64Array;
  readonly backoff: Uint8Array;

  // Congestion control.
  readonly cwnd: Float64Array;
  readonly ssthresh: Float64Array;
  readonly dupAcks: Uint16Array;
  readonly recover: Int32Array;
  /** Highest sequence retransmitted during this recovery (SACK hole walk). */
  readonly rtxHigh: Int32Array;
  readonly bytesAcked: Float64Array;
  /** CUBIC (RFC 9438) state: window before the last reduction, epoch start, K, and the Reno-friendly estimate. */
  readonly cubicWmax: Float64Array;
  readonly cubicEpoch: Float64Array;
  readonly cubicK: Float64Array;
  readonly cubicWest: Float64Array;
  readonly lastSendTime: Float64Array;
  /** Sender scoreboard: SACKed ranges above sndUna. */
  readonly sackLeft: Int32Array;
  readonly sackRight: Int32Array;
  readonly sackCount: Uint8Array;

  // RACK-TLP (RFC 8985). Sent segments in sequence order, a ring per buffer
  // pair (index buf[s] * rackRecords): right edge, last send time, RK_* flags.
  // A record starts where the previous one ends (the first at sndUna).
  readonly rackRecords: number;
  readonly rkEnd: Int32Array;
  readonly rkTime: Float64Array;
  readonly rkFlags: Uint8Array;
  /**
   * Transmission order of each record (a per-connection counter): decides
   * RACK_sent_after where send times tie, as they do within one millisecond.
   */
  readonly rkOrder: Float64Array;
  readonly txOrder: Float64Array;
  readonly rackOrder: Float64Array;
  readonly rkHead: Int32Array;
  readonly rkCount: Int32Array;
  /** RACK.xmit_ts / RACK.end_seq of the most recently sent segment delivered; xmit -1 when none yet. */
  readonly rackXmit: Float64Array;
  readonly rackEnd: Int32Array;
  readonly rackRtt: Float64Array;
  readonly rackMinRtt: Float64Array;
  readonly rackMinRttAt: Float64Array;
  /** RACK.fack: highest sequence delivered. */
  readonly rackFack: Int32Array;
  readonly reoWndMult: Uint8Array;
  readonly reoWndPersist: Uint8Array;
  readonly dsackRound: Int32Array;
  readonly rackFlags: Uint8Array;
  /** RACK reordering timer. */
  readonly rackAt: Float64Array;
  /** Bytes marked lost and not yet retransmitted. */
  readonly lostBytes: Float64Array;
  /** Bytes of the records marked SACKed (exact, unlike the bounded scoreboard). */
  readonly sackedBytes: Float64Array;
  /** PRR (RFC 6937). */
  readonly prrDelivered: Float64Array;
  readonly prrOut: Float64Array;
  readonly recoverFs: Float64Array;
  /** Undo of a recovery episode (RFC 3708 with D-SACK, as Linux's undo_marker/undo_retrans). */
  readonly undoMarker: Int32Array;
  readonly undoRetrans: Float64Array;
  readonly priorCwnd: Float64Array;
  readonly priorSsthresh: Float64Array;
  /** End of the outstanding tail loss probe (TLP.end_seq). */
  readonly tlpHigh: Int32Array;

  // Timers (ms; Infinity = off).
  readonly rtoAt: Float64Array;
  /** Tail loss probe (RFC 8985 7): one probe per flight before the RTO. */
  readonly ptoAt: Float64Array;
  readonly delackAt: Float64Array;
  readonly persistAt: Float64Array;
  /** TIME_WAIT expiry, FIN_WAIT_2 timeout, or SYN_RECEIVED give-up. */
  readonly stateAt: Float64Array;
  readonly lastRecvTime: Float64Array;
  readonly keepProbes: Uint8Array;
  /** When the oldest unacknowledged data was first sent (user timeout). */
  readonly userTimeout: Float64Array;
  readonly firstRtxTime: Float64Array;
  readonly keepIdle: Float64Array;
  readonly keepIntvl: Float64Array;
  readonly keepCnt: Uint8Array;

  // Statistics (TCP_INFO-like).
  readonly retransmits: Float64Array;
  readonly segsIn: Float64Array;
  readonly segsOut: Float64Array;
  readonly bytesReceived: Float64Array;
  readonly bytesSent: Float64Array;

  /** Send and receive buffers of the pool; `bufFree` stacks free pair indices. */
  readonly sndBufs: Uint8Array[] = [];
  readonly rcvBufs: Uint8Array[] = [];
  private readonly bufFree: Int16Array;
  private bufFreeTop = 0;
  /** The send buffers as rings over sndHead/sndLen/sndCap (storage/send-ring.ts). */
  readonly snd: SendRing;
  /** The receive buffers as rings over rcvHead/rcvLen/rcvCap (storage/recv-ring.ts). */
  readonly rcv: RecvRing;
  /** Out-of-order ranges over oooLeft/oooRight/oooCount/oooLast (storage/assembler.ts). */
  readonly ooo: Assembler;
  readonly rangesR: number;
  readonly rangesS: number;
  private readonly sndBytes: number;
  private readonly rcvBytes: number;

  constructor(m: Carver, o: TcbOptions) {
    const n = o.maxSockets;
    this.n = n;
    this.rangesR = o.tcpReassemblyRanges > 0 ? o.tcpReassemblyRanges : rangesFor(o.tcpRecvBufferBytes);
    this.rangesS = o.tcpSackRanges > 0 ? o.tcpSackRanges : rangesFor(o.tcpSendBufferBytes);
    const hb = hashBuckets(n);
    this.hashMask = hb - 1;
    const T = 'tcb';
    this.state = m.u8(T, n);
    this.transitions = m.f64(T, STATE_COUNT * STATE_COUNT);
    this.tflags = m.i32(T, n);
    this.parent = m.i16(T, n);
    this.acceptNext = m.i16(T, n);
    this.acceptHead = m.i16(T, n);
    this.acceptTail = m.i16(T, n);
    this.acceptCount = m.u16(T, n);
    this.synCount = m.u16(T, n);
    this.backlog = m.u16(T, n);
    this.buf = m.i16(T, n);
    this.origin = m.i16(T, n);
    this.children = m.u16(T, n);
    this.hashNext = m.i16(T, n);
    this.hashHead = m.i16(T, hb);
    this.iss = m.i32(T, n);
    this.sndUna = m.i32(T, n);
    this.sndNxt = m.i32(T, n);
    this.sndMax = m.i32(T, n);
    this.sndWnd = m.f64(T, n);
    this.maxSndWnd = m.f64(T, n);
    this.sndWl1 = m.i32(T, n);
    this.sndWl2 = m.i32(T, n);
    this.sndLen = m.i32(T, n);
    this.sndHead = m.i32(T, n);
    this.sndCap = m.i32(T, n);
    this.sndCapWant = m.i32(T, n);
    this.rcvCapWant = m.i32(T, n);
    this.irs = m.i32(T, n);
    this.rcvNxt = m.i32(T, n);
    this.rcvAdv = m.i32(T, n);
    this.rcvLen = m.i32(T, n);
    this.rcvHead = m.i32(T, n);
    this.rcvCap = m.i32(T, n);
    this.oooLeft = m.i32('tcbRanges', n * this.rangesR);
    this.oooRight = m.i32('tcbRanges', n * this.rangesR);
    this.oooCount = m.u8(T, n);
    this.oooLast = m.i16(T, n);
    this.dsackLeft = m.i32(T, n);
    this.dsackRight = m.i32(T, n);
    this.rcvWscale = m.u8(T, n);
    this.sndWscale = m.u8(T, n);
    this.unackedSegs = m.u8(T, n);
    this.ackQuick = m.u8(T, n);
    this.dataRcvTime = m.f64(T, n);
    this.oowAckTime = m.f64(T, n);
    this.sndSml = m.i32(T, n);
    this.mss = m.u16(T, n);
    this.peerMss = m.u16(T, n);
    this.tsRecent = m.i32(T, n);
    this.tsOffset = m.i32(T, n);
    this.lastAckSent = m.i32(T, n);
    this.srtt = m.f64(T, n);
    this.rttvar = m.f64(T, n);
    this.rto = m.f64(T, n);
    this.rttSeq = m.i32(T, n);
    this.rttStart = m.f64(T, n);
    this.backoff = m.u8(T, n);
    this.cwnd = m.f64(T, n);
    this.ssthresh = m.f64(T, n);
    this.dupAcks = m.u16(T, n);
    this.recover = m.i32(T, n);
    this.rtxHigh = m.i32(T, n);
    this.bytesAcked = m.f64(T, n);
    this.cubicWmax = m.f64(T, n);
    this.cubicEpoch = m.f64(T, n);
    this.cubicK = m.f64(T, n);
    this.cubicWest = m.f64(T, n);
    this.lastSendTime = m.f64(T, n);
    this.sackLeft = m.i32('tcbRanges', n * this.rangesS);
    this.sackRight = m.i32('tcbRanges', n * this.rangesS);
    this.sackCount = m.u8(T, n);
    const R = o.tcpRackRecords > 0 ? o.tcpRackRecords
      : Math.min(4096, Math.max(64, Math.ceil(o.tcpSendBufferBytes / 1024)));
    this.rackRecords = R;
    this.rkEnd = m.i32('tcpRack', o.tcpBufferPairs * R);
    this.rkTime = m.f64('tcpRack', o.tcpBufferPairs * R);
    this.rkFlags = m.u8('tcpRack', o.tcpBufferPairs * R);
    this.rkOrder = m.f64('tcpRack', o.tcpBufferPairs * R);
    this.txOrder = m.f64(T, n);
    this.rackOrder = m.f64(T, n);
    this.rkHead = m.i32(T, n);
    this.rkCount = m.i32(T, n);
    this.rackXmit = m.f64(T, n);
    this.rackEnd = m.i32(T, n);
    this.rackRtt = m.f64(T, n);
    this.rackMinRtt = m.f64(T, n);
    this.rackMinRttAt = m.f64(T, n);
    this.rackFack = m.i32(T, n);
    this.reoWndMult = m.u8(T, n);
    this.reoWndPersist = m.u8(T, n);
    this.dsackRound = m.i32(T, n);
    this.rackFlags = m.u8(T, n);
    this.rackAt = m.f64(T, n);
    this.lostBytes = m.f64(T, n);
    this.sackedBytes = m.f64(T, n);
    this.prrDelivered = m.f64(T, n);
    this.prrOut = m.f64(T, n);
    this.recoverFs = m.f64(T, n);
    this.undoMarker = m.i32(T, n);
    this.undoRetrans = m.f64(T, n);
    this.priorCwnd = m.f64(T, n);
    this.priorSsthresh = m.f64(T, n);
    this.tlpHigh = m.i32(T, n);
    this.rtoAt = m.f64(T, n);
    this.ptoAt = m.f64(T, n);
    this.delackAt = m.f64(T, n);
    this.persistAt = m.f64(T, n);
    this.stateAt = m.f64(T, n);
    this.lastRecvTime = m.f64(T, n);
    this.keepProbes = m.u8(T, n);
    this.userTimeout = m.f64(T, n);
    this.firstRtxTime = m.f64(T, n);
    this.keepIdle = m.f64(T, n);
    this.keepIntvl = m.f64(T, n);
    this.keepCnt = m.u8(T, n);
    this.retransmits = m.f64(T, n);
    this.segsIn = m.f64(T, n);
    this.segsOut = m.f64(T, n);
    this.bytesReceived = m.f64(T, n);
    this.bytesSent = m.f64(T, n);
    this.sndBytes = o.tcpSendBufferBytes;
    this.rcvBytes = o.tcpRecvBufferBytes;
    const pairs = o.tcpBufferPairs;
    this.bufFree = m.i16('tcpBufferPool', pairs);
    for (let i = 0; i < pairs; i++) {
      this.sndBufs.push(m.u8('tcpSendBuffers', o.tcpSendBufferBytes));
      this.rcvBufs.push(m.u8('tcpRecvBuffers', o.tcpRecvBufferBytes));
      if (this.bufFree.length > 0) this.bufFree[this.bufFreeTop++] = pairs - 1 - i;
    }
    this.snd = new SendRing(this.sndBufs, this.buf, this.sndHead, this.sndLen, this.sndCap);
    this.rcv = new RecvRing(this.rcvBufs, this.buf, this.rcvHead, this.rcvLen, this.rcvCap);
    this.ooo = new Assembler(this.oooLeft, this.oooRight, this.oooCount, this.oooLast, this.rangesR);
    this.origin.fill(ORIGIN_NONE);
    this.hashHead.fill(-1);
    this.hashNext.fill(-1);
  }

  /**
   * Fix the connection's buffer capacities (SO_SNDBUF/SO_RCVBUF requests
   * clamped to the pool's buffer size) when it is set up: the receive window
   * is promised from them whether or not a buffer pair is held yet.
   */
  setCaps(s: number): void {
    const sl = this.sndBytes;
    const rl = this.rcvBytes;
    this.sndCap[s] = this.sndCapWant[s] > 0 && this.sndCapWant[s] < sl ? this.sndCapWant[s] : sl;
    this.rcvCap[s] = this.rcvCapWant[s] > 0 && this.rcvCapWant[s] < rl ? this.rcvCapWant[s] : rl;
  }

  /** Take a buffer pair for slot `s` (capacities from {@link setCaps}); false when the pool is empty. */
  takeBuffers(s: number): boolean {
    if (this.bufFreeTop === 0) return false;
    this.buf[s] = this.bufFree[--this.bufFreeTop];
    this.sndHead[s] = 0;
    this.rcvHead[s] = 0;
    return true;
  }

  /** Return slot `s`'s buffers to the pool (TIME_WAIT and CLOSED need none). */
  releaseBuffers(s: number): void {
    const b = this.buf[s];
    if (b < 0) return;
    this.bufFree[this.bufFreeTop++] = b;
    this.buf[s] = -1;
    // RACK's records index the pair's ring: they go with it.
    this.rkCount[s] = 0;
    this.lostBytes[s] = 0;
    this.sackedBytes[s] = 0;
  }

  /** Size of one pool buffer (the most SO_SNDBUF/SO_RCVBUF can give). */
  get sendBufferBytes(): number {
    return this.sndBytes;
  }

  get recvBufferBytes(): number {
    return this.rcvBytes;
  }

  get freeBuffers(): number {
    return this.bufFreeTop;
  }

  /** Bucket of a 4-tuple. */
  bucket(laddr: number, lport: number, raddr: number, rport: number): number {
    let h = Math.imul(laddr ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(raddr, 0xc2b2ae35) ^ ((lport << 16) | rport);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & this.hashMask;
  }

  hashInsert(s: number, bucket: number): void {
    this.hashNext[s] = this.hashHead[bucket];
    this.hashHead[bucket] = s;
  }

  hashRemove(s: number, bucket: number): void {
    let prev = -1;
    for (let i = this.hashHead[bucket]; i >= 0; i = this.hashNext[i]) {
      if (i === s) {
        if (prev < 0) this.hashHead[bucket] = this.hashNext[i];
        else this.hashNext[prev] = this.hashNext[i];
        this.hashNext[s] = -1;
        return;
      }
      prev = i;
    }
  }
}

/**
 * Ranges (out-of-order or SACKed) to plan per connection for a buffer of
 * `bytes`: one per 16 KiB, at least 32, at most 255 (the counts are bytes).
 * A window holds at most bytes / MSS segments, and each hole needs a range;
 * one per 16 KiB covers a hole every ~11 segments (9 % loss) of a full window.
 */
function rangesFor(bytes: number): number {
  return Math.min(255, Math.max(32, Math.ceil(bytes / 16384)));
}

function hashBuckets(n: number): number {
  let b = 16;
  while (b < n * 2) b <<= 1;
  return b;
}
