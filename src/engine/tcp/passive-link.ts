/**
 * Handing a listener that answers with SYN cookies to the SYN responder of
 * the link its SYN-ACKs leave through (engine/tcp/syn-responder.ts): the
 * TAP RX thread's (IPv4) or the device's egress program (IPv4 and IPv6).
 * Split from passive.ts, whose cookie path calls it; nothing here runs per
 * packet except on a cookie SYN-ACK, and nothing allocates.
 */
import type { NetInterface } from '../netif.js';
import type { TcpCore } from './core.js';
import { LISTEN } from './tcb.js';
import { SYNR_SACK, SYNR_TIMESTAMPS, SYNR_WSCALE, SYN_RESPONDER_HOLD_MS, SynHandOffs, type SynResponder } from './syn-responder.js';

/** What the hand-off needs of the listener's side (TcpPassive). */
export interface HandOffListener {
  /** The window of listener `l`'s SYN-ACKs. */
  synWindow(l: number): number;
  /** Our window scale for a child of `l`. */
  ourWscale(l: number): number;
  /** Whether `l`'s requests overflow its share of the queue (cookies are due). */
  overflowing(l: number): boolean;
}

export class LinkHandOff {
  /**
   * Until when a link's responder may send cookies for us (engine clock,
   * ms; -Infinity: never handed): TcpPassive looks for cookie ACKs until
   * then (plus the cookies' lifetime).
   */
  heldUntil = -Infinity;
  /** Listeners handed, renewed from {@link renewAll} while their queue overflows. */
  private readonly handed = new SynHandOffs((l, sr, addr, port, mss, now, a6, at, hop) =>
    this.renew(l, sr, addr, port, mss, now, a6, at, hop));
  /** Our IPv6 address as the four big-endian words a responder takes (the words of the IPv6 cookie's hash). */
  private readonly words6 = new Int32Array(4);

  constructor(private readonly core: TcpCore, private readonly cookieKey: Int32Array,
    private readonly p: HandOffListener) {}

  /**
   * Renew the hand-offs when due. The deadline is compared here, not read
   * through a getter by the caller: Maglev (Node 24 and later) returned it
   * (Infinity when nothing is handed) as a new heap number per poll.
   */
  renewIfDue(now: number): void {
    if (now >= this.handed.renewAt) this.handed.renewAll(now);
  }

  /** Keys, constants and the clock for link responder `sr` (before each activation). */
  private configure(sr: SynResponder, now: number): void {
    const c = this.core;
    const cfg = c.cfg;
    sr.configure(this.cookieKey, c.tsSecret, cfg.ttl, (cfg.tcpTimestamps === 1 ? SYNR_TIMESTAMPS : 0)
      | (cfg.tcpSack === 1 ? SYNR_SACK : 0) | (cfg.tcpWindowScaling === 1 ? SYNR_WSCALE : 0), now);
  }

  /**
   * Listener `l` (IPv4, `laddr`:`lport`) is answering with cookies, its
   * SYN-ACK (MSS option `mss`) just left through `iface`: let that link
   * answer further SYNs to it itself for a while (its reader thread,
   * native/syn_responder.c, or the egress program), with the same keys, so
   * a flood costs the engine nothing; the ACKs still come to the engine.
   * Cookies may then go out until the hold ends ({@link heldUntil}).
   */
  handToLink(l: number, iface: NetInterface | null, laddr: number, lport: number, mss: number): void {
    const sr = iface === null ? null : iface.link.synResponder ?? null;
    if (sr === null) return;
    const now = this.core.ctx.now;
    this.configure(sr, now);
    if (sr.activate(laddr, lport, mss, this.p.synWindow(l), this.p.ourWscale(l), now + SYN_RESPONDER_HOLD_MS)) {
      this.heldUntil = now + SYN_RESPONDER_HOLD_MS;
      this.handed.remember(l, sr, laddr, lport, mss, now);
    }
  }

  /**
   * {@link handToLink} for an IPv6 listener (our address `a[ao]`): only to
   * a responder that answers IPv6 (SynResponder.activate6: the TAP
   * device's egress program), with the hop limit Ipv6.output6 gives our
   * SYN-ACKs on that interface (a router's Cur Hop Limit, RFC 4861 6.3.4,
   * else the stack's ttl), so its answers are the engine's byte for byte.
   */
  handToLink6(l: number, iface: NetInterface | null, a: Uint8Array, ao: number, lport: number, mss: number): void {
    if (iface === null) return;
    const sr = iface.link.synResponder ?? null;
    if (sr === null || sr.activate6 === undefined) return;
    const w = this.words6;
    for (let i = 0; i < 4; i++) {
      const p = ao + 4 * i;
      w[i] = (a[p] << 24) | (a[p + 1] << 16) | (a[p + 2] << 8) | a[p + 3];
    }
    const now = this.core.ctx.now;
    // The hop limit is the one at hand-off: a Router Advertisement changing it meanwhile is applied from the
    // next hand-off (a hold is a second; a renewal keeps the value).
    const hop = iface.hopLimit6 !== 0 ? iface.hopLimit6 : this.core.cfg.ttl;
    this.configure(sr, now);
    if (sr.activate6(w, 0, lport, mss, this.p.synWindow(l), this.p.ourWscale(l), hop, now + SYN_RESPONDER_HOLD_MS)) {
      this.heldUntil = now + SYN_RESPONDER_HOLD_MS;
      this.handed.remember6(l, sr, w, 0, lport, mss, hop, now);
    }
  }

  /**
   * Renew a handed listener's hold while it still overflows; false: forget it (the hold lapses). IPv6 (`a6`
   * not null): the address `a6[at..at+4)` and hop limit `hop` it was handed with.
   */
  private renew(l: number, sr: SynResponder, addr: number, port: number, mss: number, now: number,
    a6: Int32Array | null, at: number, hop: number): boolean {
    const c = this.core;
    if (c.t.state[l] !== LISTEN || c.sockets.localPort[l] !== port || !this.p.overflowing(l)) return false;
    const until = now + SYN_RESPONDER_HOLD_MS;
    const win = this.p.synWindow(l);
    const ws = this.p.ourWscale(l);
    if (a6 === null ? !sr.activate(addr, port, mss, win, ws, until)
      : sr.activate6 === undefined || !sr.activate6(a6, at, port, mss, win, ws, hop, until)) {
      return false;
    }
    this.heldUntil = until;
    return true;
  }
}
