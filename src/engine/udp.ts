/** UDP (RFC 768): demultiplexing to sockets, checksums, and sending. */
import { copyBytes } from '../wire/bytes.js';
import { ip6Copy } from '../wire/ipv6addr.js';
import { IPPROTO_UDP, IP_FLAG_DF } from '../wire/ipv4.js';
import {
  UDP_HLEN, udpChecksumOk, udpChecksumOk6, udpDstPort, udpLength, udpSrcPort, writeUdp, writeUdp6,
} from '../wire/udp.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ICMP_DEST_UNREACH, UNREACH_PORT } from '../wire/icmp.js';
import { IPV4_BROADCAST } from '../wire/ipv4addr.js';
import {
  AF_INET, AF_INET6, EV_ERROR, EV_READABLE, F_BOUND, F_BROADCAST, F_CONNECTED, F_DONTFRAG, F_REUSEADDR, F_V6ONLY,
  SOCK_UDP, addr6Unspecified, type SocketTable,
} from './socket-table.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { IP_PAYLOAD_OFFSET, type IpOutput } from './ipv4.js';
import type { IcmpErrorSender } from './icmp.js';
import { RouteRecord } from './routes.js';
import { Route6Record } from './routes6.js';
import { HOP_LIMIT_DEFAULT, IP6_ADDRS_IN_PLACE, IP6_DONTFRAG, IP6_PAYLOAD_OFFSET, type Ip6Output } from './ipv6.js';
import type { Icmp6ErrorSender } from './icmpv6.js';
import { ICMP6_DST_UNREACH, UNREACH6_PORT } from '../wire/icmpv6.js';
import { Errno } from './errno.js';

/** IPv4 and UDP headers: the largest payload is `ipMaxDatagramBytes` - 28 (65507), or MTU - 28 with DF. */
export const UDP_IP_OVERHEAD = 28;

/** IPv6 and UDP headers: the largest payload is `ipMaxDatagramBytes` - 48. */
export const UDP6_IP_OVERHEAD = 48;

/** Where the IPv6 header's addresses sit in the transmit buffer (for the pseudo-header sum). */
const TX_SRC6 = ETH_HLEN + 8;
const TX_DST6 = ETH_HLEN + 24;

export class Udp {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();
  private readonly route6 = new Route6Record();

  /**
   * @param ip6 IPv6 output (null: no IPv6)
   * @param icmp6 ICMPv6 errors: answers a datagram for a port nobody has (RFC 4443 3.1)
   */
  constructor(private readonly ctx: EngineContext, private readonly ip: IpOutput, private readonly icmp: IcmpErrorSender,
    private readonly sockets: SocketTable, private readonly ip6: Ip6Output | null = null,
    private readonly icmp6: Icmp6ErrorSender | null = null) {}

  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    const u = o + hlen;
    const ulen = this.header(b, u, total - hlen);
    if (ulen < 0) return;
    // A link with checksum offload vouches for the data (RX_CSUM_VALID, RX_CSUM_PARTIAL).
    if (iface.rxFlags === 0 && !udpChecksumOk(b, u, ulen, src, dst)) {
      this.ctx.stats.udp.badChecksum++;
      return;
    }
    if (this.demux(b, u, ulen, bcast, false, src, dst, 0, 0)) return;
    this.ctx.stats.udp.noPort++;
    if (!bcast) this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_PORT, 0, b, o, total);
  }

  /**
   * Both families' first step: counts the datagram; returns the UDP length,
   * or -1 when the datagram (`len` bytes at `b[u]`) is malformed (counted).
   */
  private header(b: Uint8Array, u: number, len: number): number {
    const st = this.ctx.stats.udp;
    st.rx++;
    if (len < UDP_HLEN) {
      st.malformed++;
      return -1;
    }
    const ulen = udpLength(b, u);
    if (ulen < UDP_HLEN || ulen > len) {
      st.malformed++;
      return -1;
    }
    return ulen;
  }

  /**
   * Both families after the checksum: the datagram at `b[u]` (`ulen` bytes)
   * to the best matching socket (bound address over wildcard, connected over
   * not), or to every matching socket when `many` (broadcast, multicast, as
   * on Linux). IPv4: the addresses are `src`/`dst`; IPv6 (`v6`): the 16 bytes
   * at `b[srcOff]`/`b[dstOff]`. Returns whether any socket got it.
   */
  private demux(b: Uint8Array, u: number, ulen: number, many: boolean, v6: boolean, src: number, dst: number,
    srcOff: number, dstOff: number): boolean {
    const sport = udpSrcPort(b, u);
    const dport = udpDstPort(b, u);
    const t = this.sockets;
    let best = -1;
    let bestScore = -1;
    let deliveredAny = false;
    for (let s = t.udpPortHead[t.portBucket(dport)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== dport) continue;
      const score = v6 ? this.score6(s, b, srcOff, dstOff, sport) : this.score4(s, src, dst, sport);
      if (score < 0) continue;
      if (many) {
        this.deliver(s, b, u, ulen, v6, src, srcOff, sport);
        deliveredAny = true;
      } else if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (best >= 0) {
      this.deliver(best, b, u, ulen, v6, src, srcOff, sport);
      return true;
    }
    return deliveredAny;
  }

  /** How well socket `s` matches an IPv4 datagram src:sport → dst: -1 not at all, +1 bound address, +2 connected. */
  private score4(s: number, src: number, dst: number, sport: number): number {
    const t = this.sockets;
    // An AF_INET6 socket takes IPv4 only bound to ::, unconnected and without V6ONLY (RFC 3493 3.7).
    if (t.family[s] !== AF_INET && ((t.flags[s] & F_CONNECTED) !== 0 || !t.acceptsV4(s))) return -1;
    const la = t.localAddr[s];
    if (la !== 0 && la !== dst) return -1;
    let score = la !== 0 ? 1 : 0;
    if ((t.flags[s] & F_CONNECTED) !== 0) {
      if (t.remoteAddr[s] !== src || t.remotePort[s] !== sport) return -1;
      score += 2;
    }
    return score;
  }

  /** {@link score4} for an IPv6 datagram from `b[srcOff]`:sport to `b[dstOff]`. */
  private score6(s: number, b: Uint8Array, srcOff: number, dstOff: number, sport: number): number {
    const t = this.sockets;
    if (t.family[s] !== AF_INET6) return -1;
    const any = addr6Unspecified(t.localAddr6, 16 * s);
    if (!any && !t.local6Is(s, b, dstOff)) return -1;
    let score = any ? 0 : 1;
    if ((t.flags[s] & F_CONNECTED) !== 0) {
      if (t.remotePort[s] !== sport || !t.remote6Is(s, b, srcOff)) return -1;
      score += 2;
    }
    return score;
  }

  /** Hand the datagram to socket `s`'s handler or queue; the source is `src` (IPv4) or the 16 bytes at `b[srcOff]` (`v6`). */
  private deliver(s: number, b: Uint8Array, u: number, ulen: number, v6: boolean, src: number, srcOff: number,
    sport: number): void {
    const h = this.sockets.datagramHandlers[s];
    if (h !== null) {
      this.ctx.stats.udp.delivered++;
      if (v6) h(b, u + UDP_HLEN, ulen - UDP_HLEN, 0, sport, b, srcOff);
      else h(b, u + UDP_HLEN, ulen - UDP_HLEN, src, sport, null, 0);
      return;
    }
    const ring = this.sockets.ring(s);
    if (v6 ? ring.push6(b, u + UDP_HLEN, ulen - UDP_HLEN, b, srcOff, sport)
      : ring.push(b, u + UDP_HLEN, ulen - UDP_HLEN, src, sport)) {
      this.ctx.stats.udp.delivered++;
      this.sockets.raise(s, EV_READABLE);
    } else {
      this.ctx.stats.udp.queueFull++;
    }
  }

  /** An ICMP error quoting a datagram we sent from (laddr, lport) to (raddr, rport). */
  icmpError(laddr: number, lport: number, raddr: number, rport: number, errno: number): void {
    const t = this.sockets;
    for (let s = t.udpPortHead[t.portBucket(lport)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== lport) continue;
      if (t.localAddr[s] !== 0 && t.localAddr[s] !== laddr) continue;
      // Like Linux without IP_RECVERR: only connected sockets hear about errors.
      if ((t.flags[s] & F_CONNECTED) === 0 || t.remoteAddr[s] !== raddr || t.remotePort[s] !== rport) continue;
      t.soError[s] = errno;
      t.raise(s, EV_ERROR);
    }
  }

  /** True when binding `addr:port` would clash with an existing socket. */
  portInUse(addr: number, port: number, reuse: boolean): boolean {
    const t = this.sockets;
    for (let s = t.udpPortHead[t.portBucket(port)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== port) continue;
      if (reuse && (t.flags[s] & F_REUSEADDR) !== 0) continue;
      if (t.family[s] === AF_INET6 && !t.acceptsV4(s)) continue;
      const la = t.localAddr[s];
      if (la === 0 || addr === 0 || la === addr) return true;
    }
    return false;
  }

  /** Bind socket `s` to `addr:port` (port 0: ephemeral). Returns 0 or -errno. */
  bind(s: number, addr: number, port: number): number {
    const t = this.sockets;
    if ((t.flags[s] & F_BOUND) !== 0) return -Errno.EINVAL;
    if (addr !== 0 && this.ip.localInterface(addr) === null) return -Errno.EADDRNOTAVAIL;
    const reuse = (t.flags[s] & F_REUSEADDR) !== 0;
    if (port === 0) {
      port = t.ephemeralPort(t.udpPortHead, this.ctx.random32());
      if (port === 0) return -Errno.EADDRINUSE;
    } else if (this.portInUse(addr, port, reuse)) {
      return -Errno.EADDRINUSE;
    }
    t.localAddr[s] = addr;
    t.localPort[s] = port;
    t.flags[s] |= F_BOUND;
    t.linkPort(t.udpPortHead, s);
    return 0;
  }

  /**
   * Send `len` bytes from `buf[off..]` from socket `s` to `dst:dport`.
   * Returns the bytes sent or -errno.
   */
  send(s: number, buf: Uint8Array, off: number, len: number, dst: number, dport: number): number {
    const t = this.sockets;
    if (t.type[s] !== SOCK_UDP) return -Errno.EBADF;
    if (dport === 0 || dst === 0) return -Errno.EINVAL;
    const bound = t.localAddr[s];
    const bcast = dst === IPV4_BROADCAST;
    const rt = this.route;
    const r = this.ip.route(rt, dst, bound);
    if (r !== 0) return r;
    if ((bcast || rt.broadcast) && (t.flags[s] & F_BROADCAST) === 0) return -Errno.EACCES;
    const iface = rt.iface as NetInterface;
    // Larger than the MTU is fragmented, unless the socket asked for DF (IP_DONTFRAG). No DF by
    // default: without a path-MTU cache, DF would lose every datagram on a narrower path.
    const df = (t.flags[s] & F_DONTFRAG) !== 0;
    if (len + UDP_IP_OVERHEAD > this.ctx.config.ipMaxDatagramBytes || (df && len + UDP_IP_OVERHEAD > iface.mtu)) {
      return -Errno.EMSGSIZE;
    }
    const tx = this.ctx.tx;
    copyBytes(buf, off, tx, IP_PAYLOAD_OFFSET + UDP_HLEN, len);
    writeUdp(tx, IP_PAYLOAD_OFFSET, UDP_HLEN + len, t.localPort[s], dport, rt.src, dst);
    this.ctx.stats.udp.tx++;
    const out = this.ip.output(rt, IPPROTO_UDP, UDP_HLEN + len, dst, this.ctx.config.ttl, df ? IP_FLAG_DF : 0);
    return out < 0 ? out : len;
  }

  // --- IPv6 (RFC 8200 8.1; RFC 3493 3.7 for the dual-stack rules) ---

  /** A datagram over IPv6 (Transport6Input): the same demultiplexing as {@link input}, by 16-byte addresses. */
  input6(iface: NetInterface, b: Uint8Array, ipOff: number, u: number, len: number, multicast: boolean): void {
    const ulen = this.header(b, u, len);
    if (ulen < 0) return;
    const srcOff = ipOff + 8;
    const dstOff = ipOff + 24;
    // A link with checksum offload vouches for the data (RX_CSUM_VALID, RX_CSUM_PARTIAL), as for IPv4.
    if (iface.rxFlags === 0 && !udpChecksumOk6(b, u, ulen, srcOff, dstOff)) {
      this.ctx.stats.udp.badChecksum++;
      return;
    }
    if (this.demux(b, u, ulen, multicast, true, 0, 0, srcOff, dstOff)) return;
    this.ctx.stats.udp.noPort++;
    // Never an error about a multicast packet (RFC 4443 2.4 e.3).
    if (!multicast && this.icmp6 !== null) {
      this.icmp6.sendError(ICMP6_DST_UNREACH, UNREACH6_PORT, 0, b, ipOff, u + len - ipOff, false, -1);
    }
  }

  /** An ICMPv6 error quoting a datagram we sent (Udp6ErrorSink): connected sockets hear of it, as over IPv4. */
  icmp6Error(b: Uint8Array, laddrOff: number, lport: number, raddrOff: number, rport: number, errno: number): void {
    const t = this.sockets;
    for (let s = t.udpPortHead[t.portBucket(lport)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== lport || t.family[s] !== AF_INET6) continue;
      if (!addr6Unspecified(t.localAddr6, 16 * s) && !t.local6Is(s, b, laddrOff)) continue;
      if ((t.flags[s] & F_CONNECTED) === 0 || t.remotePort[s] !== rport || !t.remote6Is(s, b, raddrOff)) continue;
      t.soError[s] = errno;
      t.raise(s, EV_ERROR);
    }
  }

  /** Would binding `a[ao]`:port (V6ONLY as given) clash with a UDP socket already on the port? */
  portInUse6(a: Uint8Array, ao: number, port: number, reuse: boolean, v6only: boolean): boolean {
    const t = this.sockets;
    const any = addr6Unspecified(a, ao);
    for (let s = t.udpPortHead[t.portBucket(port)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== port) continue;
      if (reuse && (t.flags[s] & F_REUSEADDR) !== 0) continue;
      if (t.family[s] === AF_INET) {
        if (any && !v6only) return true;
        continue;
      }
      if (any || addr6Unspecified(t.localAddr6, 16 * s) || t.local6Is(s, a, ao)) return true;
    }
    return false;
  }

  /** Bind AF_INET6 socket `s` to `a[ao]` (`::` for any) and `port` (0: ephemeral). 0 or -errno. */
  bind6(s: number, a: Uint8Array, ao: number, port: number): number {
    const t = this.sockets;
    if (t.family[s] !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if ((t.flags[s] & F_BOUND) !== 0) return -Errno.EINVAL;
    if (!addr6Unspecified(a, ao) && (this.ip6 === null || this.ip6.localInterface6(a, ao) === null)) {
      return -Errno.EADDRNOTAVAIL;
    }
    const reuse = (t.flags[s] & F_REUSEADDR) !== 0;
    if (port === 0) {
      port = t.ephemeralPort(t.udpPortHead, this.ctx.random32());
      if (port === 0) return -Errno.EADDRINUSE;
    } else if (this.portInUse6(a, ao, port, reuse, (t.flags[s] & F_V6ONLY) !== 0)) {
      return -Errno.EADDRINUSE;
    }
    t.setLocal6(s, a, ao);
    t.localPort[s] = port;
    t.flags[s] |= F_BOUND;
    t.linkPort(t.udpPortHead, s);
    return 0;
  }

  /**
   * Send `len` bytes from `buf[off..]` from AF_INET6 socket `s` to
   * `dst[dOff]`:dport. Larger than the path MTU is fragmented at the source
   * (RFC 8200 4.5) unless the socket set DONTFRAG. Returns the bytes sent or -errno.
   */
  send6(s: number, buf: Uint8Array, off: number, len: number, dst: Uint8Array, dOff: number, dport: number): number {
    const t = this.sockets;
    if (t.type[s] !== SOCK_UDP) return -Errno.EBADF;
    if (t.family[s] !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if (dport === 0 || addr6Unspecified(dst, dOff)) return -Errno.EINVAL;
    const ip6 = this.ip6;
    if (ip6 === null) return -Errno.ENETUNREACH;
    const rt = this.route6;
    const lo = 16 * s;
    const r = ip6.route6(rt, dst, dOff, addr6Unspecified(t.localAddr6, lo) ? null : t.localAddr6, lo);
    if (r !== 0) return r;
    const df = (t.flags[s] & F_DONTFRAG) !== 0;
    // The whole packet is built in the transmit frame (ipMaxDatagramBytes), as over IPv4.
    if (len + UDP6_IP_OVERHEAD > this.ctx.config.ipMaxDatagramBytes || (df && len + UDP_HLEN > ip6.flowMtu6(rt, dst, dOff))) {
      return -Errno.EMSGSIZE;
    }
    const tx = this.ctx.tx;
    copyBytes(buf, off, tx, IP6_PAYLOAD_OFFSET + UDP_HLEN, len);
    ip6Copy(rt.src, 0, tx, TX_SRC6);
    ip6Copy(dst, dOff, tx, TX_DST6);
    writeUdp6(tx, IP6_PAYLOAD_OFFSET, UDP_HLEN + len, t.localPort[s], dport, TX_SRC6, TX_DST6);
    this.ctx.stats.udp.tx++;
    const out = ip6.output6(rt, IPPROTO_UDP, UDP_HLEN + len, dst, dOff, HOP_LIMIT_DEFAULT,
      df ? IP6_DONTFRAG | IP6_ADDRS_IN_PLACE : IP6_ADDRS_IN_PLACE);
    return out < 0 ? out : len;
  }
}
