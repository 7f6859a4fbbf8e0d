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
  /** Stop answering for `port` at once (its listener closed). */
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
  private readonly port = new Int32Array(HANDED);
  private readonly mss = new Int32Array(HANDED);
  private readonly to: Array<SynResponder | null> = new Array<SynResponder | null>(HANDED).fill(null);
  /** When {@link renewAll} is due (Infinity: nothing handed). */
  renewAt = Infinity;

  constructor(private readonly renew: (l: number, sr: SynResponder, addr: number, port: number, mss: number,
    now: number) => boolean) {}

  /** Listener `l` (its `addr`:`port`, SYN-ACK MSS `mss`) was just handed to `sr`. */
  remember(l: number, sr: SynResponder, addr: number, port: number, mss: number, now: number): void {
    let k = 0;
    while (k < HANDED && this.l[k] >= 0 && !(this.l[k] === l && this.to[k] === sr && this.addr[k] === (addr | 0))) k++;
    if (k === HANDED) return;
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
      if (this.renew(this.l[k], sr, this.addr[k], this.port[k], this.mss[k], now)) {
        left++;
      } else {
        this.l[k] = -1;
        this.to[k] = null;
      }
    }
    this.renewAt = left > 0 ? now + (SYN_RESPONDER_HOLD_MS >> 1) : Infinity;
  }
}
