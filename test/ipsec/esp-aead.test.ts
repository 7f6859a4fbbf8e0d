/**
 * The whole-packet ESP AES-GCM/GMAC path (native/aead.c aeadEspSeal /
 * aeadEspOpen: one call per packet, nonce and AAD read from the packet)
 * against the two paths it replaces: the addon's generic AES-GCM call with
 * nonce and AAD built in JS, and node:crypto. Random keys, sizes, sequence
 * numbers, ESN on and off, every ICV length: byte-identical packets, and
 * every forgery refused with no plaintext left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NodeEspCrypto } from '../../src/ipsec/crypto-node.js';
import { nativeAesGcm } from '../../src/crypto/aes-gcm.js';
import { EspTransform } from '../../src/ipsec/transform.js';
import { resolveAlgorithms } from '../../src/ipsec/algorithms.js';
import type { EspAead } from '../../src/ipsec/crypto.js';
import { tryNativeAddon } from '../../src/link/addon.js';

/** The generic path: the addon's AES-GCM with nonce and AAD built by the transform. */
class GenericNativeCrypto extends NodeEspCrypto {
  override espAead(): EspAead | null {
    return null;
  }
}

const packetPath = new NodeEspCrypto();
const generic = new GenericNativeCrypto('native');
const nodePath = new NodeEspCrypto('node');

const addon = tryNativeAddon();
const hasEsp = !(addon instanceof Error) && typeof addon.aeadEspSeal === 'function';

function transform(name: string, keyHex: string, icvBits: number, esn: boolean, c: NodeEspCrypto): EspTransform {
  const r = resolveAlgorithms({ aead: { name, key: keyHex, icvBits } });
  return new EspTransform(r.suite, c, r.encKey, r.authKey, r.salt, esn);
}

test('the addon has the whole-packet ESP calls and the default ESP crypto uses them', () => {
  assert.ok(hasEsp, 'aeadEspSeal/aeadEspOpen missing: rebuild the addon');
  const r = resolveAlgorithms({ aead: { name: 'rfc4106(gcm(aes))', key: '11'.repeat(20) } });
  assert.notEqual(packetPath.espAead(r.encKey, r.salt), null);
  assert.equal(nodePath.espAead(r.encKey, r.salt), null, 'node:crypto forced: the generic path');
});

for (const name of ['rfc4106(gcm(aes))', 'rfc4543(gcm(aes))']) {
  test(`${name}: whole-packet, generic native and node:crypto seal identical packets and open each other's`, () => {
    let cases = 0;
    for (const keyBytes of [16, 24, 32]) {
      for (const icvBits of name === 'rfc4106(gcm(aes))' ? [64, 96, 128] : [128]) {
        for (const esn of [false, true]) {
          const keyHex = randomBytes(keyBytes + 4).toString('hex');
          const paths = [packetPath, generic, nodePath].map((c) => transform(name, keyHex, icvBits, esn, c));
          for (const payloadLen of [0, 1, 2, 3, 15, 16, 17, 64, 1400, 1438]) {
            const payload = randomBytes(payloadLen);
            const iv = randomBytes(8);
            const spi = randomBytes(4).readInt32BE(0);
            const seqHi = esn ? randomBytes(4).readInt32BE(0) : 0;
            const seqLo = randomBytes(4).readInt32BE(0) | 1;
            const e = 20 + (payloadLen % 7); // the packet at an odd offset inside a larger buffer
            const sealed = paths.map((t) => {
              const b = new Uint8Array(e + t.sealedLen(payloadLen) + 5);
              b.set(iv, e + 8);
              b.set(payload, e + t.headLen);
              const n = t.seal(b, e, payloadLen, 6, spi, seqHi, seqLo);
              assert.equal(n, t.sealedLen(payloadLen));
              return b;
            });
            assert.deepEqual(sealed[0], sealed[1], `${name} ${keyBytes * 8} icv ${icvBits} esn ${esn} len ${payloadLen}: whole-packet = generic`);
            assert.deepEqual(sealed[0], sealed[2], `${name} ${keyBytes * 8} icv ${icvBits} esn ${esn} len ${payloadLen}: whole-packet = node:crypto`);
            const len = paths[0].sealedLen(payloadLen);
            for (const t of paths) {
              const out = new Uint8Array(len + 3);
              const ptLen = t.open(sealed[0], e, len, seqHi, out, 3);
              assert.equal(ptLen, len - 16 - icvBits / 8);
              assert.equal(t.trailer(out, 3, ptLen), payloadLen);
              assert.deepEqual(out.subarray(3, 3 + payloadLen), Uint8Array.from(payload));
              assert.equal(out[3 + ptLen - 1], 6, 'next header');
            }
            // A flipped bit in SPI, sequence, IV, payload or ICV, or a wrong ESN high half, fails the ICV.
            const t = paths[0];
            for (const at of [0, 4, 9, len - 1, 16 + (payloadLen >> 1)]) {
              const bad = sealed[0].slice();
              bad[e + at] ^= 0x04;
              const out = new Uint8Array(len).fill(0xee);
              assert.equal(t.open(bad, e, len, seqHi, out, 0), -2, `tamper at ${at}`);
              if (name === 'rfc4106(gcm(aes))') {
                assert.ok(out.subarray(0, len - 16 - icvBits / 8).every((x) => x === 0), 'no unauthenticated plaintext left');
              } else {
                assert.ok(out.every((x) => x === 0xee), 'GMAC copies nothing before the ICV verified');
              }
            }
            if (esn) assert.equal(t.open(sealed[0], e, len, seqHi ^ 0x100, new Uint8Array(len), 0), -2, 'wrong ESN high bits');
            cases++;
          }
        }
      }
    }
    assert.equal(cases, name === 'rfc4106(gcm(aes))' ? 3 * 3 * 2 * 10 : 3 * 2 * 10);
  });
}

test('aeadEspSeal/aeadEspOpen check their handle, salt and ranges', { skip: !hasEsp ? 'the addon lacks aeadEspSeal' : false }, () => {
  const a = nativeAesGcm();
  if (a === null || addon instanceof Error || addon.aeadEspSeal === undefined || addon.aeadEspOpen === undefined) {
    assert.fail('addon without AES-GCM');
  }
  const key = randomBytes(16);
  assert.throws(() => a.aeadNew(key, 12, new Uint8Array(3)), /salt is 4 bytes/);
  assert.throws(() => a.aeadNew(key, 16, new Uint8Array(4)), /12-byte nonces/);
  const noSalt = a.aeadNew(key, 12);
  const b = new Uint8Array(64);
  assert.throws(() => addon.aeadEspSeal?.(noSalt, b, 0, 16, 16, 0, 0), /without an ESP salt/);
  const h = a.aeadNew(key, 12, new Uint8Array(4));
  assert.equal(addon.aeadEspSeal(h, b, 0, 32, 16, 0, 0), 0, '16 + 32 + 16 = 64 bytes fit');
  assert.throws(() => addon.aeadEspSeal?.(h, b, 1, 32, 16, 0, 0), /outside the buffer/);
  assert.throws(() => addon.aeadEspSeal?.(h, b, 0, 32, 17, 0, 0), /tag length/);
  assert.throws(() => addon.aeadEspOpen?.(h, b, 0, 32, 16, 0, 0, new Uint8Array(31), 0), /output outside/);
  assert.equal(addon.aeadEspOpen(h, b, 0, 32, 16, 0, 0, new Uint8Array(32), 0), 0, 'what it sealed opens');
  a.aeadFree(h);
  assert.throws(() => addon.aeadEspSeal?.(h, b, 0, 32, 16, 0, 0), /freed/);
});
