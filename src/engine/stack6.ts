/**
 * The IPv6 side of the engine's configuration API (config time, never the
 * packet path): address lists of `addInterface`, static addresses and their
 * connected and default routes, `addRoute`/`removeRoute` with IPv6
 * prefixes, and the display forms. Throws RangeErrors naming the problem,
 * as the IPv4 side in stack.ts does.
 */
import {
  formatIpv6, ip6PrefixMatch, isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6, isV4Mapped, looksLikeIpv6,
  parseCidr6, parseIpv6, type Cidr6,
} from '../wire/ipv6addr.js';
import { ADDR6_FREE, ADDR6_LINKLOCAL, ADDR6_PREFERRED, ADDR6_STATIC, type NetInterface } from './netif.js';
import type { ResolvedConfig } from './config.js';
import { ROUTE6_CONNECTED, ROUTE6_DEFAULT, ROUTE6_STATIC, type Route6Table } from './routes6.js';

/** An interface's address options split by family. */
export interface SplitAddresses {
  v4: string | null;
  v6: string[];
  gateway4: string | undefined;
  gateway6: string | undefined;
}

/**
 * Split an interface's `address` option (at most one IPv4 prefix, any
 * number of IPv6 ones) and gateways (`gateway` of either family, `gateway6`).
 */
export function splitAddresses(address: string | readonly string[] | undefined, gateway: string | undefined,
  gateway6: string | undefined): SplitAddresses {
  const list = address === undefined ? [] : typeof address === 'string' ? [address] : [...address];
  let v4: string | null = null;
  const v6: string[] = [];
  for (const a of list) {
    if (typeof a !== 'string') throw new TypeError(`interface address must be a string, got ${typeof a}`);
    if (looksLikeIpv6(a)) v6.push(a);
    else if (v4 !== null) throw new RangeError(`an interface has one IPv4 address: got '${v4}' and '${a}'`);
    else v4 = a;
  }
  const g6 = gateway !== undefined && looksLikeIpv6(gateway);
  if (g6 && gateway6 !== undefined) throw new RangeError('two IPv6 gateways: gateway and gateway6');
  return { v4, v6, gateway4: g6 ? undefined : gateway, gateway6: g6 ? gateway : gateway6 };
}

/** Validate the IPv6 part of `addInterface`'s options before anything is changed. */
export function checkInterface6(s: SplitAddresses, interfaces: readonly NetInterface[], c: ResolvedConfig): Cidr6[] {
  if ((s.v6.length > 0 || s.gateway6 !== undefined) && c.ipv6 === 0) {
    throw new RangeError('IPv6 address or gateway on a stack built with ipv6: false');
  }
  if (s.v6.length > c.ipv6AddressesPerInterface) {
    throw new RangeError(`more than ipv6AddressesPerInterface (${c.ipv6AddressesPerInterface}) IPv6 addresses`);
  }
  const out = s.v6.map((t) => checkAddress6(t, interfaces, null));
  if (s.gateway6 !== undefined) parseGateway6(s.gateway6);
  return out;
}

/** Configure the checked IPv6 addresses and gateway on a new interface. */
export function configureInterface6(iface: NetInterface, routes: Route6Table, cidrs: readonly Cidr6[],
  gateway6: string | undefined, c: ResolvedConfig): void {
  const cap = `routes6 ${c.routes6}`;
  for (const c6 of cidrs) configureAddress6(iface, routes, c6, cap);
  if (gateway6 !== undefined) addDefaultRoute6(iface, routes, gateway6, cap);
}

/** Parse and validate an IPv6 interface address (a usable unicast, not on another interface). */
export function checkAddress6(text: string, interfaces: readonly NetInterface[], self: NetInterface | null): Cidr6 {
  let c: Cidr6;
  try {
    c = parseCidr6(text, 'interface address');
  } catch (e) {
    throw new RangeError((e as Error).message);
  }
  const a = c.address;
  if (isUnspecified6(a, 0) || isMulticast6(a, 0) || isLoopback6(a, 0) || isV4Mapped(a, 0)) {
    throw new RangeError(`interface address '${text}' is not a usable IPv6 unicast address`);
  }
  for (const other of interfaces) {
    if (other !== self && other.findAddress6(a, 0) >= 0) {
      throw new RangeError(`duplicate address ${formatIpv6(a, 0)}: already on ${other.name}`);
    }
  }
  return c;
}

/** Parse an IPv6 gateway (a unicast address); throws a RangeError. */
export function parseGateway6(text: string): Uint8Array {
  const g = new Uint8Array(16);
  if (!parseIpv6(text, g, 0) || isUnspecified6(g, 0) || isMulticast6(g, 0) || isLoopback6(g, 0)) {
    throw new RangeError(`invalid IPv6 gateway '${text}'`);
  }
  return g;
}

/** Whether `gw` is on-link for `iface`: link-local (Ethernet), or inside one of its prefixes. */
function onLink(iface: NetInterface, gw: Uint8Array): boolean {
  if (isLinkLocal6(gw, 0)) return true;
  for (let k = 0; k < iface.addr6Count; k++) {
    if (iface.addr6State[k] !== ADDR6_FREE && ip6PrefixMatch(iface.addr6, k * 16, gw, 0, iface.addr6Prefix[k])) return true;
  }
  return false;
}

/**
 * Put a static address on `iface` (preferred at once: RFC 4862 §5.4 DAD is
 * neighbour discovery's call), with its connected route (prefixes shorter
 * than /128), and a default route via `gateway` when given.
 */
export function configureAddress6(iface: NetInterface, routes: Route6Table, c: Cidr6, capacityText: string): void {
  const flags = ADDR6_STATIC | (isLinkLocal6(c.address, 0) ? ADDR6_LINKLOCAL : 0);
  if (iface.addAddress6(c.address, 0, c.prefixLength, ADDR6_PREFERRED, flags) < 0) {
    throw new RangeError(`interface ${iface.name} has no room for another IPv6 address (ipv6AddressesPerInterface)`);
  }
  if (c.prefixLength < 128 && routes.add(c.address, 0, c.prefixLength, null, 0, iface.index, ROUTE6_CONNECTED) < 0) {
    throw new RangeError(`IPv6 routing table full (${capacityText})`);
  }
}

/** Add the default route `::/0 via gateway` through `iface`; the gateway must be on-link there. */
export function addDefaultRoute6(iface: NetInterface, routes: Route6Table, gatewayText: string, capacityText: string): void {
  const gw = parseGateway6(gatewayText);
  if (!iface.ipOnly && !onLink(iface, gw)) throw new RangeError(`gateway ${gatewayText} is not on-link for ${iface.name}`);
  const any = new Uint8Array(16);
  if (routes.add(any, 0, 0, gw, 0, iface.index, ROUTE6_DEFAULT) < 0) throw new RangeError(`IPv6 routing table full (${capacityText})`);
}

/** `addRoute` for an IPv6 destination: via an on-link gateway, or straight through an interface. */
export function addRoute6(interfaces: readonly NetInterface[], routes: Route6Table, destination: string,
  gateway: string | { interface: number }, capacityText: string): void {
  let c: Cidr6;
  try {
    c = parseCidr6(destination, 'route destination');
  } catch (e) {
    throw new RangeError((e as Error).message);
  }
  if (typeof gateway === 'object' && gateway !== null) {
    const index = gateway.interface;
    if (!Number.isInteger(index) || interfaces[index] === undefined) throw new RangeError(`no interface ${String(index)}`);
    if (routes.add(c.address, 0, c.prefixLength, null, 0, index, ROUTE6_STATIC) < 0) {
      throw new RangeError(`IPv6 routing table full (${capacityText})`);
    }
    return;
  }
  const gw = parseGateway6(gateway);
  // A link-local gateway names no interface: the first Ethernet interface with IPv6 is meant (no zones here).
  const iface = interfaces.find((i) => (isLinkLocal6(gw, 0) ? !i.ipOnly && i.addr6Count > 0 : onLink(i, gw)));
  if (iface === undefined) throw new RangeError(`gateway ${gateway} is not on any connected IPv6 prefix`);
  if (routes.add(c.address, 0, c.prefixLength, gw, 0, iface.index, ROUTE6_STATIC) < 0) {
    throw new RangeError(`IPv6 routing table full (${capacityText})`);
  }
}

/** `removeRoute` for an IPv6 destination. */
export function removeRoute6(routes: Route6Table, destination: string, index: number): boolean {
  const c = parseCidr6(destination, 'route destination');
  return routes.remove(c.address, 0, c.prefixLength, index);
}

/** The IPv6 routes for display. */
export function routeList6(interfaces: readonly NetInterface[], routes: Route6Table):
  Array<{ destination: string; gateway: string | null; interface: string }> {
  return routes.list().map((r) => ({
    destination: `${formatIpv6(r.dest, 0)}/${r.prefixLength}`,
    gateway: r.gateway === null ? null : formatIpv6(r.gateway, 0),
    interface: interfaces[r.ifIndex].name,
  }));
}

/** The interface's IPv6 addresses as 'addr/len' (every slot in use, tentative ones too). */
export function addresses6Of(iface: NetInterface): string[] {
  const out: string[] = [];
  for (let k = 0; k < iface.addr6Count; k++) {
    if (iface.addr6State[k] !== ADDR6_FREE) out.push(`${formatIpv6(iface.addr6, k * 16)}/${iface.addr6Prefix[k]}`);
  }
  return out;
}
