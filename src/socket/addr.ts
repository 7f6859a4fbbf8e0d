/**
 * Addresses at the descriptor API's edge: numbers (IPv4, unsigned or the
 * engine's signed int32), text (dotted quad or RFC 4291 IPv6, with an RFC
 * 4007 `%zone` suffix kept in {@link addrZone}) and 16-byte arrays (IPv6),
 * read without allocating into module state the API then uses:
 * {@link addrFamily}, {@link addr6} and {@link addrZone}.
 */
import { copyBytes } from '../wire/bytes.js';
import { formatIpv4, isIpv4Number, parseIpv4 } from '../wire/ipv4addr.js';
import { formatIpv6, ip6Copy, ip6Equal, isLinkLocal6, isV4Mapped, parseIpv6, v4MappedRead, v4MappedWrite } from '../wire/ipv6addr.js';
import { Errno } from '../engine/errno.js';
import { AF_INET, AF_INET6, F_INET6, F_V6ONLY, addr6Unspecified, type SocketTable } from '../engine/socket-table.js';
import { zoneIndex6, type NetInterface } from '../engine/netif.js';

/** An address and port filled in by recvfrom/accept/getsockname/getpeername; reuse one object per loop. */
export interface SockAddr {
  /** IPv4 (unsigned); for an IPv4 peer of an AF_INET6 socket the same value, mapped in `address6`. */
  address: number;
  port: number;
  /** 4 or 6, as the user's socket sees the address (an AF_INET6 socket always sees 6). Written when present or not. */
  family?: number;
  /** Given by the caller (16 bytes): receives the IPv6 address (IPv4 ones as ::ffff:a.b.c.d) when `family` is 6. */
  address6?: Uint8Array;
  /**
   * For a link-local IPv6 address: the name of the interface it is on (RFC
   * 4007 zone; Node prints it as `fe80::1%eth0`), when known; '' otherwise.
   * Written whenever the address is.
   */
  zone?: string;
}

/** Family of the last address {@link toAddr} read: 4, 6, or 0 when it was invalid. */
export let addrFamily = 0;
/** The IPv6 address {@link toAddr} read last (when {@link addrFamily} is 6). */
export const addr6 = new Uint8Array(16);
/** The zone (`tap0` of `fe80::1%tap0`) of the IPv6 text {@link toAddr} read last; '' when none. */
export let addrZone = '';
/** The last IPv6 text parsed, its bytes and zone. */
let lastText6 = '';
let lastZone = '';
const last6 = new Uint8Array(16);

/**
 * Read an address: returns the IPv4 address in the engine's signed form
 * (0 for IPv6) and sets {@link addrFamily}; IPv6 goes to {@link addr6}.
 */
export function toAddr(a: number | string | Uint8Array): number {
  addrZone = '';
  if (typeof a === 'number') {
    const ok = isIpv4Number(a);
    addrFamily = ok ? AF_INET : 0;
    return ok ? a | 0 : 0;
  }
  if (typeof a === 'string') {
    if (a.includes(':')) {
      // The text parser allocates: the last text parsed is kept, so a sender repeating one address does not.
      if (a === lastText6) {
        addr6.set(last6);
        addrFamily = AF_INET6;
        addrZone = lastZone;
        return 0;
      }
      const pct = a.indexOf('%');
      addrFamily = parseIpv6(pct < 0 ? a : a.slice(0, pct), addr6, 0) ? AF_INET6 : 0;
      if (addrFamily === AF_INET6) {
        addrZone = pct < 0 ? '' : a.slice(pct + 1);
        last6.set(addr6);
        lastText6 = a;
        lastZone = addrZone;
      }
      return 0;
    }
    const v = parseIpv4(a);
    addrFamily = v >= 0 ? AF_INET : 0;
    return v >= 0 ? v | 0 : 0;
  }
  if (a instanceof Uint8Array && a.length === 16) {
    addr6.set(a);
    addrFamily = AF_INET6;
    return 0;
  }
  addrFamily = 0;
  return 0;
}

/**
 * The zone of the IPv6 text {@link toAddr} read last as the engine's scope
 * value (EngineContext.zone6, RFC 4007 §11): 0 without one, -1 when it
 * names none of `ifs`.
 */
export function addrScope(ifs: readonly NetInterface[]): number {
  if (addrZone === '') return 0;
  const z = zoneIndex6(ifs, addrZone);
  return z === 0 ? -1 : z;
}

/** A port number 0..65535. */
export function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

/** After {@link toAddr} gave an IPv6 address: is it `::ffff:a.b.c.d`? */
export function addrIsMapped(): boolean {
  return isV4Mapped(addr6, 0);
}

/** The IPv4 address inside a mapped {@link addr6} (signed form). */
export function mappedV4(): number {
  return v4MappedRead(addr6, 0);
}

/**
 * Fill `out` with the local (or remote) endpoint of socket `fd` as its user
 * sees it. With `ifs`, a link-local address gets the zone of the socket's
 * link-local local address (the interface the socket talks through).
 */
export function fillSockAddr(t: SocketTable, fd: number, local: boolean, out: SockAddr, ifs?: readonly NetInterface[]): void {
  out.port = local ? t.localPort[fd] : t.remotePort[fd];
  out.zone = '';
  if (t.family[fd] === AF_INET6) {
    out.family = AF_INET6;
    out.address = 0;
    const a6 = out.address6;
    const o = 16 * fd;
    if (a6 !== undefined) copyBytes(local ? t.localAddr6 : t.remoteAddr6, o, a6, 0, 16);
    if (ifs !== undefined && isLinkLocal6(local ? t.localAddr6 : t.remoteAddr6, o) && isLinkLocal6(t.localAddr6, o)) {
      for (let i = 0; i < ifs.length; i++) if (ifs[i].ownsAddress6(t.localAddr6, o)) { out.zone = ifs[i].name; break; }
    }
    return;
  }
  const v4 = local ? t.localAddr[fd] : t.remoteAddr[fd];
  out.address = v4 >>> 0;
  fillV4(t, fd, v4, out);
}

/** `out.family` (and `address6`) for an IPv4 address `v4` seen by socket `fd`. */
export function fillV4(t: SocketTable, fd: number, v4: number, out: SockAddr): void {
  if ((t.flags[fd] & F_INET6) !== 0) {
    out.family = AF_INET6;
    if (out.address6 !== undefined) v4MappedWrite(out.address6, 0, v4);
  } else {
    out.family = AF_INET;
  }
}

/**
 * AF_INET6 socket `fd` is about to talk to the IPv4 address inside a mapped
 * one: it must not be V6ONLY nor bound to an IPv6 address. Switches it to
 * IPv4 (keeping its port) and returns 0, or -ENETUNREACH (as Linux).
 */
export function toMapped(t: SocketTable, fd: number): number {
  if ((t.flags[fd] & F_V6ONLY) !== 0) return -Errno.ENETUNREACH;
  if (t.family[fd] === AF_INET6 && !addr6Unspecified(t.localAddr6, 16 * fd)) return -Errno.ENETUNREACH;
  t.family[fd] = AF_INET;
  return 0;
}

/** A fresh out-parameter that receives IPv6 addresses too (for the facades). */
export function newSockAddr(): SockAddr {
  return { address: 0, port: 0, family: AF_INET, address6: new Uint8Array(16), zone: '' };
}

/**
 * The last two texts {@link formatSockAddr} made and what they were made of
 * (family 4: the address; 6: the 16 bytes and the zone). A server formats its
 * own address and its peer's for every accepted connection (net.Socket's
 * localAddress and remoteAddress), mostly the same few: the text is kept
 * instead of made again (a string and an array each time).
 */
const fmtBytes = [new Uint8Array(16), new Uint8Array(16)];
const fmtV4 = [-1, -1];
const fmtZone = ['', ''];
const fmtText: Array<string | null> = [null, null];
let fmtNext = 0;

/** The text of an address {@link fillSockAddr} wrote: RFC 5952 for family 6 (with `%zone` when known, as Node), dotted quad for 4. */
export function formatSockAddr(a: SockAddr): string {
  const v6 = a.family === AF_INET6 && a.address6 !== undefined;
  const b = a.address6;
  const zone = v6 && a.zone !== undefined ? a.zone : '';
  for (let i = 0; i < 2; i++) {
    const text = fmtText[i];
    if (text === null) continue;
    if (v6 ? fmtV4[i] === -1 && fmtZone[i] === zone && ip6Equal(fmtBytes[i], 0, b as Uint8Array, 0) : fmtV4[i] === a.address >>> 0) return text;
  }
  let text: string;
  const i = fmtNext;
  fmtNext ^= 1;
  if (v6) {
    const t6 = formatIpv6(b as Uint8Array, 0);
    text = zone !== '' ? `${t6}%${zone}` : t6;
    ip6Copy(b as Uint8Array, 0, fmtBytes[i], 0);
    fmtV4[i] = -1;
    fmtZone[i] = zone;
  } else {
    text = formatIpv4(a.address);
    fmtV4[i] = a.address >>> 0;
  }
  fmtText[i] = text;
  return text;
}

/** Node's family name of an address {@link fillSockAddr} wrote. */
export function familyName(a: SockAddr): 'IPv4' | 'IPv6' {
  return a.family === AF_INET6 ? 'IPv6' : 'IPv4';
}
