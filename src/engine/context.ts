/** What the protocol layers share: the clock, counters, interfaces and the transmit buffer. */
import type { ResolvedConfig } from './config.js';
import type { NetInterface } from './netif.js';
import type { StackStats } from './stats.js';

export interface EngineContext {
  /** Time of the current poll or API call, ms. */
  now: number;
  readonly config: ResolvedConfig;
  readonly stats: StackStats;
  readonly interfaces: NetInterface[];
  /**
   * The buffer outgoing frames are built in (`txFrame`: 14 bytes plus the
   * larger of `maxMtu` and `ipMaxDatagramBytes`, plus IPsec's tailroom).
   * Builders read it when they start and finish (transmit or queue a copy)
   * before returning. The one exception is the fragmenter, whose datagram
   * stays here while its pieces go out; a send that a link makes through
   * the stack meanwhile must not overwrite it, so during that loop this
   * points to the nested frame (`txFrameNested`, fragment.ts).
   */
  tx: Uint8Array;
  /** The clock at full resolution when running in real time (else `now`), for RTT reports. */
  preciseNow(): number;
  /**
   * DNS servers learned from router advertisements (RDNSS, RFC 8106), RFC
   * 5952 text, rewritten in place by slaac.ts when the set changes; the
   * socket layer's DNS reads it.
   */
  readonly dnsServers6: string[];
  /**
   * The zone (RFC 4007 §11: interface index + 1; 0 none) the next `route6`
   * of a link-local or link-scope multicast destination leaves by: set by
   * the socket layer or ping around one call from a `%zone` suffix, then
   * reset to 0. Without it such destinations follow the bound source, else
   * the first interface with a usable link-local address.
   */
  zone6: number;
  /** A pseudo-random unsigned 32-bit integer. */
  random32(): number;
}
