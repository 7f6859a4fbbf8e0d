import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum, finish, pseudoHeaderSum, sum16 } from '../../src/wire/checksum.js';
import { TestRng, pseudoHeader, refChecksum, refSum, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('WIRE_SEED', 0xc0ffee);

/** Fold an unfolded sum to 16 bits without inverting (for comparing partial sums). */
function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

test('checksum of known vectors', () => {
  // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const ex = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(fold(sum16(ex, 0, ex.length, 0)), 0xddf2);
  assert.equal(checksum(ex, 0, ex.length), (~0xddf2) & 0xffff);
  // A classic IPv4 header (checksum field zeroed) whose checksum is b861.
  const hdr = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
  assert.equal(checksum(hdr, 0, 20), 0xb861);
  hdr[10] = 0xb8;
  hdr[11] = 0x61;
  assert.equal(checksum(hdr, 0, 20), 0);
  // Empty range and all-zero data.
  assert.equal(checksum(new Uint8Array(0), 0, 0), 0xffff);
  assert.equal(checksum(new Uint8Array(7), 0, 7), 0xffff);
  // A single odd byte is the high byte of a zero-padded word.
  assert.equal(checksum(Uint8Array.from([0x12]), 0, 1), (~0x1200) & 0xffff);
});

test('checksum matches the reference on random data, lengths 0..2000 and offsets', (t) => {
  t.diagnostic(`seed ${SEED} (set WIRE_SEED to replay)`);
  const rng = new TestRng(SEED);
  const buf = new Uint8Array(2100);
  for (let iter = 0; iter < 3000; iter++) {
    // Bias towards extreme byte values now and then: all-0xff data stresses carries.
    const mode = rng.int(4);
    for (let i = 0; i < buf.length; i++) buf[i] = mode === 0 ? 0xff : mode === 1 ? (rng.u32() & 1 ? 0xff : 0) : rng.u32() & 0xff;
    const len = iter < 50 ? iter : rng.int(2001);
    const off = rng.int(buf.length - len + 1);
    const got = checksum(buf, off, len);
    const want = refChecksum(buf, off, len);
    assert.equal(got, want, `len ${len} off ${off} mode ${mode}`);
    assert.equal(fold(sum16(buf, off, len, 0)), refSum(buf, off, len), `sum16 len ${len} off ${off}`);
    // Bytes outside the range must not matter.
    const before = off > 0 ? buf[off - 1] : -1;
    if (off > 0) buf[off - 1] ^= 0x5a;
    if (off + len < buf.length) buf[off + len] ^= 0xa5;
    assert.equal(checksum(buf, off, len), want, `neighbours leaked in, len ${len} off ${off}`);
    if (off > 0) buf[off - 1] = before;
  }
});

test('checksum over large inputs (fold of the 32-bit accumulator)', () => {
  for (const len of [65535, 65536, 70001, 131072, 300001]) {
    const ff = new Uint8Array(len).fill(0xff);
    assert.equal(checksum(ff, 0, len), refChecksum(ff, 0, len), `0xff x ${len}`);
    const mixed = new Uint8Array(len);
    for (let i = 0; i < len; i++) mixed[i] = (i * 131 + 7) & 0xff;
    assert.equal(checksum(mixed, 0, len), refChecksum(mixed, 0, len), `pattern x ${len}`);
  }
});

test('a range containing its own checksum verifies to 0', () => {
  const rng = new TestRng(SEED ^ 1);
  for (let iter = 0; iter < 500; iter++) {
    const len = 2 + 2 * rng.int(700);
    const b = rng.bytes(len);
    const at = 2 * rng.int(len / 2);
    b[at] = 0;
    b[at + 1] = 0;
    const c = checksum(b, 0, len);
    b[at] = c >>> 8;
    b[at + 1] = c & 0xff;
    assert.equal(checksum(b, 0, len), 0);
    // Any single-bit error is detected.
    const bit = rng.int(len * 8);
    b[bit >>> 3] ^= 1 << (bit & 7);
    assert.notEqual(checksum(b, 0, len), 0, `bit ${bit} flip undetected`);
  }
});

test('sum16 chains through `initial` at even split points', () => {
  const rng = new TestRng(SEED ^ 2);
  for (let iter = 0; iter < 1000; iter++) {
    const len = rng.int(2001);
    const b = rng.bytes(len + 16);
    const off = rng.int(16);
    const split = 2 * rng.int(Math.floor(len / 2) + 1);
    const a = sum16(b, off, split, 0);
    const whole = finish(sum16(b, off + split, len - split, a));
    assert.equal(whole, checksum(b, off, len), `len ${len} split ${split}`);
    assert.equal(whole, refChecksum(b, off, len));
    // Three-way chaining, starting from an arbitrary initial value.
    const init = rng.u32() & 0xfffff;
    const s2 = 2 * rng.int(Math.floor((len - split) / 2) + 1);
    const chained = sum16(b, off + split + s2, len - split - s2, sum16(b, off + split, s2, sum16(b, off, split, init)));
    assert.equal(finish(chained), refChecksum(b, off, len, init));
  }
});

test('pseudoHeaderSum equals the sum of the 12-byte pseudo-header', () => {
  const rng = new TestRng(SEED ^ 3);
  const cases: Array<[number, number, number, number]> = [
    [0, 0, 17, 0], [0xffffffff, 0xffffffff, 255, 0xffff], [0x0a000001, 0x0a000002, 17, 8],
  ];
  for (let i = 0; i < 500; i++) cases.push([rng.u32(), rng.u32(), rng.int(256), rng.int(65536)]);
  for (const [src, dst, proto, len] of cases) {
    const ph = pseudoHeader(src, dst, proto, len);
    assert.equal(fold(pseudoHeaderSum(src, dst, proto, len)), refSum(ph), `${src} ${dst} ${proto} ${len}`);
    // And it chains with a payload exactly like summing pseudo-header bytes then payload bytes.
    const payload = rng.bytes(rng.int(300));
    const joined = new Uint8Array(12 + payload.length);
    joined.set(ph);
    joined.set(payload, 12);
    assert.equal(finish(sum16(payload, 0, payload.length, pseudoHeaderSum(src, dst, proto, len))), refChecksum(joined));
  }
});

test('finish folds repeatedly and inverts', () => {
  assert.equal(finish(0), 0xffff);
  assert.equal(finish(0xffff), 0);
  assert.equal(finish(0x1fffe), 0); // 0xfffe + 1 = 0xffff
  assert.equal(finish(0x10000), 0xfffe); // 0x0000 + 1
  assert.equal(finish(0x3fffffff), (~fold(0x3fffffff)) & 0xffff);
  assert.equal(finish(0xfffffffe), (~fold(0xfffffffe)) & 0xffff);
});

test('sum16 on views at every byte offset of a buffer whose length is not a multiple of 4', () => {
  const rng = new TestRng(SEED ^ 2);
  const backing = new Uint8Array(4099);
  for (let i = 0; i < backing.length; i++) backing[i] = rng.u32() & 0xff;
  for (let shift = 0; shift < 4; shift++) {
    const view = new Uint8Array(backing.buffer, shift, backing.length - shift);
    for (let iter = 0; iter < 300; iter++) {
      const len = rng.int(view.length + 1);
      const off = rng.int(view.length - len + 1);
      assert.equal(fold(sum16(view, off, len, 0)), refSum(view, off, len), `shift ${shift} len ${len} off ${off}`);
    }
    // The last bytes of the buffer, past the last whole 32-bit word.
    const len = 64 + (view.length & 1);
    assert.equal(fold(sum16(view, view.length - len, len, 0)), refSum(view, view.length - len, len), `tail, shift ${shift}`);
  }
});

test('checksum over buffers taken in turn (the word-view memo holds two): each sum is its own buffer\'s', () => {
  const rng = new TestRng(SEED);
  const bufs = [0, 1, 2].map(() => {
    const b = new Uint8Array(256);
    for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
    return b;
  });
  // Two buffers alternating (a received request and its reply), then a third breaking in, in every order.
  const order = [0, 1, 0, 1, 2, 0, 2, 1, 1, 0, 2, 2, 1, 0];
  for (const k of order) {
    assert.equal(checksum(bufs[k], 8, 200), refChecksum(bufs[k], 8, 200), `buffer ${k}`);
    bufs[k][8 + rng.int(200)] ^= 0x5a; // the next sum over it must see the change
  }
});
