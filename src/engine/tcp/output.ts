/**
 * Segment construction and the send policy: what may go out now given the
 * peer's window, the congestion window, Nagle and silly-window avoidance.
 * Segments are built in the stack's transmit buffer, payload copied from the
 * connection's send ring.
 */
import { set16, set32 } from '../../wire/bytes.js';
import { IPPROTO_TCP, IP_FLAG_DF } from '../../wire/ipv4.js';
import {
  TCP_MIN_HLEN, TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN, TCPOPT_MSS, TCPOPT_NOP,
  TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP, TCPOPT_WSCALE, writeTcp, tcpSetChecksum, tcpSetPartialChecksum, seqGt, seqLt,
  TCP_CSUM,
} from '../../wire/tcp.js';
import { GSO_TCPV4 } from '../offload.js';
import { Errno } from '../errno.js';
import type { NetInterface } from '../netif.js';
import { IP_PAYLOAD_OFFSET } from '../ipv4.js';
import { IP6_PAYLOAD_OFFSET } from '../ipv6.js';
import { RouteRecord } from '../routes.js';
import { Route6Record } from '../routes6.js';
import { AF_INET6 } from '../socket-table.js';
import type { TcpCore } from './core.js';
import { writeSack } from './sack-out.js';
import {
  CLOSED, LISTEN, SYN_RECEIVED, SYN_SENT, TF_ACKNOW, TF_DELACK,
  TF_FIN_QUEUED, TF_FIN_SENT, TF_NODELAY, TF_SACK, TF_TS, TF_WS, TF_RTT_TIMING, TF_WINDOW_UPDATE, TF_FIN_ACKED, TF_TLP,
  TF_ACK_SOON, TF_ACK_HELD, TF_ACK_PUSHED, TF_ACK_PUSHED2, TF_MORE, TF_PINGPONG, TF_LOSS, TF_TLP_RTX,
  canSend, isHandshaking, isSending,
} from './tcb.js';


/** A lone FIN's flags, computed once (see sendData). */
const ACK_FIN = TH_ACK | TH_FIN;

/** Longest TCP header (60 bytes): what a super-segment leaves room for. */
const MAX_TCP_HLEN = 60;

export class TcpOutput {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  /** The same for IPv6 connections. */
  private readonly route6 = new Route6Record();

  constructor(private readonly core: TcpCore) {}

  /** The receive window to advertise (unscaled bytes), applying receiver-side SWS avoidance. */
  private window(s: number, syn: boolean): number {
    const t = this.core.t;
    // Without a buffer pair (lazy buffers) rcvLen is 0: the window is the capacity the connection will get.
    const cap = t.rcvCap[s];
    let win = cap - t.rcvLen[s];
    const edge = (t.rcvNxt[s] + win) | 0;
    const adv = t.rcvAdv[s];
    // Do not move the right edge by less than min(half the buffer, one MSS) (RFC 9293 3.8.6.2.2).
    if (seqGt(edge, adv) && !seqLt(adv, t.rcvNxt[s])) {
      const grow = (edge - adv) >>> 0;
      const mss = t.mss[s] > 0 ? t.mss[s] : 536;
      if (grow < (cap >>> 1 < mss ? cap >>> 1 : mss)) win = (adv - t.rcvNxt[s]) >>> 0;
    }
    if (syn) return win > 65535 ? 65535 : win;
    const ws = t.rcvWscale[s];
    let scaled = Math.floor(win / (1 << ws));
    if (scaled > 65535) scaled = 65535;
    return scaled;
  }

  /**
   * Build and send one segment of connection `s`: `len` payload bytes from
   * the send ring starting at sequence `seq`, with `flags`. SYN segments carry
   * the handshake options. Options can leave less room than `len`: returns
   * the payload bytes actually sent, or -1 when the segment could not be routed.
   */
  sendSegment(s: number, seq: number, len: number, flags: number): number {
    const c = this.core;
    const t = c.t;
    const st = c.sockets;
    const ip = c.ip;
    const r = this.route;
    // IPv6 connections route, size, checksum and send through c.v6 (ip6.ts); the segment is the same.
    const v6 = st.family[s] === AF_INET6;
    const r6 = this.route6;
    if (v6 ? c.v6.routeConn(r6, s) !== 0 : ip.route(r, st.remoteAddr[s], st.localAddr[s]) !== 0) return -1;
    const b = c.ctx.tx;
    const o = v6 ? IP6_PAYLOAD_OFFSET : IP_PAYLOAD_OFFSET;
    let p = o + TCP_MIN_HLEN;
    const syn = (flags & TH_SYN) !== 0;
    const tf = t.tflags[s];
    if (syn) {
      // Apart from this function (see TcpInput.segmentInput: V8 optimizes a lean hot function sooner).
      p = this.writeSynOptions(s, b, p);
    } else {
      if ((tf & TF_TS) !== 0) {
        b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_NOP; b[p + 2] = TCPOPT_TIMESTAMP; b[p + 3] = 10;
        set32(b, p + 4, c.tsNow(s));
        set32(b, p + 8, t.tsRecent[s]);
        p += 12;
      }
      if ((tf & TF_SACK) !== 0 && (t.oooCount[s] > 0 || t.dsackLeft[s] !== t.dsackRight[s]) && (flags & TH_RST) === 0) {
        p = writeSack(this.core, s, b, p, (tf & TF_TS) !== 0 ? 3 : 4);
      }
    }
    const hlen = p - o;
    const iface = (v6 ? r6.iface : r.iface) as NetInterface;
    // The link completes the checksum (and may cut a super-segment) when it offers offload (IPv4 only so far).
    const off = !v6 && iface.csumOffload && ip.offloadOk(r, IPPROTO_TCP, st.remoteAddr[s], st.localPort[s], st.remotePort[s]);
    let gso = 0;
    if (len > 0) {
      // Payload may not push the packet past the route's MTU once options are counted.
      const room = (v6 ? c.v6.mss(r6, st.remoteAddr6, 16 * s)
        : ip.flowMtu(r, IPPROTO_TCP, st.remoteAddr[s], st.localPort[s], st.remotePort[s]) - 20) - hlen;
      if (len > room) {
        // A super-segment, when the link cuts it (TSO), of pieces carrying
        // the MSS less this header's options (RFC 6691), as a sequence of
        // segments would.
        const tsoRoom = off ? iface.tsoMax - 20 - hlen : 0;
        let piece = t.mss[s] - (hlen - TCP_MIN_HLEN);
        if (piece > room) piece = room;
        if (tsoRoom > room && piece > 0) {
          gso = piece;
          if (len > tsoRoom) {
            len = tsoRoom;
            flags &= ~TH_FIN;
          }
        } else {
          len = room;
          // The FIN goes with the last byte only: a trimmed segment must not carry it.
          flags &= ~TH_FIN;
        }
      }
      t.snd.copyOut(s, (seq - t.sndUna[s]) >>> 0, b, p, len);
    }
    const ackFlag = (flags & TH_ACK) !== 0;
    const win = this.window(s, syn);
    writeTcp(b, o, st.localPort[s], st.remotePort[s], seq, ackFlag ? t.rcvNxt[s] : 0, hlen, flags, win);
    if (off) {
      // Partial checksum: the pseudo-header sum only; the link (the kernel) adds the data's.
      tcpSetPartialChecksum(b, o, hlen + len, r.src, st.remoteAddr[s]);
      const tx = iface.txOffload;
      tx.csumStart = o;
      tx.csumOffset = TCP_CSUM;
      if (gso > 0 && len > gso) {
        tx.gsoType = GSO_TCPV4;
        tx.gsoSize = gso;
        tx.hdrLen = o + hlen;
        c.stats.tsoSegments++;
      }
    } else if (!v6) {
      tcpSetChecksum(b, o, hlen + len, r.src, st.remoteAddr[s]);
    }
    if (ackFlag) this.ackSent(s, syn ? win : win * (1 << t.rcvWscale[s]));
    t.segsOut[s]++;
    c.stats.tx++;
    t.lastSendTime[s] = c.ctx.now;
    const n = hlen + len;
    const res = v6 ? c.v6.sendConn(r6, n, s) : ip.output(r, IPPROTO_TCP, n, st.remoteAddr[s], c.cfg.ttl, IP_FLAG_DF);
    if (off) iface.txOffload.clear();
    if (res === -Errno.ENOBUFS && len > 0) return -1; // link queue full: unsent, not lost (Linux tcp_write_xmit)
    return len;
  }

  /** A segment carrying an ACK with a window of `win` bytes left: no ACK is owed any more, the window's edge moved. */
  private ackSent(s: number, win: number): void {
    const t = this.core.t;
    t.lastAckSent[s] = t.rcvNxt[s];
    // An ACK of new data uses up one quick ACK (Linux tcp_dec_quickack_mode).
    if (t.unackedSegs[s] > 0 && t.ackQuick[s] > 0) t.ackQuick[s]--;
    t.tflags[s] &= ~(TF_ACKNOW | TF_DELACK | TF_WINDOW_UPDATE | TF_ACK_SOON | TF_ACK_HELD | TF_ACK_PUSHED | TF_ACK_PUSHED2);
    t.delackAt[s] = Infinity;
    t.unackedSegs[s] = 0;
    const edge = (t.rcvNxt[s] + win) | 0;
    if (seqGt(edge, t.rcvAdv[s])) t.rcvAdv[s] = edge;
  }

  /** The options of a SYN or SYN-ACK at `p` (after the fixed header), padded to 32 bits; returns the end. */
  private writeSynOptions(s: number, b: Uint8Array, p: number): number {
    const c = this.core;
    const t = c.t;
    const st = c.sockets;
    const cfg = c.cfg;
    const tf = t.tflags[s];
    // The MSS we offer leaves room for IPsec overhead when the flow is protected.
    const mss = st.family[s] === AF_INET6 ? c.v6.mss(this.route6, st.remoteAddr6, 16 * s)
      : c.ip.flowMtu(this.route, IPPROTO_TCP, st.remoteAddr[s], st.localPort[s], st.remotePort[s]) - 40;
    b[p] = TCPOPT_MSS; b[p + 1] = 4; set16(b, p + 2, mss); p += 4;
    const active = t.state[s] === SYN_SENT;
    if (cfg.tcpSack === 1 && (active || (tf & TF_SACK) !== 0)) {
      b[p] = TCPOPT_SACK_PERMITTED; b[p + 1] = 2; p += 2;
    }
    if (cfg.tcpTimestamps === 1 && (active || (tf & TF_TS) !== 0)) {
      b[p] = TCPOPT_TIMESTAMP; b[p + 1] = 10;
      set32(b, p + 2, c.tsNow(s));
      set32(b, p + 6, active ? 0 : t.tsRecent[s]);
      p += 10;
    }
    if (cfg.tcpWindowScaling === 1 && (active || (tf & TF_WS) !== 0)) {
      b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_WSCALE; b[p + 2] = 3; b[p + 3] = t.rcvWscale[s]; p += 4;
    }
    while (((p - IP_PAYLOAD_OFFSET) & 3) !== 0) b[p++] = TCPOPT_NOP;
    return p;
  }

  /** SYN (active open) or SYN-ACK (passive), at sequence iss. */
  sendSyn(s: number): void {
    const t = this.core.t;
    const flags = t.state[s] === SYN_RECEIVED ? TH_SYN | TH_ACK : TH_SYN;
    this.sendSegment(s, t.iss[s], 0, flags);
    if (seqGt(((t.iss[s] + 1) | 0), t.sndMax[s])) t.sndMax[s] = (t.iss[s] + 1) | 0;
    t.sndNxt[s] = (t.iss[s] + 1) | 0;
    if (t.rtoAt[s] === Infinity) this.armRto(s);
  }

  armRto(s: number): void {
    const c = this.core;
    const t = c.t;
    t.rtoAt[s] = c.ctx.now + this.rtoInterval(s);
    c.arm(t.rtoAt[s]);
    t.ptoAt[s] = Infinity;
    this.schedulePto(s);
  }

  /**
   * Tail loss probe (RFC 8985 7.2): with SACK, probe about two RTTs after the
   * last ACK or new data so a lost tail is repaired by fast recovery instead
   * of a timeout; also during fast recovery once everything marked lost has
   * been resent, but not in RTO recovery nor while a probe is outstanding.
   * Never later than the RTO (Linux tcp_schedule_loss_probe).
   */
  private schedulePto(s: number): void {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if (c.cfg.tcpTailLossProbe !== 1 || (t.tflags[s] & (TF_SACK | TF_LOSS | TF_TLP)) !== TF_SACK
      || t.backoff[s] !== 0 || t.lostBytes[s] !== 0 || t.srtt[s] <= 0 || !canSend(st)) {
      return;
    }
    // With one segment in flight the peer may be delaying its ACK: allow the
    // worst-case delayed-ACK time (RFC 8985 7.2, WCDelAckT = 200 ms).
    const single = ((t.sndMax[s] - t.sndUna[s]) | 0) <= c.smss(s);
    let pto = c.ctx.now + Math.max(2 * t.srtt[s], 10) + (single ? 200 : 0);
    if (pto > t.rtoAt[s]) pto = t.rtoAt[s];
    t.ptoAt[s] = pto;
    c.arm(pto);
  }

  /** The backed-off RTO (RFC 6298 5.5), capped at tcpMaxRtoMs. */
  private rtoInterval(s: number): number {
    const t = this.core.t;
    let rto = t.rto[s] * (1 << t.backoff[s]);
    if (rto > this.core.cfg.tcpMaxRtoMs) rto = this.core.cfg.tcpMaxRtoMs;
    return rto;
  }

  /**
   * After a RACK reordering timeout: the RTO counts from when the oldest
   * outstanding segment was sent, not from now (Linux tcp_rearm_rto with
   * tcp_rto_delta_us), so that timer never pushes the RTO back.
   */
  rearmRtoFromHead(s: number): void {
    const c = this.core;
    const t = c.t;
    if (t.sndUna[s] === t.sndMax[s]) return;
    const head = c.rack.headTime(s);
    if (head < 0) return;
    let at = head + this.rtoInterval(s);
    if (at <= c.ctx.now) at = c.ctx.now + 1;
    t.rtoAt[s] = at;
    c.arm(at);
    if (t.ptoAt[s] > at && t.ptoAt[s] !== Infinity) t.ptoAt[s] = at;
  }

  /**
   * The probe (RFC 8985 7.3): one new segment if the windows allow, else the
   * last segment sent again. Its SACK lets RACK find what of the tail is missing.
   */
  tailLossProbe(s: number): void {
    const c = this.core;
    const t = c.t;
    t.ptoAt[s] = Infinity;
    if (t.sndUna[s] === t.sndMax[s] || (t.tflags[s] & TF_LOSS) !== 0 || t.lostBytes[s] > 0) return;
    const smss = c.smss(s);
    const nxt = t.sndNxt[s];
    const avail = (t.sndUna[s] + t.sndLen[s] - nxt) | 0;
    const room = Math.floor(t.sndWnd[s] - ((nxt - t.sndUna[s]) >>> 0));
    c.stats.tailLossProbes++;
    t.tflags[s] &= ~TF_TLP_RTX;
    if (avail > 0 && room > 0) {
      this.transmit(s, nxt, Math.min(avail, room, smss), TH_ACK | TH_PSH);
    } else {
      t.tflags[s] |= TF_TLP_RTX;
      const dataEnd = (t.sndUna[s] + t.sndLen[s]) | 0;
      const end = seqLt(dataEnd, t.sndMax[s]) ? dataEnd : t.sndMax[s];
      let len = (end - t.sndUna[s]) | 0;
      if (len > smss) len = smss;
      if (len <= 0) return;
      this.transmit(s, (end - len) | 0, len, TH_ACK);
    }
    t.tflags[s] |= TF_TLP;
    t.tlpHigh[s] = t.sndMax[s];
    // One probe outstanding at a time (TF_TLP until it is acknowledged); the
    // RTO restarts from now once a probe went out (Linux tcp_send_loss_probe).
    this.armRto(s);
  }

  /**
   * A pure ACK now. It carries sndMax, not sndNxt: after a timeout pulled
   * sndNxt back, an ACK numbered below what the peer already has would be
   * unacceptable to it and its acknowledgement ignored (as BSD does).
   */
  sendAck(s: number): void {
    this.sendSegment(s, this.core.t.sndMax[s], 0, TH_ACK);
  }

  /** Send what the windows allow; then an ACK if one is owed and nothing carried it. */
  output(s: number): void {
    const c = this.core;
    const t = c.t;
    const state = t.state[s];
    if (state === CLOSED || state === LISTEN) return;
    if (isHandshaking(state)) {
      // An unacceptable segment in SYN_RECEIVED gets an ACK (RFC 9293); SYN-ACKs are resent by the timer.
      if ((t.tflags[s] & TF_ACKNOW) !== 0 && state === SYN_RECEIVED) this.sendAck(s);
      return;
    }
    if (isSending(state)) { // without a buffer pair there is no data, but a queued FIN still goes
      // Segments RACK marked lost go first (RFC 6675 NextSeg rule 1).
      if (t.lostBytes[s] > 0 && (t.tflags[s] & TF_SACK) !== 0 && t.buf[s] >= 0) c.rack.retransmitLost(s);
      this.sendData(s);
    }
    if ((t.tflags[s] & (TF_ACKNOW | TF_WINDOW_UPDATE)) !== 0) this.sendAck(s);
  }

  /**
   * Largest payload of one segment of `s` now: the MSS, or, when the route's
   * link cuts super-segments (TSO, NetInterface.tsoMax), as many whole MSS as
   * fit one with room for any options.
   */
  private maxSegment(s: number, smss: number): number {
    const c = this.core;
    const st = c.sockets;
    const r = this.route;
    // Offload is IPv4-only so far; an IPv6 slot's remoteAddr/localAddr are folds, not IPv4 addresses to route.
    if (st.family[s] === AF_INET6) return smss;
    if (c.ip.route(r, st.remoteAddr[s], st.localAddr[s]) !== 0) return smss;
    const iface = r.iface as NetInterface;
    if (iface.tsoMax === 0 || smss <= 0
      || !c.ip.offloadOk(r, IPPROTO_TCP, st.remoteAddr[s], st.localPort[s], st.remotePort[s])) {
      return smss;
    }
    const n = Math.floor((iface.tsoMax - 20 - MAX_TCP_HLEN) / smss);
    return n > 1 ? n * smss : smss;
  }

  private sendData(s: number): void {
    const c = this.core;
    const t = c.t;
    const dataEnd = (t.sndUna[s] + t.sndLen[s]) | 0;
    // Nothing unsent and no FIN queued (output after an ACK of everything, a request/response's usual case):
    // nothing below would send or arm, so skip the route lookup and window arithmetic.
    if (dataEnd === t.sndNxt[s] && (t.tflags[s] & TF_FIN_QUEUED) === 0) return;
    const smss = c.smss(s);
    // Looked up (route, offload) only when more than one segment's worth is waiting: it never cuts less.
    let maxSeg = -1;
    // One mask test, not a short-circuit chain: its second half would have no type feedback until a
    // connection first closes, and V8 would then discard the optimized sendData (a deopt and a recompile).
    const finQueued = (t.tflags[s] & (TF_FIN_QUEUED | TF_FIN_ACKED)) === TF_FIN_QUEUED;
    const nodelay = (t.tflags[s] & TF_NODELAY) !== 0 || finQueued;
    // MSG_MORE: the writer is adding more at once; a partial last segment waits for it.
    const corked = (t.tflags[s] & TF_MORE) !== 0 && !finQueued;
    for (let guard = 0; guard < 100000; guard++) {
      const una = t.sndUna[s];
      let nxt = t.sndNxt[s];
      // Going back over sent data: do not resend what the peer has SACKed.
      if (t.sackCount[s] > 0 && seqLt(nxt, t.sndMax[s])) nxt = this.pastSacked(s, nxt);
      const avail = (dataEnd - nxt) | 0;
      const cwnd = t.cwnd[s] + c.cc.allowance(s);
      // Each array read once: a read only in the rarely taken arm has no type feedback when V8 optimizes, and
      // its first use then throws the optimized sendData away (a deopt and a second compile).
      const sndWnd = t.sndWnd[s];
      const wnd = sndWnd < cwnd ? sndWnd : cwnd;
      const inflight = c.cc.pipe(s);
      let room = Math.floor(wnd - inflight);
      // The peer's window bounds what lies beyond sndUna, whatever the pipe says.
      const peerRoom = Math.floor(sndWnd - ((nxt - una) >>> 0));
      if (peerRoom < room) room = peerRoom;
      // One transmit call site and branch-free flags for data and a lone FIN: a call or an operation first
      // reached at a close would have no type feedback (a deopt of the optimized sendData at the first close).
      let len = avail;
      let flags = ACK_FIN;
      let fresh = false;
      if (avail > 0) {
        if (len > smss) {
          if (maxSeg < 0) maxSeg = this.maxSegment(s, smss);
          if (len > maxSeg) len = maxSeg;
        }
        if (room < len) len = room;
        if (t.sackCount[s] > 0 && seqLt(nxt, t.sndMax[s])) {
          const gap = c.cc.untilSacked(s, nxt);
          if (gap < len) len = gap;
        }
        if (len <= 0) break;
        fresh = !seqLt(nxt, t.sndMax[s]);
        if (len > smss) len = this.cutSuperSegment(s, len, smss, avail, nxt, corked, nodelay);
        else if (len < smss && this.holdPartial(s, len, avail, nxt, corked, nodelay)) break;
        const last = len === avail;
        flags = TH_ACK | (last ? TH_PSH : 0) | (last && finQueued ? TH_FIN : 0);
      } else if (avail !== 0 || !finQueued) {
        // avail === 0 is nxt === dataEnd; tested first, as it runs on every pass here.
        break;
      }
      if (!this.transmit(s, nxt, len, flags)) break; // not sent: no route, or the link's queue full
      if (len === 0) break; // the lone FIN
      if (fresh && t.sndNxt[s] !== nxt) this.dataSent(s, nxt, (t.sndNxt[s] - nxt) | 0, smss);
    }
    // Data waits with nothing in flight, on a closed window or one too small to
    // fill a segment: the persist timer probes the first and, as the override
    // timeout of RFC 9293 3.8.6.2.1, fills the second.
    if (((dataEnd - t.sndNxt[s]) | 0) > 0 && t.sndNxt[s] === t.sndUna[s]) this.maybePersist(s, smss);
  }

  /** sndNxt moved past what the peer has SACKed (not beyond sndMax); returns it. */
  private pastSacked(s: number, nxt: number): number {
    const t = this.core.t;
    const skip = this.core.cc.skipSacked(s, nxt);
    if (skip !== nxt) {
      nxt = seqLt(skip, t.sndMax[s]) ? skip : t.sndMax[s];
      t.sndNxt[s] = nxt;
    }
    return nxt;
  }

  /**
   * A super-segment ends on a whole segment unless it ends the data and
   * Nagle lets its partial tail go (Linux tcp_mss_split_point): the
   * remainder waits for the window, as a separate segment would.
   */
  private cutSuperSegment(s: number, len: number, smss: number, avail: number, nxt: number, corked: boolean,
    nodelay: boolean): number {
    const part = len % smss;
    if (part === 0) return len;
    const t = this.core.t;
    const una = t.sndUna[s];
    const sml = t.sndSml[s];
    const smallOut = seqGt(sml, una) && !seqGt(sml, t.sndMax[s]);
    return len < avail || corked || (!nodelay && nxt !== una && smallOut) ? len - part : len;
  }

  /**
   * Whether a partial segment of `len` bytes (of `avail` queued, at `nxt`)
   * waits: for the rest of a corked write (MSG_MORE), or by Nagle as Linux
   * applies it (Minshall's variant, tcp_nagle_check): a partial segment waits
   * only while an earlier partial segment is unacknowledged, not whenever
   * anything is in flight, so the tail of a write larger than one MSS leaves
   * at once (RFC 896, RFC 1122 4.2.3.4).
   */
  private holdPartial(s: number, len: number, avail: number, nxt: number, corked: boolean, nodelay: boolean): boolean {
    const t = this.core.t;
    const allQueued = len === avail;
    if (allQueued && corked) return true;
    const una = t.sndUna[s];
    const sml = t.sndSml[s];
    const smallOut = seqGt(sml, una) && !seqGt(sml, t.sndMax[s]);
    const nagleOk = nodelay || nxt === una || !smallOut;
    const bigEnough = t.maxSndWnd[s] > 0 && len >= t.maxSndWnd[s] / 2;
    return !(allQueued && nagleOk) && !bigEnough;
  }

  /** Arm the persist timer when the window leaves no room for a segment and nothing else is timed. */
  private maybePersist(s: number, smss: number): void {
    const c = this.core;
    const t = c.t;
    if (t.sndWnd[s] - ((t.sndNxt[s] - t.sndUna[s]) >>> 0) < smss && t.rtoAt[s] === Infinity && t.persistAt[s] === Infinity) {
      t.persistAt[s] = c.ctx.now + t.rto[s];
      c.arm(t.persistAt[s]);
    }
  }

  /**
   * New data left: remember the end of a small segment (Linux
   * tcp_minshall_update), and enter ping-pong (interactive) mode when this
   * answers data received less than the delayed-ACK time ago (Linux
   * tcp_event_data_sent): the ACK then rides on the reply instead of going
   * out at once.
   */
  private dataSent(s: number, seq: number, len: number, smss: number): void {
    const c = this.core;
    const t = c.t;
    if (len % smss !== 0) t.sndSml[s] = (seq + len) | 0; // (a super-segment's partial tail too)
    if (c.ctx.now - t.dataRcvTime[s] < c.cfg.tcpDelayedAckMs) t.tflags[s] |= TF_PINGPONG;
  }

  /**
   * Send data (and maybe FIN) at `seq` and start the timer. Sequential sends
   * (`seq` = sndNxt) advance sndNxt; a hole retransmitted out of order does
   * not, or the data between would be skipped.
   */
  transmit(s: number, seq: number, want: number, flags: number): boolean {
    const c = this.core;
    const t = c.t;
    const isRtx = seqLt(seq, t.sndMax[s]);
    const len = this.sendSegment(s, seq, want, flags);
    if (len < 0) return false;
    // The FIN (not on a trimmed segment) takes one sequence number. Branch-free, each operation run on every
    // call: one first reached at a close has no type feedback (a deopt of sendData, this is inlined into).
    const fin = len >= want && (flags & TH_FIN) !== 0 ? 1 : 0;
    const end = (seq + len + fin) | 0;
    t.tflags[s] |= fin !== 0 ? TF_FIN_SENT : 0;
    c.rack.onSend(s, seq, end, isRtx);
    if (isRtx) {
      this.retransmitted(s, seq);
    } else {
      t.bytesSent[s] += len;
      if ((t.tflags[s] & (TF_TS | TF_RTT_TIMING)) === 0 && len > 0) {
        t.tflags[s] |= TF_RTT_TIMING;
        t.rttSeq[s] = seq;
        t.rttStart[s] = c.ctx.now;
      }
    }
    if (seq === t.sndNxt[s] && seqGt(end, t.sndNxt[s])) t.sndNxt[s] = end;
    if (seqGt(end, t.sndMax[s])) t.sndMax[s] = end;
    if (t.rtoAt[s] === Infinity) this.armRto(s);
    else if (!isRtx) this.schedulePto(s); // the probe follows the newest data (as Linux)
    t.persistAt[s] = Infinity;
    return true;
  }

  /** Counts of a retransmission at `seq`, and Karn's rule: a retransmitted range cannot be timed without timestamps. */
  private retransmitted(s: number, seq: number): void {
    const c = this.core;
    const t = c.t;
    t.retransmits[s]++;
    c.stats.retransmits++;
    if ((t.tflags[s] & TF_RTT_TIMING) !== 0 && !seqLt(t.rttSeq[s], seq)) t.tflags[s] &= ~TF_RTT_TIMING;
  }

  /** Persist timer with a non-zero window: send what fits, however small (SWS override). */
  fillWindow(s: number): boolean {
    const c = this.core;
    const t = c.t;
    const room = Math.floor(t.sndWnd[s] - ((t.sndNxt[s] - t.sndUna[s]) >>> 0));
    const avail = (t.sndUna[s] + t.sndLen[s] - t.sndNxt[s]) | 0;
    const smss = c.smss(s);
    let len = avail < room ? avail : room;
    if (len > smss) len = smss;
    if (len <= 0) return false;
    this.transmit(s, t.sndNxt[s], len, TH_ACK | TH_PSH);
    return true;
  }

  /** RST in reply to a segment that has no connection (RFC 9293 3.10.7.1). */
  sendReset(src: number, dst: number, sport: number, dport: number, segSeq: number, segAck: number,
    segLen: number, hadAck: boolean): void {
    const c = this.core;
    const r = this.route;
    if (c.ip.route(r, src, dst) !== 0) return;
    const b = c.ctx.tx;
    const o = IP_PAYLOAD_OFFSET;
    if (hadAck) writeTcp(b, o, dport, sport, segAck, 0, TCP_MIN_HLEN, TH_RST, 0);
    else writeTcp(b, o, dport, sport, 0, (segSeq + segLen) | 0, TCP_MIN_HLEN, TH_RST | TH_ACK, 0);
    tcpSetChecksum(b, o, TCP_MIN_HLEN, r.src, src);
    c.stats.rstOut++;
    c.stats.tx++;
    c.ip.output(r, IPPROTO_TCP, TCP_MIN_HLEN, src, c.cfg.ttl, IP_FLAG_DF);
  }

  /** {@link sendReset} for an IPv6 segment: its source and destination are the 16 bytes at `b[srcOff]`, `b[dstOff]`. */
  sendReset6(b6: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number, segSeq: number,
    segAck: number, segLen: number, hadAck: boolean): void {
    const c = this.core;
    const r = this.route6;
    if (c.v6.route(r, b6, srcOff, b6, dstOff) !== 0) return;
    const b = c.ctx.tx;
    const o = IP6_PAYLOAD_OFFSET;
    if (hadAck) writeTcp(b, o, dport, sport, segAck, 0, TCP_MIN_HLEN, TH_RST, 0);
    else writeTcp(b, o, dport, sport, 0, (segSeq + segLen) | 0, TCP_MIN_HLEN, TH_RST | TH_ACK, 0);
    c.stats.rstOut++;
    c.stats.tx++;
    c.v6.send(r, TCP_MIN_HLEN, b6, srcOff);
  }

  /** RST for an existing connection (abort). */
  sendRstFor(s: number): void {
    this.core.stats.rstOut++;
    this.sendSegment(s, this.core.t.sndNxt[s], 0, TH_RST | TH_ACK);
  }

  /** Keepalive probe or challenge: an ACK carrying sequence sndUna - 1 (RFC 9293 3.8.4). */
  sendKeepalive(s: number): void {
    this.sendSegment(s, (this.core.t.sndUna[s] - 1) | 0, 0, TH_ACK);
  }
}
