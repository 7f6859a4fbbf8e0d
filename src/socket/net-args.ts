/**
 * Options, argument forms and the small helpers shared by the `node:net`
 * facade's {@link Socket} (net-socket.ts), {@link Server} (net-server.ts) and
 * {@link NetFacade} (net.ts).
 */
import { codeError } from '../engine/errno.js';
import type { OnReadOptions } from './net-onread.js';

export type { OnReadOptions } from './net-onread.js';

/** A Node-style system error: `code`, negative `errno`, `syscall`, and the endpoint when known. */
export interface NetError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** Options of `new Socket(net, options)`. */
export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (default false, as Node). */
  allowHalfOpen?: boolean;
  /** Adopt an existing connected TCP descriptor of the same stack (as Node's `fd`). */
  fd?: number;
  /** With `fd`: do not start reading until `resume()` (Node's pauseOnCreate). */
  pauseOnCreate?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  /** Abort a pending connect or an open connection with this signal. */
  signal?: AbortSignal;
  /** Received chunks go into one reusable buffer and to a callback, not to the stream (Node's `onread`; see net-onread.ts). */
  onread?: OnReadOptions;
  /**
   * TCP_NODELAY from the start. Default false: Nagle's algorithm on, exactly
   * as Node's own `net.Socket`/`net.connect()`/`net.createServer()` (Node
   * v20.20.2 lib/net.js: `Boolean(options.noDelay)`). Node's `http`/`https`
   * set it true themselves (the http Agent's and http.Server's `noDelay`
   * default true), as does this package's HTTP server (src/apps/http.ts).
   */
  noDelay?: boolean;
}

/** Options of {@link Socket.connect} and {@link NetFacade.connect}. */
export interface TcpConnectOptions {
  port: number | string;
  /** An IPv4 or IPv6 literal or a name; default '127.0.0.1' (Node's 'localhost'). */
  host?: string;
  localAddress?: string;
  localPort?: number;
  /**
   * TCP_NODELAY from the start. Default false: Nagle's algorithm on, exactly
   * as Node's own `net.Socket`/`net.connect()`/`net.createServer()` (Node
   * v20.20.2 lib/net.js: `Boolean(options.noDelay)`). Node's `http`/`https`
   * set it true themselves (the http Agent's and http.Server's `noDelay`
   * default true), as does this package's HTTP server (src/apps/http.ts).
   */
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Idle timeout (ms, real time), as `socket.setTimeout(timeout)`. */
  timeout?: number;
  allowHalfOpen?: boolean;
  /** 0 (default), 4 or 6: the address family a host name is looked up in (IP literals ignore it, as in Node). */
  family?: number;
  signal?: AbortSignal;
  /** Received chunks go into one reusable buffer and to a callback, not to the stream (Node's `onread`; see net-onread.ts). */
  onread?: OnReadOptions;
}

/** Options of {@link NetFacade.createServer}. */
export interface ServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  /**
   * TCP_NODELAY on every accepted connection. Default false: Nagle's algorithm on, exactly
   * as Node's own `net.Socket`/`net.connect()`/`net.createServer()` (Node
   * v20.20.2 lib/net.js: `Boolean(options.noDelay)`). Node's `http`/`https`
   * set it true themselves (the http Agent's and http.Server's `noDelay`
   * default true), as does this package's HTTP server (src/apps/http.ts).
   */
  noDelay?: boolean;
  keepAlive?: boolean;
  /** ms */
  keepAliveInitialDelay?: number;
  /**
   * Node's `onread` for every accepted connection (an extension: Node's
   * `net.createServer` has no such option, its accepted sockets always emit
   * 'data'). Each connection gets its own state: with a function `buffer`,
   * it is called once per connection at the start (and after each callback),
   * so connections need not share a buffer; the callback runs with the
   * connection's socket as `this`, as Node calls it. See net-onread.ts.
   */
  onread?: OnReadOptions;
}

/** Options of {@link Server.listen}. */
export interface ListenOptions {
  port?: number | string;
  /** Default '::' as Node (both families unless `ipv6Only`; '0.0.0.0' on a stack built with `ipv6: false`). */
  host?: string;
  /** With an IPv6 host: IPV6_V6ONLY, no IPv4 connections through '::' (as Node). */
  ipv6Only?: boolean;
  backlog?: number;
  signal?: AbortSignal;
}

export type Callback = () => void;
export type WriteCallback = (error?: Error | null) => void;

/** The signature Node's `net.connect()` accepts. */
export type ConnectArgs =
  | [options: TcpConnectOptions, connectListener?: Callback]
  | [port: number | string, connectListener?: Callback]
  | [port: number | string, host?: string, connectListener?: Callback];

/** The signature Node's `server.listen()` accepts (TCP only). */
export type ListenArgs = Array<number | string | ListenOptions | Callback | undefined | null>;


/** Node's port validation: an integer (or numeric string) in range, 0 only where allowed. */
export function toPort(p: unknown, allowZero: boolean): number {
  const n = typeof p === 'string' && p.trim() !== '' ? Number(p) : p;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    throw codeError('ERR_SOCKET_BAD_PORT', `Port should be >= ${allowZero ? 0 : 1} and < 65536. Received ${String(p)}.`,
      RangeError);
  }
  return n;
}

export function isOptionsObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Node's `net.connect()` argument forms, normalized. */
export function normalizeConnectArgs(args: readonly unknown[]): [TcpConnectOptions, Callback | undefined] {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? last as Callback : undefined;
  const first = args[0];
  if (isOptionsObject(first)) return [first as unknown as TcpConnectOptions, cb];
  const opts: TcpConnectOptions = { port: first as number | string };
  if (typeof args[1] === 'string') opts.host = args[1];
  return [opts, cb];
}
