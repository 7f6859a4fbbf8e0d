/**
 * Packets addressed to one of our own addresses. IPv4 output copies them
 * here and IPv4 input delivers them at the next poll: delivering at once
 * would run input (and the sockets' reactions to it) inside the sender's
 * output call. A fixed ring of frame slots from the memory plan.
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';

export class LoopbackQueue {
  /** Packet bytes, one `slotSize` slot per packet; read by input at {@link offsetOf}. */
  readonly frames: Uint8Array;
  private readonly len: Uint16Array;
  private readonly ifIndex: Uint8Array;
  private head = 0;
  /** Packets queued. */
  count = 0;

  static plan(m: Carver, slots: number, slotSize: number): void {
    new LoopbackQueue(m, slots, slotSize);
  }

  constructor(m: Carver, readonly slots: number, readonly slotSize: number) {
    this.frames = m.u8('loopback', slots * slotSize);
    this.len = m.u16('loopback', slots);
    this.ifIndex = m.u8('loopback', slots);
  }

  /** Slots still free. */
  get free(): number {
    return this.slots - this.count;
  }

  /** Copy the IP packet at `b[o .. o+len)`, received as on interface `ifIndex`; false when full. */
  push(ifIndex: number, b: Uint8Array, o: number, len: number): boolean {
    if (this.count >= this.slots) return false;
    const slot = (this.head + this.count) % this.slots;
    copyBytes(b, o, this.frames, slot * this.slotSize, len);
    this.len[slot] = len;
    this.ifIndex[slot] = ifIndex;
    this.count++;
    return true;
  }

  /**
   * Take the oldest packet off the queue and return its slot; its bytes stay
   * at {@link offsetOf} until that slot is pushed again.
   */
  shift(): number {
    const slot = this.head;
    this.head = (this.head + 1) % this.slots;
    this.count--;
    return slot;
  }

  /** Where slot `slot`'s packet starts in {@link frames}. */
  offsetOf(slot: number): number {
    return slot * this.slotSize;
  }

  /** Length of slot `slot`'s packet. */
  lengthOf(slot: number): number {
    return this.len[slot];
  }

  /** The interface slot `slot`'s packet is received on (the one owning its destination). */
  ifIndexOf(slot: number): number {
    return this.ifIndex[slot];
  }
}
