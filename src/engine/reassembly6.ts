/**
 * IPv6 reassembly (RFC 8200 §4.5) in a fixed pool of slots from the memory
 * plan, each a buffer for one packet (the first fragment's fixed header,
 * then the fragmentable part) and a bitmap of the 8-byte units received (the
 * bookkeeping IPv4 shares: storage/reassembly-slots.ts).
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
import { ReassemblySlots, SLOT_BUSY, SLOT_FREE } from '../storage/reassembly-slots.js';

/** Where reassembled packets go (IPv6 input): header at `b[o]`, its next header the fragmentable part's. */
export interface Reassembly6Host {
  deliverReassembled(iface: NetInterface, b: Uint8Array, o: number, multicast: boolean): void;
}

/** Overlap or bad first fragment seen: later fragments of the packet are dropped until the timeout. */
const DEAD = 2;

export class Reassembly6 {
  /** Slots, buffers, unit bitmaps, deadlines (shared with IPv4, storage/reassembly-slots.ts). */
  private readonly pool: ReassemblySlots;
  private readonly src: Uint8Array;
  private readonly dst: Uint8Array;
  private readonly id: Int32Array;
  private readonly ifIndex: Uint8Array;
  private readonly first: Uint8Array;
  private readonly multicast: Uint8Array;
  private readonly walk = new Ip6Walk();

  /** The arrays of `slots` slots for packets up to `bytes` (header included): the shared pool's, then IPv6's own. */
  private static carve(m: Carver, slots: number, bytes: number): {
    pool: ReassemblySlots; src: Uint8Array; dst: Uint8Array; id: Int32Array; ifIndex: Uint8Array; first: Uint8Array;
    multicast: Uint8Array;
  } {
    return {
      pool: new ReassemblySlots(m, 'ip6Reassembly', slots, IPV6_HLEN, bytes - IPV6_HLEN),
      src: m.u8('ip6Reassembly', slots * 16),
      dst: m.u8('ip6Reassembly', slots * 16),
      id: m.i32('ip6Reassembly', slots),
      ifIndex: m.u8('ip6Reassembly', slots),
      first: m.u8('ip6Reassembly', slots),
      multicast: m.u8('ip6Reassembly', slots),
    };
  }

  /** The memory plan of `slots` slots for packets up to `bytes` (header included). */
  static plan(m: Carver, slots: number, bytes: number): void {
    Reassembly6.carve(m, slots, bytes);
  }

  constructor(m: Carver, private readonly ctx: EngineContext, private readonly host: Reassembly6Host,
    private readonly icmp: Icmp6ErrorSender, readonly slots: number, bytes: number) {
    const a = Reassembly6.carve(m, slots, bytes);
    this.pool = a.pool;
    this.src = a.src;
    this.dst = a.dst;
    this.id = a.id;
    this.ifIndex = a.ifIndex;
    this.first = a.first;
    this.multicast = a.multicast;
  }

  /**
   * Earliest timeout: the pool's, copied here where it changes (a claim, a
   * {@link poll}). A plain field, not a getter: Maglev (Node 24 and later)
   * does not inline such a getter in the stack's poll for a long while, and
   * returns the double (Infinity when idle) as a new heap number, one per poll.
   */
  nextDeadline = Infinity;

  /** Packets being reassembled now (busy or dead slots). */
  get busySlots(): number {
    return this.pool.busySlots;
  }

  /**
   * A non-atomic fragment for us: IPv6 header at `b[ipOff]`, fragment header
   * at `b[fh]`, the packet ending at `end`.
   */
  input(iface: NetInterface, b: Uint8Array, ipOff: number, fh: number, end: number, multicast: boolean): void {
    const st = this.ctx.stats.ip6;
    const pool = this.pool;
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
    if (offset + dlen > pool.maxData) {
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
    else if (pool.state[s] === DEAD) {
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
    const seen = pool.covered(s, u0, u1);
    if (seen !== 0) {
      // RFC 5722: overlapping fragments drop the packet; an exact duplicate is ignored (§4.5).
      if (seen === u1 - u0 && pool.sameBytes(s, b, data, offset, dlen)
        && (more || pool.end[s] === offset + dlen)) {
        st.fragmentDuplicates++;
        return;
      }
      st.fragmentsDropped++;
      st.reassemblyOverlaps++;
      this.kill(s);
      return;
    }
    const e = pool.end[s];
    if ((!more && e >= 0 && e !== offset + dlen) || (!more && pool.maxUnit[s] > u1)
      || (e >= 0 && offset + dlen > e)) {
      // Two different ends, or data beyond the end: a malformed packet.
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      this.kill(s);
      return;
    }
    st.fragmentsIn++;
    if (!more) pool.end[s] = offset + dlen;
    pool.store(s, b, data, offset, dlen);
    const h = s * pool.slotBytes;
    if (offset === 0) {
      // The fixed header of fragment 0, with the fragment header's next header: the packet's header.
      copyBytes(b, ipOff, pool.buf, h, IPV6_HLEN);
      pool.buf[h + IP6_NXT] = b[fh];
      this.first[s] = 1;
    }
    if (this.first[s] === 1 && pool.complete(s)) {
      set16(pool.buf, h + IP6_PLEN, pool.end[s]);
      st.reassembled++;
      const mc = this.multicast[s] === 1;
      pool.release(s);
      // The bytes stay in the slot until it is claimed again, which delivery cannot cause (input runs from poll).
      this.host.deliverReassembled(iface, pool.buf, h, mc);
    }
  }

  private chainComplete(b: Uint8Array, nh: number, o: number, end: number): boolean {
    const w = this.walk;
    if (!w.walk(b, nh, o, end)) return false;
    const need = w.nh === NH_TCP ? 20 : w.nh === NH_UDP ? 8 : w.nh === NH_ICMPV6 ? 4 : 0;
    return w.off + need <= end;
  }

  private find(b: Uint8Array, ipOff: number, id: number): number {
    const state = this.pool.state;
    for (let i = 0; i < this.slots; i++) {
      if (state[i] !== SLOT_FREE && this.id[i] === id && ip6Equal(this.src, i * 16, b, ipOff + IP6_SRC)
        && ip6Equal(this.dst, i * 16, b, ipOff + IP6_DST)) return i;
    }
    return -1;
  }

  private claim(iface: NetInterface, b: Uint8Array, ipOff: number, id: number, multicast: boolean): number {
    const s = this.pool.claim(this.ctx.now + this.ctx.config.ip6ReassemblyTimeoutMs);
    this.nextDeadline = this.pool.nextDeadline;
    if (this.pool.evicted) this.ctx.stats.ip6.reassemblyEvicted++;
    copyBytes(b, ipOff + IP6_SRC, this.src, s * 16, 16);
    copyBytes(b, ipOff + IP6_DST, this.dst, s * 16, 16);
    this.id[s] = id;
    this.ifIndex[s] = iface.index;
    this.first[s] = 0;
    this.multicast[s] = multicast ? 1 : 0;
    return s;
  }

  /** Drop what a slot holds but keep it (dead) to absorb the packet's other fragments until the timeout. */
  private kill(s: number): void {
    this.pool.clear(s);
    this.pool.state[s] = DEAD;
  }

  /** Expire packets at the context's time. */
  poll(): void {
    const now = this.ctx.now;
    const pool = this.pool;
    for (let s = pool.nextExpired(now, 0); s >= 0; s = pool.nextExpired(now, s + 1)) {
      const busy = pool.state[s] === SLOT_BUSY;
      if (busy) this.ctx.stats.ip6.reassemblyTimeouts++;
      if (busy && this.first[s] === 1) {
        // Quote the header and the contiguous data from offset 0 (RFC 8200 §4.5: to the source of fragment 0).
        const h = s * pool.slotBytes;
        const len = pool.contiguousUnits(s) * 8;
        set16(pool.buf, h + IP6_PLEN, len);
        pool.release(s);
        this.icmp.sendError(ICMP6_TIME_EXCEEDED, TIME6_REASSEMBLY, 0, pool.buf, h, IPV6_HLEN + len, this.multicast[s] === 1, -1);
      } else pool.release(s);
    }
    this.nextDeadline = pool.nextDeadline;
  }
}
