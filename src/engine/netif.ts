/** A network interface of the stack: a link, its MAC and its IPv4 configuration. */
import type { Link, FrameReceiver } from '../link/link.js';
import { prefixMask } from '../wire/ipv4addr.js';
import { TxOffload } from './offload.js';
import type { Carver } from '../storage/arena.js';
import { ip6Equal } from '../wire/ipv6addr.js';
import { wordsOf } from '../wire/bytes.js';

/** States of an interface's IPv6 address slot (`addr6State`, RFC 4862 §5.5.4 terms). */
export const ADDR6_FREE = 0;
export const ADDR6_TENTATIVE = 1;
export const ADDR6_PREFERRED = 2;
export const ADDR6_DEPRECATED = 3;
/** Origin flags of an IPv6 address slot (`addr6Flags`). */
export const ADDR6_STATIC = 1;
export const ADDR6_SLAAC = 2;
export const ADDR6_LINKLOCAL = 4;

/**
 * The planned storage of one interface's IPv6 addresses (`ipv6AddressesPerInterface`
 * slots), carved once per possible interface when the stack is built.
 */
export class Iface6Addresses {
  readonly addr: Uint8Array;
  readonly prefix: Uint8Array;
  readonly state: Uint8Array;
  readonly flags: Uint8Array;
  readonly valid: Float64Array;
  readonly preferred: Float64Array;

  /** Carve from the arena, or plan (a MemoryPlan as the Carver): one layout. */
  constructor(m: Carver, readonly count: number) {
    this.addr = m.u8('interfaces6', 16 * count);
    this.prefix = m.u8('interfaces6', count);
    this.state = m.u8('interfaces6', count);
    this.flags = m.u8('interfaces6', count);
    this.valid = m.f64('interfaces6', count);
    this.preferred = m.f64('interfaces6', count);
  }
}

const NO_ADDRESSES6 = new Iface6Addresses({
  u8: () => new Uint8Array(0), u16: () => new Uint16Array(0), i16: () => new Int16Array(0),
  u32: () => new Uint32Array(0), i32: () => new Int32Array(0), f64: () => new Float64Array(0),
}, 0);

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
  /** An IPv6 address could not be added: all `ipv6AddressesPerInterface` slots in use. */
  addr6Full: number;
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
  /** IPv6 link MTU from a router advertisement's MTU option (RFC 4861 §6.3.4, set by ndp.ts); 0: `mtu`. */
  mtu6 = 0;
  /** IPv6 hop limit from a router advertisement's Cur Hop Limit (RFC 4861 §6.3.4, set by ndp.ts); 0: `config.ttl`. */
  hopLimit6 = 0;
  /** A point-to-point 'ip' link: no Ethernet header, no ARP, no broadcast. */
  readonly ipOnly: boolean;
  readonly stats: InterfaceStats = {
    rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0,
    forwarded: 0, noRoute: 0, ttlExceeded: 0, rpFilter: 0, notForwardable: 0, fragNeeded: 0, fragmented: 0, hostUnreachable: 0,
    forwardedWhole: 0,
    addr6Full: 0,
  };
  /** IPv6 address slots (0 when the stack was built with `ipv6: false`). */
  readonly addr6Count: number;
  /** Bumped by every change of an IPv6 address or its state (Ipv6.route6 keeps a memo while it holds). */
  addr6Gen = 0;
  /** IPv6 addresses, 16 bytes per slot (slot k at `16 * k`). */
  readonly addr6: Uint8Array;
  /** The same bytes as `addr6`, as words (slot k at `4 * k`, see wordsOf): ownership checks compare words. */
  readonly addr6w: Int32Array;
  /** Prefix length of each slot's on-link prefix. */
  readonly addr6Prefix: Uint8Array;
  /** ADDR6_FREE, ADDR6_TENTATIVE, ADDR6_PREFERRED or ADDR6_DEPRECATED per slot. */
  readonly addr6State: Uint8Array;
  /** ADDR6_STATIC / ADDR6_SLAAC / ADDR6_LINKLOCAL per slot. */
  readonly addr6Flags: Uint8Array;
  /** Valid and preferred lifetimes' ends, absolute ms (Infinity: forever). */
  readonly addr6Valid: Float64Array;
  readonly addr6Preferred: Float64Array;

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
    maxPacket = 0, v6: Iface6Addresses | null = null) {
    this.ipOnly = link.layer === 'ip';
    const off = this.ipOnly ? null : link.offload ?? null;
    const tso = off === null ? 0 : Math.min(off.tsoMax, maxPacket, 65535);
    this.csumOffload = off !== null && off.csum;
    // Segmentation needs the partial checksum (as the kernel's NEEDS_CSUM with GSO).
    this.tsoMax = tso > mtu && this.csumOffload ? tso : 0;
    const a = v6 ?? NO_ADDRESSES6;
    this.addr6Count = a.count;
    this.addr6 = a.addr;
    this.addr6w = wordsOf(a.addr);
    this.addr6Prefix = a.prefix;
    this.addr6State = a.state;
    this.addr6Flags = a.flags;
    this.addr6Valid = a.valid;
    this.addr6Preferred = a.preferred;
  }

  /**
   * Put an IPv6 address on the interface: the address `addr[off..off+16)`
   * with its prefix length, state (ADDR6_*) and origin flags, lifetimes
   * forever. The same address again updates its slot. Returns the slot, or -1
   * when every slot is taken (counted in `stats.addr6Full`).
   */
  addAddress6(addr: Uint8Array, off: number, prefixLen: number, state: number, flags: number): number {
    let slot = this.findAddress6(addr, off);
    if (slot < 0) {
      for (let k = 0; k < this.addr6Count; k++) {
        if (this.addr6State[k] === ADDR6_FREE) {
          slot = k;
          break;
        }
      }
    }
    if (slot < 0) {
      this.stats.addr6Full++;
      return -1;
    }
    for (let i = 0; i < 16; i++) this.addr6[slot * 16 + i] = addr[off + i];
    this.addr6Prefix[slot] = prefixLen;
    this.addr6State[slot] = state;
    this.addr6Flags[slot] = flags;
    this.addr6Valid[slot] = Infinity;
    this.addr6Preferred[slot] = Infinity;
    this.addr6Gen++;
    return slot;
  }

  /** Free an IPv6 address slot. */
  removeAddress6(slot: number): void {
    if (slot < 0 || slot >= this.addr6Count) return;
    this.addr6State[slot] = ADDR6_FREE;
    this.addr6Flags[slot] = 0;
    for (let i = 0; i < 16; i++) this.addr6[slot * 16 + i] = 0;
    this.addr6Gen++;
  }

  /** The slot holding `addr` in any state but free, or -1. */
  findAddress6(addr: Uint8Array, off: number): number {
    for (let k = 0; k < this.addr6Count; k++) {
      if (this.addr6State[k] !== ADDR6_FREE && ip6Equal(this.addr6, k * 16, addr, off)) return k;
    }
    return -1;
  }

  /** Whether `addr` is an address of ours that may be used (preferred or deprecated, not tentative). */
  ownsAddress6(addr: Uint8Array, off: number): boolean {
    const k = this.findAddress6(addr, off);
    return k >= 0 && this.addr6State[k] >= ADDR6_PREFERRED;
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

/**
 * Resolve an RFC 4007 zone (the text after `%` in `fe80::1%tap0`) to the
 * engine's scope value (`EngineContext.zone6`): the interface named
 * `zone`, or whose index (as `interfaceList()` reports it) is the decimal
 * `zone`, plus 1. 0 when no interface matches (an empty zone included).
 */
export function zoneIndex6(ifs: readonly NetInterface[], zone: string): number {
  if (zone === '') return 0;
  for (let i = 0; i < ifs.length; i++) if (ifs[i].name === zone) return ifs[i].index + 1;
  if (/^\d{1,5}$/.test(zone)) {
    const n = Number(zone);
    for (let i = 0; i < ifs.length; i++) if (ifs[i].index === n) return n + 1;
  }
  return 0;
}
