/**
 * TCP test helpers (not a test file): one stack on a FrameTap and a scripted
 * byte-level TCP peer driving it (re-exported by helpers.ts, whose segment
 * builder and parser the peer uses). Everything here allocates freely.
 */
import assert from 'node:assert/strict';
import { Stack, type StackConfig } from '../../src/index.js';
import { BROADCAST_MAC, FrameTap, arpFrame, ip, u16, u32 } from '../helpers/frames.js';
import {
  ACK, FIN, PSH, RST, SYN, add32, describe, diff32, opt, optionBlock, parseTcpFrame, tcpFrame, type Seg, type SegmentSpec,
} from './helpers.js';

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

/**
 * A TapPeer (port `port`, ISN `isn`) connected to a listener on port 80 of a
 * fresh tapStack; `fd` is the accepted descriptor.
 */
export function tapEstablished(seed: number, port = 40600, isn = 7000): { ts: TapStack; peer: TapPeer; fd: number } {
  const ts = tapStack(seed);
  const lfd = ts.stack.sockets.socket('tcp');
  assert.equal(ts.stack.sockets.bind(lfd, 0, 80), 0);
  assert.equal(ts.stack.sockets.listen(lfd, 4), 0);
  const peer = new TapPeer(ts, { port, stackPort: 80, isn });
  const fd = peer.handshake(lfd);
  return { ts, peer, fd };
}
