/**
 * The JS half of threaded TAP I/O (native/tap_thread.c): two
 * single-producer/single-consumer frame rings in memory shared with two
 * native threads, one blocking in read() on the TAP fd and one doing the
 * write()s. The JS thread only copies frames and moves indices; no syscall
 * per frame (but one direct write per poll, see armDirect; and while the
 * device is quiet JS reads it itself, see the constructor's rxHandoff). Nothing is allocated per frame.
 */
import type { FrameReceiver, LinkStats } from './link.js';
import type { RingLayout } from './addon.js';

/** The addon's threaded surface. */
export interface TapThreadAddon {
  /**
   * `vnetHdr` 10: the fd was opened with offload (see native/vnet.h). `rxHandoff` 1: the RX thread may hand the
   * device to JS once it has been quiet for a millisecond (native/tap_thread.c, RX_QUIET_MS), from the start.
   */
  threadStart(fd: number, slots: number, slotSize: number, callback: () => void, vnetHdr?: number, rxHandoff?: number): {
    handle: object;
    memory: ArrayBuffer;
    /**
     * Copy a frame into the TX ring (and wake the TX thread if it sleeps);
     * false when full or stopped. `gso`, `csum` (offload): the virtio_net_hdr's
     * content, packed (native/vnet.h).
     */
    push(frame: Uint8Array, offset: number, length: number, gso?: number, csum?: number): boolean;
  };
  threadKick(handle: object): void;
  threadRef(handle: object, keepAlive: boolean): void;
  threadStop(handle: object): void;
  /** Attach the RX thread's SYN-cookie responder (native/syn_responder.c), once; its shared words. */
  threadSynResponder?(handle: object): ArrayBuffer;
  /**
   * For tests: the SYN-ACK frame the responder would send for `frame` under the words `words` (its layout,
   * as NativeSynResponder writes it) with the engine clock at `now` ms; null when it would pass the SYN on.
   */
  synResponderAnswerForTest?(words: ArrayBuffer, now: number, frame: Uint8Array): Uint8Array | null;
  /** Word indices of the shared header (native/tap_thread.c reports its H_* enum; checked at load by addon.ts). */
  readonly ringLayout: RingLayout;
}

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
  /** Times the RX thread, finding the device quiet, handed it to the JS thread (the constructor's `rxHandoff`). */
  rxHandoffs: number;
  /** Times the JS thread gave the device back to the RX thread on a burst. */
  rxHandbacks: number;
  /** Frames the JS thread read from the device itself while it held it. */
  rxDirect: number;
  /** Busy-polls before the event loop blocked that saw the answer come (see {@link TapRings.setBusyPoll}). */
  spinHits: number;
  /** Busy-polls that ran out their window (the thread then slept as before). */
  spinMisses: number;
  /** Frames write() refused with EAGAIN/ENOBUFS. */
  txDrops: number;
  /** Other write() errors. */
  txErrors: number;
  /** Frames the RX thread read, and the TX thread wrote, through io_uring batches (native/tap_uring.c). */
  rxUring: number;
  txUring: number;
  /** The SYN responder's (native/syn_responder.c), when attached: SYNs answered with a cookie on the RX thread. */
  synAnswered?: number;
  /** Pure SYNs the RX thread dropped because its ring was three quarters full. */
  synDropped?: number;
  /** Cookie SYN-ACKs whose write() failed. */
  synTxErrors?: number;
  /**
   * SYNs the responder left unanswered because its writer thread was a whole queue behind: only with
   * WIRESTACK_SYNR_WRITER=1 (by default the RX thread writes the SYN-ACKs itself and this stays 0).
   */
  synQueueFull?: number;
  /** The egress eBPF responder's, once attached (src/link/syn-responder-bpf.ts): SYNs answered in the kernel, */
  synEgressAnswered?: number;
  /** pure SYNs to a handed listener it passed on (checksum left to the device, IP options, payload), */
  synEgressPassed?: number;
  /** SYN-ACKs it failed to build in place (passed on too), */
  synEgressFailed?: number;
  /** and writes of its configuration map that failed (an activation that did not take: the stack answered instead). */
  synEgressMapErrors?: number;
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
  /** Header word indices, as the addon reported them. */
  private readonly L: RingLayout;
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
  /** Copies natively: a Node-API call costs a quarter of a 1.5 kB copy in JS. `gso`, `csum`: offload (native/vnet.h). */
  readonly push: (frame: Uint8Array, offset: number, length: number, gso?: number, csum?: number) => boolean;

  /**
   * @param vnetHdr 10 when the fd was opened with offload (frames carry a virtio_net_hdr), else 0
   * @param rxHandoff let the RX thread hand the device to the JS thread after it has been quiet for a
   *   millisecond: JS then reads it itself until a burst comes ({@link handBack}), so a lone reply reaches the
   *   stack with one thread wake-up (JS's) instead of two. Set before the thread starts (native threadStart).
   */
  constructor(native: TapThreadAddon, fd: number, slots: number, slotSize: number, onReadable: () => void, vnetHdr = 0,
    rxHandoff = false) {
    this.native = native;
    const { handle, memory, push } = native.threadStart(fd, slots, slotSize, onReadable, vnetHdr, rxHandoff ? 1 : 0);
    this.push = push;
    this.handle = handle;
    const L = native.ringLayout;
    this.L = L;
    this.h = new Int32Array(memory, 0, L.words);
    this.bytes = new Uint8Array(memory);
    this.slots = this.h[L.slots];
    this.mask = this.slots - 1;
    this.slotSize = this.h[L.slotSize];
    this.rxLens = new Int32Array(memory, this.h[L.rxLens], this.slots);
    this.rxData = this.h[L.rxData];
  }

  /**
   * Hand up to `budget` received frames to `rx`; frames longer than
   * `maxFrame` or shorter than `minFrame` are dropped and counted. Returns
   * true when frames may remain (budget spent), false when the ring was seen
   * empty after publishing the tail (the RX thread then wakes us itself).
   */
  receive(rx: FrameReceiver, budget: number, minFrame: number, maxFrame: number, stats: LinkStats): boolean {
    const h = this.h;
    const RX_HEAD = this.L.rxHead;
    const lens = this.rxLens;
    const bytes = this.bytes;
    const base = this.rxData;
    const slotSize = this.slotSize;
    const mask = this.mask;
    let tail = this.rxTail;
    let left = budget;
    for (;;) {
      const head = Atomics.load(h, RX_HEAD);
      if (head === tail) return false;
      let n = (head - tail) | 0;
      if (n > RX_PUBLISH_EVERY) n = RX_PUBLISH_EVERY;
      if (n > left) n = left;
      for (let i = 0; i < n; i++) {
        const s = tail & mask;
        const word = lens[s];
        // Offload: checksum flags in the top byte (native/vnet.h); 0 otherwise.
        const len = word & 0xffffff;
        if (len < minFrame || len > maxFrame) {
          stats.drops++;
        } else {
          stats.rxFrames++;
          stats.rxBytes += len;
          const flags = word >>> 24;
          if (flags !== 0) rx.receiveFrame(bytes, base + s * slotSize, len, flags);
          else rx.receiveFrame(bytes, base + s * slotSize, len);
        }
        tail = (tail + 1) | 0;
        if (this.stopped) return false; // closed from inside the callback
      }
      left -= n;
      this.rxTail = tail;
      Atomics.store(h, this.L.rxTail, tail);
      if (Atomics.load(h, this.L.rxWait) !== 0) this.native.threadKick(this.handle);
      if (left === 0) return true;
    }
  }

  /** True when received frames are waiting in the ring. */
  get rxPending(): boolean {
    return !this.stopped && Atomics.load(this.h, this.L.rxHead) !== this.rxTail;
  }

  /** Fold the TX thread's drop and error counts into the link's figures; returns the new error count. */
  syncTxCounters(stats: LinkStats): number {
    const drops = Atomics.load(this.h, this.L.txDrops);
    const errors = Atomics.load(this.h, this.L.txErrors);
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
   * TX thread after its first frame. `on` false disarms it (see
   * TapLink.poll: after a bulk receive the ACKs go to the TX thread).
   */
  armDirect(on = true): void {
    Atomics.store(this.h, this.L.txArm, on ? 1 : 0);
  }

  /** True while the JS thread is the device's reader (the RX thread is parked). */
  get jsReads(): boolean {
    return !this.stopped && Atomics.load(this.h, this.L.rxOwner) !== 0;
  }

  /**
   * Give the device back to the RX thread. The caller has stopped reading it
   * and delivered every frame it read, so the thread's frames come after.
   */
  handBack(): void {
    if (this.stopped) return;
    this.rxHandbacks++;
    // Store the owner, then wake the thread if it waits (it sets H_RX_WAIT, then loads the owner).
    Atomics.store(this.h, this.L.rxOwner, 0);
    if (Atomics.load(this.h, this.L.rxWait) !== 0) this.native.threadKick(this.handle);
  }

  /**
   * Ceiling of the busy-poll before the event loop blocks, in µs (0: off):
   * after a lone frame went out while the JS thread reads the device, the
   * loop watches the device that long before sleeping, adapting the window
   * to how soon answers come (native/tap_thread.c, spin_before_block).
   */
  setBusyPoll(us: number): void {
    if (!this.stopped) Atomics.store(this.h, this.L.spinMaxUs, us);
  }

  /** Whether the RX wakeup keeps the event loop alive. */
  keepAlive(on: boolean): void {
    if (!this.stopped) this.native.threadRef(this.handle, on);
  }

  counters(): TapThreadCounters {
    const h = this.h;
    const L = this.L;
    return {
      rxWakes: Atomics.load(h, L.rxWakes),
      rxStalls: Atomics.load(h, L.rxStalls),
      rxErrors: Atomics.load(h, L.rxErrors),
      txSleeps: Atomics.load(h, L.txSleeps),
      txDirect: Atomics.load(h, L.txDirect),
      rxHandoffs: Atomics.load(h, L.rxHandoffs),
      rxHandbacks: this.rxHandbacks,
      rxDirect: this.rxDirect,
      spinHits: Atomics.load(h, L.spinHits),
      spinMisses: Atomics.load(h, L.spinMisses),
      txDrops: Atomics.load(h, L.txDrops),
      txErrors: Atomics.load(h, L.txErrors),
      rxUring: Atomics.load(h, L.rxUring),
      txUring: Atomics.load(h, L.txUring),
    };
  }

  /** The RX thread's SYN-cookie responder's words (attached now), or null when the addon has none. */
  attachSynResponder(): ArrayBuffer | null {
    const f = this.native.threadSynResponder;
    return f === undefined || this.stopped ? null : f.call(this.native, this.handle);
  }

  /** Join both threads (queued TX frames are written first). Idempotent; the fd stays open. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native.threadStop(this.handle);
  }
}
