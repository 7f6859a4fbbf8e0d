/**
 * SYNs whose cookie SYN-ACKs the responders must answer exactly as the
 * engine does (test/link/syn-responder-cookie: the RX thread's, against the
 * engine; syn-responder-bpf: the eBPF one, against the RX thread's), and the
 * RX thread responder's shared words to drive it with.
 */
import { opt, optionBlock } from '../tcp/helpers.js';

/** Words of the responder's layout (native/syn_responder.c W_TOTAL), version 1. */
export function responderWords(): ArrayBuffer {
  const mem = new ArrayBuffer((32 + 8 * 8) * 4);
  new Int32Array(mem)[0] = 1;
  return mem;
}

export interface SynCase {
  name: string;
  src: string;
  sport: number;
  isn: number;
  options?: Uint8Array;
}

export const SYN_CASES: readonly SynCase[] = [
  { name: 'Linux SYN (MSS 1460, SACK, TS, WS 7)', src: '198.18.1.2', sport: 40001, isn: 0x89abcdef,
    options: optionBlock([opt.mss(1460), opt.sackOk(), opt.ts(0xdeadbeef, 0), opt.nop(), opt.ws(7)]) },
  { name: 'no options (MSS 536)', src: '198.18.3.4', sport: 1025, isn: 1 },
  { name: 'MSS 1400, TS, no SACK, WS 15 (capped to 14)', src: '198.19.255.254', sport: 65535, isn: 0xffffffff,
    options: optionBlock([opt.mss(1400), opt.ts(7, 0), opt.nop(), opt.ws(15)]) },
  { name: 'MSS 1300, SACK and WS without TS (neither comes back)', src: '198.18.200.9', sport: 5555, isn: 0x7fffffff,
    options: optionBlock([opt.mss(1300), opt.sackOk(), opt.nop(), opt.ws(2)]) },
  { name: 'MSS 1440, SACK, TS', src: '198.18.0.77', sport: 33000, isn: 0x10000,
    options: optionBlock([opt.mss(1440), opt.sackOk(), opt.ts(0x80000000, 0)]) },
  { name: 'NOPs first, MSS 9000, TS, WS 0, EOL', src: '198.18.9.9', sport: 2000, isn: 0x01020304,
    options: optionBlock([opt.nop(), opt.nop(), opt.mss(9000), opt.ts(1, 0), opt.ws(0), opt.eol()]) },
];
