/**
 * TCP timers: retransmission (RFC 6298), delayed ACK, persist (zero-window
 * probes), keepalive, TIME_WAIT and the FIN_WAIT_2 limit of orphans. The scan
 * over connections runs only when the earliest deadline is due.
 */
import { SOCK_TCP } from '../socket-table.js';
import { Errno } from '../errno.js';
import { HELD_ACKS, type TcpCore } from './core.js';
import {
  FIN_WAIT_2, SYN_RECEIVED, TIME_WAIT, TF_ACKNOW, TF_KEEPALIVE, TF_RTT_TIMING, TF_SACK,
  TF_ACK_HELD, TF_ACK_SOON, TF_PINGPONG,
  isHandshaking, canSend,
} from './tcb.js';

export class TcpTimers {
  constructor(private readonly core: TcpCore) {}

  /** Fire due timers at the context's time; the next deadline is left in core.nextTimer. */
  poll(): void {
    const c = this.core;
    const now = c.ctx.now;
    if (now < c.nextTimer) return;
    const t = c.t;
    const types = c.sockets.type;
    let next = Infinity;
    // Up to the highest slot in use, not the capacity: a scan runs at every due timer (a held ACK's
    // next poll too), and a table of thousands of slots holds a few dozen connections most of the time.
    const end = c.sockets.top < t.n ? c.sockets.top : t.n;
    for (let s = 0; s < end; s++) {
      if (types[s] !== SOCK_TCP) continue;
      if (t.rackAt[s] <= now) c.rack.onReorderTimeout(s);
      // A probe due no later than the RTO goes first (it restarts the RTO).
      if (t.ptoAt[s] <= now && t.ptoAt[s] <= t.rtoAt[s]) c.out.tailLossProbe(s);
      if (t.rtoAt[s] <= now) this.retransmitTimeout(s);
      if (types[s] !== SOCK_TCP) continue;
      // A quick ACK held for the application's turn (processData): it stays due, the next poll sends it
      // (sendHeld) unless a reply carries it first; listed, it does not hold TCP's deadline at now (settleHeld).
      let listed = false;
      if (t.delackAt[s] <= now && (t.tflags[s] & TF_ACK_HELD) !== 0) {
        t.tflags[s] &= ~TF_ACK_HELD;
        if (c.heldCount < HELD_ACKS) {
          c.heldAcks[c.heldCount++] = s;
          listed = true;
        }
      } else if (t.delackAt[s] <= now) {
        this.delayedAck(s);
      }
      if (t.persistAt[s] <= now) this.persist(s);
      if (t.stateAt[s] <= now) {
        this.stateTimeout(s);
        if (types[s] !== SOCK_TCP) continue;
      }
      const keep = this.keepalive(s, now);
      if (types[s] !== SOCK_TCP) continue;
      let d = t.rtoAt[s];
      if (t.ptoAt[s] < d) d = t.ptoAt[s];
      if (t.rackAt[s] < d) d = t.rackAt[s];
      if (t.delackAt[s] < d && !listed) d = t.delackAt[s];
      if (t.persistAt[s] < d) d = t.persistAt[s];
      if (t.stateAt[s] < d) d = t.stateAt[s];
      if (keep < d) d = keep;
      if (d < next) next = d;
    }
    c.nextTimer = next;
  }

  /** Send connection `s`'s due delayed, quick or end-of-batch ACK. */
  private delayedAck(s: number): void {
    const c = this.core;
    const t = c.t;
    t.delackAt[s] = Infinity;
    // TF_ACK_SOON: the end-of-batch or quick ACK (see TcpInput), not a delayed one.
    if ((t.tflags[s] & TF_ACK_SOON) === 0) {
      c.stats.delayedAcks++;
      // No reply carried the ACK in time: the connection is not interactive
      // after all (Linux tcp_delack_timer_handler leaves ping-pong mode).
      t.tflags[s] &= ~TF_PINGPONG;
    }
    t.tflags[s] |= TF_ACKNOW;
    c.out.output(s);
  }

  /**
   * At the start of a poll: send the held ACKs the last scan listed and no
   * reply has carried since (a reply's ackSent clears delackAt). One held
   * again by this poll's input (TF_ACK_HELD) waits for the scan to list it anew.
   */
  sendHeld(): void {
    const c = this.core;
    const t = c.t;
    const now = c.ctx.now;
    const n = c.heldCount;
    c.heldCount = 0;
    for (let i = 0; i < n; i++) {
      const s = c.heldAcks[i];
      if (c.sockets.type[s] !== SOCK_TCP || t.delackAt[s] > now) continue;
      if ((t.tflags[s] & TF_ACK_HELD) !== 0) {
        // Held again by a segment this poll took in: the scan below lists it (it is due).
        if (now < c.nextTimer) c.nextTimer = now;
        continue;
      }
      this.delayedAck(s);
    }
  }

  /**
   * After the application's callbacks: drop the listed ACKs a reply carried
   * (or whose connection went away). Returns whether any is still owed.
   */
  settleHeld(): boolean {
    const c = this.core;
    const t = c.t;
    const now = c.ctx.now;
    let k = 0;
    for (let i = 0; i < c.heldCount; i++) {
      const s = c.heldAcks[i];
      if (c.sockets.type[s] === SOCK_TCP && t.delackAt[s] <= now) c.heldAcks[k++] = s;
    }
    c.heldCount = k;
    return k > 0;
  }

  private retransmitTimeout(s: number): void {
    const c = this.core;
    const t = c.t;
    const cfg = c.cfg;
    t.rtoAt[s] = Infinity;
    const state = t.state[s];
    if (isHandshaking(state)) {
      if (t.backoff[s] >= cfg.tcpSynRetries) {
        c.stats.timeouts++;
        if (state === SYN_RECEIVED && t.parent[s] >= 0) c.destroy(s);
        else c.finish(s, Errno.ETIMEDOUT);
        return;
      }
      t.backoff[s]++;
      c.stats.retransmits++;
      t.retransmits[s]++;
      c.out.sendSyn(s);
      return;
    }
    if (t.sndUna[s] === t.sndMax[s]) return; // nothing outstanding (a stale timer)
    const now = c.ctx.now;
    if (t.firstRtxTime[s] === 0) t.firstRtxTime[s] = now;
    // TCP_USER_TIMEOUT (RFC 5482): give up when data has gone unacknowledged this long.
    const userGaveUp = t.userTimeout[s] > 0 && now - t.firstRtxTime[s] >= t.userTimeout[s];
    if (t.backoff[s] >= cfg.tcpMaxRetries || userGaveUp) {
      c.stats.timeouts++;
      c.out.sendRstFor(s);
      c.finish(s, Errno.ETIMEDOUT);
      return;
    }
    c.stats.rtoTimeouts++;
    c.cc.onTimeout(s);
    t.backoff[s]++;
    t.tflags[s] &= ~TF_RTT_TIMING;
    // Go back to the first unacknowledged byte; cwnd is one segment now. With
    // SACK, the segments are resent from RACK's records, all marked lost.
    if ((t.tflags[s] & TF_SACK) === 0 || t.buf[s] < 0) t.sndNxt[s] = t.sndUna[s];
    c.out.output(s);
    if (t.rtoAt[s] === Infinity && c.sockets.type[s] === SOCK_TCP && t.sndUna[s] !== t.sndMax[s]) c.out.armRto(s);
  }

  /** Zero-window probe: an ACK the peer must answer with its current window (RFC 9293 3.8.6.1). */
  private persist(s: number): void {
    const c = this.core;
    const t = c.t;
    t.persistAt[s] = Infinity;
    if (t.sndWnd[s] > 0 && c.out.fillWindow(s)) return; // the RTO now covers what was sent
    c.stats.windowProbes++;
    c.out.sendKeepalive(s);
    if (t.backoff[s] < 16) t.backoff[s]++;
    let wait = t.rto[s] * (1 << t.backoff[s]);
    if (wait > c.cfg.tcpMaxRtoMs) wait = c.cfg.tcpMaxRtoMs;
    t.persistAt[s] = c.ctx.now + wait;
  }

  private stateTimeout(s: number): void {
    const c = this.core;
    const t = c.t;
    t.stateAt[s] = Infinity;
    if (t.state[s] === TIME_WAIT || t.state[s] === FIN_WAIT_2) c.finish(s, 0);
  }

  /** Keepalive probes after idle time (RFC 1122 4.2.3.6); returns the next keepalive deadline. */
  private keepalive(s: number, now: number): number {
    const c = this.core;
    const t = c.t;
    const st = t.state[s];
    if ((t.tflags[s] & TF_KEEPALIVE) === 0 || !canSend(st)) return Infinity;
    const due = t.lastRecvTime[s] + t.keepIdle[s] + t.keepProbes[s] * t.keepIntvl[s];
    if (due > now) return due;
    if (t.keepProbes[s] >= t.keepCnt[s]) {
      c.stats.timeouts++;
      c.out.sendRstFor(s);
      c.finish(s, Errno.ETIMEDOUT);
      return Infinity;
    }
    t.keepProbes[s]++;
    c.stats.keepaliveProbes++;
    c.out.sendKeepalive(s);
    return t.lastRecvTime[s] + t.keepIdle[s] + t.keepProbes[s] * t.keepIntvl[s];
  }
}
