/**
 * IPv6 cases for the eBPF SYN-cookie responder (native/bpf/syn_responder.bpf.c),
 * in the form of synr-bpf-cases.ts (run by test/link/syn-responder-bpf-cases.test.ts),
 * with one difference: the reference SYN-ACK is the engine's own. The RX
 * thread's responder answers IPv4 only, so for each group of cases a Stack
 * (fd00::2/64 on a FrameTap) is driven in virtual time at the case's clock,
 * with `tcpSyncookies: 2` and an IPv6 listener on port 80: its first cookie
 * hands the listener to a recording SynResponder, whose configure/activate6
 * arguments (keys, timestamp secret, options, MSS, window, window scale,
 * hop limit, hold) become the program's configuration, and each case's SYN
 * goes through the engine too: the frame it sends back is what the program
 * must write, byte for byte (cookie, options, TSval, hop limit, flow label,
 * checksum over the IPv6 pseudo-header, RFC 8200 8.1). Frames are built
 * here byte by byte, independent of src/wire. Not a test file.
 */
import { Stack, type StackConfig } from '../../src/index.js';
import { AF_INET6 } from '../../src/socket/api.js';
import type { SynResponder } from '../../src/engine/tcp/syn-responder.js';
import type { NetInterface } from '../../src/engine/netif.js';
import { FrameTap, mac, refChecksum, refSum } from './frames.js';
import {
  ACK, CWR, ECE, FIN, PEER_MAC, PORT, PSH, RST, STACK_IP, STACK_MAC, SYN, SYNR_BPF_VERSION, type SynrBpfCase, type SynrBpfConfig,
  type SynrBpfEntry, type SynTcpFields, addr6Words, o, opts, synFrame, synTcpBytes,
} from './synr-bpf-cases.js';

export const STACK6 = 'fd00::2';
/** The peer's default address (on the link's prefix, so the engine's answer needs no router). */
export const PEER6 = 'fd00::1:7';


export const LINUX_OPTS6 = opts([o.mss(1440), o.sackOk, o.ts(0xdeadbeef, 0), o.nop, o.ws(7)]);

function bytes6(text: string): Uint8Array {
  const w = addr6Words(text);
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(4 * i, x));
  return b;
}

export interface Syn6 extends SynTcpFields {
  src?: string;
  dst?: string;
  /** TCP checksum: 'bad', 'partial' (the pseudo-header's folded sum, as a local socket's CHECKSUM_PARTIAL SYN) or correct. */
  tcpSum?: 'bad' | 'partial';
  /** An extension header between the fixed header and TCP (RFC 8200 4): its type and bytes (next header 6 first). */
  ext?: { type: number; bytes: number[] };
  /** The fixed header's next header, when not TCP or the extension's type. */
  nextHeader?: number;
  /** Payload length override. */
  plen?: number;
  hop?: number;
  /** Traffic class and flow label of the SYN (the answer carries neither). */
  tclass?: number;
  flow?: number;
  version?: number;
  ethDst?: string;
  /** Bytes past the datagram (link padding or a trailer). */
  trailer?: number;
}

/** An IPv6 SYN from the peer to the stack, built byte by byte. */
export function synFrame6(s: Syn6 = {}): Uint8Array {
  const src = bytes6(s.src ?? PEER6);
  const dst = bytes6(s.dst ?? STACK6);
  const t = synTcpBytes(s, 64800);
  // RFC 8200 8.1: source, destination, upper-layer length (32 bits), 3 zero bytes, next header 6.
  const ph = new Uint8Array(40);
  ph.set(src, 0);
  ph.set(dst, 16);
  new DataView(ph.buffer).setUint32(32, t.length);
  ph[39] = 6;
  let sum: number;
  if (s.tcpSum === 'partial') {
    sum = refSum(ph); // Linux's __tcp_v6_send_check for CHECKSUM_PARTIAL: the folded pseudo-header sum, not inverted
  } else {
    const all = new Uint8Array(40 + t.length);
    all.set(ph);
    all.set(t, 40);
    sum = refChecksum(all);
    if (s.tcpSum === 'bad') sum ^= 0x0101;
  }
  new DataView(t.buffer).setUint16(16, sum);
  const ext = s.ext?.bytes ?? [];
  const ipLen = 40 + ext.length + t.length;
  const f = new Uint8Array(14 + ipLen + (s.trailer ?? 0));
  f.set(mac(s.ethDst ?? STACK_MAC), 0);
  f.set(mac(PEER_MAC), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  const tc = s.tclass ?? 0;
  const flow = s.flow ?? 0;
  f[14] = ((s.version ?? 6) << 4) | (tc >> 4);
  f[15] = ((tc & 15) << 4) | ((flow >>> 16) & 15);
  f[16] = (flow >>> 8) & 255;
  f[17] = flow & 255;
  const plen = s.plen ?? ext.length + t.length;
  f[18] = plen >> 8;
  f[19] = plen & 255;
  f[20] = s.nextHeader ?? s.ext?.type ?? 6;
  f[21] = s.hop ?? 64;
  f.set(src, 22);
  f.set(dst, 38);
  f.set(ext, 54);
  f.set(t, 54 + ext.length);
  for (let i = 14 + ipLen; i < f.length; i++) f[i] = 0xee;
  return f;
}

// ---------------------------------------------------------------- the engine

/** What the engine handed its responder (the program's configuration is made of it). */
export interface Handed {
  key: number[];
  secret: number[];
  ttl: number;
  opts: number;
  words: number[];
  port: number;
  mss: number;
  window: number;
  wscale: number;
  hop: number;
  until: number;
}

export interface Engine6Options {
  /** The engine's clock, ms (default 1_234_567). */
  nowMs?: number;
  config?: StackConfig;
  /** The FrameTap's MTU (default 1500). */
  mtu?: number;
  /** Non-zero: the interface's hop limit as a router's Cur Hop Limit sets it. */
  hopLimit6?: number;
  seed?: number;
  /** Also give every call the engine makes to its link responder to this one (the program, loaded for tests). */
  forward?: SynResponder;
  /** Send one SYN at construction so that the listener is handed (default true; needs `tcpSyncookies: 2`). */
  handOff?: boolean;
  /** The listener's backlog (default 8). */
  backlog?: number;
}

/**
 * A Stack at fd00::2/64 (and 10.0.0.2/24) on a FrameTap, listening on
 * [::]:80, driven by hand at `nowMs`; its link's SYN responder records
 * what the engine hands it (and forwards it when asked to).
 */
export class Engine6 {
  readonly stack: Stack;
  readonly tap: FrameTap;
  readonly lfd: number;
  nowMs: number;
  handed: Handed | null = null;
  /** Every activate6 the engine made, with the clock then. */
  readonly activations: Array<Handed & { at: number }> = [];
  deactivated: number[] = [];

  constructor(opt: Engine6Options = {}) {
    this.nowMs = opt.nowMs ?? 1_234_567;
    const mtu = opt.mtu ?? 1500;
    this.tap = new FrameTap('tap0', mtu);
    this.stack = new Stack({ seed: opt.seed ?? 300, tcpSyncookies: 2, maxTcpSockets: 16, ...(mtu > 1500 ? { maxMtu: mtu } : {}),
      ...opt.config });
    this.stack.addInterface(this.tap, { address: [`${STACK_IP}/24`, `${STACK6}/64`], mac: STACK_MAC });
    // As a router's Cur Hop Limit would (RFC 4861 6.3.4): Ipv6.output6 then sends with it.
    if ((opt.hopLimit6 ?? 0) !== 0) (this.stack.interfaces[0] as NetInterface).hopLimit6 = opt.hopLimit6 as number;
    const fwd = opt.forward ?? null;
    const rec: SynResponder = {
      configure: (k, s, ttl, op, now) => {
        this.handed = { ...(this.handed ?? {} as Handed), key: [...k], secret: [...s], ttl, opts: op };
        fwd?.configure(k, s, ttl, op, now);
      },
      activate: () => false,
      activate6: (a, at, port, mss, window, wscale, hop, until) => {
        this.handed = { ...(this.handed as Handed), words: [...a.subarray(at, at + 4)], port, mss, window, wscale, hop, until };
        this.activations.push({ ...this.handed, at: this.nowMs });
        return fwd === null ? true : fwd.activate6?.(a, at, port, mss, window, wscale, hop, until) ?? false;
      },
      deactivate: (port) => {
        this.deactivated.push(port);
        fwd?.deactivate(port);
      },
    };
    (this.tap as unknown as { synResponder: SynResponder }).synResponder = rec;
    const so = this.stack.sockets;
    this.lfd = so.socket('tcp', AF_INET6);
    if (this.lfd < 0 || so.bind(this.lfd, '::', PORT) !== 0 || so.listen(this.lfd, opt.backlog ?? 8) !== 0) {
      throw new Error('listen on [::]:80');
    }
    this.stack.poll(0);
    this.tap.take();
    // One SYN through the engine: its cookie SYN-ACK hands the listener over.
    if ((opt.handOff ?? true)
      && (this.answer(synFrame6({ src: 'fd00::99', sport: 999, options: LINUX_OPTS6 })) === null || this.handed === null)) {
      throw new Error('the engine did not answer or hand its listener over');
    }
  }

  /** Every frame the engine sends for `frames` at nowMs (its neighbour solicitations answered for the peer). */
  exchange(frames: Uint8Array[]): Uint8Array[] {
    for (const f of frames) this.tap.inject(f);
    this.stack.poll(this.nowMs);
    const out: Uint8Array[] = [];
    for (let round = 0; round < 4; round++) {
      let solicited = false;
      for (const f of this.tap.take()) {
        if (f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === 135) {
          this.tap.inject(neighbourAdvert(f));
          solicited = true;
        } else {
          out.push(f);
        }
      }
      if (!solicited) break;
      this.stack.poll(this.nowMs);
    }
    return out;
  }

  /** The engine's TCP answer to `frame` at nowMs (the last IPv6 TCP frame it sent), or null. */
  answer(frame: Uint8Array): Uint8Array | null {
    let tcp: Uint8Array | null = null;
    for (const f of this.exchange([frame])) if (f[12] === 0x86 && f[13] === 0xdd && f[20] === 6) tcp = f;
    return tcp;
  }

  /** The program's configuration for this engine: its keys and options, the handed listener (and `extra` entries). */
  config(extra: SynrBpfEntry[] = [], first: Partial<SynrBpfEntry> = {}): SynrBpfConfig {
    const h = this.handed as Handed;
    const fixedNs = BigInt(Math.round(this.nowMs * 1e6));
    return {
      version: SYNR_BPF_VERSION, on: 1, ttl: h.ttl, opts: h.opts,
      key: h.key as SynrBpfConfig['key'], secret: h.secret as SynrBpfConfig['secret'],
      entries: [{ addr: STACK6, port: h.port, mss: h.mss, window: h.window, wscale: h.wscale, hopLimit: h.hop,
        untilNs: BigInt(Math.round(h.until * 1e6)), ...first }, ...extra],
      clockOffNs: 0n, fixedNs,
    };
  }
}

/** A solicited Neighbor Advertisement (RFC 4861 4.4) from the peer's MAC for the target the NS `ns` asks about. */
function neighbourAdvert(ns: Uint8Array): Uint8Array {
  const target = ns.subarray(62, 78);
  const to = ns.subarray(22, 38);
  const m = new Uint8Array(32);
  m[0] = 136;
  m[4] = 0x60; // solicited, override
  m.set(target, 8);
  m[24] = 2; // target link-layer address
  m[25] = 1;
  m.set(mac(PEER_MAC), 26);
  const ph = new Uint8Array(40 + m.length);
  ph.set(target, 0);
  ph.set(to, 16);
  ph[35] = m.length;
  ph[39] = 58;
  ph.set(m, 40);
  const c = refChecksum(ph);
  m[2] = c >> 8;
  m[3] = c & 255;
  const f = new Uint8Array(14 + 40 + m.length);
  f.set(mac(STACK_MAC), 0);
  f.set(mac(PEER_MAC), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[19] = m.length;
  f[20] = 58;
  f[21] = 255;
  f.set(target, 22);
  f.set(to, 38);
  f.set(m, 54);
  return f;
}

// ---------------------------------------------------------------- cases

const MS = 1_000_000n;

/** Every IPv6 case: option layouts, sysctls, clocks, MSS table, hop limits, and what must be passed. */
export function synrBpfCases6(): SynrBpfCase[] {
  const cases: SynrBpfCase[] = [];
  let seed = 300;
  const engine = (nowMs: number, config: StackConfig = {}, mtu = 1500, hopLimit6 = 0): Engine6 =>
    new Engine6({ nowMs, config, mtu, hopLimit6, seed: seed++ });
  /** An answer: the program must write exactly the engine's SYN-ACK to `reference` (default: `frame` itself). */
  const answer = (name: string, e: Engine6, frame: Uint8Array, reference = frame): void => {
    const ref = e.answer(reference);
    if (ref === null) throw new Error(`${name}: the engine did not answer`);
    cases.push({ name: `IPv6: ${name}`, cfg: e.config(), frame, expect: 'answer', counted: false, native: 'pass', engine: ref });
  };
  const pass = (name: string, cfg: SynrBpfConfig, frame: Uint8Array, counted: boolean): void => {
    cases.push({ name: `IPv6: ${name}`, cfg, frame, expect: 'pass', counted });
  };
  const T = 1_234_567;

  // Option layouts (RFC 9293 3.1, RFC 7323, RFC 2018) with each sysctl set, through one engine per set.
  const layouts: Array<[string, number[]]> = [
    ['Linux SYN: MSS 1440, SACK, TS, NOP, WS 7', LINUX_OPTS6],
    ['no options (MSS 1220, RFC 8200 8.3)', []],
    ['MSS 1400, TS, NOP, WS 15 (capped to 14)', opts([o.mss(1400), o.ts(7, 0), o.nop, o.ws(15)])],
    ['MSS 1420, SACK, NOP, WS 2, no TS', opts([o.mss(1420), o.sackOk, o.nop, o.ws(2)])],
    ['MSS 8940, SACK, TS', opts([o.mss(8940), o.sackOk, o.ts(0x80000000, 0)])],
    ['TS only (no MSS)', opts([o.ts(1, 0)])],
    ['TS and WS 0', opts([o.ts(0xffffffff, 0), o.ws(0)])],
    ['NOPs everywhere: NOP NOP TS NOP WS NOP SACK', opts([o.nop, o.nop, o.ts(42, 0), o.nop, o.ws(3), o.nop, o.sackOk])],
    ['EOL first: nothing after it is read', opts([o.eol, o.mss(1440), o.sackOk, o.ts(5, 0), o.ws(4)], 0)],
    ['MSS 0 (taken as 1220)', opts([o.mss(0), o.ts(3, 0)])],
    ['MSS 65535', opts([o.mss(65535), o.sackOk, o.ts(3, 0)])],
    ['MSS 8939 (IPv6 msstab index 2)', opts([o.mss(8939)])],
    ['MSS 1439 (index 1)', opts([o.mss(1439)])],
    ['MSS 1419 (index 0)', opts([o.mss(1419)])],
    ['MSS 536 (below the table: index 0)', opts([o.mss(536)])],
    ['two MSS options: the last one counts', opts([o.mss(1440), o.mss(1300), o.ts(8, 9)])],
    ['unknown option kind 30 skipped', opts([[30, 6, 1, 2, 3, 4], o.mss(1440), o.ts(11, 0)])],
    ['40 option bytes, TS last', opts([o.nop, o.nop, o.nop, o.nop, [30, 10, 0, 0, 0, 0, 0, 0, 0, 0], o.mss(1440), o.sackOk,
      o.ws(9), o.nop, o.ts(0x01020304, 0)])],
  ];
  const sysctls: Array<[number, StackConfig]> = [
    [7, {}],
    [1, { tcpSack: 0, tcpWindowScaling: 0 }],
    [3, { tcpWindowScaling: 0 }],
    [5, { tcpSack: 0 }],
    [6, { tcpTimestamps: 0 }],
    [0, { tcpTimestamps: 0, tcpSack: 0, tcpWindowScaling: 0 }],
  ];
  for (const [set, config] of sysctls) {
    const e = engine(T, config);
    if (e.config().opts !== set) throw new Error(`sysctl set ${set}: the engine handed opts ${e.config().opts}`);
    for (const [name, options] of layouts) {
      if (set !== 7 && !options.includes(8)) continue; // without TS the sysctls change nothing: once is enough
      answer(`${name} [opts ${set}]`, e, synFrame6({ options }));
    }
  }

  // Clocks: minute boundaries (the cookie's count), its wrap at 256 minutes, TSval's low bits, a fraction of a ms.
  for (const now of [1, 59_999, 60_000, 60_000 + 64 * 1000 + 13.5, 256 * 60_000 - 1, 256 * 60_000, 4_294_967_295,
    4_294_967_296 + 63, 1_700_000_000_000]) {
    answer(`clock ${now} ms`, engine(now), synFrame6({ options: LINUX_OPTS6, isn: Math.floor(now) >>> 0 }));
  }

  // The SYN-ACK's own fields from the engine: hop limit, MSS of the path, window and window scale.
  const e = engine(T);
  answer('hop limit 64 (the stack\'s ttl), addresses and ports swapped', e, synFrame6({ options: LINUX_OPTS6 }));
  answer('hop limit 255 (ttl 255)', engine(T, { ttl: 255 }), synFrame6({ options: LINUX_OPTS6 }));
  answer('hop limit 1 (ttl 1)', engine(T, { ttl: 1 }), synFrame6({ options: LINUX_OPTS6 }));
  answer('hop limit 200 from a router\'s Cur Hop Limit (ttl 64)', engine(T, {}, 1500, 200), synFrame6({ options: LINUX_OPTS6 }));
  answer('MTU 9000: MSS 8940', engine(T, {}, 9000), synFrame6({ options: opts([o.mss(8940), o.sackOk, o.ts(1, 0)]) }));
  answer('MTU 1280: MSS 1220', engine(T, {}, 1280), synFrame6({ options: LINUX_OPTS6 }));
  answer('receive buffer 1 MiB: window 65535, wscale 5', engine(T, { tcpRecvBufferBytes: 1 << 20 }), synFrame6({ options: LINUX_OPTS6 }));
  answer('receive buffer 8 KiB: window 8192, wscale 0', engine(T, { tcpRecvBufferBytes: 8192 }), synFrame6({ options: LINUX_OPTS6 }));
  answer('source fd00::ffff:ffff:ffff:fffe, sport 65535, ISN 0xffffffff', e,
    synFrame6({ src: 'fd00::ffff:ffff:ffff:fffe', sport: 65535, isn: 0xffffffff, options: LINUX_OPTS6 }));
  answer('source fd00::1:0:0:1, sport 1, ISN 0', e, synFrame6({ src: 'fd00::1:0:0:1', sport: 1, isn: 0 }));
  answer('a traffic class and flow label on the SYN (the answer carries neither)', e,
    synFrame6({ tclass: 0xb8, flow: 0xabcde, options: LINUX_OPTS6 }));
  answer('hop limit 1 on the SYN', e, synFrame6({ hop: 1, options: LINUX_OPTS6 }));
  answer('SYN|PSH is a pure SYN', e, synFrame6({ flags: SYN | PSH, options: LINUX_OPTS6 }));
  answer('SYN|ECE|CWR (ECN setup) is answered without ECN', e, synFrame6({ flags: SYN | ECE | CWR, options: LINUX_OPTS6 }));
  answer('30 bytes of trailer past the datagram', e, synFrame6({ trailer: 30, options: LINUX_OPTS6 }),
    synFrame6({ options: LINUX_OPTS6 }));
  // A local socket's SYN (CHECKSUM_PARTIAL: the field holds the pseudo-header's sum): answered as the complete one.
  answer('partial TCP checksum (a local socket\'s CHECKSUM_PARTIAL SYN)', e, synFrame6({ tcpSum: 'partial', options: LINUX_OPTS6 }),
    synFrame6({ options: LINUX_OPTS6 }));
  answer('partial TCP checksum, no options', e, synFrame6({ tcpSum: 'partial' }), synFrame6());
  // Entries of both families and other ports: the IPv6 one matches on all 16 bytes.
  {
    const cfg = e.config([{ addr: STACK_IP, port: PORT, mss: 1000, window: 1000, wscale: 1, untilNs: BigInt(T + 10) * MS },
      { addr: 'fd00::3', port: PORT, mss: 1000, window: 1000, wscale: 1, hopLimit: 9, untilNs: BigInt(T + 10) * MS }]);
    cfg.entries.reverse(); // the handed listener last
    const ref = e.answer(synFrame6({ options: LINUX_OPTS6 }));
    if (ref === null) throw new Error('no answer');
    cases.push({ name: 'IPv6: third of 3 entries (an IPv4 one and another IPv6 address first)', cfg, frame: synFrame6({ options: LINUX_OPTS6 }),
      expect: 'answer', counted: false, native: 'pass', engine: ref });
  }

  // Not answered and not counted: not a pure SYN to an active IPv6 entry, or not for the program to answer.
  const base = e.config();
  const cfgWith = (over: Partial<SynrBpfConfig>, entry: Partial<SynrBpfEntry> = {}): SynrBpfConfig =>
    ({ ...base, entries: [{ ...base.entries[0], ...entry }], ...over });
  const fixed = base.fixedNs;
  const notMine: Array<[string, SynrBpfConfig, Syn6]> = [
    ['entry for another port', base, { dport: 81, options: LINUX_OPTS6 }],
    ['entry for another address (fd00::3)', base, { dst: 'fd00::3', options: LINUX_OPTS6 }],
    ['entry differing in the first word only (fd01::2)', base, { dst: 'fd01::2' }],
    ['entry differing in the third word only (fd00::1:0:0:2)', base, { dst: 'fd00::1:0:0:2' }],
    ['entry expired (until == now)', cfgWith({}, { untilNs: fixed }), {}],
    ['entry expired long ago', cfgWith({}, { untilNs: 1n }), {}],
    ['entry of family 4 with the IPv6 address', cfgWith({}, { family: 4 }), {}],
    ['entry of an unknown family', cfgWith({}, { family: 10 }), {}],
    ['n_entries 0', { ...base, nEntries: 0 }, {}],
    ['responder off', { ...base, on: 0 }, {}],
    ['layout version 1', { ...base, version: 1 }, {}],
    ['SYN|ACK', base, { flags: SYN | ACK }],
    ['SYN|RST', base, { flags: SYN | RST }],
    ['SYN|FIN', base, { flags: SYN | FIN }],
    ['ACK', base, { flags: ACK }],
    ['RST', base, { flags: RST }],
    ['multicast MAC', base, { ethDst: '33:33:00:00:00:02' }],
    ['source ff02::1 (multicast, RFC 4291 2.7)', base, { src: 'ff02::1' }],
    ['source :: (unspecified)', base, { src: '::' }],
    ['source ::1 (loopback)', base, { src: '::1' }],
    ['source ::ffff:198.18.0.1 (IPv4-mapped)', base, { src: '::ffff:198.18.0.1' }],
    ['source fd00::2 (our own address)', base, { src: STACK6 }],
    ['hop-by-hop options header first (next header 0)', base, { ext: { type: 0, bytes: [6, 0, 1, 4, 0, 0, 0, 0] }, options: LINUX_OPTS6 }],
    ['destination options header (60)', base, { ext: { type: 60, bytes: [6, 0, 1, 4, 0, 0, 0, 0] } }],
    ['routing header, no segments left (43)', base, { ext: { type: 43, bytes: [6, 0, 4, 0, 0, 0, 0, 0] } }],
    ['atomic fragment header (44)', base, { ext: { type: 44, bytes: [6, 0, 0, 0, 0, 0, 0, 1] } }],
    ['UDP (next header 17)', base, { nextHeader: 17 }],
    ['no next header (59)', base, { nextHeader: 59 }],
    ['IP version 4 in an IPv6 ethertype', base, { version: 4 }],
  ];
  for (const [name, cfg, syn] of notMine) pass(name, cfg, synFrame6(syn), false);
  // An IPv4 SYN never matches an IPv6 entry (nor an IPv6 SYN an IPv4 one: 'entry of family 4' above).
  pass('an IPv4 SYN to 10.0.0.2 with only an IPv6 entry', base, synFrame({ options: LINUX_OPTS6 }), false);
  // Frames too short for an IPv6 SYN (14 + 40 + 20 bytes before anything is read).
  const full = synFrame6({ options: LINUX_OPTS6 });
  for (const n of [54, 60, 73]) pass(`frame cut to ${n} bytes`, base, full.subarray(0, n), false);

  // Pure SYNs to the active entry, passed on and counted: the engine handles them.
  const counted: Array<[string, Syn6]> = [
    ['bad TCP checksum', { tcpSum: 'bad', options: LINUX_OPTS6 }],
    ['bad TCP checksum, no options', { tcpSum: 'bad' }],
    ['1 byte of payload', { payload: [0x41], options: LINUX_OPTS6 }],
    ['100 bytes of payload (TFO-style data)', { payload: new Array<number>(100).fill(7) }],
    ['payload length past the frame', { plen: 200 }],
    ['payload length shorter than the TCP header', { plen: 19 + LINUX_OPTS6.length, options: LINUX_OPTS6 }],
    ['payload length 0 (a jumbogram without its option)', { plen: 0 }],
    ['TCP data offset 4 (16 bytes)', { doff: 4, trailer: 8 }],
    ['TCP data offset 6 with no option bytes (header past the datagram)', { doff: 6, trailer: 8 }],
    ['option length 0', { options: opts([o.mss(1440), [30, 0]]) }],
    ['option length 1', { options: opts([[30, 1], o.mss(1440)]) }],
    ['option past the header', { options: opts([o.mss(1440), [30, 8, 1, 2]]) }],
    ['timestamp cut by the header end', { options: [1, 1, 8, 10, 0, 0, 0, 1] }],
  ];
  for (const [name, syn] of counted) pass(name, base, synFrame6(syn), true);
  return cases;
}
