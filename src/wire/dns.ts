/**
 * DNS messages (RFC 1035): query encoding and strictly validating response
 * parsing over `(Uint8Array, offset, length)`. The parser trusts nothing:
 * compression pointers must point strictly backwards (each jump lower than
 * the last, so loops cannot exist) into the message body, labels are at most
 * 63 bytes and names 255 bytes on the wire, section counts must fit the
 * message, and the known RDATA formats (A, AAAA, CNAME, PTR, SOA) must fill their
 * RDLENGTH exactly. Every violation throws a {@link DnsFormatError}; nothing
 * else is thrown for any input.
 */
import { get16, get32, set16, set32 } from './bytes.js';
import { formatIpv4, parseIpv4 } from './ipv4addr.js';
import { formatIpv6, parseIpv6 } from './ipv6addr.js';

export const DNS_HEADER_LEN = 12;
export const DNS_PORT = 53;
/** Largest UDP payload a plain (non-EDNS) DNS client accepts. */
export const DNS_UDP_MAX = 512;

export const DNS_TYPE_A = 1;
export const DNS_TYPE_NS = 2;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_SOA = 6;
export const DNS_TYPE_PTR = 12;
export const DNS_TYPE_AAAA = 28;
export const DNS_CLASS_IN = 1;

export const DNS_RCODE_NOERROR = 0;
export const DNS_RCODE_FORMERR = 1;
export const DNS_RCODE_SERVFAIL = 2;
export const DNS_RCODE_NXDOMAIN = 3;
export const DNS_RCODE_NOTIMP = 4;
export const DNS_RCODE_REFUSED = 5;

export const DNS_FLAG_QR = 0x8000;
export const DNS_FLAG_AA = 0x0400;
export const DNS_FLAG_TC = 0x0200;
export const DNS_FLAG_RD = 0x0100;
export const DNS_FLAG_RA = 0x0080;

const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;
/** A question takes at least 5 bytes (root name + type + class), a record at least 11. */
const MIN_QUESTION = 5;
const MIN_RR = 11;

/** A malformed message (Node reports these as EBADRESP). */
export class DnsFormatError extends Error {
  readonly code = 'EBADRESP';
  constructor(message: string) {
    super(`DNS format error: ${message}`);
  }
}

export interface DnsQuestion {
  /** Presentation form without the trailing dot ('' is the root). */
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  /** Seconds; the top bit is cleared as RFC 2181 §8 asks (values >= 2^31 become 0). */
  ttl: number;
  /** The raw RDATA (a view into the message). */
  rdata: Uint8Array;
  /** A: the dotted-quad address; AAAA: the IPv6 address in RFC 5952 form. */
  address?: string;
  /** CNAME, PTR, NS: the target name. */
  target?: string;
  /** SOA: the MINIMUM field (negative-caching TTL, RFC 2308). */
  soaMinimum?: number;
}

export interface DnsMessage {
  id: number;
  /** The raw 16-bit flags word. */
  flags: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** A record to encode; give `address` (A or AAAA by the record's type), `target` (CNAME/PTR/NS), `soaMinimum` (SOA) or raw `rdata`. */
export interface DnsRecordInit {
  name: string;
  type: number;
  class?: number;
  ttl: number;
  rdata?: Uint8Array;
  address?: string;
  target?: string;
  soaMinimum?: number;
}

export interface DnsMessageInit {
  id: number;
  flags: number;
  questions?: DnsQuestion[];
  answers?: DnsRecordInit[];
  authorities?: DnsRecordInit[];
  additionals?: DnsRecordInit[];
}

/** Case-insensitive (ASCII only, RFC 4343) name equality, ignoring a trailing dot. */
export function dnsNamesEqual(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/** Lower-case ASCII, without a trailing dot. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name === '.' ? '' : name;
  return n.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * Wire form of a presentation name (labels separated by '.', optional
 * trailing dot, `\.` and `\DDD` escapes). Throws a DnsFormatError for empty
 * labels, labels over 63 bytes and names over 255 bytes.
 */
export function encodeName(name: string): Uint8Array {
  if (name === '' || name === '.') return new Uint8Array([0]);
  const labels: number[][] = [[]];
  const text = new TextEncoder().encode(name);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === 0x5c /* \ */) {
      const d = text.subarray(i + 1, i + 4);
      if (d.length === 3 && d.every((x) => x >= 0x30 && x <= 0x39)) {
        const v = (d[0] - 0x30) * 100 + (d[1] - 0x30) * 10 + (d[2] - 0x30);
        if (v > 255) throw new DnsFormatError(`bad escape in name '${name}'`);
        labels[labels.length - 1].push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        labels[labels.length - 1].push(text[++i]);
      } else throw new DnsFormatError(`bad escape in name '${name}'`);
    } else if (c === 0x2e /* . */) {
      if (i === text.length - 1) break;
      labels.push([]);
    } else labels[labels.length - 1].push(c);
  }
  let len = 1;
  for (const l of labels) {
    if (l.length === 0) throw new DnsFormatError(`empty label in name '${name}'`);
    if (l.length > MAX_LABEL) throw new DnsFormatError(`label longer than 63 bytes in name '${name}'`);
    len += 1 + l.length;
  }
  if (len > MAX_NAME_WIRE) throw new DnsFormatError(`name longer than 255 bytes: '${name}'`);
  const out = new Uint8Array(len);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    for (const x of l) out[o++] = x;
  }
  out[o] = 0;
  return out;
}

/**
 * The reverse-lookup name of an address: in-addr.arpa for a dotted-quad
 * IPv4 address, the nibble form under ip6.arpa for IPv6 (RFC 3596 2.5);
 * null when `ip` is neither.
 */
export function reverseName(ip: string): string | null {
  if (ip.includes(':')) {
    const b = new Uint8Array(16);
    if (!parseIpv6(ip, b, 0)) return null;
    const nibbles: string[] = [];
    for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 0xf).toString(16), (b[i] >>> 4).toString(16));
    return `${nibbles.join('.')}.ip6.arpa`;
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return null;
  const parts = ip.split('.').map(Number);
  if (parts.some((p) => p > 255)) return null;
  return `${parts[3]}.${parts[2]}.${parts[1]}.${parts[0]}.in-addr.arpa`;
}

/** A standard query (opcode 0) for one question; `rd` sets Recursion Desired (default true). */
export function encodeQuery(id: number, name: string, type: number, rd = true): Uint8Array {
  return encodeMessage({ id, flags: rd ? DNS_FLAG_RD : 0, questions: [{ name, type, class: DNS_CLASS_IN }] });
}

function encodeRdata(r: DnsRecordInit): Uint8Array {
  if (r.rdata !== undefined) return r.rdata;
  if (r.address !== undefined && r.type === DNS_TYPE_AAAA) {
    const out = new Uint8Array(16);
    if (!parseIpv6(r.address, out, 0)) throw new DnsFormatError(`bad address '${r.address}'`);
    return out;
  }
  if (r.address !== undefined) {
    if (r.address.includes(':') || reverseName(r.address) === null) throw new DnsFormatError(`bad address '${r.address}'`);
    const out = new Uint8Array(4);
    set32(out, 0, parseIpv4(r.address));
    return out;
  }
  if (r.type === DNS_TYPE_SOA) {
    const mname = encodeName('ns.invalid');
    const rname = encodeName('hostmaster.invalid');
    const out = new Uint8Array(mname.length + rname.length + 20);
    out.set(mname, 0);
    out.set(rname, mname.length);
    const f = mname.length + rname.length;
    set32(out, f, 1); // serial
    set32(out, f + 4, 3600);
    set32(out, f + 8, 600);
    set32(out, f + 12, 86400);
    set32(out, f + 16, r.soaMinimum ?? 60);
    return out;
  }
  if (r.target !== undefined) return encodeName(r.target);
  return new Uint8Array(0);
}

/** Encode a whole message without compression (used for queries and by test servers). */
export function encodeMessage(m: DnsMessageInit): Uint8Array {
  const qs = m.questions ?? [];
  const sections = [m.answers ?? [], m.authorities ?? [], m.additionals ?? []];
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(DNS_HEADER_LEN);
  set16(header, 0, m.id & 0xffff);
  set16(header, 2, m.flags & 0xffff);
  set16(header, 4, qs.length);
  set16(header, 6, sections[0].length);
  set16(header, 8, sections[1].length);
  set16(header, 10, sections[2].length);
  parts.push(header);
  for (const q of qs) {
    parts.push(encodeName(q.name));
    const t = new Uint8Array(4);
    set16(t, 0, q.type);
    set16(t, 2, q.class);
    parts.push(t);
  }
  for (const section of sections) {
    for (const r of section) {
      parts.push(encodeName(r.name));
      const rdata = encodeRdata(r);
      const f = new Uint8Array(10);
      set16(f, 0, r.type);
      set16(f, 2, r.class ?? DNS_CLASS_IN);
      set32(f, 4, r.ttl);
      set16(f, 8, rdata.length);
      parts.push(f, rdata);
    }
  }
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function labelText(b: Uint8Array, o: number, len: number): string {
  let s = '';
  for (let i = o; i < o + len; i++) {
    const c = b[i];
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${String(c).padStart(3, '0')}`;
  }
  return s;
}

/**
 * Read a (possibly compressed) name at `o`. `start` is the message's first
 * byte (pointers are relative to it), `end` bounds the labels read in place
 * (the message end, or the RDATA end). Returns the name and the offset after
 * it in place (after the first pointer, if any).
 */
export function readName(b: Uint8Array, start: number, end: number, o: number, msgEnd = end): { name: string; next: number } {
  const labels: string[] = [];
  let wire = 1;
  let next = -1;
  let pos = o;
  let limit = end;
  // Each pointer must target an offset below every offset visited so far: strictly decreasing, so no loops.
  let lowest = o;
  for (;;) {
    if (pos >= limit) throw new DnsFormatError('name runs past the end of its data');
    const len = b[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= limit) throw new DnsFormatError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | b[pos + 1];
      if (next < 0) next = pos + 2;
      if (target < DNS_HEADER_LEN) throw new DnsFormatError('compression pointer into the header');
      if (start + target >= lowest) throw new DnsFormatError('compression pointer does not point backwards');
      pos = start + target;
      lowest = pos;
      // Labels reached through a pointer may lie anywhere earlier in the message.
      limit = msgEnd;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError('reserved label type');
    if (len > MAX_LABEL) throw new DnsFormatError('label longer than 63 bytes');
    if (pos + 1 + len > limit) throw new DnsFormatError('label runs past the end of its data');
    wire += 1 + len;
    if (wire > MAX_NAME_WIRE) throw new DnsFormatError('name longer than 255 bytes');
    labels.push(labelText(b, pos + 1, len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

function readRecord(b: Uint8Array, start: number, end: number, o: number): { rr: DnsRecord; next: number } {
  const n = readName(b, start, end, o);
  let p = n.next;
  if (p + 10 > end) throw new DnsFormatError('truncated resource record');
  const type = get16(b, p);
  const cls = get16(b, p + 2);
  const rawTtl = get32(b, p + 4);
  const rdlen = get16(b, p + 8);
  p += 10;
  if (p + rdlen > end) throw new DnsFormatError('RDATA runs past the end of the message');
  const rdEnd = p + rdlen;
  const rr: DnsRecord = {
    name: n.name, type, class: cls, ttl: rawTtl < 0 ? 0 : rawTtl, rdata: b.subarray(p, rdEnd),
  };
  {
    switch (type) {
      case DNS_TYPE_A:
        if (cls === DNS_CLASS_IN) {
          if (rdlen !== 4) throw new DnsFormatError('A record RDATA is not 4 bytes');
          rr.address = formatIpv4(get32(b, p));
        }
        break;
      case DNS_TYPE_AAAA:
        if (cls === DNS_CLASS_IN) {
          if (rdlen !== 16) throw new DnsFormatError('AAAA record RDATA is not 16 bytes');
          rr.address = formatIpv6(b, p);
        }
        break;
      case DNS_TYPE_CNAME:
      case DNS_TYPE_PTR:
      case DNS_TYPE_NS: {
        const t = readName(b, start, rdEnd, p, end);
        if (t.next !== rdEnd) throw new DnsFormatError('name RDATA does not fill RDLENGTH');
        rr.target = t.name;
        break;
      }
      case DNS_TYPE_SOA: {
        const m = readName(b, start, rdEnd, p, end);
        const r = readName(b, start, rdEnd, m.next, end);
        if (r.next + 20 !== rdEnd) throw new DnsFormatError('SOA RDATA has the wrong length');
        rr.soaMinimum = get32(b, r.next + 16) >>> 0;
        break;
      }
      default:
        break;
    }
  }
  return { rr, next: rdEnd };
}

/**
 * Parse the DNS message in `b[offset, offset + length)`. Throws a
 * {@link DnsFormatError} (and nothing else) when it is malformed.
 */
export function parseMessage(b: Uint8Array, offset = 0, length = b.length - offset): DnsMessage {
  if (!(offset >= 0 && length >= 0 && offset + length <= b.length) || !Number.isInteger(offset) || !Number.isInteger(length)) {
    throw new DnsFormatError('bad offset or length');
  }
  const start = offset;
  const end = offset + length;
  if (length < DNS_HEADER_LEN) throw new DnsFormatError('shorter than a header');
  const flags = get16(b, start + 2);
  const qd = get16(b, start + 4);
  const an = get16(b, start + 6);
  const ns = get16(b, start + 8);
  const ar = get16(b, start + 10);
  if (qd * MIN_QUESTION + (an + ns + ar) * MIN_RR > length - DNS_HEADER_LEN) {
    throw new DnsFormatError('section counts exceed the message length');
  }
  const msg: DnsMessage = {
    id: get16(b, start),
    flags,
    qr: (flags & DNS_FLAG_QR) !== 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags & DNS_FLAG_AA) !== 0,
    tc: (flags & DNS_FLAG_TC) !== 0,
    rd: (flags & DNS_FLAG_RD) !== 0,
    ra: (flags & DNS_FLAG_RA) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  let o = start + DNS_HEADER_LEN;
  for (let i = 0; i < qd; i++) {
    const n = readName(b, start, end, o);
    if (n.next + 4 > end) throw new DnsFormatError('truncated question');
    msg.questions.push({ name: n.name, type: get16(b, n.next), class: get16(b, n.next + 2) });
    o = n.next + 4;
  }
  const sections: Array<[number, DnsRecord[]]> = [[an, msg.answers], [ns, msg.authorities], [ar, msg.additionals]];
  for (const [count, list] of sections) {
    for (let i = 0; i < count; i++) {
      const r = readRecord(b, start, end, o);
      list.push(r.rr);
      o = r.next;
    }
  }
  return msg;
}
