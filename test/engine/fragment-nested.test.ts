/**
 * A send nested in the fragmenter's loop: a link handed a fragment sends
 * another packet through the same stack before returning (a WireGuard
 * device carried by the stack's own UDP, an ICMP error when ARP evicts an
 * entry). The nested packet is built in the nested transmit frame, so the
 * fragments not yet sent stay intact; a fragmentation asked for by such a
 * nested send is refused and counted (it would need a third frame).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipOutputFixture, ip4 } from '../helpers/ip-output.js';
import { RouteRecord } from '../../src/engine/routes.js';
import { IP_PAYLOAD_OFFSET, Ipv4 } from '../../src/engine/ipv4.js';
import { Errno } from '../../src/engine/errno.js';
import type { EngineContext } from '../../src/engine/context.js';
import type { Link, LinkStats } from '../../src/link/link.js';
import { Stack } from '../../src/index.js';

/** A point-to-point ('ip') link that keeps a copy of every packet and may send through the stack from transmit. */
class NestingLink implements Link {
  readonly layer = 'ip' as const;
  readonly mtu = 1500;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  readonly sent: Uint8Array[] = [];
  /** Called after each packet is copied, before transmit returns (the nested send). */
  onTransmit: (() => void) | null = null;
  constructor(readonly name: string) {}
  transmit(frame: Uint8Array, offset: number, length: number): number {
    this.sent.push(frame.slice(offset, offset + length));
    this.stats.txFrames++;
    const f = this.onTransmit;
    if (f !== null) f();
    return 0;
  }
  poll(): number {
    return Infinity;
  }
  setWakeup(): void {}
  close(): void {}
}

/** IPv4 output over 10.1.0.1/24 (MTU 600: datagrams leave in fragments) and 10.2.0.1/24 (MTU 1500). */
function fixture(): { ip: Ipv4; ctx: EngineContext; links: NestingLink[] } {
  const links = [new NestingLink('a'), new NestingLink('b')];
  const { ip, ctx } = ipOutputFixture([links[0], links[1]], [600, 1500]);
  return { ip, ctx, links };
}

/** Send `len` bytes of `fill(i)` as an IP payload (protocol 253, experimental) to `dst`; 0 or -errno. */
function send(ip: Ipv4, ctx: EngineContext, r: RouteRecord, dst: string, len: number, fill: (i: number) => number): number {
  assert.equal(ip.route(r, ip4(dst), 0), 0);
  const t = ctx.tx;
  for (let i = 0; i < len; i++) t[IP_PAYLOAD_OFFSET + i] = fill(i);
  return ip.output(r, 253, len, ip4(dst), 64, 0);
}

/** The payload of the datagram made of `frags` (in order, as sent). */
function payloadOf(frags: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let expect = 0;
  for (const f of frags) {
    const frag = (f[6] << 8) | f[7];
    assert.equal((frag & 0x1fff) * 8, expect, 'contiguous offsets');
    const data = f.subarray((f[0] & 15) * 4, (f[2] << 8) | f[3]);
    parts.push(data);
    expect += data.length;
  }
  assert.equal((frags[frags.length - 1][6] & 0x20), 0, 'the last fragment has MF clear');
  return Buffer.concat(parts);
}

const outer = (i: number): number => (i * 7 + (i >>> 8)) & 0xff;

test('a packet sent from the link while fragments go out leaves the fragments not yet sent intact', () => {
  const { ip, ctx, links } = fixture();
  const frame = ctx.tx;
  const nested = new RouteRecord();
  let sends = 0;
  links[0].onTransmit = () => {
    // Each fragment handed over makes the link send 1000 bytes through the stack, on the other interface.
    sends++;
    assert.notEqual(ctx.tx, frame, 'nested sends build in the nested frame');
    assert.equal(send(ip, ctx, nested, '10.2.0.9', 1000, () => 0xee), 0);
  };
  assert.equal(send(ip, ctx, new RouteRecord(), '10.1.0.9', 1400, outer), 0);
  assert.equal(ctx.tx, frame, 'the transmit frame is the context\'s again');
  assert.equal(sends, 3);
  assert.equal(links[0].sent.length, 3, '1400 bytes in 576 + 576 + 248');
  const got = payloadOf(links[0].sent);
  assert.equal(got.length, 1400);
  for (let i = 0; i < 1400; i++) if (got[i] !== outer(i)) assert.fail(`byte ${i} is ${got[i]}, expected ${outer(i)}`);
  assert.equal(links[1].sent.length, 3);
  for (const p of links[1].sent) assert.ok(p.subarray(20).every((x) => x === 0xee) && p.length === 1020);
  assert.equal(ctx.stats.ip.fragmentNested, 0);
});

test('a nested send that needs fragmenting itself is refused with ENOBUFS and counted; the outer datagram still goes out', () => {
  const { ip, ctx, links } = fixture();
  const nested = new RouteRecord();
  const results: number[] = [];
  links[0].onTransmit = () => {
    // 1400 bytes to the 600-byte interface: it would need its own nested frame.
    links[0].onTransmit = null;
    results.push(send(ip, ctx, nested, '10.1.0.8', 1400, () => 0xee));
  };
  assert.equal(send(ip, ctx, new RouteRecord(), '10.1.0.9', 1400, outer), 0);
  assert.deepEqual(results, [-Errno.ENOBUFS]);
  assert.equal(ctx.stats.ip.fragmentNested, 1);
  assert.equal(links[0].sent.length, 3, 'only the outer datagram\'s fragments');
  const got = payloadOf(links[0].sent);
  for (let i = 0; i < 1400; i++) if (got[i] !== outer(i)) assert.fail(`byte ${i} differs`);
  // Once the loop is over, the same datagram fragments normally.
  assert.equal(send(ip, ctx, new RouteRecord(), '10.1.0.8', 1400, () => 0xee), 0);
  assert.equal(links[0].sent.length, 6);
});

test('a link that throws mid-fragmentation leaves the stack building in its own frame, and fragmenting again works', () => {
  const { ip, ctx, links } = fixture();
  const frame = ctx.tx;
  links[0].onTransmit = () => {
    links[0].onTransmit = null;
    throw new Error('sink failed');
  };
  assert.throws(() => send(ip, ctx, new RouteRecord(), '10.1.0.9', 1400, outer), /sink failed/);
  assert.equal(ctx.tx, frame);
  assert.equal(send(ip, ctx, new RouteRecord(), '10.1.0.9', 1400, outer), 0);
  assert.equal(links[0].sent.length, 1 + 3);
  assert.equal(ctx.stats.ip.fragmentNested, 0);
});

test('the memory plan reports the nested transmit frame, as large as the transmit frame', () => {
  for (const config of [{}, { ipMaxDatagramBytes: 8192 }, { maxMtu: 9000, ipMaxDatagramBytes: 576 }]) {
    const m = new Stack(config).memory;
    assert.ok(m.parts.txFrame > 0);
    assert.equal(m.parts.txFrameNested, m.parts.txFrame, JSON.stringify(config));
  }
});
