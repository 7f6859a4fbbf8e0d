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

const yieldTurn: () => Promise<void> = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => { setImmediate(resolve); })
  : () => new Promise((resolve) => { setTimeout(resolve, 0); });

export class Simulation {
  /** Current virtual time, ms. */
  now: number;
  /** Rounds allowed at one instant before the simulation declares a livelock. */
  maxRoundsPerInstant = 100000;

  constructor(readonly nodes: SimNode[], start = 0) {
    this.now = start;
  }

  private txTotal(): number {
    let n = 0;
    for (const s of this.nodes) n += s.stats.eth.txFrames;
    return n;
  }

  /** Poll every node at `now` until nothing more is sent at this instant; returns the next deadline. */
  settle(): number {
    let next = Infinity;
    for (let round = 0; round < this.maxRoundsPerInstant; round++) {
      const before = this.txTotal();
      next = Infinity;
      for (const s of this.nodes) {
        const d = s.poll(this.now);
        if (d < next) next = d;
      }
      if (this.txTotal() === before && next > this.now) return next;
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
      const next = this.settle();
      await yieldTurn();
      if (done) break;
      const again = this.settle();
      const target = Math.min(again, next, end);
      if (target > this.now) this.now = target;
      else if (target === Infinity) break;
    }
    if (!done) throw new Error(`simulation: promise still pending after ${limitMs} ms of virtual time`);
    return p;
  }
}
