import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, enc } from '../helpers/net.js';
import { formatIpv4 } from '../../src/index.js';

test('resolution happens once, then the cache answers', async () => {
  const { a, b, sim } = makePair();
  for (let i = 0; i < 5; i++) await sim.until(a.ping('10.0.0.2'));
  assert.equal(a.stats.arp.requestsOut, 1);
  assert.equal(b.stats.arp.repliesOut, 1);
  const e = a.arp.entries();
  assert.equal(e.length, 1);
  assert.equal(formatIpv4(e[0].ip), '10.0.0.2');
  assert.equal(e[0].state, 'reachable');
  // b learned a from a's request (a asked for b's address), so b sent no request of its own.
  assert.equal(b.stats.arp.requestsOut, 0);
  assert.equal(b.stats.arp.learned, 1);
});

test('retries at the configured interval, then gives up with EHOSTUNREACH', async () => {
  const { a, sim } = makePair({}, { arpRetryMs: 500, arpMaxRequests: 4 });
  const started = sim.now;
  const err = await sim.until(a.ping('10.0.0.77', { timeoutMs: 10000 }).then(() => null, (e: unknown) => e));
  assert.equal((err as { code: string }).code, 'EHOSTUNREACH');
  assert.equal(a.stats.arp.requestsOut, 4);
  assert.equal(a.stats.arp.resolveFailed, 1);
  assert.equal(sim.now - started, 2000);
  assert.equal(a.arp.entries().length, 0);
  assert.equal(a.arp.pendingCount, 0);
});

test('entries age out after arpReachableMs and are resolved again', async () => {
  const { a, sim } = makePair({}, { arpReachableMs: 5000 });
  await sim.until(a.ping('10.0.0.2'));
  assert.equal(a.arp.entries().length, 1);
  sim.advance(5001);
  assert.equal(a.arp.entries().length, 0);
  await sim.until(a.ping('10.0.0.2'));
  assert.equal(a.stats.arp.requestsOut, 2);
});

test('the queue of frames awaiting resolution is bounded and drops the oldest', () => {
  const { a, b, sim } = makePair({ delayMs: 10 }, { arpPendingFrames: 4 });
  const rx = b.sockets.socket('udp');
  assert.equal(b.sockets.bind(rx, 0, 5000), 0);
  const tx = a.sockets.socket('udp');
  for (let i = 0; i < 10; i++) {
    const m = enc(`m${i}`);
    assert.equal(a.sockets.sendto(tx, m, 0, m.length, '10.0.0.2', 5000), m.length);
  }
  assert.equal(a.arp.pendingCount, 4);
  assert.equal(a.stats.arp.queueDropped, 6);
  sim.advance(100);
  const got: string[] = [];
  const buf = new Uint8Array(64);
  for (;;) {
    const n = b.sockets.recvfrom(rx, buf, 0, 64);
    if (n < 0) break;
    got.push(new TextDecoder().decode(buf.subarray(0, n)));
  }
  assert.deepEqual(got, ['m6', 'm7', 'm8', 'm9']);
});

test('a gratuitous ARP is sent when an address is assigned', () => {
  const { a, b, sim } = makePair();
  sim.advance(1);
  assert.equal(a.stats.arp.gratuitousOut, 1);
  assert.equal(b.stats.arp.gratuitousOut, 1);
  // Neither learned the other from the announcement alone: it is unsolicited.
  assert.equal(a.arp.entries().length, 0);
  assert.equal(a.stats.arp.ignored + b.stats.arp.ignored, 2);
});

test('a full cache replaces the entry closest to expiry, never grows', async () => {
  const { MemoryLink, Stack, Simulation } = await import('../../src/index.js');
  const hub = new Stack({ seed: 3, arpCacheSize: 2, maxInterfaces: 3 });
  const peers = [];
  for (let i = 0; i < 3; i++) {
    const [l1, l2] = MemoryLink.pair({ seed: i });
    hub.addInterface(l1, { address: `10.${i}.0.1/24` });
    const p = new Stack({ seed: 10 + i });
    p.addInterface(l2, { address: `10.${i}.0.2/24` });
    peers.push(p);
  }
  const sim = new Simulation([hub, ...peers]);
  for (let i = 0; i < 3; i++) {
    await sim.until(hub.ping(`10.${i}.0.2`));
    sim.advance(10);
  }
  const entries = hub.arp.entries();
  assert.equal(entries.length, 2);
  assert.deepEqual(entries.map((e) => formatIpv4(e.ip)).sort(), ['10.1.0.2', '10.2.0.2']);
  assert.ok(hub.stats.arp.cacheFull >= 1);
});

test('a flood of next hops that never answer churns among unresolved entries and keeps the resolved neighbour', async () => {
  // As a SYN flood from spoofed on-link sources does: every reply needs resolving an address nobody owns.
  const { a, b, sim } = makePair({}, { arpCacheSize: 4, arpPendingFrames: 8, arpRetryMs: 1000 });
  await sim.until(a.ping('10.0.0.2'));
  const before = a.stats.arp.requestsOut;
  const tx = a.sockets.socket('udp');
  const m = enc('x');
  for (let i = 0; i < 200; i++) {
    assert.equal(a.sockets.sendto(tx, m, 0, m.length, `10.0.0.${100 + (i % 100)}`, 9), m.length);
    sim.advance(1);
    if (i % 20 === 0) {
      // The neighbour that answers stays resolved: no new request for it, and its traffic is not queued.
      await sim.until(a.ping('10.0.0.2', { timeoutMs: 100 }));
    }
  }
  const reachable = a.arp.entries().filter((e) => e.state === 'reachable').map((e) => formatIpv4(e.ip));
  assert.deepEqual(reachable, ['10.0.0.2']);
  assert.ok(a.arp.entries().length <= 4);
  assert.ok(a.stats.arp.cacheFull > 100, `cacheFull ${a.stats.arp.cacheFull}`);
  // Only the flood's addresses were asked for after the first resolution.
  const floodRequests = a.stats.arp.requestsOut - before;
  assert.ok(floodRequests >= 200, `requests ${floodRequests}`);
  assert.equal(b.stats.arp.requestsIn >= 1, true);
  // Frames of evicted entries were dropped and counted, none linger.
  assert.ok(a.stats.arp.queueDropped > 0);
  assert.ok(a.arp.pendingCount <= 8);
});
