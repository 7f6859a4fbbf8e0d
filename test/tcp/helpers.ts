/**
 * TCP test helpers (not a test file): stack pairs on a MemoryLink with frame
 * recording, a byte-level TCP segment builder and parser written
 * independently of src/wire, and a tiny scripted TCP peer that drives one
 * stack through a FrameTap. Everything here allocates freely.
 */
import assert from 'node:assert/strict';
import { Stack, MemoryLink, Simulation, type StackConfig, type MemoryLinkOptions } from '../../src/index.js';
import type { FrameReceiver, Link, LinkStats } from '../../src/link/link.js';
import {
  ip, ipv4Frame, pseudoHeader, refChecksum, u16, u32, type AddrLike,
} from '../helpers/frames.js';

export const PROTO_TCP = 6;

// TCP header flags.
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;

// Errno values (Linux), written out so a wrong table in src would show.
export const EAGAIN = 11;
export const ECONNRESET = 104;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EINPROGRESS = 115;

// Socket options and event bits of the descriptor API.
export const SO_ERROR = 4;
export const SO_REUSEADDR = 2;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const TCP_NODELAY = 0x101;
export const TCP_KEEPIDLE = 0x104;
export const TCP_KEEPINTVL = 0x105;
export const TCP_KEEPCNT = 0x106;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const EV_READABLE = 1;
export const EV_WRITABLE = 2;
export const EV_CLOSED = 4;
export const EV_ERROR = 8;

/** a + n modulo 2^32. */
export function add32(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance b - a modulo 2^32. */
export function diff32(b: number, a: number): number {
  return (b - a) | 0;
}

// ---------------------------------------------------------------- options

/** TCP option bytes (no padding: use {@link optionBlock}). */
export const opt = {
  nop: (): number[] => [1],
  eol: (): number[] => [0],
  mss: (n: number): number[] => [2, 4, (n >>> 8) & 255, n & 255],
  ws: (shift: number): number[] => [3, 3, shift],
  sackOk: (): number[] => [4, 2],
  ts: (val: number, ecr: number): number[] => [8, 10, ...be32(val), ...be32(ecr)],
  sack: (blocks: Array<[number, number]>): number[] => [5, 2 + 8 * blocks.length, ...blocks.flatMap(([l, r]) => [...be32(l), ...be32(r)])],
  raw: (...b: number[]): number[] => b,
};

function be32(v: number): number[] {
  v >>>= 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/** Concatenate option byte lists and pad with NOPs to a multiple of 4 (padding with EOL when `eolPad`). */
export function optionBlock(parts: number[][], eolPad = false): Uint8Array {
  const out = parts.flat();
  while (out.length % 4 !== 0) out.push(eolPad ? 0 : 1);
  return Uint8Array.from(out);
}

/** Options of a segment, parsed by the test's own reading of RFC 9293 / 7323 / 2018. */
export interface ParsedOptions {
  mss: number;
  ws: number;
  sackOk: boolean;
  ts: null | { val: number; ecr: number };
  sack: Array<[number, number]>;
  /** Kinds seen, in order (NOP and EOL included). */
  kinds: number[];
  malformed: boolean;
}

export function parseOptions(b: Uint8Array, start: number, end: number): ParsedOptions {
  const o: ParsedOptions = { mss: -1, ws: -1, sackOk: false, ts: null, sack: [], kinds: [], malformed: false };
  let i = start;
  while (i < end) {
    const kind = b[i];
    o.kinds.push(kind);
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) {
      o.malformed = true;
      break;
    }
    const len = b[i + 1];
    if (len < 2 || i + len > end) {
      o.malformed = true;
      break;
    }
    if (kind === 2 && len === 4) o.mss = u16(b, i + 2);
    else if (kind === 3 && len === 3) o.ws = b[i + 2];
    else if (kind === 4 && len === 2) o.sackOk = true;
    else if (kind === 8 && len === 10) o.ts = { val: u32(b, i + 2), ecr: u32(b, i + 6) };
    else if (kind === 5 && (len - 2) % 8 === 0) {
      for (let k = 0; k < (len - 2) / 8; k++) o.sack.push([u32(b, i + 2 + 8 * k), u32(b, i + 6 + 8 * k)]);
    } else if (kind === 2 || kind === 3 || kind === 4 || kind === 8 || kind === 5) {
      o.malformed = true;
    }
    i += len;
  }
  return o;
}

// ---------------------------------------------------------------- segments

export interface SegmentSpec {
  src: AddrLike;
  dst: AddrLike;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  win?: number;
  /** Option bytes, already padded to a multiple of 4 (see {@link optionBlock}). */
  options?: Uint8Array;
  payload?: Uint8Array;
  urg?: number;
  /** Data offset field override (4-bit words). */
  dataOffset?: number;
  /** 'bad' stores a checksum that is certainly wrong; a number is stored as is. */
  checksum?: 'bad' | number;
}

/** A TCP segment (header + options + payload) with a correct checksum over the IPv4 pseudo-header. */
export function tcpSegment(s: SegmentSpec): Uint8Array {
  const options = s.options ?? new Uint8Array(0);
  const payload = s.payload ?? new Uint8Array(0);
  const hlen = 20 + options.length;
  const b = new Uint8Array(hlen + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, s.sport);
  v.setUint16(2, s.dport);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, (s.ack ?? 0) >>> 0);
  v.setUint8(12, (s.dataOffset ?? hlen / 4) << 4);
  v.setUint8(13, s.flags & 0xff);
  v.setUint16(14, s.win ?? 65535);
  v.setUint16(16, 0);
  v.setUint16(18, s.urg ?? 0);
  b.set(options, 20);
  b.set(payload, hlen);
  const ph = pseudoHeader(s.src, s.dst, PROTO_TCP, b.length);
  const all = new Uint8Array(ph.length + b.length);
  all.set(ph, 0);
  all.set(b, ph.length);
  let c = refChecksum(all);
  if (s.checksum === 'bad') c = c === 0x1234 ? 0x4321 : 0x1234;
  else if (typeof s.checksum === 'number') c = s.checksum;
  v.setUint16(16, c);
  return b;
}

/** Ethernet + IPv4 + TCP. */
export function tcpFrame(ethDst: string, ethSrc: string, s: SegmentSpec, ipId = 0): Uint8Array {
  return ipv4Frame(ethDst, ethSrc, { src: s.src, dst: s.dst, proto: PROTO_TCP, ttl: 64, id: ipId, flags: 0x4000, payload: tcpSegment(s) });
}

/** A transmitted TCP segment, decoded (null fields never: non-TCP frames are not decoded at all). */
export interface Seg {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  hlen: number;
  opts: ParsedOptions;
  payload: Uint8Array;
  /** The TCP bytes (header, options, payload). */
  tcp: Uint8Array;
  checksumOk: boolean;
}

/** Decode an Ethernet frame holding IPv4/TCP; null for anything else. */
export function parseTcpFrame(f: Uint8Array): Seg | null {
  if (f.length < 34 || u16(f, 12) !== 0x0800) return null;
  const ihl = (f[14] & 15) * 4;
  if (f[23] !== PROTO_TCP) return null;
  const total = u16(f, 16);
  const o = 14 + ihl;
  const len = total - ihl;
  const src = u32(f, 26);
  const dst = u32(f, 30);
  const tcp = f.slice(o, o + len);
  const hlen = (tcp[12] >>> 4) * 4;
  const ph = pseudoHeader(src, dst, PROTO_TCP, len);
  const all = new Uint8Array(ph.length + tcp.length);
  all.set(ph, 0);
  all.set(tcp, ph.length);
  return {
    src, dst, sport: u16(tcp, 0), dport: u16(tcp, 2), seq: u32(tcp, 4), ack: u32(tcp, 8), flags: tcp[13],
    win: u16(tcp, 14), hlen, opts: parseOptions(tcp, 20, hlen), payload: tcp.slice(hlen), tcp,
    checksumOk: refChecksum(all) === 0,
  };
}

export function tcpOnly(frames: Uint8Array[]): Seg[] {
  const out: Seg[] = [];
  for (const f of frames) {
    const s = parseTcpFrame(f);
    if (s !== null) out.push(s);
  }
  return out;
}

export function flagText(f: number): string {
  const n: string[] = [];
  if (f & SYN) n.push('SYN');
  if (f & FIN) n.push('FIN');
  if (f & RST) n.push('RST');
  if (f & PSH) n.push('PSH');
  if (f & ACK) n.push('ACK');
  if (f & URG) n.push('URG');
  return n.join('|') || '-';
}

export function describe(s: Seg): string {
  return `${s.sport}->${s.dport} ${flagText(s.flags)} seq=${s.seq} ack=${s.ack} win=${s.win} len=${s.payload.length}`
    + (s.opts.sack.length > 0 ? ` sack=${JSON.stringify(s.opts.sack)}` : '');
}

// ---------------------------------------------------------------- recording link

export interface Recorded {
  t: number;
  frame: Uint8Array;
}

/** A Link wrapper that records every frame its stack transmits (with the virtual time). */
export class RecordingLink implements Link {
  readonly frames: Recorded[] = [];
  constructor(readonly inner: Link) {}
  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats(): LinkStats { return this.inner.stats; }
  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    this.frames.push({ t: now, frame: frame.slice(offset, offset + length) });
    return this.inner.transmit(frame, offset, length, now);
  }
  poll(now: number, rx: FrameReceiver): number { return this.inner.poll(now, rx); }
  setWakeup(w: (() => void) | null): void { this.inner.setWakeup(w); }
  close(): void { this.inner.close(); }

  /** Recorded TCP segments with their times. */
  segments(): Array<{ t: number; seg: Seg }> {
    const out: Array<{ t: number; seg: Seg }> = [];
    for (const r of this.frames) {
      const seg = parseTcpFrame(r.frame);
      if (seg !== null) out.push({ t: r.t, seg });
    }
    return out;
  }

  clear(): void {
    this.frames.length = 0;
  }
}

// ---------------------------------------------------------------- stack pairs

export interface TcpPair {
  a: Stack;
  b: Stack;
  la: MemoryLink;
  lb: MemoryLink;
  /** Recorders of what a and b transmit. */
  ra: RecordingLink;
  rb: RecordingLink;
  sim: Simulation;
}

export const A_IP = '10.0.0.1';
export const B_IP = '10.0.0.2';

/** Two stacks (a = 10.0.0.1, b = 10.0.0.2) on a MemoryLink, recorded, in virtual time. */
export function tcpPair(common: StackConfig = {}, link: MemoryLinkOptions = {}, ca: StackConfig = {},
  cb: StackConfig = {}): TcpPair {
  const [la, lb] = MemoryLink.pair({ seed: 11, ...link });
  const ra = new RecordingLink(la);
  const rb = new RecordingLink(lb);
  const a = new Stack({ seed: 101, arpReachableMs: 86400000, ...common, ...ca });
  const b = new Stack({ seed: 202, arpReachableMs: 86400000, ...common, ...cb });
  a.addInterface(ra, { address: `${A_IP}/24` });
  b.addInterface(rb, { address: `${B_IP}/24` });
  const sim = new Simulation([a, b]);
  sim.advance(1);
  return { a, b, la, lb, ra, rb, sim };
}

/** Step virtual time in `step` ms increments until `cond()` or `limit` ms passed; returns the time waited. */
export function waitFor(sim: Simulation, cond: () => boolean, limit = 60000, step = 1): number {
  const start = sim.now;
  while (!cond()) {
    if (sim.now - start >= limit) throw new Error(`condition not met within ${limit} ms (t=${sim.now})`);
    sim.advance(step);
  }
  return sim.now - start;
}

export interface Conn {
  /** Listener on the server stack. */
  lfd: number;
  /** Connected client descriptor (on `client`). */
  cfd: number;
  /** Accepted descriptor (on `server`). */
  sfd: number;
}

/** Listen on `server:port`, connect from `client`, accept; both ESTABLISHED. */
export function connect(sim: Simulation, client: Stack, server: Stack, serverIp: string, port: number,
  lfd = -1): Conn {
  if (lfd < 0) {
    lfd = server.sockets.socket('tcp');
    assert.ok(lfd >= 0, `socket: ${lfd}`);
    assert.equal(server.sockets.bind(lfd, 0, port), 0);
    assert.equal(server.sockets.listen(lfd, 16), 0);
  }
  const cfd = client.sockets.socket('tcp');
  assert.ok(cfd >= 0, `socket: ${cfd}`);
  assert.equal(client.sockets.connect(cfd, serverIp, port), -EINPROGRESS);
  let sfd = -1;
  waitFor(sim, () => {
    if (sfd < 0) sfd = server.sockets.accept(lfd);
    return sfd >= 0 && client.sockets.tcpState(cfd) === 'ESTABLISHED';
  }, 30000);
  assert.equal(server.sockets.tcpState(sfd), 'ESTABLISHED');
  return { lfd, cfd, sfd };
}

/** Pattern bytes: byte i of a stream is a function of i and the seed. */
export function pattern(n: number, seed = 1, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = from + i;
    b[i] = (k * 31 + (k >>> 8) * 7 + seed * 13) & 0xff;
  }
  return b;
}

/**
 * Move `data` from `sender:sfd` to `receiver:rfd` through the simulation,
 * reading as it arrives. Returns what the receiver got (stops at `data.length`).
 */
export function transfer(sim: Simulation, sender: Stack, sfd: number, receiver: Stack, rfd: number,
  data: Uint8Array, limitMs = 60000): Uint8Array {
  const got = new Uint8Array(data.length);
  let sent = 0;
  let recvd = 0;
  const buf = new Uint8Array(65536);
  const start = sim.now;
  while (recvd < data.length) {
    if (sent < data.length) {
      const n = sender.sockets.send(sfd, data, sent, data.length - sent);
      if (n > 0) sent += n;
      else if (n !== -EAGAIN) throw new Error(`send: ${n}`);
    }
    sim.advance(1);
    for (;;) {
      const n = receiver.sockets.recv(rfd, buf, 0, buf.length);
      if (n > 0) {
        const take = Math.min(n, data.length - recvd);
        got.set(buf.subarray(0, take), recvd);
        recvd += take;
        continue;
      }
      if (n === -EAGAIN) break;
      throw new Error(`recv: ${n} after ${recvd} bytes`);
    }
    if (sim.now - start > limitMs) throw new Error(`transfer stalled: sent ${sent}, received ${recvd}`);
  }
  return got;
}

export * from './tap-peer.js';

/** Read everything currently readable from a TCP descriptor. */
export function drain(stack: Stack, fd: number, into: number[] = []): number[] {
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = stack.sockets.recv(fd, buf, 0, buf.length);
    if (n <= 0) return into;
    for (let i = 0; i < n; i++) into.push(buf[i]);
  }
}

export { ip };

/**
 * Listen on port 80 of b with `backlog`, start `clients` connects from a at
 * once, and run 500 ms; returns the listener, the client descriptors and the
 * longest the accept queue got meanwhile.
 */
export function backlogRace(p: TcpPair, backlog: number, clients: number): { lfd: number; clients: number[]; maxQueued: number } {
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  assert.equal(p.b.sockets.listen(lfd, backlog), 0);
  const fds: number[] = [];
  for (let i = 0; i < clients; i++) {
    const fd = p.a.sockets.socket('tcp');
    assert.equal(p.a.sockets.connect(fd, B_IP, 80), -EINPROGRESS);
    fds.push(fd);
  }
  let maxQueued = 0;
  for (let i = 0; i < 500; i++) {
    p.sim.advance(1);
    maxQueued = Math.max(maxQueued, p.b.tcp.user.acceptQueueLength(lfd));
  }
  return { lfd, clients: fds, maxQueued };
}
