/** TCP assembled: control blocks, input, output, congestion control, timers and the user calls. */
import type { Carver } from '../../storage/arena.js';
import type { SocketTable } from '../socket-table.js';
import type { EngineContext } from '../context.js';
import type { IpOutput } from '../ipv4.js';
import type { NetInterface } from '../netif.js';
import { TcpCore, createTcpStats, type TcpStats } from './core.js';
import { TcpInput } from './input.js';
import { SynQueue } from './syn-queue.js';
import { TcbTable, type TcbOptions } from './tcb.js';
import { TcpTimers } from './timers.js';
import { TcpUser } from './user.js';

export { createTcpStats, type TcpStats };
export type { TcpInfo } from './user.js';
export { SHUT_RD, SHUT_WR, SHUT_RDWR } from './user.js';
export { STATE_NAMES } from './tcb.js';

/** What TCP's memory is planned from. */
export interface TcpOptions extends TcbOptions {
  tcpSynBacklog: number;
}

export class Tcp {
  readonly core: TcpCore;
  readonly user: TcpUser;
  private readonly rx: TcpInput;
  private readonly timers: TcpTimers;

  /** Lay out TCP's memory (control blocks, buffer pool, request records) in a plan. */
  static plan(m: Carver, options: TcpOptions): void {
    new TcbTable(m, options);
    new SynQueue(m, options.tcpSynBacklog);
  }

  constructor(m: Carver, ctx: EngineContext, ip: IpOutput, sockets: SocketTable, options: TcpOptions, stats: TcpStats) {
    const table = new TcbTable(m, options);
    this.core = new TcpCore(m, ctx, ip, sockets, table, stats, options.tcpSynBacklog);
    this.rx = new TcpInput(this.core);
    this.timers = new TcpTimers(this.core);
    this.user = new TcpUser(this.core);
  }

  input(iface: NetInterface, b: Uint8Array, o: number, hlen: number, total: number, src: number, dst: number,
    bcast: boolean): void {
    this.rx.input(iface, b, o, hlen, total, src, dst, bcast);
  }

  /** Run due timers at the stack's current time. */
  poll(): void {
    this.timers.poll();
    this.core.passive.poll();
  }

  /** Earliest TCP timer (connections and SYN-ACK retransmissions of requests). */
  get nextDeadline(): number {
    const q = this.core.passive.q.nextAt;
    return q < this.core.nextTimer ? q : this.core.nextTimer;
  }
}
