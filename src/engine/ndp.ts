/**
 * Neighbour discovery (RFC 4861) for Ethernet interfaces: the neighbour
 * cache (neighbour-cache6.ts) with frames parked while a neighbour is
 * resolved, NS/NA both ways, router advertisements into the routing table
 * (default routers, on-link prefixes, MTU), redirects when enabled; address
 * autoconfiguration and DAD live in slaac.ts, which this class owns.
 *
 * ND messages are built here directly (Ethernet + IPv6 + ICMPv6 in
 * `ctx.tx`, hop limit 255 as §7.1 requires of them), not through IPv6
 * output: they choose their own source (the unspecified address for DAD)
 * and link-layer destination.
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes, set16 } from '../wire/bytes.js';
import { ETH_HLEN, ETH_DST, writeEth } from '../wire/ethernet.js';
import { ETHERTYPE_IPV6, IPV6_HLEN, IP6_HLIM, IP6_SRC, IP6_DST, NH_ICMPV6, IPV6_MIN_MTU, writeIpv6 } from '../wire/ipv6.js';
import { icmp6Checksum, ICMP6_CSUM } from '../wire/icmpv6.js';
import {
  isMulticast6, isUnspecified6, isLinkLocal6, isSolicitedNode, solicitedNode, multicastMac, ip6Equal,
} from '../wire/ipv6addr.js';
import {
  ND_ROUTER_SOLICIT, ND_ROUTER_ADVERT, ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ND_REDIRECT, ND_TARGET,
  REDIRECT_DEST, RA_CUR_HOP_LIMIT, OPT_SOURCE_LLA, OPT_TARGET_LLA, OPT_PREFIX_INFO, OPT_MTU, OPT_RDNSS,
  NA_FLAG_SOLICITED, NA_FLAG_OVERRIDE, ndFixedLength, ndOptionsValid, ndFindOption,
  ndNextOption, writeNs, writeNa, writeRs, writeLlaOption, raRouterLifetime, raReachableTime, raRetransTimer, getU32,
} from '../wire/ndp.js';
import type { EngineContext } from './context.js';
import type { NetInterface } from './netif.js';
import { ADDR6_TENTATIVE } from './netif.js';
import type { NeighbourInput, NeighbourOutput } from './ipv6-types.js';
import { Route6Table, ROUTE6_RA } from './routes6.js';
import { NeighbourCache6, NC_INCOMPLETE, type NeighbourCacheActions, type NeighbourEntry6 } from './neighbour-cache6.js';
import { Slaac } from './slaac.js';
import type { ResolvedConfig } from './config.js';

/** Frames parked per unresolved neighbour (Linux's former unres_qlen default, 3): the oldest goes first. */
export const ND_QUEUE_PER_ENTRY = 3;
/** BaseReachableTime (§10): 30 s until an RA says otherwise. */
const REACHABLE_TIME_MS = 30000;
/** RetransTimer (§10). */
const RETRANS_TIMER_MS = 1000;
const DELAY_FIRST_PROBE_TIME_MS = 5000;
const MAX_MULTICAST_SOLICIT = 3;
const MAX_UNICAST_SOLICIT = 3;

/** What ND reports upward when it gives up on a neighbour (the engine passes it on, as arp.ts's events). */
export interface Neighbour6Events {
  /** A frame parked for an unresolved neighbour was dropped (§7.2.2: ICMPv6 address unreachable to its source). */
  pendingDropped(ifIndex: number, frame: Uint8Array, off: number, len: number): void;
  /** Resolution of `addr[off..off+16)` failed: connections and pings waiting on it fail. */
  resolveFailed(addr: Uint8Array, off: number): void;
}

const ALL_NODES = Uint8Array.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ALL_ROUTERS = Uint8Array.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const UNSPECIFIED = new Uint8Array(16);
/** Actions of the cache built only to plan its memory. */
const NO_ACTIONS: NeighbourCacheActions = { solicit() {}, resolved() {}, failed() {} };

export class NeighbourDiscovery implements NeighbourOutput, NeighbourInput, NeighbourCacheActions {
  readonly cache: NeighbourCache6;
  readonly slaac: Slaac;
  private readonly pendFrames: Uint8Array;
  private readonly pendLen: Uint16Array;
  private readonly pendIf: Uint8Array;
  /** Next hop of each parked frame, 16 bytes per slot. */
  private readonly pendAddr: Uint8Array;
  /** Arrival order; 0 marks a free slot. */
  private readonly pendSeq: Float64Array;
  private pendCounter = 0;
  private readonly slotSize: number;
  private readonly pendingSlots: number;
  /** Cur Hop Limit from RAs per interface (0: unspecified), §6.3.4. */
  readonly curHopLimit: Uint8Array;
  private readonly mac = new Uint8Array(6);
  private readonly scratch = new Uint8Array(16);
  private readonly gw = new Uint8Array(16);
  private baseReachableMs = REACHABLE_TIME_MS;
  /** Earliest timer of ND and SLAAC, set by {@link poll}. */
  nextDeadline = Infinity;

  /** Plan the memory ND uses for configuration `c` (the same layout the constructor carves). */
  static plan(plan: Carver, c: ResolvedConfig): void {
    new NeighbourCache6(plan, c.neighbourCache6Entries, NO_ACTIONS, {
      retransMs: 0, reachableMs: 0, delayMs: 0, maxMulticast: 0, maxUnicast: 0,
    });
    NeighbourDiscovery.carve(plan, c);
    Slaac.plan(plan, c);
  }

  private static carve(m: Carver, c: ResolvedConfig) {
    const slot = c.maxMtu + ETH_HLEN;
    const pending = c.arpPendingFrames;
    return {
      frames: m.u8('nd6Pending', pending * slot), len: m.u16('nd6Pending', pending), ifs: m.u8('nd6Pending', pending),
      addr: m.u8('nd6Pending', pending * 16), seq: m.f64('nd6Pending', pending),
      hop: m.u8('nd6', c.maxInterfaces),
    };
  }

  /**
   * @param arena where the neighbour cache (`neighbourCache6Entries`), the
   *   parked frames (`arpPendingFrames` slots of a frame each) and the SLAAC
   *   state are carved
   */
  constructor(arena: Carver, private readonly ctx: EngineContext, private readonly routes6: Route6Table,
    private readonly events: Neighbour6Events) {
    const c = ctx.config;
    this.cache = new NeighbourCache6(arena, c.neighbourCache6Entries, this, {
      retransMs: RETRANS_TIMER_MS, reachableMs: this.randomReachable(), delayMs: DELAY_FIRST_PROBE_TIME_MS,
      maxMulticast: MAX_MULTICAST_SOLICIT, maxUnicast: MAX_UNICAST_SOLICIT,
    });
    const t = NeighbourDiscovery.carve(arena, c);
    this.slotSize = c.maxMtu + ETH_HLEN;
    this.pendingSlots = c.arpPendingFrames;
    this.pendFrames = t.frames;
    this.pendLen = t.len;
    this.pendIf = t.ifs;
    this.pendAddr = t.addr;
    this.pendSeq = t.seq;
    this.curHopLimit = t.hop;
    this.slaac = new Slaac(arena, ctx, this, routes6);
  }

  /** ReachableTime: BaseReachableTime × a uniform factor in 0.5..1.5 (§6.3.2). */
  private randomReachable(): number {
    return Math.floor(this.baseReachableMs * (0.5 + this.ctx.random32() / 4294967296));
  }

  // ---- Output ----

  /**
   * Send the frame `b[frameOff .. +frameLen)` (IPv6 packet after 14 bytes;
   * the Ethernet header is written here) to `nextHop` on `iface`: to the
   * group MAC of a multicast next hop (RFC 2464 §7), to the cached MAC of a
   * known neighbour (STALE moves to DELAY, §7.3.3), else parked until the
   * neighbour answers. Returns the link's 0/-errno, or 0 when parked.
   */
  output(iface: NetInterface, nextHop: Uint8Array, nhOff: number, b: Uint8Array, frameOff: number, frameLen: number): number {
    const now = this.ctx.now;
    if (isMulticast6(nextHop, nhOff)) {
      multicastMac(this.mac, nextHop, nhOff);
      writeEth(b, frameOff, this.mac, 0, iface.mac, 0, ETHERTYPE_IPV6);
      return iface.transmit(b, frameOff, frameLen, now);
    }
    const nc = this.cache;
    const e = nc.find(iface.index, nextHop, nhOff);
    if (e >= 0 && nc.state[e] !== NC_INCOMPLETE) {
      nc.lookupForSend(iface.index, nextHop, nhOff, now); // STALE → DELAY, use time
      writeEth(b, frameOff, nc.mac, e * 6, iface.mac, 0, ETHERTYPE_IPV6);
      return iface.transmit(b, frameOff, frameLen, now);
    }
    // Park a copy first: starting resolution builds a solicitation in ctx.tx, which may hold this frame.
    writeEth(b, frameOff, null, 0, iface.mac, 0, ETHERTYPE_IPV6);
    copyBytes(b, frameOff, this.pendFrames, this.reserve(iface.index, nextHop, nhOff, frameLen), frameLen);
    if (e < 0) {
      const n = nc.lookupForSend(iface.index, nextHop, nhOff, now);
      if (n >= 0) nc.due(n, now);
    }
    if (nc.nextDeadline < this.nextDeadline) this.nextDeadline = nc.nextDeadline;
    return 0;
  }

  /**
   * A parked slot for a frame of `len` bytes to `addr`: at most
   * {@link ND_QUEUE_PER_ENTRY} per neighbour and the pool's size in all,
   * the oldest dropped (counted) to make room. Returns its offset.
   */
  private reserve(ifIndex: number, addr: Uint8Array, off: number, len: number): number {
    let mine = 0;
    let oldestMine = -1;
    let free = -1;
    let oldest = -1;
    for (let i = 0; i < this.pendingSlots; i++) {
      if (this.pendSeq[i] === 0) {
        if (free < 0) free = i;
        continue;
      }
      if (oldest < 0 || this.pendSeq[i] < this.pendSeq[oldest]) oldest = i;
      if (this.pendIf[i] === ifIndex && ip6Equal(this.pendAddr, i * 16, addr, off)) {
        mine++;
        if (oldestMine < 0 || this.pendSeq[i] < this.pendSeq[oldestMine]) oldestMine = i;
      }
    }
    let slot = free;
    if (mine >= ND_QUEUE_PER_ENTRY) slot = oldestMine;
    else if (slot < 0) slot = oldest;
    if (slot !== free) this.ctx.stats.nd6.queueDropped++;
    this.pendLen[slot] = len;
    this.pendIf[slot] = ifIndex;
    copyBytes(addr, off, this.pendAddr, slot * 16, 16);
    this.pendSeq[slot] = ++this.pendCounter;
    this.ctx.stats.nd6.queued++;
    return slot * this.slotSize;
  }

  /** Frames currently parked. */
  get pendingCount(): number {
    let n = 0;
    for (let i = 0; i < this.pendingSlots; i++) if (this.pendSeq[i] !== 0) n++;
    return n;
  }

  // ---- NeighbourCacheActions ----

  /** @internal */
  solicit(e: number, unicast: boolean): void {
    const iface = this.ctx.interfaces[this.cache.ifIndex[e]];
    const src = this.slaac.sourceFor(iface);
    if (src < 0) {
      this.ctx.stats.nd6.noSource++;
      return;
    }
    this.sendNs(iface, this.cache.addr, e * 16, iface.addr6, src * 16, unicast ? e : -1);
  }

  /** @internal */
  resolved(e: number): void {
    const nc = this.cache;
    const ifIndex = nc.ifIndex[e];
    const iface = this.ctx.interfaces[ifIndex];
    for (;;) {
      let next = -1;
      for (let i = 0; i < this.pendingSlots; i++) {
        if (this.pendSeq[i] !== 0 && this.pendIf[i] === ifIndex && ip6Equal(this.pendAddr, i * 16, nc.addr, e * 16)
          && (next < 0 || this.pendSeq[i] < this.pendSeq[next])) next = i;
      }
      if (next < 0) return;
      const o = next * this.slotSize;
      copyBytes(nc.mac, e * 6, this.pendFrames, o + ETH_DST, 6);
      this.pendSeq[next] = 0;
      iface.transmit(this.pendFrames, o, this.pendLen[next], this.ctx.now);
    }
  }

  /** @internal */
  failed(e: number, evicted: boolean): void {
    const nc = this.cache;
    const ifIndex = nc.ifIndex[e];
    if (evicted) this.ctx.stats.nd6.cacheEvictions++;
    else this.ctx.stats.nd6.resolveFailed++;
    for (let i = 0; i < this.pendingSlots; i++) {
      if (this.pendSeq[i] !== 0 && this.pendIf[i] === ifIndex && ip6Equal(this.pendAddr, i * 16, nc.addr, e * 16)) {
        this.pendSeq[i] = 0;
        this.ctx.stats.nd6.queueDropped++;
        this.events.pendingDropped(ifIndex, this.pendFrames, i * this.slotSize, this.pendLen[i]);
      }
    }
    if (!evicted) this.events.resolveFailed(nc.addr, e * 16);
  }

  // ---- Sending ND messages ----

  /** Finish the ICMPv6 message of `len` bytes at ETH_HLEN + 40 of ctx.tx and send it to `dstMac` (null: group of dst). */
  private send(iface: NetInterface, len: number, src: Uint8Array, sOff: number, dst: Uint8Array, dOff: number,
    dstMac: Uint8Array | null, macOff: number): void {
    const b = this.ctx.tx;
    const o = ETH_HLEN + IPV6_HLEN;
    writeIpv6(b, ETH_HLEN, len, NH_ICMPV6, 255, src, sOff, dst, dOff);
    set16(b, o + ICMP6_CSUM, icmp6Checksum(b, ETH_HLEN, o, len));
    if (dstMac === null) {
      multicastMac(this.mac, dst, dOff);
      writeEth(b, 0, this.mac, 0, iface.mac, 0, ETHERTYPE_IPV6);
    } else {
      writeEth(b, 0, dstMac, macOff, iface.mac, 0, ETHERTYPE_IPV6);
    }
    iface.transmit(b, 0, ETH_HLEN + IPV6_HLEN + len, this.ctx.now);
  }

  /**
   * Neighbour solicitation for `target` from `src` (the unspecified
   * address for DAD, §7.2.2 / RFC 4862 §5.4.2: then without SLLA): to the
   * target's solicited-node group, or unicast to cache entry `unicastEntry`'s
   * MAC when ≥ 0 (PROBE).
   */
  sendNs(iface: NetInterface, target: Uint8Array, tOff: number, src: Uint8Array, sOff: number, unicastEntry: number): void {
    const b = this.ctx.tx;
    const o = ETH_HLEN + IPV6_HLEN;
    let n = writeNs(b, o, target, tOff);
    if (!isUnspecified6(src, sOff)) n += writeLlaOption(b, o + n, OPT_SOURCE_LLA, iface.mac, 0);
    this.ctx.stats.nd6.nsOut++;
    if (unicastEntry >= 0) {
      this.send(iface, n, src, sOff, target, tOff, this.cache.mac, unicastEntry * 6);
    } else {
      solicitedNode(this.scratch, 0, target, tOff);
      this.send(iface, n, src, sOff, this.scratch, 0, null, 0);
    }
  }

  /** Router solicitation (§6.3.7) from `src` (unspecified: no SLLA, §4.1). */
  sendRs(iface: NetInterface, src: Uint8Array, sOff: number): void {
    const b = this.ctx.tx;
    const o = ETH_HLEN + IPV6_HLEN;
    let n = writeRs(b, o);
    if (!isUnspecified6(src, sOff)) n += writeLlaOption(b, o + n, OPT_SOURCE_LLA, iface.mac, 0);
    this.ctx.stats.nd6.rsOut++;
    this.send(iface, n, src, sOff, ALL_ROUTERS, 0, null, 0);
  }

  /**
   * Neighbour advertisement for our address slot `slot` with TLLA (§7.2.4):
   * solicited (S) to `dst` with link-layer address `dstMac[macOff]`, or
   * unsolicited to all-nodes when `dst` is null (DAD answer, announcement).
   */
  sendNa(iface: NetInterface, slot: number, dst: Uint8Array | null, dOff: number, dstMac: Uint8Array | null, macOff: number): void {
    const b = this.ctx.tx;
    const o = ETH_HLEN + IPV6_HLEN;
    let n = writeNa(b, o, (dst !== null ? NA_FLAG_SOLICITED : 0) | NA_FLAG_OVERRIDE, iface.addr6, slot * 16);
    n += writeLlaOption(b, o + n, OPT_TARGET_LLA, iface.mac, 0);
    this.ctx.stats.nd6.naOut++;
    if (dst === null) this.send(iface, n, iface.addr6, slot * 16, ALL_NODES, 0, null, 0);
    else this.send(iface, n, iface.addr6, slot * 16, dst, dOff, dstMac, macOff);
  }

  // ---- Input ----

  /**
   * An ND message (ICMPv6 types 133–137, checksum already verified by
   * ICMPv6 input) at `b[icmpOff .. +icmpLen)` of the IPv6 packet at `b[ipOff]`.
   */
  input(iface: NetInterface, b: Uint8Array, ipOff: number, icmpOff: number, icmpLen: number): void {
    const st = this.ctx.stats.nd6;
    const type = b[icmpOff];
    switch (type) {
      case ND_ROUTER_SOLICIT: st.rsIn++; break;
      case ND_ROUTER_ADVERT: st.raIn++; break;
      case ND_NEIGHBOR_SOLICIT: st.nsIn++; break;
      case ND_NEIGHBOR_ADVERT: st.naIn++; break;
      case ND_REDIRECT: st.redirectIn++; break;
      default: return;
    }
    if (iface.ipOnly) return; // no ND on point-to-point 'ip' links
    // §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: hop limit 255 (not forwarded), code 0, length, options.
    if (b[ipOff + IP6_HLIM] !== 255) {
      st.badHopLimit++;
      return;
    }
    if (b[icmpOff + 1] !== 0) {
      st.badCode++;
      return;
    }
    const fixed = ndFixedLength(type);
    if (icmpLen < fixed) {
      st.badLength++;
      return;
    }
    const optStart = icmpOff + fixed;
    const end = icmpOff + icmpLen;
    if (!ndOptionsValid(b, optStart, end)) {
      st.badOptions++;
      return;
    }
    const src = ipOff + IP6_SRC;
    switch (type) {
      case ND_ROUTER_SOLICIT: st.rsIgnored++; return; // a host ignores RSs (§6.2.6)
      case ND_ROUTER_ADVERT: this.inputRa(iface, b, ipOff, icmpOff, optStart, end); return;
      case ND_NEIGHBOR_SOLICIT: this.inputNs(iface, b, ipOff, icmpOff, optStart, end); return;
      case ND_NEIGHBOR_ADVERT: this.inputNa(iface, b, ipOff, icmpOff, optStart, end); return;
      default: this.inputRedirect(iface, b, src, icmpOff, optStart, end);
    }
  }

  private inputNs(iface: NetInterface, b: Uint8Array, ipOff: number, o: number, optStart: number, end: number): void {
    const st = this.ctx.stats.nd6;
    const src = ipOff + IP6_SRC;
    const target = o + ND_TARGET;
    const slla = ndFindOption(b, optStart, end, OPT_SOURCE_LLA);
    const dad = isUnspecified6(b, src);
    // §7.1.1: target not multicast; from :: only to a solicited-node group and without SLLA.
    if (isMulticast6(b, target) || (dad && (!isSolicitedNode(b, ipOff + IP6_DST) || slla >= 0))) {
      st.badAddress++;
      return;
    }
    const slot = iface.findAddress6(b, target);
    if (slot < 0) {
      st.notForUs++;
      return;
    }
    if (iface.addr6State[slot] === ADDR6_TENTATIVE) {
      // RFC 4862 §5.4.3: another node probing the same tentative address is a duplicate;
      // a resolution request for it is not answered.
      if (dad) this.slaac.dadConflict(iface, slot);
      return;
    }
    if (dad) {
      // Someone's DAD probe for our address: defend it to all-nodes (§7.2.4).
      this.sendNa(iface, slot, null, 0, null, 0);
      return;
    }
    let e = -1;
    if (slla >= 0) e = this.cache.learn(iface.index, b, src, b, slla + 2, this.ctx.now, true);
    if (e >= 0) {
      this.sendNa(iface, slot, b, src, this.cache.mac, e * 6);
      return;
    }
    // A unicast NS without SLLA (§7.2.4): reply through resolution. The reply is built in ctx.tx and parked if needed.
    copyBytes(b, src, this.gw, 0, 16);
    const tx = this.ctx.tx;
    const q = ETH_HLEN + IPV6_HLEN;
    let n = writeNa(tx, q, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, iface.addr6, slot * 16);
    n += writeLlaOption(tx, q + n, OPT_TARGET_LLA, iface.mac, 0);
    writeIpv6(tx, ETH_HLEN, n, NH_ICMPV6, 255, iface.addr6, slot * 16, this.gw, 0);
    set16(tx, q + ICMP6_CSUM, icmp6Checksum(tx, ETH_HLEN, q, n));
    st.naOut++;
    this.output(iface, this.gw, 0, tx, 0, ETH_HLEN + IPV6_HLEN + n);
  }

  private inputNa(iface: NetInterface, b: Uint8Array, ipOff: number, o: number, optStart: number, end: number): void {
    const st = this.ctx.stats.nd6;
    const target = o + ND_TARGET;
    const flags = b[o + 4];
    // §7.1.2: target not multicast; a solicited NA never goes to a multicast destination.
    if (isMulticast6(b, target) || ((flags & NA_FLAG_SOLICITED) !== 0 && isMulticast6(b, ipOff + IP6_DST))) {
      st.badAddress++;
      return;
    }
    const slot = iface.findAddress6(b, target);
    if (slot >= 0) {
      if (iface.addr6State[slot] === ADDR6_TENTATIVE) this.slaac.dadConflict(iface, slot); // RFC 4862 §5.4.4
      else st.addressClaimed++;
      return;
    }
    const tlla = ndFindOption(b, optStart, end, OPT_TARGET_LLA);
    const nc = this.cache;
    const e = nc.advert(iface.index, b, target, tlla >= 0 ? b : null, tlla + 2, flags, this.ctx.now);
    if (e >= 0 && nc.routerLost) this.withdrawRouter(iface, nc.addr, e * 16);
    if (nc.nextDeadline < this.nextDeadline) this.nextDeadline = nc.nextDeadline;
  }

  /** Remove the default route through router `a` (§6.3.5 / §7.2.5 IsRouter cleared, lifetime 0). */
  private withdrawRouter(iface: NetInterface, a: Uint8Array, off: number): void {
    // Route6Table removes by expiry: an RA route whose lifetime ends now goes at the next expire().
    this.addRoute(UNSPECIFIED, 0, 0, a, off, iface.index, 0);
    this.routesNext = this.routes6.expire(this.ctx.now);
  }

  private inputRa(iface: NetInterface, b: Uint8Array, ipOff: number, o: number, optStart: number, end: number): void {
    const st = this.ctx.stats.nd6;
    const src = ipOff + IP6_SRC;
    if (!isLinkLocal6(b, src)) { // §6.1.2
      st.badAddress++;
      return;
    }
    const now = this.ctx.now;
    const hop = b[o + RA_CUR_HOP_LIMIT];
    if (hop !== 0) this.curHopLimit[iface.index] = iface.hopLimit6 = hop; // §6.3.4 (0: unspecified); output6 applies it
    const reach = raReachableTime(b, o);
    if (reach !== 0 && reach <= 3600000 && reach !== this.baseReachableMs) { // §6.3.4, MAX_REACHABLE_TIME 1 h
      this.baseReachableMs = reach;
      this.cache.timing.reachableMs = this.randomReachable();
    }
    const retrans = raRetransTimer(b, o);
    if (retrans !== 0 && retrans <= 3600000) this.cache.timing.retransMs = retrans;
    // The router's link-layer address (§6.3.4): create or update its entry, mark it a router.
    const slla = ndFindOption(b, optStart, end, OPT_SOURCE_LLA);
    if (slla >= 0) {
      const e = this.cache.learn(iface.index, b, src, b, slla + 2, now, true);
      if (e >= 0) this.cache.setRouter(e, true);
    }
    const lifetime = raRouterLifetime(b, o);
    if (lifetime === 0) this.withdrawRouter(iface, b, src);
    else if (this.addRoute(UNSPECIFIED, 0, 0, b, src, iface.index, now + lifetime * 1000) >= 0) st.routersLearned++;
    for (let p = optStart; p < end; p = ndNextOption(b, p)) {
      const t = b[p];
      if (t === OPT_MTU) {
        const mtu = getU32(b, p + 4);
        // §6.3.4: ignore an MTU below the IPv6 minimum or above the link's own.
        if (mtu >= IPV6_MIN_MTU && mtu <= iface.mtu) {
          iface.mtu6 = mtu;
          st.mtuApplied++;
        } else {
          st.mtuIgnored++;
        }
      } else if (t === OPT_PREFIX_INFO) {
        if (b[p + 1] === 4) this.slaac.prefixOption(iface, b, p, now);
        else st.prefixIgnored++;
      } else if (t === OPT_RDNSS) {
        this.slaac.rdnssOption(iface, b, p, now);
      }
    }
    this.slaac.routerAdvertised(iface);
  }

  private inputRedirect(iface: NetInterface, b: Uint8Array, src: number, o: number, optStart: number, end: number): void {
    const st = this.ctx.stats.nd6;
    if (this.ctx.config.ipv6AcceptRedirects === 0) {
      st.redirectsIgnored++;
      return;
    }
    const target = o + ND_TARGET;
    const dest = o + REDIRECT_DEST;
    // §8.1: from a link-local address, destination not multicast, target link-local or the destination itself.
    if (!isLinkLocal6(b, src) || isMulticast6(b, dest) || (!isLinkLocal6(b, target) && !ip6Equal(b, target, b, dest))) {
      st.badAddress++;
      return;
    }
    // §8.1: the source must be the first hop we use for the destination now.
    const r = this.routes6.lookup(b, dest);
    if (r < 0 || !this.routes6.hasGateway(r) || this.routes6.ifIndexOf(r) !== iface.index) {
      st.redirectsIgnored++;
      return;
    }
    this.routes6.copyGateway(r, this.gw, 0);
    if (!ip6Equal(this.gw, 0, b, src)) {
      st.redirectsIgnored++;
      return;
    }
    // §8.3: a host route for the destination through the target (on-link when target = destination).
    const onLink = ip6Equal(b, target, b, dest);
    this.addRoute(b, dest, 128, onLink ? null : b, target, iface.index, Infinity);
    const tlla = ndFindOption(b, optStart, end, OPT_TARGET_LLA);
    if (tlla >= 0) {
      const e = this.cache.learn(iface.index, b, target, b, tlla + 2, this.ctx.now, true);
      if (e >= 0 && !onLink) this.cache.setRouter(e, true);
    }
    st.redirectsApplied++;
  }

  // ---- Multicast reception ----

  /**
   * Whether an Ethernet frame to the group MAC at `b[o]` (33:33:xx:xx:xx:xx)
   * is for a group `iface` has joined: all-nodes, or the solicited-node
   * group of one of its addresses, tentative ones included (RFC 4862 §5.4.2).
   * The caller counts the others (`nd6.multicastNotJoined`). All-routers
   * (33:33:00:00:00:02) is joined only when forwarding (RFC 4291 §2.8).
   */
  acceptsMulticast(iface: NetInterface, b: Uint8Array, o: number): boolean {
    if (b[o] !== 0x33 || b[o + 1] !== 0x33) return false;
    if (b[o + 2] === 0 && b[o + 3] === 0 && b[o + 4] === 0) {
      if (b[o + 5] === 1) return true;
      if (b[o + 5] === 2 && this.ctx.config.ipForwarding !== 0) return true;
    }
    if (b[o + 2] !== 0xff) return false;
    const a = iface.addr6;
    for (let k = 0; k < iface.addr6Count; k++) {
      if (iface.addr6State[k] !== 0 && a[k * 16 + 13] === b[o + 3] && a[k * 16 + 14] === b[o + 4]
        && a[k * 16 + 15] === b[o + 5]) return true;
    }
    return false;
  }

  // ---- Timers ----

  /** Start IPv6 on an Ethernet interface: link-local address with DAD, router solicitation (slaac.ts). */
  interfaceUp(iface: NetInterface): void {
    if (iface.ipOnly || iface.addr6Count === 0) return;
    this.slaac.interfaceUp(iface);
    if (this.slaac.nextDeadline < this.nextDeadline) this.nextDeadline = this.slaac.nextDeadline;
  }

  /** Run neighbour and autoconfiguration timers at ctx.now; leaves the earliest in {@link nextDeadline}. */
  poll(): void {
    const now = this.ctx.now;
    // Every timer lowers one of these three when it is set, so nothing is due before their minimum.
    if (now >= this.cache.nextDeadline) this.cache.poll(now);
    if (now >= this.slaac.nextDeadline) this.slaac.poll(now);
    if (now >= this.routesNext) this.routesNext = this.routes6.expire(now);
    let next = this.cache.nextDeadline;
    if (this.slaac.nextDeadline < next) next = this.slaac.nextDeadline;
    if (this.routesNext < next) next = this.routesNext;
    this.nextDeadline = next;
  }

  /** Earliest expiry of a route this class added (RA routers and prefixes, redirects). */
  private routesNext = Infinity;

  /** @internal A route added by slaac.ts expires at `t`. */
  routeExpires(t: number): void {
    if (t < this.routesNext) this.routesNext = t;
    if (t < this.nextDeadline) this.nextDeadline = t;
  }

  /** @internal A slaac.ts timer is due at `t` (see {@link nextDeadline}). */
  timerAt(t: number): void {
    if (t < this.nextDeadline) this.nextDeadline = t;
  }

  /** Add an RA-learned route expiring at `expires` (0: withdraw at the next poll); the slot or -1. */
  private addRoute(dest: Uint8Array, dOff: number, len: number, gw: Uint8Array | null, gOff: number, ifIndex: number,
    expires: number): number {
    this.routeExpires(expires);
    return this.routes6.add(dest, dOff, len, gw, gOff, ifIndex, ROUTE6_RA, expires);
  }

  /** Forget the neighbours and parked frames of an interface. */
  flushInterface(ifIndex: number): void {
    this.cache.flushInterface(ifIndex);
    for (let i = 0; i < this.pendingSlots; i++) if (this.pendIf[i] === ifIndex) this.pendSeq[i] = 0;
  }

  /** Cache contents for display and tests (allocates). */
  entries(): NeighbourEntry6[] {
    return this.cache.entries();
  }
}
