/**
 * The IPv6 contract between the network layer (V6NET: ipv6.ts,
 * ipv6-input.ts, icmpv6.ts) and the layers above and beside it (TCP/UDP
 * over IPv6, neighbour discovery, WireGuard): interfaces only, so each side
 * can be built against it. ipv6.ts re-exports everything here.
 */
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPV6_HLEN } from '../wire/ipv6.js';
import type { NetInterface } from './netif.js';
import type { Route6Record } from './routes6.js';

/** Where transport headers start in the transmit buffer (`ctx.tx`) for IPv6. */
export const IP6_PAYLOAD_OFFSET = ETH_HLEN + IPV6_HLEN;

/** `output6` flag: never fragment at the source (EMSGSIZE instead), as IPV6_DONTFRAG (RFC 3542 §11.2). */
export const IP6_DONTFRAG = 1;

/**
 * `output6` hop limit meaning "the interface's default": a router
 * advertisement's non-zero Cur Hop Limit on that interface (RFC 4861 §6.3.4),
 * else `config.ttl` — as Linux's IPV6_UNICAST_HOPS -1 takes the device's
 * hop_limit. A real hop limit is never 0 when sent (RFC 8200 §3).
 */
export const HOP_LIMIT_DEFAULT = 0;

/**
 * `output6` flag: the sender already wrote `r.src` and the destination at
 * their places in the header of ctx.tx (`ETH_HLEN + 8`, `ETH_HLEN + 24`), as
 * TCP and UDP do for their pseudo-header checksum: output6 does not copy them again.
 */
export const IP6_ADDRS_IN_PLACE = 2;

/** What the transports (TCP, UDP, ICMPv6) need from IPv6 to send. */
export interface Ip6Output {
  /** The interface owning the usable address `addr[off..off+16)`, or null. */
  localInterface6(addr: Uint8Array, off: number): NetInterface | null;
  /**
   * Fill `r` for `dst` (`src`: a bound address, or null → RFC 6724 source
   * selection, simplified). 0 or -errno (-ENETUNREACH, -EADDRNOTAVAIL).
   */
  route6(r: Route6Record, dst: Uint8Array, dOff: number, src: Uint8Array | null, sOff: number): number;
  /**
   * True when `r` still holds route6's last answer and nothing it depends on
   * changed: a caller that would ask with the same key may skip route6.
   */
  stillRouted(r: Route6Record): boolean;
  /** MTU left for a transport packet on `r` (interface MTU, path MTU cache of RFC 8201, less 40). */
  flowMtu6(r: Route6Record, dst: Uint8Array, dOff: number): number;
  /**
   * Send the transport payload at IP6_PAYLOAD_OFFSET of ctx.tx along `r`
   * (source `r.src`). hopLimit: 1..255, or HOP_LIMIT_DEFAULT. flags: IP6_DONTFRAG, IP6_ADDRS_IN_PLACE. 0 or -errno.
   */
  output6(r: Route6Record, nextHeader: number, payloadLen: number, dst: Uint8Array, dOff: number,
    hopLimit: number, flags: number): number;
}

/** A transport's receive side for IPv6 (TCP, UDP). */
export interface Transport6Input {
  /**
   * The packet addressed to us: IPv6 header at b[ipOff] (src at ipOff+8,
   * dst at ipOff+24), upper-layer header at b[l4Off], l4Len bytes.
   */
  input6(iface: NetInterface, b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, multicast: boolean): void;
}

/** The transports IPv6 input delivers to. */
export interface Transports6 {
  readonly tcp: Transport6Input;
  readonly udp: Transport6Input;
}

/**
 * Where ICMPv6 hands a received error about a UDP datagram we sent: the
 * addresses are those of our packet as quoted (local = its source), 16 bytes
 * at the offsets of `b`.
 */
export interface Udp6ErrorSink {
  icmp6Error(b: Uint8Array, laddrOff: number, lport: number, raddrOff: number, rport: number, errno: number): void;
}

/**
 * Where ICMPv6 hands a received error about a TCP segment we sent. `mtu`:
 * the new path MTU of a Packet Too Big (already in the path MTU cache), else 0.
 */
export interface Tcp6ErrorSink {
  icmp6Error(b: Uint8Array, laddrOff: number, lport: number, raddrOff: number, rport: number, seq: number,
    errno: number, mtu: number): void;
}

/**
 * Neighbour discovery as the network layer uses it (RFC 4861; V6ND's
 * engine/ndp.ts implements it). `output` is the emitFrame analogue of
 * `arp.output`: the IPv6 packet is at `b[frameOff + ETH_HLEN]`, the frame
 * `frameLen` bytes; it writes the Ethernet header and sends, or parks the
 * frame until `nextHop` resolves. Returns 0 when sent or parked, else -errno.
 */
export interface NeighbourOutput {
  output(iface: NetInterface, nextHop: Uint8Array, nhOff: number, b: Uint8Array, frameOff: number, frameLen: number): number;
}

/** ND messages (ICMPv6 types 133–137) handed over by ICMPv6 input. */
export interface NeighbourInput {
  input(iface: NetInterface, b: Uint8Array, ipOff: number, icmpOff: number, icmpLen: number): void;
}
