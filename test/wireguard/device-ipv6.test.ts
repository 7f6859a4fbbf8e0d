/**
 * The WireGuard device with IPv6 on both sides of the tunnel, without a stack:
 * two devices joined by an in-memory transport that has an IPv4 and an IPv6
 * address per side, driven by poll() in virtual time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../../src/index.js';
import { getSuite } from '../../src/wireguard/crypto/index.js';
import { WireGuardDevice } from '../../src/wireguard/device.js';
import type { DatagramReceiver, WgTransport } from '../../src/wireguard/transport.js';
import { parseIp6 } from '../../src/wireguard/ip6-text.js';

function v6(text: string): Uint8Array {
  const b = new Uint8Array(16);
  assert.ok(parseIp6(text, b, 0), text);
  return b;
}

function v4(text: string): number {
  return text.split('.').reduce((a, o) => (a << 8) | Number(o), 0) | 0;
}

/** One side of a memory "internet": sends by family, records what went out, and can change its source (roaming). */
class MemTransport implements WgTransport {
  peer: MemTransport | null = null;
  receiver: DatagramReceiver | null = null;
  sent4 = 0;
  sent6 = 0;
  /** Where this side's datagrams appear to come from. */
  family: 4 | 6 = 6;
  constructor(readonly port: number, public addr4: number, public addr6: Uint8Array) {}
  queue: Array<() => void> = [];
  send(b: Uint8Array, off: number, len: number, address: number, port: number): boolean {
    const to = this.peer!;
    if ((address | 0) !== to.addr4 || port !== to.port) return false;
    this.sent4++;
    this.deliver(to, b.slice(off, off + len));
    return true;
  }
  send6(b: Uint8Array, off: number, len: number, a6: Uint8Array, a6off: number, port: number): boolean {
    const to = this.peer!;
    for (let i = 0; i < 16; i++) if (a6[a6off + i] !== to.addr6[i]) return false;
    if (port !== to.port) return false;
    this.sent6++;
    this.deliver(to, b.slice(off, off + len));
    return true;
  }
  private deliver(to: MemTransport, d: Uint8Array): void {
    const src6 = this.family === 6 ? this.addr6.slice() : null;
    const src4 = this.family === 4 ? this.addr4 : 0;
    this.queue.push(() => to.receiver?.(d, 0, d.length, src4, this.port, src6));
  }
  setReceiver(rx: DatagramReceiver | null): void { this.receiver = rx; }
  close(): void {}
}

/** An IPv6 packet (fixed header only + payload), or an IPv4 one. */
function packet6(src: string, dst: string, payload: number): Uint8Array {
  const p = new Uint8Array(40 + payload);
  p[0] = 0x60;
  p[4] = payload >> 8;
  p[5] = payload & 0xff;
  p[6] = 59; // no next header
  p[7] = 64;
  p.set(v6(src), 8);
  p.set(v6(dst), 24);
  for (let i = 0; i < payload; i++) p[40 + i] = i & 0xff;
  return p;
}

function packet4(src: string, dst: string, payload: number): Uint8Array {
  const p = new Uint8Array(20 + payload);
  p[0] = 0x45;
  p[2] = (20 + payload) >> 8;
  p[3] = (20 + payload) & 0xff;
  p[8] = 64;
  p[9] = 253;
  const s = v4(src);
  const d = v4(dst);
  for (let i = 0; i < 4; i++) {
    p[12 + i] = s >>> (24 - 8 * i);
    p[16 + i] = d >>> (24 - 8 * i);
  }
  return p;
}

function setup(opts: { handshakeBudgetB?: number } = {}) {
  const suite = getSuite('standard');
  const ka = suite.generatePrivateKey();
  const kb = suite.generatePrivateKey();
  const ta = new MemTransport(51820, v4('192.0.2.1'), v6('2001:db8::a'));
  const tb = new MemTransport(51821, v4('192.0.2.2'), v6('2001:db8::b'));
  ta.peer = tb;
  tb.peer = ta;
  let wall = 1_790_000_000_000;
  const A = new WireGuardDevice({ suite, privateKey: ka, wallClock: () => wall });
  const B = new WireGuardDevice({ suite, privateKey: kb, wallClock: () => wall, handshakeBudget: opts.handshakeBudgetB });
  A.attachTransport(ta);
  B.attachTransport(tb);
  const pb = A.addPeer({ publicKey: suite.publicKey(kb), endpoint: { address: '2001:db8::b', port: 51821 },
    allowedIps: [{ address: 'fd00::2', prefixLength: 128 }, { address: '10.9.0.2', prefixLength: 32 }, { address: 'fd01::', prefixLength: 64 }] });
  const pa = B.addPeer({ publicKey: suite.publicKey(ka),
    allowedIps: [{ address: 'fd00::1', prefixLength: 128 }, { address: '10.9.0.1', prefixLength: 32 }] });
  const gotA: Uint8Array[] = [];
  const gotB: Uint8Array[] = [];
  const rxA = { receiveFrame: (f: Uint8Array, o: number, l: number) => { gotA.push(f.slice(o, o + l)); } };
  const rxB = { receiveFrame: (f: Uint8Array, o: number, l: number) => { gotB.push(f.slice(o, o + l)); } };
  let now = 0;
  const run = (ms: number): void => {
    for (let t = 0; t < ms; t++) {
      now++;
      wall++;
      for (let i = 0; i < 10 && (ta.queue.length > 0 || tb.queue.length > 0); i++) {
        for (const q of [ta.queue, tb.queue]) for (const f of q.splice(0)) f();
        A.poll(now, rxA);
        B.poll(now, rxB);
      }
      A.poll(now, rxA);
      B.poll(now, rxB);
    }
  };
  const send = (d: WireGuardDevice, p: Uint8Array): number => d.transmit(p, 0, p.length, now);
  return { A, B, ta, tb, pa, pb, gotA, gotB, run, send };
}

test('IPv6 inside and outside: handshake to an [IPv6]:port endpoint, inner IPv6 and IPv4 both ways', () => {
  const { A, B, ta, tb, gotA, gotB, run, send } = setup();
  const p1 = packet6('fd00::1', 'fd00::2', 100);
  assert.equal(send(A, p1), 0, 'staged while the handshake runs');
  run(50);
  assert.equal(A.stats.handshakesCompleted, 1);
  assert.equal(gotB.length, 1);
  assert.deepEqual(gotB[0], p1, 'the inner IPv6 packet arrives intact (padding cut by the payload length)');
  assert.equal(ta.sent4, 0, 'A only used IPv6 outside');
  // B learned A's IPv6 endpoint from the handshake and answers over IPv6.
  assert.deepEqual(B.describePeer(B.activePeers()[0]).endpoint, { address: '2001:db8::a', port: 51820 });
  assert.equal(send(B, packet6('fd00::2', 'fd00::1', 1)), 0);
  assert.equal(send(B, packet4('10.9.0.2', '10.9.0.1', 30)), 0);
  run(5);
  assert.equal(gotA.length, 2);
  assert.equal(gotA[0][0] >>> 4, 6);
  assert.equal(gotA[1][0] >>> 4, 4);
  assert.equal(tb.sent4, 0);
  assert.ok(tb.sent6 >= 3, 'response and data went out over IPv6');
  // Longest prefix over the v6 trie: fd01::/64 belongs to B's peer at A.
  assert.equal(send(A, packet6('fd00::1', 'fd01::99', 8)), 0);
  run(5);
  assert.equal(gotB.length, 2);
  assert.deepEqual(A.describePeer(A.activePeers()[0]).allowedIps.map((e) => `${e.address}/${e.prefixLength}`),
    ['10.9.0.2/32', 'fd00::2/128', 'fd01::/64']);
  assert.equal(A.stats.drops + B.stats.drops + B.stats.rxBadSourceIp + B.stats.rxBadPacket, 0);
});

test('IPv6 cryptokey routing: unknown destination, forged inner source, bad version and short payloads are counted', () => {
  const { A, B, gotB, run, send } = setup();
  send(A, packet6('fd00::1', 'fd00::2', 0));
  run(50);
  assert.equal(gotB.length, 1);
  // No peer for the destination: EHOSTUNREACH, as Linux's wg_xmit.
  assert.equal(send(A, packet6('fd00::1', 'fd02::1', 8)), -Errno.EHOSTUNREACH);
  assert.equal(A.stats.txNoPeer, 1);
  // A packet that is neither IPv4 nor IPv6, and a truncated IPv6 header, go nowhere.
  const bad = packet6('fd00::1', 'fd00::2', 8);
  bad[0] = 0x50;
  assert.equal(send(A, bad), -Errno.EHOSTUNREACH);
  assert.equal(send(A, packet6('fd00::1', 'fd00::2', 8).subarray(0, 39)), -Errno.EHOSTUNREACH);
  assert.equal(A.stats.txNoPeer, 3);
  // B's filter: an inner source outside what B allows for A is dropped after decryption.
  const forged = packet6('fd00::66', 'fd00::2', 8);
  assert.equal(send(A, forged), 0, 'A routes by destination only');
  run(5);
  assert.equal(B.stats.rxBadSourceIp, 1);
  assert.equal(gotB.length, 1, 'not delivered');
  // An IPv6 header whose payload length claims more than was sent.
  const long = packet6('fd00::1', 'fd00::2', 8);
  long[5] = 200;
  send(A, long);
  run(5);
  assert.equal(B.stats.rxBadPacket, 1);
  assert.equal(gotB.length, 1);
});

test('roaming across families: the endpoint follows the latest authenticated source, IPv6 → IPv4 → IPv6', () => {
  const { A, B, ta, tb, gotA, gotB, run, send } = setup();
  send(A, packet6('fd00::1', 'fd00::2', 10));
  run(50);
  const peerA = B.activePeers()[0];
  assert.equal(peerA.endpointFamily, 6);
  // A's host moves to an IPv4 network: its datagrams now come from 192.0.2.1.
  ta.family = 4;
  send(A, packet6('fd00::1', 'fd00::2', 10));
  run(5);
  assert.equal(gotB.length, 2);
  assert.deepEqual(B.describePeer(peerA).endpoint, { address: '192.0.2.1', port: 51820 });
  assert.equal(B.stats.roams, 1);
  const before4 = tb.sent4;
  send(B, packet6('fd00::2', 'fd00::1', 10));
  run(5);
  assert.equal(tb.sent4, before4 + 1, 'B answers over IPv4 now');
  assert.equal(gotA.length, 1);
  ta.family = 6;
  send(A, packet4('10.9.0.1', '10.9.0.2', 10));
  run(5);
  assert.deepEqual(B.describePeer(peerA).endpoint, { address: '2001:db8::a', port: 51820 });
  assert.equal(B.stats.roams, 2);
  // An endpoint set by hand as IPv4-mapped IPv6 counts as IPv4.
  B.setEndpoint(peerA, '::ffff:192.0.2.1', 51820);
  assert.equal(peerA.endpointFamily, 4);
  assert.deepEqual(B.describePeer(peerA).endpoint, { address: '192.0.2.1', port: 51820 });
  assert.throws(() => B.setEndpoint(peerA, 'fd00::1::2', 1), RangeError);
});

test('under load, the cookie reply goes back to the IPv6 source and mac2 is checked against the IPv6 address', () => {
  const { A, B, tb, gotB, run, send } = setup({ handshakeBudgetB: 0 });
  send(A, packet6('fd00::1', 'fd00::2', 10));
  run(50);
  assert.ok(B.stats.cookieRepliesSent >= 1, 'B demanded a cookie');
  assert.ok(A.stats.cookieRepliesReceived >= 1);
  assert.ok(tb.sent6 >= 2, 'cookie reply and response over IPv6');
  assert.equal(A.stats.handshakesCompleted, 1, 'the retry with mac2 got through');
  assert.equal(gotB.length, 1);
});

test('datagrams from IPv4 0.0.0.0/8 or port 0 are not queued (no reply could reach them)', () => {
  const { B, tb } = setup();
  tb.receiver?.(new Uint8Array(32), 0, 32, v4('0.1.2.3'), 1000, null);
  tb.receiver?.(new Uint8Array(32), 0, 32, v4('192.0.2.1'), 0, null);
  assert.equal(B.stats.rxBadEndpoint, 2);
});
