/**
 * The IPv6 neighbour cache (RFC 4861 §5.1, §7.3): a planned table of
 * entries in the states INCOMPLETE, REACHABLE, STALE, DELAY and PROBE, with
 * the transitions of §7.2 and Appendix C. It keeps state and timers only;
 * what the transitions send (solicitations) or release (parked packets) is
 * done by its owner through {@link NeighbourCacheActions}, so the state
 * machine can be tested on its own (test/engine/neighbour-cache6.test.ts).
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';

export const NC_FREE = 0;
export const NC_INCOMPLETE = 1;
export const NC_REACHABLE = 2;
export const NC_STALE = 3;
export const NC_DELAY = 4;
export const NC_PROBE = 5;

/** State names for reports, indexed by state. */
export const NC_STATE_NAMES = ['free', 'incomplete', 'reachable', 'stale', 'delay', 'probe'] as const;

/** A neighbour cache entry as {@link NeighbourCache6.entries} lists it. */
export interface NeighbourEntry6 { address: Uint8Array; mac: Uint8Array; state: string; router: boolean; ifIndex: number }

/** NA flags as they arrive in byte 4 of the message (wire/ndp.ts NA_FLAG_*). */
const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;

/** What the cache asks its owner to do. */
export interface NeighbourCacheActions {
  /**
   * Send a neighbour solicitation for entry `e`: multicast to the
   * solicited-node group while INCOMPLETE, unicast to the cached address in
   * PROBE (§7.2.2, §7.3.3).
   */
  solicit(e: number, unicast: boolean): void;
  /** Entry `e` has a link-layer address now: send what is parked for it. */
  resolved(e: number): void;
  /**
   * Entry `e` is being removed without an answer (resolution or probing gave
   * up, or eviction while INCOMPLETE): drop what is parked for it (§7.3.3:
   * ICMP address unreachable for each). Called before the entry is freed.
   */
  failed(e: number, evicted: boolean): void;
}

/** Protocol constants and variables of §6.3.2/§10, ms. */
export interface NeighbourTiming {
  /** RetransTimer (default 1000 ms). */
  retransMs: number;
  /** ReachableTime: the randomized BaseReachableTime (default 30 s × 0.5..1.5). */
  reachableMs: number;
  /** DELAY_FIRST_PROBE_TIME (5 s). */
  delayMs: number;
  /** MAX_MULTICAST_SOLICIT (3). */
  maxMulticast: number;
  /** MAX_UNICAST_SOLICIT (3). */
  maxUnicast: number;
}

export class NeighbourCache6 {
  /** 16 bytes per entry. */
  readonly addr: Uint8Array;
  /** 6 bytes per entry (Ethernet). */
  readonly mac: Uint8Array;
  readonly state: Uint8Array;
  readonly ifIndex: Uint8Array;
  /** IsRouter flag (§5.1). */
  readonly isRouter: Uint8Array;
  /** Solicitations sent in INCOMPLETE / PROBE. */
  private readonly probes: Uint8Array;
  /** Last 4 address bytes, to skip full compares. */
  private readonly key: Int32Array;
  /** Next timer of the entry (retransmit, REACHABLE expiry, DELAY end); Infinity in STALE. */
  readonly deadline: Float64Array;
  /** Last time the entry was created, confirmed or used (eviction order). */
  private readonly touched: Float64Array;
  /** Earliest deadline, updated by {@link poll} and by transitions that set a timer. */
  nextDeadline = Infinity;
  /** Entries evicted to make room (the owner copies it into its stats). */
  evictions = 0;
  /** Set by {@link advert} when a router's NA came without the R flag (§7.2.5: remove it from the router list). */
  routerLost = false;
  private memo = -1;

  constructor(carver: Carver, readonly size: number, private readonly actions: NeighbourCacheActions,
    readonly timing: NeighbourTiming) {
    this.addr = carver.u8('neighbourCache6', size * 16);
    this.mac = carver.u8('neighbourCache6', size * 6);
    this.state = carver.u8('neighbourCache6', size);
    this.ifIndex = carver.u8('neighbourCache6', size);
    this.isRouter = carver.u8('neighbourCache6', size);
    this.probes = carver.u8('neighbourCache6', size);
    this.key = carver.i32('neighbourCache6', size);
    this.deadline = carver.f64('neighbourCache6', size);
    this.touched = carver.f64('neighbourCache6', size);
  }

  /** The entry for `a[o .. o+16)` on interface `ifIndex`, or -1. */
  find(ifIndex: number, a: Uint8Array, o: number): number {
    const k = (a[o + 12] << 24) | (a[o + 13] << 16) | (a[o + 14] << 8) | a[o + 15];
    const m = this.memo;
    if (m >= 0 && this.key[m] === k && this.state[m] !== NC_FREE && this.ifIndex[m] === ifIndex && this.same(m, a, o)) return m;
    for (let i = 0; i < this.size; i++) {
      if (this.key[i] === k && this.state[i] !== NC_FREE && this.ifIndex[i] === ifIndex && this.same(i, a, o)) {
        this.memo = i;
        return i;
      }
    }
    return -1;
  }

  private same(e: number, a: Uint8Array, o: number): boolean {
    const base = e * 16;
    for (let i = 0; i < 12; i++) if (this.addr[base + i] !== a[o + i]) return false;
    return true;
  }

  private sameMac(e: number, m: Uint8Array, mo: number): boolean {
    const base = e * 6;
    return this.mac[base] === m[mo] && this.mac[base + 1] === m[mo + 1] && this.mac[base + 2] === m[mo + 2]
      && this.mac[base + 3] === m[mo + 3] && this.mac[base + 4] === m[mo + 4] && this.mac[base + 5] === m[mo + 5];
  }

  /**
   * A slot for a new entry: a free one, else the INCOMPLETE entry started
   * longest ago (a flood toward silent addresses churns only among those, as
   * in arp.ts), else the least recently used non-router entry, else the least
   * recently used one. -1 only for a zero-size table.
   */
  private claim(): number {
    let incomplete = -1;
    let host = -1;
    let any = -1;
    for (let i = 0; i < this.size; i++) {
      const s = this.state[i];
      if (s === NC_FREE) return i;
      const t = this.touched[i];
      if (s === NC_INCOMPLETE) {
        if (incomplete < 0 || t < this.touched[incomplete]) incomplete = i;
      } else if (this.isRouter[i] === 0) {
        if (host < 0 || t < this.touched[host]) host = i;
      }
      if (any < 0 || t < this.touched[any]) any = i;
    }
    const e = incomplete >= 0 ? incomplete : host >= 0 ? host : any;
    if (e < 0) return -1;
    this.evictions++;
    this.remove(e, true);
    return e;
  }

  private init(e: number, ifIndex: number, a: Uint8Array, o: number, now: number): void {
    copyBytes(a, o, this.addr, e * 16, 16);
    this.key[e] = (a[o + 12] << 24) | (a[o + 13] << 16) | (a[o + 14] << 8) | a[o + 15];
    this.ifIndex[e] = ifIndex;
    this.isRouter[e] = 0;
    this.probes[e] = 0;
    this.touched[e] = now;
    this.memo = e;
  }

  private setDeadline(e: number, t: number): void {
    this.deadline[e] = t;
    if (t < this.nextDeadline) this.nextDeadline = t;
  }

  private enter(e: number, state: number, now: number): void {
    this.state[e] = state;
    this.probes[e] = 0;
    switch (state) {
      case NC_REACHABLE: this.setDeadline(e, now + this.timing.reachableMs); break;
      case NC_DELAY: this.setDeadline(e, now + this.timing.delayMs); break;
      case NC_STALE: this.deadline[e] = Infinity; break;
      default: break;
    }
  }

  /**
   * The entry to send a packet to `a` through, for output (§7.2.2, §7.3.3):
   * a usable entry (REACHABLE, DELAY, PROBE; STALE moves to DELAY), or an
   * INCOMPLETE one whose packets the caller parks; a new one's first
   * solicitation is due at once ({@link due}). -1 when the table has no room.
   */
  lookupForSend(ifIndex: number, a: Uint8Array, o: number, now: number): number {
    let e = this.find(ifIndex, a, o);
    if (e >= 0) {
      this.touched[e] = now;
      if (this.state[e] === NC_STALE) this.enter(e, NC_DELAY, now);
      return e;
    }
    e = this.claim();
    if (e < 0) return -1;
    this.init(e, ifIndex, a, o, now);
    this.state[e] = NC_INCOMPLETE;
    this.probes[e] = 0;
    // The first solicitation is due now: the caller parks its packet, then calls due() (or poll sends it).
    this.setDeadline(e, now);
    return e;
  }

  /**
   * A message from `a` carrying its link-layer address `m` (source LLA of an
   * NS, RS, RA, or Redirect target, §7.2.3, §6.3.4, §6.2.6, §8.3): create the
   * entry STALE, or when the address changed set it and move to STALE; an
   * INCOMPLETE entry is resolved (its packets go out). `create` false
   * updates only an existing entry (an RS of a host, §6.2.6, creates too;
   * callers decide). Returns the entry or -1.
   */
  learn(ifIndex: number, a: Uint8Array, o: number, m: Uint8Array, mo: number, now: number, create: boolean): number {
    let e = this.find(ifIndex, a, o);
    if (e < 0) {
      if (!create) return -1;
      e = this.claim();
      if (e < 0) return -1;
      this.init(e, ifIndex, a, o, now);
      copyBytes(m, mo, this.mac, e * 6, 6);
      this.enter(e, NC_STALE, now);
      return e;
    }
    const s = this.state[e];
    if (s === NC_INCOMPLETE) {
      copyBytes(m, mo, this.mac, e * 6, 6);
      this.enter(e, NC_STALE, now);
      this.actions.resolved(e);
    } else if (!this.sameMac(e, m, mo)) {
      copyBytes(m, mo, this.mac, e * 6, 6);
      this.enter(e, NC_STALE, now);
    }
    return e;
  }

  /**
   * A neighbour advertisement for `a` with NA flags `flags` (byte 4 of the
   * message) and target link-layer address `m` (null when absent), §7.2.5.
   * Returns the entry, or -1 when there is none (an unsolicited NA creates
   * nothing) or it was ignored.
   */
  advert(ifIndex: number, a: Uint8Array, o: number, m: Uint8Array | null, mo: number, flags: number, now: number): number {
    this.routerLost = false;
    const e = this.find(ifIndex, a, o);
    if (e < 0) return -1;
    const solicited = (flags & NA_SOLICITED) !== 0;
    const router = (flags & NA_ROUTER) !== 0 ? 1 : 0;
    if (this.state[e] === NC_INCOMPLETE) {
      if (m === null) return -1; // §7.2.5: no TLLA, nothing to record
      copyBytes(m, mo, this.mac, e * 6, 6);
      this.enter(e, solicited ? NC_REACHABLE : NC_STALE, now);
      this.isRouter[e] = router;
      this.touched[e] = now;
      this.actions.resolved(e);
      return e;
    }
    const differs = m !== null && !this.sameMac(e, m, mo);
    if ((flags & NA_OVERRIDE) === 0 && differs) {
      // Not an override and a different address: REACHABLE becomes STALE, otherwise ignored.
      if (this.state[e] === NC_REACHABLE) this.enter(e, NC_STALE, now);
      return -1;
    }
    if (differs && m !== null) copyBytes(m, mo, this.mac, e * 6, 6);
    if (solicited) {
      this.enter(e, NC_REACHABLE, now);
      this.touched[e] = now;
    } else if (differs) {
      this.enter(e, NC_STALE, now);
    }
    if (this.isRouter[e] === 1 && router === 0) this.routerLost = true;
    this.isRouter[e] = router;
    return e;
  }

  /** Upper-layer reachability confirmation (§7.3.1, e.g. a TCP ACK for new data). */
  confirm(e: number, now: number): void {
    const s = this.state[e];
    if (s === NC_FREE || s === NC_INCOMPLETE) return;
    this.enter(e, NC_REACHABLE, now);
    this.touched[e] = now;
  }

  /** Mark entry `e` as a router or not (an RA's source is one, §6.3.4). */
  setRouter(e: number, router: boolean): void {
    this.isRouter[e] = router ? 1 : 0;
  }

  /** Remove entry `e`; `failed` true reports it (drops what is parked). */
  remove(e: number, failed: boolean): void {
    if (this.state[e] === NC_FREE) return;
    if (failed) this.actions.failed(e, true);
    this.state[e] = NC_FREE;
    this.deadline[e] = Infinity;
    if (this.memo === e) this.memo = -1;
  }

  /** Run the timers at `now` (§7.3.3); leaves the earliest deadline in {@link nextDeadline}. */
  poll(now: number): void {
    let next = Infinity;
    for (let e = 0; e < this.size; e++) {
      if (this.state[e] === NC_FREE) continue;
      if (this.deadline[e] <= now) this.due(e, now);
      if (this.state[e] !== NC_FREE && this.deadline[e] < next) next = this.deadline[e];
    }
    this.nextDeadline = next;
  }

  /** Run entry `e`'s timer if it is due at `now`: one transition or (re)transmission. */
  due(e: number, now: number): void {
    const s = this.state[e];
    if (s === NC_FREE || this.deadline[e] > now) return;
    const t = this.timing;
    if (s === NC_REACHABLE) {
      this.enter(e, NC_STALE, now);
    } else if (s === NC_DELAY) {
      // §7.3.3: DELAY_FIRST_PROBE_TIME passed without confirmation → PROBE, first unicast probe.
      this.state[e] = NC_PROBE;
      this.probes[e] = 1;
      this.setDeadline(e, now + t.retransMs);
      this.actions.solicit(e, true);
    } else if (s === NC_INCOMPLETE || s === NC_PROBE) {
      const max = s === NC_INCOMPLETE ? t.maxMulticast : t.maxUnicast;
      if (this.probes[e] >= max) {
        this.actions.failed(e, false);
        this.state[e] = NC_FREE;
        this.deadline[e] = Infinity;
        if (this.memo === e) this.memo = -1;
        return;
      }
      this.probes[e]++;
      this.setDeadline(e, now + t.retransMs);
      this.actions.solicit(e, s === NC_PROBE);
    }
  }

  /** Forget the entries of interface `ifIndex` (parked packets dropped through `failed`). */
  flushInterface(ifIndex: number): void {
    for (let e = 0; e < this.size; e++) if (this.state[e] !== NC_FREE && this.ifIndex[e] === ifIndex) this.remove(e, true);
  }

  /** Entries in use. */
  get count(): number {
    let n = 0;
    for (let e = 0; e < this.size; e++) if (this.state[e] !== NC_FREE) n++;
    return n;
  }

  /** The entries in use, for display and tests (allocates). */
  entries(): NeighbourEntry6[] {
    const out: NeighbourEntry6[] = [];
    for (let e = 0; e < this.size; e++) {
      if (this.state[e] === NC_FREE) continue;
      out.push({
        address: this.addr.slice(e * 16, e * 16 + 16), mac: this.mac.slice(e * 6, e * 6 + 6),
        state: NC_STATE_NAMES[this.state[e]], router: this.isRouter[e] === 1, ifIndex: this.ifIndex[e],
      });
    }
    return out;
  }
}
