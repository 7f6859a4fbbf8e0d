/** UDP header (RFC 768). */
import { get16, set16 } from './bytes.js';
import { sum16, sum6, finish, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_HLEN = 8;
export const UDP_SPORT = 0;
export const UDP_DPORT = 2;
export const UDP_LEN = 4;
export const UDP_CSUM = 6;

export function udpSrcPort(b: Uint8Array, o: number): number {
  return get16(b, o + UDP_SPORT);
}

export function udpDstPort(b: Uint8Array, o: number): number {
  return get16(b, o + UDP_DPORT);
}

export function udpLength(b: Uint8Array, o: number): number {
  return get16(b, o + UDP_LEN);
}

export function udpChecksumField(b: Uint8Array, o: number): number {
  return get16(b, o + UDP_CSUM);
}

/** True when the checksum over pseudo-header + datagram is correct (or absent: 0). */
export function udpChecksumOk(b: Uint8Array, o: number, len: number, src: number, dst: number): boolean {
  if (get16(b, o + UDP_CSUM) === 0) return true;
  return finish(sum16(b, o, len, pseudoHeaderSum(src, dst, IPPROTO_UDP, len))) === 0;
}

/** Write the header for a datagram of `len` bytes (header included) whose payload is already in place. */
export function writeUdp(b: Uint8Array, o: number, len: number, sport: number, dport: number,
  src: number, dst: number): void {
  set16(b, o + UDP_SPORT, sport);
  set16(b, o + UDP_DPORT, dport);
  set16(b, o + UDP_LEN, len);
  set16(b, o + UDP_CSUM, 0);
  const c = finish(sum16(b, o, len, pseudoHeaderSum(src, dst, IPPROTO_UDP, len)));
  // RFC 768: a computed zero is sent as all ones, since zero means "no checksum".
  set16(b, o + UDP_CSUM, c === 0 ? 0xffff : c);
}

/**
 * IPv6: true when the checksum is correct. A zero checksum is invalid over
 * IPv6 (RFC 8200 8.1: the datagram is discarded); addresses at `b[srcOff]`, `b[dstOff]`.
 */
export function udpChecksumOk6(b: Uint8Array, o: number, len: number, srcOff: number, dstOff: number): boolean {
  if (get16(b, o + UDP_CSUM) === 0) return false;
  return finish(sum6(b, srcOff, dstOff, o, len, IPPROTO_UDP)) === 0;
}

/** IPv6 form of {@link writeUdp}: the pseudo-header's addresses are at `b[srcOff]`, `b[dstOff]`. */
export function writeUdp6(b: Uint8Array, o: number, len: number, sport: number, dport: number,
  srcOff: number, dstOff: number): void {
  set16(b, o + UDP_SPORT, sport);
  set16(b, o + UDP_DPORT, dport);
  set16(b, o + UDP_LEN, len);
  set16(b, o + UDP_CSUM, 0);
  const c = finish(sum6(b, srcOff, dstOff, o, len, IPPROTO_UDP));
  // RFC 8200 8.1: a computed zero is sent as all ones.
  set16(b, o + UDP_CSUM, c === 0 ? 0xffff : c);
}
