/**
 * The lab of the `wirestack up --tun` interop tests (wireguard-tun*.test.ts):
 * a scratch folder with a random file to fetch and its hash, network
 * namespaces, veth pairs, wireguard-go instances, an HTTP server, wirestack
 * TUN daemons. Everything it makes it also removes in {@link TunLab.teardown}
 * (every step even when one fails): daemons and wireguard-go killed by PID,
 * veths and namespaces deleted, the folder removed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Netns, haveCommand, missingCapability } from './netns.js';
import { WireGuardGo, createVeth, wireguardToolsMissing, type Veth } from './wireguard-go.js';
import { TunDaemon } from './wirestack-tun.js';
import { NS_FILE_SERVER, sha256File, waitForOutput } from './tun-traffic.js';
import { teardown } from './teardown.js';

/**
 * Why these tests cannot run here (root, /dev/net/tun, wireguard-go and
 * wireguard-tools, curl, socat, ping), or null.
 */
export function tunLabMissing(): string | null {
  return missingCapability() ?? wireguardToolsMissing()
    ?? (['curl', 'socat', 'ping'].filter((c) => !haveCommand(c))
      .map((c) => `${c} missing (Debian package ${c === 'ping' ? 'iputils-ping' : c})`)[0] ?? null);
}

export class TunLab {
  private readonly namespaces: Netns[] = [];
  private readonly veths: Veth[] = [];
  private readonly gos: WireGuardGo[] = [];
  private readonly daemons: TunDaemon[] = [];

  /** `dir` holds `big.bin`, `bigBytes` random bytes with SHA-256 `bigHash`. */
  private constructor(readonly dir: string, readonly bigHash: string) {}

  /** A lab with a fresh folder (named from `prefix`) holding `big.bin` of `bigBytes` random bytes. */
  static async create(prefix: string, bigBytes: number): Promise<TunLab> {
    const dir = fs.mkdtempSync(join(os.tmpdir(), prefix));
    try {
      fs.writeFileSync(join(dir, 'big.bin'), randomBytes(bigBytes));
      return new TunLab(dir, await sha256File(join(dir, 'big.bin')));
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A new network namespace, removed at teardown. */
  netns(): Netns {
    const ns = Netns.create();
    this.namespaces.push(ns);
    return ns;
  }

  /** A veth pair between two namespaces, addressed and up (see createVeth). */
  veth(o: Parameters<typeof createVeth>[0]): Veth {
    const v = createVeth(o);
    this.veths.push(v);
    return v;
  }

  /**
   * wireguard-go as `ifname` in `ns`, configured with the wg(8) config
   * `lines`, up with `addresses` (the first with `up`, the others added
   * after it, IPv6 ones with `ip -6`).
   */
  async wireguardGo(ns: Netns, ifname: string, lines: string[], addresses: string[]): Promise<WireGuardGo> {
    const go = await WireGuardGo.start(ns, ifname);
    this.gos.push(go);
    await go.setconf([...lines, ''].join('\n'));
    await go.up(addresses[0]);
    for (const cidr of addresses.slice(1)) {
      await go.must('ip', [...(cidr.includes(':') ? ['-6'] : []), 'address', 'add', cidr, 'dev', ifname]);
    }
    return go;
  }

  /** An HTTP server in `ns` on `address`:`port` serving the lab's folder (killed by PID when its namespace is removed). */
  async httpServer(ns: Netns, address: string, port: number): Promise<void> {
    const httpd = ns.spawn(process.execPath, ['-e', NS_FILE_SERVER, this.dir, address, String(port)]);
    await waitForOutput(httpd, /^ready$/m, 20_000, `HTTP server in ${ns.name}`);
  }

  /** Write a config (mode 0600, it holds a private key) into the lab's folder; returns its path. */
  config(file: string, text: string): string {
    const path = join(this.dir, file);
    fs.writeFileSync(path, text, { mode: 0o600 });
    return path;
  }

  /** `wirestack up FILE --tun --name IFNAME` in `ns` (see TunDaemon.start), killed at teardown. */
  async tun(ns: Netns, file: string, ifname: string, extra: string[] = []): Promise<TunDaemon> {
    const d = await TunDaemon.start(ns, file, ifname, extra);
    this.daemons.push(d);
    return d;
  }

  /** Kill the daemons and wireguard-go instances, delete veths and namespaces, remove the folder. */
  teardown(): void {
    teardown(
      ...this.daemons.map((d) => () => d.kill()),
      ...this.gos.map((g) => () => g.stop()),
      ...this.veths.map((v) => () => v.remove()),
      ...this.namespaces.map((ns) => () => ns.remove()),
      () => fs.rmSync(this.dir, { recursive: true, force: true }),
    );
  }
}

/** Run a command in a daemon's namespaces (for wg(8)); throws on a non-zero exit. */
export async function mustIn(d: TunDaemon, cmd: string, args: string[]): Promise<string> {
  const r = await d.run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
