/**
 * Handshake message layouts. Both suites share the field order; only the
 * public key, MAC and cookie sizes differ (32/16/16 bytes for standard
 * WireGuard, 65/32/32 for the FIPS suite), so offsets are computed once per
 * suite. Integers are little-endian and the type byte is followed by three
 * reserved zero bytes.
 */
import type { WgSuite } from './crypto/suite.js';
import { TAG_LEN } from './constants.js';

/** TAI64N timestamp length. */
export const TIMESTAMP_LEN = 12;

export class MessageLayout {
  readonly pub: number;
  readonly mac: number;
  // Initiation.
  readonly initEphemeral = 8;
  readonly initStatic: number;
  readonly initTimestamp: number;
  readonly initMac1: number;
  readonly initMac2: number;
  readonly initLen: number;
  // Response.
  readonly respEphemeral = 12;
  readonly respEmpty: number;
  readonly respMac1: number;
  readonly respMac2: number;
  readonly respLen: number;
  // Cookie reply.
  readonly cookieNonce = 8;
  readonly cookieSealed: number;
  readonly cookieLen: number;

  constructor(suite: WgSuite) {
    const p = suite.publicKeyLen;
    const m = suite.macLen;
    this.pub = p;
    this.mac = m;
    this.initStatic = 8 + p;
    this.initTimestamp = this.initStatic + p + TAG_LEN;
    this.initMac1 = this.initTimestamp + TIMESTAMP_LEN + TAG_LEN;
    this.initMac2 = this.initMac1 + m;
    this.initLen = this.initMac2 + m;
    this.respEmpty = 12 + p;
    this.respMac1 = this.respEmpty + TAG_LEN;
    this.respMac2 = this.respMac1 + m;
    this.respLen = this.respMac2 + m;
    this.cookieSealed = 8 + suite.cookieNonceLen;
    this.cookieLen = this.cookieSealed + suite.cookieLen + TAG_LEN;
  }
}

export function readU32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function writeU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Write a message type with its three reserved zero bytes. */
export function writeType(b: Uint8Array, o: number, type: number): void {
  b[o] = type;
  b[o + 1] = 0;
  b[o + 2] = 0;
  b[o + 3] = 0;
}

/** A 64-bit little-endian counter as a double; values above 2^53 come back as Infinity (never valid). */
export function readCounter(b: Uint8Array, o: number): number {
  const lo = readU32le(b, o);
  const hi = readU32le(b, o + 4);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x100000000 + lo;
}

export function writeCounter(b: Uint8Array, o: number, v: number): void {
  writeU32le(b, o, v >>> 0);
  writeU32le(b, o + 4, Math.floor(v / 0x100000000));
}
