/**
 * Text forms of WireGuard keys: base64 in wg-quick files, lowercase hex on
 * the UAPI socket. Decoding is strict because Node's own decoders skip bad
 * characters and accept missing padding, which would turn a typo into a
 * different key instead of an error.
 */

import type { SuiteName } from './crypto/suite.js';
export { isAllZero } from './crypto/suite.js';

/** Cipher suites: 'standard' is Noise_IKpsk2 with X25519, 'fips' swaps in P-256 (the crypto layer's SuiteName). */
export type WgSuite = SuiteName;

/** Private and preshared keys are 32 bytes in both suites. */
export const PRIVATE_KEY_BYTES = 32;
export const PRESHARED_KEY_BYTES = 32;

/** Public key size of a suite: X25519 points are 32 bytes, uncompressed P-256 points 65. */
export function publicKeyBytes(suite: WgSuite): number {
  return suite === 'fips' ? 65 : 32;
}

/** The suite a public key of this length belongs to, or null for no suite. */
export function deriveSuiteFromKeyLength(length: number): WgSuite | null {
  if (length === 32) return 'standard';
  if (length === 65) return 'fips';
  return null;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, or null when the text is not exactly that (no whitespace, no URL alphabet, canonical trailing bits). */
export function decodeBase64Strict(text: string): Uint8Array | null {
  if (!BASE64_RE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  // Non-zero unused bits in the last character decode fine but re-encode differently.
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Hex as the UAPI protocol carries keys (written lowercase; read in either case, like wireguard-go); null when malformed or not `bytes` long. */
export function decodeHexStrict(text: string, bytes: number): Uint8Array | null {
  if (text.length !== bytes * 2 || !HEX_RE.test(text)) return null;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function encodeHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0');
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
