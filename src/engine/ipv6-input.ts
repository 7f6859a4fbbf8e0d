/**
 * IPv6 input (RFC 8200): fixed-header validation, the destinations we
 * accept, the extension-header chain (§4: hop-by-hop only first, options
 * with their unknown-option actions, routing headers, fragments, no next
 * header), reassembly (reassembly6.ts), forwarding (forward6.ts) and the
 * hand-off to ICMPv6 and the transports. Every drop is counted in
 * `stats.ip6` under one reason.
 */
import type { Carver } from '../storage/arena.js';
import {
  IPV6_HLEN, IP6_DST, IP6_NXT, IP6_SRC, Ip6Check, ipv6Check, ip6PayloadLen, extHeaderLen, fragMore, fragOffset,
  FRAG_HLEN, NH_DSTOPTS, NH_FRAGMENT, NH_HOPOPTS, NH_ICMPV6, NH_NONE, NH_ROUTING, NH_TCP, NH_UDP,
} from '../wire/ipv6.js';
import { ICMP6_PARAM_PROBLEM, PARAM6_HEADER, PARAM6_NEXT_HEADER, PARAM6_OPTION } from '../wire/icmpv6.js';
import { isMulticast6, isSolicitedNode } from '../wire/ipv6addr.js';
import type { EngineContext } from './context.js';
import { ADDR6_FREE, type NetInterface } from './netif.js';
import type { Icmp6, Icmp6ErrorSender } from './icmpv6.js';
import { Reassembly6, type Reassembly6Host } from './reassembly6.js';
import type { Forwarder6 } from './forward6.js';
import type { Transports6 } from './ipv6-types.js';

/** Extension headers walked per packet before it is dropped as abusive (counted in `ip6.extChainTooLong`). */
const MAX_EXT_HEADERS = 16;

/** What input needs from the output side: which addresses are ours. */
export interface LocalAddresses6 {
  localInterface6(addr: Uint8Array, off: number): NetInterface | null;
  /** Bit 1: the address at `b[srcOff]` is ours; bit 2: the one at `b[dstOff]` is (both in one pass). */
  ownership6(b: Uint8Array, srcOff: number, dstOff: number): number;
}

export class Ipv6Input implements Reassembly6Host {
  readonly reassembly: Reassembly6;

  /**
   * @param transports TCP and UDP over IPv6 (null until a socket layer provides them: counted in `ip6.noTransport`)
   * @param forwarder set when the stack forwards (config `ipForwarding`), else null
   */
  constructor(m: Carver, private readonly ctx: EngineContext, private readonly local: LocalAddresses6,
    private readonly icmpErrors: Icmp6ErrorSender, private readonly icmp: Icmp6,
    private readonly transports: Transports6 | null, private readonly forwarder: Forwarder6 | null,
    reassemblySlots: number, reassemblyBytes: number) {
    this.reassembly = new Reassembly6(m, ctx, this, icmpErrors, reassemblySlots, reassemblyBytes);
  }

  /**
   * Handle the IPv6 packet at `b[o .. o+avail)` (link padding may follow).
   * `linkMulticast`: it came in a link-layer multicast or broadcast frame.
   * `fromSelf`: from the loopback queue.
   */
  input(iface: NetInterface, b: Uint8Array, o: number, avail: number, linkMulticast: boolean, fromSelf: boolean): void {
    const st = this.ctx.stats.ip6;
    st.rx++;
    if (fromSelf) st.loopbackIn++;
    switch (ipv6Check(b, o, avail)) {
      case Ip6Check.Ok: break;
      case Ip6Check.Truncated: st.truncated++; return;
      case Ip6Check.BadVersion: st.badVersion++; return;
      default: st.badPayloadLength++; return;
    }
    const end = o + IPV6_HLEN + ip6PayloadLen(b, o);
    const own = this.local.ownership6(b, o + IP6_SRC, o + IP6_DST);
    // RFC 4291 §2.7: never a multicast source; a packet from one of our own addresses is a loop or a spoof.
    if (isMulticast6(b, o + IP6_SRC) || (!fromSelf && (own & 1) !== 0)) {
      st.martianSource++;
      return;
    }
    const mcast = isMulticast6(b, o + IP6_DST);
    if (mcast) {
      if (!this.joined(iface, b, o + IP6_DST)) {
        st.multicastNotJoined++;
        return;
      }
    } else if (linkMulticast || (own & 2) === 0) {
      // A unicast packet in a link-layer multicast frame is not for us either (as RFC 1122 3.3.6 for IPv4).
      if (!linkMulticast && !fromSelf && this.forwarder !== null) this.forwarder.forward(iface, b, o, end);
      else st.notForUs++;
      return;
    }
    this.chain(iface, b, o, o + IP6_NXT, o + IPV6_HLEN, end, mcast, linkMulticast, true);
  }

  /**
   * Multicast groups we receive (RFC 4291 §2.8): all-nodes (interface- and
   * link-local), all-routers when forwarding, and the solicited-node group of
   * each address on the interface (tentative ones too: DAD listens there).
   */
  private joined(iface: NetInterface, b: Uint8Array, d: number): boolean {
    if (b[d + 1] === 0x02 || b[d + 1] === 0x01) {
      let zero = true;
      for (let i = 2; i < 15; i++) if (b[d + i] !== 0) { zero = false; break; }
      if (zero && (b[d + 15] === 1 || (b[d + 15] === 2 && this.forwarder !== null))) return true;
    }
    if (!isSolicitedNode(b, d)) return false;
    for (let k = 0; k < iface.addr6Count; k++) {
      const a = k * 16;
      if (iface.addr6State[k] !== ADDR6_FREE && iface.addr6[a + 13] === b[d + 13] && iface.addr6[a + 14] === b[d + 14]
        && iface.addr6[a + 15] === b[d + 15]) return true;
    }
    return false;
  }

  /** A reassembled packet: its chain continues with the fragmentable part. */
  deliverReassembled(iface: NetInterface, b: Uint8Array, o: number, multicast: boolean): void {
    iface.rxFlags = 0; // offload flags describe whole packets, never a datagram reassembled from pieces
    this.chain(iface, b, o, o + IP6_NXT, o + IPV6_HLEN, o + IPV6_HLEN + ip6PayloadLen(b, o), multicast, false, false);
  }

  /**
   * Walk the header chain from the next-header byte at `b[nhField]` (the
   * header it names at `b[p]`) to the upper layer, acting on each header per
   * RFC 8200 §4. `first`: `p` follows the fixed header directly (where alone
   * a hop-by-hop header may be).
   */
  private chain(iface: NetInterface, b: Uint8Array, o: number, nhField: number, p: number, end: number,
    mcast: boolean, linkMulticast: boolean, first: boolean): void {
    const st = this.ctx.stats.ip6;
    const anyMcast = mcast || linkMulticast;
    for (let n = 0; n < MAX_EXT_HEADERS; n++) {
      const nh = b[nhField];
      if (nh === NH_UDP || nh === NH_TCP) {
        const t = this.transports;
        if (t === null) {
          st.noTransport++;
          return;
        }
        st.delivered++;
        if (nh === NH_TCP) t.tcp.input6(iface, b, o, p, end - p, mcast);
        else t.udp.input6(iface, b, o, p, end - p, mcast);
        return;
      }
      if (nh === NH_ICMPV6) {
        st.delivered++;
        this.icmp.input(iface, b, o, p, end - p, mcast);
        return;
      }
      if (nh === NH_HOPOPTS || nh === NH_DSTOPTS) {
        // §4.3: hop-by-hop options only right after the fixed header.
        if (nh === NH_HOPOPTS && !(first && nhField === o + IP6_NXT)) {
          st.unknownNextHeader++;
          this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_NEXT_HEADER, nhField - o, b, o, end - o, anyMcast, -1);
          return;
        }
        if (p + 8 > end || p + extHeaderLen(b, p) > end) {
          st.badExtHeader++;
          this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, p + 1 - o, b, o, end - o, anyMcast, -1);
          return;
        }
        if (!this.options(b, o, p, p + extHeaderLen(b, p), end, mcast, anyMcast)) return;
        nhField = p;
        p += extHeaderLen(b, p);
      } else if (nh === NH_ROUTING) {
        if (p + 8 > end || p + extHeaderLen(b, p) > end) {
          st.badExtHeader++;
          this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, p + 1 - o, b, o, end - o, anyMcast, -1);
          return;
        }
        // §4.4: with segments left we would have to act as the next hop, which a host does not (and
        // type 0 is deprecated, RFC 5095): Parameter Problem at the routing type. Zero segments left: skip it.
        if (b[p + 3] !== 0) {
          st.badExtHeader++;
          this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, p + 2 - o, b, o, end - o, anyMcast, -1);
          return;
        }
        nhField = p;
        p += extHeaderLen(b, p);
      } else if (nh === NH_FRAGMENT) {
        if (p + FRAG_HLEN > end) {
          st.badExtHeader++;
          this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, p - o, b, o, end - o, anyMcast, -1);
          return;
        }
        if (fragOffset(b, p) === 0 && !fragMore(b, p)) {
          // RFC 6946: an atomic fragment is processed as a whole packet, apart from any reassembly.
          st.atomicFragments++;
          nhField = p;
          p += FRAG_HLEN;
        } else {
          if (!first) {
            // A fragment inside a reassembled packet: nested fragmentation is not a thing (§4.5).
            st.fragmentsDropped++;
            st.fragmentsMalformed++;
            return;
          }
          this.reassembly.input(iface, b, o, p, end, mcast);
          return;
        }
      } else if (nh === NH_NONE) {
        st.noNextHeader++;
        return;
      } else {
        // §4: an unrecognized next header (ESP and AH too: no IPsec for IPv6 here).
        st.unknownNextHeader++;
        this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_NEXT_HEADER, nhField - o, b, o, end - o, anyMcast, -1);
        return;
      }
      if (p > end) {
        st.badExtHeader++;
        return;
      }
    }
    st.extChainTooLong++;
  }

  /**
   * The TLV options of a hop-by-hop or destination options header at
   * `b[p .. q)`. Pad1, PadN and the options whose action bits say skip (00)
   * are skipped; an unrecognized option's action (§4.2) decides: 01 drop,
   * 10 drop and Parameter Problem code 2, 11 the same only for a unicast
   * destination. Returns whether the packet goes on.
   */
  private options(b: Uint8Array, o: number, p: number, q: number, end: number, mcast: boolean, anyMcast: boolean): boolean {
    const st = this.ctx.stats.ip6;
    let i = p + 2;
    while (i < q) {
      const type = b[i];
      if (type === 0) {
        i++;
        continue;
      }
      if (i + 2 > q || i + 2 + b[i + 1] > q) {
        st.badExtHeader++;
        this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, i + 1 - o, b, o, end - o, anyMcast, -1);
        return false;
      }
      // PadN (1) and Router Alert (5, RFC 2711: nothing to do for a host) are known; the rest is not.
      if (type !== 1 && type !== 5) {
        const action = type >>> 6;
        if (action !== 0) {
          st.unknownOption++;
          if (action === 2 || (action === 3 && !mcast)) {
            this.icmpErrors.sendError(ICMP6_PARAM_PROBLEM, PARAM6_OPTION, i - o, b, o, end - o, anyMcast, -1);
          }
          return false;
        }
      }
      i += 2 + b[i + 1];
    }
    return true;
  }

}
