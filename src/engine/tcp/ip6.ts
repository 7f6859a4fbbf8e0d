/**
 * TCP over IPv6 (RFC 8200 8.1, RFC 9293): what the family-6 paths of input,
 * output, the passive opens and the user calls share: the connection
 * lookup and listener search by 16-byte addresses, routing and the MSS from
 * `flowMtu6`, and the checksum and send of a segment built at
 * IP6_PAYLOAD_OFFSET. Family-6 slots keep {@link fold6} of their addresses
 * in `localAddr`/`remoteAddr`, so the 4-tuple hash of tcb.ts serves both
 * families; a hit is confirmed on the family and all 16 bytes.
 */
import { ip6Copy } from '../../wire/ipv6addr.js';
import { LITTLE_ENDIAN, wholeView } from '../../wire/bytes.js';
import { ETH_HLEN } from '../../wire/ethernet.js';
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import { seqGt, tcpSetChecksum6 } from '../../wire/tcp.js';
import { AF_INET6, SOCK_TCP, addr6Equal, addr6Unspecified, fold6w } from '../socket-table.js';
import { Errno } from '../errno.js';
import { HOP_LIMIT_DEFAULT, IP6_ADDRS_IN_PLACE, IP6_DONTFRAG, IP6_PAYLOAD_OFFSET, type Ip6Output } from '../ipv6.js';
import { Route6Record } from '../routes6.js';
import type { TcpCore } from './core.js';
import { LISTEN, SYN_SENT } from './tcb.js';

/** IPv6 and TCP fixed headers: MSS = path MTU − 60 (flowMtu6 already leaves out the 40 of IPv6). */
export const TCP6_HEADER = 20;
/** The IPv6 minimum link MTU (RFC 8200 5) less both headers: the MSS when nothing better is known. */
export const TCP6_MIN_MSS = 1280 - 60;

/** Where the IPv6 header's source and destination sit in the transmit buffer. */
const TX_SRC6 = ETH_HLEN + 8;
const TX_DST6 = ETH_HLEN + 24;

export class TcpV6 {
  /** Where hostUnreachable6's route6() answers go. */
  private readonly nhRoute = new Route6Record();
  /** routeConn's last successful answer: the record it filled, for which slot, at which `addr6Epoch`, with which stamp. */
  private memoRecord: Route6Record | null = null;
  private memoSlot = -1;
  private memoEpoch = -1;
  private memoStamp = -1;

  constructor(private readonly core: TcpCore, readonly ip6: Ip6Output | null) {}

  /** Family-6 connection slot of a 4-tuple (local `l[lo]`:lport, remote `r[ro]`:rport), or -1. */
  lookup6(l: Uint8Array, lo: number, lport: number, r: Uint8Array, ro: number, rport: number): number {
    const lv = wholeView(l);
    const lp = l.byteOffset + lo;
    const l0 = lv.getInt32(lp, LITTLE_ENDIAN);
    const l1 = lv.getInt32(lp + 4, LITTLE_ENDIAN);
    const l2 = lv.getInt32(lp + 8, LITTLE_ENDIAN);
    const l3 = lv.getInt32(lp + 12, LITTLE_ENDIAN);
    const rv = wholeView(r);
    const rp = r.byteOffset + ro;
    const r0 = rv.getInt32(rp, LITTLE_ENDIAN);
    const r1 = rv.getInt32(rp + 4, LITTLE_ENDIAN);
    const r2 = rv.getInt32(rp + 8, LITTLE_ENDIAN);
    const r3 = rv.getInt32(rp + 12, LITTLE_ENDIAN);
    return this.lookup6Words(fold6w(l0, l1, l2, l3), l0, l1, l2, l3, lport, fold6w(r0, r1, r2, r3), r0, r1, r2, r3, rport);
  }

  /**
   * {@link lookup6} with both addresses given as words in the platform's
   * byte order (as the packet's are read in input6) and their folds `la`,
   * `ra` (the hash keys): four word compares an address against
   * `localAddr6w`/`remoteAddr6w`.
   */
  lookup6Words(la: number, l0: number, l1: number, l2: number, l3: number, lport: number,
    ra: number, r0: number, r1: number, r2: number, r3: number, rport: number): number {
    const c = this.core;
    const t = c.t;
    const st = c.sockets;
    const lw = st.localAddr6w;
    const rw = st.remoteAddr6w;
    for (let s = t.hashHead[t.bucket(la, lport, ra, rport)]; s >= 0; s = t.hashNext[s]) {
      const j = 4 * s;
      if (st.localPort[s] === lport && st.remotePort[s] === rport && st.remoteAddr[s] === ra && st.localAddr[s] === la
        && st.family[s] === AF_INET6 && rw[j + 3] === r3 && rw[j] === r0 && rw[j + 1] === r1 && rw[j + 2] === r2
        && lw[j + 3] === l3 && lw[j] === l0 && lw[j + 1] === l1 && lw[j + 2] === l2) return s;
    }
    return -1;
  }

  /** Family-6 listener for destination `a[ao]`:port, or -1 (a specific address beats `::`). */
  findListener6(a: Uint8Array, ao: number, port: number): number {
    const c = this.core;
    const st = c.sockets;
    let wild = -1;
    for (let s = st.tcpPortHead[st.portBucket(port)]; s >= 0; s = st.portNext[s]) {
      if (st.localPort[s] !== port || c.t.state[s] !== LISTEN || st.family[s] !== AF_INET6) continue;
      if (st.local6Is(s, a, ao)) return s;
      if (addr6Unspecified(st.localAddr6, 16 * s)) wild = s;
    }
    return wild;
  }

  /**
   * Route connection `s` (family 6) into `r`; 0 or -errno. Every segment
   * asks: when `r` was last filled here for the same slot, no slot's
   * addresses were set since (`addr6Epoch`) and route6's answer still holds
   * (the record's stamp unchanged, Ipv6.stillRouted: no route, address, interface or zone changed), the
   * answer is the one `r` holds, without route6's 32 bytes of key compares.
   */
  routeConn(r: Route6Record, s: number): number {
    const ip6 = this.ip6;
    if (ip6 === null) return -Errno.ENETUNREACH;
    const so = this.core.sockets;
    if (r === this.memoRecord && s === this.memoSlot && so.addr6Epoch === this.memoEpoch && r.stamp === this.memoStamp
      && ip6.stillRouted(r)) return 0;
    const o = 16 * s;
    const e = ip6.route6(r, so.remoteAddr6, o, addr6Unspecified(so.localAddr6, o) ? null : so.localAddr6, o);
    this.memoRecord = e === 0 ? r : null;
    this.memoSlot = s;
    this.memoEpoch = so.addr6Epoch;
    // Another key routed into `r` since would have given it another stamp.
    this.memoStamp = r.stamp;
    return e;
  }

  /** Route to `dst[dOff]` from `src[sOff]` (null: source selection); 0 or -errno. */
  route(r: Route6Record, dst: Uint8Array, dOff: number, src: Uint8Array | null, sOff: number): number {
    const ip6 = this.ip6;
    return ip6 === null ? -Errno.ENETUNREACH : ip6.route6(r, dst, dOff, src, sOff);
  }

  /** Payload room of a segment without options on route `r` to `dst[dOff]` (the MSS to offer). */
  mss(r: Route6Record, dst: Uint8Array, dOff: number): number {
    return (this.ip6 as Ip6Output).flowMtu6(r, dst, dOff) - TCP6_HEADER;
  }

  /**
   * Checksum and send the segment of `len` bytes at IP6_PAYLOAD_OFFSET of
   * the transmit buffer along `r` to `dst[dOff]`, as IPv4's TCP does with
   * DF: never fragmented at the source. The addresses are first written
   * where the IPv6 header will carry them, so the pseudo-header sum reads
   * one buffer (output6 writes the same values there).
   */
  send(r: Route6Record, len: number, dst: Uint8Array, dOff: number): number {
    const c = this.core;
    const b = c.ctx.tx;
    ip6Copy(r.src, 0, b, TX_SRC6);
    ip6Copy(dst, dOff, b, TX_DST6);
    tcpSetChecksum6(b, IP6_PAYLOAD_OFFSET, len, TX_SRC6, TX_DST6);
    return (this.ip6 as Ip6Output).output6(r, IPPROTO_TCP, len, dst, dOff, HOP_LIMIT_DEFAULT, IP6_DONTFRAG | IP6_ADDRS_IN_PLACE);
  }

  /**
   * {@link send} for connection `s`'s segment: the addresses are written as
   * words, the source from `r.srcw`, the destination from the slot's
   * `remoteAddr6w` (8 word stores instead of 32 byte copies).
   */
  sendConn(r: Route6Record, len: number, s: number): number {
    const c = this.core;
    const b = c.ctx.tx;
    const v = wholeView(b);
    const p = b.byteOffset + TX_SRC6;
    const sw = r.srcw;
    const so = c.sockets;
    const dw = so.remoteAddr6w;
    const le = LITTLE_ENDIAN;
    // A loop, not 8 statements: this is inlined into sendSegment, and its bytecode counts against the
    // inlining budget the rest of that function needs (unrolled, 408 bytes of it).
    for (let i = 0, j = 4 * s; i < 4; i++, j++) {
      v.setInt32(p + 4 * i, sw[i], le);
      v.setInt32(p + 16 + 4 * i, dw[j], le);
    }
    tcpSetChecksum6(b, IP6_PAYLOAD_OFFSET, len, TX_SRC6, TX_DST6);
    return (this.ip6 as Ip6Output).output6(r, IPPROTO_TCP, len, so.remoteAddr6, 16 * s, HOP_LIMIT_DEFAULT,
      IP6_DONTFRAG | IP6_ADDRS_IN_PLACE);
  }

  /**
   * An ICMPv6 error quoting a segment we sent (the Tcp6ErrorSink of
   * icmpv6.ts; RFC 5927 guidance as IPv4's): Packet Too Big lowers the MSS
   * to the new path MTU (RFC 8201 5.2), unreachable aborts a connection
   * still in SYN_SENT; other errors are soft and only recorded by the peer's silence.
   */
  icmp6Error(b: Uint8Array, laddrOff: number, lport: number, raddrOff: number, rport: number, seq: number,
    errno: number, mtu: number): void {
    const c = this.core;
    const s = this.lookup6(b, laddrOff, lport, b, raddrOff, rport);
    if (s < 0) return;
    const t = c.t;
    if (seqGt(t.sndUna[s], seq) || seqGt(seq, t.sndMax[s])) return;
    if (mtu > 0) {
      // IPv6 never goes below 1280 (RFC 8200 5); a smaller report is not believed.
      const mss = (mtu < 1280 ? 1280 : mtu) - 60;
      if (mss < t.mss[s]) {
        t.mss[s] = mss;
        c.out.output(s);
      }
      return;
    }
    if (t.state[s] === SYN_SENT && (errno === Errno.ECONNREFUSED || errno === Errno.EHOSTUNREACH
      || errno === Errno.ENETUNREACH)) {
      c.finish(s, errno);
    }
  }

  /**
   * Neighbour discovery for `nextHop[nhOff]` failed (RFC 4861 7.3.3): active
   * opens to it fail with EHOSTUNREACH now, as IPv4's after ARP gives up.
   */
  hostUnreachable6(nextHop: Uint8Array, nhOff: number): void {
    const c = this.core;
    const r = this.nhRoute;
    const t = c.t;
    const so = c.sockets;
    for (let s = 0; s < t.n; s++) {
      if (so.type[s] !== SOCK_TCP || t.state[s] !== SYN_SENT || so.family[s] !== AF_INET6) continue;
      if (so.remote6Is(s, nextHop, nhOff) || (this.routeConn(r, s) === 0 && addr6Equal(r.nextHop, 0, nextHop, nhOff))) {
        c.stats.timeouts++;
        c.finish(s, Errno.EHOSTUNREACH);
      }
    }
  }
}
