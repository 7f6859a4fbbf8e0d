/**
 * A minimal {@link Link} for receive-path benchmarks: every `poll` hands the
 * stack the next `batch` frames of a prepared, preallocated set (cycling), and
 * `transmit` only counts. Nothing here allocates after construction.
 */
import type { FrameReceiver, Link, LinkStats } from '../src/link/link.js';

export class InjectLink implements Link {
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Frames delivered by the next poll (0 pauses injection). */
  batch = 0;
  private frames: Uint8Array[] = [];
  private lens: Int32Array = new Int32Array(0);
  private next = 0;

  constructor(name: string, mtu = 1500) {
    this.name = name;
    this.mtu = mtu;
  }

  /** Install the frame set to cycle through (setup time: copies nothing, keeps the arrays). */
  load(frames: Uint8Array[], batch: number): void {
    this.frames = frames;
    this.lens = new Int32Array(frames.length);
    for (let i = 0; i < frames.length; i++) this.lens[i] = frames[i].length;
    this.next = 0;
    this.batch = batch;
  }

  /** IPv6 frames the stack sent on its own (DAD probe, router solicitations at start): not answers, not in txFrames. */
  ipv6Frames = 0;

  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    if (frame[offset + 12] === 0x86 && frame[offset + 13] === 0xdd) {
      this.ipv6Frames++;
      return 0;
    }
    this.stats.txFrames++;
    this.stats.txBytes += length;
    return 0;
  }

  poll(now: number, rx: FrameReceiver): number {
    const frames = this.frames;
    const lens = this.lens;
    const n = frames.length;
    const stats = this.stats;
    let k = this.next;
    for (let i = 0; i < this.batch; i++) {
      const len = lens[k];
      stats.rxFrames++;
      stats.rxBytes += len;
      rx.receiveFrame(frames[k], 0, len);
      k = k + 1 === n ? 0 : k + 1;
    }
    this.next = k;
    return Infinity;
  }

  setWakeup(wakeup: (() => void) | null): void {
    void wakeup;
  }

  close(): void {
    this.batch = 0;
  }
}
