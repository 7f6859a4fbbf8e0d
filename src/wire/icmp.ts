/** ICMPv4 (RFC 792): type, code, checksum and the 4-byte rest-of-header. */
import { get16, set16 } from './bytes.js';
import { checksum } from './checksum.js';

export const ICMP_HLEN = 8;
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CSUM = 2;
export const ICMP_ID = 4;
export const ICMP_SEQ = 6;
/** Offset of the next-hop MTU in a fragmentation-needed message (RFC 1191). */
export const ICMP_NEXTHOP_MTU = 6;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;

export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;

export function icmpType(b: Uint8Array, o: number): number {
  return b[o + ICMP_TYPE];
}

export function icmpCode(b: Uint8Array, o: number): number {
  return b[o + ICMP_CODE];
}

export function icmpId(b: Uint8Array, o: number): number {
  return get16(b, o + ICMP_ID);
}

export function icmpSeq(b: Uint8Array, o: number): number {
  return get16(b, o + ICMP_SEQ);
}

/** Error messages carry the offending IP header; they must never trigger another error. */
export function icmpIsError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT
    || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAM_PROBLEM;
}

/** Write type/code/rest (id, seq) and compute the checksum over `len` bytes of message. */
export function writeIcmp(b: Uint8Array, o: number, len: number, type: number, code: number,
  restHi: number, restLo: number): void {
  b[o + ICMP_TYPE] = type;
  b[o + ICMP_CODE] = code;
  set16(b, o + ICMP_CSUM, 0);
  set16(b, o + ICMP_ID, restHi);
  set16(b, o + ICMP_SEQ, restLo);
  set16(b, o + ICMP_CSUM, checksum(b, o, len));
}
