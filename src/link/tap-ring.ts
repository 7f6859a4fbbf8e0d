/**
 * The JS half of threaded TAP I/O (native/tap_thread.c): two
 * single-producer/single-consumer frame rings in memory shared with two
 * native threads, one blocking in read() on the TAP fd and one doing the
 * write()s. The JS thread only copies frames and moves indices; no syscall
 * per frame (but one direct write per poll, see armDirect; and while the
 * device is quiet JS reads it itself, see allowHandoff). Nothing is allocated per frame.
 */
import type { FrameReceiver, LinkStats } from './link.js';

/** The addon's threaded surface. */
export interface TapThreadAddon {
  threadStart(fd: number, slots: number, slotSize: number, callback: () => void): {
    handle: object;
    memory: ArrayBuffer;
    /** Copy a frame into the TX ring (and wake the TX thread if it sleeps); false when full or stopped. */
    push(frame: Uint8Array, offset: number, length: number): boolean;
  };
  threadKick(handle: object): void;
  threadRef(handle: object, keepAlive: boolean): void;
  threadStop(handle: object): void;
}

// Header words; must match the H_* enum in native/tap_thread.c.
const H_RX_HEAD = 0;
const H_RX_TAIL = 16;
const H_RX_WAIT = 80;
const H_TX_DROPS = 96;
const H_TX_ERRORS = 97;
const H_RX_ERRORS = 98;
const H_RX_WAKES = 99;
const H_TX_SLEEPS = 100;
const H_RX_STALLS = 101;
const H_TX_DIRECT = 102;
const H_RX_HANDOFFS = 103;
const H_SLOTS = 112;
const H_SLOT_SIZE = 113;
const H_RX_LENS = 114;
const H_RX_DATA = 116;
const H_TX_ARM = 120;
const H_RX_HANDOFF_OK = 121;
const H_RX_OWNER = 122;

/** Frames consumed between publications of the RX tail, so the RX thread gets slots back during a long poll. */
const RX_PUBLISH_EVERY = 64;

/** Counters of the threads' own work (for benchmarks and diagnostics). */
export interface TapThreadCounters {
  /** JS callbacks the RX thread asked for (ring went from empty to non-empty). */
  rxWakes: number;
  /** Times the RX thread waited for JS to consume (ring full, or device drained while JS had frames). */
  rxStalls: number;
  /** read() errors other than EAGAIN. */
  rxErrors: number;
  /** Times the TX thread slept on its futex (each costs JS one kick). */
  txSleeps: number;
  /** Frames push() wrote itself on the JS thread (see {@link TapRings.armDirect}). */
  txDirect: number;
  /** Times the RX thread, finding the device quiet, handed it to the JS thread (see {@link TapRings.allowHandoff}). */
  rxHandoffs: number;
  /** Times the JS thread gave the device back to the RX thread on a burst. */
  rxHandbacks: number;
  /** Frames the JS thread read from the device itself while it held it. */
  rxDirect: number;
  /** Frames write() refused with EAGAIN/ENOBUFS. */
  txDrops: number;
  /** Other write() errors. */
  txErrors: number;
}

/**
 * Ring slots for a slot size: up to 8 MiB per ring, 64..4096 slots, a power
 * of two. The TX ring must absorb a whole window burst: with 4 MiB TCP
 * buffers at MTU 1500, 2048 slots still overflowed (dropped frames and
 * retransmissions); 4096 did not.
 */
export function defaultRingSlots(slotSize: number): number {
  let n = 64;
  while (n < 4096 && n * 2 * slotSize <= 8 << 20) n *= 2;
  return n;
}

export class TapRings {
  private readonly native: TapThreadAddon;
  private readonly handle: object;
  private readonly h: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly rxLens: Int32Array;
  private readonly rxData: number;
  private readonly slotSize: number;
  private readonly slots: number;
  private readonly mask: number;
  private rxTail = 0;
  private txDropsSeen = 0;
  private txErrorsSeen = 0;
  private stopped = false;
  /** JS-side counts for {@link TapThreadCounters}. */
  rxHandbacks = 0;
  rxDirect = 0;
  /** Copies natively: a Node-API call costs a quarter of a 1.5 kB copy in JS. */
  readonly push: (frame: Uint8Array, offset: number, length: number) => boolean;

  constructor(native: TapThreadAddon, fd: number, slots: number, slotSize: number, onReadable: () => void) {
    this.native = native;
    const { handle, memory, push } = native.threadStart(fd, slots, slotSize, onReadable);
    this.push = push;
    this.handle = handle;
    this.h = new Int32Array(memory, 0, 128);
    this.bytes = new Uint8Array(memory);
    this.slots = this.h[H_SLOTS];
    this.mask = this.slots - 1;
    this.slotSize = this.h[H_SLOT_SIZE];
    this.rxLens = new Int32Array(memory, this.h[H_RX_LENS], this.slots);
    this.rxData = this.h[H_RX_DATA];
  }

  /**
   * Hand up to `budget` received frames to `rx`; frames longer than
   * `maxFrame` or shorter than `minFrame` are dropped and counted. Returns
   * true when frames may remain (budget spent), false when the ring was seen
   * empty after publishing the tail (the RX thread then wakes us itself).
   */
  receive(rx: FrameReceiver, budget: number, minFrame: number, maxFrame: number, stats: LinkStats): boolean {
    const h = this.h;
    const lens = this.rxLens;
    const bytes = this.bytes;
    const base = this.rxData;
    const slotSize = this.slotSize;
    const mask = this.mask;
    let tail = this.rxTail;
    let left = budget;
    for (;;) {
      const head = Atomics.load(h, H_RX_HEAD);
      if (head === tail) return false;
      let n = (head - tail) | 0;
      if (n > RX_PUBLISH_EVERY) n = RX_PUBLISH_EVERY;
      if (n > left) n = left;
      for (let i = 0; i < n; i++) {
        const s = tail & mask;
        const len = lens[s];
        if (len < minFrame || len > maxFrame) {
          stats.drops++;
        } else {
          stats.rxFrames++;
          stats.rxBytes += len;
          rx.receiveFrame(bytes, base + s * slotSize, len);
        }
        tail = (tail + 1) | 0;
        if (this.stopped) return false; // closed from inside the callback
      }
      left -= n;
      this.rxTail = tail;
      Atomics.store(h, H_RX_TAIL, tail);
      if (Atomics.load(h, H_RX_WAIT) !== 0) this.native.threadKick(this.handle);
      if (left === 0) return true;
    }
  }

  /** True when received frames are waiting in the ring. */
  get rxPending(): boolean {
    return !this.stopped && Atomics.load(this.h, H_RX_HEAD) !== this.rxTail;
  }

  /** Fold the TX thread's drop and error counts into the link's figures; returns the new error count. */
  syncTxCounters(stats: LinkStats): number {
    const drops = Atomics.load(this.h, H_TX_DROPS);
    const errors = Atomics.load(this.h, H_TX_ERRORS);
    const newErrors = (errors - this.txErrorsSeen) | 0;
    stats.drops += ((drops - this.txDropsSeen) | 0) + newErrors;
    this.txDropsSeen = drops;
    this.txErrorsSeen = errors;
    return newErrors;
  }

  /**
   * Let the next push() write its frame itself, on the JS thread, if the TX
   * ring is then empty (so the order holds): one write() instead of a futex
   * wake and two thread hand-offs, which is what a lone request pays for in
   * latency. The first such write disarms it, so a burst still goes to the
   * TX thread after its first frame.
   */
  armDirect(): void {
    Atomics.store(this.h, H_TX_ARM, 1);
  }

  /**
   * Let the RX thread hand the device to the JS thread after it has been
   * quiet for a millisecond (native/tap_thread.c, RX_QUIET_MS). JS then reads
   * it itself until a burst comes ({@link handBack}); a lone reply reaches
   * the stack with one thread wake-up (JS's) instead of two (the RX thread's,
   * then JS's).
   */
  allowHandoff(on: boolean): void {
    Atomics.store(this.h, H_RX_HANDOFF_OK, on ? 1 : 0);
  }

  /** True while the JS thread is the device's reader (the RX thread is parked). */
  get jsReads(): boolean {
    return !this.stopped && Atomics.load(this.h, H_RX_OWNER) !== 0;
  }

  /**
   * Give the device back to the RX thread. The caller has stopped reading it
   * and delivered every frame it read, so the thread's frames come after.
   */
  handBack(): void {
    if (this.stopped) return;
    this.rxHandbacks++;
    // Store the owner, then wake the thread if it waits (it sets H_RX_WAIT, then loads the owner).
    Atomics.store(this.h, H_RX_OWNER, 0);
    if (Atomics.load(this.h, H_RX_WAIT) !== 0) this.native.threadKick(this.handle);
  }

  /** Whether the RX wakeup keeps the event loop alive. */
  keepAlive(on: boolean): void {
    if (!this.stopped) this.native.threadRef(this.handle, on);
  }

  counters(): TapThreadCounters {
    const h = this.h;
    return {
      rxWakes: Atomics.load(h, H_RX_WAKES),
      rxStalls: Atomics.load(h, H_RX_STALLS),
      rxErrors: Atomics.load(h, H_RX_ERRORS),
      txSleeps: Atomics.load(h, H_TX_SLEEPS),
      txDirect: Atomics.load(h, H_TX_DIRECT),
      rxHandoffs: Atomics.load(h, H_RX_HANDOFFS),
      rxHandbacks: this.rxHandbacks,
      rxDirect: this.rxDirect,
      txDrops: Atomics.load(h, H_TX_DROPS),
      txErrors: Atomics.load(h, H_TX_ERRORS),
    };
  }

  /** Join both threads (queued TX frames are written first). Idempotent; the fd stays open. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native.threadStop(this.handle);
  }
}
