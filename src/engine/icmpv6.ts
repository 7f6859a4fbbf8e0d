/**
 * ICMPv6 (RFC 4443): echo replies, our own echo requests (ping6), errors
 * received (Packet Too Big into the path MTU cache of RFC 8201, the others
 * to the transport that sent the packet through {@link Udp6ErrorSink} and
 * {@link Tcp6ErrorSink}) and sent ({@link Icmp6ErrorSender}, rate-limited),
 * and neighbour discovery messages handed to ND.
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes, get16, get32 } from '../wire/bytes.js';
import {
  ICMP6_HLEN, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROBLEM,
  ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY, ND_ROUTER_SOLICIT, ND_REDIRECT, PARAM6_OPTION, UNREACH6_PORT,
  UNREACH6_NO_ROUTE, UNREACH6_ADMIN, icmp6Checksum, icmp6IsError, icmp6Id, icmp6Seq, writeIcmp6,
} from '../wire/icmpv6.js';
import { IPV6_HLEN, IPV6_MIN_MTU, IP6_DST, IP6_SRC, NH_ICMPV6, NH_TCP, NH_UDP, Ip6Walk } from '../wire/ipv6.js';
import { ip6Equal, isMulticast6, isUnspecified6 } from '../wire/ipv6addr.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { Route6Record } from './routes6.js';
import { Errno } from './errno.js';
import {
  HOP_LIMIT_DEFAULT, IP6_PAYLOAD_OFFSET, type Ip6Output, type NeighbourInput, type Tcp6ErrorSink, type Udp6ErrorSink,
} from './ipv6-types.js';
import type { PathMtu6 } from './pmtu6.js';

/** Sends ICMPv6 errors (RFC 4443 §2.4), rate-limited by a token bucket (§2.4 f). */
export class Icmp6ErrorSender {
  private readonly route = new Route6Record();
  private tokens: number;
  private lastRefill = 0;

  constructor(private readonly ctx: EngineContext, private readonly ip: Ip6Output) {
    this.tokens = ctx.config.icmpErrorBurst;
  }

  private tokenAvailable(): boolean {
    const now = this.ctx.now;
    const cfg = this.ctx.config;
    const refill = (now - this.lastRefill) * cfg.icmpErrorsPerSecond / 1000;
    if (refill > 0) {
      this.tokens = Math.min(cfg.icmpErrorBurst, this.tokens + refill);
      this.lastRefill = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /**
   * Send an error about the packet whose IPv6 header is at `b[o]` (`total`
   * bytes with header). `rest` is the 32-bit field after the checksum (MTU,
   * pointer). `linkMulticast`: it arrived as a link-layer multicast or
   * broadcast. Never about an ICMPv6 error or redirect (`icmpType` of the
   * offending packet, -1 when not ICMPv6), never for a packet to a multicast
   * address or link-layer multicast except Packet Too Big and an unrecognized
   * option whose type says so (§2.4 e.3/e.4), never to an unspecified or
   * multicast source (e.6).
   */
  sendError(type: number, code: number, rest: number, b: Uint8Array, o: number, total: number,
    linkMulticast: boolean, icmpType: number): void {
    const st = this.ctx.stats.icmp6;
    if (icmpType >= 0 && (icmp6IsError(icmpType) || icmpType === ND_REDIRECT)) return;
    if (isUnspecified6(b, o + IP6_SRC) || isMulticast6(b, o + IP6_SRC)) return;
    const mcastOk = type === ICMP6_PACKET_TOO_BIG || (type === ICMP6_PARAM_PROBLEM && code === PARAM6_OPTION);
    if ((isMulticast6(b, o + IP6_DST) || linkMulticast) && !mcastOk) return;
    if (!this.tokenAvailable()) {
      st.errorsRateLimited++;
      return;
    }
    const r = this.route;
    // §2.2: a packet sent to one of our unicast addresses is answered from that address.
    const mine = !isMulticast6(b, o + IP6_DST) && this.ip.localInterface6(b, o + IP6_DST) !== null;
    if (this.ip.route6(r, b, o + IP6_SRC, mine ? b : null, o + IP6_DST) !== 0) return;
    const limit = IPV6_MIN_MTU - IPV6_HLEN - ICMP6_HLEN;
    const quote = total < limit ? total : limit;
    const t = this.ctx.tx;
    copyBytes(b, o, t, IP6_PAYLOAD_OFFSET + ICMP6_HLEN, quote);
    // The destination is the offending packet's source, now copied into the transmit buffer.
    const dOff = IP6_PAYLOAD_OFFSET + ICMP6_HLEN + IP6_SRC;
    writeIcmp6Out(t, r, t, dOff, ICMP6_HLEN + quote, type, code, rest);
    st.errorsOut++;
    st.tx++;
    this.ip.output6(r, NH_ICMPV6, ICMP6_HLEN + quote, t, dOff, 255, 0);
  }
}

/**
 * Write an ICMPv6 message header at IP6_PAYLOAD_OFFSET of `t` with its
 * checksum over the pseudo-header of `r.src` and the destination `d[dOff]`:
 * the IPv6 header is not written yet, so the addresses go in its place first.
 */
function writeIcmp6Out(t: Uint8Array, r: Route6Record, d: Uint8Array, dOff: number, len: number, type: number,
  code: number, rest: number): void {
  const ip = IP6_PAYLOAD_OFFSET - IPV6_HLEN;
  // The destination may itself live in t (a quoted source): copy it before overwriting anything near it.
  if (d !== t || dOff !== ip + IP6_DST) for (let i = 0; i < 16; i++) t[ip + IP6_DST + i] = d[dOff + i];
  for (let i = 0; i < 16; i++) t[ip + IP6_SRC + i] = r.src[i];
  writeIcmp6(t, ip, IP6_PAYLOAD_OFFSET, len, type, code, rest);
}

/** Called when an echo reply matches a ping slot, or the ping fails (`errno` > 0). */
export type Echo6Listener = (slot: number, rttMs: number, errno: number) => void;

export class Icmp6 {
  private readonly route = new Route6Record();
  private readonly walk = new Ip6Walk();
  readonly pingIdent: number;
  private pingSeq = 0;
  private readonly pingState: Uint8Array;
  private readonly pingDst: Uint8Array;
  private readonly pingSeqs: Uint16Array;
  private readonly pingSent: Float64Array;
  private readonly pingDeadline: Float64Array;
  /** Sender (16 bytes), type and code of the ICMPv6 error that just failed a ping (valid during the listener call). */
  readonly lastErrorFrom = new Uint8Array(16);
  lastErrorType = -1;
  lastErrorCode = -1;
  /** Receives ping completions. */
  echoListener: Echo6Listener | null = null;
  /** Earliest ping deadline, set by {@link poll}. */
  nextDeadline = Infinity;

  /** The memory plan of the ping slots. */
  static plan(m: Carver, maxPings: number): void {
    m.u8('pings6', maxPings);
    m.u8('pings6', maxPings * 16);
    m.u16('pings6', maxPings);
    m.f64('pings6', maxPings);
    m.f64('pings6', maxPings);
  }

  /**
   * @param nd where ND messages (types 133–137) go
   * @param udp where received errors about UDP datagrams we sent go (null: none yet)
   * @param tcp the same for TCP segments
   */
  constructor(m: Carver, private readonly ctx: EngineContext, private readonly ip: Ip6Output,
    private readonly pmtu: PathMtu6, private readonly nd: NeighbourInput, private readonly udp: Udp6ErrorSink | null,
    private readonly tcp: Tcp6ErrorSink | null, readonly maxPings: number) {
    this.pingIdent = ctx.random32() & 0xffff;
    this.pingState = m.u8('pings6', maxPings);
    this.pingDst = m.u8('pings6', maxPings * 16);
    this.pingSeqs = m.u16('pings6', maxPings);
    this.pingSent = m.f64('pings6', maxPings);
    this.pingDeadline = m.f64('pings6', maxPings);
  }

  /** An ICMPv6 message for us: IPv6 header at `b[ipOff]`, message at `b[o .. o+len)`. */
  input(iface: NetInterface, b: Uint8Array, ipOff: number, o: number, len: number, multicast: boolean): void {
    const st = this.ctx.stats.icmp6;
    st.rx++;
    if (len < ICMP6_HLEN) {
      st.malformed++;
      return;
    }
    if (icmp6Checksum(b, ipOff, o, len) !== 0) {
      st.badChecksum++;
      return;
    }
    const type = b[o];
    if (type === ICMP6_ECHO_REQUEST) {
      st.echoRequestsIn++;
      this.echoReply(b, ipOff, o, len, multicast);
    } else if (type === ICMP6_ECHO_REPLY) {
      st.echoRepliesIn++;
      this.matchReply(b, ipOff + IP6_SRC, icmp6Id(b, o), icmp6Seq(b, o));
    } else if (type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT) {
      st.ndIn++;
      this.nd.input(iface, b, ipOff, o, len);
    } else if (type === ICMP6_DST_UNREACH || type === ICMP6_PACKET_TOO_BIG || type === ICMP6_TIME_EXCEEDED
      || type === ICMP6_PARAM_PROBLEM) {
      st.errorsIn++;
      this.errorInput(b, ipOff, o, len, type, b[o + 1]);
    } else {
      // Unknown informational messages are silently discarded, unknown errors passed up (§2.4 b/c): we have no user for either.
      st.unknownType++;
    }
  }

  private echoReply(b: Uint8Array, ipOff: number, o: number, len: number, multicast: boolean): void {
    const r = this.route;
    // To a multicast group we answer from the address source selection picks (§4.2), else from the address asked.
    if (this.ip.route6(r, b, ipOff + IP6_SRC, multicast ? null : b, ipOff + IP6_DST) !== 0) return;
    if (IPV6_HLEN + len + 14 > this.ctx.tx.length) return;
    const t = this.ctx.tx;
    copyBytes(b, o, t, IP6_PAYLOAD_OFFSET, len);
    writeIcmp6Out(t, r, b, ipOff + IP6_SRC, len, ICMP6_ECHO_REPLY, 0, get32(b, o + 4));
    this.ctx.stats.icmp6.echoRepliesOut++;
    this.ctx.stats.icmp6.tx++;
    // The destination is read from t (written by writeIcmp6Out): `b` may be the loopback slot reused meanwhile.
    this.ip.output6(r, NH_ICMPV6, len, t, IP6_PAYLOAD_OFFSET - IPV6_HLEN + IP6_DST, HOP_LIMIT_DEFAULT, 0);
  }

  /** An error about a packet we sent: find who sent it (the quoted packet) and tell them. */
  private errorInput(b: Uint8Array, ipOff: number, o: number, len: number, type: number, code: number): void {
    const st = this.ctx.stats.icmp6;
    const inner = o + ICMP6_HLEN;
    const end = o + len;
    if (len < ICMP6_HLEN + IPV6_HLEN || b[inner] >>> 4 !== 6) {
      st.errorsUnusable++;
      return;
    }
    let mtu = 0;
    if (type === ICMP6_PACKET_TOO_BIG) {
      st.packetTooBigIn++;
      const reported = get32(b, o + 4) >>> 0;
      // RFC 8201 §4: about a packet we sent (its source is ours); below 1280 is raised to 1280 by the cache.
      if (this.ip.localInterface6(b, inner + IP6_SRC) === null) {
        st.pmtuIgnored++;
        return;
      }
      if (this.pmtu.update(b, inner + IP6_DST, reported, this.ctx.now)) st.pmtuUpdated++;
      mtu = this.pmtu.lookup(b, inner + IP6_DST, this.ctx.now);
    }
    let errno: number;
    if (type === ICMP6_DST_UNREACH) {
      if (code === UNREACH6_PORT) errno = Errno.ECONNREFUSED;
      else if (code === UNREACH6_NO_ROUTE) errno = Errno.ENETUNREACH;
      else if (code === UNREACH6_ADMIN) errno = Errno.EACCES;
      else errno = Errno.EHOSTUNREACH;
    } else if (type === ICMP6_PACKET_TOO_BIG) errno = Errno.EMSGSIZE;
    else if (type === ICMP6_TIME_EXCEEDED) errno = Errno.EHOSTUNREACH;
    else errno = Errno.EPROTO;
    const w = this.walk;
    if (!w.walk(b, b[inner + 6], inner + IPV6_HLEN, end)) return;
    const t = w.off;
    if (w.nh === NH_UDP && t + 8 <= end) {
      if (this.udp !== null) this.udp.icmp6Error(b, inner + IP6_SRC, get16(b, t), inner + IP6_DST, get16(b, t + 2), errno);
    } else if (w.nh === NH_TCP && t + 8 <= end) {
      if (this.tcp !== null) {
        this.tcp.icmp6Error(b, inner + IP6_SRC, get16(b, t), inner + IP6_DST, get16(b, t + 2), get32(b, t + 4), errno, mtu);
      }
    } else if (w.nh === NH_ICMPV6 && t + 8 <= end && b[t] === ICMP6_ECHO_REQUEST && icmp6Id(b, t) === this.pingIdent) {
      if (type === ICMP6_PACKET_TOO_BIG) return; // the next ping is sent fragmented; this one is lost
      const seq = icmp6Seq(b, t);
      for (let i = 0; i < this.maxPings; i++) {
        if (this.pingState[i] === 1 && this.pingSeqs[i] === seq && ip6Equal(this.pingDst, i * 16, b, inner + IP6_DST)) {
          copyBytes(b, ipOff + IP6_SRC, this.lastErrorFrom, 0, 16);
          this.lastErrorType = type;
          this.lastErrorCode = code;
          this.finishPing(i, 0, type === ICMP6_TIME_EXCEEDED ? Errno.ETIME : errno);
          return;
        }
      }
    }
  }

  /**
   * Send an echo request of `size` payload bytes to `dst[dOff]`; returns the
   * ping slot (>= 0) whose completion goes to {@link echoListener}, or -errno.
   */
  sendEcho(dst: Uint8Array, dOff: number, size: number, timeoutMs: number, hopLimit: number): number {
    let slot = -1;
    for (let i = 0; i < this.maxPings; i++) {
      if (this.pingState[i] === 0) {
        slot = i;
        break;
      }
    }
    if (slot < 0) return -Errno.ENOBUFS;
    const rt = this.route;
    const r = this.ip.route6(rt, dst, dOff, null, 0);
    if (r !== 0) return r;
    if (IP6_PAYLOAD_OFFSET + ICMP6_HLEN + size > this.ctx.tx.length || ICMP6_HLEN + size > 65535) return -Errno.EMSGSIZE;
    const t = this.ctx.tx;
    const p = IP6_PAYLOAD_OFFSET + ICMP6_HLEN;
    for (let i = 0; i < size; i++) t[p + i] = (i + 0x10) & 0xff;
    this.pingSeq = (this.pingSeq + 1) & 0xffff;
    copyBytes(dst, dOff, this.pingDst, slot * 16, 16);
    writeIcmp6Out(t, rt, dst, dOff, ICMP6_HLEN + size, ICMP6_ECHO_REQUEST, 0, (this.pingIdent << 16) | this.pingSeq);
    this.pingState[slot] = 1;
    this.pingSeqs[slot] = this.pingSeq;
    this.pingSent[slot] = this.ctx.preciseNow();
    this.pingDeadline[slot] = this.ctx.now + timeoutMs;
    if (this.pingDeadline[slot] < this.nextDeadline) this.nextDeadline = this.pingDeadline[slot];
    this.ctx.stats.icmp6.echoRequestsOut++;
    this.ctx.stats.icmp6.tx++;
    const out = this.ip.output6(rt, NH_ICMPV6, ICMP6_HLEN + size, this.pingDst, slot * 16, hopLimit, 0);
    if (out < 0) {
      this.pingState[slot] = 0;
      return out;
    }
    return slot;
  }

  private matchReply(b: Uint8Array, srcOff: number, id: number, seq: number): void {
    if (id === this.pingIdent) {
      for (let i = 0; i < this.maxPings; i++) {
        // A reply to a multicast ping comes from a unicast address: match on the sequence alone then.
        if (this.pingState[i] === 1 && this.pingSeqs[i] === seq
          && (ip6Equal(this.pingDst, i * 16, b, srcOff) || isMulticast6(this.pingDst, i * 16))) {
          this.finishPing(i, this.ctx.preciseNow() - this.pingSent[i], 0);
          return;
        }
      }
    }
    this.ctx.stats.icmp6.unmatchedReplies++;
  }

  private finishPing(slot: number, rtt: number, errno: number): void {
    this.pingState[slot] = 0;
    if (this.echoListener !== null) this.echoListener(slot, rtt, errno);
    this.lastErrorType = -1;
  }

  /** Neighbour resolution of `addr` failed (ND): pings to it (or through it) fail now. */
  hostUnreachable6(addr: Uint8Array, off: number): void {
    for (let i = 0; i < this.maxPings; i++) {
      if (this.pingState[i] !== 1) continue;
      if (ip6Equal(this.pingDst, i * 16, addr, off)
        || (this.ip.route6(this.route, this.pingDst, i * 16, null, 0) === 0 && ip6Equal(this.route.nextHop, 0, addr, off))) {
        this.finishPing(i, 0, Errno.EHOSTUNREACH);
      }
    }
  }

  /** Expire pings at the context's time. */
  poll(): void {
    const now = this.ctx.now;
    // A ping lowers nextDeadline when it starts: nothing is due before it (the scan is skipped on most polls).
    if (now < this.nextDeadline) return;
    let next = Infinity;
    for (let i = 0; i < this.maxPings; i++) {
      if (this.pingState[i] !== 1) continue;
      if (this.pingDeadline[i] <= now) this.finishPing(i, 0, Errno.ETIMEDOUT);
      else if (this.pingDeadline[i] < next) next = this.pingDeadline[i];
    }
    this.nextDeadline = next;
  }
}
