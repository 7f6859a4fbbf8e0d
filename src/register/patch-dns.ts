/**
 * Names of an unmodified program through the tunnel's DNS servers (the
 * config's `DNS =`), as wg-quick's resolv.conf would send them:
 * `dns.lookup`, `dns.resolve4`, `dns.resolve(name, 'A')`, `dns.reverse` and
 * their `dns/promises` forms go to `stack.dns`. 'localhost' names, IP
 * literals, IPv6-only lookups and record types other than A stay with the
 * host's resolver. Installed only when the config names DNS servers.
 */
import { createRequire } from 'node:module';
import type * as dnsTypes from 'node:dns';
import { isLocalhostName } from './routes.js';
import type { Tunnel } from './tunnel.js';

type Fn = (...args: unknown[]) => unknown;
type Cb = (err: Error | null, ...values: unknown[]) => void;

const require = createRequire(import.meta.url);
const dns = require('node:dns') as typeof dnsTypes;
const dnsPromises = require('node:dns/promises') as typeof dnsTypes.promises;

/** Node's dns functions before `wirestack/register`. */
export const originalDns = {
  lookup: dns.lookup as unknown as Fn,
  resolve4: dns.resolve4 as unknown as Fn,
  resolve: dns.resolve as unknown as Fn,
  reverse: dns.reverse as unknown as Fn,
  promises: {
    lookup: dnsPromises.lookup as unknown as Fn,
    resolve4: dnsPromises.resolve4 as unknown as Fn,
    resolve: dnsPromises.resolve as unknown as Fn,
    reverse: dnsPromises.reverse as unknown as Fn,
  },
};

interface LookupOpts { family: number; all: boolean }

function lookupOptions(o: unknown): LookupOpts {
  if (typeof o === 'number') return { family: o, all: false };
  if (typeof o === 'object' && o !== null) {
    const r = o as { family?: unknown; all?: unknown };
    const family = r.family === 'IPv4' ? 4 : r.family === 'IPv6' ? 6 : typeof r.family === 'number' ? r.family : 0;
    return { family, all: r.all === true };
  }
  return { family: 0, all: false };
}

/** True when `name` is for the tunnel's DNS (not a literal, not localhost). */
function forTunnel(name: unknown, family = 0): name is string {
  return typeof name === 'string' && name !== '' && family !== 6 && !isLocalhostName(name) && !/^[\d.]+$/.test(name) && !name.includes(':');
}

/** Install the DNS patches; returns a function that undoes them. */
export function patchDns(tunnel: Tunnel): () => void {
  const client = tunnel.stack.dns;
  const hold = <T>(p: Promise<T>): Promise<T> => {
    const release = tunnel.activity.hold();
    return p.finally(release);
  };

  const lookupP = (name: string, o: LookupOpts): Promise<{ address: string; family: number } | Array<{ address: string; family: number }>> =>
    hold<{ address: string; family: number } | Array<{ address: string; family: number }>>(
      o.all ? client.lookup(name, { family: 4, all: true }) : client.lookup(name, { family: 4 }));

  const lookup = function lookup(...args: unknown[]): unknown {
    const cb = args[args.length - 1] as Cb;
    const o = lookupOptions(args.length > 2 ? args[1] : undefined);
    if (typeof cb !== 'function' || !forTunnel(args[0], o.family)) return originalDns.lookup(...args);
    lookupP(args[0], o).then((r) => {
      if (Array.isArray(r)) cb(null, r);
      else cb(null, r.address, r.family);
    }, (e: Error) => cb(e));
    return {};
  };
  const resolve4 = function resolve4(...args: unknown[]): unknown {
    const cb = args[args.length - 1] as Cb;
    if (typeof cb !== 'function' || !forTunnel(args[0])) return originalDns.resolve4(...args);
    const ttl = typeof args[1] === 'object' && args[1] !== null && (args[1] as { ttl?: unknown }).ttl === true;
    hold<unknown>(ttl ? client.resolve4(args[0], { ttl: true }) : client.resolve4(args[0])).then((r) => cb(null, r), (e: Error) => cb(e));
    return {};
  };
  const resolve = function resolve(...args: unknown[]): unknown {
    const cb = args[args.length - 1] as Cb;
    const rrtype = typeof args[1] === 'string' ? args[1] : 'A';
    if (typeof cb !== 'function' || rrtype !== 'A' || !forTunnel(args[0])) return originalDns.resolve(...args);
    hold(client.resolve4(args[0])).then((r) => cb(null, r), (e: Error) => cb(e));
    return {};
  };
  const reverse = function reverse(...args: unknown[]): unknown {
    const cb = args[args.length - 1] as Cb;
    if (typeof cb !== 'function' || typeof args[0] !== 'string' || !/^[\d.]+$/.test(args[0])) return originalDns.reverse(...args);
    hold(client.reverse(args[0])).then((r) => cb(null, r), (e: Error) => cb(e));
    return {};
  };

  const pLookup = function lookup(...args: unknown[]): unknown {
    const o = lookupOptions(args[1]);
    if (!forTunnel(args[0], o.family)) return originalDns.promises.lookup(...args);
    return lookupP(args[0], o);
  };
  const pResolve4 = function resolve4(...args: unknown[]): unknown {
    if (!forTunnel(args[0])) return originalDns.promises.resolve4(...args);
    const ttl = typeof args[1] === 'object' && args[1] !== null && (args[1] as { ttl?: unknown }).ttl === true;
    return hold<unknown>(ttl ? client.resolve4(args[0], { ttl: true }) : client.resolve4(args[0]));
  };
  const pResolve = function resolve(...args: unknown[]): unknown {
    if ((args[1] !== undefined && args[1] !== 'A') || !forTunnel(args[0])) return originalDns.promises.resolve(...args);
    return hold(client.resolve4(args[0]));
  };
  const pReverse = function reverse(...args: unknown[]): unknown {
    if (typeof args[0] !== 'string' || !/^[\d.]+$/.test(args[0])) return originalDns.promises.reverse(...args);
    return hold(client.reverse(args[0]));
  };

  const set = (obj: object, key: string, value: unknown): void => {
    (obj as Record<string, unknown>)[key] = value;
  };
  const apply = (t: typeof originalDns): void => {
    set(dns, 'lookup', t.lookup);
    set(dns, 'resolve4', t.resolve4);
    set(dns, 'resolve', t.resolve);
    set(dns, 'reverse', t.reverse);
    set(dnsPromises, 'lookup', t.promises.lookup);
    set(dnsPromises, 'resolve4', t.promises.resolve4);
    set(dnsPromises, 'resolve', t.promises.resolve);
    set(dnsPromises, 'reverse', t.promises.reverse);
  };
  apply({ lookup, resolve4, resolve, reverse, promises: { lookup: pLookup, resolve4: pResolve4, resolve: pResolve, reverse: pReverse } });
  return () => apply(originalDns);
}
