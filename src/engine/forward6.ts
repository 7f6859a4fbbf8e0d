/**
 * IPv6 forwarding (RFC 8200 §3, RFC 4443) when the stack is a router
 * (`ipForwarding`): hop limit, Packet Too Big instead of fragmenting (§5),
 * no forwarding of link-local or unspecified addresses (RFC 4291 §2.5.2,
 * §2.5.6). Errors go back through ICMPv6; every drop is counted on the
 * arrival interface and in `ip6.forwardDropped`.
 */
import { copyBytes } from '../wire/bytes.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IP6_DST, IP6_HLIM, IP6_SRC } from '../wire/ipv6.js';
import { isLinkLocal6, isUnspecified6 } from '../wire/ipv6addr.js';
import {
  ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, TIME6_HOP_LIMIT, UNREACH6_BEYOND_SCOPE,
  UNREACH6_NO_ROUTE,
} from '../wire/icmpv6.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { Route6Record } from './routes6.js';
import type { Ipv6 } from './ipv6.js';
import type { Icmp6ErrorSender } from './icmpv6.js';

export class Forwarder6 {
  private readonly route = new Route6Record();

  constructor(private readonly ctx: EngineContext, private readonly ip: Ipv6, private readonly errors: Icmp6ErrorSender) {}

  private drop(_iface: NetInterface): void {
    this.ctx.stats.ip6.forwardDropped++;
  }

  /** Forward the packet at `b[o .. end)`, which arrived on `iface` for someone else. */
  forward(iface: NetInterface, b: Uint8Array, o: number, end: number): void {
    const st = this.ctx.stats.ip6;
    const len = end - o;
    if (isUnspecified6(b, o + IP6_SRC)) {
      iface.stats.notForwardable++;
      this.drop(iface);
      return;
    }
    if (isLinkLocal6(b, o + IP6_SRC) || isLinkLocal6(b, o + IP6_DST)) {
      // Link-local scope never leaves its link (RFC 4291 §2.5.6; RFC 4443 §3.1 code 2).
      iface.stats.notForwardable++;
      this.drop(iface);
      this.errors.sendError(ICMP6_DST_UNREACH, UNREACH6_BEYOND_SCOPE, 0, b, o, len, false, -1);
      return;
    }
    if (b[o + IP6_HLIM] <= 1) {
      iface.stats.ttlExceeded++;
      st.hopLimitExceeded++;
      this.drop(iface);
      this.errors.sendError(ICMP6_TIME_EXCEEDED, TIME6_HOP_LIMIT, 0, b, o, len, false, -1);
      return;
    }
    const r = this.route;
    // The packet's own source stays: route6 with a given source does no source selection.
    if (this.ip.route6(r, b, o + IP6_DST, b, o + IP6_SRC) !== 0 || r.local) {
      iface.stats.noRoute++;
      this.drop(iface);
      this.errors.sendError(ICMP6_DST_UNREACH, UNREACH6_NO_ROUTE, 0, b, o, len, false, -1);
      return;
    }
    const out = r.iface as NetInterface;
    if (len > out.mtu) {
      // §5: routers never fragment; the source learns the MTU (RFC 8201).
      iface.stats.fragNeeded++;
      st.tooBig++;
      this.drop(iface);
      this.errors.sendError(ICMP6_PACKET_TOO_BIG, 0, out.mtu, b, o, len, false, -1);
      return;
    }
    const t = this.ctx.tx;
    copyBytes(b, o, t, ETH_HLEN, len);
    t[ETH_HLEN + IP6_HLIM]--;
    iface.stats.forwarded++;
    st.forwarded++;
    this.ip.emitFrame6(r, t, 0, len);
  }
}
