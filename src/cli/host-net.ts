/**
 * The host side of `wirestack up --tun`, done as wg-quick(8) does it: `ip`
 * (iproute2) through execFile for addresses, MTU, routes and rules,
 * `resolvconf` for DNS, and the Pre/Post hooks through bash with `%i`
 * replaced. Every change is recorded with its undo, so a failed start rolls
 * back what it added and a stop removes all of it, in reverse order.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const COMMAND_TIMEOUT_MS = 15_000;

/** A host command that failed; `message` is one line naming the command and its complaint, `detail` the complaint alone. */
export class HostCommandError extends Error {
  constructor(message: string, readonly detail: string = message) {
    super(message);
  }
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Run `cmd args` without a shell; rejects with a one-line {@link HostCommandError}. */
export function runCommand(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve({ stdout, stderr });
        return;
      }
      const detail = firstLine(stderr) || firstLine(stdout) || err.message;
      reject(new HostCommandError(`${[cmd, ...args].join(' ')}: ${detail}`, detail));
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).filter((l) => l !== '').join('; ');
}

/** True when `cmd` is an executable on PATH. */
export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** wg-quick's host keys of [Interface], which parseWgQuick accepts but the stack mode ignores. */
export interface HostKeys {
  /** FwMark: a number, or 0 for off / absent. */
  fwmark: number;
  /** Table: 'auto' (absent), 'off', or a table name/number. */
  table: string;
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
}

const HOOKS = { preup: 'preUp', postup: 'postUp', predown: 'preDown', postdown: 'postDown' } as const;

/**
 * Read the host keys from a wg-quick file's text (already validated by
 * parseWgQuick). Comments are stripped at '#' as wg-quick strips them.
 */
export function parseHostKeys(text: string): HostKeys {
  const out: HostKeys = { fwmark: 0, table: 'auto', preUp: [], postUp: [], preDown: [], postDown: [] };
  let inInterface = false;
  for (const raw of text.split(/\r?\n/)) {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') continue;
    if (line.startsWith('[')) {
      inInterface = /^\[\s*interface\s*\]$/i.test(line);
      continue;
    }
    const eq = line.indexOf('=');
    if (!inInterface || eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === 'fwmark') {
      // wg(8): "off", decimal or 0x hexadecimal.
      const n = value.toLowerCase() === 'off' ? 0 : Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`FwMark must be off or a 32-bit number, got "${value}"`);
      out.fwmark = n;
    } else if (key === 'table') {
      if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new RangeError(`Table must be off, auto, or a routing table, got "${value}"`);
      out.table = value.toLowerCase() === 'off' || value.toLowerCase() === 'auto' ? value.toLowerCase() : value;
    } else if (key in HOOKS) {
      out[HOOKS[key as keyof typeof HOOKS]].push(value);
    }
  }
  return out;
}

/** Warnings of parseWgQuick about host keys; `--tun` applies those keys, so it drops these warnings. */
export const HOST_KEY_WARNING = /^line \d+: (FwMark|Table|PreUp|PostUp|PreDown|PostDown) is ignored by wirestack$/;

interface Undo {
  what: string;
  undo: () => Promise<void> | void;
}

/** Changes to the host, each with its undo. */
export class HostChanges {
  private readonly undos: Undo[] = [];

  constructor(private readonly log: (command: string) => void) {}

  /** Run `ip ARGS` (logged as wg-quick logs it: `[#] ip ...`). */
  async ip(args: readonly string[]): Promise<string> {
    this.log(`ip ${args.join(' ')}`);
    return (await runCommand('ip', args)).stdout;
  }

  /** `ip ARGS` without logging (queries). Empty output on failure. */
  async query(args: readonly string[]): Promise<string> {
    try {
      return (await runCommand('ip', args)).stdout;
    } catch {
      return '';
    }
  }

  /** Run a hook through bash (sh without bash) with %i replaced, as wg-quick's execute_hooks does. */
  async hook(command: string, ifname: string, out: (line: string) => void): Promise<void> {
    const cmd = command.replaceAll('%i', ifname);
    this.log(cmd);
    const r = await runCommand(onPath('bash') ? 'bash' : 'sh', ['-c', cmd]);
    for (const l of `${r.stdout}${r.stderr}`.split('\n')) if (l.trim() !== '') out(l);
  }

  /** Record how to undo something just done. */
  added(what: string, undo: () => Promise<void> | void): void {
    this.undos.push({ what, undo });
  }

  /** Undo everything, newest first; failures are reported and the rest still undone. */
  async undoAll(report: (line: string) => void): Promise<void> {
    while (this.undos.length > 0) {
      const u = this.undos.pop() as Undo;
      try {
        await u.undo();
      } catch (e) {
        report(`removing ${u.what}: ${(e as Error).message}`);
      }
    }
  }
}

/** The MTU of a link, from `ip link show dev NAME` (0 when unknown). */
async function linkMtu(h: HostChanges, dev: string): Promise<number> {
  const m = / mtu (\d+)/.exec(await h.query(['link', 'show', 'dev', dev]));
  return m === null ? 0 : Number(m[1]);
}

/** The MTU of a route line: its own `mtu`, else its device's. */
async function routeMtu(h: HostChanges, route: string): Promise<number> {
  const own = /\bmtu (\d+)/.exec(route);
  if (own !== null) return Number(own[1]);
  const dev = /\bdev (\S+)/.exec(route);
  return dev === null ? 0 : linkMtu(h, dev[1]);
}

/**
 * The tunnel MTU as wg-quick's set_mtu_up computes it without `MTU`: the
 * largest MTU of the routes to the peers' endpoints, else of the default
 * route, else 1500; minus 80 (the IPv6 outer header's 40 + UDP 8 +
 * WireGuard's 32, so one value fits both outer families).
 */
export async function pathMtu(h: HostChanges, endpoints: readonly string[]): Promise<number> {
  let mtu = 0;
  for (const e of endpoints) {
    const m = await routeMtu(h, await h.query(['route', 'get', e]));
    if (m > mtu) mtu = m;
  }
  if (mtu === 0) {
    const first = (await h.query(['-4', 'route', 'show', 'default'])).split('\n')[0] ?? '';
    if (first !== '') mtu = await routeMtu(h, first);
  }
  return (mtu > 0 ? mtu : 1500) - 80;
}

/** wg-quick's table search for a default route: the first of 51820, 51821... with no routes. */
export async function freeTable(h: HostChanges): Promise<number> {
  for (let t = 51820; t < 51820 + 1000; t++) {
    const v4 = await h.query(['-4', 'route', 'show', 'table', String(t)]);
    const v6 = await h.query(['-6', 'route', 'show', 'table', String(t)]);
    if (v4.trim() === '' && v6.trim() === '') return t;
  }
  throw new HostCommandError('no free routing table in 51820..52819 for the default route');
}

const SRC_VALID_MARK = '/proc/sys/net/ipv4/conf/all/src_valid_mark';

/**
 * wg-quick's add_default for 0.0.0.0/0: the route goes to table `table`
 * (the fwmark), used by every packet not marked `table` (the tunnel's own
 * datagrams carry that mark, so they take the main table); the main table
 * still wins for anything more specific than its default route
 * (suppress_prefixlength 0). src_valid_mark lets reverse-path filtering see
 * the mark. Rules are removed by the undo; the route goes with the device.
 */
export async function addDefaultRoute(h: HostChanges, cidr: string, ifname: string, table: number): Promise<void> {
  // ::/0 the same way with `ip -6` (wg-quick's add_default picks the family from the address).
  const f = cidr.includes(':') ? '-6' : '-4';
  const notMark = [f, 'rule', 'add', 'not', 'fwmark', String(table), 'table', String(table)];
  await h.ip(notMark);
  h.added(`${f} rule not fwmark ${table} table ${table}`, async () => {
    await h.ip([f, 'rule', 'delete', 'not', 'fwmark', String(table), 'table', String(table)]);
  });
  await h.ip([f, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0']);
  h.added(`${f} rule table main suppress_prefixlength 0`, async () => {
    await h.ip([f, 'rule', 'delete', 'table', 'main', 'suppress_prefixlength', '0']);
  });
  await h.ip([f, 'route', 'add', cidr, 'dev', ifname, 'table', String(table)]);
  if (f === '-6') return;
  try {
    if (readFileSync(SRC_VALID_MARK, 'utf8').trim() !== '1') writeFileSync(SRC_VALID_MARK, '1');
  } catch {
    // Not fatal: only strict reverse-path filtering needs it.
  }
}

/** `resolvconf -a tun.NAME -m 0 -x` with the servers, as wg-quick's set_dns; false when resolvconf is missing. */
export async function setDns(h: HostChanges, ifname: string, servers: readonly string[], log: (command: string) => void): Promise<boolean> {
  if (!onPath('resolvconf')) return false;
  const text = servers.map((s) => `nameserver ${s}\n`).join('');
  log(`resolvconf -a tun.${ifname} -m 0 -x`);
  await runCommand('resolvconf', ['-a', `tun.${ifname}`, '-m', '0', '-x'], text);
  h.added(`DNS of ${ifname} (resolvconf)`, async () => {
    log(`resolvconf -d tun.${ifname} -f`);
    await runCommand('resolvconf', ['-d', `tun.${ifname}`, '-f']);
  });
  return true;
}
