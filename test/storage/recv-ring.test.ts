import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecvRing } from '../../src/storage/recv-ring.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('STORAGE_SEED', 0x7ec5);

/**
 * Random out-of-order writes, commits and reads against a naive model: the
 * readable bytes as a plain array, and the bytes written beyond them as a
 * sparse array indexed by offset from the readable end.
 */
function runAgainstModel(seed: number, bufBytes: number, caps: number[], ops: number): { read: number; wraps: number } {
  const rng = new TestRng(seed);
  const n = caps.length;
  const buffers: Uint8Array[] = [];
  for (let i = 0; i < n; i++) buffers.push(new Uint8Array(bufBytes).fill(0xa5));
  const pair = Int16Array.from(caps.map((_, s) => n - 1 - s));
  const ring = new RecvRing(buffers, pair, new Int32Array(n), new Int32Array(n), Int32Array.from(caps));
  const readable: number[][] = caps.map(() => []);
  const ahead: Array<Array<number | undefined>> = caps.map(() => []);
  let read = 0;
  let wraps = 0;
  let x = seed | 0;
  for (let op = 0; op < ops; op++) {
    const s = rng.int(n);
    const cap = caps[s];
    const ctx = `seed ${seed} op ${op} slot ${s}`;
    assert.equal(ring.space(s), cap - readable[s].length, `${ctx}: space`);
    const r = rng.int(100);
    if (r < 45) {
      const space = ring.space(s);
      if (space === 0) continue;
      const offset = rng.chance(0.5) ? 0 : rng.int(space);
      const len = 1 + rng.int(Math.min(space - offset, rng.chance(0.6) ? 50 : cap));
      const so = rng.int(8);
      const src = new Uint8Array(so + len);
      for (let i = 0; i < len; i++) {
        x = (Math.imul(x, 1103515245) + 12345) | 0;
        src[so + i] = x >>> 24;
        ahead[s][offset + i] = src[so + i];
      }
      if ((ring.head[s] + ring.len[s] + offset) % cap + len > cap) wraps++;
      ring.writeAt(s, offset, src, so, len);
    } else if (r < 70) {
      // Commit the contiguous prefix written so far (or part of it), as the in-order edge moves.
      let k = 0;
      while (ahead[s][k] !== undefined) k++;
      k = rng.chance(0.7) ? k : rng.int(k + 1);
      ring.commit(s, k);
      for (const b of ahead[s].splice(0, k)) readable[s].push(b as number);
    } else {
      const max = rng.int(readable[s].length + 20);
      const off = rng.int(8);
      const dst = new Uint8Array(off + max + 8).fill(0x3c);
      const got = ring.read(s, dst, off, max);
      const want = readable[s].splice(0, Math.min(max, readable[s].length));
      assert.equal(got, want.length, `${ctx}: read count`);
      assert.deepEqual([...dst.subarray(off, off + got)], want, `${ctx}: bytes read`);
      assert.ok(dst.subarray(0, off).every((v) => v === 0x3c) && dst.subarray(off + got).every((v) => v === 0x3c),
        `${ctx}: read wrote outside [off, off + count)`);
      read += got;
    }
  }
  for (let s = 0; s < n; s++) {
    const b = buffers[pair[s]];
    for (let i = caps[s]; i < b.length; i++) if (b[i] !== 0xa5) assert.fail(`slot ${s}: byte ${i} past cap ${caps[s]} written`);
  }
  return { read, wraps };
}

test('RecvRing matches a plain-array model: out-of-order writes, commits and reads on several slots', (t) => {
  t.diagnostic(`seed ${SEED} (set STORAGE_SEED to replay)`);
  const r = runAgainstModel(SEED, 2048, [2048, 700, 2047], 60_000);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.read > 100_000 && r.wraps > 500, JSON.stringify(r));
});

test('RecvRing matches the model with tiny capacities', (t) => {
  for (const caps of [[1], [2, 5], [13, 64, 3]]) {
    const r = runAgainstModel((SEED + caps.length * 977 + caps[0]) >>> 0, 64, caps, 10_000);
    t.diagnostic(`caps ${caps.join(',')}: ${JSON.stringify(r)}`);
    assert.ok(r.read > 0);
  }
});
