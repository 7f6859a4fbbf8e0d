import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBulk, copyBytes, copyFrame } from '../../src/wire/bytes.js';

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

test('copyBulk: a whole small view (a write()\'s Buffer, a slice of a larger buffer) lands exactly, the bytes around alone', () => {
  for (const len of [1, 8, 100, 1448]) {
    // A view at a non-zero offset of a larger buffer, as Node's pooled Buffers are.
    const backing = pattern(len + 40, len);
    const src = backing.subarray(17, 17 + len);
    const dst = new Uint8Array(len + 64).fill(0xee);
    copyBulk(src, 0, dst, 31, len);
    assert.deepEqual(dst.subarray(31, 31 + len), src, `len ${len}`);
    assert.ok(dst.subarray(0, 31).every((x) => x === 0xee) && dst.subarray(31 + len).every((x) => x === 0xee), `len ${len}: outside touched`);
    // A whole view whose buffer is the target's (the arena's case): the same bytes, by copyWithin.
    const whole = pattern(3 * len, len + 1);
    const a = whole.subarray(0, len);
    const want = whole.slice();
    want.copyWithin(2 * len, 0, len);
    copyBulk(a, 0, whole, 2 * len, len);
    assert.deepEqual(whole, want, `len ${len} within one buffer`);
  }
});

test('copyBytes: large ranges that repeat (the cached exact views) copy the current bytes, at any offset', () => {
  const src = new Uint8Array(1 << 20);
  const dst = new Uint8Array(1 << 20);
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < src.length; i++) src[i] = (i * 7 + round * 13) & 0xff;
    // Same (start, length) every round: the first sighting takes the word loop, later ones a cached view.
    for (const [so, d, len] of [[66, 3, 65000], [1000, 70000, 4096], [5, 200001, 2048], [131072, 0, 65535]]) {
      dst.fill(0);
      copyBytes(src, so, dst, d, len);
      for (let k = 0; k < len; k += 97) assert.equal(dst[d + k], src[so + k], `round ${round} range ${so}+${len} byte ${k}`);
      assert.equal(dst[d + len - 1], src[so + len - 1]);
      assert.equal(dst[d + len], 0, 'nothing past the range');
      if (d > 0) assert.equal(dst[d - 1], 0, 'nothing before the range');
    }
  }
  // A subarray source (byteOffset != 0) copies from its own offsets.
  const sub = src.subarray(10);
  copyBytes(sub, 100, dst, 0, 4096);
  copyBytes(sub, 100, dst, 0, 4096);
  assert.equal(dst[0], src[110]);
  assert.equal(dst[4095], src[110 + 4095]);
});

test('copyFrame: frame-sized ranges that repeat copy the current bytes exactly, at any offset, in every size class', () => {
  const src = new Uint8Array(1 << 16);
  const dst = new Uint8Array(1 << 18);
  // Below the exact-view size, the exact-view sizes, and copyBytes' own (from 2 KiB); odd offsets and lengths.
  const ranges: Array<[number, number, number]> = [[0, 0, 60], [2, 7, 255], [0, 100, 256], [14, 5000, 1514], [3, 9001, 1497], [1, 70000, 2047], [0, 140000, 9000]];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < src.length; i++) src[i] = (i * 11 + round * 29) & 0xff;
    for (const [so, d, len] of ranges) {
      // Twice per round: the second sighting of a range is the one that takes a view.
      for (let k = 0; k < 2; k++) {
        dst.fill(0);
        copyFrame(src, so, dst, d, len);
        for (let j = 0; j < len; j++) if (dst[d + j] !== src[so + j]) assert.fail(`round ${round} range ${so}+${len} byte ${j}`);
        assert.equal(dst[d + len], 0, 'nothing past the range');
        if (d > 0) assert.equal(dst[d - 1], 0, 'nothing before the range');
      }
    }
  }
  // Within one buffer it moves like copyWithin.
  const one = pattern(4096, 3);
  const want = one.slice();
  want.copyWithin(10, 0, 1500);
  copyFrame(one, 0, one, 10, 1500);
  assert.deepEqual(one, want);
});
