/**
 * Segment arrival (RFC 9293 3.10.7) with the robustness rules of RFC 5961
 * (challenge ACKs, ACK validation) and PAWS (RFC 7323): parsing, the
 * connection lookup, the handshake, and segment acceptance (PAWS, sequence
 * check, RST and SYN). ACK processing is in input-ack.ts, payload and FIN in
 * input-data.ts. The fields of the segment being processed live in this
 * object (a {@link Segment}), not in per-segment objects.
 */
import {
  TCP_MIN_HLEN, TH_ACK, TH_FIN, TH_RST, TH_SYN, parseTcpOptions, tcpAck, tcpChecksumOk, tcpChecksumOk6, tcpDstPort,
  tcpFlags, tcpHeaderLen, tcpSeq, tcpSrcPort, tcpWindow, seqGe, seqGt, seqLe, seqLt,
} from '../../wire/tcp.js';
import { EV_READABLE, fold6w } from '../socket-table.js';
import { LITTLE_ENDIAN, wholeView } from '../../wire/bytes.js';
import type { NetInterface } from '../netif.js';
import { Errno } from '../errno.js';
import { RouteRecord } from '../routes.js';
import { Route6Record } from '../routes6.js';
import { TCP6_MIN_MSS } from './ip6.js';
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import type { TcpCore } from './core.js';
import {
  CLOSING, ESTABLISHED, LAST_ACK, SYN_RECEIVED, SYN_SENT, TIME_WAIT,
  TF_ACKNOW, TF_CONNECTING, TF_ORPHAN, TF_SACK, TF_TS, TF_WS, TF_KEEPALIVE,
  setState, isClosed, isSynchronized,
} from './tcb.js';
import { challengeAck, oowAck } from './acks.js';
import { Segment } from './segment.js';
import { processAck } from './input-ack.js';
import { enterTimeWait, processData } from './input-data.js';

/** Largest window shift (RFC 7323 2.3). */
const MAX_WSCALE = 14;
/** TS.Recent older than 24 days is no longer a PAWS reference (RFC 7323 5.5). */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** Window shift needed to advertise `cap` bytes in 16 bits. */
export function wscaleFor(cap: number): number {
  let ws = 0;
  while (ws < MAX_WSCALE && (cap >>> ws) > 65535) ws++;
  return ws;
}

/** Segment arrival; the segment under processing is this object's own fields (see {@link Segment}). */
export class TcpInput extends Segment {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  private readonly route6 = new Route6Record();

  constructor(private readonly core: TcpCore) {
    super();
  }

  input(iface: NetInterface, b: Uint8Array, ipOff: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    const o = ipOff + hlen;
    const len = total - hlen;
    const thl = this.header(b, o, len, bcast);
    if (thl < 0) return;
    // A link with checksum offload vouches for the data (RX_CSUM_VALID, RX_CSUM_PARTIAL).
    if (iface.rxFlags === 0 && !tcpChecksumOk(b, o, len, src, dst)) {
      this.core.stats.badChecksum++;
      return;
    }
    if (total > iface.mtu) this.core.stats.groSegments++;
    if (!this.fields(b, o, thl, len)) return;
    this.src = src;
    this.dst = dst;
    this.v6 = false;
    this.demux(this.core.lookup(dst, this.dport, src, this.sport));
  }

  /**
   * A segment over IPv6 (the Transport6Input of ipv6-input.ts): the same
   * processing as {@link input}, with the connection and listener found by
   * 16-byte addresses (RFC 8200 8.1 pseudo-header checksum).
   */
  input6(iface: NetInterface, b: Uint8Array, ipOff: number, o: number, len: number, multicast: boolean): void {
    // TCP has no multicast (RFC 9293 3.9.1.1 is unicast only); IPv6 input hands them over flagged.
    const thl = this.header(b, o, len, multicast);
    if (thl < 0) return;
    const srcOff = ipOff + 8;
    const dstOff = ipOff + 24;
    // A link with checksum offload vouches for the data (RX_CSUM_VALID, RX_CSUM_PARTIAL), as for IPv4.
    if (iface.rxFlags === 0 && !tcpChecksumOk6(b, o, len, srcOff, dstOff)) {
      this.core.stats.badChecksum++;
      return;
    }
    if (!this.fields(b, o, thl, len)) return;
    // Both addresses as words, read once: their folds are the hash keys of family-6 slots (ip6.ts), and the
    // lookup confirms all 16 bytes of each, a word at a time.
    const v = wholeView(b);
    const sp = b.byteOffset + srcOff;
    const s0 = v.getInt32(sp, LITTLE_ENDIAN);
    const s1 = v.getInt32(sp + 4, LITTLE_ENDIAN);
    const s2 = v.getInt32(sp + 8, LITTLE_ENDIAN);
    const s3 = v.getInt32(sp + 12, LITTLE_ENDIAN);
    const d0 = v.getInt32(sp + 16, LITTLE_ENDIAN);
    const d1 = v.getInt32(sp + 20, LITTLE_ENDIAN);
    const d2 = v.getInt32(sp + 24, LITTLE_ENDIAN);
    const d3 = v.getInt32(sp + 28, LITTLE_ENDIAN);
    this.src = fold6w(s0, s1, s2, s3);
    this.dst = fold6w(d0, d1, d2, d3);
    this.v6 = true;
    this.src6Off = srcOff;
    this.dst6Off = dstOff;
    this.demux(this.core.v6.lookup6Words(this.dst, d0, d1, d2, d3, this.dport, this.src, s0, s1, s2, s3, this.sport));
  }

  /**
   * Both families' first step: counts the segment; returns its header length,
   * or -1 when it is malformed (counted): too short, a bad data offset, or sent
   * to a broadcast or multicast address (`notUnicast`).
   */
  private header(b: Uint8Array, o: number, len: number, notUnicast: boolean): number {
    const st = this.core.stats;
    st.rx++;
    if (notUnicast || len < TCP_MIN_HLEN) {
      st.malformed++;
      return -1;
    }
    const thl = tcpHeaderLen(b, o);
    if (thl < TCP_MIN_HLEN || thl > len) {
      st.malformed++;
      return -1;
    }
    return thl;
  }

  /** After the checksum, both families: the options (false when bad, counted) and the header's fields into this segment. */
  private fields(b: Uint8Array, o: number, thl: number, len: number): boolean {
    if (!parseTcpOptions(b, o, thl, this.opts)) {
      this.core.stats.badOptions++;
      return false;
    }
    this.b = b;
    this.dataOff = o + thl;
    this.len = len - thl;
    this.seq = tcpSeq(b, o);
    this.ack = tcpAck(b, o);
    this.flags = tcpFlags(b, o);
    this.win = tcpWindow(b, o);
    this.sport = tcpSrcPort(b, o);
    this.dport = tcpDstPort(b, o);
    return true;
  }

  /**
   * The family-neutral rest of input: the segment for connection `s` (-1:
   * none; a SYN may reopen one in TIME_WAIT), else for a listener of its
   * family, else answered as for no connection.
   */
  private demux(s: number): void {
    const c = this.core;
    if (s >= 0 && c.t.state[s] === TIME_WAIT && (this.flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN
      && this.timeWaitReopen(s)) {
      s = -1;
    }
    if (s < 0) {
      const l = this.v6 ? c.v6.findListener6(this.b, this.dst6Off, this.dport) : c.findListener(this.dst, this.dport);
      if (l >= 0) this.listenInput(l);
      else this.noConnection();
      this.release();
      return;
    }
    c.t.segsIn[s]++;
    if (c.t.state[s] === SYN_SENT) this.synSentInput(s);
    else this.segmentInput(s);
    this.release();
  }

  /** A SYN for a connection in TIME_WAIT may start a new one if it is newer (RFC 6191 / RFC 9293 3.6.1). */
  private timeWaitReopen(s: number): boolean {
    const t = this.core.t;
    const newer = (t.tflags[s] & TF_TS) !== 0 && this.opts.hasTimestamp
      ? seqGt(this.opts.tsVal, t.tsRecent[s]) : seqGt(this.seq, t.rcvNxt[s]);
    if (!newer) return false;
    this.core.stats.timeWaitRecycled++;
    if ((t.tflags[s] & TF_ORPHAN) !== 0) this.core.destroy(s);
    else this.core.finish(s, 0);
    return true;
  }

  private noConnection(): void {
    const c = this.core;
    c.stats.noSocket++;
    if ((this.flags & TH_RST) !== 0) return;
    const segLen = this.len + ((this.flags & TH_SYN) !== 0 ? 1 : 0) + ((this.flags & TH_FIN) !== 0 ? 1 : 0);
    if (this.v6) {
      c.out.sendReset6(this.b, this.src6Off, this.dst6Off, this.sport, this.dport, this.seq, this.ack, segLen,
        (this.flags & TH_ACK) !== 0);
      return;
    }
    c.out.sendReset(this.src, this.dst, this.sport, this.dport, this.seq, this.ack, segLen, (this.flags & TH_ACK) !== 0);
  }

  /** Negotiate MSS, window scale, timestamps and SACK from a SYN's options. */
  private negotiate(s: number, fromSynAck: boolean): void {
    const c = this.core;
    const t = c.t;
    const o = this.opts;
    const cfg = c.cfg;
    // Without an MSS option: 536 over IPv4 (RFC 9293 3.7.1), 1220 over IPv6 (RFC 8200 8.3).
    const peerMss = o.mss > 0 ? o.mss : this.v6 ? TCP6_MIN_MSS : 536;
    const rt = this.route;
    const r6 = this.route6;
    const mtuMss = this.v6
      ? (c.v6.route(r6, this.b, this.src6Off, this.b, this.dst6Off) === 0 ? c.v6.mss(r6, this.b, this.src6Off) : TCP6_MIN_MSS)
      : c.ip.route(rt, this.src, this.dst) === 0 ? c.ip.flowMtu(rt, IPPROTO_TCP, this.src, this.dport, this.sport) - 40 : 536;
    t.peerMss[s] = peerMss;
    t.mss[s] = peerMss < mtuMss ? peerMss : mtuMss;
    let tf = t.tflags[s];
    if (cfg.tcpWindowScaling === 1 && o.wscale >= 0) {
      tf |= TF_WS;
      t.sndWscale[s] = o.wscale > MAX_WSCALE ? MAX_WSCALE : o.wscale;
      if (!fromSynAck) t.rcvWscale[s] = wscaleFor(t.rcvCap[s]);
    } else {
      tf &= ~TF_WS;
      t.sndWscale[s] = 0;
      t.rcvWscale[s] = 0;
    }
    if (cfg.tcpTimestamps === 1 && o.hasTimestamp) {
      tf |= TF_TS;
      t.tsRecent[s] = o.tsVal;
    } else {
      tf &= ~TF_TS;
    }
    if (cfg.tcpSack === 1 && o.sackPermitted) tf |= TF_SACK;
    else tf &= ~TF_SACK;
    t.tflags[s] = tf;
  }

  /** A segment for a listener (no connection matched): requests, cookies and new connections (passive.ts). */
  private listenInput(l: number): void {
    const c = this.core;
    c.passive.peer6(this.v6 ? this.b : null, this.dst6Off, this.src6Off);
    const s = c.passive.input(l, this.opts, this.seq, this.ack, this.flags, this.src, this.dst, this.sport, this.dport);
    c.passive.peer6(null, 0, 0);
    if (s < 0) return;
    // The third segment of the handshake made a connection in SYN_RECEIVED: process it there.
    c.t.segsIn[s]++;
    this.segmentInput(s);
    if (c.sockets.type[s] !== 0 && c.t.state[s] === SYN_RECEIVED) c.destroy(s); // refused (PAWS): no half state
  }

  private synSentInput(s: number): void {
    const c = this.core;
    const t = c.t;
    const f = this.flags;
    if ((f & TH_ACK) !== 0 && (seqLe(this.ack, t.iss[s]) || seqGt(this.ack, t.sndMax[s]))) {
      if ((f & TH_RST) === 0) this.noConnection();
      return;
    }
    if ((f & TH_RST) !== 0) {
      if ((f & TH_ACK) !== 0) {
        c.stats.rstIn++;
        c.finish(s, Errno.ECONNREFUSED);
      }
      return;
    }
    if ((f & TH_SYN) === 0) return;
    t.irs[s] = this.seq;
    t.rcvNxt[s] = (this.seq + 1) | 0;
    t.rcvAdv[s] = t.rcvNxt[s];
    const offeredWs = t.rcvWscale[s];
    this.negotiate(s, true);
    if ((t.tflags[s] & TF_WS) !== 0) t.rcvWscale[s] = offeredWs;
    if ((f & TH_ACK) === 0) {
      // Simultaneous open.
      setState(t, s, SYN_RECEIVED);
      t.sndWnd[s] = this.win;
      t.rtoAt[s] = Infinity;
      t.backoff[s] = 0;
      c.out.sendSyn(s);
      return;
    }
    t.sndUna[s] = this.ack;
    this.synRtt(s);
    t.sndWnd[s] = this.win; // never scaled in a SYN (RFC 7323 2.2)
    t.maxSndWnd[s] = this.win;
    t.sndWl1[s] = this.seq;
    t.sndWl2[s] = this.ack;
    this.established(s);
    t.tflags[s] |= TF_ACKNOW;
    if (this.len > 0 || (f & TH_FIN) !== 0) processData(c, this, s);
    c.out.output(s);
  }

  /** RTT of the handshake, unless the SYN was retransmitted (Karn) and no timestamp tells which. */
  private synRtt(s: number): void {
    const c = this.core;
    const t = c.t;
    if ((t.tflags[s] & TF_TS) !== 0 && this.opts.hasTimestamp && this.opts.tsEcr !== 0) {
      c.rttSample(s, ((c.tsNow(s) - this.opts.tsEcr) | 0));
    } else if (t.backoff[s] === 0) {
      c.rttSample(s, c.ctx.now - t.rttStart[s]);
    }
    t.backoff[s] = 0;
  }

  private established(s: number): void {
    const c = this.core;
    const t = c.t;
    setState(t, s, ESTABLISHED);
    t.rtoAt[s] = Infinity;
    t.stateAt[s] = Infinity;
    t.sndSml[s] = t.sndUna[s]; // no small segment outstanding yet (Linux sets snd_sml to the ISN + 1)
    c.cc.init(s);
    c.stats.established++;
    if ((t.tflags[s] & TF_CONNECTING) !== 0) {
      t.tflags[s] &= ~TF_CONNECTING;
      c.stats.activeOpens++;
      c.writable(s);
    }
    if ((t.tflags[s] & TF_KEEPALIVE) !== 0) c.arm(c.ctx.now + t.keepIdle[s]);
  }

  /**
   * Synchronized states and SYN_RECEIVED. The common path (an acceptable
   * ACK, maybe with data) stays in this function; the rare cases are
   * separate methods, so that V8 optimizes this one early: its tier-up
   * counts the function's whole bytecode against the part that runs.
   */
  private segmentInput(s: number): void {
    const c = this.core;
    const t = c.t;
    const f = this.flags;
    const o = this.opts;
    const now = c.ctx.now;
    const idle = now - t.lastRecvTime[s];
    t.lastRecvTime[s] = now;
    t.keepProbes[s] = 0;
    const state = t.state[s];

    if (state === SYN_RECEIVED && (f & TH_SYN) !== 0 && this.seq === t.irs[s] && this.synReceivedSyn(s)) return;

    // PAWS (RFC 7323 5.3).
    if ((t.tflags[s] & TF_TS) !== 0 && o.hasTimestamp && (f & TH_RST) === 0
      && seqLt(o.tsVal, t.tsRecent[s]) && idle < PAWS_IDLE_MS) {
      this.pawsReject(s);
      return;
    }

    // Sequence acceptability (RFC 9293 3.10.7.4, first check).
    // The window is promised from the capacity whether or not a buffer pair is held yet (lazy buffers).
    const rcvWnd = Math.max(0, (t.rcvAdv[s] - t.rcvNxt[s]) | 0, t.rcvCap[s] - t.rcvLen[s]);
    const segLen = this.len + ((f & TH_SYN) !== 0 ? 1 : 0) + ((f & TH_FIN) !== 0 ? 1 : 0);
    const rn = t.rcvNxt[s];
    const segEnd = (this.seq + segLen) | 0;
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = rcvWnd === 0 ? this.seq === rn : seqGe(this.seq, rn) && seqLt(this.seq, (rn + rcvWnd) | 0);
    } else if (rcvWnd === 0) {
      acceptable = false;
    } else {
      acceptable = (seqGe(this.seq, rn) && seqLt(this.seq, (rn + rcvWnd) | 0))
        || (seqGt(segEnd, rn) && seqLe(segEnd, (rn + rcvWnd) | 0));
    }
    if (!acceptable) {
      this.unacceptable(s, segLen, segEnd, rn);
      return;
    }

    // RST (RFC 5961 3.2): only an exact match resets; in-window ones get a challenge ACK.
    if ((f & TH_RST) !== 0) {
      this.resetInput(s, rn);
      return;
    }

    // SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
    if ((f & TH_SYN) !== 0) {
      challengeAck(c, s);
      return;
    }
    if ((f & TH_ACK) === 0) return;

    if (state === SYN_RECEIVED) {
      if (!this.synReceivedAck(s)) return;
    } else if (!processAck(c, this, s)) {
      return;
    }
    // TS.Recent (RFC 7323 4.3) from segments covering Last.ACK.sent, only once
    // the ACK proved valid: a blind segment must not poison it (as Linux does).
    if ((t.tflags[s] & TF_TS) !== 0 && o.hasTimestamp && seqLe(this.seq, t.lastAckSent[s])
      && seqGe(o.tsVal, t.tsRecent[s]) && !isClosed(t.state[s])) {
      t.tsRecent[s] = o.tsVal;
    }
    if (t.state[s] === TIME_WAIT) {
      if ((f & TH_FIN) !== 0) enterTimeWait(c, s);
      return;
    }
    // (len | FIN bit) > 0: data or a FIN, one test (the FIN half of a chain first runs at a close, a deopt).
    if (isSynchronized(t.state[s]) && (this.len | (f & TH_FIN)) > 0) processData(c, this, s);
    if (c.sockets.type[s] !== 0) c.out.output(s);
  }

  /**
   * A SYN repeating the peer's ISN in SYN_RECEIVED. Returns true when it was
   * dealt with, false when it goes on through the normal checks.
   */
  private synReceivedSyn(s: number): boolean {
    const f = this.flags & (TH_SYN | TH_ACK | TH_RST);
    if (f === TH_SYN) {
      // The peer did not get our SYN-ACK and retransmitted its SYN: answer that SYN once.
      this.core.out.sendSyn(s);
      return true;
    }
    if (f === (TH_SYN | TH_ACK)) {
      // Simultaneous open: the peer's SYN-ACK repeats the SYN we already took.
      // Drop the SYN bit (it consumed irs) and let its ACK complete the handshake (as BSD does).
      this.flags &= ~TH_SYN;
      this.seq = (this.seq + 1) | 0;
      this.segmentInput(s);
      return true;
    }
    return false;
  }

  /** A segment PAWS rejects (RFC 7323 5.3): counted, answered with an ACK (rate-limited). */
  private pawsReject(s: number): void {
    const c = this.core;
    const t = c.t;
    c.stats.pawsDropped++;
    // An old copy of data we already have (typically the late original of a
    // segment the sender also retransmitted): report it with D-SACK so the
    // sender can undo a spurious recovery, as Linux's tcp_send_dupack does.
    if (this.len > 0 && (t.tflags[s] & TF_SACK) !== 0 && seqLt(this.seq, t.rcvNxt[s])) {
      const end = (this.seq + this.len) | 0;
      t.dsackLeft[s] = this.seq;
      t.dsackRight[s] = seqGt(end, t.rcvNxt[s]) ? t.rcvNxt[s] : end;
    }
    oowAck(c, this, s);
  }

  /** A segment outside the receive window (RFC 9293 3.10.7.4, first check failed). */
  private unacceptable(s: number, segLen: number, segEnd: number, rn: number): void {
    const c = this.core;
    const t = c.t;
    const f = this.flags;
    if ((f & TH_RST) !== 0) return;
    if (segLen > 0 && seqLe(segEnd, rn)) {
      // Entirely old: a duplicate. Report it with D-SACK (RFC 2883).
      c.stats.duplicateSegments++;
      if ((t.tflags[s] & TF_SACK) !== 0 && this.len > 0) {
        t.dsackLeft[s] = this.seq;
        t.dsackRight[s] = (this.seq + this.len) | 0;
      }
    } else {
      c.stats.outOfWindow++;
    }
    // TIME_WAIT restarts on a retransmitted FIN; enterTimeWait sends the one ACK it needs.
    if (t.state[s] === TIME_WAIT && (f & TH_FIN) !== 0) enterTimeWait(c, s);
    else oowAck(c, this, s);
  }

  /** An in-window RST (RFC 5961 3.2): only an exact match resets; the others get a challenge ACK. */
  private resetInput(s: number, rn: number): void {
    const c = this.core;
    const t = c.t;
    if (this.seq !== rn) {
      challengeAck(c, s);
      return;
    }
    c.stats.rstIn++;
    const state = t.state[s];
    if (state === TIME_WAIT) return; // RFC 1337: no TIME-WAIT assassination
    c.stats.resets++;
    if (state === SYN_RECEIVED && t.parent[s] >= 0) {
      c.destroy(s);
      return;
    }
    const errno = state === CLOSING || state === LAST_ACK ? 0
      : (state === SYN_RECEIVED && (t.tflags[s] & TF_CONNECTING) !== 0 ? Errno.ECONNREFUSED : Errno.ECONNRESET);
    c.finish(s, errno);
  }

  /** The ACK completing a handshake in SYN_RECEIVED. Returns false when the segment is finished with. */
  private synReceivedAck(s: number): boolean {
    const t = this.core.t;
    if (seqLe(this.ack, t.sndUna[s]) || seqGt(this.ack, t.sndMax[s])) {
      this.noConnection();
      return false;
    }
    t.sndUna[s] = this.ack;
    this.synRtt(s);
    t.sndWnd[s] = this.win * (1 << t.sndWscale[s]);
    t.maxSndWnd[s] = t.sndWnd[s];
    t.sndWl1[s] = this.seq;
    t.sndWl2[s] = this.ack;
    this.established(s);
    this.enqueueAccept(s);
    return true;
  }

  /** A child reached ESTABLISHED: hand it to its listener's accept queue. */
  private enqueueAccept(s: number): void {
    const t = this.core.t;
    const p = t.parent[s];
    if (p < 0) return;
    t.acceptNext[s] = -1;
    if (t.acceptTail[p] >= 0) t.acceptNext[t.acceptTail[p]] = s;
    else t.acceptHead[p] = s;
    t.acceptTail[p] = s;
    t.acceptCount[p]++;
    this.core.raise(p, EV_READABLE);
  }
}
