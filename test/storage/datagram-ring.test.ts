import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan } from '../../src/storage/arena.js';
import { DatagramRing, DGRAM_RECORD_HEADER } from '../../src/storage/datagram-ring.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('STORAGE_SEED', 0xd6a7);
const H = DGRAM_RECORD_HEADER;

function makeRing(capacity: number, maxRecords: number): DatagramRing {
  const plan = new MemoryPlan();
  DatagramRing.plan(plan, 'ring', capacity);
  const arena = new Arena(plan);
  const ring = new DatagramRing(arena, 'ring', capacity, maxRecords);
  arena.finish();
  return ring;
}

interface Rec {
  bytes: Uint8Array;
  address: number;
  port: number;
  /** Where the model placed the record (header start) and its size with header. */
  start: number;
  size: number;
}

/**
 * The naive model: a JS array of records, plus the placement rule the ring
 * documents: records are contiguous and never straddle the end (one that
 * would goes to offset 0), and the skipped tail counts as used until the
 * reader passes it (i.e. pops the record placed at 0). A push is accepted
 * exactly when the record count allows it and the placed record overlaps
 * neither a live record nor a skipped tail still in use.
 */
class Model {
  recs: Rec[] = [];
  /** Skipped tail [start, capacity) not yet passed by the reader, or -1. */
  wasteStart = -1;
  constructor(readonly capacity: number, readonly maxRecords: number) {}

  get totalBytes(): number {
    let n = 0;
    for (const r of this.recs) n += r.size;
    return n;
  }

  /** Offset where the next record would go, or -1 when it does not fit. */
  place(len: number): number {
    const size = H + len;
    if (this.recs.length >= this.maxRecords || size > this.capacity) return -1;
    if (this.recs.length === 0) return 0;
    const last = this.recs[this.recs.length - 1];
    let at = last.start + last.size;
    if (at === this.capacity) at = 0;
    if (at + size > this.capacity) at = 0;
    for (const r of this.recs) {
      if (at < r.start + r.size && r.start < at + size) return -1;
    }
    if (this.wasteStart >= 0 && at + size > this.wasteStart) return -1;
    return at;
  }

  push(rec: Rec): void {
    const last = this.recs[this.recs.length - 1];
    if (last !== undefined && rec.start === 0 && last.start + last.size < this.capacity) {
      this.wasteStart = last.start + last.size;
    }
    this.recs.push(rec);
  }

  shift(): Rec | undefined {
    const r = this.recs.shift();
    if (r !== undefined && r.start === 0) this.wasteStart = -1;
    if (this.recs.length === 0) this.wasteStart = -1;
    return r;
  }
}

function fill(rng: TestRng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  // A cheap varying pattern keyed by a random start; full randomness per byte is not needed.
  let x = rng.u32();
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface RunOptions {
  capacity: number;
  maxRecords: number;
  ops: number;
  seed: number;
  /** Largest payload tried; defaults to the capacity. */
  maxLen?: number;
}

/** Random pushes and pops against the model; returns stats of what happened. */
function runAgainstModel(o: RunOptions): { pushes: number; rejects: number; pops: number; wraps: number } {
  const rng = new TestRng(o.seed);
  const ring = makeRing(o.capacity, o.maxRecords);
  const model = new Model(o.capacity, o.maxRecords);
  const dst = new Uint8Array(o.capacity + 16);
  const maxLen = o.maxLen ?? o.capacity;
  let pushes = 0;
  let rejects = 0;
  let pops = 0;
  let wraps = 0;
  // Phases bias towards filling or draining so the ring spends time both nearly full and nearly empty.
  let pushBias = 0.6;
  for (let op = 0; op < o.ops; op++) {
    if (op % 1000 === 0) pushBias = rng.pick([0.3, 0.5, 0.6, 0.8]);
    const ctx = `seed ${o.seed} cap ${o.capacity} op ${op}`;
    if (rng.chance(pushBias)) {
      const r = rng.int(100);
      const len = r < 50 ? rng.int(33) : r < 90 ? rng.int(Math.min(maxLen, 600) + 1) : rng.int(maxLen + 1);
      const payload = fill(rng, len);
      const srcOff = rng.int(8);
      const src = new Uint8Array(srcOff + len + 3);
      src.set(payload, srcOff);
      const address = rng.u32();
      const port = rng.int(65536);
      const at = model.place(len);
      const ok = ring.push(src, srcOff, len, address, port);
      assert.equal(ok, at >= 0, `${ctx}: push(${len}) returned ${ok}, model ${at >= 0 ? `fits at ${at}` : 'does not fit'} `
        + `(count ${model.recs.length}, bytes ${model.totalBytes})`);
      if (ok) {
        const last = model.recs[model.recs.length - 1];
        if (last !== undefined && at < last.start) wraps++;
        model.push({ bytes: payload, address, port, start: at, size: H + len });
        pushes++;
      } else {
        rejects++;
      }
    } else {
      const expect = model.shift();
      const peek = ring.peekLength();
      const max = rng.chance(0.2) ? rng.int((expect?.bytes.length ?? 10) + 1) : dst.length - 16;
      const off = rng.int(8);
      const span = Math.min(dst.length, off + (expect?.bytes.length ?? 0) + 16);
      dst.fill(0xa5, 0, span);
      const discard = rng.chance(0.05);
      const n = ring.pop(discard ? null : dst, off, max);
      if (expect === undefined) {
        assert.equal(peek, -1, `${ctx}: peek on empty`);
        assert.equal(n, -1, `${ctx}: pop on empty`);
        continue;
      }
      pops++;
      const len = expect.bytes.length;
      assert.equal(peek, len, `${ctx}: peekLength`);
      assert.equal(n, len, `${ctx}: pop returns the full length`);
      assert.equal(ring.lastAddress, expect.address | 0, `${ctx}: address`);
      assert.equal(ring.lastPort, expect.port, `${ctx}: port`);
      // Exactly min(len, max) bytes land at dst[off..] (none for a null destination); nothing else is touched.
      const copied = discard ? 0 : Math.min(len, max);
      for (let i = 0; i < copied; i++) {
        if (dst[off + i] !== expect.bytes[i]) assert.fail(`${ctx}: byte ${i} of ${len}: got ${dst[off + i]}, want ${expect.bytes[i]}`);
      }
      for (let i = 0; i < off; i++) if (dst[i] !== 0xa5) assert.fail(`${ctx}: wrote before off`);
      for (let i = off + copied; i < span; i++) if (dst[i] !== 0xa5) assert.fail(`${ctx}: wrote past min(len, max) at ${i}`);
    }
    assert.equal(ring.count, model.recs.length, `seed ${o.seed} op ${op}: count`);
    assert.ok(ring.freeBytes >= 0 && ring.freeBytes <= o.capacity - H, `freeBytes ${ring.freeBytes}`);
  }
  // Drain and check everything left.
  while (model.recs.length > 0) {
    const e = model.shift() as Rec;
    const n = ring.pop(dst, 0, dst.length);
    assert.equal(n, e.bytes.length);
    for (let i = 0; i < n; i++) assert.equal(dst[i], e.bytes[i]);
    assert.equal(ring.lastAddress, e.address | 0);
    assert.equal(ring.lastPort, e.port);
  }
  assert.equal(ring.count, 0);
  assert.equal(ring.pop(dst, 0, 10), -1);
  // After draining, the largest possible datagram fits again.
  assert.equal(ring.freeBytes, o.capacity - H);
  if (o.capacity - H <= 0xffff) {
    const big = fill(rng, o.capacity - H);
    assert.equal(ring.push(big, 0, big.length, 0xfffffffe, 65535), true, 'capacity-8 fits after draining');
    assert.equal(ring.push(big, 0, 0, 1, 1), false, 'and then the ring is full');
    const out = new Uint8Array(big.length);
    assert.equal(ring.pop(out, 0, out.length), big.length);
    assert.deepEqual(out, big);
    assert.equal(ring.lastAddress, 0xfffffffe | 0);
    assert.equal(ring.lastPort, 65535);
  }
  return { pushes, rejects, pops, wraps };
}

test('DatagramRing matches the model over 200,000 random operations', (t) => {
  t.diagnostic(`seed ${SEED} (set STORAGE_SEED to replay)`);
  const r = runAgainstModel({ capacity: 4096, maxRecords: 64, ops: 200_000, seed: SEED });
  t.diagnostic(`pushes ${r.pushes}, rejects ${r.rejects}, pops ${r.pops}, wraps ${r.wraps}`);
  // The run must actually have exercised the interesting paths.
  assert.ok(r.pushes > 20_000 && r.rejects > 1_000 && r.wraps > 1_000, JSON.stringify(r));
});

test('DatagramRing matches the model: odd capacities, record limits, tiny rings', (t) => {
  const configs: Array<[number, number]> = [[1001, 1000], [64, 100], [9, 3], [8, 5], [32768, 64], [250, 7], [2000, 2]];
  for (const [capacity, maxRecords] of configs) {
    const seed = (SEED + capacity * 31 + maxRecords) >>> 0;
    const r = runAgainstModel({ capacity, maxRecords, ops: 20_000, seed });
    t.diagnostic(`cap ${capacity} max ${maxRecords}: ${JSON.stringify(r)}`);
    assert.ok(r.pushes > 0 && r.pops > 0);
  }
});

test('DatagramRing: truncating pop copies only max bytes but returns the full length and consumes the record', () => {
  const ring = makeRing(256, 16);
  const a = Uint8Array.from({ length: 50 }, (_, i) => i + 1);
  assert.equal(ring.push(a, 0, 50, 0x0a000002, 5353), true);
  assert.equal(ring.push(a, 10, 3, 0x0a000003, 53), true);
  const dst = new Uint8Array(20).fill(0xee);
  assert.equal(ring.pop(dst, 2, 10), 50);
  assert.deepEqual([...dst], [0xee, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
  assert.equal(ring.lastAddress, 0x0a000002);
  assert.equal(ring.lastPort, 5353);
  assert.equal(ring.count, 1);
  // max 0 copies nothing; null dst discards.
  dst.fill(0);
  assert.equal(ring.pop(dst, 0, 0), 3);
  assert.ok(dst.every((x) => x === 0));
  assert.equal(ring.lastAddress, 0x0a000003);
  assert.equal(ring.lastPort, 53);
  assert.equal(ring.pop(null, 0, 100), -1);
  // Zero-length datagrams are real datagrams.
  assert.equal(ring.push(a, 0, 0, 7, 8), true);
  assert.equal(ring.peekLength(), 0);
  assert.equal(ring.pop(null, 0, 100), 0);
  assert.equal(ring.peekLength(), -1);
});

test('DatagramRing: maxRecords limits the count regardless of free bytes', () => {
  const ring = makeRing(4096, 3);
  const b = new Uint8Array(1);
  for (let i = 0; i < 3; i++) assert.equal(ring.push(b, 0, 1, i, i), true);
  assert.equal(ring.push(b, 0, 0, 9, 9), false);
  assert.equal(ring.count, 3);
  ring.pop(null, 0, 0);
  assert.equal(ring.push(b, 0, 0, 9, 9), true);
  ring.clear();
  assert.equal(ring.count, 0);
  assert.equal(ring.peekLength(), -1);
  assert.equal(ring.freeBytes, 4096 - H);
});

test('DatagramRing: oversize datagrams are rejected without side effects', () => {
  const ring = makeRing(100, 10);
  const b = new Uint8Array(200).fill(1);
  assert.equal(ring.push(b, 0, 93, 1, 1), false);
  assert.equal(ring.push(b, 0, 92, 1, 1), true);
  assert.equal(ring.push(b, 0, 0, 1, 1), false);
  assert.equal(ring.pop(null, 0, 0), 92);
  assert.equal(ring.count, 0);
});

test('DatagramRing: wrap-around waste is bounded (sizes <= C/4 never fail while the model holds <= C/2)', (t) => {
  const rng = new TestRng(SEED ^ 0x5a5a);
  let pushes = 0;
  let wraps = 0;
  for (const C of [64, 256, 1000, 4096, 32768]) {
    const ring = makeRing(C, 1 << 16);
    const queue: Array<{ len: number; tag: number; start: number }> = [];
    let total = 0;
    let lastEnd = 0;
    const out = new Uint8Array(C);
    for (let op = 0; op < 40_000; op++) {
      const len = rng.int(Math.floor(C / 4) + 1);
      if (total + H + len <= C / 2 && rng.chance(0.55)) {
        const payload = new Uint8Array(len).fill(op & 0xff);
        assert.equal(ring.push(payload, 0, len, op, op & 0xffff), true,
          `C ${C} op ${op}: push(${len}) failed with ${queue.length} records, ${total} model bytes`);
        // Track the writer position the same way the ring documents, to count wraps.
        let at = lastEnd === C ? 0 : lastEnd;
        if (queue.length === 0) at = 0;
        if (at + H + len > C) {
          at = 0;
          wraps++;
        }
        lastEnd = at + H + len;
        queue.push({ len, tag: op, start: at });
        total += H + len;
        pushes++;
      } else if (queue.length > 0) {
        const e = queue.shift() as { len: number; tag: number };
        assert.equal(ring.pop(out, 0, C), e.len);
        assert.equal(ring.lastAddress, e.tag);
        for (let i = 0; i < e.len; i++) if (out[i] !== (e.tag & 0xff)) assert.fail(`C ${C}: corrupted byte ${i}`);
        total -= H + e.len;
      }
    }
  }
  t.diagnostic(`pushes ${pushes}, wraps ${wraps}`);
  assert.ok(wraps > 1000, `wrap-around exercised (${wraps})`);
});

test('DatagramRing: a datagram longer than 65535 bytes in a large ring is rejected or kept intact',
  () => {
    const C = 70_000;
    const ring = makeRing(C, 4);
    const big = new Uint8Array(66_000);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    const ok = ring.push(big, 0, big.length, 1, 2);
    if (ok) {
      const out = new Uint8Array(big.length);
      assert.equal(ring.peekLength(), big.length, 'peekLength of the accepted datagram');
      assert.equal(ring.pop(out, 0, out.length), big.length, 'pop returns the accepted length');
      assert.deepEqual(out, big);
    }
    // Either way, the ring stays usable afterwards.
    ring.clear();
    assert.equal(ring.push(big, 0, 100, 3, 4), true);
    assert.equal(ring.pop(null, 0, 0), 100);
  });
