/** A network interface of the stack: a link, its MAC and its IPv4 configuration. */
import type { Link, FrameReceiver } from '../link/link.js';
import { prefixMask } from '../wire/ipv4addr.js';
import { TxOffload } from './offload.js';

/** Counters per interface. */
export interface InterfaceStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  txDropped: number;
  /** Forwarding, counted on the interface a packet arrived on (RFC 1812 router). */
  forwarded: number;
  /** No route to the destination (ICMP net unreachable sent). */
  noRoute: number;
  /** TTL ran out (ICMP time exceeded sent). */
  ttlExceeded: number;
  /** Source failed the reverse-path check. */
  rpFilter: number;
  /** Broadcast, multicast or martian destination: never forwarded. */
  notForwardable: number;
  /** DF set and larger than the egress MTU (ICMP fragmentation needed sent). */
  fragNeeded: number;
  /** Forwarded as fragments (also counted in forwarded). */
  fragmented: number;
  /** Next hop did not answer ARP (ICMP host unreachable sent); counted on the egress interface. */
  hostUnreachable: number;
  /** Coalesced TCP segments (offload) forwarded whole for the egress link to cut (TSO); also counted in forwarded. */
  forwardedWhole: number;
}

/** The engine's entry point for frames of one interface (one object per interface, made once). */
export interface FrameSink {
  input(iface: NetInterface, frame: Uint8Array, offset: number, length: number): void;
}

export class NetInterface implements FrameReceiver {
  readonly mac = new Uint8Array(6);
  address = 0;
  prefixLength = 0;
  mask = 0;
  network = 0;
  /** Directed broadcast of the subnet (0 for /31 and /32, which have none). */
  broadcast = 0;
  gateway = 0;
  /** A gratuitous ARP is owed at the next poll. */
  announcePending = false;
  /** A point-to-point 'ip' link: no Ethernet header, no ARP, no broadcast. */
  readonly ipOnly: boolean;
  readonly stats: InterfaceStats = {
    rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0,
    forwarded: 0, noRoute: 0, ttlExceeded: 0, rpFilter: 0, notForwardable: 0, fragNeeded: 0, fragmented: 0, hostUnreachable: 0,
    forwardedWhole: 0,
  };

  /**
   * Largest IP packet TCP may hand this interface as one super-segment, for
   * the link to cut into MSS-sized frames (TSO): the link's offer
   * (`link.offload.tsoMax`) within what the transmit buffer holds; 0 when the
   * link offers none. Point-to-point ('ip') links never get one.
   */
  readonly tsoMax: number;
  /** The link completes partial TCP checksums (`link.offload.csum`). */
  readonly csumOffload: boolean;
  /**
   * Offload metadata of the frame being sent, filled by the sender (TCP)
   * right before `output` and cleared right after: {@link transmit} hands it
   * to the link when it says anything.
   */
  readonly txOffload = new TxOffload();
  /**
   * Offload flags of the frame being received (RX_CSUM_VALID,
   * RX_CSUM_PARTIAL from the link), valid only while the engine handles it;
   * 0 otherwise (loopback, reassembled datagrams).
   */
  rxFlags = 0;

  /** @param maxPacket largest IP packet the stack can build (its transmit buffer less the Ethernet header) */
  constructor(readonly index: number, readonly name: string, readonly link: Link, readonly mtu: number,
    private readonly sink: FrameSink, private readonly stackTx: { txFrames: number; txBytes: number; txDropped: number },
    maxPacket = 0) {
    this.ipOnly = link.layer === 'ip';
    const off = this.ipOnly ? null : link.offload ?? null;
    const tso = off === null ? 0 : Math.min(off.tsoMax, maxPacket, 65535);
    this.csumOffload = off !== null && off.csum;
    // Segmentation needs the partial checksum (as the kernel's NEEDS_CSUM with GSO).
    this.tsoMax = tso > mtu && this.csumOffload ? tso : 0;
  }

  setAddress(address: number, prefixLength: number, gateway: number): void {
    // Signed int32 forms, as addresses arrive from the wire (see get32).
    this.address = address | 0;
    this.prefixLength = prefixLength;
    this.mask = prefixMask(prefixLength);
    this.network = address & this.mask;
    this.broadcast = prefixLength >= 31 || this.ipOnly ? 0 : this.network | ~this.mask;
    this.gateway = gateway | 0;
  }

  receiveFrame(frame: Uint8Array, offset: number, length: number, rxFlags?: number): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += length;
    this.rxFlags = rxFlags ?? 0;
    this.sink.input(this, frame, offset, length);
    this.rxFlags = 0;
  }

  /**
   * Hand a finished frame to the link, counting it, with the sender's offload
   * metadata ({@link txOffload}) when it has any. Returns the link's 0 or
   * -errno (see {@link Link.transmit}).
   */
  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    const tx = this.txOffload;
    const r = tx.csumOffset !== 0 || tx.gsoType !== 0
      ? this.link.transmit(frame, offset, length, now, tx) : this.link.transmit(frame, offset, length, now);
    if (r === 0) {
      this.stats.txFrames++;
      this.stats.txBytes += length;
      this.stackTx.txFrames++;
      this.stackTx.txBytes += length;
      return 0;
    }
    this.stats.txDropped++;
    this.stackTx.txDropped++;
    return r;
  }
}
