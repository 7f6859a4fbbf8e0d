/**
 * A SOCKS5 server (RFC 1928, RFC 1929) on the HOST that dials INTO a stack:
 * a client on the host (curl, a browser) connects to it over the host's
 * loopback, and every CONNECT becomes a `stack.net` connection, every UDP
 * ASSOCIATE a `stack.dgram` socket, as wireproxy does for a WireGuard
 * tunnel. Domain names are resolved by the stack (`stack.net.resolver`,
 * normally `stack.dns`), never by the host's resolver: the names belong to
 * the network on the other side.
 *
 * Supported: methods "no authentication" and username/password (when
 * credentials are configured, then only that one); CONNECT to IPv4, IPv6
 * (ATYP 4; 0x08 from a stack built without IPv6) and domain names; UDP
 * ASSOCIATE with FRAG 0 (IPv4, IPv6 and domain destinations). Refused with the proper reply:
 * BIND (0x07).
 *
 * Bounded: at most `maxConnections` control connections (more are closed at
 * once), a handshake deadline, a connect deadline; every refusal and drop
 * is counted in `stats`.
 */
import * as net from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Stack } from '../stack.js';
import type { Socket as StackSocket } from '../socket/net.js';
import { Errno, sysError } from '../engine/errno.js';
import {
  SOCKS_ATYP_DOMAIN, SOCKS_AUTH_VERSION, SOCKS_CMD_CONNECT, SOCKS_CMD_UDP_ASSOCIATE,
  SOCKS_METHOD_NONE, SOCKS_METHOD_UNACCEPTABLE, SOCKS_METHOD_USERPASS, SOCKS_VERSION,
  Socks5FormatError, SocksReply, encodeReply, parseCredentials, parseGreeting, parseRequest, type Socks5Request,
} from '../wire/socks5.js';
import { relay, swallowErrors } from './relay.js';
import { UdpAssociation, unmapped } from './socks5-udp.js';

export { SocksReply } from '../wire/socks5.js';

/** Options of {@link createSocks5Server}. */
export interface Socks5Options {
  /** Host address to listen on (normally loopback: '127.0.0.1'). */
  host: string;
  /** Host port (0: ephemeral, see `address()`). */
  port: number;
  /** With `password`: require RFC 1929 username/password authentication (1..255 bytes each). */
  username?: string;
  password?: string;
  /** Control connections open at once; more are closed on accept (default 1024). */
  maxConnections?: number;
  /** Greeting, authentication and request must arrive within this (ms, default 10000). */
  handshakeTimeoutMs?: number;
  /** A CONNECT must be established within this (ms, default 30000), else reply 0x06. */
  connectTimeoutMs?: number;
  /** Names cached per UDP association (default 64). */
  udpNameCacheSize?: number;
  /** Called for every session event; exceptions it throws are ignored. */
  log?: (event: Socks5Event) => void;
}

/** What {@link Socks5Options.log} receives. Endpoints are 'address:port' text. */
export type Socks5Event =
  | { type: 'accept'; client: string }
  | { type: 'reject'; client: string; reason: 'limit' }
  | { type: 'handshake-failed'; client: string; reason: string }
  | { type: 'connect'; client: string; target: string; bound: string }
  | { type: 'connect-failed'; client: string; target: string; reply: number; code: string }
  | { type: 'udp-associate'; client: string; relay: string }
  | { type: 'close'; client: string; target: string; up: number; down: number; error: string | null };

/** Counters of a {@link Socks5Server}; each refused or dropped thing increments exactly one. */
export interface Socks5Stats {
  /** Control connections accepted (including the ones then refused by the handshake). */
  accepted: number;
  /** Closed on accept: `maxConnections` were open. */
  rejectedLimit: number;
  /** Control connections open now. */
  active: number;
  handshakeTimeouts: number;
  /** Greeting, authentication or request not following the RFCs (bad version, bad address type...). */
  malformed: number;
  /** No offered method acceptable (reply 0xFF). */
  noAcceptableMethod: number;
  authFailures: number;
  /** BIND and unknown commands (reply 0x07). */
  unsupportedCommand: number;
  /** Address types the stack cannot reach (reply 0x08: unknown ATYP; IPv6 on a stack without IPv6). */
  unsupportedAddressType: number;
  connects: number;
  connectFailures: number;
  /** Bytes client → stack and stack → client over CONNECTs, live. */
  bytesUp: number;
  bytesDown: number;
  udpAssociations: number;
  /** Datagrams relayed client → stack and stack → client. */
  udpUp: number;
  udpDown: number;
  /** Client datagrams with FRAG ≠ 0 (fragmentation is not implemented, RFC 1928 §7 allows dropping). */
  udpFragmentsDropped: number;
  /** Other dropped datagrams: malformed header, foreign source, unresolvable destination, IPv6 on a stack without it, send error. */
  udpDropped: number;
}

/** A running SOCKS5 server. */
export interface Socks5Server {
  readonly stats: Readonly<Socks5Stats>;
  /** Where the server listens on the host. */
  address(): net.AddressInfo;
  /** Stop listening and end every session (connections are destroyed). */
  close(): Promise<void>;
}

/** The REP code for an error from a stack connect (Node-style `code`). */
export function socksReplyFor(err: unknown): number {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ECONNREFUSED': return SocksReply.CONNECTION_REFUSED;
    case 'ENETUNREACH': return SocksReply.NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'ENODATA':
    case 'EAI_AGAIN': return SocksReply.HOST_UNREACHABLE;
    // As Dante: SYNs unanswered until the stack gave up (or our own deadline passed).
    case 'ETIMEDOUT': return SocksReply.TTL_EXPIRED;
    case 'EAFNOSUPPORT': return SocksReply.ADDRESS_TYPE_NOT_SUPPORTED;
    default: return SocksReply.GENERAL_FAILURE;
  }
}

function endpoint(address: string | undefined, port: number | undefined): string {
  const a = address ?? '?';
  return a.includes(':') ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}

function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

enum Phase { Greeting, Auth, Request, Connecting, Relaying, Udp, Closed }

/** Start a SOCKS5 server on the host that connects through `stack`. Resolves once listening. */
export async function createSocks5Server(stack: Stack, options: Socks5Options): Promise<Socks5Server> {
  const server = new Socks5ServerImpl(stack, options);
  await server.listen();
  return server;
}

class Socks5ServerImpl implements Socks5Server {
  readonly stats: Socks5Stats = {
    accepted: 0, rejectedLimit: 0, active: 0, handshakeTimeouts: 0, malformed: 0, noAcceptableMethod: 0,
    authFailures: 0, unsupportedCommand: 0, unsupportedAddressType: 0, connects: 0, connectFailures: 0,
    bytesUp: 0, bytesDown: 0, udpAssociations: 0, udpUp: 0, udpDown: 0, udpFragmentsDropped: 0, udpDropped: 0,
  };
  readonly maxConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly udpNameCacheSize: number;
  /** SHA-256 of the expected username and password (compared in constant time), or null: no auth. */
  readonly credentials: { user: Buffer; pass: Buffer } | null;
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();

  constructor(readonly stack: Stack, readonly options: Socks5Options) {
    const { username, password } = options;
    if ((username === undefined) !== (password === undefined)) {
      throw new TypeError('socks5: give both username and password, or neither');
    }
    if (username !== undefined && password !== undefined) {
      const u = Buffer.from(username);
      const p = Buffer.from(password);
      if (u.length < 1 || u.length > 255 || p.length < 1 || p.length > 255) {
        throw new RangeError('socks5: username and password must be 1..255 bytes (RFC 1929)');
      }
      this.credentials = { user: sha256(u), pass: sha256(p) };
    } else {
      this.credentials = null;
    }
    this.maxConnections = positive(options.maxConnections, 1024, 'maxConnections');
    this.handshakeTimeoutMs = positive(options.handshakeTimeoutMs, 10_000, 'handshakeTimeoutMs');
    this.connectTimeoutMs = positive(options.connectTimeoutMs, 30_000, 'connectTimeoutMs');
    this.udpNameCacheSize = positive(options.udpNameCacheSize, 64, 'udpNameCacheSize');
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => this.accept(sock));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.removeListener('error', onError);
        resolve();
      });
    });
  }

  address(): net.AddressInfo {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('socks5: server is not listening');
    return a;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of [...this.sessions]) s.destroy();
    });
  }

  log(event: Socks5Event): void {
    const log = this.options.log;
    if (log === undefined) return;
    try {
      log(event);
    } catch {
      // A logger's failure must not take a session down.
    }
  }

  private accept(sock: net.Socket): void {
    swallowErrors(sock);
    const client = endpoint(sock.remoteAddress, sock.remotePort);
    if (this.sessions.size >= this.maxConnections) {
      this.stats.rejectedLimit++;
      this.log({ type: 'reject', client, reason: 'limit' });
      sock.destroy();
      return;
    }
    this.stats.accepted++;
    this.stats.active++;
    const session = new Session(this, sock, client);
    this.sessions.add(session);
    sock.once('close', () => {
      this.sessions.delete(session);
      this.stats.active--;
      session.clientClosed();
    });
    this.log({ type: 'accept', client });
  }
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`socks5: ${name} must be > 0, got ${v}`);
  return v;
}

/** One control connection, from greeting to the end of its CONNECT or UDP association. */
class Session {
  private phase = Phase.Greeting;
  private pending: Buffer = Buffer.alloc(0);
  private timer: ReturnType<typeof setTimeout> | null;
  private remote: StackSocket | null = null;
  private udp: UdpAssociation | null = null;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(private readonly srv: Socks5ServerImpl, private readonly sock: net.Socket, private readonly client: string) {
    this.timer = setTimeout(() => {
      this.srv.stats.handshakeTimeouts++;
      this.fail('handshake timeout');
    }, srv.handshakeTimeoutMs);
    this.timer.unref();
    sock.on('data', this.onData);
    // A client that half-closes before its request is done has nothing more to say.
    sock.once('end', () => {
      if (this.phase < Phase.Connecting) this.fail('end of stream during handshake');
    });
  }

  destroy(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this.clearTimer();
    this.sock.destroy();
    if (this.remote !== null && !this.remote.destroyed) this.remote.destroy();
    if (this.udp !== null) this.udp.close();
  }

  /**
   * The control connection closed. A relayed connection is left to the relay:
   * its stack side may still be flushing the client's last bytes before its FIN.
   */
  clientClosed(): void {
    if (this.phase === Phase.Relaying) {
      this.phase = Phase.Closed;
      return;
    }
    this.destroy();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** End the handshake: send `reply` (if any), then close. */
  private fail(reason: string, reply?: Uint8Array): void {
    if (this.phase === Phase.Closed) return;
    this.srv.log({ type: 'handshake-failed', client: this.client, reason });
    this.phase = Phase.Closed;
    this.clearTimer();
    this.sock.removeListener('data', this.onData);
    if (reply !== undefined && this.sock.writable) this.sock.end(reply, () => this.sock.destroy());
    else this.sock.destroy();
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      while (this.phase < Phase.Connecting && this.pending.length > 0) {
        if (!this.step()) return;
      }
    } catch (e) {
      if (!(e instanceof Socks5FormatError)) throw e;
      this.srv.stats.malformed++;
      const reply = e.reply === null ? undefined : this.phase === Phase.Request ? encodeReply(e.reply) : undefined;
      this.fail(`malformed: ${e.message}`, reply);
    }
  }

  /** Consume one message if complete; false when more bytes are needed or the session moved on. */
  private step(): boolean {
    const b = this.pending;
    if (this.phase === Phase.Greeting) {
      const g = parseGreeting(b);
      if (g === null) return false;
      this.pending = b.subarray(g.used);
      const want = this.srv.credentials === null ? SOCKS_METHOD_NONE : SOCKS_METHOD_USERPASS;
      if (!g.methods.includes(want)) {
        this.srv.stats.noAcceptableMethod++;
        this.fail('no acceptable method', Uint8Array.of(SOCKS_VERSION, SOCKS_METHOD_UNACCEPTABLE));
        return false;
      }
      this.sock.write(Uint8Array.of(SOCKS_VERSION, want));
      this.phase = want === SOCKS_METHOD_USERPASS ? Phase.Auth : Phase.Request;
      return true;
    }
    if (this.phase === Phase.Auth) {
      const c = parseCredentials(b);
      if (c === null) return false;
      this.pending = b.subarray(c.used);
      const creds = this.srv.credentials;
      // Both comparisons always run: the time taken does not tell which one failed.
      const userOk = creds !== null && timingSafeEqual(sha256(c.username), creds.user);
      const passOk = creds !== null && timingSafeEqual(sha256(c.password), creds.pass);
      if (!(userOk && passOk)) {
        this.srv.stats.authFailures++;
        this.fail('authentication failed', Uint8Array.of(SOCKS_AUTH_VERSION, 1));
        return false;
      }
      this.sock.write(Uint8Array.of(SOCKS_AUTH_VERSION, 0));
      this.phase = Phase.Request;
      return true;
    }
    const r = parseRequest(b);
    if (r === null) return false;
    this.pending = b.subarray(r.used);
    this.clearTimer();
    this.request(r);
    return false;
  }

  private request(r: Socks5Request): void {
    const stats = this.srv.stats;
    if (r.command !== SOCKS_CMD_CONNECT && r.command !== SOCKS_CMD_UDP_ASSOCIATE) {
      stats.unsupportedCommand++;
      this.fail(`command ${r.command} not supported`, encodeReply(SocksReply.COMMAND_NOT_SUPPORTED));
      return;
    }
    // IPv6 destinations (ATYP 4) connect as any other; a stack without IPv6 answers EAFNOSUPPORT, reply 0x08.
    // Until the reply is sent, what the client sends next waits in the socket (or in `pending`).
    this.sock.removeListener('data', this.onData);
    this.sock.pause();
    this.phase = Phase.Connecting;
    if (r.command === SOCKS_CMD_CONNECT) this.connect(r.atyp === SOCKS_ATYP_DOMAIN, r.host, r.port);
    else this.associate(r);
  }

  private connect(byName: boolean, host: string, port: number): void {
    const srv = this.srv;
    const target = endpoint(host, port);
    const remote = srv.stack.net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    this.remote = remote;
    let lookupFailed = false;
    remote.once('lookup', (err: Error | null) => { lookupFailed = err !== null; });
    const deadline = setTimeout(() => {
      const e = sysError(Errno.ETIMEDOUT, 'connect', host, port);
      remote.destroy(e);
    }, srv.connectTimeoutMs);
    deadline.unref();
    const onError = (e: Error): void => {
      clearTimeout(deadline);
      srv.stats.connectFailures++;
      // A name the stack could not resolve is an unreachable host, whatever the resolver's own error.
      const rep = byName && lookupFailed ? SocksReply.HOST_UNREACHABLE : socksReplyFor(e);
      const code = (e as { code?: string }).code ?? 'ERROR';
      if (rep === SocksReply.ADDRESS_TYPE_NOT_SUPPORTED) srv.stats.unsupportedAddressType++;
      srv.log({ type: 'connect-failed', client: this.client, target, reply: rep, code });
      if (this.phase === Phase.Closed) return;
      this.phase = Phase.Closed;
      if (this.sock.writable) this.sock.end(encodeReply(rep), () => this.sock.destroy());
      else this.sock.destroy();
    };
    remote.once('error', onError);
    remote.once('connect', () => {
      clearTimeout(deadline);
      remote.removeListener('error', onError);
      if (this.phase !== Phase.Connecting) {
        remote.destroy();
        return;
      }
      srv.stats.connects++;
      this.phase = Phase.Relaying;
      const bound = endpoint(remote.localAddress, remote.localPort);
      srv.log({ type: 'connect', client: this.client, target, bound });
      this.sock.write(encodeReply(SocksReply.SUCCEEDED, remote.localAddress ?? '0.0.0.0', remote.localPort ?? 0));
      // Data the client sent right behind its request (optimistic clients) goes first.
      const early = this.pending.length;
      if (early > 0) remote.write(this.pending);
      srv.stats.bytesUp += early;
      this.pending = Buffer.alloc(0);
      relay(this.sock, remote, (up, n) => {
        if (up) srv.stats.bytesUp += n;
        else srv.stats.bytesDown += n;
      }, (counts, error) => {
        srv.log({
          type: 'close', client: this.client, target, up: early + counts.aToB, down: counts.bToA,
          error: error === null ? null : (error as { code?: string }).code ?? error.message,
        });
      });
    });
  }

  private associate(r: Socks5Request): void {
    const srv = this.srv;
    const local = unmapped(this.sock.localAddress ?? '127.0.0.1');
    const cfg = srv.options.host;
    // The relay listens where the control connection arrived when the server listens on every address.
    const bindHost = cfg === '' || cfg === '0.0.0.0' || cfg === '::' ? local : cfg;
    const clientHost = unmapped(this.sock.remoteAddress ?? '');
    const assoc = new UdpAssociation(srv.stack, srv.stats, srv.udpNameCacheSize, bindHost, clientHost, r.port);
    this.udp = assoc;
    assoc.start().then((relayAddr) => {
      if (this.phase !== Phase.Connecting) {
        assoc.close();
        return;
      }
      this.phase = Phase.Udp;
      srv.stats.udpAssociations++;
      srv.log({ type: 'udp-associate', client: this.client, relay: endpoint(relayAddr.address, relayAddr.port) });
      this.sock.write(encodeReply(SocksReply.SUCCEEDED, relayAddr.address, relayAddr.port));
      // The association lives as long as the control connection: read it only to notice its end.
      this.sock.on('data', () => { /* nothing is expected here after the request */ });
      this.sock.once('end', () => this.destroy());
      this.sock.resume();
    }, (e: unknown) => {
      srv.log({ type: 'connect-failed', client: this.client, target: 'udp', reply: SocksReply.GENERAL_FAILURE,
        code: (e as { code?: string }).code ?? 'ERROR' });
      assoc.close();
      if (this.phase !== Phase.Connecting) return;
      this.phase = Phase.Closed;
      this.sock.end(encodeReply(SocksReply.GENERAL_FAILURE), () => this.sock.destroy());
    });
  }
}
