/**
 * OutBatch (src/cli/out-batch.ts): lines of frequent events are written
 * together, at most BATCH_MS later or once BATCH_CHARS wait; other lines at
 * once after them, so the order never changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_CHARS, BATCH_MS, OutBatch } from '../../src/cli/out-batch.js';

test('frequent lines are written in one call within BATCH_MS, in order', async () => {
  const writes: string[] = [];
  const b = new OutBatch((s) => writes.push(s));
  b.line('a');
  b.line('b');
  b.line('c');
  assert.deepEqual(writes, [], 'nothing written yet');
  await new Promise((r) => setTimeout(r, BATCH_MS + 30));
  assert.deepEqual(writes, ['a\nb\nc'], 'one write of the three lines');
  b.line('d');
  await new Promise((r) => setTimeout(r, BATCH_MS + 30));
  assert.deepEqual(writes, ['a\nb\nc', 'd']);
});

test('a line written at once goes after the lines waiting, in the same write', () => {
  const writes: string[] = [];
  const b = new OutBatch((s) => writes.push(s));
  b.line('connection 1');
  b.line('close 1');
  b.now('stats');
  assert.deepEqual(writes, ['connection 1\nclose 1\nstats']);
  b.now('ready');
  assert.deepEqual(writes, ['connection 1\nclose 1\nstats', 'ready']);
  b.flush();
  assert.equal(writes.length, 2, 'nothing left to flush');
});

test('BATCH_CHARS waiting are written at once, without waiting for the timer', () => {
  const writes: string[] = [];
  const b = new OutBatch((s) => writes.push(s));
  const line = 'x'.repeat(1000);
  let n = 0;
  while (writes.length === 0) {
    b.line(line);
    n++;
    assert.ok(n <= BATCH_CHARS / 1000 + 1, 'written by size');
  }
  assert.equal(writes[0].split('\n').length, n);
  b.flush();
  assert.equal(writes.length, 1, 'nothing was left over');
});
