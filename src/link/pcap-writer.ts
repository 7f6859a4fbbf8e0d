import { copyBytes } from '../wire/bytes.js';
import * as fs from 'node:fs';
import type { FrameReceiver, Link, LinkStats } from './link.js';

/**
 * Where pcap bytes go. `buf[offset .. offset+length)` is only valid during
 * the call (the writer reuses its buffer), so a sink must copy what it keeps.
 */
export interface PcapSink {
  write(buf: Uint8Array, offset: number, length: number): void;
  close?(): void;
}

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** Largest number of bytes stored per frame; longer frames are truncated. Default 65535. */
  snaplen?: number;
  /**
   * Wall clock in epoch ms, read once at construction to anchor the
   * timestamps (default `Date.now`). Tests pass a constant for reproducible files.
   */
  clock?: () => number;
  /** Bytes batched before a write to the sink. Default 65536. */
  bufferBytes?: number;
}

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const PCAP_MAGIC_USEC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

/** Sink that appends to a file through a descriptor, synchronously. */
class FileSink implements PcapSink {
  private fd: number;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'w');
  }

  write(buf: Uint8Array, offset: number, length: number): void {
    let done = 0;
    while (done < length) done += fs.writeSync(this.fd, buf, offset + done, length - done);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }
}

/** Encodes records into one reused buffer and hands full batches to the sink. */
class PcapEncoder {
  frames = 0;
  private readonly sink: PcapSink;
  private readonly snaplen: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  private readonly wallAtStart: number;
  /** Epoch ms minus the first `now` seen; NaN until a frame arrives. */
  private base = NaN;
  private lastTs = -Infinity;

  constructor(sink: PcapSink, snaplen: number, bufferBytes: number, wallAtStart: number) {
    this.sink = sink;
    this.snaplen = snaplen;
    this.wallAtStart = wallAtStart;
    this.buf = new Uint8Array(bufferBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const v = this.view;
    v.setUint32(0, PCAP_MAGIC_USEC, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.pos = GLOBAL_HEADER_LEN;
  }

  record(frame: Uint8Array, offset: number, length: number, now: number): void {
    // Link times are relative (often virtual); anchor the first one at the
    // wall clock so captures show plausible dates and true relative spacing.
    if (this.base !== this.base) this.base = this.wallAtStart - now;
    let ts = this.base + now;
    // Transmit and poll times may come from different call sites; readers
    // and humans both cope better with a capture that never goes backwards.
    if (ts < this.lastTs) ts = this.lastTs;
    this.lastTs = ts;
    let sec = Math.floor(ts / 1000);
    let usec = Math.round((ts - sec * 1000) * 1000);
    if (usec >= 1000000) {
      sec++;
      usec -= 1000000;
    }
    const incl = length < this.snaplen ? length : this.snaplen;
    if (this.pos + RECORD_HEADER_LEN + incl > this.buf.length) this.flush();
    const v = this.view;
    let p = this.pos;
    v.setUint32(p, sec >>> 0, true);
    v.setUint32(p + 4, usec, true);
    v.setUint32(p + 8, incl, true);
    v.setUint32(p + 12, length, true);
    p += RECORD_HEADER_LEN;
    if (p + incl > this.buf.length) {
      // Only reachable with bufferBytes smaller than one record: write the
      // frame straight from the caller's buffer instead of growing ours.
      this.pos = p;
      this.flush();
      this.sink.write(frame, offset, incl);
    } else {
      const buf = this.buf;
      copyBytes(frame, offset, buf, p, incl);
      this.pos = p + incl;
    }
    this.frames++;
  }

  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.sink.write(this.buf, 0, n);
  }
}

/** Records every frame passing through `poll`, then forwards it to the real receiver. */
class CaptureTap implements FrameReceiver {
  target: FrameReceiver | null = null;
  now = 0;
  enabled = true;
  private readonly enc: PcapEncoder;

  constructor(enc: PcapEncoder) {
    this.enc = enc;
  }

  receiveFrame(frame: Uint8Array, offset: number, length: number): void {
    if (this.enabled) this.enc.record(frame, offset, length, this.now);
    const t = this.target;
    if (t !== null) t.receiveFrame(frame, offset, length);
  }
}

/**
 * A {@link Link} wrapper that writes a classic pcap capture (microsecond
 * timestamps, Ethernet link type) of both directions while forwarding
 * everything to the wrapped link.
 *
 * Transmitted frames are recorded when the inner link accepts them (a
 * full-queue drop never reached the wire); received frames when `poll`
 * delivers them. Records are batched in one preallocated buffer, so
 * capturing allocates nothing per frame; call {@link flush} to push out
 * what is buffered. Sink errors (e.g. disk full) surface as exceptions from
 * `transmit`, `poll`, `flush` or `close`.
 */
export class PcapWriter implements Link {
  private readonly inner: Link;
  private readonly sink: PcapSink;
  private readonly enc: PcapEncoder;
  private readonly tap: CaptureTap;
  private closed = false;

  /**
   * @param inner The link to capture; the writer takes ownership and closes it.
   * @param sink A file path (created or truncated) or a {@link PcapSink}.
   */
  constructor(inner: Link, sink: string | PcapSink, options: PcapWriterOptions = {}) {
    const snaplen = options.snaplen ?? 65535;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) {
      throw new RangeError(`snaplen must be a positive integer, got ${snaplen}`);
    }
    const bufferBytes = options.bufferBytes ?? 65536;
    if (!Number.isInteger(bufferBytes) || bufferBytes < GLOBAL_HEADER_LEN + RECORD_HEADER_LEN) {
      throw new RangeError(`bufferBytes must be an integer >= 40, got ${bufferBytes}`);
    }
    const wall = options.clock ? options.clock() : Date.now();
    this.inner = inner;
    this.sink = typeof sink === 'string' ? new FileSink(sink) : sink;
    this.enc = new PcapEncoder(this.sink, snaplen, bufferBytes, wall);
    this.tap = new CaptureTap(this.enc);
  }

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  get stats(): LinkStats {
    return this.inner.stats;
  }

  /** Frames recorded so far (both directions), buffered or written. */
  get frames(): number {
    return this.enc.frames;
  }

  transmit(frame: Uint8Array, offset: number, length: number, now: number): boolean {
    const ok = this.inner.transmit(frame, offset, length, now);
    if (ok && !this.closed) this.enc.record(frame, offset, length, now);
    return ok;
  }

  poll(now: number, rx: FrameReceiver): number {
    const tap = this.tap;
    // Save and restore so a nested poll through another path cannot leave
    // the tap pointing at a stale receiver.
    const prevTarget = tap.target;
    const prevNow = tap.now;
    tap.target = rx;
    tap.now = now;
    try {
      return this.inner.poll(now, tap);
    } finally {
      tap.target = prevTarget;
      tap.now = prevNow;
    }
  }

  setWakeup(wakeup: (() => void) | null): void {
    this.inner.setWakeup(wakeup);
  }

  /** Write buffered records to the sink. */
  flush(): void {
    if (!this.closed) this.enc.flush();
  }

  /** Flush, close the sink (and the file), then close the inner link. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      this.enc.flush();
    } finally {
      this.closed = true;
      this.tap.enabled = false;
      try {
        this.sink.close?.();
      } finally {
        this.inner.close();
      }
    }
  }
}
