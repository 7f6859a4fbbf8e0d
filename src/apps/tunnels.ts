/**
 * Port forwards between the host and a stack, as onetun and wireproxy offer
 * for a WireGuard tunnel:
 *
 * - client tunnels listen on the HOST and dial INTO the stack
 *   ({@link createTcpClientTunnel}, {@link createUdpClientTunnel});
 * - server tunnels listen INSIDE the stack and dial out to the host
 *   ({@link createTcpServerTunnel}, {@link createUdpServerTunnel}).
 *
 * TCP connections are piped both ways with backpressure and half-close (see
 * relay.ts). UDP is forwarded per flow: each distinct source address:port
 * gets its own socket on the other side (so replies find their way back),
 * closed after `idleTimeoutMs` without traffic; replies from anyone but the
 * target are dropped. Every tunnel is bounded (connections or flows) and
 * counts what it refused or dropped.
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { Stack } from '../stack.js';
import type { Server as StackServer, Socket as StackSocket } from '../socket/net.js';
import type { UdpSocket as StackUdpSocket } from '../socket/dgram.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import { formatIpv6, parseIpv6 } from '../wire/ipv6addr.js';
import { lookupError } from '../engine/errno.js';
import { relay, swallowErrors, type RelayEnd } from './relay.js';

/** A host or stack endpoint. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Counters of a TCP tunnel. */
export interface TcpTunnelStats {
  /** Connections accepted and forwarded. */
  accepted: number;
  /** Closed on accept: `maxConnections` were open. */
  rejectedLimit: number;
  /** Forwarded connections open now. */
  active: number;
  /** Outgoing connections that failed (the accepted one was then reset). */
  connectFailures: number;
  /** Bytes from the accepting side to the target, and back, live. */
  bytesUp: number;
  bytesDown: number;
}

/** Counters of a UDP tunnel. */
export interface UdpTunnelStats {
  /** Flows (distinct sources) opened, and open now. */
  flows: number;
  activeFlows: number;
  /** Flows closed after `idleTimeoutMs` without traffic. */
  expired: number;
  /** Datagrams dropped because `maxFlows` were open. */
  rejectedLimit: number;
  /** Datagrams forwarded to the target, and replies forwarded back. */
  datagramsUp: number;
  datagramsDown: number;
  /** Send errors and replies from someone other than the target. */
  dropped: number;
}

/** A running tunnel. */
export interface Tunnel<S> {
  readonly stats: Readonly<S>;
  /** Where the tunnel listens (on the host for client tunnels, in the stack for server tunnels). */
  address(): net.AddressInfo;
  /** Stop listening and close every connection or flow. */
  close(): Promise<void>;
}

export interface TcpClientTunnelOptions {
  /** Host address and port to listen on (normally loopback). */
  bind: Endpoint;
  /** Destination inside the stack (IPv4 literal or a name the stack resolves). */
  target: Endpoint;
  /** Forwarded connections open at once (default 1024). */
  maxConnections?: number;
}

export interface TcpServerTunnelOptions {
  /** Port the stack listens on. */
  listenPort: number;
  /** Stack address to listen on (default every address). */
  listenHost?: string;
  /** Destination on the host. */
  target: Endpoint;
  maxConnections?: number;
}

export interface UdpClientTunnelOptions {
  /** Host address and port to receive on. */
  bind: Endpoint;
  /** Destination inside the stack (IPv4 or IPv6 literal, or a name resolved once by the stack). */
  target: Endpoint;
  /** A flow is closed after this long without a datagram either way (ms, default 60000). */
  idleTimeoutMs?: number;
  /** Flows open at once (default 1024). */
  maxFlows?: number;
}

export interface UdpServerTunnelOptions {
  /** Stack port to receive on. */
  listenPort: number;
  /**
   * Stack address to receive on (default every IPv4 address); `'::'` takes
   * both families (IPv4 sources as `::ffff:a.b.c.d`), an IPv6 literal only it.
   */
  listenHost?: string;
  /** Destination on the host (a name is resolved once by the host). */
  target: Endpoint;
  idleTimeoutMs?: number;
  maxFlows?: number;
}

function limit(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`tunnel: ${name} must be > 0, got ${v}`);
  return v;
}

function newTcpStats(): TcpTunnelStats {
  return { accepted: 0, rejectedLimit: 0, active: 0, connectFailures: 0, bytesUp: 0, bytesDown: 0 };
}

function newUdpStats(): UdpTunnelStats {
  return { flows: 0, activeFlows: 0, expired: 0, rejectedLimit: 0, datagramsUp: 0, datagramsDown: 0, dropped: 0 };
}

/**
 * Forward one accepted connection to a fresh outgoing one; `outgoing` may
 * still be connecting (writes wait for it).
 */
function forward(stats: TcpTunnelStats, open: Set<RelayEnd>, accepted: RelayEnd, outgoing: RelayEnd): void {
  stats.accepted++;
  stats.active++;
  open.add(accepted);
  open.add(outgoing);
  let connected = false;
  outgoing.once('connect', () => { connected = true; });
  outgoing.once('error', () => { if (!connected) stats.connectFailures++; });
  relay(accepted, outgoing, (up, n) => {
    if (up) stats.bytesUp += n;
    else stats.bytesDown += n;
  }, () => {
    open.delete(accepted);
    open.delete(outgoing);
    stats.active--;
  });
}

function closeHostServer(server: net.Server, open: Set<RelayEnd>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of [...open]) s.destroy();
  });
}

function hostAddress(server: net.Server | dgram.Socket): net.AddressInfo {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('tunnel: not listening');
  return a;
}

/** Host listener → stack connection: each connection accepted on `bind` is piped to `target` in the stack. */
export async function createTcpClientTunnel(stack: Stack, options: TcpClientTunnelOptions): Promise<Tunnel<TcpTunnelStats>> {
  const stats = newTcpStats();
  const open = new Set<RelayEnd>();
  const max = limit(options.maxConnections, 1024, 'maxConnections');
  const { target } = options;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
    swallowErrors(sock);
    if (stats.active >= max) {
      stats.rejectedLimit++;
      sock.destroy();
      return;
    }
    const out: StackSocket = stack.net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    forward(stats, open, sock, out);
  });
  await listenHost(server, options.bind);
  return {
    stats,
    address: () => hostAddress(server),
    close: () => closeHostServer(server, open),
  };
}

function listenHost(server: net.Server, at: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

/** Stack listener → host connection: each connection accepted on `listenPort` in the stack is piped to `target` on the host. */
export async function createTcpServerTunnel(stack: Stack, options: TcpServerTunnelOptions): Promise<Tunnel<TcpTunnelStats>> {
  const stats = newTcpStats();
  const open = new Set<RelayEnd>();
  const max = limit(options.maxConnections, 1024, 'maxConnections');
  const { target } = options;
  const server: StackServer = stack.net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
    swallowErrors(sock);
    if (stats.active >= max) {
      stats.rejectedLimit++;
      sock.destroy();
      return;
    }
    const out = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    forward(stats, open, sock, out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort, options.listenHost, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return {
    stats,
    address: () => {
      const a = server.address();
      if (a === null) throw new Error('tunnel: not listening');
      return a;
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of [...open]) s.destroy();
    }),
  };
}

/** The minimal datagram socket both sides of a UDP tunnel use (host `dgram.Socket` and the stack's `UdpSocket`). */
interface DatagramEnd {
  send(msg: Buffer, port: number, address: string, cb: (err: Error | null) => void): void;
  close(cb?: () => void): unknown;
}

/** One UDP flow: the socket that speaks to the target for one source, and its idle timer. */
interface Flow {
  out: DatagramEnd;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The flow table of a UDP tunnel: `front` receives from sources, each
 * source's datagrams go out of its own socket made by `open`, whose replies
 * from the target come back through `front`.
 */
class UdpForwarder {
  readonly stats = newUdpStats();
  private readonly flows = new Map<string, Flow>();
  private closed = false;
  private readonly idleMs: number;
  private readonly maxFlows: number;

  constructor(
    private readonly front: DatagramEnd,
    private readonly target: Endpoint,
    /** A bound socket for a new flow; it calls `reply` with every datagram it receives. */
    private readonly open: (reply: (msg: Buffer, address: string, port: number) => void) => DatagramEnd,
    options: { idleTimeoutMs?: number; maxFlows?: number },
  ) {
    this.idleMs = limit(options.idleTimeoutMs, 60_000, 'idleTimeoutMs');
    this.maxFlows = limit(options.maxFlows, 1024, 'maxFlows');
  }

  /** A datagram from a source, to forward to the target. */
  fromSource(msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const stats = this.stats;
    const key = `${address}|${port}`;
    let flow = this.flows.get(key);
    if (flow === undefined) {
      if (this.flows.size >= this.maxFlows) {
        stats.rejectedLimit++;
        return;
      }
      const created = this.openFlow(key, address, port);
      if (created === null) {
        stats.dropped++;
        return;
      }
      flow = created;
    }
    flow.timer.refresh();
    flow.out.send(msg, this.target.port, this.target.host, (err) => {
      if (err !== null) stats.dropped++;
      else stats.datagramsUp++;
    });
  }

  private openFlow(key: string, address: string, port: number): Flow | null {
    const stats = this.stats;
    let out: DatagramEnd;
    const reply = (m: Buffer, fromAddress: string, fromPort: number): void => {
      if (this.closed) return;
      if (fromAddress !== this.target.host || fromPort !== this.target.port) {
        stats.dropped++; // only the target's replies belong to this flow (as a NAT would filter)
        return;
      }
      const f = this.flows.get(key);
      if (f !== undefined) f.timer.refresh();
      this.front.send(m, port, address, (err) => {
        if (err !== null) stats.dropped++;
        else stats.datagramsDown++;
      });
    };
    try {
      out = this.open(reply);
    } catch {
      return null; // no socket left (the stack's table is full, EMFILE)
    }
    const timer = setTimeout(() => {
      this.flows.delete(key);
      stats.activeFlows--;
      stats.expired++;
      closeQuietly(out);
    }, this.idleMs);
    timer.unref();
    const flow: Flow = { out, timer };
    this.flows.set(key, flow);
    stats.flows++;
    stats.activeFlows++;
    return flow;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const f of this.flows.values()) {
      clearTimeout(f.timer);
      closeQuietly(f.out);
    }
    this.stats.activeFlows = 0;
    this.flows.clear();
    return new Promise((resolve) => {
      try {
        this.front.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function closeQuietly(s: DatagramEnd): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}

function bindDatagram(s: dgram.Socket | StackUdpSocket, port: number, address: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    s.once('error', onError);
    const done = (): void => {
      s.removeListener('error', onError);
      resolve();
    };
    if (address === undefined) (s as dgram.Socket).bind(port, done);
    else (s as dgram.Socket).bind(port, address, done);
  });
}

/**
 * An IPv6 literal in the stack's own text form (RFC 5952, as `rinfo.address`
 * reports it), so the flows' reply filter compares like with like; other
 * text unchanged.
 */
function canonical6(host: string): string {
  const b = new Uint8Array(16);
  return host.includes(':') && parseIpv6(host, b, 0) ? formatIpv6(b, 0) : host;
}

/** The IPv4 or IPv6 literal for a stack-side target: literals as they are, names through the stack's resolver. */
async function stackAddress(stack: Stack, host: string): Promise<string> {
  if (parseIpv4(host) >= 0 || net.isIPv6(host)) return canonical6(host);
  const resolve = stack.net.resolver;
  if (resolve === null) throw lookupError(host);
  return canonical6(await resolve(host));
}

/**
 * Host UDP socket → stack: datagrams received on `bind` go to `target` in
 * the stack from one stack socket per source; the target's replies return
 * to that source.
 */
export async function createUdpClientTunnel(stack: Stack, options: UdpClientTunnelOptions): Promise<Tunnel<UdpTunnelStats>> {
  const target: Endpoint = { host: await stackAddress(stack, options.target.host), port: options.target.port };
  const front = dgram.createSocket(net.isIPv6(options.bind.host) ? 'udp6' : 'udp4');
  await bindDatagram(front, options.bind.port, options.bind.host);
  front.on('error', () => { /* ICMP errors from sources: the flows time out */ });
  // An IPv6 target gets IPv6-only flow sockets: a 'udp6' socket cannot send to an IPv4 literal, nor needs to.
  const v6 = net.isIPv6(target.host);
  const fwd = new UdpForwarder(front, target, (reply) => {
    const s = v6 ? stack.dgram.createSocket({ type: 'udp6', ipv6Only: true }) : stack.dgram.createSocket('udp4');
    s.on('error', () => { /* an ICMP error about the target: the flow times out */ });
    s.on('message', (m, r) => reply(m, r.address, r.port));
    s.bind(0);
    return s;
  }, options);
  front.on('message', (m, r) => fwd.fromSource(m, r.address, r.port));
  return { stats: fwd.stats, address: () => hostAddress(front), close: () => fwd.close() };
}

/**
 * Stack UDP socket → host: datagrams received on `listenPort` in the stack
 * go to `target` on the host from one host socket per source; the target's
 * replies return to that source through the stack.
 */
export async function createUdpServerTunnel(stack: Stack, options: UdpServerTunnelOptions): Promise<Tunnel<UdpTunnelStats>> {
  const resolved = await lookup(options.target.host);
  const target: Endpoint = { host: resolved.address, port: options.target.port };
  const family = resolved.family === 6 ? 'udp6' : 'udp4';
  // Flow sockets listen on loopback when the target is there: nothing else can reach them.
  const local = target.host === '::1' ? '::1' : target.host.startsWith('127.') ? '127.0.0.1' : undefined;
  const listenHost = options.listenHost;
  const front = stack.dgram.createSocket(listenHost !== undefined && net.isIPv6(listenHost) ? 'udp6' : 'udp4');
  await bindDatagram(front, options.listenPort, listenHost);
  front.on('error', () => { /* ICMP errors from sources: the flows time out */ });
  const fwd = new UdpForwarder(front, target, (reply) => {
    const s = dgram.createSocket(family);
    s.on('error', () => { /* ICMP port unreachable from the target: the flow times out */ });
    s.on('message', (m, r) => reply(m, r.address, r.port));
    if (local === undefined) s.bind(0);
    else s.bind(0, local);
    return s;
  }, options);
  front.on('message', (m, r) => fwd.fromSource(m, r.address, r.port));
  return {
    stats: fwd.stats,
    address: () => front.address(),
    close: () => fwd.close(),
  };
}
