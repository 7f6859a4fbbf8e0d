/**
 * mac1, mac2 and cookie replies: WireGuard's defence against handshake
 * floods (paper section 5.4.7). mac1 proves the sender knows our public key;
 * under load a responder also demands mac2, keyed with a cookie bound to the
 * sender's IP address and port that only a real round trip can obtain.
 */
import { timingSafeEqual } from 'node:crypto';
import type { WgSuite } from './crypto/suite.js';
import { COOKIE_SECRET_MAX_AGE, COOKIE_USABLE_AGE, LABEL_COOKIE, LABEL_MAC1, MSG_COOKIE_REPLY } from './constants.js';
import { type MessageLayout, writeType, writeU32le } from './messages.js';

/** What {@link CookieChecker.check} found. */
export const enum MacState {
  InvalidMac1 = 0,
  ValidMac1 = 1,
  ValidMac2 = 2,
}

/**
 * Whether `msg[off .. off+mac.length)` equals the computed `mac` (macLen
 * bytes, as suite.mac returns), in constant time (crypto.timingSafeEqual):
 * a timing difference would let a sender find a valid mac byte by byte.
 */
function macMatches(msg: Uint8Array, off: number, mac: Uint8Array): boolean {
  return timingSafeEqual(msg.subarray(off, off + mac.length), mac);
}

/** The source as Linux's cookie.c hashes it: the address (4 or 16 bytes) then the port, network order. */
function sourceBytes(addr: number, port: number, addr6: Uint8Array | null): Uint8Array {
  if (addr6 === null) return Uint8Array.of(addr >>> 24, addr >>> 16, addr >>> 8, addr, port >>> 8, port);
  const b = new Uint8Array(18);
  b.set(addr6.subarray(0, 16));
  b[16] = port >>> 8;
  b[17] = port;
  return b;
}

/** The receiving side: verifies macs of incoming handshake messages and makes cookie replies. */
export class CookieChecker {
  private mac1Key: Uint8Array;
  private cookieKey: Uint8Array;
  private secret: Uint8Array;
  private secretBirth = -Infinity;

  constructor(private readonly suite: WgSuite, publicKey: Uint8Array) {
    this.mac1Key = suite.hash(LABEL_MAC1, publicKey);
    this.cookieKey = suite.hash(LABEL_COOKIE, publicKey);
    this.secret = new Uint8Array(32);
  }

  /** Re-key for a new static identity (private key changed). */
  setPublicKey(publicKey: Uint8Array): void {
    this.mac1Key = this.suite.hash(LABEL_MAC1, publicKey);
    this.cookieKey = this.suite.hash(LABEL_COOKIE, publicKey);
  }

  private cookieFor(addr: number, port: number, now: number, addr6: Uint8Array | null): Uint8Array {
    if (now - this.secretBirth >= COOKIE_SECRET_MAX_AGE) {
      this.secret = this.suite.randomBytes(32);
      this.secretBirth = now;
    }
    return this.suite.mac(this.secret, sourceBytes(addr, port, addr6));
  }

  /**
   * Check mac1 (and, when `checkMac2`, mac2 against the cookie of the
   * sender's address) of the message `msg[0 .. mac1Offset + 2·macLen)`.
   * `addr6`: the sender's IPv6 address (16 bytes) instead of the IPv4 `addr`.
   */
  check(msg: Uint8Array, mac1Offset: number, addr: number, port: number, now: number, checkMac2: boolean,
    addr6: Uint8Array | null = null): MacState {
    const m = this.suite.macLen;
    const mac1 = this.suite.mac(this.mac1Key, msg.subarray(0, mac1Offset));
    if (!macMatches(msg, mac1Offset, mac1)) return MacState.InvalidMac1;
    if (!checkMac2) return MacState.ValidMac1;
    // A cookie is only valid from the secret it was made with; an expired secret makes every mac2 stale.
    if (now - this.secretBirth >= COOKIE_SECRET_MAX_AGE) return MacState.ValidMac1;
    const cookie = this.cookieFor(addr, port, now, addr6);
    const mac2 = this.suite.mac(cookie, msg.subarray(0, mac1Offset + m));
    return macMatches(msg, mac1Offset + m, mac2) ? MacState.ValidMac2 : MacState.ValidMac1;
  }

  /** Write a cookie reply to the message `msg` (sender index at offset 4) into `out`; returns its length. */
  createReply(layout: MessageLayout, msg: Uint8Array, mac1Offset: number, addr: number, port: number, now: number,
    out: Uint8Array, addr6: Uint8Array | null = null): number {
    const s = this.suite;
    writeType(out, 0, MSG_COOKIE_REPLY);
    writeU32le(out, 4, msg[4] | (msg[5] << 8) | (msg[6] << 16) | (msg[7] << 24));
    const nonce = s.randomBytes(s.cookieNonceLen);
    out.set(nonce, layout.cookieNonce);
    const cookie = this.cookieFor(addr, port, now, addr6);
    const sealed = s.sealCookie(this.cookieKey, nonce, cookie, msg.slice(mac1Offset, mac1Offset + s.macLen));
    out.set(sealed, layout.cookieSealed);
    return layout.cookieLen;
  }
}

/** The sending side, one per peer: adds macs to our handshake messages and keeps the peer's cookie. */
export class CookieMaker {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private cookie: Uint8Array | null = null;
  private cookieBirth = -Infinity;
  private readonly lastMac1: Uint8Array;
  private haveSentMac1 = false;

  constructor(private readonly suite: WgSuite, peerPublicKey: Uint8Array) {
    this.mac1Key = suite.hash(LABEL_MAC1, peerPublicKey);
    this.cookieKey = suite.hash(LABEL_COOKIE, peerPublicKey);
    this.lastMac1 = new Uint8Array(suite.macLen);
  }

  /** Fill mac1 and mac2 of a message whose macs start at `mac1Offset`. */
  addMacs(msg: Uint8Array, mac1Offset: number, now: number): void {
    const s = this.suite;
    const m = s.macLen;
    const mac1 = s.mac(this.mac1Key, msg.subarray(0, mac1Offset));
    msg.set(mac1, mac1Offset);
    this.lastMac1.set(mac1);
    this.haveSentMac1 = true;
    if (this.cookie !== null && now - this.cookieBirth < COOKIE_USABLE_AGE) {
      msg.set(s.mac(this.cookie, msg.subarray(0, mac1Offset + m)), mac1Offset + m);
    } else {
      msg.fill(0, mac1Offset + m, mac1Offset + 2 * m);
    }
  }

  /** Take the cookie from a reply to our last message; false when it does not authenticate. */
  consumeReply(layout: MessageLayout, msg: Uint8Array, now: number): boolean {
    if (!this.haveSentMac1) return false;
    const s = this.suite;
    const nonce = msg.subarray(layout.cookieNonce, layout.cookieNonce + s.cookieNonceLen);
    const sealed = msg.subarray(layout.cookieSealed, layout.cookieLen);
    const cookie = s.openCookie(this.cookieKey, nonce, sealed, this.lastMac1);
    if (cookie === null) return false;
    this.cookie = cookie;
    this.cookieBirth = now;
    // One reply per message: a second copy must not refresh the cookie's age.
    this.haveSentMac1 = false;
    return true;
  }

  /** True while a cookie from the peer is fresh enough to send mac2. */
  hasCookie(now: number): boolean {
    return this.cookie !== null && now - this.cookieBirth < COOKIE_USABLE_AGE;
  }
}
