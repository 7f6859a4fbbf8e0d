/**
 * Neighbour Discovery messages (RFC 4861 §4) and their options (§4.6, RFC
 * 8106 RDNSS): fixed-layout readers and writers over (bytes, offset) of the
 * ICMPv6 message (type byte first). The ICMPv6 checksum is not computed here:
 * the sender fills it over the pseudo-header (wire/icmpv6.ts).
 */
import { get16, get32, set16, set32, copyBytes } from './bytes.js';

export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

/** Fixed part of each message (before options), bytes (§4.1–§4.5). */
export const RS_LEN = 8;
export const RA_LEN = 16;
export const NS_LEN = 24;
export const NA_LEN = 24;
export const REDIRECT_LEN = 40;

/** Offset of the target address in NS, NA and Redirect. */
export const ND_TARGET = 8;
/** Offset of the destination address in a Redirect. */
export const REDIRECT_DEST = 24;

/** RA fields (§4.2). */
export const RA_CUR_HOP_LIMIT = 4;
export const RA_FLAGS = 5;
export const RA_ROUTER_LIFETIME = 6;
export const RA_REACHABLE_TIME = 8;
export const RA_RETRANS_TIMER = 12;
export const RA_FLAG_MANAGED = 0x80;
export const RA_FLAG_OTHER = 0x40;

/** NA flags (§4.4), in byte 4. */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;

/** Option types (§4.6, RFC 8106 §5). */
export const OPT_SOURCE_LLA = 1;
export const OPT_TARGET_LLA = 2;
export const OPT_PREFIX_INFO = 3;
export const OPT_REDIRECTED_HEADER = 4;
export const OPT_MTU = 5;
export const OPT_RDNSS = 25;
export const OPT_DNSSL = 31;

/** Link-layer address option for Ethernet: 8 bytes, MAC at +2. */
export const OPT_LLA_LEN = 8;
/** Prefix information option (§4.6.2): 32 bytes. */
export const OPT_PREFIX_LEN = 32;
export const PREFIX_LENGTH = 2;
export const PREFIX_FLAGS = 3;
export const PREFIX_VALID = 4;
export const PREFIX_PREFERRED = 8;
export const PREFIX_PREFIX = 16;
export const PREFIX_FLAG_ONLINK = 0x80;
export const PREFIX_FLAG_AUTO = 0x40;
/** MTU option (§4.6.4): 8 bytes, MTU at +4. */
export const OPT_MTU_LEN = 8;
/** RDNSS (RFC 8106 §5.1): lifetime at +4, addresses from +8. */
export const RDNSS_LIFETIME = 4;
export const RDNSS_ADDRS = 8;

/** Lifetime value meaning "infinity" (§4.6.2, RFC 8106 §5.1). */
export const ND_INFINITE = 0xffffffff;

export function ndType(b: Uint8Array, o: number): number {
  return b[o];
}

/** Fixed length of ND message `type`, or 0 when it is not an ND message. */
export function ndFixedLength(type: number): number {
  switch (type) {
    case ND_ROUTER_SOLICIT: return RS_LEN;
    case ND_ROUTER_ADVERT: return RA_LEN;
    case ND_NEIGHBOR_SOLICIT: return NS_LEN;
    case ND_NEIGHBOR_ADVERT: return NA_LEN;
    case ND_REDIRECT: return REDIRECT_LEN;
    default: return 0;
  }
}

/**
 * True when the options in `b[start .. end)` are well formed: every option
 * has a non-zero length and ends inside the message (§7.1.1 / §7.1.2 "all
 * included options have a length that is greater than zero"; an option
 * running past the end is equally invalid).
 */
export function ndOptionsValid(b: Uint8Array, start: number, end: number): boolean {
  let o = start;
  while (o < end) {
    if (o + 2 > end) return false;
    const len = b[o + 1] * 8;
    if (len === 0 || o + len > end) return false;
    o += len;
  }
  return true;
}

/** Offset of the option after the one at `o` (options validated first). */
export function ndNextOption(b: Uint8Array, o: number): number {
  return o + b[o + 1] * 8;
}

/** Offset of the first option of `type` in validated options `b[start .. end)`, or -1. */
export function ndFindOption(b: Uint8Array, start: number, end: number, type: number): number {
  for (let o = start; o < end; o += b[o + 1] * 8) if (b[o] === type) return o;
  return -1;
}

/** Write a link-layer address option of `type` (SLLA/TLLA) for an Ethernet MAC; returns its length. */
export function writeLlaOption(b: Uint8Array, o: number, type: number, mac: Uint8Array, macOff: number): number {
  b[o] = type;
  b[o + 1] = 1;
  copyBytes(mac, macOff, b, o + 2, 6);
  return OPT_LLA_LEN;
}

/** Clear the checksum and reserved fields and write the ICMPv6 type and code 0 of an ND message. */
function writeHead(b: Uint8Array, o: number, type: number): void {
  b[o] = type;
  b[o + 1] = 0;
  set16(b, o + 2, 0);
  set32(b, o + 4, 0);
}

/** Router solicitation (§4.1); returns the fixed length (options follow). */
export function writeRs(b: Uint8Array, o: number): number {
  writeHead(b, o, ND_ROUTER_SOLICIT);
  return RS_LEN;
}

/** Neighbour solicitation (§4.3) for `target`; returns the fixed length (options follow). */
export function writeNs(b: Uint8Array, o: number, target: Uint8Array, tOff: number): number {
  writeHead(b, o, ND_NEIGHBOR_SOLICIT);
  copyBytes(target, tOff, b, o + ND_TARGET, 16);
  return NS_LEN;
}

/** Neighbour advertisement (§4.4) with `flags` (NA_FLAG_*); returns the fixed length. */
export function writeNa(b: Uint8Array, o: number, flags: number, target: Uint8Array, tOff: number): number {
  writeHead(b, o, ND_NEIGHBOR_ADVERT);
  b[o + 4] = flags & 0xe0;
  copyBytes(target, tOff, b, o + ND_TARGET, 16);
  return NA_LEN;
}

/** Router advertisement (§4.2); lifetimes in seconds (router) and ms (reachable, retrans). */
export function writeRa(b: Uint8Array, o: number, curHopLimit: number, flags: number, routerLifetime: number,
  reachableMs: number, retransMs: number): number {
  writeHead(b, o, ND_ROUTER_ADVERT);
  b[o + RA_CUR_HOP_LIMIT] = curHopLimit;
  b[o + RA_FLAGS] = flags;
  set16(b, o + RA_ROUTER_LIFETIME, routerLifetime);
  set32(b, o + RA_REACHABLE_TIME, reachableMs);
  set32(b, o + RA_RETRANS_TIMER, retransMs);
  return RA_LEN;
}

/** Redirect (§4.5): a better first hop `target` for `dest`; returns the fixed length. */
export function writeRedirect(b: Uint8Array, o: number, target: Uint8Array, tOff: number,
  dest: Uint8Array, dOff: number): number {
  writeHead(b, o, ND_REDIRECT);
  copyBytes(target, tOff, b, o + ND_TARGET, 16);
  copyBytes(dest, dOff, b, o + REDIRECT_DEST, 16);
  return REDIRECT_LEN;
}

/** Prefix information option (§4.6.2); lifetimes in seconds (ND_INFINITE = forever). */
export function writePrefixOption(b: Uint8Array, o: number, prefix: Uint8Array, pOff: number, prefixLen: number,
  flags: number, validS: number, preferredS: number): number {
  b[o] = OPT_PREFIX_INFO;
  b[o + 1] = 4;
  b[o + PREFIX_LENGTH] = prefixLen;
  b[o + PREFIX_FLAGS] = flags;
  set32(b, o + PREFIX_VALID, validS);
  set32(b, o + PREFIX_PREFERRED, preferredS);
  set32(b, o + 12, 0);
  copyBytes(prefix, pOff, b, o + PREFIX_PREFIX, 16);
  return OPT_PREFIX_LEN;
}

/** MTU option (§4.6.4). */
export function writeMtuOption(b: Uint8Array, o: number, mtu: number): number {
  b[o] = OPT_MTU;
  b[o + 1] = 1;
  set16(b, o + 2, 0);
  set32(b, o + 4, mtu);
  return OPT_MTU_LEN;
}

/** RDNSS option (RFC 8106 §5.1) with `count` addresses at `addrs[aOff ..]`; returns its length. */
export function writeRdnssOption(b: Uint8Array, o: number, lifetimeS: number, addrs: Uint8Array, aOff: number,
  count: number): number {
  const len = 8 + 16 * count;
  b[o] = OPT_RDNSS;
  b[o + 1] = len / 8;
  set16(b, o + 2, 0);
  set32(b, o + RDNSS_LIFETIME, lifetimeS);
  copyBytes(addrs, aOff, b, o + RDNSS_ADDRS, 16 * count);
  return len;
}

/** Unsigned 32-bit field (lifetimes; Infinity-free: callers test ND_INFINITE). */
export function getU32(b: Uint8Array, o: number): number {
  return get32(b, o) >>> 0;
}

/** RA router lifetime, seconds (0: not a default router, §4.2). */
export function raRouterLifetime(b: Uint8Array, o: number): number {
  return get16(b, o + RA_ROUTER_LIFETIME);
}

/** RA reachable time, ms (0: unspecified). */
export function raReachableTime(b: Uint8Array, o: number): number {
  return getU32(b, o + RA_REACHABLE_TIME);
}

/** RA retransmission timer, ms (0: unspecified). */
export function raRetransTimer(b: Uint8Array, o: number): number {
  return getU32(b, o + RA_RETRANS_TIMER);
}

/** Number of addresses in the RDNSS option at `o` (RFC 8106 §5.1: length 3 + 2n; below 3 is invalid → 0). */
export function rdnssCount(b: Uint8Array, o: number): number {
  const len = b[o + 1];
  return len < 3 ? 0 : (len - 1) >>> 1;
}
