/**
 * The stack behind `wirestack/register`: a wg-quick file brought up as
 * `wirestack up` does (a stack whose only interface is the WireGuard
 * device, host UDP outside, the tunnel's DNS servers), but sized for one
 * program and out of the way of its exit: the stack's timers and the outer
 * UDP socket do not keep the process alive. What does is {@link Activity}:
 * one hold per tunnel socket, listener or lookup the program has open.
 */
import { lookup as hostLookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { Stack } from '../stack.js';
import type { WgQuickConfig } from '../wireguard/config.js';
import type { WireGuardInterface } from '../wireguard/setup.js';
import { HostUdpTransport } from '../wireguard/transport-node.js';
import type { StackConfig } from '../engine/config.js';
import { TunnelRoutes } from './routes.js';

/** Counts what the program has open through the tunnel; while anything is, a ref'd handle keeps Node running. */
export class Activity {
  private count = 0;
  private handle: ReturnType<typeof setInterval> | null = null;

  /** Hold the process alive until the returned function is called (calling it again does nothing). */
  hold(): () => void {
    if (this.count++ === 0) this.handle = setInterval(() => { /* keep-alive only */ }, 1 << 30);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.count === 0 && this.handle !== null) {
        clearInterval(this.handle);
        this.handle = null;
      }
    };
  }

  /** Holds open now. */
  get holds(): number {
    return this.count;
  }
}

/** The running tunnel of a registered process. */
export interface Tunnel {
  readonly stack: Stack;
  readonly wg: WireGuardInterface;
  readonly config: WgQuickConfig;
  readonly routes: TunnelRoutes;
  /** The interface's first IPv4 address (else its first address): where tunnel listeners bind. */
  readonly address: string;
  /** The interface's first IPv6 address, where `udp6` companions bind; null without one. */
  readonly address6: string | null;
  /** True when the config names DNS servers: names are then resolved through the tunnel. */
  readonly hasDns: boolean;
  readonly activity: Activity;
  close(): Promise<void>;
}

/**
 * The stack of a registered program: a client more than a server, so fewer
 * connections than `up` (1024 TCP, 64 more sockets for listeners, UDP and
 * DNS) and 64 buffer pairs of 256 KiB (32 MiB planned, touched only when
 * used) for windows that fill a tunnel.
 */
export const REGISTER_STACK: StackConfig = {
  maxSockets: 1024 + 64, maxTcpSockets: 1024, tcpBufferPairs: 64,
  tcpSendBufferBytes: 256 * 1024, tcpRecvBufferBytes: 256 * 1024, tcpSynBacklog: 256,
};

/** The host's own interface addresses, both families (they stay on the host whatever AllowedIPs say). */
function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) out.push(i.address);
  }
  return out;
}

/**
 * Bring `config` up. Must run before the host modules are patched: the
 * outer UDP socket and the endpoint lookups are the host's own.
 */
export async function openTunnel(config: WgQuickConfig, stackConfig: StackConfig = REGISTER_STACK): Promise<Tunnel> {
  if (config.addresses.length === 0) throw new Error('no Address in [Interface]: the tunnel needs one');
  const stack = new Stack(stackConfig);
  // node:dgram rather than the native addon: its socket can be unref'd, so the program exits when it is done.
  const transport = await HostUdpTransport.open({ port: config.listenPort ?? 0 });
  transport.unref();
  let wg: WireGuardInterface;
  try {
    wg = await stack.addWireGuard({
      suite: config.suite, privateKey: config.privateKey, name: config.name, transport,
      address: config.addresses.map((a) => `${a.address}/${a.prefixLength}`),
      listenPort: config.listenPort, mtu: config.mtu,
      // Endpoint names (now and when a quiet peer is looked up again) through the host's resolver, never the patched one.
      resolveHost: async (host) => (await hostLookup(host, { family: 4 })).address,
      peers: config.peers.map((p) => ({
        publicKey: p.publicKey, presharedKey: p.presharedKey, endpoint: p.endpoint,
        allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive,
      })),
    });
  } catch (e) {
    transport.close();
    throw e;
  }
  stack.start({ keepAlive: false });
  if (config.dns.length > 0) stack.dns.setServers(config.dns);
  const routes = new TunnelRoutes(config.peers.flatMap((p) => p.allowedIps), config.addresses.map((a) => a.address), hostAddresses());
  return {
    // TCP listeners bind the IPv4 address (an IPv6-only config: its first address); udp6 companions the IPv6 one.
    stack, wg, config, routes, address: (config.addresses.find((x) => !x.address.includes(':')) ?? config.addresses[0]).address,
    address6: config.addresses.find((x) => x.address.includes(':'))?.address ?? null,
    hasDns: config.dns.length > 0,
    activity: new Activity(),
    async close() {
      await wg.close();
      stack.stop();
    },
  };
}
