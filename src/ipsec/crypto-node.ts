/**
 * {@link EspCrypto} on node:crypto (OpenSSL): AES-GCM, AES-CBC, HMAC and the
 * random source. Each call creates a cipher or HMAC object and Buffer views
 * on the packet: this is the documented allocation boundary of the ESP path
 * (node:crypto offers no in-place, allocation-free interface).
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { EspCrypto, EspKey } from './crypto.js';

function view(b: Uint8Array, o: number, n: number): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + o, n);
}

function put(src: Buffer, dst: Uint8Array, d: number): void {
  dst.set(src, d);
}

export class NodeEspCrypto implements EspCrypto {
  importKey(bytes: Uint8Array): EspKey {
    return createSecretKey(Buffer.from(bytes));
  }

  gcmSeal(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number): void {
    const c = createCipheriv(cipher as 'aes-128-gcm', key as KeyObject, nonce, { authTagLength: 16 });
    c.setAAD(view(aad, 0, aadLen));
    if (aad2Len > 0) c.setAAD(view(b, aad2, aad2Len));
    if (dataLen > 0) put(c.update(view(b, data, dataLen)), b, data);
    c.final();
    put(c.getAuthTag().subarray(0, tagLen), b, tag);
  }

  gcmOpen(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number,
    out: Uint8Array, outO: number): boolean {
    const d = createDecipheriv(cipher as 'aes-128-gcm', key as KeyObject, nonce, { authTagLength: tagLen });
    d.setAuthTag(view(b, tag, tagLen));
    d.setAAD(view(aad, 0, aadLen));
    if (aad2Len > 0) d.setAAD(view(b, aad2, aad2Len));
    const pt = dataLen > 0 ? d.update(view(b, data, dataLen)) : null;
    try {
      d.final();
    } catch {
      return false;
    }
    if (pt !== null) put(pt, out, outO);
    return true;
  }

  cbcEncrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number): void {
    const c = createCipheriv(cipher as 'aes-128-cbc', key as KeyObject, view(b, iv, 16));
    c.setAutoPadding(false);
    const first = c.update(view(b, data, dataLen));
    put(first, b, data);
    const rest = c.final();
    if (rest.length > 0) put(rest, b, data + first.length);
  }

  cbcDecrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number,
    out: Uint8Array, outO: number): void {
    const d = createDecipheriv(cipher as 'aes-128-cbc', key as KeyObject, view(b, iv, 16));
    d.setAutoPadding(false);
    const first = d.update(view(b, data, dataLen));
    put(first, out, outO);
    const rest = d.final();
    if (rest.length > 0) put(rest, out, outO + first.length);
  }

  private digest(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number): Buffer {
    const h = createHmac(hash, key as KeyObject);
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
