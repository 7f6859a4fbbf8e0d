/**
 * The engine: owns the memory plan, the interfaces and the protocol layers,
 * and advances them with {@link Engine.poll}. Everything it will ever use is
 * allocated by the constructor, which builds the layers in dependency order:
 * each gets, at construction, the layers below it (as narrow interfaces),
 * never a reference patched in later. It imports only wire/, storage/ and
 * engine/ (and link/ types): the socket API and the IPsec implementation
 * are added by src/core.ts (`StackCore`).
 */
import type { Link } from '../link/link.js';
import { Prng } from '../storage/prng.js';
import { Arena, MemoryPlan, type MemoryReport } from '../storage/arena.js';
import { ETH_HLEN, parseMac, formatMac } from '../wire/ethernet.js';
import { formatIpv4, isIpv4Number, parseCidr, parseIpv4 } from '../wire/ipv4addr.js';
import { SocketTable } from './socket-table.js';
import { resolveConfig, type ResolvedConfig, type StackConfig } from './config.js';
import { createStats, type StackStats } from './stats.js';
import { NetInterface, type FrameSink } from './netif.js';
import { looksLikeIpv6 } from '../wire/ipv6addr.js';
import { Ipv6In, Ipv6Out } from './ipv6-layer.js';
import { HOP_LIMIT_DEFAULT } from './ipv6-types.js';
import type { NeighbourDiscovery } from './ndp.js';
import type { Route6Table } from './routes6.js';
import { checkAddress4 } from './interface-address.js';
import { splitAddresses, checkInterface6, configureInterface6, addRoute6, removeRoute6, routeList6, addresses6Of } from './stack6.js';
import { RouteTable, ROUTE_CONNECTED, ROUTE_DEFAULT, ROUTE_STATIC } from './routes.js';
import { Arp, type NeighbourEvents } from './arp.js';
import { Ipv4 } from './ipv4.js';
import { Ipv4Input } from './ipv4-input.js';
import { EthInput } from './eth-input.js';
import { LoopbackQueue } from './loopback.js';
import { Reassembly } from './fragment.js';
import { Forwarder } from './forward.js';
import { Icmp, IcmpErrorSender } from './icmp.js';
import { Udp } from './udp.js';
import { RealtimeDriver } from './driver.js';
import { Tcp } from './tcp/index.js';
import { Errno, StackError, sysError } from './errno.js';
import type { EngineContext } from './context.js';
import type { InterfaceOptions, InterfaceInfo, PingOptions } from './stack-types.js';
import type { IpsecHook, IpsecHookFactory } from './ipsec-hook.js';

/** IPsec is built when the stack was given an implementation and has SA or SP slots. */
function ipsecOn(c: ResolvedConfig, ipsec: IpsecHookFactory<IpsecHook> | null): ipsec is IpsecHookFactory<IpsecHook> {
  return ipsec !== null && (c.ipsecMaxSa > 0 || c.ipsecMaxSp > 0);
}

/** Transmit-buffer tailroom: IPsec grows a packet in place by at most its overhead. */
function txTailroom(c: ResolvedConfig, ipsec: IpsecHookFactory<IpsecHook> | null): number {
  return ipsecOn(c, ipsec) ? ipsec.tailroom : 0;
}

/**
 * Size of the transmit frame: datagrams up to ipMaxDatagramBytes are built
 * whole there, then fragmented in place; IPsec grows them in place.
 */
function txFrameBytes(c: ResolvedConfig, ipsec: IpsecHookFactory<IpsecHook> | null): number {
  return ETH_HLEN + Math.max(c.maxMtu, c.ipMaxDatagramBytes) + txTailroom(c, ipsec);
}

export type { InterfaceOptions, InterfaceInfo, PingOptions } from './stack-types.js';

/**
 * The protocol engine: interfaces, layers, timers and ping; `H` is the type
 * of the IPsec hook its factory builds. `StackCore` (src/core.ts) adds the
 * descriptor API and ESP; `Stack` (src/stack.ts) the Node adapters.
 */
export class Engine<H extends IpsecHook = IpsecHook> implements FrameSink, EngineContext {
  readonly config: ResolvedConfig;
  /** Everything the stack will ever use, by part. */
  readonly memory: MemoryReport;
  readonly stats: StackStats = createStats();
  readonly interfaces: NetInterface[] = [];
  /** DNS servers from router advertisements (RDNSS), see {@link EngineContext.dnsServers6}. */
  readonly dnsServers6: string[] = [];
  /** Where the frame under construction goes (see {@link EngineContext.tx}). */
  tx: Uint8Array;
  now = 0;
  /** See {@link EngineContext.zone6}. */
  zone6 = 0;
  /** The layers' earliest deadline, left by {@link scanLayers} (a double in a field, written in place). */
  private layersNext = Infinity;

  private readonly prng: Prng;
  private readonly routes: RouteTable;
  private readonly loopback: LoopbackQueue;
  /** IPv6's output side (routes, ND, output, ICMPv6 errors) and receive side; null with `ipv6: false`. */
  readonly ip6: Ipv6Out | null;
  readonly ip6In: Ipv6In | null;
  /** The socket table: engine state the transports write and the descriptor API reads. */
  protected readonly table: SocketTable;
  readonly arp: Arp;
  private readonly ip: Ipv4;
  private readonly ipIn: Ipv4Input;
  /** Where interfaces hand their frames (the per-frame path skips this class's own input). */
  private readonly ethIn: EthInput;
  private readonly reassembly: Reassembly;
  private readonly icmp: Icmp;
  protected readonly udp: Udp;
  readonly tcp: Tcp;
  /** The IPsec hook; null without a factory or when `ipsecMaxSa` and `ipsecMaxSp` are both 0. */
  protected readonly ipsecHook: H | null;
  private readonly forwarder: Forwarder | null;
  private readonly driver: RealtimeDriver;
  /** Whole milliseconds on config.clock's time base: the real-time `now` (see {@link useMillisecondClock}). */
  private msClock: () => number;
  private readonly pingResolvers: Array<((rtt: number) => void) | null>;
  private readonly pingRejecters: Array<((err: Error) => void) | null>;

  /** Compute the memory plan for a configuration without building a stack. */
  static planMemory(config: StackConfig = {}): MemoryReport {
    return Engine.plan(resolveConfig(config), null).report();
  }

  /** The memory plan of configuration `c` with IPsec built by `ipsec` (null: none). */
  protected static plan(c: ResolvedConfig, ipsec: IpsecHookFactory<IpsecHook> | null): MemoryPlan {
    const plan = new MemoryPlan();
    const frame = c.maxMtu + ETH_HLEN;
    plan.add('txFrame', txFrameBytes(c, ipsec));
    RouteTable.plan(plan, c.maxRoutes);
    SocketTable.plan(plan, c);
    Arp.plan(plan, c.arpCacheSize, c.arpPendingFrames, frame);
    LoopbackQueue.plan(plan, c.loopbackFrames, frame);
    Ipv4.plan(plan, txFrameBytes(c, ipsec));
    Reassembly.plan(plan, c.ipReassemblySlots, c.ipReassemblyBytes);
    Icmp.plan(plan, c.maxPings);
    Tcp.plan(plan, c);
    if (ipsecOn(c, ipsec)) ipsec.plan(plan, c);
    if (c.ipv6 !== 0) Ipv6Out.plan(plan, c, frame, txFrameBytes(c, ipsec));
    return plan;
  }

  /**
   * @param ipsec builds the IPsec hook (src/core.ts hands ESP transport mode
   *   in); without it the engine has no IPsec
   */
  constructor(config: StackConfig = {}, ipsec: IpsecHookFactory<H> | null = null) {
    const c = resolveConfig(config);
    this.config = c;
    const plan = Engine.plan(c, ipsec);
    const arena = new Arena(plan);
    this.prng = new Prng(c.seed);
    const frame = c.maxMtu + ETH_HLEN;
    this.tx = arena.u8('txFrame', txFrameBytes(c, ipsec));
    // Bottom up: each layer is given the layers it uses, as they exist by then.
    this.routes = new RouteTable(arena, c.maxRoutes);
    this.table = new SocketTable(arena, c);
    // ARP's reports go up to layers built after it: the engine, which owns them all, passes them on.
    const neighbourEvents: NeighbourEvents = {
      // A router tells the source of a forwarded packet whose next hop never answered.
      pendingDropped: (ifIndex, f, off, len) => this.forwarder?.nextHopFailed(ifIndex, f, off, len),
      resolveFailed: (ip) => {
        this.icmp.hostUnreachable(ip);
        this.tcp.core.hostUnreachable(ip);
      },
    };
    this.arp = new Arp(arena, this, c.arpCacheSize, c.arpPendingFrames, frame, neighbourEvents);
    const loopback = new LoopbackQueue(arena, c.loopbackFrames, frame);
    this.loopback = loopback;
    this.ipsecHook = ipsecOn(c, ipsec) ? ipsec.create(arena, this, c, this.stats.ipsec) : null;
    this.ip = new Ipv4(arena, this, this.arp, this.routes, loopback, this.ipsecHook);
    const icmpErrors = new IcmpErrorSender(this, this.ip);
    // IPv6 output before the transports (which send through it), its input after them.
    const ip6 = c.ipv6 !== 0 ? new Ipv6Out(arena, this, c, loopback, frame, {
      // RFC 4861 §7.2.2: a parked packet whose neighbour never answered gets address unreachable.
      pendingDropped: (ifIndex, f, off, len) => this.ip6In?.addressUnreachable(this.interfaces[ifIndex], f, off, len),
      resolveFailed: (addr, off) => { this.ip6In?.icmp.hostUnreachable6(addr, off); this.tcp.hostUnreachable6(addr, off); },
    }) : null;
    this.ip6 = ip6;
    this.udp = new Udp(this, this.ip, icmpErrors, this.table, ip6?.ip ?? null, ip6?.errors ?? null);
    this.tcp = new Tcp(arena, this, this.ip, this.table, c, this.stats.tcp, ip6?.ip ?? null);
    // ICMP delivers the errors it receives to the transports, so it comes after them.
    this.icmp = new Icmp(arena, this, this.ip, this.udp, this.tcp.core, c.maxPings);
    this.forwarder = c.ipForwarding !== 0 ? new Forwarder(this, this.ip, this.arp, this.routes, icmpErrors) : null;
    this.ipIn = new Ipv4Input(arena, this, this.ip, loopback, icmpErrors, this.forwarder, this.ipsecHook,
      { tcp: this.tcp.rx, udp: this.udp, icmp: this.icmp }, c.ipReassemblySlots, c.ipReassemblyBytes);
    this.reassembly = this.ipIn.reassembly;
    this.ip6In = ip6 === null ? null
      : new Ipv6In(arena, this, c, ip6, { tcp: this.tcp, udp: this.udp, tcpErrors: this.tcp, udpErrors: this.udp }, (slot, rtt, errno) => this.pingDone(slot + c.maxPings, rtt, errno));
    this.ethIn = new EthInput(this.stats, this.ipIn, this.arp, ip6, this.ip6In);
    arena.finish();
    this.memory = plan.report();
    // Slots 0..maxPings-1 are ICMP's, the next maxPings ICMPv6's.
    this.pingResolvers = new Array<((rtt: number) => void) | null>(2 * c.maxPings).fill(null);
    this.pingRejecters = new Array<((err: Error) => void) | null>(2 * c.maxPings).fill(null);
    this.icmp.echoListener = (slot, rtt, errno) => this.pingDone(slot, rtt, errno);
    const clock = c.clock;
    this.msClock = () => Math.floor(clock());
    this.driver = new RealtimeDriver(this, this.msClock);
  }

  /**
   * Take the real-time `now` (the driver's poll time, {@link touch}) from
   * `ms`, a clock of whole milliseconds on the time base of `config.clock`,
   * which then serves ping round-trip times only ({@link preciseNow}). For
   * the Node adapter (src/stack.ts): a native clock whose small integers
   * are not heap numbers, where `performance.now()` makes 16 B of garbage
   * per read, i.e. per wake-up (issue #13: garbage makes scavenges, which
   * make the latency's tail).
   */
  protected useMillisecondClock(ms: () => number): void {
    this.msClock = ms;
    this.driver.setClock(ms);
  }

  random32(): number {
    return this.prng.nextU32();
  }

  /**
   * Attach a link as a new interface. Throws on a bad or duplicate address,
   * an MTU above `maxMtu`, or when `maxInterfaces` are in use.
   */
  addInterface(link: Link, options: InterfaceOptions = {}): InterfaceInfo {
    if (this.interfaces.length >= this.config.maxInterfaces) {
      throw new RangeError(`cannot add interface: maxInterfaces (${this.config.maxInterfaces}) reached`);
    }
    const mtu = options.mtu ?? link.mtu;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > this.config.maxMtu) {
      throw new RangeError(`interface MTU must be an integer in 68..${this.config.maxMtu} (maxMtu), got ${mtu}`);
    }
    if (mtu > link.mtu) throw new RangeError(`interface MTU ${mtu} exceeds the link's MTU ${link.mtu}`);
    const split = splitAddresses(options.address, options.gateway, options.gateway6);
    const { address, prefix, gateway } = checkAddress4(split.v4, split.gateway4, this.interfaces, null);
    const cidrs6 = checkInterface6(split, this.interfaces, this.config);
    let mac: Uint8Array;
    if (options.mac !== undefined) {
      mac = parseMac(options.mac);
      if ((mac[0] & 1) === 1) throw new RangeError(`interface MAC ${options.mac} is a group address`);
    } else {
      mac = new Uint8Array(6);
      for (let i = 0; i < 6; i++) mac[i] = this.prng.nextU32() & 0xff;
      mac[0] = (mac[0] & 0xfc) | 0x02; // locally administered, unicast
    }
    const index = this.interfaces.length;
    const iface = new NetInterface(index, options.name ?? link.name, link, mtu, this.ethIn, this.stats.eth,
      this.config.ipMaxDatagramBytes, // the transmit buffer holds a datagram this large (txFrameBytes)
      this.ip6?.addrs[index] ?? null);
    iface.mac.set(mac);
    this.interfaces.push(iface);
    // IPv6 on Ethernet: link-local address with DAD, router solicitation (slaac.ts).
    this.ip6?.nd.interfaceUp(iface);
    if (address !== 0) this.configureAddress(iface, address, prefix, gateway);
    if (this.ip6 !== null) configureInterface6(iface, this.ip6.routes, cidrs6, split.gateway6, this.config);
    if (this.driver.isRunning) link.setWakeup(this.driver.kick, this.driver.pollNow);
    return this.describe(iface);
  }

  private configureAddress(iface: NetInterface, address: number, prefix: number, gateway: number): void {
    iface.setAddress(address, prefix, gateway);
    if (!this.routes.add(address, prefix, 0, iface.index, ROUTE_CONNECTED)
      || (gateway !== 0 && !this.routes.add(0, 0, gateway, iface.index, ROUTE_DEFAULT))) {
      throw new RangeError(`routing table full (maxRoutes ${this.config.maxRoutes})`);
    }
    iface.announcePending = true;
    this.driver.kick();
  }

  /**
   * Change (or with null remove) the address of interface `index` after
   * creation, as DHCP does: replaces its connected and default routes,
   * forgets its ARP entries and announces the new address. Throws like
   * {@link addInterface} on a bad address or gateway.
   */
  setInterfaceAddress(index: number, address: string | null, gateway?: string): InterfaceInfo {
    const iface = this.interfaces[index];
    if (iface === undefined) throw new RangeError(`no interface ${index}`);
    const { address: addr, prefix, gateway: gw } = checkAddress4(address, gateway, this.interfaces, iface);
    this.routes.removeInterface(index, ROUTE_CONNECTED);
    this.routes.removeInterface(index, ROUTE_DEFAULT);
    this.arp.flushInterface(index);
    iface.setAddress(0, 0, 0);
    if (addr !== 0) this.configureAddress(iface, addr, prefix, gw);
    return this.describe(iface);
  }

  /**
   * Add a static route: `dest/len via gateway` (the gateway must be on a
   * connected subnet), or `{ interface: index }` for a destination reached
   * directly through an interface (a point-to-point link, or a subnet
   * without an address of ours on it).
   */
  addRoute(destination: string, gateway: string | { interface: number }): void {
    if (looksLikeIpv6(destination)) {
      if (this.ip6 === null) throw new RangeError('IPv6 route on a stack built with ipv6: false');
      addRoute6(this.interfaces, this.ip6.routes, destination, gateway, `routes6 ${this.config.routes6}`);
      return;
    }
    const cidr = parseCidr(destination, 'route destination');
    if (typeof gateway === 'object' && gateway !== null) {
      const index = gateway.interface;
      if (!Number.isInteger(index) || this.interfaces[index] === undefined) throw new RangeError(`no interface ${String(index)}`);
      if (!this.routes.add(cidr.address, cidr.prefixLength, 0, index, ROUTE_STATIC)) {
        throw new RangeError(`routing table full (maxRoutes ${this.config.maxRoutes})`);
      }
      return;
    }
    const gw = parseIpv4(gateway);
    if (gw <= 0) throw new RangeError(`invalid gateway '${gateway}'`);
    const iface = this.interfaces.find((i) => i.address !== 0 && (gw & i.mask) === i.network);
    if (iface === undefined) throw new RangeError(`gateway ${gateway} is not on any connected subnet`);
    if (!this.routes.add(cidr.address, cidr.prefixLength, gw, iface.index, ROUTE_STATIC)) {
      throw new RangeError(`routing table full (maxRoutes ${this.config.maxRoutes})`);
    }
  }

  /** Remove a route added with `addRoute(destination, { interface })`; returns whether it existed. */
  removeRoute(destination: string, via: { interface: number }): boolean {
    if (looksLikeIpv6(destination)) return this.ip6 !== null && removeRoute6(this.ip6.routes, destination, via.interface);
    const cidr = parseCidr(destination, 'route destination');
    return this.routes.remove(cidr.address, cidr.prefixLength, via.interface);
  }

  /**
   * RFC 5227-style probe of `address` on interface `index`: resolves true when
   * another host answers for it or probes for it too. Two probes 100 ms apart,
   * then 300 ms of listening (shorter than RFC 5227's seconds, which would
   * stall a DHCP client; adjust with the arguments).
   */
  probeAddress(index: number, address: string, count = 2, intervalMs = 100, waitMs = 300): Promise<boolean> {
    const ip = parseIpv4(address);
    const iface = this.interfaces[index];
    if (ip < 0 || iface === undefined) return Promise.reject(sysError(Errno.EINVAL, 'probe', address));
    return new Promise<boolean>((resolve, reject) => {
      this.touch();
      if (!this.arp.startProbe(iface, ip | 0, count, intervalMs, waitMs, resolve)) {
        reject(sysError(Errno.EALREADY, 'probe', address));
        return;
      }
      this.kick();
    });
  }

  /** Routes for display. */
  routeTable(): Array<{ destination: string; gateway: string | null; interface: string }> {
    const v4 = this.routes.list().map((r) => ({
      destination: `${formatIpv4(r.dest)}/${r.prefixLength}`,
      gateway: r.gateway === 0 ? null : formatIpv4(r.gateway),
      interface: this.interfaces[r.ifIndex].name,
    }));
    return this.ip6 === null ? v4 : v4.concat(routeList6(this.interfaces, this.ip6.routes));
  }

  private describe(i: NetInterface): InterfaceInfo {
    return {
      index: i.index, name: i.name, mac: formatMac(i.mac), address: i.address === 0 ? null : formatIpv4(i.address),
      prefixLength: i.prefixLength, gateway: i.gateway === 0 ? null : formatIpv4(i.gateway), mtu: i.mtu,
      addresses6: addresses6Of(i),
    };
  }

  /** Interfaces for display. */
  interfaceList(): InterfaceInfo[] {
    return this.interfaces.map((i) => this.describe(i));
  }

  /** Frame input from an interface (the packet path starts here; see eth-input.ts). */
  input(iface: NetInterface, b: Uint8Array, o: number, len: number): void {
    this.ethIn.input(iface, b, o, len);
  }

  /**
   * Advance the stack to time `now` (ms, monotonic): receive what the links
   * hold, run timers, deliver socket events. Returns the time by which it
   * wants to be polled again (Infinity when idle).
   */
  poll(now: number): number {
    if (now > this.now) this.now = now;
    const ifs = this.interfaces;
    let next = Infinity;
    for (let i = 0; i < ifs.length; i++) {
      const iface = ifs[i];
      if (iface.announcePending) {
        iface.announcePending = false;
        if (!iface.ipOnly) this.arp.announce(iface);
      }
      // Pass the caller's own argument when it is current: re-reading a
      // fractional this.now for a non-inlined call would box it again.
      const t = now >= this.now ? iface.link.poll(now, iface) : iface.link.poll(this.now, iface);
      if (t < next) next = t;
    }
    if (this.loopback.count > 0) this.pollLoopback();
    // The layers' polls only run timers, and return at once before their deadline: the test is made here, in this
    // (hot, optimized) function. A layer's poll that V8 still runs unoptimized boxes every double it reads (an Infinity
    // deadline: a 16 B heap number per read), and a poll per ping is too rare for V8 to optimize them soon.
    const now0 = this.now;
    if (now0 >= this.arp.nextDeadline) this.arp.poll();
    // ND's deadline covers SLAAC's and routes'; a send may set a neighbour's timer alone (see scanLayers).
    const nd = this.ip6?.nd;
    if (nd !== undefined && (now0 >= nd.nextDeadline || now0 >= nd.cache.nextDeadline)) nd.poll();
    if (now0 >= this.icmp.nextDeadline) this.icmp.poll();
    if (now0 >= this.reassembly.nextDeadline) this.reassembly.poll();
    const in6 = this.ip6In;
    if (in6 !== null) in6.poll();
    this.tcp.poll();
    const ipsec = this.ipsecHook;
    if (ipsec !== null) ipsec.poll();
    this.table.dispatch();
    // Deadlines read after the callbacks: timers they armed (sends from a callback) count too.
    this.scanLayers();
    if (this.layersNext < next) next = this.layersNext;
    // Work created by this poll (loopback packets, events raised by callbacks) wants another round now.
    if (this.loopback.count > 0 || this.table.hasPendingEvents) next = this.now;
    // Idle is returned as the constant: a computed Infinity leaves a call V8 does not inline as a new
    // heap number (a GC allocation per poll; seen as 64 B per IPv6 UDP round trip in bench/v6.ts).
    if (next === Infinity) return Infinity;
    return next;
  }

  /**
   * Every layer's earliest deadline into {@link layersNext}. A field, not an argument or a return value:
   * until it inlines this call, Maglev (Node 24 and later) boxes a double that crosses it, a heap number
   * per poll (Infinity when idle, else a deadline).
   */
  private scanLayers(): void {
    let next = Infinity;
    const nd = this.ip6?.nd;
    if (nd !== undefined) {
      if (nd.nextDeadline < next) next = nd.nextDeadline;
      // A send may set a neighbour's timer (STALE to DELAY) without lowering nd's own deadline.
      if (nd.cache.nextDeadline < next) next = nd.cache.nextDeadline;
    }
    if (this.arp.nextDeadline < next) next = this.arp.nextDeadline;
    if (this.icmp.nextDeadline < next) next = this.icmp.nextDeadline;
    if (this.reassembly.nextDeadline < next) next = this.reassembly.nextDeadline;
    const in6 = this.ip6In;
    if (in6 !== null && in6.nextDeadline < next) next = in6.nextDeadline;
    // TCP's deadline is kept current by every timer it arms, a send's between polls too.
    const tcp = this.tcp;
    if (tcp.core.heldCount > 0) tcp.settle();
    if (tcp.nextDeadline < next) next = tcp.nextDeadline;
    const ipsec = this.ipsecHook;
    if (ipsec !== null && ipsec.nextDeadline < next) next = ipsec.nextDeadline;
    this.layersNext = next;
  }

  /** Deliver queued packets addressed to ourselves by IP version (those queued meanwhile wait for the next poll). */
  private pollLoopback(): void {
    const q = this.loopback;
    for (let n = q.count; n > 0; n--) {
      const slot = q.shift();
      const iface = this.interfaces[q.ifIndexOf(slot)];
      const off = q.offsetOf(slot);
      if (q.frames[off] >>> 4 === 6 && this.ip6In !== null) this.ip6In.input.input(iface, q.frames, off, q.lengthOf(slot), false, true);
      else this.ipIn.input(iface, q.frames, off, q.lengthOf(slot), false, true);
    }
  }

  /**
   * Bring `now` up to date when running in real time (whole ms, as the driver
   * uses). Inside a poll (a socket callback's send or recv) the time is the
   * poll's, read once by the driver: no clock read per call.
   */
  touch(): void {
    const d = this.driver;
    if (d.isRunning && !d.isPolling) {
      const t = this.msClock();
      if (t > this.now) this.now = t;
    }
  }

  preciseNow(): number {
    return this.driver.isRunning ? this.config.clock() : this.now;
  }

  /** Ask the real-time driver for a poll soon (no-op under manual polling). */
  kick(): void {
    this.driver.kick();
  }

  /**
   * After a TCP send()/recv(), which transmit at once: poll only for what the call left (events, looped-back
   * packets, a deadline earlier than the driver's timer), not after every call (issue #10: one poll per exchange).
   */
  kickIfPending(): void {
    const d = this.driver;
    // Inside a poll the poll's own result covers it (pollBy would ignore it): no deadline scan.
    if (d.isRunning && !d.isPolling) {
      this.scanLayers();
      d.pollBy(this.layersNext, this.now, this.loopback.count > 0 || this.table.hasPendingEvents);
    }
  }

  /**
   * Run on the host's event loop in real time until {@link stop}. With
   * `keepAlive: false` the stack's timers do not keep the process alive.
   */
  start(options?: { keepAlive?: boolean }): void {
    this.driver.keepAlive = options?.keepAlive ?? true;
    for (const i of this.interfaces) i.link.setWakeup(this.driver.kick, this.driver.pollNow);
    this.driver.start();
  }

  stop(): void {
    this.driver.stop();
    for (const i of this.interfaces) i.link.setWakeup(null);
  }

  get running(): boolean {
    return this.driver.isRunning;
  }

  /**
   * Send an ICMP echo request and resolve with the round-trip time in ms.
   * Rejects with code ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENOBUFS, ...;
   * an ICMP time exceeded from a router (TTL ran out) rejects with ETIME,
   * its message naming the router ("time exceeded (code 0) from 10.0.0.1").
   * Payloads larger than the MTU are sent (and answered) as fragments.
   * A numeric `host` is a 32-bit IPv4 address, unsigned or signed int32;
   * any other number rejects with EINVAL (as the socket API refuses it).
   */
  ping(host: string | number, options: PingOptions = {}): Promise<number> {
    if (typeof host === 'string' && looksLikeIpv6(host)) return this.ping6(host, options);
    const parsed = typeof host === 'number' ? (isIpv4Number(host) ? host >>> 0 : -1) : parseIpv4(host);
    if (parsed < 0) return Promise.reject(new StackError(Errno.EINVAL, 'ping', `'${String(host)}' is not an IPv4 address`));
    const dst = parsed | 0;
    const size = options.size ?? 56;
    const timeout = options.timeoutMs ?? 1000;
    const ttl = options.ttl ?? this.config.ttl;
    if (!Number.isInteger(size) || size < 0 || size > 65507) return Promise.reject(new StackError(Errno.EINVAL, 'ping', 'bad size'));
    this.touch();
    const slot = this.icmp.sendEcho(dst, size, timeout, ttl);
    if (slot < 0) return Promise.reject(sysError(-slot, 'ping', formatIpv4(dst)));
    this.kick();
    return new Promise<number>((resolve, reject) => {
      this.pingResolvers[slot] = resolve;
      this.pingRejecters[slot] = reject;
    });
  }

  /** {@link ping} for an IPv6 address: ICMPv6 echo (RFC 4443 §4). */
  private ping6(host: string, o: PingOptions): Promise<number> {
    const in6 = this.ip6In;
    if (in6 === null) return Promise.reject(new StackError(Errno.EAFNOSUPPORT, 'ping', 'IPv6 is disabled (ipv6: false)'));
    this.touch();
    return new Promise<number>((resolve, reject) => {
      // startPing throws a StackError for a bad address or a failed send: the promise rejects with it.
      const slot = in6.startPing(host, o.size ?? 56, o.timeoutMs ?? 1000, o.ttl ?? HOP_LIMIT_DEFAULT) + this.config.maxPings;
      this.kick();
      this.pingResolvers[slot] = resolve;
      this.pingRejecters[slot] = reject;
    });
  }

  private pingDone(slot: number, rtt: number, errno: number): void {
    const resolve = this.pingResolvers[slot];
    const reject = this.pingRejecters[slot];
    this.pingResolvers[slot] = null;
    this.pingRejecters[slot] = null;
    if (errno === 0) resolve?.(rtt);
    else if (slot >= this.config.maxPings) reject?.((this.ip6In as Ipv6In).pingError(errno));
    else if (this.icmp.lastErrorType >= 0) {
      const kind = errno === Errno.ETIME ? 'time exceeded' : 'destination unreachable';
      reject?.(new StackError(errno, 'ping', `${kind} (code ${this.icmp.lastErrorCode}) from ${formatIpv4(this.icmp.lastErrorFrom)}`));
    } else reject?.(sysError(errno, 'ping'));
  }

  /** Datagrams currently being reassembled (slots in use). */
  get reassemblyBusy(): number {
    return this.reassembly.busySlots;
  }

  /** The IPv6 routing table; null when built with `ipv6: false`. */
  protected get routes6(): Route6Table | null {
    return this.ip6 === null ? null : this.ip6.routes;
  }

  /** Neighbour discovery, DAD and SLAAC (RFC 4861/4862); null when built with `ipv6: false`. */
  get nd(): NeighbourDiscovery | null {
    return this.ip6 === null ? null : this.ip6.nd;
  }

  /** IPv6 packets currently being reassembled (slots in use). */
  get reassemblyBusy6(): number {
    return this.ip6In === null ? 0 : this.ip6In.input.reassembly.busySlots;
  }

  /** The low-level echo layer, for benchmarks and tools that ping without Promises. */
  get icmpLayer(): Icmp {
    return this.icmp;
  }
}
