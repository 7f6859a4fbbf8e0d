/**
 * Suite selection and key text. A suite is chosen per device; the public key
 * length tells which one a configured peer key belongs to (32: X25519,
 * 65: P-256).
 */
import { fipsSuite } from './fips.js';
import { standardSuite } from './standard.js';
import type { SuiteName, WgSuite } from './suite.js';
import { decodeBase64Strict, deriveSuiteFromKeyLength, encodeBase64 } from '../key-text.js';

export { kdf, type SuiteName, type WgKeyHandle, type WgSuite } from './suite.js';
export { standardSuite } from './standard.js';
export { fipsSuite } from './fips.js';

export function getSuite(name: SuiteName): WgSuite {
  switch (name) {
    case 'standard': return standardSuite;
    case 'fips': return fipsSuite;
    default: throw new RangeError(`unknown WireGuard suite: ${String(name)}`);
  }
}

/** The suite whose public keys have `n` bytes on the wire, or null. */
export const suiteForPublicKeyLength = deriveSuiteFromKeyLength;

/** Standard base64 with padding, as `wg genkey` prints keys. */
export const encodeKey = encodeBase64;

/**
 * Decode a key from base64, strictly: standard alphabet, padded, no
 * whitespace, canonical (unused trailing bits zero), and `lengths` bytes
 * long (32 or 65 by default: every key of both suites). `what` names the key
 * in the error, e.g. "peer public key".
 */
export function decodeKey(text: string, what: string, lengths: readonly number[] = [32, 65]): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new RangeError(`${what}: not a base64 key (standard alphabet with '=' padding expected)`);
  }
  const bytes = decodeBase64Strict(text);
  if (bytes === null) throw new RangeError(`${what}: not canonical base64`);
  if (!lengths.includes(bytes.length)) {
    throw new RangeError(`${what}: decodes to ${bytes.length} bytes, expected ${lengths.join(' or ')}`);
  }
  return bytes.slice();
}
