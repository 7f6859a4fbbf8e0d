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
  BROADCAST_MAC, FrameTap, arpFrame, ip, ipv4Frame, pseudoHeader, refChecksum, u16, u32, type AddrLike,
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

// ---------------------------------------------------------------- one stack on a tap

export const STACK_MAC = '02:00:00:00:00:01';
export const STACK_IP = '10.0.0.1';
export const PEER_MAC = '02:00:00:00:00:02';
export const PEER_IP = '10.0.0.2';

export interface TapStack {
  stack: Stack;
  tap: FrameTap;
  now: number;
  /** Inject frames, poll `ms` later (default 0), return the TCP segments transmitted. */
  feed(frames: Uint8Array[] | Uint8Array, ms?: number): Seg[];
  /** Poll `ms` later; the TCP segments transmitted. */
  advance(ms: number): Seg[];
  /** Poll in 1 ms steps for `ms`; the TCP segments with their times. */
  stepTimed(ms: number): Array<{ t: number; seg: Seg }>;
}

/** One stack at 10.0.0.1 on a FrameTap that already knows the peer's MAC (10.0.0.2). */
export function tapStack(seed: number, config: StackConfig = {}): TapStack {
  const tap = new FrameTap('tap0', 1500);
  const stack = new Stack({ seed, arpReachableMs: 86400000, ...config });
  stack.addInterface(tap, { address: `${STACK_IP}/24`, mac: STACK_MAC });
  /** Poll at ts.now and return what was sent; ARP requests for the peer are answered (and the poll repeated) like a real peer would. */
  // As a driver does (RealtimeDriver, Simulation): a deadline already due (a quick ACK held for the
  // application's turn, see processData) is polled again at once, a bounded number of times.
  const pollDue = (): void => {
    let next = stack.poll(ts.now);
    for (let i = 0; i < 4 && next <= ts.now; i++) next = stack.poll(ts.now);
  };
  const pollCollect = (): Seg[] => {
    pollDue();
    const out: Seg[] = [];
    for (let round = 0; round < 4; round++) {
      let answered = false;
      for (const f of tap.take()) {
        if (f.length >= 42 && u16(f, 12) === 0x0806 && u16(f, 20) === 1 && u32(f, 38) === ip(PEER_IP)) {
          tap.inject(arpFrame(STACK_MAC, { oper: 2, sha: PEER_MAC, spa: PEER_IP, tha: STACK_MAC, tpa: STACK_IP }));
          answered = true;
          continue;
        }
        const seg = parseTcpFrame(f);
        if (seg !== null) out.push(seg);
      }
      if (!answered) break;
      pollDue();
    }
    return out;
  };
  const ts: TapStack = {
    stack, tap, now: 0,
    feed(frames, ms = 0) {
      for (const f of Array.isArray(frames) ? frames : [frames]) tap.inject(f);
      ts.now += ms;
      return pollCollect();
    },
    advance(ms) {
      ts.now += ms;
      return pollCollect();
    },
    stepTimed(ms) {
      const out: Array<{ t: number; seg: Seg }> = [];
      for (let i = 0; i < ms; i++) {
        ts.now += 1;
        for (const seg of pollCollect()) out.push({ t: ts.now, seg });
      }
      return out;
    },
  };
  stack.poll(0);
  tap.take();
  // Teach the stack the peer's MAC so replies go out at once.
  tap.inject(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }));
  stack.poll(0);
  tap.take();
  return ts;
}

export interface PeerOptions {
  /** Peer's port. */
  port: number;
  /** Stack's (listening) port. */
  stackPort: number;
  isn: number;
  mss?: number;
  /** Window scale shift offered; -1 offers none. */
  ws?: number;
  sack?: boolean;
  ts?: boolean;
  /** Window field the peer advertises (unscaled value placed in the header after the SYN). */
  win?: number;
  /** TSval clock offset. */
  tsOffset?: number;
}

/**
 * A scripted TCP peer at 10.0.0.2 talking to a {@link TapStack}: it builds
 * its segments from its own sequence state, and keeps track of what the
 * stack sent it (in order only; the tap never loses anything).
 */
export class TapPeer {
  sndNxt: number;
  rcvNxt = 0;
  /** Stack's initial sequence number. */
  irs = 0;
  /** Latest cumulative ACK and window (scaled to bytes) from the stack. */
  peerAck = 0;
  peerWnd = 0;
  /** Window shift the stack announced (applies to its windows after the SYN). */
  stackWs = 0;
  tsOn = false;
  sackOn = false;
  /** Latest TSval seen from the stack (what we echo). */
  tsRecent = 0;
  /** Bytes the stack sent us, in order. */
  received: number[] = [];
  finReceived = false;
  /** The SYN-ACK of the handshake. */
  synAck: Seg | null = null;
  readonly o: Required<PeerOptions>;

  constructor(readonly ts: TapStack, options: PeerOptions) {
    this.o = { mss: 1460, ws: 7, sack: true, ts: true, win: 65535, tsOffset: 0x10000000, ...options };
    this.sndNxt = options.isn >>> 0;
  }

  /** The peer's TSval at the current tap time. */
  tsVal(): number {
    return (Math.floor(this.ts.now) + this.o.tsOffset) >>> 0;
  }

  frame(spec: Partial<SegmentSpec> & { flags: number }): Uint8Array {
    return tcpFrame(STACK_MAC, PEER_MAC, {
      src: PEER_IP, dst: STACK_IP, sport: this.o.port, dport: this.o.stackPort, seq: this.sndNxt, ack: this.rcvNxt,
      win: this.o.win, ...spec,
    });
  }

  /** Options a non-SYN segment normally carries (timestamps when negotiated, plus optional extra parts). */
  stdOptions(extra: number[][] = [], tsVal = this.tsVal()): Uint8Array {
    const parts: number[][] = [];
    if (this.tsOn) parts.push(opt.nop(), opt.nop(), opt.ts(tsVal, this.tsRecent));
    parts.push(...extra);
    return optionBlock(parts);
  }

  synFrame(): Uint8Array {
    const parts: number[][] = [opt.mss(this.o.mss)];
    if (this.o.sack) parts.push(opt.sackOk());
    if (this.o.ts) parts.push(opt.ts(this.tsVal(), 0));
    if (this.o.ws >= 0) parts.push(opt.nop(), opt.ws(this.o.ws));
    return this.frame({ flags: SYN, ack: 0, options: optionBlock(parts) });
  }

  /** Three-way handshake with the listener; returns the accepted descriptor. */
  handshake(lfd: number): number {
    const out = this.ts.feed(this.synFrame());
    const sa = out.filter((s) => s.sport === this.o.stackPort && s.dport === this.o.port);
    assert.equal(sa.length, 1, `one SYN-ACK expected, got ${out.map(describe).join('; ')}`);
    return this.finishHandshake(lfd, sa[0]);
  }

  /** Complete the handshake from the stack's SYN-ACK `s` (the SYN was already sent); returns the accepted descriptor. */
  finishHandshake(lfd: number, s: Seg): number {
    assert.equal(s.flags & (SYN | ACK), SYN | ACK);
    assert.equal(s.ack, add32(this.sndNxt, 1));
    this.synAck = s;
    this.irs = s.seq;
    this.rcvNxt = add32(s.seq, 1);
    this.sndNxt = add32(this.sndNxt, 1);
    this.tsOn = this.o.ts && s.opts.ts !== null;
    this.sackOn = this.o.sack && s.opts.sackOk;
    this.stackWs = this.o.ws >= 0 && s.opts.ws >= 0 ? s.opts.ws : 0;
    if (s.opts.ts !== null) this.tsRecent = s.opts.ts.val;
    this.peerAck = s.ack;
    this.peerWnd = s.win;
    const ackOut = this.ts.feed(this.frame({ flags: ACK, options: this.stdOptions() }));
    this.absorb(ackOut);
    const fd = this.ts.stack.sockets.accept(lfd);
    assert.ok(fd >= 0, `accept: ${fd}`);
    return fd;
  }

  /** Take note of segments the stack sent to this peer (ACK/window, in-order data, FIN, TS). */
  absorb(segs: Seg[]): Seg[] {
    const mine = segs.filter((s) => s.sport === this.o.stackPort && s.dport === this.o.port);
    for (const s of mine) {
      if (s.flags & RST) continue;
      if (s.opts.ts !== null && diff32(s.opts.ts.val, this.tsRecent) >= 0) this.tsRecent = s.opts.ts.val;
      if (s.flags & ACK) {
        if (diff32(s.ack, this.peerAck) >= 0) {
          this.peerAck = s.ack;
          this.peerWnd = s.win * (s.flags & SYN ? 1 : 1 << this.stackWs);
        }
      }
      if (s.seq === this.rcvNxt && s.payload.length > 0) {
        for (const x of s.payload) this.received.push(x);
        this.rcvNxt = add32(this.rcvNxt, s.payload.length);
      }
      if ((s.flags & FIN) && add32(s.seq, s.payload.length) === this.rcvNxt) {
        this.rcvNxt = add32(this.rcvNxt, 1);
        this.finReceived = true;
      }
    }
    return mine;
  }

  /** A data segment at sndNxt (advances sndNxt); returns the frame without injecting it. */
  dataFrame(payload: Uint8Array, flags = ACK | PSH): Uint8Array {
    const f = this.frame({ flags, payload, options: this.stdOptions() });
    this.sndNxt = add32(this.sndNxt, payload.length + (flags & FIN ? 1 : 0));
    return f;
  }

  /** Send data (one segment), poll, absorb and return the stack's segments to us. */
  send(payload: Uint8Array, ms = 0, flags = ACK | PSH): Seg[] {
    return this.absorb(this.ts.feed(this.dataFrame(payload, flags), ms));
  }

  /** A pure ACK of everything received. */
  ackFrame(): Uint8Array {
    return this.frame({ flags: ACK, options: this.stdOptions() });
  }

  /**
   * Send `data` to the stack respecting its window, while `onPoll` reads on
   * the stack side; then collect what the stack sends back. Time advances 1 ms per round.
   */
  pushData(data: Uint8Array, onPoll: () => void, limit = 20000): void {
    const mss = 1400;
    let off = 0;
    for (let round = 0; off < data.length; round++) {
      if (round > limit) throw new Error(`pushData stalled at ${off}/${data.length}`);
      const frames: Uint8Array[] = [];
      let room = diff32(add32(this.peerAck, this.peerWnd), this.sndNxt);
      while (off < data.length && room > 0) {
        const n = Math.min(mss, data.length - off, room);
        frames.push(this.dataFrame(data.subarray(off, off + n)));
        off += n;
        room -= n;
      }
      this.absorb(this.ts.feed(frames, 1));
      onPoll();
      this.absorb(this.ts.feed(this.ackFrame(), 0));
    }
  }

  /** ACK whatever the stack sends until `cond()` (1 ms per round). */
  pullUntil(cond: () => boolean, onPoll: () => void = () => undefined, limit = 20000): void {
    for (let round = 0; !cond(); round++) {
      if (round > limit) throw new Error(`pullUntil stalled after ${this.received.length} bytes`);
      let got = this.absorb(this.ts.advance(1));
      onPoll();
      got = got.concat(this.absorb(this.ts.feed([], 0)));
      // ACK what came; the ACK may release more data at once, which is ACKed in turn.
      for (let k = 0; got.length > 0 && k < 1000; k++) got = this.absorb(this.ts.feed(this.ackFrame(), 0));
    }
  }
}

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
