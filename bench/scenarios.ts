/**
 * The measured loops. Each scenario builds its stacks once, then `run(units)`
 * drives them synchronously: poll() by hand with a virtual clock that advances
 * by `step` ms before every poll, no event loop, no Promises. Buffers,
 * listeners and address objects are made in the constructors; the only garbage
 * the loops themselves can make is the heap number V8 boxes a fractional `now`
 * into when it passes it to a poll() that it did not inline (one per call).
 */
import { Stack } from '../src/stack.js';
import type { StackConfig } from '../src/engine/config.js';
import { MemoryLink } from '../src/link/memory-link.js';
import type { SockAddr, SocketApi } from '../src/socket/api.js';
import { parseIpv4 } from '../src/wire/ipv4addr.js';
import { InjectLink } from './inject-link.js';
import { arpRequestFrame, echoRequestFrame, mac, udpFrame, type Endpoints } from './frames.js';

export interface ScenarioOptions {
  /** Address of the stack under test (the echo responder / receiver), no prefix. */
  addrA: string;
  /** Address of the peer (the pinging client / the frames' source). */
  addrB: string;
  prefix: number;
  /** Virtual ms added to `now` before each poll. */
  step: number;
  config: StackConfig;
}

export const defaultOptions: ScenarioOptions = {
  addrA: '10.0.0.1',
  addrB: '10.0.0.2',
  prefix: 24,
  // Whole milliseconds, as the real-time driver polls (fractional times are boxed numbers; see the variants table).
  step: 1,
  config: {},
};

export interface Scenario {
  readonly name: string;
  /** What one unit of `run` is called in the report ('round trip', 'packet'). */
  readonly unit: string;
  /** Frames received by stacks per unit (a round trip is 2). */
  readonly packetsPerUnit: number;
  /** Application payload bytes carried per unit (one direction counted per packet). */
  readonly payloadBytesPerUnit: number;
  /** Units handled so far (checked against `run` totals). */
  completed(): number;
  /** The tight loop: do `units` units of work. */
  run(units: number): void;
  /** Counter consistency after runs; returns a problem description or null. */
  check(): string | null;
}

/** The engine's form of an address: a signed int32 (192.168.x.x is negative), as the Stack API hands it down. */
function addr(text: string): number {
  const a = parseIpv4(text);
  if (a < 0) throw new Error(`bad address ${text}`);
  return a | 0;
}

/** Two stacks joined by a MemoryLink with ARP already resolved both ways. */
class Pair {
  readonly a: Stack;
  readonly b: Stack;
  readonly addrA: number;
  readonly addrB: number;
  now = 0;

  constructor(o: ScenarioOptions) {
    const [la, lb] = MemoryLink.pair({ mtu: 1500, queueFrames: 256, seed: 7 });
    // `b` pings / sends; `a` answers.
    this.a = new Stack({ ...o.config, seed: 11 });
    this.b = new Stack({ ...o.config, seed: 12 });
    this.a.addInterface(la, { address: `${o.addrA}/${o.prefix}`, mac: '02:00:00:00:00:0a' });
    this.b.addInterface(lb, { address: `${o.addrB}/${o.prefix}`, mac: '02:00:00:00:00:0b' });
    this.addrA = addr(o.addrA);
    this.addrB = addr(o.addrB);
  }

  /** Poll both stacks until nothing is left to do (setup only). */
  settle(step: number): void {
    for (let i = 0; i < 8; i++) {
      this.now += step;
      this.a.poll(this.now);
      this.b.poll(this.now);
    }
  }
}

/** (1) ICMP echo: b sends a request with sendEcho, a answers, b's echoListener counts the reply. */
export class PingPongScenario implements Scenario {
  readonly name: string;
  readonly unit = 'round trip';
  readonly packetsPerUnit = 2;
  readonly payloadBytesPerUnit: number;
  private readonly pair: Pair;
  private readonly step: number;
  private done = 0;
  private failed = 0;
  private lastErrno = 0;

  constructor(private readonly size: number, o: ScenarioOptions = defaultOptions, label = '') {
    this.name = `ICMP echo ${size} B${label}`;
    this.payloadBytesPerUnit = 2 * size;
    this.step = o.step;
    this.pair = new Pair(o);
    // Created once; the loop never makes closures or Promises.
    this.pair.b.icmpLayer.echoListener = (slot: number, rttMs: number, errno: number) => {
      if (errno === 0) this.done++;
      else {
        this.failed++;
        this.lastErrno = errno;
      }
    };
    this.pair.settle(this.step);
    // First request resolves ARP; do it outside the measured loops.
    this.run(2);
  }

  completed(): number {
    return this.done;
  }

  run(units: number): void {
    const a = this.pair.a;
    const b = this.pair.b;
    const icmp = b.icmpLayer;
    const dst = this.pair.addrA;
    const size = this.size;
    const step = this.step;
    let now = this.pair.now;
    for (let i = 0; i < units; i++) {
      const target = this.done + 1;
      const slot = icmp.sendEcho(dst, size, 1000, 64);
      if (slot < 0) throw new Error(`sendEcho failed: errno ${-slot}`);
      let rounds = 0;
      while (this.done < target) {
        now += step;
        a.poll(now);
        b.poll(now);
        if (++rounds > 64) throw new Error(`no echo reply (failed ${this.failed}, errno ${this.lastErrno})`);
      }
    }
    this.pair.now = now;
  }

  check(): string | null {
    if (this.failed !== 0) return `${this.failed} pings failed (errno ${this.lastErrno})`;
    const st = this.pair.a.stats;
    if (st.icmp.echoRepliesOut !== this.done) return `responder sent ${st.icmp.echoRepliesOut} replies for ${this.done} pings`;
    return null;
  }
}

/** (2) UDP echo over the descriptor API: b sendto → a recvfrom + sendto back → b recvfrom. */
export class UdpEchoScenario implements Scenario {
  readonly name: string;
  readonly unit = 'round trip';
  readonly packetsPerUnit = 2;
  readonly payloadBytesPerUnit: number;
  private readonly pair: Pair;
  private readonly step: number;
  private readonly clientFd: number;
  private readonly serverFd: number;
  private readonly clientOut: Uint8Array;
  private readonly clientIn: Uint8Array;
  private readonly serverBuf: Uint8Array;
  private readonly from: SockAddr = { address: 0, port: 0 };
  private readonly port = 7;
  private done = 0;

  constructor(private readonly size: number, o: ScenarioOptions = defaultOptions, label = '') {
    this.name = `UDP echo ${size} B${label}`;
    this.payloadBytesPerUnit = 2 * size;
    this.step = o.step;
    this.pair = new Pair(o);
    const ca = this.pair.b.sockets;
    const sa = this.pair.a.sockets;
    this.serverFd = must(sa.socket('udp'), 'server socket');
    must(sa.bind(this.serverFd, 0, this.port), 'server bind');
    this.clientFd = must(ca.socket('udp'), 'client socket');
    must(ca.bind(this.clientFd, 0, 40000), 'client bind');
    this.clientOut = new Uint8Array(2048);
    for (let i = 0; i < this.clientOut.length; i++) this.clientOut[i] = (i * 13 + 5) & 0xff;
    this.clientIn = new Uint8Array(2048);
    this.serverBuf = new Uint8Array(2048);
    this.pair.settle(this.step);
    // First exchange resolves ARP both ways (the datagram waits in the ARP queue meanwhile).
    must(ca.sendto(this.clientFd, this.clientOut, 0, size, this.pair.addrA, this.port), 'first sendto');
    this.pair.settle(this.step);
    const n = must(sa.recvfrom(this.serverFd, this.serverBuf, 0, this.serverBuf.length, this.from), 'first recvfrom');
    must(sa.sendto(this.serverFd, this.serverBuf, 0, n, this.from.address, this.from.port), 'first echo');
    this.pair.settle(this.step);
    must(ca.recvfrom(this.clientFd, this.clientIn, 0, this.clientIn.length, null), 'first reply');
    this.done++;
    this.run(2);
    for (let i = 0; i < size; i++) {
      if (this.clientIn[i] !== this.clientOut[i]) throw new Error(`UDP echo payload differs at byte ${i}`);
    }
  }

  completed(): number {
    return this.done;
  }

  run(units: number): void {
    const a = this.pair.a;
    const b = this.pair.b;
    const client: SocketApi = b.sockets;
    const server: SocketApi = a.sockets;
    const cfd = this.clientFd;
    const sfd = this.serverFd;
    const out = this.clientOut;
    const cin = this.clientIn;
    const sbuf = this.serverBuf;
    const from = this.from;
    const dst = this.pair.addrA;
    const port = this.port;
    const size = this.size;
    const step = this.step;
    let now = this.pair.now;
    for (let i = 0; i < units; i++) {
      const s = client.sendto(cfd, out, 0, size, dst, port);
      if (s !== size) throw new Error(`client sendto: ${s}`);
      now += step;
      a.poll(now);
      const n = server.recvfrom(sfd, sbuf, 0, sbuf.length, from);
      if (n !== size) throw new Error(`server recvfrom: ${n}`);
      const e = server.sendto(sfd, sbuf, 0, n, from.address, from.port);
      if (e !== n) throw new Error(`server sendto: ${e}`);
      now += step;
      b.poll(now);
      const r = client.recvfrom(cfd, cin, 0, cin.length, null);
      if (r !== size) throw new Error(`client recvfrom: ${r}`);
      this.done++;
    }
    this.pair.now = now;
  }

  check(): string | null {
    const sa = this.pair.a.stats.udp;
    const cb = this.pair.b.stats.udp;
    if (sa.delivered !== this.done || cb.delivered !== this.done) {
      return `delivered ${sa.delivered}/${cb.delivered} for ${this.done} round trips`;
    }
    return null;
  }
}

function must(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed: errno ${-r}`);
  return r;
}

/** A single stack fed prepared frames through an {@link InjectLink}. */
class Injected {
  readonly stack: Stack;
  readonly link: InjectLink;
  readonly peer: Endpoints;
  now = 0;

  constructor(o: ScenarioOptions) {
    this.link = new InjectLink('inject0');
    this.stack = new Stack({ ...o.config, seed: 21 });
    this.stack.addInterface(this.link, { address: `${o.addrA}/${o.prefix}`, mac: '02:00:00:00:00:0a' });
    this.peer = { srcMac: mac('02:00:00:00:00:0b'), dstMac: mac('02:00:00:00:00:0a'), src: addr(o.addrB), dst: addr(o.addrA) };
    // Let the peer's ARP request teach the stack its MAC (replies then need no resolution).
    this.link.load([arpRequestFrame(this.peer)], 1);
    this.now += o.step;
    this.stack.poll(this.now);
    this.link.batch = 0;
    if (this.stack.stats.arp.learned !== 1) throw new Error('the stack did not learn the peer from its ARP request');
  }
}

/** Number of distinct frames cycled through by the receive benchmarks. */
export const DISTINCT_FRAMES = 1024;
/** Frames delivered per poll(); a 32 KiB socket buffer holds 22 datagrams of 1472 B. */
export const RX_BATCH = 16;

/** (3a) UDP datagrams to a bound socket, drained with recvfrom after every poll. */
export class UdpReceiveScenario implements Scenario {
  readonly name: string;
  readonly unit = 'packet';
  readonly packetsPerUnit = 1;
  readonly payloadBytesPerUnit: number;
  private readonly h: Injected;
  private readonly step: number;
  private readonly fd: number;
  private readonly buf = new Uint8Array(2048);
  private done = 0;

  constructor(private readonly size: number, o: ScenarioOptions = defaultOptions, label = '') {
    this.name = `rx UDP ${size} B${label}`;
    this.payloadBytesPerUnit = size;
    this.step = o.step;
    this.h = new Injected(o);
    const api = this.h.stack.sockets;
    this.fd = must(api.socket('udp'), 'socket');
    must(api.bind(this.fd, 0, 9000), 'bind');
    const frames: Uint8Array[] = [];
    for (let i = 0; i < DISTINCT_FRAMES; i++) frames.push(udpFrame(this.h.peer, 20000 + i, 9000, size, i, i));
    this.h.link.load(frames, RX_BATCH);
    this.run(RX_BATCH);
  }

  completed(): number {
    return this.done;
  }

  /** `units` is rounded up to whole batches. */
  run(units: number): void {
    const stack = this.h.stack;
    const api = stack.sockets;
    const fd = this.fd;
    const buf = this.buf;
    const step = this.step;
    const size = this.size;
    let now = this.h.now;
    let got = 0;
    for (let i = 0; i < units; i += RX_BATCH) {
      now += step;
      stack.poll(now);
      for (;;) {
        const n = api.recvfrom(fd, buf, 0, buf.length, null);
        if (n < 0) break;
        if (n !== size) throw new Error(`recvfrom returned ${n}`);
        got++;
      }
    }
    this.done += got;
    this.h.now = now;
  }

  check(): string | null {
    const st = this.h.stack.stats;
    if (st.udp.delivered !== this.done || st.udp.queueFull !== 0 || st.udp.badChecksum !== 0) {
      return `delivered ${st.udp.delivered}, received ${this.done}, queueFull ${st.udp.queueFull}, badChecksum ${st.udp.badChecksum}`;
    }
    return null;
  }
}

/** (3b) ICMP echo requests; the replies go to the InjectLink, which counts and discards them. */
export class EchoReceiveScenario implements Scenario {
  readonly name: string;
  readonly unit = 'packet';
  readonly packetsPerUnit = 1;
  readonly payloadBytesPerUnit: number;
  private readonly h: Injected;
  private readonly step: number;
  private readonly txBase: number;

  constructor(size: number, o: ScenarioOptions = defaultOptions, label = '') {
    this.name = `rx ICMP echo ${size} B${label}`;
    this.payloadBytesPerUnit = size;
    this.step = o.step;
    this.h = new Injected(o);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < DISTINCT_FRAMES; i++) frames.push(echoRequestFrame(this.h.peer, 0x4242, i, size, i));
    this.h.link.load(frames, RX_BATCH);
    this.txBase = this.h.link.stats.txFrames;
    this.run(RX_BATCH);
  }

  completed(): number {
    return this.h.link.stats.txFrames - this.txBase;
  }

  run(units: number): void {
    const stack = this.h.stack;
    const step = this.step;
    let now = this.h.now;
    for (let i = 0; i < units; i += RX_BATCH) {
      now += step;
      stack.poll(now);
    }
    this.h.now = now;
  }

  check(): string | null {
    const st = this.h.stack.stats;
    const replies = this.completed();
    if (st.icmp.echoRepliesOut !== replies || st.icmp.echoRequestsIn !== replies || st.icmp.badChecksum !== 0) {
      return `requests in ${st.icmp.echoRequestsIn}, replies out ${st.icmp.echoRepliesOut}, link tx ${replies}`;
    }
    return null;
  }
}

/** Receives the router's output at the far end of the egress MemoryLink and counts it. */
class CountingReceiver {
  frames = 0;
  /** The router's own IPv6 start-up frames (DAD probe, router solicitations): not forwarded traffic. */
  ipv6Frames = 0;
  receiveFrame(frame: Uint8Array, offset: number, length: number): void {
    void length;
    if (frame[offset + 12] === 0x86 && frame[offset + 13] === 0xdd) this.ipv6Frames++;
    else this.frames++;
  }
}

/**
 * (4) IPv4 forwarding: a router stack between two MemoryLinks. Prepared UDP
 * frames from host A (10.0.0.2) to host B (10.9.0.2) are put on A's end of the
 * ingress cable, the router (10.0.0.1 | 10.9.0.1, `ipForwarding`) routes them,
 * decrements the TTL and sends them out of the egress cable, whose far end
 * only counts. The cost includes both MemoryLinks' copies.
 */
export class ForwardScenario implements Scenario {
  readonly name: string;
  readonly unit = 'packet';
  readonly packetsPerUnit = 1;
  readonly payloadBytesPerUnit: number;
  private readonly router: Stack;
  private readonly ingress: MemoryLink;
  private readonly egress: MemoryLink;
  private readonly sink = new CountingReceiver();
  private readonly frames: Uint8Array[] = [];
  private readonly lens: Int32Array;
  private readonly step: number;
  private next = 0;
  private now = 0;
  private base = 0;

  constructor(size: number, o: ScenarioOptions = defaultOptions, label = '') {
    this.name = `forward UDP ${size} B${label}`;
    this.payloadBytesPerUnit = size;
    this.step = o.step;
    const [la, lra] = MemoryLink.pair({ mtu: 1500, queueFrames: 256, seed: 7 });
    const [lrb, lb] = MemoryLink.pair({ mtu: 1500, queueFrames: 256, seed: 8 });
    this.ingress = la;
    this.egress = lb;
    this.router = new Stack({ ...o.config, seed: 31, ipForwarding: true });
    this.router.addInterface(lra, { address: '10.0.0.1/24', mac: '02:00:00:00:00:0a' });
    this.router.addInterface(lrb, { address: '10.9.0.1/24', mac: '02:00:00:00:01:0a' });
    const a: Endpoints = { srcMac: mac('02:00:00:00:00:0b'), dstMac: mac('02:00:00:00:00:0a'), src: addr('10.0.0.2'), dst: addr('10.9.0.2') };
    const b: Endpoints = { srcMac: mac('02:00:00:00:01:0b'), dstMac: mac('02:00:00:00:01:0a'), src: addr('10.9.0.2'), dst: addr('10.9.0.1') };
    // B introduces itself with an ARP request, so the router has its MAC before the run.
    const arp = arpRequestFrame(b);
    lb.transmit(arp, 0, arp.length, 0);
    this.now += this.step;
    this.router.poll(this.now);
    lb.poll(this.now, this.sink);
    if (this.router.arp.entries().length !== 1) throw new Error('the router did not learn B');
    for (let i = 0; i < DISTINCT_FRAMES; i++) this.frames.push(udpFrame(a, 20000 + i, 9000, size, i, i));
    this.lens = new Int32Array(this.frames.length);
    for (let i = 0; i < this.frames.length; i++) this.lens[i] = this.frames[i].length;
    this.base = this.sink.frames;
    this.run(RX_BATCH);
  }

  completed(): number {
    return this.sink.frames - this.base;
  }

  /** `units` is rounded up to whole batches. */
  run(units: number): void {
    const router = this.router;
    const ingress = this.ingress;
    const egress = this.egress;
    const sink = this.sink;
    const frames = this.frames;
    const lens = this.lens;
    const n = frames.length;
    const step = this.step;
    let k = this.next;
    let now = this.now;
    for (let i = 0; i < units; i += RX_BATCH) {
      now += step;
      for (let j = 0; j < RX_BATCH; j++) {
        ingress.transmit(frames[k], 0, lens[k], now);
        k = k + 1 === n ? 0 : k + 1;
      }
      router.poll(now);
      egress.poll(now, sink);
    }
    this.next = k;
    this.now = now;
  }

  check(): string | null {
    const st = this.router.stats.ip;
    const fwd = this.router.interfaces[0].stats.forwarded;
    if (st.forwarded !== this.completed() || fwd !== st.forwarded || st.forwardDropped !== 0) {
      return `forwarded ${st.forwarded} (if0 ${fwd}), dropped ${st.forwardDropped}, arrived ${this.completed()}`;
    }
    return null;
  }
}

/** Scenario names understood by {@link makeScenario} (and the bench's child processes). */
export const SCENARIO_KINDS = ['ping56', 'udp64', 'udp1400', 'rx64', 'rx1472', 'echo56', 'echo1472', 'fwd64', 'fwd1472'] as const;
export type ScenarioKind = typeof SCENARIO_KINDS[number];

export function isScenarioKind(s: string): s is ScenarioKind {
  return (SCENARIO_KINDS as readonly string[]).includes(s);
}

export function makeScenario(kind: ScenarioKind, o: ScenarioOptions = defaultOptions): Scenario {
  switch (kind) {
    case 'ping56': return new PingPongScenario(56, o);
    case 'udp64': return new UdpEchoScenario(64, o);
    case 'udp1400': return new UdpEchoScenario(1400, o);
    case 'rx64': return new UdpReceiveScenario(64, o);
    case 'rx1472': return new UdpReceiveScenario(1472, o);
    case 'echo56': return new EchoReceiveScenario(56, o);
    case 'echo1472': return new EchoReceiveScenario(1472, o);
    case 'fwd64': return new ForwardScenario(64, o);
    case 'fwd1472': return new ForwardScenario(1472, o);
  }
}
