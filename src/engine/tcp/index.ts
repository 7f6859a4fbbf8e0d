/** TCP assembled: control blocks, input, output, congestion control, timers and the user calls. */
import type { Carver } from '../../storage/arena.js';
import type { SocketTable } from '../socket-table.js';
import type { EngineContext } from '../context.js';
import type { IpOutput } from '../ipv4.js';
import type { Ip6Output } from '../ipv6.js';
import type { NetInterface } from '../netif.js';
import { TcpCore, createTcpStats, type TcpStats } from './core.js';
import { TcpInput } from './input.js';
import { SynQueue } from './syn-queue.js';
import { TcbTable, type TcbOptions } from './tcb.js';
import { TcpTimers } from './timers.js';
import { TcpUser } from './user.js';
import { TcpUser6 } from './user6.js';

export { createTcpStats, type TcpStats };
export type { TcpInfo } from './user.js';
export { SHUT_RD, SHUT_WR, SHUT_RDWR } from './user.js';
export { STATE_NAMES } from './tcb.js';

/** What TCP's memory is planned from. */
export interface TcpOptions extends TcbOptions {
  tcpSynBacklog: number;
  /** Plan IPv6 request records (default on). */
  ipv6?: boolean | number;
}

export class Tcp {
  readonly core: TcpCore;
  readonly user: TcpUser;
  /** bind and connect with IPv6 addresses (the other calls are user's). */
  readonly user6: TcpUser6;
  /** Segment input: IPv4 input delivers to it directly (one call less per segment than through {@link input}). */
  readonly rx: TcpInput;
  private readonly timers: TcpTimers;

  /** Lay out TCP's memory (control blocks, buffer pool, request records) in a plan. */
  static plan(m: Carver, options: TcpOptions): void {
    new TcbTable(m, options);
    new SynQueue(m, options.tcpSynBacklog, options.ipv6 !== false && options.ipv6 !== 0);
  }

  /** @param ip6 IPv6 output; null when the stack has no IPv6 (family-6 sockets then cannot route). */
  constructor(m: Carver, ctx: EngineContext, ip: IpOutput, sockets: SocketTable, options: TcpOptions, stats: TcpStats,
    ip6: Ip6Output | null = null) {
    const table = new TcbTable(m, options);
    this.core = new TcpCore(m, ctx, ip, sockets, table, stats, this, options.tcpSynBacklog, ip6);
    this.rx = new TcpInput(this.core);
    this.timers = new TcpTimers(this.core);
    this.user = new TcpUser(this.core);
    this.user6 = new TcpUser6(this.core);
  }

  /** A segment over IPv6 (Transport6Input). */
  input6(iface: NetInterface, b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, multicast: boolean): void {
    this.rx.input6(iface, b, ipOff, l4Off, l4Len, multicast);
  }

  /** Neighbour discovery gave up on `addr[off]`: active opens to it fail now (EHOSTUNREACH). */
  hostUnreachable6(addr: Uint8Array, off: number): void {
    this.core.v6.hostUnreachable6(addr, off);
  }

  /** ICMPv6 errors about our segments (Tcp6ErrorSink). */
  icmp6Error(b: Uint8Array, laddrOff: number, lport: number, raddrOff: number, rport: number, seq: number,
    errno: number, mtu: number): void {
    this.core.v6.icmp6Error(b, laddrOff, lport, raddrOff, rport, seq, errno, mtu);
  }

  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    this.rx.input(iface, b, o, hlen, total, src, dst, bcast);
  }

  /**
   * Earliest TCP timer: connections' timers and the SYN queue's SYN-ACK
   * retransmissions. Kept current by every arm (TcpCore.arm, TcpCore.armRequest
   * lower it as they set a timer, between polls too: a send on an idle
   * connection arms its retransmission) and recomputed by {@link poll}. A
   * field, not a getter: a getter V8 does not inline returns its Infinity or
   * fractional time boxed, a heap number per poll (seen as 64 B per IPv6 UDP
   * round trip when Stack.poll grew past the inlining budget).
   */
  nextDeadline = Infinity;

  /** Run due timers at the stack's current time; leaves the earliest timer in {@link nextDeadline}. */
  poll(): void {
    const core = this.core;
    if (core.heldCount > 0) this.timers.sendHeld();
    // The timers' own early return, tested here (inlined into the stack's poll): the timer scan
    // is a larger function V8 optimizes late, and unoptimized it boxes the double it compares.
    if (core.ctx.now >= core.nextTimer) this.timers.poll();
    core.passive.poll();
    const q = core.passive.q.nextAt;
    this.nextDeadline = q < core.nextTimer ? q : core.nextTimer;
    // A held quick ACK is owed to the next poll: due now, unless settle() finds that a reply carried it.
    if (core.heldCount > 0 && core.ctx.now < this.nextDeadline) this.nextDeadline = core.ctx.now;
  }

  /**
   * After the application's callbacks (Stack's deadline): held quick ACKs
   * that a reply carried no longer keep TCP's deadline due, so an HTTP
   * request answered in its callback costs no extra poll.
   */
  settle(): void {
    const core = this.core;
    if (core.heldCount === 0 || this.timers.settleHeld()) return;
    const q = core.passive.q.nextAt;
    this.nextDeadline = q < core.nextTimer ? q : core.nextTimer;
  }
}
