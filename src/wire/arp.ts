/** ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet after the Ethernet header. */
import { get16, set16, get32, set32, copyBytes } from './bytes.js';

export const ARP_LEN = 28;
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OPER = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** True when the fixed fields say Ethernet/IPv4 with the usual lengths. */
export function arpIsEthernetIpv4(b: Uint8Array, o: number): boolean {
  return get16(b, o + ARP_HTYPE) === 1 && get16(b, o + ARP_PTYPE) === 0x0800
    && b[o + ARP_HLEN] === 6 && b[o + ARP_PLEN] === 4;
}

export function arpOper(b: Uint8Array, o: number): number {
  return get16(b, o + ARP_OPER);
}

export function arpSpa(b: Uint8Array, o: number): number {
  return get32(b, o + ARP_SPA);
}

export function arpTpa(b: Uint8Array, o: number): number {
  return get32(b, o + ARP_TPA);
}

/**
 * Write an ARP packet. `tha` null writes zeros (requests).
 */
export function writeArp(b: Uint8Array, o: number, oper: number, sha: Uint8Array, shaOff: number, spa: number,
  tha: Uint8Array | null, thaOff: number, tpa: number): void {
  set16(b, o + ARP_HTYPE, 1);
  set16(b, o + ARP_PTYPE, 0x0800);
  b[o + ARP_HLEN] = 6;
  b[o + ARP_PLEN] = 4;
  set16(b, o + ARP_OPER, oper);
  copyBytes(sha, shaOff, b, o + ARP_SHA, 6);
  set32(b, o + ARP_SPA, spa);
  if (tha === null) {
    for (let i = 0; i < 6; i++) b[o + ARP_THA + i] = 0;
  } else {
    copyBytes(tha, thaOff, b, o + ARP_THA, 6);
  }
  set32(b, o + ARP_TPA, tpa);
}
