/** `wirestack up --json` (or any subcommand with --json) as a child process, and free ports, for the CLI and interop tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/helpers -> repo root
export const WIRESTACK_BIN = join(REPO, 'bin/wirestack.js');

/** A free port on `host` (bound then released). */
export function freePort(type: 'udp' | 'tcp', host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    if (type === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, host, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    } else {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, host, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    }
  });
}

export interface Event {
  event: string;
  [k: string]: unknown;
}

/** A running `wirestack SUBCOMMAND ... --json` child and the events it printed. */
export class CliChild {
  readonly events: Event[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as Event);
        } catch {
          this.events.push({ event: 'non-json', line });
        }
        this.wake();
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      resolve({ code, signal });
      this.wake();
    }));
  }

  /** Start `wirestack SUBCOMMAND ARGS... --json`. */
  static run(subcommand: string, args: string[]): CliChild {
    return new CliChild(spawn(process.execPath, [WIRESTACK_BIN, subcommand, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first event matching `pred`, waiting at most `ms`. */
  async wait(pred: (e: Event) => boolean, ms: number, what: string): Promise<Event> {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = this.events.find(pred);
      if (e !== undefined) return e;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${what}: wirestack exited (${this.child.exitCode ?? this.child.signalCode}); stderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${ms} ms; events ${JSON.stringify(this.events)}; stderr ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** SIGKILL by PID if still running. */
  kill(): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** `wirestack up --json` as a child. */
export class Up extends CliChild {
  /** Start `wirestack up --json ARGS...`. */
  static start(args: string[]): Up {
    return new Up(spawn(process.execPath, [WIRESTACK_BIN, 'up', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }
}
