/**
 * The crypto suite of a WireGuard device: every primitive the Noise handshake,
 * the cookie machinery and the data path use, behind one interface, so the
 * protocol code is written once for standard WireGuard (X25519, ChaCha20-
 * Poly1305, BLAKE2s) and for the FIPS variant wolfGuard (P-256, AES-256-GCM,
 * SHA-256). Implementations: `standard.ts` and `fips.ts`.
 *
 * Pure ECMAScript: the Noise code can import the types and {@link kdf}
 * without pulling in a native module.
 */

export type SuiteName = 'standard' | 'fips';

/** A transport key's cipher state, opaque outside its suite (see {@link WgSuite.keyHandle}). */
export type WgKeyHandle = object;

export interface WgSuite {
  readonly name: SuiteName;
  /** Public key length on the wire: 32 (X25519) or 65 (P-256 uncompressed 0x04‖X‖Y). */
  readonly publicKeyLen: number;
  /** mac1/mac2 length: 16 (keyed BLAKE2s-128) or 32 (HMAC-SHA256). */
  readonly macLen: number;
  /** Cookie length: 16 or 32. */
  readonly cookieLen: number;
  /** Cookie-reply nonce length: 24 (XChaCha20-Poly1305) or 16 (AES-256-GCM IV). */
  readonly cookieNonceLen: number;
  /** 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s' or 'Noise_IKpsk2_SECP256R1_AesGcm_SHA256'. */
  readonly construction: string;
  /** 'WireGuard v1 zx2c4 Jason@zx2c4.com' or 'WolfGuard v1 info@wolfssl.com'. */
  readonly identifier: string;
  /** HASH(parts concatenated) → 32 bytes (BLAKE2s-256 / SHA-256). */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** HMAC(key, parts concatenated) → 32 bytes (HMAC-BLAKE2s / HMAC-SHA256). */
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** The mac1/mac2 MAC: keyed BLAKE2s with 16-byte output (key = 32 bytes) / HMAC-SHA256. Returns macLen bytes. */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** A new 32-byte private key (clamped for X25519; a valid P-256 scalar for fips). */
  generatePrivateKey(): Uint8Array;
  /** Public key of a private key; throws RangeError on an invalid private key. */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** Diffie-Hellman; null when the public key is invalid or the shared secret is all zeros (never throws). Shared secret 32 bytes (P-256: X coordinate). */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  /** Handshake AEAD: nonce from `counter` in the suite's layout (standard: 4 zero bytes ‖ counter u64 LE; fips: 4 zero ‖ counter u64 LE ‖ 4 zero, 16-byte IV). Returns ciphertext‖tag(16). */
  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Inverse of seal; null on authentication failure or too-short input. */
  open(key: Uint8Array, counter: number, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /**
   * Transport data (no AAD): encrypt src[srcOff, srcOff+len) to dst[dstOff, dstOff+len+16) (ciphertext then tag). Must work in place (src===dst, srcOff===dstOff). counter is an integer 0 ≤ counter < 2^53.
   * `handle`, when given, is `key`'s handle from {@link keyHandle}: the suite then uses its cipher state directly.
   */
  sealInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number,
    handle?: WgKeyHandle | null): void;
  /** Decrypt src[srcOff, srcOff+lenWithTag) into dst[dstOff, dstOff+lenWithTag-16); false on authentication failure (dst contents then unspecified). Must work in place. `handle` as for {@link sealInto}. */
  openInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, lenWithTag: number, dst: Uint8Array, dstOff: number,
    handle?: WgKeyHandle | null): boolean;
  /**
   * Optional: the cipher state of a transport key (the fips suite: its
   * AES-256-GCM context, key schedule expanded once), made when a keypair
   * is installed and owned by it, so the data path finds it without looking
   * at the key bytes. The key must not change while the handle lives;
   * {@link freeKeyHandle} wipes it when the keypair is dropped. Suites
   * without per-key state (standard) have none.
   */
  keyHandle?(key: Uint8Array): WgKeyHandle;
  /** Wipe and release a handle from {@link keyHandle}; it must not be used afterwards. */
  freeKeyHandle?(handle: WgKeyHandle): void;
  /**
   * Optional: forget any cipher state derived from a transport key (called
   * when its keypair is dropped, after which the key bytes are wiped). The
   * fips suite keeps an AES-GCM context per key; the standard suite keeps none.
   */
  dropKey?(key: Uint8Array): void;
  /** Cookie-reply AEAD (standard: XChaCha20-Poly1305 with 24-byte nonce; fips: AES-256-GCM with the 16-byte random IV). Returns sealed cookie (cookieLen+16). */
  sealCookie(key: Uint8Array, nonce: Uint8Array, cookie: Uint8Array, aad: Uint8Array): Uint8Array;
  openCookie(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /** Cryptographically random bytes. */
  randomBytes(n: number): Uint8Array;
}

const ONE = Uint8Array.of(1);

/**
 * Noise KDF_n (HKDF shape): PRK = HMAC(ck, input); T1 = HMAC(PRK, 0x01);
 * T2 = HMAC(PRK, T1‖0x02); T3 = HMAC(PRK, T2‖0x03). Returns n 32-byte outputs.
 */
export function kdf(suite: WgSuite, chainingKey: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  const prk = suite.hmac(chainingKey, input);
  const out: Uint8Array[] = [suite.hmac(prk, ONE)];
  for (let i = 1; i < n; i++) out.push(suite.hmac(prk, out[i - 1], Uint8Array.of(i + 1)));
  return out;
}

/** AEAD tag length of both suites. */
export const TAG_LEN = 16;

/** Largest transport counter {@link WgSuite.sealInto} accepts (2^53 − 1). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** True for an integer counter in [0, 2^53). */
export function validCounter(counter: number): boolean {
  return Number.isInteger(counter) && counter >= 0 && counter <= MAX_COUNTER;
}

/**
 * Write `counter` as a 64-bit little-endian integer at `off`. The two halves
 * are split arithmetically because bitwise operators truncate to 32 bits.
 */
export function writeCounterLE(b: Uint8Array, off: number, counter: number): void {
  const lo = counter % 0x1_0000_0000;
  const hi = (counter - lo) / 0x1_0000_0000;
  b[off] = lo & 0xff;
  b[off + 1] = (lo >>> 8) & 0xff;
  b[off + 2] = (lo >>> 16) & 0xff;
  b[off + 3] = lo >>> 24;
  b[off + 4] = hi & 0xff;
  b[off + 5] = (hi >>> 8) & 0xff;
  b[off + 6] = (hi >>> 16) & 0xff;
  b[off + 7] = hi >>> 24;
}

/** Throws a RangeError unless [off, off+len) lies inside `b`. */
export function checkRange(b: Uint8Array, off: number, len: number, what: string): void {
  if (!(Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 && off + len <= b.length)) {
    throw new RangeError(`${what}: range [${off}, ${off}+${len}) outside a buffer of ${b.length} bytes`);
  }
}

/** Throws a RangeError unless `b` has exactly `n` bytes. */
export function checkLength(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
}

/** True when every byte is zero; runs over all bytes so the time does not depend on the data. */
export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i];
  return acc === 0;
}
