/** Ethernet II header (no FCS): destination MAC, source MAC, EtherType. */
import { get16, set16, copyBytes } from './bytes.js';

export const ETH_HLEN = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** Frames are padded to this length (without FCS) on the wire. */
export const ETH_MIN_FRAME = 60;

export function ethType(b: Uint8Array, o: number): number {
  return get16(b, o + ETH_TYPE);
}

export function ethIsBroadcast(b: Uint8Array, o: number): boolean {
  return (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
}

/** Group bit set: broadcast or multicast destination. */
export function ethIsGroup(b: Uint8Array, o: number): boolean {
  return (b[o] & 1) === 1;
}

/** True when the 6 bytes at `b[o]` equal `mac[mo .. mo+6)`. */
export function macEquals(b: Uint8Array, o: number, mac: Uint8Array, mo: number): boolean {
  return b[o] === mac[mo] && b[o + 1] === mac[mo + 1] && b[o + 2] === mac[mo + 2]
    && b[o + 3] === mac[mo + 3] && b[o + 4] === mac[mo + 4] && b[o + 5] === mac[mo + 5];
}

/** The broadcast address, copied by {@link writeEth} for a null destination. */
const BROADCAST = new Uint8Array(6).fill(0xff);

/**
 * Write an Ethernet header at `o`; `dst` null means broadcast. One copy call
 * either way: the IPv4 path always passes null (arp.ts fills the address in)
 * and an ARP reply a MAC, and a second call site first reached by that reply
 * had no type feedback, which deoptimized this function once per process.
 */
export function writeEth(b: Uint8Array, o: number, dst: Uint8Array | null, dstOff: number,
  src: Uint8Array, srcOff: number, type: number): void {
  copyBytes(dst === null ? BROADCAST : dst, dst === null ? 0 : dstOff, b, o, 6);
  copyBytes(src, srcOff, b, o + ETH_SRC, 6);
  set16(b, o + ETH_TYPE, type);
}

/** Parse "aa:bb:cc:dd:ee:ff" (or '-' separated) into 6 bytes; throws on bad input (config time only). */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`invalid MAC address '${text}'`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array, o = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(b[o + i].toString(16).padStart(2, '0'));
  return out.join(':');
}
