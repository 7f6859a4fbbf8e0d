/**
 * The IPv4 output path alone, without a Stack: an arena with the tx frame,
 * routing table, ARP, loopback queue and Ipv4, over two point-to-point
 * interfaces 10.1.0.1/24 and 10.2.0.1/24 on the links given (MTUs per
 * interface). For engine tests that look at what output() hands a link.
 */
import { Arena, MemoryPlan } from '../../src/storage/arena.js';
import { resolveConfig } from '../../src/engine/config.js';
import { createStats } from '../../src/engine/stats.js';
import { NetInterface } from '../../src/engine/netif.js';
import { RouteTable, ROUTE_CONNECTED } from '../../src/engine/routes.js';
import { Arp } from '../../src/engine/arp.js';
import { Ipv4 } from '../../src/engine/ipv4.js';
import { LoopbackQueue } from '../../src/engine/loopback.js';
import type { EngineContext } from '../../src/engine/context.js';
import type { Link } from '../../src/link/link.js';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import { parseIpv4 } from '../../src/wire/ipv4addr.js';

export const ip4 = (s: string): number => parseIpv4(s) | 0;

export interface IpOutputFixture {
  ip: Ipv4;
  ctx: EngineContext;
  ifs: NetInterface[];
}

export function ipOutputFixture(links: readonly [Link & { name: string }, Link & { name: string }], mtus: readonly [number, number] = [1500, 1500]): IpOutputFixture {
  const config = resolveConfig({});
  const frame = config.maxMtu + ETH_HLEN;
  const plan = new MemoryPlan();
  plan.add('txFrame', frame);
  RouteTable.plan(plan, 4);
  Arp.plan(plan, 4, 2, frame);
  LoopbackQueue.plan(plan, 4, frame);
  Ipv4.plan(plan, frame);
  const arena = new Arena(plan);
  const stats = createStats();
  const ifs: NetInterface[] = [];
  const ctx: EngineContext = {
    now: 0, config, stats, interfaces: ifs, tx: arena.u8('txFrame', frame),
    preciseNow: () => 0, random32: () => 7, dnsServers6: [], zone6: 0,
  };
  const routes = new RouteTable(arena, 4);
  const arp = new Arp(arena, ctx, 4, 2, frame, { pendingDropped(): void {}, resolveFailed(): void {} });
  const loopback = new LoopbackQueue(arena, 4, frame);
  const ip = new Ipv4(arena, ctx, arp, routes, loopback, null);
  arena.finish();
  const sink = { input(): void {} };
  for (let i = 0; i < 2; i++) {
    const iface = new NetInterface(i, links[i].name, links[i], mtus[i], sink, stats.eth);
    iface.setAddress(ip4(`10.${i + 1}.0.1`), 24, 0);
    ifs.push(iface);
    routes.add(ip4(`10.${i + 1}.0.0`), 24, 0, i, ROUTE_CONNECTED);
  }
  return { ip, ctx, ifs };
}
