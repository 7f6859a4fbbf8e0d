/**
 * IPv4 fragmentation (RFC 791 3.2) and reassembly (RFC 791, RFC 815).
 *
 * Fragmentation works in place: the whole datagram sits in one buffer after
 * an Ethernet header's room, and the header of fragment k is written just in
 * front of its data, over the tail of fragment k-1, which the link (or the
 * ARP queue, or the loopback queue) has already copied. Nothing is copied.
 * While the pieces are being sent the datagram's unsent part lives in that
 * buffer (the transmit frame), yet handing a piece to a link can send
 * another packet through this same stack: a WireGuard device carried by the
 * stack's own UDP encrypts each piece and sends it at once, and ARP evicting
 * an entry makes a router send an ICMP error. Such a nested send is built in
 * a second planned frame, which the context's `tx` points to until the loop
 * ends. A datagram that a nested send asks to fragment would need a third
 * frame for the sends its own pieces may cause: it is refused (-ENOBUFS to
 * the nested sender) and counted in `ip.fragmentNested`.
 *
 * Reassembly uses a fixed pool of slots from the memory plan, each a buffer
 * for one datagram plus a bitmap of the 8-byte units received (the
 * bookkeeping IPv6 shares: storage/reassembly-slots.ts). Because every
 * fragment but the last carries a multiple of 8 bytes, the bitmap is exact.
 * Policy, in the spirit of RFC 5722 and RFC 1858:
 * - a fragment that overlaps data already received drops the whole datagram,
 *   except an exact duplicate (same units, same bytes), which is ignored;
 * - a first fragment too short to hold the transport header (TCP 20, UDP 8,
 *   ICMP 8), a TCP fragment at offset 8, and any fragment reaching beyond
 *   65535 bytes (or the slot size) are dropped;
 * - when every slot is busy, the oldest incomplete datagram is evicted: a
 *   legitimate datagram completes within milliseconds while junk lingers
 *   until its timeout, so evicting the oldest favours the legitimate;
 * - after `ipReassemblyTimeoutMs` an incomplete datagram is discarded, with
 *   an ICMP time exceeded (code 1) to its source only if fragment 0 arrived
 *   (RFC 792, RFC 1122 3.3.2).
 */
import type { Arena, Carver, MemoryPlan } from '../storage/arena.js';
import { copyBytes, get16, set16 } from '../wire/bytes.js';
import { checksum } from '../wire/checksum.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import {
  IPV4_MIN_HLEN, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IP_CSUM, IP_FLAG_MF, IP_FRAG, IP_OFFSET_MASK, IP_TOTLEN,
  ipFragField, ipHeaderLen, ipId,
} from '../wire/ipv4.js';
import { IPV4_BROADCAST } from '../wire/ipv4addr.js';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import type { IcmpErrorSender } from './icmp.js';
import type { RouteRecord } from './routes.js';
import { Errno } from './errno.js';
import { ReassemblySlots, SLOT_FREE } from '../storage/reassembly-slots.js';

/** Room in front of a slot's data for the first fragment's header (IHL up to 15 words). */
const HDR_ROOM = 60;
/** ICMP code of time exceeded: fragment reassembly time exceeded. */
const TIME_EXCEEDED_REASSEMBLY = 1;

/** Where reassembled datagrams go (IPv4 input). */
export interface ReassemblyHost {
  /** Deliver a complete datagram (header at `b[o]`). */
  deliver(iface: NetInterface, b: Uint8Array, o: number, bcast: boolean): void;
}

/** Where fragments go (IPv4 output). */
export interface FragmentHost {
  /** Send one finished IP packet that starts at `b[frameOff + ETH_HLEN]` along route `r`. */
  emitFrame(r: RouteRecord, b: Uint8Array, frameOff: number, ipLen: number): number;
}

export class Reassembly {
  /** Slots, buffers, unit bitmaps, deadlines (shared with IPv6, storage/reassembly-slots.ts). */
  private readonly pool: ReassemblySlots;
  private readonly src: Int32Array;
  private readonly dst: Int32Array;
  private readonly id: Uint16Array;
  private readonly proto: Uint8Array;
  private readonly ifIndex: Uint8Array;
  /** Header length of fragment 0, 0 until it arrives. */
  private readonly hlen0: Uint8Array;

  /** The arrays of `slots` slots for datagrams up to `bytes`: the shared pool's, then IPv4's own. */
  private static carve(m: Carver, slots: number, bytes: number): {
    pool: ReassemblySlots; src: Int32Array; dst: Int32Array; id: Uint16Array; proto: Uint8Array; ifIndex: Uint8Array;
    hlen0: Uint8Array;
  } {
    return {
      pool: new ReassemblySlots(m, 'ipReassembly', slots, HDR_ROOM, bytes - IPV4_MIN_HLEN),
      src: m.i32('ipReassembly', slots),
      dst: m.i32('ipReassembly', slots),
      id: m.u16('ipReassembly', slots),
      proto: m.u8('ipReassembly', slots),
      ifIndex: m.u8('ipReassembly', slots),
      hlen0: m.u8('ipReassembly', slots),
    };
  }

  static plan(plan: MemoryPlan, slots: number, bytes: number): void {
    Reassembly.carve(plan, slots, bytes);
  }

  constructor(arena: Arena, private readonly ctx: EngineContext, private readonly host: ReassemblyHost,
    private readonly icmp: IcmpErrorSender, readonly slots: number, bytes: number) {
    const a = Reassembly.carve(arena, slots, bytes);
    this.pool = a.pool;
    this.src = a.src;
    this.dst = a.dst;
    this.id = a.id;
    this.proto = a.proto;
    this.ifIndex = a.ifIndex;
    this.hlen0 = a.hlen0;
  }

  /**
   * Earliest timeout: the pool's, copied here where it changes (a claim, a
   * {@link poll}). A plain field, not a getter: Maglev (Node 24 and later)
   * does not inline such a getter in the stack's poll for a long while, and
   * returns the double (Infinity when idle) as a new heap number, one per poll.
   */
  nextDeadline = Infinity;

  /** Datagrams being reassembled now (for tests and reports). */
  get busySlots(): number {
    return this.pool.busySlots;
  }

  /** Take the fragment at `b[o .. o+total)` (header validated, addressed to us). */
  input(iface: NetInterface, b: Uint8Array, o: number, total: number, src: number, dst: number, proto: number,
    bcast: boolean): void {
    const st = this.ctx.stats.ip;
    const pool = this.pool;
    const hlen = ipHeaderLen(b, o);
    const frag = ipFragField(b, o);
    const off = (frag & IP_OFFSET_MASK) << 3;
    const more = (frag & IP_FLAG_MF) !== 0;
    const len = total - hlen;
    if (this.slots === 0) {
      st.fragmentsDropped++;
      return;
    }
    // Every fragment but the last carries a multiple of 8 bytes; empty fragments carry nothing.
    if (len <= 0 || (more && (len & 7) !== 0)) {
      st.fragmentsDropped++;
      st.fragmentsMalformed++;
      return;
    }
    if (off + len > pool.maxData || off + len + IPV4_MIN_HLEN > 0xffff) {
      st.fragmentsDropped++;
      st.fragmentsTooBig++;
      return;
    }
    // RFC 1858: no first fragment too short for the transport header, no TCP fragment at offset 8.
    const minFirst = proto === IPPROTO_TCP ? 20 : proto === IPPROTO_UDP || proto === IPPROTO_ICMP ? 8 : 0;
    if ((off === 0 && len < minFirst) || (proto === IPPROTO_TCP && off === 8)) {
      st.fragmentsDropped++;
      st.fragmentsTiny++;
      return;
    }
    const id = ipId(b, o);
    let s = this.find(src, dst, proto, id);
    if (s < 0) s = this.claim(iface, src, dst, proto, id);
    const u0 = off >>> 3;
    const u1 = (off + len + 7) >>> 3;
    // The last fragment fixes the end; anything disagreeing with it is an overlap.
    const known = pool.end[s];
    if ((!more && ((known >= 0 && known !== off + len) || pool.maxUnit[s] > u1))
      || (more && known >= 0 && off + len > known)) {
      this.overlap(s);
      return;
    }
    const covered = pool.covered(s, u0, u1);
    if (covered !== 0) {
      if (covered === u1 - u0 && pool.sameBytes(s, b, o + hlen, off, len)) {
        st.fragmentDuplicates++;
        return;
      }
      this.overlap(s);
      return;
    }
    pool.store(s, b, o + hlen, off, len);
    const data = pool.dataAt(s);
    if (off === 0) {
      copyBytes(b, o, pool.buf, data - hlen, hlen);
      this.hlen0[s] = hlen;
    }
    if (!more) pool.end[s] = off + len;
    st.fragmentsIn++;
    if (!pool.complete(s)) return;
    // Complete: the first fragment's header, fixed up, heads the data.
    const end = pool.end[s];
    const h0 = this.hlen0[s];
    const at = data - h0;
    if (h0 + end > 0xffff) {
      st.reassemblyDropped++;
      pool.release(s);
      return;
    }
    const buf = pool.buf;
    set16(buf, at + IP_TOTLEN, h0 + end);
    set16(buf, at + IP_FRAG, 0);
    set16(buf, at + IP_CSUM, 0);
    set16(buf, at + IP_CSUM, checksum(buf, at, h0));
    st.reassembled++;
    // Busy until delivery returns, so nothing reuses the buffer being read.
    this.host.deliver(iface, buf, at, bcast);
    pool.release(s);
  }

  private overlap(s: number): void {
    const st = this.ctx.stats.ip;
    st.fragmentsDropped++;
    st.reassemblyOverlaps++;
    this.pool.release(s);
  }

  private find(src: number, dst: number, proto: number, id: number): number {
    const state = this.pool.state;
    for (let i = 0; i < this.slots; i++) {
      if (state[i] !== SLOT_FREE && this.id[i] === id && this.src[i] === src && this.dst[i] === dst
        && this.proto[i] === proto) return i;
    }
    return -1;
  }

  private claim(iface: NetInterface, src: number, dst: number, proto: number, id: number): number {
    const s = this.pool.claim(this.ctx.now + this.ctx.config.ipReassemblyTimeoutMs);
    this.nextDeadline = this.pool.nextDeadline;
    if (this.pool.evicted) this.ctx.stats.ip.reassemblyEvicted++;
    this.src[s] = src;
    this.dst[s] = dst;
    this.proto[s] = proto;
    this.id[s] = id;
    this.ifIndex[s] = iface.index;
    this.hlen0[s] = 0;
    return s;
  }

  /** Discard timed-out datagrams at the context's time; leaves the next timeout in nextDeadline. */
  poll(): void {
    const now = this.ctx.now;
    const pool = this.pool;
    for (let s = pool.nextExpired(now, 0); s >= 0; s = pool.nextExpired(now, s + 1)) {
      this.ctx.stats.ip.reassemblyTimeouts++;
      const h0 = this.hlen0[s];
      const dst = this.dst[s];
      const iface = this.ctx.interfaces[this.ifIndex[s]];
      if (h0 !== 0 && dst !== IPV4_BROADCAST && (iface.broadcast === 0 || dst !== iface.broadcast)) {
        // Quote fragment 0's header and the first 8 data bytes (RFC 792).
        this.icmp.sendError(ICMP_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, 0, pool.buf, pool.dataAt(s) - h0, h0 + 8);
      }
      pool.release(s);
    }
    this.nextDeadline = pool.nextDeadline;
  }
}

/** Copy-flagged options (RFC 791: copied into every fragment) of the header at `b[o]` into `out`; returns their padded length. */
function copiedOptions(b: Uint8Array, o: number, hlen: number, out: Uint8Array): number {
  let n = 0;
  let i = o + IPV4_MIN_HLEN;
  const end = o + hlen;
  while (i < end) {
    const type = b[i];
    if (type === 0) break; // end of option list
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const olen = b[i + 1];
    if (olen < 2 || i + olen > end) break; // malformed: copy nothing more
    if ((type & 0x80) !== 0) {
      for (let k = 0; k < olen; k++) out[n + k] = b[i + k];
      n += olen;
    }
    i += olen;
  }
  while ((n & 3) !== 0) out[n++] = 0;
  return n;
}

/**
 * Fragments a datagram in place and hands each piece to the host. Apart from
 * a 40-byte scratch for copied options, its state is the nested transmit
 * frame and whether a fragmentation is under way.
 */
export class Fragmenter {
  private readonly opts: Uint8Array;
  /**
   * Fragment 0's fixed header fields: later headers may be written over it
   * (small MTUs), and an ARP request sent meanwhile may reuse a frame's start.
   */
  private readonly hdr: Uint8Array;
  /** Where packets sent while the pieces go out are built (as large as the transmit frame). */
  private readonly nested: Uint8Array;
  /** True while {@link fragment} is sending pieces: the nested frame is in use. */
  private busy = false;

  /** @param txBytes size of the transmit frame, which the nested frame matches */
  static plan(plan: MemoryPlan, txBytes: number): void {
    plan.add('ipFragment', 40).add('ipFragment', IPV4_MIN_HLEN).add('txFrameNested', txBytes);
  }

  constructor(arena: Carver, private readonly ctx: EngineContext, private readonly host: FragmentHost) {
    this.opts = arena.u8('ipFragment', 40);
    this.hdr = arena.u8('ipFragment', IPV4_MIN_HLEN);
    this.nested = arena.u8('txFrameNested', ctx.tx.length);
  }

  /** Fragments `total` bytes with header `hlen` make at `mtu` (loopback checks its room first). */
  static count(total: number, hlen: number, mtu: number): number {
    const first = (mtu - hlen) & ~7;
    const rest = (mtu - IPV4_MIN_HLEN) & ~7;
    return 1 + Math.ceil((total - hlen - first) / rest);
  }

  /**
   * Send the datagram whose header (any IHL, DF clear) starts at
   * `b[ETH_HLEN]` and whose total length is `total`, as fragments of at most
   * `mtu` bytes, along route `r`. A datagram that is itself a fragment is
   * fragmented further (offsets and the last piece's MF preserved). `b` is
   * the context's transmit frame; while the pieces go out, anything sent
   * through the stack is built in the nested frame instead, so it cannot
   * overwrite the pieces not yet sent. Returns 0 or -errno: -ENOBUFS when
   * called from such a nested send (counted in `ip.fragmentNested`).
   */
  fragment(r: RouteRecord, b: Uint8Array, total: number, mtu: number): number {
    const ctx = this.ctx;
    if (this.busy) {
      // Our pieces would need a third frame for the sends they may cause in turn.
      ctx.stats.ip.fragmentNested++;
      return -Errno.ENOBUFS;
    }
    const outer = ctx.tx;
    this.busy = true;
    ctx.tx = this.nested;
    try {
      return this.send(r, b, total, mtu);
    } finally {
      // Even when a link throws (a capture's sink failing), the stack builds in its own frame again.
      ctx.tx = outer;
      this.busy = false;
    }
  }

  private send(r: RouteRecord, b: Uint8Array, total: number, mtu: number): number {
    const h = ETH_HLEN;
    const hlen = ipHeaderLen(b, h);
    const dataLen = total - hlen;
    const orig = get16(b, h + IP_FRAG);
    const baseOff = (orig & IP_OFFSET_MASK) << 3;
    const lastMf = orig & IP_FLAG_MF;
    const olen = hlen > IPV4_MIN_HLEN ? copiedOptions(b, h, hlen, this.opts) : 0;
    const hl = IPV4_MIN_HLEN + olen;
    const first = (mtu - hlen) & ~7;
    const rest = (mtu - hl) & ~7;
    if (first < 8 || rest < 8 || dataLen <= first) return -Errno.EMSGSIZE;
    const st = this.ctx.stats.ip;
    // Fragment 0 keeps the original header (all options).
    set16(b, h + IP_TOTLEN, hlen + first);
    set16(b, h + IP_FRAG, IP_FLAG_MF | (baseOff >>> 3));
    set16(b, h + IP_CSUM, 0);
    set16(b, h + IP_CSUM, checksum(b, h, hlen));
    copyBytes(b, h, this.hdr, 0, IPV4_MIN_HLEN);
    st.fragmentsOut++;
    let e = this.host.emitFrame(r, b, 0, hlen + first);
    if (e < 0) return e;
    const dataStart = h + hlen;
    for (let off = first; off < dataLen; off += rest) {
      const len = dataLen - off < rest ? dataLen - off : rest;
      const ip = dataStart + off - hl;
      copyBytes(this.hdr, 0, b, ip, IPV4_MIN_HLEN);
      b[ip] = 0x40 | (hl >>> 2);
      for (let k = 0; k < olen; k++) b[ip + IPV4_MIN_HLEN + k] = this.opts[k];
      set16(b, ip + IP_TOTLEN, hl + len);
      set16(b, ip + IP_FRAG, (off + len < dataLen ? IP_FLAG_MF : lastMf) | ((baseOff + off) >>> 3));
      set16(b, ip + IP_CSUM, 0);
      set16(b, ip + IP_CSUM, checksum(b, ip, hl));
      st.fragmentsOut++;
      e = this.host.emitFrame(r, b, ip - ETH_HLEN, hl + len);
      if (e < 0) return e;
    }
    st.fragmentedOut++;
    return 0;
  }
}
