/**
 * Ethernet input: the first step of every frame an interface receives
 * (NetInterface hands frames here directly, see {@link FrameSink}). The
 * common frame, IPv4 unicast to the interface's MAC, is tested first and
 * goes straight on; everything else (broadcast, IPv6 multicast, ARP, IPv6,
 * frames for another MAC, runts, point-to-point 'ip' links) is out of line.
 * Why (issue #10, the chatty client's cold cost): V8 tiers a function up
 * after it ran a count of its own bytecode that grows with the function's
 * whole size, so a lean function on the per-packet path is optimized sooner.
 */
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ethIsBroadcast, ethType, macEquals } from '../wire/ethernet.js';
import { ETHERTYPE_IPV6 } from '../wire/ipv6.js';
import type { FrameSink, NetInterface } from './netif.js';
import type { StackStats } from './stats.js';
import type { Arp } from './arp.js';
import type { Ipv4Input } from './ipv4-input.js';
import type { Ipv6In, Ipv6Out } from './ipv6-layer.js';

export class EthInput implements FrameSink {
  constructor(private readonly stats: StackStats, private readonly ipIn: Ipv4Input, private readonly arp: Arp,
    private readonly ip6: Ipv6Out | null, private readonly ip6In: Ipv6In | null) {}

  /** Frame input from an interface (the packet path starts here). */
  input(iface: NetInterface, b: Uint8Array, o: number, len: number): void {
    if (iface.ipOnly || len < ETH_HLEN) {
      this.inputRare(iface, b, o, len);
      return;
    }
    const st = this.stats.eth;
    st.rxFrames++;
    st.rxBytes += len;
    const type = ethType(b, o);
    if (type === ETHERTYPE_IPV4 && macEquals(b, o, iface.mac, 0)) this.ipIn.input(iface, b, o + ETH_HLEN, len - ETH_HLEN, false, false);
    else this.inputOther(iface, b, o, len, type);
  }

  /** A packet of a point-to-point 'ip' link, or a runt frame (counted). */
  private inputRare(iface: NetInterface, b: Uint8Array, o: number, len: number): void {
    if (iface.ipOnly) {
      // A point-to-point 'ip' link carries both families: the version nibble tells them apart.
      if (len > 0 && b[o] >>> 4 === 6 && this.ip6In !== null) this.ip6In.input.input(iface, b, o, len, false, false);
      else this.ipIn.input(iface, b, o, len, false, false);
      return;
    }
    const st = this.stats.eth;
    st.rxFrames++;
    st.rxBytes += len;
    st.runt++;
  }

  /** A frame (already counted) other than IPv4 unicast to our MAC. */
  private inputOther(iface: NetInterface, b: Uint8Array, o: number, len: number, type: number): void {
    const st = this.stats.eth;
    const bcast = ethIsBroadcast(b, o);
    // IPv6 multicast (33:33:xx, RFC 2464 §7): only the groups we joined (all-nodes, solicited-node).
    const mc6 = b[o] === 0x33 && b[o + 1] === 0x33 && type === ETHERTYPE_IPV6 && this.ip6 !== null;
    if (!bcast && !macEquals(b, o, iface.mac, 0)) {
      if (!mc6) {
        st.notForUs++;
        return;
      }
      if (!(this.ip6 as Ipv6Out).nd.acceptsMulticast(iface, b, o)) {
        this.stats.nd6.multicastNotJoined++;
        return;
      }
    }
    if (type === ETHERTYPE_IPV4) this.ipIn.input(iface, b, o + ETH_HLEN, len - ETH_HLEN, bcast, false);
    else if (type === ETHERTYPE_ARP) this.arp.input(iface, b, o + ETH_HLEN, len - ETH_HLEN);
    else if (type === ETHERTYPE_IPV6 && this.ip6In !== null) this.ip6In.input.input(iface, b, o + ETH_HLEN, len - ETH_HLEN, bcast || mc6, false);
    else st.unknownType++;
  }
}
