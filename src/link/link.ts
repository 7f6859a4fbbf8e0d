/**
 * The physical layer contract every driver implements (memory pair, TAP,
 * and wrappers such as fault injection or pcap capture).
 *
 * Frames are Ethernet II frames without FCS. Both directions pass a byte
 * array, an offset and a length so that no per-frame views are created:
 * the callee must copy what it wants to keep before returning.
 */
export interface FrameReceiver {
  /** Handle one received frame; `frame[offset .. offset+length)` is only valid during the call. */
  receiveFrame(frame: Uint8Array, offset: number, length: number): void;
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
   */
  transmit(frame: Uint8Array, offset: number, length: number, now: number): number;
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
