/**
 * Half-open connection requests (a listener's SYN received, SYN-ACK sent,
 * third segment awaited), kept apart from the socket table as compact
 * records, like Linux's request socks: a flood of SYNs costs records of
 * `tcpSynBacklog`, never TCP connections or buffers. The records are
 * parallel typed arrays from the memory plan, found by 4-tuple through a
 * hash, and kept on a list in arrival order so the oldest is evicted first.
 */
import type { Carver } from '../../storage/arena.js';
import { copyBytes } from '../../wire/bytes.js';
import { AF_INET6, addr6Equal, fold6 } from '../socket-table.js';

/** Option bits of a request (`opt`). */
export const REQ_TS = 1;
export const REQ_SACK = 2;
export const REQ_WS = 4;

export class SynQueue {
  /** Records in the table. */
  readonly cap: number;
  /**
   * AF_INET or AF_INET6. Family-6 records keep their addresses in
   * `laddr6`/`raddr6` (16 bytes per record, planned only with IPv6) and
   * folds of them in `laddr`/`raddr` (the hash keys).
   */
  readonly family: Uint8Array;
  readonly laddr6: Uint8Array;
  readonly raddr6: Uint8Array;
  readonly laddr: Int32Array;
  readonly raddr: Int32Array;
  readonly lport: Uint16Array;
  readonly rport: Uint16Array;
  /** The peer's ISN and ours. */
  readonly irs: Int32Array;
  readonly iss: Int32Array;
  /** The MSS the peer announced (536 when it did not). */
  readonly peerMss: Uint16Array;
  /** Window shift the peer announced, and the one we offered (valid with REQ_WS). */
  readonly peerWscale: Uint8Array;
  readonly ourWscale: Uint8Array;
  /** REQ_TS | REQ_SACK | REQ_WS as negotiated. */
  readonly opt: Uint8Array;
  /** The peer's TSval from its SYN, and our per-connection TSval offset. */
  readonly tsRecent: Int32Array;
  readonly tsOffset: Int32Array;
  /** Listener slot the request belongs to, -1 when the record is free. */
  readonly listener: Int16Array;
  /** SYN-ACK retransmissions so far. */
  readonly retries: Uint8Array;
  /** When the SYN-ACK was (re)sent last (RTT sample if never retransmitted), and the next timer. */
  readonly sentAt: Float64Array;
  readonly timerAt: Float64Array;
  /** Arrival-order list (doubly linked) of the records in use; `oldest` is its head. */
  private readonly ageNext: Int32Array;
  private readonly agePrev: Int32Array;
  oldest = -1;
  private newest = -1;
  private readonly hashNext: Int32Array;
  private readonly hashHead: Int32Array;
  private readonly hashMask: number;
  private readonly free: Int32Array;
  private freeTop = 0;
  /** Records in use. */
  used = 0;
  /** Earliest timer of any record. */
  nextAt = Infinity;

  constructor(m: Carver, cap: number, ipv6 = true) {
    this.cap = cap;
    const P = 'tcpSynQueue';
    this.family = m.u8(P, cap);
    this.laddr6 = ipv6 ? m.u8(P, 16 * cap) : new Uint8Array(0);
    this.raddr6 = ipv6 ? m.u8(P, 16 * cap) : new Uint8Array(0);
    this.laddr = m.i32(P, cap);
    this.raddr = m.i32(P, cap);
    this.lport = m.u16(P, cap);
    this.rport = m.u16(P, cap);
    this.irs = m.i32(P, cap);
    this.iss = m.i32(P, cap);
    this.peerMss = m.u16(P, cap);
    this.peerWscale = m.u8(P, cap);
    this.ourWscale = m.u8(P, cap);
    this.opt = m.u8(P, cap);
    this.tsRecent = m.i32(P, cap);
    this.tsOffset = m.i32(P, cap);
    this.listener = m.i16(P, cap);
    this.retries = m.u8(P, cap);
    this.sentAt = m.f64(P, cap);
    this.timerAt = m.f64(P, cap);
    this.ageNext = m.i32(P, cap);
    this.agePrev = m.i32(P, cap);
    this.hashNext = m.i32(P, cap);
    let hb = 16;
    while (hb < cap * 2) hb <<= 1;
    this.hashMask = hb - 1;
    this.hashHead = m.i32(P, hb);
    this.free = m.i32(P, cap);
    this.hashHead.fill(-1);
    this.listener.fill(-1);
    for (let i = cap - 1; i >= 0 && this.free.length > 0; i--) this.free[this.freeTop++] = i;
  }

  /** No record is free. */
  get full(): boolean {
    return this.freeTop === 0;
  }

  private bucket(laddr: number, lport: number, raddr: number, rport: number): number {
    let h = Math.imul(laddr ^ 0x2545f491, 0x85ebca6b) ^ Math.imul(raddr, 0xc2b2ae35) ^ ((lport << 16) | rport);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & this.hashMask;
  }

  /** The record of a 4-tuple, or -1. */
  lookup(laddr: number, lport: number, raddr: number, rport: number): number {
    for (let r = this.hashHead[this.bucket(laddr, lport, raddr, rport)]; r >= 0; r = this.hashNext[r]) {
      if (this.rport[r] === rport && this.raddr[r] === raddr && this.lport[r] === lport && this.laddr[r] === laddr
        && this.family[r] !== AF_INET6) {
        return r;
      }
    }
    return -1;
  }

  /** The family-6 record of a 4-tuple (addresses `l[lo]`, `r[ro]`), or -1. */
  lookup6(l: Uint8Array, lo: number, lport: number, r: Uint8Array, ro: number, rport: number): number {
    const la = fold6(l, lo);
    const ra = fold6(r, ro);
    for (let i = this.hashHead[this.bucket(la, lport, ra, rport)]; i >= 0; i = this.hashNext[i]) {
      if (this.rport[i] === rport && this.raddr[i] === ra && this.lport[i] === lport && this.laddr[i] === la
        && this.family[i] === AF_INET6 && addr6Equal(this.raddr6, 16 * i, r, ro) && addr6Equal(this.laddr6, 16 * i, l, lo)) {
        return i;
      }
    }
    return -1;
  }

  /** {@link insert} for an IPv6 4-tuple: -1 when the table is full. */
  insert6(l: Uint8Array, lo: number, lport: number, r: Uint8Array, ro: number, rport: number, listener: number): number {
    const i = this.insert(fold6(l, lo), lport, fold6(r, ro), rport, listener);
    if (i < 0) return i;
    this.family[i] = AF_INET6;
    copyBytes(l, lo, this.laddr6, 16 * i, 16);
    copyBytes(r, ro, this.raddr6, 16 * i, 16);
    return i;
  }

  /** A free record for the 4-tuple, entered in the hash and as the newest; -1 when the table is full. */
  insert(laddr: number, lport: number, raddr: number, rport: number, listener: number): number {
    if (this.freeTop === 0) return -1;
    const r = this.free[--this.freeTop];
    this.family[r] = 4;
    this.laddr[r] = laddr;
    this.lport[r] = lport;
    this.raddr[r] = raddr;
    this.rport[r] = rport;
    this.listener[r] = listener;
    this.retries[r] = 0;
    this.opt[r] = 0;
    this.timerAt[r] = Infinity;
    const b = this.bucket(laddr, lport, raddr, rport);
    this.hashNext[r] = this.hashHead[b];
    this.hashHead[b] = r;
    this.agePrev[r] = this.newest;
    this.ageNext[r] = -1;
    if (this.newest >= 0) this.ageNext[this.newest] = r;
    else this.oldest = r;
    this.newest = r;
    this.used++;
    return r;
  }

  /** Free a record. */
  remove(r: number): void {
    const b = this.bucket(this.laddr[r], this.lport[r], this.raddr[r], this.rport[r]);
    let prev = -1;
    for (let i = this.hashHead[b]; i >= 0; i = this.hashNext[i]) {
      if (i === r) {
        if (prev < 0) this.hashHead[b] = this.hashNext[i];
        else this.hashNext[prev] = this.hashNext[i];
        break;
      }
      prev = i;
    }
    const p = this.agePrev[r];
    const n = this.ageNext[r];
    if (p >= 0) this.ageNext[p] = n;
    else this.oldest = n;
    if (n >= 0) this.agePrev[n] = p;
    else this.newest = p;
    this.listener[r] = -1;
    this.timerAt[r] = Infinity;
    this.free[this.freeTop++] = r;
    this.used--;
  }

  /** The record after `r` in arrival order, -1 at the end. */
  next(r: number): number {
    return this.ageNext[r];
  }

  /** Arm a record's timer. */
  arm(r: number, at: number): void {
    this.timerAt[r] = at;
    if (at < this.nextAt) this.nextAt = at;
  }
}
