/**
 * ICMP (RFC 792): echo replies, our own echo requests (ping), error messages
 * received (handed to the socket they concern through {@link UdpErrorSink}
 * and {@link TcpErrorSink}) and sent ({@link IcmpErrorSender}, rate-limited).
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { copyBytes, get32 } from '../wire/bytes.js';
import { checksum } from '../wire/checksum.js';
import {
  ICMP_HLEN, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAM_PROBLEM,
  UNREACH_NET, UNREACH_PORT, UNREACH_PROTOCOL, UNREACH_FRAG_NEEDED, icmpType, icmpCode, icmpId, icmpSeq,
  icmpIsError, writeIcmp,
} from '../wire/icmp.js';
import {
  IPV4_MIN_HLEN, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipHeaderLen, ipIsFragment, ipProto, ipSrc, ipDst, ipFragField,
  IP_OFFSET_MASK,
} from '../wire/ipv4.js';
import { udpSrcPort, udpDstPort } from '../wire/udp.js';
import { IPV4_BROADCAST, isMulticast } from '../wire/ipv4addr.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { IP_PAYLOAD_OFFSET, type IpOutput } from './ipv4.js';
import { Errno } from './errno.js';
import { RouteRecord } from './routes.js';

/** Largest ICMP error datagram (RFC 1812 4.3.2.3). */
const ICMP_ERROR_MAX = 576;

/** Where ICMP hands a received error about a UDP datagram we sent (the UDP layer). */
export interface UdpErrorSink {
  icmpError(laddr: number, lport: number, raddr: number, rport: number, errno: number): void;
}

/** Where ICMP hands a received error about a TCP segment we sent (`mtu`: next-hop MTU of "fragmentation needed", else 0). */
export interface TcpErrorSink {
  icmpError(laddr: number, lport: number, raddr: number, rport: number, seq: number, errno: number, mtu: number): void;
}

/**
 * Sends ICMP error messages (RFC 792, RFC 1122 3.2.2) for IPv4, UDP,
 * reassembly and forwarding, rate-limited by one token bucket. Needs only
 * IPv4 output, so it is built before the layers that report through it.
 */
export class IcmpErrorSender {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  private tokens: number;
  private lastRefill = 0;

  constructor(private readonly ctx: EngineContext, private readonly ip: IpOutput) {
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
   * Send an ICMP error about the packet at `b[o .. o+total)`. Never about an
   * ICMP error, a non-first fragment, or a broadcast/multicast/unspecified
   * source (RFC 1122 3.2.2). `rest` is the 32-bit rest-of-header (next-hop MTU).
   */
  sendError(type: number, code: number, rest: number, b: Uint8Array, o: number, total: number): void {
    const st = this.ctx.stats.icmp;
    const src = ipSrc(b, o);
    if (src === 0 || src === IPV4_BROADCAST || isMulticast(src) || isMulticast(ipDst(b, o))) return;
    if (ipIsFragment(b, o) && (ipFragField(b, o) & IP_OFFSET_MASK) !== 0) return;
    const hlen = ipHeaderLen(b, o);
    if (ipProto(b, o) === IPPROTO_ICMP && (total < hlen + 1 || icmpIsError(b[o + hlen]))) return;
    if (!this.tokenAvailable()) {
      st.errorsRateLimited++;
      return;
    }
    const r = this.route;
    if (this.ip.route(r, src, 0) !== 0) return;
    const iface = r.iface;
    if (iface === null) return;
    const limit = Math.min(ICMP_ERROR_MAX, iface.mtu) - IPV4_MIN_HLEN - ICMP_HLEN;
    const quote = total < limit ? total : limit;
    const t = this.ctx.tx;
    copyBytes(b, o, t, IP_PAYLOAD_OFFSET + ICMP_HLEN, quote);
    writeIcmp(t, IP_PAYLOAD_OFFSET, ICMP_HLEN + quote, type, code, rest >>> 16, rest & 0xffff);
    st.errorsOut++;
    st.tx++;
    this.ip.output(r, IPPROTO_ICMP, ICMP_HLEN + quote, src, this.ctx.config.ttl, 0);
  }
}

/** Called when an echo reply matches a ping slot, or the ping fails (`errno` > 0). */
export type EchoListener = (slot: number, rttMs: number, errno: number) => void;

export class Icmp {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  readonly pingIdent: number;
  private pingSeq = 0;
  private readonly pingState: Uint8Array;
  private readonly pingDst: Int32Array;
  private readonly pingSeqs: Uint16Array;
  private readonly pingSent: Float64Array;
  private readonly pingDeadline: Float64Array;
  /** Sender, type and code of the ICMP error that just failed a ping (valid during the echo listener call). */
  lastErrorFrom = 0;
  lastErrorType = -1;
  lastErrorCode = -1;
  /** Receives ping completions; set by the stack's promise layer or a benchmark. */
  echoListener: EchoListener | null = null;

  static plan(plan: MemoryPlan, maxPings: number): void {
    plan.add('pings', maxPings).add('pings', maxPings, 4).add('pings', maxPings, 2).add('pings', maxPings, 8)
      .add('pings', maxPings, 8);
  }

  /**
   * @param udp where received errors about UDP datagrams we sent go
   * @param tcp where received errors about TCP segments we sent go
   */
  constructor(arena: Arena, private readonly ctx: EngineContext, private readonly ip: IpOutput,
    private readonly udp: UdpErrorSink, private readonly tcp: TcpErrorSink, readonly maxPings: number) {
    this.pingIdent = ctx.random32() & 0xffff;
    this.pingState = arena.u8('pings', maxPings);
    this.pingDst = arena.i32('pings', maxPings);
    this.pingSeqs = arena.u16('pings', maxPings);
    this.pingSent = arena.f64('pings', maxPings);
    this.pingDeadline = arena.f64('pings', maxPings);
  }

  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    const st = this.ctx.stats.icmp;
    st.rx++;
    const m = o + hlen;
    const len = total - hlen;
    if (len < ICMP_HLEN) {
      st.malformed++;
      return;
    }
    if (checksum(b, m, len) !== 0) {
      st.badChecksum++;
      return;
    }
    const type = icmpType(b, m);
    if (type === ICMP_ECHO_REQUEST) {
      st.echoRequestsIn++;
      // Like Linux's icmp_echo_ignore_broadcasts: broadcast pings are a smurf amplifier.
      if (bcast) {
        st.broadcastEchoIgnored++;
        return;
      }
      this.echoReply(iface, b, m, len, src, dst);
    } else if (type === ICMP_ECHO_REPLY) {
      st.echoRepliesIn++;
      this.matchReply(src, icmpId(b, m), icmpSeq(b, m));
    } else if (icmpIsError(type)) {
      st.errorsIn++;
      this.errorInput(b, m, len, type, icmpCode(b, m), src);
    }
    // Other types (timestamp, router advertisement, ...) are accepted and ignored.
  }

  private echoReply(iface: NetInterface, b: Uint8Array, m: number, len: number, src: number, dst: number): void {
    const r = this.route;
    if (this.ip.route(r, src, dst) !== 0) return;
    // Larger than the MTU is fragmented by output (an 8000-byte ping is answered in fragments).
    if (IPV4_MIN_HLEN + len > this.ctx.config.ipMaxDatagramBytes) return;
    const t = this.ctx.tx;
    copyBytes(b, m, t, IP_PAYLOAD_OFFSET, len);
    writeIcmp(t, IP_PAYLOAD_OFFSET, len, ICMP_ECHO_REPLY, 0, icmpId(b, m), icmpSeq(b, m));
    this.ctx.stats.icmp.echoRepliesOut++;
    this.ctx.stats.icmp.tx++;
    this.ip.output(r, IPPROTO_ICMP, len, src, this.ctx.config.ttl, 0);
  }

  /** An error about a packet we sent: find who sent it (inner header) and tell them. */
  private errorInput(b: Uint8Array, m: number, len: number, type: number, code: number, from: number): void {
    const inner = m + ICMP_HLEN;
    const innerLen = len - ICMP_HLEN;
    if (innerLen < IPV4_MIN_HLEN || b[inner] >>> 4 !== 4) {
      this.ctx.stats.icmp.malformed++;
      return;
    }
    const ihl = ipHeaderLen(b, inner);
    if (ihl < IPV4_MIN_HLEN || innerLen < ihl + 8) {
      this.ctx.stats.icmp.malformed++;
      return;
    }
    let errno: number;
    if (type === ICMP_DEST_UNREACH) {
      if (code === UNREACH_PORT || code === UNREACH_PROTOCOL) errno = Errno.ECONNREFUSED;
      else if (code === UNREACH_FRAG_NEEDED) errno = Errno.EMSGSIZE;
      else if (code === UNREACH_NET) errno = Errno.ENETUNREACH;
      else errno = Errno.EHOSTUNREACH;
    } else if (type === ICMP_TIME_EXCEEDED) {
      errno = Errno.EHOSTUNREACH;
    } else if (type === ICMP_PARAM_PROBLEM) {
      errno = Errno.EINVAL;
    } else {
      return; // source quench is deprecated (RFC 6633), redirects are not followed
    }
    const p = ipProto(b, inner);
    const isrc = ipSrc(b, inner);
    const idst = ipDst(b, inner);
    const t = inner + ihl;
    if (p === IPPROTO_UDP) {
      this.udp.icmpError(isrc, udpSrcPort(b, t), idst, udpDstPort(b, t), errno);
    } else if (p === IPPROTO_TCP) {
      const mtu = type === ICMP_DEST_UNREACH && code === UNREACH_FRAG_NEEDED ? (b[m + 6] << 8) | b[m + 7] : 0;
      this.tcp.icmpError(isrc, udpSrcPort(b, t), idst, udpDstPort(b, t), get32(b, t + 4), errno, mtu);
    } else if (p === IPPROTO_ICMP && b[t] === ICMP_ECHO_REQUEST && icmpId(b, t) === this.pingIdent) {
      const seq = icmpSeq(b, t);
      for (let i = 0; i < this.maxPings; i++) {
        if (this.pingState[i] === 1 && this.pingSeqs[i] === seq && this.pingDst[i] === idst) {
          this.lastErrorFrom = from;
          this.lastErrorType = type;
          this.lastErrorCode = code;
          this.finishPing(i, 0, type === ICMP_TIME_EXCEEDED ? Errno.ETIME : errno);
          return;
        }
      }
    }
  }

  /**
   * Send an echo request of `size` payload bytes to `dst`; returns the ping
   * slot (>= 0) whose completion goes to {@link echoListener}, or -errno.
   */
  sendEcho(dst: number, size: number, timeoutMs: number, ttl: number): number {
    let slot = -1;
    for (let i = 0; i < this.maxPings; i++) {
      if (this.pingState[i] === 0) {
        slot = i;
        break;
      }
    }
    if (slot < 0) return -Errno.ENOBUFS;
    const rt = this.route;
    const r = this.ip.route(rt, dst, 0);
    if (r !== 0) return r;
    if (IPV4_MIN_HLEN + ICMP_HLEN + size > this.ctx.config.ipMaxDatagramBytes) return -Errno.EMSGSIZE;
    const t = this.ctx.tx;
    const p = IP_PAYLOAD_OFFSET + ICMP_HLEN;
    for (let i = 0; i < size; i++) t[p + i] = (i + 0x10) & 0xff;
    this.pingSeq = (this.pingSeq + 1) & 0xffff;
    writeIcmp(t, IP_PAYLOAD_OFFSET, ICMP_HLEN + size, ICMP_ECHO_REQUEST, 0, this.pingIdent, this.pingSeq);
    this.pingState[slot] = 1;
    this.pingDst[slot] = dst;
    this.pingSeqs[slot] = this.pingSeq;
    this.pingSent[slot] = this.ctx.preciseNow();
    this.pingDeadline[slot] = this.ctx.now + timeoutMs;
    if (this.pingDeadline[slot] < this.nextDeadline) this.nextDeadline = this.pingDeadline[slot];
    this.ctx.stats.icmp.echoRequestsOut++;
    this.ctx.stats.icmp.tx++;
    const out = this.ip.output(rt, IPPROTO_ICMP, ICMP_HLEN + size, dst, ttl, 0);
    if (out < 0) {
      this.pingState[slot] = 0;
      return out;
    }
    return slot;
  }

  private matchReply(src: number, id: number, seq: number): void {
    if (id === this.pingIdent) {
      for (let i = 0; i < this.maxPings; i++) {
        if (this.pingState[i] === 1 && this.pingSeqs[i] === seq && this.pingDst[i] === src) {
          this.finishPing(i, this.ctx.preciseNow() - this.pingSent[i], 0);
          return;
        }
      }
    }
    this.ctx.stats.icmp.unmatchedReplies++;
  }

  private finishPing(slot: number, rtt: number, errno: number): void {
    this.pingState[slot] = 0;
    if (this.echoListener !== null) this.echoListener(slot, rtt, errno);
    this.lastErrorType = -1;
  }

  /** Neighbour resolution for `ip` failed: pings to it fail now instead of at their timeout. */
  hostUnreachable(ip: number): void {
    for (let i = 0; i < this.maxPings; i++) {
      if (this.pingState[i] === 1 && (this.pingDst[i] === ip || this.ip.route(this.route, this.pingDst[i], 0) === 0
        && this.route.nextHop === ip)) this.finishPing(i, 0, Errno.EHOSTUNREACH);
    }
  }

  /** Earliest ping deadline, set by {@link poll} (a field so that no number is boxed per poll). */
  nextDeadline = Infinity;

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

