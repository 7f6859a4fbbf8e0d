/**
 * `stack.ipsec`: manual keying of ESP transport mode. SAs and policies are
 * added one by one or from one JSON document (the `wirestack tap --esp FILE`
 * format), expiry is reported as events, and sequence numbers can be
 * exported and imported so a restarted stack never reuses one.
 *
 * JSON format (every field as in {@link SaSpec} / {@link PolicySpec}):
 * ```json
 * {
 *   "sa": [
 *     { "dir": "out", "spi": "0x1001", "src": "10.83.0.2", "dst": "10.83.0.1",
 *       "aead": { "name": "rfc4106(gcm(aes))", "key": "0x<16/24/32-byte AES key><4-byte salt>", "icvBits": 128 } },
 *     { "dir": "in", "spi": 4098, "src": "10.83.0.1", "dst": "10.83.0.2",
 *       "enc": { "name": "cbc(aes)", "key": "0x<16/24/32 bytes>" },
 *       "auth": { "name": "hmac(sha256)", "key": "0x<32 bytes>" },
 *       "esn": false, "replayWindow": 128, "encap": { "sport": 4500, "dport": 4500 },
 *       "lifetime": { "softBytes": 1e9, "hardBytes": 2e9, "softSeconds": 3000, "hardSeconds": 3600 } }
 *   ],
 *   "policy": [
 *     { "dir": "both", "src": "10.83.0.2/32", "dst": "10.83.0.1/32", "proto": "any", "action": "protect" },
 *     { "dir": "out", "dst": "10.83.0.0/24", "proto": "udp", "dstPort": [5000, 5999], "action": "discard", "priority": 10 }
 *   ]
 * }
 * ```
 * Algorithms use the Linux XFRM names: `rfc4106(gcm(aes))`, `rfc4543(gcm(aes))`
 * (aead), `cbc(aes)` or `ecb(cipher_null)` (enc) with `hmac(sha1)`,
 * `hmac(sha256)`, `hmac(sha384)`, `hmac(sha512)` (auth). Policies match in
 * `priority` order (lower first, default 0, then file order); no match
 * means bypass. `dir: "both"` adds the outbound policy as written and the
 * inbound one with addresses and ports swapped.
 */
import { formatIpv4, parseCidr, parseIpv4 } from '../wire/ipv4addr.js';
import { IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { resolveAlgorithms, type AlgorithmSpec } from './algorithms.js';
import type { IpsecEngine } from './engine.js';
import type { EspCrypto } from './crypto.js';
import { EspTransform } from './transform.js';
import {
  DIR_IN, DIR_OUT, EV_SOFT, EXPIRE_BYTES, EXPIRE_DELETED, EXPIRE_PACKETS, EXPIRE_SEQUENCE, EXPIRE_TIME, SAF_ENCAP,
  SAF_ESN, SA_FREE, SA_LIMITS, SA_LIVE,
} from './sad.js';
import { ACT_BYPASS, ACT_DISCARD, ACT_PROTECT, SP_IN, SP_OUT } from './spd.js';

/** One security association, as given to {@link IpsecApi.addSa}. */
export interface SaSpec extends AlgorithmSpec {
  dir: 'in' | 'out';
  /** 256 .. 2^32-1, as a number or a string ('0x1001'). */
  spi: number | string;
  src: string;
  dst: string;
  /** 64-bit extended sequence numbers (RFC 4303 2.2.1). Needs a replay window. Default false. */
  esn?: boolean;
  /** Inbound anti-replay window in bits: 0 (off) or 32 .. the stack's `ipsecReplayWindow` (its default). */
  replayWindow?: number;
  /** ESP-in-UDP (RFC 3948): true for ports 4500/4500, or the UDP ports as they appear in this SA's packets. */
  encap?: boolean | { sport?: number; dport?: number };
  /** Soft limits raise 'soft' (rekey now), hard limits stop the SA and raise 'hard'. */
  lifetime?: {
    softBytes?: number; hardBytes?: number; softPackets?: number; hardPackets?: number;
    softSeconds?: number; hardSeconds?: number;
  };
  /** Outbound: last sequence number sent (next is +1); inbound: highest received. Default 0. */
  seq?: number | string | bigint;
}

/** One policy, as given to {@link IpsecApi.addPolicy}. */
export interface PolicySpec {
  dir: 'in' | 'out' | 'both';
  /** Prefix ('10.83.0.0/24') or address; default any. For 'in', src is the remote side. */
  src?: string;
  dst?: string;
  /** 'any' (default), 'tcp', 'udp', 'icmp', 'esp' or a protocol number. */
  proto?: string | number;
  /** A port or an inclusive [low, high] range (TCP/UDP only); default any. */
  srcPort?: number | [number, number];
  dstPort?: number | [number, number];
  action: 'protect' | 'bypass' | 'discard';
  /** Lower values are searched first. Default 0. */
  priority?: number;
  /** Protect with this SA only (outbound), or accept ESP only from this SA (inbound). */
  spi?: number | string;
}

/** The JSON document of {@link IpsecApi.loadJson} and `wirestack tap --esp FILE`. */
export interface IpsecDocument {
  sa?: SaSpec[];
  policy?: PolicySpec[];
}

export interface SaInfo {
  dir: 'in' | 'out';
  spi: number;
  src: string;
  dst: string;
  enc: string;
  auth: string;
  esn: boolean;
  encap: { sport: number; dport: number } | null;
  state: 'live' | 'expired';
  /** Last sequence number sent (out) or highest received (in), decimal. */
  seq: string;
  bytes: number;
  packets: number;
}

export interface PolicyInfo {
  id: number;
  dir: 'in' | 'out';
  src: string;
  dst: string;
  proto: number;
  srcPort: [number, number];
  dstPort: [number, number];
  action: 'protect' | 'bypass' | 'discard';
  priority: number;
  spi: number | null;
  hits: number;
}

/** Saved per-SA sequence state (see {@link IpsecApi.exportState}). */
export interface SaState {
  dir: 'in' | 'out';
  spi: number;
  src: string;
  dst: string;
  seq: string;
}

export type ExpiryReason = 'bytes' | 'packets' | 'time' | 'sequence' | 'deleted';

/** Payload of the 'soft' and 'hard' events. */
export interface ExpiryEvent {
  kind: 'soft' | 'hard';
  reason: ExpiryReason;
  sa: SaInfo;
}

/** What the API needs from the stack: its clock and a wake-up. */
export interface IpsecHost {
  readonly now: number;
  touch(): void;
  kick(): void;
}

const REASONS: Record<number, ExpiryReason> = {
  [EXPIRE_BYTES]: 'bytes', [EXPIRE_PACKETS]: 'packets', [EXPIRE_TIME]: 'time', [EXPIRE_SEQUENCE]: 'sequence',
  [EXPIRE_DELETED]: 'deleted',
};
const PROTOS: Record<string, number> = { any: 0, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP, esp: IPPROTO_ESP };
const ACTIONS: Record<string, number> = { bypass: ACT_BYPASS, protect: ACT_PROTECT, discard: ACT_DISCARD };
const ACTION_NAMES = ['bypass', 'protect', 'discard'] as const;
const SA_KEYS = new Set(['dir', 'spi', 'src', 'dst', 'aead', 'enc', 'auth', 'esn', 'replayWindow', 'encap', 'lifetime', 'seq']);
const SP_KEYS = new Set(['dir', 'src', 'dst', 'proto', 'srcPort', 'dstPort', 'action', 'priority', 'spi']);
const U64 = (1n << 64n) - 1n;

function parseSpi(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 256 || n > 0xffffffff) {
    throw new RangeError(`${what}: spi must be an integer in 256..0xffffffff (1-255 are reserved), got ${String(v)}`);
  }
  return n;
}

function parseAddr(v: unknown, what: string): number {
  const a = typeof v === 'string' ? parseIpv4(v) : -1;
  if (a < 0) throw new RangeError(`${what} must be an IPv4 address, got ${String(v)}`);
  return a | 0;
}

function parseSeq(v: unknown, what: string): bigint {
  let n: bigint;
  try {
    n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v)
      : typeof v === 'string' ? BigInt(v.trim()) : -1n;
  } catch {
    n = -1n;
  }
  if (n < 0n || n > U64) throw new RangeError(`${what}: seq must be an integer in 0..2^64-1, got ${String(v)}`);
  return n;
}

function parsePorts(v: unknown, what: string): [number, number] {
  if (v === undefined) return [0, 65535];
  const ok = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1]) && v[0] <= v[1]) return [v[0], v[1]];
  throw new RangeError(`${what} must be a port or a [low, high] range, got ${JSON.stringify(v)}`);
}

function parseLimit(v: unknown, what: string): number {
  if (v === undefined) return Infinity;
  if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`${what} must be a positive number, got ${String(v)}`);
  return v;
}

function checkKeys(obj: object, allowed: Set<string>, what: string): void {
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw new TypeError(`${what}: unknown field '${k}'`);
}

type Listener = (e: ExpiryEvent) => void;

export class IpsecApi {
  private readonly listeners: Record<'soft' | 'hard', Listener[]> = { soft: [], hard: [] };
  private readonly ids: number[] = [];
  private nextId = 1;

  constructor(private readonly engine: IpsecEngine, crypto: EspCrypto, private readonly host: IpsecHost,
    private readonly maxWindow: number) {
    engine.crypto = crypto;
    engine.onEvent = (slot, kind, reason) => {
      const list = this.listeners[kind === EV_SOFT ? 'soft' : 'hard'];
      if (list.length === 0) return;
      const ev: ExpiryEvent = { kind: kind === EV_SOFT ? 'soft' : 'hard', reason: REASONS[reason] ?? 'time', sa: this.info(slot) };
      for (const l of list.slice()) l(ev);
    };
  }

  /** Listen for 'soft' (time to rekey) and 'hard' (SA stopped) expiry. */
  on(event: 'soft' | 'hard', listener: Listener): this {
    if (event !== 'soft' && event !== 'hard') throw new TypeError(`unknown ipsec event '${String(event)}'`);
    this.listeners[event].push(listener);
    return this;
  }

  off(event: 'soft' | 'hard', listener: Listener): this {
    const l = this.listeners[event];
    const i = l.indexOf(listener);
    if (i >= 0) l.splice(i, 1);
    return this;
  }

  /** Add an SA; throws naming the problem (bad spec, duplicate SPI, `ipsecMaxSa` reached). */
  addSa(spec: SaSpec): SaInfo {
    if (spec === null || typeof spec !== 'object') throw new TypeError('addSa: spec must be an object');
    checkKeys(spec, SA_KEYS, 'SA');
    const dir = spec.dir === 'in' ? DIR_IN : spec.dir === 'out' ? DIR_OUT : -1;
    if (dir < 0) throw new RangeError(`SA dir must be 'in' or 'out', got ${String(spec.dir)}`);
    const spi = parseSpi(spec.spi, 'SA');
    const src = parseAddr(spec.src, 'SA src');
    const dst = parseAddr(spec.dst, 'SA dst');
    const alg = resolveAlgorithms(spec);
    const esn = spec.esn === true;
    if (spec.esn !== undefined && typeof spec.esn !== 'boolean') throw new TypeError('SA esn must be true or false');
    const window = spec.replayWindow ?? this.maxWindow;
    if (!Number.isInteger(window) || (window !== 0 && (window < 32 || window > this.maxWindow))) {
      throw new RangeError(`SA replayWindow must be 0 or 32..${this.maxWindow} (ipsecReplayWindow), got ${String(spec.replayWindow)}`);
    }
    if (esn && window === 0 && dir === DIR_IN) throw new RangeError('an ESN SA needs a replay window (RFC 4303 2.2.1)');
    let sport = 0;
    let dport = 0;
    if (spec.encap !== undefined && spec.encap !== false) {
      const e = spec.encap === true ? {} : spec.encap;
      if (typeof e !== 'object' || e === null) throw new TypeError('SA encap must be true or { sport, dport }');
      [sport] = parsePorts(e.sport ?? 4500, 'SA encap sport');
      [dport] = parsePorts(e.dport ?? 4500, 'SA encap dport');
      if (sport === 0 || dport === 0) throw new RangeError('SA encap ports must be non-zero');
    }
    const seq = parseSeq(spec.seq ?? 0, 'SA');
    if (!esn && seq > 0xffffffffn) throw new RangeError('SA seq above 2^32-1 needs esn');
    const lt = spec.lifetime ?? {};
    const limits = [
      parseLimit(lt.softBytes, 'softBytes'), parseLimit(lt.hardBytes, 'hardBytes'),
      parseLimit(lt.softPackets, 'softPackets'), parseLimit(lt.hardPackets, 'hardPackets'),
      parseLimit(lt.softSeconds, 'softSeconds') * 1000, parseLimit(lt.hardSeconds, 'hardSeconds') * 1000,
    ];
    const e = this.engine;
    const sad = e.sad;
    if (sad.findAny(spi, dst, dir) >= 0) {
      throw new RangeError(`an SA with spi 0x${spi.toString(16)} to ${formatIpv4(dst)} (${spec.dir}) exists`);
    }
    const slot = sad.allocate();
    if (slot < 0) throw new RangeError(`SA table full (ipsecMaxSa ${sad.capacity})`);
    const crypto = e.crypto as EspCrypto;
    this.host.touch();
    sad.transforms[slot] = new EspTransform(alg.suite, crypto, alg.encKey, alg.authKey, alg.salt, esn);
    sad.dir[slot] = dir;
    sad.spi[slot] = spi | 0;
    sad.src[slot] = src;
    sad.dst[slot] = dst;
    sad.flags[slot] = (esn ? SAF_ESN : 0) | (sport !== 0 ? SAF_ENCAP : 0);
    sad.encapSport[slot] = sport;
    sad.encapDport[slot] = dport;
    sad.seqHi[slot] = Number(seq >> 32n) | 0;
    sad.seqLo[slot] = Number(seq & 0xffffffffn) | 0;
    const iv = new Uint8Array(8);
    crypto.randomFill(iv, 0, 8);
    sad.ivBase[slot * 2] = (iv[0] << 24) | (iv[1] << 16) | (iv[2] << 8) | iv[3];
    sad.ivBase[slot * 2 + 1] = (iv[4] << 24) | (iv[5] << 16) | (iv[6] << 8) | iv[7];
    sad.bytes[slot] = 0;
    sad.packets[slot] = 0;
    sad.added[slot] = this.host.now;
    for (let k = 0; k < SA_LIMITS; k++) sad.limits[slot * SA_LIMITS + k] = limits[k];
    sad.fired[slot] = 0;
    sad.pending[slot] = 0;
    sad.replay.reset(slot, dir === DIR_IN ? window : 0, sad.seqHi[slot], sad.seqLo[slot]);
    sad.link(slot);
    if (sport !== 0) e.encapCount++;
    e.touchLifetimes();
    this.host.kick();
    return this.info(slot);
  }

  /** Remove an SA (its packets then count as `noSa`). Returns false when there is none. */
  deleteSa(spi: number | string, dst: string, dir: 'in' | 'out'): boolean {
    const slot = this.engine.sad.findAny(parseSpi(spi, 'deleteSa'), parseAddr(dst, 'deleteSa dst'), dir === 'in' ? DIR_IN : DIR_OUT);
    if (slot < 0) return false;
    this.removeSlot(slot);
    return true;
  }

  private removeSlot(slot: number): void {
    const sad = this.engine.sad;
    if ((sad.flags[slot] & SAF_ENCAP) !== 0) this.engine.encapCount--;
    sad.remove(slot);
  }

  /** Add a policy ('both' adds two); returns their ids (for {@link deletePolicy}). */
  addPolicy(spec: PolicySpec): number[] {
    const entries = this.parsePolicy(spec);
    const spd = this.engine.spd;
    let free = 0;
    for (let i = 0; i < spd.capacity; i++) if (spd.used[i] === 0) free++;
    if (free < entries.length) throw new RangeError(`policy table full (ipsecMaxSp ${spd.capacity})`);
    const ids: number[] = [];
    for (const p of entries) {
      const i = spd.allocate();
      spd.dir[i] = p.dir;
      spd.action[i] = p.action;
      spd.proto[i] = p.proto;
      spd.priority[i] = p.priority;
      spd.srcNet[i] = p.srcNet;
      spd.srcMask[i] = p.srcMask;
      spd.dstNet[i] = p.dstNet;
      spd.dstMask[i] = p.dstMask;
      spd.sportLo[i] = p.sport[0];
      spd.sportHi[i] = p.sport[1];
      spd.dportLo[i] = p.dport[0];
      spd.dportHi[i] = p.dport[1];
      spd.hasSpi[i] = p.spi === null ? 0 : 1;
      spd.spi[i] = (p.spi ?? 0) | 0;
      spd.link(i);
      this.ids[i] = this.nextId;
      ids.push(this.nextId++);
    }
    return ids;
  }

  private parsePolicy(spec: PolicySpec): Array<{
    dir: number; action: number; proto: number; priority: number; srcNet: number; srcMask: number; dstNet: number;
    dstMask: number; sport: [number, number]; dport: [number, number]; spi: number | null;
  }> {
    if (spec === null || typeof spec !== 'object') throw new TypeError('addPolicy: spec must be an object');
    checkKeys(spec, SP_KEYS, 'policy');
    if (spec.dir !== 'in' && spec.dir !== 'out' && spec.dir !== 'both') {
      throw new RangeError(`policy dir must be 'in', 'out' or 'both', got ${String(spec.dir)}`);
    }
    const action = ACTIONS[spec.action];
    if (action === undefined) throw new RangeError(`policy action must be protect, bypass or discard, got ${String(spec.action)}`);
    const proto = typeof spec.proto === 'number' ? spec.proto : PROTOS[spec.proto ?? 'any'];
    if (proto === undefined || !Number.isInteger(proto) || proto < 0 || proto > 255) {
      throw new RangeError(`policy proto must be any, tcp, udp, icmp, esp or 0..255, got ${String(spec.proto)}`);
    }
    const sport = parsePorts(spec.srcPort, 'policy srcPort');
    const dport = parsePorts(spec.dstPort, 'policy dstPort');
    const restricted = (r: [number, number]): boolean => r[0] !== 0 || r[1] !== 65535;
    if ((restricted(sport) || restricted(dport)) && proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== 0) {
      throw new RangeError('policy ports need proto tcp, udp or any');
    }
    const priority = spec.priority ?? 0;
    if (!Number.isInteger(priority) || Math.abs(priority) > 0x7fffffff) throw new RangeError('policy priority must be an integer');
    const spi = spec.spi === undefined ? null : parseSpi(spec.spi, 'policy');
    if (spi !== null && spec.dir === 'both') throw new RangeError("policy spi names one SA: use dir 'in' or 'out'");
    const net = (v: string | undefined, what: string): [number, number] => {
      if (v === undefined) return [0, 0];
      const c = v.includes('/') ? parseCidr(v, what) : { address: parseAddr(v, what), prefixLength: 32 };
      const mask = c.prefixLength === 0 ? 0 : (0xffffffff << (32 - c.prefixLength)) | 0;
      return [(c.address & mask) | 0, mask];
    };
    const [srcNet, srcMask] = net(spec.src, 'policy src');
    const [dstNet, dstMask] = net(spec.dst, 'policy dst');
    const out = { dir: SP_OUT, action, proto, priority, srcNet, srcMask, dstNet, dstMask, sport, dport, spi };
    if (spec.dir === 'out') return [out];
    const swapped = { ...out, dir: SP_IN, srcNet: dstNet, srcMask: dstMask, dstNet: srcNet, dstMask: srcMask, sport: dport, dport: sport };
    if (spec.dir === 'in') return [{ ...out, dir: SP_IN }];
    return [out, swapped];
  }

  /** Remove a policy by id. */
  deletePolicy(id: number): boolean {
    const spd = this.engine.spd;
    for (let i = 0; i < spd.capacity; i++) {
      if (spd.used[i] === 1 && this.ids[i] === id) {
        spd.remove(i);
        return true;
      }
    }
    return false;
  }

  /** Remove every SA and policy. */
  flush(): void {
    const sad = this.engine.sad;
    for (let i = 0; i < sad.capacity; i++) if (sad.state[i] !== SA_FREE) this.removeSlot(i);
    const spd = this.engine.spd;
    for (let i = 0; i < spd.capacity; i++) spd.remove(i);
  }

  /**
   * Load SAs and policies from a JSON document (object or text). Everything
   * is validated before anything is added; on failure nothing stays added.
   */
  loadJson(doc: IpsecDocument | string): { sa: number; policy: number } {
    const d: unknown = typeof doc === 'string' ? JSON.parse(doc) : doc;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new TypeError('ipsec JSON must be an object with "sa" and "policy" arrays');
    checkKeys(d, new Set(['sa', 'policy']), 'ipsec JSON');
    const { sa = [], policy = [] } = d as IpsecDocument;
    if (!Array.isArray(sa) || !Array.isArray(policy)) throw new TypeError('ipsec JSON "sa" and "policy" must be arrays');
    sa.forEach((s, i) => this.validate(() => {
      checkKeys(s, SA_KEYS, 'SA');
      resolveAlgorithms(s);
    }, `sa[${i}]`));
    policy.forEach((p, i) => this.validate(() => this.parsePolicy(p), `policy[${i}]`));
    const addedSa: Array<[number | string, string, 'in' | 'out']> = [];
    const addedSp: number[] = [];
    try {
      sa.forEach((s, i) => this.validate(() => {
        this.addSa(s);
        addedSa.push([s.spi, s.dst, s.dir]);
      }, `sa[${i}]`));
      policy.forEach((p, i) => this.validate(() => addedSp.push(...this.addPolicy(p)), `policy[${i}]`));
    } catch (err) {
      for (const id of addedSp) this.deletePolicy(id);
      for (const [spi, dst, dir] of addedSa) this.deleteSa(spi, dst, dir);
      throw err;
    }
    return { sa: sa.length, policy: addedSp.length };
  }

  private validate(fn: () => void, where: string): void {
    try {
      fn();
    } catch (err) {
      const e = err as Error;
      e.message = `${where}: ${e.message}`;
      throw e;
    }
  }

  /** SAs for display. */
  listSa(): SaInfo[] {
    const out: SaInfo[] = [];
    const sad = this.engine.sad;
    for (let i = 0; i < sad.capacity; i++) if (sad.state[i] !== SA_FREE) out.push(this.info(i));
    return out;
  }

  /** Policies in search order. */
  listPolicy(): PolicyInfo[] {
    const spd = this.engine.spd;
    const prefix = (net: number, mask: number): string => {
      let len = 0;
      for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) len++;
      return `${formatIpv4(net)}/${len}`;
    };
    return spd.slots().map((i) => ({
      id: this.ids[i], dir: spd.dir[i] === SP_OUT ? 'out' as const : 'in' as const,
      src: prefix(spd.srcNet[i], spd.srcMask[i]), dst: prefix(spd.dstNet[i], spd.dstMask[i]), proto: spd.proto[i],
      srcPort: [spd.sportLo[i], spd.sportHi[i]] as [number, number], dstPort: [spd.dportLo[i], spd.dportHi[i]] as [number, number],
      action: ACTION_NAMES[spd.action[i]], priority: spd.priority[i], spi: spd.hasSpi[i] === 1 ? spd.spi[i] >>> 0 : null,
      hits: spd.hits[i],
    }));
  }

  /** The sequence numbers of every SA, to save before a stop (JSON-safe: seq as a decimal string). */
  exportState(): SaState[] {
    return this.listSa().map((s) => ({ dir: s.dir, spi: s.spi, src: s.src, dst: s.dst, seq: s.seq }));
  }

  /**
   * Restore saved sequence numbers into matching SAs; numbers only move
   * forward. Outbound SAs skip `margin` more numbers (packets sent after the
   * last export). Returns how many SAs were updated.
   */
  importState(states: SaState[], margin: number | bigint = 0): number {
    const sad = this.engine.sad;
    let n = 0;
    for (const s of states) {
      const dir = s.dir === 'in' ? DIR_IN : DIR_OUT;
      const slot = sad.findAny(parseSpi(s.spi, 'importState'), parseAddr(s.dst, 'importState dst'), dir);
      if (slot < 0 || sad.src[slot] !== parseAddr(s.src, 'importState src')) continue;
      let seq = parseSeq(s.seq, 'importState');
      const esn = (sad.flags[slot] & SAF_ESN) !== 0;
      const cur = (BigInt(sad.seqHi[slot] >>> 0) << 32n) | BigInt(sad.seqLo[slot] >>> 0);
      const curIn = (BigInt(sad.replay.topHi[slot] >>> 0) << 32n) | BigInt(sad.replay.topLo[slot] >>> 0);
      if (dir === DIR_OUT) {
        seq += BigInt(margin);
        const max = esn ? U64 : 0xffffffffn;
        if (seq > max) seq = max;
        if (seq <= cur) continue;
        sad.seqHi[slot] = Number(seq >> 32n) | 0;
        sad.seqLo[slot] = Number(seq & 0xffffffffn) | 0;
      } else {
        if (seq <= curIn) continue;
        sad.replay.reset(slot, sad.replay.size[slot], Number(seq >> 32n) | 0, Number(seq & 0xffffffffn) | 0);
      }
      n++;
    }
    return n;
  }

  private info(slot: number): SaInfo {
    const sad = this.engine.sad;
    const t = sad.transforms[slot];
    const inbound = sad.dir[slot] === DIR_IN;
    const hi = inbound ? sad.replay.topHi[slot] : sad.seqHi[slot];
    const lo = inbound ? sad.replay.topLo[slot] : sad.seqLo[slot];
    return {
      dir: inbound ? 'in' : 'out', spi: sad.spi[slot] >>> 0, src: formatIpv4(sad.src[slot]), dst: formatIpv4(sad.dst[slot]),
      enc: t?.suite.encName ?? '', auth: t?.suite.authName ?? '', esn: (sad.flags[slot] & SAF_ESN) !== 0,
      encap: (sad.flags[slot] & SAF_ENCAP) !== 0 ? { sport: sad.encapSport[slot], dport: sad.encapDport[slot] } : null,
      state: sad.state[slot] === SA_LIVE ? 'live' : 'expired',
      seq: ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(), bytes: sad.bytes[slot], packets: sad.packets[slot],
    };
  }
}

