/**
 * HTTP and HTTPS servers over a stack: Node's own `http.Server` /
 * `https.Server` do all the protocol work (parsing, keep-alive, chunking,
 * upgrades, TLS); this module only feeds them connections accepted by the
 * stack's `node:net`-compatible listener, with `server.emit('connection',
 * socket)`. For https, `tls.Server`'s own 'connection' handler wraps each of
 * our sockets in a `tls.TLSSocket`.
 *
 * Node's connection timeouts work on these sockets as on its own: an
 * http.Server checks `headersTimeout`/`requestTimeout` every
 * `connectionsCheckingInterval` for every connection it was given (the check
 * starts on 'listening', which this module emits), `keepAliveTimeout` is a
 * `socket.setTimeout()` after each response, and https adds the TLS
 * `handshakeTimeout`. Connections these timeouts closed are counted by cause
 * in {@link HttpApp.timeoutCloses}.
 *
 * Also {@link staticFiles}, a GET/HEAD file handler over the `send` library
 * (Range, ETag and conditional GET).
 */
import http from 'node:http';
import https from 'node:https';
import send from 'send';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Stack } from '../stack.js';
import type { Server as NetServer, Socket as NetSocket } from '../socket/net.js';

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Connections closed because one of Node's server timeouts expired, by cause. */
export interface HttpTimeoutCloses {
  /**
   * No complete request headers within `server.headersTimeout`: among them
   * every connection that never sent a byte (the first request's clock starts
   * when the connection is handed to the server).
   */
  headers: number;
  /** Headers arrived but the whole request not within `server.requestTimeout`. */
  request: number;
  /** Idle after a response for `server.keepAliveTimeout` (no next request). */
  keepAlive: number;
  /** HTTPS only: no TLS handshake within `server.handshakeTimeout`. */
  handshake: number;
}

/** An HTTP(S) server listening on a stack. */
export interface HttpApp<S extends http.Server = http.Server> {
  /** Node's server object: its events, options (keepAliveTimeout, ...) and 'upgrade'. */
  readonly server: S;
  /** The stack's TCP listener feeding it. */
  readonly listener: NetServer;
  /** Listen on `port` (0: ephemeral) of `host` (default any); `cb` on 'listening'. Errors go to the node server's 'error'. */
  listen(port: number, cb?: () => void): this;
  listen(port: number, host: string, cb?: () => void): this;
  /**
   * Stop accepting, close idle keep-alive connections (and each busy one
   * after its current response); `cb` once every connection has closed.
   */
  close(cb?: (err?: Error) => void): this;
  address(): AddressInfo | null;
  /** Open connections (TCP). */
  readonly connections: number;
  /** Connections closed by a timeout since creation, by cause (counters only grow). */
  readonly timeoutCloses: Readonly<HttpTimeoutCloses>;
}

/** What a connection watcher needs of a socket (ours for http, Node's TLSSocket for https). */
interface Watched {
  on(event: 'timeout', f: () => void): unknown;
  on(event: 'error', f: (e: Error) => void): unknown;
  on(event: 'close', f: () => void): unknown;
}

/** A watched connection's state, kept on the socket under {@link kWatch}. */
interface WatchState {
  /** The app counting the connection: its timeout closes and open connections. */
  readonly app: { open: number; readonly timeoutCloses: HttpTimeoutCloses };
  /** Why Node closed it, once known. */
  cause: keyof HttpTimeoutCloses | null;
  /** Node emitted 'timeout' (the keep-alive timeout after a response). */
  idle: boolean;
  /** The latest request read from this socket, if any. */
  req: http.IncomingMessage | null;
  /** Counted in App.open (the plain TCP socket of http; a TLSSocket of https is not). */
  readonly counted: boolean;
}

const kWatch = Symbol('wirestack.http.watch');
type WithWatch = Watched & { [kWatch]?: WatchState };

// Shared listeners of every watched socket (the socket is `this`): no closures per connection.
function watchTimeout(this: WithWatch): void {
  const w = this[kWatch];
  if (w !== undefined) w.idle = true;
}

function watchError(this: WithWatch, e: Error): void {
  const w = this[kWatch];
  if (w === undefined || (e as NodeJS.ErrnoException).code !== 'ERR_HTTP_REQUEST_TIMEOUT' || w.cause !== null) return;
  w.cause = w.req !== null && !w.req.complete ? 'request' : 'headers';
}

function watchClose(this: WithWatch): void {
  const w = this[kWatch];
  if (w === undefined) return;
  if (w.cause === null && w.idle && w.req !== null) w.cause = 'keepAlive';
  if (w.cause !== null) w.app.timeoutCloses[w.cause]++;
  if (w.counted) w.app.open--;
}

class App<S extends http.Server> implements HttpApp<S> {
  readonly listener: NetServer;
  private closing = false;
  /** Open connections (TCP); watchClose() counts them down. */
  open = 0;
  private readonly inFlight = new Set<http.ServerResponse>();
  readonly timeoutCloses: HttpTimeoutCloses = { headers: 0, request: 0, keepAlive: 0, handshake: 0 };

  constructor(stack: Stack, readonly server: S, handler: HttpHandler | undefined, tls: boolean) {
    // Registered before the handler: once closing, responses end their connection.
    // One listener for every response's and connection's 'close' (the emitter is `this`; 'close' comes
    // once, so on() without once()'s wrapper): no closure per request or connection.
    const inFlight = this.inFlight;
    const responseClosed = function (this: http.ServerResponse): void {
      inFlight.delete(this);
    };
    const connectionClosed = (): void => {
      this.open--;
    };
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (this.closing) res.setHeader('connection', 'close');
      inFlight.add(res);
      // The latest request of the connection, on the socket Node's HTTP layer reads (a plain property: a
      // WeakMap entry per request cost the garbage collector an ephemeron each).
      const w = (req.socket as WithWatch)[kWatch];
      if (w !== undefined) w.req = req;
      res.on('close', responseClosed);
    });
    if (tls) {
      // The HTTP layer reads the TLSSocket wrapping ours: its timeouts show there.
      server.on('secureConnection', (sock: Watched) => this.watch(sock, false));
      // Listening does not change what Node does (it destroys the socket either way).
      server.on('tlsClientError', (e: Error) => {
        if ((e as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT') this.timeoutCloses.handshake++;
      });
    }
    if (handler !== undefined) server.on('request', handler);
    this.listener = stack.net.createServer({ noDelay: true }, (socket: NetSocket) => {
      this.open++;
      if (tls) socket.on('close', connectionClosed);
      else this.watch(socket, true);
      server.emit('connection', socket);
    });
    this.listener.on('error', (e: Error) => server.emit('error', e));
    // Node's servers start their connection tracking (idle/timeout checks) on 'listening'.
    this.listener.on('listening', () => server.emit('listening'));
  }

  get connections(): number {
    return this.open;
  }

  /**
   * Classify why a connection closed, from what Node did to it: a request
   * timeout (headers or whole request) destroys the socket with
   * ERR_HTTP_REQUEST_TIMEOUT; a keep-alive timeout emits 'timeout' and then
   * destroys it without an error. Our listeners change nothing in Node's
   * handling (it checks the server's and the message's listeners, not the socket's).
   */
  private watch(sock: Watched, counted: boolean): void {
    const w: WatchState = { app: this, cause: null, idle: false, req: null, counted };
    (sock as WithWatch)[kWatch] = w;
    sock.on('timeout', watchTimeout);
    sock.on('error', watchError);
    sock.on('close', watchClose); // 'close' comes once: no once() wrapper
  }

  listen(port: number, hostOrCb?: string | (() => void), cb?: () => void): this {
    const host = typeof hostOrCb === 'string' ? hostOrCb : undefined;
    const done = typeof hostOrCb === 'function' ? hostOrCb : cb;
    this.closing = false;
    if (done !== undefined) this.listener.once('listening', done);
    if (host === undefined) this.listener.listen(port);
    else this.listener.listen(port, host);
    return this;
  }

  close(cb?: (err?: Error) => void): this {
    this.closing = true;
    // Responses under way end their connection when done (no further keep-alive requests).
    for (const res of this.inFlight) {
      if (!res.headersSent) res.setHeader('connection', 'close');
      else {
        const socket = res.socket;
        if (socket !== null) res.once('finish', () => socket.end());
      }
    }
    this.listener.close(cb);
    // Node's close(): closes idle connections and stops its timers (it never listened itself,
    // so its own 'close' follows at once).
    this.server.close();
    return this;
  }

  address(): AddressInfo | null {
    return this.listener.address();
  }
}

/** An HTTP server on the stack, built on `http.createServer()`. */
export function createHttpServer(stack: Stack, handler?: HttpHandler, options: http.ServerOptions = {}): HttpApp<http.Server> {
  return new App(stack, http.createServer(options), handler, false);
}

/** Options of {@link createHttpsServer}: the key and certificate, and anything `https.createServer()` takes. */
export type HttpsAppOptions = https.ServerOptions & { key: string | Buffer; cert: string | Buffer };

/** An HTTPS server on the stack, built on `https.createServer()` (TLS by Node). */
export function createHttpsServer(stack: Stack, options: HttpsAppOptions, handler?: HttpHandler): HttpApp<https.Server> {
  return new App(stack, https.createServer(options), handler, true);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.pcap': 'application/vnd.tcpdump.pcap',
};

/** The Content-Type for a file name ('application/octet-stream' when unknown). */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

function plain(res: http.ServerResponse, status: number, text: string, head: boolean, extra: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra,
  });
  res.end(head ? undefined : body);
}

/**
 * A handler serving the files under `dir` for GET and HEAD through `send`:
 * Range requests (206, RFC 9110 section 14), ETag and Last-Modified with
 * If-None-Match / If-Modified-Since (304, RFC 9110 section 13),
 * Content-Type by extension ({@link contentTypeOf}), `index.html` for
 * directories. 404 when missing and for names starting with '.', 403 for any
 * path that would leave `dir` ('..' segments, encoded or not, NUL bytes,
 * symbolic links pointing outside), 405 for other methods.
 */
export function staticFiles(dir: string): HttpHandler {
  const root = resolve(dir);
  let realRoot: Promise<string> | null = null;
  return (req, res) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      plain(res, 405, 'Method Not Allowed', false, { allow: 'GET, HEAD' });
      return;
    }
    const raw = (req.url ?? '/').split('?')[0].split('#')[0];
    let path: string;
    try {
      path = decodeURIComponent(raw);
    } catch {
      plain(res, 400, 'Bad Request', head);
      return;
    }
    const segments = path.split(/[\\/]+/);
    if (!path.startsWith('/') || path.includes('\0') || segments.some((s) => s === '..')) {
      plain(res, 403, 'Forbidden', head);
      return;
    }
    // Hidden files (.git, .env, ...) are not served, as serve-static's default.
    if (segments.some((s) => s.startsWith('.'))) {
      plain(res, 404, 'Not Found', head);
      return;
    }
    const target = resolve(join(root, ...segments));
    if (target !== root && !target.startsWith(root + sep)) {
      plain(res, 403, 'Forbidden', head);
      return;
    }
    if (realRoot === null) realRoot = realpath(root);
    void serveFile(req, res, head, target, realRoot);
  };
}

async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, head: boolean, target: string,
  realRoot: Promise<string>): Promise<void> {
  let file = target;
  let real: string;
  try {
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    if (!st.isFile()) throw new Error('not a file');
    real = await realpath(file);
  } catch {
    plain(res, 404, 'Not Found', head);
    return;
  }
  const base = await realRoot;
  if (real !== base && !real.startsWith(base + sep)) {
    plain(res, 403, 'Forbidden', head); // a symbolic link out of the tree
    return;
  }
  // The checked real path, absolute (send's own '..' and dot-file checks then see nothing to refuse).
  const stream = send(req, real.split(sep).map(encodeURIComponent).join('/'), { dotfiles: 'allow', index: false });
  // Our content types (charset spelled as before), set before send picks its own.
  stream.on('headers', (r: http.ServerResponse) => r.setHeader('content-type', contentTypeOf(file)));
  stream.on('error', (e: { status?: number }) => {
    const status = e.status ?? 500;
    if (res.headersSent) res.destroy();
    else plain(res, status, http.STATUS_CODES[status] ?? 'Error', head);
  });
  stream.pipe(res);
}
