/**
 * Passive opens (RFC 9293 3.10.7.2, segment arrives in LISTEN): SYNs become
 * request records of the {@link SynQueue} (or SYN cookies when the queue is
 * full, RFC 4987), SYN-ACKs are sent and retransmitted from the records, and
 * only a valid third segment makes a TCP connection, subject to the
 * listener's accept queue and to the fairness limits that keep other
 * listeners and outgoing connections working.
 */
import { set16, set32 } from '../../wire/bytes.js';
import { IPPROTO_TCP, IP_FLAG_DF } from '../../wire/ipv4.js';
import {
  TCP_MIN_HLEN, TH_ACK, TH_RST, TH_SYN, TCPOPT_MSS, TCPOPT_NOP, TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE, type TcpOptions, writeTcp, tcpSetChecksum,
} from '../../wire/tcp.js';
import { AF_INET6, F_BOUND, F_INET6 } from '../socket-table.js';
import type { Carver } from '../../storage/arena.js';
import { IP_PAYLOAD_OFFSET } from '../ipv4.js';
import { RouteRecord } from '../routes.js';
import { Route6Record } from '../routes6.js';
import { IP6_PAYLOAD_OFFSET } from '../ipv6.js';
import { TCP6_MIN_MSS } from './ip6.js';
import type { TcpCore } from './core.js';
import { SYN_RECEIVED, TF_SACK, TF_TS, TF_WS, setState } from './tcb.js';
import { wscaleFor } from './input.js';
import { REQ_SACK, REQ_TS, REQ_WS, SynQueue } from './syn-queue.js';
import {
  COOKIE_MSS, COOKIE_MSS6, COOKIE_TICK_MS, SynCookies, cookieMssIndex, cookieTsSack, cookieTsVal, cookieTsWscale,
} from './syncookie.js';
import { type HandOffListener, LinkHandOff } from './passive-link.js';

/** Largest window shift (RFC 7323 2.3). */
const MAX_WSCALE = 14;

export class TcpPassive implements HandOffListener {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  private readonly route6 = new Route6Record();
  /**
   * The IPv6 endpoints of the segment or record being handled: our address
   * at `l6[l6Off]`, the peer's at `r6[r6Off]` (the received packet, or a
   * request record's); `l6` null over IPv4. Set by {@link peer6} before
   * {@link input}; the numbers passed as addresses are then their folds.
   */
  private l6: Uint8Array | null = null;
  private l6Off = 0;
  private r6: Uint8Array | null = null;
  private r6Off = 0;
  readonly q: SynQueue;
  private readonly cookies: SynCookies;
  /** When the engine last sent a cookie (see {@link cookiesOutAt}: cookie ACKs are looked for only while cookies may be valid). */
  private lastCookieAt = -Infinity;
  /** The MSS option of the last SYN-ACK built (for the link's SYN responder). */
  private synAckMss = 0;
  /** Listeners handed to a link's SYN responder (passive-link.ts), renewed from {@link poll} while their queue overflows. */
  private readonly links: LinkHandOff;

  constructor(m: Carver, private readonly core: TcpCore, synBacklog: number) {
    this.q = new SynQueue(m, synBacklog, core.sockets.localAddr6.length > 0);
    this.cookies = new SynCookies(core.ctx);
    this.links = new LinkHandOff(core, this.cookies.key, this);
  }

  /**
   * Until when cookies of ours may be out: the last one the engine sent, or
   * the end of a link responder's hold (it sends them for us meanwhile).
   */
  private cookiesOutAt(): number {
    const held = this.links.heldUntil;
    return held > this.lastCookieAt ? held : this.lastCookieAt;
  }

  /** Our window scale for a child of listener `l`. */
  ourWscale(l: number): number {
    return wscaleFor(this.listenRcvCap(l));
  }

  /** The IPv6 addresses of the next {@link input} (null: an IPv4 segment): both 16 bytes in `b`. */
  peer6(b: Uint8Array | null, localOff: number, remoteOff: number): void {
    this.l6 = b;
    this.l6Off = localOff;
    this.r6 = b;
    this.r6Off = remoteOff;
  }

  /** Receive buffer a child of listener `l` will have (its SO_RCVBUF or the pool's). */
  private listenRcvCap(l: number): number {
    const t = this.core.t;
    const want = t.rcvCapWant[l];
    const max = t.recvBufferBytes;
    return want > 0 && want < max ? want : max;
  }

  /** The window of our SYN-ACK (never scaled in a SYN, RFC 7323 2.2). */
  synWindow(l: number): number {
    const cap = this.listenRcvCap(l);
    return cap > 65535 ? 65535 : cap;
  }

  /**
   * May listener `l` get one more connection? Queued + accepted children of
   * one listener stay below N - R, all passive opens below N - R/2 (N the
   * TCP table, R `tcpReservedSockets`), so the last slots stay for other
   * listeners and for outgoing connections. `make`: a connection is about
   * to be made (not only a SYN answered): a full table may recycle TIME_WAIT.
   */
  private room(l: number, make: boolean): boolean {
    const c = this.core;
    const cfg = c.cfg;
    const so = c.sockets;
    const n = cfg.maxTcpSockets < so.capacity ? cfg.maxTcpSockets : so.capacity;
    const r = cfg.tcpReservedSockets;
    const half = (r + 1) >> 1;
    // Descriptors held by TIME_WAIT are as good as free: allocSlot() recycles the
    // oldest when the table is full (a server that closes first leaves one per connection).
    return c.t.children[l] < n - r && c.passiveConns < n - half && so.used - c.timeWaitConns + half < so.capacity
      && (!make || c.connectionRoom());
  }

  /**
   * A segment for listener `l` that matches no connection. Returns a new
   * connection slot (SYN_RECEIVED, its handshake completed by the caller's
   * processing of this same segment) or -1 when the segment was dealt with.
   */
  input(l: number, o: TcpOptions, seq: number, ack: number, flags: number, src: number, dst: number, sport: number,
    dport: number): number {
    const c = this.core;
    const q = this.q;
    const l6 = this.l6;
    const r = l6 !== null ? q.lookup6(l6, this.l6Off, dport, this.r6 as Uint8Array, this.r6Off, sport)
      : q.lookup(dst, dport, src, sport);
    if ((flags & TH_RST) !== 0) {
      // A reset for a pending request (RFC 9293 3.10.7.3, SYN-RECEIVED): in sequence, it ends it.
      if (r >= 0 && seq === ((q.irs[r] + 1) | 0)) {
        c.stats.rstIn++;
        this.removeRequest(r);
      }
      return -1;
    }
    if ((flags & (TH_SYN | TH_ACK)) === TH_SYN) {
      this.syn(l, r, o, seq, src, dst, sport, dport);
      return -1;
    }
    if ((flags & (TH_SYN | TH_ACK)) !== TH_ACK) {
      if ((flags & TH_ACK) !== 0) {
        c.stats.noSocket++; // a SYN-ACK to a listener: nothing of ours (RFC 9293 3.10.7.2)
        this.reset(seq, ack, flags, src, dst, sport, dport);
      }
      return -1; // neither SYN nor ACK: nothing to do (RFC 9293 3.10.7.2)
    }
    if (r >= 0) return this.requestAck(l, r, o, seq, ack, flags, src, dst, sport, dport);
    const cfg = c.cfg;
    if (cfg.tcpSyncookies === 0 || (cfg.tcpSyncookies === 1 && c.ctx.now - this.cookiesOutAt() >= 2 * COOKIE_TICK_MS)) {
      c.stats.noSocket++;
      this.reset(seq, ack, flags, src, dst, sport, dport);
      return -1;
    }
    return this.cookieAck(l, o, seq, ack, flags, src, dst, sport, dport);
  }

  /** RST for an unacceptable segment (RFC 9293 3.10.7.2: any ACK to a listener). */
  private reset(seq: number, ack: number, flags: number, src: number, dst: number, sport: number, dport: number): void {
    if (this.l6 !== null) {
      this.core.out.sendReset6(this.l6, this.r6Off, this.l6Off, sport, dport, seq, ack, (flags & TH_SYN) !== 0 ? 1 : 0,
        (flags & TH_ACK) !== 0);
      return;
    }
    this.core.out.sendReset(src, dst, sport, dport, seq, ack, (flags & TH_SYN) !== 0 ? 1 : 0, (flags & TH_ACK) !== 0);
  }

  private syn(l: number, r: number, o: TcpOptions, seq: number, src: number, dst: number, sport: number,
    dport: number): void {
    const c = this.core;
    const t = c.t;
    const q = this.q;
    const st = c.stats;
    const cfg = c.cfg;
    if (r >= 0) {
      if (q.irs[r] === seq) {
        // The peer did not get our SYN-ACK and sent its SYN again: answer it (the timer keeps its schedule).
        this.sendRequestSynAck(r);
        return;
      }
      // A new SYN on the tuple of a stale request: the new one replaces it.
      this.removeRequest(r);
    }
    if (t.acceptCount[l] >= t.backlog[l]) {
      // The accept queue is full: drop so the peer retries, never a RST (as Linux, cookies or not).
      st.synDropped++;
      st.acceptQueueFull++;
      return;
    }
    if (!this.room(l, false)) {
      st.synDropped++;
      st.listenOverflows++;
      return;
    }
    const mode = cfg.tcpSyncookies;
    let share = q.cap - (q.cap >> 3);
    if (t.backlog[l] < share) share = t.backlog[l];
    if (mode === 2) {
      this.sendCookie(l, o, seq, src, dst, sport, dport);
      return;
    }
    if (t.synCount[l] >= share || q.full) {
      if (mode === 1) {
        st.synQueueOverflow++;
        this.sendCookie(l, o, seq, src, dst, sport, dport);
        return;
      }
      if (t.synCount[l] >= share) {
        st.synQueueOverflow++;
        st.synDropped++;
        return;
      }
      // Table full with this listener under its share: the oldest request goes.
      st.synRequestsEvicted++;
      this.removeRequest(q.oldest);
    }
    const l6 = this.l6;
    const n = l6 !== null ? q.insert6(l6, this.l6Off, dport, this.r6 as Uint8Array, this.r6Off, sport, l)
      : q.insert(dst, dport, src, sport, l);
    t.synCount[l]++;
    q.irs[n] = seq;
    q.iss[n] = c.isn(dst, dport, src, sport);
    // Without an MSS option: 536 over IPv4 (RFC 9293 3.7.1), 1220 over IPv6 (RFC 8200 8.3).
    q.peerMss[n] = o.mss > 0 ? o.mss : l6 !== null ? TCP6_MIN_MSS : 536;
    let opt = 0;
    if (cfg.tcpWindowScaling === 1 && o.wscale >= 0) {
      opt |= REQ_WS;
      q.peerWscale[n] = o.wscale > MAX_WSCALE ? MAX_WSCALE : o.wscale;
      q.ourWscale[n] = this.ourWscale(l);
    }
    if (cfg.tcpTimestamps === 1 && o.hasTimestamp) {
      opt |= REQ_TS;
      q.tsRecent[n] = o.tsVal;
    }
    if (cfg.tcpSack === 1 && o.sackPermitted) opt |= REQ_SACK;
    q.opt[n] = opt;
    q.tsOffset[n] = c.tsOffsetFor(dst, dport, src, sport);
    st.passiveOpens++; // LISTEN -> SYN-RECEIVED (RFC 1213 tcpPassiveOpens), a record instead of a socket
    this.sendRequestSynAck(n);
    c.armRequest(n, c.ctx.now + cfg.tcpInitialRtoMs);
  }

  /** SYN-ACK of a request record (first or retransmitted). */
  private sendRequestSynAck(r: number): void {
    const q = this.q;
    const now = this.core.ctx.now;
    q.sentAt[r] = now;
    const opt = q.opt[r];
    // The record's own addresses (a retransmission has no segment); the caller's are put back after.
    const l6 = this.l6;
    const lo = this.l6Off;
    const r6 = this.r6;
    const ro = this.r6Off;
    const v6 = q.family[r] === AF_INET6;
    this.l6 = v6 ? q.laddr6 : null;
    this.l6Off = 16 * r;
    this.r6 = v6 ? q.raddr6 : null;
    this.r6Off = 16 * r;
    this.sendSynAck(q.listener[r], q.laddr[r], q.lport[r], q.raddr[r], q.rport[r], q.iss[r], q.irs[r],
      (opt & REQ_SACK) !== 0, (opt & REQ_TS) !== 0, (opt & REQ_WS) !== 0 ? q.ourWscale[r] : -1,
      (Math.floor(now) + q.tsOffset[r]) | 0, q.tsRecent[r]);
    this.l6 = l6;
    this.l6Off = lo;
    this.r6 = r6;
    this.r6Off = ro;
  }

  /** A stateless SYN-ACK whose ISN is a cookie (options in the TSval when the peer sent timestamps). */
  private sendCookie(l: number, o: TcpOptions, seq: number, src: number, dst: number, sport: number,
    dport: number): void {
    const c = this.core;
    const cfg = c.cfg;
    const l6 = this.l6;
    const mssIndex = l6 !== null ? cookieMssIndex(o.mss > 0 ? o.mss : TCP6_MIN_MSS, COOKIE_MSS6)
      : cookieMssIndex(o.mss > 0 ? o.mss : 536);
    const iss = l6 !== null
      ? this.cookies.make6(l6, this.l6Off, this.r6 as Uint8Array, this.r6Off, dport, sport, seq, mssIndex)
      : this.cookies.make(dst, dport, src, sport, seq, mssIndex);
    const ts = cfg.tcpTimestamps === 1 && o.hasTimestamp;
    // Without timestamps nothing can carry window scale or SACK back: the connection goes without (as Linux).
    const ws = ts && cfg.tcpWindowScaling === 1 && o.wscale >= 0;
    const sack = ts && cfg.tcpSack === 1 && o.sackPermitted;
    // The timestamp clock's per-flow offset is a keyed hash: computed only when a timestamp goes out.
    const tsVal = ts ? cookieTsVal((Math.floor(c.ctx.now) + c.tsOffsetFor(dst, dport, src, sport)) | 0,
      ws ? (o.wscale > MAX_WSCALE ? MAX_WSCALE : o.wscale) : -1, sack) : 0;
    c.stats.syncookiesSent++;
    this.lastCookieAt = c.ctx.now;
    this.sendSynAck(l, dst, dport, src, sport, iss, seq, sack, ts, ws ? this.ourWscale(l) : -1, tsVal,
      o.tsVal);
    const links = this.links;
    if (l6 === null) links.handToLink(l, this.route.iface, dst, dport, this.synAckMss);
    else links.handToLink6(l, this.route6.iface, l6, this.l6Off, dport, this.synAckMss);
  }

  /** Whether listener `l`'s requests overflow its share of the queue (cookies are due, as in {@link syn}). */
  overflowing(l: number): boolean {
    const q = this.q;
    const t = this.core.t;
    let share = q.cap - (q.cap >> 3);
    if (t.backlog[l] < share) share = t.backlog[l];
    return this.core.cfg.tcpSyncookies === 2 || t.synCount[l] >= share || q.full;
  }

  /** Build and send a SYN-ACK (options as TcpOutput.sendSegment writes them for a SYN). */
  private sendSynAck(l: number, laddr: number, lport: number, raddr: number, rport: number, iss: number, irs: number,
    sack: boolean, ts: boolean, ourWscale: number, tsVal: number, tsEcr: number): void {
    const c = this.core;
    const ip = c.ip;
    const r = this.route;
    const l6 = this.l6;
    const r6 = this.r6 as Uint8Array;
    const rt6 = this.route6;
    if (l6 !== null ? c.v6.route(rt6, r6, this.r6Off, l6, this.l6Off) !== 0 : ip.route(r, raddr, laddr) !== 0) return;
    const b = c.ctx.tx;
    const o = l6 !== null ? IP6_PAYLOAD_OFFSET : IP_PAYLOAD_OFFSET;
    let p = o + TCP_MIN_HLEN;
    const mss = l6 !== null ? c.v6.mss(rt6, r6, this.r6Off) : ip.flowMtu(r, IPPROTO_TCP, raddr, lport, rport) - 40;
    this.synAckMss = mss;
    b[p] = TCPOPT_MSS; b[p + 1] = 4; set16(b, p + 2, mss); p += 4;
    if (sack) {
      b[p] = TCPOPT_SACK_PERMITTED; b[p + 1] = 2; p += 2;
    }
    if (ts) {
      b[p] = TCPOPT_TIMESTAMP; b[p + 1] = 10;
      set32(b, p + 2, tsVal);
      set32(b, p + 6, tsEcr);
      p += 10;
    }
    if (ourWscale >= 0) {
      b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_WSCALE; b[p + 2] = 3; b[p + 3] = ourWscale; p += 4;
    }
    while (((p - o) & 3) !== 0) b[p++] = TCPOPT_NOP;
    const hlen = p - o;
    writeTcp(b, o, lport, rport, iss, (irs + 1) | 0, hlen, TH_SYN | TH_ACK, this.synWindow(l));
    c.stats.tx++;
    if (l6 !== null) {
      c.v6.send(rt6, hlen, r6, this.r6Off);
      return;
    }
    tcpSetChecksum(b, o, hlen, r.src, raddr);
    ip.output(r, IPPROTO_TCP, hlen, raddr, c.cfg.ttl, IP_FLAG_DF);
  }

  /** The third segment for a request record. */
  private requestAck(l: number, r: number, o: TcpOptions, seq: number, ack: number, flags: number, src: number,
    dst: number, sport: number, dport: number): number {
    const c = this.core;
    const q = this.q;
    if (ack !== ((q.iss[r] + 1) | 0)) {
      if (c.ctx.now - this.cookiesOutAt() < 2 * COOKIE_TICK_MS) {
        // A retransmitted SYN of this request may have been answered with a cookie by the link's
        // responder (handToLink, handToLink6): a valid cookie completes the handshake instead, the request goes.
        const l6 = this.l6;
        const mssIndex = l6 !== null
          ? this.cookies.check6(l6, this.l6Off, this.r6 as Uint8Array, this.r6Off, dport, sport, (seq - 1) | 0, (ack - 1) | 0)
          : this.cookies.check(dst, dport, src, sport, (seq - 1) | 0, (ack - 1) | 0);
        if (mssIndex >= 0 && seq === ((q.irs[r] + 1) | 0)) {
          this.removeRequest(r);
          return this.cookieAck(l, o, seq, ack, flags, src, dst, sport, dport);
        }
      }
      // Not an acknowledgement of our SYN-ACK (RFC 9293 3.10.7.4, SYN-RECEIVED): reset, keep the request.
      c.stats.outOfWindow++;
      this.reset(seq, ack, flags, src, dst, sport, dport);
      return -1;
    }
    if (seq !== ((q.irs[r] + 1) | 0)) {
      c.stats.outOfWindow++;
      return -1;
    }
    if (!this.admit(l)) return -1; // the request stays: its SYN-ACK timer asks the peer again
    const opt = q.opt[r];
    const s = this.child(l, dst, dport, src, sport, q.irs[r], q.iss[r], q.peerMss[r], opt,
      (opt & REQ_WS) !== 0 ? q.peerWscale[r] : 0, q.ourWscale[r], q.tsRecent[r], q.tsOffset[r], q.sentAt[r],
      q.retries[r] > 0);
    if (s >= 0) this.removeRequest(r);
    return s;
  }

  /** Accept queue and fairness checks for a connection about to be made; counted when refused. */
  private admit(l: number): boolean {
    const c = this.core;
    const t = c.t;
    if (t.acceptCount[l] >= t.backlog[l]) {
      c.stats.acceptQueueFull++;
      c.stats.listenOverflows++;
      return false;
    }
    if (!this.room(l, true)) {
      c.stats.listenOverflows++;
      return false;
    }
    return true;
  }

  /** An ACK that may carry a cookie. */
  private cookieAck(l: number, o: TcpOptions, seq: number, ack: number, flags: number, src: number, dst: number,
    sport: number, dport: number): number {
    const c = this.core;
    const cfg = c.cfg;
    const peerIsn = (seq - 1) | 0;
    const l6 = this.l6;
    const mssIndex = l6 !== null
      ? this.cookies.check6(l6, this.l6Off, this.r6 as Uint8Array, this.r6Off, dport, sport, peerIsn, (ack - 1) | 0)
      : this.cookies.check(dst, dport, src, sport, peerIsn, (ack - 1) | 0);
    let opt = 0;
    let peerWs = 0;
    if (mssIndex >= 0 && cfg.tcpTimestamps === 1 && o.hasTimestamp) {
      opt |= REQ_TS;
      const ws = cookieTsWscale(o.tsEcr);
      if (ws >= 0 && cfg.tcpWindowScaling === 1) {
        opt |= REQ_WS;
        peerWs = ws;
      }
      if (cookieTsSack(o.tsEcr) && cfg.tcpSack === 1) opt |= REQ_SACK;
      if (ws === -2) opt = -1;
    }
    if (mssIndex < 0 || opt < 0) {
      // Forged, expired, or for a SYN we never answered: counted, and reset as Linux
      // does (RFC 9293 3.10.7.2: an ACK to a listener is answered with RST).
      c.stats.syncookiesFailed++;
      this.reset(seq, ack, flags, src, dst, sport, dport);
      return -1;
    }
    c.stats.syncookiesRecv++;
    c.stats.passiveOpens++; // its SYN-RECEIVED state was the cookie
    if (!this.admit(l)) return -1; // no state to keep: the peer's retransmission may find room
    const tsOffset = c.tsOffsetFor(dst, dport, src, sport);
    return this.child(l, dst, dport, src, sport, peerIsn, (ack - 1) | 0,
      l6 !== null ? COOKIE_MSS6[mssIndex] : COOKIE_MSS[mssIndex], opt, peerWs,
      this.ourWscale(l), o.tsVal, tsOffset, c.ctx.now, true);
  }

  /**
   * Make the connection of a completed handshake: a slot in SYN_RECEIVED
   * that the caller's processing of the third segment moves to ESTABLISHED
   * and into the accept queue. -1 (counted) when no slot is free.
   */
  private child(l: number, laddr: number, lport: number, raddr: number, rport: number, irs: number, iss: number,
    peerMss: number, opt: number, peerWs: number, ourWs: number, tsRecent: number, tsOffset: number, sentAt: number,
    noRtt: boolean): number {
    const c = this.core;
    const t = c.t;
    const s = c.allocSlot();
    if (s < 0) {
      c.stats.listenOverflows++;
      return -1;
    }
    c.initTcb(s);
    const so = c.sockets;
    const l6 = this.l6;
    const r6 = this.r6 as Uint8Array;
    if (l6 !== null) {
      so.family[s] = AF_INET6;
      so.setLocal6(s, l6, this.l6Off);
      so.setRemote6(s, r6, this.r6Off);
    } else {
      so.localAddr[s] = laddr;
      so.remoteAddr[s] = raddr;
    }
    so.localPort[s] = lport;
    so.remotePort[s] = rport;
    // A child of an AF_INET6 listener is an AF_INET6 socket, its IPv4 peers shown as ::ffff:a.b.c.d.
    so.flags[s] |= F_BOUND | (so.flags[l] & F_INET6);
    t.parent[s] = l;
    c.countConnection(s, l);
    c.hashIn(s);
    c.inherit(s, l);
    t.setCaps(s);
    t.irs[s] = irs;
    t.rcvNxt[s] = (irs + 1) | 0;
    t.lastAckSent[s] = t.rcvNxt[s];
    t.rcvAdv[s] = (t.rcvNxt[s] + this.synWindow(l)) | 0;
    t.iss[s] = iss;
    t.sndUna[s] = iss;
    t.sndNxt[s] = (iss + 1) | 0;
    t.sndMax[s] = (iss + 1) | 0;
    t.sndWl1[s] = irs;
    t.sndWl2[s] = iss;
    t.tsOffset[s] = tsOffset;
    const rt = this.route;
    const rt6 = this.route6;
    const mtuMss = l6 !== null
      ? (c.v6.route(rt6, r6, this.r6Off, l6, this.l6Off) === 0 ? c.v6.mss(rt6, r6, this.r6Off) : TCP6_MIN_MSS)
      : c.ip.route(rt, raddr, laddr) === 0 ? c.ip.flowMtu(rt, IPPROTO_TCP, raddr, lport, rport) - 40 : 536;
    t.peerMss[s] = peerMss;
    t.mss[s] = peerMss < mtuMss ? peerMss : mtuMss;
    let tf = t.tflags[s];
    if ((opt & REQ_WS) !== 0) {
      tf |= TF_WS;
      t.sndWscale[s] = peerWs;
      t.rcvWscale[s] = ourWs;
    }
    if ((opt & REQ_TS) !== 0) {
      tf |= TF_TS;
      t.tsRecent[s] = tsRecent;
    }
    if ((opt & REQ_SACK) !== 0) tf |= TF_SACK;
    t.tflags[s] = tf;
    setState(t, s, SYN_RECEIVED);
    t.rttStart[s] = sentAt;
    t.backoff[s] = noRtt ? 1 : 0;
    return s;
  }

  /** Free a request record and its listener's count. */
  private removeRequest(r: number): void {
    const t = this.core.t;
    const l = this.q.listener[r];
    if (l >= 0 && t.synCount[l] > 0) t.synCount[l]--;
    this.q.remove(r);
  }

  /** The listener is closed: its pending requests go (their peers get no answer, as for a lost SYN-ACK). */
  dropListener(l: number): void {
    const q = this.q;
    const port = this.core.sockets.localPort[l];
    for (const i of this.core.ctx.interfaces) i.link.synResponder?.deactivate(port);
    for (let r = q.oldest; r >= 0;) {
      const next = q.next(r);
      if (q.listener[r] === l) this.removeRequest(r);
      r = next;
    }
    this.core.t.synCount[l] = 0;
  }

  /** SYN-ACK retransmissions with exponential backoff; requests give up after `tcpSynAckRetries`. */
  poll(): void {
    const c = this.core;
    const q = this.q;
    const now = c.ctx.now;
    this.links.renewIfDue(now);
    if (now < q.nextAt) return;
    const cfg = c.cfg;
    let next = Infinity;
    for (let r = q.oldest; r >= 0;) {
      const nx = q.next(r);
      if (q.timerAt[r] <= now) {
        if (q.retries[r] >= cfg.tcpSynAckRetries) {
          c.stats.synRequestTimeouts++;
          this.removeRequest(r);
          r = nx;
          continue;
        }
        q.retries[r]++;
        c.stats.synAckRetransmits++;
        this.sendRequestSynAck(r);
        let rto = cfg.tcpInitialRtoMs * (1 << q.retries[r]);
        if (rto > cfg.tcpMaxRtoMs) rto = cfg.tcpMaxRtoMs;
        q.timerAt[r] = now + rto;
      }
      if (q.timerAt[r] < next) next = q.timerAt[r];
      r = nx;
    }
    q.nextAt = next;
  }
}
