/**
 * wg-quick configuration files, with wireproxy's extra sections ([Socks5] and
 * the TCP/UDP client and server tunnels) so one file describes a wirestack
 * WireGuard endpoint and what it offers to the host; an [HTTP] section (an
 * HTTP proxy with CONNECT, wireproxy's `[http]`) as well.
 *
 * Parsing is strict: an unknown section or key, a malformed key or address is
 * an error naming its line, because a typo in a VPN config silently changes
 * what is routed where. What wirestack cannot do but a wg-quick file may
 * legitimately say (FwMark, the Pre/Post hooks) is skipped with a warning
 * instead, so existing files load. IPv4 and IPv6 are both accepted wherever
 * wg-quick takes an address; IPv6 text is kept in its RFC 5952 form.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseCidr, parseIpv4, formatIpv4, prefixMask } from '../wire/ipv4addr.js';
import { formatIp6, maskIp6, parseIp6 } from './ip6-text.js';
import {
  type WgSuite,
  PRIVATE_KEY_BYTES,
  PRESHARED_KEY_BYTES,
  publicKeyBytes,
  deriveSuiteFromKeyLength,
  decodeBase64Strict,
  encodeBase64,
  bytesEqual,
} from './key-text.js';

export { deriveSuiteFromKeyLength } from './key-text.js';

export interface WgHostPort {
  /**
   * An IPv4 address in dotted-quad form, an IPv6 address (RFC 5952 text,
   * without the brackets of the file's `[addr]:port`), or a host name
   * (resolved later, by whoever connects).
   */
  host: string;
  port: number;
}

export interface WgCidr {
  /** Dotted-quad IPv4 address, or IPv6 address in RFC 5952 text (it contains ':'). */
  address: string;
  prefixLength: number;
}

export interface WgPeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: WgHostPort;
  /** Network addresses (host bits cleared, as wg(8) stores them). */
  allowedIps: WgCidr[];
  /** Seconds; absent when off. */
  persistentKeepalive?: number;
}

export interface WgTunnelConfig {
  kind: 'tcp-client' | 'tcp-server' | 'udp-client' | 'udp-server';
  /** Host-side address a client tunnel listens on. */
  bindAddress?: WgHostPort;
  /** Port a server tunnel listens on inside the WireGuard network. */
  listenPort?: number;
  /** Where the tunnel forwards to (inside the tunnel for clients, on the host side for servers). */
  target: WgHostPort;
}

export interface WgQuickConfig {
  /** Interface name, from the file's base name when loaded from a path. */
  name?: string;
  suite: WgSuite;
  privateKey: Uint8Array;
  /** IPv4 and IPv6 addresses of the interface. */
  addresses: WgCidr[];
  listenPort?: number;
  /** DNS servers, IPv4 and IPv6 (RFC 5952 text). */
  dns: string[];
  mtu?: number;
  peers: WgPeerConfig[];
  socks5?: { bindAddress: WgHostPort; username?: string; password?: string };
  /** The [HTTP] section: an HTTP proxy (CONNECT and absolute-form requests) on the host into the tunnel. */
  http?: { bindAddress: WgHostPort; username?: string; password?: string };
  tunnels: WgTunnelConfig[];
  /** What was accepted but ignored, e.g. 'line 7: FwMark is ignored by wirestack'. */
  warnings: string[];
}

/** A configuration error; `line` is 1-based, 0 when the problem is the file as a whole. */
export class WgConfigError extends Error {
  readonly line: number;
  /** The message without its location prefix. */
  readonly detail: string;
  constructor(line: number, detail: string, file?: string) {
    const where = line > 0 ? `line ${line}: ` : '';
    super(`${file !== undefined ? `${file}: ` : ''}${where}${detail}`);
    this.name = 'WgConfigError';
    this.line = line;
    this.detail = detail;
  }
}

const SECTIONS: Record<string, string> = {
  interface: 'Interface',
  peer: 'Peer',
  socks5: 'Socks5',
  http: 'HTTP',
  tcpclienttunnel: 'TCPClientTunnel',
  tcpservertunnel: 'TCPServerTunnel',
  udpclienttunnel: 'UDPClientTunnel',
  udpservertunnel: 'UDPServerTunnel',
};

const TUNNEL_KINDS: Record<string, WgTunnelConfig['kind']> = {
  TCPClientTunnel: 'tcp-client',
  TCPServerTunnel: 'tcp-server',
  UDPClientTunnel: 'udp-client',
  UDPServerTunnel: 'udp-server',
};

/** Canonical spelling of every accepted key, by section; the lowercase form is what the file is matched against. */
const KEYS: Record<string, string[]> = {
  Interface: ['PrivateKey', 'Address', 'ListenPort', 'DNS', 'MTU', 'Suite', 'FwMark', 'Table', 'PreUp', 'PostUp', 'PreDown', 'PostDown', 'SaveConfig'],
  Peer: ['PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'PersistentKeepalive'],
  Socks5: ['BindAddress', 'Username', 'Password'],
  HTTP: ['BindAddress', 'Username', 'Password'],
  TCPClientTunnel: ['BindAddress', 'Target'],
  TCPServerTunnel: ['ListenPort', 'Target'],
  UDPClientTunnel: ['BindAddress', 'Target'],
  UDPServerTunnel: ['ListenPort', 'Target'],
};

/** Keys that may appear several times in a section (their values accumulate). */
const REPEATABLE = new Set(['Address', 'DNS', 'AllowedIPs']);
/** wg-quick keys that make sense only for a kernel interface. */
const IGNORED = new Set(['FwMark', 'Table', 'PreUp', 'PostUp', 'PreDown', 'PostDown', 'SaveConfig']);

const INTERFACE_NAME_RE = /^[a-zA-Z0-9_=+.-]{1,15}$/;
const HOST_LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

interface Section {
  name: string;
  line: number;
  /** Canonical key → line of its first occurrence. */
  seen: Map<string, number>;
}

interface PeerDraft extends Section {
  peer: Partial<WgPeerConfig> & { allowedIps: WgCidr[] };
  publicKeyLine: number;
}

interface TunnelDraft extends Section {
  bindAddress?: WgHostPort;
  listenPort?: number;
  target?: WgHostPort;
}

/** [Socks5] and [HTTP]: a proxy on the host with optional credentials. */
interface Socks5Draft extends Section {
  bindAddress?: WgHostPort;
  username?: string;
  password?: string;
}

interface InterfaceDraft extends Section {
  privateKey?: Uint8Array;
  suite?: WgSuite;
  addresses: WgCidr[];
  listenPort?: number;
  dns: string[];
  mtu?: number;
}

function fail(line: number, message: string): never {
  throw new WgConfigError(line, message);
}

function parseInteger(value: string, min: number, max: number, line: number, key: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(line, `${key} must be an integer ${min}..${max}, got "${value}"`);
  }
  return Number(value);
}

function parseKey(value: string, bytes: number | number[], line: number, key: string): Uint8Array {
  const decoded = decodeBase64Strict(value);
  if (decoded === null) fail(line, `${key} is not valid base64`);
  const allowed = typeof bytes === 'number' ? [bytes] : bytes;
  if (!allowed.includes(decoded.length)) {
    fail(line, `${key} must be ${allowed.join(' or ')} bytes, got ${decoded.length}`);
  }
  return decoded;
}

function checkHost(host: string, line: number, key: string): void {
  if (host === '') fail(line, `${key} has no host`);
  if (/^[\d.]+$/.test(host)) {
    if (parseIpv4(host) < 0) fail(line, `${key} host "${host}" is not a valid IPv4 address`);
    return;
  }
  if (host.length > 253 || !host.split('.').every((l) => HOST_LABEL_RE.test(l))) {
    fail(line, `${key} host "${host}" is not a valid host name or IPv4 address`);
  }
}

/** RFC 5952 text of an IPv6 address, or null when `text` is not one. */
function ipv6Text(text: string): string | null {
  const b = new Uint8Array(16);
  return parseIp6(text, b, 0) ? formatIp6(b, 0) : null;
}

/** `host:port`, or `[IPv6]:port` as wg-quick writes IPv6 endpoints (the brackets are required). */
function parseHostPort(value: string, line: number, key: string): WgHostPort {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') fail(line, `${key} "${value}" must be [IPv6 address]:port`);
    const host = ipv6Text(value.slice(1, close));
    if (host === null) fail(line, `${key} host "${value.slice(1, close)}" is not a valid IPv6 address`);
    const port = parseInteger(value.slice(close + 2), 1, 65535, line, `${key} port`);
    return { host, port };
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0 && value.slice(0, colon).includes(':')) {
    fail(line, `${key} "${value}": an IPv6 address needs brackets, as in [${value.slice(0, colon)}]:${value.slice(colon + 1)}`);
  }
  if (colon < 0) fail(line, `${key} "${value}" must be host:port`);
  const host = value.slice(0, colon);
  checkHost(host, line, key);
  const port = parseInteger(value.slice(colon + 1), 1, 65535, line, `${key} port`);
  return { host, port };
}

/** One IPv6 CIDR (`fd00::2/64`; no prefix length means /128, as wg(8) reads it). */
function parseCidr6(item: string, line: number, key: string, network: boolean): WgCidr {
  const slash = item.indexOf('/');
  const text = slash < 0 ? item : item.slice(0, slash);
  const b = new Uint8Array(16);
  if (!parseIp6(text, b, 0)) fail(line, `${key} entry "${item}" is not a valid IPv6 address`);
  const prefixLength = slash < 0 ? 128 : parseInteger(item.slice(slash + 1), 0, 128, line, `${key} prefix length`);
  if (network) maskIp6(b, 0, prefixLength);
  return { address: formatIp6(b, 0), prefixLength };
}

/** Comma-separated IPv4 and IPv6 CIDRs. `network` clears host bits. */
function parseCidrList(value: string, line: number, key: string, network: boolean): WgCidr[] {
  const out: WgCidr[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') fail(line, `empty entry in ${key}`);
    if (item.includes(':')) {
      out.push(parseCidr6(item, line, key, network));
      continue;
    }
    let cidr;
    try {
      cidr = parseCidr(item, key);
    } catch (e) {
      fail(line, (e as Error).message);
    }
    const address = network ? cidr.address & prefixMask(cidr.prefixLength) : cidr.address;
    out.push({ address: formatIpv4(address), prefixLength: cidr.prefixLength });
  }
  return out;
}

function parseDns(value: string, line: number, warnings: string[]): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') fail(line, 'empty entry in DNS');
    if (item.includes(':')) {
      const v6 = ipv6Text(item);
      if (v6 === null) fail(line, `DNS server "${item}" is not a valid IPv6 address`);
      out.push(v6);
    } else if (/^[\d.]+$/.test(item)) {
      if (parseIpv4(item) < 0) fail(line, `DNS server "${item}" is not a valid IPv4 address`);
      out.push(item);
    } else {
      // wg-quick treats a non-address as a search domain for resolvconf.
      warnings.push(`line ${line}: DNS search domain ${item} is ignored by wirestack`);
    }
  }
  return out;
}

/**
 * Parse the text of a wg-quick file. Throws {@link WgConfigError} (with the
 * line number) on anything it does not understand; `warnings` lists what it
 * accepted but ignores.
 */
export function parseWgQuick(text: string, options?: { name?: string }): WgQuickConfig {
  const name = options?.name;
  if (name !== undefined && !INTERFACE_NAME_RE.test(name)) {
    fail(0, `invalid interface name "${name}" (1..15 characters of a-z A-Z 0-9 _ = + . -)`);
  }
  const warnings: string[] = [];
  let iface: InterfaceDraft | undefined;
  const peers: PeerDraft[] = [];
  let socks5: Socks5Draft | undefined;
  let httpProxy: Socks5Draft | undefined;
  const tunnels: TunnelDraft[] = [];
  let current: Section | undefined;

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const hash = lines[i].indexOf('#');
    const stripped = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
    if (stripped === '') continue;

    if (stripped.startsWith('[')) {
      const m = /^\[\s*([^\]]*?)\s*\]$/.exec(stripped);
      if (m === null) fail(line, `malformed section header "${stripped}"`);
      const sectionName = SECTIONS[m[1].toLowerCase()];
      if (sectionName === undefined) fail(line, `unknown section [${m[1]}]`);
      const base = { name: sectionName, line, seen: new Map<string, number>() };
      if (sectionName === 'Interface') {
        if (iface !== undefined) fail(line, `second [Interface] section (the first is on line ${iface.line})`);
        iface = { ...base, addresses: [], dns: [] };
        current = iface;
      } else if (sectionName === 'Peer') {
        const draft: PeerDraft = { ...base, peer: { allowedIps: [] }, publicKeyLine: 0 };
        peers.push(draft);
        current = draft;
      } else if (sectionName === 'Socks5') {
        if (socks5 !== undefined) fail(line, `second [Socks5] section (the first is on line ${socks5.line})`);
        socks5 = { ...base };
        current = socks5;
      } else if (sectionName === 'HTTP') {
        if (httpProxy !== undefined) fail(line, `second [HTTP] section (the first is on line ${httpProxy.line})`);
        httpProxy = { ...base };
        current = httpProxy;
      } else {
        const draft: TunnelDraft = { ...base };
        tunnels.push(draft);
        current = draft;
      }
      continue;
    }

    const eq = stripped.indexOf('=');
    if (eq < 0) fail(line, `expected "Key = Value", got "${stripped}"`);
    const rawKey = stripped.slice(0, eq).trim();
    const value = stripped.slice(eq + 1).trim();
    if (current === undefined) fail(line, `key "${rawKey}" outside of any section`);
    const key = KEYS[current.name].find((k) => k.toLowerCase() === rawKey.toLowerCase());
    if (key === undefined) fail(line, `unknown key "${rawKey}" in [${current.name}]`);
    if (IGNORED.has(key)) {
      warnings.push(`line ${line}: ${key} is ignored by wirestack`);
      continue;
    }
    const first = current.seen.get(key);
    if (first !== undefined && !REPEATABLE.has(key)) fail(line, `duplicate ${key} in [${current.name}] (first on line ${first})`);
    if (first === undefined) current.seen.set(key, line);
    if (value === '') fail(line, `empty value for ${key}`);

    if (current === iface) {
      applyInterfaceKey(iface, key, value, line, warnings);
    } else if (current === socks5 || current === httpProxy) {
      const proxy = current as Socks5Draft;
      if (key === 'BindAddress') proxy.bindAddress = parseHostPort(value, line, key);
      else if (key === 'Username') proxy.username = value;
      else proxy.password = value;
    } else if (current.name === 'Peer') {
      applyPeerKey(current as PeerDraft, key, value, line);
    } else {
      const t = current as TunnelDraft;
      if (key === 'BindAddress') t.bindAddress = parseHostPort(value, line, key);
      else if (key === 'ListenPort') t.listenPort = parseInteger(value, 1, 65535, line, key);
      else t.target = parseHostPort(value, line, key);
    }
  }

  if (iface === undefined) fail(0, 'missing [Interface] section');
  if (iface.privateKey === undefined) fail(iface.line, 'missing PrivateKey in [Interface]');
  const suite = resolveSuite(iface.suite, peers);

  const config: WgQuickConfig = {
    suite,
    privateKey: iface.privateKey,
    addresses: iface.addresses,
    dns: iface.dns,
    peers: peers.map((d) => d.peer as WgPeerConfig),
    tunnels: tunnels.map(finishTunnel),
    warnings,
  };
  if (name !== undefined) config.name = name;
  if (iface.listenPort !== undefined) config.listenPort = iface.listenPort;
  if (iface.mtu !== undefined) config.mtu = iface.mtu;
  if (socks5 !== undefined) config.socks5 = finishProxy(socks5);
  if (httpProxy !== undefined) config.http = finishProxy(httpProxy);
  return config;
}

function finishProxy(d: Socks5Draft): { bindAddress: WgHostPort; username?: string; password?: string } {
  if (d.bindAddress === undefined) fail(d.line, `missing BindAddress in [${d.name}]`);
  if ((d.username === undefined) !== (d.password === undefined)) {
    fail(d.line, `[${d.name}] needs both Username and Password, or neither`);
  }
  const out: { bindAddress: WgHostPort; username?: string; password?: string } = { bindAddress: d.bindAddress };
  if (d.username !== undefined) out.username = d.username;
  if (d.password !== undefined) out.password = d.password;
  return out;
}

function applyInterfaceKey(iface: InterfaceDraft, key: string, value: string, line: number, warnings: string[]): void {
  switch (key) {
    case 'PrivateKey':
      iface.privateKey = parseKey(value, PRIVATE_KEY_BYTES, line, key);
      break;
    case 'Address':
      iface.addresses.push(...parseCidrList(value, line, key, false));
      break;
    case 'ListenPort':
      iface.listenPort = parseInteger(value, 0, 65535, line, key);
      break;
    case 'DNS':
      iface.dns.push(...parseDns(value, line, warnings));
      break;
    case 'MTU':
      iface.mtu = parseInteger(value, 576, 65535, line, key);
      break;
    case 'Suite': {
      const s = value.toLowerCase();
      if (s !== 'standard' && s !== 'fips') fail(line, `Suite must be "standard" or "fips", got "${value}"`);
      iface.suite = s;
      break;
    }
  }
}

function applyPeerKey(d: PeerDraft, key: string, value: string, line: number): void {
  switch (key) {
    case 'PublicKey':
      // Either suite's length here; which one applies is settled once every peer is read.
      d.peer.publicKey = parseKey(value, [publicKeyBytes('standard'), publicKeyBytes('fips')], line, key);
      if (d.peer.publicKey.length === 65 && d.peer.publicKey[0] !== 0x04) {
        fail(line, 'a 65-byte (fips) PublicKey must be an uncompressed P-256 point (first byte 0x04)');
      }
      d.publicKeyLine = line;
      break;
    case 'PresharedKey':
      d.peer.presharedKey = parseKey(value, PRESHARED_KEY_BYTES, line, key);
      break;
    case 'AllowedIPs':
      d.peer.allowedIps.push(...parseCidrList(value, line, key, true));
      break;
    case 'Endpoint':
      d.peer.endpoint = parseHostPort(value, line, key);
      break;
    case 'PersistentKeepalive':
      if (value.toLowerCase() !== 'off') {
        const seconds = parseInteger(value, 0, 65535, line, key);
        if (seconds !== 0) d.peer.persistentKeepalive = seconds;
      }
      break;
  }
}

/** The suite named by `Suite =`, else the one the peers' key lengths imply; every peer must agree. */
function resolveSuite(explicit: WgSuite | undefined, peers: PeerDraft[]): WgSuite {
  let suite = explicit;
  let decidedBy = 0;
  for (let i = 0; i < peers.length; i++) {
    const d = peers[i];
    const key = d.peer.publicKey;
    if (key === undefined) fail(d.line, 'missing PublicKey in [Peer]');
    for (let j = 0; j < i; j++) {
      if (bytesEqual(peers[j].peer.publicKey as Uint8Array, key)) {
        fail(d.publicKeyLine, `duplicate peer (same PublicKey as the peer on line ${peers[j].line})`);
      }
    }
    const implied = deriveSuiteFromKeyLength(key.length) as WgSuite;
    if (suite === undefined) {
      suite = implied;
      decidedBy = d.publicKeyLine;
    } else if (implied !== suite) {
      const why = decidedBy === 0 ? 'Suite' : `the PublicKey on line ${decidedBy}`;
      fail(d.publicKeyLine, `PublicKey is ${key.length} bytes (${implied} suite) but ${why} says the ${suite} suite (${publicKeyBytes(suite)}-byte keys)`);
    }
  }
  return suite ?? 'standard';
}

function finishTunnel(t: TunnelDraft): WgTunnelConfig {
  if (t.target === undefined) fail(t.line, `missing Target in [${t.name}]`);
  const kind = TUNNEL_KINDS[t.name];
  const out: WgTunnelConfig = { kind, target: t.target };
  if (kind.endsWith('client')) {
    if (t.bindAddress === undefined) fail(t.line, `missing BindAddress in [${t.name}]`);
    out.bindAddress = t.bindAddress;
  } else {
    if (t.listenPort === undefined) fail(t.line, `missing ListenPort in [${t.name}]`);
    out.listenPort = t.listenPort;
  }
  return out;
}

/**
 * Read and parse a wg-quick file. The interface name is the file's base name
 * without `.conf` (as wg-quick does) unless `options.name` is given; errors
 * are prefixed with the path.
 */
export function loadWgQuick(path: string, options?: { name?: string }): WgQuickConfig {
  const name = options?.name ?? basename(path).replace(/\.conf$/, '');
  const text = readFileSync(path, 'utf8');
  try {
    return parseWgQuick(text, { name });
  } catch (e) {
    if (e instanceof WgConfigError) throw new WgConfigError(e.line, e.detail, path);
    throw e;
  }
}

function checkText(value: string, what: string): string {
  if (value === '' || value !== value.trim() || /[#\r\n]/.test(value)) {
    throw new Error(`cannot write ${what} "${value}" to a wg-quick file (empty, surrounding spaces, '#' or a line break)`);
  }
  return value;
}

function hostPort(hp: WgHostPort, what: string): string {
  const host = checkText(hp.host, what);
  return host.includes(':') ? `[${host}]:${hp.port}` : `${host}:${hp.port}`;
}

function cidrs(list: WgCidr[]): string {
  return list.map((c) => `${c.address}/${c.prefixLength}`).join(', ');
}

const TUNNEL_SECTIONS: Record<WgTunnelConfig['kind'], string> = {
  'tcp-client': 'TCPClientTunnel',
  'tcp-server': 'TCPServerTunnel',
  'udp-client': 'UDPClientTunnel',
  'udp-server': 'UDPServerTunnel',
};

/**
 * The wg-quick text of a configuration; {@link parseWgQuick} reads it back
 * to an equal config (without `name` and `warnings`, which are not file content).
 */
export function formatWgQuick(config: WgQuickConfig): string {
  const out: string[] = ['[Interface]'];
  if (config.suite === 'fips') out.push('Suite = fips');
  out.push(`PrivateKey = ${encodeBase64(config.privateKey)}`);
  if (config.addresses.length > 0) out.push(`Address = ${cidrs(config.addresses)}`);
  if (config.listenPort !== undefined) out.push(`ListenPort = ${config.listenPort}`);
  if (config.dns.length > 0) out.push(`DNS = ${config.dns.join(', ')}`);
  if (config.mtu !== undefined) out.push(`MTU = ${config.mtu}`);
  for (const p of config.peers) {
    out.push('', '[Peer]', `PublicKey = ${encodeBase64(p.publicKey)}`);
    if (p.presharedKey !== undefined) out.push(`PresharedKey = ${encodeBase64(p.presharedKey)}`);
    if (p.endpoint !== undefined) out.push(`Endpoint = ${hostPort(p.endpoint, 'Endpoint host')}`);
    if (p.allowedIps.length > 0) out.push(`AllowedIPs = ${cidrs(p.allowedIps)}`);
    if (p.persistentKeepalive !== undefined && p.persistentKeepalive !== 0) {
      out.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
    }
  }
  if (config.socks5 !== undefined) {
    out.push('', '[Socks5]', `BindAddress = ${hostPort(config.socks5.bindAddress, 'Socks5 BindAddress host')}`);
    if (config.socks5.username !== undefined) out.push(`Username = ${checkText(config.socks5.username, 'Socks5 Username')}`);
    if (config.socks5.password !== undefined) out.push(`Password = ${checkText(config.socks5.password, 'Socks5 Password')}`);
  }
  if (config.http !== undefined) {
    out.push('', '[HTTP]', `BindAddress = ${hostPort(config.http.bindAddress, 'HTTP BindAddress host')}`);
    if (config.http.username !== undefined) out.push(`Username = ${checkText(config.http.username, 'HTTP Username')}`);
    if (config.http.password !== undefined) out.push(`Password = ${checkText(config.http.password, 'HTTP Password')}`);
  }
  for (const t of config.tunnels) {
    out.push('', `[${TUNNEL_SECTIONS[t.kind]}]`);
    if (t.bindAddress !== undefined) out.push(`BindAddress = ${hostPort(t.bindAddress, 'tunnel BindAddress host')}`);
    if (t.listenPort !== undefined) out.push(`ListenPort = ${t.listenPort}`);
    out.push(`Target = ${hostPort(t.target, 'tunnel Target host')}`);
  }
  return out.join('\n') + '\n';
}
