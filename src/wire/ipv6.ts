/** IPv6 fixed header (RFC 8200 §3) and extension headers (§4), read and written in place. */
import { get16, set16, get32 } from './bytes.js';
import { ip6Copy } from './ipv6addr.js';

export const IPV6_HLEN = 40;
export const IP6_PLEN = 4;
export const IP6_NXT = 6;
export const IP6_HLIM = 7;
export const IP6_SRC = 8;
export const IP6_DST = 24;
export const ETHERTYPE_IPV6 = 0x86dd;

/** Next Header values (IANA protocol numbers) the stack knows. */
export const NH_HOPOPTS = 0;
export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DSTOPTS = 60;
export const NH_MOBILITY = 135;

/** Minimum link MTU every IPv6 link has (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;
export const DEFAULT_HOP_LIMIT = 64;

/** Fragment header (RFC 8200 §4.5): 8 bytes. */
export const FRAG_HLEN = 8;
/** Flag of the fragment header's offset field: more fragments. */
export const FRAG_MF = 1;
/** Mask of the offset (in 8-byte units, shifted left by 3) in the fragment header's 16-bit field. */
export const FRAG_OFFSET_MASK = 0xfff8;

export function ip6Version(b: Uint8Array, o: number): number {
  return b[o] >>> 4;
}

export function ip6PayloadLen(b: Uint8Array, o: number): number {
  return get16(b, o + IP6_PLEN);
}

export function ip6NextHeader(b: Uint8Array, o: number): number {
  return b[o + IP6_NXT];
}

export function ip6HopLimit(b: Uint8Array, o: number): number {
  return b[o + IP6_HLIM];
}

/** Traffic class (8 bits straddling bytes 0 and 1). */
export function ip6TrafficClass(b: Uint8Array, o: number): number {
  return ((b[o] & 0x0f) << 4) | (b[o + 1] >>> 4);
}

/** Flow label (20 bits). */
export function ip6FlowLabel(b: Uint8Array, o: number): number {
  return get32(b, o) & 0xfffff;
}

/**
 * Write the 40-byte fixed header at `o`: version 6, traffic class 0, the
 * given flow label, lengths, and the addresses copied from `src[so]`/`dst[dOff]`
 * (unless they are that very place of `b`).
 */
export function writeIpv6(b: Uint8Array, o: number, payloadLen: number, nextHeader: number, hopLimit: number,
  src: Uint8Array, so: number, dst: Uint8Array, dOff: number, flowLabel = 0): void {
  b[o] = 0x60;
  b[o + 1] = (flowLabel >>> 16) & 0x0f;
  b[o + 2] = (flowLabel >>> 8) & 0xff;
  b[o + 3] = flowLabel & 0xff;
  set16(b, o + IP6_PLEN, payloadLen);
  b[o + IP6_NXT] = nextHeader;
  b[o + IP6_HLIM] = hopLimit;
  // A sender that wrote the addresses in place already (for its checksum) passes `b` itself: nothing to copy.
  if (src !== b || so !== o + IP6_SRC) ip6Copy(src, so, b, o + IP6_SRC);
  if (dst !== b || dOff !== o + IP6_DST) ip6Copy(dst, dOff, b, o + IP6_DST);
}

/** Write a fragment header at `o` (RFC 8200 §4.5): offset in bytes (a multiple of 8), M flag, identification. */
export function writeFragHeader(b: Uint8Array, o: number, nextHeader: number, offsetBytes: number, more: boolean, id: number): void {
  b[o] = nextHeader;
  b[o + 1] = 0;
  set16(b, o + 2, (offsetBytes & FRAG_OFFSET_MASK) | (more ? FRAG_MF : 0));
  b[o + 4] = (id >>> 24) & 0xff;
  b[o + 5] = (id >>> 16) & 0xff;
  b[o + 6] = (id >>> 8) & 0xff;
  b[o + 7] = id & 0xff;
}

/** Fragment offset in bytes of the fragment header at `o`. */
export function fragOffset(b: Uint8Array, o: number): number {
  return get16(b, o + 2) & FRAG_OFFSET_MASK;
}

/** M flag of the fragment header at `o`. */
export function fragMore(b: Uint8Array, o: number): boolean {
  return (b[o + 3] & FRAG_MF) !== 0;
}

/** Identification of the fragment header at `o` (signed int32, as the engine keeps 32-bit values). */
export function fragId(b: Uint8Array, o: number): number {
  return get32(b, o + 4);
}

/** Whether `nh` is an extension header walked with the generic (next header, length) layout. */
export function isGenericExtHeader(nh: number): boolean {
  return nh === NH_HOPOPTS || nh === NH_ROUTING || nh === NH_DSTOPTS || nh === NH_MOBILITY;
}

/** Length in bytes of a generic extension header at `o` (Hdr Ext Len in 8-octet units, not counting the first 8). */
export function extHeaderLen(b: Uint8Array, o: number): number {
  return (b[o + 1] + 1) << 3;
}

/** Whether `nh` is any extension header (RFC 8200 §4 plus AH/ESP, which end the walk for us). */
export function isExtensionHeader(nh: number): boolean {
  return isGenericExtHeader(nh) || nh === NH_FRAGMENT || nh === NH_AH || nh === NH_ESP;
}

/** Result codes of {@link ipv6Check}. */
export const enum Ip6Check {
  Ok = 0,
  Truncated = 1,
  BadVersion = 2,
  BadPayloadLength = 3,
}

/**
 * Validate the fixed header of the packet in `b[o .. o+avail)`: version and
 * payload length against the bytes present (trailing link padding allowed).
 * A payload length of 0 would mean a jumbogram (RFC 2675), which we do not
 * support: that is BadPayloadLength unless nothing follows the header.
 */
export function ipv6Check(b: Uint8Array, o: number, avail: number): Ip6Check {
  if (avail < IPV6_HLEN) return Ip6Check.Truncated;
  if (b[o] >>> 4 !== 6) return Ip6Check.BadVersion;
  const plen = get16(b, o + IP6_PLEN);
  if (IPV6_HLEN + plen > avail) return Ip6Check.BadPayloadLength;
  return Ip6Check.Ok;
}

/**
 * Walks an extension-header chain without interpreting options: for quoted
 * packets in ICMPv6 errors and for the RFC 7112 check of a first fragment.
 * Make one per user (no allocation per walk); results in its fields.
 */
export class Ip6Walk {
  /** Next header value that ended the walk (an upper layer, NH_FRAGMENT of a non-first fragment, ESP, ...). */
  nh = 0;
  /** Offset of the header `nh` names. */
  off = 0;
  /** Fragment offset seen on the way (bytes), 0 when none or first. */
  fragOffset = 0;

  /**
   * Walk from next header `nh` whose header starts at `b[o]`, not reading at
   * or past `end`, through at most 16 headers. Returns false when the chain
   * is truncated or too long; a non-first fragment ends the walk with
   * `nh = NH_FRAGMENT`.
   */
  walk(b: Uint8Array, nh: number, o: number, end: number): boolean {
    this.fragOffset = 0;
    for (let n = 0; n < 16; n++) {
      if (isGenericExtHeader(nh)) {
        if (o + 8 > end) return false;
        const len = extHeaderLen(b, o);
        nh = b[o];
        o += len;
      } else if (nh === NH_FRAGMENT) {
        if (o + FRAG_HLEN > end) return false;
        const fo = fragOffset(b, o);
        if (fo !== 0) {
          this.fragOffset = fo;
          this.nh = NH_FRAGMENT;
          this.off = o;
          return true;
        }
        nh = b[o];
        o += FRAG_HLEN;
      } else if (nh === NH_AH) {
        if (o + 8 > end) return false;
        const len = (b[o + 1] + 2) << 2;
        nh = b[o];
        o += len;
      } else {
        this.nh = nh;
        this.off = o;
        return o <= end;
      }
    }
    return false;
  }
}
