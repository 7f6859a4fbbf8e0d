/**
 * Host UDP through the project's native addon (native/udp.c): recvmmsg into
 * one preallocated buffer, sendto straight from the device's buffer. No
 * Buffer per datagram and no libuv request per send, unlike node:dgram;
 * readability comes from the same uv_poll the TAP driver uses. Falls back
 * to {@link HostUdpTransport} where the addon is not built (see setup.ts).
 */
import { Errno, sysError } from '../engine/errno.js';
import type { DatagramReceiver, WgTransport } from './transport.js';
import { tryNativeAddon } from '../link/addon.js';
import type { UdpAddon, UdpOffloadAddon } from '../link/addon.js';

const BATCH = 64;
/** With UDP GRO: messages per recvmmsg, each in a 64 KiB slot (a coalesced message holds up to 64 datagrams). */
const GRO_BATCH = 32;
const GRO_SLOT = 65536;
/** udpSendGso's flag: the kernel refused GSO, the batch went without. */
const GSO_REFUSED = 0x10000;
/** Datagrams handled per readability callback before yielding to the event loop. */
const BUDGET = 256;

/** Whether the native transport can be used (the addon loads and fits; see {@link nativeUdpUnavailableReason}). */
export function nativeUdpAvailable(): boolean {
  return loadAddon() !== null;
}

/** Why the native transport cannot be used (the loader's message), or null when it can. */
export function nativeUdpUnavailableReason(): string | null {
  const a = tryNativeAddon();
  return a instanceof Error ? a.message : null;
}

function loadAddon(): UdpAddon | null {
  const a = tryNativeAddon();
  return a instanceof Error ? null : a;
}

/** Options of {@link NativeUdpTransport.open}. */
export interface NativeUdpOptions {
  port?: number;
  address?: string;
  maxDatagram?: number;
  /** UDP GSO on {@link NativeUdpTransport.sendBatch} where the kernel has it (default true). */
  gso?: boolean;
  /** UDP GRO on receive where the kernel has it (default true). */
  gro?: boolean;
}

export class NativeUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  private readonly buf: Uint8Array;
  private readonly meta: Int32Array;
  /** IPv6 source addresses of a received batch (16 bytes per datagram). */
  private readonly addr6 = new Uint8Array(BATCH * 16);
  /** The IPv6 source of the datagram being handed over (a view into addr6 made once per slot). */
  private readonly addr6Views: Uint8Array[] = [];
  /** Whether the socket is AF_INET6 (dual-stack): IPv6 endpoints reachable. */
  readonly ipv6: boolean;
  private poller: object | null = null;
  private closed = false;
  /** Datagrams the kernel would not take (socket buffer full) or that were too long. */
  drops = 0;
  /** Whether batches leave with UDP GSO (turned off when the kernel refuses it). */
  gso = false;
  /** Whether the socket receives with UDP GRO. */
  readonly gro: boolean;
  /** Times the kernel refused GSO (then it is off for this socket). */
  gsoRefused = 0;
  /** Received datagrams that came in coalesced GRO messages, and those messages. */
  groDatagrams = 0;
  groMessages = 0;

  private constructor(private readonly a: UdpAddon & Partial<UdpOffloadAddon>, private readonly fd: number, readonly port: number,
    private readonly slotSize: number, gso: boolean, gro: boolean, ipv6: boolean) {
    let flags = 0;
    if (a.udpOffload !== undefined && a.udpSendGso !== undefined && a.udpRecvGro !== undefined) flags = a.udpOffload(fd, gro ? 1 : 0);
    this.gso = gso && (flags & 1) !== 0;
    this.gro = gro && (flags & 2) !== 0;
    this.buf = new Uint8Array(this.gro ? GRO_BATCH * GRO_SLOT : BATCH * slotSize);
    this.meta = new Int32Array(BATCH * 4);
    this.ipv6 = ipv6;
    for (let i = 0; i < BATCH; i++) this.addr6Views.push(this.addr6.subarray(16 * i, 16 * i + 16));
    this.poller = a.pollStart(fd, () => (this.gro ? this.drainGro() : this.drain()));
  }

  /**
   * Bind `address:port` (port 0: ephemeral). Rejects like node:dgram
   * (`code` EADDRINUSE, ...); throws when the addon is not available.
   * Without an address the socket is dual-stack on '::' (IPv4 and IPv6
   * peers on one port, as the kernel's WireGuard), or on '0.0.0.0' where
   * the host has no IPv6 (EAFNOSUPPORT; EADDRNOTAVAIL when disabled).
   */
  static open(options: NativeUdpOptions = {}): NativeUdpTransport {
    const a = loadAddon();
    if (a === null) throw new Error(`native UDP transport unavailable: ${nativeUdpUnavailableReason() ?? 'no addon'}`);
    let address = options.address ?? '::';
    let fd = a.udpOpen(address, options.port ?? 0);
    if (options.address === undefined && (fd === -Errno.EAFNOSUPPORT || fd === -Errno.EADDRNOTAVAIL)) {
      address = '0.0.0.0';
      fd = a.udpOpen(address, options.port ?? 0);
    }
    if (fd < 0) throw sysError(fd, 'bind', address, options.port ?? 0);
    const port = a.udpPort(fd);
    return new NativeUdpTransport(a, fd, port, options.maxDatagram ?? 2048, options.gso ?? true, options.gro ?? true,
      address.includes(':'));
  }

  private drain(): void {
    let handled = 0;
    while (!this.closed && handled < BUDGET) {
      const n = this.ipv6 ? this.a.udpRecvBatch(this.fd, this.buf, this.slotSize, BATCH, this.meta, this.addr6)
        : this.a.udpRecvBatch(this.fd, this.buf, this.slotSize, BATCH, this.meta);
      if (n <= 0) return;
      const rx = this.receiver;
      for (let i = 0; i < n; i++) {
        const len = this.meta[3 * i];
        if (len < 0) {
          this.drops++;
          continue;
        }
        const addr = this.meta[3 * i + 1];
        // Address 0 marks an IPv6 source (udp.c); IPv4-mapped ones arrive as IPv4.
        if (rx !== null) rx(this.buf, i * this.slotSize, len, addr, this.meta[3 * i + 2], addr === 0 && this.ipv6 ? this.addr6Views[i] : null);
      }
      handled += n;
    }
  }

  /** Receive with GRO: each message may hold several datagrams of one sender, cut apart here by the kernel's size. */
  private drainGro(): void {
    const recv = this.a.udpRecvGro as NonNullable<UdpOffloadAddon['udpRecvGro']>;
    const meta = this.meta;
    let handled = 0;
    while (!this.closed && handled < BUDGET) {
      const n = this.ipv6 ? recv(this.fd, this.buf, GRO_SLOT, GRO_BATCH, meta, this.addr6) : recv(this.fd, this.buf, GRO_SLOT, GRO_BATCH, meta);
      if (n <= 0) return;
      const rx = this.receiver;
      for (let i = 0; i < n; i++) {
        const len = meta[4 * i];
        if (len < 0) {
          this.drops++;
          continue;
        }
        const seg = meta[4 * i + 3];
        const base = i * GRO_SLOT;
        // Datagrams longer than maxDatagram are dropped as the plain path drops what overflows its slot.
        if ((seg === 0 ? len : seg) > this.slotSize) {
          this.drops += seg === 0 ? 1 : Math.ceil(len / seg);
          continue;
        }
        const addr = meta[4 * i + 1];
        // Address 0 marks an IPv6 source (udp.c), as in drain().
        const a6 = addr === 0 && this.ipv6 ? this.addr6Views[i] : null;
        if (seg === 0) {
          if (rx !== null) rx(this.buf, base, len, addr, meta[4 * i + 2], a6);
          handled++;
          continue;
        }
        this.groMessages++;
        for (let off = 0; off < len; off += seg) {
          const l = len - off < seg ? len - off : seg;
          if (rx !== null) rx(this.buf, base + off, l, addr, meta[4 * i + 2], a6);
          this.groDatagrams++;
          handled++;
        }
      }
    }
  }

  /**
   * Send datagrams i = 0..n-1 of `buf` (see {@link WgTransport.sendBatch}) in
   * one system call: with UDP GSO, runs to one destination with one length
   * become single messages the kernel cuts apart; else sendmmsg. Returns how
   * many were sent; the rest count as drops.
   */
  sendBatch(buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number {
    if (this.closed || n <= 0) return 0;
    if (this.batchCount > 0) this.flush();
    let sent: number;
    if (this.gso) {
      const r = (this.a.udpSendGso as NonNullable<UdpOffloadAddon['udpSendGso']>)(this.fd, buf, slotSize, n, meta);
      if (r >= 0 && (r & GSO_REFUSED) !== 0) {
        this.gso = false;
        this.gsoRefused++;
      }
      sent = r < 0 ? 0 : r & 0xffff;
    } else {
      const r = this.a.udpSendBatch(this.fd, buf, slotSize, n, meta);
      sent = r < 0 ? 0 : r;
    }
    if (sent < n) this.drops += n - sent;
    return sent;
  }

  /** Corked: datagrams queued by {@link send}, sent together by {@link flush} (sendmmsg). */
  private corked = false;
  private batch: Uint8Array | null = null;
  private readonly batchMeta = new Int32Array(BATCH * 3);
  private batchCount = 0;

  /**
   * Queue datagrams from now on instead of sending each at once, until
   * {@link uncork}: {@link flush} sends the queue with one sendmmsg(2), and a
   * full queue (64) is flushed by the next send. For a caller that sends in
   * bursts and knows when a burst ends (the TUN device flushes at the end of
   * each poll).
   */
  cork(): void {
    if (this.closed) return;
    if (this.batch === null) this.batch = new Uint8Array(BATCH * this.slotSize);
    this.corked = true;
  }

  /** Send what is queued (datagrams the kernel refuses are counted in `drops`). */
  flush(): void {
    const n = this.batchCount;
    if (n === 0 || this.batch === null) return;
    this.batchCount = 0;
    if (this.closed) return;
    const r = this.a.udpSendBatch(this.fd, this.batch, this.slotSize, n, this.batchMeta);
    if (r < n) this.drops += n - (r < 0 ? 0 : r);
  }

  /** Flush and send each datagram at once again. */
  uncork(): void {
    this.flush();
    this.corked = false;
  }

  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    if (this.closed) return false;
    const batch = this.batch;
    if (this.corked && batch !== null && len <= this.slotSize) {
      if (this.batchCount === BATCH) this.flush();
      const i = this.batchCount++;
      (this.a.udpStage as NonNullable<UdpAddon['udpStage']>)(batch, i * this.slotSize, b, off, len);
      this.batchMeta[3 * i] = len;
      this.batchMeta[3 * i + 1] = address | 0;
      this.batchMeta[3 * i + 2] = port;
      return true;
    }
    const r = this.a.udpSend(this.fd, b, off, len, address | 0, port);
    if (r < 0) {
      // Typically EAGAIN, the socket's send buffer full: like a full queue, the datagram is dropped.
      this.drops++;
      return false;
    }
    return true;
  }

  /** Send to an IPv6 endpoint (after what is corked, to keep the order); false without IPv6 on this socket. */
  send6(b: Uint8Array, off: number, len: number, address6: Uint8Array, a6off: number, port: number): boolean {
    if (this.closed || !this.ipv6) {
      this.drops++;
      return false;
    }
    if (this.batchCount > 0) this.flush();
    const r = this.a.udpSend6(this.fd, b, off, len, address6, a6off, port);
    if (r < 0) {
      this.drops++;
      return false;
    }
    return true;
  }

  setReceiver(rx: DatagramReceiver | null): void {
    this.receiver = rx;
  }

  /**
   * Mark the socket's datagrams (SO_MARK, needs CAP_NET_ADMIN; 0 clears it),
   * as the kernel's WireGuard applies `fwmark`: a policy rule can then route
   * the tunnel's own datagrams outside the tunnel. Throws with the errno.
   */
  setMark(mark: number): void {
    if (this.closed) return;
    const r = this.a.udpSetMark(this.fd, mark >>> 0);
    if (r < 0) throw sysError(r, 'setsockopt', `SO_MARK ${mark >>> 0}`);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.receiver = null;
    if (this.poller !== null) this.a.pollStop(this.poller);
    this.poller = null;
    this.a.close(this.fd);
  }
}
