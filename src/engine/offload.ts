/**
 * Offload metadata exchanged between the engine and links that take work off
 * it (TAP with IFF_VNET_HDR, MemoryLink with `offload`): segmentation of TCP
 * super-segments (TSO/GSO) and transport checksums (see link/link.ts,
 * `LinkOffload`). Values here, types in link/link.ts, so the engine needs no
 * run-time import of link/.
 */
import { finish, sum16 } from '../wire/checksum.js';

/**
 * Received frame: its transport (TCP/UDP) checksum was verified, or the frame
 * never left this host (the kernel's VIRTIO_NET_HDR_F_DATA_VALID): the stack
 * need not verify it.
 */
export const RX_CSUM_VALID = 1;
/**
 * Received frame: its transport checksum field holds only the pseudo-header
 * sum, to be completed over the data by whoever sends it on a wire (the
 * kernel's VIRTIO_NET_HDR_F_NEEDS_CSUM, CHECKSUM_PARTIAL): the data are
 * valid (they came from a sender on this host), the field is not. A stack
 * that forwards such a packet completes the checksum first.
 */
export const RX_CSUM_PARTIAL = 2;

/**
 * Segmentation type of a super-segment (the values of virtio_net_hdr's
 * gso_type, so a TAP link passes them through): none, TCP over IPv4 (TSO4),
 * TCP over IPv6 (TSO6, reserved for IPv6).
 */
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;

/**
 * What a sender tells a link with offload about one frame (one object per
 * interface, reused for every frame; see {@link Link.transmit}). All zero:
 * a complete frame with full checksums.
 */
export class TxOffload {
  /** {@link GSO_NONE}, {@link GSO_TCPV4} (or later {@link GSO_TCPV6}). */
  gsoType = GSO_NONE;
  /** Payload bytes per segment the receiver of the wire sees (the MSS less options); 0 without GSO. */
  gsoSize = 0;
  /** Bytes of headers (Ethernet + IP + TCP with options) in front of the payload; 0 without GSO. */
  hdrLen = 0;
  /**
   * Where the partial transport checksum's range starts, from the frame's
   * first byte (Ethernet header included), and where its 16-bit field is,
   * from there (16 for TCP, 6 for UDP). 0/0: the checksum is complete.
   * A partial field holds the pseudo-header sum, folded and not inverted
   * (as Linux's CHECKSUM_PARTIAL): the link (or the kernel behind it)
   * completes it over `frame[csumStart .. end)`.
   */
  csumStart = 0;
  csumOffset = 0;

  /** Back to "complete frame, full checksums". */
  clear(): void {
    this.gsoType = GSO_NONE;
    this.gsoSize = 0;
    this.hdrLen = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
  }
}

/** The folded, not inverted, pseudo-header sum a partial checksum field holds (Linux CHECKSUM_PARTIAL). */
export function partialChecksum(pseudoSum: number): number {
  let s = pseudoSum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Complete the partial transport checksum (TCP or UDP) of the IPv4 packet at
 * `b[o ..)` in place, as Linux's skb_checksum_help does: the field holds the
 * pseudo-header sum, so the sum over the transport bytes, field included,
 * is the checksum. Used before a packet received with
 * {@link RX_CSUM_PARTIAL} leaves on another interface.
 */
export function completePartialChecksum(b: Uint8Array, o: number): void {
  const hlen = (b[o] & 0x0f) << 2;
  const total = (b[o + 2] << 8) | b[o + 3];
  const proto = b[o + 9];
  const field = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  const t = o + hlen;
  if (field < 0 || total < hlen + field + 2) return;
  let c = finish(sum16(b, t, total - hlen, 0));
  if (proto === 17 && c === 0) c = 0xffff; // UDP sends a computed 0 as all ones (RFC 768)
  b[t + field] = c >>> 8;
  b[t + field + 1] = c & 0xff;
}

/**
 * {@link completePartialChecksum} for the IPv6 packet at `b[o ..)`: the
 * transport header must follow the fixed header (the kernel marks partial
 * checksums on such packets; one behind extension headers is left as it is).
 */
export function completePartialChecksum6(b: Uint8Array, o: number): void {
  const payload = (b[o + 4] << 8) | b[o + 5];
  const proto = b[o + 6];
  const field = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  const t = o + 40;
  if (field < 0 || payload < field + 2) return;
  let c = finish(sum16(b, t, payload, 0));
  if (proto === 17 && c === 0) c = 0xffff; // UDP over IPv6 never carries 0 (RFC 8200 8.1)
  b[t + field] = c >>> 8;
  b[t + field + 1] = c & 0xff;
}
