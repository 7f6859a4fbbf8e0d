/**
 * A Linux TAP device as a {@link Link}: Ethernet frames to and from the host
 * kernel, through the small native addon in native/tap.c.
 *
 * Receiving drains the non-blocking fd in batches into one preallocated
 * buffer of frame slots; the addon's libuv poll calls the stack's wakeup once
 * per event-loop wakeup (not per frame) while a wakeup is registered.
 * Transmitting writes synchronously; a full device queue (EAGAIN) drops the
 * frame and counts it. Nothing is allocated per frame.
 */
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { ETH_HEADER_LEN } from './link.js';
import type { FrameReceiver, Link, LinkStats } from './link.js';

/** The native addon's surface (native/tap.c). */
interface TapAddon {
  open(name: string): { fd: number; name: string };
  readBatch(fd: number, buffer: Uint8Array, slotSize: number, maxFrames: number, lengths: Int32Array): number;
  write(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  close(fd: number): number;
  pollStart(fd: number, callback: () => void): object;
  pollStop(handle: object): void;
}

/** Options of {@link TapLink.open}. */
export interface TapLinkOptions {
  /** Give the Linux side of the device this address, e.g. '10.77.0.1/24' (`ip addr add`). */
  hostAddress?: string;
  /** IP MTU of the device (both sides). Default 1500. */
  mtu?: number;
  /** Frames read per poll before yielding to the event loop. Default 256. */
  pollBudget?: number;
  /** Bring the device up with `ip link set ... up`. Default true. */
  up?: boolean;
}

/** Options of {@link TapLink.moveToNetns}. */
export interface TapNetnsOptions {
  /** Address of the Linux side inside the namespace, e.g. '10.77.0.1/24'. */
  hostAddress?: string;
}

const ADDON_PATH = '../../../build/Release/wirestack_tap.node'; // dist/src/link -> repo root
const BATCH_FRAMES = 64;
/** Slack beyond mtu + 14 so an oversized frame is seen (and dropped) rather than silently truncated. */
const SLOT_SLACK = 4;
const EAGAIN = 11;
const IP_TIMEOUT_MS = 10_000;

let addon: TapAddon | null = null;

function loadAddon(): TapAddon {
  if (addon !== null) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(ADDON_PATH) as TapAddon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err instanceof Error ? err.message : String(err);
    if (code === 'MODULE_NOT_FOUND') {
      throw new Error(`native TAP addon not built: run npm ci (or npx node-gyp rebuild); looked for ${ADDON_PATH} relative to ${import.meta.url}`, { cause: err });
    }
    throw new Error(`native TAP addon failed to load: ${cause}`, { cause: err });
  }
  return addon;
}

/** Run `ip ARGS...` (no shell), throwing with ip's own message on failure. */
function ip(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: IP_TIMEOUT_MS });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr;
    const detail = stderr !== undefined && stderr.length > 0 ? stderr.toString().trim() : (err instanceof Error ? err.message : String(err));
    throw new Error(`ip ${args.join(' ')} failed: ${detail}`, { cause: err });
  }
}

function checkCidr(cidr: string): void {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new RangeError(`address must look like a.b.c.d/len, got '${cidr}'`);
}

export class TapLink implements Link {
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Write errors other than EAGAIN (e.g. EIO while the device is down); they are counted in `drops` too. */
  txErrors = 0;
  /** The network namespace the device was moved to, or null for the caller's. */
  netns: string | null = null;

  private readonly native: TapAddon;
  private fd: number;
  private readonly slotSize: number;
  private readonly rxBuf: Uint8Array;
  private readonly rxLen: Int32Array;
  private readonly budget: number;
  private wakeup: (() => void) | null = null;
  private pollHandle: object | null = null;
  private readonly onReadable: () => void;

  private constructor(native: TapAddon, fd: number, name: string, mtu: number, budget: number) {
    this.native = native;
    this.fd = fd;
    this.name = name;
    this.mtu = mtu;
    this.budget = budget;
    this.slotSize = mtu + ETH_HEADER_LEN + SLOT_SLACK;
    this.rxBuf = new Uint8Array(this.slotSize * BATCH_FRAMES);
    this.rxLen = new Int32Array(BATCH_FRAMES);
    this.onReadable = () => {
      const w = this.wakeup;
      if (w !== null) w();
    };
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
    const native = loadAddon();
    const dev = native.open(name);
    const link = new TapLink(native, dev.fd, dev.name, mtu, budget);
    try {
      const setArgs = ['link', 'set', 'dev', dev.name];
      if (options.mtu !== undefined) setArgs.push('mtu', String(mtu));
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

  transmit(frame: Uint8Array, offset: number, length: number, now: number): boolean {
    const stats = this.stats;
    if (this.fd < 0 || length < ETH_HEADER_LEN || length > this.mtu + ETH_HEADER_LEN) {
      stats.drops++;
      return false;
    }
    const r = this.native.write(this.fd, frame, offset, length);
    if (r !== length) {
      // EAGAIN: the device queue is full. Anything else (EIO: device down) is an error.
      if (r !== -EAGAIN) this.txErrors++;
      stats.drops++;
      return false;
    }
    stats.txFrames++;
    stats.txBytes += length;
    return true;
  }

  /**
   * Deliver the frames waiting on the device, at most `pollBudget` of them;
   * when more remain, ask for another poll through the wakeup. Always returns
   * Infinity: arrivals are signalled by the wakeup, not by deadlines.
   */
  poll(now: number, rx: FrameReceiver): number {
    const native = this.native;
    const buf = this.rxBuf;
    const lens = this.rxLen;
    const slot = this.slotSize;
    const maxFrame = this.mtu + ETH_HEADER_LEN;
    const stats = this.stats;
    let left = this.budget;
    while (left > 0 && this.fd >= 0) {
      const want = left < BATCH_FRAMES ? left : BATCH_FRAMES;
      const n = native.readBatch(this.fd, buf, slot, want, lens);
      if (n <= 0) return Infinity; // 0: drained (EAGAIN); < 0: read error, nothing to deliver
      left -= n;
      for (let i = 0; i < n; i++) {
        const len = lens[i];
        if (len < ETH_HEADER_LEN || len > maxFrame) {
          stats.drops++;
          continue;
        }
        stats.rxFrames++;
        stats.rxBytes += len;
        rx.receiveFrame(buf, i * slot, len);
        if (this.fd < 0) return Infinity; // closed from inside the callback
      }
      if (n < want) return Infinity; // the batch ended on EAGAIN
    }
    // Budget spent with frames possibly still queued: come back soon.
    const w = this.wakeup;
    if (w !== null) w();
    return Infinity;
  }

  /**
   * Register the stack's wakeup. While one is set, the device's readability is
   * watched on the event loop (which keeps the process alive); with null the
   * watch stops and frames queue in the kernel until the next poll.
   */
  setWakeup(wakeup: (() => void) | null): void {
    this.wakeup = wakeup;
    if (wakeup !== null && this.pollHandle === null && this.fd >= 0) {
      this.pollHandle = this.native.pollStart(this.fd, this.onReadable);
      // Frames that arrived while nobody watched: level-triggered polling reports them too.
    } else if (wakeup === null) {
      this.stopPolling();
    }
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
    const fd = this.fd;
    this.fd = -1;
    this.wakeup = null;
    this.native.close(fd);
  }
}
