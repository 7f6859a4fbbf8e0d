/** Builds valid Ethernet frames with the project's own wire codecs (setup time only). */
import {
  ARP_LEN, ARP_REQUEST, ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ICMP_ECHO_REQUEST, ICMP_HLEN, IPPROTO_ICMP,
  IPPROTO_UDP, IPV4_MIN_HLEN, UDP_HLEN, parseMac, writeArp, writeEth, writeIcmp, writeIpv4, writeUdp,
} from '../src/wire/index.js';

export interface Endpoints {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  src: number;
  dst: number;
}

export function mac(text: string): Uint8Array {
  return parseMac(text);
}

function fill(b: Uint8Array, o: number, len: number, seed: number): void {
  for (let i = 0; i < len; i++) b[o + i] = (seed * 131 + i * 7) & 0xff;
}

/** One UDP datagram of `payload` bytes from `sport` to `dport`, payload pattern seeded by `seed`. */
export function udpFrame(e: Endpoints, sport: number, dport: number, payload: number, ipId: number, seed: number): Uint8Array {
  const ipLen = IPV4_MIN_HLEN + UDP_HLEN + payload;
  const f = new Uint8Array(ETH_HLEN + ipLen);
  writeEth(f, 0, e.dstMac, 0, e.srcMac, 0, ETHERTYPE_IPV4);
  const u = ETH_HLEN + IPV4_MIN_HLEN;
  fill(f, u + UDP_HLEN, payload, seed);
  writeUdp(f, u, UDP_HLEN + payload, sport, dport, e.src, e.dst);
  writeIpv4(f, ETH_HLEN, ipLen, ipId, 0x4000, 64, IPPROTO_UDP, e.src, e.dst);
  return f;
}

/** One ICMP echo request with `payload` data bytes. */
export function echoRequestFrame(e: Endpoints, ident: number, seq: number, payload: number, ipId: number): Uint8Array {
  const ipLen = IPV4_MIN_HLEN + ICMP_HLEN + payload;
  const f = new Uint8Array(ETH_HLEN + ipLen);
  writeEth(f, 0, e.dstMac, 0, e.srcMac, 0, ETHERTYPE_IPV4);
  const m = ETH_HLEN + IPV4_MIN_HLEN;
  fill(f, m + ICMP_HLEN, payload, seq);
  writeIcmp(f, m, ICMP_HLEN + payload, ICMP_ECHO_REQUEST, 0, ident, seq);
  writeIpv4(f, ETH_HLEN, ipLen, ipId, 0, 64, IPPROTO_ICMP, e.src, e.dst);
  return f;
}

/** An ARP request from `e.src` asking for `e.dst`, so the stack learns the sender. */
export function arpRequestFrame(e: Endpoints): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + ARP_LEN);
  writeEth(f, 0, null, 0, e.srcMac, 0, ETHERTYPE_ARP);
  writeArp(f, ETH_HLEN, ARP_REQUEST, e.srcMac, 0, e.src, null, 0, e.dst);
  return f;
}
