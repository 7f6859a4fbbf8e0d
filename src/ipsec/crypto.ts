/**
 * The cryptography the ESP engine needs, as an injected interface so the
 * engine stays portable (no `node:` imports): src/ipsec/crypto-node.ts
 * implements it with node:crypto. Every call names bytes as (array, offset,
 * length) in the packet buffers. Implementations may allocate per call
 * (node:crypto does: cipher objects and output buffers; crypto-node.ts runs
 * AES-GCM, AES-CBC, HMAC and the random IVs on the addon's reused OpenSSL
 * contexts instead, allocation-free, and node:crypto only without the
 * addon); this is the one documented place where the ESP packet path may
 * allocate.
 */

/** An imported key, opaque to the engine (a KeyObject for node:crypto). */
export type EspKey = object;

/** {@link EspAead} flags: the SA uses extended sequence numbers (seqHi is authenticated, RFC 4303 2.2.1). */
export const ESP_AEAD_ESN = 1;
/** {@link EspAead} flags: GMAC (RFC 4543): IV and payload are authenticated, nothing is encrypted. */
export const ESP_AEAD_GMAC = 2;
/** {@link EspAead.open} flag: also verify the TCP checksum of the plaintext. */
export const ESP_AEAD_CSUM = 4;
/** {@link EspAead.open} results. */
export const ESP_OPEN_BAD_ICV = -1;
export const ESP_OPEN_OK = 0;
/** Opened, and the plaintext is a TCP segment whose checksum verified. */
export const ESP_OPEN_OK_CSUM = 1;

/**
 * One SA's AES-GCM/GMAC key (with its salt) for whole ESP packets: nonce
 * (salt ‖ IV, RFC 4106 4) and AAD (SPI, [seqHi,] seqLo, RFC 4106 5) are
 * taken from the packet at `b[e..]` (SPI, sequence number, 8-byte IV,
 * `ptLen` bytes of payload and trailer, ICV), so a packet costs one call.
 */
export interface EspAead {
  /** Encrypt the payload in place (GCM) and write the ICV after it. */
  seal(b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number): void;
  /**
   * Verify the ICV and write the plaintext to `out[outO..]`: ESP_OPEN_OK, or
   * ESP_OPEN_BAD_ICV with no plaintext left in `out` (as
   * {@link EspCrypto.gcmOpen}). With ESP_AEAD_CSUM in `flags` and `ipo`, the
   * offset of the packet's IPv4 header in `b`, ESP_OPEN_OK_CSUM when the
   * plaintext is a TCP segment whose checksum verified (RFC 793 3.1
   * pseudo-header from that header); ESP_OPEN_OK then means "not verified
   * here", never "bad".
   */
  open(b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number, out: Uint8Array, outO: number,
    ipo: number): number;
}

export interface EspCrypto {
  /** Keep `bytes` (copied) as a key for repeated use. */
  importKey(bytes: Uint8Array): EspKey;
  /**
   * AES-GCM seal: authenticate `aad[0..aadLen)` then `b[aad2 .. aad2+aad2Len)`
   * as additional data, encrypt `b[data .. data+dataLen)` in place (dataLen may
   * be 0: GMAC), write the first `tagLen` tag bytes at `b[tag..]`.
   */
  gcmSeal(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number): void;
  /**
   * AES-GCM open: verify the tag at `b[tag..tag+tagLen)` over the same inputs
   * and decrypt to `out[outO..]`. Returns false on a bad tag; `out` then
   * holds no plaintext (the range is untouched, or zeroed by an
   * implementation that decrypts before the tag is checked).
   */
  gcmOpen(cipher: string, key: EspKey, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array,
    aad2: number, aad2Len: number, data: number, dataLen: number, tag: number, tagLen: number,
    out: Uint8Array, outO: number): boolean;
  /** CBC without padding: encrypt `b[data..data+dataLen)` in place with the IV at `b[iv..iv+16)`. */
  cbcEncrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number): void;
  /** CBC without padding: decrypt `b[data..data+dataLen)` into `out[outO..]`. */
  cbcDecrypt(cipher: string, key: EspKey, b: Uint8Array, iv: number, data: number, dataLen: number,
    out: Uint8Array, outO: number): void;
  /** HMAC over `b[o..o+n)` then `tail[0..tailLen)`, truncated to `outLen` bytes at `out[outO..]`. */
  hmac(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    out: Uint8Array, outO: number, outLen: number): void;
  /** Constant-time check of a truncated HMAC at `b[icv..icv+icvLen)` over the same inputs as {@link hmac}. */
  hmacVerify(hash: string, key: EspKey, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    icv: number, icvLen: number): boolean;
  /** Cryptographically random bytes into `b[o..o+n)` (CBC IVs, IV bases). */
  randomFill(b: Uint8Array, o: number, n: number): void;
  /**
   * Optional: the whole-packet ESP AES-GCM/GMAC path for an AES key and its
   * 4-byte salt, or null where the implementation has none (then the
   * transform uses {@link gcmSeal} / {@link gcmOpen}). Both produce the same bytes.
   */
  espAead?(key: Uint8Array, salt: Uint8Array): EspAead | null;
}
