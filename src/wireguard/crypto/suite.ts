/**
 * The one crypto interface of the WireGuard driver: a suite bundles the
 * primitives of a Noise_IKpsk2 instantiation. Implementations (standard
 * WireGuard, FIPS "wolfGuard") live beside this file, at the Node edge.
 */
export type SuiteName = 'standard' | 'fips';
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
  /** Transport data (no AAD): encrypt src[srcOff, srcOff+len) to dst[dstOff, dstOff+len+16) (ciphertext then tag). Must work in place (src===dst, srcOff===dstOff). counter is an integer 0 ≤ counter < 2^53. */
  sealInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): void;
  /** Decrypt src[srcOff, srcOff+lenWithTag) into dst[dstOff, dstOff+lenWithTag-16); false on authentication failure (dst contents then unspecified). Must work in place. */
  openInto(key: Uint8Array, counter: number, src: Uint8Array, srcOff: number, lenWithTag: number, dst: Uint8Array, dstOff: number): boolean;
  /** Cookie-reply AEAD (standard: XChaCha20-Poly1305 with 24-byte nonce; fips: AES-256-GCM with the 16-byte random IV). Returns sealed cookie (cookieLen+16). */
  sealCookie(key: Uint8Array, nonce: Uint8Array, cookie: Uint8Array, aad: Uint8Array): Uint8Array;
  openCookie(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /** Cryptographically random bytes. */
  randomBytes(n: number): Uint8Array;
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** Noise KDF_n (HKDF shape): PRK = HMAC(ck, input); T1 = HMAC(PRK, 0x01); T2 = HMAC(PRK, T1‖0x02); T3 = HMAC(PRK, T2‖0x03). Returns n 32-byte outputs. */
export function kdf(suite: WgSuite, chainingKey: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  const prk = suite.hmac(chainingKey, input);
  const t1 = suite.hmac(prk, ONE);
  if (n === 1) {
    prk.fill(0);
    return [t1];
  }
  const t2 = suite.hmac(prk, t1, TWO);
  if (n === 2) {
    prk.fill(0);
    return [t1, t2];
  }
  const t3 = suite.hmac(prk, t2, THREE);
  prk.fill(0);
  return [t1, t2, t3];
}
