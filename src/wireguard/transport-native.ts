/**
 * Host UDP through the project's native addon (native/udp.c): recvmmsg into
 * one preallocated buffer, sendto straight from the device's buffer. No
 * Buffer per datagram and no libuv request per send, unlike node:dgram;
 * readability comes from the same uv_poll the TAP driver uses. Falls back
 * to {@link HostUdpTransport} where the addon is not built (see setup.ts).
 */
import { sysError } from '../engine/errno.js';
import type { DatagramReceiver, WgTransport } from './transport.js';
import { tryNativeAddon } from '../link/addon.js';
import type { UdpAddon } from '../link/addon.js';

const BATCH = 64;
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
    if (a === null) throw new Error(`native UDP transport unavailable: ${nativeUdpUnavailableReason() ?? 'no addon'}`);
    const address = options.address ?? '0.0.0.0';
    const fd = a.udpOpen(address, options.port ?? 0);
    if (fd < 0) throw sysError(fd, 'bind', address, options.port ?? 0);
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

  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    if (this.closed) return false;
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    if (this.poller !== null) this.a.pollStop(this.poller);
    this.poller = null;
    this.a.close(this.fd);
  }
}
