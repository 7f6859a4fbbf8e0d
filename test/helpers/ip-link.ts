/**
 * A MemoryLink seen as a point-to-point IP link (layer 'ip', as a WireGuard
 * device is): IPv6 needs no neighbour discovery on it, so tests and benches
 * over it exercise the transports alone.
 */
import type { MemoryLink } from '../../src/link/memory-link.js';
import type { FrameReceiver, Link, LinkStats } from '../../src/link/link.js';

export class IpLink implements Link {
  readonly layer = 'ip' as const;
  constructor(private readonly inner: MemoryLink) {}
  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats(): LinkStats { return this.inner.stats; }
  transmit(b: Uint8Array, off: number, len: number, now: number): number { return this.inner.transmit(b, off, len, now); }
  poll(now: number, rx: FrameReceiver): number { return this.inner.poll(now, rx); }
  setWakeup(fn: (() => void) | null): void { this.inner.setWakeup(fn); }
  close(): void { this.inner.close(); }
}
