/**
 * IPv6 output (RFC 8200): routing with source address selection (RFC 6724,
 * simplified), sending, and source fragmentation (§4.5). As IPv4's output
 * (ipv4.ts), a sender asks {@link Ipv6.route6} into a Route6Record it owns,
 * writes its transport header and payload at IP6_PAYLOAD_OFFSET of the
 * transmit buffer, then calls {@link Ipv6.output6}. Frames leave through
 * neighbour discovery on Ethernet links, straight to the link on 'ip' links
 * (WireGuard), or through the loopback queue for our own addresses. The
 * contract types live in ipv6-types.ts and are re-exported here.
 */
import type { Carver } from '../storage/arena.js';
import { LITTLE_ENDIAN, copyBytes, wholeView } from '../wire/bytes.js';
import { ETH_HLEN, writeEth } from '../wire/ethernet.js';
import {
  ETHERTYPE_IPV6, FRAG_HLEN, IPV6_HLEN, IP6_DST, IP6_PLEN, IP6_NXT, IP6_SRC, NH_FRAGMENT, writeFragHeader, writeIpv6,
} from '../wire/ipv6.js';
import {
  ip6CommonPrefixLen, ip6Copy, ip6Equal, isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6, multicastScope6,
} from '../wire/ipv6addr.js';
import { set16 } from '../wire/bytes.js';
import type { EngineContext } from './context.js';
import { ADDR6_DEPRECATED, ADDR6_PREFERRED, type NetInterface } from './netif.js';
import type { Route6Record, Route6Table } from './routes6.js';
import type { LoopbackQueue } from './loopback.js';
import { Errno } from './errno.js';
import { PathMtu6 } from './pmtu6.js';
import { HOP_LIMIT_DEFAULT, IP6_ADDRS_IN_PLACE, IP6_DONTFRAG, type Ip6Output, type NeighbourOutput } from './ipv6-types.js';

export {
  IP6_PAYLOAD_OFFSET, IP6_DONTFRAG, IP6_ADDRS_IN_PLACE, HOP_LIMIT_DEFAULT, type Ip6Output, type Transport6Input, type Transports6,
  type Udp6ErrorSink, type Tcp6ErrorSink, type NeighbourOutput, type NeighbourInput,
} from './ipv6-types.js';

/** RFC 6724 §3.1 scope of a unicast or multicast address (2 link-local, 14 global). */
export function scope6(b: Uint8Array, o: number): number {
  if (isMulticast6(b, o)) return multicastScope6(b, o);
  if (isLinkLocal6(b, o) || isLoopback6(b, o)) return 2;
  return 14;
}

export class Ipv6 implements Ip6Output {
  readonly pmtu: PathMtu6;
  /** Fragment 0 is copied here (its fragment header goes between the header and the data). */
  private readonly piece: Uint8Array;
  /** The datagram's fixed header, rewritten in front of each later piece. */
  private readonly hdr: Uint8Array;
  /** Where packets sent while the pieces go out are built (as large as the transmit frame). */
  private readonly nested: Uint8Array;
  private busy = false;
  /**
   * route6's last successful answer, a one-entry destination cache (as
   * RFC 4861 §5.1's, for the common case of one peer after another): key
   * [0,16) destination, [16,32) given source; answer [32,48) source,
   * [48,64) next hop. Valid while no route, address or interface changed
   * (the generations below), so a hit answers exactly as the full walk would.
   */
  private readonly memo: Uint8Array;
  private memoIface: NetInterface | null = null;
  private memoHasSrc = false;
  private memoLocal = false;
  private memoMulticast = false;
  private memoRoutes = -1;
  private memoAddrs = -1;
  private memoIfs = -1;
  private memoZone = 0;
  /** Names the memo's current answer (Route6Record.stamp): bumped whenever the memo is refilled. */
  private memoStamp = 0;

  /** The memory plan of {@link Ipv6}'s constructor. */
  static plan(m: Carver, pmtuEntries: number, frameBytes: number, txBytes: number): void {
    new PathMtu6(m, pmtuEntries);
    m.u8('ip6Fragment', frameBytes);
    m.u8('ip6Fragment', IPV6_HLEN);
    m.u8('txFrameNested6', txBytes);
    m.u8('route6Memo', 64);
  }

  constructor(m: Carver, private readonly ctx: EngineContext, private readonly nd: NeighbourOutput,
    private readonly routes: Route6Table, private readonly loopback: LoopbackQueue, pmtuEntries: number,
    frameBytes: number, txBytes: number) {
    this.pmtu = new PathMtu6(m, pmtuEntries);
    this.piece = m.u8('ip6Fragment', frameBytes);
    this.hdr = m.u8('ip6Fragment', IPV6_HLEN);
    this.nested = m.u8('txFrameNested6', txBytes);
    this.memo = m.u8('route6Memo', 64);
  }

  /** The interface owning the usable (preferred or deprecated) address `addr`, or null. */
  localInterface6(addr: Uint8Array, off: number): NetInterface | null {
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i].ownsAddress6(addr, off)) return ifs[i];
    return null;
  }

  /**
   * Which of a received packet's addresses are ours, in one pass over the
   * usable addresses (what {@link localInterface6} answers for each, without
   * walking the interfaces twice per packet): bit 1 the source at
   * `b[srcOff]`, bit 2 the destination at `b[dstOff]`.
   */
  ownership6(b: Uint8Array, srcOff: number, dstOff: number): number {
    // Both addresses as words, read once (any alignment): each of ours is then four word compares a side.
    const v = wholeView(b);
    const sp = b.byteOffset + srcOff;
    const dp = b.byteOffset + dstOff;
    const s0 = v.getInt32(sp, LITTLE_ENDIAN);
    const s1 = v.getInt32(sp + 4, LITTLE_ENDIAN);
    const s2 = v.getInt32(sp + 8, LITTLE_ENDIAN);
    const s3 = v.getInt32(sp + 12, LITTLE_ENDIAN);
    const d0 = v.getInt32(dp, LITTLE_ENDIAN);
    const d1 = v.getInt32(dp + 4, LITTLE_ENDIAN);
    const d2 = v.getInt32(dp + 8, LITTLE_ENDIAN);
    const d3 = v.getInt32(dp + 12, LITTLE_ENDIAN);
    const ifs = this.ctx.interfaces;
    let own = 0;
    for (let i = 0; i < ifs.length; i++) {
      const f = ifs[i];
      const w = f.addr6w;
      for (let k = 0; k < f.addr6Count; k++) {
        if (f.addr6State[k] < ADDR6_PREFERRED) continue; // free or tentative (RFC 4862 5.4: not yet ours)
        const j = 4 * k;
        // The last word first: addresses of one prefix (a host's own, its peers') differ at the end.
        if (w[j + 3] === d3 && w[j] === d0 && w[j + 1] === d1 && w[j + 2] === d2) own |= 2;
        if (w[j + 3] === s3 && w[j] === s0 && w[j + 1] === s1 && w[j + 2] === s2) own |= 1;
      }
    }
    return own;
  }

  /**
   * Choose interface, source and next hop for `dst` into `r`. Our own
   * addresses go through the loopback queue; multicast and link-local
   * destinations leave through the zone the caller named (`ctx.zone6`, from
   * a `%zone` suffix: RFC 4007 §11), else the interface of the bound source,
   * else the first interface with a link-local (for multicast: any)
   * address; anything else follows the longest matching route. Returns 0, -ENETUNREACH, or -EADDRNOTAVAIL (no usable source).
   */
  route6(r: Route6Record, dst: Uint8Array, dOff: number, src: Uint8Array | null, sOff: number): number {
    const ifs = this.ctx.interfaces;
    let addrs = 0;
    for (let i = 0; i < ifs.length; i++) addrs += ifs[i].addr6Gen; // each only grows: any change moves the sum
    const m = this.memo;
    if (this.memoIface !== null && this.memoRoutes === this.routes.generation && this.memoAddrs === addrs
      && this.memoIfs === ifs.length && this.memoZone === this.ctx.zone6 && ip6Equal(m, 0, dst, dOff)
      && (src === null ? !this.memoHasSrc : this.memoHasSrc && ip6Equal(m, 16, src, sOff))) {
      // A record that already holds this answer (the same sender asking again) needs nothing written.
      if (r.stamp === this.memoStamp) return 0;
      r.local = this.memoLocal;
      r.multicast = this.memoMulticast;
      r.iface = this.memoIface;
      ip6Copy(m, 32, r.src, 0);
      ip6Copy(m, 48, r.nextHop, 0);
      r.stamp = this.memoStamp;
      return 0;
    }
    // The key is copied first: dst or src may be the record's own arrays, which the walk overwrites.
    this.memoIface = null;
    this.memoStamp++;
    r.stamp = -1;
    ip6Copy(dst, dOff, m, 0);
    this.memoHasSrc = src !== null;
    if (src !== null) ip6Copy(src, sOff, m, 16);
    const e = this.walk6(r, dst, dOff, src, sOff);
    if (e !== 0) return e;
    this.memoIface = r.iface;
    this.memoLocal = r.local;
    this.memoMulticast = r.multicast;
    ip6Copy(r.src, 0, m, 32);
    ip6Copy(r.nextHop, 0, m, 48);
    this.memoRoutes = this.routes.generation;
    this.memoAddrs = addrs;
    this.memoIfs = ifs.length;
    this.memoZone = this.ctx.zone6;
    r.stamp = this.memoStamp;
    return 0;
  }

  /**
   * True when `r` still holds route6's remembered answer and nothing that
   * answer depends on (routes, addresses, interfaces, zone) changed since: a
   * sender that knows it would ask for the same key (one connection's
   * addresses) may then skip route6 and its 32 bytes of key compares.
   */
  stillRouted(r: Route6Record): boolean {
    if (r.stamp !== this.memoStamp || this.memoIface === null || this.memoRoutes !== this.routes.generation) return false;
    const ifs = this.ctx.interfaces;
    if (this.memoIfs !== ifs.length || this.memoZone !== this.ctx.zone6) return false;
    let addrs = 0;
    for (let i = 0; i < ifs.length; i++) addrs += ifs[i].addr6Gen;
    return addrs === this.memoAddrs;
  }

  /** route6 without the memo: the full decision. */
  private walk6(r: Route6Record, dst: Uint8Array, dOff: number, src: Uint8Array | null, sOff: number): number {
    r.local = false;
    r.multicast = false;
    r.iface = null;
    const local = this.localInterface6(dst, dOff);
    if (local !== null) {
      r.iface = local;
      ip6Copy(dst, dOff, r.src, 0);
      ip6Copy(dst, dOff, r.nextHop, 0);
      r.local = true;
      return 0;
    }
    if (isUnspecified6(dst, dOff) || isLoopback6(dst, dOff)) {
      this.ctx.stats.ip6.noRoute++;
      return -Errno.ENETUNREACH;
    }
    let iface: NetInterface | null;
    const mcast = isMulticast6(dst, dOff);
    const scoped = mcast ? scope6(dst, dOff) <= 2 : isLinkLocal6(dst, dOff);
    if (mcast || scoped) {
      // Only here does the bound source pick the interface (a global unicast
      // destination follows its route), so only here is it looked up.
      const z = this.ctx.zone6;
      iface = z > 0 && z <= this.ctx.interfaces.length ? this.ctx.interfaces[z - 1]
        : src !== null ? this.localInterface6(src, sOff) : null;
      if (iface === null && !scoped) {
        const k = this.routes.lookup(dst, dOff);
        if (k >= 0) iface = this.ctx.interfaces[this.routes.ifIndexOf(k)];
      }
      if (iface === null) iface = this.firstWithAddress(scoped);
      if (iface === null) {
        this.ctx.stats.ip6.noRoute++;
        return -Errno.ENETUNREACH;
      }
      ip6Copy(dst, dOff, r.nextHop, 0);
      r.multicast = mcast;
    } else {
      const k = this.routes.lookup(dst, dOff);
      if (k < 0) {
        this.ctx.stats.ip6.noRoute++;
        return -Errno.ENETUNREACH;
      }
      iface = this.ctx.interfaces[this.routes.ifIndexOf(k)];
      if (this.routes.hasGateway(k)) this.routes.copyGateway(k, r.nextHop, 0);
      else ip6Copy(dst, dOff, r.nextHop, 0);
    }
    r.iface = iface;
    if (src !== null && !isUnspecified6(src, sOff)) {
      ip6Copy(src, sOff, r.src, 0);
      return 0;
    }
    const s = this.selectSource(iface, dst, dOff);
    if (s < 0) {
      r.iface = null;
      return -Errno.EADDRNOTAVAIL;
    }
    ip6Copy(iface.addr6, s * 16, r.src, 0);
    return 0;
  }

  /**
   * RFC 6724 §5 source selection among the outgoing interface's usable
   * addresses, with the rules that apply to a host without policy tables or
   * temporary addresses: prefer the destination itself (rule 1), an
   * appropriate scope (rule 2), a preferred over a deprecated address
   * (rule 3), then the longest common prefix (rule 8). Returns the slot or -1.
   */
  private selectSource(iface: NetInterface, dst: Uint8Array, dOff: number): number {
    const dScope = scope6(dst, dOff);
    let best = -1;
    let bestScope = 0;
    for (let k = 0; k < iface.addr6Count; k++) {
      const st = iface.addr6State[k];
      if (st !== ADDR6_PREFERRED && st !== ADDR6_DEPRECATED) continue;
      const a = iface.addr6;
      const sc = scope6(a, k * 16);
      if (best < 0) { best = k; bestScope = sc; continue; }
      if (ip6Equal(a, k * 16, dst, dOff)) return k;
      // Rule 2: if the scopes differ, the smaller one wins only if it is at least the destination's.
      if (sc !== bestScope) {
        if (sc < bestScope ? sc >= dScope : bestScope < dScope) { best = k; bestScope = sc; }
        continue;
      }
      const bst = iface.addr6State[best];
      if (st !== bst) {
        if (st === ADDR6_PREFERRED) { best = k; bestScope = sc; }
        continue;
      }
      if (ip6CommonPrefixLen(a, k * 16, dst, dOff) > ip6CommonPrefixLen(a, best * 16, dst, dOff)) {
        best = k;
        bestScope = sc;
      }
    }
    return best;
  }

  private firstWithAddress(linkLocal: boolean): NetInterface | null {
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const f = ifs[i];
      for (let k = 0; k < f.addr6Count; k++) {
        if (f.addr6State[k] >= ADDR6_PREFERRED && (!linkLocal || isLinkLocal6(f.addr6, k * 16) || f.ipOnly)) return f;
      }
    }
    return null;
  }

  /** The MTU for packets to `dst` along `r`: the interface's, lowered by the path MTU cache (RFC 8201). */
  pathMtu(r: Route6Record, dst: Uint8Array, dOff: number): number {
    const iface = r.iface as NetInterface;
    const mtu = iface.mtu6 !== 0 ? iface.mtu6 : iface.mtu; // an RA's MTU option (ndp.ts) lowers the link's
    if (r.local || r.multicast) return mtu;
    const p = this.pmtu.lookup(dst, dOff, this.ctx.now);
    return p !== 0 && p < mtu ? p : mtu;
  }

  /** MTU left for a transport packet on `r`. */
  flowMtu6(r: Route6Record, dst: Uint8Array, dOff: number): number {
    return this.pathMtu(r, dst, dOff) - IPV6_HLEN;
  }

  /**
   * Finish and send the transport packet (`payloadLen` bytes at
   * IP6_PAYLOAD_OFFSET of the transmit buffer) along `r`. Larger than the
   * path MTU: fragmented at the source (RFC 8200 §4.5) unless IP6_DONTFRAG
   * (-EMSGSIZE). Returns 0 or -errno.
   */
  output6(r: Route6Record, nextHeader: number, payloadLen: number, dst: Uint8Array, dOff: number,
    hopLimit: number, flags: number): number {
    const iface = r.iface;
    if (iface === null) return -Errno.ENETUNREACH;
    const total = IPV6_HLEN + payloadLen;
    const b = this.ctx.tx;
    if (payloadLen > 65535 || total + ETH_HLEN > b.length) return -Errno.EMSGSIZE;
    const mtu = this.pathMtu(r, dst, dOff);
    // HOP_LIMIT_DEFAULT: the RA's Cur Hop Limit on this interface, else config.ttl (RFC 4861 §6.3.4).
    const hop = hopLimit !== HOP_LIMIT_DEFAULT ? hopLimit : iface.hopLimit6 !== 0 ? iface.hopLimit6 : this.ctx.config.ttl;
    if ((flags & IP6_ADDRS_IN_PLACE) !== 0) {
      writeIpv6(b, ETH_HLEN, payloadLen, nextHeader, hop, b, ETH_HLEN + IP6_SRC, b, ETH_HLEN + IP6_DST);
    } else writeIpv6(b, ETH_HLEN, payloadLen, nextHeader, hop, r.src, 0, dst, dOff);
    this.ctx.stats.ip6.tx++;
    if (total <= mtu) return this.emitFrame6(r, b, 0, total);
    if ((flags & IP6_DONTFRAG) !== 0) {
      this.ctx.stats.ip6.tooBig++;
      return -Errno.EMSGSIZE;
    }
    if (r.local && Ipv6.fragmentCount(payloadLen, mtu) > this.loopback.free) {
      this.ctx.stats.ip6.loopbackDropped++;
      return -Errno.ENOBUFS;
    }
    // `| 0`: a signed id stays a small integer (an unsigned one above 2^31 would be a heap number per packet).
    return this.fragment(r, b, total, mtu, this.ctx.random32() | 0);
  }

  /** Pieces a payload of `payloadLen` makes at `mtu`. */
  static fragmentCount(payloadLen: number, mtu: number): number {
    const per = (mtu - IPV6_HLEN - FRAG_HLEN) & ~7;
    return Math.ceil(payloadLen / per);
  }

  /**
   * Send the IPv6 packet at `b[frameOff + ETH_HLEN ..)` along `r`, writing
   * the Ethernet header's source and type in front of it (neighbour
   * discovery fills the destination). Returns 0 when handed to the link,
   * queued for loopback or parked by ND, else the -errno of the refusal.
   */
  emitFrame6(r: Route6Record, b: Uint8Array, frameOff: number, ipLen: number): number {
    const iface = r.iface as NetInterface;
    if (r.local) {
      if (this.loopback.push(iface.index, b, frameOff + ETH_HLEN, ipLen)) return 0;
      this.ctx.stats.ip6.loopbackDropped++;
      return -Errno.ENOBUFS;
    }
    if (iface.ipOnly) return iface.transmit(b, frameOff + ETH_HLEN, ipLen, this.ctx.now);
    writeEth(b, frameOff, iface.mac, 0, iface.mac, 0, ETHERTYPE_IPV6);
    return this.nd.output(iface, r.nextHop, 0, b, frameOff, ETH_HLEN + ipLen);
  }

  /**
   * Fragment the packet at `b[ETH_HLEN]` (fixed header only; its payload is
   * the fragmentable part) into pieces of at most `mtu` bytes, each with a
   * fragment header carrying `id` (RFC 8200 §4.5; RFC 7739: the caller
   * passes an unpredictable one). Fragment 0 is copied into its own frame;
   * each later piece's headers are written in front of its data, over the
   * tail of the piece before, which has been sent (copied) by then. As the
   * IPv4 fragmenter, sends caused by a piece meanwhile are built in the
   * nested frame; a fragmentation nested in one is refused (-ENOBUFS,
   * counted in `ip6.fragmentNested`). Only the source fragments: routers send
   * Packet Too Big instead (RFC 8200 §5).
   */
  private fragment(r: Route6Record, b: Uint8Array, total: number, mtu: number, id: number): number {
    const ctx = this.ctx;
    if (this.busy) {
      ctx.stats.ip6.fragmentNested++;
      return -Errno.ENOBUFS;
    }
    const outer = ctx.tx;
    this.busy = true;
    ctx.tx = this.nested;
    try {
      return this.sendPieces(r, b, total, mtu, id);
    } finally {
      ctx.tx = outer;
      this.busy = false;
    }
  }

  private sendPieces(r: Route6Record, b: Uint8Array, total: number, mtu: number, id: number): number {
    const st = this.ctx.stats.ip6;
    const h = ETH_HLEN;
    const nh = b[h + IP6_NXT];
    const dataLen = total - IPV6_HLEN;
    const per = (mtu - IPV6_HLEN - FRAG_HLEN) & ~7;
    if (per < 8) return -Errno.EMSGSIZE;
    copyBytes(b, h, this.hdr, 0, IPV6_HLEN);
    // Fragment 0 in the piece frame.
    const p = this.piece;
    copyBytes(this.hdr, 0, p, h, IPV6_HLEN);
    p[h + IP6_NXT] = NH_FRAGMENT;
    set16(p, h + IP6_PLEN, FRAG_HLEN + per);
    writeFragHeader(p, h + IPV6_HLEN, nh, 0, true, id);
    copyBytes(b, h + IPV6_HLEN, p, h + IPV6_HLEN + FRAG_HLEN, per);
    st.fragmentsOut++;
    let e = this.emitFrame6(r, p, 0, IPV6_HLEN + FRAG_HLEN + per);
    if (e < 0) return e;
    const dataStart = h + IPV6_HLEN;
    const hl = IPV6_HLEN + FRAG_HLEN;
    for (let off = per; off < dataLen; off += per) {
      const len = dataLen - off < per ? dataLen - off : per;
      const ip = dataStart + off - hl;
      copyBytes(this.hdr, 0, b, ip, IPV6_HLEN);
      b[ip + IP6_NXT] = NH_FRAGMENT;
      set16(b, ip + IP6_PLEN, FRAG_HLEN + len);
      writeFragHeader(b, ip + IPV6_HLEN, nh, off, off + len < dataLen, id);
      st.fragmentsOut++;
      e = this.emitFrame6(r, b, ip - ETH_HLEN, hl + len);
      if (e < 0) return e;
    }
    st.fragmentedOut++;
    return 0;
  }
}
