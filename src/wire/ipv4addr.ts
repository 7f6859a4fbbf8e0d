/**
 * IPv4 addresses as unsigned 32-bit numbers: the packet path compares and
 * hashes integers, never strings. Parsing and formatting are for config and
 * the API edge.
 */

export const IPV4_ANY = 0;
/** 255.255.255.255 in the engine's signed int32 form (addresses from the wire are int32, see get32). */
export const IPV4_BROADCAST = -1;

/** Parse dotted-quad text to an unsigned number; returns -1 when invalid (no exception, so callers pick the error). */
export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const p = Number(m[i]);
    if (p > 255 || (m[i].length > 1 && m[i][0] === '0')) return -1;
    v = v * 256 + p;
  }
  return v;
}

/**
 * Whether `n` is an IPv4 address as the public API takes numbers: a 32-bit
 * integer in either form, unsigned (0 .. 2^32-1, as {@link parseIpv4} gives)
 * or the engine's signed int32 (-2^31 .. -1 for 128.0.0.0 and up). Anything
 * else (fractions, NaN, values past 32 bits) is refused rather than wrapped
 * by `| 0` or `>>> 0` into some other address.
 */
export function isIpv4Number(n: number): boolean {
  return Number.isInteger(n) && n >= -0x80000000 && n <= 0xffffffff;
}

/** Dotted-quad text of an address in either form (unsigned, or the engine's signed int32). */
export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Netmask for a prefix length 0..32. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) | 0;
}

export interface Cidr {
  address: number;
  prefixLength: number;
}

/** Parse "a.b.c.d/len"; throws a clear Error (config time). A bare address means /32. */
export function parseCidr(text: string, what = 'address'): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIpv4(addrText);
  if (address < 0) throw new Error(`invalid ${what} '${text}': not an IPv4 address`);
  let prefixLength = 32;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) {
      throw new Error(`invalid ${what} '${text}': prefix length must be 0..32`);
    }
    prefixLength = Number(lenText);
  }
  return { address, prefixLength };
}

/** 224.0.0.0/4. */
export function isMulticast(a: number): boolean {
  return (a >>> 28) === 0xe;
}

/** 127.0.0.0/8. */
export function isLoopback(a: number): boolean {
  return (a >>> 24) === 127;
}

/**
 * Addresses that may never appear as the source of a packet we accept
 * (RFC 1812 5.3.7): 0.0.0.0/8 except 0.0.0.0 itself (DHCP), loopback,
 * multicast, class E and limited broadcast.
 */
export function isMartianSource(a: number): boolean {
  const top = a >>> 24;
  return (top === 0 && a !== 0) || top === 127 || top >= 224;
}
