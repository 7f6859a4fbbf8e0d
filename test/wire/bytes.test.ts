import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBulk, copyBytes } from '../../src/wire/bytes.js';

/** A deterministic byte pattern, different per buffer. */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('copyBytes and copyBulk copy exactly the range, across buffers, within one, and between views of one', () => {
  for (const copy of [copyBytes, copyBulk]) {
    for (const len of [0, 1, 15, 63, 64, 65, 1448, 2047, 2048, 2049, 9000, 70000]) {
      for (const [so, d] of [[0, 0], [1, 3], [7, 2]]) {
        // Across two buffers.
        const src = pattern(len + 16, len + so);
        const dst = pattern(len + 16, 99);
        const want = dst.slice();
        want.set(src.subarray(so, so + len), d);
        copy(src, so, dst, d, len);
        assert.deepEqual(dst, want, `${copy.name} across buffers len ${len} so ${so} d ${d}`);
        // Two views of one buffer (the arena's case): non-overlapping halves.
        const whole = pattern(2 * (len + 16), len);
        const a = whole.subarray(0, len + 16);
        const b = whole.subarray(len + 16);
        const wantWhole = whole.slice();
        wantWhole.copyWithin(len + 16 + d, so, so + len);
        copy(a, so, b, d, len);
        assert.deepEqual(whole, wantWhole, `${copy.name} between views len ${len} so ${so} d ${d}`);
      }
    }
  }
});

test('copyBulk copies a whole source array and leaves the bytes around the target alone', () => {
  const src = pattern(5000, 1);
  const dst = new Uint8Array(6000).fill(0xee);
  copyBulk(src, 0, dst, 500, src.length);
  assert.deepEqual(dst.subarray(500, 5500), src);
  assert.ok(dst.subarray(0, 500).every((x) => x === 0xee));
  assert.ok(dst.subarray(5500).every((x) => x === 0xee));
});
