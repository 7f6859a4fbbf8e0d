/**
 * IPv6 as the engine builds it, in the two phases IPv4 has: the output side
 * ({@link Ipv6Out}: routes, interface address storage, neighbour discovery,
 * output, ICMPv6 errors) before the transports that send through it, the
 * receive side ({@link Ipv6In}: ICMPv6, input, reassembly, forwarding)
 * after them, given their inputs and error sinks. Absent with `ipv6: false`.
 */
import type { Arena, Carver } from '../storage/arena.js';
import { parseIpv6, formatIpv6 } from '../wire/ipv6addr.js';
import type { ResolvedConfig } from './config.js';
import type { EngineContext } from './context.js';
import { Iface6Addresses } from './netif.js';
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
    for (let i = 0; i < c.maxInterfaces; i++) new Iface6Addresses(m, c.ipv6AddressesPerInterface);
    NeighbourDiscovery.plan(m, c);
    Ipv6.plan(m, c.ip6PathMtuEntries, frame, txBytes);
    Icmp6.plan(m, c.maxPings);
    Reassembly6.plan(m, c.ip6ReassemblySlots, c.ip6ReassemblyBytes);
  }

  constructor(arena: Arena, ctx: EngineContext, c: ResolvedConfig, loopback: LoopbackQueue, frame: number,
    ndEvents: Neighbour6Events) {
    this.routes = new Route6Table(arena, c.routes6);
    for (let i = 0; i < c.maxInterfaces; i++) this.addrs.push(new Iface6Addresses(arena, c.ipv6AddressesPerInterface));
    this.nd = new NeighbourDiscovery(arena, ctx, this.routes, ndEvents);
    this.ip = new Ipv6(arena, ctx, this.nd, this.routes, loopback, c.ip6PathMtuEntries, frame, ctx.tx.length);
    this.errors = new Icmp6ErrorSender(ctx, this.ip);
  }
}

export class Ipv6In {
  readonly icmp: Icmp6;
  readonly input: Ipv6Input;
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
    const fwd = c.ipForwarding !== 0 ? new Forwarder6(ctx, out.ip, out.errors) : null;
    this.input = new Ipv6Input(arena, ctx, out.ip, out.errors, this.icmp, transports, fwd,
      c.ip6ReassemblySlots, c.ip6ReassemblyBytes);
  }

  /** Run the timers at the context's time. */
  poll(): void {
    this.icmp.poll();
    this.input.reassembly.poll();
    const a = this.icmp.nextDeadline;
    const b = this.input.reassembly.nextDeadline;
    this.nextDeadline = a < b ? a : b;
  }

  /** Start a ping to the IPv6 address `host`: the ICMPv6 ping slot, or throws a StackError. */
  startPing(host: string, size: number, timeoutMs: number, hopLimit: number): number {
    const dst = new Uint8Array(16);
    if (!parseIpv6(host, dst, 0)) throw new StackError(Errno.EINVAL, 'ping', `'${host}' is not an IP address`);
    if (!Number.isInteger(size) || size < 0 || size > 65527) throw new StackError(Errno.EINVAL, 'ping', 'bad size');
    const slot = this.icmp.sendEcho(dst, 0, size, timeoutMs, hopLimit);
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
