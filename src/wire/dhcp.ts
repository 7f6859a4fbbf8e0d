/**
 * DHCP (RFC 2131) / BOOTP (RFC 951) messages with the options of RFC 2132:
 * a strict parser (magic cookie, option bounds, known option lengths, option
 * overload, RFC 3396 concatenation of repeated options) and an encoder.
 * Allocation is fine here: DHCP runs a few times per lease, never on the
 * packet path.
 */
import { formatIpv4, parseIpv4 } from './ipv4addr.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header (236) + magic cookie (4). */
export const DHCP_FIXED_LEN = 240;
/** BOOTP's minimum message size; shorter messages are padded (RFC 1542 2.1). */
export const DHCP_MIN_LEN = 300;

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const DHCP_FLAG_BROADCAST = 0x8000;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

export const OPT_PAD = 0;
export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_HOSTNAME = 12;
export const OPT_DOMAIN_NAME = 15;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_OVERLOAD = 52;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_PARAM_LIST = 55;
export const OPT_MESSAGE = 56;
export const OPT_MAX_SIZE = 57;
export const OPT_T1 = 58;
export const OPT_T2 = 59;
export const OPT_CLIENT_ID = 61;
export const OPT_END = 255;

/** Thrown by {@link parseDhcp} for anything not a well-formed DHCP message. */
export class DhcpFormatError extends Error {
  override readonly name = 'DhcpFormatError';
}

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  /** Unsigned 32-bit transaction id. */
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte client hardware address field (hlen bytes of it are meaningful). */
  chaddr: Uint8Array;
  /** Option 53 (0 when absent: a plain BOOTP message). */
  type: number;
  /** Raw option data by code, repeated options concatenated (RFC 3396). */
  options: Map<number, Uint8Array>;
  // Decoded options (validated lengths); null / [] when absent.
  subnetMask: string | null;
  routers: string[];
  dnsServers: string[];
  leaseTime: number | null;
  renewalTime: number | null;
  rebindingTime: number | null;
  serverId: string | null;
  requestedIp: string | null;
  message: string | null;
  domainName: string | null;
}

export interface DhcpMessageInit {
  op?: number;
  xid: number;
  secs?: number;
  flags?: number;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  /** 6-byte MAC (or up to 16 bytes with `hlen`). */
  chaddr: Uint8Array;
  hlen?: number;
  type: number;
  /** Further options in order (53 is written first from `type`). */
  options?: Array<[number, Uint8Array]>;
}

/** Required data length of fixed-size options; multiples of 4 for address lists. */
const FIXED_LEN: Record<number, number> = {
  [OPT_SUBNET_MASK]: 4, [OPT_REQUESTED_IP]: 4, [OPT_LEASE_TIME]: 4, [OPT_OVERLOAD]: 1, [OPT_MESSAGE_TYPE]: 1,
  [OPT_SERVER_ID]: 4, [OPT_MAX_SIZE]: 2, [OPT_T1]: 4, [OPT_T2]: 4,
};
const ADDR_LIST = new Set([OPT_ROUTER, OPT_DNS]);

function addr(b: Uint8Array, o: number): string {
  return formatIpv4(((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function putAddr(b: Uint8Array, o: number, text: string | undefined): void {
  if (text === undefined) return;
  const a = parseIpv4(text);
  if (a < 0) throw new RangeError(`invalid IPv4 address '${text}'`);
  b[o] = a >>> 24;
  b[o + 1] = (a >>> 16) & 0xff;
  b[o + 2] = (a >>> 8) & 0xff;
  b[o + 3] = a & 0xff;
}

/** 4 bytes of an address, for option data. */
export function ipBytes(text: string): Uint8Array {
  const out = new Uint8Array(4);
  putAddr(out, 0, text);
  return out;
}

/** 4 bytes of an unsigned 32-bit number, for option data. */
export function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Walk one option area; returns true when it ended with OPT_END. */
function walkOptions(b: Uint8Array, start: number, end: number, out: Map<number, Uint8Array>, area: string): boolean {
  let o = start;
  while (o < end) {
    const code = b[o];
    if (code === OPT_PAD) {
      o++;
      continue;
    }
    if (code === OPT_END) return true;
    if (o + 1 >= end) throw new DhcpFormatError(`option ${code} in ${area} has no length byte`);
    const len = b[o + 1];
    if (o + 2 + len > end) throw new DhcpFormatError(`option ${code} (length ${len}) overruns ${area}`);
    const data = b.subarray(o + 2, o + 2 + len);
    const prev = out.get(code);
    if (prev === undefined) {
      out.set(code, data.slice());
    } else {
      const joined = new Uint8Array(prev.length + len);
      joined.set(prev, 0);
      joined.set(data, prev.length);
      out.set(code, joined);
    }
    o += 2 + len;
  }
  return false;
}

/** Parse and validate a DHCP message (the UDP payload). Throws {@link DhcpFormatError}. */
export function parseDhcp(b: Uint8Array): DhcpMessage {
  if (b.length < DHCP_FIXED_LEN) throw new DhcpFormatError(`message too short (${b.length} < ${DHCP_FIXED_LEN})`);
  const op = b[0];
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new DhcpFormatError(`bad op ${op}`);
  const htype = b[1];
  const hlen = b[2];
  if (hlen > 16) throw new DhcpFormatError(`bad hlen ${hlen}`);
  if (u32(b, 236) !== DHCP_MAGIC_COOKIE) throw new DhcpFormatError('bad magic cookie');
  const options = new Map<number, Uint8Array>();
  const endedMain = walkOptions(b, DHCP_FIXED_LEN, b.length, options, 'options');
  if (!endedMain) throw new DhcpFormatError('options not terminated by END');
  const overload = options.get(OPT_OVERLOAD);
  if (overload !== undefined) {
    if (overload.length !== 1 || overload[0] < 1 || overload[0] > 3) throw new DhcpFormatError('bad option overload');
    // RFC 2131 4.1: 'file' is read before 'sname'.
    if ((overload[0] & 1) !== 0 && !walkOptions(b, 108, 236, options, 'file')) throw new DhcpFormatError('file options not terminated');
    if ((overload[0] & 2) !== 0 && !walkOptions(b, 44, 108, options, 'sname')) throw new DhcpFormatError('sname options not terminated');
  }
  for (const [code, data] of options) {
    const want = FIXED_LEN[code];
    if (want !== undefined && data.length !== want) throw new DhcpFormatError(`option ${code} has length ${data.length}, expected ${want}`);
    if (ADDR_LIST.has(code) && (data.length === 0 || data.length % 4 !== 0)) {
      throw new DhcpFormatError(`option ${code} has length ${data.length}, expected a non-zero multiple of 4`);
    }
  }
  const typeOpt = options.get(OPT_MESSAGE_TYPE);
  const type = typeOpt === undefined ? 0 : typeOpt[0];
  if (typeOpt !== undefined && (type < DHCPDISCOVER || type > DHCPINFORM)) throw new DhcpFormatError(`bad message type ${type}`);
  const list = (code: number): string[] => {
    const d = options.get(code);
    const out: string[] = [];
    if (d !== undefined) for (let i = 0; i < d.length; i += 4) out.push(addr(d, i));
    return out;
  };
  const one = (code: number): string | null => {
    const d = options.get(code);
    return d === undefined ? null : addr(d, 0);
  };
  const num = (code: number): number | null => {
    const d = options.get(code);
    return d === undefined ? null : u32(d, 0);
  };
  const text = (code: number): string | null => {
    const d = options.get(code);
    return d === undefined ? null : new TextDecoder('utf-8', { fatal: false }).decode(d).replace(/\0+$/, '');
  };
  return {
    op, htype, hlen, hops: b[3], xid: u32(b, 4), secs: (b[8] << 8) | b[9], flags: (b[10] << 8) | b[11],
    ciaddr: addr(b, 12), yiaddr: addr(b, 16), siaddr: addr(b, 20), giaddr: addr(b, 24), chaddr: b.slice(28, 44),
    type, options,
    subnetMask: one(OPT_SUBNET_MASK), routers: list(OPT_ROUTER), dnsServers: list(OPT_DNS),
    leaseTime: num(OPT_LEASE_TIME), renewalTime: num(OPT_T1), rebindingTime: num(OPT_T2),
    serverId: one(OPT_SERVER_ID), requestedIp: one(OPT_REQUESTED_IP), message: text(OPT_MESSAGE),
    domainName: text(OPT_DOMAIN_NAME),
  };
}

/** Encode a message, padded to {@link DHCP_MIN_LEN}. Options longer than 255 bytes are split (RFC 3396). */
export function encodeDhcp(m: DhcpMessageInit): Uint8Array {
  const opts: Array<[number, Uint8Array]> = [[OPT_MESSAGE_TYPE, Uint8Array.of(m.type)], ...(m.options ?? [])];
  let optLen = 1; // END
  for (const [, d] of opts) optLen += Math.max(1, Math.ceil(d.length / 255)) * 2 + d.length;
  const b = new Uint8Array(Math.max(DHCP_MIN_LEN, DHCP_FIXED_LEN + optLen));
  const hlen = m.hlen ?? 6;
  if (m.chaddr.length < hlen || hlen > 16) throw new RangeError('chaddr shorter than hlen');
  b[0] = m.op ?? BOOTREQUEST;
  b[1] = 1; // Ethernet
  b[2] = hlen;
  b.set(u32Bytes(m.xid >>> 0), 4);
  b[8] = ((m.secs ?? 0) >>> 8) & 0xff;
  b[9] = (m.secs ?? 0) & 0xff;
  b[10] = ((m.flags ?? 0) >>> 8) & 0xff;
  b[11] = (m.flags ?? 0) & 0xff;
  putAddr(b, 12, m.ciaddr);
  putAddr(b, 16, m.yiaddr);
  putAddr(b, 20, m.siaddr);
  putAddr(b, 24, m.giaddr);
  b.set(m.chaddr.subarray(0, hlen), 28);
  b.set(u32Bytes(DHCP_MAGIC_COOKIE), 236);
  let o = DHCP_FIXED_LEN;
  for (const [code, d] of opts) {
    let i = 0;
    do {
      const n = Math.min(255, d.length - i);
      b[o++] = code;
      b[o++] = n;
      b.set(d.subarray(i, i + n), o);
      o += n;
      i += n;
    } while (i < d.length);
  }
  b[o] = OPT_END;
  return b;
}

/** Prefix length of a contiguous netmask, or -1. */
export function maskToPrefix(mask: string): number {
  const m = parseIpv4(mask);
  if (m < 0) return -1;
  const inv = (~m) >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let n = 0;
  for (let v = m >>> 0; v !== 0; v = (v << 1) >>> 0) n++;
  return n;
}
