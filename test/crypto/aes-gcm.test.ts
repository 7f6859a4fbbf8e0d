/**
 * src/crypto/aes-gcm.ts: the addon's AES-GCM (a reused OpenSSL context per
 * key, native/aead.c) against node:crypto, byte for byte, for random keys,
 * nonces, AAD and offsets at lengths 0, 1, 15, 16, 1400 and 65000; a flipped
 * bit anywhere in what is authenticated fails open() on both; and the fips
 * WireGuard suite's per-key contexts follow a key array's new bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { aesGcmKey, nativeAesGcm, type AesGcmKey } from '../../src/crypto/aes-gcm.js';
import { fipsSuite } from '../../src/wireguard/crypto/index.js';

const LENGTHS = [0, 1, 15, 16, 1400, 65000];
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** One random message: key, nonce, AAD in its own array and a second AAD part in the buffer, data at an offset. */
interface Case {
  what: string;
  key: Uint8Array;
  nonce: Uint8Array;
  aad: Uint8Array;
  aadLen: number;
  b: Uint8Array;
  aad2: number;
  aad2Len: number;
  data: number;
  len: number;
  tag: number;
  tagLen: number;
}

function makeCase(keyLen: number, ivLen: number, len: number, tagLen: number): Case {
  const aadLen = randomInt(0, 21);
  const aad = rnd(aadLen + randomInt(0, 4)); // aadLen may be shorter than the array
  const aad2Len = randomInt(0, 13);
  const aad2 = randomInt(0, 8);
  const data = aad2 + aad2Len + randomInt(0, 8);
  const tag = data + len;
  const b = rnd(tag + tagLen + randomInt(0, 8));
  const what = `key ${keyLen}, iv ${ivLen}, len ${len}, tag ${tagLen}, aad ${aadLen}+${aad2Len} at ${aad2}, data at ${data}`;
  return { what, key: rnd(keyLen), nonce: rnd(ivLen), aad, aadLen, b, aad2, aad2Len, data, len, tag, tagLen };
}

function seal(k: AesGcmKey, c: Case, b: Uint8Array): void {
  k.seal(c.nonce, c.aad, c.aadLen, b, c.aad2, c.aad2Len, c.data, c.len, b, c.data, c.tag, c.tagLen);
}

function open(k: AesGcmKey, c: Case, b: Uint8Array, out: Uint8Array, outO: number, nonce = c.nonce, aad = c.aad): boolean {
  return k.open(nonce, aad, c.aadLen, b, c.aad2, c.aad2Len, c.data, c.len, c.tag, c.tagLen, out, outO);
}

/** The same message through a fresh node:crypto cipher, as an independent reference. */
function reference(c: Case): Uint8Array {
  const e = createCipheriv(`aes-${c.key.length * 8}-gcm` as 'aes-128-gcm', c.key, c.nonce, { authTagLength: 16 });
  e.setAAD(Buffer.concat([c.aad.subarray(0, c.aadLen), c.b.subarray(c.aad2, c.aad2 + c.aad2Len)]));
  const out = c.b.slice();
  out.set(e.update(c.b.subarray(c.data, c.data + c.len)), c.data);
  e.final();
  out.set(e.getAuthTag().subarray(0, c.tagLen), c.tag);
  return out;
}

test('the addon offers AES-GCM (OpenSSL resolved from the node binary)', () => {
  assert.notEqual(nativeAesGcm(), null);
  assert.equal(aesGcmKey(rnd(16), 12).impl, 'native', 'native by default');
  assert.equal(aesGcmKey(rnd(16), 12, 'node').impl, 'node');
});

test('native and node:crypto AES-GCM give identical bytes and open each other, in place and out of place', () => {
  let cases = 0;
  for (const keyLen of [16, 24, 32]) {
    for (const ivLen of [12, 16]) {
      for (const len of LENGTHS) {
        for (const tagLen of len === 1400 ? [8, 12, 16] : [16]) {
          const c = makeCase(keyLen, ivLen, len, tagLen);
          const nat = aesGcmKey(c.key, ivLen, 'native');
          const node = aesGcmKey(c.key, ivLen, 'node');
          const want = reference(c);
          const a = c.b.slice();
          const b = c.b.slice();
          seal(nat, c, a);
          seal(node, c, b);
          assert.equal(hex(a), hex(want), `native seal: ${c.what}`);
          assert.equal(hex(b), hex(want), `node seal: ${c.what}`);
          if (len > 0) assert.notEqual(hex(a.subarray(c.data, c.data + len)), hex(c.b.subarray(c.data, c.data + len)));
          // Out of place: the ciphertext and tag land in another array, the input stays.
          const o = new Uint8Array(c.b.length);
          const src = c.b.slice();
          nat.seal(c.nonce, c.aad, c.aadLen, src, c.aad2, c.aad2Len, c.data, len, o, c.data, c.tag, tagLen);
          assert.equal(hex(src), hex(c.b), `out-of-place seal leaves the input: ${c.what}`);
          assert.equal(hex(o.subarray(c.data, c.tag + tagLen)), hex(want.subarray(c.data, c.tag + tagLen)));
          // Each opens the other's output: into another array at an offset, and in place.
          const out = new Uint8Array(len + 5);
          assert.ok(open(nat, c, b, out, 5), `native opens node's: ${c.what}`);
          assert.equal(hex(out.subarray(5)), hex(c.b.subarray(c.data, c.data + len)));
          out.fill(0);
          assert.ok(open(node, c, a, out, 5), `node opens native's: ${c.what}`);
          assert.equal(hex(out.subarray(5)), hex(c.b.subarray(c.data, c.data + len)));
          assert.ok(open(nat, c, a, a, c.data), `native opens in place: ${c.what}`);
          const opened = c.b.slice(); // plaintext back in place, the tag still there
          opened.set(want.subarray(c.tag, c.tag + tagLen), c.tag);
          assert.equal(hex(a), hex(opened));
          // The same context seals again (next nonce) and still matches.
          c.nonce = rnd(ivLen);
          const a2 = c.b.slice();
          seal(nat, c, a2);
          assert.equal(hex(a2), hex(reference(c)), `second message on one context: ${c.what}`);
          nat.free();
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 3 * 2 * (LENGTHS.length + 2));
});

test('a flipped bit anywhere (nonce, AAD, AAD in the buffer, ciphertext, tag) fails open() on both; no plaintext is left', () => {
  for (const len of LENGTHS) {
    for (const ivLen of [12, 16]) {
      const c = makeCase(len === 65000 ? 32 : 16, ivLen, len, 16);
      const nat = aesGcmKey(c.key, ivLen, 'native');
      const node = aesGcmKey(c.key, ivLen, 'node');
      seal(nat, c, c.b);
      const sealed = c.b;
      // Every authenticated byte of the buffer: AAD part, ciphertext, tag (all bits for short messages, sampled for long).
      const positions: number[] = [];
      const region = (from: number, n: number): void => {
        if (n <= 64) for (let i = 0; i < n; i++) positions.push(from + i);
        else {
          positions.push(from, from + n - 1);
          for (let i = 0; i < 30; i++) positions.push(from + randomInt(0, n));
        }
      };
      region(c.aad2, c.aad2Len);
      region(c.data, len);
      region(c.tag, 16);
      const impls: Array<[string, AesGcmKey]> = [['native', nat], ['node', node]];
      for (const [name, k] of impls) {
        const out = new Uint8Array(len).fill(0xa5);
        assert.ok(open(k, c, sealed.slice(), out, 0), `${name}: the intact message opens (${c.what})`);
        for (const at of positions) {
          const bit = len <= 16 ? [0, 1, 2, 3, 4, 5, 6, 7] : [randomInt(0, 8)];
          for (const bi of bit) {
            const bad = sealed.slice();
            bad[at] ^= 1 << bi;
            const o = new Uint8Array(len).fill(0xa5);
            assert.equal(open(k, c, bad, o, 0), false, `${name}: bit ${bi} of byte ${at} (${c.what})`);
            // node:crypto writes nothing; the native path decrypted already and zeroes what it wrote.
            assert.ok(o.every((x) => x === (name === 'node' ? 0xa5 : 0)), `${name}: no plaintext after a failure`);
          }
        }
        for (let i = 0; i < c.aadLen; i++) {
          const aad = c.aad.slice();
          aad[i] ^= 1 << randomInt(0, 8);
          assert.equal(open(k, c, sealed.slice(), new Uint8Array(len), 0, c.nonce, aad), false, `${name}: AAD byte ${i}`);
        }
        for (let i = 0; i < ivLen; i++) {
          const nonce = c.nonce.slice();
          nonce[i] ^= 1 << randomInt(0, 8);
          assert.equal(open(k, c, sealed.slice(), new Uint8Array(len), 0, nonce), false, `${name}: nonce byte ${i}`);
        }
        // In place, a failure leaves zeros where the ciphertext was (native) or the ciphertext (node).
        const bad = sealed.slice();
        bad[c.tag] ^= 0x80;
        assert.equal(open(k, c, bad, bad, c.data), false);
        const body = bad.subarray(c.data, c.data + len);
        if (name === 'native') assert.ok(body.every((x) => x === 0));
        else assert.equal(hex(body), hex(sealed.subarray(c.data, c.data + len)));
      }
    }
  }
});

test('bad arguments are refused before any crypto', () => {
  const k = aesGcmKey(rnd(16), 12, 'native');
  const b = new Uint8Array(64);
  assert.throws(() => aesGcmKey(rnd(20), 12), RangeError);
  assert.throws(() => k.seal(rnd(16), b, 0, b, 0, 0, 0, 16, b, 0, 16, 16), RangeError, 'nonce of another length');
  assert.throws(() => k.seal(rnd(12), b, 0, b, 0, 0, 40, 16, b, 40, 56, 16), RangeError, 'tag past the end');
  assert.throws(() => k.seal(rnd(12), b, 65, b, 0, 0, 0, 16, b, 0, 16, 16), RangeError, 'aadLen past the array');
  assert.throws(() => k.open(rnd(12), b, 0, b, 0, 0, 60, 16, 0, 16, b, 0), RangeError, 'data past the end');
  assert.throws(() => k.open(rnd(12), b, 0, b, 0, 0, 0, 16, 16, 17, b, 0), RangeError, 'tag longer than 16');
  k.free();
  assert.throws(() => k.seal(rnd(12), b, 0, b, 0, 0, 0, 16, b, 0, 16, 16), /freed/);
});

test('fips suite data path: a key array refilled with new bytes is used with its new bytes; dropKey forgets the context', () => {
  const key = rnd(32);
  const msg = rnd(100);
  const sealWith = (k: Uint8Array, counter: number): string => {
    const b = new Uint8Array(116);
    b.set(msg);
    fipsSuite.sealInto(k, counter, b, 0, 100, b, 0);
    return hex(b);
  };
  // The handshake AEAD (node:crypto) is the reference: same key, nonce layout and empty AAD.
  const ref = (k: Uint8Array, counter: number): string => hex(fipsSuite.seal(k.slice(), counter, msg, new Uint8Array(0)));
  assert.equal(sealWith(key, 1), ref(key, 1));
  assert.equal(sealWith(key, 2), ref(key, 2));
  const old = key.slice();
  key.set(rnd(32)); // a keypair slot reused by the next session
  assert.equal(sealWith(key, 1), ref(key, 1));
  assert.notEqual(sealWith(key, 1), ref(old, 1));
  const b = new Uint8Array(116);
  b.set(msg);
  fipsSuite.sealInto(key, 9, b, 0, 100, b, 0);
  assert.ok(fipsSuite.openInto(key, 9, b, 0, 116, b, 0));
  assert.equal(hex(b.subarray(0, 100)), hex(msg));
  fipsSuite.dropKey?.(key);
  assert.equal(sealWith(key, 3), ref(key, 3), 'usable again after dropKey (a new context)');
});

test('fips suite data path with a keypair handle: same bytes as without; the handle keeps its key and is unusable once freed', () => {
  const key = rnd(32);
  const msg = rnd(100);
  const h = fipsSuite.keyHandle?.(key);
  assert.ok(h !== undefined, 'the fips suite makes key handles');
  const sealed = (withHandle: boolean): Uint8Array => {
    const b = new Uint8Array(116);
    b.set(msg);
    fipsSuite.sealInto(key, 5, b, 0, 100, b, 0, withHandle ? h : null);
    return b;
  };
  const viaHandle = sealed(true);
  assert.equal(hex(viaHandle), hex(sealed(false)));
  const out = new Uint8Array(100);
  assert.ok(fipsSuite.openInto(key, 5, viaHandle, 0, 116, out, 0, h));
  assert.equal(hex(out), hex(msg));
  viaHandle[7] ^= 1;
  assert.ok(!fipsSuite.openInto(key, 5, viaHandle, 0, 116, out, 0, h), 'a flipped bit fails with the handle too');
  // The handle is the key's context, made once: the packet path never reads the key bytes again.
  const old = key.slice();
  key.fill(0);
  const b = new Uint8Array(116);
  b.set(msg);
  fipsSuite.sealInto(key, 5, b, 0, 100, b, 0, h);
  assert.equal(hex(b), hex(fipsSuite.seal(old, 5, msg, new Uint8Array(0))));
  fipsSuite.freeKeyHandle?.(h);
  if (nativeAesGcm() !== null) assert.throws(() => fipsSuite.sealInto(key, 6, b, 0, 100, b, 0, h), /freed/);
});
