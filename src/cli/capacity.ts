/**
 * Capacities of the CLI's stacks from flags (`--max-connections`,
 * `--tcp-buffers`, `--tcp-buffer-size`, `--syn-backlog`), the stack config
 * they make, and the memory plan they cost, printed at start.
 */
import type { StackConfig } from '../engine/config.js';
import type { MemoryReport } from '../storage/arena.js';
import { UsageError, type Parsed } from './args.js';

/** What the capacity flags set. */
export interface Capacity {
  /** TCP connections that may exist at once (`maxTcpSockets`). */
  maxConnections: number;
  /** Send/receive buffer pairs shared by the connections that hold data (`tcpBufferPairs`). */
  tcpBuffers: number;
  /** Bytes of each send and each receive buffer. */
  tcpBufferBytes: number;
  /** Half-open connection requests held at once (`tcpSynBacklog`); also each service's listen backlog. */
  synBacklog: number;
}

/**
 * Descriptors beyond the TCP connections: listeners, UDP sockets (echo, DNS,
 * DHCP), and a margin, so a full connection table never stops a listener or
 * the DNS client from opening.
 */
export const EXTRA_SOCKETS = 64;
/** The socket table's limit (16-bit indices) less {@link EXTRA_SOCKETS}. */
export const MAX_CONNECTIONS = 32767 - EXTRA_SOCKETS;

/** The flags {@link capacityFlags} reads; add them to a command's `values`. */
export const CAPACITY_FLAGS = ['max-connections', 'tcp-buffers', 'tcp-buffer-size', 'syn-backlog'];

/** An integer flag within bounds, or the default; a clear UsageError otherwise. */
export function intFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${v}'`);
  }
  return n;
}

/** A duration flag in seconds (decimals allowed), as ms; 0 allowed when `min` is 0. */
export function secondsFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.values[name];
  if (v === undefined) return Math.round(def * 1000);
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number of seconds in ${min}..${max}, got '${v}'`);
  }
  return Math.round(n * 1000);
}

const SIZE = /^(\d+)([kKmM]?)$/;

/** A byte size flag: a number with an optional k (KiB) or m (MiB) suffix. */
export function sizeFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.values[name];
  if (v === undefined) return def;
  const m = SIZE.exec(v);
  const n = m === null ? NaN : Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a size in ${bytes(min)}..${bytes(max)} (bytes, or with k or m), got '${v}'`);
  }
  return n;
}

/** Read the capacity flags; `defaults` are the command's. */
export function capacityFlags(p: Parsed, defaults: Capacity): Capacity {
  const maxConnections = intFlag(p, 'max-connections', defaults.maxConnections, 1, MAX_CONNECTIONS);
  return {
    maxConnections,
    // More pairs than connections could never be used.
    tcpBuffers: intFlag(p, 'tcp-buffers', Math.min(defaults.tcpBuffers, maxConnections), 1, maxConnections),
    tcpBufferBytes: sizeFlag(p, 'tcp-buffer-size', defaults.tcpBufferBytes, 2048, 64 * 1024 * 1024),
    synBacklog: intFlag(p, 'syn-backlog', defaults.synBacklog, 1, 65535),
  };
}

/** The stack config fields the capacities set. */
export function capacityConfig(c: Capacity): StackConfig {
  return {
    maxSockets: c.maxConnections + EXTRA_SOCKETS,
    maxTcpSockets: c.maxConnections,
    tcpBufferPairs: c.tcpBuffers,
    tcpSendBufferBytes: c.tcpBufferBytes,
    tcpRecvBufferBytes: c.tcpBufferBytes,
    tcpSynBacklog: c.synBacklog,
  };
}

/** `1536` -> '1.5 KiB', `134217728` -> '128 MiB'. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toFixed(v < 10 ? 2 : 1))} ${units[u]}`;
}

/** The plan's parts in four groups: connections, buffers, SYN requests and the rest (bytes). */
export function planGroups(m: MemoryReport): { connections: number; buffers: number; requests: number; other: number } {
  const g = { connections: 0, buffers: 0, requests: 0, other: 0 };
  for (const [part, n] of Object.entries(m.parts)) {
    if (/^tcp(Send|Recv)Buffers$/.test(part)) g.buffers += n;
    else if (/syn|request/i.test(part)) g.requests += n;
    else if (/^(tcb|sockets|tcpBufferPool)/.test(part)) g.connections += n;
    else g.other += n;
  }
  return g;
}

/** The 'memory' line printed at start: its JSON fields and its text. */
export function describePlan(m: MemoryReport, c: Capacity): { fields: Record<string, number>; text: string } {
  const g = planGroups(m);
  return {
    fields: {
      totalBytes: m.totalBytes, maxConnections: c.maxConnections, tcpBuffers: c.tcpBuffers, tcpBufferBytes: c.tcpBufferBytes,
      synBacklog: c.synBacklog, connectionBytes: g.connections, bufferBytes: g.buffers, requestBytes: g.requests, otherBytes: g.other,
    },
    text: `memory: ${bytes(m.totalBytes)} planned: ${c.maxConnections} TCP connections (control blocks ${bytes(g.connections)}), `
      + `${c.tcpBuffers} buffer pairs of 2 x ${bytes(c.tcpBufferBytes)} (${bytes(g.buffers)}), `
      + `${c.synBacklog} SYN requests (${bytes(g.requests)}), other ${bytes(g.other)}`,
  };
}
