/**
 * The TCP options of an outgoing segment, split from output.ts (which builds
 * the rest): a SYN's (RFC 9293 3.1, RFC 2018, RFC 7323), and a synchronized
 * segment's timestamps (RFC 7323 3) and SACK blocks (sack-out.ts).
 */
import { set16, set32 } from '../../wire/bytes.js';
import {
  TCPOPT_MSS, TCPOPT_NOP, TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP, TCPOPT_WSCALE, TH_RST,
} from '../../wire/tcp.js';
import { IP_PAYLOAD_OFFSET } from '../ipv4.js';
import type { TcpCore } from './core.js';
import { writeSack } from './sack-out.js';
import { SYN_SENT, TF_SACK, TF_TS, TF_WS } from './tcb.js';

/** The options of a SYN or SYN-ACK at `p` (after the fixed header) offering `mss`, padded to 32 bits; returns the end. */
export function writeSynOptions(c: TcpCore, s: number, b: Uint8Array, p: number, mss: number): number {
  const t = c.t;
  const cfg = c.cfg;
  const tf = t.tflags[s];
  b[p] = TCPOPT_MSS; b[p + 1] = 4; set16(b, p + 2, mss); p += 4;
  const active = t.state[s] === SYN_SENT;
  if (cfg.tcpSack === 1 && (active || (tf & TF_SACK) !== 0)) {
    b[p] = TCPOPT_SACK_PERMITTED; b[p + 1] = 2; p += 2;
  }
  if (cfg.tcpTimestamps === 1 && (active || (tf & TF_TS) !== 0)) {
    b[p] = TCPOPT_TIMESTAMP; b[p + 1] = 10;
    set32(b, p + 2, c.tsNow(s));
    set32(b, p + 6, active ? 0 : t.tsRecent[s]);
    p += 10;
  }
  if (cfg.tcpWindowScaling === 1 && (active || (tf & TF_WS) !== 0)) {
    b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_WSCALE; b[p + 2] = 3; b[p + 3] = t.rcvWscale[s]; p += 4;
  }
  while (((p - IP_PAYLOAD_OFFSET) & 3) !== 0) b[p++] = TCPOPT_NOP;
  return p;
}

/**
 * The options of a segment of a synchronized connection at `p` (segment
 * `flags`): timestamps when negotiated, SACK blocks while the peer has
 * something to learn from them (not on a RST); returns the end.
 */
export function writeDataOptions(c: TcpCore, s: number, b: Uint8Array, p: number, flags: number): number {
  const t = c.t;
  const tf = t.tflags[s];
  if ((tf & TF_TS) !== 0) {
    b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_NOP; b[p + 2] = TCPOPT_TIMESTAMP; b[p + 3] = 10;
    set32(b, p + 4, c.tsNow(s));
    set32(b, p + 8, t.tsRecent[s]);
    p += 12;
  }
  if ((tf & TF_SACK) !== 0 && (t.oooCount[s] > 0 || t.dsackLeft[s] !== t.dsackRight[s]) && (flags & TH_RST) === 0) {
    p = writeSack(c, s, b, p, (tf & TF_TS) !== 0 ? 3 : 4);
  }
  return p;
}
