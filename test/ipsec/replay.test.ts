/** The anti-replay window against a reference model (a set of seen numbers), and ESN inference (RFC 4303 A2.2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPlan, Arena } from '../../src/storage/arena.js';
import { ReplayWindows, REPLAY_OK, REPLAY_DUPLICATE, REPLAY_TOO_OLD } from '../../src/ipsec/replay.js';
import { TestRng } from '../helpers/frames.js';

function windows(slots: number, maxBits: number): ReplayWindows {
  const plan = new MemoryPlan();
  new ReplayWindows(plan, slots, maxBits);
  const w = new ReplayWindows(new Arena(plan), slots, maxBits);
  return w;
}

const split = (s: bigint): [number, number] => [Number(s >> 32n) | 0, Number(s & 0xffffffffn) | 0];

for (const bits of [64, 100, 1024, 4096]) {
  test(`replay window of ${bits} bits agrees with a reference model over random traffic`, () => {
    const w = windows(3, 4096);
    const slot = 1;
    const base = bits === 1024 ? (1n << 32n) - 3000n : 1n; // one run crosses 2^32
    // A non-zero start is an imported state: everything up to it counts as seen.
    w.reset(slot, bits, ...split(base - 1n));
    const seen = new Set<bigint>();
    let top = base - 1n;
    const rng = new TestRng(bits);
    let ok = 0;
    for (let i = 0; i < 20000; i++) {
      const r = rng.int(100);
      // Mostly forward, some reordering within and beyond the window, some replays, rare big jumps.
      let s = r < 60 ? top + 1n + BigInt(rng.int(3)) : r < 85 ? top - BigInt(rng.int(bits + 40)) : r < 99 ? top - BigInt(rng.int(8)) : top + BigInt(rng.int(5000));
      if (s < 1n) s = 1n;
      const want = s > top ? REPLAY_OK : top - s >= BigInt(bits) ? REPLAY_TOO_OLD : seen.has(s) || s < base ? REPLAY_DUPLICATE : REPLAY_OK;
      const [hi, lo] = split(s);
      assert.equal(w.check(slot, hi, lo), want, `seq ${s} top ${top}`);
      if (want === REPLAY_OK) {
        w.mark(slot, hi, lo);
        seen.add(s);
        if (s > top) top = s;
        ok++;
      }
    }
    assert.ok(ok > 10000);
    assert.equal((BigInt(w.topHi[slot] >>> 0) << 32n) | BigInt(w.topLo[slot] >>> 0), top);
    // The neighbours' windows were never touched.
    assert.equal(w.topLo[0], 0);
    assert.equal(w.topLo[2], 0);
  });
}

test('ESN high bits are inferred from the window position (RFC 4303 A2.2), both cases', () => {
  const w = windows(1, 128);
  // Case A: top low bits well inside the sequence space.
  w.reset(0, 128, 5, 1000);
  assert.equal(w.inferHi(0, 1001), 5);
  assert.equal(w.inferHi(0, 900), 5);
  assert.equal(w.inferHi(0, 10), 6, 'far below the window: the next subspace');
  // Top near the end of the subspace: low numbers after the wrap belong to hi + 1.
  w.reset(0, 128, 5, -3);
  assert.equal(w.inferHi(0, 2), 6);
  assert.equal(w.inferHi(0, -100), 5);
  // Case B: top just after a wrap; numbers just before it belong to hi - 1.
  w.reset(0, 128, 6, 10);
  assert.equal(w.inferHi(0, -20), 5);
  assert.equal(w.inferHi(0, 11), 6);
  assert.equal(w.inferHi(0, 5), 6);
});

test('an imported top counts everything up to it as seen, nothing after it', () => {
  const w = windows(1, 128);
  w.reset(0, 128, 0, 100);
  assert.equal(w.check(0, 0, 100), REPLAY_DUPLICATE);
  assert.equal(w.check(0, 0, 50), REPLAY_DUPLICATE);
  assert.equal(w.check(0, 0, 101), REPLAY_OK);
  w.mark(0, 0, 105);
  assert.equal(w.check(0, 0, 103), REPLAY_OK, 'numbers between the imported top and a later one are still new');
  assert.equal(w.check(0, 0, 100), REPLAY_DUPLICATE);
});
