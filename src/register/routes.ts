/**
 * Which side a destination of an unmodified program belongs to, as a
 * wg-quick interface makes Linux decide: the tunnel for addresses inside a
 * peer's AllowedIPs (and the tunnel's own addresses), the host for the rest.
 * Loopback and the host's own interface addresses always stay on the host,
 * as Linux's local routing table is looked up before wg-quick's (so
 * `AllowedIPs = 0.0.0.0/0` does not capture 127.0.0.1). IPv6 destinations
 * stay on the host: the stack is IPv4 only.
 */
import { isIPv4 } from 'node:net';
import { parseIpv4, prefixMask } from '../wire/ipv4addr.js';

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

  /**
   * @param allowed every peer's AllowedIPs
   * @param tunnelAddresses the interface's own addresses (Address =)
   * @param hostAddresses the host's interface addresses (always the host's)
   */
  constructor(allowed: readonly RoutePrefix[], tunnelAddresses: readonly string[], hostAddresses: readonly string[] = []) {
    // IPv6 prefixes (wg-quick files carry them now) stay the host's here: this router is IPv4's.
    this.prefixes = allowed.filter((p) => !p.address.includes(':')).map((p) => {
      const mask = prefixMask(p.prefixLength);
      return { network: (parseIpv4(p.address) & mask) >>> 0, mask };
    });
    this.tunnelAddresses = new Set(tunnelAddresses.filter((a) => !a.includes(':')).map((a) => parseIpv4(a)));
    this.hostAddresses = new Set(hostAddresses.filter((a) => isIPv4(a)).map((a) => parseIpv4(a)));
  }

  /** True for one of the tunnel interface's own addresses. */
  isTunnelAddress(address: string): boolean {
    const a = unmapIpv4(address);
    return isIPv4(a) && this.tunnelAddresses.has(parseIpv4(a));
  }

  /** The side of an IP literal; anything that is not IPv4 (IPv6, a name) is the host's. */
  route(address: string): Side {
    const a = unmapIpv4(address);
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
}
