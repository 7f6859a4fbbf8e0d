/**
 * A Linux TUN device (`IFF_TUN | IFF_NO_PI`) as an 'ip' {@link Link}: bare IP
 * packets to and from the host kernel, with the TAP driver's native I/O
 * threads and shared rings (native/tap_thread.c, tap-ring.ts): one thread
 * blocks in read(), one does the write()s, the JS thread only copies
 * packets and moves ring indices, and the wakeup runs once per batch, never
 * per packet and never by busy-polling.
 *
 * This is the inner side of a host WireGuard device (wireguard-go's
 * tun.Device): what the host's routes send into the device is read here.
 * IPv4 is carried, and IPv6 with the `ipv6` option (the host WireGuard
 * device routes both); otherwise IPv6 packets the kernel sends (router or
 * multicast listener solicitations) are dropped and counted in
 * {@link TunLink.nonIpv4}.
 */
import type { FrameReceiver, Link, LinkStats } from './link.js';
import { TapRings, defaultRingSlots } from './tap-ring.js';
import { loadNativeAddon, type NativeAddon } from './addon.js';
import { Errno } from '../engine/errno.js';

/** Options of {@link TunLink.open}. */
export interface TunLinkOptions {
  /** Largest IP packet carried (the device's MTU). Default 1420, WireGuard's. */
  mtu?: number;
  /** Packets handed over per poll before yielding to the event loop. Default 256. */
  pollBudget?: number;
  /** Packet slots per ring (a power of two, 2..65536). Default: up to 8 MiB per ring. */
  ringSlots?: number;
  /** Carry IPv6 packets too (default false: only IPv4 goes up, the rest is counted in `nonIpv4`). */
  ipv6?: boolean;
}

/** Slack beyond the MTU so an oversized packet is seen (and dropped) rather than truncated. */
const SLOT_SLACK = 4;
/** The smallest IPv4 header. */
const MIN_PACKET = 20;

function loadAddon(): NativeAddon {
  return loadNativeAddon();
}

export class TunLink implements Link {
  readonly layer = 'ip' as const;
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Received packets that were not IPv4 (nor IPv6 with the `ipv6` option): dropped, also in `stats.drops`. */
  nonIpv4 = 0;

  private fd: number;
  private readonly native: NativeAddon;
  private readonly rings: TapRings;
  private readonly budget: number;
  private wakeup: (() => void) | null = null;
  private rx: FrameReceiver | null = null;
  /** Filters out non-IPv4 packets before the caller's receiver. */
  private readonly filter: FrameReceiver;

  private constructor(native: NativeAddon, fd: number, name: string, mtu: number, budget: number, slots: number, ipv6: boolean) {
    this.native = native;
    this.fd = fd;
    this.name = name;
    this.mtu = mtu;
    this.budget = budget;
    this.filter = {
      receiveFrame: (b, off, len) => {
        const version = b[off] >> 4;
        if (version !== 4 && (version !== 6 || !ipv6)) {
          this.nonIpv4++;
          this.stats.drops++;
          return;
        }
        const rx = this.rx;
        if (rx !== null) rx.receiveFrame(b, off, len);
      },
    };
    this.rings = new TapRings(native, fd, slots, mtu + SLOT_SLACK, () => {
      const w = this.wakeup;
      if (w !== null) w();
    });
    this.rings.keepAlive(false);
  }

  /**
   * Create (or attach to) the TUN device `name` (at most 15 bytes). Needs
   * CAP_NET_ADMIN and /dev/net/tun; throws with code EPERM, EBUSY, ENOENT...
   * The device is not configured here (no address, MTU, up): that is the
   * caller's `ip` work. It disappears when the link is closed.
   */
  static open(name: string, options: TunLinkOptions = {}): TunLink {
    const mtu = options.mtu ?? 1420;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`mtu must be an integer in 68..65535, got ${mtu}`);
    const budget = options.pollBudget ?? 256;
    if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`pollBudget must be a positive integer, got ${budget}`);
    const slots = options.ringSlots ?? defaultRingSlots(mtu + SLOT_SLACK);
    if (!Number.isInteger(slots) || slots < 2 || slots > 65536 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`ringSlots must be a power of two in 2..65536, got ${slots}`);
    }
    const native = loadAddon();
    const dev = native.open(name, true);
    try {
      return new TunLink(native, dev.fd, dev.name, mtu, budget, slots, options.ipv6 === true);
    } catch (err) {
      native.close(dev.fd);
      throw err;
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /**
   * read() errors of the RX thread so far. They start when the device is
   * deleted under us (`ip link delete`: EBADFD), which is how wg-quick takes
   * a user-space interface down; the thread then retries every 10 ms.
   */
  get rxErrors(): number {
    return this.fd < 0 ? 0 : this.rings.counters().rxErrors;
  }

  /**
   * Queue one IP packet for the kernel (copied into the TX ring). Returns 0,
   * or -ENETDOWN (closed), -EMSGSIZE (too short or longer than the MTU),
   * -ENOBUFS (ring full), as {@link Link.transmit} reports.
   */
  transmit(b: Uint8Array, off: number, len: number, now: number): number {
    void now;
    if (this.fd < 0 || len < MIN_PACKET || len > this.mtu) {
      this.stats.drops++;
      return this.fd < 0 ? -Errno.ENETDOWN : -Errno.EMSGSIZE;
    }
    if (!this.rings.push(b, off, len)) {
      this.stats.drops++;
      return -Errno.ENOBUFS;
    }
    this.stats.txFrames++;
    this.stats.txBytes += len;
    return 0;
  }

  /** Hand up to `pollBudget` IPv4 packets from the kernel to `rx`; asks for another poll when the budget ran out. */
  poll(now: number, rx: FrameReceiver): number {
    void now;
    if (this.fd < 0) return Infinity;
    this.rings.syncTxCounters(this.stats);
    this.rx = rx;
    const more = this.rings.receive(this.filter, this.budget, MIN_PACKET, this.mtu, this.stats);
    this.rx = null;
    if (more) {
      const w = this.wakeup;
      if (w !== null) w();
    }
    return Infinity;
  }

  /** While a wakeup is registered the RX thread's signal keeps the event loop alive. */
  setWakeup(wakeup: (() => void) | null): void {
    this.wakeup = wakeup;
    if (this.fd < 0) return;
    this.rings.keepAlive(wakeup !== null);
    if (wakeup !== null && this.rings.rxPending) wakeup();
  }

  /** Join the I/O threads (queued packets are written first) and close the fd: the kernel removes the device. Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    this.rings.stop();
    this.rings.syncTxCounters(this.stats);
    const fd = this.fd;
    this.fd = -1;
    this.wakeup = null;
    this.native.close(fd);
  }
}
