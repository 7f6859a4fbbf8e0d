/**
 * A Linux TAP device as a {@link Link}: Ethernet frames to and from the host
 * kernel, through the small native addon in native/tap.c.
 *
 * Two modes (option `threads`):
 * - threaded: two native threads do the read() and write() syscalls and
 *   exchange frames with JS through shared rings (see tap-ring.ts); the JS
 *   thread makes no syscall per frame, except that the first frame sent
 *   after a poll is written directly when the TX ring is empty (option
 *   `directWrite`: saves a lone frame the hand-off to the TX thread). A full
 *   TX ring drops the frame (and counts it); a full RX ring pauses reading
 *   (the kernel queue holds). While the device is quiet (option `rxHandoff`)
 *   the RX thread hands it to the JS thread, which then watches and reads it
 *   itself as in synchronous mode until a burst arrives, and hands it back:
 *   a lone reply wakes one thread (JS) instead of two.
 * - synchronous: receiving drains the non-blocking fd in batches into one
 *   preallocated buffer of frame slots; the addon's libuv poll calls the
 *   stack's wakeup once per event-loop wakeup (not per frame) while a wakeup
 *   is registered. Transmitting writes synchronously; a full device queue
 *   (EAGAIN) drops the frame and counts it.
 * Either way the stack's wakeup runs once per event-loop wakeup, not per
 * frame, and nothing is allocated per frame.
 *
 * Offload (option `offload`, default on where the kernel takes it): the
 * device is opened with IFF_VNET_HDR and TUNSETOFFLOAD (TUN_F_CSUM |
 * TUN_F_TSO4), so the kernel hands the stack coalesced TCP segments of up to
 * 64 KiB with their checksum already vouched for (DATA_VALID, or NEEDS_CSUM:
 * partial, from a sender on this host), and takes TCP super-segments of up
 * to 64 KiB with a partial checksum, which it completes and cuts into
 * MTU-sized frames where they leave the host (locally delivered, it passes
 * them whole, as GRO would). The virtio_net_hdr stays in the native rings
 * (native/vnet.h); the engine sees `offload`, `TxOffload` and receive flags
 * only. `offload: false` keeps one plain frame per read/write, never merged
 * or split.
 */
import { Errno } from '../engine/errno.js';
import { ETH_HEADER_LEN } from './link.js';
import type { FrameReceiver, Link, LinkOffload, LinkStats, TxOffload } from './link.js';
import { TapRings, defaultRingSlots, type TapThreadCounters } from './tap-ring.js';
import { NativeSynResponder } from './syn-responder.js';
import { BpfSynResponder } from './syn-responder-bpf.js';
import { TapSynResponders } from './syn-responder-tap.js';
import { loadNativeAddon, type NativeAddon } from './addon.js';
import { checkCidr, ip } from './ip-command.js';
import type { TapLinkOptions, TapNetnsOptions, TapOffloadStats } from './tap-options.js';
import {
  AHEAD_FRAME, AHEAD_NONE, BATCH_FRAMES, BULK_RX_BYTES, HANDBACK_BYTES_PER_MS, HANDBACK_FRAMES_PER_MS, HELD_BUDGET,
  OFFLOAD_MAX_PACKET, OFFLOAD_RING_SLOTS, SLOT_SLACK, TAP_KERNEL_QUEUE_DEFAULT, TAP_OFFLOAD_DEFAULT, TAP_THREADS_DEFAULT,
  TUN_F_CSUM, TUN_F_TSO4, txCsum, txGso,
} from './tap-tuning.js';

/** The native addon's surface (native/tap.c, native/tap_thread.c), loaded by addon.ts. */
type TapAddon = NativeAddon;

export type { TapLinkOptions, TapNetnsOptions, TapOffloadStats } from './tap-options.js';
export { TAP_OFFLOAD_DEFAULT, TAP_KERNEL_QUEUE_DEFAULT, TAP_THREADS_DEFAULT } from './tap-tuning.js';

/** The addon; throws (see addon.ts) with what to do when no binary fits. */
function loadAddon(): TapAddon {
  return loadNativeAddon();
}

export class TapLink implements Link {
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Write errors other than EAGAIN (e.g. EIO while the device is down); they are counted in `drops` too. */
  txErrors = 0;
  /** The network namespace the device was moved to, or null for the caller's. */
  netns: string | null = null;
  /** What the device offloads (see the class comment), or null without offload. */
  readonly offload: LinkOffload | null;
  /** Offload counters. */
  readonly offloadStats: TapOffloadStats = { txGso: 0, txCsumPartial: 0 };
  /** The SYN-cookie responders (option `synResponder`: the egress eBPF one and the RX thread's), driven by the stack's TCP. */
  synResponder: TapSynResponders | null = null;

  private readonly native: TapAddon;
  private fd: number;
  private readonly slotSize: number;
  private readonly rxBuf: Uint8Array;
  private readonly rxLen: Int32Array;
  private readonly budget: number;
  private wakeup: (() => void) | null = null;
  /** The driver's poll-at-once (see {@link Link.setWakeup}), for the fd/ring callbacks; null: use `wakeup`. */
  private pollNow: (() => void) | null = null;
  private pollHandle: object | null = null;
  private readonly onReadable: () => void;
  /** The threaded mode's rings, or null in synchronous mode. */
  private readonly rings: TapRings | null;
  /** Threaded mode: option `directWrite`. */
  private readonly directWrite: boolean;
  /** Threaded mode: option `rxHandoff`. */
  private readonly rxHandoff: boolean;
  /** The fd was reported readable and not yet read down to EAGAIN (uv_poll in use). */
  private fdReady = false;
  /** The addon's read-ahead control word (see {@link watch}). */
  private readonly ahead = new Int32Array(1);
  /** rxHandoff: the millisecond and the frames JS read from the device in it. */
  private heldMs = -1;
  private heldFrames = 0;
  private heldBytes = 0;
  /** Poll times (ms) of the last read that delivered frames and of the last drain read that found none: readFd's lone-frame rule. */
  private lastRxMs = -1;
  private emptyDrainMs = -1;
  /** Reads on the JS thread that found the device empty (EAGAIN): a drain read (see readFd), or a poll for another reason. */
  rxEmptyReads = 0;
  private readonly onFdReadable: () => void;

  /** Bytes of virtio_net_hdr per frame on the fd: 10 when opened with offload, else 0. */
  private readonly vnetHdr: number;
  /** Largest frame either way: mtu + 14, or a super-segment's with offload. */
  private readonly maxFrame: number;

  private constructor(native: TapAddon, fd: number, name: string, mtu: number, budget: number, ringSlots: number,
    directWrite: boolean, rxHandoff: boolean, vnetHdr: number, feats: number) {
    this.vnetHdr = vnetHdr;
    this.offload = vnetHdr === 0 || (feats & TUN_F_CSUM) === 0 ? null
      : { tsoMax: (feats & TUN_F_TSO4) !== 0 ? OFFLOAD_MAX_PACKET : 0, csum: true };
    // Even with TUNSETOFFLOAD refused, a vnet fd's reads fit a frame of the MTU; with TSO4 the
    // kernel sends coalesced segments up to 64 KiB.
    this.maxFrame = (this.offload !== null && this.offload.tsoMax > mtu ? this.offload.tsoMax : mtu) + ETH_HEADER_LEN;
    this.directWrite = directWrite;
    this.rxHandoff = ringSlots > 0 && rxHandoff;
    this.native = native;
    this.fd = fd;
    this.name = name;
    this.mtu = mtu;
    this.budget = budget;
    // A TX slot holds the virtio_net_hdr in front of its frame (tap_thread.c).
    this.slotSize = this.maxFrame + SLOT_SLACK + vnetHdr;
    // Both run as event-loop callbacks (uv_poll, the RX thread's wakeup), never inside a poll: the
    // stack polls at once, so a frame on an idle device is answered in this wake-up (no setImmediate hop).
    this.onReadable = () => {
      const w = this.pollNow ?? this.wakeup;
      if (w !== null) w();
    };
    this.onFdReadable = () => {
      this.fdReady = true;
      const w = this.pollNow ?? this.wakeup;
      if (w !== null) w();
    };
    if (ringSlots > 0) {
      // The batch buffer is only read into while the JS thread holds the device (rxHandoff).
      this.rxBuf = new Uint8Array(this.rxHandoff ? this.slotSize * BATCH_FRAMES : 0);
      this.rxLen = new Int32Array(this.rxHandoff ? BATCH_FRAMES : 0);
      this.rings = new TapRings(native, fd, ringSlots, this.slotSize, this.onReadable, vnetHdr, this.rxHandoff);
      this.rings.keepAlive(false); // until a wakeup is registered
    } else {
      this.rxBuf = new Uint8Array(this.slotSize * BATCH_FRAMES);
      this.rxLen = new Int32Array(BATCH_FRAMES);
      this.rings = null;
    }
  }

  /**
   * Open (creating if needed) the TAP device `name` (at most 15 bytes; '' lets
   * the kernel pick tapN), bring it up and optionally address its Linux side.
   * Needs root (CAP_NET_ADMIN) and /dev/net/tun. The device disappears when
   * the link is closed.
   */
  static open(name: string, options: TapLinkOptions = {}): TapLink {
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65521) throw new RangeError(`mtu must be an integer in 68..65521, got ${mtu}`);
    const budget = options.pollBudget ?? 256;
    if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`pollBudget must be a positive integer, got ${budget}`);
    if (options.hostAddress !== undefined) checkCidr(options.hostAddress);
    const kernelQueue = options.kernelQueue ?? TAP_KERNEL_QUEUE_DEFAULT;
    if (!Number.isInteger(kernelQueue) || kernelQueue < 0 || kernelQueue > 1_000_000) {
      throw new RangeError(`kernelQueue must be an integer in 0..1000000, got ${kernelQueue}`);
    }
    const offload = options.offload ?? TAP_OFFLOAD_DEFAULT;
    const busyPollUs = options.busyPollUs;
    if (busyPollUs !== undefined && (!Number.isInteger(busyPollUs) || busyPollUs < 0 || busyPollUs > 10_000)) {
      throw new RangeError(`busyPollUs must be an integer in 0..10000, got ${busyPollUs}`);
    }
    let ringSlots = 0;
    if (options.threads ?? TAP_THREADS_DEFAULT) {
      ringSlots = options.ringSlots ?? (offload ? OFFLOAD_RING_SLOTS : defaultRingSlots(mtu + ETH_HEADER_LEN + SLOT_SLACK));
      if (!Number.isInteger(ringSlots) || ringSlots < 2 || ringSlots > 65536 || (ringSlots & (ringSlots - 1)) !== 0) {
        throw new RangeError(`ringSlots must be a power of two in 2..65536, got ${ringSlots}`);
      }
    }
    const native = loadAddon();
    const dev = offload ? native.open(name, false, true) : native.open(name);
    let link: TapLink;
    try {
      link = new TapLink(native, dev.fd, dev.name, mtu, budget, ringSlots, options.directWrite ?? true,
        options.rxHandoff ?? true, dev.vnetHdr ?? 0, dev.offload ?? 0);
      if (busyPollUs !== undefined) link.rings?.setBusyPoll(busyPollUs);
    } catch (err) {
      native.close(dev.fd);
      throw err;
    }
    if (options.synResponder ?? true) link.attachSynResponder(options.egressSynResponder ?? true);
    try {
      const setArgs = ['link', 'set', 'dev', dev.name];
      if (options.mtu !== undefined) setArgs.push('mtu', String(mtu));
      if (kernelQueue > 0) setArgs.push('txqueuelen', String(kernelQueue));
      if (options.up !== false) setArgs.push('up');
      if (setArgs.length > 4) ip(setArgs);
      if (options.hostAddress !== undefined) ip(['addr', 'add', options.hostAddress, 'dev', dev.name]);
    } catch (err) {
      link.close();
      throw err;
    }
    return link;
  }

  /**
   * Move the device into network namespace `ns` (which must exist), bring it
   * up there (a move takes it down) with this link's MTU, and optionally
   * address its Linux side. The fd, and so this link, keeps working.
   */
  moveToNetns(ns: string, options: TapNetnsOptions = {}): void {
    if (this.fd < 0) throw new Error(`${this.name}: link is closed`);
    if (options.hostAddress !== undefined) checkCidr(options.hostAddress);
    ip(['link', 'set', 'dev', this.name, 'netns', ns]);
    this.netns = ns;
    ip(['-n', ns, 'link', 'set', 'dev', this.name, 'mtu', String(this.mtu), 'up']);
    if (options.hostAddress !== undefined) ip(['-n', ns, 'addr', 'add', options.hostAddress, 'dev', this.name]);
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.fd < 0;
  }

  /** True when the device's syscalls run on native threads (option `threads`). */
  get threaded(): boolean {
    return this.rings !== null;
  }

  /** The I/O threads' own counters (with the SYN responder's: synAnswered, ...), or null in synchronous mode. */
  threadCounters(): TapThreadCounters | null {
    if (this.rings === null) return null;
    const c = this.rings.counters();
    const rx = this.synResponder?.rx ?? null;
    if (rx !== null) {
      const n = rx.counters();
      c.synAnswered = n.answered;
      c.synDropped = n.dropped;
      c.synTxErrors = n.txErrors;
      c.synQueueFull = n.queueFull;
    }
    const e = this.synResponder?.egressCounters() ?? null;
    if (e !== null) [c.synEgressAnswered, c.synEgressPassed, c.synEgressFailed, c.synEgressMapErrors] = [e.answered, e.passed, e.redirectFailed, e.mapWriteErrors];
    return c;
  }

  private attachSynResponder(egress: boolean): void {
    const mem = this.rings === null ? null : this.rings.attachSynResponder();
    this.synResponder = new TapSynResponders(mem === null ? null : new NativeSynResponder(mem),
      egress ? (done) => (this.fd < 0 ? 'link closed' : BpfSynResponder.start(this.native, this.fd, this.name, () => this.fd >= 0, done)) : null);
  }

  transmit(frame: Uint8Array, offset: number, length: number, now: number, tx?: TxOffload | null): number {
    const stats = this.stats;
    // With offload, the stack's TxOffload becomes the frame's virtio_net_hdr (packed, see txGso/txCsum).
    let gso = 0;
    let csum = 0;
    if (tx != null && this.offload !== null) {
      if (tx.gsoType !== 0 && this.offload.tsoMax > 0) {
        this.offloadStats.txGso++;
        gso = txGso(tx);
      }
      if (tx.csumOffset !== 0) this.offloadStats.txCsumPartial++;
      csum = txCsum(tx);
    }
    const max = gso !== 0 ? this.maxFrame : this.mtu + ETH_HEADER_LEN;
    if (this.fd < 0 || length < ETH_HEADER_LEN || length > max) {
      stats.drops++;
      return this.fd < 0 ? -Errno.ENETDOWN : -Errno.EMSGSIZE;
    }
    const rings = this.rings;
    if (rings === null) return this.writeFrame(frame, offset, length, gso, csum);
    // Counted as sent once queued; the TX thread's rare write failures show in drops/txErrors.
    if (!(csum !== 0 ? rings.push(frame, offset, length, gso, csum) : rings.push(frame, offset, length))) {
      stats.drops++;
      return -Errno.ENOBUFS;
    }
    stats.txFrames++;
    stats.txBytes += length;
    return 0;
  }

  /**
   * {@link transmit} without I/O threads: the write on this thread. Apart from transmit, so that the
   * threaded path's function is lean, optimized sooner by V8 (issue #10).
   */
  private writeFrame(frame: Uint8Array, offset: number, length: number, gso: number, csum: number): number {
    const stats = this.stats;
    const r = this.vnetHdr !== 0 ? this.native.write(this.fd, frame, offset, length, this.vnetHdr, gso, csum)
      : this.native.write(this.fd, frame, offset, length);
    if (r !== length) {
      stats.drops++;
      // EAGAIN: the device queue is full, reported as Linux reports a qdisc drop (ENOBUFS).
      if (r === -Errno.EAGAIN) return -Errno.ENOBUFS;
      // Anything else (EIO: device down, or a short write) is an error.
      this.txErrors++;
      return r < 0 ? r : -Errno.EIO;
    }
    stats.txFrames++;
    stats.txBytes += length;
    return 0;
  }

  /**
   * Deliver the frames waiting on the device, at most `pollBudget` of them;
   * when more remain, ask for another poll through the wakeup. Always returns
   * Infinity: arrivals are signalled by the wakeup, not by deadlines.
   */
  poll(now: number, rx: FrameReceiver): number {
    const rings = this.rings;
    if (rings !== null) {
      if (this.fd < 0) return Infinity;
      if (this.directWrite) rings.armDirect();
      const rxBytes0 = this.stats.rxBytes;
      const more = rings.receive(rx, this.budget, ETH_HEADER_LEN, this.maxFrame, this.stats);
      // Bulk receive: its ACKs go to the TX thread rather than being written here. A
      // write to the TAP runs the kernel's side of the exchange in this thread (the
      // sender's ACK processing and its next segments, in softirq) and wakes the
      // sender and the RX thread, which then preempt the JS thread: with offload,
      // inbound bulk spent a third of the JS thread's time in these writes. A lone
      // frame (a request, a ping) still gets the direct write.
      if (this.directWrite && this.stats.rxBytes - rxBytes0 >= BULK_RX_BYTES) rings.armDirect(false);
      if (more) {
        const w = this.wakeup;
        if (w !== null) w(); // budget spent with frames possibly still queued
      } else if (this.rxHandoff && rings.jsReads) {
        // The ring's frames came first; the device's wait (order holds).
        this.readHeld(rings, rx, now);
        if (this.directWrite && this.stats.rxBytes - rxBytes0 >= BULK_RX_BYTES) rings.armDirect(false);
      }
      // The TX thread's drop and error counts are folded in after the frames: a lone request is read
      // and answered first.
      if (this.fd >= 0) this.txErrors += rings.syncTxCounters(this.stats);
      return Infinity;
    }
    if (this.readFd(rx, this.budget, now) < 0) {
      // Budget spent with frames possibly still queued: come back soon.
      const w = this.wakeup;
      if (w !== null) w();
    }
    return Infinity;
  }

  /**
   * Threaded mode, the RX thread having handed the device to JS: watch it on
   * the event loop and read it here. {@link HANDBACK_FRAMES_PER_MS} frames in
   * a millisecond mean bulk traffic: the frames read are delivered, then the
   * device goes back to the RX thread.
   */
  private readHeld(rings: TapRings, rx: FrameReceiver, now: number): void {
    if (this.pollHandle === null) {
      // Watched only while a wakeup is set; polled by hand, every poll reads.
      if (this.wakeup !== null) this.pollHandle = this.watch(this.onFdReadable);
      this.fdReady = true; // frames may have queued since the RX thread's last read
    }
    if (!this.fdReady) return;
    const bytes0 = this.stats.rxBytes;
    const n = this.readFd(rx, HELD_BUDGET, now);
    if (this.fd < 0) return;
    const got = n < 0 ? HELD_BUDGET : n;
    rings.rxDirect += got;
    if (now !== this.heldMs) {
      this.heldMs = now;
      this.heldFrames = 0;
      this.heldBytes = 0;
    }
    this.heldFrames += got;
    this.heldBytes += this.stats.rxBytes - bytes0;
    // A read that filled its budget (frames still queued) is a burst too; so is a flood the SYN responder answers (the RX thread answers it, not this thread).
    const sr = this.synResponder;
    if (n < 0 || this.heldFrames >= HANDBACK_FRAMES_PER_MS || this.heldBytes >= HANDBACK_BYTES_PER_MS
      || (got > 0 && sr !== null && sr.busy(now))) {
      this.stopPolling();
      this.fdReady = false;
      rings.handBack();
    }
  }

  /**
   * Read and deliver up to `pollBudget` frames from the non-blocking fd in
   * batches. Returns the number delivered or dropped, or -1 when the budget
   * was spent (frames may remain); clears `fdReady` when a read found the
   * device empty, or when it stopped after a lone frame (below).
   *
   * A lone frame (the first of its millisecond: a ping, a request) is not
   * followed by a read to drain the device when the event loop watches it:
   * that read finds it empty nearly always, and costs a syscall (~2 µs here)
   * and a Node-API call per exchange. The watch is level-triggered (uv_poll,
   * epoll without EPOLLET): a frame queued behind reports the device readable
   * again at once. A second frame in the same millisecond may be a burst: the
   * reads drain in batches, until one drain finds the device empty; the rest
   * of that millisecond's frames are lone again (request/response at several
   * exchanges per ms: one empty read per ms, not one per exchange).
   */
  private readFd(rx: FrameReceiver, budget: number, now: number): number {
    const native = this.native;
    const buf = this.rxBuf;
    const lens = this.rxLen;
    const slot = this.slotSize;
    const maxFrame = this.maxFrame;
    const vnet = this.vnetHdr;
    const stats = this.stats;
    let left = budget;
    // The first read takes one frame: a lone request (a ping, a chatty exchange's segment) is then
    // answered, its reply written, before the read that finds the device empty (one syscall less
    // ahead of the reply); the reads after it take whole batches.
    let want = 1;
    while (left > 0 && this.fd >= 0) {
      let n: number;
      const ahead = this.ahead[0];
      if (ahead !== AHEAD_NONE) {
        // The addon's read ahead of this wake-up: the first read (one frame, want 1), already done.
        this.ahead[0] = AHEAD_NONE;
        n = ahead === AHEAD_FRAME ? 1 : 0;
      } else {
        n = vnet !== 0 ? native.readBatch(this.fd, buf, slot, want, lens, vnet) : native.readBatch(this.fd, buf, slot, want, lens);
      }
      if (n <= 0) {
        // 0: drained (EAGAIN); < 0: read error, nothing to deliver
        if (n === 0) {
          this.rxEmptyReads++;
          if (want > 1) this.emptyDrainMs = now;
        }
        this.fdReady = false;
        return budget - left;
      }
      left -= n;
      const lone = want === 1 && (now !== this.lastRxMs || now === this.emptyDrainMs);
      this.lastRxMs = now;
      for (let i = 0; i < n; i++) {
        const word = lens[i];
        const len = word & 0xffffff; // offload: checksum flags on top (native/vnet.h)
        if (len < ETH_HEADER_LEN || len > maxFrame) {
          stats.drops++;
          continue;
        }
        stats.rxFrames++;
        stats.rxBytes += len;
        const flags = word >>> 24;
        if (flags !== 0) rx.receiveFrame(buf, i * slot, len, flags);
        else rx.receiveFrame(buf, i * slot, len);
        if (this.fd < 0) return 0; // closed from inside the callback
      }
      if (n < want) {
        this.fdReady = false; // the batch ended on EAGAIN
        return budget - left;
      }
      if (lone && this.pollHandle !== null) {
        this.fdReady = false; // watched: a frame behind it makes the fd readable again (see above)
        return budget - left;
      }
      want = left < BATCH_FRAMES ? left : BATCH_FRAMES;
    }
    return this.fd >= 0 ? -1 : 0;
  }

  /**
   * Register the stack's wakeup. While one is set, the device's readability is
   * watched on the event loop (which keeps the process alive); with null the
   * watch stops and frames queue in the kernel until the next poll.
   */
  setWakeup(wakeup: (() => void) | null, pollNow: (() => void) | null = null): void {
    this.wakeup = wakeup;
    this.pollNow = wakeup !== null ? pollNow : null;
    const rings = this.rings;
    if (rings !== null) {
      if (this.fd < 0) return;
      rings.keepAlive(wakeup !== null);
      if (wakeup === null) {
        this.stopPolling(); // the device, if JS holds it, waits in the kernel until polled again
        return;
      }
      // Frames that arrived while nobody watched signalled nobody, and a device
      // JS holds is not watched yet: poll now.
      if (rings.rxPending || rings.jsReads) wakeup();
      return;
    }
    if (wakeup !== null && this.pollHandle === null && this.fd >= 0) {
      this.pollHandle = this.watch(this.onReadable);
      // Frames that arrived while nobody watched: level-triggered polling reports them too.
    } else if (wakeup === null) {
      this.stopPolling();
    }
  }

  /**
   * Watch the fd, the addon reading one frame ahead of `callback` into slot 0 (readFd's first read, one
   * frame, taken from there): the read runs before JS, not between the poll's prelude and the engine's
   * work (a cold restart on this VM), and costs no Node-API call. Later reads and ordering are unchanged.
   */
  private watch(callback: () => void): object {
    return this.vnetHdr !== 0
      ? this.native.pollStart(this.fd, callback, this.rxBuf, this.slotSize, this.rxLen, this.ahead, this.vnetHdr)
      : this.native.pollStart(this.fd, callback, this.rxBuf, this.slotSize, this.rxLen, this.ahead);
  }

  private stopPolling(): void {
    if (this.pollHandle !== null) {
      this.native.pollStop(this.pollHandle);
      this.pollHandle = null;
    }
  }

  /** Stop watching, close the fd; the kernel removes the device. Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    this.stopPolling();
    this.synResponder?.close();
    if (this.rings !== null) {
      this.rings.stop(); // joins the threads (queued frames are written first) before the fd goes
      this.txErrors += this.rings.syncTxCounters(this.stats);
    }
    const fd = this.fd;
    this.fd = -1;
    this.wakeup = null;
    this.native.close(fd);
  }
}
