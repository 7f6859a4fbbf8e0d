/**
 * State shared by the TCP input, output, timer and API code: the control
 * blocks, demultiplexing, connection setup and teardown, RTT estimation and
 * event reporting.
 */
import { seqGt } from '../../wire/tcp.js';
import {
  AF_INET, EV_CLOSED, EV_ERROR, EV_READABLE, EV_WRITABLE, F_BOUND, SOCK_TCP, type SocketTable,
} from '../socket-table.js';
import type { EngineContext } from '../context.js';
import { Errno } from '../errno.js';
import type { Carver } from '../../storage/arena.js';
import type { IpOutput } from '../ipv4.js';
import type { Ip6Output } from '../ipv6.js';
import { RouteRecord } from '../routes.js';
import { TcpV6 } from './ip6.js';
import { TcpOutput } from './output.js';
import { Congestion } from './congestion.js';
import { TcpPassive } from './passive.js';
import { Rack } from './rack.js';
import {
  CLOSED, LISTEN, TIME_WAIT, SYN_SENT, TcbTable, TF_ORPHAN, TF_KEEPALIVE, TF_NODELAY, TF_CONNECTING, TF_WANT_BUF,
  ORIGIN_ACTIVE, ORIGIN_GONE, ORIGIN_NONE, ORIGIN_TIME_WAIT,
  setState,
} from './tcb.js';

/** Connection counters of a stack (added to `stack.stats.tcp`). */
export function createTcpStats() {
  return {
    rx: 0, tx: 0, malformed: 0, badChecksum: 0, badOptions: 0, noSocket: 0, rstOut: 0, rstIn: 0,
    activeOpens: 0, passiveOpens: 0, failedOpens: 0, established: 0, resets: 0, synDropped: 0,
    acceptQueueFull: 0, retransmits: 0, fastRetransmits: 0, rtoTimeouts: 0, dupAcks: 0, outOfOrder: 0,
    reassemblyDropped: 0, challengeAcks: 0, pawsDropped: 0, outOfWindow: 0, duplicateSegments: 0,
    windowProbes: 0, keepaliveProbes: 0, timeWaitRecycled: 0, delayedAcks: 0, sackRecoveries: 0,
    dsacksSent: 0, timeouts: 0, tailLossProbes: 0,
    // Passive opens (passive.ts): cookies sent, accepted and rejected (forged or expired); SYNs answered
    // with a cookie because the request queue was full; requests evicted for a newer one, timed out
    // after their SYN-ACK retries, SYN-ACKs retransmitted; SYNs and handshakes refused by the
    // per-listener and reserve limits.
    syncookiesSent: 0, syncookiesRecv: 0, syncookiesFailed: 0, synQueueOverflow: 0, synRequestsEvicted: 0,
    synRequestTimeouts: 0, synAckRetransmits: 0, listenOverflows: 0,
    // Lazy buffers: received segments dropped because no buffer pair was free; send() refusals for the same reason.
    bufferDrops: 0, bufferWaits: 0,
    /** ACKs not sent for unacceptable segments and challenges: at most one per 500 ms per connection (Linux tcp_invalid_ratelimit). */
    ackRateLimited: 0,
    /** ACKs sent at once in quick-ACK mode (connection start, after idle), as Linux's tcp_in_quickack_mode. */
    quickAcks: 0,
    /** Segments RACK (RFC 8985) declared lost, and how many times its reordering timer fired. */
    rackLossMarked: 0, rackReorderTimeouts: 0,
    /** Recovery episodes undone because D-SACKs showed every retransmission was spurious. */
    spuriousRetransUndone: 0,
    /** Tail loss probes that repaired a loss (RFC 8985 7.4), each answered by one window reduction. */
    tlpLossRepaired: 0,
    /** D-SACK blocks received: the peer got some data twice (RFC 2883). */
    dsacksReceived: 0,
    /** Fast recoveries whose window was set by PRR (RFC 6937). */
    prrRecoveries: 0,
    /**
     * Offload: super-segments sent for the link to cut (TSO), and segments
     * received longer than the interface's MTU allows one frame to be
     * (coalesced by the link, as the kernel's GRO/TSO to a TAP does).
     */
    tsoSegments: 0, groSegments: 0,
  };
}
export type TcpStats = ReturnType<typeof createTcpStats>;

/** Where TCP's earliest deadline is kept (the {@link Tcp} facade): every arm lowers it. */
export interface TcpDeadline {
  nextDeadline: number;
}

/** Held quick ACKs listed apart from the timers (TcpCore.heldAcks): more in one poll are rare. */
export const HELD_ACKS = 32;

export class TcpCore {
  readonly t: TcbTable;
  readonly stats: TcpStats;
  /** Earliest timer of any connection; the timer scan runs only when it is due. */
  nextTimer = Infinity;
  /**
   * Connections whose held quick ACK (TF_ACK_HELD) the timer scan left owed
   * to the next poll, kept apart from {@link nextTimer}: a reply the
   * application writes in its turn carries the ACK, and the deadline then
   * need not stay due (a due deadline costs the driver another poll). At most
   * HELD_ACKS; beyond that the scan leaves them in nextTimer, as due timers.
   */
  readonly heldAcks = new Int32Array(HELD_ACKS);
  heldCount = 0;
  readonly out: TcpOutput;
  readonly cc: Congestion;
  readonly passive: TcpPassive;
  /** TCP connections (slots with an `origin`), bounded by maxTcpSockets. */
  tcpConns = 0;
  /** Of those, passive opens (queued or accepted children of listeners). */
  passiveConns = 0;
  /** Of those, connections in TIME_WAIT: their slots are recycled when a new connection needs one. */
  timeWaitConns = 0;
  /** Slots that were refused a buffer pair by send() and wait for EV_WRITABLE. */
  bufWaiters = 0;
  readonly rack: Rack;
  /** The IPv6 side (lookups, routing, checksums by 16-byte addresses). */
  readonly v6: TcpV6;
  private readonly secret = new Int32Array(4);
  /** The timestamp-offset secret ({@link tsOffsetFor}'s key), shared with a link's SYN responder. */
  get tsSecret(): Int32Array {
    return this.secret;
  }
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();

  /**
   * The core builds the parts that share it (each keeps a reference back to
   * this core; none uses another part while being built).
   */
  constructor(m: Carver, readonly ctx: EngineContext, readonly ip: IpOutput, readonly sockets: SocketTable, t: TcbTable,
    stats: TcpStats, private readonly deadline: TcpDeadline, synBacklog: number, ip6: Ip6Output | null = null) {
    this.t = t;
    this.v6 = new TcpV6(this, ip6);
    this.stats = stats;
    for (let i = 0; i < 4; i++) this.secret[i] = ctx.random32();
    this.passive = new TcpPassive(m, this, synBacklog);
    this.out = new TcpOutput(this);
    this.cc = new Congestion(this);
    this.rack = new Rack(this);
  }

  /** Count slot `s` as a connection: an active open (`listener` < 0) or a child of `listener`. */
  countConnection(s: number, listener: number): void {
    const t = this.t;
    this.tcpConns++;
    if (listener >= 0) {
      t.origin[s] = listener;
      t.children[listener]++;
      this.passiveConns++;
    } else {
      t.origin[s] = ORIGIN_ACTIVE;
    }
  }

  /** A listener closes: its accepted children stay passive opens, of no listener. */
  orphanChildren(l: number): void {
    const t = this.t;
    for (let s = 0; s < t.n; s++) if (t.origin[s] === l && this.sockets.type[s] === SOCK_TCP) t.origin[s] = ORIGIN_GONE;
    t.children[l] = 0;
  }

  /**
   * The user closed a passive open: it no longer counts against its listener
   * (it is closing, bounded in time), only against the passive total.
   */
  leaveListener(s: number): void {
    const t = this.t;
    const o = t.origin[s];
    if (o < 0) return;
    if (t.children[o] > 0) t.children[o]--;
    t.origin[s] = ORIGIN_GONE;
  }

  /** TIME_WAIT holds a connection but no listener's share: it leaves the passive counts. */
  timeWaitEntered(s: number): void {
    const t = this.t;
    const o = t.origin[s];
    if (o === ORIGIN_NONE || o === ORIGIN_TIME_WAIT) return;
    if (o >= 0) {
      if (t.children[o] > 0) t.children[o]--;
      this.passiveConns--;
    } else if (o === ORIGIN_GONE) {
      this.passiveConns--;
    }
    t.origin[s] = ORIGIN_TIME_WAIT;
    this.timeWaitConns++;
  }

  /** Is there room for one more connection (maxTcpSockets), recycling the oldest TIME_WAIT if not? */
  connectionRoom(): boolean {
    return this.tcpConns < this.cfg.maxTcpSockets || (this.recycleTimeWait() && this.tcpConns < this.cfg.maxTcpSockets);
  }

  private uncount(s: number): void {
    const t = this.t;
    const o = t.origin[s];
    if (o === ORIGIN_NONE) return;
    this.tcpConns--;
    if (o === ORIGIN_TIME_WAIT) this.timeWaitConns--;
    if (o >= 0) {
      if (t.children[o] > 0) t.children[o]--;
      this.passiveConns--;
    } else if (o === ORIGIN_GONE) {
      this.passiveConns--;
    }
    t.origin[s] = ORIGIN_NONE;
  }

  /**
   * Give the buffer pair back when nothing is held in it (both directions
   * empty, no out-of-order data): an idle connection costs no buffers.
   */
  idleBuffers(s: number): void {
    const t = this.t;
    // RACK's records live in the pair's ring: a FIN still in flight keeps it.
    if (t.buf[s] >= 0 && t.sndLen[s] === 0 && t.rcvLen[s] === 0 && t.oooCount[s] === 0 && t.rkCount[s] === 0) {
      this.releaseBuffers(s);
    }
  }

  /** Give slot `s`'s buffer pair back to the pool; writers that found the pool empty are told to retry. */
  releaseBuffers(s: number): void {
    const t = this.t;
    if (t.buf[s] < 0) return;
    t.releaseBuffers(s);
    if (this.bufWaiters > 0) this.wakeBufferWaiters();
  }

  /** A buffer pair came back: every send() refused for want of one is told to retry. */
  private wakeBufferWaiters(): void {
    const t = this.t;
    this.bufWaiters = 0;
    for (let s = 0; s < t.n; s++) {
      if ((t.tflags[s] & TF_WANT_BUF) === 0) continue;
      t.tflags[s] &= ~TF_WANT_BUF;
      if (this.sockets.type[s] === SOCK_TCP) this.writable(s);
    }
  }

  get cfg() {
    return this.ctx.config;
  }

  /** RFC 6528 initial sequence number: a 4 µs clock plus a keyed hash of the connection's 4-tuple. */
  isn(laddr: number, lport: number, raddr: number, rport: number): number {
    return (Math.floor(this.ctx.now * 250) + this.mix(laddr, lport, raddr, rport, 0)) | 0;
  }

  /** Per-connection timestamp offset (RFC 7323 5.4), so TSval does not reveal uptime or link connections. */
  tsOffsetFor(laddr: number, lport: number, raddr: number, rport: number): number {
    return this.mix(laddr, lport, raddr, rport, 0x5bd1e995);
  }

  /**
   * A keyed mix of the 4-tuple (not a cryptographic MAC: the secret is 128
   * random bits from the stack's seed, and the clock term moves the ISN on).
   */
  private mix(a: number, p: number, b: number, q: number, salt: number): number {
    const k = this.secret;
    let h = k[0] ^ salt;
    h = round(h, a, k[1]);
    h = round(h, (p << 16) | q, k[2]);
    h = round(h, b, k[3]);
    h = round(h, k[1] ^ k[2], k[0]);
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d);
    h ^= h >>> 15;
    return h | 0;
  }

  /** Connection slot of a 4-tuple, or -1. */
  lookup(laddr: number, lport: number, raddr: number, rport: number): number {
    const t = this.t;
    const st = this.sockets;
    for (let s = t.hashHead[t.bucket(laddr, lport, raddr, rport)]; s >= 0; s = t.hashNext[s]) {
      if (st.localPort[s] === lport && st.remotePort[s] === rport && st.remoteAddr[s] === raddr
        && st.localAddr[s] === laddr && st.family[s] === AF_INET) return s;
    }
    return -1;
  }

  /**
   * Listening socket for a destination, or -1 (a specific address beats the
   * wildcard; an AF_INET6 listener on `::` takes IPv4 too unless IPV6_V6ONLY).
   */
  findListener(addr: number, port: number): number {
    const st = this.sockets;
    let wild = -1;
    for (let s = st.tcpPortHead[st.portBucket(port)]; s >= 0; s = st.portNext[s]) {
      if (st.localPort[s] !== port || this.t.state[s] !== LISTEN) continue;
      if (st.localAddr[s] === addr && st.family[s] === AF_INET) return s;
      if (st.localAddr[s] === 0 && (wild < 0 || st.family[wild] !== AF_INET) && st.acceptsV4(s)) wild = s;
    }
    return wild;
  }

  /** Enter the 4-tuple hash (after local and remote endpoints are set). */
  hashIn(s: number): void {
    const st = this.sockets;
    this.t.hashInsert(s, this.t.bucket(st.localAddr[s], st.localPort[s], st.remoteAddr[s], st.remotePort[s]));
  }

  hashOut(s: number): void {
    const st = this.sockets;
    this.t.hashRemove(s, this.t.bucket(st.localAddr[s], st.localPort[s], st.remoteAddr[s], st.remotePort[s]));
  }

  /** Reset every TCP field of a fresh slot. */
  initTcb(s: number): void {
    const t = this.t;
    const c = this.cfg;
    setState(t, s, CLOSED);
    t.tflags[s] = 0;
    t.parent[s] = -1;
    t.acceptNext[s] = -1;
    t.acceptHead[s] = -1;
    t.acceptTail[s] = -1;
    t.acceptCount[s] = 0;
    t.synCount[s] = 0;
    t.backlog[s] = 0;
    t.buf[s] = -1;
    t.origin[s] = ORIGIN_NONE;
    t.children[s] = 0;
    t.sndCap[s] = 0;
    t.rcvCap[s] = 0;
    t.hashNext[s] = -1;
    t.sndLen[s] = 0;
    t.sndHead[s] = 0;
    t.sndCapWant[s] = 0;
    t.rcvCapWant[s] = 0;
    t.rcvLen[s] = 0;
    t.rcvHead[s] = 0;
    t.ooo.clear(s);
    t.dsackLeft[s] = 0;
    t.dsackRight[s] = 0;
    t.sackCount[s] = 0;
    t.unackedSegs[s] = 0;
    t.ackQuick[s] = 0;
    t.dataRcvTime[s] = -Infinity;
    t.oowAckTime[s] = -Infinity;
    t.sndSml[s] = 0;
    t.rcvWscale[s] = 0;
    t.sndWscale[s] = 0;
    t.sndWnd[s] = 0;
    t.maxSndWnd[s] = 0;
    t.tsRecent[s] = 0;
    t.srtt[s] = 0;
    t.rttvar[s] = 0;
    t.rto[s] = c.tcpInitialRtoMs;
    t.backoff[s] = 0;
    t.dupAcks[s] = 0;
    t.bytesAcked[s] = 0;
    t.rtoAt[s] = Infinity;
    t.ptoAt[s] = Infinity;
    t.rackAt[s] = Infinity;
    t.lostBytes[s] = 0;
    t.sackedBytes[s] = 0;
    t.rkCount[s] = 0;
    t.delackAt[s] = Infinity;
    t.persistAt[s] = Infinity;
    t.stateAt[s] = Infinity;
    t.firstRtxTime[s] = 0;
    t.userTimeout[s] = 0;
    t.keepProbes[s] = 0;
    t.keepIdle[s] = c.tcpKeepIdleMs;
    t.keepIntvl[s] = c.tcpKeepIntervalMs;
    t.keepCnt[s] = c.tcpKeepCount;
    t.retransmits[s] = 0;
    t.segsIn[s] = 0;
    t.segsOut[s] = 0;
    t.bytesReceived[s] = 0;
    t.bytesSent[s] = 0;
    t.lastRecvTime[s] = this.ctx.now;
    t.lastSendTime[s] = this.ctx.now;
  }

  /**
   * A TCP slot (no buffers), recycling the oldest TIME_WAIT when the table is
   * full (as Linux does past tcp_max_tw_buckets); -1 when none.
   */
  allocSlot(): number {
    let s = this.sockets.allocate(SOCK_TCP);
    if (s < 0 && this.recycleTimeWait()) s = this.sockets.allocate(SOCK_TCP);
    return s;
  }

  /** Free the oldest TIME_WAIT connection (counted in timeWaitRecycled); false when there is none. */
  recycleTimeWait(): boolean {
    const t = this.t;
    let victim = -1;
    for (let s = 0; s < t.n; s++) {
      if (this.sockets.type[s] === SOCK_TCP && t.state[s] === TIME_WAIT
        && (victim < 0 || t.stateAt[s] < t.stateAt[victim])) victim = s;
    }
    if (victim < 0) return false;
    this.stats.timeWaitRecycled++;
    this.destroy(victim);
    return true;
  }

  /** Free a connection's slot entirely (it must not be referenced by the user any more). */
  destroy(s: number): void {
    const t = this.t;
    if (t.state[s] !== LISTEN && this.sockets.remotePort[s] !== 0) this.hashOut(s);
    const so = this.sockets;
    if ((so.flags[s] & F_BOUND) !== 0 && so.inPortChain(so.tcpPortHead, s)) so.unlinkPort(so.tcpPortHead, s);
    const p = t.parent[s];
    if (p >= 0) this.unlinkChild(p, s);
    this.uncount(s);
    this.releaseBuffers(s);
    setState(t, s, CLOSED);
    this.sockets.release(s);
  }

  /** Remove a not-yet-accepted child from its listener's counts and queue. */
  unlinkChild(p: number, s: number): void {
    const t = this.t;
    let prev = -1;
    for (let c = t.acceptHead[p]; c >= 0; c = t.acceptNext[c]) {
      if (c === s) {
        if (prev < 0) t.acceptHead[p] = t.acceptNext[c];
        else t.acceptNext[prev] = t.acceptNext[c];
        if (t.acceptTail[p] === s) t.acceptTail[p] = prev;
        t.acceptCount[p]--;
        break;
      }
      prev = c;
    }
    t.acceptNext[s] = -1;
    t.parent[s] = -1;
  }

  /**
   * The connection is over (reset, timeout, or closed normally): report it,
   * and free the slot if the user has let go of it.
   */
  finish(s: number, errno: number): void {
    const t = this.t;
    const orphan = (t.tflags[s] & TF_ORPHAN) !== 0 || t.parent[s] >= 0;
    if (errno !== 0) {
      this.sockets.soError[s] = errno;
      if ((t.tflags[s] & TF_CONNECTING) !== 0) this.stats.failedOpens++;
    }
    t.tflags[s] &= ~TF_CONNECTING;
    if (orphan) {
      this.destroy(s);
      return;
    }
    if (this.sockets.remotePort[s] !== 0 && t.state[s] !== CLOSED) this.hashOut(s);
    setState(t, s, CLOSED);
    t.rtoAt[s] = t.ptoAt[s] = t.rackAt[s] = t.delackAt[s] = t.persistAt[s] = t.stateAt[s] = Infinity;
    // Unread data stays readable; only the send side's buffer goes back now if nothing is left to read.
    if (t.rcvLen[s] === 0) this.releaseBuffers(s);
    this.sockets.raise(s, (errno !== 0 ? EV_ERROR : 0) | EV_CLOSED | EV_READABLE | EV_WRITABLE);
  }

  /** Report readable/writable/error to the socket's owner (a listener for unaccepted children). */
  raise(s: number, events: number): void {
    this.sockets.raise(s, events);
  }

  /**
   * Schedule a connection timer: keep the timer scan's {@link nextTimer} and
   * TCP's deadline ({@link TcpDeadline}) current, so a send between polls
   * that arms a retransmission is seen by the stack without another poll.
   */
  arm(at: number): void {
    if (at < this.nextTimer) {
      this.nextTimer = at;
      // nextDeadline <= nextTimer always: it can only be lowered here when nextTimer was.
      if (at < this.deadline.nextDeadline) this.deadline.nextDeadline = at;
    }
  }

  /** Arm request record `r`'s SYN-ACK timer (the SYN queue's scan) and keep TCP's deadline current. */
  armRequest(r: number, at: number): void {
    this.passive.q.arm(r, at);
    if (at < this.deadline.nextDeadline) this.deadline.nextDeadline = at;
  }

  /** RFC 6298 update with one RTT sample (ms). */
  rttSample(s: number, rtt: number): void {
    const t = this.t;
    if (rtt < 0) return;
    if (t.srtt[s] === 0) {
      t.srtt[s] = rtt > 0 ? rtt : 0.001;
      t.rttvar[s] = rtt / 2;
    } else {
      const err = rtt - t.srtt[s];
      t.rttvar[s] = 0.75 * t.rttvar[s] + 0.25 * (err < 0 ? -err : err);
      t.srtt[s] = 0.875 * t.srtt[s] + 0.125 * rtt;
    }
    // As Linux (tcp_set_rto): the variance term is at least tcp_rto_min, so
    // RTO = SRTT + max(4 RTTVAR, min RTO): about 200 ms on a 1 ms path, and
    // never below min RTO however steady the samples (RFC 6298 2.4 allows it).
    const v = 4 * t.rttvar[s];
    let rto = t.srtt[s] + (v > this.cfg.tcpMinRtoMs ? v : this.cfg.tcpMinRtoMs);
    if (rto > this.cfg.tcpMaxRtoMs) rto = this.cfg.tcpMaxRtoMs;
    t.rto[s] = rto;
  }

  /** Current TSval for a connection. */
  tsNow(s: number): number {
    return (Math.floor(this.ctx.now) + this.t.tsOffset[s]) | 0;
  }

  /** Payload bytes per full segment, options of a data segment excluded. */
  smss(s: number): number {
    return this.t.mss[s] - ((this.t.tflags[s] & 1) !== 0 ? 12 : 0);
  }

  /** Free space in the send buffer (all of it when a pair can be taken from the pool). */
  sendSpace(s: number): number {
    const t = this.t;
    if (t.buf[s] < 0) return t.freeBuffers > 0 ? t.sndCap[s] : 0;
    return t.snd.space(s);
  }

  /** Bytes sent and not yet acknowledged (SYN/FIN included). */
  flight(s: number): number {
    return (this.t.sndMax[s] - this.t.sndUna[s]) >>> 0;
  }

  /** A fresh connection inherits options set on its listener. */
  inherit(child: number, listener: number): void {
    const t = this.t;
    t.sndCapWant[child] = t.sndCapWant[listener];
    t.rcvCapWant[child] = t.rcvCapWant[listener];
    t.tflags[child] |= t.tflags[listener] & (TF_NODELAY | TF_KEEPALIVE);
    t.keepIdle[child] = t.keepIdle[listener];
    t.keepIntvl[child] = t.keepIntvl[listener];
    t.keepCnt[child] = t.keepCnt[listener];
  }

  /**
   * An ICMP error quoting a segment we sent (RFC 5927 guidance): port or
   * protocol unreachable aborts a connection still in SYN_SENT (soft errors
   * are otherwise only recorded); fragmentation-needed lowers the MSS.
   */
  icmpError(laddr: number, lport: number, raddr: number, rport: number, seq: number, errno: number,
    nextHopMtu: number): void {
    const s = this.lookup(laddr, lport, raddr, rport);
    if (s < 0) return;
    const t = this.t;
    // The quoted sequence number must be one we have outstanding (RFC 5927 4.1).
    if (seqGt(t.sndUna[s], seq) || seqGt(seq, t.sndMax[s])) return;
    if (nextHopMtu > 0) {
      const mss = nextHopMtu - 40;
      if (mss >= 536 - 40 && mss < t.mss[s]) {
        t.mss[s] = mss;
        this.out.output(s);
      }
      return;
    }
    if (t.state[s] === SYN_SENT && errno === Errno.ECONNREFUSED) {
      this.finish(s, errno);
    }
  }

  /**
   * Neighbour resolution for `nextHop` failed: active opens waiting on it
   * fail with EHOSTUNREACH now, as on Linux, instead of after all SYN retries.
   */
  hostUnreachable(nextHop: number): void {
    const t = this.t;
    for (let s = 0; s < t.n; s++) {
      if (this.sockets.type[s] !== SOCK_TCP || t.state[s] !== SYN_SENT || this.sockets.family[s] !== AF_INET) continue;
      const dst = this.sockets.remoteAddr[s];
      if (dst === nextHop || (this.ip.route(this.route, dst, 0) === 0 && this.route.nextHop === nextHop)) {
        this.stats.timeouts++;
        this.finish(s, Errno.EHOSTUNREACH);
      }
    }
  }

  /** Raise EV_READABLE for the reader. */
  readable(s: number): void {
    this.raise(s, EV_READABLE);
  }

  writable(s: number): void {
    this.raise(s, EV_WRITABLE);
  }
}

function round(h: number, w: number, k: number): number {
  let x = Math.imul(h ^ w, 0x9e3779b1);
  x = (x << 13) | (x >>> 19);
  return Math.imul(x, 0x85ebca77) ^ k;
}
