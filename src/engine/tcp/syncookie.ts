/**
 * SYN cookies (RFC 4987 3.6), laid out as Linux's (net/ipv4/syncookies.c):
 * a listener whose request queue is full answers a SYN with a SYN-ACK whose
 * ISN encodes what it must remember, and keeps no state. The third segment
 * of the handshake brings the cookie back as `ack - 1` and the connection is
 * rebuilt from it.
 *
 *   ISN = H1(4-tuple) + peerISN + (count << 24) + ((H2(4-tuple, count) + mssIndex) mod 2^24)
 *
 * `count` is a coarse clock (one tick a minute); a cookie is accepted while
 * the count it carries is the current one or the one before (valid 1 to 2
 * minutes, as Linux's MAX_SYNCOOKIE_AGE). The MSS is one of four values
 * (Linux's IPv4 msstab). When the peer sent timestamps, the low 6 bits of our
 * TSval carry its window scale and SACK permission (Linux's
 * `cookie_init_timestamp`), and come back in the TSecr of the ACK; without
 * timestamps a cookie connection has neither window scaling nor SACK.
 *
 * H1 and H2 are HalfSipHash-2-4 (the 32-bit SipHash variant, 64-bit key),
 * each with its own key drawn from the stack's random source at construction:
 * a keyed PRF, so an attacker who sees cookies for its own addresses learns
 * nothing about those of other 4-tuples, and one who forges an ACK must guess
 * 24 bits (of which only 4 values of the low field decode to an MSS index)
 * plus the count byte: about 2^-29 per try. Linux keys SipHash with 128 bits;
 * 2 x 64 bits is enough against on-line guessing, the only attack that the
 * 2-minute lifetime leaves. All arithmetic is on 32-bit integers in locals:
 * nothing is allocated per segment.
 */
import type { EngineContext } from '../context.js';

/** MSS values a cookie can encode (Linux's IPv4 msstab), smallest first. */
export const COOKIE_MSS = [536, 1300, 1440, 1460] as const;
/** The same over IPv6 (Linux's msstab for IPv6: 1280, 1480, 1500 and 9000 byte paths less 60). */
export const COOKIE_MSS6 = [1220, 1420, 1440, 8940] as const;
/** One count tick, ms. */
export const COOKIE_TICK_MS = 60_000;
/** Counts a cookie stays valid for (the current and the previous one). */
const MAX_AGE = 2;
const COOKIE_BITS = 24;
const COOKIE_MASK = (1 << COOKIE_BITS) - 1;

/** Low TSval bits carrying options (Linux's TSBITS). */
export const TS_BITS = 6;
const TS_MASK = (1 << TS_BITS) - 1;
/** Window scale field value meaning "no window scaling". */
const TS_NO_WSCALE = 0xf;
const TS_SACK = 1 << 4;

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** HalfSipHash-2-4 of four 32-bit words under the key (k0, k1). */
function halfSipHash(k0: number, k1: number, m0: number, m1: number, m2: number, m3: number): number {
  let v0 = k0;
  let v1 = k1;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let i = 0; i < 5; i++) {
    // Four message words, then the length word (16 bytes << 24), then finalization.
    const m = i === 0 ? m0 : i === 1 ? m1 : i === 2 ? m2 : i === 3 ? m3 : (16 << 24);
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 4; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  return (v1 ^ v3) | 0;
}

/**
 * HalfSipHash-2-4 of `n` 32-bit words under the key (k0, k1): the IPv6
 * cookie hashes the whole 4-tuple (two 16-byte addresses, the ports, the count).
 */
function halfSipHashN(k0: number, k1: number, m: Int32Array, n: number): number {
  let v0 = k0;
  let v1 = k1;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let i = 0; i <= n; i++) {
    // The message words, then the length word ((4n bytes) << 24).
    const w = i < n ? m[i] : ((4 * n) << 24);
    v3 ^= w;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
    }
    v0 ^= w;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 4; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  return (v1 ^ v3) | 0;
}

/** Index into {@link COOKIE_MSS} of the largest value not above the peer's MSS (0 when below them all). */
export function cookieMssIndex(peerMss: number, table: readonly number[] = COOKIE_MSS): number {
  let i = table.length - 1;
  while (i > 0 && peerMss < table[i]) i--;
  return i;
}

export class SynCookies {
  /** The hash keys (H1: 0-1, H2: 2-3); shared with a link's SYN responder (syn-responder.ts). */
  readonly key = new Int32Array(4);
  /** The IPv6 hash input: local address, remote address, ports, count (10 words). */
  private readonly words6 = new Int32Array(10);

  constructor(private readonly ctx: EngineContext) {
    for (let i = 0; i < 4; i++) this.key[i] = ctx.random32();
  }

  /** The current count (minutes of the stack's clock, 8 bits are kept). */
  count(): number {
    return Math.floor(this.ctx.now / COOKIE_TICK_MS) & 0xff;
  }

  /** Our ISN for a SYN from (raddr, rport) to (laddr, lport) with sequence `peerIsn`. */
  make(laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, mssIndex: number): number {
    const k = this.key;
    const ports = (lport << 16) | rport;
    const count = this.count();
    const h1 = halfSipHash(k[0], k[1], laddr, raddr, ports, 0);
    const h2 = halfSipHash(k[2], k[3], laddr, raddr, ports, count);
    return (h1 + peerIsn + (count << COOKIE_BITS) + ((h2 + mssIndex) & COOKIE_MASK)) | 0;
  }

  /** The 10 hash words of an IPv6 4-tuple, count last (filled by {@link make6}/{@link check6}). */
  private tuple6(l: Uint8Array, lo: number, r: Uint8Array, ro: number, lport: number, rport: number): Int32Array {
    const w = this.words6;
    for (let i = 0; i < 4; i++) {
      const a = lo + 4 * i;
      const b = ro + 4 * i;
      w[i] = (l[a] << 24) | (l[a + 1] << 16) | (l[a + 2] << 8) | l[a + 3];
      w[4 + i] = (r[b] << 24) | (r[b + 1] << 16) | (r[b + 2] << 8) | r[b + 3];
    }
    w[8] = (lport << 16) | rport;
    return w;
  }

  /** {@link make} for IPv6: the hashes cover both 16-byte addresses (`l[lo]` ours, `r[ro]` the peer's). */
  make6(l: Uint8Array, lo: number, r: Uint8Array, ro: number, lport: number, rport: number, peerIsn: number,
    mssIndex: number): number {
    const k = this.key;
    const w = this.tuple6(l, lo, r, ro, lport, rport);
    const count = this.count();
    w[9] = 0;
    const h1 = halfSipHashN(k[0], k[1], w, 10);
    w[9] = count;
    const h2 = halfSipHashN(k[2], k[3], w, 10);
    return (h1 + peerIsn + (count << COOKIE_BITS) + ((h2 + mssIndex) & COOKIE_MASK)) | 0;
  }

  /** {@link check} for IPv6. */
  check6(l: Uint8Array, lo: number, r: Uint8Array, ro: number, lport: number, rport: number, peerIsn: number,
    cookie: number): number {
    const k = this.key;
    const w = this.tuple6(l, lo, r, ro, lport, rport);
    w[9] = 0;
    const h1 = halfSipHashN(k[0], k[1], w, 10);
    const c = (cookie - h1 - peerIsn) | 0;
    const count = this.count();
    const diff = (count - (c >>> COOKIE_BITS)) & 0xff;
    if (diff >= MAX_AGE) return -1;
    w[9] = (count - diff) & 0xff;
    const h2 = halfSipHashN(k[2], k[3], w, 10);
    const mssIndex = (c - h2) & COOKIE_MASK;
    return mssIndex < COOKIE_MSS.length ? mssIndex : -1;
  }

  /**
   * Check a cookie (`ack - 1` of the third segment, `peerIsn` = its `seq - 1`).
   * Returns the MSS index it encodes, or -1 when it is forged or expired.
   */
  check(laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, cookie: number): number {
    const k = this.key;
    const ports = (lport << 16) | rport;
    const h1 = halfSipHash(k[0], k[1], laddr, raddr, ports, 0);
    const c = (cookie - h1 - peerIsn) | 0;
    const count = this.count();
    const diff = (count - (c >>> COOKIE_BITS)) & 0xff;
    if (diff >= MAX_AGE) return -1;
    const h2 = halfSipHash(k[2], k[3], laddr, raddr, ports, (count - diff) & 0xff);
    const mssIndex = (c - h2) & COOKIE_MASK;
    return mssIndex < COOKIE_MSS.length ? mssIndex : -1;
  }
}

/**
 * TSval of a cookie SYN-ACK: `tsNow` with its low bits replaced by the
 * options (window scale or 0xf for none, SACK bit), never ahead of `tsNow`.
 */
export function cookieTsVal(tsNow: number, peerWscale: number, sack: boolean): number {
  let opts = peerWscale >= 0 ? peerWscale : TS_NO_WSCALE;
  if (sack) opts |= TS_SACK;
  let ts = (tsNow & ~TS_MASK) | opts;
  if (((ts - tsNow) | 0) > 0) ts = (ts - (1 << TS_BITS)) | 0;
  return ts | 0;
}

/** Window scale a cookie's echoed TSval carries: -1 for none, -2 when the field is invalid. */
export function cookieTsWscale(tsEcr: number): number {
  const ws = tsEcr & 0xf;
  if (ws === TS_NO_WSCALE) return -1;
  return ws > 14 ? -2 : ws;
}

/** SACK permission a cookie's echoed TSval carries. */
export function cookieTsSack(tsEcr: number): boolean {
  return (tsEcr & TS_SACK) !== 0;
}
