/** IPv6 test fixtures: stacks on 'ip' MemoryLink cables (no neighbour discovery needed), raw packet builders. */
import { Stack, MemoryLink, Simulation, type StackConfig, type Link, type FrameReceiver } from '../../src/index.js';
import { parseIpv6 } from '../../src/wire/ipv6addr.js';
import { writeIpv6, writeFragHeader } from '../../src/wire/ipv6.js';
import { writeIcmp6 } from '../../src/wire/icmpv6.js';

/** A MemoryLink endpoint seen as an 'ip' link (bare IP packets, as a WireGuard device). */
export function ipLink(inner: MemoryLink): Link {
  return {
    name: inner.name, layer: 'ip', mtu: inner.mtu, stats: inner.stats,
    transmit: (f, o, l, now) => inner.transmit(f, o, l, now),
    poll: (now, rx) => inner.poll(now, rx),
    setWakeup: (w) => inner.setWakeup(w),
    close: () => inner.close(),
  };
}

export function a6(text: string): Uint8Array {
  const a = new Uint8Array(16);
  if (!parseIpv6(text, a, 0)) throw new Error(`bad address ${text}`);
  return a;
}

export interface Pair6 { a: Stack; b: Stack; la: MemoryLink; lb: MemoryLink; sim: Simulation }

/** Two stacks, fd00::1/64 and fd00::2/64 (and 10.0.0.1/2), on an 'ip' cable. */
export function ipPair(mtu = 1500, ca: StackConfig = {}, cb: StackConfig = {}): Pair6 {
  const [la, lb] = MemoryLink.pair({ seed: 7, mtu });
  const a = new Stack({ seed: 1, ...ca });
  const b = new Stack({ seed: 2, ...cb });
  a.addInterface(ipLink(la), { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(ipLink(lb), { address: ['10.0.0.2/24', 'fd00::2/64'] });
  return { a, b, la, lb, sim: new Simulation([a, b]) };
}

/** A stack `b` (fd00::2/64) and a raw endpoint that injects packets and collects what `b` sends. */
export class RawPeer implements FrameReceiver {
  readonly b: Stack;
  readonly raw: MemoryLink;
  readonly got: Uint8Array[] = [];
  now = 0;

  constructor(config: StackConfig = {}, mtu = 1500) {
    const [lr, lb] = MemoryLink.pair({ seed: 3, mtu });
    this.raw = lr;
    this.b = new Stack({ seed: 2, ...config });
    this.b.addInterface(ipLink(lb), { address: ['fd00::2/64'] });
  }

  receiveFrame(frame: Uint8Array, offset: number, length: number): void {
    this.got.push(frame.slice(offset, offset + length));
  }

  /** Send `pkt` to the stack and run both sides for `ms`. */
  send(pkt: Uint8Array, ms = 1): void {
    this.raw.transmit(pkt, 0, pkt.length, this.now);
    this.run(ms);
  }

  run(ms: number): void {
    const end = this.now + ms;
    for (; this.now <= end; this.now += 1) {
      this.b.poll(this.now);
      this.raw.poll(this.now, this);
    }
  }

  /** ICMPv6 messages received: [type, code, rest]. */
  icmp(): Array<[number, number, number]> {
    return this.got.filter((p) => p[6] === 58).map((p) => [p[40], p[41], ((p[44] << 24) | (p[45] << 16) | (p[46] << 8) | p[47]) >>> 0]);
  }
}

/**
 * An IPv6 packet from fd00::99 to fd00::2 with `body` after the fixed header
 * (extension headers and upper layer as given); next header `nh`.
 */
export function packet(nh: number, body: Uint8Array, hopLimit = 64, src = 'fd00::99', dst = 'fd00::2'): Uint8Array {
  const p = new Uint8Array(40 + body.length);
  writeIpv6(p, 0, body.length, nh, hopLimit, a6(src), 0, a6(dst), 0);
  p.set(body, 40);
  return p;
}

/** An ICMPv6 echo request (id, seq, payload) with a correct checksum, as a full packet. */
export function echoRequest(id: number, seq: number, payload: number, src = 'fd00::99', dst = 'fd00::2'): Uint8Array {
  const p = new Uint8Array(40 + 8 + payload);
  writeIpv6(p, 0, 8 + payload, 58, 64, a6(src), 0, a6(dst), 0);
  for (let i = 0; i < payload; i++) p[48 + i] = i & 0xff;
  writeIcmp6(p, 0, 40, 8 + payload, 128, 0, (id << 16) | seq);
  return p;
}

/** Fragments of `whole` (a packet from {@link echoRequest}): pieces [offset, length] of its payload, with `id`. */
export function fragments(whole: Uint8Array, pieces: Array<[number, number]>, id: number): Uint8Array[] {
  const plen = whole.length - 40;
  const nh = whole[6];
  return pieces.map(([off, len]) => {
    const f = new Uint8Array(48 + len);
    f.set(whole.subarray(0, 40), 0);
    f[6] = 44;
    f[4] = (8 + len) >>> 8;
    f[5] = (8 + len) & 0xff;
    writeFragHeader(f, 40, nh, off, off + len < plen, id);
    f.set(whole.subarray(40 + off, 40 + off + len), 48);
    return f;
  });
}
