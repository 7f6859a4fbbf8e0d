/**
 * IPv4 input (RFC 791, RFC 1122 3.3): header validation, local delivery,
 * forwarding, reassembly, IPsec's inbound checks and the demultiplexing to
 * the transports. Built last, from the layers it hands packets to: the
 * transports were built before it against the output side (ipv4.ts), so
 * no layer needs a reference patched in after construction.
 */
import type { Arena } from '../storage/arena.js';
import {
  IPV4_MIN_HLEN, IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IpCheck, ipv4Check, ipHeaderLen,
  ipTotalLen, ipIsFragment, ipProto, ipSrc, ipDst,
} from '../wire/ipv4.js';
import { IPV4_BROADCAST, isMartianSource } from '../wire/ipv4addr.js';
import { UNREACH_PROTOCOL, ICMP_DEST_UNREACH } from '../wire/icmp.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { IcmpErrorSender } from './icmp.js';
import { Reassembly, type ReassemblyHost } from './fragment.js';
import type { Forwarder } from './forward.js';
import type { LoopbackQueue } from './loopback.js';
import { IPSEC_PASS, type IpsecHook } from './ipsec-hook.js';

/** A transport's input: the validated packet at `b[o]` (header `hlen` bytes, `total` in all) addressed to us. */
export interface TransportInput {
  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void;
}

/** The transports IPv4 input delivers to, by protocol. */
export interface Transports {
  readonly tcp: TransportInput;
  readonly udp: TransportInput;
  readonly icmp: TransportInput;
}

/** What input needs from the output side: which addresses are ours. */
export interface LocalAddresses {
  localInterface(addr: number): NetInterface | null;
}

export class Ipv4Input implements ReassemblyHost {
  readonly reassembly: Reassembly;
  private readonly tcp: TransportInput;
  private readonly udp: TransportInput;
  private readonly icmp: TransportInput;

  /**
   * @param forwarder set when the stack forwards (config `ipForwarding`), else null
   * @param ipsec ESP transport mode's inbound hook, or null
   */
  constructor(arena: Arena, private readonly ctx: EngineContext, private readonly local: LocalAddresses,
    private readonly loopback: LoopbackQueue, private readonly icmpErrors: IcmpErrorSender,
    private readonly forwarder: Forwarder | null, private readonly ipsec: IpsecHook | null, transports: Transports,
    reassemblySlots: number, reassemblyBytes: number) {
    this.tcp = transports.tcp;
    this.udp = transports.udp;
    this.icmp = transports.icmp;
    this.reassembly = new Reassembly(arena, ctx, this, icmpErrors, reassemblySlots, reassemblyBytes);
  }

  /** True when packets for ourselves are waiting. */
  get loopbackPending(): boolean {
    return this.loopback.count > 0;
  }

  /** Deliver queued packets addressed to ourselves (those queued meanwhile wait for the next poll). */
  pollLoopback(): void {
    const q = this.loopback;
    for (let n = q.count; n > 0; n--) {
      const slot = q.shift();
      this.input(this.ctx.interfaces[q.ifIndexOf(slot)], q.frames, q.offsetOf(slot), q.lengthOf(slot), false, true);
    }
  }

  /**
   * Handle the IPv4 packet at `b[o .. o+avail)` (link padding may follow it).
   * The rare outcomes (a bad header, a packet not for us, a fragment, IPsec)
   * are out of line: V8 tiers a function up after a count of its own bytecode
   * run that grows with its whole size, so lean per-packet functions are
   * optimized sooner (issue #10).
   */
  input(iface: NetInterface, b: Uint8Array, o: number, avail: number, linkBroadcast: boolean, fromSelf: boolean): void {
    const st = this.ctx.stats.ip;
    st.rx++;
    const check = ipv4Check(b, o, avail);
    if (check !== IpCheck.Ok) {
      this.badHeader(check);
      return;
    }
    const src = ipSrc(b, o);
    const dst = ipDst(b, o);
    if (!fromSelf && (isMartianSource(src) || this.local.localInterface(src) !== null
      || (iface.broadcast !== 0 && src === iface.broadcast))) {
      st.martianSource++;
      return;
    }
    const bcast = dst === IPV4_BROADCAST || (iface.broadcast !== 0 && dst === iface.broadcast);
    // RFC 1122 3.3.6: a unicast datagram that came in a link-layer broadcast is discarded.
    if (!bcast && (linkBroadcast || this.local.localInterface(dst) === null)) {
      this.notLocal(iface, b, o, src, dst, linkBroadcast, fromSelf);
      return;
    }
    if (ipIsFragment(b, o)) {
      this.fragmentIn(iface, b, o, src, dst, bcast);
      return;
    }
    this.deliver(iface, b, o, bcast, fromSelf);
  }

  /** Count a packet whose header failed {@link ipv4Check}. */
  private badHeader(check: IpCheck): void {
    const st = this.ctx.stats.ip;
    switch (check) {
      case IpCheck.Truncated: st.truncated++; return;
      case IpCheck.BadVersion: st.badVersion++; return;
      case IpCheck.BadHeaderLength: st.badHeaderLength++; return;
      case IpCheck.BadTotalLength: st.badTotalLength++; return;
      default: st.badChecksum++; return;
    }
  }

  /** A unicast packet for another host (forwarded when the stack forwards), or one that came in a link broadcast. */
  private notLocal(iface: NetInterface, b: Uint8Array, o: number, src: number, dst: number, linkBroadcast: boolean,
    fromSelf: boolean): void {
    if (!linkBroadcast && !fromSelf && this.forwarder !== null) this.forwarder.forward(iface, b, o, src, dst);
    else this.ctx.stats.ip.notForUs++;
  }

  private fragmentIn(iface: NetInterface, b: Uint8Array, o: number, src: number, dst: number, bcast: boolean): void {
    iface.rxFlags = 0; // offload flags describe whole packets, never a datagram reassembled from pieces
    this.reassembly.input(iface, b, o, ipTotalLen(b, o), src, dst, ipProto(b, o), bcast);
  }

  /**
   * Hand a complete datagram addressed to us (header at `b[o]`, validated;
   * reassembled ones too) to IPsec's checks, then its protocol.
   */
  deliver(iface: NetInterface, b: Uint8Array, o: number, bcast: boolean, fromSelf = false): void {
    if (this.ipsec !== null && !fromSelf) {
      this.deliverIpsec(this.ipsec, iface, b, o, bcast);
      return;
    }
    const hlen = ipHeaderLen(b, o);
    if (hlen > IPV4_MIN_HLEN) this.ctx.stats.ip.optionsSkipped++;
    this.deliverTransport(iface, b, o, hlen, ipTotalLen(b, o), ipSrc(b, o), ipDst(b, o), bcast);
  }

  /** {@link deliver} on a stack with IPsec: ESP is decrypted, clear packets checked against the policy. */
  private deliverIpsec(ipsec: IpsecHook, iface: NetInterface, b: Uint8Array, o: number, bcast: boolean): void {
    const src = ipSrc(b, o);
    const dst = ipDst(b, o);
    const hlen = ipHeaderLen(b, o);
    if (hlen > IPV4_MIN_HLEN) this.ctx.stats.ip.optionsSkipped++;
    const total = ipTotalLen(b, o);
    const proto = ipProto(b, o);
    // Decrypted packets (same header length) are left at the start of the hook's rx buffer.
    // The link's checksum flags (offload) described the outer packet, not what it carried.
    if (proto === IPPROTO_ESP) {
      iface.rxFlags = 0;
      const n = ipsec.inputEsp(b, o, hlen, o + hlen, total - hlen, src, dst);
      iface.rxFlags = ipsec.rxFlags; // checksum verified while decrypting, or 0
      if (n > 0) this.deliverTransport(iface, ipsec.rx, 0, hlen, n, src, dst, false);
      return;
    }
    const v = ipsec.inputClear(b, o, hlen, total, proto, src, dst);
    if (v !== IPSEC_PASS) {
      iface.rxFlags = ipsec.rxFlags;
      if (v > 0) this.deliverTransport(iface, ipsec.rx, 0, hlen, v, src, dst, false);
      return;
    }
    this.deliverTransport(iface, b, o, hlen, total, src, dst, bcast);
  }

  /** Hand a validated packet for us to its transport. */
  private deliverTransport(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number,
    dst: number, bcast: boolean): void {
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
      if (!bcast) this.icmpErrors.sendError(ICMP_DEST_UNREACH, UNREACH_PROTOCOL, 0, b, o, total);
    }
  }
}
