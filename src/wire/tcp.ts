/** TCP header (RFC 9293) and options (MSS, window scale, SACK, timestamps) read and written in place. */
import { get16, set16, get32, set32 } from './bytes.js';
import { sum16, sum6, finish, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';

export const TCP_MIN_HLEN = 20;
export const TCP_MAX_HLEN = 60;
export const TCP_SPORT = 0;
export const TCP_DPORT = 2;
export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_OFF = 12;
export const TCP_FLAGS = 13;
export const TCP_WIN = 14;
export const TCP_CSUM = 16;
export const TCP_URG = 18;

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

export function tcpSrcPort(b: Uint8Array, o: number): number { return get16(b, o + TCP_SPORT); }
export function tcpDstPort(b: Uint8Array, o: number): number { return get16(b, o + TCP_DPORT); }
export function tcpSeq(b: Uint8Array, o: number): number { return get32(b, o + TCP_SEQ); }
export function tcpAck(b: Uint8Array, o: number): number { return get32(b, o + TCP_ACK); }
/** Header length in bytes (data offset * 4). */
export function tcpHeaderLen(b: Uint8Array, o: number): number { return (b[o + TCP_OFF] >>> 4) << 2; }
export function tcpFlags(b: Uint8Array, o: number): number { return b[o + TCP_FLAGS]; }
export function tcpWindow(b: Uint8Array, o: number): number { return get16(b, o + TCP_WIN); }

/** True when the checksum over pseudo-header + segment (`len` bytes) is correct. */
export function tcpChecksumOk(b: Uint8Array, o: number, len: number, src: number, dst: number): boolean {
  return finish(sum16(b, o, len, pseudoHeaderSum(src, dst, IPPROTO_TCP, len))) === 0;
}

/** Write the fixed header; options (hlen - 20 bytes) and payload must already be in place. */
export function writeTcp(b: Uint8Array, o: number, sport: number, dport: number, seq: number, ack: number,
  hlen: number, flags: number, win: number): void {
  set16(b, o + TCP_SPORT, sport);
  set16(b, o + TCP_DPORT, dport);
  set32(b, o + TCP_SEQ, seq);
  set32(b, o + TCP_ACK, ack);
  b[o + TCP_OFF] = (hlen >>> 2) << 4;
  b[o + TCP_FLAGS] = flags;
  set16(b, o + TCP_WIN, win);
  set16(b, o + TCP_CSUM, 0);
  set16(b, o + TCP_URG, 0);
}

/** Compute and store the checksum of the segment `b[o .. o+len)`. */
export function tcpSetChecksum(b: Uint8Array, o: number, len: number, src: number, dst: number): void {
  set16(b, o + TCP_CSUM, 0);
  set16(b, o + TCP_CSUM, finish(sum16(b, o, len, pseudoHeaderSum(src, dst, IPPROTO_TCP, len))));
}

/**
 * Store the partial checksum of the segment `b[o .. o+len)`: the
 * pseudo-header sum only, folded and not inverted (Linux CHECKSUM_PARTIAL),
 * for a link that completes it over the segment (checksum offload).
 */
export function tcpSetPartialChecksum(b: Uint8Array, o: number, len: number, src: number, dst: number): void {
  let sum = pseudoHeaderSum(src, dst, IPPROTO_TCP, len);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  set16(b, o + TCP_CSUM, sum);
}

/**
 * IPv6 (RFC 8200 8.1): true when the checksum over the pseudo-header (the
 * addresses at `b[srcOff]`, `b[dstOff]`) and the segment is correct.
 */
export function tcpChecksumOk6(b: Uint8Array, o: number, len: number, srcOff: number, dstOff: number): boolean {
  return finish(sum6(b, srcOff, dstOff, o, len, IPPROTO_TCP)) === 0;
}

/** IPv6: compute and store the checksum of `b[o .. o+len)`, addresses at `b[srcOff]`, `b[dstOff]`. */
export function tcpSetChecksum6(b: Uint8Array, o: number, len: number, srcOff: number, dstOff: number): void {
  set16(b, o + TCP_CSUM, 0);
  set16(b, o + TCP_CSUM, finish(sum6(b, srcOff, dstOff, o, len, IPPROTO_TCP)));
}

/**
 * Parsed options of one segment, reused for every segment (one instance per
 * stack): fields are overwritten by {@link parseTcpOptions}.
 */
export class TcpOptions {
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  /** SACK blocks: left/right edges, `sackCount` of them (at most 4). */
  readonly sackLeft = new Int32Array(4);
  readonly sackRight = new Int32Array(4);
  sackCount = 0;

  reset(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.sackCount = 0;
  }
}

/**
 * Parse the options of the segment at `o` into `out`. Returns false when the
 * option list is malformed (a length byte that runs past the header, or a
 * known option with the wrong length): the segment is then dropped.
 */
export function parseTcpOptions(b: Uint8Array, o: number, hlen: number, out: TcpOptions): boolean {
  out.reset();
  let i = o + TCP_MIN_HLEN;
  const end = o + hlen;
  while (i < end) {
    const kind = b[i];
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = b[i + 1];
    if (len < 2 || i + len > end) return false;
    switch (kind) {
      case TCPOPT_MSS:
        if (len !== 4) return false;
        out.mss = get16(b, i + 2);
        break;
      case TCPOPT_WSCALE:
        if (len !== 3) return false;
        out.wscale = b[i + 2];
        break;
      case TCPOPT_SACK_PERMITTED:
        if (len !== 2) return false;
        out.sackPermitted = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (len !== 10) return false;
        out.hasTimestamp = true;
        out.tsVal = get32(b, i + 2);
        out.tsEcr = get32(b, i + 6);
        break;
      case TCPOPT_SACK: {
        if ((len - 2) % 8 !== 0) return false;
        const n = (len - 2) >>> 3;
        let k = 0;
        for (; k < n && k < 4; k++) {
          out.sackLeft[k] = get32(b, i + 2 + k * 8);
          out.sackRight[k] = get32(b, i + 6 + k * 8);
        }
        out.sackCount = k;
        break;
      }
      default:
        break; // unknown options are skipped by their length
    }
    i += len;
  }
  return true;
}

/** Sequence-space comparisons modulo 2^32 (RFC 9293 3.4). */
export function seqLt(a: number, b: number): boolean { return ((a - b) | 0) < 0; }
export function seqLe(a: number, b: number): boolean { return ((a - b) | 0) <= 0; }
export function seqGt(a: number, b: number): boolean { return ((a - b) | 0) > 0; }
export function seqGe(a: number, b: number): boolean { return ((a - b) | 0) >= 0; }
/** a + n modulo 2^32, as a signed int32 (see get32). */
export function seqAdd(a: number, n: number): number { return (a + n) | 0; }
/** Distance b - a modulo 2^32, as a signed 32-bit number. */
export function seqDiff(b: number, a: number): number { return (b - a) | 0; }
