/**
 * Runs a stack in real time on the host's event loop: polls when a link has
 * news or the stack asks for it, and sleeps until the next deadline otherwise.
 * Uses only timers found in Node and browsers alike.
 */

export interface Pollable {
  poll(now: number): number;
}

type Timer = ReturnType<typeof setTimeout>;

const defer: (fn: () => void) => void = typeof setImmediate === 'function'
  ? (fn) => { setImmediate(fn); }
  : (fn) => { setTimeout(fn, 0); };

export class RealtimeDriver {
  private running = false;
  private immediatePending = false;
  /** Inside target.poll: a wakeup then must not poll again (re-entrance), it defers as kick does. */
  private polling = false;
  private timer: Timer | null = null;
  private timerAt = Infinity;
  /** The last poll left work due at once and the next was kicked for it (see schedule). */
  private dueAgain = false;
  /** Bound once: links and sockets call it freely. */
  readonly kick: () => void;
  /**
   * Bound once: poll now, in the caller's turn of the event loop, rather
   * than from a setImmediate after it. For links whose arrivals are
   * signalled by an event-loop I/O callback (a TAP fd became readable): the
   * frame is answered within that wake-up instead of one loop phase later.
   * Inside a poll (a callback of the poll itself) it defers like
   * {@link kick}, so a poll never runs inside another.
   */
  readonly pollNow: () => void;
  /**
   * False: the deadline timer does not keep Node's event loop alive (it is
   * unref'd), so a process whose only pending work is the stack's own timers
   * can exit (`wirestack/register` under an unmodified program).
   */
  keepAlive = true;
  private readonly run: () => void;
  private readonly onTimer: () => void;
  /** The poll time's source, read once per poll (see {@link setClock}). */
  private clock: () => number;

  constructor(private readonly target: Pollable, clock: () => number) {
    this.clock = clock;
    const pollOnce = (): void => {
      // Whole milliseconds: an integer time stays a small integer in V8, while
      // a fractional one is boxed (a heap allocation) at every call it crosses.
      // Ping RTTs still use the precise clock (EngineContext.preciseNow).
      const now = Math.floor(this.clock());
      this.polling = true;
      let next: number;
      try {
        next = this.target.poll(now);
      } finally {
        this.polling = false;
      }
      this.schedule(next, now);
    };
    this.run = () => {
      this.immediatePending = false;
      if (!this.running) return;
      if (this.polling) {
        this.kick(); // a timer or immediate cannot fire inside a poll, but stay safe
        return;
      }
      pollOnce();
    };
    this.pollNow = () => {
      if (!this.running) return;
      if (this.polling) {
        this.kick();
        return;
      }
      pollOnce();
    };
    this.onTimer = () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.run();
    };
    this.kick = () => {
      if (!this.running || this.immediatePending) return;
      this.immediatePending = true;
      defer(this.run);
    };
  }

  private schedule(deadline: number, now: number): void {
    // Due already (work the poll left for a next round: a quick ACK held for the application's
    // reply, events raised by callbacks): poll again in this turn of the event loop (setImmediate,
    // after the callbacks' nextTicks) rather than by a timer (Node's setTimeout(0) waits 1 ms).
    // Once in a row: a poll that leaves due work again falls back to the timer (no busy loop).
    if (deadline <= now && !this.dueAgain) {
      this.dueAgain = true;
      this.kick();
      return;
    }
    this.dueAgain = false;
    if (deadline === this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = deadline;
    if (!Number.isFinite(deadline)) return;
    const delay = Math.max(0, Math.ceil(deadline - now));
    this.timer = setTimeout(this.onTimer, delay);
    if (!this.keepAlive) (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * A call made outside a poll (a socket send or recv, which transmit at
   * once) left work due at `at` (ms; Infinity: none), or at once when
   * `urgent`: arm the timer for it when the one set is later, or poll soon
   * when it is due, instead of polling after every such call. Inside a poll
   * the poll's own result covers it.
   */
  pollBy(at: number, now: number, urgent: boolean): void {
    if (!this.running || this.polling || this.immediatePending) return;
    if (urgent || at <= now) this.kick();
    else if (at < this.timerAt) this.schedule(at, now);
  }

  /**
   * Read poll times from `clock` (ms on the same time base as the previous
   * one) from now on: a clock of whole milliseconds returned as small
   * integers makes no garbage per wake-up, where a fractional one (as
   * `performance.now()`) leaves a heap number per read.
   */
  setClock(clock: () => number): void {
    this.clock = clock;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Inside the target's poll (its socket callbacks included): the time is the poll's. */
  get isPolling(): boolean {
    return this.polling;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.kick();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }
}
