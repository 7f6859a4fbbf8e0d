/**
 * The BSD-like descriptor API, modelled on wolfIP's: numeric descriptors,
 * caller-supplied buffers, non-blocking calls returning a byte count or a
 * negative errno, and per-socket event callbacks. Nothing here allocates on
 * the data path; the Promise helpers at the end do, by design.
 */
import { Errno, sysError } from '../engine/errno.js';
import type { Udp } from '../engine/udp.js';
import type { Tcp, TcpInfo } from '../engine/tcp/index.js';
import { STATE_NAMES } from '../engine/tcp/tcb.js';
import {
  AF_INET, AF_INET6, EV_CLOSED, EV_ERROR, EV_READABLE, EV_WRITABLE, F_BOUND, F_BROADCAST, F_CONNECTED, F_DONTFRAG,
  F_INET6, F_OPEN, F_REUSEADDR, F_V6ONLY, SOCK_TCP, SOCK_UDP, addr6Unspecified,
  type SocketCallback, type SocketTable, type DatagramHandler,
} from '../engine/socket-table.js';
import {
  addr6, addrFamily, addrIsMapped, addrScope, fillSockAddr, fillV4, mappedV4, toAddr, toMapped, validPort, type SockAddr,
} from './addr.js';
import type { NetInterface } from '../engine/netif.js';
import { SO_BROADCAST, SO_REUSEADDR, SO_RCVBUF, SO_ERROR, SO_SNDBUF, SO_KEEPALIVE, SO_LINGER, TCP_NODELAY, IP_DONTFRAG, IPV6_V6ONLY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, MSG_MORE } from './options.js';

/** Socket types accepted by {@link SocketApi.socket}. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export { AF_INET, AF_INET6 };
export type { SockAddr };

export * from './options.js';
export { SHUT_RD, SHUT_WR, SHUT_RDWR } from '../engine/tcp/index.js';

/** What the API needs from its stack: the current time, a nudge for the driver, and zones. */
export interface SocketHost {
  /** Bring the stack's notion of "now" up to date before sending. */
  touch(): void;
  /** Ask the driver to poll soon (new output, new events). */
  kick(): void;
  /** The interfaces (for `%zone` names and indexes) and the next route6's zone (EngineContext.zone6). */
  readonly interfaces: readonly NetInterface[];
  zone6: number;
  /** After a call that transmitted at once: ask for a poll only for what it left pending (events, timers). */
  kickIfPending(): void;
}

export { EV_READABLE, EV_WRITABLE, EV_CLOSED, EV_ERROR };
export type { TcpInfo };

/** An address: IPv4 as a number or dotted quad, IPv6 as text or 16 bytes. */
export type Address = number | string | Uint8Array;

export class SocketApi {
  private readonly userCallbacks: Array<SocketCallback | null>;
  private readonly waiters: Array<Array<() => void> | null>;
  private readonly zones: Uint16Array; // per descriptor: the zone a connected UDP peer was named with
  private readonly dispatchEvent: SocketCallback;

  constructor(private readonly table: SocketTable, private readonly udp: Udp, private readonly tcp: Tcp,
    private readonly host: SocketHost) {
    this.userCallbacks = new Array<SocketCallback | null>(table.capacity).fill(null);
    this.waiters = new Array<Array<() => void> | null>(table.capacity).fill(null);
    this.zones = new Uint16Array(table.capacity);
    this.dispatchEvent = (fd, events) => {
      const cb = this.userCallbacks[fd];
      if (cb !== null) cb(fd, events);
      const w = this.waiters[fd];
      if (w !== null && w.length > 0) {
        this.waiters[fd] = null;
        for (const resolve of w) resolve();
      }
    };
  }

  /**
   * True for a descriptor the user holds open (a closed TCP connection may
   * linger without one). As with POSIX descriptors, a number is reused by the
   * next socket once closed: callers must forget it at close.
   */
  private valid(fd: number): boolean {
    // Number.isInteger(fd) without the builtin call (several valid() per exchange run interpreted for a while, #10).
    return typeof fd === 'number' && (fd | 0) === fd && fd >= 0 && fd < this.table.capacity && (this.table.flags[fd] & F_OPEN) !== 0;
  }

  private isTcp(fd: number): boolean {
    return this.table.type[fd] === SOCK_TCP;
  }

  private adopt(fd: number): number {
    this.zones[fd] = 0;
    this.table.flags[fd] |= F_OPEN;
    this.table.callbacks[fd] = this.dispatchEvent;
    this.userCallbacks[fd] = null;
    return fd;
  }

  /**
   * Create a socket: 'udp' (datagram) or 'tcp' (stream), of `family`
   * AF_INET (4, default) or AF_INET6 (6; also 'udp6'/'tcp6'). An AF_INET6
   * socket bound to `::` takes IPv4 too unless IPV6_V6ONLY, and reaches
   * IPv4 peers as `::ffff:a.b.c.d` (RFC 3493 3.7). Returns a descriptor,
   * -EMFILE when the table is full, -ENOBUFS when no receive buffer is left,
   * -EAFNOSUPPORT for AF_INET6 on a stack without IPv6.
   */
  socket(type: 'udp' | 'dgram' | 'tcp' | 'stream' | 'udp6' | 'tcp6' | number = SOCK_DGRAM, family = AF_INET): number {
    if (type === 'udp6' || type === 'tcp6') family = AF_INET6;
    if (family !== AF_INET && family !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if (type === 'tcp' || type === 'tcp6' || type === 'stream' || type === SOCK_STREAM) {
      const fd = this.tcp.user.open();
      if (fd < 0) return fd;
      if (family === AF_INET6) {
        const t = this.table;
        if (t.localAddr6.length === 0) {
          this.tcp.core.destroy(fd);
          return -Errno.EAFNOSUPPORT;
        }
        t.family[fd] = AF_INET6;
        t.flags[fd] |= F_INET6;
        t.localAddr6.fill(0, 16 * fd, 16 * fd + 16);
        t.remoteAddr6.fill(0, 16 * fd, 16 * fd + 16);
      }
      return this.adopt(fd);
    }
    if (type !== 'udp' && type !== 'udp6' && type !== 'dgram' && type !== SOCK_DGRAM) return -Errno.EPROTONOSUPPORT;
    const fd = this.table.allocate(SOCK_UDP, family);
    if (fd === -3) return -Errno.EAFNOSUPPORT;
    if (fd === -2) return -Errno.ENOBUFS;
    if (fd < 0) return -Errno.EMFILE;
    return this.adopt(fd);
  }

  /** The socket's domain: AF_INET6 for an AF_INET6 socket (whatever its traffic), else AF_INET; -EBADF. */
  family(fd: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    return (this.table.flags[fd] & F_INET6) !== 0 ? AF_INET6 : AF_INET;
  }

  /**
   * Bind to a local address (0 / '0.0.0.0' for any; '::' for an AF_INET6
   * socket) and port (0 for ephemeral). An address of the other family:
   * -EAFNOSUPPORT; `::ffff:a.b.c.d` on an AF_INET6 socket binds it to IPv4.
   */
  bind(fd: number, address: Address, port: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    const a = toAddr(address);
    if (addrFamily === 0 || !validPort(port)) return -Errno.EINVAL;
    const t = this.table;
    const tcp = this.isTcp(fd);
    if ((t.flags[fd] & F_INET6) === 0 || addrFamily === AF_INET) {
      if (addrFamily !== AF_INET || (t.flags[fd] & F_INET6) !== 0) return -Errno.EAFNOSUPPORT;
      return tcp ? this.tcp.user.bind(fd, a, port) : this.udp.bind(fd, a, port);
    }
    if (addrIsMapped()) {
      // An IPv4 address in IPv6 form: the socket runs over IPv4 (Linux allows it unless V6ONLY).
      if ((t.flags[fd] & (F_V6ONLY | F_BOUND)) !== 0) return -Errno.EINVAL;
      t.family[fd] = AF_INET;
      const r = tcp ? this.tcp.user.bind(fd, mappedV4(), port) : this.udp.bind(fd, mappedV4(), port);
      if (r < 0) t.family[fd] = AF_INET6;
      return r;
    }
    return tcp ? this.tcp.user6.bind6(fd, addr6, 0, port) : this.udp.bind6(fd, addr6, 0, port);
  }

  /** Listen for connections on a bound (or, if unbound, an ephemeral) port, with a backlog for both queues. */
  listen(fd: number, backlog = 128): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (!this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    return this.tcp.user.listen(fd, backlog);
  }

  /** Take an established connection from a listener's queue: a new descriptor, or -EAGAIN. */
  accept(fd: number, from?: SockAddr | null): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (!this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    const c = this.tcp.user.accept(fd);
    if (c < 0) return c;
    if (from) fillSockAddr(this.table, c, false, from, this.host.interfaces);
    this.adopt(c);
    // The events accept() raised: inside a poll (a listener's callback) its dispatch delivers them in the same
    // pass; outside one, a poll soon. Not a poll per accepted connection (a setImmediate each).
    this.host.kickIfPending();
    return c;
  }

  /** Half-close (SHUT_WR sends FIN after queued data) or stop reading (SHUT_RD). */
  shutdown(fd: number, how: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (!this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    this.host.touch();
    const r = this.tcp.user.shutdown(fd, how);
    this.host.kickIfPending(); // the FIN went out at once; only timers or events may be left
    return r;
  }

  /** Bytes a TCP send() would accept now (0 for UDP). */
  sendSpace(fd: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    return this.isTcp(fd) ? this.tcp.user.sendSpace(fd) : 0;
  }

  /** Bytes (TCP) or the next datagram's length (UDP) ready to read, 0 when none. */
  readableBytes(fd: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (this.isTcp(fd)) return this.tcp.user.readable(fd);
    const n = this.table.ring(fd).peekLength();
    return n < 0 ? 0 : n;
  }

  /** TCP_INFO-like statistics of a connection (allocates). */
  tcpInfo(fd: number): TcpInfo | null {
    if (!this.valid(fd) || !this.isTcp(fd)) return null;
    return this.tcp.user.info(fd);
  }

  /** TCP state name of a stream socket ('ESTABLISHED', ...), or null. */
  tcpState(fd: number): string | null {
    // The name alone (tcpInfo() builds a whole object): every accepted socket's facade asks it.
    return this.valid(fd) && this.isTcp(fd) ? STATE_NAMES[this.tcp.user.state(fd)] : null;
  }

  /**
   * UDP: fix the peer (port 0 with address 0 disconnects). TCP: start an
   * active open; returns -EINPROGRESS, completion is EV_WRITABLE, failure
   * EV_ERROR with the error readable through SO_ERROR or recv().
   */
  connect(fd: number, address: Address, port: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    let a = toAddr(address);
    const zone = addrScope(this.host.interfaces);
    if (addrFamily === 0 || !validPort(port) || zone < 0) return -Errno.EINVAL;
    const t = this.table;
    const inet6 = (t.flags[fd] & F_INET6) !== 0;
    let fam = addrFamily;
    if (inet6 && fam === AF_INET && a === 0 && port === 0 && !this.isTcp(fd)) fam = AF_INET6; // disconnect
    if ((fam === AF_INET6) !== inet6) return -Errno.EAFNOSUPPORT;
    const mapped = fam === AF_INET6 && addrIsMapped();
    if (mapped) a = mappedV4();
    if (this.isTcp(fd)) {
      this.host.touch();
      let r: number;
      if (fam === AF_INET6 && !mapped) { this.host.zone6 = zone; r = this.tcp.user6.connect6(fd, addr6, 0, port); this.host.zone6 = 0; } else {
        const prev = t.family[fd];
        r = mapped ? toMapped(t, fd) : 0;
        if (r === 0) r = this.tcp.user.connect(fd, a, port);
        if (r !== -Errno.EINPROGRESS && t.remotePort[fd] === 0) t.family[fd] = prev;
      }
      this.host.kick();
      return r;
    }
    if ((fam === AF_INET ? a === 0 : addr6Unspecified(addr6, 0)) && port === 0) {
      t.flags[fd] &= ~F_CONNECTED;
      t.remoteAddr[fd] = 0;
      t.remotePort[fd] = 0;
      this.zones[fd] = 0;
      // An AF_INET6 socket that was connected to an IPv4 peer is an IPv6 one again (still bound to ::).
      if (inet6) t.family[fd] = AF_INET6;
      return 0;
    }
    if (port === 0 || (fam === AF_INET6 && !mapped ? addr6Unspecified(addr6, 0) : a === 0)) return -Errno.EINVAL;
    if ((t.flags[fd] & F_BOUND) === 0) {
      const r = this.udp.bind(fd, 0, 0);
      if (r < 0) return r;
    }
    if (fam === AF_INET6 && !mapped) {
      if (t.family[fd] !== AF_INET6) return -Errno.EAFNOSUPPORT;
      t.setRemote6(fd, addr6, 0);
      this.zones[fd] = zone;
    } else {
      if (inet6) {
        const r = toMapped(t, fd);
        if (r < 0) return r;
      }
      t.remoteAddr[fd] = a;
    }
    t.remotePort[fd] = port;
    t.flags[fd] |= F_CONNECTED;
    return 0;
  }

  /** Send one datagram to `address:port`; binds an ephemeral port first if needed. Returns bytes sent or -errno. */
  sendto(fd: number, buf: Uint8Array, off: number, len: number, address: Address, port: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    let a = toAddr(address);
    const zone = addrScope(this.host.interfaces);
    if (addrFamily === 0 || !validPort(port) || zone < 0 || off < 0 || len < 0 || off + len > buf.length) return -Errno.EINVAL;
    const t = this.table;
    const inet6 = (t.flags[fd] & F_INET6) !== 0;
    if ((addrFamily === AF_INET6) !== inet6) return -Errno.EAFNOSUPPORT;
    const v6 = inet6 && !addrIsMapped();
    if (inet6 && !v6) a = mappedV4();
    if ((t.flags[fd] & F_CONNECTED) !== 0 && (port !== t.remotePort[fd]
      || (v6 ? t.family[fd] !== AF_INET6 || !t.remote6Is(fd, addr6, 0) : t.family[fd] !== AF_INET || a !== t.remoteAddr[fd]))) {
      return -Errno.EISCONN;
    }
    if (v6) return this.transmit6(fd, buf, off, len, addr6, 0, port, zone);
    if (inet6 && t.family[fd] === AF_INET6 && ((t.flags[fd] & F_V6ONLY) !== 0 || !addr6Unspecified(t.localAddr6, 16 * fd))) {
      return -Errno.ENETUNREACH;
    }
    return this.transmit(fd, buf, off, len, a, port);
  }

  /**
   * Send on a connected socket. TCP: returns the bytes queued (maybe fewer
   * than `len`) or -EAGAIN; `flags` may be {@link MSG_MORE} (ignored for UDP).
   */
  send(fd: number, buf: Uint8Array, off: number, len: number, flags = 0): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (this.isTcp(fd)) {
      if (off < 0 || len < 0 || off + len > buf.length) return -Errno.EINVAL;
      this.host.touch();
      const n = this.tcp.user.send(fd, buf, off, len, (flags & MSG_MORE) !== 0);
      this.host.kickIfPending(); // TCP output ran: segments are out, only timers or events may be left
      return n;
    }
    const t = this.table;
    if ((t.flags[fd] & F_CONNECTED) === 0) return -Errno.EDESTADDRREQ;
    if (off < 0 || len < 0 || off + len > buf.length) return -Errno.EINVAL;
    if (t.family[fd] === AF_INET6) return this.transmit6(fd, buf, off, len, t.remoteAddr6, 16 * fd, t.remotePort[fd], this.zones[fd]);
    return this.transmit(fd, buf, off, len, t.remoteAddr[fd], t.remotePort[fd]);
  }

  /**
   * Gathered send on a TCP socket as Linux's writev() (TcpUser.sendv): one clock read and one driver check per call,
   * not per chunk (#10). Returns the bytes taken or, when none was, -EAGAIN or an error (UDP: -EOPNOTSUPP).
   */
  sendv(fd: number, chunks: readonly Uint8Array[], index: number, off: number, last: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (!this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    this.host.touch();
    const n = this.tcp.user.sendv(fd, chunks, index, off, last);
    this.host.kickIfPending(); // TCP output ran: segments are out, only timers or events may be left
    return n;
  }

  private transmit6(fd: number, buf: Uint8Array, off: number, len: number, a: Uint8Array, ao: number, port: number, zone: number): number {
    const t = this.table;
    if (t.soError[fd] !== 0 && (t.flags[fd] & F_CONNECTED) !== 0) {
      const e = t.soError[fd];
      t.soError[fd] = 0;
      return -e;
    }
    if ((t.flags[fd] & F_BOUND) === 0) {
      const r = this.udp.bind(fd, 0, 0); // :: and an ephemeral port
      if (r < 0) return r;
    }
    this.host.touch();
    this.host.zone6 = zone;
    const n = this.udp.send6(fd, buf, off, len, a, ao, port);
    this.host.zone6 = 0;
    this.host.kick();
    return n;
  }

  private transmit(fd: number, buf: Uint8Array, off: number, len: number, a: number, port: number): number {
    const t = this.table;
    if (t.soError[fd] !== 0 && (t.flags[fd] & F_CONNECTED) !== 0) {
      const e = t.soError[fd];
      t.soError[fd] = 0;
      return -e;
    }
    if ((t.flags[fd] & F_BOUND) === 0) {
      const r = this.udp.bind(fd, 0, 0);
      if (r < 0) return r;
    }
    this.host.touch();
    const n = this.udp.send(fd, buf, off, len, a, port);
    this.host.kick();
    return n;
  }

  /**
   * Receive one datagram into `buf[off .. off+len)`; a longer datagram is
   * truncated. Returns the bytes copied, or -EAGAIN when none is queued; a
   * pending ICMP error on a connected socket is returned once as -errno.
   * The sender is written to `from` when given.
   */
  recvfrom(fd: number, buf: Uint8Array, off: number, len: number, from?: SockAddr | null): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (off < 0 || len < 0 || off + len > buf.length) return -Errno.EINVAL;
    const t = this.table;
    if (this.isTcp(fd)) {
      // Only a read that takes data may send (a due ACK or a window update, stamped with the time).
      if (this.tcp.user.readable(fd) > 0) this.host.touch();
      const n = this.tcp.user.recv(fd, buf, off, len);
      if (n > 0) this.host.kickIfPending(); // a window update or due ACK went out at once; timers or events may be left
      if (n >= 0 && from) fillSockAddr(t, fd, false, from, this.host.interfaces);
      return n;
    }
    const ring = t.ring(fd);
    const full = ring.pop(buf, off, len);
    if (full < 0) {
      if (t.soError[fd] !== 0) {
        const e = t.soError[fd];
        t.soError[fd] = 0;
        return -e;
      }
      return -Errno.EAGAIN;
    }
    if (from) {
      from.port = ring.lastPort;
      from.zone = ''; // the arrival interface is not kept per datagram
      if (ring.lastFamily === AF_INET6) {
        from.address = 0;
        from.family = AF_INET6;
        if (from.address6 !== undefined) from.address6.set(ring.lastAddress6);
      } else {
        from.address = ring.lastAddress >>> 0;
        fillV4(t, fd, ring.lastAddress, from);
      }
    }
    return full < len ? full : len;
  }

  recv(fd: number, buf: Uint8Array, off: number, len: number): number {
    return this.recvfrom(fd, buf, off, len, null);
  }

  /** Length of the next queued datagram, or -EAGAIN when none (-EBADF for a bad descriptor). */
  nextLength(fd: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (this.isTcp(fd)) {
      const n = this.tcp.user.readable(fd);
      return n > 0 ? n : -Errno.EAGAIN;
    }
    const n = this.table.ring(fd).peekLength();
    return n < 0 ? -Errno.EAGAIN : n;
  }

  /**
   * Close the descriptor. UDP: queued datagrams are discarded. TCP: the
   * connection closes gracefully in the background (or is reset when unread
   * data remains). The callback sees EV_CLOSED, then never hears of it again.
   */
  close(fd: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    const t = this.table;
    const cb = this.userCallbacks[fd];
    this.userCallbacks[fd] = null;
    t.flags[fd] &= ~F_OPEN;
    t.callbacks[fd] = null;
    if (this.isTcp(fd)) {
      this.host.touch();
      this.tcp.user.close(fd);
      this.host.kickIfPending(); // a FIN or RST went out at once; only timers may be left
    } else {
      if ((t.flags[fd] & F_BOUND) !== 0) t.unlinkPort(t.udpPortHead, fd);
      t.release(fd);
    }
    const w = this.waiters[fd];
    this.waiters[fd] = null;
    if (cb !== null) cb(fd, EV_CLOSED);
    if (w !== null) for (const resolve of w) resolve();
    return 0;
  }

  /**
   * Hand a UDP socket's datagrams to `handler` as they arrive, during the
   * stack's input, instead of queueing them (one copy less, no queue to
   * overflow); for consumers with their own queue, such as a WireGuard
   * device's outer socket. Null restores queueing.
   */
  setDatagramHandler(fd: number, handler: DatagramHandler | null): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    if (this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    this.table.datagramHandlers[fd] = handler;
    return 0;
  }

  /** Register (or clear with null) the event callback of a socket. A UDP socket is writable at once. */
  setCallback(fd: number, cb: SocketCallback | null): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    this.userCallbacks[fd] = cb;
    if (cb !== null) {
      let ev = 0;
      if (this.isTcp(fd)) {
        if (this.tcp.user.sendSpace(fd) > 0) ev |= EV_WRITABLE;
        if (this.tcp.user.readable(fd) > 0) ev |= EV_READABLE;
      } else {
        ev = EV_WRITABLE;
        if (this.table.ring(fd).count > 0) ev |= EV_READABLE;
      }
      if (ev !== 0) {
        this.table.raise(fd, ev);
        this.host.kickIfPending(); // inside a poll its dispatch delivers them (see accept)
      }
    }
    return 0;
  }

  getsockname(fd: number, out: SockAddr): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    fillSockAddr(this.table, fd, true, out, this.host.interfaces);
    return 0;
  }

  getpeername(fd: number, out: SockAddr): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    const connected = this.isTcp(fd) ? this.tcp.user.isConnected(fd) : (this.table.flags[fd] & F_CONNECTED) !== 0;
    if (!connected) return -Errno.ENOTCONN;
    fillSockAddr(this.table, fd, false, out, this.host.interfaces);
    return 0;
  }

  setsockopt(fd: number, option: number, value: number | boolean): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    const on = value === true || (typeof value === 'number' && value !== 0);
    const t = this.table;
    if (option === SO_BROADCAST) {
      t.flags[fd] = on ? t.flags[fd] | F_BROADCAST : t.flags[fd] & ~F_BROADCAST;
      return 0;
    }
    if (option === SO_REUSEADDR) {
      if ((t.flags[fd] & F_BOUND) !== 0) return -Errno.EINVAL;
      t.flags[fd] = on ? t.flags[fd] | F_REUSEADDR : t.flags[fd] & ~F_REUSEADDR;
      return 0;
    }
    if (option === IPV6_V6ONLY) {
      if ((t.flags[fd] & F_INET6) === 0) return -Errno.EOPNOTSUPP;
      if ((t.flags[fd] & F_BOUND) !== 0) return -Errno.EINVAL;
      t.flags[fd] = on ? t.flags[fd] | F_V6ONLY : t.flags[fd] & ~F_V6ONLY;
      return 0;
    }
    if (option === IP_DONTFRAG && !this.isTcp(fd)) {
      t.flags[fd] = on ? t.flags[fd] | F_DONTFRAG : t.flags[fd] & ~F_DONTFRAG;
      return 0;
    }
    if (!this.isTcp(fd)) return -Errno.EOPNOTSUPP;
    const n = typeof value === 'number' ? value : (value ? 1 : 0);
    const u = this.tcp.user;
    switch (option) {
      case TCP_NODELAY: u.setNoDelay(fd, on); this.host.kickIfPending(); return 0; // held data went out at once
      case SO_KEEPALIVE: u.setKeepAlive(fd, on); this.host.kick(); return 0;
      case TCP_KEEPIDLE: if (n <= 0) return -Errno.EINVAL; u.setKeepAlive(fd, u.keepAliveOn(fd), n); return 0;
      case TCP_KEEPINTVL: if (n <= 0) return -Errno.EINVAL; u.setKeepAlive(fd, u.keepAliveOn(fd), undefined, n); return 0;
      case TCP_KEEPCNT: if (n <= 0) return -Errno.EINVAL; u.setKeepAlive(fd, u.keepAliveOn(fd), undefined, undefined, n); return 0;
      case SO_LINGER: u.setLingerAbort(fd, on); return 0;
      case TCP_USER_TIMEOUT: if (n < 0) return -Errno.EINVAL; u.setUserTimeout(fd, n); return 0;
      case SO_RCVBUF:
      case SO_SNDBUF: return this.tcp.user.setBufferSize(fd, option === SO_SNDBUF, n);
      default: return -Errno.EOPNOTSUPP;
    }
  }

  /** Option value (>= 0) or -errno. SO_ERROR reads and clears the pending error. */
  getsockopt(fd: number, option: number): number {
    if (!this.valid(fd)) return -Errno.EBADF;
    const t = this.table;
    switch (option) {
      case SO_BROADCAST: return (t.flags[fd] & F_BROADCAST) !== 0 ? 1 : 0;
      case IP_DONTFRAG: return (t.flags[fd] & F_DONTFRAG) !== 0 ? 1 : 0;
      case IPV6_V6ONLY: return (t.flags[fd] & F_INET6) === 0 ? -Errno.EOPNOTSUPP : (t.flags[fd] & F_V6ONLY) !== 0 ? 1 : 0;
      case SO_REUSEADDR: return (t.flags[fd] & F_REUSEADDR) !== 0 ? 1 : 0;
      case SO_RCVBUF: return this.isTcp(fd) ? this.tcp.user.bufferSize(fd, false) : t.ring(fd).capacity;
      case SO_SNDBUF: return this.isTcp(fd) ? this.tcp.user.bufferSize(fd, true) : 0;
      case TCP_NODELAY: return this.isTcp(fd) && this.tcp.user.noDelayOn(fd) ? 1 : 0;
      case SO_KEEPALIVE: return this.isTcp(fd) && this.tcp.user.keepAliveOn(fd) ? 1 : 0;
      case SO_ERROR: {
        const e = t.soError[fd];
        t.soError[fd] = 0;
        return e;
      }
      default: return -Errno.EOPNOTSUPP;
    }
  }

  /** Sockets in use and the table size. */
  get usage(): { used: number; capacity: number } {
    return { used: this.table.used, capacity: this.table.capacity };
  }

  /** Resolve when the socket has a datagram queued, an error, or is closed (allocates: a convenience). */
  readable(fd: number): Promise<void> {
    if (!this.valid(fd)) return Promise.reject(new Error(`bad descriptor ${fd}`));
    const t = this.table;
    if (this.readableBytes(fd) > 0 || t.soError[fd] !== 0) return Promise.resolve();
    return new Promise((resolve) => {
      let w = this.waiters[fd];
      if (w === null) {
        w = [];
        this.waiters[fd] = w;
      }
      w.push(resolve);
    });
  }

  /**
   * Wait for and receive one datagram (allocates: a convenience). Resolves to
   * `{ length, address, port }`; rejects with the socket's error.
   */
  async recvfromAsync(fd: number, buf: Uint8Array, off = 0, len = buf.length - off): Promise<{ length: number; address: number; port: number }> {
    const from: SockAddr = { address: 0, port: 0 };
    for (;;) {
      const n = this.recvfrom(fd, buf, off, len, from);
      if (n >= 0) return { length: n, address: from.address, port: from.port };
      if (n !== -Errno.EAGAIN) throw sysError(-n, 'recvfrom');
      await this.readable(fd);
    }
  }
}
