import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan } from '../../src/storage/arena.js';
import { IndexTable } from '../../src/wireguard/index-table.js';
import { Prng } from '../../src/engine/prng.js';

function table(entries: number): IndexTable {
  const plan = new MemoryPlan();
  IndexTable.plan(plan, entries);
  const arena = new Arena(plan);
  const t = new IndexTable(arena, entries);
  arena.finish();
  return t;
}

test('index table against a Map under long random churn (backward-shift deletion keeps every chain intact)', () => {
  const rng = new Prng(99);
  // Few distinct low bits, so clusters form and deletion has to shift entries.
  const random = (): number => ((rng.nextU32() & ~0x3f) | (rng.nextU32() & 7)) >>> 0;
  const t = table(40);
  const model = new Map<number, number>();
  for (let step = 0; step < 200_000; step++) {
    const r = rng.nextU32() % 10;
    if (r < 4 && model.size < 40) {
      const v = step & 0xffff;
      const k = t.insert(v, random);
      assert.equal(model.has(k), false, 'fresh index');
      model.set(k, v);
    } else if (r < 8 && model.size > 0) {
      const keys = [...model.keys()];
      const k = keys[rng.nextU32() % keys.length];
      t.remove(k);
      model.delete(k);
    } else if (model.size > 0) {
      const keys = [...model.keys()];
      const k = keys[rng.nextU32() % keys.length];
      assert.equal(t.set(k, step), true);
      model.set(k, step);
    }
    if (step % 97 === 0) {
      assert.equal(t.size, model.size);
      for (const [k, v] of model) assert.equal(t.get(k), v);
      assert.equal(t.get(random()) === -1 || model.size > 0, true);
    }
  }
  assert.equal(t.get(0x12345678) === -1 || model.has(0x12345678), true);
  assert.throws(() => { for (let i = 0; i < 100; i++) t.insert(1, random); }, RangeError);
});
