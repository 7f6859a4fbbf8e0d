/** The `node:net` facade's TCP listener, {@link Server}. */
import { EventEmitter } from 'node:events';
import { isIPv6 as nodeIsIPv6, type AddressInfo } from 'node:net';
import { Errno, codeError, lookupError as notFound, sysError } from '../engine/errno.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import { EV_READABLE, IPV6_V6ONLY, type SockAddr } from './api.js';
import { familyName, formatSockAddr, newSockAddr } from './addr.js';
import {
  isOptionsObject, toPort, type Callback, type ListenArgs, type ListenOptions, type ServerOptions,
} from './net-args.js';
import { Socket } from './net-socket.js';
import type { NetFacade } from './net.js';

/** A TCP listener with the events and methods of Node's `net.Server`. */
export class Server extends EventEmitter {
  /** Refuse (close) connections beyond this many. */
  maxConnections: number | undefined = undefined;
  private fd = -1;
  private closing = false;
  private closeEmitted = false;
  private readonly connections = new Set<Socket>();
  private readonly options: ServerOptions;
  /** The peer accept() reports. */
  private readonly from: SockAddr = newSockAddr();
  private readonly onEvent: (fd: number, events: number) => void;
  /** One listener for every accepted socket's 'close' (the socket is `this`). */
  private readonly onConnectionClose: (this: Socket) => void;

  constructor(readonly net: NetFacade, options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super();
    this.options = { ...options };
    if (connectionListener !== undefined) this.on('connection', connectionListener);
    this.onEvent = (fd, events) => {
      if (fd === this.fd && (events & EV_READABLE) !== 0) this.acceptAll();
    };
    const server = this; // the listener's `this` is the socket
    this.onConnectionClose = function (this: Socket): void {
      server.connections.delete(this);
      server.maybeEmitClose();
    };
  }

  get listening(): boolean {
    return this.fd >= 0;
  }

  /**
   * `listen([port[, host[, backlog]]][, callback])` or `listen(options[, callback])`.
   * 'listening' (or 'error' with syscall 'listen') follows asynchronously.
   */
  listen(port?: number | string | null, host?: string, backlog?: number, listeningListener?: Callback): this;
  listen(port?: number | string | null, host?: string, listeningListener?: Callback): this;
  listen(port?: number | string | null, backlog?: number, listeningListener?: Callback): this;
  listen(port?: number | string | null, listeningListener?: Callback): this;
  listen(options: ListenOptions, listeningListener?: Callback): this;
  listen(listeningListener?: Callback): this;
  listen(...args: ListenArgs): this {
    let port: number | string | undefined;
    let host: string | undefined;
    let backlog: number | undefined;
    let cb: Callback | undefined;
    let signal: AbortSignal | undefined;
    let ipv6Only = false;
    const first = args[0];
    if (isOptionsObject(first)) {
      const o = first as ListenOptions;
      port = o.port;
      host = o.host;
      ipv6Only = o.ipv6Only === true;
      backlog = o.backlog;
      signal = o.signal;
      if (typeof args[1] === 'function') cb = args[1];
    } else {
      let k = 0;
      for (const a of args) {
        if (typeof a === 'function') cb = a as Callback;
        else if (k === 0) {
          if (a !== undefined && a !== null) port = a as number | string;
          k++;
        } else if (typeof a === 'string') host = a;
        else if (typeof a === 'number') backlog = a;
      }
    }
    if (this.fd >= 0) throw codeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    const p = port === undefined ? 0 : toPort(port, true);
    if (cb !== undefined) this.once('listening', cb);
    this.closing = false;
    this.closeEmitted = false;
    const api = this.net.api;
    // No host: '::' (dual stack) as Node's setupListenHandle, or '0.0.0.0' when
    // the stack has no IPv6 (Node falls back the same way when '::' fails).
    const anyHost = host === undefined || host === '';
    let bindHost: string = host === undefined || host === '' ? '::' : host;
    const fail = (e: Error): this => {
      process.nextTick(() => this.emit('error', e));
      return this;
    };
    let v6 = nodeIsIPv6(bindHost);
    if (parseIpv4(bindHost) < 0 && !v6) return fail(notFound(bindHost));
    let fd = api.socket('tcp', v6 ? 6 : 4);
    if (fd === -Errno.EAFNOSUPPORT && anyHost) {
      bindHost = '0.0.0.0';
      v6 = false;
      fd = api.socket('tcp', 4);
    }
    if (fd < 0) return fail(sysError(-fd, 'listen', bindHost, p));
    let r = v6 && ipv6Only ? api.setsockopt(fd, IPV6_V6ONLY, 1) : 0;
    if (r >= 0) r = api.bind(fd, bindHost, p);
    if (r >= 0) r = api.listen(fd, backlog ?? 511);
    if (r < 0) {
      api.close(fd);
      return fail(sysError(-r, 'listen', bindHost, p));
    }
    this.fd = fd;
    api.setCallback(fd, this.onEvent);
    if (signal !== undefined) {
      if (signal.aborted) process.nextTick(() => this.close());
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    process.nextTick(() => {
      if (this.fd === fd) this.emit('listening');
    });
    return this;
  }

  private acceptAll(): void {
    const api = this.net.api;
    const o = this.options;
    // accept()'s own out-parameter: the socket's constructor fills the facade's shared one (cacheAddresses).
    const from = this.from;
    while (this.fd >= 0) {
      const c = api.accept(this.fd, from);
      if (c < 0) break;
      if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
        const a: SockAddr = this.net.addr;
        const drop: Record<string, string | number | undefined> = {
          localAddress: undefined, localPort: undefined, remoteAddress: formatSockAddr(from), remotePort: from.port, remoteFamily: familyName(from),
        };
        if (api.getsockname(c, a) === 0) {
          drop.localAddress = formatSockAddr(a);
          drop.localPort = a.port;
        }
        api.close(c);
        this.emit('drop', drop);
        continue;
      }
      const sock = new Socket(this.net, { fd: c, allowHalfOpen: o.allowHalfOpen === true, pauseOnCreate: o.pauseOnConnect === true, onread: o.onread });
      sock.server = this;
      if (sock.remoteAddress === undefined) {
        // getpeername() may not know TCP peers; accept() reported this one.
        sock.remoteAddress = formatSockAddr(from);
        sock.remotePort = from.port;
        sock.remoteFamily = familyName(from);
      }
      if (o.noDelay === true) sock.setNoDelay(true);
      if (o.keepAlive === true) sock.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
      this.connections.add(sock);
      sock.on('close', this.onConnectionClose); // 'close' comes once: no once() wrapper, no closure per connection
      this.emit('connection', sock);
    }
  }

  /** `{ address, family: 'IPv4' | 'IPv6', port }` while listening, else null. */
  address(): AddressInfo | null {
    if (this.fd < 0) return null;
    const a: SockAddr = this.net.addr;
    if (this.net.api.getsockname(this.fd, a) < 0) return null;
    return { address: formatSockAddr(a), family: familyName(a), port: a.port };
  }

  /**
   * Stop accepting connections. 'close' (and the callback) follow once every
   * accepted connection has closed; the callback gets ERR_SERVER_NOT_RUNNING
   * when the server was not listening.
   */
  close(callback?: (err?: Error) => void): this {
    if (callback !== undefined) {
      if (this.fd < 0) {
        this.once('close', () => callback(codeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else {
        this.once('close', () => callback());
      }
    }
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.net.api.setCallback(fd, null);
      this.net.api.close(fd);
      this.closing = true;
      this.closeEmitted = false;
      this.maybeEmitClose();
    } else if (this.connections.size === 0) {
      process.nextTick(() => this.emit('close')); // not running: 'close' at once, as Node
    }
    return this;
  }

  private maybeEmitClose(): void {
    if (!this.closing || this.fd >= 0 || this.connections.size > 0 || this.closeEmitted) return;
    this.closeEmitted = true;
    process.nextTick(() => this.emit('close'));
  }

  /** Number of open accepted connections (asynchronously, as Node). */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** Accepted for compatibility: the stack's driver, not a server, keeps the event loop alive. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
