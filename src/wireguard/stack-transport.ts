/**
 * WireGuard over a wirestack stack's own UDP (as wolfIP runs wolfGuard over
 * its own stack on a TAP): the outer datagrams go through `stack.sockets`.
 * Allocation-free and queue-free: the socket hands each datagram to the
 * device during the stack's input (SocketApi.setDatagramHandler), which
 * copies it into its own planned queue.
 *
 * By default the socket is dual-stack on '::' (IPv4 and IPv6 peers on one
 * port, IPv4 ones reached through their mapped form ::ffff:a.b.c.d), or
 * IPv4 on '0.0.0.0' when the stack was built without IPv6.
 */
import { sysError } from '../engine/errno.js';
import { SOCK_DGRAM, type SockAddr, type SocketApi } from '../socket/api.js';
import type { DatagramReceiver, WgTransport } from './transport.js';

export class StackUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  readonly port: number;
  /** Whether the socket is AF_INET6 (dual-stack, or IPv6 only when bound to an IPv6 address). */
  readonly ipv6: boolean;
  /** An IPv6 source handed to the receiver (16 bytes at 0), and the mapped form of IPv4 destinations. */
  private readonly from6 = new Uint8Array(16);
  private readonly to6 = new Uint8Array(16);
  private readonly scratch6 = new Uint8Array(16);

  /**
   * Bind UDP `port` (0: ephemeral) on `address` (default: '::' dual-stack,
   * else '0.0.0.0') of the stack behind `api`. Throws an Error with the
   * errno code when the port is taken.
   */
  constructor(private readonly api: SocketApi, port = 0, address?: string) {
    let fd = -1;
    let bindTo = address ?? '::';
    if (bindTo.includes(':')) {
      fd = api.socket('udp6');
      // A stack built with `ipv6: false` has no IPv6 sockets: fall back to IPv4 unless IPv6 was asked for.
      if (fd < 0 && address === undefined) bindTo = '0.0.0.0';
    }
    if (!bindTo.includes(':')) fd = api.socket(SOCK_DGRAM);
    if (fd < 0) throw sysError(fd, 'socket');
    const r = api.bind(fd, bindTo, port);
    if (r < 0) {
      api.close(fd);
      throw sysError(r, 'bind', bindTo, port);
    }
    this.fd = fd;
    this.ipv6 = bindTo.includes(':');
    const name: SockAddr = { address: 0, port: 0 };
    api.getsockname(fd, name);
    this.port = name.port;
    this.to6[10] = 0xff;
    this.to6[11] = 0xff;
    api.setDatagramHandler(fd, (b, off, len, addr, p, src6, src6Off) => {
      const rx = this.receiver;
      if (rx === null) return;
      if (src6 === null) {
        rx(b, off, len, addr, p);
        return;
      }
      const f = this.from6;
      for (let i = 0; i < 16; i++) f[i] = src6[src6Off + i];
      rx(b, off, len, 0, p, f);
    });
  }

  private readonly fd: number;

  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    if (!this.ipv6) return this.api.sendto(this.fd, b, off, len, address >>> 0, port) >= 0;
    // An AF_INET6 socket reaches IPv4 peers through ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), as a host socket does.
    const t = this.to6;
    t[12] = address >>> 24;
    t[13] = (address >>> 16) & 0xff;
    t[14] = (address >>> 8) & 0xff;
    t[15] = address & 0xff;
    return this.api.sendto(this.fd, b, off, len, t, port) >= 0;
  }

  send6(b: Uint8Array, off: number, len: number, address6: Uint8Array, a6off: number, port: number): boolean {
    if (!this.ipv6) return false;
    let a = address6;
    if (a6off !== 0 || a.length !== 16) {
      a = this.scratch6;
      for (let i = 0; i < 16; i++) a[i] = address6[a6off + i];
    }
    return this.api.sendto(this.fd, b, off, len, a, port) >= 0;
  }

  setReceiver(rx: DatagramReceiver | null): void {
    this.receiver = rx;
  }

  close(): void {
    this.api.close(this.fd);
  }
}
