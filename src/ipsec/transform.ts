/**
 * The ESP packet transform (RFC 4303 2): header, IV, padding, trailer and
 * ICV for one SA's suite and keys. Works in place on caller buffers; the
 * engine and the known-answer tests share it.
 *
 * Packet layout, offsets relative to `e` (the SPI):
 *   [0] SPI  [4] sequence (low 32 bits)  [8] IV (ivLen)
 *   [8+ivLen] payload, padding 1,2,3.., pad length, next header  [..] ICV
 * With ESN (RFC 4303 2.2.1) the high 32 bits of the sequence number are
 * authenticated but not sent: appended after the trailer for HMAC, placed
 * between SPI and low bits in the AAD for GCM/GMAC (RFC 4106 5, RFC 4543 3.3).
 */
import { copyBytes, get32, set32 } from '../wire/bytes.js';
import { AUTH_HMAC, ENC_CBC, ENC_GCM, ENC_GMAC, ENC_NULL, type EspSuite } from './algorithms.js';
import {
  ESP_AEAD_CSUM, ESP_AEAD_ESN, ESP_AEAD_GMAC, ESP_OPEN_BAD_ICV, ESP_OPEN_OK_CSUM, type EspAead, type EspCrypto, type EspKey,
} from './crypto.js';

/** {@link EspTransform.trailer} results. */
export const TRAILER_BAD_PAD_LENGTH = -1;
export const TRAILER_BAD_PADDING = -2;

export class EspTransform {
  private readonly encKey: EspKey | null;
  private readonly authKey: EspKey | null;
  private readonly nonce = new Uint8Array(12);
  private readonly aad = new Uint8Array(12);
  private readonly tail = new Uint8Array(4);
  /** ESP header + IV: where the payload starts relative to the SPI. */
  readonly headLen: number;
  /**
   * AES-GCM/GMAC on whole packets (one native call each, nonce and AAD read
   * from the packet), when the crypto offers it; else null and gcmSeal/gcmOpen.
   */
  private readonly packetAead: EspAead | null;
  /** {@link EspAead} flags of this SA: ESN, GMAC. */
  private readonly aeadFlags: number;
  /**
   * Set by {@link open}: the plaintext is a TCP segment whose checksum was
   * verified while decrypting (only with `ipo` and the whole-packet path).
   */
  tcpChecksumOk = false;

  constructor(readonly suite: EspSuite, private readonly crypto: EspCrypto, encKey: Uint8Array, authKey: Uint8Array,
    salt: Uint8Array, readonly esn: boolean) {
    this.encKey = suite.enc === ENC_NULL ? null : crypto.importKey(encKey);
    this.authKey = suite.auth === AUTH_HMAC ? crypto.importKey(authKey) : null;
    this.nonce.set(salt, 0);
    this.headLen = 8 + suite.ivLen;
    const aead = suite.enc === ENC_GCM || suite.enc === ENC_GMAC;
    // The whole-packet path assumes RFC 4106/4543's layout: a 4-byte salt and an 8-byte IV.
    this.packetAead = aead && suite.ivLen === 8 && salt.length === 4 && crypto.espAead !== undefined
      ? crypto.espAead(encKey, salt) : null;
    this.aeadFlags = (esn ? ESP_AEAD_ESN : 0) | (suite.enc === ENC_GMAC ? ESP_AEAD_GMAC : 0);
  }

  /** Bytes of padding for `payloadLen` bytes of payload: the least that aligns payload + 2 to the block. */
  padFor(payloadLen: number): number {
    const b = this.suite.block;
    const r = (payloadLen + 2) % b;
    return r === 0 ? 0 : b - r;
  }

  /** Total ESP length (header to ICV) for a payload. */
  sealedLen(payloadLen: number): number {
    return this.headLen + payloadLen + this.padFor(payloadLen) + 2 + this.suite.icvLen;
  }

  /**
   * Seal in place. The payload is at `b[e+headLen .. +payloadLen)` and the IV,
   * if the suite has one, already at `b[e+8 ..]`; room for the trailer and ICV
   * must follow. Writes SPI, sequence number, padding, trailer, encrypts and
   * appends the ICV. Returns the ESP length.
   */
  seal(b: Uint8Array, e: number, payloadLen: number, nextHeader: number, spi: number, seqHi: number, seqLo: number): number {
    const s = this.suite;
    set32(b, e, spi);
    set32(b, e + 4, seqLo);
    const p = e + this.headLen;
    const pad = this.padFor(payloadLen);
    let t = p + payloadLen;
    // RFC 4303 2.4: padding bytes are 1, 2, 3, ... so the receiver can check them.
    for (let i = 1; i <= pad; i++) b[t++] = i;
    b[t++] = pad;
    b[t++] = nextHeader;
    const ptLen = t - p;
    const fast = this.packetAead;
    if (fast !== null) {
      fast.seal(b, e, ptLen, s.icvLen, this.aeadFlags, seqHi);
    } else if (s.enc === ENC_GCM || s.enc === ENC_GMAC) {
      const aadLen = this.aeadPrefix(spi, seqHi, seqLo);
      for (let i = 0; i < 8; i++) this.nonce[4 + i] = b[e + 8 + i];
      if (s.enc === ENC_GCM) {
        this.crypto.gcmSeal(s.cipher, this.encKey as EspKey, this.nonce, this.aad, aadLen, b, 0, 0, p, ptLen, t, s.icvLen);
      } else {
        // RFC 4543 3.3: IV and the whole payload are authenticated, nothing is encrypted.
        this.crypto.gcmSeal(s.cipher, this.encKey as EspKey, this.nonce, this.aad, aadLen, b, e + 8, 8 + ptLen, p, 0, t, s.icvLen);
      }
    } else {
      if (s.enc === ENC_CBC) this.crypto.cbcEncrypt(s.cipher, this.encKey as EspKey, b, e + 8, p, ptLen);
      // AUTH_NONE (encryption only) exists for the RFC 3602 vectors; SAs always have integrity.
      if (s.auth === AUTH_HMAC) {
        this.crypto.hmac(s.hash, this.authKey as EspKey, b, e, t - e, this.tail, this.esnTail(seqHi), b, t, s.icvLen);
      }
    }
    return t + s.icvLen - e;
  }

  /** True when an ESP packet of `len` bytes could be valid for this suite (checked before any crypto). */
  validLength(len: number): boolean {
    const ptLen = len - this.headLen - this.suite.icvLen;
    return ptLen >= 2 && ptLen % this.suite.block === 0;
  }

  /**
   * Verify the ICV of the ESP packet `b[e .. e+len)` (whose high sequence bits
   * are `seqHi`) and decrypt its payload and trailer into `out[outO..]`.
   * Returns the plaintext length (payload + padding + 2), or -1 when the
   * length is impossible for the suite, -2 when the ICV is wrong. `out` gets
   * no plaintext unless the ICV is valid (see {@link EspCrypto.gcmOpen}).
   * `ipo`, the offset of the packet's IPv4 header in `b` (-1: none), lets the
   * whole-packet AES-GCM path verify a TCP payload's checksum on the way
   * ({@link tcpChecksumOk}).
   */
  open(b: Uint8Array, e: number, len: number, seqHi: number, out: Uint8Array, outO: number, ipo = -1): number {
    this.tcpChecksumOk = false;
    const s = this.suite;
    const ptLen = len - this.headLen - s.icvLen;
    if (ptLen < 2 || ptLen % s.block !== 0) return -1;
    const p = e + this.headLen;
    const icv = p + ptLen;
    const fast = this.packetAead;
    if (fast !== null) {
      const r = fast.open(b, e, ptLen, s.icvLen, ipo >= 0 ? this.aeadFlags | ESP_AEAD_CSUM : this.aeadFlags, seqHi, out, outO, ipo);
      if (r === ESP_OPEN_BAD_ICV) return -2;
      this.tcpChecksumOk = r === ESP_OPEN_OK_CSUM;
      return ptLen;
    }
    if (s.enc === ENC_GCM || s.enc === ENC_GMAC) {
      const aadLen = this.aeadPrefix(get32(b, e), seqHi, get32(b, e + 4));
      for (let i = 0; i < 8; i++) this.nonce[4 + i] = b[e + 8 + i];
      if (s.enc === ENC_GCM) {
        return this.crypto.gcmOpen(s.cipher, this.encKey as EspKey, this.nonce, this.aad, aadLen, b, 0, 0, p, ptLen,
          icv, s.icvLen, out, outO) ? ptLen : -2;
      }
      if (!this.crypto.gcmOpen(s.cipher, this.encKey as EspKey, this.nonce, this.aad, aadLen, b, e + 8, 8 + ptLen, p, 0,
        icv, s.icvLen, out, outO)) return -2;
      copyBytes(b, p, out, outO, ptLen);
      return ptLen;
    }
    if (s.auth === AUTH_HMAC
      && !this.crypto.hmacVerify(s.hash, this.authKey as EspKey, b, e, icv - e, this.tail, this.esnTail(seqHi), icv, s.icvLen)) {
      return -2;
    }
    if (s.enc === ENC_CBC) this.crypto.cbcDecrypt(s.cipher, this.encKey as EspKey, b, e + 8, p, ptLen, out, outO);
    else copyBytes(b, p, out, outO, ptLen);
    return ptLen;
  }

  /**
   * Check the trailer of a decrypted plaintext `out[o .. o+ptLen)` strictly
   * (RFC 4303 2.4, 2.5): the pad length fits and the padding is 1, 2, 3, ...
   * Returns the payload length, or TRAILER_BAD_PAD_LENGTH / TRAILER_BAD_PADDING.
   */
  trailer(out: Uint8Array, o: number, ptLen: number): number {
    const pad = out[o + ptLen - 2];
    const payload = ptLen - 2 - pad;
    if (payload < 0) return TRAILER_BAD_PAD_LENGTH;
    for (let i = 0; i < pad; i++) if (out[o + payload + i] !== i + 1) return TRAILER_BAD_PADDING;
    return payload;
  }

  /** AEAD additional data: SPI, [high sequence bits,] low sequence bits. Returns its length. */
  private aeadPrefix(spi: number, seqHi: number, seqLo: number): number {
    set32(this.aad, 0, spi);
    if (this.esn) {
      set32(this.aad, 4, seqHi);
      set32(this.aad, 8, seqLo);
      return 12;
    }
    set32(this.aad, 4, seqLo);
    return 8;
  }

  private esnTail(seqHi: number): number {
    if (!this.esn) return 0;
    set32(this.tail, 0, seqHi);
    return 4;
  }
}
