/**
 * The common outer transport: a host UDP socket (node:dgram). No root is
 * needed. Node hands each datagram over as its own Buffer and needs the
 * bytes of a send kept until its callback, so this edge allocates per
 * datagram (documented boundary; the device copies received datagrams into
 * its planned queue at once).
 */
import * as dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../wire/ipv4addr.js';
import type { DatagramReceiver, WgTransport } from './transport.js';

export interface HostUdpOptions {
  /** Local port; 0 picks one (default 0). */
  port?: number;
  /** Local address (default '0.0.0.0'). */
  address?: string;
}

export class HostUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  /** Cached text of the last destination, so steady traffic to one endpoint formats it once. */
  private lastAddr = 0;
  private lastAddrText = '0.0.0.0';
  private closed = false;
  /** Sends not yet completed by the OS; bounded so a stalled socket cannot grow memory. */
  private inflight = 0;
  drops = 0;

  private constructor(private readonly socket: dgram.Socket, readonly port: number) {
    socket.on('message', (msg, rinfo) => {
      const rx = this.receiver;
      if (rx === null || rinfo.family !== 'IPv4') return;
      rx(msg, 0, msg.length, parseIpv4(rinfo.address), rinfo.port);
    });
    socket.on('error', () => { this.drops++; });
  }

  /** Bind a UDP socket; rejects with Node's error (EADDRINUSE, EACCES, ...). */
  static open(options: HostUdpOptions = {}): Promise<HostUdpTransport> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      s.once('error', reject);
      s.bind(options.port ?? 0, options.address ?? '0.0.0.0', () => {
        s.off('error', reject);
        try {
          s.setRecvBufferSize(4 << 20);
          s.setSendBufferSize(4 << 20);
        } catch { /* best effort: the kernel may cap it */ }
        resolve(new HostUdpTransport(s, s.address().port));
      });
    });
  }

  /** Let the process exit while this socket is open (Node's `socket.unref()`). */
  unref(): void {
    this.socket.unref();
  }

  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    if (this.closed || this.inflight >= MAX_INFLIGHT) {
      this.drops++;
      return false;
    }
    if ((address | 0) !== this.lastAddr) {
      this.lastAddr = address | 0;
      this.lastAddrText = formatIpv4(address);
    }
    const copy = Buffer.allocUnsafe(len);
    copy.set(b.subarray(off, off + len));
    this.inflight++;
    this.socket.send(copy, 0, len, port, this.lastAddrText, () => { this.inflight--; });
    return true;
  }

  setReceiver(rx: DatagramReceiver | null): void {
    this.receiver = rx;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    this.socket.close();
  }
}

const MAX_INFLIGHT = 4096;
