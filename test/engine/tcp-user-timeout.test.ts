import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, TCP_USER_TIMEOUT } from '../../src/index.js';
import { makePair, enc } from '../helpers/net.js';

function established(userTimeoutMs: number) {
  const p = makePair({ delayMs: 5 });
  const l = p.b.sockets.socket('tcp');
  p.b.sockets.bind(l, 0, 7000);
  p.b.sockets.listen(l, 1);
  const c = p.a.sockets.socket('tcp');
  if (userTimeoutMs > 0) assert.equal(p.a.sockets.setsockopt(c, TCP_USER_TIMEOUT, userTimeoutMs), 0);
  p.a.sockets.connect(c, '10.0.0.2', 7000);
  p.sim.advance(100);
  assert.equal(p.a.sockets.tcpState(c), 'ESTABLISHED');
  return { ...p, c };
}

test('TCP_USER_TIMEOUT aborts with ETIMEDOUT once data stays unacknowledged that long', () => {
  const { a, la, lb, sim, c } = established(5000);
  la.setFaults({ loss: 1 });
  lb.setFaults({ loss: 1 });
  const m = enc('lost in the void');
  assert.equal(a.sockets.send(c, m, 0, m.length), m.length);
  const t0 = sim.now;
  let failedAt = -1;
  for (let i = 0; i < 200 && failedAt < 0; i++) {
    sim.advance(100);
    if (a.sockets.tcpState(c) === 'CLOSED') failedAt = sim.now - t0;
  }
  // The first retransmission comes after one RTO (~1 s initial); the user timeout counts from there.
  assert.ok(failedAt > 5000 && failedAt < 9000, `failed after ${failedAt} ms`);
  const buf = new Uint8Array(8);
  assert.equal(a.sockets.recv(c, buf, 0, 8), -Errno.ETIMEDOUT);
  assert.ok(a.stats.tcp.rtoTimeouts < 15, 'it was the user timeout, not the retry limit');
});

test('without a user timeout the retry limit decides, much later', () => {
  const { a, la, lb, sim, c } = established(0);
  la.setFaults({ loss: 1 });
  lb.setFaults({ loss: 1 });
  const m = enc('x');
  a.sockets.send(c, m, 0, 1);
  sim.advance(9000);
  assert.equal(a.sockets.tcpState(c), 'ESTABLISHED');
});
