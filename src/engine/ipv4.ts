/**
 * IPv4 output (RFC 791): routing and sending. Outgoing packets are built in
 * the shared transmit buffer: the caller first asks {@link Ipv4.route} into
 * a {@link RouteRecord} it owns (which fixes the source address the
 * transport checksum needs), writes its header and payload at
 * {@link IP_PAYLOAD_OFFSET}, then calls {@link Ipv4.output} with that record.
 * The input side is ipv4-input.ts; this side needs nothing above it, so it
 * is built before the transports that send through it.
 */
import type { Carver, MemoryPlan } from '../storage/arena.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEth } from '../wire/ethernet.js';
import { IPV4_MIN_HLEN, IP_FLAG_DF, writeIpv4 } from '../wire/ipv4.js';
import { IPV4_BROADCAST } from '../wire/ipv4addr.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { Arp } from './arp.js';
import type { RouteRecord, RouteTable } from './routes.js';
import { Errno } from './errno.js';
import { Fragmenter, type FragmentHost } from './fragment.js';
import type { LoopbackQueue } from './loopback.js';
import type { IpsecHook } from './ipsec-hook.js';

/** Where transport headers start in the transmit buffer. */
export const IP_PAYLOAD_OFFSET = ETH_HLEN + IPV4_MIN_HLEN;

/** What the transports (TCP, UDP, ICMP) need from IPv4 to send. */
export interface IpOutput {
  /** The interface owning `addr`, or null. */
  localInterface(addr: number): NetInterface | null;
  /** Fill `r` with the route to `dst` (source `src`, or the interface's when 0); 0 or -errno. */
  route(r: RouteRecord, dst: number, src: number): number;
  /** MTU left for a transport packet of this flow on route `r`. */
  flowMtu(r: RouteRecord, proto: number, dst: number, sport: number, dport: number): number;
  /**
   * True when the link of route `r` may be handed this flow's packets with a
   * partial checksum and, up to `r.iface.tsoMax`, as super-segments (see
   * NetInterface.txOffload): the interface offers checksum offload, the
   * packet leaves now (not looped back, not a broadcast, the neighbour
   * resolved, so no queue holds it without its metadata) and IPsec does not
   * wrap it.
   */
  offloadOk(r: RouteRecord, proto: number, dst: number, sport: number, dport: number): boolean;
  /** Send the transport packet at IP_PAYLOAD_OFFSET of the transmit buffer along `r`; 0 or -errno. */
  output(r: RouteRecord, proto: number, payloadLen: number, dst: number, ttl: number, flags: number): number;
}

export class Ipv4 implements IpOutput, FragmentHost {
  private readonly fragmenter: Fragmenter;
  private ipId: number;

  /** @param txBytes size of the transmit frame (the fragmenter plans a nested one as large) */
  static plan(plan: MemoryPlan, txBytes: number): void {
    Fragmenter.plan(plan, txBytes);
  }

  /**
   * @param loopback where packets to our own addresses are queued (IPv4 input delivers them)
   * @param ipsec ESP transport mode's output hook, or null when the stack has no IPsec
   */
  constructor(m: Carver, private readonly ctx: EngineContext, private readonly arp: Arp,
    private readonly routes: RouteTable, private readonly loopback: LoopbackQueue,
    private readonly ipsec: IpsecHook | null) {
    this.ipId = ctx.random32() & 0xffff;
    this.fragmenter = new Fragmenter(m, ctx, this);
  }

  /** The interface owning `addr`, or null. */
  localInterface(addr: number): NetInterface | null {
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i].address === addr && addr !== 0) return ifs[i];
    return null;
  }

  /**
   * Choose interface, source address and next hop for `dst` into `r` (a
   * record the caller owns and later hands to {@link output}). `src`
   * non-zero (a bound socket) is kept as the source. Returns 0 or
   * -ENETUNREACH.
   */
  route(r: RouteRecord, dst: number, src: number): number {
    r.broadcast = false;
    r.local = false;
    // The common case, a unicast destination off this host, in line; the rest apart (a lean function is
    // optimized sooner by V8, and fits in its callers' inlining budget: issue #10).
    if (dst === IPV4_BROADCAST || this.localInterface(dst) !== null) return this.routeSpecial(r, dst, src);
    const k = this.routes.lookup(dst);
    if (k < 0) {
      this.ctx.stats.ip.noRoute++;
      return -Errno.ENETUNREACH;
    }
    const iface = this.ctx.interfaces[this.routes.ifIndexOf(k)];
    const gw = this.routes.gatewayOf(k);
    r.nextHop = gw !== 0 ? gw : dst;
    r.broadcast = iface.broadcast !== 0 && dst === iface.broadcast;
    r.iface = iface;
    r.src = src !== 0 ? src : iface.address;
    return 0;
  }

  /** {@link route} to one of our own addresses (loopback) or to the limited broadcast address. */
  private routeSpecial(r: RouteRecord, dst: number, src: number): number {
    const local = this.localInterface(dst);
    if (local !== null) {
      r.iface = local;
      r.src = dst;
      r.nextHop = dst;
      r.local = true;
      return 0;
    }
    // Limited broadcast leaves through the interface of the bound source, else the default route's.
    let iface = src !== 0 ? this.localInterface(src) : null;
    if (iface === null) {
      const k = this.routes.lookup(dst);
      if (k >= 0) iface = this.ctx.interfaces[this.routes.ifIndexOf(k)];
    }
    if (iface === null) iface = this.firstConfigured();
    if (iface === null) return -Errno.ENETUNREACH;
    r.broadcast = true;
    r.nextHop = dst;
    r.iface = iface;
    r.src = src !== 0 ? src : iface.address;
    return 0;
  }

  /** The MTU left for a transport packet of this flow on route `r`: the interface's, less what IPsec adds. */
  flowMtu(r: RouteRecord, proto: number, dst: number, sport: number, dport: number): number {
    const mtu = (r.iface as NetInterface).mtu;
    return this.ipsec === null || r.local ? mtu : mtu - this.ipsec.overhead(proto, r.src, dst, sport, dport);
  }

  offloadOk(r: RouteRecord, proto: number, dst: number, sport: number, dport: number): boolean {
    const iface = r.iface;
    if (iface === null || !iface.csumOffload || r.local || r.broadcast) return false;
    if (this.ipsec !== null && this.ipsec.overhead(proto, r.src, dst, sport, dport) !== 0) return false;
    return this.arp.reachable(iface, r.nextHop) >= 0;
  }

  private firstConfigured(): NetInterface | null {
    for (const i of this.ctx.interfaces) if (i.address !== 0) return i;
    return null;
  }

  /**
   * Finish and send the packet whose transport part (`payloadLen` bytes) is at
   * IP_PAYLOAD_OFFSET of the transmit buffer, along route `r` (filled by
   * {@link route}). Returns 0 or -errno.
   */
  output(r: RouteRecord, proto: number, payloadLen: number, dst: number, ttl: number, flags: number): number {
    const iface = r.iface;
    if (iface === null) return -Errno.ENETUNREACH;
    const total = IPV4_MIN_HLEN + payloadLen;
    // IPsec, and packets larger than the link's MTU, apart (see route).
    if ((this.ipsec !== null && !r.local) || total > iface.mtu) return this.outputSpecial(r, iface, proto, payloadLen, dst, ttl, flags);
    const b = this.ctx.tx;
    this.ipId = (this.ipId + 1) & 0xffff;
    writeIpv4(b, ETH_HLEN, total, this.ipId, flags, ttl, proto, r.src, dst);
    this.ctx.stats.ip.tx++;
    return this.emitFrame(r, b, 0, total);
  }

  /** {@link output} through IPsec's policy, or of a packet larger than the MTU (a TSO super-segment, or fragments). */
  private outputSpecial(r: RouteRecord, iface: NetInterface, proto: number, payloadLen: number, dst: number, ttl: number,
    flags: number): number {
    if (this.ipsec !== null && !r.local) {
      // Policy: bypass, discard, or protect (the ESP packet replaces the payload).
      const n = this.ipsec.output(proto, payloadLen, r.src, dst);
      if (n < 0) return n;
      payloadLen = n;
      proto = this.ipsec.outProto;
    }
    const total = IPV4_MIN_HLEN + payloadLen;
    // A TCP super-segment (TSO) is cut by the link, not fragmented here.
    const big = total > iface.mtu && (iface.txOffload.gsoType === 0 || total > iface.tsoMax);
    if (big && ((flags & IP_FLAG_DF) !== 0 || total > this.ctx.config.ipMaxDatagramBytes)) return -Errno.EMSGSIZE;
    if (big && r.local
      && Fragmenter.count(total, IPV4_MIN_HLEN, iface.mtu) > this.loopback.free) return -Errno.ENOBUFS;
    const b = this.ctx.tx;
    this.ipId = (this.ipId + 1) & 0xffff;
    writeIpv4(b, ETH_HLEN, total, this.ipId, flags, ttl, proto, r.src, dst);
    this.ctx.stats.ip.tx++;
    if (big) return this.fragmenter.fragment(r, b, total, iface.mtu);
    return this.emitFrame(r, b, 0, total);
  }

  /**
   * Send the IP packet at `b[frameOff + ETH_HLEN ..)` along route `r`,
   * writing its Ethernet header in front of it. Returns 0 when the packet
   * was handed to the link, queued for loopback, or parked waiting for ARP
   * (`ARP_PARKED` in arp.ts: not an error, the send succeeds as on Linux), or
   * the -errno of the link's refusal ({@link Link.transmit}: -ENOBUFS,
   * -ENETDOWN, -EHOSTUNREACH from a WireGuard device, ...), which the
   * socket call that caused the packet reports.
   */
  emitFrame(r: RouteRecord, b: Uint8Array, frameOff: number, ipLen: number): number {
    const iface = r.iface as NetInterface;
    if (r.local || r.broadcast || iface.ipOnly) return this.emitSpecial(r, iface, b, frameOff, ipLen);
    writeEth(b, frameOff, null, 0, iface.mac, 0, ETHERTYPE_IPV4);
    return this.arp.output(iface, r.nextHop, b, frameOff, ETH_HLEN + ipLen);
  }

  /** {@link emitFrame} to ourselves (loopback), on a point-to-point link, or as a link-layer broadcast. */
  private emitSpecial(r: RouteRecord, iface: NetInterface, b: Uint8Array, frameOff: number, ipLen: number): number {
    if (r.local) return this.loopback.push(iface.index, b, frameOff + ETH_HLEN, ipLen) ? 0 : -Errno.ENOBUFS;
    // Point-to-point: the device itself decides the peer (WireGuard's allowed IPs).
    if (iface.ipOnly) return iface.transmit(b, frameOff + ETH_HLEN, ipLen, this.ctx.now);
    writeEth(b, frameOff, null, 0, iface.mac, 0, ETHERTYPE_IPV4);
    return iface.transmit(b, frameOff, ETH_HLEN + ipLen, this.ctx.now);
  }

  /**
   * Send the datagram (header at `b[ETH_HLEN]`, `total` bytes) as fragments
   * of at most `mtu` bytes along `r`: the forwarder's path for packets larger
   * than the next link. Returns 0 or -errno.
   */
  fragment(r: RouteRecord, b: Uint8Array, total: number, mtu: number): number {
    return this.fragmenter.fragment(r, b, total, mtu);
  }
}
