/**
 * The UDP half of the SOCKS5 server (RFC 1928 §7): one association per
 * UDP ASSOCIATE request, relaying SOCKS-wrapped datagrams between a host
 * socket (the client's side) and a stack socket (the network's side).
 * Only FRAG 0 is relayed; fragments are dropped and counted, as §7 allows.
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { Stack } from '../stack.js';
import type { UdpSocket as StackUdpSocket } from '../socket/dgram.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import {
  SOCKS_ATYP_DOMAIN, SOCKS_ATYP_IPV6, SOCKS_UDP_HEADER_IPV4, parseUdpHeader, writeUdpHeaderIpv4,
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
    if (h.atyp === SOCKS_ATYP_IPV6) {
      stats.udpDropped++;
      return;
    }
    if (this.clientPort === 0) this.clientPort = rinfo.port;
    const payload = msg.subarray(h.dataOffset);
    if (h.atyp !== SOCKS_ATYP_DOMAIN || parseIpv4(h.host) >= 0) {
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

  private sendInner(payload: Buffer, address: string, port: number): void {
    const inner = this.inner;
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
    const header = Buffer.allocUnsafe(SOCKS_UDP_HEADER_IPV4);
    writeUdpHeaderIpv4(header, parseIpv4(address), port);
    host.send([header, msg], this.clientPort, this.clientHost, (err) => {
      if (err !== null) this.stats.udpDropped++;
      else this.stats.udpDown++;
    });
  }
}
