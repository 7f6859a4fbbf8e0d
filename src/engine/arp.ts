/**
 * ARP (RFC 826): the neighbour cache, resolution with retries, the queue of
 * frames waiting for an answer, replies and gratuitous announcements.
 *
 * Learning is conservative: an entry is created only for a neighbour that asks
 * for one of our addresses or answers a request we sent; anything else may
 * only refresh an entry we already have. That keeps unsolicited junk from
 * filling or poisoning the cache.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';
import { ETH_HLEN, ETH_DST, ETHERTYPE_ARP, writeEth, macEquals } from '../wire/ethernet.js';
import {
  ARP_LEN, ARP_REPLY, ARP_REQUEST, ARP_SHA, arpIsEthernetIpv4, arpOper, arpSpa, arpTpa, writeArp,
} from '../wire/arp.js';
import { isMartianSource } from '../wire/ipv4addr.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';

/**
 * What {@link Arp.output} returns for a frame parked until its neighbour
 * answers: success (0), as Linux's sendto returns once the datagram is on
 * the neighbour queue.
 */
export const ARP_PARKED = 0;

const FREE = 0;
const INCOMPLETE = 1;
const REACHABLE = 2;

/**
 * What ARP reports when it gives up on an address: the layers that care are
 * built after ARP (they send through it), so the engine that owns them
 * receives these and passes them on.
 */
export interface NeighbourEvents {
  /** A frame queued for the address was dropped (a router answers its sender). */
  pendingDropped(ifIndex: number, frame: Uint8Array, off: number, len: number): void;
  /** Resolution of `ip` gave up: pings and connections waiting on it fail now. */
  resolveFailed(ip: number): void;
}

export class Arp {
  private readonly ip: Int32Array;
  private readonly mac: Uint8Array;
  private readonly state: Uint8Array;
  private readonly ifIndex: Uint8Array;
  private readonly requests: Uint8Array;
  /** Expiry (REACHABLE) or next retry (INCOMPLETE), ms. */
  private readonly deadline: Float64Array;
  private readonly pendFrames: Uint8Array;
  private readonly pendLen: Uint16Array;
  private readonly pendIp: Int32Array;
  private readonly pendIf: Uint8Array;
  /** Arrival order of pending frames; 0 marks a free slot. */
  private readonly pendSeq: Float64Array;
  private pendCounter = 0;
  private readonly slotSize: number;
  /** Last entry hit, so steady traffic to one next hop skips the scan. */
  private memo = -1;
  // One RFC 5227 address probe at a time (DHCP checks an offered address with it).
  private probeIf = -1;
  private probeIp = 0;
  private probeSeen = false;
  private probeSent = 0;
  private probeNextAt = Infinity;
  private probeEnd = Infinity;
  private probeDone: ((inUse: boolean) => void) | null = null;

  static plan(plan: MemoryPlan, size: number, pending: number, slotSize: number): void {
    plan.add('arpCache', size, 4).add('arpCache', size * 6).add('arpCache', size).add('arpCache', size)
      .add('arpCache', size).add('arpCache', size, 8);
    plan.add('arpPending', pending * slotSize).add('arpPending', pending, 2).add('arpPending', pending, 4)
      .add('arpPending', pending).add('arpPending', pending, 8);
  }

  constructor(arena: Arena, private readonly ctx: EngineContext, readonly size: number,
    readonly pendingSlots: number, slotSize: number, private readonly events: NeighbourEvents) {
    this.slotSize = slotSize;
    this.ip = arena.i32('arpCache', size);
    this.mac = arena.u8('arpCache', size * 6);
    this.state = arena.u8('arpCache', size);
    this.ifIndex = arena.u8('arpCache', size);
    this.requests = arena.u8('arpCache', size);
    this.deadline = arena.f64('arpCache', size);
    this.pendFrames = arena.u8('arpPending', pendingSlots * slotSize);
    this.pendLen = arena.u16('arpPending', pendingSlots);
    this.pendIp = arena.i32('arpPending', pendingSlots);
    this.pendIf = arena.u8('arpPending', pendingSlots);
    this.pendSeq = arena.f64('arpPending', pendingSlots);
  }

  private find(ifIndex: number, ip: number): number {
    const m = this.memo;
    if (m >= 0 && this.ip[m] === ip && this.state[m] !== FREE && this.ifIndex[m] === ifIndex) return m;
    for (let i = 0; i < this.size; i++) {
      if (this.state[i] !== FREE && this.ip[i] === ip && this.ifIndex[i] === ifIndex) {
        this.memo = i;
        return i;
      }
    }
    return -1;
  }

  /**
   * A slot for a new entry: a free one, else the oldest still being resolved,
   * else the reachable one closest to expiry. Incomplete entries go first so
   * that a flood of packets from addresses that never answer (spoofed SYNs
   * from on-link sources, each of whose replies needs resolving) churns only
   * among unresolved entries and cannot push out the neighbours that are
   * actually talking to us, as Linux's forced GC prefers unresolved entries.
   */
  private claim(): number {
    let incomplete = -1;
    let reachable = -1;
    for (let i = 0; i < this.size; i++) {
      const s = this.state[i];
      if (s === FREE) return i;
      if (s === INCOMPLETE) {
        if (incomplete < 0 || this.deadline[i] < this.deadline[incomplete]) incomplete = i;
      } else if (reachable < 0 || this.deadline[i] < this.deadline[reachable]) {
        reachable = i;
      }
    }
    this.ctx.stats.arp.cacheFull++;
    if (incomplete >= 0) {
      // Its queued frames would otherwise wait for an answer nobody now expects.
      this.state[incomplete] = FREE;
      if (this.memo === incomplete) this.memo = -1;
      this.dropPending(this.ifIndex[incomplete], this.ip[incomplete]);
      return incomplete;
    }
    return reachable;
  }

  /**
   * Send `frame[off .. off+len)` (Ethernet header included; destination MAC
   * filled in here) to `nextHop` on `iface`, resolving it first if needed.
   *
   * Returns the link's result (0 or -errno) when the neighbour is known, and
   * {@link ARP_PARKED} (0) when the frame was parked until the neighbour
   * answers: like Linux's neighbour queue (RFC 1122 2.3.2.2: save at least
   * one packet while resolving), the send succeeds and a failed resolution
   * surfaces later (the frame ages out with the queue, counted in
   * `arp.queueDropped`).
   */
  output(iface: NetInterface, nextHop: number, frame: Uint8Array, off: number, len: number): number {
    const e = this.reachable(iface, nextHop);
    if (e >= 0) {
      copyBytes(this.mac, e * 6, frame, off + ETH_DST, 6);
      return iface.transmit(frame, off, len, this.ctx.now);
    }
    copyBytes(frame, off, this.pendFrames, this.reservePending(iface.index, nextHop, len), len);
    this.resolve(iface, nextHop);
    return ARP_PARKED;
  }

  /** The cache entry of a resolved `nextHop` on `iface`, or -1. */
  reachable(iface: NetInterface, nextHop: number): number {
    const e = this.find(iface.index, nextHop);
    return e >= 0 && this.state[e] === REACHABLE ? e : -1;
  }

  /** Write entry `e`'s MAC as the destination of the frame at `frame[off]`. */
  fillMac(e: number, frame: Uint8Array, off: number): void {
    copyBytes(this.mac, e * 6, frame, off + ETH_DST, 6);
  }

  /** The buffer {@link reservePending} offsets point into. */
  get pendingBuffer(): Uint8Array {
    return this.pendFrames;
  }

  /**
   * Queue a frame of `len` bytes for `ip` (the oldest queued frame is dropped
   * when the queue is full) and return the offset in {@link pendingBuffer}
   * where the caller writes it, so a forwarded packet is copied only once.
   */
  reservePending(ifIndex: number, ip: number, len: number): number {
    let slot = -1;
    let oldest = -1;
    for (let i = 0; i < this.pendingSlots; i++) {
      if (this.pendSeq[i] === 0) {
        slot = i;
        break;
      }
      if (oldest < 0 || this.pendSeq[i] < this.pendSeq[oldest]) oldest = i;
    }
    if (slot < 0) {
      slot = oldest;
      this.ctx.stats.arp.queueDropped++;
    }
    this.pendLen[slot] = len;
    this.pendIp[slot] = ip;
    this.pendIf[slot] = ifIndex;
    this.pendSeq[slot] = ++this.pendCounter;
    this.ctx.stats.arp.queued++;
    return slot * this.slotSize;
  }

  /** Start resolving `nextHop` on `iface` unless a request is already outstanding. */
  resolve(iface: NetInterface, nextHop: number): void {
    if (this.find(iface.index, nextHop) >= 0) return;
    const n = this.claim();
    if (n < 0) {
      // Every entry is mid-resolution: the frame waits in the queue and is
      // sent if its neighbour answers, or ages out with the queue.
      return;
    }
    this.ip[n] = nextHop;
    this.ifIndex[n] = iface.index;
    this.state[n] = INCOMPLETE;
    this.requests[n] = 1;
    this.deadline[n] = this.ctx.now + this.ctx.config.arpRetryMs;
    this.wake(this.deadline[n]);
    this.sendRequest(iface, nextHop);
  }

  /** Send, in arrival order, every frame waiting for `ip` on `iface`. */
  private flush(iface: NetInterface, ip: number, entry: number): void {
    for (;;) {
      let next = -1;
      for (let i = 0; i < this.pendingSlots; i++) {
        if (this.pendSeq[i] !== 0 && this.pendIp[i] === ip && this.pendIf[i] === iface.index
          && (next < 0 || this.pendSeq[i] < this.pendSeq[next])) next = i;
      }
      if (next < 0) return;
      const o = next * this.slotSize;
      copyBytes(this.mac, entry * 6, this.pendFrames, o + ETH_DST, 6);
      this.pendSeq[next] = 0;
      iface.transmit(this.pendFrames, o, this.pendLen[next], this.ctx.now);
    }
  }

  private dropPending(ifIndex: number, ip: number): void {
    for (let i = 0; i < this.pendingSlots; i++) {
      if (this.pendSeq[i] !== 0 && this.pendIp[i] === ip && this.pendIf[i] === ifIndex) {
        this.pendSeq[i] = 0;
        this.ctx.stats.arp.queueDropped++;
        this.events.pendingDropped(ifIndex, this.pendFrames, i * this.slotSize, this.pendLen[i]);
      }
    }
  }

  private sendRequest(iface: NetInterface, target: number): void {
    const b = this.ctx.tx;
    writeEth(b, 0, null, 0, iface.mac, 0, ETHERTYPE_ARP);
    writeArp(b, ETH_HLEN, ARP_REQUEST, iface.mac, 0, iface.address, null, 0, target);
    this.ctx.stats.arp.requestsOut++;
    iface.transmit(b, 0, ETH_HLEN + ARP_LEN, this.ctx.now);
  }

  /**
   * RFC 5227 probe: ask for `ip` with sender address 0.0.0.0 (`count` times,
   * `intervalMs` apart) and report whether anyone answered or claimed it
   * within `waitMs` after the last probe. Returns false if a probe is already
   * running.
   */
  startProbe(iface: NetInterface, ip: number, count: number, intervalMs: number, waitMs: number,
    done: (inUse: boolean) => void): boolean {
    if (this.probeIf >= 0) return false;
    this.probeIf = iface.index;
    this.probeIp = ip;
    this.probeSeen = false;
    this.probeSent = 0;
    this.probeNextAt = this.ctx.now;
    this.probeEnd = this.ctx.now + (count - 1) * intervalMs + waitMs;
    this.probeDone = done;
    this.probeInterval = intervalMs;
    this.probeCount = count;
    this.wake(this.probeNextAt);
    return true;
  }

  private probeInterval = 0;
  private probeCount = 0;

  private pollProbe(now: number): number {
    if (this.probeIf < 0) return Infinity;
    const iface = this.ctx.interfaces[this.probeIf];
    if (!this.probeSeen && this.probeSent < this.probeCount && now >= this.probeNextAt) {
      const b = this.ctx.tx;
      writeEth(b, 0, null, 0, iface.mac, 0, ETHERTYPE_ARP);
      writeArp(b, ETH_HLEN, ARP_REQUEST, iface.mac, 0, 0, null, 0, this.probeIp);
      this.ctx.stats.arp.requestsOut++;
      iface.transmit(b, 0, ETH_HLEN + ARP_LEN, now);
      this.probeSent++;
      this.probeNextAt = now + this.probeInterval;
    }
    if (this.probeSeen || now >= this.probeEnd) {
      const done = this.probeDone;
      const seen = this.probeSeen;
      this.probeIf = -1;
      this.probeDone = null;
      this.probeNextAt = this.probeEnd = Infinity;
      if (done !== null) done(seen);
      return Infinity;
    }
    return this.probeSent < this.probeCount ? Math.min(this.probeNextAt, this.probeEnd) : this.probeEnd;
  }

  /** Gratuitous ARP (a request for our own address) so neighbours refresh stale entries. */
  announce(iface: NetInterface): void {
    if (iface.address === 0) return;
    const b = this.ctx.tx;
    writeEth(b, 0, null, 0, iface.mac, 0, ETHERTYPE_ARP);
    writeArp(b, ETH_HLEN, ARP_REQUEST, iface.mac, 0, iface.address, null, 0, iface.address);
    this.ctx.stats.arp.gratuitousOut++;
    iface.transmit(b, 0, ETH_HLEN + ARP_LEN, this.ctx.now);
  }

  /** Handle an ARP packet at `b[o .. o+len)` received on `iface`. */
  input(iface: NetInterface, b: Uint8Array, o: number, len: number): void {
    const st = this.ctx.stats.arp;
    st.rx++;
    if (len < ARP_LEN || !arpIsEthernetIpv4(b, o)) {
      st.malformed++;
      return;
    }
    const oper = arpOper(b, o);
    if (oper !== ARP_REQUEST && oper !== ARP_REPLY) {
      st.malformed++;
      return;
    }
    if (oper === ARP_REQUEST) st.requestsIn++;
    else st.repliesIn++;
    const spa = arpSpa(b, o);
    const tpa = arpTpa(b, o);
    if (this.probeIf === iface.index && (spa === this.probeIp || (spa === 0 && tpa === this.probeIp
      && !macEquals(b, o + ARP_SHA, iface.mac, 0)))) {
      // Someone owns or is probing for the address we are probing (RFC 5227 2.1.1).
      this.probeSeen = true;
      this.wake(this.ctx.now); // report at the next poll
    }
    // A group (multicast/broadcast) sender hardware address is never a valid neighbour.
    if ((b[o + ARP_SHA] & 1) === 1) {
      st.malformed++;
      return;
    }
    if (macEquals(b, o + ARP_SHA, iface.mac, 0)) {
      st.ignored++; // our own frame looped back
      return;
    }
    if (iface.address !== 0 && spa === iface.address) {
      st.conflicts++; // someone else claims our address; never learn it
      return;
    }
    const forUs = iface.address !== 0 && tpa === iface.address;
    // RFC 5227 probes carry sender 0.0.0.0: answer them if they ask for us, learn nothing.
    if (spa !== 0 && !isMartianSource(spa)) {
      let e = this.find(iface.index, spa);
      if (e >= 0) {
        st.updated++;
      } else if (forUs && oper === ARP_REQUEST) {
        // Only a request names a neighbour that wants to talk to us; an unsolicited reply does not.
        e = this.claim();
        if (e >= 0) st.learned++;
      }
      if (e >= 0) {
        this.ip[e] = spa;
        this.ifIndex[e] = iface.index;
        copyBytes(b, o + ARP_SHA, this.mac, e * 6, 6);
        this.state[e] = REACHABLE;
        this.requests[e] = 0;
        this.deadline[e] = this.ctx.now + this.ctx.config.arpReachableMs;
        this.wake(this.deadline[e]);
        this.flush(iface, spa, e);
      } else {
        st.ignored++;
      }
    }
    if (forUs && oper === ARP_REQUEST) this.reply(iface, b, o);
  }

  private reply(iface: NetInterface, req: Uint8Array, o: number): void {
    const b = this.ctx.tx;
    writeEth(b, 0, req, o + ARP_SHA, iface.mac, 0, ETHERTYPE_ARP);
    writeArp(b, ETH_HLEN, ARP_REPLY, iface.mac, 0, iface.address, req, o + ARP_SHA, arpSpa(req, o));
    this.ctx.stats.arp.repliesOut++;
    iface.transmit(b, 0, ETH_HLEN + ARP_LEN, this.ctx.now);
  }

  /**
   * Earliest ARP deadline, set by {@link poll}. A field, not a return value:
   * returning a fractional or infinite number from a call that is not inlined
   * boxes it, a heap allocation per poll.
   */
  nextDeadline = Infinity;

  /** Lower {@link nextDeadline} to `at`: every deadline set between polls passes here, so poll can skip its scan until one is due. */
  private wake(at: number): void {
    if (at < this.nextDeadline) this.nextDeadline = at;
  }

  /** Retry, give up on and expire entries at the context's time; leaves the next deadline in nextDeadline. */
  poll(): void {
    const now = this.ctx.now;
    if (now < this.nextDeadline) return;
    let next = this.pollProbe(now);
    for (let i = 0; i < this.size; i++) {
      const s = this.state[i];
      if (s === FREE) continue;
      if (this.deadline[i] <= now) {
        if (s === REACHABLE) {
          this.state[i] = FREE;
          continue;
        }
        const iface = this.ctx.interfaces[this.ifIndex[i]];
        if (this.requests[i] >= this.ctx.config.arpMaxRequests) {
          this.state[i] = FREE;
          this.ctx.stats.arp.resolveFailed++;
          this.dropPending(this.ifIndex[i], this.ip[i]);
          this.events.resolveFailed(this.ip[i]);
          continue;
        }
        this.requests[i]++;
        this.deadline[i] = now + this.ctx.config.arpRetryMs;
        this.sendRequest(iface, this.ip[i]);
      }
      if (this.deadline[i] < next) next = this.deadline[i];
    }
    this.nextDeadline = next;
  }

  /** Forget entries and queued frames of an interface (address change, removal). */
  flushInterface(ifIndex: number): void {
    for (let i = 0; i < this.size; i++) if (this.ifIndex[i] === ifIndex) this.state[i] = FREE;
    for (let i = 0; i < this.pendingSlots; i++) if (this.pendIf[i] === ifIndex) this.pendSeq[i] = 0;
    this.memo = -1;
  }

  /** Cache contents for display and tests (allocates). */
  entries(): Array<{ ip: number; mac: Uint8Array; state: 'incomplete' | 'reachable'; ifIndex: number; expires: number }> {
    const out = [];
    for (let i = 0; i < this.size; i++) {
      if (this.state[i] === FREE) continue;
      out.push({
        ip: this.ip[i], mac: this.mac.slice(i * 6, i * 6 + 6),
        state: this.state[i] === REACHABLE ? 'reachable' as const : 'incomplete' as const,
        ifIndex: this.ifIndex[i], expires: this.deadline[i],
      });
    }
    return out;
  }

  /** Frames currently waiting for resolution. */
  get pendingCount(): number {
    let n = 0;
    for (let i = 0; i < this.pendingSlots; i++) if (this.pendSeq[i] !== 0) n++;
    return n;
  }
}
