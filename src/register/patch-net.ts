/**
 * TCP of an unmodified program through the tunnel: `net.connect` /
 * `net.createConnection`, `tls.connect`, the `http`/`https` agents (every
 * Agent, the global ones included) and `net.Server.prototype.listen` (so
 * `http.createServer().listen()` too). Each call decides by its destination
 * ({@link decide}): the tunnel gets a `stack.net` socket (TLS on top of it
 * with Node's own `tls`), the host gets the original function. The originals
 * are captured here, before anything is patched.
 *
 * A listener on an unspecified address listens on the host AND on the
 * tunnel address, as a socket bound to 0.0.0.0 on Linux accepts on every
 * interface (the tunnel being one more); on the tunnel address it listens
 * there only. Connections accepted in the stack are emitted as the
 * server's own 'connection' events (a `stream.Duplex` with net.Socket's
 * API, which Node's http server takes as it is).
 */
import { createRequire } from 'node:module';
import type * as netTypes from 'node:net';
import type * as tlsTypes from 'node:tls';
import type * as httpTypes from 'node:http';
import type * as httpsTypes from 'node:https';
import type { Socket as StackSocket, Server as StackServer, TcpConnectOptions } from '../socket/net.js';
import { isLocalhostName, isUnspecified, unmapIpv4, type Side } from './routes.js';
import type { Tunnel } from './tunnel.js';

type Fn = (...args: unknown[]) => unknown;

// The CommonJS module objects (an ESM namespace cannot be assigned to); syncBuiltinESMExports() carries the changes to ESM imports.
const require = createRequire(import.meta.url);
const net = require('node:net') as typeof netTypes;
const tls = require('node:tls') as typeof tlsTypes;
const http = require('node:http') as typeof httpTypes;
const https = require('node:https') as typeof httpsTypes;

type Callback = () => void;

/** Node's functions as they were before `wirestack/register` touched them. */
export const original = {
  netConnect: net.connect as unknown as Fn,
  netCreateConnection: net.createConnection as unknown as Fn,
  tlsConnect: tls.connect as unknown as Fn,
  listen: net.Server.prototype.listen as unknown as Fn,
  close: net.Server.prototype.close as unknown as Fn,
  address: net.Server.prototype.address as unknown as Fn,
  httpAgentCreateConnection: http.Agent.prototype.createConnection as unknown as Fn,
  httpsAgentCreateConnection: (https.Agent.prototype as unknown as { createConnection: Fn }).createConnection,
};

/**
 * Where a TCP destination goes. IP literals by the routes (AllowedIPs);
 * 'localhost' to the host; other names through the tunnel when its config
 * names DNS servers (they are resolved there, as wg-quick's resolv.conf
 * would have them), else to the host (resolved by the host, not re-routed).
 */
export function decide(tunnel: Tunnel, host: string): Side {
  if (net.isIP(host) !== 0) return tunnel.routes.route(host);
  if (isLocalhostName(host)) return 'host';
  return tunnel.hasDns ? 'tunnel' : 'host';
}

/** A pipe (Unix socket) path: Node's own option, which the http Agent sets to null for TCP. */
function isPipe(path: unknown): boolean {
  return typeof path === 'string' && path !== '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Node's `net.connect()` argument forms: options (with host/port or path), callback. */
function normalizeConnect(args: readonly unknown[]): { options: Record<string, unknown>; cb: Callback | undefined } {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? last as Callback : undefined;
  const first = args[0];
  if (isObject(first)) return { options: first, cb };
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { options: { path: first }, cb }; // a pipe path
  const options: Record<string, unknown> = { port: first };
  if (typeof args[1] === 'string') options.host = args[1];
  return { options, cb };
}

/** The host of connect options as Node defaults it. */
function hostOf(options: Record<string, unknown>): string {
  return typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
}

/** A `stack.net` connection for the program, holding the process alive until it closes. */
export function tunnelConnect(tunnel: Tunnel, options: Record<string, unknown>, cb?: Callback): StackSocket {
  const o: TcpConnectOptions = { port: options.port as number | string, host: hostOf(options) };
  for (const k of ['localPort', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'timeout', 'allowHalfOpen', 'signal'] as const) {
    if (options[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = options[k];
  }
  const s = tunnel.stack.net.connect(o, cb);
  holdWhileOpen(tunnel, s);
  return s;
}

/**
 * Keep the process alive while `s` is open and ref'd, as a host socket's
 * handle does: Node's http Agent unrefs the sockets it keeps idle.
 */
function holdWhileOpen(tunnel: Tunnel, s: StackSocket): void {
  let release: (() => void) | null = tunnel.activity.hold();
  const unhold = (): void => {
    release?.();
    release = null;
  };
  s.once('close', unhold);
  const ref = s.ref.bind(s);
  const unref = s.unref.bind(s);
  Object.assign(s, {
    ref: () => {
      if (release === null && !s.destroyed) release = tunnel.activity.hold();
      return ref();
    },
    unref: () => {
      unhold();
      return unref();
    },
  });
}

/** Per server: the stack listener beside (or instead of) the host one. */
interface Shadow {
  stack: StackServer;
  /** True when the program asked for the tunnel address only: no host handle. */
  only: boolean;
  port: number;
  release: () => void;
}

const shadows = new WeakMap<netTypes.Server, Shadow>();

/** Accept the stack's connections as the server's own. */
function shadowListen(tunnel: Tunnel, server: netTypes.Server, port: number, only: boolean): Shadow {
  const flags = server as unknown as { allowHalfOpen?: boolean; pauseOnConnect?: boolean };
  const stack = tunnel.stack.net.createServer({ allowHalfOpen: flags.allowHalfOpen === true, pauseOnConnect: flags.pauseOnConnect === true });
  stack.on('connection', (s: StackSocket) => {
    holdWhileOpen(tunnel, s);
    server.emit('connection', s);
  });
  const shadow: Shadow = { stack, only, port, release: tunnel.activity.hold() };
  shadows.set(server, shadow);
  return shadow;
}

/** Parse `listen()`'s argument forms into what decides the side; null when it is not a TCP port listen. */
function normalizeListen(args: readonly unknown[]): { port: number; host: string | undefined; backlog: number | undefined; cb: Callback | undefined } | null {
  const first = args[0];
  let port: unknown;
  let host: unknown;
  let backlog: unknown;
  let cb: Callback | undefined;
  if (isObject(first)) {
    if (isPipe(first.path) || first.handle !== undefined || first.fd !== undefined || first._handle !== undefined) return null;
    ({ port, host, backlog } = first);
    if (typeof args[1] === 'function') cb = args[1] as Callback;
  } else {
    if (typeof first === 'string' && !/^\d+$/.test(first)) return null; // a pipe path
    let k = 0;
    for (const a of args) {
      if (typeof a === 'function') cb = a as Callback;
      else if (k++ === 0) port = a;
      else if (typeof a === 'string') host = a;
      else if (typeof a === 'number') backlog = a;
    }
  }
  const p = port === undefined || port === null ? 0 : Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) return null; // Node's own listen reports it
  return { port: p, host: typeof host === 'string' ? host : undefined, backlog: typeof backlog === 'number' ? backlog : undefined, cb };
}

/** Install the TCP patches; returns a function that undoes them. */
export function patchNet(tunnel: Tunnel): () => void {
  const connect = function connect(...args: unknown[]): unknown {
    const { options, cb } = normalizeConnect(args);
    if (isPipe(options.path) || decide(tunnel, hostOf(options)) === 'host') return original.netConnect(...args);
    return tunnelConnect(tunnel, options, cb);
  };

  const tlsConnect = function connect(...args: unknown[]): unknown {
    // tls.connect(options[, cb]), (port[, host][, options][, cb]).
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? last as Callback : undefined;
    let options: Record<string, unknown> = {};
    if (isObject(args[0])) options = { ...args[0] };
    else {
      options.port = args[0];
      if (typeof args[1] === 'string') options.host = args[1];
      const extra = args.find((a, i) => i > 0 && isObject(a));
      if (isObject(extra)) options = { ...extra, ...options };
    }
    if ((options.socket !== undefined && options.socket !== null) || isPipe(options.path) || decide(tunnel, hostOf(options)) === 'host') {
      return original.tlsConnect(...args);
    }
    const host = hostOf(options);
    const socket = tunnelConnect(tunnel, options);
    const servername = options.servername ?? (net.isIP(host) === 0 ? host : undefined);
    const secure = original.tlsConnect({ ...options, host, socket, servername }, cb) as StackSocket;
    // The https Agent unrefs the TLS socket it keeps idle: that must reach the stack socket's hold.
    const ref = secure.ref.bind(secure);
    const unref = secure.unref.bind(secure);
    Object.assign(secure, {
      ref: () => { socket.ref(); return ref(); },
      unref: () => { socket.unref(); return unref(); },
    });
    return secure;
  };

  const listen = function listen(this: netTypes.Server, ...args: unknown[]): netTypes.Server {
    const l = normalizeListen(args);
    if (l === null || shadows.has(this)) return original.listen.apply(this, args) as netTypes.Server;
    if (l.host !== undefined && tunnel.routes.isTunnelAddress(l.host)) {
      // The tunnel address only: no host handle, the stack listener is the server.
      const shadow = shadowListen(tunnel, this, l.port, true);
      if (l.cb !== undefined) this.once('listening', l.cb);
      shadow.stack.once('error', (e: Error) => {
        shadows.delete(this);
        shadow.release();
        this.emit('error', e);
      });
      shadow.stack.once('listening', () => {
        shadow.port = (shadow.stack.address() as netTypes.AddressInfo).port;
        this.emit('listening');
      });
      Object.defineProperty(this, 'listening', { configurable: true, get: () => shadows.get(this)?.stack.listening === true });
      // An IPv6 tunnel address is bound as given; IPv4 (mapped or not) as the tunnel's IPv4 address.
      shadow.stack.listen(l.port, net.isIPv6(unmapIpv4(l.host)) ? l.host : tunnel.address, l.backlog);
      return this;
    }
    if (!isUnspecified(l.host)) return original.listen.apply(this, args) as netTypes.Server;
    // Every interface: the host's, then (before the program hears 'listening') the tunnel's, on the same port.
    this.prependOnceListener('listening', () => {
      const a = original.address.call(this) as netTypes.AddressInfo | null;
      if (a === null || typeof a !== 'object') return;
      const shadow = shadowListen(tunnel, this, a.port, false);
      shadow.stack.once('error', (e: Error) => {
        process.emitWarning(`wirestack/register: cannot also listen on the tunnel address ${tunnel.address}:${a.port}: ${e.message}`);
        shadows.delete(this);
        shadow.release();
      });
      // '::' (or no host) on a tunnel with an IPv6 address: '::' in the stack too, both families as Node's own
      // listener takes them (IPv4 peers then appear as ::ffff:a.b.c.d); '0.0.0.0': the tunnel's IPv4 address.
      const any6 = tunnel.address6 !== null && (l.host === undefined || l.host === '' || net.isIPv6(l.host));
      shadow.stack.listen(a.port, any6 ? '::' : tunnel.address, l.backlog);
    });
    return original.listen.apply(this, args) as netTypes.Server;
  };

  const close = function close(this: netTypes.Server, cb?: (err?: Error) => void): netTypes.Server {
    const shadow = shadows.get(this);
    if (shadow === undefined) return original.close.call(this, cb) as netTypes.Server;
    shadows.delete(this);
    shadow.release();
    shadow.stack.close();
    if (!shadow.only) return original.close.call(this, cb) as netTypes.Server;
    delete (this as unknown as { listening?: boolean }).listening;
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.emit('close'));
    return this;
  };

  const address = function address(this: netTypes.Server): unknown {
    const shadow = shadows.get(this);
    if (shadow !== undefined && shadow.only) return shadow.stack.address() ?? { address: tunnel.address, family: 'IPv4', port: shadow.port };
    return original.address.call(this);
  };

  // Agent.prototype.createConnection was bound to the original net.createConnection when http loaded.
  const httpAgentCreateConnection = function createConnection(this: httpTypes.Agent, ...args: unknown[]): unknown {
    return connect(...args);
  };

  const set = (obj: object, key: string, value: unknown): void => {
    (obj as Record<string, unknown>)[key] = value;
  };
  set(net, 'connect', connect);
  set(net, 'createConnection', connect);
  set(tls, 'connect', tlsConnect);
  set(net.Server.prototype, 'listen', listen);
  set(net.Server.prototype, 'close', close);
  set(net.Server.prototype, 'address', address);
  set(http.Agent.prototype, 'createConnection', httpAgentCreateConnection);
  // https.Agent's own createConnection calls tls.connect at call time: the patch above covers it.
  return () => {
    set(net, 'connect', original.netConnect);
    set(net, 'createConnection', original.netCreateConnection);
    set(tls, 'connect', original.tlsConnect);
    set(net.Server.prototype, 'listen', original.listen);
    set(net.Server.prototype, 'close', original.close);
    set(net.Server.prototype, 'address', original.address);
    set(http.Agent.prototype, 'createConnection', original.httpAgentCreateConnection);
  };
}
