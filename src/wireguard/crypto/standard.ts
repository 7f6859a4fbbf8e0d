/**
 * Standard WireGuard: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s. X25519 and the
 * AEADs come from libsodium (sodium-native). libsodium has no BLAKE2s:
 * HASH and HMAC-BLAKE2s come from OpenSSL (node:crypto's 'blake2s256',
 * several times faster than JavaScript, which made the handshake's KDF
 * chain its largest cost), and the keyed BLAKE2s of mac1/mac2, which
 * node:crypto does not expose, from the audited @noble/hashes (which also
 * stands in for HASH/HMAC where OpenSSL was built without BLAKE2s).
 */
import { createHash, createHmac, getHashes } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sodium } from './sodium.js';
import { ViewMemo } from './views.js';
import {
  TAG_LEN, checkLength, checkRange, isAllZero, validCounter, writeCounterLE, type WgSuite,
} from './suite.js';

const KEY_LEN = 32;
const XNONCE_LEN = 24;

/**
 * One nonce buffer for all calls: bytes 0..3 stay zero, 4..11 take the
 * counter. Safe to share because every libsodium call is synchronous.
 */
const nonce = new Uint8Array(12);

/**
 * Views for the data path, one memo per direction and side (plaintext and
 * ciphertext differ by the tag even in place), so interleaved sends and
 * receives do not evict each other.
 */
const sealPlain = new ViewMemo();
const sealCipher = new ViewMemo();
const openPlain = new ViewMemo();
const openCipher = new ViewMemo();

function checkCounter(counter: number): void {
  if (!validCounter(counter)) throw new RangeError(`counter must be an integer in [0, 2^53), got ${counter}`);
}

const OPENSSL_BLAKE2S = getHashes().includes('blake2s256');

function hash(...parts: Uint8Array[]): Uint8Array {
  if (OPENSSL_BLAKE2S) {
    const h = createHash('blake2s256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }
  const h = blake2s.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

function mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (OPENSSL_BLAKE2S) {
    const h = createHmac('blake2s256', key);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }
  const h = hmac.create(blake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function clamp(k: Uint8Array): Uint8Array {
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  sodium.randombytes_buf(b);
  return b;
}

export const standardSuite: WgSuite = {
  name: 'standard',
  publicKeyLen: 32,
  macLen: 16,
  cookieLen: 16,
  cookieNonceLen: XNONCE_LEN,
  construction: 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s',
  identifier: 'WireGuard v1 zx2c4 Jason@zx2c4.com',

  hash,
  hmac: mac,

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    // mac1 is keyed with a 32-byte hash, mac2 with the 16-byte cookie.
    if (key.length !== KEY_LEN && key.length !== 16) throw new RangeError(`mac key must be 16 or 32 bytes, got ${key.length}`);
    return blake2s(data, { key, dkLen: 16 });
  },

  generatePrivateKey(): Uint8Array {
    return clamp(randomBytes(KEY_LEN));
  },

  publicKey(privateKey: Uint8Array): Uint8Array {
    checkLength(privateKey, KEY_LEN, 'X25519 private key');
    const q = new Uint8Array(KEY_LEN);
    sodium.crypto_scalarmult_base(q, privateKey);
    return q;
  },

  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
    if (privateKey.length !== KEY_LEN || publicKey.length !== KEY_LEN) return null;
    const q = new Uint8Array(KEY_LEN);
    try {
      // libsodium refuses (throws here) when the result is all zeros: a low-order point.
      sodium.crypto_scalarmult(q, privateKey, publicKey);
    } catch {
      return null;
    }
    return isAllZero(q) ? null : q;
  },

  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkCounter(counter);
    writeCounterLE(nonce, 4, counter);
    const c = new Uint8Array(plaintext.length + TAG_LEN);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, plaintext, aad, null, nonce, key);
    return c;
  },

  open(key: Uint8Array, counter: number, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    checkLength(key, KEY_LEN, 'AEAD key');
    if (ciphertext.length < TAG_LEN || !validCounter(counter)) return null;
    writeCounterLE(nonce, 4, counter);
    const m = new Uint8Array(ciphertext.length - TAG_LEN);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, ciphertext, aad, nonce, key);
    } catch {
      return null;
    }
    return m;
  },

  sealInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, len: number,
    dst: Uint8Array, dstOff: number): void {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkCounter(counter);
    checkRange(src, srcOff, len, 'sealInto source');
    checkRange(dst, dstOff, len + TAG_LEN, 'sealInto destination');
    writeCounterLE(nonce, 4, counter);
    // In place is fine: libsodium XORs the keystream over m into c, then MACs c.
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      sealCipher.get(dst, dstOff, len + TAG_LEN), sealPlain.get(src, srcOff, len), null, null, nonce, key);
  },

  openInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, lenWithTag: number,
    dst: Uint8Array, dstOff: number): boolean {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkRange(src, srcOff, lenWithTag, 'openInto source');
    if (lenWithTag < TAG_LEN || !validCounter(counter)) return false;
    checkRange(dst, dstOff, lenWithTag - TAG_LEN, 'openInto destination');
    writeCounterLE(nonce, 4, counter);
    // A forged packet makes sodium-native throw; capturing the stack of that
    // Error would cost more than the decryption, so it is switched off here.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      // libsodium verifies the tag over c before it writes m, so in place is safe.
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        openPlain.get(dst, dstOff, lenWithTag - TAG_LEN), null, openCipher.get(src, srcOff, lenWithTag),
        null, nonce, key);
    } catch {
      return false;
    } finally {
      Error.stackTraceLimit = limit;
    }
    return true;
  },

  sealCookie(key: Uint8Array, nonce24: Uint8Array, cookie: Uint8Array, aad: Uint8Array): Uint8Array {
    checkLength(key, KEY_LEN, 'cookie key');
    checkLength(nonce24, XNONCE_LEN, 'cookie nonce');
    const c = new Uint8Array(cookie.length + TAG_LEN);
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, cookie, aad, null, nonce24, key);
    return c;
  },

  openCookie(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
    checkLength(key, KEY_LEN, 'cookie key');
    if (nonce24.length !== XNONCE_LEN || sealed.length < TAG_LEN) return null;
    const m = new Uint8Array(sealed.length - TAG_LEN);
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(m, null, sealed, aad, nonce24, key);
    } catch {
      return null;
    }
    return m;
  },

  randomBytes,
};
