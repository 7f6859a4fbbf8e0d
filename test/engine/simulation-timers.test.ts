/** Simulation's virtual timers: order, cancellation, interplay with polls, and until() resolving at the right instant. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/index.js';
import { makePair } from '../helpers/net.js';

test('timers fire in due-time then creation order, at their virtual time, and clearTimeout cancels', () => {
  const sim = new Simulation([]);
  const log: string[] = [];
  sim.timers.setTimeout(() => log.push(`b@${sim.now}`), 20);
  sim.timers.setTimeout(() => log.push(`a@${sim.now}`), 10);
  sim.timers.setTimeout(() => log.push(`c@${sim.now}`), 20);
  const gone = sim.timers.setTimeout(() => log.push('cancelled'), 15);
  sim.timers.setTimeout(() => {
    log.push(`d@${sim.now}`);
    sim.timers.setTimeout(() => log.push(`e@${sim.now}`), 0); // set while firing: same instant
  }, 30);
  sim.timers.clearTimeout(gone);
  sim.timers.clearTimeout({}); // unknown handle: ignored
  sim.advance(29);
  assert.deepEqual(log, ['a@10', 'b@20', 'c@20']);
  assert.equal(sim.timers.now(), 29);
  sim.advance(100);
  assert.deepEqual(log, ['a@10', 'b@20', 'c@20', 'd@30', 'e@30']);
});

test('a timer that sends makes the stacks settle at its instant; until() resolves when the answer arrives', async () => {
  const { a, sim } = makePair();
  // A ping started by a timer at t = 250: ARP and the echo happen at that instant (no cable delay).
  const rtt = await sim.until(new Promise<number>((resolve, reject) => {
    sim.timers.setTimeout(() => { a.ping('10.0.0.2').then(resolve, reject); }, 250);
  }));
  assert.equal(rtt, 0);
  assert.equal(sim.now, 250, 'until() did not move the clock past the instant of the answer');
});

test('until() resolves at the instant of the answer when the request left from a continuation', async () => {
  const { a, sim } = makePair();
  // The ping leaves while until() yields to the event loop, and its answer arrives in the settle that
  // follows; the clock must not jump to the next deadline (ARP aging, ICMP) before the promise settles.
  const rtt = await sim.until(Promise.resolve().then(() => a.ping('10.0.0.2')));
  assert.equal(rtt, 0);
  assert.equal(sim.now, 0);
});
