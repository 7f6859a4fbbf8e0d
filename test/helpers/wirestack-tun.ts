/**
 * `wirestack up CONFIG --tun --json` as a child process in a network
 * namespace and its own mount namespace with a tmpfs on /var/run/wireguard
 * (so its UAPI socket is private, as wireguard-go's in wireguard-go.ts):
 * `ip netns exec NS unshare --mount sh -c '...; exec node wirestack.js up'`.
 * The exec chain keeps one PID (node's), so `run` enters the same
 * namespaces with nsenter.
 */
import type { Netns, RunOptions, RunResult } from './netns.js';
import { CliChild, WIRESTACK_BIN } from './wirestack-up.js';
import { runHost } from './wireguard-go.js';

export class TunDaemon extends CliChild {
  private constructor(readonly ns: Netns, readonly ifname: string, child: CliChild['child']) {
    super(child);
  }

  /** Start the daemon in `ns`; resolves once it printed its `up` event (at most `ms`). */
  static async start(ns: Netns, file: string, ifname: string, extra: string[] = [], ms = 60_000): Promise<TunDaemon> {
    const script = 'mkdir -p /var/run/wireguard && mount -t tmpfs wst-wg /var/run/wireguard && exec "$@"';
    const child = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh',
      process.execPath, WIRESTACK_BIN, 'up', file, '--tun', '--json', '--name', ifname, ...extra]);
    const d = new TunDaemon(ns, ifname, child);
    await d.wait((e) => e.event === 'up', ms, `wirestack up --tun ${ifname}`);
    return d;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('no PID');
    return this.child.pid;
  }

  /** Run a command in the daemon's network and mount namespaces (for wg(8) and its UAPI socket). */
  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return runHost('nsenter', [`--mount=/proc/${this.pid}/ns/mnt`, `--net=/var/run/netns/${this.ns.name}`, cmd, ...args], options);
  }

  /** A raw UAPI `get=1` through the daemon's socket (works for the fips suite too, which wg(8) cannot print). */
  async uapiGet(): Promise<Map<string, string[]>> {
    const r = await this.run('socat', ['-t', '2', '-', `UNIX-CONNECT:/var/run/wireguard/${this.ifname}.sock`], { input: 'get=1\n\n', timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`UAPI get failed: ${r.stderr}`);
    const out = new Map<string, string[]>();
    for (const line of r.stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const k = line.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
    }
    return out;
  }

  /** SIGTERM by PID; resolves with the exit code (SIGKILL after `ms`). */
  async stop(ms = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.kill(), ms);
    const r = await this.exited;
    clearTimeout(timer);
    return r.code;
  }
}

/**
 * What a stopped daemon may have left in `ns`: its device, routes through
 * it, policy rules beyond the three defaults. Empty when clean.
 */
export async function leftovers(ns: Netns, ifname: string): Promise<string[]> {
  const found: string[] = [];
  const link = await ns.run('ip', ['link', 'show', 'dev', ifname]);
  if (link.code === 0) found.push(`device: ${link.stdout.trim()}`);
  const routes = await ns.run('ip', ['-4', 'route', 'show', 'table', 'all']);
  for (const l of routes.stdout.split('\n')) if (l.includes(`dev ${ifname}`)) found.push(`route: ${l}`);
  const rules = await ns.run('ip', ['-4', 'rule', 'show']);
  for (const l of rules.stdout.split('\n')) {
    if (l.trim() !== '' && !/^(0|32766|32767):\s+from all lookup (local|main|default)\s*$/.test(l.trim())) found.push(`rule: ${l}`);
  }
  return found;
}
