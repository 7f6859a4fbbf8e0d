/**
 * A link's native SYN-cookie responder as the TCP layer drives it (the TAP
 * RX thread's, native/syn_responder.c through src/link/syn-responder.ts).
 *
 * When a listener's request queue overflows and the stack answers a SYN
 * with a cookie (RFC 4987 3.6), TcpPassive hands the listener to the
 * responder of the link the SYN-ACK left through for a short hold
 * ({@link SYN_RESPONDER_HOLD_MS}): the link's reader thread then answers
 * further pure SYNs to that address and port itself, with the same cookie,
 * options and timestamp the engine would send (the keys are shared), and
 * the engine never sees them. The ACK completing the handshake comes to the
 * engine as usual and is checked against the same keys. Once the hold ends
 * the next SYN comes to the engine again, which renews it while its queue
 * is still full.
 */

/** Option bits of {@link SynResponder.configure} (the stack's sysctls). */
export const SYNR_TIMESTAMPS = 1;
export const SYNR_SACK = 2;
export const SYNR_WSCALE = 4;

/** How long one activation lasts, ms: short, so a closed listener or a changed window is not served for long. */
export const SYN_RESPONDER_HOLD_MS = 1000;

export interface SynResponder {
  /**
   * Keys and constants: the cookie hash keys (4 words), the timestamp-offset
   * secret (4 words), the IP TTL, {@link SYNR_TIMESTAMPS} | ..., and the
   * engine's clock now (ms), which the responder's own clock is aligned to.
   */
  configure(cookieKey: Int32Array, tsSecret: Int32Array, ttl: number, opts: number, now: number): void;
  /**
   * Answer pure SYNs to `addr`:`port` (IPv4) with cookies until `until`
   * (engine clock, ms), advertising `mss`, `window` and, when the peer
   * offers window scaling, `wscale`. False when the responder's table is full.
   */
  activate(addr: number, port: number, mss: number, window: number, wscale: number, until: number): boolean;
  /**
   * {@link activate} for an IPv6 listener (RFC 8200): its address as four
   * big-endian words at `addr[at..at+4)` (the words of the engine's IPv6
   * cookie hash; no object per call), `hopLimit` the hop limit its SYN-ACKs
   * carry (the interface's, as Ipv6.output6 picks it). Absent where the
   * responder answers IPv4 only (the RX thread's, native/syn_responder.c):
   * IPv6 listeners are then not handed over and the engine answers them.
   */
  activate6?(addr: Int32Array, at: number, port: number, mss: number, window: number, wscale: number, hopLimit: number,
    until: number): boolean;
  /** Stop answering for `port` at once (its listener closed), both families. */
  deactivate(port: number): void;
}

/** Listeners handed to responders at once (more are not renewed: their holds lapse). */
const HANDED = 8;

/**
 * The listeners TcpPassive handed to a link's responder. Every half hold it
 * asks `renew` for each (the listener's queue still overflowing: activate
 * again); one it declines is forgotten and its hold lapses, so the next SYN
 * comes to the engine. A long flood thus stays on the link without a burst
 * of SYNs reaching the engine at the end of every hold.
 */
export class SynHandOffs {
  private readonly l = new Int32Array(HANDED).fill(-1);
  private readonly addr = new Int32Array(HANDED);
  /** An IPv6 listener's address (4 big-endian words per slot); `hop` >= 0 marks the slot as IPv6. */
  private readonly addr6 = new Int32Array(4 * HANDED);
  private readonly hop = new Int32Array(HANDED).fill(-1);
  private readonly port = new Int32Array(HANDED);
  private readonly mss = new Int32Array(HANDED);
  private readonly to: Array<SynResponder | null> = new Array<SynResponder | null>(HANDED).fill(null);
  /** When {@link renewAll} is due (Infinity: nothing handed). */
  renewAt = Infinity;

  /**
   * @param renew renews slot's hold: IPv4 (`a6` null) for `addr`, IPv6 for the words `a6[at..at+4)` with hop
   *   limit `hop`; false: forget it
   */
  constructor(private readonly renew: (l: number, sr: SynResponder, addr: number, port: number, mss: number,
    now: number, a6: Int32Array | null, at: number, hop: number) => boolean) {}

  /** Listener `l` (its `addr`:`port`, SYN-ACK MSS `mss`) was just handed to `sr`. */
  remember(l: number, sr: SynResponder, addr: number, port: number, mss: number, now: number): void {
    let k = 0;
    while (k < HANDED && this.l[k] >= 0
      && !(this.l[k] === l && this.to[k] === sr && this.hop[k] < 0 && this.addr[k] === (addr | 0))) k++;
    if (k === HANDED) return;
    this.hop[k] = -1;
    this.set(k, l, sr, addr, port, mss, now);
  }

  /** Listener `l` (IPv6: its address the words `a6[at..at+4)`, port `port`, hop limit `hop`) was just handed to `sr`. */
  remember6(l: number, sr: SynResponder, a6: Int32Array, at: number, port: number, mss: number, hop: number,
    now: number): void {
    const w = this.addr6;
    let k = 0;
    while (k < HANDED && this.l[k] >= 0 && !(this.l[k] === l && this.to[k] === sr && this.hop[k] >= 0
      && w[4 * k] === a6[at] && w[4 * k + 1] === a6[at + 1] && w[4 * k + 2] === a6[at + 2] && w[4 * k + 3] === a6[at + 3])) k++;
    if (k === HANDED) return;
    for (let i = 0; i < 4; i++) w[4 * k + i] = a6[at + i];
    this.hop[k] = hop;
    this.set(k, l, sr, 0, port, mss, now);
  }

  private set(k: number, l: number, sr: SynResponder, addr: number, port: number, mss: number, now: number): void {
    this.l[k] = l;
    this.addr[k] = addr;
    this.port[k] = port;
    this.mss[k] = mss;
    this.to[k] = sr;
    if (this.renewAt === Infinity) this.renewAt = now + (SYN_RESPONDER_HOLD_MS >> 1);
  }

  renewAll(now: number): void {
    let left = 0;
    for (let k = 0; k < HANDED; k++) {
      const sr = this.to[k];
      if (this.l[k] < 0 || sr === null) continue;
      const v6 = this.hop[k] >= 0;
      if (this.renew(this.l[k], sr, this.addr[k], this.port[k], this.mss[k], now, v6 ? this.addr6 : null, 4 * k,
        this.hop[k])) {
        left++;
      } else {
        this.l[k] = -1;
        this.to[k] = null;
      }
    }
    this.renewAt = left > 0 ? now + (SYN_RESPONDER_HOLD_MS >> 1) : Infinity;
  }
}
