/**
 * {@link EspCrypto} on OpenSSL: AES-GCM/GMAC through src/crypto/aes-gcm.ts
 * (the addon's reused cipher context per SA key, nothing allocated per
 * packet; node:crypto when the addon lacks it), AES-CBC, HMAC and the
 * random source from node:crypto. The CBC and HMAC calls create a cipher or
 * HMAC object and Buffer views on the packet: this is the documented
 * allocation boundary of the ESP path (node:crypto offers no in-place,
 * allocation-free interface).
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { aesGcmKey, type AesGcmImpl, type AesGcmKey } from '../crypto/aes-gcm.js';
import type { EspCrypto, EspKey } from './crypto.js';

/** ESP's GCM nonce: salt (4) ‖ IV (8), RFC 4106 4. */
const GCM_NONCE_LEN = 12;

/** A key as {@link NodeEspCrypto} keeps it: the KeyObject, and its AES-GCM context once used for GCM/GMAC. */
class NodeEspKey {
  gcm: AesGcmKey | null = null;
  constructor(readonly secret: KeyObject) {}
}

function view(b: Uint8Array, o: number, n: number): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + o, n);
}

function put(src: Buffer, dst: Uint8Array, d: number): void {
  dst.set(src, d);
}

export class NodeEspCrypto implements EspCrypto {
  /** `gcm` forces the AES-GCM implementation (tests, benchmarks); by default the addon's when present. */
  constructor(private readonly gcm?: AesGcmImpl) {}

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
    const c = createCipheriv(cipher as 'aes-128-cbc', (key as NodeEspKey).secret, view(b, iv, 16));
    c.setAutoPadding(false);
    const first = c.update(view(b, data, dataLen));
    put(first, b, data);
    const rest = c.final();
    if (rest.length > 0) put(rest, b, data + first.length);
  }

  cbcDecrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number,
    out: Uint8Array, outO: number): void {
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

  hmac(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    out: Uint8Array, outO: number, outLen: number): void {
    put(this.digest(hash, key, b, o, n, tail, tailLen).subarray(0, outLen), out, outO);
  }

  hmacVerify(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    icv: number, icvLen: number): boolean {
    const mac = this.digest(hash, key, b, o, n, tail, tailLen);
    return timingSafeEqual(mac.subarray(0, icvLen), view(b, icv, icvLen));
  }

  randomFill(b: Uint8Array, o: number, n: number): void {
    randomFillSync(b, o, n);
  }
}
