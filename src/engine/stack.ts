/**
 * The stack: owns the memory plan, the interfaces and the protocol layers,
 * and advances them with {@link Stack.poll}. Everything it will ever use is
 * allocated by the constructor.
 */
import type { Link } from '../link/link.js';
import { Prng } from '../link/prng.js';
import { Arena, MemoryPlan, type MemoryReport } from '../storage/arena.js';
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ethIsBroadcast, ethType, macEquals, parseMac, formatMac } from '../wire/ethernet.js';
import { formatIpv4, parseCidr, parseIpv4, isMulticast } from '../wire/ipv4addr.js';
import { SocketTable } from '../socket/table.js';
import { SocketApi, type SocketHost } from '../socket/api.js';
import { resolveConfig, type ResolvedConfig, type StackConfig } from './config.js';
import { createStats, type StackStats } from './stats.js';
import { NetInterface, type FrameSink } from './netif.js';
import { RouteTable, ROUTE_CONNECTED, ROUTE_DEFAULT, ROUTE_STATIC } from './routes.js';
import { Arp } from './arp.js';
import { Ipv4 } from './ipv4.js';
import { Reassembly, Fragmenter } from './fragment.js';
import { Forwarder } from './forward.js';
import { Icmp } from './icmp.js';
import { Udp } from './udp.js';
import { RealtimeDriver } from './driver.js';
import { Tcp } from './tcp/index.js';
import { Errno, StackError } from './errno.js';
import type { EngineContext } from './context.js';
import { IpsecEngine } from '../ipsec/engine.js';
import { ESP_MAX_OVERHEAD } from '../ipsec/algorithms.js';

/** Transmit-buffer tailroom: IPsec grows a packet in place by at most its overhead. */
function txTailroom(c: ResolvedConfig): number {
  return c.ipsecMaxSa > 0 || c.ipsecMaxSp > 0 ? ESP_MAX_OVERHEAD : 0;
}

/** Options of {@link Stack.addInterface}. */
export interface InterfaceOptions {
  /** IPv4 address with prefix length, e.g. '10.0.0.1/24'. */
  address?: string;
  /** Default gateway reached through this interface. */
  gateway?: string;
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

/**
 * The portable engine: everything but the Node adapters (see `Stack` in
 * src/stack.ts, which adds `dgram`, `net`, `http` and `https`).
 */
export class StackCore implements FrameSink, SocketHost, EngineContext {
  readonly config: ResolvedConfig;
  /** Everything the stack will ever use, by part. */
  readonly memory: MemoryReport;
  readonly stats: StackStats = createStats();
  readonly interfaces: NetInterface[] = [];
  readonly tx: Uint8Array;
  /** The BSD-like descriptor API. */
  readonly sockets: SocketApi;
  now = 0;

  private readonly prng: Prng;
  private readonly routes: RouteTable;
  private readonly table: SocketTable;
  readonly arp: Arp;
  private readonly ip: Ipv4;
  private readonly reassembly: Reassembly;
  private readonly icmp: Icmp;
  private readonly udp: Udp;
  readonly tcp: Tcp;
  /** ESP transport mode; null when `ipsecMaxSa` and `ipsecMaxSp` are both 0. Configured through `stack.ipsec`. */
  readonly ipsecEngine: IpsecEngine | null;
  private readonly driver: RealtimeDriver;
  private readonly pingResolvers: Array<((rtt: number) => void) | null>;
  private readonly pingRejecters: Array<((err: Error) => void) | null>;

  /** Compute the memory plan for a configuration without building a stack. */
  static planMemory(config: StackConfig = {}): MemoryReport {
    return StackCore.plan(resolveConfig(config)).report();
  }

  private static plan(c: ResolvedConfig): MemoryPlan {
    const plan = new MemoryPlan();
    const frame = c.maxMtu + ETH_HLEN;
    // Datagrams up to ipMaxDatagramBytes are built whole here, then fragmented in place; IPsec grows them in place.
    plan.add('txFrame', ETH_HLEN + Math.max(c.maxMtu, c.ipMaxDatagramBytes) + txTailroom(c));
    RouteTable.plan(plan, c.maxRoutes);
    SocketTable.plan(plan, c);
    Arp.plan(plan, c.arpCacheSize, c.arpPendingFrames, frame);
    Ipv4.plan(plan, c.loopbackFrames, frame);
    Reassembly.plan(plan, c.ipReassemblySlots, c.ipReassemblyBytes);
    Fragmenter.plan(plan);
    Icmp.plan(plan, c.maxPings);
    Tcp.plan(plan, c);
    if (txTailroom(c) > 0) IpsecEngine.plan(plan, c);
    return plan;
  }

  constructor(config: StackConfig = {}) {
    const c = resolveConfig(config);
    this.config = c;
    const plan = StackCore.plan(c);
    const arena = new Arena(plan);
    this.prng = new Prng(c.seed);
    const frame = c.maxMtu + ETH_HLEN;
    this.tx = arena.u8('txFrame', ETH_HLEN + Math.max(c.maxMtu, c.ipMaxDatagramBytes) + txTailroom(c));
    this.routes = new RouteTable(arena, c.maxRoutes);
    this.table = new SocketTable(arena, c);
    this.arp = new Arp(arena, this, c.arpCacheSize, c.arpPendingFrames, frame);
    this.ip = new Ipv4(arena, this, this.arp, this.routes, c.loopbackFrames, frame);
    this.reassembly = new Reassembly(arena, this, this.ip, c.ipReassemblySlots, c.ipReassemblyBytes);
    this.ip.reassembly = this.reassembly;
    this.ip.fragmenter = new Fragmenter(arena, this, this.ip);
    this.icmp = new Icmp(arena, this, this.ip, c.maxPings);
    this.udp = new Udp(this, this.ip, this.icmp, this.table);
    this.tcp = new Tcp(arena, this, this.ip, this.table, c, this.stats.tcp);
    this.ipsecEngine = txTailroom(c) > 0 ? new IpsecEngine(arena, this, this.ip, c, this.stats.ipsec) : null;
    this.ip.ipsec = this.ipsecEngine;
    arena.finish();
    this.memory = plan.report();
    this.ip.icmp = this.icmp;
    this.ip.udp = this.udp;
    this.ip.tcp = this.tcp;
    this.icmp.tcp = this.tcp;
    this.icmp.udp = this.udp;
    this.reassembly.icmp = this.icmp;
    if (c.ipForwarding !== 0) this.ip.forwarder = new Forwarder(this, this.ip, this.arp, this.routes, this.icmp);
    this.arp.onResolveFailed = (ip) => {
      this.icmp.hostUnreachable(ip);
      this.tcp.core.hostUnreachable(ip);
    };
    this.pingResolvers = new Array<((rtt: number) => void) | null>(c.maxPings).fill(null);
    this.pingRejecters = new Array<((err: Error) => void) | null>(c.maxPings).fill(null);
    this.icmp.echoListener = (slot, rtt, errno) => this.pingDone(slot, rtt, errno);
    this.sockets = new SocketApi(this.table, this.udp, this.tcp, this);
    this.driver = new RealtimeDriver(this, c.clock);
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
    let address = 0;
    let prefix = 0;
    let gateway = 0;
    if (options.address !== undefined) {
      const cidr = parseCidr(options.address, 'interface address');
      address = cidr.address;
      prefix = cidr.prefixLength;
      if (address === 0 || isMulticast(address) || address === 0xffffffff || (address >>> 24) === 127) {
        throw new RangeError(`interface address '${options.address}' is not a usable unicast address`);
      }
      if (prefix < 31 && prefix > 0) {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        if ((address & ~mask) >>> 0 === 0 || ((address | mask) >>> 0) === 0xffffffff) {
          throw new RangeError(`interface address '${options.address}' is the network or broadcast address of its subnet`);
        }
      }
      for (const other of this.interfaces) {
        if (other.address === (address | 0)) throw new RangeError(`duplicate address ${formatIpv4(address)}: already on ${other.name}`);
      }
    }
    if (options.gateway !== undefined) {
      gateway = parseIpv4(options.gateway);
      if (gateway <= 0) throw new RangeError(`invalid gateway '${options.gateway}'`);
      if (address === 0) throw new RangeError('a gateway needs an interface address');
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      if (((gateway & mask) >>> 0) !== ((address & mask) >>> 0)) {
        throw new RangeError(`gateway ${options.gateway} is not inside ${options.address}`);
      }
    }
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
    const iface = new NetInterface(index, options.name ?? link.name, link, mtu, this, this.stats.eth);
    iface.mac.set(mac);
    this.interfaces.push(iface);
    if (address !== 0) this.configureAddress(iface, address, prefix, gateway);
    if (this.driver.isRunning) link.setWakeup(this.driver.kick);
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
    let addr = 0;
    let prefix = 0;
    let gw = 0;
    if (address !== null) {
      const cidr = parseCidr(address, 'interface address');
      addr = cidr.address;
      prefix = cidr.prefixLength;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      if (addr === 0 || isMulticast(addr) || addr === 0xffffffff || (addr >>> 24) === 127
        || (prefix > 0 && prefix < 31 && ((addr & ~mask) >>> 0 === 0 || ((addr | mask) >>> 0) === 0xffffffff))) {
        throw new RangeError(`interface address '${address}' is not a usable unicast address`);
      }
      for (const other of this.interfaces) {
        if (other !== iface && other.address === (addr | 0)) throw new RangeError(`duplicate address ${formatIpv4(addr)}: already on ${other.name}`);
      }
      if (gateway !== undefined) {
        gw = parseIpv4(gateway);
        if (gw <= 0 || ((gw & mask) >>> 0) !== ((addr & mask) >>> 0)) throw new RangeError(`invalid gateway '${gateway}' for ${address}`);
      }
    } else if (gateway !== undefined) {
      throw new RangeError('a gateway needs an interface address');
    }
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
    if (ip < 0 || iface === undefined) return Promise.reject(new StackError(Errno.EINVAL, 'probe', address));
    return new Promise<boolean>((resolve, reject) => {
      this.touch();
      if (!this.arp.startProbe(iface, ip | 0, count, intervalMs, waitMs, resolve)) {
        reject(new StackError(Errno.EALREADY, 'probe', address));
        return;
      }
      this.kick();
    });
  }

  /** Routes for display. */
  routeTable(): Array<{ destination: string; gateway: string | null; interface: string }> {
    return this.routes.list().map((r) => ({
      destination: `${formatIpv4(r.dest)}/${r.prefixLength}`,
      gateway: r.gateway === 0 ? null : formatIpv4(r.gateway),
      interface: this.interfaces[r.ifIndex].name,
    }));
  }

  private describe(i: NetInterface): InterfaceInfo {
    return {
      index: i.index, name: i.name, mac: formatMac(i.mac), address: i.address === 0 ? null : formatIpv4(i.address),
      prefixLength: i.prefixLength, gateway: i.gateway === 0 ? null : formatIpv4(i.gateway), mtu: i.mtu,
    };
  }

  /** Interfaces for display. */
  interfaceList(): InterfaceInfo[] {
    return this.interfaces.map((i) => this.describe(i));
  }

  /** Frame input from an interface (the packet path starts here). */
  input(iface: NetInterface, b: Uint8Array, o: number, len: number): void {
    if (iface.ipOnly) {
      this.ip.input(iface, b, o, len, false, false);
      return;
    }
    const st = this.stats.eth;
    st.rxFrames++;
    st.rxBytes += len;
    if (len < ETH_HLEN) {
      st.runt++;
      return;
    }
    const bcast = ethIsBroadcast(b, o);
    if (!bcast && !macEquals(b, o, iface.mac, 0)) {
      st.notForUs++;
      return;
    }
    const type = ethType(b, o);
    if (type === ETHERTYPE_IPV4) this.ip.input(iface, b, o + ETH_HLEN, len - ETH_HLEN, bcast, false);
    else if (type === ETHERTYPE_ARP) this.arp.input(iface, b, o + ETH_HLEN, len - ETH_HLEN);
    else st.unknownType++;
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
    if (this.ip.loopbackPending) this.ip.pollLoopback();
    this.arp.poll();
    if (this.arp.nextDeadline < next) next = this.arp.nextDeadline;
    this.icmp.poll();
    if (this.icmp.nextDeadline < next) next = this.icmp.nextDeadline;
    this.reassembly.poll();
    if (this.reassembly.nextDeadline < next) next = this.reassembly.nextDeadline;
    this.tcp.poll();
    if (this.tcp.nextDeadline < next) next = this.tcp.nextDeadline;
    if (this.ipsecEngine !== null) {
      this.ipsecEngine.poll();
      if (this.ipsecEngine.nextDeadline < next) next = this.ipsecEngine.nextDeadline;
    }
    this.table.dispatch();
    // Work created by this poll (loopback packets, events raised by callbacks) wants another round now.
    if (this.ip.loopbackPending || this.table.hasPendingEvents) next = this.now;
    return next;
  }

  /** SocketHost: bring `now` up to date when running in real time (whole ms, as the driver uses). */
  touch(): void {
    if (this.driver.isRunning) {
      const t = Math.floor(this.config.clock());
      if (t > this.now) this.now = t;
    }
  }

  preciseNow(): number {
    return this.driver.isRunning ? this.config.clock() : this.now;
  }

  /** SocketHost: ask the real-time driver for a poll soon (no-op under manual polling). */
  kick(): void {
    this.driver.kick();
  }

  /**
   * Run on the host's event loop in real time until {@link stop}. With
   * `keepAlive: false` the stack's timers do not keep the process alive.
   */
  start(options?: { keepAlive?: boolean }): void {
    this.driver.keepAlive = options?.keepAlive ?? true;
    for (const i of this.interfaces) i.link.setWakeup(this.driver.kick);
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
   */
  ping(host: string | number, options: PingOptions = {}): Promise<number> {
    const parsed = typeof host === 'number' ? (Number.isInteger(host) ? host >>> 0 : -1) : parseIpv4(host);
    if (parsed < 0) return Promise.reject(new StackError(Errno.EINVAL, 'ping', `'${String(host)}' is not an IPv4 address`));
    const dst = parsed | 0;
    const size = options.size ?? 56;
    const timeout = options.timeoutMs ?? 1000;
    const ttl = options.ttl ?? this.config.ttl;
    if (!Number.isInteger(size) || size < 0 || size > 65507) return Promise.reject(new StackError(Errno.EINVAL, 'ping', 'bad size'));
    this.touch();
    const slot = this.icmp.sendEcho(dst, size, timeout, ttl);
    if (slot < 0) return Promise.reject(new StackError(-slot, 'ping', formatIpv4(dst)));
    this.kick();
    return new Promise<number>((resolve, reject) => {
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
    else if (this.icmp.lastErrorType >= 0) {
      const kind = errno === Errno.ETIME ? 'time exceeded' : 'destination unreachable';
      reject?.(new StackError(errno, 'ping', `${kind} (code ${this.icmp.lastErrorCode}) from ${formatIpv4(this.icmp.lastErrorFrom)}`));
    } else reject?.(new StackError(errno, 'ping'));
  }

  /** Datagrams currently being reassembled (slots in use). */
  get reassemblyBusy(): number {
    return this.reassembly.busySlots;
  }

  /** The low-level echo layer, for benchmarks and tools that ping without Promises. */
  get icmpLayer(): Icmp {
    return this.icmp;
  }
}
