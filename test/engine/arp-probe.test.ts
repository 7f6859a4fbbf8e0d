import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from '../helpers/net.js';

test('an RFC 5227 probe finds an address in use and not a free one', async () => {
  const { a, b, sim } = makePair({ delayMs: 2 });
  const inUse = await sim.until(a.probeAddress(0, '10.0.0.2'));
  assert.equal(inUse, true, '10.0.0.2 belongs to b, which answers the probe');
  assert.ok(b.stats.arp.repliesOut >= 1);
  const t0 = sim.now;
  const free = await sim.until(a.probeAddress(0, '10.0.0.77'));
  assert.equal(free, false);
  assert.equal(sim.now - t0, 400, 'two probes 100 ms apart, then 300 ms of listening');
  // Probes carry sender 0.0.0.0: b must not have learned a bogus neighbour from them.
  assert.ok(b.arp.entries().every((e) => e.ip !== 0));
});

test('only one probe at a time: a second one is refused with EALREADY', async () => {
  const { a, sim } = makePair();
  const first = a.probeAddress(0, '10.0.0.50');
  await assert.rejects(a.probeAddress(0, '10.0.0.51'), { code: 'EALREADY' });
  assert.equal(await sim.until(first), false);
});
