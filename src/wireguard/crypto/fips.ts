/**
 * The FIPS suite, byte-compatible with wolfGuard:
 * Noise_IKpsk2_SECP256R1_AesGcm_SHA256. Everything comes from node:crypto
 * (OpenSSL), so a FIPS-enabled Node build runs it on the FIPS provider.
 *
 * AES-256-GCM runs with a 16-byte IV (4 zero bytes ‖ counter u64 LE ‖ 4 zero
 * bytes), which GCM derives through GHASH rather than the 96-bit fast path;
 * OpenSSL handles any IV length, and node:crypto passes it through.
 *
 * Data packets (sealInto/openInto) run on one AES-GCM context per transport
 * key (src/crypto/aes-gcm.ts: the addon's reused OpenSSL context, nothing
 * allocated per packet; node:crypto without the addon). A keypair owns its
 * contexts as handles (keyHandle, made when the session's keys are
 * installed, freed when it is dropped), so the device's data path neither
 * looks up nor compares keys. The handshake and cookie AEADs, a few per
 * session, stay on node:crypto.
 */
import {
  createCipheriv, createDecipheriv, createECDH, createHash, createHmac, randomFillSync,
  type CipherGCM, type DecipherGCM,
} from 'node:crypto';
import { aesGcmKey, type AesGcmKey } from '../../crypto/aes-gcm.js';
import {
  TAG_LEN, checkLength, checkRange, isAllZero, validCounter, writeCounterLE, type WgKeyHandle, type WgSuite,
} from './suite.js';

const KEY_LEN = 32;
const PUB_LEN = 65;
const IV_LEN = 16;
const CURVE = 'prime256v1';
const GCM = 'aes-256-gcm';

/** Shared IV buffer: bytes 0..3 and 12..15 stay zero. node:crypto copies the IV, so sharing is safe. */
const iv = new Uint8Array(IV_LEN);

/** A plain Uint8Array view of a Buffer (no copy), so results compare equal to other byte arrays. */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function checkCounter(counter: number): void {
  if (!validCounter(counter)) throw new RangeError(`counter must be an integer in [0, 2^53), got ${counter}`);
}

function ivFor(counter: number): Uint8Array {
  writeCounterLE(iv, 4, counter);
  return iv;
}

/** A transport key's AES-GCM context and the key bytes it was made from. */
interface DataKey {
  gcm: AesGcmKey;
  readonly bytes: Uint8Array;
}

/**
 * Contexts by key array, for callers that pass no handle (tests, one-off
 * calls; the device passes its keypair's). A keypair's key arrays are views made once per slot
 * and refilled for every session, so the bytes are compared on each use (32
 * bytes, against the ~1.4 KB of AES work) and the context remade when they
 * changed; dropKey() wipes it when the keypair is dropped. Weak, so keys
 * that callers let go (tests, one-off calls) take their contexts with them.
 */
const dataKeys = new WeakMap<Uint8Array, DataKey>();
/** The AAD of a data packet: none (the header is not authenticated, WireGuard 5.4.6). */
const NO_AAD = new Uint8Array(0);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < KEY_LEN; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function dataKey(key: Uint8Array): AesGcmKey {
  const k = dataKeys.get(key);
  if (k !== undefined) {
    if (sameBytes(k.bytes, key)) return k.gcm;
    k.gcm.free();
    k.gcm = aesGcmKey(key, IV_LEN);
    k.bytes.set(key);
    return k.gcm;
  }
  const gcm = aesGcmKey(key, IV_LEN);
  dataKeys.set(key, { gcm, bytes: key.slice() });
  return gcm;
}

function cipher(key: Uint8Array, nonce: Uint8Array): CipherGCM {
  return createCipheriv(GCM, key, nonce, { authTagLength: TAG_LEN });
}

function decipher(key: Uint8Array, nonce: Uint8Array): DecipherGCM {
  return createDecipheriv(GCM, key, nonce, { authTagLength: TAG_LEN });
}

/** AES-256-GCM seal into a new array: ciphertext ‖ tag. */
function gcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = cipher(key, nonce);
  if (aad.length > 0) c.setAAD(aad);
  const body = c.update(plaintext);
  c.final();
  const out = new Uint8Array(plaintext.length + TAG_LEN);
  out.set(body, 0);
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

/** AES-256-GCM open; null when the tag does not verify. */
function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_LEN) return null;
  const n = sealed.length - TAG_LEN;
  const d = decipher(key, nonce);
  d.setAuthTag(sealed.subarray(n));
  if (aad.length > 0) d.setAAD(aad);
  const body = d.update(sealed.subarray(0, n));
  try {
    d.final();
  } catch {
    return null;
  }
  return plain(body);
}

function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return plain(h.digest());
}

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return plain(h.digest());
}

function randomBytes(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

/** An ECDH object holding `privateKey`, or null when it is not a scalar in [1, n−1]. */
function ecdhWith(privateKey: Uint8Array): ReturnType<typeof createECDH> | null {
  if (privateKey.length !== KEY_LEN) return null;
  const e = createECDH(CURVE);
  try {
    e.setPrivateKey(privateKey);
  } catch {
    return null;
  }
  return e;
}

/** Left-pad to 32 bytes: OpenSSL may return a scalar with leading zero bytes dropped. */
function pad32(b: Buffer): Uint8Array {
  if (b.length === KEY_LEN) return plain(b);
  const out = new Uint8Array(KEY_LEN);
  out.set(b, KEY_LEN - b.length);
  return out;
}

export const fipsSuite: WgSuite = {
  name: 'fips',
  publicKeyLen: PUB_LEN,
  macLen: 32,
  cookieLen: 32,
  cookieNonceLen: IV_LEN,
  construction: 'Noise_IKpsk2_SECP256R1_AesGcm_SHA256',
  identifier: 'WolfGuard v1 info@wolfssl.com',

  hash,
  hmac: hmacSha256,

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    return hmacSha256(key, data);
  },

  generatePrivateKey(): Uint8Array {
    const e = createECDH(CURVE);
    e.generateKeys();
    return pad32(e.getPrivateKey());
  },

  publicKey(privateKey: Uint8Array): Uint8Array {
    const e = ecdhWith(privateKey);
    if (e === null) throw new RangeError('P-256 private key must be 32 bytes encoding a scalar in [1, n-1]');
    return plain(e.getPublicKey());
  },

  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
    // Only the uncompressed encoding is valid on the wire; OpenSSL would also take compressed/hybrid points.
    if (publicKey.length !== PUB_LEN || publicKey[0] !== 0x04) return null;
    const e = ecdhWith(privateKey);
    if (e === null) return null;
    let z: Buffer;
    try {
      z = e.computeSecret(publicKey); // throws ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY for a point off the curve
    } catch {
      return null;
    }
    const s = pad32(z);
    return isAllZero(s) ? null : s;
  },

  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkCounter(counter);
    return gcmSeal(key, ivFor(counter), plaintext, aad);
  },

  open(key: Uint8Array, counter: number, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    checkLength(key, KEY_LEN, 'AEAD key');
    if (!validCounter(counter)) return null;
    return gcmOpen(key, ivFor(counter), ciphertext, aad);
  },

  sealInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, len: number,
    dst: Uint8Array, dstOff: number, handle?: WgKeyHandle | null): void {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkCounter(counter);
    checkRange(src, srcOff, len, 'sealInto source');
    checkRange(dst, dstOff, len + TAG_LEN, 'sealInto destination');
    (handle != null ? handle as AesGcmKey : dataKey(key)).seal(ivFor(counter), NO_AAD, 0, src, 0, 0, srcOff, len, dst, dstOff, dstOff + len, TAG_LEN);
  },

  openInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, lenWithTag: number,
    dst: Uint8Array, dstOff: number, handle?: WgKeyHandle | null): boolean {
    checkLength(key, KEY_LEN, 'AEAD key');
    checkRange(src, srcOff, lenWithTag, 'openInto source');
    if (lenWithTag < TAG_LEN || !validCounter(counter)) return false;
    const n = lenWithTag - TAG_LEN;
    checkRange(dst, dstOff, n, 'openInto destination');
    return (handle != null ? handle as AesGcmKey : dataKey(key)).open(ivFor(counter), NO_AAD, 0, src, 0, 0, srcOff, n, srcOff + n, TAG_LEN, dst, dstOff);
  },

  keyHandle(key: Uint8Array): WgKeyHandle {
    checkLength(key, KEY_LEN, 'AEAD key');
    return aesGcmKey(key, IV_LEN);
  },

  freeKeyHandle(handle: WgKeyHandle): void {
    (handle as AesGcmKey).free();
  },

  dropKey(key: Uint8Array): void {
    const k = dataKeys.get(key);
    if (k === undefined) return;
    k.gcm.free();
    k.bytes.fill(0);
    dataKeys.delete(key);
  },

  sealCookie(key: Uint8Array, nonce: Uint8Array, cookie: Uint8Array, aad: Uint8Array): Uint8Array {
    checkLength(key, KEY_LEN, 'cookie key');
    checkLength(nonce, IV_LEN, 'cookie nonce');
    return gcmSeal(key, nonce, cookie, aad);
  },

  openCookie(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
    checkLength(key, KEY_LEN, 'cookie key');
    if (nonce.length !== IV_LEN) return null;
    return gcmOpen(key, nonce, sealed, aad);
  },

  randomBytes,
};
