/**
 * Datagrams larger than the tunnel's MTU, through a WireGuard interface
 * whose outer transport is the same stack's UDP: the device sends each
 * fragment's ciphertext through that stack while the fragmenter is still
 * in its loop. That nested send must not overwrite the fragments not yet
 * sent (it builds in the nested transmit frame), so what comes out of the
 * peer's device is byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PcapSink } from '../../src/index.js';
import { makeWgPair } from './helpers.js';

const A = '10.200.0.1';
const B = '10.200.0.2';

/** A pcap sink that keeps every byte (the writer reuses its buffer). */
class Collect implements PcapSink {
  private readonly parts: Uint8Array[] = [];
  write(buf: Uint8Array, offset: number, length: number): void {
    this.parts.push(buf.slice(offset, offset + length));
  }

  /** The captured raw-IP packets (the 24-byte global header and 16-byte record headers removed). */
  packets(): Uint8Array[] {
    const all = Buffer.concat(this.parts);
    const out: Uint8Array[] = [];
    let p = 24;
    while (p + 16 <= all.length) {
      const incl = all.readUInt32LE(p + 8);
      out.push(all.subarray(p + 16, p + 16 + incl));
      p += 16 + incl;
    }
    return out;
  }
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const addr = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/**
 * Reassemble, from captured packets, the datagrams from `src` of protocol
 * `proto` that came in fragments (test-side, independent of the stack's reassembly).
 */
function reassembled(packets: Uint8Array[], src: string, proto: number): Uint8Array[] {
  const byId = new Map<number, Array<{ off: number; data: Uint8Array; more: boolean }>>();
  for (const p of packets) {
    if (addr(p, 12) !== src || p[9] !== proto) continue;
    const frag = u16(p, 6);
    if ((frag & 0x3fff) === 0) continue;
    const hl = (p[0] & 15) * 4;
    const list = byId.get(u16(p, 4)) ?? [];
    list.push({ off: (frag & 0x1fff) * 8, data: p.subarray(hl, u16(p, 2)), more: (frag & 0x2000) !== 0 });
    byId.set(u16(p, 4), list);
  }
  const out: Uint8Array[] = [];
  for (const list of byId.values()) {
    list.sort((x, y) => x.off - y.off);
    const last = list[list.length - 1];
    assert.equal(last.more, false, 'the last fragment was captured');
    const d = new Uint8Array(last.off + last.data.length);
    let covered = 0;
    for (const f of list) {
      assert.equal(f.off, covered, 'fragments are contiguous');
      d.set(f.data, f.off);
      covered += f.data.length;
    }
    out.push(d);
  }
  return out;
}

/** The Internet checksum of `b` (0 when a message carrying its checksum is intact). */
function inetChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if ((b.length & 1) !== 0) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** ICMP echo message (request or reply) of `size` payload bytes carrying the stack's ping pattern. */
function assertEcho(msg: Uint8Array, type: number, size: number): void {
  assert.equal(msg.length, 8 + size);
  assert.equal(msg[0], type);
  assert.equal(inetChecksum(msg), 0, 'ICMP checksum');
  for (let i = 0; i < size; i++) {
    if (msg[8 + i] !== ((i + 0x10) & 0xff)) assert.fail(`echo payload byte ${i} is ${msg[8 + i]}, expected ${(i + 0x10) & 0xff}`);
  }
}

for (const [from, to] of [['a', 'b'], ['b', 'a']] as const) {
  test(`a ping of 3000 bytes through a same-stack tunnel, ${from} to ${to}: request and reply byte-exact`, async () => {
    const capA = new Collect();
    const capB = new Collect();
    const { a, b, wa, wb, sim } = await makeWgPair('standard', { a: { pcap: capA }, b: { pcap: capB } });
    await sim.until(a.ping(B, { timeoutMs: 2000 }));
    const [pinger, responder] = from === 'a' ? [a, b] : [b, a];
    const [capPinger, capResponder] = from === 'a' ? [capA, capB] : [capB, capA];
    const [wPinger, wResponder] = from === 'a' ? [wa, wb] : [wb, wa];
    const srcPinger = from === 'a' ? A : B;
    const srcResponder = from === 'a' ? B : A;
    const bad = responder.stats.ip.badChecksum + responder.stats.icmp.badChecksum;
    const done = pinger.ping(srcResponder, { timeoutMs: 500, size: 3000 }).then(() => 'reply', (e: Error) => e.message);
    assert.equal(await sim.until(done), 'reply');
    assert.equal(responder.stats.ip.badChecksum + responder.stats.icmp.badChecksum, bad);
    assert.equal(pinger.stats.ip.fragmentedOut >= 1 && responder.stats.ip.fragmentedOut >= 1, true, 'both ways fragmented');
    wPinger.capture?.flush();
    wResponder.capture?.flush();
    // What each side's device delivered (decrypted), reassembled here.
    const requests = reassembled(capResponder.packets(), srcPinger, 1);
    const replies = reassembled(capPinger.packets(), srcResponder, 1);
    assert.equal(requests.length, 1);
    assert.equal(replies.length, 1);
    assertEcho(requests[0], 8, 3000);
    assertEcho(replies[0], 0, 3000);
  });
}

test('UDP datagrams of 4000 bytes through a same-stack tunnel arrive byte-exact, both ways', async () => {
  const { a, b, sim } = await makeWgPair('standard');
  await sim.until(a.ping(B, { timeoutMs: 2000 }));
  const sa = a.sockets.socket('udp');
  const sb = b.sockets.socket('udp');
  assert.equal(a.sockets.bind(sa, A, 7000), 0);
  assert.equal(b.sockets.bind(sb, B, 7000), 0);
  const buf = new Uint8Array(5000);
  const fromAddr = { address: 0, port: 0 };
  for (let k = 0; k < 4; k++) {
    const payload = new Uint8Array(4000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + k * 7 + (i >>> 8)) & 0xff;
    const [s, d, sock, rsock, dst] = k % 2 === 0 ? [a, b, sa, sb, B] : [b, a, sb, sa, A];
    assert.equal(s.sockets.sendto(sock, payload, 0, payload.length, dst, 7000), 4000);
    sim.advance(5);
    assert.equal(d.sockets.recvfrom(rsock, buf, 0, buf.length, fromAddr), 4000, `datagram ${k} arrived`);
    assert.deepEqual(buf.subarray(0, 4000), payload, `datagram ${k} byte-exact`);
  }
  assert.equal(a.stats.udp.badChecksum + b.stats.udp.badChecksum, 0);
});

test('outer link narrower than the tunnel: packets fragmented once get through; fragments of fragments are refused and counted', async () => {
  // Tunnel MTU 1420 over a 1280-byte outer link: a 1328-byte inner packet is one ciphertext of
  // 1388 bytes of IP, which the outer output fragments (one level, as before).
  const { a, b, sim } = await makeWgPair('standard', { link: { mtu: 1280 } });
  await sim.until(a.ping(B, { timeoutMs: 2000 }));
  const outerBefore = a.stats.ip.fragmentedOut;
  const rtt = await sim.until(a.ping(B, { timeoutMs: 500, size: 1300 }));
  assert.ok(rtt >= 0);
  assert.ok(a.stats.ip.fragmentedOut > outerBefore && b.stats.ip.reassembled >= 1);
  assert.equal(a.stats.ip.fragmentNested, 0);
  // 3000 bytes: the inner datagram is fragmented, and each piece's ciphertext would have to be
  // fragmented again inside that loop, which needs a third transmit frame: refused, counted, and
  // nothing corrupt reaches the peer.
  const bad = b.stats.ip.badChecksum + b.stats.icmp.badChecksum;
  const done = a.ping(B, { timeoutMs: 300, size: 3000 }).then(() => 'reply', (e: Error & { code: string }) => e.code);
  assert.notEqual(await sim.until(done), 'reply');
  assert.ok(a.stats.ip.fragmentNested >= 1, `fragmentNested ${a.stats.ip.fragmentNested}`);
  assert.equal(b.stats.ip.badChecksum + b.stats.icmp.badChecksum, bad);
  assert.equal(b.stats.icmp.echoRequestsIn, 2, 'only the two pings that fit');
});
