/**
 * IPv6 text ↔ 16 bytes for WireGuard's control plane (config files, UAPI,
 * endpoints): the names WireGuard's files use for wire/ipv6addr.ts (RFC 4291
 * §2.2 forms in, RFC 5952 out), plus the `[addr]:port` display form.
 */
import { formatIpv6, ip6MaskInPlace, parseIpv6 } from '../wire/ipv6addr.js';

/** Parse `text` into `out[off..off+16)`; false when it is not an IPv6 address. */
export function parseIp6(text: string, out: Uint8Array, off: number): boolean {
  return parseIpv6(text, out, off);
}

/** RFC 5952 text of `b[off..off+16)`. */
export function formatIp6(b: Uint8Array, off: number): string {
  return formatIpv6(b, off);
}

/** Clear the bits of `b[off..off+16)` past `prefixLength`. */
export function maskIp6(b: Uint8Array, off: number, prefixLength: number): void {
  ip6MaskInPlace(b, off, prefixLength);
}

/** `a.b.c.d:port`, or `[ipv6]:port` as wg(8) and URLs write an IPv6 endpoint. */
export function hostPortText(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
