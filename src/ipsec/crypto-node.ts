/**
 * {@link EspCrypto} on OpenSSL. With the addon: AES-GCM/GMAC through
 * src/crypto/aes-gcm.ts, AES-CBC and HMAC on reused OpenSSL contexts
 * (native/esp_cbc.c: the key schedule and the HMAC pads are made once per SA,
 * a packet only sets its IV or restarts the MAC) and RAND_bytes for CBC IVs,
 * all in place on the packet: nothing is allocated per packet. Without the
 * addon (or with it forced off): node:crypto, whose CBC and HMAC calls
 * create a cipher or HMAC object and Buffer views per packet (node:crypto
 * offers no in-place, allocation-free interface).
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { aesGcmKey, nativeAesGcm, type AesGcmImpl, type AesGcmKey } from '../crypto/aes-gcm.js';
import { tryNativeAddon, type AeadAddon, type AeadHandle, type CbcHmacAddon, type CryptoHandle, type EspAeadAddon } from '../link/addon.js';
import type { EspAead, EspCrypto, EspKey } from './crypto.js';

/** ESP's GCM nonce: salt (4) ‖ IV (8), RFC 4106 4. */
const GCM_NONCE_LEN = 12;

/** Which implementation runs AES-CBC, HMAC and the random IVs. */
export type CbcHmacImpl = 'native' | 'node';

/**
 * A key as {@link NodeEspCrypto} keeps it: the KeyObject, and the OpenSSL
 * contexts made from it on first use (an SA key serves one suite: GCM, or
 * CBC in one direction, or one HMAC hash).
 */
class NodeEspKey {
  gcm: AesGcmKey | null = null;
  cbcEnc: CryptoHandle | null = null;
  cbcDec: CryptoHandle | null = null;
  mac: CryptoHandle | null = null;
  constructor(readonly secret: KeyObject) {}
}

let nativeCbc: CbcHmacAddon | null | undefined;

/** The addon's AES-CBC/HMAC functions, or null when the addon does not load or has none (built before native/esp_cbc.c). */
export function nativeCbcHmac(): CbcHmacAddon | null {
  if (nativeCbc === undefined) {
    const a = tryNativeAddon();
    nativeCbc = !(a instanceof Error) && typeof a.cbcNew === 'function' && typeof a.cbcRun === 'function'
      && typeof a.hmacNew === 'function' && typeof a.hmacRun === 'function' && typeof a.hmacVerify === 'function'
      && typeof a.randFill === 'function' ? a as CbcHmacAddon : null;
  }
  return nativeCbc;
}

/** The addon's whole-packet ESP AES-GCM calls, or null when it has none (built before them). */
function nativeEspAead(): (AeadAddon & EspAeadAddon) | null {
  const a = nativeAesGcm();
  return a !== null && typeof (a as Partial<EspAeadAddon>).aeadEspSeal === 'function'
    && typeof (a as Partial<EspAeadAddon>).aeadEspOpen === 'function' ? a as AeadAddon & EspAeadAddon : null;
}

/** {@link EspAead} on the addon: one N-API call per packet on the SA's reused EVP_CIPHER_CTX (native/aead.c). */
class NativeEspAead implements EspAead {
  private readonly handle: AeadHandle;

  constructor(private readonly addon: AeadAddon & EspAeadAddon, key: Uint8Array, salt: Uint8Array) {
    this.handle = addon.aeadNew(key, GCM_NONCE_LEN, salt);
  }

  seal(b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number): void {
    if (this.addon.aeadEspSeal(this.handle, b, e, ptLen, icvLen, flags, seqHi >>> 0) !== 0) throw new Error('OpenSSL AES-GCM seal failed');
  }

  open(b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number, out: Uint8Array, outO: number,
    ipo: number): number {
    return this.addon.aeadEspOpen(this.handle, b, e, ptLen, icvLen, flags, seqHi >>> 0, out, outO, ipo);
  }
}

function view(b: Uint8Array, o: number, n: number): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + o, n);
}

function put(src: Buffer, dst: Uint8Array, d: number): void {
  dst.set(src, d);
}

export class NodeEspCrypto implements EspCrypto {
  /** The addon's AES-CBC/HMAC/RAND_bytes, or null for node:crypto. */
  private readonly native: CbcHmacAddon | null;

  /**
   * `gcm` forces the AES-GCM implementation, `cbc` that of AES-CBC, HMAC and
   * the random IVs (tests, benchmarks); by default the addon's when present.
   * Throws a RangeError when 'native' is asked for but unavailable.
   */
  constructor(private readonly gcm?: AesGcmImpl, cbc?: CbcHmacImpl) {
    this.native = cbc === 'node' ? null : nativeCbcHmac();
    if (cbc === 'native' && this.native === null) {
      throw new RangeError('the native addon has no AES-CBC/HMAC (not built, or built before native/esp_cbc.c)');
    }
  }

  /** Which implementation runs AES-CBC, HMAC and the random IVs. */
  get cbcImpl(): CbcHmacImpl {
    return this.native !== null ? 'native' : 'node';
  }

  importKey(bytes: Uint8Array): EspKey {
    return new NodeEspKey(createSecretKey(Buffer.from(bytes)));
  }

  /** The key's AES-GCM context, made on first use (one per SA: the key schedule is expanded once). */
  private gcmKey(key: EspKey): AesGcmKey {
    const k = key as NodeEspKey;
    if (k.gcm === null) k.gcm = aesGcmKey(k.secret.export(), GCM_NONCE_LEN, this.gcm);
    return k.gcm;
  }

  gcmSeal(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number): void {
    // The cipher name only restates the key length ('aes-128-gcm' for 16 bytes), which selects the AES variant.
    this.gcmKey(key).seal(nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, b, data, tag, tagLen);
  }

  gcmOpen(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number,
    out: Uint8Array, outO: number): boolean {
    return this.gcmKey(key).open(nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, tag, tagLen, out, outO);
  }

  cbcEncrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number): void {
    const n = this.native;
    if (n !== null) {
      // The cipher name only restates the key length, which selects the AES variant.
      const k = key as NodeEspKey;
      if (k.cbcEnc === null) k.cbcEnc = n.cbcNew(k.secret.export(), true);
      if (n.cbcRun(k.cbcEnc, b, iv, data, dataLen, b, data) !== 0) throw new Error('OpenSSL AES-CBC encryption failed');
      return;
    }
    const c = createCipheriv(cipher as 'aes-128-cbc', (key as NodeEspKey).secret, view(b, iv, 16));
    c.setAutoPadding(false);
    const first = c.update(view(b, data, dataLen));
    put(first, b, data);
    const rest = c.final();
    if (rest.length > 0) put(rest, b, data + first.length);
  }

  cbcDecrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number,
    out: Uint8Array, outO: number): void {
    const n = this.native;
    if (n !== null) {
      const k = key as NodeEspKey;
      if (k.cbcDec === null) k.cbcDec = n.cbcNew(k.secret.export(), false);
      if (n.cbcRun(k.cbcDec, b, iv, data, dataLen, out, outO) !== 0) throw new Error('OpenSSL AES-CBC decryption failed');
      return;
    }
    const d = createDecipheriv(cipher as 'aes-128-cbc', (key as NodeEspKey).secret, view(b, iv, 16));
    d.setAutoPadding(false);
    const first = d.update(view(b, data, dataLen));
    put(first, out, outO);
    const rest = d.final();
    if (rest.length > 0) put(rest, out, outO + first.length);
  }

  private digest(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number): Buffer {
    const h = createHmac(hash, (key as NodeEspKey).secret);
    h.update(view(b, o, n));
    if (tailLen > 0) h.update(view(tail, 0, tailLen));
    return h.digest();
  }

  /** The key's HMAC context, made on first use (the key's one hash). */
  private macHandle(native: CbcHmacAddon, hash: string, key: EspKey): CryptoHandle {
    const k = key as NodeEspKey;
    if (k.mac === null) k.mac = native.hmacNew(hash, k.secret.export());
    return k.mac;
  }

  hmac(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    out: Uint8Array, outO: number, outLen: number): void {
    const x = this.native;
    if (x !== null) {
      if (x.hmacRun(this.macHandle(x, hash, key), b, o, n, tail, tailLen, out, outO, outLen) !== 0) throw new Error('OpenSSL HMAC failed');
      return;
    }
    put(this.digest(hash, key, b, o, n, tail, tailLen).subarray(0, outLen), out, outO);
  }

  hmacVerify(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    icv: number, icvLen: number): boolean {
    const x = this.native;
    if (x !== null) return x.hmacVerify(this.macHandle(x, hash, key), b, o, n, tail, tailLen, icv, icvLen) === 1;
    const mac = this.digest(hash, key, b, o, n, tail, tailLen);
    return timingSafeEqual(mac.subarray(0, icvLen), view(b, icv, icvLen));
  }

  /**
   * The whole-packet ESP AES-GCM path on the addon, or null with node:crypto
   * forced for AES-GCM or an addon without it (the transform then calls
   * {@link gcmSeal} / {@link gcmOpen}).
   */
  espAead(key: Uint8Array, salt: Uint8Array): EspAead | null {
    if (this.gcm === 'node') return null;
    const a = nativeEspAead();
    return a === null ? null : new NativeEspAead(a, key, salt);
  }

  randomFill(b: Uint8Array, o: number, n: number): void {
    // node:crypto's randomFillSync makes a job object per call; RAND_bytes (the same generator) does not.
    if (this.native !== null) {
      if (this.native.randFill(b, o, n) !== 0) throw new Error('OpenSSL RAND_bytes failed');
      return;
    }
    randomFillSync(b, o, n);
  }
}
