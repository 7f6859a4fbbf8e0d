import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan, align8, type Carver } from '../../src/storage/arena.js';
import { Stack } from '../../src/stack.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

function sumParts(parts: Record<string, number>): number {
  return Object.values(parts).reduce((a, b) => a + b, 0);
}

test('align8 rounds up to a multiple of 8', () => {
  for (let n = 0; n < 100; n++) {
    const a = align8(n);
    assert.equal(a % 8, 0);
    assert.ok(a >= n && a - n < 8, `${n} -> ${a}`);
  }
});

test('MemoryPlan: parts add up to totalBytes, with per-add 8-byte rounding', () => {
  const p = new MemoryPlan();
  p.add('a', 3).add('a', 5).add('b', 10, 2).add('c', 0).add('d', 1, 8).add('e', 3, 4);
  // 3 -> 8, 5 -> 8, 20 -> 24, 0 -> 0, 8 -> 8, 12 -> 16
  assert.deepEqual(p.parts, { a: 16, b: 24, c: 0, d: 8, e: 16 });
  assert.equal(p.totalBytes, 64);
  const r = p.report();
  assert.equal(r.totalBytes, sumParts(r.parts));
  // The report is a copy: later adds do not change it.
  p.add('a', 1);
  assert.equal(r.parts.a, 16);
  assert.equal(p.parts.a, 24);
});

test('Arena: buffer size equals the plan; carving as planned passes finish(); views are aligned and disjoint', () => {
  const rng = new TestRng(seedFromEnv('STORAGE_SEED', 0xa7e4a));
  for (let iter = 0; iter < 200; iter++) {
    const kinds = ['u8', 'u16', 'i16', 'u32', 'i32', 'f64'] as const;
    const size = { u8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f64: 8 };
    const steps: Array<{ part: string; kind: typeof kinds[number]; n: number }> = [];
    const plan = new MemoryPlan();
    const nSteps = rng.range(1, 12);
    for (let i = 0; i < nSteps; i++) {
      const s = { part: `p${rng.int(4)}`, kind: rng.pick(kinds), n: rng.int(50) };
      steps.push(s);
      plan.add(s.part, s.n, size[s.kind]);
    }
    const arena = new Arena(plan);
    assert.equal(arena.buffer.byteLength, plan.totalBytes);
    assert.equal(plan.totalBytes, sumParts(plan.parts));
    const views: Array<{ start: number; end: number }> = [];
    for (const s of steps) {
      const v = arena[s.kind](s.part, s.n);
      assert.equal(v.length, s.n);
      assert.equal(v.buffer, arena.buffer);
      assert.equal(v.byteOffset % 8, 0, 'carves are 8-byte aligned');
      views.push({ start: v.byteOffset, end: v.byteOffset + v.byteLength });
      // Fresh memory is zeroed.
      for (let i = 0; i < v.length; i++) assert.equal(Number(v[i]), 0);
    }
    views.sort((a, b) => a.start - b.start);
    for (let i = 1; i < views.length; i++) assert.ok(views[i].start >= views[i - 1].end, 'views overlap');
    arena.finish();
  }
});

test('Arena.finish throws when carving disagrees with the plan', () => {
  const plan = (): MemoryPlan => new MemoryPlan().add('a', 16).add('b', 4, 4);
  // Carving less than planned.
  const less = new Arena(plan());
  less.u8('a', 16);
  assert.throws(() => less.finish(), /memory part 'b': planned 16 bytes, carved 0/);
  // Same total, different split between parts.
  const moved = new Arena(plan());
  moved.u8('a', 8);
  moved.u8('b', 24);
  assert.throws(() => moved.finish(), /memory part 'a'/);
  // Carving beyond the buffer throws at once.
  const more = new Arena(plan());
  more.u8('a', 16);
  more.u32('b', 4);
  assert.throws(() => more.u8('c', 1), /memory plan exceeded carving 'c'/);
  // A part that was never planned, within the total: caught by the total or per-part check.
  const stray = new Arena(plan());
  stray.u8('a', 16);
  stray.u8('x', 16);
  assert.throws(() => stray.finish());
  // Rounding differences count: planning 3 x 1 byte is 24 bytes, carving 3 bytes is 8.
  const p2 = new MemoryPlan().add('r', 1).add('r', 1).add('r', 1);
  const rounded = new Arena(p2);
  rounded.u8('r', 3);
  assert.throws(() => rounded.finish(), /planned 24 bytes, carved 8/);
  // And the exact layout passes.
  const exact = new Arena(plan());
  exact.u8('a', 16);
  exact.u32('b', 4);
  exact.finish();
});

test('a MemoryPlan used as a Carver plans exactly what the Arena then carves', () => {
  // The same layout code runs once against the plan (sizes only) and once against the arena.
  const layout = (c: Carver): void => {
    c.u8('a', 5);
    c.u16('a', 3);
    c.i16('b', 1);
    c.u32('b', 7);
    c.i32('c', 2);
    c.f64('c', 3);
    c.u8('d', 0);
  };
  const plan = new MemoryPlan();
  layout(plan);
  assert.equal(plan.totalBytes, 8 + 8 + 8 + 32 + 8 + 24 + 0);
  assert.deepEqual(plan.parts, { a: 16, b: 40, c: 32, d: 0 });
  const arena = new Arena(plan);
  layout(arena);
  arena.finish();
  assert.equal(arena.buffer.byteLength, plan.totalBytes);
});

test('Stack memory report equals its plan and does not change with use', () => {
  const configs = [{}, { maxSockets: 3, udpRecvBufferBytes: 1024 }, { maxMtu: 9000, arpCacheSize: 7, loopbackFrames: 3 }];
  for (const cfg of configs) {
    const s = new Stack({ ...cfg, seed: 1 });
    const planned = Stack.planMemory({ ...cfg, seed: 1 });
    assert.deepEqual(s.memory, planned);
    assert.equal(s.memory.totalBytes, sumParts(s.memory.parts));
    assert.ok(s.memory.totalBytes > 0);
  }
  // Bigger receive buffers cost more memory, all of it reported.
  const a = Stack.planMemory({ udpRecvBufferBytes: 4096 });
  const b = Stack.planMemory({ udpRecvBufferBytes: 8192 });
  assert.ok(b.totalBytes > a.totalBytes, `${b.totalBytes} > ${a.totalBytes}`);
  assert.ok(b.parts.udpRecvBuffers > a.parts.udpRecvBuffers);
});
