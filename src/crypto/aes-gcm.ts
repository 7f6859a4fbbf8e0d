/**
 * AES-GCM for the packet paths (ESP in src/ipsec, the fips WireGuard suite's
 * data packets), one object per key.
 *
 * Preferred: the addon's reused OpenSSL EVP_CIPHER_CTX (native/aead.c). The
 * key is expanded once; a packet only sets the IV and runs in place on the
 * caller's bytes, so nothing is allocated per packet. Fallback, when the
 * addon is missing or was built before it had AES-GCM: node:crypto, which
 * makes a cipher object and output Buffers per packet (~1.4 KB of garbage).
 * Both are OpenSSL and produce the same bytes (test/crypto/aes-gcm.test.ts).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { tryNativeAddon, type AeadAddon, type AeadHandle } from '../link/addon.js';

/** Which implementation an {@link AesGcmKey} uses. */
export type AesGcmImpl = 'native' | 'node';

/** Tag length GCM computes; shorter tags are its first bytes (RFC 4106 8/12-byte ICVs). */
const FULL_TAG = 16;

/** An expanded AES-GCM key. Offsets and lengths are byte positions in the arrays passed. */
export interface AesGcmKey {
  readonly impl: AesGcmImpl;
  /**
   * Seal: authenticate `aad[0..aadLen)` then `b[aad2..aad2+aad2Len)`, encrypt
   * `b[data..data+dataLen)` into `out[outO..]` (in place when `out === b` and
   * `outO === data`; dataLen may be 0: GMAC) and write the first `tagLen`
   * bytes of the tag at `out[tag..]`. `nonce` has the IV length the key was
   * made for.
   */
  seal(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, out: Uint8Array, outO: number, tag: number, tagLen: number): void;
  /**
   * Open: check the `tagLen`-byte tag at `b[tag..]` over the same inputs and
   * decrypt `b[data..data+dataLen)` into `out[outO..]` (in place allowed).
   * False on a bad tag; the output range then holds no plaintext (the native
   * path decrypts before the tag is known and zeroes it, node:crypto leaves
   * it untouched).
   */
  open(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, tag: number, tagLen: number, out: Uint8Array, outO: number): boolean;
  /** Wipe the key now rather than at garbage collection; the object is unusable afterwards. */
  free(): void;
}

let native: AeadAddon | null | undefined;

/**
 * The addon's AES-GCM functions, or null when the addon does not load or has
 * none (built before native/aead.c, or OpenSSL's symbols were not found in
 * the running binary at load).
 */
export function nativeAesGcm(): AeadAddon | null {
  if (native === undefined) {
    const a = tryNativeAddon();
    native = !(a instanceof Error) && typeof a.aeadNew === 'function' && typeof a.aeadFree === 'function'
      && typeof a.aeadSeal === 'function' && typeof a.aeadOpen === 'function' ? a as AeadAddon : null;
  }
  return native;
}

class NativeAesGcmKey implements AesGcmKey {
  readonly impl = 'native';
  private readonly handle: AeadHandle;

  constructor(private readonly addon: AeadAddon, key: Uint8Array, ivLen: number) {
    this.handle = addon.aeadNew(key, ivLen);
  }

  seal(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, out: Uint8Array, outO: number, tag: number, tagLen: number): void {
    if (this.addon.aeadSeal(this.handle, nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, out, outO, tag, tagLen) !== 0) {
      throw new Error('OpenSSL AES-GCM seal failed');
    }
  }

  open(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, tag: number, tagLen: number, out: Uint8Array, outO: number): boolean {
    return this.addon.aeadOpen(this.handle, nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, tag, tagLen, out, outO) === 0;
  }

  free(): void {
    this.addon.aeadFree(this.handle);
  }
}

function view(b: Uint8Array, o: number, n: number): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + o, n);
}

class NodeAesGcmKey implements AesGcmKey {
  readonly impl = 'node';
  private readonly key: KeyObject;
  private readonly cipher: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';

  constructor(key: Uint8Array) {
    this.cipher = key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
    this.key = createSecretKey(Buffer.from(key));
  }

  seal(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, out: Uint8Array, outO: number, tag: number, tagLen: number): void {
    const c = createCipheriv(this.cipher, this.key, nonce, { authTagLength: FULL_TAG });
    if (aadLen > 0) c.setAAD(view(aad, 0, aadLen));
    if (aad2Len > 0) c.setAAD(view(b, aad2, aad2Len));
    // update() returns a fresh Buffer, so writing it back over the input (in place) is safe.
    if (dataLen > 0) out.set(c.update(view(b, data, dataLen)), outO);
    c.final();
    out.set(c.getAuthTag().subarray(0, tagLen), tag);
  }

  open(nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, tag: number, tagLen: number, out: Uint8Array, outO: number): boolean {
    const d = createDecipheriv(this.cipher, this.key, nonce, { authTagLength: tagLen });
    d.setAuthTag(view(b, tag, tagLen));
    if (aadLen > 0) d.setAAD(view(aad, 0, aadLen));
    if (aad2Len > 0) d.setAAD(view(b, aad2, aad2Len));
    const pt = dataLen > 0 ? d.update(view(b, data, dataLen)) : null;
    // final() throws on a forged packet: skip the stack capture, the cost an attacker controls.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      d.final();
    } catch {
      return false;
    } finally {
      Error.stackTraceLimit = limit;
    }
    // Written only after the tag verified.
    if (pt !== null) out.set(pt, outO);
    return true;
  }

  free(): void {
    // node:crypto keeps no per-key cipher state here; the KeyObject goes with this object.
  }
}

/**
 * Expand a 16-, 24- or 32-byte AES key (copied) for nonces of `ivLen` bytes
 * (12: the 96-bit fast path; wolfGuard uses 16). `impl` forces an
 * implementation (tests, benchmarks); by default the addon's when it has
 * AES-GCM, else node:crypto. Throws a RangeError for another key length,
 * and when 'native' is asked for but unavailable.
 */
export function aesGcmKey(key: Uint8Array, ivLen: number, impl?: AesGcmImpl): AesGcmKey {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`AES-GCM key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
  if (impl !== 'node') {
    const a = nativeAesGcm();
    if (a !== null) return new NativeAesGcmKey(a, key, ivLen);
    if (impl === 'native') throw new RangeError('the native addon has no AES-GCM (not built, or built before native/aead.c)');
  }
  return new NodeAesGcmKey(key);
}
