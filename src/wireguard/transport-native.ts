/**
 * Host UDP through the project's native addon (native/udp.c): recvmmsg into
 * one preallocated buffer, sendto straight from the device's buffer. No
 * Buffer per datagram and no libuv request per send, unlike node:dgram;
 * readability comes from the same uv_poll the TAP driver uses. Falls back
 * to {@link HostUdpTransport} where the addon is not built (see setup.ts).
 */
import { createRequire } from 'node:module';
import type { DatagramReceiver, WgTransport } from './transport.js';

interface UdpAddon {
  udpOpen(address: string, port: number): number;
  udpPort(fd: number): number;
  udpRecvBatch(fd: number, buf: Uint8Array, slotSize: number, max: number, meta: Int32Array): number;
  udpSend(fd: number, buf: Uint8Array, off: number, len: number, address: number, port: number): number;
  udpSetMark?(fd: number, mark: number): number;
  udpStage?(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void;
  udpSendBatch?(fd: number, buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number;
  close(fd: number): number;
  pollStart(fd: number, callback: () => void): object;
  pollStop(handle: object): void;
}

const ADDON_PATH = '../../../build/Release/wirestack_tap.node'; // dist/src/wireguard -> repo root
const BATCH = 64;
/** Datagrams handled per readability callback before yielding to the event loop. */
const BUDGET = 256;

let addon: UdpAddon | null | undefined;

/** The addon, or null when it is not built (or predates the UDP functions). */
export function nativeUdpAvailable(): boolean {
  return loadAddon() !== null;
}

function loadAddon(): UdpAddon | null {
  if (addon !== undefined) return addon;
  try {
    const a = createRequire(import.meta.url)(ADDON_PATH) as Partial<UdpAddon>;
    addon = typeof a.udpOpen === 'function' ? a as UdpAddon : null;
  } catch {
    addon = null;
  }
  return addon;
}

function errnoError(errno: number, what: string): Error {
  const names: Record<number, string> = { 98: 'EADDRINUSE', 13: 'EACCES', 99: 'EADDRNOTAVAIL', 22: 'EINVAL', 1: 'EPERM', 95: 'EOPNOTSUPP' };
  const code = names[errno] ?? `E${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno, syscall: 'bind' });
}

export class NativeUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  private readonly buf: Uint8Array;
  private readonly meta = new Int32Array(BATCH * 3);
  private poller: object | null = null;
  private closed = false;
  /** Datagrams the kernel would not take (socket buffer full) or that were too long. */
  drops = 0;

  private constructor(private readonly a: UdpAddon, private readonly fd: number, readonly port: number,
    private readonly slotSize: number) {
    this.buf = new Uint8Array(BATCH * slotSize);
    this.poller = a.pollStart(fd, () => this.drain());
  }

  /**
   * Bind `address:port` (port 0: ephemeral). Rejects like node:dgram
   * (`code` EADDRINUSE, ...); throws when the addon is not available.
   */
  static open(options: { port?: number; address?: string; maxDatagram?: number } = {}): NativeUdpTransport {
    const a = loadAddon();
    if (a === null) throw new Error('native UDP transport unavailable: the wirestack addon is not built (npm ci builds it)');
    const address = options.address ?? '0.0.0.0';
    const fd = a.udpOpen(address, options.port ?? 0);
    if (fd < 0) throw errnoError(-fd, `cannot bind UDP ${address}:${options.port ?? 0}`);
    const port = a.udpPort(fd);
    return new NativeUdpTransport(a, fd, port, options.maxDatagram ?? 2048);
  }

  private drain(): void {
    let handled = 0;
    while (!this.closed && handled < BUDGET) {
      const n = this.a.udpRecvBatch(this.fd, this.buf, this.slotSize, BATCH, this.meta);
      if (n <= 0) return;
      const rx = this.receiver;
      for (let i = 0; i < n; i++) {
        const len = this.meta[3 * i];
        if (len < 0) {
          this.drops++;
          continue;
        }
        if (rx !== null) rx(this.buf, i * this.slotSize, len, this.meta[3 * i + 1], this.meta[3 * i + 2]);
      }
      handled += n;
    }
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
   * each poll). No-op where the addon predates batching.
   */
  cork(): void {
    if (this.closed || this.a.udpSendBatch === undefined || this.a.udpStage === undefined) return;
    if (this.batch === null) this.batch = new Uint8Array(BATCH * this.slotSize);
    this.corked = true;
  }

  /** Send what is queued (datagrams the kernel refuses are counted in `drops`). */
  flush(): void {
    const n = this.batchCount;
    if (n === 0 || this.batch === null || this.a.udpSendBatch === undefined) return;
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
    if (this.a.udpSetMark === undefined) throw errnoError(95, 'SO_MARK: the addon predates udpSetMark (rebuild it)');
    const r = this.a.udpSetMark(this.fd, mark >>> 0);
    if (r < 0) throw Object.assign(errnoError(-r, `setsockopt SO_MARK ${mark >>> 0}`), { syscall: 'setsockopt' });
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
