/**
 * Debian's wireguard-go and wg for interop tests and benchmarks.
 *
 * wireguard-go and wg find a device's control socket at
 * /var/run/wireguard/NAME.sock, a path shared by every network namespace, so
 * each instance runs in its own mount namespace with a tmpfs there:
 * `ip netns exec NS unshare --mount sh -c 'mount tmpfs; exec wireguard-go'`.
 * The exec chain keeps one PID (wireguard-go's), so later commands enter the
 * same namespaces with `nsenter --mount=/proc/PID/ns/mnt --net=...`, and the
 * mount namespace goes away with the process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand, type Netns, type RunOptions, type RunResult } from './netns.js';

/** Why wireguard-go interop cannot run, or null. */
export function wireguardToolsMissing(): string | null {
  const missing = ['wireguard-go', 'wg', 'nsenter', 'unshare'].filter((c) => !haveCommand(c));
  if (missing.length === 0) return null;
  return `missing ${missing.join(', ')}: install the Debian packages wireguard-go wireguard-tools (nsenter/unshare: util-linux)`;
}

/** Run a host command without blocking the event loop; never rejects; SIGKILL after the timeout. */
export function runHost(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => {
      timedOut = true;
      killChild(child);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Like {@link runHost} but throws with the output when the exit code is not 0. */
export async function mustRun(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await runHost(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: ${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

export function killChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Sleep that a test can afford (bounded by the caller's loop). */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A wireguard-go instance inside a namespace this process created. */
export class WireGuardGo {
  private log = '';

  private constructor(readonly ns: Netns, readonly ifname: string, readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => { this.log += s; });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { this.log += s; });
  }

  /** What wireguard-go printed so far (for failure messages). */
  get output(): string {
    return this.log;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('wireguard-go has no PID');
    return this.child.pid;
  }

  /**
   * Start `wireguard-go IFNAME` in `ns` and its own mount namespace; resolves
   * once `wg show IFNAME` answers (at most `timeoutMs`).
   */
  static async start(ns: Netns, ifname: string, timeoutMs = 10_000): Promise<WireGuardGo> {
    const script = 'mkdir -p /var/run/wireguard && mount -t tmpfs wst-wg /var/run/wireguard && WG_PROCESS_FOREGROUND=1 exec wireguard-go "$1"';
    const child = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ifname]);
    const wg = new WireGuardGo(ns, ifname, child);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`wireguard-go exited (${child.exitCode ?? child.signalCode}): ${wg.output}`);
      }
      // Until the exec, /proc/PID/ns/mnt may still be the shell's; `wg show` answers only from wireguard-go.
      const r = await wg.run('wg', ['show', ifname], { timeoutMs: 5000 });
      if (r.code === 0) return wg;
      if (Date.now() > deadline) {
        wg.stop();
        throw new Error(`wireguard-go did not come up in ${timeoutMs} ms: ${wg.output}${r.stderr}`);
      }
      await delay(50);
    }
  }

  /** Run a command in wireguard-go's network and mount namespaces. */
  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return runHost('nsenter', [`--mount=/proc/${this.pid}/ns/mnt`, `--net=/var/run/netns/${this.ns.name}`, cmd, ...args], options);
  }

  /** {@link run}, throwing on a non-zero exit. */
  async must(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
    const r = await this.run(cmd, args, options);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code ?? r.signal}\n${r.stdout}${r.stderr}\n${this.log}`);
    return r.stdout;
  }

  /**
   * `wg setconf IFNAME` with a wg(8) config text. wg fopen()s the file, which
   * fails on Node's stdin (a socket), so it goes through a private temporary
   * file (/tmp is the same in wireguard-go's mount namespace).
   */
  async setconf(text: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'wst-wg-'));
    try {
      const file = join(dir, `${this.ifname}.conf`);
      writeFileSync(file, text, { mode: 0o600 });
      await this.must('wg', ['setconf', this.ifname, file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Give the interface its tunnel address and bring it up. */
  async up(cidr: string): Promise<void> {
    await this.must('ip', ['address', 'add', cidr, 'dev', this.ifname]);
    await this.must('ip', ['link', 'set', this.ifname, 'up']);
  }

  /** Kill wireguard-go by PID (its TUN device and mount namespace go with it). */
  stop(): void {
    killChild(this.child);
  }
}

/** A veth pair; `remove()` deletes it (deleting one end deletes both). */
export interface Veth {
  remove(): void;
}

/**
 * A veth pair with end `a` in the root namespace (or in `nsA`) and end `b` in
 * `nsB`, addressed and up.
 */
export function createVeth(o: { a: string; b: string; aCidr: string; bCidr: string; nsA?: Netns; nsB: Netns }): Veth {
  const ip = (args: string[]): void => {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  };
  const inA = (args: string[]): void => ip(o.nsA === undefined ? args : ['-n', o.nsA.name, ...args]);
  const inB = (args: string[]): void => ip(['-n', o.nsB.name, ...args]);
  ip(['link', 'add', o.a, ...(o.nsA === undefined ? [] : ['netns', o.nsA.name]), 'type', 'veth', 'peer', 'name', o.b, 'netns', o.nsB.name]);
  const remove = (): void => {
    try {
      inA(['link', 'del', o.a]);
    } catch {
      // gone with its namespace
    }
  };
  try {
    inA(['address', 'add', o.aCidr, 'dev', o.a]);
    inA(['link', 'set', o.a, 'up']);
    inB(['address', 'add', o.bCidr, 'dev', o.b]);
    inB(['link', 'set', o.b, 'up']);
  } catch (err) {
    remove();
    throw err;
  }
  return { remove };
}

/** One peer of `wg show IFNAME dump`. */
export interface WgDumpPeer {
  publicKey: string;
  endpoint: string;
  allowedIps: string;
  latestHandshake: number;
  rx: number;
  tx: number;
  keepalive: string;
}

/** Parse `wg show IFNAME dump`: the first line is the interface, then one line per peer. */
export function parseWgDump(text: string): { privateKey: string; publicKey: string; listenPort: number; peers: WgDumpPeer[] } {
  const lines = text.trim().split('\n').map((l) => l.split('\t'));
  if (lines.length === 0 || lines[0].length < 4) throw new Error(`not a wg dump: ${JSON.stringify(text)}`);
  const [privateKey, publicKey, port] = lines[0];
  const peers = lines.slice(1).map((f) => {
    if (f.length < 8) throw new Error(`bad peer line in wg dump: ${f.join('\t')}`);
    return {
      publicKey: f[0], endpoint: f[2], allowedIps: f[3], latestHandshake: Number(f[4]),
      rx: Number(f[5]), tx: Number(f[6]), keepalive: f[7],
    };
  });
  return { privateKey, publicKey, listenPort: Number(port), peers };
}
