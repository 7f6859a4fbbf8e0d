/**
 * IPv6 reassembly (RFC 8200 §4.5) in a fixed pool of slots from the memory
 * plan, each a buffer for one packet (the first fragment's fixed header,
 * then the fragmentable part) and a bitmap of the 8-byte units received.
 * Policy:
 * - overlapping fragments discard the whole packet (RFC 5722), except an
 *   exact duplicate (same units, same bytes), which is ignored (§4.5 allows
 *   it); the slot stays dead until its timeout so the rest of that packet's
 *   fragments are dropped too;
 * - a first fragment without the whole header chain up to the upper-layer
 *   header is dropped with the packet, with Parameter Problem code 3
 *   (RFC 7112 §5, RFC 8200 §4.5);
 * - a fragment with M set and a length not a multiple of 8: Parameter
 *   Problem code 0 at the payload length; one reaching past 65535 bytes:
 *   code 0 at the fragment offset (§4.5); beyond the slot size: dropped;
 * - atomic fragments (offset 0, M clear) never get here (RFC 6946: ipv6-input
 *   processes them as whole packets);
 * - when every slot is busy the oldest packet is evicted;
 * - after `ip6ReassemblyTimeoutMs` (60 s, RFC 8200 §4.5; IPv4's is 30 s) an
 *   incomplete packet is discarded, with
 *   Time Exceeded code 1 to its source only if the first fragment arrived.
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes, set16 } from '../wire/bytes.js';
import { FRAG_HLEN, IPV6_HLEN, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_DST, Ip6Walk, fragId, fragMore, fragOffset, NH_TCP, NH_UDP, NH_ICMPV6 } from '../wire/ipv6.js';
import { ip6Equal } from '../wire/ipv6addr.js';
import {
  ICMP6_PARAM_PROBLEM, ICMP6_TIME_EXCEEDED, PARAM6_FIRST_FRAGMENT_INCOMPLETE, PARAM6_HEADER, TIME6_REASSEMBLY,
} from '../wire/icmpv6.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { Icmp6ErrorSender } from './icmpv6.js';

/** Where reassembled packets go (IPv6 input): header at `b[o]`, its next header the fragmentable part's. */
export interface Reassembly6Host {
  deliverReassembled(iface: NetInterface, b: Uint8Array, o: number, multicast: boolean): void;
}

const FREE = 0;
const BUSY = 1;
/** Overlap or bad first fragment seen: later fragments of the packet are dropped until the timeout. */
const DEAD = 2;

export class Reassembly6 {
  private readonly buf: Uint8Array;
  private readonly bitmap: Uint8Array;
  private readonly state: Uint8Array;
  private readonly src: Uint8Array;
  private readonly dst: Uint8Array;
  private readonly id: Int32Array;
  private readonly ifIndex: Uint8Array;
  private readonly first: Uint8Array;
  private readonly multicast: Uint8Array;
  /** Data length once the last fragment arrived, else -1. */
  private readonly end: Int32Array;
  private readonly units: Int32Array;
  private readonly maxUnit: Int32Array;
  private readonly deadline: Float64Array;
  private readonly born: Float64Array;
  private bornCounter = 0;
  private readonly slotBytes: number;
  private readonly maxData: number;
  private readonly mapBytes: number;
  private readonly walk = new Ip6Walk();
  /** Earliest timeout, set by {@link poll}. */
  nextDeadline = Infinity;

  /** The memory plan of `slots` slots for packets up to `bytes` (header included). */
  static plan(m: Carver, slots: number, bytes: number): void {
    const units = (bytes - IPV6_HLEN + 7) >>> 3;
    m.u8('ip6Reassembly', slots * (IPV6_HLEN + units * 8));
    m.u8('ip6Reassembly', slots * ((units + 7) >>> 3));
    m.u8('ip6Reassembly', slots);
    m.u8('ip6Reassembly', slots * 16);
    m.u8('ip6Reassembly', slots * 16);
    m.i32('ip6Reassembly', slots);
    m.u8('ip6Reassembly', slots);
    m.u8('ip6Reassembly', slots);
    m.u8('ip6Reassembly', slots);
    m.i32('ip6Reassembly', slots);
    m.i32('ip6Reassembly', slots);
    m.i32('ip6Reassembly', slots);
    m.f64('ip6Reassembly', slots);
    m.f64('ip6Reassembly', slots);
  }

  constructor(m: Carver, private readonly ctx: EngineContext, private readonly host: Reassembly6Host,
    private readonly icmp: Icmp6ErrorSender, readonly slots: number, bytes: number) {
    const maxData = bytes - IPV6_HLEN;
    const units = (maxData + 7) >>> 3;
    this.maxData = maxData;
    this.slotBytes = IPV6_HLEN + units * 8;
    this.mapBytes = (units + 7) >>> 3;
    this.buf = m.u8('ip6Reassembly', slots * this.slotBytes);
    this.bitmap = m.u8('ip6Reassembly', slots * this.mapBytes);
    this.state = m.u8('ip6Reassembly', slots);
    this.src = m.u8('ip6Reassembly', slots * 16);
    this.dst = m.u8('ip6Reassembly', slots * 16);
    this.id = m.i32('ip6Reassembly', slots);
    this.ifIndex = m.u8('ip6Reassembly', slots);
    this.first = m.u8('ip6Reassembly', slots);
    this.multicast = m.u8('ip6Reassembly', slots);
    this.end = m.i32('ip6Reassembly', slots);
    this.units = m.i32('ip6Reassembly', slots);
    this.maxUnit = m.i32('ip6Reassembly', slots);
    this.deadline = m.f64('ip6Reassembly', slots);
    this.born = m.f64('ip6Reassembly', slots);
  }

  /** Packets being reassembled now (busy or dead slots). */
  get busySlots(): number {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (this.state[i] !== FREE) n++;
    return n;
  }

  /**
   * A non-atomic fragment for us: IPv6 header at `b[ipOff]`, fragment header
   * at `b[fh]`, the packet ending at `end`.
   */
  input(iface: NetInterface, b: Uint8Array, ipOff: number, fh: number, end: number, multicast: boolean): void {
    const st = this.ctx.stats.ip6;
    const offset = fragOffset(b, fh);
    const more = fragMore(b, fh);
    const data = fh + FRAG_HLEN;
    const dlen = end - data;
    if (more && (dlen === 0 || (dlen & 7) !== 0)) {
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      this.icmp.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, IP6_PLEN, b, ipOff, end - ipOff, multicast, -1);
      return;
    }
    if ((fh - ipOff - IPV6_HLEN) + offset + dlen > 65535) {
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      this.icmp.sendError(ICMP6_PARAM_PROBLEM, PARAM6_HEADER, fh - ipOff + 2, b, ipOff, end - ipOff, multicast, -1);
      return;
    }
    if (offset + dlen > this.maxData) {
      st.fragmentsDropped++;
      st.fragmentsTooBig++;
      return;
    }
    const id = fragId(b, fh);
    if (this.slots === 0) {
      st.fragmentsDropped++;
      st.reassemblyDropped++;
      return;
    }
    let s = this.find(b, ipOff, id);
    if (s < 0) s = this.claim(iface, b, ipOff, id, multicast);
    else if (this.state[s] === DEAD) {
      st.fragmentsDropped++;
      st.reassemblyDropped++;
      return;
    }
    // RFC 7112: the first fragment carries the whole header chain up to the upper-layer header.
    if (offset === 0 && !this.chainComplete(b, b[fh], data, end)) {
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      this.kill(s);
      this.icmp.sendError(ICMP6_PARAM_PROBLEM, PARAM6_FIRST_FRAGMENT_INCOMPLETE, 0, b, ipOff, end - ipOff, multicast, -1);
      return;
    }
    const u0 = offset >>> 3;
    const u1 = (offset + dlen + 7) >>> 3;
    const map = s * this.mapBytes;
    const base = s * this.slotBytes + IPV6_HLEN;
    let seen = 0;
    for (let u = u0; u < u1; u++) if ((this.bitmap[map + (u >>> 3)] & (1 << (u & 7))) !== 0) seen++;
    if (seen !== 0) {
      if (seen === u1 - u0 && this.sameBytes(b, data, base + offset, dlen)
        && (more || this.end[s] === offset + dlen)) {
        st.fragmentDuplicates++;
        return;
      }
      st.fragmentsDropped++;
      st.reassemblyOverlaps++;
      this.kill(s);
      return;
    }
    const e = this.end[s];
    if ((!more && e >= 0 && e !== offset + dlen) || (!more && this.maxUnit[s] > u1)
      || (e >= 0 && offset + dlen > e)) {
      // Two different ends, or data beyond the end: a malformed packet.
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      this.kill(s);
      return;
    }
    st.fragmentsIn++;
    if (!more) this.end[s] = offset + dlen;
    copyBytes(b, data, this.buf, base + offset, dlen);
    for (let u = u0; u < u1; u++) this.bitmap[map + (u >>> 3)] |= 1 << (u & 7);
    this.units[s] += u1 - u0;
    if (u1 > this.maxUnit[s]) this.maxUnit[s] = u1;
    if (offset === 0) {
      // The fixed header of fragment 0, with the fragment header's next header: the packet's header.
      const h = s * this.slotBytes;
      copyBytes(b, ipOff, this.buf, h, IPV6_HLEN);
      this.buf[h + IP6_NXT] = b[fh];
      this.first[s] = 1;
    }
    const total = this.end[s];
    if (total >= 0 && this.first[s] === 1 && this.units[s] === (total + 7) >>> 3) {
      const h = s * this.slotBytes;
      set16(this.buf, h + IP6_PLEN, total);
      st.reassembled++;
      const mc = this.multicast[s] === 1;
      this.release(s);
      // The bytes stay in the slot until it is claimed again, which delivery cannot cause (input runs from poll).
      this.host.deliverReassembled(iface, this.buf, h, mc);
    }
  }

  private chainComplete(b: Uint8Array, nh: number, o: number, end: number): boolean {
    const w = this.walk;
    if (!w.walk(b, nh, o, end)) return false;
    const need = w.nh === NH_TCP ? 20 : w.nh === NH_UDP ? 8 : w.nh === NH_ICMPV6 ? 4 : 0;
    return w.off + need <= end;
  }

  private sameBytes(b: Uint8Array, p: number, q: number, len: number): boolean {
    for (let i = 0; i < len; i++) if (b[p + i] !== this.buf[q + i]) return false;
    return true;
  }

  private find(b: Uint8Array, ipOff: number, id: number): number {
    for (let i = 0; i < this.slots; i++) {
      if (this.state[i] !== FREE && this.id[i] === id && ip6Equal(this.src, i * 16, b, ipOff + IP6_SRC)
        && ip6Equal(this.dst, i * 16, b, ipOff + IP6_DST)) return i;
    }
    return -1;
  }

  private claim(iface: NetInterface, b: Uint8Array, ipOff: number, id: number, multicast: boolean): number {
    let s = -1;
    let oldest = -1;
    for (let i = 0; i < this.slots; i++) {
      if (this.state[i] === FREE) {
        s = i;
        break;
      }
      if (oldest < 0 || this.born[i] < this.born[oldest]) oldest = i;
    }
    if (s < 0) {
      s = oldest;
      this.ctx.stats.ip6.reassemblyEvicted++;
      this.release(s);
    }
    this.state[s] = BUSY;
    copyBytes(b, ipOff + IP6_SRC, this.src, s * 16, 16);
    copyBytes(b, ipOff + IP6_DST, this.dst, s * 16, 16);
    this.id[s] = id;
    this.ifIndex[s] = iface.index;
    this.first[s] = 0;
    this.multicast[s] = multicast ? 1 : 0;
    this.end[s] = -1;
    this.units[s] = 0;
    this.maxUnit[s] = 0;
    this.deadline[s] = this.ctx.now + this.ctx.config.ip6ReassemblyTimeoutMs;
    this.born[s] = ++this.bornCounter;
    if (this.deadline[s] < this.nextDeadline) this.nextDeadline = this.deadline[s];
    return s;
  }

  /** Drop what a slot holds but keep it (dead) to absorb the packet's other fragments until the timeout. */
  private kill(s: number): void {
    this.clearMap(s);
    this.state[s] = DEAD;
  }

  private clearMap(s: number): void {
    const map = s * this.mapBytes;
    const n = (this.maxUnit[s] + 7) >>> 3;
    for (let i = 0; i < n; i++) this.bitmap[map + i] = 0;
    this.maxUnit[s] = 0;
  }

  private release(s: number): void {
    this.clearMap(s);
    this.state[s] = FREE;
  }

  /** Expire packets at the context's time. */
  poll(): void {
    const now = this.ctx.now;
    if (now < this.nextDeadline) return;
    let next = Infinity;
    for (let s = 0; s < this.slots; s++) {
      if (this.state[s] === FREE) continue;
      if (this.deadline[s] > now) {
        if (this.deadline[s] < next) next = this.deadline[s];
        continue;
      }
      const busy = this.state[s] === BUSY;
      if (busy) this.ctx.stats.ip6.reassemblyTimeouts++;
      if (busy && this.first[s] === 1) {
        // Quote the header and the contiguous data from offset 0 (RFC 8200 §4.5: to the source of fragment 0).
        const h = s * this.slotBytes;
        let u = 0;
        const map = s * this.mapBytes;
        while (u < this.maxUnit[s] && (this.bitmap[map + (u >>> 3)] & (1 << (u & 7))) !== 0) u++;
        const len = u * 8;
        set16(this.buf, h + IP6_PLEN, len);
        this.release(s);
        this.icmp.sendError(ICMP6_TIME_EXCEEDED, TIME6_REASSEMBLY, 0, this.buf, h, IPV6_HLEN + len, this.multicast[s] === 1, -1);
      } else this.release(s);
    }
    this.nextDeadline = next;
  }
}
