/**
 * The TAP link's SYN responders as one (what TcpPassive drives, see
 * engine/tcp/syn-responder.ts): the kernel-side one at the device's egress
 * (syn-responder-bpf.ts), which answers a flood in its sender's context,
 * and the RX thread's (syn-responder.ts), which answers what the egress one
 * passes on: SYNs whose checksum the kernel leaves to the device (a local
 * socket's, CHECKSUM_PARTIAL), with IP options, or all of them where eBPF is
 * unavailable. Both get every activation.
 *
 * The egress program is loaded at the first activation, i.e. when a
 * listener first overflows, unless {@link TapSynResponders.prepare} asks for
 * it sooner (the CLI does, once its device is in its namespace): a link that
 * is never flooded then runs no program on its frames and pays no load (the
 * verifier's ~25 ms, more on a loaded machine, spent on libuv's pool while
 * the RX thread answers).
 */
import type { SynResponder } from '../engine/tcp/syn-responder.js';
import type { BpfSynCounters, BpfSynResponder } from './syn-responder-bpf.js';
import type { NativeSynResponder } from './syn-responder.js';

export class TapSynResponders implements SynResponder {
  /** The egress responder once asked for (it answers once attached: `egress.ready`). */
  egress: BpfSynResponder | null = null;
  /** Why the egress responder is not attached (null: not tried yet, loading, or attached). */
  egressError: string | null = null;
  private tried = false;
  private key: Int32Array | null = null;
  private secret: Int32Array | null = null;
  private ttl = 64;
  private opts = 0;
  private configuredAt = 0;
  private told: ((error: string | null) => void) | null = null;

  /**
   * @param rx the RX thread's responder, or null (synchronous mode)
   * @param openEgress starts the egress responder (loads it, then attaches it and calls `done`), or returns why it
   *   cannot; null: not wanted
   */
  constructor(readonly rx: NativeSynResponder | null,
    private readonly openEgress: ((done: (error: string | null) => void) => BpfSynResponder | string) | null) {}

  configure(cookieKey: Int32Array, tsSecret: Int32Array, ttl: number, opts: number, now: number): void {
    this.key = cookieKey;
    this.secret = tsSecret;
    this.ttl = ttl;
    this.opts = opts;
    this.configuredAt = now;
    this.rx?.configure(cookieKey, tsSecret, ttl, opts, now);
    this.egress?.configure(cookieKey, tsSecret, ttl, opts, now);
  }

  activate(addr: number, port: number, mss: number, window: number, wscale: number, until: number): boolean {
    if (!this.tried && this.openEgress !== null) this.attach();
    const a = this.egress?.activate(addr, port, mss, window, wscale, until) ?? false;
    const b = this.rx?.activate(addr, port, mss, window, wscale, until) ?? false;
    return a || b;
  }

  /**
   * IPv6 listeners go to the egress program alone: the RX thread's
   * responder (native/syn_responder.c) answers IPv4 only, so it is never
   * offered an IPv6 entry, and where the program is not attached the engine
   * answers IPv6 SYNs itself (false: the listener is not handed).
   */
  activate6(addr: Int32Array, at: number, port: number, mss: number, window: number, wscale: number, hopLimit: number,
    until: number): boolean {
    if (!this.tried && this.openEgress !== null) this.attach();
    return this.egress?.activate6(addr, at, port, mss, window, wscale, hopLimit, until) ?? false;
  }

  deactivate(port: number): void {
    this.egress?.deactivate(port);
    this.rx?.deactivate(port);
  }

  /** Whether the RX thread's responder has an active entry at `now` (the RX thread then keeps the fd). */
  busy(now: number): boolean {
    return this.rx?.busy(now) ?? false;
  }

  /**
   * Load and attach the egress responder now rather than at the first
   * overflow: a server that expects floods pays the verifier's time (0.3 to
   * several seconds of a pool thread, more on a loaded machine) at start,
   * not while the first flood is on. Idempotent; nothing when not wanted.
   */
  prepare(): void {
    if (!this.tried && this.openEgress !== null) this.attach();
  }

  /** `f` is called once the egress responder is attached (null) or could not be (the reason). */
  onEgress(f: (error: string | null) => void): void {
    this.told = f;
  }

  egressCounters(): BpfSynCounters | null {
    return this.egress?.ready === true ? this.egress.counters() : null;
  }

  close(): void {
    this.egress?.close();
    this.egress = null;
  }

  private attach(): void {
    this.tried = true;
    const r = (this.openEgress as (done: (error: string | null) => void) => BpfSynResponder | string)((error) => {
      if (error !== null) {
        this.egressError = error;
        this.egress = null;
      }
      this.told?.(error);
    });
    if (typeof r === 'string') {
      this.egressError = r;
      this.told?.(r);
      return;
    }
    this.egress = r;
    if (this.key !== null && this.secret !== null) r.configure(this.key, this.secret, this.ttl, this.opts, this.configuredAt);
  }
}
