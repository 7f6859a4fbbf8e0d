/**
 * IPv4 forwarding (RFC 1812), when the stack is configured as a router
 * (`ipForwarding`). A packet not addressed to us is checked (destination,
 * reverse path, TTL), routed by longest prefix, and copied exactly once:
 * from the received frame straight into the transmit buffer when the next
 * hop is resolved, or straight into the ARP queue while it is being
 * resolved. Errors go back to the source as rate-limited ICMP messages
 * (the ICMP layer's token bucket).
 */
import { copyBytes, set16 } from '../wire/bytes.js';
import { checksum, pseudoHeaderSum } from '../wire/checksum.js';
import { GSO_TCPV4, RX_CSUM_PARTIAL, completePartialChecksum, partialChecksum } from './offload.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEth } from '../wire/ethernet.js';
import { IPPROTO_TCP, IP_CSUM, IP_FLAG_DF, IP_TTL, ipFragField, ipHeaderLen, ipSrc, ipTotalLen } from '../wire/ipv4.js';
import { IPV4_BROADCAST, isMartianSource, isMulticast } from '../wire/ipv4addr.js';
import {
  ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_FRAG_NEEDED, UNREACH_HOST, UNREACH_NET,
} from '../wire/icmp.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { Arp } from './arp.js';
import type { IcmpErrorSender } from './icmp.js';
import type { Ipv4 } from './ipv4.js';
import { RouteRecord, type RouteTable } from './routes.js';

/** TTL exceeded in transit (RFC 792). */
const TIME_EXCEEDED_TTL = 0;

export class Forwarder {
  /** The route of a packet forwarded as fragments (the fragmenter sends each piece along it). */
  private readonly route = new RouteRecord();
  /**
   * The packet being forwarded carries a partial transport checksum (it came
   * from a link with offload, RX_CSUM_PARTIAL): completed in the copy, unless
   * it goes on as a super-segment whose link completes it.
   */
  private partial = false;

  constructor(private readonly ctx: EngineContext, private readonly ip: Ipv4, private readonly arp: Arp,
    private readonly routes: RouteTable, private readonly icmp: IcmpErrorSender) {}

  private drop(): void {
    this.ctx.stats.ip.forwardDropped++;
  }

  /** True when `dst` is the directed broadcast of one of our subnets. */
  private isDirectedBroadcast(dst: number): boolean {
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i].broadcast !== 0 && ifs[i].broadcast === dst) return true;
    return false;
  }

  /**
   * Forward the validated packet at `b[o ..)` that arrived on `iface`
   * addressed to someone else (source already checked as not martian).
   */
  forward(iface: NetInterface, b: Uint8Array, o: number, src: number, dst: number): void {
    const ist = iface.stats;
    // RFC 1812 5.3.7 and 4.2.2.11: no limited/directed broadcast, multicast or martian destination.
    if (dst === 0 || dst === IPV4_BROADCAST || isMulticast(dst) || isMartianSource(dst) || this.isDirectedBroadcast(dst)) {
      ist.notForwardable++;
      this.drop();
      return;
    }
    const total = ipTotalLen(b, o);
    this.partial = (iface.rxFlags & RX_CSUM_PARTIAL) !== 0;
    const rp = this.ctx.config.ipRpFilter;
    const back = rp !== 0 ? this.routes.lookup(src) : 0;
    if (rp !== 0 && (back < 0 || (rp === 1 && this.routes.ifIndexOf(back) !== iface.index))) {
      ist.rpFilter++;
      this.drop();
      return;
    }
    if (b[o + IP_TTL] <= 1) {
      ist.ttlExceeded++;
      this.drop();
      this.icmp.sendError(ICMP_TIME_EXCEEDED, TIME_EXCEEDED_TTL, 0, b, o, total);
      return;
    }
    const k = this.routes.lookup(dst);
    if (k < 0) {
      ist.noRoute++;
      this.drop();
      this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_NET, 0, b, o, total);
      return;
    }
    const out = this.ctx.interfaces[this.routes.ifIndexOf(k)];
    const gateway = this.routes.gatewayOf(k);
    const nextHop = gateway !== 0 ? gateway : dst;
    if (out.broadcast !== 0 && (dst === out.broadcast || dst === out.network) && gateway === 0) {
      ist.notForwardable++;
      this.drop();
      return;
    }
    // A TCP segment a link with offload coalesced (GRO) goes on whole to a link that cuts it (TSO).
    const superSegment = total > out.mtu && iface.rxFlags !== 0 && b[o + 9] === IPPROTO_TCP && out.tsoMax >= total;
    if (total > out.mtu && !superSegment) {
      if ((ipFragField(b, o) & IP_FLAG_DF) !== 0) {
        ist.fragNeeded++;
        this.drop();
        this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_FRAG_NEEDED, out.mtu, b, o, total);
        return;
      }
      // Copy once into the transmit buffer and fragment there in place.
      const t = this.ctx.tx;
      this.copyDecrement(b, o, t, ETH_HLEN, total);
      const r = this.route;
      r.iface = out;
      r.src = src;
      r.nextHop = nextHop;
      r.broadcast = false;
      r.local = false;
      if (this.ip.fragment(r, t, total, out.mtu) < 0) {
        // Options leave no room for 8 data bytes per fragment at this MTU.
        ist.fragNeeded++;
        this.drop();
        return;
      }
      ist.fragmented++;
      ist.forwarded++;
      this.ctx.stats.ip.forwarded++;
      return;
    }
    ist.forwarded++;
    this.ctx.stats.ip.forwarded++;
    const len = ETH_HLEN + total;
    if (out.ipOnly) {
      // A point-to-point interface (WireGuard): no Ethernet header, no ARP.
      const t = this.ctx.tx;
      this.copyDecrement(b, o, t, ETH_HLEN, total);
      out.transmit(t, ETH_HLEN, total, this.ctx.now);
      return;
    }
    const e = this.arp.reachable(out, nextHop);
    if (superSegment) {
      // Its offload metadata cannot wait in the ARP queue: without a resolved neighbour it is lost (TCP resends).
      if (e < 0) {
        this.drop();
        this.arp.resolve(out, nextHop);
        return;
      }
      ist.forwardedWhole++;
      this.forwardSuper(out, e, b, o, total, src, dst);
      return;
    }
    if (e >= 0) {
      const t = this.ctx.tx;
      this.copyDecrement(b, o, t, ETH_HLEN, total);
      writeEth(t, 0, null, 0, out.mac, 0, ETHERTYPE_IPV4);
      this.arp.fillMac(e, t, 0);
      out.transmit(t, 0, len, this.ctx.now);
      return;
    }
    const q = this.arp.pendingBuffer;
    const at = this.arp.reservePending(out.index, nextHop, len);
    this.copyDecrement(b, o, q, at + ETH_HLEN, total);
    writeEth(q, at, null, 0, out.mac, 0, ETHERTYPE_IPV4);
    this.arp.resolve(out, nextHop);
  }

  /**
   * Copy the packet and decrement its TTL in the copy (the received frame is
   * never written); a partial transport checksum is completed in the copy.
   */
  private copyDecrement(b: Uint8Array, o: number, d: Uint8Array, at: number, total: number): void {
    copyBytes(b, o, d, at, total);
    d[at + IP_TTL]--;
    set16(d, at + IP_CSUM, 0);
    set16(d, at + IP_CSUM, checksum(d, at, ipHeaderLen(d, at)));
    if (this.partial) completePartialChecksum(d, at);
  }

  /**
   * Forward a coalesced TCP segment whole to `out`, whose link cuts it (TSO)
   * into pieces that fill its MTU with the segment's headers, completing the
   * checksum (left partial, or made partial here: the pseudo-header sum).
   * The sender's own segment size is not known here; pieces of the egress
   * MTU are what Linux's GSO would make of it too.
   */
  private forwardSuper(out: NetInterface, e: number, b: Uint8Array, o: number, total: number, src: number, dst: number): void {
    const t = this.ctx.tx;
    const partial = this.partial;
    this.partial = false; // the link completes it
    this.copyDecrement(b, o, t, ETH_HLEN, total);
    const ihl = ipHeaderLen(t, ETH_HLEN);
    const th = ETH_HLEN + ihl;
    const thl = (t[th + 12] >>> 4) << 2;
    if (!partial) set16(t, th + 16, partialChecksum(pseudoHeaderSum(src, dst, IPPROTO_TCP, total - ihl)));
    writeEth(t, 0, null, 0, out.mac, 0, ETHERTYPE_IPV4);
    this.arp.fillMac(e, t, 0);
    const tx = out.txOffload;
    tx.gsoType = GSO_TCPV4;
    tx.gsoSize = out.mtu - ihl - thl;
    tx.hdrLen = th + thl;
    tx.csumStart = th;
    tx.csumOffset = 16;
    out.transmit(t, 0, ETH_HLEN + total, this.ctx.now);
    tx.clear();
  }

  /**
   * A queued frame's next hop never answered (ARP gave up on it, or evicted
   * it for a new neighbour; the engine passes ARP's report on): tell the
   * source of a forwarded packet.
   */
  nextHopFailed(ifIndex: number, frame: Uint8Array, off: number, len: number): void {
    if (len < ETH_HLEN + 20) return;
    const o = off + ETH_HLEN;
    // Our own packets are reported to their sockets and pings by the stack instead.
    if (this.ip.localInterface(ipSrc(frame, o)) !== null) return;
    this.ctx.interfaces[ifIndex].stats.hostUnreachable++;
    this.icmp.sendError(ICMP_DEST_UNREACH, UNREACH_HOST, 0, frame, o, len - ETH_HLEN);
  }
}
