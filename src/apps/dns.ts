/**
 * A stub DNS resolver over the stack, mirroring `node:dns/promises`:
 * `stack.dns.lookup()`, `resolve4()`, `reverse()`, `setServers()`.
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
import { Buffer } from 'node:buffer';
import { getRandomValues, randomInt } from 'node:crypto';
import { codeError } from '../engine/errno.js';
import type { DgramFacade, UdpSocket } from '../socket/dgram.js';
import type { NetFacade, Socket as NetSocket, TcpConnectOptions } from '../socket/net.js';
import {
  DNS_CLASS_IN, DNS_PORT, DNS_RCODE_FORMERR, DNS_RCODE_NOERROR, DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN,
  DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL, DNS_TYPE_A, DNS_TYPE_CNAME, DNS_TYPE_PTR, DNS_TYPE_SOA,
  canonicalName, encodeQuery, parseMessage, reverseName, type DnsMessage,
} from '../wire/dns.js';

/** What the client needs of a stack. */
export interface DnsHost {
  readonly dgram: DgramFacade;
  readonly net: NetFacade;
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
  /** 0, 4 or undefined. The stack has no IPv6: 6 always fails with ENOTFOUND. */
  family?: number;
  all?: boolean;
}

export interface LookupAddress {
  address: string;
  family: 4;
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

/** A failure the resolver knows the code of (no hostname/syscall yet). */
class Failure extends Error {
  constructor(readonly code: string, readonly ttl = 0, cause?: unknown) {
    super(code, cause === undefined ? undefined : { cause });
  }
}

interface Server {
  address: string;
  port: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4(s: string): boolean {
  return IPV4.test(s);
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

function randomId(): number {
  return getRandomValues(new Uint16Array(1))[0];
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

  /** Set the servers, as Node: 'a.b.c.d' or 'a.b.c.d:port'. Throws ERR_INVALID_IP_ADDRESS otherwise. */
  setServers(servers: readonly string[]): void {
    const parsed: Server[] = [];
    for (const s of servers) {
      const m = typeof s === 'string' ? /^([\d.]+)(?::(\d{1,5}))?$/.exec(s) : null;
      const port = m?.[2] === undefined ? DNS_PORT : Number(m[2]);
      if (m === null || !isIPv4(m[1]) || port < 1 || port > 65535) {
        throw codeError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(s)}`, TypeError);
      }
      parsed.push({ address: m[1], port });
    }
    this.servers = parsed;
  }

  /** As Node: 'a.b.c.d', or 'a.b.c.d:port' when the port is not 53. */
  getServers(): string[] {
    return this.servers.map((s) => (s.port === DNS_PORT ? s.address : `${s.address}:${s.port}`));
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
   * `dns.lookup()`: IPv4 literals are returned as they are; names are
   * resolved with A queries. Errors are getaddrinfo's: ENOTFOUND (no such
   * name, or no address) and EAI_AGAIN (server failure, timeout, bad
   * response), with the resolver's own error as `cause`.
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
    let addresses: string[];
    if (isIPv4(hostname) && family !== 6) addresses = [hostname];
    else {
      try {
        if (family === 6 || hostname === '') throw new Failure('ENOTFOUND');
        addresses = (await this.resolveName(hostname, DNS_TYPE_A)).values;
      } catch (err) {
        const f = err instanceof Failure ? err : new Failure('EBADRESP', 0, err);
        const notFound = f.code === 'ENOTFOUND' || f.code === 'ENODATA' || f.code === 'EBADNAME';
        const cause = f.code === 'ENOTFOUND' && family === 6 ? undefined : new DnsError(f.code, 'queryA', hostname);
        const e = new DnsError(notFound ? 'ENOTFOUND' : 'EAI_AGAIN', 'getaddrinfo', hostname, cause);
        e.errno = notFound ? UV_EAI_NONAME : UV_EAI_AGAIN;
        throw e;
      }
    }
    const list = addresses.map((address): LookupAddress => ({ address, family: 4 }));
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

  /** `dnsPromises.reverse()`: the PTR names of an IPv4 address. */
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
        const v = type === DNS_TYPE_A ? r.address : r.target;
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
    if (this.servers.length === 0) throw new Failure('ECONNREFUSED', 0, new Error('no DNS servers set'));
    let last: Failure = new Failure('ETIMEOUT');
    for (let round = 0; round < this.tries; round++) {
      const timeout = this.timeout * 2 ** round;
      for (const server of this.servers) {
        try {
          let msg = await this.udpExchange(server, name, type, timeout);
          if (msg.tc) msg = await this.tcpExchange(server, name, type, timeout);
          if (msg.rcode === DNS_RCODE_NOERROR || msg.rcode === DNS_RCODE_NXDOMAIN) return msg;
          last = rcodeFailure(msg.rcode);
        } catch (err) {
          last = err instanceof Failure ? err : new Failure('EBADRESP', 0, err);
        }
      }
    }
    throw last;
  }

  /** Whether `msg` answers our question `id`/`name`/`type`. */
  private matches(msg: DnsMessage, id: number, name: string, type: number): boolean {
    if (msg.id !== id || !msg.qr || msg.opcode !== 0 || msg.questions.length !== 1) return false;
    const q = msg.questions[0];
    return q.type === type && q.class === DNS_CLASS_IN && canonicalName(q.name) === canonicalName(name);
  }

  private openUdp(): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      let attempt = 0;
      const tryBind = (): void => {
        let sock: UdpSocket;
        try {
          sock = this.host.dgram.createSocket('udp4');
        } catch (err) {
          reject(new Failure('ECONNREFUSED', 0, err));
          return;
        }
        const onError = (err: Error): void => {
          sock.removeListener('listening', onListening);
          try { sock.close(); } catch { /* already closed */ }
          if (++attempt < 8) tryBind();
          else reject(new Failure('ECONNREFUSED', 0, err));
        };
        const onListening = (): void => {
          sock.removeListener('error', onError);
          resolve(sock);
        };
        sock.once('error', onError);
        sock.once('listening', onListening);
        // A random source port per query (RFC 5452); after several collisions, let the stack pick one.
        sock.bind(attempt < 7 ? randomInt(49152, 65536) : 0);
      };
      tryBind();
    });
  }

  private async udpExchange(server: Server, name: string, type: number, timeout: number): Promise<DnsMessage> {
    const id = randomId();
    const query = encodeQuery(id, name, type);
    const sock = await this.openUdp();
    return new Promise<DnsMessage>((resolve, reject) => {
      let done = false;
      const finish = (err: Failure | null, msg?: DnsMessage): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try { sock.close(); } catch { /* already closed */ }
        if (err !== null) reject(err);
        else if (msg !== undefined) resolve(msg);
      };
      const timer = setTimeout(() => finish(new Failure('ETIMEOUT')), timeout);
      sock.on('error', (err) => {
        // ICMP port unreachable and the like: this server will not answer.
        finish(new Failure('ECONNREFUSED', 0, err));
      });
      sock.on('message', (buf, rinfo) => {
        if (rinfo.address !== server.address || rinfo.port !== server.port) return;
        // Only a datagram with our ID can be a (possibly broken) answer; anything else is noise or spoofing.
        if (buf.length < 2 || ((buf[0] << 8) | buf[1]) !== id) return;
        let msg: DnsMessage;
        try {
          msg = parseMessage(buf, 0, buf.length);
        } catch (err) {
          finish(new Failure('EBADRESP', 0, err));
          return;
        }
        if (!this.matches(msg, id, name, type)) return;
        finish(null, msg);
      });
      this.queriesSent++;
      sock.send(query, server.port, server.address, (err) => {
        if (err !== null) finish(new Failure('ECONNREFUSED', 0, err));
      });
    });
  }

  private tcpExchange(server: Server, name: string, type: number, timeout: number): Promise<DnsMessage> {
    const id = randomId();
    const query = encodeQuery(id, name, type);
    return new Promise<DnsMessage>((resolve, reject) => {
      let done = false;
      let sock: NetSocket | null = null;
      const finish = (err: Failure | null, msg?: DnsMessage): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock?.destroy();
        if (err !== null) reject(err);
        else if (msg !== undefined) resolve(msg);
      };
      const timer = setTimeout(() => finish(new Failure('ETIMEOUT')), timeout);
      let buf: Buffer = Buffer.alloc(0);
      try {
        sock = this.host.net.connect({ host: server.address, port: server.port });
      } catch (err) {
        finish(new Failure('ECONNREFUSED', 0, err));
        return;
      }
      sock.on('error', (err) => finish(new Failure('ECONNREFUSED', 0, err)));
      sock.on('close', () => finish(new Failure('EBADRESP', 0, new Error('TCP connection closed before a full answer'))));
      sock.on('connect', () => {
        const framed = Buffer.alloc(2 + query.length);
        framed.writeUInt16BE(query.length, 0);
        framed.set(query, 2);
        this.queriesSent++;
        sock?.write(framed);
      });
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        let msg: DnsMessage;
        try {
          msg = parseMessage(buf, 2, len);
        } catch (err) {
          finish(new Failure('EBADRESP', 0, err));
          return;
        }
        if (!this.matches(msg, id, name, type)) finish(new Failure('EBADRESP', 0, new Error('TCP answer does not match the query')));
        else finish(null, msg);
      });
    });
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
  const { address } = await dns.lookup(host, { family: 4 });
  return net.connect({ ...options, host: address }, connectListener);
}
