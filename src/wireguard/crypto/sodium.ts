/**
 * Typed access to the few sodium-native (libsodium) functions the standard
 * suite uses. sodium-native is CommonJS without type declarations; this
 * module loads it with createRequire and states the signatures we rely on.
 * Failures (a MAC that does not verify, an all-zero X25519 result) surface
 * as thrown Errors, as sodium-native reports them.
 */
import { createRequire } from 'node:module';

export interface SodiumNative {
  /** c = m ‖ tag; c.length must be m.length + 16; nonce 12 bytes, key 32. Returns c.length. */
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  /** m.length must be c.length − 16; throws when the tag does not verify. Returns m.length. */
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  /** As the IETF variant with a 24-byte nonce. */
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  /** q = X25519(n, 9); both 32 bytes. */
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  /** q = X25519(n, p); throws when the result is all zeros. */
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  randombytes_buf(buf: Uint8Array): void;
}

const require = createRequire(import.meta.url);

export const sodium = require('sodium-native') as SodiumNative;
