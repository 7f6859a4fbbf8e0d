/**
 * A `node:net`-compatible facade over the descriptor API: `Socket` is a real
 * `stream.Duplex`, `Server` an `EventEmitter`, with Node's events, errors
 * (`code`, `errno`, `syscall`) and options, so code written for `node:net`
 * (http, tls, undici, ws, pipeline()) runs over this stack unchanged.
 *
 * Built only on the public {@link SocketApi}: non-blocking calls and per-socket
 * event callbacks, which run inside the stack's poll. Split by concern:
 * {@link Socket} in net-socket.ts (its design notes: backpressure, end of
 * stream, destroy, errors, time), {@link Server} in net-server.ts, options
 * and argument forms in net-args.ts; this module is the facade and the
 * public entry point.
 */
import { isIPv6 as nodeIsIPv6 } from 'node:net';
import { parseIpv4 } from '../wire/ipv4addr.js';
import type { SockAddr, SocketApi } from './api.js';
import { newSockAddr } from './addr.js';
import { normalizeConnectArgs, type Callback, type ServerOptions, type TcpConnectOptions } from './net-args.js';
import { Server } from './net-server.js';
import { Socket } from './net-socket.js';

export { Socket } from './net-socket.js';
export { Server } from './net-server.js';
export type {
  ConnectArgs, ListenArgs, ListenOptions, NetError, OnReadOptions, ServerOptions, SocketOptions, TcpConnectOptions,
} from './net-args.js';

/** `node:net` over one stack: `stack.net.createServer()`, `stack.net.connect()`. */
export class NetFacade {
  /** One receive scratch buffer shared by every socket of the facade (each chunk is copied out). */
  readonly scratch: Buffer;
  /** A reusable address out-parameter (IPv6 too). */
  readonly addr: SockAddr = newSockAddr();
  /**
   * Resolves host names for connect() (the stack's DNS client) to one
   * address: of `family` 4 or 6, either with 0, IPv4 when omitted (callers
   * that can only use IPv4); null: names fail with ENOTFOUND.
   */
  resolver: ((host: string, family?: number) => Promise<string>) | null = null;

  constructor(readonly api: SocketApi) {
    this.scratch = Buffer.alloc(65536);
  }

  createServer(connectionListener?: (socket: Socket) => void): Server;
  createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
  createServer(a?: ServerOptions | ((socket: Socket) => void), b?: (socket: Socket) => void): Server {
    if (typeof a === 'function') return new Server(this, {}, a);
    return new Server(this, a ?? {}, b);
  }

  /** Open a connection: `connect(port[, host][, listener])` or `connect(options[, listener])`. */
  connect(options: TcpConnectOptions, connectListener?: Callback): Socket;
  connect(port: number | string, host?: string, connectListener?: Callback): Socket;
  connect(port: number | string, connectListener?: Callback): Socket;
  connect(...args: unknown[]): Socket {
    const [opts, cb] = normalizeConnectArgs(args);
    const s = new Socket(this, { allowHalfOpen: opts.allowHalfOpen === true, onread: opts.onread });
    return s.connect(opts, cb);
  }

  /** Alias of {@link connect}. */
  createConnection(options: TcpConnectOptions, connectListener?: Callback): Socket;
  createConnection(port: number | string, host?: string, connectListener?: Callback): Socket;
  createConnection(port: number | string, connectListener?: Callback): Socket;
  createConnection(...args: unknown[]): Socket {
    return (this.connect as (...a: unknown[]) => Socket)(...args);
  }

  /** 4 for an IPv4 literal, 6 for IPv6, 0 otherwise (as `net.isIP`). */
  isIP(input: string): number {
    if (this.isIPv4(input)) return 4;
    return this.isIPv6(input) ? 6 : 0;
  }

  isIPv4(input: string): boolean {
    return typeof input === 'string' && parseIpv4(input) >= 0;
  }

  isIPv6(input: string): boolean {
    return typeof input === 'string' && nodeIsIPv6(input);
  }
}
