import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, enc } from '../helpers/net.js';

test('ping measures the round trip in virtual time', async () => {
  const { a, sim } = makePair({ delayMs: 5 });
  await sim.until(a.ping('10.0.0.2')); // resolves ARP
  const rtt = await sim.until(a.ping('10.0.0.2', { size: 1000 }));
  assert.equal(rtt, 10);
});

test('ping times out with ETIMEDOUT when replies are lost', async () => {
  const { a, b, la, sim } = makePair();
  await sim.until(a.ping('10.0.0.2'));
  la.setFaults({ loss: 1 });
  const t0 = sim.now;
  const err = await sim.until(a.ping('10.0.0.2', { timeoutMs: 750 }).then(() => null, (e: unknown) => e));
  assert.equal((err as { code: string }).code, 'ETIMEDOUT');
  assert.equal(sim.now - t0, 750);
  assert.equal(b.stats.icmp.echoRequestsIn, 1);
});

test('ping rejects sizes beyond the largest datagram and unroutable destinations', async () => {
  const { a } = makePair({}, { ipMaxDatagramBytes: 1500 });
  await assert.rejects(a.ping('10.0.0.2', { size: 1473 }), { code: 'EMSGSIZE' });
  await assert.rejects(a.ping('10.0.0.2', { size: 65508 }), { code: 'EINVAL' });
  await assert.rejects(a.ping('192.168.7.1'), { code: 'ENETUNREACH' });
  await assert.rejects(a.ping('not-an-ip'), { code: 'EINVAL' });
});

test('ping takes a numeric address as the socket API does: 32 bits in either form, nothing wrapped', async () => {
  const { a, sim } = makePair();
  assert.equal(typeof await sim.until(a.ping(0x0a000002)), 'number', '10.0.0.2 as a number');
  // Past 32 bits `>>> 0` would have wrapped these onto 10.0.0.2; like toAddr (socket/addr.ts), ping refuses them.
  await assert.rejects(a.ping(0x0a000002 + 2 ** 32), { code: 'EINVAL' });
  await assert.rejects(a.ping(0x0a000002 - 2 ** 32 - 2 ** 32), { code: 'EINVAL' });
  await assert.rejects(a.ping(167772162.5), { code: 'EINVAL' });
  await assert.rejects(a.ping(Number.NaN), { code: 'EINVAL' });
  // The signed int32 form of an address from 128.0.0.0 up is that address (unroutable here, so ENETUNREACH, not EINVAL).
  await assert.rejects(a.ping(0xc0a80701 | 0), { code: 'ENETUNREACH' });
});

test('too many outstanding pings give ENOBUFS, not growth', async () => {
  const { a, sim } = makePair({}, { maxPings: 2 });
  const p1 = a.ping('10.0.0.2');
  const p2 = a.ping('10.0.0.2');
  await assert.rejects(a.ping('10.0.0.2'), { code: 'ENOBUFS' });
  await sim.until(Promise.all([p1, p2]));
});

test('ping to our own address goes through the loopback path', async () => {
  const { a, sim } = makePair();
  const rtt = await sim.until(a.ping('10.0.0.1'));
  assert.equal(rtt, 0);
  assert.equal(a.stats.arp.requestsOut, 0);
});

test('UDP to a closed port gets a port unreachable, rate-limited by a token bucket', () => {
  const { a, b, sim } = makePair({}, {}, { icmpErrorBurst: 5, icmpErrorsPerSecond: 10 });
  const fd = a.sockets.socket('udp');
  const m = enc('x');
  a.sockets.sendto(fd, m, 0, 1, '10.0.0.2', 1); // resolve ARP first
  sim.advance(10);
  for (let i = 0; i < 49; i++) a.sockets.sendto(fd, m, 0, 1, '10.0.0.2', 1);
  sim.advance(10);
  assert.equal(b.stats.udp.noPort, 50);
  assert.equal(b.stats.icmp.errorsOut, 5);
  assert.equal(b.stats.icmp.errorsRateLimited, 45);
  assert.equal(a.stats.icmp.errorsIn, 5);
  sim.advance(1000); // 10 tokens per second, bucket of 5
  for (let i = 0; i < 20; i++) a.sockets.sendto(fd, m, 0, 1, '10.0.0.2', 1);
  sim.advance(10);
  assert.equal(b.stats.icmp.errorsOut, 10);
});

test('a port unreachable reaches the connected socket as ECONNREFUSED, once', () => {
  const { a, sim } = makePair();
  const fd = a.sockets.socket('udp');
  assert.equal(a.sockets.connect(fd, '10.0.0.2', 9), 0);
  let events = 0;
  a.sockets.setCallback(fd, (_fd, ev) => { events |= ev; });
  const m = enc('hello');
  assert.equal(a.sockets.send(fd, m, 0, m.length), 5);
  sim.advance(10);
  assert.ok(events & 8, 'EV_ERROR raised');
  const buf = new Uint8Array(16);
  assert.equal(a.sockets.recv(fd, buf, 0, 16), -111);
  assert.equal(a.sockets.recv(fd, buf, 0, 16), -11);
});

test('broadcast echo requests are ignored (no smurf amplification)', async () => {
  const { a, b, sim } = makePair();
  await sim.until(a.ping('10.0.0.2'));
  await assert.rejects(sim.until(a.ping('10.0.0.255', { timeoutMs: 100 })), { code: 'ETIMEDOUT' });
  assert.equal(b.stats.icmp.broadcastEchoIgnored, 1);
});
