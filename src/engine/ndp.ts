/**
 * PLACEHOLDER for neighbour discovery (RFC 4861), which the V6ND branch
 * replaces with the real engine/ndp.ts: it only sends to the multicast MAC
 * of a multicast destination (RFC 2464 §7) and drops unicast next hops,
 * counted in `stats.ip6.noNeighbour`, and ignores ND messages.
 */
import { ETH_HLEN, writeEth } from '../wire/ethernet.js';
import { ETHERTYPE_IPV6 } from '../wire/ipv6.js';
import { isMulticast6, multicastMac } from '../wire/ipv6addr.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { NeighbourInput, NeighbourOutput } from './ipv6-types.js';
import { Errno } from './errno.js';

export class NeighbourDiscovery implements NeighbourOutput, NeighbourInput {
  private readonly mac = new Uint8Array(6);

  constructor(private readonly ctx: EngineContext) {}

  output(iface: NetInterface, nextHop: Uint8Array, nhOff: number, b: Uint8Array, frameOff: number, frameLen: number): number {
    if (!isMulticast6(nextHop, nhOff)) {
      this.ctx.stats.ip6.noNeighbour++;
      return -Errno.EHOSTUNREACH;
    }
    multicastMac(this.mac, nextHop, nhOff);
    writeEth(b, frameOff, this.mac, 0, iface.mac, 0, ETHERTYPE_IPV6);
    return frameLen >= ETH_HLEN ? iface.transmit(b, frameOff, frameLen, this.ctx.now) : -Errno.EINVAL;
  }

  input(_iface: NetInterface, _b: Uint8Array, _ipOff: number, _icmpOff: number, _icmpLen: number): void {
    this.ctx.stats.icmp6.ndIn++;
  }
}
