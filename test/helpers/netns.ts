/**
 * Throw-away Linux network namespaces for tests that need real peers.
 *
 * Every namespace gets a unique name (wst-<pid>-<n>); processes started in it
 * are tracked and killed by PID on remove(). Commands that talk to a stack
 * running in this process must use the asynchronous `run`/`spawn`: a
 * synchronous child blocks the event loop the stack runs on.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

let counter = 0;

/** Why namespace + TAP tests cannot run here, or null when they can. */
export function missingCapability(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root: needs CAP_NET_ADMIN (run as root)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun missing (no tun module / device node)';
  }
  return null;
}

/** True when `cmd` is found on PATH. */
export function haveCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Kill (SIGKILL) after this many ms. Default 30 000. */
  timeoutMs?: number;
  /** Bytes written to the child's stdin, which is then closed. */
  input?: string | Uint8Array;
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();
  private removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** `ip netns add wst-<pid>-<n>` and bring its loopback up. */
  static create(): Netns {
    const name = `wst-${process.pid}-${counter++}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    const ns = new Netns(name);
    try {
      ns.execSync('ip', ['link', 'set', 'dev', 'lo', 'up']);
    } catch (err) {
      ns.remove();
      throw err;
    }
    return ns;
  }

  /** Run synchronously inside the namespace (blocks the event loop: not for talking to an in-process stack). */
  execSync(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
    return execFileSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
  }

  /**
   * Start `cmd args...` inside the namespace. The child is tracked and killed
   * by PID on {@link remove}. `ip netns exec` execs the command, so the PID is
   * the command's own.
   */
  spawn(cmd: string, args: readonly string[]): ChildProcess {
    if (this.removed) throw new Error(`namespace ${this.name} was removed`);
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** Run to completion without blocking the event loop; resolves (never rejects) with the outcome. */
  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve) => {
      const child = this.spawn(cmd, args);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
      child.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      const timer = setTimeout(() => {
        timedOut = true;
        killPid(child);
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), timedOut });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  }

  /** Kill every tracked child by PID, then delete the namespace. Idempotent; never throws. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    for (const child of this.children) killPid(child);
    this.children.clear();
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore', timeout: 10_000 });
    } catch (err) {
      console.error(`netns: could not delete ${this.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function killPid(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
