/** ICMPv6 (RFC 4443): type, code, checksum over the IPv6 pseudo-header, and the 4-byte rest. */
import { get16, set16, get32, set32 } from './bytes.js';
import { finish, pseudoSum6, sum16 } from './checksum.js';
import { IP6_DST, IP6_SRC, NH_ICMPV6 } from './ipv6.js';

export const ICMP6_HLEN = 8;
export const ICMP6_CSUM = 2;

export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
/** Neighbour discovery (RFC 4861 §4): router solicitation .. redirect. */
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

/** Destination unreachable codes (RFC 4443 §3.1). */
export const UNREACH6_NO_ROUTE = 0;
export const UNREACH6_ADMIN = 1;
export const UNREACH6_BEYOND_SCOPE = 2;
export const UNREACH6_ADDR = 3;
export const UNREACH6_PORT = 4;
/** Time exceeded codes (§3.3). */
export const TIME6_HOP_LIMIT = 0;
export const TIME6_REASSEMBLY = 1;
/** Parameter problem codes (§3.4; 3 from RFC 7112). */
export const PARAM6_HEADER = 0;
export const PARAM6_NEXT_HEADER = 1;
export const PARAM6_OPTION = 2;
export const PARAM6_FIRST_FRAGMENT_INCOMPLETE = 3;

/** Error messages are types 0–127 (RFC 4443 §2.1): they never trigger another error. */
export function icmp6IsError(type: number): boolean {
  return type < 128;
}

export function icmp6Id(b: Uint8Array, o: number): number {
  return get16(b, o + 4);
}

export function icmp6Seq(b: Uint8Array, o: number): number {
  return get16(b, o + 6);
}

/** The 32-bit rest-of-header (MTU of Packet Too Big, pointer of Parameter Problem), signed int32. */
export function icmp6Rest(b: Uint8Array, o: number): number {
  return get32(b, o + 4);
}

/**
 * Checksum of the ICMPv6 message at `b[o .. o+len)` over the pseudo-header
 * of the IPv6 header at `b[ipOff]` (RFC 4443 §2.3); 0 when a received
 * message's checksum is right.
 */
export function icmp6Checksum(b: Uint8Array, ipOff: number, o: number, len: number): number {
  return finish(sum16(b, o, len, pseudoSum6(b, ipOff + IP6_SRC, ipOff + IP6_DST, NH_ICMPV6, len)));
}

/**
 * Write type, code and rest (32 bits) at `o` and the checksum over `len`
 * bytes, with the pseudo-header from the IPv6 header at `b[ipOff]` (its
 * addresses must already be written).
 */
export function writeIcmp6(b: Uint8Array, ipOff: number, o: number, len: number, type: number, code: number, rest: number): void {
  b[o] = type;
  b[o + 1] = code;
  set16(b, o + ICMP6_CSUM, 0);
  set32(b, o + 4, rest);
  set16(b, o + ICMP6_CSUM, icmp6Checksum(b, ipOff, o, len));
}
