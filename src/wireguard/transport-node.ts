/**
 * The common outer transport: a host UDP socket (node:dgram). No root is
 * needed. Node hands each datagram over as its own Buffer and needs the
 * bytes of a send kept until its callback, so this edge allocates per
 * datagram (documented boundary; the device copies received datagrams into
 * its planned queue at once).
 */
import * as dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../wire/ipv4addr.js';
import { formatIp6, parseIp6 } from './ip6-text.js';
import type { DatagramReceiver, WgTransport } from './transport.js';

export interface HostUdpOptions {
  /** Local port; 0 picks one (default 0). */
  port?: number;
  /** Local address (default '::', dual-stack, or '0.0.0.0' where the host has no IPv6). */
  address?: string;
}

export class HostUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  /** Cached text of the last destination, so steady traffic to one endpoint formats it once. */
  private lastAddr = 0;
  private lastAddrText = '0.0.0.0';
  private lastWas6 = false;
  private closed = false;
  /** Sends not yet completed by the OS; bounded so a stalled socket cannot grow memory. */
  private inflight = 0;
  drops = 0;

  /** The IPv6 source of the datagram being handed over. */
  private readonly from6 = new Uint8Array(16);

  /** `ipv6`: a dual-stack udp6 socket (IPv4 peers appear as ::ffff:a.b.c.d). */
  private constructor(private readonly socket: dgram.Socket, readonly port: number, readonly ipv6: boolean) {
    socket.on('message', (msg, rinfo) => {
      const rx = this.receiver;
      if (rx === null) return;
      let text = rinfo.address;
      if (rinfo.family === 'IPv6' && text.startsWith('::ffff:') && text.includes('.')) text = text.slice(7);
      const a4 = text.includes(':') ? -1 : parseIpv4(text);
      if (a4 >= 0) rx(msg, 0, msg.length, a4, rinfo.port);
      else if (parseIp6(text.split('%')[0], this.from6, 0)) rx(msg, 0, msg.length, 0, rinfo.port, this.from6);
      else this.drops++;
    });
    socket.on('error', () => { this.drops++; });
  }

  /** Bind a UDP socket; rejects with Node's error (EADDRINUSE, EACCES, ...). */
  static async open(options: HostUdpOptions = {}): Promise<HostUdpTransport> {
    if (options.address !== undefined) return HostUdpTransport.bind(options.port ?? 0, options.address);
    try {
      return await HostUdpTransport.bind(options.port ?? 0, '::');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
      return HostUdpTransport.bind(options.port ?? 0, '0.0.0.0');
    }
  }

  private static bind(port: number, address: string): Promise<HostUdpTransport> {
    const ipv6 = address.includes(':');
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: false, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      s.once('error', reject);
      s.bind(port, address, () => {
        s.off('error', reject);
        try {
          s.setRecvBufferSize(4 << 20);
          s.setSendBufferSize(4 << 20);
        } catch { /* best effort: the kernel may cap it */ }
        resolve(new HostUdpTransport(s, s.address().port, ipv6));
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
    if ((address | 0) !== this.lastAddr || this.lastWas6) {
      this.lastAddr = address | 0;
      this.lastWas6 = false;
      // A udp6 socket takes IPv4 destinations in their mapped form only.
      this.lastAddrText = this.ipv6 ? `::ffff:${formatIpv4(address)}` : formatIpv4(address);
    }
    return this.sendText(b, off, len, port);
  }

  /** Send to an IPv6 address (false on an IPv4-only socket). */
  send6(b: Uint8Array, off: number, len: number, address6: Uint8Array, a6off: number, port: number): boolean {
    if (!this.ipv6 || this.closed || this.inflight >= MAX_INFLIGHT) {
      this.drops++;
      return false;
    }
    this.lastWas6 = true;
    this.lastAddrText = formatIp6(address6, a6off);
    return this.sendText(b, off, len, port);
  }

  private sendText(b: Uint8Array, off: number, len: number, port: number): boolean {
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
