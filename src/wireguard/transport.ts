/**
 * The outer transport of a WireGuard device: whatever carries its UDP
 * datagrams. The device is written against this interface only, so it runs
 * over a host UDP socket (transport-node.ts, no root needed) or over a UDP
 * socket of a wirestack stack (stack-transport.ts, WireGuard over our own
 * stack on a TAP, as wolfIP does it).
 */

/**
 * Called for each received datagram; the bytes are only valid during the call.
 * From an IPv4 source `address` is the address (a number, either sign) and
 * `address6` absent or null; from an IPv6 source `address6` holds it (16
 * bytes at offset 0, valid during the call only) and `address` is 0. A
 * dual-stack transport reports IPv4-mapped sources (::ffff:a.b.c.d) as IPv4.
 */
export type DatagramReceiver = (b: Uint8Array, off: number, len: number, address: number, port: number,
  address6?: Uint8Array | null) => void;

export interface WgTransport {
  /** Send one datagram to `address` (IPv4 as a number, either sign) and `port`; the transport copies the bytes. False when it could not be queued. */
  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean;
  /**
   * Optional: send datagrams i = 0..n-1 at once, datagram i being
   * buf[i*slotSize ..) of meta[3i] bytes to meta[3i+1] (IPv4 as a number):meta[3i+2]
   * (n at most 64). Returns how many were sent, from the first on.
   */
  sendBatch?(buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number;
  /**
   * Send one datagram to the IPv6 address `address6[a6off..a6off+16)` and
   * `port`; absent on a transport without IPv6 (the device counts the drop).
   */
  send6?(b: Uint8Array, off: number, len: number, address6: Uint8Array, a6off: number, port: number): boolean;
  /** Register the receiver (the device does, once). */
  setReceiver(rx: DatagramReceiver | null): void;
  /** The bound local UDP port. */
  readonly port: number;
  /** Stop receiving and release the socket. */
  close(): void;
}
