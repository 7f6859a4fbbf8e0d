/**
 * native/esp_cbc.c through src/ipsec/crypto-node.ts: AES-CBC and HMAC on
 * reused OpenSSL contexts against node:crypto, byte for byte, for random
 * keys, IVs, offsets and lengths, in place and into another buffer, with
 * and without the ESN tail; a flipped bit anywhere under the MAC fails the
 * check; handles of one kind are refused where another is expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes, randomInt } from 'node:crypto';
import { NodeEspCrypto, nativeCbcHmac } from '../../src/ipsec/crypto-node.js';
import { nativeAesGcm } from '../../src/crypto/aes-gcm.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const native = nativeCbcHmac();

test('the addon has AES-CBC, HMAC and RAND_bytes (node exports OpenSSL 3)', () => {
  assert.ok(native !== null, 'native/esp_cbc.c missing from the addon, or OpenSSL symbols not found');
  assert.equal(new NodeEspCrypto().cbcImpl, 'native');
  assert.equal(new NodeEspCrypto(undefined, 'node').cbcImpl, 'node');
});

test('AES-CBC on the addon equals node:crypto for 128/192/256-bit keys, in place and into another buffer', () => {
  const n = new NodeEspCrypto(undefined, 'native');
  for (const keyLen of [16, 24, 32]) {
    for (const len of [0, 16, 1408, 65536]) {
      const key = rnd(keyLen);
      const iv = randomInt(0, 9);
      const data = iv + 16 + randomInt(0, 9);
      const b = rnd(data + len + randomInt(0, 5));
      const plain = b.slice();
      const c = createCipheriv(`aes-${keyLen * 8}-cbc` as 'aes-128-cbc', key, b.subarray(iv, iv + 16)).setAutoPadding(false);
      const want = Buffer.concat([c.update(b.subarray(data, data + len)), c.final()]);
      const ek = n.importKey(key);
      n.cbcEncrypt('', ek, b, iv, data, len);
      assert.equal(hex(b.subarray(data, data + len)), want.toString('hex'), `encrypt ${keyLen} ${len}`);
      assert.equal(hex(b.subarray(0, data)), hex(plain.subarray(0, data)), 'bytes before the data untouched');
      assert.equal(hex(b.subarray(data + len)), hex(plain.subarray(data + len)), 'bytes after the data untouched');
      // Twice with the same key and IV: the context restarts from the IV, it does not chain on.
      const again = plain.slice();
      n.cbcEncrypt('', ek, again, iv, data, len);
      assert.equal(hex(again), hex(b));
      const dk = n.importKey(key);
      const out = new Uint8Array(len + 3);
      n.cbcDecrypt('', dk, b, iv, data, len, out, 3);
      assert.equal(hex(out.subarray(3)), hex(plain.subarray(data, data + len)), `decrypt ${keyLen} ${len}`);
      n.cbcDecrypt('', dk, b, iv, data, len, b, data);
      assert.equal(hex(b), hex(plain), `decrypt in place ${keyLen} ${len}`);
    }
  }
});

test('HMAC on the addon equals node:crypto for every ESP hash, with and without the ESN tail; a flipped bit fails', () => {
  const n = new NodeEspCrypto(undefined, 'native');
  for (const [hash, size, trunc] of [['sha1', 20, 12], ['sha256', 32, 16], ['sha384', 48, 24], ['sha512', 64, 32]] as const) {
    for (const tailLen of [0, 4]) {
      const key = n.importKey(rnd(size));
      const keyBytes = (key as { secret: { export(): Buffer } }).secret.export();
      for (const len of [0, 1, 100, 1500]) {
        const o = randomInt(0, 9);
        const b = new Uint8Array(o + len + trunc + 4);
        b.set(rnd(o + len), 0);
        const tail = rnd(4);
        const h = createHmac(hash, keyBytes).update(b.subarray(o, o + len));
        if (tailLen > 0) h.update(tail);
        const want = h.digest().subarray(0, trunc);
        n.hmac(hash, key, b, o, len, tail, tailLen, b, o + len, trunc);
        assert.equal(hex(b.subarray(o + len, o + len + trunc)), want.toString('hex'), `${hash} ${len} ${tailLen}`);
        assert.ok(n.hmacVerify(hash, key, b, o, len, tail, tailLen, o + len, trunc));
        for (const at of [o, o + len - 1, o + len, o + len + trunc - 1]) {
          if (at < o) continue;
          b[at] ^= 0x10;
          assert.ok(!n.hmacVerify(hash, key, b, o, len, tail, tailLen, o + len, trunc), `flip at ${at}`);
          b[at] ^= 0x10;
        }
        if (tailLen > 0) {
          tail[3] ^= 1;
          assert.ok(!n.hmacVerify(hash, key, b, o, len, tail, tailLen, o + len, trunc), 'flip in the ESN tail');
        }
      }
    }
  }
});

test('randomFill on the addon fills the range only, with fresh bytes each call', () => {
  const n = new NodeEspCrypto(undefined, 'native');
  const b = new Uint8Array(48);
  n.randomFill(b, 16, 16);
  const first = hex(b.subarray(16, 32));
  n.randomFill(b, 16, 16);
  assert.notEqual(hex(b.subarray(16, 32)), first);
  assert.equal(hex(b.subarray(0, 16)), '00'.repeat(16));
  assert.equal(hex(b.subarray(32)), '00'.repeat(16));
});

test('handles: a CBC, HMAC or AES-GCM handle is refused where another kind is expected; freed handles throw', () => {
  const a = native;
  assert.ok(a !== null);
  const cbc = a.cbcNew(rnd(16), true);
  const mac = a.hmacNew('sha256', rnd(32));
  const b = new Uint8Array(64);
  assert.throws(() => a.cbcRun(mac, b, 0, 16, 16, b, 16), /cbcNew/);
  assert.throws(() => a.hmacRun(cbc, b, 0, 16, b, 0, b, 32, 16), /hmacNew/);
  assert.throws(() => a.cbcRun({}, b, 0, 16, 16, b, 16), /cbcNew/);
  const gcm = nativeAesGcm();
  if (gcm !== null) assert.throws(() => a.cbcRun(gcm.aeadNew(rnd(16), 12), b, 0, 16, 16, b, 16), /cbcNew/);
  assert.throws(() => a.cbcRun(cbc, b, 0, 16, 15, b, 16), /whole 16-byte blocks/);
  assert.throws(() => a.cbcRun(cbc, b, 0, 16, 64, b, 16), /outside/);
  assert.throws(() => a.hmacRun(mac, b, 0, 16, b, 0, b, 60, 16), /outside/);
  assert.throws(() => a.cbcNew(rnd(20), true), /16, 24 or 32/);
  assert.throws(() => a.hmacNew('md5', rnd(16)), /sha1/);
  a.cbcFree(cbc);
  a.hmacFree(mac);
  assert.throws(() => a.cbcRun(cbc, b, 0, 16, 16, b, 16), /freed/);
  assert.throws(() => a.hmacVerify(mac, b, 0, 16, b, 0, 32, 16), /freed/);
});
