/**
 * `wirestack tap`'s per-connection lines (connection, request, close), in
 * batches through {@link OutBatch}. These come several per connection, so
 * their cost is counted per accepted connection (bench/syn-flood.ts without a
 * flood): each connection gets one small record on its socket and two
 * listeners shared by every socket (no closures per connection), and the JSON
 * lines are built by concatenation, with `JSON.stringify` only for the strings
 * in them (the same text `JSON.stringify` of the whole object gives).
 */
import type http from 'node:http';
import type { OutBatch } from './out-batch.js';

/** A connection's service and peer, kept on its socket for the shared listeners. */
interface Track {
  readonly service: string;
  /** `service` as a JSON string. */
  readonly serviceJson: string;
  readonly remote: string;
}

const kTrack = Symbol('wirestack.tap.track');

/** What the lines need of a connection's socket (ours, or Node's TLSSocket over it). */
export interface TrackedSocket {
  remoteAddress?: string;
  remotePort?: number;
  bytesRead: number;
  bytesWritten: number;
  [kTrack]?: Track;
  destroy(): void;
  on(e: 'error', f: (this: TrackedSocket, e: NodeJS.ErrnoException) => void): unknown;
  on(e: 'close', f: (this: TrackedSocket) => void): unknown;
}

/** The per-connection lines of one `runTap`, and the set of its open sockets. */
export class ConnectionLines {
  /** Open connections (destroyed when tap stops). */
  readonly sockets = new Set<{ destroy(): void }>();
  private readonly onError: (this: TrackedSocket, e: NodeJS.ErrnoException) => void;
  private readonly onClose: (this: TrackedSocket) => void;

  /**
   * @param lines where the lines go (batched)
   * @param json lines as JSON objects (`--json`) instead of text
   * @param fail reports a socket's error (other than a timeout, which is counted per cause elsewhere)
   */
  constructor(private readonly lines: OutBatch, private readonly json: boolean,
    fail: (message: string, fields: Record<string, string>) => void) {
    const sockets = this.sockets;
    this.onError = function (this: TrackedSocket, e: NodeJS.ErrnoException): void {
      // Timeouts are reported per cause (see runTap's reportTimeouts), not per socket.
      const t = this[kTrack];
      if (t !== undefined && e.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && e.code !== 'ERR_TLS_HANDSHAKE_TIMEOUT') {
        fail(e.message, { service: t.service, remote: t.remote });
      }
    };
    this.onClose = function (this: TrackedSocket): void {
      sockets.delete(this);
      const t = this[kTrack];
      if (t === undefined) return;
      lines.line(json ? `{"event":"close","service":${t.serviceJson},"remote":${JSON.stringify(t.remote)},"bytesIn":${this.bytesRead},"bytesOut":${this.bytesWritten}}`
        : `closed: ${t.service} from ${t.remote} (${this.bytesRead} bytes in, ${this.bytesWritten} out)`);
    };
  }

  /** A new connection of `service`: its line now, its close line (and any error) later. */
  track(service: string, sock: TrackedSocket): void {
    // Listeners bind '::' (as Node's): IPv4 peers arrive as ::ffff:a.b.c.d, so IPv6 forms are bracketed.
    const ra = sock.remoteAddress ?? '?';
    const remote = `${ra.includes(':') ? `[${ra}]` : ra}:${sock.remotePort ?? 0}`;
    const t: Track = { service, serviceJson: JSON.stringify(service), remote };
    sock[kTrack] = t;
    this.sockets.add(sock);
    this.lines.line(this.json ? `{"event":"connection","service":${t.serviceJson},"remote":${JSON.stringify(remote)}}`
      : `connection: ${service} from ${remote}`);
    sock.on('error', this.onError);
    sock.on('close', this.onClose); // 'close' comes once: no once() wrapper
  }

  /** A listener for every response of `service`'s server ('close' of a ServerResponse, which is `this`): its request line. */
  requestLine(service: string): (this: http.ServerResponse) => void {
    const serviceJson = JSON.stringify(service);
    const lines = this.lines;
    const json = this.json;
    return function (this: http.ServerResponse): void {
      const req = this.req;
      // A request whose connection closed before any response (e.g. a request timeout) has no status.
      lines.line(json ? `{"event":"request","service":${serviceJson},"method":${JSON.stringify(req.method ?? '')},"url":${JSON.stringify(req.url ?? '')},`
        + `"status":${this.headersSent ? this.statusCode : null}}`
        : `request: ${service} ${req.method ?? ''} ${req.url ?? ''} -> ${this.headersSent ? this.statusCode : 'closed before a response'}`);
    };
  }
}
