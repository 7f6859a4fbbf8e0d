/** The option and report shapes of the engine's public methods (addInterface, interfaceList, ping). */

/** Options of {@link Stack.addInterface}. */
export interface InterfaceOptions {
  /**
   * Address with prefix length, e.g. '10.0.0.1/24', or a list of them: at
   * most one IPv4 address and any number of IPv6 ones ('fd00::2/64'), up to
   * `ipv6AddressesPerInterface`. IPv6 addresses are static and preferred at once.
   */
  address?: string | readonly string[];
  /** Default gateway reached through this interface (IPv4, or IPv6 when it has a colon). */
  gateway?: string;
  /** IPv6 default gateway reached through this interface (on-link or link-local). */
  gateway6?: string;
  /** IP MTU; defaults to the link's, at most the stack's `maxMtu`. */
  mtu?: number;
  /** 'aa:bb:cc:dd:ee:ff'; a random locally administered address by default. */
  mac?: string;
  /** Name for reports; defaults to the link's name. */
  name?: string;
}

/** A read-only view of an interface for reports. */
export interface InterfaceInfo {
  index: number;
  name: string;
  mac: string;
  address: string | null;
  prefixLength: number;
  gateway: string | null;
  mtu: number;
  /** IPv6 addresses as 'addr/len'. */
  addresses6: string[];
}

/** Options of {@link Stack.ping}. */
export interface PingOptions {
  /** Give up after this many ms (default 1000). */
  timeoutMs?: number;
  /** Payload bytes (default 56, as ping(8)). */
  size?: number;
  /** TTL of the request (default the stack's). */
  ttl?: number;
}
