/**
 * Test helpers for the host-side front ends (SOCKS5, tunnels): two stacks in
 * real time on a MemoryLink cable, and a byte reader over a host socket.
 */
import * as net from 'node:net';
import { MemoryLink, Stack, type StackConfig } from '../../src/index.js';

/** Two stacks running in real time: a = 10.0.0.1 (the front ends' side), b = 10.0.0.2 (servers). */
export async function withStacks(fn: (a: Stack, b: Stack) => Promise<void>, ca: StackConfig = {}): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 31, ...ca });
  const b = new Stack({ seed: 32 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  try {
    await fn(a, b);
  } finally {
    a.stop();
    b.stop();
  }
}

/** Reads exact byte counts from a host socket, and notices its end. */
export class Reader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;
  /** The peer's FIN (or an error) was seen. */
  ended = false;
  error: Error | null = null;
  readonly closed: Promise<void>;

  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.length += d.length;
      this.wake();
    });
    sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('error', (e) => {
      this.error = e;
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) => sock.once('close', () => resolve()));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** Exactly `n` bytes; rejects if the stream ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.ended) throw new Error(`stream ended after ${this.length} of ${n} bytes${this.error ? ` (${this.error.message})` : ''}`);
      await this.wait();
    }
    return this.take(n);
  }

  /** Everything until the end of the stream. */
  async readToEnd(): Promise<Buffer> {
    while (!this.ended) await this.wait();
    return this.take(this.length);
  }

  get buffered(): number {
    return this.length;
  }
}

/**
 * A connected host TCP socket to 127.0.0.1:port, wrapped in a Reader. With
 * `allowHalfOpen` false (default) the socket closes once the peer's FIN
 * arrived and its own writes are done, so `closed` tells the server closed.
 */
export function connectHost(port: number, allowHalfOpen = false): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
    const r = new Reader(s);
    s.once('connect', () => resolve(r));
    s.once('error', reject);
  });
}

/** Resolve after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `cond` every 10 ms until true; fails after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
