/**
 * IPv6 as the engine builds it, in the two phases IPv4 has: the output side
 * ({@link Ipv6Out}: routes, interface address storage, neighbour discovery,
 * output, ICMPv6 errors) before the transports that send through it, the
 * receive side ({@link Ipv6In}: ICMPv6, input, reassembly, forwarding)
 * after them, given their inputs and error sinks. Absent with `ipv6: false`.
 */
import type { Arena, Carver } from '../storage/arena.js';
import { parseIpv6, formatIpv6, stripZone6, zoneOf6 } from '../wire/ipv6addr.js';
import type { ResolvedConfig } from './config.js';
import type { EngineContext } from './context.js';
import { Iface6Addresses, zoneIndex6, type NetInterface } from './netif.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPV6_HLEN } from '../wire/ipv6.js';
import { ICMP6_DST_UNREACH, UNREACH6_ADDR } from '../wire/icmpv6.js';
import { Route6Table } from './routes6.js';
import type { LoopbackQueue } from './loopback.js';
import { NeighbourDiscovery, type Neighbour6Events } from './ndp.js';
import { Ipv6 } from './ipv6.js';
import { Icmp6, Icmp6ErrorSender, type Echo6Listener } from './icmpv6.js';
import { Ipv6Input } from './ipv6-input.js';
import { Reassembly6 } from './reassembly6.js';
import { Forwarder6 } from './forward6.js';
import { Errno, StackError, sysError } from './errno.js';
import type { Tcp6ErrorSink, Transports6, Udp6ErrorSink } from './ipv6-types.js';

export class Ipv6Out {
  readonly routes: Route6Table;
  /** Address storage of each possible interface, by index. */
  readonly addrs: Iface6Addresses[] = [];
  readonly nd: NeighbourDiscovery;
  readonly ip: Ipv6;
  readonly errors: Icmp6ErrorSender;

  /** The memory plan of both phases. */
  static plan(m: Carver, c: ResolvedConfig, frame: number, txBytes: number): void {
    new Route6Table(m, c.routes6);
    NeighbourDiscovery.plan(m, c);
    for (let i = 0; i < c.maxInterfaces; i++) new Iface6Addresses(m, c.ipv6AddressesPerInterface);
    Ipv6.plan(m, c.ip6PathMtuEntries, frame, txBytes);
    Icmp6.plan(m, c.maxPings);
    Reassembly6.plan(m, c.ip6ReassemblySlots, c.ip6ReassemblyBytes);
  }

  /** @param ndEvents where neighbour discovery reports failures (the engine passes them to layers built later) */
  constructor(arena: Arena, ctx: EngineContext, c: ResolvedConfig, loopback: LoopbackQueue, frame: number,
    ndEvents: Neighbour6Events) {
    this.routes = new Route6Table(arena, c.routes6);
    this.nd = new NeighbourDiscovery(arena, ctx, this.routes, ndEvents);
    for (let i = 0; i < c.maxInterfaces; i++) this.addrs.push(new Iface6Addresses(arena, c.ipv6AddressesPerInterface));
    this.ip = new Ipv6(arena, ctx, this.nd, this.routes, loopback, c.ip6PathMtuEntries, frame, ctx.tx.length);
    this.errors = new Icmp6ErrorSender(ctx, this.ip);
  }
}

export class Ipv6In {
  readonly icmp: Icmp6;
  readonly input: Ipv6Input;
  private readonly errors: Icmp6ErrorSender;
  private readonly ctx: EngineContext;
  /** Earliest timer (pings, reassembly), set by {@link poll}. */
  nextDeadline = Infinity;

  /**
   * @param transports TCP and UDP over IPv6 with their error sinks, or null
   *   (TCP/UDP over IPv6 then dropped, counted in `ip6.noTransport`)
   */
  constructor(arena: Arena, ctx: EngineContext, c: ResolvedConfig, out: Ipv6Out,
    transports: (Transports6 & { udpErrors: Udp6ErrorSink; tcpErrors: Tcp6ErrorSink }) | null, echo: Echo6Listener) {
    this.icmp = new Icmp6(arena, ctx, out.ip, out.ip.pmtu, out.nd, transports?.udpErrors ?? null,
      transports?.tcpErrors ?? null, c.maxPings);
    this.icmp.echoListener = echo;
    this.errors = out.errors;
    this.ctx = ctx;
    const fwd = c.ipForwarding !== 0 ? new Forwarder6(ctx, out.ip, out.errors) : null;
    this.input = new Ipv6Input(arena, ctx, out.ip, out.errors, this.icmp, transports, fwd,
      c.ip6ReassemblySlots, c.ip6ReassemblyBytes);
  }

  /**
   * A frame parked for a neighbour that never answered was dropped: Address
   * Unreachable to its source (RFC 4861 §7.2.2, RFC 4443 §3.1 code 3).
   */
  addressUnreachable(iface: NetInterface, f: Uint8Array, off: number, len: number): void {
    // Only a forwarded packet's source is told; our own packets fail through resolveFailed (no error to ourselves).
    if (len < ETH_HLEN + IPV6_HLEN || iface.findAddress6(f, off + ETH_HLEN + 8) >= 0) return;
    this.errors.sendError(ICMP6_DST_UNREACH, UNREACH6_ADDR, 0, f, off + ETH_HLEN, len - ETH_HLEN, false, -1);
  }

  /** Run the timers at the context's time. */
  poll(): void {
    this.icmp.poll();
    this.input.reassembly.poll();
    const a = this.icmp.nextDeadline;
    const b = this.input.reassembly.nextDeadline;
    this.nextDeadline = a < b ? a : b;
  }

  /**
   * Start a ping to the IPv6 address `host` (a link-local one may name its
   * interface: `fe80::1%tap0` or `%<index>`, RFC 4007 §11): the ICMPv6 ping
   * slot, or throws a StackError.
   */
  startPing(host: string, size: number, timeoutMs: number, hopLimit: number): number {
    const dst = new Uint8Array(16);
    if (!parseIpv6(stripZone6(host), dst, 0)) throw new StackError(Errno.EINVAL, 'ping', `'${host}' is not an IP address`);
    if (!Number.isInteger(size) || size < 0 || size > 65527) throw new StackError(Errno.EINVAL, 'ping', 'bad size');
    const zone = zoneOf6(host);
    const z = zoneIndex6(this.ctx.interfaces, zone);
    if (zone !== '' && z === 0) throw new StackError(Errno.EINVAL, 'ping', `no interface '${zone}' (the zone of '${host}')`);
    this.ctx.zone6 = z;
    const slot = this.icmp.sendEcho(dst, 0, size, timeoutMs, hopLimit);
    this.ctx.zone6 = 0;
    if (slot < 0) throw sysError(-slot, 'ping', host);
    return slot;
  }

  /** The error a failed ping6 rejects with. */
  pingError(errno: number): StackError {
    const i6 = this.icmp;
    if (i6.lastErrorType < 0) return sysError(errno, 'ping');
    const kind = errno === Errno.ETIME ? 'time exceeded' : 'ICMPv6 error';
    return new StackError(errno, 'ping', `${kind} (type ${i6.lastErrorType} code ${i6.lastErrorCode}) from ${formatIpv6(i6.lastErrorFrom, 0)}`);
  }
}
