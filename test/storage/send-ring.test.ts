import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendRing } from '../../src/storage/send-ring.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('STORAGE_SEED', 0x5e4d);

interface Rings {
  ring: SendRing;
  buffers: Uint8Array[];
  pair: Int16Array;
}

/** `slots` slots, each with its own buffer of `bufBytes` (in reverse order, so slot != pair index) and capacity caps[s]. */
function makeRings(bufBytes: number, caps: number[]): Rings {
  const n = caps.length;
  const buffers: Uint8Array[] = [];
  for (let i = 0; i < n; i++) buffers.push(new Uint8Array(bufBytes));
  const pair = new Int16Array(n);
  for (let s = 0; s < n; s++) pair[s] = n - 1 - s;
  const cap = Int32Array.from(caps);
  const ring = new SendRing(buffers, pair, new Int32Array(n), new Int32Array(n), cap);
  return { ring, buffers, pair };
}

/**
 * Random appends, consumes and copies against a naive model (a plain array of
 * bytes per slot): the ring must hold exactly the model's bytes, report the
 * model's free space, and never write outside its capacity or into another
 * slot's buffer.
 */
function runAgainstModel(seed: number, bufBytes: number, caps: number[], ops: number): { appended: number; wraps: number } {
  const rng = new TestRng(seed);
  const { ring, buffers, pair } = makeRings(bufBytes, caps);
  const model: number[][] = caps.map(() => []);
  // Bytes of each buffer past the slot's capacity: must never change.
  for (const b of buffers) b.fill(0xa5);
  let appended = 0;
  let wraps = 0;
  let x = seed | 0;
  for (let op = 0; op < ops; op++) {
    const s = rng.int(caps.length);
    const m = model[s];
    const cap = caps[s];
    const ctx = `seed ${seed} op ${op} slot ${s} cap ${cap}`;
    assert.equal(ring.space(s), cap - m.length, `${ctx}: space`);
    assert.equal(ring.len[s], m.length, `${ctx}: len`);
    const r = rng.int(100);
    if (r < 45) {
      const space = cap - m.length;
      const n = rng.chance(0.1) ? space : rng.int(Math.min(space, rng.chance(0.5) ? 80 : cap) + 1);
      const off = rng.int(8);
      const src = new Uint8Array(off + n + 4).fill(0xee);
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) | 0;
        src[off + i] = x >>> 24;
      }
      const before = ring.head[s] + ring.len[s];
      ring.append(s, src, off, n);
      if (n > 0 && (before % cap) + n > cap) wraps++;
      for (let i = 0; i < n; i++) m.push(src[off + i]);
      appended += n;
    } else if (r < 75) {
      const n = rng.chance(0.1) ? m.length : rng.int(m.length + 1);
      ring.consume(s, n);
      m.splice(0, n);
    } else {
      const offset = rng.int(m.length + 1);
      const n = rng.int(m.length - offset + 1);
      const d = rng.int(16);
      const dst = new Uint8Array(d + n + 16).fill(0x3c);
      ring.copyOut(s, offset, dst, d, n);
      for (let i = 0; i < d; i++) if (dst[i] !== 0x3c) assert.fail(`${ctx}: copyOut wrote before d`);
      for (let i = 0; i < n; i++) {
        if (dst[d + i] !== m[offset + i]) assert.fail(`${ctx}: copyOut(${offset}, ${n}) byte ${i}: ${dst[d + i]} != ${m[offset + i]}`);
      }
      for (let i = d + n; i < dst.length; i++) if (dst[i] !== 0x3c) assert.fail(`${ctx}: copyOut wrote past n`);
    }
    assert.ok(ring.head[s] >= 0 && ring.head[s] < cap, `${ctx}: head ${ring.head[s]} inside the capacity`);
  }
  // Everything left reads back in order, and no buffer was touched past its slot's capacity.
  for (let s = 0; s < caps.length; s++) {
    const out = new Uint8Array(model[s].length);
    ring.copyOut(s, 0, out, 0, out.length);
    assert.deepEqual([...out], model[s], `slot ${s}: contents at the end`);
    const b = buffers[pair[s]];
    for (let i = caps[s]; i < b.length; i++) if (b[i] !== 0xa5) assert.fail(`slot ${s}: byte ${i} past cap ${caps[s]} written`);
  }
  return { appended, wraps };
}

test('SendRing matches a plain-array model over 100,000 random operations on several slots', (t) => {
  t.diagnostic(`seed ${SEED} (set STORAGE_SEED to replay)`);
  const r = runAgainstModel(SEED, 4096, [4096, 1000, 4096, 4095], 100_000);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.appended > 1_000_000 && r.wraps > 1_000, JSON.stringify(r));
});

test('SendRing matches the model: tiny and odd capacities (SO_SNDBUF below the buffer size)', (t) => {
  for (const caps of [[1], [2, 3], [7, 64, 13], [100, 99, 1, 50]]) {
    const seed = (SEED + caps.reduce((a, b) => a * 31 + b, 0)) >>> 0;
    const r = runAgainstModel(seed, 128, caps, 20_000);
    t.diagnostic(`caps ${caps.join(',')}: ${JSON.stringify(r)}`);
    assert.ok(r.appended > 0);
  }
});

test('SendRing: a full ring has no space, and consuming all of it from a wrapped head empties it', () => {
  const { ring } = makeRings(10, [10]);
  const a = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
  ring.append(0, a, 0, 7);
  ring.consume(0, 5);
  assert.equal(ring.head[0], 5);
  ring.append(0, a, 0, 7); // wraps: 3 bytes at 7..9, 4 at 0..3
  assert.equal(ring.space(0), 1);
  const b = Uint8Array.from([9]);
  ring.append(0, b, 0, 1);
  assert.equal(ring.space(0), 0);
  const out = new Uint8Array(10);
  ring.copyOut(0, 0, out, 0, 10);
  assert.deepEqual([...out], [6, 7, 1, 2, 3, 4, 5, 6, 7, 9]);
  ring.consume(0, 10);
  assert.equal(ring.len[0], 0);
  assert.equal(ring.space(0), 10);
  assert.equal(ring.head[0], 5);
});
