/**
 * The addon's receive chunks (native/rx_chunks.c), which the node:net
 * facade's 'data' Buffers come from: a chunk is a Buffer of the asked
 * length; live chunks never share memory; a block goes back to the free
 * list only once V8 has collected the chunk (and every view of it), so a
 * chunk the application keeps is never overwritten; churning many chunks
 * reuses a bounded number of blocks instead of a malloc() each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNativeAddon } from '../../src/link/addon.js';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

const addon = loadNativeAddon();
const rxChunk = addon.rxChunk as (n: number) => Buffer;
const stats = addon.rxChunkStats as () => { outstanding: number; free: number; allocated: number };

/** Collect, then let the finalizers (run from the event loop) put the blocks back. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    fullGc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('rxChunk gives a Buffer of the asked length; bad lengths are refused', () => {
  for (const n of [1, 1500, 65536]) {
    const b = rxChunk(n);
    assert.ok(Buffer.isBuffer(b));
    assert.equal(b.length, n);
    assert.equal(b.buffer.byteLength, n, 'its ArrayBuffer spans only the asked length');
  }
  assert.throws(() => rxChunk(0), RangeError);
  assert.throws(() => rxChunk(65537), RangeError);
});

test('live chunks never overlap, and a kept chunk survives any amount of churn', async () => {
  await collect();
  const live: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    const b = rxChunk(65536);
    b.fill(i);
    live.push(b);
  }
  // A view of a kept chunk, without the chunk itself: its block must stay too.
  const view = rxChunk(4096).fill(0xab).subarray(100, 200);
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 200; i++) rxChunk(65536).fill(0xee); // garbage at once
    await collect();
  }
  for (let i = 0; i < live.length; i++) {
    assert.equal(live[i][0], i);
    assert.equal(live[i][65535], i);
    assert.ok(live[i].every((x) => x === i), `chunk ${i} intact`);
  }
  assert.ok(view.every((x) => x === 0xab), 'a view keeps its block');
});

test('churn reuses blocks: 4,000 chunks of 64 KiB (250 MiB) take a bounded number of mallocs', async () => {
  await collect();
  const before = stats();
  let sum = 0;
  for (let i = 0; i < 4000; i++) {
    const b = rxChunk(65536);
    b[0] = i & 0xff;
    sum += b[0];
    if (i % 100 === 99) await collect();
  }
  await collect();
  const after = stats();
  assert.ok(sum > 0);
  const mallocs = after.allocated - before.allocated;
  assert.ok(mallocs <= 200, `${mallocs} new blocks for 4,000 chunks`);
  assert.ok(after.free > 0 && after.free <= 512, `free list ${after.free} (kept at most 512)`);
  assert.ok(after.outstanding <= before.outstanding + 5, `blocks come back (outstanding ${before.outstanding} -> ${after.outstanding})`);
});
