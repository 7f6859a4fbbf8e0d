/**
 * RealtimeDriver: kick polls from a setImmediate after the caller's turn;
 * pollNow polls at once (a link's I/O callback answers within its wake-up),
 * but inside a poll it defers like kick, so polls never nest; neither polls
 * a stopped driver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeDriver } from '../../src/engine/driver.js';

function counting(inner?: (d: RealtimeDriver) => void): { target: { poll(now: number): number }; polls: () => number; driver: RealtimeDriver } {
  let n = 0;
  let depth = 0;
  let driver: RealtimeDriver | null = null;
  const target = {
    poll(): number {
      depth++;
      assert.equal(depth, 1, 'polls never nest');
      n++;
      if (inner !== undefined && driver !== null) inner(driver);
      depth--;
      return Infinity;
    },
  };
  driver = new RealtimeDriver(target, () => performance.now());
  return { target, polls: () => n, driver };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('pollNow polls at once; kick polls after the current turn', async () => {
  const { polls, driver } = counting();
  driver.start(); // start() kicks once
  await tick();
  const base = polls();
  driver.pollNow();
  assert.equal(polls(), base + 1, 'polled synchronously');
  driver.kick();
  assert.equal(polls(), base + 1, 'kick defers');
  await tick();
  assert.equal(polls(), base + 2);
  driver.stop();
  driver.pollNow();
  driver.kick();
  await tick();
  assert.equal(polls(), base + 2, 'a stopped driver does not poll');
});

test('pollNow from inside a poll defers to after it (no nested poll), and runs exactly once more', async () => {
  let calls = 0;
  const { polls, driver } = counting((d) => {
    if (calls++ === 1) d.pollNow();
  });
  driver.start();
  await tick();
  const base = polls();
  driver.pollNow(); // this poll calls pollNow inside
  assert.equal(polls(), base + 1);
  await tick();
  assert.equal(polls(), base + 2, 'the deferred poll ran');
  await tick();
  assert.equal(polls(), base + 2);
  driver.stop();
});

test('an exception from the poll leaves the driver usable (not stuck "inside a poll")', async () => {
  let fail = false;
  const target = {
    n: 0,
    poll(): number {
      this.n++;
      if (fail) throw new Error('boom');
      return Infinity;
    },
  };
  const d = new RealtimeDriver(target, () => performance.now());
  d.start();
  await tick();
  fail = true;
  assert.throws(() => d.pollNow(), /boom/);
  fail = false;
  const before = target.n;
  d.pollNow();
  assert.equal(target.n, before + 1, 'polls synchronously again');
  d.stop();
});
