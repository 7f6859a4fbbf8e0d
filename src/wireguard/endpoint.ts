/**
 * Peer endpoints of either family (after Linux's socket.c): setting one from
 * text, roaming to the source of an authenticated datagram, replying to that
 * source, and the rate limiter's key for it. An IPv4 endpoint is the engine's
 * signed int32; an IPv6 one is 16 bytes in the peer ({@link Peer.endpoint6}).
 */
import { parseIpv4 } from '../wire/ipv4addr.js';
import { isV4Mapped, v4MappedRead } from '../wire/ipv6addr.js';
import { parseIp6 } from './ip6-text.js';
import type { Peer } from './peer.js';
import type { WireGuardDevice } from './device.js';

/** Set `p`'s endpoint from text (IPv4, IPv6; ::ffff:a.b.c.d counts as IPv4); `scratch` holds 16 bytes. Throws RangeError. */
export function setPeerEndpoint(p: Peer, address: string, port: number, scratch: Uint8Array): void {
  let a = parseIpv4(address);
  const v6 = a < 0 && parseIp6(address, scratch, 0);
  if (v6 && isV4Mapped(scratch, 0)) a = v4MappedRead(scratch, 0) >>> 0;
  if (a < 0 && !v6) throw new RangeError(`endpoint address '${address}' is neither IPv4 nor IPv6`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`endpoint port ${port} out of range`);
  if (a >= 0) {
    p.endpointFamily = 4;
    p.endpointAddress = a | 0;
  } else {
    p.endpointFamily = 6;
    p.endpointAddress = 0;
    p.endpoint6.set(scratch.subarray(0, 16));
  }
  p.endpointPort = port;
}

/**
 * Roaming (WireGuard paper §2.1, Linux's socket.c endpoint update): the
 * peer's endpoint becomes the source of the datagram being handled, an IPv4
 * or an IPv6 one ({@link WireGuardDevice.rx6}), so a peer may move between
 * families too. Allocation-free.
 */
export function roam(dev: WireGuardDevice, p: Peer, addr: number, port: number): void {
  let same: boolean;
  if (dev.rx6) {
    same = p.endpointFamily === 6 && p.endpointPort === port;
    for (let i = 0; same && i < 16; i++) same = p.endpoint6[i] === dev.rxAddr6[i];
  } else {
    same = p.endpointFamily === 4 && p.endpointAddress === (addr | 0) && p.endpointPort === port;
  }
  if (same) return;
  const had = p.endpointPort !== 0;
  if (dev.rx6) {
    p.endpointFamily = 6;
    p.endpointAddress = 0;
    p.endpoint6.set(dev.rxAddr6);
  } else {
    p.endpointFamily = 4;
    p.endpointAddress = addr | 0;
  }
  p.endpointPort = port;
  if (had) dev.stats.roams++;
}

/** Send `dev.txBuf[0..len)` back to the source of the datagram being handled (cookie replies). */
export function replyToSource(dev: WireGuardDevice, len: number, addr: number, port: number): boolean {
  const t = dev.transport;
  if (t === null) return false;
  if (!dev.rx6) return t.send(dev.txBuf, 0, len, addr, port);
  return t.send6 !== undefined && t.send6(dev.txBuf, 0, len, dev.rxAddr6, 0, port);
}

/** Rate-limiter key of the datagram's source: the IPv4 address, or a fold of the IPv6 /64 (Linux limits IPv6 per /64). */
export function sourceKey(dev: WireGuardDevice, addr: number): number {
  if (!dev.rx6) return addr | 0;
  const b = dev.rxAddr6;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) ^ Math.imul((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7], 0x85ebca6b) ^ 1;
}
