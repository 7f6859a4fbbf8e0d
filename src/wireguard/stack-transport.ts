/**
 * WireGuard over a wirestack stack's own UDP (as wolfIP runs wolfGuard over
 * its own stack on a TAP): the outer datagrams go through `stack.sockets`.
 * Allocation-free and queue-free: the socket hands each datagram to the
 * device during the stack's input (SocketApi.setDatagramHandler), which
 * copies it into its own planned queue.
 */
import { sysError } from '../engine/errno.js';
import { SOCK_DGRAM, type SockAddr, type SocketApi } from '../socket/api.js';
import type { DatagramReceiver, WgTransport } from './transport.js';

export class StackUdpTransport implements WgTransport {
  private receiver: DatagramReceiver | null = null;
  readonly port: number;

  /**
   * Bind UDP `port` (0: ephemeral) on `address` (default any) of the stack
   * behind `api`. Throws an Error with the errno code when the port is taken.
   */
  constructor(private readonly api: SocketApi, port = 0, address = '0.0.0.0') {
    const fd = api.socket(SOCK_DGRAM);
    if (fd < 0) throw sysError(fd, 'socket');
    const r = api.bind(fd, address, port);
    if (r < 0) {
      api.close(fd);
      throw sysError(r, 'bind', address, port);
    }
    this.fd = fd;
    const name: SockAddr = { address: 0, port: 0 };
    api.getsockname(fd, name);
    this.port = name.port;
    api.setDatagramHandler(fd, (b, off, len, addr, p) => {
      if (this.receiver !== null) this.receiver(b, off, len, addr, p);
    });
  }

  private readonly fd: number;

  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    return this.api.sendto(this.fd, b, off, len, address >>> 0, port) >= 0;
  }

  setReceiver(rx: DatagramReceiver | null): void {
    this.receiver = rx;
  }

  close(): void {
    this.api.close(this.fd);
  }
}
