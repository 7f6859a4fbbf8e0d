/**
 * An HTTP proxy on the HOST that dials INTO a stack, as wireproxy's `[http]`
 * section: `curl -x`, `HTTPS_PROXY=` and Node's env-proxy support use it.
 *
 * - CONNECT host:port (RFC 9110 §9.3.6): a `stack.net` connection, then
 *   "200 Connection Established" and bytes relayed both ways (TLS stays
 *   end to end, the proxy never sees it).
 * - Absolute-form requests (RFC 9112 §3.2.2, `GET http://host/path`): the
 *   request is sent again in origin form over a `stack.net` connection with
 *   Node's own `http` client, hop-by-hop headers removed (RFC 9110 §7.6.1),
 *   and the answer streamed back.
 *
 * Parsing is Node's `http` server's, not ours. Names are resolved by the
 * stack (its DNS, the tunnel's), never by the host. With credentials, a
 * request without a matching `Proxy-Authorization: Basic` header (RFC 9110
 * §11.7.1, RFC 7617) gets 407 and `Proxy-Authenticate`. Every refusal is
 * counted in `stats`.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Stack } from '../stack.js';
import type { Socket as StackSocket } from '../socket/net.js';
import { relay, swallowErrors } from './relay.js';

/** Options of {@link createHttpProxy}. */
export interface HttpProxyOptions {
  /** Host address to listen on (normally loopback: '127.0.0.1'). */
  host: string;
  /** Host port (0: ephemeral, see `address()`). */
  port: number;
  /** With `password`: require Basic proxy authentication. */
  username?: string;
  password?: string;
  /** A tunnel connection must be established within this (ms, default 30000), else 504. */
  connectTimeoutMs?: number;
}

/** Counters of an {@link HttpProxy}; each refusal increments exactly one. */
export interface HttpProxyStats {
  /** CONNECT requests relayed (200 sent). */
  connects: number;
  /** Absolute-form requests forwarded. */
  forwarded: number;
  /** 407: missing or wrong credentials. */
  authFailures: number;
  /** 400: origin-form request, a scheme other than http:, a bad CONNECT target. */
  badRequests: number;
  /** 502/504: the tunnel connection failed or timed out. */
  upstreamFailures: number;
  /** Bytes client → stack and stack → client over CONNECTs, live. */
  bytesUp: number;
  bytesDown: number;
}

/** A running HTTP proxy. */
export interface HttpProxy {
  readonly stats: Readonly<HttpProxyStats>;
  /** Where the proxy listens on the host. */
  address(): net.AddressInfo;
  /** Stop listening and end every connection. */
  close(): Promise<void>;
}

/** Hop-by-hop header fields (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade']);

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `host:port` of a CONNECT target (IPv4 or a name; no IPv6 in brackets: the stack is IPv4 only). */
function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(target);
  if (m === null) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : null;
}

/** The headers to send on: everything but hop-by-hop fields and those named in Connection. */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== ''));
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  }
  return out;
}

/** Start an HTTP proxy on the host that connects through `stack`. Resolves once listening. */
export async function createHttpProxy(stack: Stack, options: HttpProxyOptions): Promise<HttpProxy> {
  const p = new HttpProxyImpl(stack, options);
  await p.listen();
  return p;
}

class HttpProxyImpl implements HttpProxy {
  readonly stats: HttpProxyStats = {
    connects: 0, forwarded: 0, authFailures: 0, badRequests: 0, upstreamFailures: 0, bytesUp: 0, bytesDown: 0,
  };
  private readonly server: http.Server;
  /** SHA-256 of the expected `user:password`, compared in constant time; null: no authentication. */
  private readonly credentials: Buffer | null;
  private readonly connectTimeoutMs: number;
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly stack: Stack, private readonly options: HttpProxyOptions) {
    const { username, password } = options;
    if ((username === undefined) !== (password === undefined)) {
      throw new TypeError('http proxy: give both username and password, or neither');
    }
    if (username !== undefined && username.includes(':')) throw new RangeError('http proxy: a Basic username cannot contain ":" (RFC 7617)');
    this.credentials = username !== undefined ? sha256(`${username}:${password ?? ''}`) : null;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req: http.IncomingMessage, sock: Duplex, head: Buffer) => this.connect(req, sock, head));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  address(): net.AddressInfo {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('http proxy: not listening');
    return a;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const t of [...this.tunnels]) t.destroy();
    });
  }

  /** True when the request carries the configured credentials (always, without credentials). */
  private authorized(req: http.IncomingMessage): boolean {
    if (this.credentials === null) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers['proxy-authorization'] ?? '');
    if (m === null) return false;
    return timingSafeEqual(sha256(Buffer.from(m[1], 'base64').toString('utf8')), this.credentials);
  }

  /** A connection to `host:port` through the stack; resolves once established, rejects on failure or timeout. */
  private dial(host: string, port: number): Promise<StackSocket> {
    return new Promise((resolve, reject) => {
      const s = this.stack.net.connect({ host, port, allowHalfOpen: true, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(Object.assign(new Error(`connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
      }, this.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private connect(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
    swallowErrors(client);
    const refuse = (status: number, text: string, extra = ''): void => {
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (!this.authorized(req)) {
      this.stats.authFailures++;
      refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="wirestack"\r\n');
      return;
    }
    const target = parseAuthority(req.url ?? '');
    if (target === null) {
      this.stats.badRequests++;
      refuse(400, 'Bad Request');
      return;
    }
    this.tunnels.add(client);
    client.once('close', () => this.tunnels.delete(client));
    this.dial(target.host, target.port).then((up) => {
      if (client.destroyed) {
        up.destroy();
        return;
      }
      this.stats.connects++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      relay(client as net.Socket, up, (fromClient, n) => {
        if (fromClient) this.stats.bytesUp += n;
        else this.stats.bytesDown += n;
      });
    }, (e: NodeJS.ErrnoException) => {
      this.stats.upstreamFailures++;
      refuse(e.code === 'ETIMEDOUT' ? 504 : 502, e.code === 'ETIMEDOUT' ? 'Gateway Timeout' : 'Bad Gateway');
    });
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.authorized(req)) {
      this.stats.authFailures++;
      req.resume();
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="wirestack"', 'content-length': 0, connection: 'close' }).end();
      return;
    }
    let url: URL | null = null;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = null;
    }
    if (url === null || url.protocol !== 'http:' || url.hostname.startsWith('[')) {
      // Origin-form means the client took us for the server; https: in absolute form is not proxied (use CONNECT).
      this.stats.badRequests++;
      req.resume();
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('wirestack http proxy: absolute http:// URLs or CONNECT only\n');
      return;
    }
    const host = url.hostname;
    const port = url.port === '' ? 80 : Number(url.port);
    const headers = endToEnd(req.headers);
    this.dial(host, port).then((sock) => {
      this.stats.forwarded++;
      const up = http.request({
        method: req.method, path: `${url.pathname}${url.search}`, headers, createConnection: () => sock,
      }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      });
      up.once('error', () => {
        if (!res.headersSent) {
          this.stats.upstreamFailures++;
          res.writeHead(502, { connection: 'close' }).end();
        } else {
          res.destroy();
        }
      });
      res.once('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    }, (e: NodeJS.ErrnoException) => {
      this.stats.upstreamFailures++;
      req.resume();
      res.writeHead(e.code === 'ETIMEDOUT' ? 504 : 502, { 'content-type': 'text/plain', connection: 'close' })
        .end(`wirestack http proxy: ${host}:${port}: ${e.code ?? e.message}\n`);
    });
  }
}
