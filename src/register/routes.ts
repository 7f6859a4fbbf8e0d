/**
 * Which side a destination of an unmodified program belongs to, as a
 * wg-quick interface makes Linux decide: the tunnel for addresses inside a
 * peer's AllowedIPs (and the tunnel's own addresses), the host for the rest.
 * Loopback and the host's own interface addresses always stay on the host,
 * as Linux's local routing table is looked up before wg-quick's (so
 * `AllowedIPs = 0.0.0.0/0` does not capture 127.0.0.1). IPv6 the same way:
 * AllowedIPs prefixes and the tunnel's own IPv6 addresses go to the tunnel;
 * ::1, ::, link-local and multicast destinations and the host's own IPv6
 * addresses stay on the host (wg-quick's `suppress_prefixlength 0` rule
 * keeps the main table's more specific routes, link-local ones included).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv4, prefixMask } from '../wire/ipv4addr.js';
import {
  formatIpv6, ip6PrefixMatch, isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6, parseIpv6, stripZone6,
} from '../wire/ipv6addr.js';

/** A prefix as wg-quick files give them. */
export interface RoutePrefix {
  address: string;
  prefixLength: number;
}

/** Where a connection or datagram goes. */
export type Side = 'tunnel' | 'host';

/** The IPv4 text inside an IPv4-mapped IPv6 address ('::ffff:10.0.0.1'), else the input. */
export function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m === null ? address : m[1];
}

/** The unspecified addresses a listener binds "every interface" with. */
export function isUnspecified(host: string | undefined | null): boolean {
  return host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::' || host === '::0';
}

/** RFC 5952 text of an IPv6 literal (zone dropped), or null when `text` is none. */
function canonical6(text: string): string | null {
  const b = new Uint8Array(16);
  return parseIpv6(stripZone6(text), b, 0) ? formatIpv6(b, 0) : null;
}

/** Names that are the host itself whatever the tunnel's DNS says (RFC 6761 §6.3). */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** The routing decision of `wirestack/register`. */
export class TunnelRoutes {
  private readonly prefixes: Array<{ network: number; mask: number }>;
  private readonly tunnelAddresses: Set<number>;
  private readonly hostAddresses: Set<number>;
  private readonly prefixes6: Array<{ network: Uint8Array; length: number }>;
  private readonly tunnelAddresses6: Set<string>;
  private readonly hostAddresses6: Set<string>;
  private readonly scratch = new Uint8Array(16);

  /**
   * @param allowed every peer's AllowedIPs
   * @param tunnelAddresses the interface's own addresses (Address =)
   * @param hostAddresses the host's interface addresses (always the host's)
   */
  constructor(allowed: readonly RoutePrefix[], tunnelAddresses: readonly string[], hostAddresses: readonly string[] = []) {
    this.prefixes = allowed.filter((p) => !p.address.includes(':')).map((p) => {
      const mask = prefixMask(p.prefixLength);
      return { network: (parseIpv4(p.address) & mask) >>> 0, mask };
    });
    this.tunnelAddresses = new Set(tunnelAddresses.filter((a) => !a.includes(':')).map((a) => parseIpv4(a)));
    this.hostAddresses = new Set(hostAddresses.filter((a) => isIPv4(a)).map((a) => parseIpv4(a)));
    this.prefixes6 = allowed.filter((p) => p.address.includes(':')).map((p) => {
      const network = new Uint8Array(16);
      if (!parseIpv6(p.address, network, 0)) throw new RangeError(`bad IPv6 prefix ${p.address}`);
      return { network, length: p.prefixLength };
    });
    const set6 = (list: readonly string[]): Set<string> =>
      new Set(list.map(canonical6).filter((a): a is string => a !== null));
    this.tunnelAddresses6 = set6(tunnelAddresses);
    this.hostAddresses6 = set6(hostAddresses);
  }

  /** True for one of the tunnel interface's own addresses. */
  isTunnelAddress(address: string): boolean {
    const a = unmapIpv4(address);
    if (isIPv6(a)) {
      const c = canonical6(a);
      return c !== null && this.tunnelAddresses6.has(c);
    }
    return isIPv4(a) && this.tunnelAddresses.has(parseIpv4(a));
  }

  /** The side of an IP literal (IPv4 or IPv6); anything else (a name) is the host's. */
  route(address: string): Side {
    const a = unmapIpv4(address);
    if (isIPv6(a)) return this.route6(a);
    if (!isIPv4(a)) return 'host';
    const ip = parseIpv4(a) >>> 0;
    if (ip >>> 24 === 127 || ip === 0) return 'host';
    if (this.tunnelAddresses.has(parseIpv4(a))) return 'tunnel';
    if (this.hostAddresses.has(parseIpv4(a))) return 'host';
    for (const p of this.prefixes) {
      if (((ip & p.mask) >>> 0) === p.network) return 'tunnel';
    }
    return 'host';
  }

  private route6(text: string): Side {
    const b = this.scratch;
    if (!parseIpv6(stripZone6(text), b, 0)) return 'host';
    if (isLoopback6(b, 0) || isUnspecified6(b, 0) || isLinkLocal6(b, 0) || isMulticast6(b, 0)) return 'host';
    const c = formatIpv6(b, 0);
    if (this.tunnelAddresses6.has(c)) return 'tunnel';
    if (this.hostAddresses6.has(c)) return 'host';
    for (const p of this.prefixes6) if (ip6PrefixMatch(b, 0, p.network, 0, p.length)) return 'tunnel';
    return 'host';
  }
}
