/**
 * The user side of TCP (RFC 9293 3.10.1–3.10.6): OPEN (active and passive),
 * SEND, RECEIVE, CLOSE, ABORT, STATUS, in the shape of BSD calls returning a
 * count or a negative errno.
 */
import { AF_INET6, EV_READABLE, EV_WRITABLE, F_BOUND, F_REUSEADDR, SOCK_TCP } from '../socket-table.js';
import { Errno } from '../errno.js';
import { RouteRecord } from '../routes.js';
import type { TcpCore } from './core.js';
import {
  CLOSED, CLOSE_WAIT, ESTABLISHED, FIN_WAIT_1, LAST_ACK, LISTEN, SYN_RECEIVED, SYN_SENT, TIME_WAIT, STATE_NAMES,
  TF_ACCEPTED, TF_CONNECTING, TF_FIN_QUEUED, TF_FIN_RCVD, TF_KEEPALIVE, TF_NODELAY, TF_ORPHAN, TF_SHUT_RD,
  TF_WANT_WRITE, TF_WINDOW_UPDATE, TF_TS, TF_SACK, TF_WS, TF_RST_ON_CLOSE, TF_RECOVERY, TF_WANT_BUF, ORIGIN_NONE,
  TF_MORE, TF_DELACK, TF_ACKNOW, TF_ACK_SOON,
  setState, isHandshaking, canSend, isSynchronized,
} from './tcb.js';
import { wscaleFor } from './input.js';
import { readAckDue } from './acks.js';

/** What {@link TcpUser.info} reports, like Linux's TCP_INFO. */
export interface TcpInfo {
  state: string;
  rttMs: number;
  rttVarMs: number;
  rtoMs: number;
  mss: number;
  cwnd: number;
  ssthresh: number;
  sendWindow: number;
  receiveWindow: number;
  unacked: number;
  sendQueue: number;
  receiveQueue: number;
  retransmits: number;
  segmentsIn: number;
  segmentsOut: number;
  bytesSent: number;
  bytesReceived: number;
  options: { timestamps: boolean; sack: boolean; windowScale: number; peerWindowScale: number };
  inRecovery: boolean;
}

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** sendRefused(): not refused, a buffer pair was taken (no send() result is positive there). */
const SEND_GO_ON = 1;

export class TcpUser {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  constructor(private readonly core: TcpCore) {}

  /** A new, unbound TCP socket (no buffers until it connects or is accepted). */
  open(): number {
    const c = this.core;
    const s = c.allocSlot();
    if (s < 0) return -Errno.EMFILE;
    c.initTcb(s);
    return s;
  }

  private portInUse(addr: number, port: number, reuse: boolean): boolean {
    const so = this.core.sockets;
    for (let s = so.tcpPortHead[so.portBucket(port)]; s >= 0; s = so.portNext[s]) {
      if (so.localPort[s] !== port) continue;
      // An AF_INET6 socket clashes with IPv4 binds only when it takes IPv4 too (bound to ::, not V6ONLY).
      if (so.family[s] === AF_INET6 && !so.acceptsV4(s)) continue;
      const la = so.localAddr[s];
      if (la !== 0 && addr !== 0 && la !== addr) continue;
      // SO_REUSEADDR lets a new socket share the port unless one is listening on it.
      if (reuse && (so.flags[s] & F_REUSEADDR) !== 0 && this.core.t.state[s] !== LISTEN) continue;
      return true;
    }
    return false;
  }

  bind(s: number, addr: number, port: number): number {
    const c = this.core;
    const so = c.sockets;
    if ((so.flags[s] & F_BOUND) !== 0 || c.t.state[s] !== CLOSED) return -Errno.EINVAL;
    if (addr !== 0 && c.ip.localInterface(addr) === null) return -Errno.EADDRNOTAVAIL;
    const reuse = (so.flags[s] & F_REUSEADDR) !== 0;
    if (port === 0) {
      port = so.ephemeralPort(so.tcpPortHead, c.ctx.random32());
      if (port === 0) return -Errno.EADDRINUSE;
    } else if (this.portInUse(addr, port, reuse)) {
      return -Errno.EADDRINUSE;
    }
    so.localAddr[s] = addr;
    so.localPort[s] = port;
    so.flags[s] |= F_BOUND;
    so.linkPort(so.tcpPortHead, s);
    return 0;
  }

  listen(s: number, backlog: number): number {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if (st === LISTEN) {
      t.backlog[s] = this.clampBacklog(backlog);
      return 0;
    }
    if (st !== CLOSED || c.sockets.remotePort[s] !== 0) return -Errno.EINVAL;
    if ((c.sockets.flags[s] & F_BOUND) === 0) {
      // An unbound AF_INET6 socket gets :: the same way (its address bytes are zero, their fold 0).
      const r = this.bind(s, 0, 0);
      if (r < 0) return r;
    }
    t.backlog[s] = this.clampBacklog(backlog);
    setState(t, s, LISTEN);
    return 0;
  }

  /**
   * The backlog bounds the listener's accept queue and its request records;
   * what its connections may take of the table is bounded apart from it (the
   * reserve, see `tcpReservedSockets`), so it is not clamped to the table.
   */
  private clampBacklog(b: number): number {
    if (!Number.isFinite(b) || b < 1) return 1;
    return b > 65535 ? 65535 : Math.floor(b);
  }

  /** Take the oldest established connection of a listener; -EAGAIN when none. */
  accept(l: number): number {
    const t = this.core.t;
    if (t.state[l] !== LISTEN) return -Errno.EINVAL;
    const s = t.acceptHead[l];
    if (s < 0) return -Errno.EAGAIN;
    t.acceptHead[l] = t.acceptNext[s];
    if (t.acceptHead[l] < 0) t.acceptTail[l] = -1;
    t.acceptCount[l]--;
    t.acceptNext[s] = -1;
    t.parent[s] = -1;
    t.tflags[s] |= TF_ACCEPTED;
    // Anything that arrived before accept() is reported to the new owner.
    let ev = EV_WRITABLE;
    if (t.rcvLen[s] > 0 || (t.tflags[s] & TF_FIN_RCVD) !== 0 || t.state[s] === CLOSED) ev |= EV_READABLE;
    this.core.raise(s, ev);
    return s;
  }

  /** Established connections waiting in a listener's accept queue. */
  acceptQueueLength(l: number): number {
    return this.core.t.acceptCount[l];
  }

  /** Start an active open; returns -EINPROGRESS (completion is reported as EV_WRITABLE or EV_ERROR). */
  connect(s: number, addr: number, port: number): number {
    const c = this.core;
    const t = c.t;
    const so = c.sockets;
    const st = t.state[s];
    if (isHandshaking(st)) return -Errno.EALREADY;
    if (st !== CLOSED || (t.tflags[s] & TF_ACCEPTED) !== 0) return st === LISTEN ? -Errno.EINVAL : -Errno.EISCONN;
    if (so.remotePort[s] !== 0) return -Errno.EISCONN;
    if (addr === 0 || port === 0) return -Errno.EINVAL;
    const rt = this.route;
    const r = c.ip.route(rt, addr, so.localAddr[s]);
    if (r < 0) return r;
    const src = rt.src;
    if ((so.flags[s] & F_BOUND) === 0) {
      const b = this.bind(s, 0, 0);
      if (b < 0) return b;
    }
    if (c.lookup(src, so.localPort[s], addr, port) >= 0) return -Errno.EADDRINUSE;
    // maxTcpSockets bounds connections; buffers are taken later, when there is data.
    if (!c.connectionRoom()) return -Errno.ENOBUFS;
    c.countConnection(s, -1);
    t.setCaps(s);
    so.localAddr[s] = src;
    so.remoteAddr[s] = addr;
    so.remotePort[s] = port;
    c.hashIn(s);
    const iss = c.isn(src, so.localPort[s], addr, port);
    t.iss[s] = iss;
    t.sndUna[s] = iss;
    t.sndNxt[s] = iss;
    t.sndMax[s] = iss;
    t.rcvWscale[s] = c.cfg.tcpWindowScaling === 1 ? wscaleFor(t.rcvCap[s]) : 0;
    t.tsOffset[s] = c.tsOffsetFor(src, so.localPort[s], addr, port);
    const iface = rt.iface;
    t.mss[s] = iface !== null ? iface.mtu - 40 : 536;
    setState(t, s, SYN_SENT);
    t.tflags[s] |= TF_CONNECTING;
    t.rttStart[s] = c.ctx.now;
    c.out.sendSyn(s);
    return -Errno.EINPROGRESS;
  }

  /**
   * Queue up to `len` bytes; returns the count taken, -EAGAIN when the buffer
   * is full, or an error. `more` (MSG_MORE): the caller adds more data at once
   * (the next chunk of a gathered write), so full segments go out but a
   * partial last one waits for the next send without `more`: one gathered
   * write, as Linux's tcp_sendmsg() pushes at the end of one writev() call.
   * `defer` (sendv): a chunk taken whole with `more` skips the output pass,
   * which the next chunk's send runs; sendv runs it if no send did.
   */
  send(s: number, buf: Uint8Array, off: number, len: number, more = false, defer = false): number {
    const c = this.core;
    const t = c.t;
    // The rare cases apart, so that V8 optimizes this function sooner (see TcpInput.segmentInput).
    if ((t.tflags[s] & TF_FIN_QUEUED) !== 0 || !canSend(t.state[s]) || t.buf[s] < 0) {
      const r = this.sendRefused(s, len);
      if (r !== SEND_GO_ON) return r;
    }
    const space = t.snd.space(s);
    const n = len < space ? len : space;
    // Hold a partial segment for what follows only while everything fits: a
    // writer about to wait for buffer space pushes what it has (as Linux
    // pushes before waiting for memory), or nothing would free the space.
    const cork = more && n === len && len > 0;
    const wasCorked = (t.tflags[s] & TF_MORE) !== 0;
    t.tflags[s] = cork ? t.tflags[s] | TF_MORE : t.tflags[s] & ~TF_MORE;
    if (n <= 0) {
      t.tflags[s] |= TF_WANT_WRITE;
      if (wasCorked) c.out.output(s);
      return len === 0 ? 0 : -Errno.EAGAIN;
    }
    c.cc.restartAfterIdle(s, c.ctx.now);
    t.snd.append(s, buf, off, n);
    if (n < len) t.tflags[s] |= TF_WANT_WRITE;
    if (!(cork && defer)) c.out.output(s);
    return n;
  }

  /**
   * A gathered send, as Linux's writev() is one tcp_sendmsg(): the chunks
   * from `chunks[index]` (at byte `off`) on, with `more` on those before
   * `last`, so that only the last one pushes a partial segment. Returns the
   * bytes taken over all chunks (it stops at the first chunk not taken
   * whole) or, when none was taken, what {@link send} returned (-EAGAIN, an
   * error); -EINVAL for a position outside the chunks.
   */
  sendv(s: number, chunks: readonly Uint8Array[], index: number, off: number, last: number): number {
    if (index < 0 || off < 0 || index >= chunks.length || off > chunks[index].length) return -Errno.EINVAL;
    let taken = 0;
    let r = 0;
    // Whether the last send skipped its output pass (a chunk corked for the next): one pass for the write.
    let deferred = false;
    for (let i = index; i < chunks.length; i++) {
      const o = i === index ? off : 0;
      const len = chunks[i].length - o;
      if (len === 0) continue;
      r = this.send(s, chunks[i], o, len, i < last, true);
      deferred = r === len && i < last;
      if (r > 0) taken += r;
      if (r < len) break;
    }
    if (deferred) this.core.out.output(s);
    return taken > 0 ? taken : r;
  }

  /**
   * send() when the FIN is queued, the state does not allow sending, or no
   * buffer pair is held yet: the result to return, or {@link SEND_GO_ON}
   * once a buffer pair was taken.
   */
  private sendRefused(s: number, len: number): number {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if ((t.tflags[s] & TF_FIN_QUEUED) !== 0) return -Errno.EPIPE;
    if (isHandshaking(st)) {
      t.tflags[s] |= TF_WANT_WRITE;
      return -Errno.EAGAIN;
    }
    if (!canSend(st)) {
      const e = c.sockets.soError[s];
      if (e !== 0) {
        c.sockets.soError[s] = 0;
        return -e;
      }
      return st === CLOSED && (t.tflags[s] & TF_ACCEPTED) === 0 && c.sockets.remotePort[s] === 0
        ? -Errno.ENOTCONN : -Errno.EPIPE;
    }
    if (len === 0) return 0;
    if (!t.takeBuffers(s)) {
      // The pool is empty: EV_WRITABLE when a pair is given back (Node's net waits for it).
      t.tflags[s] |= TF_WANT_BUF | TF_WANT_WRITE;
      c.bufWaiters++;
      c.stats.bufferWaits++;
      return -Errno.EAGAIN;
    }
    return SEND_GO_ON;
  }

  /** Bytes that send() would take now. */
  sendSpace(s: number): number {
    return this.core.sendSpace(s);
  }

  /**
   * Read up to `len` bytes. Returns the count, 0 at end of stream (the peer
   * closed and everything was read), -EAGAIN when nothing is there yet, or a
   * pending error once (ECONNRESET, ETIMEDOUT, ECONNREFUSED).
   */
  recv(s: number, buf: Uint8Array, off: number, len: number): number {
    const c = this.core;
    const t = c.t;
    if (t.state[s] === LISTEN) return -Errno.ENOTCONN;
    if (t.buf[s] >= 0 && t.rcvLen[s] > 0) {
      const before = t.rcvCap[s] - t.rcvLen[s];
      const n = t.rcv.read(s, buf, off, len);
      this.afterRead(s, before, n);
      c.idleBuffers(s);
      return n;
    }
    const e = c.sockets.soError[s];
    if (e !== 0) {
      c.sockets.soError[s] = 0;
      return -e;
    }
    if ((t.tflags[s] & (TF_FIN_RCVD | TF_SHUT_RD)) !== 0 || t.state[s] === CLOSED && c.sockets.remotePort[s] !== 0) {
      return 0;
    }
    if (t.state[s] === CLOSED) return -Errno.ENOTCONN;
    return -Errno.EAGAIN;
  }

  /** Bytes ready to read. */
  readable(s: number): number {
    const t = this.core.t;
    return t.buf[s] >= 0 ? t.rcvLen[s] : 0;
  }

  /** After the reader took `copied` bytes: send a pending ACK, or advertise the freed space if the window grew enough. */
  private afterRead(s: number, freeBefore: number, copied: number): void {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if (st === TIME_WAIT || st === CLOSED) {
      if (t.rcvLen[s] === 0) c.releaseBuffers(s);
      return;
    }
    const free = t.rcvCap[s] - t.rcvLen[s];
    let advertised = (t.rcvAdv[s] - t.rcvNxt[s]) | 0;
    if (advertised < 0) advertised = 0;
    const mss = t.mss[s] > 0 ? t.mss[s] : 536;
    // An ACK due at the next poll (TF_ACK_SOON: a quick ACK held for the application's turn, see
    // processData) carries the window as it stands then, unless the reply this read is for carries
    // it first: no ACK or window update of its own.
    if ((t.tflags[s] & TF_ACK_SOON) !== 0) return;
    // A delayed ACK is pending and the read made it due (Linux tcp_cleanup_rbuf).
    if ((t.tflags[s] & TF_DELACK) !== 0 && copied > 0 && readAckDue(c, s, mss)) {
      if (((t.rcvNxt[s] - t.lastAckSent[s]) | 0) > mss) {
        t.tflags[s] |= TF_ACKNOW; // more than a segment unacknowledged: the sender's clock, at once
        c.out.output(s);
        return;
      }
      // A small segment read up: its ACK is due at the next poll (in real time the same turn of the
      // event loop, after the reader's callbacks), so that the reply a request gets at once carries
      // it (one frame instead of two); Linux sends it from recvmsg, ahead of the reply's sendmsg.
      t.tflags[s] |= TF_ACK_SOON;
      t.delackAt[s] = c.ctx.now;
      c.arm(c.ctx.now);
      return;
    }
    // As Linux's tcp_cleanup_rbuf: a pure window update only once what the
    // peer may still send has fallen to half the buffer and reading at least
    // doubles it (and by at least two segments). Smaller openings ride on the
    // next ACK; this keeps updates from doubling the ACK traffic.
    const worthIt = 2 * advertised <= t.rcvCap[s] && free >= 2 * advertised && free - advertised >= 2 * mss;
    if (worthIt || (advertised < mss && free >= mss && freeBefore < mss)) {
      t.tflags[s] |= TF_WINDOW_UPDATE;
      c.out.output(s);
    }
  }

  /** Half-close: SHUT_WR sends FIN after the queued data; SHUT_RD discards further input. */
  shutdown(s: number, how: number): number {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if (st === LISTEN || st === CLOSED || st === SYN_SENT) return -Errno.ENOTCONN;
    if (how === SHUT_RD || how === SHUT_RDWR) t.tflags[s] |= TF_SHUT_RD;
    if (how === SHUT_WR || how === SHUT_RDWR) {
      if ((t.tflags[s] & TF_FIN_QUEUED) !== 0) return 0;
      t.tflags[s] |= TF_FIN_QUEUED;
      if (st === ESTABLISHED || st === SYN_RECEIVED) setState(t, s, FIN_WAIT_1);
      else if (st === CLOSE_WAIT) setState(t, s, LAST_ACK);
      c.out.output(s);
    }
    return 0;
  }

  /**
   * Close the descriptor. The connection closes gracefully in the background
   * (FIN after the queued data); unread received data, or SO_LINGER 0, make
   * it an abort with RST instead (RFC 9293 3.10.4, RFC 2525).
   */
  close(s: number): void {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if (st === LISTEN) {
      for (let ch = 0; ch < t.n; ch++) {
        if (c.sockets.type[ch] === SOCK_TCP && t.parent[ch] === s) {
          c.out.sendRstFor(ch);
          c.destroy(ch);
        }
      }
      c.passive.dropListener(s);
      c.orphanChildren(s);
      c.destroy(s);
      return;
    }
    if (st === CLOSED || st === SYN_SENT) {
      c.destroy(s);
      return;
    }
    t.tflags[s] |= TF_ORPHAN;
    if (t.parent[s] < 0) c.leaveListener(s);
    if ((t.rcvLen[s] > 0 && t.buf[s] >= 0) || (t.tflags[s] & TF_RST_ON_CLOSE) !== 0) {
      this.abort(s);
      return;
    }
    if (st === TIME_WAIT) {
      c.releaseBuffers(s);
      return;
    }
    this.shutdown(s, SHUT_WR);
  }

  /** Reset the connection now and free it. */
  abort(s: number): void {
    const c = this.core;
    const st = c.t.state[s];
    if (st !== CLOSED && st !== LISTEN && st !== SYN_SENT && st !== TIME_WAIT) c.out.sendRstFor(s);
    c.destroy(s);
  }

  setNoDelay(s: number, on: boolean): void {
    const t = this.core.t;
    t.tflags[s] = on ? t.tflags[s] | TF_NODELAY : t.tflags[s] & ~TF_NODELAY;
    if (on) this.core.out.output(s);
  }

  setKeepAlive(s: number, on: boolean, idleMs?: number, intervalMs?: number, count?: number): void {
    const c = this.core;
    const t = c.t;
    t.tflags[s] = on ? t.tflags[s] | TF_KEEPALIVE : t.tflags[s] & ~TF_KEEPALIVE;
    if (idleMs !== undefined && idleMs > 0) t.keepIdle[s] = idleMs;
    if (intervalMs !== undefined && intervalMs > 0) t.keepIntvl[s] = intervalMs;
    if (count !== undefined && count > 0) t.keepCnt[s] = Math.min(255, count);
    if (on) c.arm(t.lastRecvTime[s] + t.keepIdle[s]);
  }

  /** TCP_USER_TIMEOUT (RFC 5482), ms; 0 restores the retry-count limit alone. */
  setUserTimeout(s: number, ms: number): void {
    this.core.t.userTimeout[s] = ms;
  }

  setLingerAbort(s: number, on: boolean): void {
    const t = this.core.t;
    t.tflags[s] = on ? t.tflags[s] | TF_RST_ON_CLOSE : t.tflags[s] & ~TF_RST_ON_CLOSE;
  }

  /** SO_SNDBUF/SO_RCVBUF: effective until the connection takes its buffers; clamped to the planned size. */
  setBufferSize(s: number, send: boolean, bytes: number): number {
    const t = this.core.t;
    if (!Number.isInteger(bytes) || bytes < 2048) return -Errno.EINVAL;
    if (t.buf[s] >= 0 || t.origin[s] !== ORIGIN_NONE) return -Errno.EISCONN;
    const max = send ? t.sendBufferBytes : t.recvBufferBytes;
    (send ? t.sndCapWant : t.rcvCapWant)[s] = bytes < max ? bytes : max;
    return 0;
  }

  bufferSize(s: number, send: boolean): number {
    const t = this.core.t;
    if (t.buf[s] >= 0 || t.origin[s] !== ORIGIN_NONE) return send ? t.sndCap[s] : t.rcvCap[s];
    const want = (send ? t.sndCapWant : t.rcvCapWant)[s];
    const max = send ? t.sendBufferBytes : t.recvBufferBytes;
    return want > 0 ? want : max;
  }

  /** Connected for getpeername: the handshake has completed and the connection is not closed. */
  isConnected(s: number): boolean {
    const st = this.core.t.state[s];
    return isSynchronized(st) || (st === CLOSED && this.core.sockets.remotePort[s] !== 0 && this.core.t.rcvLen[s] > 0);
  }

  keepAliveOn(s: number): boolean {
    return (this.core.t.tflags[s] & TF_KEEPALIVE) !== 0;
  }

  noDelayOn(s: number): boolean {
    return (this.core.t.tflags[s] & TF_NODELAY) !== 0;
  }

  flags(s: number): number {
    return this.core.t.tflags[s];
  }

  state(s: number): number {
    return this.core.t.state[s];
  }

  info(s: number): TcpInfo {
    const c = this.core;
    const t = c.t;
    return {
      state: STATE_NAMES[t.state[s]],
      rttMs: t.srtt[s], rttVarMs: t.rttvar[s], rtoMs: t.rto[s], mss: c.smss(s), cwnd: t.cwnd[s],
      ssthresh: t.ssthresh[s] >= (1 << 30) ? Infinity : t.ssthresh[s], sendWindow: t.sndWnd[s],
      receiveWindow: t.rcvCap[s] - t.rcvLen[s], unacked: (t.sndMax[s] - t.sndUna[s]) >>> 0,
      sendQueue: t.sndLen[s], receiveQueue: t.buf[s] >= 0 ? t.rcvLen[s] : 0, retransmits: t.retransmits[s],
      segmentsIn: t.segsIn[s], segmentsOut: t.segsOut[s], bytesSent: t.bytesSent[s],
      bytesReceived: t.bytesReceived[s],
      options: {
        timestamps: (t.tflags[s] & TF_TS) !== 0, sack: (t.tflags[s] & TF_SACK) !== 0,
        windowScale: (t.tflags[s] & TF_WS) !== 0 ? t.rcvWscale[s] : -1,
        peerWindowScale: (t.tflags[s] & TF_WS) !== 0 ? t.sndWscale[s] : -1,
      },
      inRecovery: (t.tflags[s] & TF_RECOVERY) !== 0,
    };
  }
}

