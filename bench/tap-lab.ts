/**
 * Pieces shared by the benchmarks that run a stack on a TAP device against
 * Linux in a namespace (bench/tap.ts, bench/loss.ts): command-line numbers,
 * `ip`, socat peers inside the namespace, and a sender that writes 1 MiB
 * blocks with backpressure until the peer closes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A command started by a {@link Launcher}. */
export interface LaunchedJob {
  /** Resolves with the exit code (137 when the time bound killed it). */
  exited: Promise<number>;
  /** What the command wrote so far to stdout / stderr. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches `re` (e.g. socat's "listening on"); rejects if the job exits first or after `ms`. */
  stderrMatches(re: RegExp, ms: number): Promise<void>;
}

/**
 * Starts a benchmark's commands (peers, iperf3, ping) from one shell
 * started at the beginning, so the measuring process does not fork between
 * or during its measurements. A fork write-protects every page of the
 * parent, and the parent's next write to each page faults (copy on write,
 * even once the child has exec'd): with a socat peer spawned before each
 * transfer, a warm 51 MiB transfer took ~11,000 page faults in the TAP
 * rings, the stack's buffers and the heap, and ~3x the CPU per GB of the
 * same transfer started through this shell (~600-1,500 faults). A real
 * application does not fork per connection; the benchmark measured its own
 * harness.
 */
export class Launcher {
  private readonly sh: ChildProcess;
  private readonly dir: string;
  private next = 0;
  private readonly done = new Map<number, (code: number) => void>();
  private closed = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'wirestack-launcher-'));
    this.sh = spawn('bash', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    this.sh.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = /^(\d+) (\d+)$/.exec(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (m === null) continue;
        const cb = this.done.get(Number(m[1]));
        this.done.delete(Number(m[1]));
        cb?.(Number(m[2]));
      }
    });
    // The shell gone, no job will report: fail them rather than wait forever.
    this.sh.once('close', () => {
      for (const cb of this.done.values()) cb(-1);
      this.done.clear();
    });
  }

  /** Run `args` (a command and its arguments, no shell syntax), killed (SIGKILL) after `ms`. */
  run(args: readonly string[], ms: number): LaunchedJob {
    if (this.closed) throw new Error('launcher closed');
    const id = this.next++;
    const out = join(this.dir, `${id}.out`);
    const err = join(this.dir, `${id}.err`);
    const q = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
    const exited = new Promise<number>((resolve) => this.done.set(id, resolve));
    this.sh.stdin?.write(`( timeout -s KILL ${Math.ceil(ms / 1000)} ${args.map(q).join(' ')} >${q(out)} 2>${q(err)} </dev/null; echo "${id} $?" ) &\n`);
    const read = (f: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    let ended = false;
    void exited.then(() => { ended = true; });
    return {
      exited,
      stdout: () => read(out),
      stderr: () => read(err),
      stderrMatches: (re: RegExp, wait: number) => new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const check = (): void => {
          if (re.test(read(err))) resolve();
          else if (ended) reject(new Error(`${args[0]} exited: ${read(err).slice(-300)}`));
          else if (Date.now() - t0 > wait) reject(new Error(`${args[0]}: no ${re} within ${wait} ms`));
          else setTimeout(check, 5);
        };
        check();
      }),
    };
  }

  /** Like {@link socatIn}, through this launcher. */
  socatIn(ns: string, args: string[], listens: boolean, ms: number): { ready: Promise<void>; exited: Promise<number> } {
    const job = this.run(['ip', 'netns', 'exec', ns, 'socat', '-d', '-d', ...args], ms);
    return { ready: listens ? job.stderrMatches(/listening on/, ms) : Promise.resolve(), exited: job.exited };
  }

  /** End the shell (running jobs keep their time bound) and remove its files. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sh.stdin?.end();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
