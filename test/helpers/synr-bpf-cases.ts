/**
 * Cases for the eBPF SYN-cookie responder (native/bpf/syn_responder.bpf.c),
 * run with BPF_PROG_TEST_RUN and compared with the RX thread's responder
 * (native/syn_responder.c, the addon's synResponderAnswerForTest) on the
 * same configuration, clock and frame. Not a test file:
 * test/link/syn-responder-bpf-cases.test.ts runs them through the addon's
 * loader and BPF_PROG_TEST_RUN.
 *
 * Each case: a configuration (struct synr_cfg of native/bpf/synr_map.h, and
 * the same as the native responder's words), a frame as it leaves the kernel
 * toward the TAP device (peer to stack), and what the program must do:
 * 'answer' (return TC_ACT_REDIRECT, the frame rewritten into exactly the
 * native responder's SYN-ACK, `answered` + 1) or 'pass' (return SYNR_NEXT,
 * the frame unchanged, `passed` + 1 only when `counted`). `native` says what
 * the RX thread's responder does with the frame where that differs on
 * purpose (IP options, a payload, a layout version: the eBPF program leaves
 * those to it).
 *
 * A runner loads synrCfgBytes(synrBpfConfigFor(case, CLOCK_MONOTONIC ns))
 * into map synr_cfg, runs the frame, reads synr_stats before and after, and
 * hands the result to synrBpfProblems, which compares it with the addon's
 * synResponderAnswerForTest: an empty list is a pass.
 */
import { SYNR_BPF_VERSION, SYNR_CFG_SIZE, SYNR_STATS_SIZE } from '../../src/link/syn-responder-bpf.js';
import { parseIpv6 } from '../../src/wire/ipv6addr.js';
import { ethFrame, ip, ipv4Packet, pseudoHeader, refChecksum, refSum } from './frames.js';

/** bpf_redirect()'s verdict: the program answered. */
export const TC_ACT_REDIRECT = 7;
export { SYNR_BPF_VERSION, SYNR_CFG_SIZE, SYNR_STATS_SIZE };
/** The program's "not mine" (TCX_NEXT; TC_ACT_UNSPEC under legacy cls_bpf). */
export const SYNR_NEXT = -1;

export const STACK_IP = '10.0.0.2';
export const STACK_MAC = '02:00:00:00:00:02';
export const PEER_MAC = '02:00:00:00:00:01';
export const PORT = 80;

export interface SynrBpfEntry {
  /** An IPv4 address, or an IPv6 one (with a ':'): the entry's family unless `family` says otherwise. */
  addr: string;
  /** synr_entry.family as written (default 4 or 6 from `addr`). */
  family?: number;
  /** IPv6: the SYN-ACK's hop limit. */
  hopLimit?: number;
  port: number;
  mss: number;
  window: number;
  wscale: number;
  /** Engine clock, ns: active while engine time < untilNs. */
  untilNs: bigint;
}

export interface SynrBpfConfig {
  version: number;
  on: number;
  ttl: number;
  /** SYNR_BPF_TIMESTAMPS 1 | SACK 2 | WSCALE 4. */
  opts: number;
  key: [number, number, number, number];
  secret: [number, number, number, number];
  entries: SynrBpfEntry[];
  /** n_entries as written (defaults to entries.length; may exceed 8 to test the cap). */
  nEntries?: number;
  clockOffNs: bigint;
  /** Non-zero: the engine clock; 0: bpf_ktime_get_ns() + clockOffNs (see {@link SynrBpfCase.clock}). */
  fixedNs: bigint;
}

export type SynrBpfVerdict = 'answer' | 'pass';

export interface SynrBpfCase {
  name: string;
  cfg: SynrBpfConfig;
  frame: Uint8Array;
  expect: SynrBpfVerdict;
  /** Whether synr_stats.passed counts the frame (a pure SYN to an active entry passed for a reason). */
  counted: boolean;
  /** The native responder's verdict where it differs from `expect` on purpose. */
  native?: SynrBpfVerdict;
  /** The frame whose native answer the program's must equal, when not `frame` (the same SYN, checksum complete). */
  nativeFrame?: Uint8Array;
  /**
   * IPv6 cases (synr-bpf-cases6.ts): the engine's own SYN-ACK, which an answer must equal byte for byte instead
   * of the native responder's (that one answers IPv4 only: its verdict on these frames is 'pass').
   */
  engine?: Uint8Array;
  /**
   * Clock cases (fixedNs 0): the runner sets entry 0's untilNs to CLOCK_MONOTONIC + clockOffNs + untilAfterNs
   * just before the run, and compares the answer with the native one at any whole ms between the clock read
   * before and after the run.
   */
  clock?: { untilAfterNs: bigint };
}

/** The bytes of struct synr_cfg (host byte order, as the map holds it). */
export function synrCfgBytes(c: SynrBpfConfig): Uint8Array {
  const buf = new ArrayBuffer(SYNR_CFG_SIZE);
  const w = new Uint32Array(buf);
  const d = new BigUint64Array(buf);
  w[0] = c.version;
  w[1] = c.on;
  w[2] = c.ttl;
  w[3] = c.opts;
  for (let i = 0; i < 4; i++) {
    w[4 + i] = c.key[i];
    w[8 + i] = c.secret[i];
  }
  w[12] = c.nEntries ?? c.entries.length;
  d[7] = BigInt.asUintN(64, c.clockOffNs);
  d[8] = c.fixedNs;
  c.entries.forEach((e, i) => {
    const o = 18 + i * 14; // words: entries (56 bytes) start at byte 72
    const a6 = e.addr.includes(':') ? addr6Words(e.addr) : null;
    w[o] = a6 === null ? ip(e.addr) : 0;
    w[o + 1] = e.port;
    w[o + 2] = e.mss;
    w[o + 3] = e.window;
    w[o + 4] = e.wscale;
    w[o + 5] = e.family ?? (a6 === null ? 4 : 6);
    d[(o + 6) / 2] = e.untilNs;
    if (a6 !== null) for (let k = 0; k < 4; k++) w[o + 8 + k] = a6[k];
    w[o + 12] = e.hopLimit ?? 0;
  });
  return new Uint8Array(buf);
}

/** An IPv6 address's four big-endian words (as synr_entry.addr6 holds them). */
export function addr6Words(text: string): [number, number, number, number] {
  const b = new Uint8Array(16);
  if (!parseIpv6(text, b, 0)) throw new Error(`not an IPv6 address: ${text}`);
  const v = new DataView(b.buffer);
  return [v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12)];
}

/** The native responder's words (native/syn_responder.c W_*, version 1) for the same configuration. */
export function synrNativeWords(c: SynrBpfConfig): ArrayBuffer {
  const buf = new ArrayBuffer((32 + 8 * 8) * 4);
  const w = new Int32Array(buf);
  const d = new Float64Array(buf);
  w[0] = 1; // the native layout's own version (the BPF one is checked by the program only)
  w[1] = c.on;
  w[2] = c.ttl;
  w[3] = c.opts;
  for (let i = 0; i < 4; i++) {
    w[4 + i] = c.key[i];
    w[8 + i] = c.secret[i];
  }
  w[15] = c.nEntries ?? c.entries.length;
  c.entries.forEach((e, i) => {
    const o = 32 + i * 8;
    w[o] = e.addr.includes(':') ? 0 : ip(e.addr) | 0; // the native responder has no IPv6 entries
    w[o + 1] = e.port;
    w[o + 2] = e.mss;
    w[o + 3] = e.window;
    w[o + 4] = e.wscale;
    d[(o + 6) / 2] = Number(e.untilNs) / 1e6;
  });
  return buf;
}

/** The native responder's clock for a fixed-clock configuration: fixed_now ms = fixedNs / 1e6. */
export function synrNativeNowMs(c: SynrBpfConfig): number {
  return Number(c.fixedNs) / 1e6;
}

/**
 * native/syn_responder.c's pure_syn(): whether the RX thread hands a frame to answer() at all (an untagged IPv4
 * or IPv6 pure SYN, not a fragment). synResponderAnswerForTest calls answer() alone, so a comparison gates it
 * with this (answer() also reads the frame past 54 bytes only where this checked the length).
 */
export function nativePureSyn(f: Uint8Array): boolean {
  if (f.length < 14) return false;
  const type = (f[12] << 8) | f[13];
  const pure = (flags: number): boolean => (flags & 0x17) === 0x02;
  if (type === 0x0800) {
    if (f.length < 14 + 20 || f[14] >> 4 !== 4 || f[14 + 9] !== 6) return false;
    const ihl = (f[14] & 0xf) * 4;
    if ((((f[14 + 6] << 8) | f[14 + 7]) & 0x3fff) !== 0 || f.length < 14 + ihl + 20) return false;
    return pure(f[14 + ihl + 13]);
  }
  if (type === 0x86dd) return f.length >= 14 + 40 + 20 && f[14 + 6] === 6 && pure(f[14 + 40 + 13]);
  return false;
}

// ---------------------------------------------------------------- frames

/** TCP flags, the options' bytes and their padding, for the cases here and in synr-bpf-cases6.ts. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const ECE = 0x40;
export const CWR = 0x80;

export const o = {
  nop: [1],
  eol: [0],
  mss: (n: number): number[] => [2, 4, n >>> 8, n & 255],
  ws: (s: number): number[] => [3, 3, s],
  sackOk: [4, 2],
  ts: (val: number, ecr: number): number[] => [8, 10, val >>> 24, (val >>> 16) & 255, (val >>> 8) & 255, val & 255,
    ecr >>> 24, (ecr >>> 16) & 255, (ecr >>> 8) & 255, ecr & 255],
};

/** Options padded with NOPs (or EOLs) to a multiple of 4. */
export function opts(parts: number[][], pad = 1): number[] {
  const out = parts.flat();
  while (out.length % 4 !== 0) out.push(pad);
  return out;
}

const LINUX_OPTS = opts([o.mss(1460), o.sackOk, o.ts(0xdeadbeef, 0), o.nop, o.ws(7)]);

interface Syn extends SynTcpFields {
  src?: string;
  dst?: string;
  /** TCP checksum: 'bad', 'partial' (the pseudo-header sum a CHECKSUM_PARTIAL SYN carries) or correct. */
  tcpSum?: 'bad' | 'partial';
  ipSum?: 'bad';
  ipOptions?: number[];
  ipFlags?: number;
  ipVersion?: number;
  ipIhl?: number;
  ipTotal?: number;
  proto?: number;
  ethDst?: string;
  ethType?: number;
  /** Pad the frame to 60 bytes (Ethernet minimum), as a NIC would. */
  pad?: boolean;
}

/** The TCP fields of a case's segment (both families). */
export interface SynTcpFields {
  sport?: number;
  dport?: number;
  isn?: number;
  ack?: number;
  flags?: number;
  win?: number;
  options?: number[];
  payload?: number[] | Uint8Array;
  /** Data offset override (words). */
  doff?: number;
}

/** The TCP segment of a case, checksum field zero, built byte by byte; `win` when the case sets none. */
export function synTcpBytes(s: SynTcpFields, win: number): Uint8Array {
  const options = s.options ?? [];
  const payload = s.payload ?? [];
  const hlen = 20 + options.length;
  const t = new Uint8Array(hlen + payload.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, s.sport ?? 40001);
  v.setUint16(2, s.dport ?? PORT);
  v.setUint32(4, (s.isn ?? 0x89abcdef) >>> 0);
  v.setUint32(8, (s.ack ?? 0) >>> 0);
  v.setUint8(12, (s.doff ?? hlen / 4) << 4);
  v.setUint8(13, s.flags ?? SYN);
  v.setUint16(14, s.win ?? win);
  t.set(options, 20);
  t.set(payload, hlen);
  return t;
}

/** A SYN from the peer to the stack, built byte by byte. */
export function synFrame(s: Syn = {}): Uint8Array {
  const src = s.src ?? '198.18.1.2';
  const dst = s.dst ?? STACK_IP;
  const t = synTcpBytes(s, 64240);
  const ph = pseudoHeader(src, dst, s.proto ?? 6, t.length);
  let sum: number;
  if (s.tcpSum === 'partial') {
    sum = refSum(ph); // Linux's tcp_v4_send_check for CHECKSUM_PARTIAL: the folded pseudo-header sum, not inverted
  } else {
    const all = new Uint8Array(ph.length + t.length);
    all.set(ph);
    all.set(t, ph.length);
    sum = refChecksum(all);
    if (s.tcpSum === 'bad') sum ^= 0x0101;
  }
  new DataView(t.buffer).setUint16(16, sum);
  const packet = ipv4Packet({
    src, dst, proto: s.proto ?? 6, payload: t, ttl: 64, id: 0x1234, flags: s.ipFlags ?? 0x4000,
    options: s.ipOptions === undefined ? undefined : Uint8Array.from(s.ipOptions),
    version: s.ipVersion, ihl: s.ipIhl, totalLength: s.ipTotal,
  });
  if (s.ipSum === 'bad') packet[11] ^= 0x01;
  return ethFrame(s.ethDst ?? STACK_MAC, PEER_MAC, s.ethType ?? 0x0800, packet, s.pad ?? false);
}

// ---------------------------------------------------------------- configurations

const MS = 1_000_000n;

function entry(untilNs: bigint, over: Partial<SynrBpfEntry> = {}): SynrBpfEntry {
  return { addr: STACK_IP, port: PORT, mss: 1460, window: 64240, wscale: 7, untilNs, ...over };
}

/** A configuration at engine time `nowMs` (+ `subNs`), one active entry for STACK_IP:80 for 5 s. */
function config(nowMs: number, over: Partial<SynrBpfConfig> = {}, subNs = 0n): SynrBpfConfig {
  const now = BigInt(nowMs) * MS + subNs;
  return {
    version: SYNR_BPF_VERSION, on: 1, ttl: 64, opts: 7,
    key: [0x01234567, 0x89abcdef, 0xfedcba98 | 0, 0x76543210],
    secret: [0x0badf00d, 0x31415926, 0x27182818, 0xdeadbeef | 0],
    entries: [entry(now + 5000n * MS)],
    clockOffNs: 0n, fixedNs: now, ...over,
  };
}

/** Every case (about a hundred): option layouts, sysctl sets, clocks, entries, and what must be passed. */
export function synrBpfCases(): SynrBpfCase[] {
  const cases: SynrBpfCase[] = [];
  const answer = (name: string, cfg: SynrBpfConfig, frame: Uint8Array): void => {
    cases.push({ name, cfg, frame, expect: 'answer', counted: false });
  };
  const pass = (name: string, cfg: SynrBpfConfig, frame: Uint8Array, counted: boolean, native?: SynrBpfVerdict): void => {
    cases.push({ name, cfg, frame, expect: 'pass', counted, native });
  };
  const T = 1_234_567;

  // Option layouts (RFC 9293 3.1, RFC 7323, RFC 2018), with every sysctl set.
  const layouts: Array<[string, number[]]> = [
    ['Linux SYN: MSS 1460, SACK, TS, NOP, WS 7', LINUX_OPTS],
    ['no options (MSS 536)', []],
    ['MSS 1400, TS, NOP, WS 15 (capped to 14)', opts([o.mss(1400), o.ts(7, 0), o.nop, o.ws(15)])],
    ['MSS 1300, SACK, NOP, WS 2, no TS', opts([o.mss(1300), o.sackOk, o.nop, o.ws(2)])],
    ['MSS 1440, SACK, TS', opts([o.mss(1440), o.sackOk, o.ts(0x80000000, 0)])],
    ['TS only (no MSS)', opts([o.ts(1, 0)])],
    ['TS and WS 0', opts([o.ts(0xffffffff, 0), o.ws(0)])],
    ['NOPs everywhere: NOP NOP TS NOP WS NOP SACK', opts([o.nop, o.nop, o.ts(42, 0), o.nop, o.ws(3), o.nop, o.sackOk])],
    ['EOL padding after MSS, SACK, TS', opts([o.mss(1460), o.sackOk, o.ts(99, 0)], 0)],
    ['EOL first: nothing after it is read', opts([o.eol, o.mss(1460), o.sackOk, o.ts(5, 0), o.ws(4)], 0)],
    ['MSS then EOL then TS (ignored)', opts([o.mss(1200), o.eol, o.ts(5, 0)], 0)],
    ['MSS 0 (taken as 536)', opts([o.mss(0), o.ts(3, 0)])],
    ['MSS 65535', opts([o.mss(65535), o.sackOk, o.ts(3, 0)])],
    ['MSS 1459 (msstab index 2)', opts([o.mss(1459)])],
    ['MSS 535 (index 0)', opts([o.mss(535)])],
    ['two MSS options: the last one counts', opts([o.mss(1460), o.mss(1300), o.ts(8, 9)])],
    ['unknown option kind 30 skipped', opts([[30, 6, 1, 2, 3, 4], o.mss(1460), o.ts(11, 0)])],
    ['TS with length 8 is not a timestamp', opts([o.mss(1460), [8, 8, 1, 2, 3, 4, 5, 6]])],
    ['WS with length 4 is not a window scale', opts([o.ts(5, 0), [3, 4, 1, 0]])],
    ['40 option bytes, TS last', opts([o.nop, o.nop, o.nop, o.nop, [30, 10, 0, 0, 0, 0, 0, 0, 0, 0], o.mss(1460), o.sackOk,
      o.ws(9), o.nop, o.ts(0x01020304, 0)])],
    ['SACK blocks option in a SYN (kind 5) skipped', opts([o.mss(1460), [5, 10, 0, 0, 0, 1, 0, 0, 0, 2], o.ts(1, 2)])],
  ];
  for (const optsSet of [7, 1, 3, 5, 6, 0]) {
    for (const [name, options] of layouts) {
      if (optsSet !== 7 && !options.includes(8)) continue; // without TS the sysctls change nothing: once is enough
      answer(`${name} [opts ${optsSet}]`, config(T, { opts: optsSet }), synFrame({ options }));
    }
  }

  // Clocks: minute boundaries (the cookie's count), its wrap at 256 minutes, TSval's low bits, sub-ms parts.
  for (const [now, sub] of [[0, 1n], [59_999, 999_999n], [60_000, 0n], [60_000 + 64 * 1000 + 13, 500n],
    [256 * 60_000 - 1, 0n], [256 * 60_000, 0n], [4_294_967_295, 0n], [4_294_967_296 + 63, 0n],
    [1_700_000_000_000, 123n]] as Array<[number, bigint]>) {
    answer(`clock ${now} ms + ${sub} ns`, config(now, {}, sub), synFrame({ options: LINUX_OPTS, isn: now >>> 0 }));
  }

  // Entry fields, TTL, addresses and ports.
  answer('entry MSS 1200, window 1024, wscale 0; TTL 255', config(T, {
    ttl: 255, entries: [entry(BigInt(T + 10) * MS, { mss: 1200, window: 1024, wscale: 0 })],
  }), synFrame({ options: LINUX_OPTS }));
  answer('entry window 65535, wscale 14', config(T, {
    entries: [entry(BigInt(T + 10) * MS, { window: 65535, wscale: 14 })],
  }), synFrame({ options: LINUX_OPTS }));
  answer('source 223.255.255.254, sport 65535, ISN 0xffffffff', config(T),
    synFrame({ src: '223.255.255.254', sport: 65535, isn: 0xffffffff, options: LINUX_OPTS }));
  answer('source 1.0.0.1, sport 1, ISN 0', config(T), synFrame({ src: '1.0.0.1', sport: 1, isn: 0 }));
  const eight = Array.from({ length: 8 }, (_, i) => entry(BigInt(T + 100) * MS, { port: 8000 + i, mss: 1000 + i }));
  answer('eighth of 8 entries', config(T, { entries: eight }), synFrame({ dport: 8007, options: LINUX_OPTS }));
  answer('n_entries 9 is capped to 8', config(T, { entries: eight, nEntries: 9 }), synFrame({ dport: 8007 }));
  const two = [entry(BigInt(T) * MS, { port: 80 }), entry(BigInt(T + 1) * MS, { port: 80, mss: 1000 })];
  answer('an expired entry, then an active one for the same port', config(T, { entries: two }), synFrame({ options: LINUX_OPTS }));
  answer('active until 1 ns after now', config(T, { entries: [entry(BigInt(T) * MS + 1n)] }), synFrame());
  answer('SYN|PSH is a pure SYN', config(T), synFrame({ flags: SYN | PSH, options: LINUX_OPTS }));
  answer('SYN|ECE|CWR (ECN setup) is answered without ECN', config(T), synFrame({ flags: SYN | ECE | CWR, options: LINUX_OPTS }));
  answer('frame padded to 60 bytes (Ethernet minimum)', config(T), synFrame({ pad: true }));
  answer('frame with 30 bytes of trailer past the datagram', config(T),
    Uint8Array.from([...synFrame({ options: LINUX_OPTS }), ...new Array<number>(30).fill(0xee)]));
  answer('IP flags 0 (no DF)', config(T), synFrame({ ipFlags: 0 }));

  // Not answered and not counted: not a pure SYN to an active entry, or not for the stack to answer.
  const notMine: Array<[string, Partial<SynrBpfConfig>, Syn]> = [
    ['entry for another port', {}, { dport: 81 }],
    ['entry for another address', {}, { dst: '10.0.0.3' }],
    ['entry expired (until == now)', { entries: [entry(BigInt(T) * MS)] }, {}],
    ['entry expired long ago', { entries: [entry(1n)] }, {}],
    ['match only beyond n_entries', { entries: eight.slice(0, 3), nEntries: 2 }, { dport: 8002 }],
    ['n_entries 0', { nEntries: 0 }, {}],
    ['responder off', { on: 0 }, {}],
    ['SYN|ACK', {}, { flags: SYN | ACK }],
    ['SYN|RST', {}, { flags: SYN | RST }],
    ['SYN|FIN', {}, { flags: SYN | FIN }],
    ['ACK', {}, { flags: ACK }],
    ['RST', {}, { flags: RST }],
    ['no flags', {}, { flags: 0 }],
    ['multicast MAC', {}, { ethDst: '01:00:5e:00:00:01' }],
    ['broadcast MAC', {}, { ethDst: 'ff:ff:ff:ff:ff:ff' }],
    ['source 0.0.0.0', {}, { src: '0.0.0.0' }],
    ['source 255.255.255.255', {}, { src: '255.255.255.255' }],
    ['source 127.0.0.1', {}, { src: '127.0.0.1' }],
    ['source 224.0.0.1', {}, { src: '224.0.0.1' }],
    ['source 240.0.0.1', {}, { src: '240.0.0.1' }],
    ['first fragment (MF)', {}, { ipFlags: 0x2000, options: LINUX_OPTS }],
    ['fragment offset 8', {}, { ipFlags: 1 }],
    ['fragment offset with DF', {}, { ipFlags: 0x4000 | 0x100 }],
    ['UDP', {}, { proto: 17 }],
    ['IP version 6 in an IPv4 ethertype', {}, { ipVersion: 6 }],
    ['ARP ethertype', {}, { ethType: 0x0806 }],
    ['IPv6 ethertype', {}, { ethType: 0x86dd }],
    ['VLAN tag in the frame', {}, { ethType: 0x8100 }],
    ['IHL 4', {}, { ipIhl: 4 }],
  ];
  for (const [name, over, syn] of notMine) pass(name, config(T, over), synFrame(syn), false);
  // A layout the program does not know (the one after its own; and the IPv4-only layout 1 it replaced): passed.
  pass(`layout version ${SYNR_BPF_VERSION + 1}`, config(T, { version: SYNR_BPF_VERSION + 1 }), synFrame({ options: LINUX_OPTS }), false,
    'answer');
  pass('layout version 1 (IPv4-only entries)', config(T, { version: 1 }), synFrame({ options: LINUX_OPTS }), false, 'answer');
  pass('IHL 15 with a 20-byte datagram (TCP header past the frame)', config(T), synFrame({ ipIhl: 15, pad: true }), false);

  // Short frames (the program needs 14 + 20 + 20 bytes before it reads anything). BPF_PROG_TEST_RUN refuses an
  // IPv4 frame shorter than 14 + 20 bytes (EINVAL) before the program runs, so the shortest run here is 34.
  const full = synFrame({ options: LINUX_OPTS });
  for (const n of [34, 41, 53]) pass(`frame cut to ${n} bytes`, config(T), full.subarray(0, n), false);

  // Pure SYNs to an active entry, passed on and counted: the stack (or the RX thread) handles them.
  pass('bad IP header checksum', config(T), synFrame({ ipSum: 'bad', options: LINUX_OPTS }), true);
  pass('bad TCP checksum', config(T), synFrame({ tcpSum: 'bad', options: LINUX_OPTS }), true);
  // A local socket's SYN (CHECKSUM_PARTIAL: the field holds the pseudo-header's sum) is answered as if its checksum
  // were complete (the kernel vouches for it); the native harness, without a virtio-net header to say so, passes it.
  cases.push({ name: 'partial TCP checksum (a local socket\'s CHECKSUM_PARTIAL SYN)', cfg: config(T),
    frame: synFrame({ tcpSum: 'partial', options: LINUX_OPTS }), expect: 'answer', counted: false, native: 'pass',
    nativeFrame: synFrame({ options: LINUX_OPTS }) });
  pass('bad TCP checksum, no options', config(T), synFrame({ tcpSum: 'bad' }), true);
  pass('IP options (NOP x4)', config(T), synFrame({ ipOptions: [1, 1, 1, 1], options: LINUX_OPTS }), true, 'answer');
  pass('IP options (router alert)', config(T), synFrame({ ipOptions: [0x94, 4, 0, 0] }), true, 'answer');
  pass('1 byte of payload', config(T), synFrame({ payload: [0x41], options: LINUX_OPTS }), true, 'answer');
  pass('100 bytes of payload (TFO-style data)', config(T), synFrame({ payload: new Array<number>(100).fill(7) }), true, 'answer');
  pass('IP total length past the frame', config(T), synFrame({ ipTotal: 200 }), true);
  pass('IP total length shorter than IP + TCP header', config(T), synFrame({ ipTotal: 39 }), true);
  pass('TCP data offset 4 (16 bytes)', config(T), synFrame({ doff: 4, pad: true }), true);
  pass('TCP data offset 6 with no option bytes (header past the datagram)', config(T), synFrame({ doff: 6, pad: true }), true);
  pass('option length 0', config(T), synFrame({ options: opts([o.mss(1460), [30, 0]]) }), true);
  pass('option length 1', config(T), synFrame({ options: opts([[30, 1], o.mss(1460)]) }), true);
  pass('option past the header', config(T), synFrame({ options: opts([o.mss(1460), [30, 8, 1, 2]]) }), true);
  pass('kind in the last byte, no length', config(T), synFrame({ options: [1, 1, 1, 2] }), true);
  pass('timestamp cut by the header end', config(T), synFrame({ options: [1, 1, 8, 10, 0, 0, 0, 1] }), true);

  // The engine clock from bpf_ktime_get_ns() + clock_off_ns (the runner fills in the deadline).
  const clocked = (off: bigint): SynrBpfConfig => config(0, { fixedNs: 0n, clockOffNs: off, entries: [entry(0n)] });
  cases.push({ name: 'clock: monotonic + offset, active', cfg: clocked(3_600_000n * MS), frame: synFrame({ options: LINUX_OPTS }),
    expect: 'answer', counted: false, clock: { untilAfterNs: 10_000n * MS } });
  cases.push({ name: 'clock: monotonic - offset (wraps mod 2^64), active', cfg: clocked(-1000n * MS),
    frame: synFrame({ options: LINUX_OPTS }), expect: 'answer', counted: false, clock: { untilAfterNs: 10_000n * MS } });
  cases.push({ name: 'clock: monotonic + offset, expired 1 s ago', cfg: clocked(3_600_000n * MS), frame: synFrame(),
    expect: 'pass', counted: false, clock: { untilAfterNs: -1000n * MS } });
  return cases;
}

// ---------------------------------------------------------------- checking a run

/** The configuration to load for a case: clock cases get entry 0's deadline from `monoNs` (CLOCK_MONOTONIC, ns). */
export function synrBpfConfigFor(c: SynrBpfCase, monoNs: bigint): SynrBpfConfig {
  const cfg = { ...c.cfg, entries: c.cfg.entries.map((e) => ({ ...e })) };
  if (c.clock !== undefined) cfg.entries[0].untilNs = BigInt.asUintN(64, monoNs + cfg.clockOffNs + c.clock.untilAfterNs);
  return cfg;
}

/** What one BPF_PROG_TEST_RUN of the program gave: its return value, the frame after it, the counters' changes. */
export interface SynrBpfRun {
  retval: number;
  frame: Uint8Array;
  answered: bigint;
  passed: bigint;
  redirectFailed: bigint;
  /** CLOCK_MONOTONIC (ns) read just before and just after the run (clock cases only). */
  t0?: bigint;
  t1?: bigint;
}

/** The addon's synResponderAnswerForTest. */
export type SynrNativeAnswer = (words: ArrayBuffer, nowMs: number, frame: Uint8Array) => Uint8Array | null;

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function hex(a: Uint8Array | null): string {
  return a === null ? 'null' : Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Every way `run` (made under `cfg`, from {@link synrBpfConfigFor}) differs from what case `c` requires; empty
 * when it passes. Checks: the return value (TC_ACT_REDIRECT for an answer, SYNR_NEXT for a pass); for an answer
 * the frame equals the native responder's SYN-ACK byte for byte, for a pass the frame is unchanged; answered
 * +1 exactly for an answer, passed +1 exactly when `counted`, redirect_failed +0; and the native responder's
 * own verdict (pure_syn() gating answer(), as on the RX thread) is `native ?? expect`. Clock cases compare with
 * the native answer at any whole ms between run.t0 and run.t1 (the program read its clock in between).
 */
export function synrBpfProblems(c: SynrBpfCase, cfg: SynrBpfConfig, run: SynrBpfRun, answer: SynrNativeAnswer): string[] {
  const problems: string[] = [];
  const words = synrNativeWords(cfg);
  // The reference answer is the native one for nativeFrame when the case gives one (the same SYN, checksum complete).
  const ref = c.nativeFrame ?? c.frame;
  const native = (nowMs: number): Uint8Array | null => (nativePureSyn(ref) ? answer(words, nowMs, ref) : null);
  let nat: Uint8Array | null = null;
  if (c.clock === undefined) {
    nat = native(synrNativeNowMs(cfg));
  } else {
    if (run.t0 === undefined || run.t1 === undefined) return ['a clock case needs run.t0 and run.t1'];
    const lo = BigInt.asUintN(64, run.t0 + cfg.clockOffNs) / 1_000_000n;
    const hi = BigInt.asUintN(64, run.t1 + cfg.clockOffNs) / 1_000_000n;
    for (let ms = lo; ms <= hi && nat === null; ms++) {
      const a = native(Number(ms));
      if (a !== null && (c.expect !== 'answer' || sameBytes(a, run.frame))) nat = a;
    }
    if (nat === null && c.expect === 'answer') nat = native(Number(lo));
  }
  const nativeVerdict: SynrBpfVerdict = c.nativeFrame === undefined ? (nat === null ? 'pass' : 'answer')
    : nativePureSyn(c.frame) && answer(words, synrNativeNowMs(cfg), c.frame) !== null ? 'answer' : 'pass';
  if (nativeVerdict !== (c.native ?? c.expect)) problems.push(`native responder: ${nativeVerdict}, expected ${c.native ?? c.expect}`);
  if (c.expect === 'answer') {
    if (run.retval !== TC_ACT_REDIRECT) problems.push(`return ${run.retval}, expected ${TC_ACT_REDIRECT}`);
    const ref = c.engine ?? nat;
    const whose = c.engine !== undefined ? 'engine' : 'native';
    if (!sameBytes(run.frame, ref)) problems.push(`frame differs from the ${whose} SYN-ACK:\n  bpf    ${hex(run.frame)}\n  ${whose} ${hex(ref)}`);
  } else {
    if (run.retval !== SYNR_NEXT) problems.push(`return ${run.retval}, expected ${SYNR_NEXT}`);
    if (!sameBytes(run.frame, c.frame)) problems.push(`frame changed:\n  in  ${hex(c.frame)}\n  out ${hex(run.frame)}`);
  }
  if (run.answered !== (c.expect === 'answer' ? 1n : 0n)) problems.push(`answered +${run.answered}`);
  if (run.passed !== (c.counted ? 1n : 0n)) problems.push(`passed +${run.passed}, expected +${c.counted ? 1 : 0}`);
  if (run.redirectFailed !== 0n) problems.push(`redirect_failed +${run.redirectFailed}`);
  return problems;
}
