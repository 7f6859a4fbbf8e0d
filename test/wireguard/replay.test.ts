import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan, align8 } from '../../src/storage/arena.js';
import { REPLAY_WINDOW_SIZE, ReplayWindows } from '../../src/wireguard/replay.js';
import { Prng } from '../../src/engine/prng.js';
import { seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('WG_SEED', 0x4e91a);
const W = REPLAY_WINDOW_SIZE;
const NO_LIMIT = 2 ** 64;

function make(slots: number): { r: ReplayWindows; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  ReplayWindows.plan(plan, slots);
  const arena = new Arena(plan);
  const r = new ReplayWindows(arena, slots);
  arena.finish();
  return { r, plan };
}

/** The window rule spelled out with a Set: fresh iff below limit, not older than greatest - W, not seen. */
class NaiveWindow {
  seen = new Set<number>();
  greatest = -1;

  accept(counter: number, limit: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0 || counter >= limit) return false;
    if (this.greatest >= 0 && counter < this.greatest - W) return false;
    if (this.seen.has(counter)) return false;
    this.seen.add(counter);
    if (counter > this.greatest) this.greatest = counter;
    if (this.seen.size > 4 * W) {
      for (const c of this.seen) if (c < this.greatest - W) this.seen.delete(c);
    }
    return true;
  }
}

test('ReplayWindows: the Linux parameters (8192-bit ring in 64-bit words) and an exact plan', () => {
  assert.equal(W, 8128);
  const { plan } = make(5);
  assert.equal(plan.parts.replay, align8(5 * 256 * 4) + align8(5 * 8));
  assert.equal(plan.totalBytes, plan.parts.replay);
  assert.equal(make(0).plan.totalBytes, 0);
  assert.throws(() => make(-1), RangeError);
  assert.throws(() => make(1.5), RangeError);
});

/** Linux drivers/net/wireguard/selftest/counter.c, with `limit` in place of REJECT_AFTER_MESSAGES. */
function linuxSequence(limit: number): void {
  const { r } = make(3);
  const slot = 1;
  let n = 0;
  const T = (counter: number, want: boolean): void => {
    n++;
    assert.equal(r.accept(slot, counter, limit), want, `limit ${limit}, step ${n}: counter ${counter}`);
  };
  const LIM = W + 1;
  T(0, true);
  T(1, true);
  T(1, false);
  T(9, true);
  T(8, true);
  T(7, true);
  T(7, false);
  T(LIM, true);
  T(LIM - 1, true);
  T(LIM - 1, false);
  T(LIM - 2, true);
  T(2, true);
  T(2, false);
  T(LIM + 16, true);
  T(3, false);
  T(LIM + 16, false);
  T(LIM * 4, true);
  T(LIM * 4 - (LIM - 1), true);
  T(10, false);
  T(LIM * 4 - LIM, false);
  T(LIM * 4 - (LIM + 1), false);
  T(LIM * 4 - (LIM - 2), true);
  T(LIM * 4 + 1 - LIM, false);
  T(0, false);
  T(limit, false);
  T(limit - 1, true);
  T(limit, false);
  T(limit - 1, false);
  T(limit - 2, true);
  T(limit + 1, false);
  T(limit + 2, false);
  T(limit - 2, false);
  T(limit - 3, true);
  T(0, false);
  assert.equal(r.greatest(slot), limit - 1);
  assert.equal(r.greatest(0), -1, 'other slots untouched');
  assert.equal(r.greatest(2), -1, 'other slots untouched');

  r.reset(slot);
  for (let i = 1; i <= W; i++) T(i, true);
  T(0, true);
  T(0, false);

  r.reset(slot);
  for (let i = 2; i <= W + 1; i++) T(i, true);
  T(1, true);
  T(0, false);

  r.reset(slot);
  for (let i = W + 1; i-- > 0;) T(i, true);

  r.reset(slot);
  for (let i = W + 2; i-- > 1;) T(i, true);
  T(0, false);

  r.reset(slot);
  for (let i = W + 1; i-- > 1;) T(i, true);
  T(W + 1, true);
  T(0, false);

  r.reset(slot);
  for (let i = W + 1; i-- > 1;) T(i, true);
  T(0, true);
  T(W + 1, true);
}

test('ReplayWindows: the Linux counter selftest sequence', () => {
  // Small, just past 2^32, and the largest safe integer as REJECT_AFTER_MESSAGES.
  for (const limit of [40_000, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) linuxSequence(limit);
});

test('ReplayWindows: counters across 2^32 and up to 2^53 - 1', () => {
  const { r } = make(2);
  const B = 2 ** 32;
  for (const c of [B - 2, B - 1, B, B + 1]) assert.ok(r.accept(0, c, NO_LIMIT), `${c}`);
  for (const c of [B - 2, B - 1, B, B + 1]) assert.equal(r.accept(0, c, NO_LIMIT), false, `dup ${c}`);
  assert.equal(r.greatest(0), B + 1);
  assert.ok(r.accept(0, B + 1 - W, NO_LIMIT), 'oldest counter in the window');
  assert.equal(r.accept(0, B - W, NO_LIMIT), false, 'one below the window');
  assert.equal(r.accept(0, B + 1 - W, NO_LIMIT), false);
  // Counters whose low 32 bits repeat ones already seen are distinct counters.
  assert.ok(r.accept(0, 2 * B + 1, NO_LIMIT));
  assert.ok(r.accept(0, 2 * B, NO_LIMIT));
  assert.ok(r.accept(0, 2 * B - 1, NO_LIMIT));

  const M = Number.MAX_SAFE_INTEGER; // 2^53 - 1
  assert.ok(r.accept(1, M - 100, NO_LIMIT));
  assert.ok(r.accept(1, M, NO_LIMIT));
  assert.equal(r.greatest(1), M);
  assert.equal(r.accept(1, M, NO_LIMIT), false);
  assert.equal(r.accept(1, M - 100, NO_LIMIT), false);
  assert.ok(r.accept(1, M - 1, NO_LIMIT));
  assert.ok(r.accept(1, M - W, NO_LIMIT));
  assert.equal(r.accept(1, M - W - 1, NO_LIMIT), false);
  assert.equal(r.accept(1, 2 ** 53, NO_LIMIT), false, 'not exactly representable');
  assert.equal(r.accept(1, 2 ** 60, NO_LIMIT), false);
  assert.equal(r.greatest(1), M);
  assert.equal(r.greatest(0), 2 * B + 1, 'slots independent');
});

test('ReplayWindows: malformed counters and slots', () => {
  const { r } = make(2);
  for (const c of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
    assert.equal(r.accept(0, c, NO_LIMIT), false, `${c}`);
  }
  assert.equal(r.greatest(0), -1);
  assert.equal(r.accept(0, 5, 5), false, 'counter == limit');
  assert.equal(r.accept(0, 5, 0), false, 'limit 0');
  assert.ok(r.accept(0, 4, 5));
  assert.throws(() => r.accept(2, 1, NO_LIMIT), RangeError);
  assert.throws(() => r.accept(-1, 1, NO_LIMIT), RangeError);
  assert.throws(() => r.accept(0.5, 1, NO_LIMIT), RangeError);
  assert.throws(() => r.reset(2), RangeError);
  assert.throws(() => r.greatest(2), RangeError);
});

test('ReplayWindows: reset forgets one slot only', () => {
  const { r } = make(3);
  for (let s = 0; s < 3; s++) for (let c = 0; c < 1000; c++) assert.ok(r.accept(s, c * 3, NO_LIMIT));
  r.reset(1);
  assert.equal(r.greatest(1), -1);
  for (let c = 0; c < 1000; c++) assert.ok(r.accept(1, c * 3, NO_LIMIT), 'fresh again after reset');
  for (let c = 0; c < 1000; c++) {
    assert.equal(r.accept(0, c * 3, NO_LIMIT), false);
    assert.equal(r.accept(2, c * 3, NO_LIMIT), false);
  }
  // A reset slot does not keep stale bits from a distant past window either.
  r.reset(2);
  assert.ok(r.accept(2, 2 ** 40, NO_LIMIT));
  r.reset(2);
  assert.ok(r.accept(2, 2 ** 40, NO_LIMIT));
});

test('ReplayWindows: random sequences against the Set model', () => {
  const rng = new Prng(SEED);
  const slots = 4;
  const { r } = make(slots);
  const starts = [0, 2 ** 32 - 20_000, 2 ** 48 + 12_345, Number.MAX_SAFE_INTEGER - 3_000_000];
  const limits = [NO_LIMIT, 2 ** 32 + 30_000, NO_LIMIT, Number.MAX_SAFE_INTEGER];
  const models = starts.map(() => new NaiveWindow());
  const sent = starts.map(() => [] as number[]);
  const next = starts.slice();
  let accepted = 0;
  let rejected = 0;
  for (let step = 0; step < 400_000; step++) {
    const s = rng.int(slots);
    const m = models[s];
    let c: number;
    const k = rng.int(100);
    if (k < 60) {
      c = next[s]++; // in order
    } else if (k < 75 && sent[s].length > 0) {
      c = sent[s][rng.int(sent[s].length)]; // replay of something already sent
    } else if (k < 95) {
      // Reordered around the window's lower edge.
      c = Math.max(0, (m.greatest < 0 ? starts[s] : m.greatest) - W - 64 + rng.int(W + 200));
    } else if (k < 99) {
      next[s] += 1 + rng.int(k < 97 ? 3 * W : 100 * W); // a gap: losses, or a jump past the ring
      c = next[s]++;
    } else {
      c = rng.int(2) === 0 ? -1 : m.greatest + 0.5;
    }
    if (c > Number.MAX_SAFE_INTEGER) c = Number.MAX_SAFE_INTEGER - rng.int(W * 2);
    const want = m.accept(c, limits[s]);
    const got = r.accept(s, c, limits[s]);
    if (got !== want) assert.fail(`step ${step} slot ${s}: accept(${c}) = ${got}, model ${want} (greatest ${m.greatest}, seed ${SEED})`);
    if (got) accepted++;
    else rejected++;
    if (Number.isSafeInteger(c) && c >= 0) {
      if (sent[s].length < 512) sent[s].push(c);
      else sent[s][rng.int(512)] = c;
    }
    if (rng.int(200_000) === 0) {
      r.reset(s);
      models[s] = new NaiveWindow();
      sent[s] = [];
    }
    assert.equal(r.greatest(s), models[s].greatest);
  }
  assert.ok(accepted > 100_000 && rejected > 50_000, `mix: ${accepted} accepted, ${rejected} rejected`);
  // The limit on slot 1 was reached: its counters ran past 2^32 + 30000.
  assert.ok(models[1].greatest < limits[1]);
  assert.equal(r.accept(1, limits[1], NO_LIMIT), true, 'the limit is the caller\'s, per call');
});
