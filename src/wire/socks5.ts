/**
 * SOCKS version 5 messages (RFC 1928) and username/password authentication
 * (RFC 1929): incremental parsing of what a client sends over
 * `Uint8Array`s, encoding of what the server answers. A parser returns null
 * while the bytes so far are a valid prefix (wait for more) and throws a
 * {@link Socks5FormatError} carrying the reply code to send for anything
 * malformed; nothing else is thrown for any input.
 */
import { parseIpv4 } from './ipv4addr.js';

export const SOCKS_VERSION = 5;
/** RFC 1929 sub-negotiation version. */
export const SOCKS_AUTH_VERSION = 1;

export const SOCKS_METHOD_NONE = 0x00;
export const SOCKS_METHOD_USERPASS = 0x02;
export const SOCKS_METHOD_UNACCEPTABLE = 0xff;

export const SOCKS_CMD_CONNECT = 1;
export const SOCKS_CMD_BIND = 2;
export const SOCKS_CMD_UDP_ASSOCIATE = 3;

export const SOCKS_ATYP_IPV4 = 1;
export const SOCKS_ATYP_DOMAIN = 3;
export const SOCKS_ATYP_IPV6 = 4;

/** REP codes of RFC 1928 §6. */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** A malformed message; `reply` is the REP code to answer with before closing (null: just close). */
export class Socks5FormatError extends Error {
  constructor(message: string, readonly reply: number | null) {
    super(message);
  }
}

/** The client's greeting: the authentication methods it offers. */
export interface Socks5Greeting {
  methods: number[];
  /** Bytes consumed. */
  used: number;
}

/** An RFC 1929 username/password request, as the raw bytes (views into the input). */
export interface Socks5Credentials {
  username: Uint8Array;
  password: Uint8Array;
  used: number;
}

/** A request (or the address part of a UDP datagram's header). */
export interface Socks5Address {
  atyp: number;
  /** Dotted quad, domain name, or IPv6 text. */
  host: string;
  port: number;
}

export interface Socks5Request extends Socks5Address {
  command: number;
  used: number;
}

export interface Socks5UdpHeader extends Socks5Address {
  frag: number;
  /** Offset of the payload in the datagram. */
  dataOffset: number;
}

/** VER NMETHODS METHODS...; null until complete. */
export function parseGreeting(b: Uint8Array): Socks5Greeting | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_VERSION) throw new Socks5FormatError(`not SOCKS5 (version ${b[0]})`, null);
  if (b.length < 2) return null;
  const n = b[1];
  if (n === 0) throw new Socks5FormatError('greeting offers no method', null);
  if (b.length < 2 + n) return null;
  return { methods: Array.from(b.subarray(2, 2 + n)), used: 2 + n };
}

/** VER ULEN UNAME PLEN PASSWD (RFC 1929); null until complete. */
export function parseCredentials(b: Uint8Array): Socks5Credentials | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_AUTH_VERSION) throw new Socks5FormatError(`bad auth sub-negotiation version ${b[0]}`, null);
  if (b.length < 2) return null;
  const ulen = b[1];
  if (b.length < 3 + ulen) return null;
  const plen = b[2 + ulen];
  if (b.length < 3 + ulen + plen) return null;
  return { username: b.subarray(2, 2 + ulen), password: b.subarray(3 + ulen, 3 + ulen + plen), used: 3 + ulen + plen };
}

/** ATYP DST.ADDR DST.PORT at `off`: the address and the offset after it, null until complete. */
function parseAddress(b: Uint8Array, off: number): (Socks5Address & { end: number }) | null {
  if (b.length < off + 1) return null;
  const atyp = b[off];
  let host: string;
  let p: number;
  if (atyp === SOCKS_ATYP_IPV4) {
    if (b.length < off + 7) return null;
    host = `${b[off + 1]}.${b[off + 2]}.${b[off + 3]}.${b[off + 4]}`;
    p = off + 5;
  } else if (atyp === SOCKS_ATYP_DOMAIN) {
    if (b.length < off + 2) return null;
    const len = b[off + 1];
    if (len === 0) throw new Socks5FormatError('empty domain name', SocksReply.GENERAL_FAILURE);
    if (b.length < off + 2 + len + 2) return null;
    host = String.fromCharCode(...b.subarray(off + 2, off + 2 + len));
    p = off + 2 + len;
  } else if (atyp === SOCKS_ATYP_IPV6) {
    if (b.length < off + 19) return null;
    host = formatIpv6(b.subarray(off + 1, off + 17));
    p = off + 17;
  } else {
    // The length of an unknown address type is unknown: the rest cannot be parsed.
    throw new Socks5FormatError(`unknown address type ${atyp}`, SocksReply.ADDRESS_TYPE_NOT_SUPPORTED);
  }
  return { atyp, host, port: (b[p] << 8) | b[p + 1], end: p + 2 };
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT; null until complete. RSV is not checked (be liberal). */
export function parseRequest(b: Uint8Array): Socks5Request | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_VERSION) throw new Socks5FormatError(`request version ${b[0]}`, SocksReply.GENERAL_FAILURE);
  if (b.length < 4) return null;
  const a = parseAddress(b, 3);
  if (a === null) return null;
  return { command: b[1], atyp: a.atyp, host: a.host, port: a.port, used: a.end };
}

/** RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA of a relayed datagram (complete or malformed, never partial). */
export function parseUdpHeader(b: Uint8Array): Socks5UdpHeader {
  if (b.length < 4) throw new Socks5FormatError('UDP datagram shorter than its header', null);
  const a = parseAddress(b, 3);
  if (a === null) throw new Socks5FormatError('UDP datagram shorter than its header', null);
  return { frag: b[2], atyp: a.atyp, host: a.host, port: a.port, dataOffset: a.end };
}

/** ATYP + address bytes for an IPv4 or IPv6 literal (anything else: 0.0.0.0). */
function encodeAddress(host: string): Uint8Array {
  const v4 = parseIpv4(host);
  if (v4 >= 0) return Uint8Array.of(SOCKS_ATYP_IPV4, v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff);
  const v6 = parseIpv6(host);
  if (v6 !== null) {
    const out = new Uint8Array(17);
    out[0] = SOCKS_ATYP_IPV6;
    out.set(v6, 1);
    return out;
  }
  return Uint8Array.of(SOCKS_ATYP_IPV4, 0, 0, 0, 0);
}

/** VER REP RSV ATYP BND.ADDR BND.PORT. */
export function encodeReply(rep: number, host = '0.0.0.0', port = 0): Uint8Array {
  const a = encodeAddress(host);
  const out = new Uint8Array(3 + a.length + 2);
  out[0] = SOCKS_VERSION;
  out[1] = rep;
  out.set(a, 3);
  out[out.length - 2] = port >>> 8;
  out[out.length - 1] = port & 0xff;
  return out;
}

/**
 * The header of a datagram relayed to the client, FRAG 0, for an IPv4
 * source, written into `out` at 0; returns its length (10).
 */
export function writeUdpHeaderIpv4(out: Uint8Array, address: number, port: number): number {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = SOCKS_ATYP_IPV4;
  out[4] = address >>> 24;
  out[5] = (address >>> 16) & 0xff;
  out[6] = (address >>> 8) & 0xff;
  out[7] = address & 0xff;
  out[8] = port >>> 8;
  out[9] = port & 0xff;
  return SOCKS_UDP_HEADER_IPV4;
}

/** Length of a relayed datagram's header with an IPv4 address. */
export const SOCKS_UDP_HEADER_IPV4 = 10;

/**
 * The header of a datagram relayed to the client, FRAG 0, for an IPv6
 * source (ATYP 4, RFC 1928 §7), written into `out` at 0; returns its length (22).
 */
export function writeUdpHeaderIpv6(out: Uint8Array, address: Uint8Array, port: number): number {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = SOCKS_ATYP_IPV6;
  out.set(address.subarray(0, 16), 4);
  out[20] = port >>> 8;
  out[21] = port & 0xff;
  return SOCKS_UDP_HEADER_IPV6;
}

/** Length of a relayed datagram's header with an IPv6 address. */
export const SOCKS_UDP_HEADER_IPV6 = 22;

/** IPv6 text (RFC 4291 forms, with an optional trailing dotted quad) to 16 bytes; null when invalid. */
export function parseIpv6(text: string): Uint8Array | null {
  const pct = text.indexOf('%');
  const t = pct >= 0 ? text.slice(0, pct) : text;
  const dbl = t.indexOf('::');
  if (dbl >= 0 && t.indexOf('::', dbl + 1) >= 0) return null;
  const parts = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const groups = s.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 < 0) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = parts(t.slice(0, dbl));
    const tail = parts(t.slice(dbl + 2));
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parts(t);
    if (all === null || all.length !== 8) return null;
    words = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >>> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** 16 bytes to RFC 5952 text (longest run of two or more zero groups as '::'). */
export function formatIpv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

