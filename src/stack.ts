/**
 * The stack as Node users get it: the portable engine plus the Node-facing
 * adapters, `node:dgram`- and `node:net`-compatible sockets and HTTP(S)
 * servers built on Node's own `http`/`https`. Allocation is allowed here:
 * this is the documented boundary above the packet path.
 */
import { StackCore, type InterfaceOptions, type InterfaceInfo } from './core.js';
import type { StackConfig } from './engine/config.js';
import { DgramFacade } from './socket/dgram.js';
import { NetFacade } from './socket/net.js';
import { createHttpServer, createHttpsServer, type HttpApp, type HttpHandler, type HttpsAppOptions } from './apps/http.js';
import { DnsClient } from './apps/dns.js';
import { DhcpClient, type DhcpClientOptions } from './apps/dhcp.js';
import type { Link } from './link/link.js';
import { tryNativeAddon } from './link/addon.js';
import { lookupError } from './engine/errno.js';
import { createWireGuard, type WireGuardConfig, type WireGuardInterface } from './wireguard/setup.js';
import { IpsecApi } from './ipsec/api.js';
import { NodeEspCrypto } from './ipsec/crypto-node.js';
import type * as http from 'node:http';
import type * as https from 'node:https';

export class Stack extends StackCore {
  /** `node:dgram`-compatible sockets over this stack. */
  readonly dgram: DgramFacade;
  /** `node:net`-compatible servers and connections over this stack. */
  readonly net: NetFacade;
  /** `node:dns/promises`-like resolver (lookup, resolve4, reverse) over this stack's UDP and TCP. */
  readonly dns: DnsClient;
  /** `stack.http.createServer(handler)`: Node's HTTP server on this stack's TCP. */
  readonly http: { createServer(handler?: HttpHandler, options?: http.ServerOptions): HttpApp<http.Server> };
  /** `stack.https.createServer({ key, cert }, handler)`: Node's HTTPS server on this stack's TCP. */
  readonly https: { createServer(options: HttpsAppOptions, handler?: HttpHandler): HttpApp<https.Server> };

  private readonly ipsecApi: IpsecApi | null;

  /**
   * ESP transport mode with manual keying: `addSa`, `addPolicy`, `loadJson`,
   * `on('soft' | 'hard')`, `exportState`/`importState` (see src/ipsec/api.ts
   * for the JSON format). Crypto is node:crypto. Throws when the stack was
   * configured with `ipsecMaxSa: 0, ipsecMaxSp: 0`.
   */
  get ipsec(): IpsecApi {
    if (this.ipsecApi === null) throw new RangeError('IPsec is disabled: this stack has ipsecMaxSa and ipsecMaxSp 0');
    return this.ipsecApi;
  }

  constructor(config: StackConfig = {}) {
    super(config);
    if (config.clock === undefined) this.useNativeClock();
    this.ipsecApi = this.ipsecEngine === null ? null
      : new IpsecApi(this.ipsecEngine, new NodeEspCrypto(), this, this.config.ipsecReplayWindow);
    this.dgram = new DgramFacade(this.sockets);
    this.net = new NetFacade(this.sockets);
    this.dns = new DnsClient(this);
    // net.connect({ host: 'name' }) resolves through this stack's DNS, as Node's goes through getaddrinfo.
    this.net.resolver = (host, family) => {
      if (this.dns.getServers().length === 0) {
        // No DNS server configured (DHCP or setServers gives one): fail at once, as getaddrinfo would.
        return Promise.reject(lookupError(host));
      }
      return this.dns.lookup(host, { family: family ?? 4 }).then((r) => r.address);
    };
    this.http = { createServer: (handler, options) => createHttpServer(this, handler, options) };
    this.https = { createServer: (options, handler) => createHttpsServer(this, options, handler) };
  }

  /**
   * With the default clock and the native addon at hand: the real-time `now`
   * from the addon's clockMs (native/clock.c), whole milliseconds as small
   * integers (no heap number per wake-up, as `performance.now()` makes),
   * aligned on `performance.now()`'s time base. Without the addon the
   * engine keeps Math.floor(performance.now()).
   */
  private useNativeClock(): void {
    const addon = tryNativeAddon();
    if (addon instanceof Error || typeof addon.clockMs !== 'function' || typeof addon.clockMsPrecise !== 'function') return;
    const clockMs = addon.clockMs;
    // The offset between the two clocks, from the closest pair of reads around a performance.now().
    let origin = 0;
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const a = addon.clockMsPrecise();
      const p = performance.now();
      const b = addon.clockMsPrecise();
      if (b - a < best) {
        best = b - a;
        origin = (a + b) / 2 - p;
      }
    }
    const o = origin;
    this.useMillisecondClock(() => clockMs(o));
  }

  /**
   * Start a DHCP client on an interface (its index, or the link it was added
   * with); listen for 'bound', 'renewed' and 'lost', `await client.stop()` to
   * release the lease.
   */
  dhcp(iface: number | Link, options: DhcpClientOptions & { arpProbe?: boolean } = {}): DhcpClient {
    const index = typeof iface === 'number' ? iface : this.interfaces.findIndex((i) => i.link === iface);
    if (index < 0 || index >= this.interfaces.length) throw new RangeError('dhcp: no such interface');
    // `arpProbe: true` checks an offered address with an RFC 5227 ARP probe first (DECLINE if in use).
    const { arpProbe, ...rest } = options as DhcpClientOptions & { arpProbe?: boolean };
    const opts: DhcpClientOptions = arpProbe === true && rest.checkAddress === undefined
      ? { ...rest, checkAddress: (address) => this.probeAddress(index, address) } : rest;
    const client = new DhcpClient(this, index, opts).start();
    this.dhcpClients.push(client);
    return client;
  }

  /** DHCP clients started by {@link dhcp} or `addInterface(link, { dhcp: true })`. */
  readonly dhcpClients: DhcpClient[] = [];

  /**
   * Attach a link. With `{ dhcp: true }` (instead of `address`) a DHCP client
   * configures the interface; it is `dhcpClients[...]`, and `releaseDhcp()`
   * releases every lease (call it before `stop()` for a clean goodbye).
   */
  override addInterface(link: Link, options: InterfaceOptions & { dhcp?: boolean | DhcpClientOptions } = {}): InterfaceInfo {
    const { dhcp, ...rest } = options;
    // DHCP gives the IPv4 address; IPv6 addresses may come with it.
    const list = rest.address === undefined ? [] : typeof rest.address === 'string' ? [rest.address] : rest.address;
    if (dhcp !== undefined && dhcp !== false && list.some((x) => !x.includes(':'))) {
      throw new RangeError('addInterface: give either an IPv4 address or dhcp, not both');
    }
    const info = super.addInterface(link, rest);
    if (dhcp !== undefined && dhcp !== false) this.dhcp(info.index, dhcp === true ? {} : dhcp);
    return info;
  }

  /**
   * Add a WireGuard interface: a device with its own memory plan, its outer
   * transport (a host UDP socket by default, no root needed; or this or
   * another stack's UDP), routes for every allowed IP, and events
   * 'handshake', 'handshake-failed', 'peer-quiet', 'keys-zeroed'.
   */
  addWireGuard(config: WireGuardConfig): Promise<WireGuardInterface> {
    return createWireGuard(this, config);
  }

  /** Release every DHCP lease (RELEASE sent, addresses removed). */
  async releaseDhcp(): Promise<void> {
    await Promise.all(this.dhcpClients.map((c) => c.stop({ release: true })));
  }
}
