/**
 * The JS side of the TAP RX thread's SYN-cookie responder
 * (native/syn_responder.c): writes the words it reads. The layout below
 * mirrors the W_* enum there (version-checked at attach). IPv4 only: it
 * has no activate6 (SynResponder), so it is never offered an IPv6
 * listener; those go to the egress program (syn-responder-bpf.ts) or stay
 * with the engine.
 */
import { SYN_RESPONDER_HOLD_MS, type SynResponder } from '../engine/tcp/syn-responder.js';

const VERSION = 1;
const W_VERSION = 0;
const W_ON = 1;
const W_TTL = 2;
const W_OPTS = 3;
const W_KEY = 4;
const W_SECRET = 8;
const W_ANSWERED = 12;
const W_DROPPED = 13;
const W_TX_ERRORS = 14;
const W_ENTRIES = 15;
const W_QUEUE_FULL = 18;
/** Float64 index of the clock offset (byte 64). */
const D_CLOCK = 8;
const W_ENTRY0 = 32;
const ENTRIES = 8;
const ENTRY_WORDS = 8;

/** What the responder counted. */
export interface SynResponderCounters {
  /** SYNs answered with a cookie on the RX thread. */
  answered: number;
  /** Pure SYNs dropped on the RX thread because the RX ring was three quarters full. */
  dropped: number;
  /** Cookie SYN-ACKs whose write() failed. */
  txErrors: number;
  /** SYNs left unanswered because the responder's writer thread was a whole queue behind (WIRESTACK_SYNR_WRITER=1 only). */
  queueFull: number;
}

/** Milliseconds of CLOCK_MONOTONIC, the responder's clock (uv_hrtime is CLOCK_MONOTONIC on Linux). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class NativeSynResponder implements SynResponder {
  private readonly w: Int32Array;
  private readonly d: Float64Array;
  /** Engine time of the last clock alignment (re-aligned at most once a second). */
  private alignedAt = -Infinity;

  constructor(memory: ArrayBuffer) {
    this.w = new Int32Array(memory);
    this.d = new Float64Array(memory);
    if (this.w[W_VERSION] !== VERSION) throw new Error(`SYN responder layout ${this.w[W_VERSION]}, expected ${VERSION}`);
  }

  configure(cookieKey: Int32Array, tsSecret: Int32Array, ttl: number, opts: number, now: number): void {
    const w = this.w;
    for (let i = 0; i < 4; i++) {
      w[W_KEY + i] = cookieKey[i];
      w[W_SECRET + i] = tsSecret[i];
    }
    w[W_TTL] = ttl;
    w[W_OPTS] = opts;
    if (now - this.alignedAt >= 1000 || now < this.alignedAt) {
      this.alignedAt = now;
      this.d[D_CLOCK] = now - monotonicMs();
    }
    Atomics.store(w, W_ON, 1);
  }

  activate(addr: number, port: number, mss: number, window: number, wscale: number, until: number): boolean {
    const w = this.w;
    const n = w[W_ENTRIES];
    let free = -1;
    for (let i = 0; i < n; i++) {
      const e = W_ENTRY0 + i * ENTRY_WORDS;
      if (w[e + 1] === port && w[e] === (addr | 0)) {
        free = i;
        break;
      }
      if (free < 0 && this.d[(e + 6) >> 1] <= until - SYN_RESPONDER_HOLD_MS) free = i; // expired: reuse
    }
    if (free < 0) {
      if (n >= ENTRIES) return false;
      free = n;
    }
    const e = W_ENTRY0 + free * ENTRY_WORDS;
    // The deadline last: the RX thread checks it first (a torn entry costs at most one SYN-ACK's window).
    this.d[(e + 6) >> 1] = 0;
    w[e] = addr | 0;
    w[e + 1] = port;
    w[e + 2] = mss;
    w[e + 3] = window;
    w[e + 4] = wscale;
    this.d[(e + 6) >> 1] = until;
    if (free >= n) Atomics.store(w, W_ENTRIES, free + 1);
    return true;
  }

  deactivate(port: number): void {
    const w = this.w;
    const n = w[W_ENTRIES];
    for (let i = 0; i < n; i++) {
      const e = W_ENTRY0 + i * ENTRY_WORDS;
      if (w[e + 1] === port) this.d[(e + 6) >> 1] = 0;
    }
  }

  /** Whether an entry is active at `now` (engine clock): a listener's flood is answered by the RX thread. */
  busy(now: number): boolean {
    const n = this.w[W_ENTRIES];
    for (let i = 0; i < n; i++) if (this.d[(W_ENTRY0 + i * ENTRY_WORDS + 6) >> 1] > now) return true;
    return false;
  }

  counters(): SynResponderCounters {
    const w = this.w;
    return {
      answered: Atomics.load(w, W_ANSWERED),
      dropped: Atomics.load(w, W_DROPPED),
      txErrors: Atomics.load(w, W_TX_ERRORS),
      queueFull: Atomics.load(w, W_QUEUE_FULL),
    };
  }
}
