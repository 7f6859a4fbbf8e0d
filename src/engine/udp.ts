/** UDP (RFC 768): demultiplexing to sockets, checksums, and sending. */
import { copyBytes } from '../wire/bytes.js';
import { IPPROTO_UDP, IP_FLAG_DF } from '../wire/ipv4.js';
import { UDP_HLEN, udpChecksumOk, udpDstPort, udpLength, udpSrcPort, writeUdp } from '../wire/udp.js';
import { ICMP_DEST_UNREACH, UNREACH_PORT } from '../wire/icmp.js';
import { IPV4_BROADCAST } from '../wire/ipv4addr.js';
import {
  EV_ERROR, EV_READABLE, F_BOUND, F_BROADCAST, F_CONNECTED, F_DONTFRAG, F_REUSEADDR, SOCK_UDP, type SocketTable,
} from './socket-table.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { IP_PAYLOAD_OFFSET, type IpOutput } from './ipv4.js';
import type { IcmpErrorSender } from './icmp.js';
import { RouteRecord } from './routes.js';
import { Errno } from './errno.js';

/** IPv4 and UDP headers: the largest payload is `ipMaxDatagramBytes` - 28 (65507), or MTU - 28 with DF. */
export const UDP_IP_OVERHEAD = 28;

export class Udp {
  /** Where this module's route() answers go (see RouteRecord: never shared with another sender). */
  private readonly route = new RouteRecord();

  constructor(private readonly ctx: EngineContext, private readonly ip: IpOutput, private readonly icmp: IcmpErrorSender,
    private readonly sockets: SocketTable) {}

  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    const st = this.ctx.stats.udp;
    st.rx++;
    const u = o + hlen;
    const len = total - hlen;
    if (len < UDP_HLEN) {
      st.malformed++;
      return;
    }
    const ulen = udpLength(b, u);
    if (ulen < UDP_HLEN || ulen > len) {
      st.malformed++;
      return;
    }
    // A link with checksum offload vouches for the data (RX_CSUM_VALID, RX_CSUM_PARTIAL).
    if (iface.rxFlags === 0 && !udpChecksumOk(b, u, ulen, src, dst)) {
      st.badChecksum++;
      return;
    }
    const sport = udpSrcPort(b, u);
    const dport = udpDstPort(b, u);
    const t = this.sockets;
    let best = -1;
    let bestScore = -1;
    let deliveredAny = false;
    for (let s = t.udpPortHead[t.portBucket(dport)]; s >= 0; s = t.portNext[s]) {
      if (t.localPort[s] !== dport) continue;
      const la = t.localAddr[s];
      if (la !== 0 && la !== dst) continue;
      let score = la !== 0 ? 1 : 0;
      if ((t.flags[s] & F_CONNECTED) !== 0) {
        if (t.remoteAddr[s] !== src || t.remotePort[s] !== sport) continue;
        score += 2;
      }
      if (bcast) {
        // Broadcasts go to every matching socket, as on Linux.
        this.deliver(s, b, u, ulen, src, sport);
        deliveredAny = true;
      } else if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (best >= 0) {
      this.deliver(best, b, u, ulen, src, sport);
      return;
    }
    if (deliveredAny) return;
    st.noPort++;
    if (!bcast) this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_PORT, 0, b, o, total);
  }

  private deliver(s: number, b: Uint8Array, u: number, ulen: number, src: number, sport: number): void {
    const h = this.sockets.datagramHandlers[s];
    if (h !== null) {
      this.ctx.stats.udp.delivered++;
      h(b, u + UDP_HLEN, ulen - UDP_HLEN, src, sport);
      return;
    }
    if (this.sockets.ring(s).push(b, u + UDP_HLEN, ulen - UDP_HLEN, src, sport)) {
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
}
