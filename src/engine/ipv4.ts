/**
 * IPv4 (RFC 791): header validation, local delivery, routing and output.
 * Outgoing packets are built in the shared transmit buffer: the caller first
 * asks {@link Ipv4.route} (which fixes the source address the transport
 * checksum needs), writes its header and payload at {@link IP_PAYLOAD_OFFSET},
 * then calls {@link Ipv4.output}.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEth } from '../wire/ethernet.js';
import {
  IPV4_MIN_HLEN, IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IP_FLAG_DF, IpCheck, ipv4Check, ipHeaderLen,
  ipTotalLen, ipIsFragment, ipProto, ipSrc, ipDst, writeIpv4,
} from '../wire/ipv4.js';
import { IPV4_BROADCAST, isMartianSource } from '../wire/ipv4addr.js';
import { UNREACH_PROTOCOL, ICMP_DEST_UNREACH } from '../wire/icmp.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { Arp } from './arp.js';
import type { RouteTable } from './routes.js';
import type { Icmp } from './icmp.js';
import type { Udp } from './udp.js';
import type { Tcp } from './tcp/index.js';
import { Errno } from './errno.js';
import { Fragmenter, type FragmentHost, type Reassembly } from './fragment.js';
import type { Forwarder } from './forward.js';
import type { IpsecEngine } from '../ipsec/engine.js';

/** Where transport headers start in the transmit buffer. */
export const IP_PAYLOAD_OFFSET = ETH_HLEN + IPV4_MIN_HLEN;

export class Ipv4 implements FragmentHost {
  icmp!: Icmp;
  udp!: Udp;
  tcp!: Tcp;
  reassembly!: Reassembly;
  fragmenter!: Fragmenter;
  /** Set when the stack forwards (config `ipForwarding`). */
  forwarder: Forwarder | null = null;
  /** ESP transport mode (src/ipsec), when the stack has SA/SP tables. */
  ipsec: IpsecEngine | null = null;
  /** Results of the last successful route(): interface, source, next hop, kind. */
  routeIf: NetInterface | null = null;
  routeSrc = 0;
  routeNextHop = 0;
  routeBroadcast = false;
  routeLocal = false;
  private ipId: number;
  private readonly loopFrames: Uint8Array;
  private readonly loopLen: Uint16Array;
  private readonly loopIf: Uint8Array;
  private loopHead = 0;
  private loopCount = 0;
  private readonly loopSlot: number;

  static plan(plan: MemoryPlan, loopbackFrames: number, slotSize: number): void {
    plan.add('loopback', loopbackFrames * slotSize).add('loopback', loopbackFrames, 2).add('loopback', loopbackFrames);
  }

  constructor(arena: Arena, private readonly ctx: EngineContext, private readonly arp: Arp,
    private readonly routes: RouteTable, readonly loopbackSlots: number, slotSize: number) {
    this.ipId = ctx.random32() & 0xffff;
    this.loopSlot = slotSize;
    this.loopFrames = arena.u8('loopback', loopbackSlots * slotSize);
    this.loopLen = arena.u16('loopback', loopbackSlots);
    this.loopIf = arena.u8('loopback', loopbackSlots);
  }

  /** The interface owning `addr`, or null. */
  localInterface(addr: number): NetInterface | null {
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i].address === addr && addr !== 0) return ifs[i];
    return null;
  }

  /**
   * Choose interface, source address and next hop for `dst`. `src` non-zero
   * (a bound socket) is kept as the source. Returns 0 or -ENETUNREACH.
   */
  route(dst: number, src: number): number {
    this.routeBroadcast = false;
    this.routeLocal = false;
    const local = this.localInterface(dst);
    if (local !== null) {
      this.routeIf = local;
      this.routeSrc = dst;
      this.routeNextHop = dst;
      this.routeLocal = true;
      return 0;
    }
    let iface: NetInterface | null = null;
    if (dst === IPV4_BROADCAST) {
      // Limited broadcast leaves through the interface of the bound source, else the default route's.
      iface = src !== 0 ? this.localInterface(src) : null;
      if (iface === null && this.routes.lookup(dst)) iface = this.ctx.interfaces[this.routes.resultIf];
      if (iface === null) iface = this.firstConfigured();
      if (iface === null) return -Errno.ENETUNREACH;
      this.routeBroadcast = true;
      this.routeNextHop = dst;
    } else {
      if (!this.routes.lookup(dst)) {
        this.ctx.stats.ip.noRoute++;
        return -Errno.ENETUNREACH;
      }
      iface = this.ctx.interfaces[this.routes.resultIf];
      this.routeNextHop = this.routes.resultGateway !== 0 ? this.routes.resultGateway : dst;
      this.routeBroadcast = iface.broadcast !== 0 && dst === iface.broadcast;
    }
    this.routeIf = iface;
    this.routeSrc = src !== 0 ? src : iface.address;
    return 0;
  }

  /** The MTU left for a transport packet of this flow after route(): the interface's, less what IPsec adds. */
  flowMtu(proto: number, dst: number, sport: number, dport: number): number {
    const mtu = (this.routeIf as NetInterface).mtu;
    return this.ipsec === null || this.routeLocal ? mtu : mtu - this.ipsec.overhead(proto, this.routeSrc, dst, sport, dport);
  }

  private firstConfigured(): NetInterface | null {
    for (const i of this.ctx.interfaces) if (i.address !== 0) return i;
    return null;
  }

  /**
   * Finish and send the packet whose transport part (`payloadLen` bytes) is at
   * IP_PAYLOAD_OFFSET of the transmit buffer, using the last route(). Returns
   * 0 or -errno.
   */
  output(proto: number, payloadLen: number, dst: number, ttl: number, flags: number): number {
    const iface = this.routeIf;
    if (iface === null) return -Errno.ENETUNREACH;
    if (this.ipsec !== null && !this.routeLocal) {
      // Policy: bypass, discard, or protect (the ESP packet replaces the payload).
      const n = this.ipsec.output(proto, payloadLen, this.routeSrc, dst);
      if (n < 0) return n;
      payloadLen = n;
      proto = this.ipsec.outProto;
    }
    const total = IPV4_MIN_HLEN + payloadLen;
    const big = total > iface.mtu;
    if (big && ((flags & IP_FLAG_DF) !== 0 || total > this.ctx.config.ipMaxDatagramBytes)) return -Errno.EMSGSIZE;
    if (big && this.routeLocal
      && Fragmenter.count(total, IPV4_MIN_HLEN, iface.mtu) > this.loopbackSlots - this.loopCount) return -Errno.ENOBUFS;
    const b = this.ctx.tx;
    this.ipId = (this.ipId + 1) & 0xffff;
    writeIpv4(b, ETH_HLEN, total, this.ipId, flags, ttl, proto, this.routeSrc, dst);
    this.ctx.stats.ip.tx++;
    if (big) return this.fragmenter.fragment(b, total, iface.mtu);
    return this.emitFrame(b, 0, total);
  }

  /**
   * Send the IP packet at `b[frameOff + ETH_HLEN ..)` along the last route(),
   * writing its Ethernet header in front of it. Returns 0 when the packet
   * was handed to the link, queued for loopback, or parked waiting for ARP
   * (`ARP_PARKED` in arp.ts: not an error, the send succeeds as on Linux), or
   * the -errno of the link's refusal ({@link Link.transmit}: -ENOBUFS,
   * -ENETDOWN, -EHOSTUNREACH from a WireGuard device, ...), which the
   * socket call that caused the packet reports.
   */
  emitFrame(b: Uint8Array, frameOff: number, ipLen: number): number {
    const iface = this.routeIf as NetInterface;
    if (this.routeLocal) return this.loopback(iface, b, frameOff + ETH_HLEN, ipLen);
    // Point-to-point: the device itself decides the peer (WireGuard's allowed IPs).
    if (iface.ipOnly) return iface.transmit(b, frameOff + ETH_HLEN, ipLen, this.ctx.now);
    writeEth(b, frameOff, null, 0, iface.mac, 0, ETHERTYPE_IPV4);
    if (this.routeBroadcast) return iface.transmit(b, frameOff, ETH_HLEN + ipLen, this.ctx.now);
    return this.arp.output(iface, this.routeNextHop, b, frameOff, ETH_HLEN + ipLen);
  }

  private loopback(iface: NetInterface, b: Uint8Array, o: number, len: number): number {
    if (this.loopCount >= this.loopbackSlots) return -Errno.ENOBUFS;
    const slot = (this.loopHead + this.loopCount) % this.loopbackSlots;
    copyBytes(b, o, this.loopFrames, slot * this.loopSlot, len);
    this.loopLen[slot] = len;
    this.loopIf[slot] = iface.index;
    this.loopCount++;
    return 0;
  }

  /** True when packets for ourselves are waiting. */
  get loopbackPending(): boolean {
    return this.loopCount > 0;
  }

  /** Deliver queued packets addressed to ourselves (those queued meanwhile wait for the next poll). */
  pollLoopback(): void {
    for (let n = this.loopCount; n > 0; n--) {
      const slot = this.loopHead;
      this.loopHead = (this.loopHead + 1) % this.loopbackSlots;
      this.loopCount--;
      this.input(this.ctx.interfaces[this.loopIf[slot]], this.loopFrames, slot * this.loopSlot, this.loopLen[slot], false, true);
    }
  }

  /** Handle the IPv4 packet at `b[o .. o+avail)` (link padding may follow it). */
  input(iface: NetInterface, b: Uint8Array, o: number, avail: number, linkBroadcast: boolean, fromSelf: boolean): void {
    const st = this.ctx.stats.ip;
    st.rx++;
    switch (ipv4Check(b, o, avail)) {
      case IpCheck.Ok: break;
      case IpCheck.Truncated: st.truncated++; return;
      case IpCheck.BadVersion: st.badVersion++; return;
      case IpCheck.BadHeaderLength: st.badHeaderLength++; return;
      case IpCheck.BadTotalLength: st.badTotalLength++; return;
      default: st.badChecksum++; return;
    }
    const src = ipSrc(b, o);
    const dst = ipDst(b, o);
    if (!fromSelf && (isMartianSource(src) || this.localInterface(src) !== null
      || (iface.broadcast !== 0 && src === iface.broadcast))) {
      st.martianSource++;
      return;
    }
    const bcast = dst === IPV4_BROADCAST || (iface.broadcast !== 0 && dst === iface.broadcast);
    // RFC 1122 3.3.6: a unicast datagram that came in a link-layer broadcast is discarded.
    if (!bcast && (linkBroadcast || this.localInterface(dst) === null)) {
      if (!linkBroadcast && !fromSelf && this.forwarder !== null) this.forwarder.forward(iface, b, o, src, dst);
      else st.notForUs++;
      return;
    }
    if (ipIsFragment(b, o)) {
      this.reassembly.input(iface, b, o, ipTotalLen(b, o), src, dst, ipProto(b, o), bcast);
      return;
    }
    this.deliver(iface, b, o, bcast, fromSelf);
  }

  /**
   * Hand a complete datagram addressed to us (header at `b[o]`, validated;
   * reassembled ones too) to IPsec's checks, then its protocol.
   */
  deliver(iface: NetInterface, b: Uint8Array, o: number, bcast: boolean, fromSelf = false): void {
    const st = this.ctx.stats.ip;
    const src = ipSrc(b, o);
    const dst = ipDst(b, o);
    const hlen = ipHeaderLen(b, o);
    if (hlen > IPV4_MIN_HLEN) st.optionsSkipped++;
    const total = ipTotalLen(b, o);
    const proto = ipProto(b, o);
    if (this.ipsec !== null && !fromSelf) {
      if (proto === IPPROTO_ESP) {
        this.ipsec.inputEsp(iface, b, o, hlen, o + hlen, total - hlen, src, dst);
        return;
      }
      if (!this.ipsec.inputClear(iface, b, o, hlen, total, proto, src, dst)) return;
    }
    this.deliverTransport(iface, b, o, hlen, total, src, dst, bcast);
  }

  /** Hand a validated packet for us to its transport (IPsec calls this with decrypted packets). */
  deliverTransport(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    const st = this.ctx.stats.ip;
    const proto = ipProto(b, o);
    st.delivered++;
    if (proto === IPPROTO_TCP) {
      this.tcp.input(iface, b, o, hlen, total, src, dst, bcast);
    } else if (proto === IPPROTO_UDP) {
      this.udp.input(iface, b, o, hlen, total, src, dst, bcast);
    } else if (proto === IPPROTO_ICMP) {
      this.icmp.input(iface, b, o, hlen, total, src, dst, bcast);
    } else {
      st.unknownProtocol++;
      st.delivered--;
      if (!bcast) this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_PROTOCOL, 0, b, o, total);
    }
  }
}
