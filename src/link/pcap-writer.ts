import { copyBytes } from '../wire/bytes.js';
import * as fs from 'node:fs';
import type { FrameReceiver, Link, LinkLayer, LinkOffload, LinkStats, TxOffload } from './link.js';

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
/** Bare IPv4/IPv6 packets, the version read from the first nibble (what Linux captures on a wg0). */
const LINKTYPE_RAW = 101;

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

  constructor(sink: PcapSink, snaplen: number, bufferBytes: number, wallAtStart: number, linktype: number) {
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
    v.setUint32(20, linktype, true);
    this.pos = GLOBAL_HEADER_LEN;
  }

  record(frame: Uint8Array, offset: number, length: number, now: number): void {
    if (this.stage(frame, offset, length, now)) this.commit();
    else {
      this.stagedValid = false;
      this.recordLarge(frame, offset, length, now);
    }
  }

  /**
   * Write a record into the buffer without counting it yet; false when one
   * record does not fit the buffer at all (then use {@link record}). The
   * transmit side stages before handing the frame on, because the inner
   * link may reuse the caller's bytes (a WireGuard device encrypting through
   * the same stack's transmit buffer), and commits only if it was accepted.
   */
  stage(frame: Uint8Array, offset: number, length: number, now: number): boolean {
    const incl = length < this.snaplen ? length : this.snaplen;
    if (RECORD_HEADER_LEN + incl > this.buf.length) return false;
    if (this.pos + RECORD_HEADER_LEN + incl > this.buf.length) this.flush();
    this.writeHeader(this.pos, incl, length, now);
    copyBytes(frame, offset, this.buf, this.pos + RECORD_HEADER_LEN, incl);
    this.staged = this.pos + RECORD_HEADER_LEN + incl;
    this.stagedValid = true;
    return true;
  }

  /**
   * Count the staged record; false when another record was written since
   * (a re-entrant capture overwrote it), so the caller records again.
   */
  commit(): boolean {
    if (!this.stagedValid) return false;
    this.stagedValid = false;
    this.pos = this.staged;
    this.frames++;
    return true;
  }

  private staged = 0;
  private stagedValid = false;

  /** Only reachable with bufferBytes smaller than one record: write the frame straight from the caller's buffer instead of growing ours. */
  private recordLarge(frame: Uint8Array, offset: number, length: number, now: number): void {
    const incl = length < this.snaplen ? length : this.snaplen;
    this.flush();
    this.writeHeader(0, incl, length, now);
    this.pos = RECORD_HEADER_LEN;
    this.flush();
    this.sink.write(frame, offset, incl);
    this.frames++;
  }

  private writeHeader(p: number, incl: number, length: number, now: number): void {
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
    const v = this.view;
    v.setUint32(p, sec >>> 0, true);
    v.setUint32(p + 4, usec, true);
    v.setUint32(p + 8, incl, true);
    v.setUint32(p + 12, length, true);
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

  receiveFrame(frame: Uint8Array, offset: number, length: number, rxFlags?: number): void {
    if (this.enabled) this.enc.record(frame, offset, length, this.now);
    const t = this.target;
    if (t !== null) t.receiveFrame(frame, offset, length, rxFlags);
  }
}

/**
 * A {@link Link} wrapper that writes a classic pcap capture (microsecond
 * timestamps) of both directions while forwarding everything to the wrapped
 * link. The link type follows the wrapped link's `layer`: Ethernet (1), or
 * raw IP (101) for 'ip' links such as a WireGuard device, whose capture then
 * shows the tunnel's inner packets in clear.
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
    this.enc = new PcapEncoder(this.sink, snaplen, bufferBytes, wall, inner.layer === 'ip' ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
    this.tap = new CaptureTap(this.enc);
  }

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  /** The wrapped link's layer: an 'ip' link stays one when captured. */
  get layer(): LinkLayer | undefined {
    return this.inner.layer;
  }

  get stats(): LinkStats {
    return this.inner.stats;
  }

  /**
   * The wrapped link's offload: the capture then shows what the stack sent,
   * TCP super-segments of up to 64 KiB with partial checksums included
   * (as tcpdump on a Linux interface with TSO shows), not the frames the link
   * cut them into.
   */
  get offload(): LinkOffload | null {
    return this.inner.offload ?? null;
  }

  /** Frames recorded so far (both directions), buffered or written. */
  get frames(): number {
    return this.enc.frames;
  }

  transmit(frame: Uint8Array, offset: number, length: number, now: number, tx?: TxOffload | null): number {
    if (this.closed) return this.inner.transmit(frame, offset, length, now, tx);
    // Copy before the inner link sees the bytes: it may reuse them (see PcapEncoder.stage).
    const staged = this.enc.stage(frame, offset, length, now);
    const r = this.inner.transmit(frame, offset, length, now, tx);
    if (r === 0 && !(staged && this.enc.commit())) this.enc.record(frame, offset, length, now);
    return r;
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

  setWakeup(wakeup: (() => void) | null, pollNow?: (() => void) | null): void {
    this.inner.setWakeup(wakeup, pollNow);
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
