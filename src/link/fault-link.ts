/**
 * Fault injection as a wrapper around any link (a TAP device, a pcap-wrapped
 * link, a MemoryLink), in the spirit of smoltcp's FaultInjector: frames can
 * be lost, duplicated, corrupted (one bit) or reordered (held back until the
 * next frame, or at most `reorderDelayMs`) in each direction, from a seeded
 * PRNG so runs replay. Frames are copied into buffers allocated once; nothing
 * is allocated per frame.
 */
import { copyBytes } from '../wire/bytes.js';
import type { FrameReceiver, Link, LinkStats } from './link.js';
import { ETH_HEADER_LEN } from './link.js';
import { Prng } from '../storage/prng.js';

/** Fault probabilities (0..1), each applied independently per frame and direction. */
export interface FaultOptions {
  loss?: number;
  duplicate?: number;
  corrupt?: number;
  /** A frame is held and sent right after the next one (or when `reorderDelayMs` has passed). */
  reorder?: number;
  /**
   * Longest time (ms) a reordered frame is held when no next frame comes: it
   * is then released by `poll`, whose deadline includes it. Default 3.
   */
  reorderDelayMs?: number;
  seed?: number;
}

/** What the injector did, per direction. */
export interface FaultCounters {
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
}

/** One direction's state: a scratch frame and the frame held back for reordering. */
class Direction {
  readonly scratch: Uint8Array;
  readonly held: Uint8Array;
  heldLen = 0;
  /** Receive flags of the held frame (incoming direction). */
  heldFlags = 0;
  /** When the held frame must go at the latest (Infinity when none is held). */
  heldUntil = Infinity;
  readonly counters: FaultCounters = { lost: 0, duplicated: 0, corrupted: 0, reordered: 0 };

  constructor(frameBytes: number, readonly prng: Prng) {
    this.scratch = new Uint8Array(frameBytes);
    this.held = new Uint8Array(frameBytes);
  }
}

/**
 * Offload: a FaultLink offers none (no `offload`), so a stack sends through
 * it MSS-sized frames with full checksums and every impairment hits what a
 * wire would carry. Incoming, a wrapped link with offload (a TAP) may still
 * deliver coalesced super-segments; they are impaired as one frame, and one
 * corrupted here loses its checksum flags, so the stack verifies (and drops) it.
 */
export class FaultLink implements Link, FrameReceiver {
  private readonly out: Direction;
  private readonly in: Direction;
  private loss: number;
  private duplicate: number;
  private corrupt: number;
  private reorder: number;
  private reorderDelayMs: number;
  private wakeup: (() => void) | null = null;
  private rx: FrameReceiver | null = null;

  constructor(readonly inner: Link, options: FaultOptions = {}) {
    const frame = inner.mtu + ETH_HEADER_LEN;
    const inner0 = inner.offload ?? null;
    const inFrame = inner0 !== null && inner0.tsoMax > inner.mtu ? inner0.tsoMax + ETH_HEADER_LEN : frame;
    const seed = options.seed ?? 1;
    this.out = new Direction(frame, new Prng(seed));
    this.in = new Direction(inFrame, new Prng(seed ^ 0x5bd1e995));
    this.loss = options.loss ?? 0;
    this.duplicate = options.duplicate ?? 0;
    this.corrupt = options.corrupt ?? 0;
    this.reorder = options.reorder ?? 0;
    this.reorderDelayMs = options.reorderDelayMs ?? 3;
  }

  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats(): LinkStats { return this.inner.stats; }
  /** Faults applied to frames sent (`tx`) and received (`rx`). */
  get faults(): { tx: FaultCounters; rx: FaultCounters } {
    return { tx: this.out.counters, rx: this.in.counters };
  }

  /** Change the probabilities at run time. */
  setFaults(f: FaultOptions): void {
    if (f.loss !== undefined) this.loss = f.loss;
    if (f.duplicate !== undefined) this.duplicate = f.duplicate;
    if (f.corrupt !== undefined) this.corrupt = f.corrupt;
    if (f.reorder !== undefined) this.reorder = f.reorder;
    if (f.reorderDelayMs !== undefined) this.reorderDelayMs = f.reorderDelayMs;
  }

  /**
   * Apply the faults to one frame and hand the survivors to `emit` (the
   * inner link's transmit, or the stack's receiver).
   */
  private pass(d: Direction, frame: Uint8Array, off: number, len: number, toLink: boolean, now: number, rxFlags = 0): number {
    const p = d.prng;
    if (this.loss > 0 && p.next() < this.loss) {
      d.counters.lost++;
      return 0; // lost on the wire: the sender cannot tell
    }
    let buf = frame;
    let o = off;
    if (this.corrupt > 0 && p.next() < this.corrupt) {
      copyBytes(frame, off, d.scratch, 0, len);
      const bit = p.int(len * 8);
      d.scratch[bit >>> 3] ^= 1 << (bit & 7);
      buf = d.scratch;
      o = 0;
      d.counters.corrupted++;
      rxFlags = 0; // no longer vouched for: the stack verifies the checksum
    }
    if (d.heldLen === 0 && this.reorder > 0 && p.next() < this.reorder) {
      copyBytes(buf, o, d.held, 0, len);
      d.heldLen = len;
      d.heldFlags = rxFlags;
      d.heldUntil = now + this.reorderDelayMs;
      d.counters.reordered++;
      // A real-time driver must poll again to learn the release deadline.
      if (toLink && this.wakeup !== null) this.wakeup();
      return 0;
    }
    let r = this.emit(buf, o, len, toLink, now, rxFlags);
    if (this.duplicate > 0 && p.next() < this.duplicate) {
      d.counters.duplicated++;
      this.emit(buf, o, len, toLink, now, rxFlags);
    }
    if (d.heldLen > 0 && !(buf === d.held)) {
      const n = d.heldLen;
      d.heldLen = 0;
      d.heldUntil = Infinity;
      const held = this.emit(d.held, 0, n, toLink, now, d.heldFlags);
      if (r === 0) r = held;
    }
    return r;
  }

  private emit(buf: Uint8Array, off: number, len: number, toLink: boolean, now: number, rxFlags: number): number {
    if (toLink) return this.inner.transmit(buf, off, len, now);
    if (this.rx !== null) this.rx.receiveFrame(buf, off, len, rxFlags);
    return 0;
  }

  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    return this.pass(this.out, frame, offset, length, true, now);
  }

  private now = 0;

  /** FrameReceiver for the inner link: faults on the way in. */
  receiveFrame(frame: Uint8Array, offset: number, length: number, rxFlags?: number): void {
    this.pass(this.in, frame, offset, length, false, this.now, rxFlags ?? 0);
  }

  poll(now: number, rx: FrameReceiver): number {
    this.rx = rx;
    this.now = now;
    let next = this.inner.poll(now, this);
    // A held frame with no successor goes once its time is up: reordering is a
    // bounded delay, never a stall of the direction.
    const d = this.in;
    if (d.heldLen > 0 && d.heldUntil <= now) {
      const n = d.heldLen;
      d.heldLen = 0;
      d.heldUntil = Infinity;
      rx.receiveFrame(d.held, 0, n, d.heldFlags);
    }
    const o = this.out;
    if (o.heldLen > 0 && o.heldUntil <= now) {
      const n = o.heldLen;
      o.heldLen = 0;
      o.heldUntil = Infinity;
      this.inner.transmit(o.held, 0, n, now);
    }
    if (d.heldUntil < next) next = d.heldUntil;
    if (o.heldUntil < next) next = o.heldUntil;
    return next;
  }

  setWakeup(wakeup: (() => void) | null, pollNow?: (() => void) | null): void {
    this.wakeup = wakeup;
    this.inner.setWakeup(wakeup, pollNow);
  }

  close(): void {
    this.inner.close();
  }
}
