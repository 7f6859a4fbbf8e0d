/** IPv4 header (RFC 791) read and written in place. */
import { get16, set16, get32, set32 } from './bytes.js';
import { checksum } from './checksum.js';

export const IPV4_MIN_HLEN = 20;
export const IP_VHL = 0;
export const IP_TOS = 1;
export const IP_TOTLEN = 2;
export const IP_ID = 4;
export const IP_FRAG = 6;
export const IP_TTL = 8;
export const IP_PROTO = 9;
export const IP_CSUM = 10;
export const IP_SRC = 12;
export const IP_DST = 16;
export const IP_FLAG_DF = 0x4000;
export const IP_FLAG_MF = 0x2000;
export const IP_OFFSET_MASK = 0x1fff;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ESP = 50;
export const DEFAULT_TTL = 64;

export function ipVersion(b: Uint8Array, o: number): number {
  return b[o] >>> 4;
}

/** Header length in bytes (IHL * 4). */
export function ipHeaderLen(b: Uint8Array, o: number): number {
  return (b[o] & 0x0f) << 2;
}

export function ipTotalLen(b: Uint8Array, o: number): number {
  return get16(b, o + IP_TOTLEN);
}

export function ipId(b: Uint8Array, o: number): number {
  return get16(b, o + IP_ID);
}

export function ipFragField(b: Uint8Array, o: number): number {
  return get16(b, o + IP_FRAG);
}

/** True for any fragment: MF set or a non-zero offset. */
export function ipIsFragment(b: Uint8Array, o: number): boolean {
  return (get16(b, o + IP_FRAG) & (IP_FLAG_MF | IP_OFFSET_MASK)) !== 0;
}

export function ipTtl(b: Uint8Array, o: number): number {
  return b[o + IP_TTL];
}

export function ipProto(b: Uint8Array, o: number): number {
  return b[o + IP_PROTO];
}

export function ipSrc(b: Uint8Array, o: number): number {
  return get32(b, o + IP_SRC);
}

export function ipDst(b: Uint8Array, o: number): number {
  return get32(b, o + IP_DST);
}

/** Write a 20-byte header (no options) including its checksum. */
export function writeIpv4(b: Uint8Array, o: number, totalLen: number, id: number, flags: number, ttl: number,
  proto: number, src: number, dst: number): void {
  b[o] = 0x45;
  b[o + IP_TOS] = 0;
  set16(b, o + IP_TOTLEN, totalLen);
  set16(b, o + IP_ID, id);
  set16(b, o + IP_FRAG, flags);
  b[o + IP_TTL] = ttl;
  b[o + IP_PROTO] = proto;
  set16(b, o + IP_CSUM, 0);
  set32(b, o + IP_SRC, src);
  set32(b, o + IP_DST, dst);
  set16(b, o + IP_CSUM, checksum(b, o, IPV4_MIN_HLEN));
}

/** Result codes of {@link ipv4Check}. */
export const enum IpCheck {
  Ok = 0,
  Truncated = 1,
  BadVersion = 2,
  BadHeaderLength = 3,
  BadTotalLength = 4,
  BadChecksum = 5,
}

/**
 * Validate the header of the packet in `b[o .. o+avail)`: version, IHL, total
 * length against the bytes present (trailing link padding is allowed) and the
 * header checksum.
 */
export function ipv4Check(b: Uint8Array, o: number, avail: number): IpCheck {
  if (avail < IPV4_MIN_HLEN) return IpCheck.Truncated;
  if (b[o] >>> 4 !== 4) return IpCheck.BadVersion;
  const hlen = (b[o] & 0x0f) << 2;
  if (hlen < IPV4_MIN_HLEN || hlen > avail) return IpCheck.BadHeaderLength;
  const total = get16(b, o + IP_TOTLEN);
  if (total < hlen || total > avail) return IpCheck.BadTotalLength;
  if (checksum(b, o, hlen) !== 0) return IpCheck.BadChecksum;
  return IpCheck.Ok;
}
