import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Assembler } from '../../src/storage/assembler.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('STORAGE_SEED', 0xa55e);

function makeAssembler(slots: number, ranges: number): Assembler {
  const a = new Assembler(new Int32Array(slots * ranges), new Int32Array(slots * ranges), new Uint8Array(slots),
    new Int16Array(slots), ranges);
  for (let s = 0; s < slots; s++) a.clear(s);
  return a;
}

/**
 * The naive model of one slot: a bitmap of the bytes present beyond the
 * in-order edge, in offsets from a base sequence number. Its ranges are the
 * maximal runs of set bits. `last` is the offset of the left edge of the
 * last range kept (its run is the one SACK reports first), or -1.
 */
class Model {
  bits: boolean[];
  next = 0;
  lastAt = -1;
  constructor(readonly window: number, readonly max: number) {
    this.bits = new Array<boolean>(window * 4).fill(false); // grows as the edge moves on
  }

  runs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let i = this.next;
    while (i < this.bits.length) {
      if (!this.bits[i]) { i++; continue; }
      const l = i;
      while (i < this.bits.length && this.bits[i]) i++;
      out.push([l, i]);
    }
    return out;
  }

  /** Expected result of add(): index of the run holding `l`, or -1 when not kept. */
  add(l: number, r: number): number {
    const runs = this.runs();
    if (runs.length === this.max && !runs.some(([a, b]) => a <= r && b >= l)) return -1;
    for (let i = l; i < r; i++) this.bits[i] = true;
    this.lastAt = l;
    return this.runs().findIndex(([a, b]) => a <= l && l < b);
  }

  /** The in-order edge moves to `next`: returns the edge extended over the runs it reached. */
  absorb(next: number): number {
    for (const [a, b] of this.runs()) if (a <= next && b > next) next = b;
    for (let i = this.next; i < next && i < this.bits.length; i++) this.bits[i] = false;
    this.next = next;
    if (this.lastAt >= 0 && this.lastAt < next) this.lastAt = -1;
    return next;
  }

  lastIndex(): number {
    return this.lastAt < 0 ? -1 : this.runs().findIndex(([a, b]) => a <= this.lastAt && this.lastAt < b);
  }
}

function check(a: Assembler, s: number, base: number, m: Model, ctx: string): void {
  const runs = m.runs();
  const n = a.count[s];
  const got: Array<[number, number]> = [];
  for (let k = 0; k < n; k++) {
    got.push([(a.left[s * a.ranges + k] - base) | 0, (a.right[s * a.ranges + k] - base) | 0]);
  }
  assert.deepEqual(got, runs, `${ctx}: ranges`);
  assert.equal(a.last[s], m.lastIndex(), `${ctx}: last extended range`);
}

/**
 * Random out-of-order ranges and in-order advances on two slots (so one slot
 * cannot disturb another), with base sequence numbers placed so the ranges
 * cross the 2^32 wrap.
 */
function runAgainstModel(seed: number, ranges: number, window: number, ops: number): Record<string, number> {
  const rng = new TestRng(seed);
  const a = makeAssembler(2, ranges);
  const stats = { kept: 0, refused: 0, merged: 0, absorbed: 0, rounds: 0 };
  for (let round = 0; stats.kept + stats.refused < ops; round++) {
    stats.rounds++;
    // A fresh base per round: near the wrap most of the time.
    const bases = [0, 1].map(() => (rng.chance(0.7) ? (0x100000000 - rng.int(window * 2)) : rng.u32()) | 0);
    const models = [new Model(window, ranges), new Model(window, ranges)];
    for (let s = 0; s < 2; s++) a.clear(s);
    for (let op = 0; op < 200; op++) {
      const s = rng.int(2);
      const m = models[s];
      const base = bases[s];
      const ctx = `seed ${seed} round ${round} op ${op} slot ${s}`;
      if (rng.chance(0.8)) {
        // Out of order: strictly beyond the edge, inside the window.
        const l = m.next + 1 + rng.int(window - 1);
        const r = l + 1 + rng.int(Math.min(window, rng.chance(0.7) ? 40 : window) );
        const before = m.runs().length;
        const want = m.add(l, r);
        const got = a.add(s, (base + l) | 0, (base + r) | 0);
        assert.equal(got, want, `${ctx}: add [${l}, ${r})`);
        if (got < 0) stats.refused++;
        else {
          stats.kept++;
          if (m.runs().length <= before) stats.merged++;
        }
      } else {
        const next = m.next + 1 + rng.int(rng.chance(0.5) ? 40 : window);
        const had = a.count[s];
        const want = m.absorb(next);
        const got = a.absorb(s, (base + next) | 0);
        assert.equal((got - base) | 0, want, `${ctx}: absorb to ${next}`);
        stats.absorbed += had - a.count[s];
      }
      check(a, s, base, m, ctx);
    }
  }
  return stats;
}

test('Assembler matches a bitmap model across the sequence wrap (4 ranges)', (t) => {
  t.diagnostic(`seed ${SEED} (set STORAGE_SEED to replay)`);
  const r = runAgainstModel(SEED, 4, 300, 30_000);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.refused > 500 && r.merged > 1_000 && r.absorbed > 1_000, JSON.stringify(r));
});

test('Assembler matches the model with 1, 2 and 16 ranges', (t) => {
  for (const ranges of [1, 2, 16]) {
    const r = runAgainstModel((SEED + ranges * 7919) >>> 0, ranges, 500, 10_000);
    t.diagnostic(`${ranges} ranges: ${JSON.stringify(r)}`);
    assert.ok(r.kept > 0 && r.absorbed > 0);
  }
});

test('Assembler: a full list keeps a range touching one it has, refuses a new island, and touching ranges merge', () => {
  const a = makeAssembler(1, 2);
  assert.equal(a.add(0, 10, 20), 0);
  assert.equal(a.add(0, 30, 40), 1);
  assert.equal(a.add(0, 50, 60), -1, 'a third island is refused (no reneging on 10-20 or 30-40)');
  assert.equal(a.last[0], 1, 'a refused range leaves the last-extended index alone');
  assert.equal(a.add(0, 20, 30), 0, 'adjacent on both sides: one range');
  assert.equal(a.count[0], 1);
  assert.deepEqual([a.left[0], a.right[0]], [10, 40]);
  assert.equal(a.absorb(0, 5), 5, 'an edge below every range absorbs nothing');
  assert.equal(a.absorb(0, 10), 40, 'reaching a range absorbs it whole');
  assert.equal(a.count[0], 0);
  assert.equal(a.last[0], -1);
});
