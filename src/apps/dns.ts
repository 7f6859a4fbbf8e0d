/**
 * A stub DNS resolver over the stack, mirroring `node:dns/promises`:
 * `stack.dns.lookup()` (family 0/4/6, `all`, `order`), `resolve4()`,
 * `resolve6()` (AAAA, RFC 3596), `reverse()` (in-addr.arpa and ip6.arpa),
 * `setServers()` with IPv4 and IPv6 servers; servers learned from router
 * advertisements (RDNSS, RFC 8106: the engine's `dnsServers6`) follow the
 * configured ones.
 *
 * Each query gets its own UDP socket on a random source port and a random
 * 16-bit ID; a response is accepted only from the server queried, with the
 * same ID and the same question. Servers are tried in turn, `tries` rounds,
 * the timeout doubling each round. A truncated (TC) answer is retried over
 * TCP with the 2-byte length prefix. CNAME chains are followed up to a bound.
 * Results, positive and negative, are kept in a bounded LRU cache for their
 * TTL (negative answers for the SOA minimum, or a short default).
 *
 * Runs on host timers: use it with a started stack (real time).
 */
import { isIPv6 as nodeIsIPv6 } from 'node:net';
import { codeError } from '../engine/errno.js';
import type { DgramFacade } from '../socket/dgram.js';
import type { NetFacade, Socket as NetSocket, TcpConnectOptions } from '../socket/net.js';
import {
  DNS_CLASS_IN, DNS_PORT, DNS_RCODE_FORMERR, DNS_RCODE_NOERROR, DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN,
  DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_PTR, DNS_TYPE_SOA,
  canonicalName, encodeQuery, reverseName, type DnsMessage,
} from '../wire/dns.js';
import { formatIpv6, parseIpv6 } from '../wire/ipv6addr.js';
import { Failure, tcpExchange, udpExchange, type DnsServer } from './dns-exchange.js';

/** What the client needs of a stack. */
export interface DnsHost {
  readonly dgram: DgramFacade;
  readonly net: NetFacade;
  /** IPv6 DNS servers learned from router advertisements (RDNSS), RFC 5952 text; read at each query. */
  readonly dnsServers6?: readonly string[];
}

export interface DnsClientOptions {
  /** First-round timeout per server, ms (doubles each round). Default 1000. */
  timeout?: number;
  /** Rounds over the server list. Default 2. */
  tries?: number;
  /** Most CNAME links followed. Default 8. */
  maxCnameHops?: number;
  /** Cache entries (LRU); 0 disables the cache. Default 256. */
  cacheSize?: number;
  /** Negative-cache TTL when the answer carries no SOA, seconds. Default 5. */
  negativeTtl?: number;
  /** Cap on any cached TTL, seconds. Default 86400. */
  maxTtl?: number;
  /** Clock for cache expiry, ms. Default Date.now. */
  now?: () => number;
}

export interface LookupOptions {
  /** 0 (both, default), 4 (A) or 6 (AAAA). */
  family?: number;
  all?: boolean;
  /**
   * 'verbatim' (default, as Node 17+): the order of the answers, A before
   * AAAA (both are asked at once); 'ipv4first'; 'ipv6first'.
   */
  order?: 'verbatim' | 'ipv4first' | 'ipv6first';
  /** Node's older form of `order`: true = 'verbatim', false = 'ipv4first'. */
  verbatim?: boolean;
}

export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

export interface RecordWithTtl {
  address: string;
  ttl: number;
}

/** Node's DNS error: `code`, `syscall`, `hostname` (and `errno` for getaddrinfo). */
export class DnsError extends Error {
  errno: number | undefined;
  constructor(readonly code: string, readonly syscall: string, readonly hostname: string, cause?: unknown) {
    super(`${syscall} ${code} ${hostname}`, cause === undefined ? undefined : { cause });
    this.errno = undefined;
  }
}

// libuv's getaddrinfo error numbers, as Node reports them from lookup().
const UV_EAI_AGAIN = -3001;
const UV_EAI_NONAME = -3008;

interface CacheEntry {
  expires: number;
  /** null: negative answer with this code. */
  values: string[] | null;
  code: string;
}

/** The outcome of one name's resolution (CNAMEs followed). */
interface Answer {
  values: string[];
  /** Seconds: the smallest TTL along the chain. */
  ttl: number;
}

type Server = DnsServer;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** A server as Node's setServers takes it: 'a.b.c.d[:port]', an IPv6 literal, '[v6]' or '[v6]:port'. */
function parseServer(s: string): Server | null {
  const m4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(s);
  if (m4 !== null) {
    const port = m4[2] === undefined ? DNS_PORT : Number(m4[2]);
    return isIPv4(m4[1]) && port >= 1 && port <= 65535 ? { address: m4[1], port, family: 4 } : null;
  }
  const m6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  const text = m6 !== null ? m6[1] : s;
  const port = m6?.[2] === undefined ? DNS_PORT : Number(m6[2]);
  const address = canonical6(text);
  return address !== null && port >= 1 && port <= 65535 ? { address, port, family: 6 } : null;
}

function rcodeFailure(rcode: number): Failure {
  switch (rcode) {
    case DNS_RCODE_SERVFAIL: return new Failure('ESERVFAIL');
    case DNS_RCODE_REFUSED: return new Failure('EREFUSED');
    case DNS_RCODE_NOTIMP: return new Failure('ENOTIMP');
    case DNS_RCODE_FORMERR: return new Failure('EFORMERR');
    default: return new Failure('EBADRESP');
  }
}

/** Canonical (RFC 5952) text of an IPv6 literal, or null. */
function canonical6(text: string): string | null {
  const b = new Uint8Array(16);
  return parseIpv6(text, b, 0) ? formatIpv6(b, 0) : null;
}

/** `stack.dns`: a resolver with Node's `dns/promises` surface. */
export class DnsClient {
  private servers: Server[] = [];
  private timeout = 1000;
  private tries = 2;
  private maxCnameHops = 8;
  private cacheSize = 256;
  private negativeTtl = 5;
  private maxTtl = 86400;
  private now: () => number = Date.now;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Answer>>();
  /** Queries sent on the wire (UDP and TCP), for tests and statistics. */
  queriesSent = 0;

  constructor(private readonly host: DnsHost, options: DnsClientOptions = {}) {
    this.configure(options);
  }

  /** Change options; the cache is trimmed to a smaller size. */
  configure(options: DnsClientOptions): void {
    const num = (v: number | undefined, name: string, min: number): number | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`dns option '${name}' must be a number >= ${min}`);
      return v;
    };
    this.timeout = num(options.timeout, 'timeout', 1) ?? this.timeout;
    this.tries = Math.floor(num(options.tries, 'tries', 1) ?? this.tries);
    this.maxCnameHops = Math.floor(num(options.maxCnameHops, 'maxCnameHops', 0) ?? this.maxCnameHops);
    this.cacheSize = Math.floor(num(options.cacheSize, 'cacheSize', 0) ?? this.cacheSize);
    this.negativeTtl = num(options.negativeTtl, 'negativeTtl', 0) ?? this.negativeTtl;
    this.maxTtl = num(options.maxTtl, 'maxTtl', 0) ?? this.maxTtl;
    if (options.now !== undefined) this.now = options.now;
    this.trimCache();
  }

  /**
   * Set the servers, as Node: 'a.b.c.d', 'a.b.c.d:port', an IPv6 literal,
   * or '[v6]:port'. Throws ERR_INVALID_IP_ADDRESS otherwise.
   */
  setServers(servers: readonly string[]): void {
    const parsed: Server[] = [];
    for (const s of servers) {
      const server = typeof s === 'string' ? parseServer(s) : null;
      if (server === null) throw codeError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(s)}`, TypeError);
      parsed.push(server);
    }
    this.servers = parsed;
  }

  /**
   * As Node: 'a.b.c.d' or 'a.b.c.d:port', an IPv6 literal or '[v6]:port'
   * when the port is not 53: the configured servers, then those learned
   * from router advertisements (RDNSS) that are not among them.
   */
  getServers(): string[] {
    return this.effectiveServers().map((s) => (s.port === DNS_PORT ? s.address
      : s.family === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`));
  }

  /** The configured servers and the RDNSS ones after them. */
  private effectiveServers(): Server[] {
    const rdnss = this.host.dnsServers6;
    if (rdnss === undefined || rdnss.length === 0) return this.servers;
    const list = this.servers.slice();
    for (const text of rdnss) {
      const address = canonical6(text);
      if (address !== null && !list.some((s) => s.family === 6 && s.address === address && s.port === DNS_PORT)) {
        list.push({ address, port: DNS_PORT, family: 6 });
      }
    }
    return list;
  }

  /** Forget all cached answers. */
  clearCache(): void {
    this.cache.clear();
  }

  /** Number of cached entries. */
  get cacheEntries(): number {
    return this.cache.size;
  }

  /**
   * `dns.lookup()`: IP literals are returned as they are (whatever
   * `family`, as Node); names are resolved with A (family 4), AAAA (6) or
   * both at once (0), the list ordered by `order`. Errors are getaddrinfo's:
   * ENOTFOUND (no such name, or no address of the family) and EAI_AGAIN
   * (server failure, timeout, bad response), with the resolver's own error
   * as `cause`.
   */
  async lookup(hostname: string, options: LookupOptions & { all: true }): Promise<LookupAddress[]>;
  async lookup(hostname: string, options?: LookupOptions & { all?: false }): Promise<LookupAddress>;
  async lookup(hostname: string, options?: LookupOptions | number): Promise<LookupAddress | LookupAddress[]>;
  async lookup(hostname: string, options: LookupOptions | number = {}): Promise<LookupAddress | LookupAddress[]> {
    const o: LookupOptions = typeof options === 'number' ? { family: options } : options;
    if (typeof hostname !== 'string') {
      throw codeError('ERR_INVALID_ARG_TYPE', 'The "hostname" argument must be of type string', TypeError);
    }
    const family = o.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) {
      throw codeError('ERR_INVALID_ARG_VALUE', `The property 'options.family' must be one of: 0, 4, 6. Received ${String(family)}`, TypeError);
    }
    const order = o.order ?? (o.verbatim === false ? 'ipv4first' : 'verbatim');
    if (order !== 'verbatim' && order !== 'ipv4first' && order !== 'ipv6first') {
      throw codeError('ERR_INVALID_ARG_VALUE', `The property 'options.order' must be one of: 'verbatim', 'ipv4first', 'ipv6first'. Received ${String(order)}`, TypeError);
    }
    let list: LookupAddress[];
    if (isIPv4(hostname)) list = [{ address: hostname, family: 4 }];
    else if (nodeIsIPv6(hostname)) list = [{ address: hostname, family: 6 }];
    else {
      const asks: Array<[number, 4 | 6, string]> = [];
      if (family !== 6) asks.push([DNS_TYPE_A, 4, 'queryA']);
      if (family !== 4) asks.push([DNS_TYPE_AAAA, 6, 'queryAaaa']);
      const results = await Promise.allSettled(asks.map(([type]) => {
        if (hostname === '') return Promise.reject(new Failure('ENOTFOUND'));
        return this.resolveName(hostname, type);
      }));
      list = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') for (const address of r.value.values) list.push({ address, family: asks[i][1] });
      });
      if (list.length === 0) {
        // The error of the first family asked (A before AAAA), as getaddrinfo reports one.
        const errors = results.map((r) => (r.status === 'rejected' ? r.reason as unknown : null));
        const hard = errors.find((e) => !(e instanceof Failure) || !['ENOTFOUND', 'ENODATA', 'EBADNAME'].includes(e.code));
        const err = hard ?? errors[0];
        const f = err instanceof Failure ? err : new Failure('EBADRESP', 0, err);
        const notFound = f.code === 'ENOTFOUND' || f.code === 'ENODATA' || f.code === 'EBADNAME';
        const e = new DnsError(notFound ? 'ENOTFOUND' : 'EAI_AGAIN', 'getaddrinfo', hostname,
          new DnsError(f.code, asks[Math.max(0, errors.indexOf(err))][2], hostname));
        e.errno = notFound ? UV_EAI_NONAME : UV_EAI_AGAIN;
        throw e;
      }
      if (order !== 'verbatim') {
        const first = order === 'ipv4first' ? 4 : 6;
        list = [...list.filter((x) => x.family === first), ...list.filter((x) => x.family !== first)];
      }
    }
    return o.all === true ? list : list[0];
  }

  /** `dnsPromises.resolve4()`: the A records of `hostname`, or `{ address, ttl }` with `{ ttl: true }`. */
  async resolve4(hostname: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  async resolve4(hostname: string, options?: { ttl?: false }): Promise<string[]>;
  async resolve4(hostname: string, options?: { ttl?: boolean }): Promise<string[] | RecordWithTtl[]>;
  async resolve4(hostname: string, options: { ttl?: boolean } = {}): Promise<string[] | RecordWithTtl[]> {
    const a = await this.wrap(this.resolveName(hostname, DNS_TYPE_A), 'queryA', hostname);
    return options.ttl === true ? a.values.map((address) => ({ address, ttl: a.ttl })) : a.values;
  }

  /** `dnsPromises.resolve6()`: the AAAA records of `hostname` (RFC 3596), or `{ address, ttl }` with `{ ttl: true }`. */
  async resolve6(hostname: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  async resolve6(hostname: string, options?: { ttl?: false }): Promise<string[]>;
  async resolve6(hostname: string, options?: { ttl?: boolean }): Promise<string[] | RecordWithTtl[]>;
  async resolve6(hostname: string, options: { ttl?: boolean } = {}): Promise<string[] | RecordWithTtl[]> {
    const a = await this.wrap(this.resolveName(hostname, DNS_TYPE_AAAA), 'queryAaaa', hostname);
    return options.ttl === true ? a.values.map((address) => ({ address, ttl: a.ttl })) : a.values;
  }

  /** `dnsPromises.reverse()`: the PTR names of an IPv4 address (in-addr.arpa) or an IPv6 one (ip6.arpa). */
  async reverse(ip: string): Promise<string[]> {
    const name = typeof ip === 'string' ? reverseName(ip) : null;
    if (name === null) throw new DnsError('EINVAL', 'getHostByAddr', String(ip));
    return (await this.wrap(this.resolveName(name, DNS_TYPE_PTR), 'getHostByAddr', ip)).values;
  }

  private async wrap(p: Promise<Answer>, syscall: string, hostname: string): Promise<Answer> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof Failure) throw new DnsError(err.code, syscall, hostname, err.cause);
      throw new DnsError('EBADRESP', syscall, hostname, err);
    }
  }

  // --- cache ---

  private trimCache(): void {
    while (this.cache.size > this.cacheSize) {
      const first = this.cache.keys().next();
      if (first.done === true) break;
      this.cache.delete(first.value);
    }
  }

  private cacheGet(key: string): CacheEntry | undefined {
    const e = this.cache.get(key);
    if (e === undefined) return undefined;
    this.cache.delete(key);
    if (e.expires <= this.now()) return undefined;
    this.cache.set(key, e); // most recently used goes last
    return e;
  }

  private cachePut(key: string, values: string[] | null, code: string, ttl: number): void {
    const t = Math.min(ttl, this.maxTtl);
    if (this.cacheSize === 0 || !(t > 0)) return;
    this.cache.delete(key);
    this.cache.set(key, { expires: this.now() + t * 1000, values: values === null ? null : values.slice(), code });
    this.trimCache();
  }

  // --- resolution ---

  /** Resolve `name`/`type`, following CNAMEs, through the cache and coalescing identical in-flight queries. */
  private resolveName(name: string, type: number): Promise<Answer> {
    const key = `${type}:${canonicalName(name)}`;
    const hit = this.cacheGet(key);
    if (hit !== undefined) {
      const ttl = Math.max(0, Math.floor((hit.expires - this.now()) / 1000));
      if (hit.values === null) return Promise.reject(new Failure(hit.code, ttl));
      return Promise.resolve({ values: hit.values.slice(), ttl });
    }
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending.then((a) => ({ values: a.values.slice(), ttl: a.ttl }));
    const p = this.resolveChain(name, type).then(
      (a) => {
        this.cachePut(key, a.values, '', a.ttl);
        return a;
      },
      (err: unknown) => {
        if (err instanceof Failure && (err.code === 'ENOTFOUND' || err.code === 'ENODATA')) {
          this.cachePut(key, null, err.code, err.ttl);
        }
        throw err;
      },
    ).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async resolveChain(name: string, type: number): Promise<Answer> {
    try {
      if (name.length === 0) throw new Failure('EBADNAME');
      encodeQuery(0, name, type);
    } catch (err) {
      if (err instanceof Failure) throw err;
      throw new Failure('EBADNAME', 0, err);
    }
    let current = name;
    let hops = 0;
    let minTtl = Infinity;
    for (;;) {
      const msg = await this.query(current, type);
      const answers = msg.answers.filter((r) => r.class === DNS_CLASS_IN);
      // Follow the chain inside this answer.
      for (;;) {
        const c = canonicalName(current);
        const cname = answers.find((r) => r.type === DNS_TYPE_CNAME && canonicalName(r.name) === c);
        if (cname === undefined || type === DNS_TYPE_CNAME) break;
        if (++hops > this.maxCnameHops) throw new Failure('EBADRESP', 0, new Error('CNAME chain too long'));
        minTtl = Math.min(minTtl, cname.ttl);
        current = cname.target ?? '';
      }
      const c = canonicalName(current);
      const records = answers.filter((r) => r.type === type && canonicalName(r.name) === c);
      const values: string[] = [];
      for (const r of records) {
        const v = type === DNS_TYPE_A || type === DNS_TYPE_AAAA ? r.address : r.target;
        if (v !== undefined) values.push(v);
        minTtl = Math.min(minTtl, r.ttl);
      }
      if (values.length > 0) return { values, ttl: minTtl === Infinity ? 0 : minTtl };
      const soa = msg.authorities.find((r) => r.type === DNS_TYPE_SOA);
      const negTtl = soa !== undefined ? Math.min(soa.ttl, soa.soaMinimum ?? soa.ttl) : this.negativeTtl;
      if (msg.rcode === DNS_RCODE_NXDOMAIN) throw new Failure('ENOTFOUND', negTtl);
      // NOERROR: if we only learned an alias and the server did not vouch for the end of the chain, ask for it.
      if (hops > 0 && soa === undefined && canonicalName(msg.questions[0].name) !== c) continue;
      throw new Failure('ENODATA', negTtl);
    }
  }

  /** One question, across servers and rounds; resolves with a NOERROR or NXDOMAIN response. */
  private async query(name: string, type: number): Promise<DnsMessage> {
    const servers = this.effectiveServers();
    if (servers.length === 0) throw new Failure('ECONNREFUSED', 0, new Error('no DNS servers set'));
    let last: Failure = new Failure('ETIMEOUT');
    const sent = (): void => { this.queriesSent++; };
    for (let round = 0; round < this.tries; round++) {
      const timeout = this.timeout * 2 ** round;
      for (const server of servers) {
        try {
          let msg = await udpExchange(this.host, server, name, type, timeout, sent);
          if (msg.tc) msg = await tcpExchange(this.host, server, name, type, timeout, sent);
          if (msg.rcode === DNS_RCODE_NOERROR || msg.rcode === DNS_RCODE_NXDOMAIN) return msg;
          last = rcodeFailure(msg.rcode);
        } catch (err) {
          last = err instanceof Failure ? err : new Failure('EBADRESP', 0, err);
        }
      }
    }
    throw last;
  }
}

/**
 * `net.connect()` with a host name: resolves `options.host` through `dns`
 * (IPv4 literals pass straight through), then connects with `net`. Rejects
 * with the lookup's error; connection errors are the socket's, as usual.
 */
export async function connectByName(
  dns: DnsClient, net: NetFacade, options: TcpConnectOptions, connectListener?: () => void,
): Promise<NetSocket> {
  const host = options.host;
  // Like net.connect, no host (or 'localhost') means 127.0.0.1: it never goes to DNS.
  if (host === undefined || host === '' || host === 'localhost') return net.connect(options, connectListener);
  const { address } = await dns.lookup(host, { family: options.family ?? 4 });
  return net.connect({ ...options, host: address }, connectListener);
}
