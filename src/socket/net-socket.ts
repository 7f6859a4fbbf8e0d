/**
 * The `node:net` facade's TCP connection, {@link Socket}: a real
 * `stream.Duplex` over the descriptor API. Design notes:
 *
 * - Backpressure, writing: `_write`/`_writev` copy as much as `send()` takes
 *   and call back only once every byte of the chunk(s) sits in the TCP send
 *   buffer; when `send()` says -EAGAIN the rest waits for EV_WRITABLE. So the
 *   Writable's buffer (`writableLength`) holds at most what the producer wrote
 *   beyond `writableHighWaterMark`, and `write()` returns false while the TCP
 *   send buffer is full: `pipe()`/`pipeline()` stop the producer.
 * - Segments: each `write()` is one send, as each is one system call in
 *   Node's net; chunks gathered by `cork()`/`uncork()` (or queued behind a
 *   full buffer) reach `_writev` and are handed over as one send (MSG_MORE
 *   on all but the last), as Node's writev() is one system call, so a corked
 *   header + body leaves as one segment when it fits.
 * - Backpressure, reading: `_read` pulls with `recv()` while `push()` returns
 *   true and stops when it returns false; the next `_read` (or EV_READABLE
 *   when the stream asked for data the stack did not have yet) resumes. Data
 *   not pulled stays in the TCP receive buffer, whose window closes: the
 *   sender's `send()` gets -EAGAIN. One scratch buffer per facade serves every
 *   `recv()`; each chunk is copied into a fresh Buffer for `push()` (the
 *   documented allocation boundary with Node's streams), or, with Node's
 *   `onread` option, into the application's reused buffer (net-onread.ts).
 * - End of stream: recv() = 0 is `push(null)` ('end'); `_final` (after
 *   `end()`) is `shutdown(SHUT_WR)`: a FIN after the queued data. With
 *   `allowHalfOpen: false` (Node's default) the Duplex ends its own side
 *   after 'end'.
 * - Destroy: `destroy()` closes the descriptor gracefully (FIN after the data
 *   already queued in the TCP send buffer; data still in the Writable's
 *   buffer is discarded, as in Node). It aborts with RST (SO_LINGER) instead
 *   when (a) `resetAndDestroy()` was called, (b) the application destroys
 *   with an error of its own (so the peer sees ECONNRESET rather than a clean
 *   end-of-stream that would pass a truncated transfer for a complete one:
 *   a failed `pipeline()` resets its sockets), or (c) received data was never
 *   read, in the TCP receive buffer or in the Readable's buffer (Linux's rule
 *   for unread data, applied to everything the application did not consume).
 *   Errors raised by the connection itself (ECONNRESET, ETIMEDOUT...) just
 *   release the descriptor. 'close' is emitted with `hadError`, as Node does.
 * - Errors: a reset or timeout is reported as 'error' as soon as it is known
 *   when no received data is waiting; otherwise after that data was read
 *   (like Linux's recv(), which returns queued data before the error).
 * - Time: `setTimeout()` measures inactivity with the host's real timers
 *   (unref'd, like Node's), not the stack's clock, so it is meaningful only
 *   when the stack runs in real time (`stack.start()`).
 * - `ref()`/`unref()` are accepted and do nothing but adjust the idle
 *   timer: the stack's driver, not a socket, holds the event loop.
 * - Host names go through the facade's `resolver` (the stack's DNS client,
 *   with the `family` option); without one, a host that is not an IP
 *   literal fails with ENOTFOUND (syscall 'getaddrinfo'). An IPv6 literal
 *   (or an IPv6 answer) makes an AF_INET6 socket, as Node's does.
 */
import { Buffer } from 'node:buffer';
import { Duplex, type DuplexOptions } from 'node:stream';
import { isIPv6 as nodeIsIPv6, type AddressInfo } from 'node:net';
import { Errno, codeError, lookupError as notFound, sysError } from '../engine/errno.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import { familyName, formatSockAddr } from './addr.js';
import {
  EV_CLOSED, EV_ERROR, EV_READABLE, EV_WRITABLE, SHUT_WR, SO_ERROR, SO_KEEPALIVE, SO_LINGER, TCP_KEEPIDLE,
  TCP_NODELAY, type SockAddr, type SocketApi,
} from './api.js';
import {
  normalizeConnectArgs, toPort, type Callback, type NetError, type SocketOptions, type TcpConnectOptions,
  type WriteCallback,
} from './net-args.js';
import type { Server } from './net-server.js';
import { UserReadBuffer } from './net-onread.js';
import type { NetFacade } from './net.js';

/** 'close' after destroy, with `hadError` (one function, not a closure per socket). */
const emitClose = (sock: Socket, hadError: boolean): boolean => sock.emit('close', hadError);

/** A TCP connection as a `stream.Duplex`, with the properties and events of Node's `net.Socket`. */
export class Socket extends Duplex {
  /** True while the connection is being established. */
  connecting = false;
  /** Bytes received and handed to the stream. */
  bytesRead = 0;
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  remoteFamily: string | undefined = undefined;
  localAddress: string | undefined = undefined;
  localPort: number | undefined = undefined;
  /** 'IPv4' or 'IPv6' once connected (Node ≥ 18.8's `localFamily`). */
  localFamily: string | undefined = undefined;
  /** The server that accepted this connection, if any. */
  server: Server | null = null;

  private readonly api: SocketApi;
  private fd = -1;
  private written = 0;
  /** The stream asked for data (`_read`) and has not been refused by `push()` since. */
  private wantRead = false;
  private pumping = false;
  /** Chunks of the write in progress, the one being sent and the offset in it. */
  private wChunks: Buffer[] | null = null;
  private wIndex = 0;
  private wOff = 0;
  /** Index of the last non-empty chunk: the end of the gathered write, sent without MSG_MORE. */
  private wLast = 0;
  private wCb: WriteCallback | null = null;
  private finalCb: WriteCallback | null = null;
  private resetOnClose = false;
  /** An error this class raised from the connection (no RST needed on destroy). */
  private ownError: Error | null = null;
  private noDelay: boolean | null = null;
  private keepAlive: boolean | null = null;
  private keepAliveDelay = 0;
  private idleMs = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onEvent: (fd: number, events: number) => void;
  private readonly onIdle: Callback;
  /** Node's `onread` option (net-onread.ts): chunks go to its buffer and callback, not to the stream. */
  private readonly user: UserReadBuffer | null;

  constructor(readonly net: NetFacade, options: SocketOptions = {}) {
    const o: DuplexOptions = {
      allowHalfOpen: options.allowHalfOpen === true,
      emitClose: false, // 'close' is emitted with hadError, as net.Socket does
      autoDestroy: true,
      decodeStrings: true,
    };
    if (options.readableHighWaterMark !== undefined) o.readableHighWaterMark = options.readableHighWaterMark;
    if (options.writableHighWaterMark !== undefined) o.writableHighWaterMark = options.writableHighWaterMark;
    super(o);
    this.api = net.api;
    this.onEvent = (fd, events) => this.handleEvent(fd, events);
    this.onIdle = () => this.emit('timeout');
    // No closure for the common case without onread (one object less per accepted connection).
    this.user = options.onread === undefined ? null : UserReadBuffer.from(options.onread, () => {
      this.wantRead = true;
      if (this.fd >= 0 && !this.connecting && !this.destroyed) this.pumpRead();
    });
    if (options.signal !== undefined) this.watchSignal(options.signal);
    if (options.noDelay === true) this.noDelay = true;
    if (options.fd !== undefined) {
      const fd = options.fd;
      if (this.api.tcpState(fd) === null) throw codeError('EBADF', `descriptor ${fd} is not an open TCP socket`);
      this.fd = fd;
      this.api.setCallback(fd, this.onEvent);
      this.cacheAddresses();
      if (this.noDelay === true) this.api.setsockopt(fd, TCP_NODELAY, true);
      if (options.pauseOnCreate === true) this.pause();
      else this.read(0);
    }
  }

  private watchSignal(signal: AbortSignal): void {
    const abort = (): void => {
      this.destroy(codeError('ABORT_ERR', 'The operation was aborted'));
    };
    if (signal.aborted) process.nextTick(abort);
    else {
      signal.addEventListener('abort', abort, { once: true });
      this.once('close', () => signal.removeEventListener('abort', abort));
    }
  }

  /** The descriptor of the connection (-1 before connect and after destroy). */
  get descriptor(): number {
    return this.fd;
  }

  /** Bytes accepted into the TCP send buffer. */
  get bytesWritten(): number {
    return this.written;
  }

  /** True until the connection is established. */
  get pending(): boolean {
    return this.fd < 0 || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The idle timeout set with {@link setTimeout}, ms (undefined when none). */
  get timeout(): number | undefined {
    return this.idleMs > 0 ? this.idleMs : undefined;
  }

  /** Start connecting: `connect(port[, host][, listener])` or `connect(options[, listener])`. */
  connect(options: TcpConnectOptions, connectListener?: Callback): this;
  connect(port: number | string, host?: string, connectListener?: Callback): this;
  connect(port: number | string, connectListener?: Callback): this;
  connect(...args: unknown[]): this {
    const [opts, cb] = normalizeConnectArgs(args);
    if (this.destroyed) throw codeError('ERR_SOCKET_CLOSED', 'Socket is closed');
    if (this.fd >= 0 || this.connecting) throw codeError('ERR_SOCKET_CONNECTING', 'Socket is already connecting or connected');
    const port = toPort(opts.port, false);
    const host = opts.host === undefined || opts.host === '' || opts.host === 'localhost' ? '127.0.0.1' : opts.host;
    if (cb !== undefined) this.once('connect', cb);
    if (opts.allowHalfOpen !== undefined) this.allowHalfOpen = opts.allowHalfOpen;
    if (opts.noDelay === true) this.noDelay = true;
    if (opts.keepAlive === true) {
      this.keepAlive = true;
      this.keepAliveDelay = opts.keepAliveInitialDelay ?? 0;
    }
    if (opts.timeout !== undefined && opts.timeout > 0) this.setTimeout(opts.timeout);
    if (opts.signal !== undefined) this.watchSignal(opts.signal);
    this.connecting = true;
    this.remoteAddress = host;
    this.remotePort = port;
    this.remoteFamily = nodeIsIPv6(host) ? 'IPv6' : 'IPv4';
    const fail = (e: NetError): this => {
      process.nextTick(() => this.fail(e));
      return this;
    };
    const family = opts.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) {
      throw codeError('ERR_INVALID_ARG_VALUE', `The property 'options.family' must be one of: 0, 4, 6. Received ${String(family)}`, TypeError);
    }
    // As Node, an IP literal is connected to whatever `family` says; only names are looked up with it.
    if (parseIpv4(host) < 0 && !nodeIsIPv6(host)) {
      const resolve = this.net.resolver;
      if (resolve === null) return fail(notFound(host));
      // A name: resolve through the stack's DNS client, then connect; 'lookup' as Node emits it.
      resolve(host, family).then((address) => {
        const v6 = nodeIsIPv6(address);
        this.emit('lookup', null, address, v6 ? 6 : 4, host);
        if (this.destroyed) return;
        this.remoteAddress = address;
        this.remoteFamily = v6 ? 'IPv6' : 'IPv4';
        this.open({ ...opts, host: address }, address, port, fail);
      }, (err: unknown) => {
        const e = (err instanceof Error ? err : notFound(host)) as NetError;
        this.emit('lookup', e, undefined, undefined, host);
        this.fail(e);
      });
      return this;
    }
    return this.open(opts, host, port, fail);
  }

  /** Create, bind and connect the descriptor for an IP literal (AF_INET6 for an IPv6 one). */
  private open(opts: TcpConnectOptions, host: string, port: number, fail: (e: NetError) => this): this {
    const api = this.api;
    const v6 = nodeIsIPv6(host);
    const fd = api.socket('tcp', v6 ? 6 : 4);
    if (fd < 0) return fail(sysError(-fd, 'connect', host, port));
    this.fd = fd;
    api.setCallback(fd, this.onEvent);
    if (opts.localAddress !== undefined || opts.localPort !== undefined) {
      const la = opts.localAddress ?? (v6 ? '::' : '0.0.0.0');
      // Node: a local address of the other family is invalid (EINVAL from bind).
      if (v6 ? !nodeIsIPv6(la) : parseIpv4(la) < 0) return fail(sysError(Errno.EINVAL, 'bind', la, opts.localPort));
      const r = api.bind(fd, la, opts.localPort ?? 0);
      if (r < 0) return fail(sysError(-r, 'bind', la, opts.localPort));
    }
    const r = api.connect(fd, host, port);
    if (r !== -Errno.EINPROGRESS && r !== 0) return fail(sysError(-r, 'connect', host, port));
    return this;
  }

  /** Destroy with an error this socket detected (not the application's): no RST is added. */
  private fail(e: Error): void {
    if (this.destroyed) return;
    this.ownError = e;
    this.destroy(e);
  }

  private cacheAddresses(): void {
    const a: SockAddr = this.net.addr;
    if (this.api.getsockname(this.fd, a) === 0) {
      this.localAddress = formatSockAddr(a);
      this.localPort = a.port;
      this.localFamily = familyName(a);
    }
    if (this.api.getpeername(this.fd, a) === 0) {
      this.remoteAddress = formatSockAddr(a);
      this.remotePort = a.port;
      this.remoteFamily = familyName(a);
    }
  }

  /** The socket callback: runs inside the stack's poll. */
  private handleEvent(fd: number, ev: number): void {
    if (fd !== this.fd || this.destroyed) return;
    if (this.connecting) {
      this.connectEvent(ev);
      return;
    }
    if ((ev & (EV_READABLE | EV_CLOSED | EV_ERROR)) !== 0 && this.wantRead) this.pumpRead();
    if ((ev & (EV_WRITABLE | EV_CLOSED | EV_ERROR)) !== 0 && this.wChunks !== null && this.fd >= 0) this.flushWrites();
    if ((ev & EV_ERROR) !== 0 && !this.destroyed && this.fd >= 0 && this.api.readableBytes(this.fd) <= 0) {
      // A reset or timeout with nothing left to read: report it now, even if the stream is paused.
      const e = this.api.getsockopt(this.fd, SO_ERROR);
      if (e > 0) this.fail(sysError(e, 'read'));
    }
  }

  private connectEvent(ev: number): void {
    const api = this.api;
    const fd = this.fd;
    if ((ev & (EV_ERROR | EV_CLOSED)) !== 0) {
      const st = api.tcpState(fd);
      if (st === 'CLOSED' || (ev & EV_ERROR) !== 0) {
        const e = api.getsockopt(fd, SO_ERROR);
        this.fail(sysError(e > 0 ? e : Errno.ECONNRESET, 'connect', this.remoteAddress, this.remotePort));
        return;
      }
    }
    if ((ev & EV_WRITABLE) === 0) return;
    const st = api.tcpState(fd);
    // setCallback() and the engine may report "writable" while the SYN is still out.
    if (st === null || st === 'SYN_SENT' || st === 'SYN_RECEIVED' || st === 'CLOSED') return;
    this.connecting = false;
    this.cacheAddresses();
    if (this.noDelay !== null) api.setsockopt(fd, TCP_NODELAY, this.noDelay);
    if (this.keepAlive !== null) this.applyKeepAlive();
    this.touch();
    this.emit('connect');
    this.emit('ready');
    if (this.destroyed || this.fd < 0) return;
    if (this.wChunks !== null) this.flushWrites();
    if (this.finalCb !== null && this.wChunks === null) {
      const cb = this.finalCb;
      this.finalCb = null;
      this._final(cb);
    }
    if (this.wantRead) this.pumpRead();
    else if (this.readableFlowing !== false) this.read(0);
  }

  /** Pull from the TCP receive buffer while the stream wants more. */
  private pumpRead(): void {
    if (this.pumping) return;
    this.pumping = true;
    const api = this.api;
    const scratch = this.net.scratch;
    // Not 64 KiB chunks as Node's net reads: on glibc, 64 KiB Buffers freed in V8's batches got the
    // heap trimmed and their pages faulted in again (Linux -> stack on TAP: up to 260 faults per MiB).
    const want = this.readableHighWaterMark > 16384 ? this.readableHighWaterMark : 16384;
    const len = want < scratch.length ? want : scratch.length;
    try {
      while (this.wantRead && this.fd >= 0 && !this.destroyed) {
        // Read straight into a Buffer of the size waiting, not through the scratch buffer: one copy less.
        // With onread, into the application's buffer: no Buffer per chunk (net-onread.ts).
        const user = this.user;
        const avail = user === null ? api.readableBytes(this.fd) : 0;
        const chunk = avail > 0 ? Buffer.allocUnsafe(avail < len ? avail : len) : null;
        const into = user !== null ? user.buf : chunk !== null ? chunk : scratch;
        const want = into === scratch ? len : into.length;
        // A zero-length onread buffer fails as libuv's read does (UV_ENOBUFS).
        const n = want > 0 ? api.recv(this.fd, into, 0, want) : -Errno.ENOBUFS;
        if (n > 0) {
          this.bytesRead += n;
          this.touch();
          if (user !== null) {
            if (!user.deliver(n, this)) this.wantRead = false;
            continue;
          }
          const data = chunk === null ? Buffer.from(scratch.subarray(0, n)) : n === chunk.length ? chunk : chunk.subarray(0, n);
          if (!this.push(data)) this.wantRead = false;
        } else if (n === 0) {
          this.wantRead = false;
          this.push(null);
          this.read(0); // as Node's net: 'end' follows even without a consumer when nothing is buffered
        } else if (n === -Errno.EAGAIN) {
          break;
        } else {
          this.wantRead = false;
          this.fail(sysError(-n, 'read'));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** onread (as Node's net.Socket with kBuffer): pause() stops reading; resume() and read() restart it. */
  override pause(): this {
    if (this.user !== null && !this.readableEnded) {
      this.wantRead = false;
      this.user.paused = true;
    }
    return super.pause();
  }

  override resume(): this {
    this.user?.restart();
    return super.resume();
  }

  override read(size?: number): unknown {
    this.user?.restart();
    return super.read(size);
  }

  override _read(_size: number): void {
    this.wantRead = true;
    if (this.fd >= 0 && !this.connecting) this.pumpRead();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    this.wChunks = [chunk];
    this.startWrite(cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: WriteCallback): void {
    const list: Buffer[] = new Array<Buffer>(chunks.length);
    for (let i = 0; i < chunks.length; i++) list[i] = chunks[i].chunk;
    this.wChunks = list;
    this.startWrite(cb);
  }

  private startWrite(cb: WriteCallback): void {
    const chunks = this.wChunks;
    let last = 0;
    if (chunks !== null) for (let i = chunks.length - 1; i > 0; i--) if (chunks[i].length > 0) { last = i; break; }
    this.wLast = last;
    this.wIndex = 0;
    this.wOff = 0;
    this.wCb = cb;
    if (this.fd >= 0 && !this.connecting) this.flushWrites();
  }

  /** Copy the pending chunks into the TCP send buffer; call back once all of them are in. */
  private flushWrites(): void {
    const chunks = this.wChunks;
    if (chunks === null) return;
    for (;;) {
      // Past the chunks taken whole, and empty ones (wOff may run into the next chunks).
      while (this.wIndex < chunks.length && this.wOff >= chunks[this.wIndex].length) this.wOff -= chunks[this.wIndex++].length;
      if (this.wIndex >= chunks.length) break;
      // A gathered write (_writev: corked chunks) is one send (SocketApi.sendv), as Node's writev() is one
      // system call: MSG_MORE on all chunks but the last keeps TCP from sending a partial segment between them.
      const n = this.api.sendv(this.fd, chunks, this.wIndex, this.wOff, this.wLast);
      if (n > 0) {
        this.written += n;
        this.wOff += n;
        continue;
      }
      if (n === -Errno.EAGAIN || n === 0) return; // EV_WRITABLE follows when space frees
      const cb = this.takeWriteCallback();
      const e = sysError(-n, 'write');
      this.ownError = e;
      if (cb !== null) cb(e);
      return;
    }
    this.touch();
    const cb = this.takeWriteCallback();
    if (cb !== null) cb(null);
  }

  private takeWriteCallback(): WriteCallback | null {
    const cb = this.wCb;
    this.wChunks = null;
    this.wCb = null;
    this.wIndex = 0;
    this.wOff = 0;
    return cb;
  }

  override _final(cb: WriteCallback): void {
    if (this.connecting) {
      this.finalCb = cb; // FIN once connected
      return;
    }
    if (this.fd < 0) {
      cb(null);
      return;
    }
    const r = this.api.shutdown(this.fd, SHUT_WR);
    if (r < 0 && r !== -Errno.ENOTCONN) {
      const e = sysError(-r, 'shutdown');
      this.ownError = e;
      cb(e);
      return;
    }
    cb(null);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.clearIdle();
    this.connecting = false;
    this.wantRead = false;
    const fd = this.fd;
    if (fd >= 0) {
      this.fd = -1;
      const unread = this.readableLength > 0 && !this.readableEnded;
      if (this.resetOnClose || unread || (err !== null && err !== this.ownError)) {
        this.api.setsockopt(fd, SO_LINGER, 1);
      }
      this.api.setCallback(fd, null);
      this.api.close(fd);
    }
    const wcb = this.takeWriteCallback();
    if (wcb !== null) wcb(err ?? codeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'));
    this.finalCb = null;
    cb(err);
    process.nextTick(emitClose, this, err !== null);
  }

  /** Abort the connection with RST and destroy the socket (Node's `resetAndDestroy`). */
  resetAndDestroy(): this {
    if (this.connecting) {
      this.once('connect', () => this.resetAndDestroy());
      return this;
    }
    this.resetOnClose = true;
    this.destroy();
    return this;
  }

  /** End the writable side, then destroy once everything was handed to TCP. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /**
   * TCP_NODELAY: send small segments at once instead of coalescing them
   * (Nagle off); `setNoDelay()` with no argument turns it on, as Node's.
   * Off by default, as for Node's `net.Socket` (see {@link TcpConnectOptions.noDelay}).
   * With Nagle on, a partial segment waits only while an earlier partial
   * segment is unacknowledged (Linux's rule), and a corked burst
   * (`cork()` … `uncork()`) is handed to TCP in one send, so it leaves as
   * one segment when it fits.
   */
  setNoDelay(noDelay = true): this {
    // Node's HTTP server sets it again on a socket its listener already set it on.
    if (this.noDelay === noDelay) return this;
    this.noDelay = noDelay;
    if (this.fd >= 0 && !this.connecting) this.api.setsockopt(this.fd, TCP_NODELAY, noDelay);
    return this;
  }

  /** SO_KEEPALIVE, with the idle time before the first probe in ms (0 keeps the current one). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = enable;
    this.keepAliveDelay = initialDelay;
    if (this.fd >= 0 && !this.connecting) this.applyKeepAlive();
    return this;
  }

  private applyKeepAlive(): void {
    if (this.keepAliveDelay > 0) this.api.setsockopt(this.fd, TCP_KEEPIDLE, Math.floor(this.keepAliveDelay));
    this.api.setsockopt(this.fd, SO_KEEPALIVE, this.keepAlive === true);
  }

  /**
   * Emit 'timeout' after `ms` of inactivity (no data sent or received),
   * measured with the host's real timers; 0 disables. The socket stays open.
   */
  setTimeout(ms: number, callback?: Callback): this {
    if (!Number.isFinite(ms) || ms < 0) throw codeError('ERR_OUT_OF_RANGE', `timeout must be >= 0, got ${ms}`, RangeError);
    this.clearIdle();
    this.idleMs = ms;
    if (callback !== undefined) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    if (ms > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(this.onIdle, ms);
      this.idleTimer.unref();
    }
    return this;
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Activity: restart the idle timer. */
  private touch(): void {
    if (this.idleTimer !== null) this.idleTimer.refresh();
  }

  address(): AddressInfo | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: this.localFamily ?? 'IPv4', port: this.localPort };
  }

  /** Accepted for compatibility: the stack's driver, not a socket, keeps the event loop alive. */
  ref(): this {
    return this;
  }

  /** Accepted for compatibility (see {@link ref}). */
  unref(): this {
    return this;
  }

  /** TCP_INFO-like statistics (null before connect and after destroy). */
  tcpInfo(): ReturnType<SocketApi['tcpInfo']> {
    return this.fd < 0 ? null : this.api.tcpInfo(this.fd);
  }
}
