/**
 * Test-only frame builders, written independently of src/wire so the codecs
 * are checked against a second implementation: DataView for fields, and a
 * deliberately naive RFC 1071 checksum. Everything here allocates freely.
 *
 * Also: a seeded PRNG for reproducible property tests, and FrameTap, a
 * minimal Link that queues hand-made frames for a stack and records what the
 * stack transmits.
 */
import { Errno } from '../../src/engine/errno.js';
import type { FrameReceiver, Link, LinkStats } from '../../src/link/link.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const PROTO_ICMP = 1;
export const PROTO_UDP = 17;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** A MAC as 'aa:bb:cc:dd:ee:ff' text or 6 bytes. */
export type MacLike = string | Uint8Array;
/** An IPv4 address as dotted-quad text or an unsigned 32-bit number. */
export type AddrLike = string | number;

// ---------------------------------------------------------------- addresses

/** Parse 'aa:bb:cc:dd:ee:ff' (throws on anything else); bytes are copied. */
export function mac(m: MacLike): Uint8Array {
  if (typeof m !== 'string') {
    if (m.length !== 6) throw new Error(`MAC must be 6 bytes, got ${m.length}`);
    return Uint8Array.from(m);
  }
  const parts = m.split(':');
  if (parts.length !== 6) throw new Error(`bad test MAC ${m}`);
  return Uint8Array.from(parts.map((p) => {
    const v = Number.parseInt(p, 16);
    if (p.length !== 2 || !(v >= 0 && v <= 255)) throw new Error(`bad test MAC ${m}`);
    return v;
  }));
}

/** Dotted quad (or a number) to an unsigned 32-bit number; throws on bad text. */
export function ip(a: AddrLike): number {
  if (typeof a === 'number') return a >>> 0;
  const parts = a.split('.');
  if (parts.length !== 4) throw new Error(`bad test address ${a}`);
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255 || p === '') throw new Error(`bad test address ${a}`);
    v = v * 256 + n;
  }
  return v;
}

export function ipText(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

// ---------------------------------------------------------------- checksums

/**
 * Reference RFC 1071 sum: add 16-bit big-endian words one at a time with an
 * end-around carry after every addition (no deferred folding, no unrolling).
 * An odd trailing byte is padded with a zero low byte. Returns 0..0xffff.
 */
export function refSum(bytes: Uint8Array, off = 0, len = bytes.length - off, initial = 0): number {
  let s = initial;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  for (let i = 0; i < len; i += 2) {
    const hi = bytes[off + i];
    const lo = i + 1 < len ? bytes[off + i + 1] : 0;
    s += hi * 256 + lo;
    if (s > 0xffff) s -= 0xffff;
  }
  return s;
}

/** The checksum to store (ones' complement of the sum); a range holding a correct checksum yields 0. */
export function refChecksum(bytes: Uint8Array, off = 0, len = bytes.length - off, initial = 0): number {
  return (~refSum(bytes, off, len, initial)) & 0xffff;
}

/** The 12-byte IPv4 pseudo-header of UDP/TCP, as bytes. */
export function pseudoHeader(src: AddrLike, dst: AddrLike, proto: number, length: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, ip(src));
  v.setUint32(4, ip(dst));
  v.setUint8(8, 0);
  v.setUint8(9, proto);
  v.setUint16(10, length);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

// ---------------------------------------------------------------- Ethernet

/** A complete Ethernet II frame (no FCS); padded with zeros to 60 bytes unless `pad` is false. */
export function ethFrame(dst: MacLike, src: MacLike, type: number, payload: Uint8Array, pad = true): Uint8Array {
  const len = Math.max(14 + payload.length, pad ? 60 : 0);
  const f = new Uint8Array(len);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  new DataView(f.buffer).setUint16(12, type);
  f.set(payload, 14);
  return f;
}

// ---------------------------------------------------------------- ARP

export interface ArpFields {
  oper: number;
  sha: MacLike;
  spa: AddrLike;
  /** Default 00:00:00:00:00:00. */
  tha?: MacLike;
  tpa: AddrLike;
  htype?: number;
  ptype?: number;
  hlen?: number;
  plen?: number;
}

/** The 28-byte ARP packet (Ethernet/IPv4 unless overridden). */
export function arpPacket(a: ArpFields): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  v.setUint16(0, a.htype ?? 1);
  v.setUint16(2, a.ptype ?? 0x0800);
  v.setUint8(4, a.hlen ?? 6);
  v.setUint8(5, a.plen ?? 4);
  v.setUint16(6, a.oper);
  b.set(mac(a.sha), 8);
  v.setUint32(14, ip(a.spa));
  b.set(mac(a.tha ?? '00:00:00:00:00:00'), 18);
  v.setUint32(24, ip(a.tpa));
  return b;
}

/** A complete ARP frame; the Ethernet source is the sender hardware address. */
export function arpFrame(ethDst: MacLike, a: ArpFields, pad = true): Uint8Array {
  return ethFrame(ethDst, a.sha, ETHERTYPE_ARP, arpPacket(a), pad);
}

// ---------------------------------------------------------------- IPv4

export interface Ipv4Fields {
  src: AddrLike;
  dst: AddrLike;
  proto: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  /** The whole flags/fragment-offset word (DF 0x4000, MF 0x2000, offset in 8-byte units). */
  flags?: number;
  tos?: number;
  /** Option bytes; padded with zeros (EOL) to a multiple of 4. */
  options?: Uint8Array;
  /** Overrides for building broken packets. */
  version?: number;
  ihl?: number;
  totalLength?: number;
  /** Stored as is instead of the correct checksum. */
  checksum?: number;
}

/** An IPv4 packet (header + payload) with a correct header checksum unless overridden. */
export function ipv4Packet(f: Ipv4Fields): Uint8Array {
  const opt = f.options ?? new Uint8Array(0);
  const optLen = (opt.length + 3) & ~3;
  const hlen = 20 + optLen;
  const b = new Uint8Array(hlen + f.payload.length);
  const v = new DataView(b.buffer);
  v.setUint8(0, ((f.version ?? 4) << 4) | (f.ihl ?? hlen / 4));
  v.setUint8(1, f.tos ?? 0);
  v.setUint16(2, f.totalLength ?? b.length);
  v.setUint16(4, f.id ?? 0);
  v.setUint16(6, f.flags ?? 0);
  v.setUint8(8, f.ttl ?? 64);
  v.setUint8(9, f.proto);
  v.setUint16(10, 0);
  v.setUint32(12, ip(f.src));
  v.setUint32(16, ip(f.dst));
  b.set(opt, 20);
  v.setUint16(10, f.checksum ?? refChecksum(b, 0, hlen));
  b.set(f.payload, hlen);
  return b;
}

/** Ethernet + IPv4. */
export function ipv4Frame(ethDst: MacLike, ethSrc: MacLike, f: Ipv4Fields, pad = true): Uint8Array {
  return ethFrame(ethDst, ethSrc, ETHERTYPE_IPV4, ipv4Packet(f), pad);
}

/** Recompute the IPv4 header checksum of the packet at `frame[o..]` in place (for mutated frames). */
export function fixIpChecksum(frame: Uint8Array, o = 14): void {
  const hlen = (frame[o] & 0x0f) * 4;
  if (hlen < 20 || o + hlen > frame.length) return;
  frame[o + 10] = 0;
  frame[o + 11] = 0;
  const c = refChecksum(frame, o, hlen);
  frame[o + 10] = c >>> 8;
  frame[o + 11] = c & 0xff;
}

// ---------------------------------------------------------------- UDP

export interface UdpOptions {
  /** 'none' stores 0 (no checksum); a number is stored as is. */
  checksum?: number | 'none';
  /** Length field override. */
  length?: number;
}

/** A UDP datagram (header + payload) with a correct checksum over the pseudo-header. */
export function udpDatagram(src: AddrLike, dst: AddrLike, sport: number, dport: number, payload: Uint8Array,
  opts: UdpOptions = {}): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, opts.length ?? b.length);
  v.setUint16(6, 0);
  b.set(payload, 8);
  let c: number;
  if (opts.checksum === 'none') c = 0;
  else if (opts.checksum !== undefined) c = opts.checksum;
  else {
    // Sum the pseudo-header bytes, then the datagram, as one byte stream.
    c = refChecksum(concat(pseudoHeader(src, dst, PROTO_UDP, b.length), b));
    if (c === 0) c = 0xffff;
  }
  v.setUint16(6, c);
  return b;
}

// ---------------------------------------------------------------- ICMP

/** An ICMP echo message (type 8 request / 0 reply) with a correct checksum. */
export function icmpEcho(type: number, id: number, seq: number, payload: Uint8Array, code = 0): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint8(0, type);
  v.setUint8(1, code);
  v.setUint16(4, id);
  v.setUint16(6, seq);
  b.set(payload, 8);
  v.setUint16(2, refChecksum(b));
  return b;
}

/** Any ICMP message: type, code, 4-byte rest-of-header as a 32-bit number, body; correct checksum. */
export function icmpMessage(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + body.length);
  const v = new DataView(b.buffer);
  v.setUint8(0, type);
  v.setUint8(1, code);
  v.setUint32(4, rest >>> 0);
  b.set(body, 8);
  v.setUint16(2, refChecksum(b));
  return b;
}

// ---------------------------------------------------------------- reading frames

/** Big-endian reads for assertions on transmitted frames. */
export function u16(b: Uint8Array, o: number): number {
  return b[o] * 256 + b[o + 1];
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o] * 256 + b[o + 1]) * 256 + b[o + 2]) * 256 + b[o + 3];
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------- PRNG

/** mulberry32: tiny, seeded, good enough for test inputs. */
export class TestRng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in 0 .. n-1. */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform integer in lo .. hi inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Seed from the environment variable `name` (decimal or 0x-hex), else `fallback`. */
export function seedFromEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback >>> 0;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
  return n >>> 0;
}

// ---------------------------------------------------------------- FrameTap

interface QueuedFrame {
  buf: Uint8Array;
  off: number;
  len: number;
}

/**
 * A minimal Link for driving one stack by hand: `inject` queues frames that
 * the stack's next poll receives, and every frame the stack transmits is
 * copied into `sent`.
 */
export class FrameTap implements Link {
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  /** Copies of transmitted frames, oldest first. */
  sent: Uint8Array[] = [];
  /** When false, transmitted frames are counted but not kept. */
  record = true;
  closed = false;
  private queue: QueuedFrame[] = [];

  constructor(readonly name = 'tap0', readonly mtu = 1500) {}

  /**
   * Queue `buf[off .. off+len)` for delivery at the next poll. The bytes are
   * not copied: the stack sees exactly this array and offset.
   */
  inject(buf: Uint8Array, off = 0, len = buf.length - off): void {
    this.queue.push({ buf, off, len });
  }

  get pending(): number {
    return this.queue.length;
  }

  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    void now;
    if (this.closed || length > this.mtu + 14) {
      this.stats.drops++;
      return this.closed ? -Errno.ENETDOWN : -Errno.EMSGSIZE;
    }
    this.stats.txFrames++;
    this.stats.txBytes += length;
    if (this.record) this.sent.push(frame.slice(offset, offset + length));
    return 0;
  }

  poll(now: number, rx: FrameReceiver): number {
    void now;
    // Frames injected from inside receiveFrame wait for the next poll.
    const q = this.queue;
    this.queue = [];
    for (const f of q) {
      this.stats.rxFrames++;
      this.stats.rxBytes += f.len;
      rx.receiveFrame(f.buf, f.off, f.len);
    }
    return Infinity;
  }

  /** Return and forget the frames transmitted so far. */
  take(): Uint8Array[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  setWakeup(wakeup: (() => void) | null): void {
    void wakeup;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
  }
}
