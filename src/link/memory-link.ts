import { copyFrame } from '../wire/bytes.js';
import { Errno } from '../engine/errno.js';
import { ETH_HEADER_LEN, RX_CSUM_PARTIAL } from './link.js';
import type { FrameReceiver, Link, LinkOffload, LinkStats, TxOffload } from './link.js';
import { Prng } from '../storage/prng.js';

/** Impairments of a {@link MemoryLink} pair; they apply to both directions. */
export interface MemoryLinkFaults {
  /** Probability 0..1 that a frame is lost on the wire. Default 0. */
  loss?: number;
  /** Probability 0..1 that a frame is delivered twice. Default 0. */
  duplicate?: number;
  /**
   * Probability 0..1 that a frame is held back and delivered right after its
   * successor. A held frame with no successor arriving within
   * `reorderDelayMs` of its own due time is delivered anyway. A frame
   * that overtakes a held frame is never held itself. Default 0.
   */
  reorder?: number;
  /**
   * Longest time (ms) a reordered frame is held waiting for a successor;
   * poll's deadline includes it. Default `2 * delayMs + 1`.
   */
  reorderDelayMs?: number;
  /** Probability 0..1 that one random bit of a frame is flipped. Default 0. */
  corrupt?: number;
  /** Propagation delay in ms. Default 0. */
  delayMs?: number;
  /** Serialization rate in bit/s; frames queue behind each other. Default Infinity. */
  rateBps?: number;
}

/** Construction options of {@link MemoryLink.pair}. */
export interface MemoryLinkOptions extends MemoryLinkFaults {
  /** Seed of the fault generators; each direction derives its own. Default 1. */
  seed?: number;
  /** Largest IP packet carried; frames may be `mtu + 14` bytes. Default 1500. */
  mtu?: number;
  /** Frame slots preallocated per direction. Default 256, or 128 with `offload` (each slot then holds 64 KiB). */
  queueFrames?: number;
  /**
   * Offload, as a veth pair offers it: the stacks may send TCP super-segments
   * of up to 64 KiB with partial checksums, and each passes the cable as one
   * frame (serialized at `rateBps` for its whole length), reaching the peer
   * with its checksum marked partial (RX_CSUM_PARTIAL), so neither side sums
   * the data. A frame `corrupt` hits arrives unmarked: the receiver then
   * checks the checksum, which a partial one fails, and drops it, as a NIC
   * drops a frame whose FCS fails. Default false: MSS-sized frames, full
   * checksums, exactly as before.
   */
  offload?: boolean;
  /**
   * Endpoint names: a string is a prefix suffixed with 0 and 1, a pair names
   * each endpoint exactly. Default prefix 'mem' ('mem0', 'mem1').
   */
  name?: string | readonly [string, string];
}

/** Injected faults, counted on the endpoint that transmitted the frame. */
export interface LinkFaultCounters {
  lost: number;
  duplicated: number;
  /** Frames that were actually overtaken by their successor. */
  reordered: number;
  corrupted: number;
}

/** Fault settings and the closed flag, shared by both endpoints of a cable. */
class Wire {
  loss = 0;
  duplicate = 0;
  reorder = 0;
  corrupt = 0;
  delayMs = 0;
  /** Negative: derived from delayMs (2 * delayMs + 1). */
  reorderDelayMs = -1;
  rateBps = Infinity;
  closed = false;

  apply(f: MemoryLinkFaults): void {
    // Validate everything before assigning so a bad call changes nothing.
    const loss = prob('loss', f.loss, this.loss);
    const duplicate = prob('duplicate', f.duplicate, this.duplicate);
    const reorder = prob('reorder', f.reorder, this.reorder);
    const corrupt = prob('corrupt', f.corrupt, this.corrupt);
    const delayMs = f.delayMs ?? this.delayMs;
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`);
    const reorderDelayMs = f.reorderDelayMs ?? this.reorderDelayMs;
    if (!Number.isFinite(reorderDelayMs)) throw new RangeError(`reorderDelayMs must be finite, got ${reorderDelayMs}`);
    const rateBps = f.rateBps ?? this.rateBps;
    if (!(rateBps > 0)) throw new RangeError(`rateBps must be > 0, got ${rateBps}`);
    this.loss = loss;
    this.duplicate = duplicate;
    this.reorder = reorder;
    this.corrupt = corrupt;
    this.delayMs = delayMs;
    this.reorderDelayMs = reorderDelayMs;
    this.rateBps = rateBps;
  }
}

function prob(name: string, v: number | undefined, current: number): number {
  if (v === undefined) return current;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be within 0..1, got ${v}`);
  return v;
}

/**
 * One direction of the cable: a FIFO ring of preallocated frame slots.
 *
 * Ring positions and storage slots are decoupled through `slotOf` so that
 * reordering swaps two small integers instead of two frames' bytes. `slotOf`
 * is always a permutation of the slots, so the free positions always map to
 * free storage.
 */
class Channel {
  readonly capacity: number;
  readonly slotSize: number;
  /** Frame bytes, `slotSize` bytes per storage slot. */
  readonly buf: Uint8Array;
  /** Frame length per storage slot. */
  readonly len: Int32Array;
  /** Receive flags (RX_CSUM_PARTIAL) per storage slot. */
  readonly rxFlags: Int32Array;
  /** Storage slot per ring position. */
  readonly slotOf: Int32Array;
  /** Due time per ring position; non-decreasing from head to tail. */
  readonly due: Float64Array;
  readonly prng: Prng;
  head = 0;
  count = 0;
  /** The tail frame is waiting to be overtaken by the next frame. */
  tailHeld = false;
  /** When the previous frame finished serializing; the wire is busy until then. */
  lastDeparture = -Infinity;

  constructor(capacity: number, slotSize: number, seed: number) {
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.buf = new Uint8Array(capacity * slotSize);
    this.len = new Int32Array(capacity);
    this.rxFlags = new Int32Array(capacity);
    this.slotOf = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.slotOf[i] = i;
    this.due = new Float64Array(capacity);
    this.prng = new Prng(seed);
  }

  /** Ring position `k` places after the head. */
  pos(k: number): number {
    const p = this.head + k;
    return p >= this.capacity ? p - this.capacity : p;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.tailHeld = false;
  }
}

/**
 * One end of an in-memory Ethernet cable with optional, seeded impairments.
 *
 * All frame storage is allocated when the pair is created; transmitting and
 * polling allocate nothing, so the link can sit under allocation-sensitive
 * benchmarks. Time is whatever the caller passes as `now` (ms), which lets
 * tests run on virtual time.
 */
export class MemoryLink implements Link {
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Faults injected into frames this endpoint transmitted. */
  readonly faults: LinkFaultCounters = { lost: 0, duplicated: 0, reordered: 0, corrupted: 0 };
  /** With option `offload`: super-segments up to 64 KiB and partial checksums pass as they are; else null. */
  readonly offload: LinkOffload | null;

  private readonly wire: Wire;
  /** Frames this endpoint sends; the peer drains it. */
  private readonly out: Channel;
  private inq!: Channel;
  private peer!: MemoryLink;
  private wakeup: (() => void) | null = null;

  private constructor(name: string, mtu: number, wire: Wire, out: Channel, offload: boolean) {
    this.offload = offload ? { tsoMax: 65535, csum: true } : null;
    this.name = name;
    this.mtu = mtu;
    this.wire = wire;
    this.out = out;
  }

  /** Create two endpoints joined like a cable: what one transmits, the other's `poll` delivers. */
  static pair(options: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 1 || mtu > 65535) throw new RangeError(`mtu must be an integer in 1..65535, got ${mtu}`);
    const offload = options.offload ?? false;
    const queueFrames = options.queueFrames ?? (offload ? 128 : 256);
    if (!Number.isInteger(queueFrames) || queueFrames < 1) {
      throw new RangeError(`queueFrames must be a positive integer, got ${queueFrames}`);
    }
    const wire = new Wire();
    wire.apply(options);
    const name = options.name ?? 'mem';
    const names: readonly [string, string] = typeof name === 'string' ? [`${name}0`, `${name}1`] : name;
    // Derive per-direction seeds so the two directions do not mirror each other's faults.
    const master = new Prng(options.seed ?? 1);
    const slotSize = (offload && mtu < 65535 ? 65535 : mtu) + ETH_HEADER_LEN;
    const ab = new Channel(queueFrames, slotSize, master.nextU32());
    const ba = new Channel(queueFrames, slotSize, master.nextU32());
    const a = new MemoryLink(names[0], mtu, wire, ab, offload);
    const b = new MemoryLink(names[1], mtu, wire, ba, offload);
    a.inq = ba;
    a.peer = b;
    b.inq = ab;
    b.peer = a;
    return [a, b];
  }

  /** Frames queued towards this endpoint, delivered or not yet due. */
  get pending(): number {
    return this.inq.count;
  }

  /** True once either endpoint was closed. */
  get closed(): boolean {
    return this.wire.closed;
  }

  /**
   * Change impairments at run time; omitted fields keep their value. The
   * settings are shared, so this affects both directions. Frames already
   * queued keep their due times.
   */
  setFaults(faults: MemoryLinkFaults): void {
    this.wire.apply(faults);
  }

  /**
   * Queue a copy of `frame[offset .. offset+length)` for the peer.
   *
   * Returns -errno only for drops the sender could notice: -ENETDOWN (cable
   * cut), -EMSGSIZE (bad size), -ENOBUFS (full queue). Injected loss returns
   * 0, as a real wire would. With `offload`, a super-segment (`tx.gsoType`)
   * may be up to 64 KiB.
   */
  transmit(frame: Uint8Array, offset: number, length: number, now: number, tx?: TxOffload | null): number {
    const wire = this.wire;
    const q = this.out;
    const stats = this.stats;
    const partial = this.offload !== null && tx != null && tx.csumOffset !== 0;
    const max = partial && tx.gsoType !== 0 ? q.slotSize : this.mtu + ETH_HEADER_LEN;
    if (wire.closed || length < ETH_HEADER_LEN || length > max || q.count === q.capacity) {
      stats.drops++;
      if (wire.closed) return -Errno.ENETDOWN;
      return length < ETH_HEADER_LEN || length > max ? -Errno.EMSGSIZE : -Errno.ENOBUFS;
    }
    // A frame lost on the wire was still serialized, so it occupies the wire.
    let departure = now > q.lastDeparture ? now : q.lastDeparture;
    if (wire.rateBps !== Infinity) departure += (length * 8000) / wire.rateBps;
    q.lastDeparture = departure;
    stats.txFrames++;
    stats.txBytes += length;
    const prng = q.prng;
    const faults = this.faults;
    if (wire.loss > 0 && prng.next() < wire.loss) {
      faults.lost++;
      stats.drops++;
      return 0;
    }

    let due = departure + wire.delayMs;
    const cap = q.capacity;
    const slotSize = q.slotSize;
    const buf = q.buf;
    const newPos = q.pos(q.count);
    const slot = q.slotOf[newPos];
    const base = slot * slotSize;
    copyFrame(frame, offset, buf, base, length);
    q.len[slot] = length;
    q.rxFlags[slot] = partial ? RX_CSUM_PARTIAL : 0;
    if (wire.corrupt > 0 && prng.next() < wire.corrupt) {
      const bit = prng.int(length * 8);
      buf[base + (bit >>> 3)] ^= 1 << (bit & 7);
      faults.corrupted++;
      q.rxFlags[slot] = 0; // unvouched: the receiver checks (and drops) it
    }

    let overtook = false;
    if (q.count > 0) {
      const tailPos = q.pos(q.count - 1);
      const tailDue = q.due[tailPos];
      if (q.tailHeld) {
        q.tailHeld = false;
        // Overtake only if we arrive before the held frame's give-up time;
        // deciding on due times (not on when poll ran) keeps runs reproducible.
        if (due <= tailDue) {
          overtook = true;
          const prevDue = q.count > 1 ? q.due[q.pos(q.count - 2)] : -Infinity;
          if (due < prevDue) due = prevDue;
          q.slotOf[newPos] = q.slotOf[tailPos];
          q.slotOf[tailPos] = slot;
          q.due[tailPos] = due;
          faults.reordered++;
        }
      }
      // Keep the ring's due times monotone even if delayMs was lowered.
      if (!overtook && due < tailDue) due = tailDue;
    }
    q.due[newPos] = due;
    q.count++;

    if (wire.duplicate > 0 && q.count < cap && prng.next() < wire.duplicate) {
      const dupPos = q.pos(q.count);
      const dupSlot = q.slotOf[dupPos];
      buf.copyWithin(dupSlot * slotSize, base, base + length);
      q.len[dupSlot] = length;
      q.rxFlags[dupSlot] = q.rxFlags[slot];
      q.due[dupPos] = due;
      q.count++;
      faults.duplicated++;
    }

    if (!overtook && wire.reorder > 0 && prng.next() < wire.reorder) {
      q.tailHeld = true;
      q.due[q.pos(q.count - 1)] += wire.reorderDelayMs >= 0 ? wire.reorderDelayMs : 2 * wire.delayMs + 1;
    }

    const wake = this.peer.wakeup;
    if (wake !== null) wake();
    return 0;
  }

  /**
   * Deliver every frame due at or before `now`, in order, then return the due
   * time of the next queued frame (Infinity when none). `rx` must not poll
   * this same endpoint from inside `receiveFrame`.
   */
  poll(now: number, rx: FrameReceiver): number {
    const q = this.inq;
    const wire = this.wire;
    const stats = this.stats;
    while (q.count > 0 && !wire.closed) {
      const pos = q.head;
      const due = q.due[pos];
      if (due > now) return due;
      const slot = q.slotOf[pos];
      const length = q.len[slot];
      // Once delivered the held frame can no longer be overtaken.
      if (q.count === 1) q.tailHeld = false;
      stats.rxFrames++;
      stats.rxBytes += length;
      // The slot stays owned until the callback returns, so a reply sent from
      // inside receiveFrame can never overwrite the bytes being read.
      const flags = q.rxFlags[slot];
      if (flags !== 0) rx.receiveFrame(q.buf, slot * q.slotSize, length, flags);
      else rx.receiveFrame(q.buf, slot * q.slotSize, length);
      if (wire.closed) break;
      q.head = pos + 1 === q.capacity ? 0 : pos + 1;
      q.count--;
    }
    return Infinity;
  }

  /** The function called (synchronously) when the peer transmits a frame to this endpoint. */
  setWakeup(wakeup: (() => void) | null): void {
    this.wakeup = wakeup;
  }

  /** Cut the cable: both endpoints drop further transmits and queued frames are discarded. */
  close(): void {
    this.wire.closed = true;
    this.out.reset();
    this.inq.reset();
  }
}
