/**
 * Pieces shared by the benchmarks that run a stack on a TAP device against
 * Linux in a namespace (bench/tap.ts, bench/loss.ts): command-line numbers,
 * `ip`, socat peers inside the namespace, and a sender that writes 1 MiB
 * blocks with backpressure until the peer closes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';

/** `--name N` from the command line, or `def`. */
export function numberOption(name: string, def: number): number {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** Run `ip ARGS` (10 s bound), output discarded; throws on failure. */
export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

export interface SocatPeer {
  child: ChildProcess;
  /** Resolves once socat listens (at once for a client), rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** Start socat in namespace `ns`, killed (SIGKILL) after `ms`. */
export function socatIn(ns: string, args: string[], listens: boolean, ms: number): SocatPeer {
  const child = spawn('ip', ['netns', 'exec', ns, 'socat', '-d', '-d', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => { clearTimeout(timer); resolve(code); }));
  const ready = new Promise<void>((resolve, reject) => {
    if (!listens) resolve();
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) resolve();
    });
    void exited.then((code) => reject(new Error(`socat exited ${code}: ${err}`)));
  });
  return { child, ready, exited };
}

/**
 * Write `mib` blocks of 1 MiB (bytes `fill`) to a connected socket, honouring
 * backpressure, then end it; resolves when the socket closes (a socat sink
 * closes after reading our EOF, so everything arrived).
 */
export async function sendBlocks(c: Duplex, mib: number, fill = 0): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    c.once('error', reject);
    c.once('close', () => resolve());
    c.resume();
  });
  const b = Buffer.alloc(1 << 20, fill);
  let left = mib;
  await new Promise<void>((resolve) => {
    const go = (): void => {
      while (left > 0) {
        left--;
        if (!c.write(b)) {
          c.once('drain', go);
          return;
        }
      }
      c.end();
      resolve();
    };
    go();
  });
  await closed;
}
