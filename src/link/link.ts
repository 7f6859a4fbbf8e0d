/**
 * The physical layer contract every driver implements (memory pair, TAP,
 * and wrappers such as fault injection or pcap capture).
 *
 * Frames are Ethernet II frames without FCS. Both directions pass a byte
 * array, an offset and a length so that no per-frame views are created:
 * the callee must copy what it wants to keep before returning.
 */
import type { TxOffload } from '../engine/offload.js';
import type { SynResponder } from '../engine/tcp/syn-responder.js';

export { RX_CSUM_VALID, RX_CSUM_PARTIAL, GSO_NONE, GSO_TCPV4, GSO_TCPV6, TxOffload } from '../engine/offload.js';
export interface FrameReceiver {
  /**
   * Handle one received frame; `frame[offset .. offset+length)` is only valid
   * during the call. `rxFlags` ({@link RX_CSUM_VALID}, {@link RX_CSUM_PARTIAL};
   * absent or 0: none) is what a link with offload knows about the frame's
   * transport checksum. A frame of such a link may be a coalesced TCP
   * super-segment longer than `mtu + 14`, up to 14 + 65535 bytes.
   */
  receiveFrame(frame: Uint8Array, offset: number, length: number, rxFlags?: number): void;
}

/**
 * What a link takes off the stack's hands (TAP with IFF_VNET_HDR, or a
 * MemoryLink with `offload`, as a veth pair does). Absent or null: nothing;
 * the stack sends MSS-sized frames with full checksums.
 */
export interface LinkOffload {
  /** Largest IP packet the link takes as one TCP super-segment (TSO/GSO), e.g. 65535; 0: no segmentation offload. */
  readonly tsoMax: number;
  /** Transport checksums may be left partial ({@link TxOffload.csumStart}); the link completes them. */
  readonly csum: boolean;
}

/** Counters kept by every link; plain numbers, updated in place. */
export interface LinkStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames the link itself dropped (queue full, oversized, injected loss). */
  drops: number;
}

/**
 * What a link carries: Ethernet II frames (the default), or bare IPv4 packets
 * for point-to-point virtual interfaces such as a WireGuard device, which
 * have no MAC addresses and no ARP.
 */
export type LinkLayer = 'ethernet' | 'ip';

export interface Link {
  /** A short name for reports and pcap files. */
  readonly name: string;
  /** 'ip' links pass bare IPv4 packets both ways; absent means 'ethernet'. */
  readonly layer?: LinkLayer;
  /** Largest IP packet the link carries, e.g. 1500 (Ethernet payload) or 1420 (WireGuard). */
  readonly mtu: number;
  readonly stats: LinkStats;
  /** What the link offloads (see {@link LinkOffload}); absent or null: nothing. */
  readonly offload?: LinkOffload | null;
  /**
   * A responder on the link's reader thread that answers SYN floods with the
   * stack's cookies (see {@link SynResponder}); absent or null: none.
   */
  readonly synResponder?: SynResponder | null;
  /**
   * Queue one frame for sending at time `now` (ms). The link copies the bytes
   * before returning. Returns 0 when the link took the frame (queued, sent,
   * or held for later as a WireGuard packet waiting for its handshake), or
   * -errno when it dropped it, with the errno the socket call that caused the
   * send reports: -ENOBUFS (queue full, as Linux's qdisc drop), -ENETDOWN
   * (link closed), -EMSGSIZE (larger than mtu + 14, or shorter than an
   * Ethernet header), or the device's own reason (-EHOSTUNREACH for a
   * WireGuard packet no peer's allowed IPs cover, -EDESTADDRREQ for a peer
   * without endpoint, -EIO for a failed device write). The result is the
   * whole error path: there is no side channel to read afterwards.
   *
   * `tx` (only from a stack using the link's {@link offload}): the frame is a
   * TCP super-segment to be cut into `tx.gsoSize` pieces, or carries a
   * partial checksum; such a frame may be longer than `mtu + 14`, up to
   * `offload.tsoMax + 14`. Only valid during the call.
   */
  transmit(frame: Uint8Array, offset: number, length: number, now: number, tx?: TxOffload | null): number;
  /**
   * Deliver every frame due at or before `now` to `rx`, then return the time of
   * the next frame that is due (Infinity when none is queued).
   */
  poll(now: number, rx: FrameReceiver): number;
  /**
   * Register the function the link calls when frames arrive outside `poll`
   * (another stack transmitted to us, a TAP fd became readable), so a
   * real-time driver can poll promptly. Virtual-time tests ignore it.
   * `pollNow`, when given, polls at once (RealtimeDriver.pollNow): a link may
   * call it instead of `wakeup` from its event-loop I/O callbacks (never from
   * inside its own poll or a transmit), to answer within the same wake-up.
   */
  setWakeup(wakeup: (() => void) | null, pollNow?: (() => void) | null): void;
  /** Release OS resources; further transmits are dropped. */
  close(): void;
}

/** Ethernet header length; a link's largest frame is `mtu + ETH_HEADER_LEN`. */
export const ETH_HEADER_LEN = 14;
