/**
 * A kernel-TCP peer for tunnel tests and benchmarks, run as its own Node
 * process (usually inside a network namespace):
 *
 *   node tcp-peer.js sink PORT [--no-hash]        accept one connection, read to EOF,
 *                                                 answer with the report line, exit
 *   node tcp-peer.js source PORT BYTES            accept one connection, send BYTES of
 *                                                 the pattern, end, exit after close
 *   node tcp-peer.js send HOST PORT BYTES         connect, send BYTES, end, print the
 *                                                 sink's report line, exit
 *
 * Listeners print `ready` once listening. Every mode prints one JSON report
 * line ({@link PeerReport}) and exits 0, or exits 1 after 'error'. The
 * process exits by itself after `WST_PEER_TIMEOUT_MS` (default 120 s) so a
 * stuck peer never outlives its test.
 *
 * The data is {@link fillPattern}: not periodic within 64 MiB, so a lost,
 * doubled or reordered segment changes the SHA-256.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** What a peer saw. `ms` runs from the first byte (or the connect) to EOF (or close). */
export interface PeerReport {
  bytes: number;
  sha256: string | null;
  ms: number;
}

/** The byte at absolute offset i of the test stream; repeats every 64 MiB. */
export function fillPattern(buf: Uint8Array, offset: number): void {
  for (let j = 0; j < buf.length; j++) {
    const i = (offset + j) % PATTERN_PERIOD;
    buf[j] = (i * 31 + (i >>> 11) + (i >>> 19) * 7) & 0xff;
  }
}

export const PATTERN_PERIOD = 64 << 20;

/** The whole pattern period, computed once per process (64 MiB). */
let periodBuf: Buffer | null = null;
export function patternPeriod(): Buffer {
  if (periodBuf === null) {
    periodBuf = Buffer.allocUnsafe(PATTERN_PERIOD);
    fillPattern(periodBuf, 0);
  }
  return periodBuf;
}

/** SHA-256 (hex) of the first `bytes` of the pattern. */
export function patternSha256(bytes: number): string {
  const h = createHash('sha256');
  const p = patternPeriod();
  for (let off = 0; off < bytes; off += PATTERN_PERIOD) h.update(p.subarray(0, Math.min(PATTERN_PERIOD, bytes - off)));
  return h.digest('hex');
}

/**
 * Write `bytes` of the pattern to a writable with backpressure, then end it.
 * Works for node:net sockets and wirestack's node-compatible sockets.
 */
export function writePattern(sock: { write(b: Uint8Array): boolean; end(): unknown; once(ev: 'drain', f: () => void): unknown },
  bytes: number, chunk = 256 << 10): void {
  const p = patternPeriod();
  let off = 0;
  const pump = (): void => {
    while (off < bytes) {
      const start = off % PATTERN_PERIOD;
      const n = Math.min(chunk, bytes - off, PATTERN_PERIOD - start);
      off += n;
      if (!sock.write(p.subarray(start, start + n))) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

function sink(port: number, hash: boolean): void {
  const server = net.createServer((s) => {
    server.close();
    const h = hash ? createHash('sha256') : null;
    let bytes = 0;
    let t0 = -1;
    s.on('data', (d: Buffer) => {
      if (t0 < 0) t0 = performance.now();
      bytes += d.length;
      h?.update(d);
    });
    s.on('end', () => {
      const r: PeerReport = { bytes, sha256: h === null ? null : h.digest('hex'), ms: t0 < 0 ? 0 : performance.now() - t0 };
      const line = JSON.stringify(r);
      console.log(line);
      s.end(`${line}\n`);
    });
    s.on('close', () => process.exit(0));
    s.on('error', fail);
  });
  server.on('error', fail);
  server.listen(port, () => console.log('ready'));
}

function source(port: number, bytes: number): void {
  patternPeriod();
  const server = net.createServer((s) => {
    server.close();
    s.setNoDelay(true);
    const t0 = performance.now();
    s.on('error', fail);
    s.resume();
    s.on('close', () => {
      console.log(JSON.stringify({ bytes, sha256: null, ms: performance.now() - t0 } satisfies PeerReport));
      process.exit(0);
    });
    writePattern(s, bytes);
  });
  server.on('error', fail);
  server.listen(port, () => console.log('ready'));
}

function send(host: string, port: number, bytes: number): void {
  patternPeriod();
  const t0 = performance.now();
  const s = net.connect({ host, port }, () => writePattern(s, bytes));
  let reply = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => { reply += d; });
  s.on('end', () => {
    const far = JSON.parse(reply.trim()) as PeerReport;
    console.log(JSON.stringify({ ...far, ms: performance.now() - t0 }));
    process.exit(0);
  });
  s.on('error', fail);
}

function fail(err: Error): void {
  console.error(`tcp-peer: ${err.message}`);
  process.exit(1);
}

function main(argv: string[]): void {
  const limit = Number(process.env.WST_PEER_TIMEOUT_MS ?? 120_000);
  setTimeout(() => fail(new Error(`gave up after ${limit} ms`)), limit).unref();
  const [mode, ...rest] = argv;
  const num = (s: string | undefined, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) fail(new Error(`bad ${what} '${String(s)}'`));
    return n;
  };
  if (mode === 'sink') sink(num(rest[0], 'port'), !rest.includes('--no-hash'));
  else if (mode === 'source') source(num(rest[0], 'port'), num(rest[1], 'byte count'));
  else if (mode === 'send') send(rest[0], num(rest[1], 'port'), num(rest[2], 'byte count'));
  else fail(new Error('usage: tcp-peer sink PORT [--no-hash] | source PORT BYTES | send HOST PORT BYTES'));
}

/** Path of this script (compiled) for spawning. */
export const TCP_PEER_SCRIPT = fileURLToPath(import.meta.url);

// `node --test dist/test/` also loads this file, with no arguments: then it is only a module.
if (process.argv[1] === TCP_PEER_SCRIPT && process.argv.length > 2) main(process.argv.slice(2));
