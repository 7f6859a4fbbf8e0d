/**
 * ESP algorithms by their Linux XFRM names, as `ip xfrm state` and
 * strongSwan users know them, resolved to the parameters the ESP transform
 * needs (RFC 4106, RFC 4543, RFC 3602, RFC 4868, RFC 2404, RFC 2410).
 */

/** Encryption kinds. */
export const ENC_NULL = 0;
export const ENC_CBC = 1;
export const ENC_GCM = 2;
export const ENC_GMAC = 3;

/** Integrity kinds (combined-mode suites carry their own: AUTH_NONE). */
export const AUTH_NONE = 0;
export const AUTH_HMAC = 1;

/** Everything the ESP transform needs to know about a suite. */
export interface EspSuite {
  enc: number;
  auth: number;
  /** node:crypto-style cipher name ('aes-128-gcm', 'aes-256-cbc'), '' for null encryption. */
  cipher: string;
  /** Hash of the HMAC ('sha1', 'sha256', ...), '' for combined-mode suites. */
  hash: string;
  encKeyLen: number;
  authKeyLen: number;
  /** Implicit nonce bytes taken from the end of the AEAD key (RFC 4106 3.1: 4). */
  saltLen: number;
  /** Explicit IV bytes carried in every packet. */
  ivLen: number;
  /** Alignment of (payload + pad + 2): the cipher block, at least 4 (RFC 4303 2.4). */
  block: number;
  icvLen: number;
  /** XFRM names, for display and export. */
  encName: string;
  authName: string;
}

/** How a user names a suite: XFRM names and hex keys, as in `ip xfrm state add`. */
export interface AlgorithmSpec {
  /** Combined mode: 'rfc4106(gcm(aes))' or 'rfc4543(gcm(aes))'; key = AES key + 4-byte salt. */
  aead?: { name: string; key: string; icvBits?: number };
  /** 'cbc(aes)', or 'ecb(cipher_null)' / 'cipher_null' / 'null' for RFC 2410 null encryption. */
  enc?: { name: string; key?: string };
  /** 'hmac(sha1)', 'hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)'; truncBits defaults to RFC 4868 / RFC 2404 values. */
  auth?: { name: string; key: string; truncBits?: number };
}

const HMACS: Record<string, { hash: string; trunc: number; keyLens: number[] }> = {
  // RFC 2404: HMAC-SHA-1-96; RFC 4868: HMAC-SHA-256-128 / 384-192 / 512-256 (keys of the hash's output size).
  'hmac(sha1)': { hash: 'sha1', trunc: 96, keyLens: [20] },
  'hmac(sha256)': { hash: 'sha256', trunc: 128, keyLens: [32] },
  'hmac(sha384)': { hash: 'sha384', trunc: 192, keyLens: [48] },
  'hmac(sha512)': { hash: 'sha512', trunc: 256, keyLens: [64] },
};

const NULL_NAMES = new Set(['ecb(cipher_null)', 'cipher_null', 'null']);

/** Parse a hex key ('0x...' or bare, ':' and spaces allowed); throws a RangeError naming `what`. */
export function parseHexKey(text: string, what: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a hex string`);
  let h = text.trim().replace(/[\s:]/g, '');
  if (h.startsWith('0x') || h.startsWith('0X')) h = h.slice(2);
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError(`${what} is not an even-length hex string`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The resolved suite and its key material. */
export interface ResolvedAlgorithms {
  suite: EspSuite;
  encKey: Uint8Array;
  authKey: Uint8Array;
  salt: Uint8Array;
}

/**
 * Validate an algorithm spec and split its keys. Refuses encryption without
 * integrity (RFC 8221) and anything not implemented, naming the problem.
 */
export function resolveAlgorithms(spec: AlgorithmSpec): ResolvedAlgorithms {
  if (spec.aead !== undefined) {
    if (spec.enc !== undefined || spec.auth !== undefined) throw new RangeError('give either aead, or enc with auth, not both');
    const name = spec.aead.name;
    const gmac = name === 'rfc4543(gcm(aes))';
    if (name !== 'rfc4106(gcm(aes))' && !gmac) {
      throw new RangeError(`unsupported aead '${name}' (rfc4106(gcm(aes)) or rfc4543(gcm(aes)))`);
    }
    const key = parseHexKey(spec.aead.key, `${name} key`);
    const aesLen = key.length - 4;
    if (aesLen !== 16 && aesLen !== 24 && aesLen !== 32) {
      throw new RangeError(`${name} key must be a 128/192/256-bit AES key followed by a 4-byte salt (20/28/36 bytes), got ${key.length}`);
    }
    const icvBits = spec.aead.icvBits ?? 128;
    // RFC 4106 allows 8/12/16-byte ICVs; RFC 4543 fixes 16.
    if (!(icvBits === 128 || (!gmac && (icvBits === 64 || icvBits === 96)))) {
      throw new RangeError(`${name} ICV must be ${gmac ? '128' : '64, 96 or 128'} bits, got ${icvBits}`);
    }
    return {
      suite: {
        enc: gmac ? ENC_GMAC : ENC_GCM, auth: AUTH_NONE, cipher: `aes-${aesLen * 8}-gcm`, hash: '',
        encKeyLen: aesLen, authKeyLen: 0, saltLen: 4, ivLen: 8, block: 4, icvLen: icvBits / 8,
        encName: name, authName: '',
      },
      encKey: key.slice(0, aesLen), authKey: new Uint8Array(0), salt: key.slice(aesLen),
    };
  }
  if (spec.auth === undefined) throw new RangeError('an SA needs integrity: give aead, or auth (with enc, or null encryption)');
  const h = HMACS[spec.auth.name];
  if (h === undefined) throw new RangeError(`unsupported auth '${spec.auth.name}' (${Object.keys(HMACS).join(', ')})`);
  const authKey = parseHexKey(spec.auth.key, `${spec.auth.name} key`);
  if (!h.keyLens.includes(authKey.length)) {
    throw new RangeError(`${spec.auth.name} key must be ${h.keyLens.join('/')} bytes, got ${authKey.length}`);
  }
  const trunc = spec.auth.truncBits ?? h.trunc;
  if (trunc !== h.trunc) throw new RangeError(`${spec.auth.name} truncation must be ${h.trunc} bits, got ${trunc}`);
  const encName = spec.enc?.name ?? 'ecb(cipher_null)';
  let enc = ENC_NULL;
  let cipher = '';
  let encKey: Uint8Array = new Uint8Array(0);
  let ivLen = 0;
  let block = 4;
  if (encName === 'cbc(aes)') {
    encKey = parseHexKey(spec.enc?.key ?? '', 'cbc(aes) key');
    if (encKey.length !== 16 && encKey.length !== 24 && encKey.length !== 32) {
      throw new RangeError(`cbc(aes) key must be 16, 24 or 32 bytes, got ${encKey.length}`);
    }
    enc = ENC_CBC;
    cipher = `aes-${encKey.length * 8}-cbc`;
    ivLen = 16;
    block = 16;
  } else if (!NULL_NAMES.has(encName)) {
    throw new RangeError(`unsupported enc '${encName}' (cbc(aes) or ecb(cipher_null))`);
  } else if (spec.enc?.key !== undefined && parseHexKey(spec.enc.key, 'null key').length !== 0) {
    throw new RangeError('null encryption takes no key');
  }
  return {
    suite: {
      enc, auth: AUTH_HMAC, cipher, hash: h.hash, encKeyLen: encKey.length, authKeyLen: authKey.length,
      saltLen: 0, ivLen, block, icvLen: trunc / 8, encName: enc === ENC_NULL ? 'ecb(cipher_null)' : encName,
      authName: spec.auth.name,
    },
    encKey, authKey, salt: new Uint8Array(0),
  };
}

/** The most an ESP suite can add to a packet: header, IV, pad, trailer, ICV. */
export function suiteOverhead(s: EspSuite): number {
  return 8 + s.ivLen + (s.block - 1) + 2 + s.icvLen;
}

/** Upper bound over every suite plus a UDP encapsulation header (RFC 3948): 8+8+16+15+2+32. */
export const ESP_MAX_OVERHEAD = 88;
