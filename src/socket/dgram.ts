/**
 * A `node:dgram`-compatible facade over the descriptor API, so code written
 * for Node's UDP sockets runs on a wirestack stack. It uses only the public
 * {@link SocketApi}; argument handling, event order and error codes follow
 * Node 20's lib/dgram.js, with the departures documented on each method.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Errno, StackError, codeError, errnoName, sysError } from '../engine/errno.js';
import { isIPv4 as nodeIsIPv4 } from 'node:net';
import {
  EV_CLOSED, EV_ERROR, EV_READABLE, IPV6_V6ONLY, SO_BROADCAST, SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, type SockAddr,
  type SocketApi,
} from './api.js';
import { familyName, formatSockAddr, newSockAddr } from './addr.js';

/** A local or remote endpoint, as returned by `address()` and `remoteAddress()`. */
export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** The sender of a received datagram, as Node's `rinfo`; `size` is the datagram's length. */
export interface RemoteInfo extends AddressInfo {
  size: number;
}

/** Options of {@link DgramFacade.createSocket}. */
export interface SocketOptions {
  /** 'udp6' sockets bound to '::' (the default) take IPv4 too, as ::ffff:a.b.c.d, unless `ipv6Only`. */
  type: 'udp4' | 'udp6';
  /** IPV6_V6ONLY for a 'udp6' socket. */
  ipv6Only?: boolean;
  /** Set SO_REUSEADDR before binding, so several sockets may share a port. */
  reuseAddr?: boolean;
  /** Accepted for compatibility; the receive ring is sized by the stack's memory plan (see setRecvBufferSize). */
  recvBufferSize?: number;
  /** Accepted for compatibility; there is no send buffer (see getSendBufferSize). */
  sendBufferSize?: number;
  /** Closes the socket when aborted. */
  signal?: AbortSignal;
}

/** Options form of {@link UdpSocket.bind}. `exclusive` only matters to Node's cluster module and is ignored. */
export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

/** One chunk of a datagram; `send` concatenates an array of them. */
export type MessageChunk = string | ArrayBufferView;
export type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;
/** Called with `(null, bytes)` after a send, or with the error alone. */
export type SendCallback = (error: Error | null, bytes?: number) => void;

const notRunning = (): Error => codeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
const notConnected = (): Error => codeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
const isConnected = (): Error => codeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');

/** Node's validatePort: numbers or numeric strings in range; 0 only where allowed. */
function validatePort(port: unknown, allowZero: boolean): number {
  const n = typeof port === 'number' ? port : typeof port === 'string' && port.trim() !== '' ? Number(port) : NaN;
  if (n !== n >>> 0 || n > 0xffff || (n === 0 && !allowZero)) {
    throw codeError('ERR_SOCKET_BAD_PORT',
      `Port should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${String(port)}.`, RangeError);
  }
  return n;
}

function invalidArg(name: string, value: unknown): Error {
  return codeError('ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be of type string or an instance of Buffer, TypedArray or DataView. Received ${typeof value}`, TypeError);
}

function toBytes(chunk: unknown, name: string): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidArg(name, chunk);
}

/** Node's sliceBuffer: the `offset, length` form of send() applies to one chunk only. */
function sliceBuffer(msg: unknown, offset: unknown, length: unknown): Uint8Array {
  const b = toBytes(msg, 'buffer');
  if (typeof offset !== 'number' || typeof length !== 'number') throw invalidArg('offset', offset);
  const off = offset >>> 0;
  const len = length >>> 0;
  if (off > b.byteLength) throw codeError('ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds', RangeError);
  if (off + len > b.byteLength) throw codeError('ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds', RangeError);
  return b.subarray(off, off + len);
}

/** One contiguous datagram: sends hand the stack a single buffer, so a list is concatenated. */
function toDatagram(msg: unknown): Uint8Array {
  if (!Array.isArray(msg)) return toBytes(msg, 'buffer');
  const parts = msg.map((c: unknown) => toBytes(c, 'buffer list arguments'));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

// An exception thrown by a listener must not unwind through Stack.poll (it would
// leave the stack half-polled and stop the real-time driver); it is rethrown on
// the next tick, where it is an uncaught exception as in Node.
function emitSafely(target: EventEmitter, event: string, a: unknown, b?: unknown): void {
  try {
    if (b === undefined) target.emit(event, a);
    else target.emit(event, a, b);
  } catch (err) {
    process.nextTick(() => { throw err; });
  }
}

const UNBOUND = 0, BINDING = 1, BOUND = 2;
const DISCONNECTED = 0, CONNECTING = 1, CONNECTED = 2;
const NO_BYTES = new Uint8Array(0);

/** Typed overloads for the events, as @types/node declares them for dgram.Socket. */
export interface UdpSocket {
  on(event: 'message', listener: MessageListener): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'listening' | 'connect' | 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: never[]) => void): this;
  once(event: 'message', listener: MessageListener): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'listening' | 'connect' | 'close', listener: () => void): this;
  once(event: string | symbol, listener: (...args: never[]) => void): this;
}

/**
 * A UDP socket mirroring `dgram.Socket`. Events: 'message' (msg, rinfo),
 * 'listening', 'connect', 'close', 'error'. 'listening', 'connect', 'close'
 * and send callbacks fire on process.nextTick, as in Node; 'message' and
 * receive errors fire from the stack's poll.
 */
export class UdpSocket extends EventEmitter {
  /** -1 once closed: the API may hand the same descriptor number to a new socket. */
  private fd: number;
  private bindState = UNBOUND;
  private connectState = DISCONNECTED;
  private readonly from: SockAddr = newSockAddr();
  private readonly udp6: boolean;

  /** @internal Use {@link DgramFacade.createSocket}. */
  constructor(private readonly api: SocketApi, fd: number, options: SocketOptions) {
    super();
    this.fd = fd;
    this.udp6 = options.type === 'udp6';
    // The API only accepts SO_REUSEADDR before bind; setting it now is equivalent to Node's bind-time flag.
    if (options.reuseAddr === true) api.setsockopt(fd, SO_REUSEADDR, 1);
    if (this.udp6 && options.ipv6Only === true) api.setsockopt(fd, IPV6_V6ONLY, 1);
    api.setCallback(fd, (_fd, events) => this.onEvents(events));
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = (): void => { if (this.fd >= 0) this.close(); };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  private healthCheck(): number {
    if (this.fd < 0) throw notRunning();
    return this.fd;
  }

  private onEvents(events: number): void {
    if ((events & EV_CLOSED) !== 0) {
      // Our own close() clears fd first; getting here means the descriptor was closed through the raw API.
      if (this.fd < 0) return;
      this.fd = -1;
      this.bindState = UNBOUND;
      this.connectState = DISCONNECTED;
      process.nextTick(() => this.emit('close'));
      return;
    }
    // Until 'listening' has fired, datagrams wait in the ring so they cannot overtake it.
    if ((events & (EV_READABLE | EV_ERROR)) !== 0 && this.bindState === BOUND) this.drain();
  }

  private drain(): void {
    const api = this.api;
    const from = this.from;
    // A listener may close the socket; the loop re-reads fd so it stops there.
    while (this.fd >= 0) {
      const fd = this.fd;
      const len = api.nextLength(fd);
      if (len < 0) {
        // The queue is empty: recvfrom now reports a pending ICMP error (once) instead of data.
        const r = api.recvfrom(fd, NO_BYTES, 0, 0, null);
        if (r < 0 && r !== -Errno.EAGAIN) emitSafely(this, 'error', sysError(-r, 'recvmsg'));
        return;
      }
      // Receiving straight into an exact-size Buffer makes the one copy the message needs.
      const buf = Buffer.allocUnsafe(len);
      const n = api.recvfrom(fd, buf, 0, len, from);
      if (n < 0) return;
      const rinfo: RemoteInfo = { address: formatSockAddr(from), family: familyName(from), port: from.port, size: n };
      emitSafely(this, 'message', n === len ? buf : buf.subarray(0, n), rinfo);
    }
  }

  /**
   * Bind to `port` (0 or omitted: ephemeral) and `address` (omitted: all
   * addresses), then emit 'listening'. Failures (EADDRINUSE, EADDRNOTAVAIL,
   * EINVAL for a bad port or an address that is not dotted-quad text: there is
   * no DNS) are emitted as 'error' with a {@link DgramError} (syscall 'bind').
   */
  bind(callback?: () => void): this;
  bind(port: number, callback?: () => void): this;
  bind(port: number, address?: string, callback?: () => void): this;
  bind(options: BindOptions, callback?: () => void): this;
  bind(a?: number | BindOptions | (() => void) | null, b?: string | (() => void), c?: () => void): this {
    const fd = this.healthCheck();
    if (this.bindState !== UNBOUND) throw codeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const cb = typeof c === 'function' ? c : typeof b === 'function' ? b : typeof a === 'function' ? a : undefined;
    const o: BindOptions = a !== null && typeof a === 'object' ? a
      : { port: typeof a === 'number' ? a : 0, address: typeof b === 'string' ? b : '' };
    if (cb !== undefined) {
      // errorMonitor, unlike Node's plain 'error' listener, leaves an unhandled bind error unhandled.
      const onListening = (): void => { this.removeListener(EventEmitter.errorMonitor, onError); cb.call(this); };
      const onError = (): void => { this.removeListener('listening', onListening); };
      this.once('listening', onListening);
      this.once(EventEmitter.errorMonitor, onError);
    }
    const ip = o.address ? String(o.address) : this.udp6 ? '::' : '0.0.0.0';
    const p = Number(o.port ?? 0);
    const r = this.api.bind(fd, ip, p);
    if (r < 0) {
      const err = sysError(-r, 'bind', ip, p);
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    this.bindState = BINDING;
    process.nextTick(() => {
      if (this.fd < 0) return;
      this.bindState = BOUND;
      this.emit('listening');
      this.drain();
    });
    return this;
  }

  /**
   * Send one datagram, with Node's argument forms: `send(msg, port, address,
   * cb)`, `send(msg, offset, length, port, address, cb)`, and without port and
   * address on a connected socket. `msg` may be a string, a Buffer/TypedArray/
   * DataView or an array of them (concatenated). An unbound socket is bound to
   * an ephemeral port first ('listening' is emitted).
   *
   * Departures from Node: an omitted address on an unconnected socket fails
   * with EDESTADDRREQ (Node sends to localhost, but the stack has no loopback
   * interface), and without a callback a send error is emitted as 'error'
   * (Node drops synchronous send errors silently when no callback is given).
   * Typical errors: EMSGSIZE (larger than the route's MTU allows), EACCES
   * (broadcast without setBroadcast(true)), ENETUNREACH, EISCONN.
   */
  send(msg: MessageChunk | readonly MessageChunk[], port?: number, address?: string, callback?: SendCallback): void;
  send(msg: MessageChunk | readonly MessageChunk[], port?: number, callback?: SendCallback): void;
  send(msg: MessageChunk | readonly MessageChunk[], callback?: SendCallback): void;
  send(msg: MessageChunk, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: MessageChunk, offset: number, length: number, callback?: SendCallback): void;
  send(msg: unknown, offset?: unknown, length?: unknown, port?: unknown, address?: unknown, callback?: unknown): void {
    // This shuffle is Node's own, so every call form lands where Node puts it.
    let data: unknown = msg;
    let p = port;
    let a = address;
    let cb = callback;
    const connected = this.connectState === CONNECTED;
    if (!connected) {
      if (a || (p && typeof p !== 'function')) data = sliceBuffer(data, offset, length);
      else [cb, p, a] = [p, offset, length];
    } else {
      if (typeof length !== 'number') cb = offset;
      else {
        data = sliceBuffer(data, offset, length);
        if (typeof p === 'function') [cb, p] = [p, null];
      }
      if (p || a) throw isConnected();
    }
    const bytes = toDatagram(data);
    const dport = connected ? 0 : validatePort(p, false);
    if (typeof a === 'function') [cb, a] = [a, undefined];
    else if (a != null && typeof a !== 'string') {
      throw codeError('ERR_INVALID_ARG_TYPE', `The "address" argument must be of type string. Received ${typeof a}`, TypeError);
    }
    const done = typeof cb === 'function' ? cb as SendCallback : undefined;
    const fd = this.healthCheck();
    if (this.bindState === UNBOUND) {
      this.bind({ port: 0, exclusive: true });
      // A failed implicit bind has its own 'error'; Node drops the queued send then too.
      if (this.bindState === UNBOUND) return;
    }
    let err: Error | null = null;
    let r = 0;
    if (connected) r = this.api.send(fd, bytes, 0, bytes.length);
    // A 'udp6' socket cannot take an IPv4 literal (libuv's uv_ip6_addr fails: EINVAL, as in Node).
    else if (typeof a === 'string' && a !== '' && this.udp6 && nodeIsIPv4(a)) r = -Errno.EINVAL;
    else if (typeof a === 'string' && a !== '') r = this.api.sendto(fd, bytes, 0, bytes.length, a, dport);
    else err = new StackError(Errno.EDESTADDRREQ, 'send', 'no address given (the stack has no loopback interface to default to)');
    if (r < 0) err = sysError(-r, 'send', connected ? undefined : String(a), dport);
    if (err === null) {
      if (done !== undefined) process.nextTick(done, null, r);
    } else if (done !== undefined) process.nextTick(done, err);
    else process.nextTick(() => this.emit('error', err));
  }

  /**
   * Fix the peer: send() then needs no address and only the peer's datagrams
   * are received; an ICMP error about the peer (ECONNREFUSED, ...) is emitted
   * as 'error' (syscall 'recvmsg') or returned by the next send. Binds an
   * ephemeral port first if needed. Emits 'connect'; failures go to the
   * callback or 'error'. The address is required (no loopback to default to).
   */
  connect(port: number, address?: string | ((err?: Error) => void), callback?: (err?: Error) => void): void {
    const p = validatePort(port, false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    }
    const addr = address ?? '';
    if (typeof addr !== 'string') throw codeError('ERR_INVALID_ARG_TYPE', 'The "address" argument must be of type string.', TypeError);
    const fd = this.healthCheck();
    if (this.connectState !== DISCONNECTED) throw isConnected();
    this.connectState = CONNECTING;
    if (this.bindState === UNBOUND) this.bind({ port: 0, exclusive: true });
    // A failed implicit bind has emitted its own 'error' (r stays 0 and nothing more is reported).
    const r = this.bindState === UNBOUND ? 0 : addr === '' ? -Errno.EDESTADDRREQ : this.api.connect(fd, addr, p);
    if (r < 0) {
      const err = sysError(-r, 'connect', addr, p);
      process.nextTick(() => (callback !== undefined ? callback(err) : this.emit('error', err)));
    }
    if (r < 0 || this.bindState === UNBOUND) {
      this.connectState = DISCONNECTED;
      return;
    }
    if (callback !== undefined) this.once('connect', callback);
    // Like Node, the socket counts as connected only once 'connect' is due.
    process.nextTick(() => {
      if (this.fd < 0) return;
      this.connectState = CONNECTED;
      this.emit('connect');
    });
  }

  /** Forget the peer. Throws ERR_SOCKET_DGRAM_NOT_CONNECTED when not connected. */
  disconnect(): void {
    if (this.connectState !== CONNECTED) throw notConnected();
    const r = this.api.connect(this.healthCheck(), this.udp6 ? '::' : 0, 0);
    if (r < 0) throw sysError(-r, 'connect');
    this.connectState = DISCONNECTED;
  }

  /** The connected peer. Throws ERR_SOCKET_DGRAM_NOT_CONNECTED before 'connect' or after disconnect(). */
  remoteAddress(): AddressInfo {
    const fd = this.healthCheck();
    if (this.connectState !== CONNECTED) throw notConnected();
    return this.endpoint('getpeername', this.api.getpeername(fd, this.from));
  }

  /** Formats what getsockname/getpeername just wrote to `from` (drain() has always finished with it by then). */
  private endpoint(syscall: string, r: number): AddressInfo {
    if (r < 0) throw sysError(-r, syscall);
    return { address: formatSockAddr(this.from), family: familyName(this.from), port: this.from.port };
  }

  /**
   * The bound address. Throws ERR_SOCKET_DGRAM_NOT_RUNNING once closed and,
   * as Node does, a StackError EBADF (syscall 'getsockname') before bind().
   * Unlike Node it already answers between bind() and 'listening'.
   */
  address(): AddressInfo {
    const fd = this.healthCheck();
    if (this.bindState === UNBOUND) throw sysError(Errno.EBADF, 'getsockname');
    return this.endpoint('getsockname', this.api.getsockname(fd, this.from));
  }

  /**
   * Close the socket; queued datagrams are discarded and 'close' follows on
   * the next tick. A second close() throws ERR_SOCKET_DGRAM_NOT_RUNNING, as in
   * Node (which also attaches the callback before throwing).
   */
  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    const fd = this.healthCheck();
    this.fd = -1;
    this.bindState = UNBOUND;
    this.connectState = DISCONNECTED;
    this.api.close(fd);
    process.nextTick(() => this.emit('close'));
    return this;
  }

  /** Allow sending to broadcast addresses (else EACCES). Like Node, throws EBADF before bind(). */
  setBroadcast(flag: boolean): void {
    const fd = this.healthCheck();
    const r = this.bindState === UNBOUND ? -Errno.EBADF : this.api.setsockopt(fd, SO_BROADCAST, flag ? 1 : 0);
    if (r < 0) throw sysError(-r, 'setBroadcast');
  }

  /** Throwing beats silently ignoring: the caller asked for behaviour the stack cannot give. */
  private unsupported(syscall: string): never {
    this.healthCheck();
    throw new StackError(this.bindState === UNBOUND ? Errno.EBADF : Errno.EOPNOTSUPP, syscall,
      '(no per-socket TTL or multicast in wirestack)');
  }

  /** Not supported: the TTL is per stack (config.ttl). Throws EOPNOTSUPP (EBADF before bind, as Node). */
  setTTL(_ttl: number): number { return this.unsupported('setTTL'); }
  // Multicast (IGMP) does not exist in the stack: these all throw EOPNOTSUPP (EBADF before bind).
  /** Not supported: throws EOPNOTSUPP. */
  setMulticastTTL(_ttl: number): number { return this.unsupported('setMulticastTTL'); }
  /** Not supported: throws EOPNOTSUPP. */
  setMulticastLoopback(_flag: boolean): boolean { return this.unsupported('setMulticastLoopback'); }
  /** Not supported: throws EOPNOTSUPP. */
  setMulticastInterface(_iface: string): void { this.unsupported('setMulticastInterface'); }
  /** Not supported: throws EOPNOTSUPP. */
  addMembership(_group: string, _iface?: string): void { this.unsupported('addMembership'); }
  /** Not supported: throws EOPNOTSUPP. */
  dropMembership(_group: string, _iface?: string): void { this.unsupported('dropMembership'); }

  // Like Node, the buffer-size calls throw ERR_SOCKET_BUFFER_SIZE (EBADF) before bind().
  /** Receive ring capacity in bytes (the stack's udpRecvBufferBytes; Linux would report double). */
  getRecvBufferSize(): number { return this.bufferOption(SO_RCVBUF, 'uv_recv_buffer_size'); }
  /** Always 0: there is no send buffer, each datagram goes straight into a frame on the link. */
  getSendBufferSize(): number { return this.bufferOption(SO_SNDBUF, 'uv_send_buffer_size'); }
  /** Accepted and ignored: the ring is part of the stack's memory plan (as Linux clamps to rmem_max). */
  setRecvBufferSize(_size: number): void { this.bufferOption(SO_RCVBUF, 'uv_recv_buffer_size'); }
  /** Accepted and ignored: there is no send buffer. */
  setSendBufferSize(_size: number): void { this.bufferOption(SO_SNDBUF, 'uv_send_buffer_size'); }

  private bufferOption(option: number, uvName: string): number {
    const r = this.fd < 0 || this.bindState === UNBOUND ? -Errno.EBADF : this.api.getsockopt(this.fd, option);
    if (r < 0) {
      throw codeError('ERR_SOCKET_BUFFER_SIZE', `Could not get or set buffer size: ${uvName} returned ${errnoName(r)}`);
    }
    return r;
  }

  /** Always 0: sends complete synchronously. */
  getSendQueueSize(): number { return 0; }
  /** Always 0: sends complete synchronously. */
  getSendQueueCount(): number { return 0; }

  /** No-op: whether the process stays alive is up to the stack's driver (start/stop). */
  ref(): this { return this; }
  /** No-op: whether the process stays alive is up to the stack's driver (start/stop). */
  unref(): this { return this; }
}

/** `node:dgram` over one stack: `stack.dgram.createSocket('udp4')`. */
export class DgramFacade {
  constructor(readonly api: SocketApi) {}

  /**
   * Create a UDP socket; `listener` is added for 'message'. Throws a TypeError
   * ERR_SOCKET_BAD_TYPE for anything but 'udp4' and 'udp6', and a StackError
   * EMFILE (syscall 'socket') when the socket table is full (EAFNOSUPPORT for
   * 'udp6' on a stack built with `ipv6: false`): unlike Node, the descriptor
   * is taken now rather than at bind().
   */
  createSocket(type: 'udp4' | 'udp6' | SocketOptions, listener?: MessageListener): UdpSocket {
    const options: SocketOptions = typeof type === 'string' ? { type } : type;
    const t: unknown = (options as SocketOptions | null)?.type;
    if (t !== 'udp4' && t !== 'udp6') {
      throw codeError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6', TypeError);
    }
    const fd = this.api.socket('udp', t === 'udp6' ? 6 : 4);
    if (fd < 0) throw sysError(-fd, 'socket');
    const socket = new UdpSocket(this.api, fd, options);
    if (listener !== undefined) socket.on('message', listener);
    return socket;
  }
}
