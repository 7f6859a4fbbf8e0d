/**
 * A DHCP client (RFC 2131) for one interface of a {@link Stack}:
 * INIT → SELECTING → REQUESTING → BOUND → RENEWING (T1, unicast) →
 * REBINDING (T2, broadcast) → lease expiry, with randomized exponential
 * backoff. BOUND configures the interface (address, mask, default gateway)
 * and the stack's DNS servers. Events: 'bound', 'renewed', 'lost' (each with
 * a {@link DhcpLease}; 'lost' with the lease that was lost and a reason),
 * 'declined', 'state', 'error'.
 *
 * Broadcasts (everything sent before an address, and REBINDING) are written
 * as whole frames straight onto the interface, like a raw-socket client, so
 * they leave through this interface with source 0.0.0.0 whatever the routing
 * table says. Replies arrive on a UDP socket bound to 0.0.0.0:68; the client
 * asks servers to broadcast them (BROADCAST flag) while it has no address.
 * Unicasts (RENEWING, RELEASE) go through that socket.
 *
 * `checkAddress` vets an offered address (a true answer means "in use": the
 * client sends DHCPDECLINE and restarts after `declineDelayMs`); `stack.dhcp(i,
 * { arpProbe: true })` sets it to an RFC 5227 ARP probe (`stack.probeAddress`).
 */
import { EventEmitter } from 'node:events';
import { Buffer } from 'node:buffer';
import type { Stack } from '../stack.js';
import type { UdpSocket, RemoteInfo } from '../socket/dgram.js';
import type { NetInterface } from '../engine/netif.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEth } from '../wire/ethernet.js';
import { IPV4_MIN_HLEN, IPPROTO_UDP, writeIpv4 } from '../wire/ipv4.js';
import { UDP_HLEN, writeUdp } from '../wire/udp.js';
import { formatIpv4, parseIpv4 } from '../wire/ipv4addr.js';
import {
  BOOTREPLY, DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST, DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST, DHCP_SERVER_PORT, DhcpFormatError, OPT_CLIENT_ID, OPT_DNS, OPT_HOSTNAME, OPT_LEASE_TIME,
  OPT_MAX_SIZE, OPT_PARAM_LIST, OPT_REQUESTED_IP, OPT_ROUTER, OPT_SERVER_ID, OPT_SUBNET_MASK, OPT_T1, OPT_T2,
  OPT_DOMAIN_NAME, encodeDhcp, ipBytes, maskToPrefix, parseDhcp, type DhcpMessage,
} from '../wire/dhcp.js';

export type DhcpState = 'stopped' | 'init' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding';

export interface DhcpLease {
  address: string;
  prefixLength: number;
  subnetMask: string;
  /** First router, which became the default gateway (null when none, or not on the subnet). */
  gateway: string | null;
  routers: string[];
  dnsServers: string[];
  domainName: string | null;
  serverId: string;
  /** Seconds, as the server gave them (T1/T2 defaulted to 0.5 and 0.875 of the lease). */
  leaseTime: number;
  renewalTime: number;
  rebindingTime: number;
  /** Timer-clock ms at which the lease (and T1, T2) started: when the REQUEST was sent. */
  obtainedAt: number;
}

/** Host timers, replaceable for tests. */
export interface DhcpTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DhcpClientOptions {
  /** First retransmission timeout, ms (RFC 2131 4.1: 4 s). */
  initialTimeoutMs?: number;
  /** Backoff ceiling, ms (64 s). */
  maxTimeoutMs?: number;
  /** Each timeout is randomized by ± this many ms (1 s). */
  jitterMs?: number;
  /** REQUESTs sent in REQUESTING before going back to INIT (4). */
  maxRequestAttempts?: number;
  /** Shortest retransmission interval in RENEWING/REBINDING, ms (60 s, RFC 2131 4.4.5). */
  minRenewRetryMs?: number;
  /** Wait before restarting after a DECLINE, ms (10 s, RFC 2131 3.1.5). */
  declineDelayMs?: number;
  /** Wait before restarting after a NAK or a lost lease, ms (0). */
  restartDelayMs?: number;
  /** Scale lease, T1 and T2 (seconds) to ms; 1000 by default. Tests use smaller values. */
  secondMs?: number;
  /** How long stop() waits for ARP to let the RELEASE out, ms (1000). */
  releaseWaitMs?: number;
  /** Option 12. */
  hostname?: string;
  /** Option 61 (default: hardware type 1 + MAC). */
  clientId?: Uint8Array;
  /** Give learned DNS servers to stack.dns (true). */
  setDns?: boolean;
  /** Vet an offered address before use; resolve true when it is already in use (DECLINE). */
  checkAddress?: (address: string) => Promise<boolean> | boolean;
  timers?: DhcpTimers;
}

const PARAMS = Uint8Array.of(OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_DOMAIN_NAME, OPT_LEASE_TIME, OPT_T1, OPT_T2, OPT_SERVER_ID);

const realTimers: DhcpTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, Math.min(ms, 0x7fffffff))),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class DhcpClient extends EventEmitter {
  private st: DhcpState = 'stopped';
  private current: DhcpLease | null = null;
  private socket: UdpSocket | null = null;
  private readonly iface: NetInterface;
  private readonly timers: DhcpTimers;
  private readonly o: Required<Omit<DhcpClientOptions, 'hostname' | 'clientId' | 'checkAddress' | 'timers'>>;
  private readonly clientId: Uint8Array;
  private xid = 0;
  private startedAt = 0;
  private requestSentAt = 0;
  private attempts = 0;
  private timeout = 0;
  private retransmit: unknown = null;
  private leaseTimers: unknown[] = [];
  private offer: DhcpMessage | null = null;
  private dnsWasSet = false;
  /** Counters for tests and diagnostics. */
  readonly stats = { sent: 0, received: 0, malformed: 0, ignored: 0, naks: 0, declines: 0 };

  constructor(private readonly stack: Stack, ifIndex: number, private readonly options: DhcpClientOptions = {}) {
    super();
    const iface = stack.interfaces[ifIndex];
    if (iface === undefined) throw new RangeError(`no interface ${ifIndex}`);
    this.iface = iface;
    this.timers = options.timers ?? realTimers;
    this.o = {
      initialTimeoutMs: options.initialTimeoutMs ?? 4000,
      maxTimeoutMs: options.maxTimeoutMs ?? 64000,
      jitterMs: options.jitterMs ?? 1000,
      maxRequestAttempts: options.maxRequestAttempts ?? 4,
      minRenewRetryMs: options.minRenewRetryMs ?? 60000,
      declineDelayMs: options.declineDelayMs ?? 10000,
      restartDelayMs: options.restartDelayMs ?? 0,
      secondMs: options.secondMs ?? 1000,
      setDns: options.setDns ?? true,
      releaseWaitMs: options.releaseWaitMs ?? 1000,
    };
    this.clientId = options.clientId ?? Uint8Array.of(1, ...iface.mac);
  }

  get state(): DhcpState {
    return this.st;
  }

  /** The current lease (BOUND, RENEWING, REBINDING), else null. */
  get lease(): DhcpLease | null {
    return this.current;
  }

  get interfaceIndex(): number {
    return this.iface.index;
  }

  /** Open the client port and start from INIT. Idempotent. */
  start(): this {
    if (this.st !== 'stopped') return this;
    const sock = this.stack.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    sock.on('message', (m: Buffer, r: RemoteInfo) => this.onMessage(m, r));
    sock.on('error', (e: Error) => this.fail(e));
    sock.bind(DHCP_CLIENT_PORT);
    this.socket = sock;
    this.init();
    return this;
  }

  /**
   * Stop: send DHCPRELEASE for a held lease (unless `release` is false),
   * remove the interface address and close the port.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.st === 'stopped') return;
    this.clearAll();
    const lease = this.current;
    if (lease !== null && options.release !== false) {
      this.xid = this.newXid();
      await this.sendUnicast(this.build(DHCPRELEASE, { ciaddr: lease.address, serverId: lease.serverId }), lease.serverId);
      // The RELEASE may wait for ARP; removing the address would drop it.
      const until = this.timers.now() + this.o.releaseWaitMs;
      // On the client's own timers, so that virtual-time tests (and any injected clock) drive this wait too.
      while (this.stack.arp.pendingCount > 0 && this.timers.now() < until) {
        await new Promise<void>((resolve) => { this.timers.setTimeout(resolve, 5); });
      }
    }
    if (lease !== null) this.deconfigure();
    this.current = null;
    this.setState('stopped');
    const sock = this.socket;
    this.socket = null;
    if (sock !== null) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }

  /** 'error' is informational here (the client carries on): never throw for want of a listener. */
  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  // ---- state machine -------------------------------------------------------

  private setState(s: DhcpState): void {
    if (this.st === s) return;
    this.st = s;
    this.emit('state', s);
  }

  private newXid(): number {
    return this.stack.random32() >>> 0;
  }

  private init(): void {
    this.clearAll();
    this.offer = null;
    this.xid = this.newXid();
    this.startedAt = this.timers.now();
    this.setState('init');
    this.setState('selecting');
    this.attempts = 0;
    this.timeout = this.o.initialTimeoutMs;
    this.sendDiscover();
  }

  private restartLater(ms: number): void {
    this.clearAll();
    this.setState('init');
    if (ms <= 0) this.init();
    else this.retransmit = this.timers.setTimeout(() => { this.retransmit = null; this.init(); }, ms);
  }

  private backoff(): number {
    // RFC 2131 4.1: randomized by ±1 s. From the stack's seeded generator, so a seeded stack in virtual time repeats exactly.
    const t = this.timeout + ((this.stack.random32() / 0x100000000) * 2 - 1) * this.o.jitterMs;
    this.timeout = Math.min(this.timeout * 2, this.o.maxTimeoutMs);
    return Math.max(1, t);
  }

  private sendDiscover(): void {
    this.broadcast(this.build(DHCPDISCOVER, {}));
    this.arm(() => this.sendDiscover(), this.backoff());
  }

  private sendSelectingRequest(): void {
    const offer = this.offer;
    if (offer === null || offer.serverId === null) return;
    if (this.attempts >= this.o.maxRequestAttempts) {
      this.init();
      return;
    }
    this.attempts++;
    if (this.attempts === 1) this.requestSentAt = this.timers.now();
    this.broadcast(this.build(DHCPREQUEST, { requested: offer.yiaddr, serverId: offer.serverId }));
    this.arm(() => this.sendSelectingRequest(), this.backoff());
  }

  private arm(fn: () => void, ms: number): void {
    if (this.retransmit !== null) this.timers.clearTimeout(this.retransmit);
    this.retransmit = this.timers.setTimeout(() => { this.retransmit = null; fn(); }, ms);
  }

  private clearAll(): void {
    if (this.retransmit !== null) this.timers.clearTimeout(this.retransmit);
    this.retransmit = null;
    for (const t of this.leaseTimers) this.timers.clearTimeout(t);
    this.leaseTimers = [];
  }

  private onMessage(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.st === 'stopped' || rinfo.port !== DHCP_SERVER_PORT) return;
    let m: DhcpMessage;
    try {
      m = parseDhcp(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    } catch (err) {
      if (!(err instanceof DhcpFormatError)) throw err;
      this.stats.malformed++;
      return;
    }
    // Only replies to our transaction, for our hardware address.
    const mac = this.iface.mac;
    let chaddrOk = m.htype === 1 && m.hlen === 6;
    for (let i = 0; i < 6 && chaddrOk; i++) if (m.chaddr[i] !== mac[i]) chaddrOk = false;
    if (m.op !== BOOTREPLY || m.xid !== this.xid || !chaddrOk) {
      this.stats.ignored++;
      return;
    }
    this.stats.received++;
    switch (this.st) {
      case 'selecting':
        if (m.type === DHCPOFFER && validOffer(m)) {
          this.offer = m;
          this.setState('requesting');
          this.attempts = 0;
          this.timeout = this.o.initialTimeoutMs;
          this.sendSelectingRequest();
        } else {
          this.stats.ignored++;
        }
        return;
      case 'requesting':
        if (this.offer !== null && m.serverId !== null && m.serverId !== this.offer.serverId) {
          this.stats.ignored++;
          return;
        }
        if (m.type === DHCPACK && this.offer !== null && validAck(m) && m.yiaddr === this.offer.yiaddr) {
          void this.accept(m, this.requestSentAt);
        } else if (m.type === DHCPNAK) {
          this.stats.naks++;
          this.restartLater(this.o.restartDelayMs);
        } else {
          this.stats.ignored++;
        }
        return;
      case 'renewing':
      case 'rebinding': {
        const lease = this.current;
        if (lease === null) return;
        if (m.type === DHCPACK && validAck(m) && m.yiaddr === lease.address) {
          this.renewed(m);
        } else if (m.type === DHCPNAK) {
          this.stats.naks++;
          this.lose('nak');
        } else {
          this.stats.ignored++;
        }
        return;
      }
      default:
        this.stats.ignored++;
    }
  }

  private async accept(ack: DhcpMessage, startedAt: number): Promise<void> {
    this.clearAll();
    const check = this.options.checkAddress;
    if (check !== undefined) {
      const xid = this.xid;
      let inUse = false;
      try {
        inUse = await check(ack.yiaddr);
      } catch {
        inUse = false;
      }
      if (this.st !== 'requesting' || this.xid !== xid) return;
      if (inUse) {
        this.stats.declines++;
        this.broadcast(this.build(DHCPDECLINE, { requested: ack.yiaddr, serverId: ack.serverId ?? undefined }));
        this.emit('declined', ack.yiaddr);
        this.restartLater(this.o.declineDelayMs);
        return;
      }
    }
    const lease = toLease(ack, startedAt, this.offer?.serverId ?? '0.0.0.0');
    try {
      this.configure(lease);
    } catch (err) {
      // Unusable (e.g. the address is on another interface): decline it.
      this.broadcast(this.build(DHCPDECLINE, { requested: ack.yiaddr, serverId: lease.serverId }));
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.restartLater(this.o.declineDelayMs);
      return;
    }
    this.current = lease;
    this.setState('bound');
    this.scheduleLease(lease);
    this.emit('bound', lease);
  }

  private renewed(ack: DhcpMessage): void {
    const old = this.current as DhcpLease;
    this.clearAll();
    const lease = toLease(ack, this.requestSentAt, old.serverId);
    const changed = lease.prefixLength !== old.prefixLength || lease.gateway !== old.gateway;
    try {
      if (changed) this.configure(lease);
      else this.applyDns(lease);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.lose('reconfigure');
      return;
    }
    this.current = lease;
    this.setState('bound');
    this.scheduleLease(lease);
    this.emit('renewed', lease);
  }

  private configure(lease: DhcpLease): void {
    this.stack.setInterfaceAddress(this.iface.index, `${lease.address}/${lease.prefixLength}`, lease.gateway ?? undefined);
    this.applyDns(lease);
  }

  private applyDns(lease: DhcpLease): void {
    if (!this.o.setDns || lease.dnsServers.length === 0) return;
    this.stack.dns.setServers(lease.dnsServers);
    this.dnsWasSet = true;
  }

  private deconfigure(): void {
    try {
      this.stack.setInterfaceAddress(this.iface.index, null);
    } catch {
      // nothing to undo
    }
    if (this.dnsWasSet) {
      this.stack.dns.setServers([]);
      this.dnsWasSet = false;
    }
  }

  private scheduleLease(lease: DhcpLease): void {
    const s = this.o.secondMs;
    const elapsed = this.timers.now() - lease.obtainedAt;
    if (lease.leaseTime === 0xffffffff) return; // infinite
    this.leaseTimers.push(
      this.timers.setTimeout(() => this.enterRenewing(), lease.renewalTime * s - elapsed),
      this.timers.setTimeout(() => this.enterRebinding(), lease.rebindingTime * s - elapsed),
      this.timers.setTimeout(() => this.lose('expired'), lease.leaseTime * s - elapsed),
    );
  }

  /** Time (timer clock) at which `seconds` after the lease start falls. */
  private at(seconds: number): number {
    return (this.current?.obtainedAt ?? 0) + seconds * this.o.secondMs;
  }

  private enterRenewing(): void {
    if (this.st !== 'bound' || this.current === null) return;
    this.setState('renewing');
    this.xid = this.newXid();
    this.requestSentAt = this.timers.now();
    this.sendRenew();
  }

  private sendRenew(): void {
    const lease = this.current;
    if (this.st !== 'renewing' || lease === null) return;
    void this.sendUnicast(this.build(DHCPREQUEST, { ciaddr: lease.address }), lease.serverId);
    this.arm(() => this.sendRenew(), this.halfUntil(this.at(lease.rebindingTime)));
  }

  private enterRebinding(): void {
    if ((this.st !== 'bound' && this.st !== 'renewing') || this.current === null) return;
    this.setState('rebinding');
    this.xid = this.newXid();
    this.requestSentAt = this.timers.now();
    this.sendRebind();
  }

  private sendRebind(): void {
    const lease = this.current;
    if (this.st !== 'rebinding' || lease === null) return;
    this.broadcast(this.build(DHCPREQUEST, { ciaddr: lease.address }), lease.address);
    this.arm(() => this.sendRebind(), this.halfUntil(this.at(lease.leaseTime)));
  }

  /** RFC 2131 4.4.5: half the remaining time, but at least minRenewRetryMs (never past the deadline). */
  private halfUntil(deadline: number): number {
    const left = deadline - this.timers.now();
    return Math.max(1, Math.min(left, Math.max(left / 2, this.o.minRenewRetryMs)));
  }

  private lose(reason: 'expired' | 'nak' | 'reconfigure'): void {
    const lease = this.current;
    this.clearAll();
    this.current = null;
    if (lease !== null) {
      this.deconfigure();
      this.emit('lost', lease, reason);
    }
    this.restartLater(this.o.restartDelayMs);
  }

  // ---- output ----------------------------------------------------------------

  private build(type: number, f: { ciaddr?: string; requested?: string; serverId?: string }): Uint8Array {
    const opts: Array<[number, Uint8Array]> = [[OPT_CLIENT_ID, this.clientId]];
    if (f.requested !== undefined) opts.push([OPT_REQUESTED_IP, ipBytes(f.requested)]);
    if (f.serverId !== undefined) opts.push([OPT_SERVER_ID, ipBytes(f.serverId)]);
    if (type === DHCPDISCOVER || type === DHCPREQUEST) {
      opts.push([OPT_PARAM_LIST, PARAMS]);
      const max = Math.max(576, Math.min(this.iface.mtu, 0xffff));
      opts.push([OPT_MAX_SIZE, Uint8Array.of(max >>> 8, max & 0xff)]);
      if (this.options.hostname !== undefined) opts.push([OPT_HOSTNAME, new TextEncoder().encode(this.options.hostname)]);
    }
    const secs = Math.min(0xffff, Math.floor((this.timers.now() - this.startedAt) / 1000));
    // Servers must broadcast their answer while we cannot receive unicasts (no address yet).
    const flags = this.iface.address === 0 && (type === DHCPDISCOVER || type === DHCPREQUEST) ? DHCP_FLAG_BROADCAST : 0;
    return encodeDhcp({ xid: this.xid, secs, flags, ciaddr: f.ciaddr, chaddr: this.iface.mac, type, options: opts });
  }

  /** Write a whole broadcast frame onto the interface: src `src` (0.0.0.0 before an address), dst 255.255.255.255. */
  private broadcast(payload: Uint8Array, src = '0.0.0.0'): void {
    const ipLen = IPV4_MIN_HLEN + UDP_HLEN + payload.length;
    if (ipLen > this.iface.mtu) return;
    const f = new Uint8Array(ETH_HLEN + ipLen);
    const srcAddr = parseIpv4(src) | 0;
    f.set(payload, ETH_HLEN + IPV4_MIN_HLEN + UDP_HLEN);
    writeUdp(f, ETH_HLEN + IPV4_MIN_HLEN, UDP_HLEN + payload.length, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, srcAddr, -1);
    writeIpv4(f, ETH_HLEN, ipLen, this.stack.random32() & 0xffff, 0, 64, IPPROTO_UDP, srcAddr, -1);
    writeEth(f, 0, null, 0, this.iface.mac, 0, ETHERTYPE_IPV4);
    this.stack.touch();
    if (this.iface.transmit(f, 0, f.length, this.stack.now) === 0) this.stats.sent++;
  }

  private sendUnicast(payload: Uint8Array, to: string): Promise<void> {
    const sock = this.socket;
    if (sock === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        sock.send(payload, DHCP_SERVER_PORT, to, (err) => {
          if (err === null) this.stats.sent++;
          resolve();
        });
      } catch {
        resolve();
      }
    });
  }
}

function usableUnicast(a: string): boolean {
  const v = parseIpv4(a);
  return v > 0 && (v >>> 24) !== 127 && (v >>> 24) < 224 && (v >>> 24) !== 0;
}

function validOffer(m: DhcpMessage): boolean {
  return usableUnicast(m.yiaddr) && m.serverId !== null && usableUnicast(m.serverId);
}

function validAck(m: DhcpMessage): boolean {
  if (!usableUnicast(m.yiaddr) || m.leaseTime === null) return false;
  return m.subnetMask === null || maskToPrefix(m.subnetMask) > 0;
}

/** Classful default mask when the server sends none (RFC 2131 leaves it to the client). */
function defaultPrefix(a: string): number {
  const top = parseIpv4(a) >>> 24;
  return top < 128 ? 8 : top < 192 ? 16 : 24;
}

function toLease(ack: DhcpMessage, obtainedAt: number, fallbackServer: string): DhcpLease {
  const prefixLength = ack.subnetMask !== null ? maskToPrefix(ack.subnetMask) : defaultPrefix(ack.yiaddr);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const leaseTime = ack.leaseTime ?? 0;
  let t1 = ack.renewalTime ?? Math.floor(leaseTime * 0.5);
  let t2 = ack.rebindingTime ?? Math.floor(leaseTime * 0.875);
  // Keep 0 < T1 < T2 < lease as RFC 2131 4.4.5 wants; repair odd server values.
  if (t2 > leaseTime || t2 <= 0) t2 = Math.floor(leaseTime * 0.875);
  if (t1 > t2 || t1 <= 0) t1 = Math.floor(t2 * 4 / 7);
  const addr = parseIpv4(ack.yiaddr);
  const gateway = ack.routers.find((r) => {
    const g = parseIpv4(r);
    return ((g & mask) >>> 0) === ((addr & mask) >>> 0) && g !== addr;
  }) ?? null;
  return {
    address: ack.yiaddr, prefixLength, subnetMask: formatIpv4(mask), gateway, routers: ack.routers, dnsServers: ack.dnsServers,
    domainName: ack.domainName, serverId: ack.serverId ?? fallbackServer, leaseTime, renewalTime: t1, rebindingTime: t2,
    obtainedAt,
  };
}
