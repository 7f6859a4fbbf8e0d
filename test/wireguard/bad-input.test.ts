import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, MemoryLink, Errno } from '../../src/index.js';
import { getSuite } from '../../src/wireguard/crypto/index.js';
import { LABEL_MAC1 } from '../../src/wireguard/constants.js';
import { MessageLayout } from '../../src/wireguard/messages.js';
import { StackUdpTransport } from '../../src/wireguard/stack-transport.js';
import { Prng } from '../../src/engine/prng.js';
import { makeWgPair } from './helpers.js';

/** Record every datagram a device's transport sends (copies). */
function tap(t: { send: (b: Uint8Array, o: number, l: number, a: number, p: number) => boolean }): Uint8Array[] {
  const seen: Uint8Array[] = [];
  const orig = t.send.bind(t);
  t.send = (b, o, l, a, p) => {
    seen.push(b.slice(o, o + l));
    return orig(b, o, l, a, p);
  };
  return seen;
}

test('replayed, forged, truncated and unknown-index messages are dropped and counted; the session survives', async () => {
  const { a, b, wa, wb, sim } = await makeWgPair('standard');
  const sent = tap(wa.device.transport!);
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
  const data = sent.filter((m) => m[0] === 4 && m.length > 32);
  assert.ok(data.length >= 1);
  // An attacker on the outer network (another port of a's stack) re-sends and mangles them.
  const evil = a.sockets.socket('udp');
  a.sockets.bind(evil, 0, 40000);
  const st = wb.device.stats;
  const send = (m: Uint8Array): void => { a.sockets.sendto(evil, m, 0, m.length, '10.70.0.2', 51821); };
  send(data[0]);
  sim.advance(5);
  assert.equal(st.rxReplay, 1, 'replay rejected after authentication');
  assert.equal(wb.peers()[0].endpoint, '10.70.0.1:51820', 'a replay does not move the endpoint');
  const forged = data[0].slice();
  forged[forged.length - 20] ^= 1;
  send(forged);
  sim.advance(5);
  assert.equal(st.rxBadAuth, 1);
  const badIndex = data[0].slice();
  badIndex[4] ^= 0xff;
  send(badIndex);
  send(data[0].slice(0, 20));
  send(Uint8Array.of(9, 0, 0, 0, 1, 2, 3, 4));
  send(Uint8Array.of(1, 0, 0));
  const init = sent.find((m) => m[0] === 1)!;
  send(init.slice(0, init.length - 1));
  const wrongMac = init.slice();
  wrongMac[120] ^= 1;
  send(wrongMac);
  send(init); // a replayed initiation: same timestamp
  sim.advance(5);
  assert.equal(st.rxUnknownIndex, 1);
  assert.equal(st.rxMalformed, 4);
  assert.equal(st.rxBadMac1, 1);
  assert.equal(st.rxHandshakeReplay, 1, 'a replayed initiation (old TAI64N) is refused');
  // Random garbage of every type and length.
  const rng = new Prng(5);
  for (let i = 0; i < 2000; i++) {
    const len = rng.nextU32() % 300;
    const m = new Uint8Array(len);
    for (let j = 0; j < len; j++) m[j] = rng.nextU32() & 0xff;
    if (len > 4) { m[0] = 1 + (rng.nextU32() % 4); m[1] = m[2] = m[3] = 0; }
    send(m);
    if (i % 100 === 0) sim.advance(1);
  }
  sim.advance(10);
  assert.equal(st.dataReceived + st.keepalivesReceived > 0, true);
  // The real session still works both ways.
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
  await sim.until(b.ping('10.200.0.1', { timeoutMs: 2000 }));
  assert.equal(wa.device.stats.handshakesCompleted, 1, 'no new handshake was needed');
});

test('cryptokey routing: source filter, EDESTADDRREQ without endpoint, EHOSTUNREACH without peer, staged queue bounded', async () => {
  const { a, b, wa, wb, sim, keys } = await makeWgPair('standard');
  // Re-key b's view of a: allowed only 10.200.0.9/32.
  const pa = wb.device.findPeer(keys.aPub)!;
  wb.device.clearAllowedIps(pa);
  wb.device.addAllowedIp(pa, '10.200.0.9', 32);
  void a.ping('10.200.0.2', { timeoutMs: 500 }).catch(() => undefined);
  await sim.run(1000);
  assert.ok(wb.device.stats.rxBadSourceIp >= 1, 'decrypted but the source is not allowed');
  assert.equal(wb.device.stats.dataReceived, 0);
  // b has no route to 10.200.0.1 through a peer now; a send fails loudly.
  const u = b.sockets.socket('udp');
  const msg = new Uint8Array(10);
  assert.equal(b.sockets.sendto(u, msg, 0, 10, '10.200.0.1', 9), -Errno.EHOSTUNREACH);
  // A peer without endpoint: EDESTADDRREQ, not silence.
  wb.device.addAllowedIp(pa, '10.200.0.1', 32);
  pa.endpointPort = 0;
  assert.equal(b.sockets.sendto(u, msg, 0, 10, '10.200.0.1', 9), -Errno.EDESTADDRREQ);
  // A silent peer: packets wait in the staged queue, 128 at most, oldest dropped.
  wb.device.setPrivateKey(null);
  const pb = wa.device.activePeers()[0];
  wa.device.dropSessions(pb);
  const ua = a.sockets.socket('udp');
  for (let i = 0; i < 200; i++) assert.equal(a.sockets.sendto(ua, msg, 0, 10, '10.200.0.2', 9), 10);
  assert.equal(pb.stagedCount, 128);
  assert.equal(wa.device.stats.stagedDrops, 72);
  sim.advance(1);
});

test('roaming: the endpoint follows the latest authenticated packet', async () => {
  const { a, wa, wb, sim } = await makeWgPair('standard');
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
  assert.equal(wb.peers()[0].endpoint, '10.70.0.1:51820');
  // a's outer socket moves to another port (as after a NAT rebinding).
  wa.device.transport!.close();
  wa.device.attachTransport(new StackUdpTransport(a.sockets, 51830));
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }), 5000);
  assert.equal(wb.peers()[0].endpoint, '10.70.0.1:51830');
  assert.equal(wb.device.stats.roams, 1);
});

for (const suiteName of ['standard', 'fips'] as const) {
  test(`${suiteName}: cookie defence: 100,000 forged initiations (valid mac1) leave a legitimate peer able to handshake within 1 s`, async () => {
    const suite = getSuite(suiteName);
    const { a, b, wa, wb, sim, keys } = await makeWgPair(suiteName, { stack: { maxInterfaces: 4 } });
    // The attacker sits on a second outer network of b.
    const [lb2, lc] = MemoryLink.pair({ seed: 3, queueFrames: 4096 });
    b.addInterface(lb2, { address: '10.71.0.2/24' });
    const c = new Stack({ seed: 9 });
    c.addInterface(lc, { address: '10.71.0.3/24' });
    sim.nodes.push(c);
    const L = new MessageLayout(suite);
    const mac1Key = suite.hash(LABEL_MAC1, keys.bPub);
    const rng = new Prng(77);
    const fd = c.sockets.socket('udp');
    c.sockets.bind(fd, 0, 0);
    const forge = (): Uint8Array => {
      const m = new Uint8Array(L.initLen);
      for (let i = 4; i < L.initMac1; i++) m[i] = rng.nextU32() & 0xff;
      m[0] = 1;
      m.set(suite.mac(mac1Key, m.subarray(0, L.initMac1)), L.initMac1);
      return m;
    };
    const total = 100_000;
    const perMs = 100;
    let sentForged = 0;
    let handshakeAt = -1;
    wa.once('handshake', () => { handshakeAt = sim.now; });
    let pingStart = -1;
    let pingDone: Promise<number> | null = null;
    for (let t = 0; t < total / perMs; t++) {
      for (let i = 0; i < perMs; i++) {
        const m = forge();
        c.sockets.sendto(fd, m, 0, m.length, '10.71.0.2', 51821);
        sentForged++;
      }
      if (t === 300) {
        pingStart = sim.now;
        pingDone = a.ping('10.200.0.2', { timeoutMs: 3000 });
      }
      sim.advance(1);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(sentForged, total);
    assert.ok(pingDone !== null);
    await sim.until(pingDone, 5000);
    const st = wb.device.stats;
    assert.ok(handshakeAt >= 0 && handshakeAt - pingStart <= 1000, `handshake ${handshakeAt - pingStart} ms after the first try`);
    assert.ok(st.cookieRepliesSent >= 1, 'b answered with cookies under load');
    assert.ok(wa.device.stats.cookieRepliesReceived >= 1, 'a took the cookie and retried with mac2');
    // Diffie-Hellman was spent on at most the budget, not on the flood.
    assert.ok(st.rxHandshakeInvalid <= 2100, `DH on forged initiations: ${st.rxHandshakeInvalid}`);
    // The rest is shed before any crypto: the outer UDP socket's queue or the device's queue overflowed.
    const shed = st.rxRateLimited + st.rxQueueDrops + b.stats.udp.queueFull;
    assert.ok(shed > 90_000, `flood shed cheaply: ${st.rxRateLimited} rate-limited, ${st.rxQueueDrops} + ${b.stats.udp.queueFull} queue drops`);
    assert.ok(st.cookieRepliesSent < 100, `cookie replies to the flood source are rate-limited (${st.cookieRepliesSent})`);
  });
}
