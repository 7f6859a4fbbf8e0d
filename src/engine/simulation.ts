/**
 * Virtual time for a set of stacks: jumps from deadline to deadline instead
 * of waiting, so timers (ARP retries, ping timeouts, later TCP) run in
 * microseconds of real time and identically on every run.
 */

/** What a simulation drives: a stack or anything else with a poll(now) and tx counter. */
export interface SimNode {
  poll(now: number): number;
  readonly stats: { eth: { txFrames: number } };
}

/**
 * Host-style timers on a simulation's clock (the shape of `DhcpTimers` and
 * similar injectable timer options), so timer-driven code above the stack
 * runs in the same virtual time as the stacks it talks through.
 */
export interface SimTimers {
  /** The simulation's current time, ms. */
  now(): number;
  /** Run `fn` once the simulation reaches now + `ms` (a negative or NaN delay counts as 0). */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer from {@link SimTimers.setTimeout}; unknown or fired handles are ignored. */
  clearTimeout(handle: unknown): void;
}

interface SimTimer {
  at: number;
  /** Creation order: timers due at the same instant fire in the order they were set, as in Node. */
  seq: number;
  fn: (() => void) | null;
}

const yieldTurn: () => Promise<void> = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => { setImmediate(resolve); })
  : () => new Promise((resolve) => { setTimeout(resolve, 0); });

export class Simulation {
  /** Current virtual time, ms. */
  now: number;
  /** Rounds allowed at one instant before the simulation declares a livelock. */
  maxRoundsPerInstant = 100000;

  /** Pending virtual timers (test-time code: a plain array, scanned in order). */
  private readonly pending: SimTimer[] = [];
  private timerSeq = 0;
  /** Timers fired so far: a fired timer counts as activity at its instant, like a sent frame. */
  private fired = 0;

  /** Timers on this simulation's clock, fired by {@link settle} between polls. */
  readonly timers: SimTimers = {
    now: () => this.now,
    setTimeout: (fn, ms) => {
      const t: SimTimer = { at: this.now + (ms > 0 ? ms : 0), seq: this.timerSeq++, fn };
      this.pending.push(t);
      return t;
    },
    clearTimeout: (handle) => {
      const i = this.pending.indexOf(handle as SimTimer);
      if (i >= 0) this.pending.splice(i, 1);
    },
  };

  constructor(readonly nodes: SimNode[], start = 0) {
    this.now = start;
  }

  /** Frames sent plus timers fired so far: what changes when anything happens. */
  private activity(): number {
    return this.txTotal() + this.fired;
  }

  /** Fire every timer due at `now` (in due-time, then creation order); returns the next timer's due time. */
  private fireTimers(): number {
    for (;;) {
      let first: SimTimer | null = null;
      let index = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const t = this.pending[i];
        if (t.at <= this.now && (first === null || t.at < first.at || (t.at === first.at && t.seq < first.seq))) {
          first = t;
          index = i;
        }
      }
      if (first === null) break;
      this.pending.splice(index, 1);
      this.fired++;
      const fn = first.fn;
      first.fn = null;
      if (fn !== null) fn();
    }
    let next = Infinity;
    for (const t of this.pending) if (t.at < next) next = t.at;
    return next;
  }

  private txTotal(): number {
    let n = 0;
    for (const s of this.nodes) n += s.stats.eth.txFrames;
    return n;
  }

  /**
   * Poll every node at `now`, then fire the timers due, until nothing more is
   * sent or fired at this instant; returns the next deadline (a node's or a
   * timer's). Timers fire after the polls so that their callbacks see every
   * stack at the current time.
   */
  settle(): number {
    let next = Infinity;
    for (let round = 0; round < this.maxRoundsPerInstant; round++) {
      const before = this.txTotal();
      const firedBefore = this.fired;
      next = Infinity;
      for (const s of this.nodes) {
        const d = s.poll(this.now);
        if (d < next) next = d;
      }
      const t = this.fireTimers();
      if (t < next) next = t;
      if (this.txTotal() === before && this.fired === firedBefore && next > this.now) return next;
    }
    throw new Error(`simulation livelock at t=${this.now} ms: traffic without time passing`);
  }

  /** Advance virtual time by `ms`, synchronously. Promise callbacks run only when the caller awaits. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = this.settle();
      if (next > end) break;
      this.now = next;
    }
    this.now = end;
    this.settle();
  }

  /**
   * Advance by `ms`, yielding to the event loop at each instant so that
   * Promise continuations and emitted events run between steps.
   */
  async run(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const next = this.settle();
      await yieldTurn();
      // Continuations may have sent something: settle again before jumping.
      const again = this.settle();
      const target = again < next ? again : next;
      if (target > end) break;
      this.now = target > this.now ? target : this.now;
    }
    this.now = end;
    this.settle();
    await yieldTurn();
  }

  /** Run until `promise` settles or `limitMs` of virtual time pass; returns its value or rethrows. */
  async until<T>(promise: Promise<T>, limitMs = 60000): Promise<T> {
    let done = false;
    const p = promise.finally(() => { done = true; });
    // Rejections are rethrown to the caller below; mark them handled meanwhile.
    p.catch(() => undefined);
    const end = this.now + limitMs;
    while (!done && this.now < end) {
      this.settle();
      const mark = this.activity();
      await yieldTurn();
      if (done) break;
      // Continuations may have sent something or set timers: settle again. If that did
      // anything at this instant (an event it raised may be the one awaited), yield
      // again before moving the clock, so the promise settles at the time it was
      // answered; otherwise jump to the deadline as it stands now.
      const next = this.settle();
      if (this.activity() !== mark) continue;
      const target = Math.min(next, end);
      if (target > this.now) this.now = target;
      else if (target === Infinity) break;
    }
    if (!done) throw new Error(`simulation: promise still pending after ${limitMs} ms of virtual time`);
    return p;
  }
}
