/**
 * The UDP half of the SOCKS5 server (RFC 1928 §7): one association per
 * UDP ASSOCIATE request, relaying SOCKS-wrapped datagrams between a host
 * socket (the client's side) and a stack socket (the network's side).
 * Only FRAG 0 is relayed; fragments are dropped and counted, as §7 allows.
 * IPv4 destinations go out of a 'udp4' stack socket, IPv6 ones (ATYP 4, or
 * a name that resolves to IPv6) out of a 'udp6' one opened on first use, so
 * the replies' headers carry the family they came from.
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { Stack } from '../stack.js';
import type { UdpSocket as StackUdpSocket } from '../socket/dgram.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import {
  SOCKS_ATYP_DOMAIN, SOCKS_UDP_HEADER_IPV4, SOCKS_UDP_HEADER_IPV6, parseIpv6, parseUdpHeader,
  writeUdpHeaderIpv4, writeUdpHeaderIpv6,
} from '../wire/socks5.js';

/** The counters an association updates (part of the server's stats). */
export interface UdpStats {
  udpUp: number;
  udpDown: number;
  udpFragmentsDropped: number;
  udpDropped: number;
}

/** '::ffff:127.0.0.1' (a dual-stack listener's view of an IPv4 peer) as '127.0.0.1'. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && parseIpv4(address.slice(7)) >= 0 ? address.slice(7) : address;
}

/**
 * A UDP ASSOCIATE: a host socket the client sends SOCKS-wrapped datagrams
 * to, and a stack socket that sends and receives their payloads.
 */
export class UdpAssociation {
  private host: dgram.Socket | null = null;
  private inner: StackUdpSocket | null = null;
  /** The IPv6 side, opened by the first IPv6 destination; null after a failure (a stack without IPv6). */
  private inner6: StackUdpSocket | null = null;
  private inner6Failed = false;
  private closed = false;
  /** The client's UDP port: from the request, else the first datagram from the client's address. */
  private clientPort: number;
  private readonly names = new Map<string, Promise<string>>();

  constructor(
    private readonly stack: Stack, private readonly stats: UdpStats, private readonly nameCacheSize: number,
    private readonly bindHost: string, private readonly clientHost: string, requestedPort: number,
  ) {
    this.clientPort = requestedPort;
  }

  /** Bind both sockets; resolves with the host relay's address. */
  async start(): Promise<net.AddressInfo> {
    const host = dgram.createSocket(net.isIPv6(this.bindHost) ? 'udp6' : 'udp4');
    this.host = host;
    host.on('error', () => this.close());
    await new Promise<void>((resolve, reject) => {
      host.once('error', reject);
      host.bind(0, this.bindHost, () => {
        host.removeListener('error', reject);
        resolve();
      });
    });
    const inner = this.stack.dgram.createSocket('udp4');
    this.inner = inner;
    inner.on('error', () => { /* an ICMP error about one destination does not end the association */ });
    await new Promise<void>((resolve, reject) => {
      inner.once('error', reject);
      inner.bind(0, () => {
        inner.removeListener('error', reject);
        resolve();
      });
    });
    if (this.closed) throw new Error('association closed while starting');
    host.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    inner.on('message', (msg, rinfo) => this.fromStack(msg, rinfo.address, rinfo.port));
    const a = host.address();
    return { address: a.address, family: a.family, port: a.port };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.host?.close(); } catch { /* already closed */ }
    try { this.inner?.close(); } catch { /* already closed */ }
    try { this.inner6?.close(); } catch { /* already closed */ }
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const stats = this.stats;
    if (unmapped(rinfo.address) !== this.clientHost || (this.clientPort !== 0 && rinfo.port !== this.clientPort)) {
      stats.udpDropped++;
      return;
    }
    let h;
    try {
      h = parseUdpHeader(msg);
    } catch {
      stats.udpDropped++;
      return;
    }
    if (h.frag !== 0) {
      stats.udpFragmentsDropped++;
      return;
    }
    if (this.clientPort === 0) this.clientPort = rinfo.port;
    const payload = msg.subarray(h.dataOffset);
    if (h.atyp !== SOCKS_ATYP_DOMAIN || net.isIP(h.host) !== 0) {
      this.sendInner(payload, h.host, h.port);
      return;
    }
    this.resolve(h.host).then((address) => this.sendInner(payload, address, h.port), () => { stats.udpDropped++; });
  }

  private resolve(name: string): Promise<string> {
    let p = this.names.get(name);
    if (p !== undefined) return p;
    const resolver = this.stack.net.resolver;
    if (resolver === null) return Promise.reject(new Error('no resolver'));
    p = resolver(name);
    if (this.names.size >= this.nameCacheSize) {
      const oldest = this.names.keys().next();
      if (oldest.done !== true) this.names.delete(oldest.value);
    }
    this.names.set(name, p);
    p.catch(() => this.names.delete(name));
    return p;
  }

  /**
   * The 'udp6' stack socket, opened on first use: IPV6_V6ONLY, because IPv4
   * destinations keep their own socket (a 'udp6' socket cannot send to an
   * IPv4 literal). Null on a stack built without IPv6 (EAFNOSUPPORT) or a
   * full socket table; the datagram is then dropped and counted.
   */
  private socket6(): StackUdpSocket | null {
    if (this.inner6 !== null || this.inner6Failed || this.closed) return this.inner6;
    let s: StackUdpSocket;
    try {
      s = this.stack.dgram.createSocket({ type: 'udp6', ipv6Only: true });
    } catch {
      this.inner6Failed = true;
      return null;
    }
    s.on('error', () => { /* an ICMPv6 error about one destination does not end the association */ });
    s.on('message', (msg, rinfo) => this.fromStack(msg, rinfo.address, rinfo.port));
    s.bind(0); // bound at once (the facade's bind is synchronous; 'listening' follows)
    this.inner6 = s;
    return s;
  }

  private sendInner(payload: Buffer, address: string, port: number): void {
    const inner = address.includes(':') ? this.socket6() : this.inner;
    if (this.closed || inner === null || port === 0) {
      this.stats.udpDropped++;
      return;
    }
    try {
      inner.send(payload, port, address, (err) => {
        if (err !== null) this.stats.udpDropped++;
        else this.stats.udpUp++;
      });
    } catch {
      this.stats.udpDropped++; // a bad address or port from the client
    }
  }

  private fromStack(msg: Buffer, address: string, port: number): void {
    const host = this.host;
    if (this.closed || host === null || this.clientPort === 0) {
      this.stats.udpDropped++;
      return;
    }
    // A header per datagram: the host socket may still hold the previous one in its send queue.
    let header: Buffer;
    const v4 = parseIpv4(address);
    if (v4 >= 0) {
      header = Buffer.allocUnsafe(SOCKS_UDP_HEADER_IPV4);
      writeUdpHeaderIpv4(header, v4, port);
    } else {
      const v6 = parseIpv6(address);
      if (v6 === null) {
        this.stats.udpDropped++;
        return;
      }
      header = Buffer.allocUnsafe(SOCKS_UDP_HEADER_IPV6);
      writeUdpHeaderIpv6(header, v6, port);
    }
    host.send([header, msg], this.clientPort, this.clientHost, (err) => {
      if (err !== null) this.stats.udpDropped++;
      else this.stats.udpDown++;
    });
  }
}
