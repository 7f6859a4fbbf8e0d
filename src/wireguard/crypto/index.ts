/**
 * Suite selection and key text. A suite is chosen per device; the public key
 * length tells which one a configured peer key belongs to (32: X25519,
 * 65: P-256).
 */
import { fipsSuite } from './fips.js';
import { standardSuite } from './standard.js';
import type { SuiteName, WgSuite } from './suite.js';

export { kdf, type SuiteName, type WgSuite } from './suite.js';
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
export function suiteForPublicKeyLength(n: number): SuiteName | null {
  if (n === standardSuite.publicKeyLen) return 'standard';
  if (n === fipsSuite.publicKeyLen) return 'fips';
  return null;
}

/** Standard base64 with padding, as `wg genkey` prints keys. */
export function encodeKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode a key from base64, strictly: standard alphabet, padded, no
 * whitespace, canonical (unused trailing bits zero), and `lengths` bytes
 * long (32 or 65 by default: every key of both suites). `what` names the key
 * in the error, e.g. "peer public key".
 */
export function decodeKey(text: string, what: string, lengths: readonly number[] = [32, 65]): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new RangeError(`${what}: not a base64 key (standard alphabet with '=' padding expected)`);
  }
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) {
    throw new RangeError(`${what}: not canonical base64`);
  }
  if (!lengths.includes(buf.length)) {
    throw new RangeError(`${what}: decodes to ${buf.length} bytes, expected ${lengths.join(' or ')}`);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length).slice();
}
