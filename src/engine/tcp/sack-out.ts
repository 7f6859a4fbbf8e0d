/**
 * The SACK option of an outgoing ACK (RFC 2018 §3), with a D-SACK block first
 * when one is pending (RFC 2883): split from output.ts, which builds the rest.
 */
import { set32 } from '../../wire/bytes.js';
import { TCPOPT_NOP, TCPOPT_SACK } from '../../wire/tcp.js';
import type { TcpCore } from './core.js';

/** SACK option: the D-SACK block first (once), then the most recent range, then the others. */
export function writeSack(c: TcpCore, s: number, b: Uint8Array, p: number, maxBlocks: number): number {
  const t = c.t;
  const start = p;
  b[p] = TCPOPT_NOP; b[p + 1] = TCPOPT_NOP; b[p + 2] = TCPOPT_SACK;
  p += 4;
  let n = 0;
  if (t.dsackLeft[s] !== t.dsackRight[s]) {
    set32(b, p, t.dsackLeft[s]); set32(b, p + 4, t.dsackRight[s]);
    p += 8; n++;
    t.dsackLeft[s] = t.dsackRight[s] = 0;
    c.stats.dsacksSent++;
  }
  const base = s * t.rangesR;
  const count = t.oooCount[s];
  const last = t.oooLast[s];
  if (last >= 0 && last < count && n < maxBlocks) {
    set32(b, p, t.oooLeft[base + last]); set32(b, p + 4, t.oooRight[base + last]);
    p += 8; n++;
  }
  for (let i = 0; i < count && n < maxBlocks; i++) {
    if (i === last) continue;
    set32(b, p, t.oooLeft[base + i]); set32(b, p + 4, t.oooRight[base + i]);
    p += 8; n++;
  }
  b[start + 3] = 2 + n * 8;
  return p;
}
