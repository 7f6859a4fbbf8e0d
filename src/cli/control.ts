/**
 * Controlling a running `wirestack up` from another process, as `wg` and
 * `wg-quick down` do: `wirestack show [NAME]` reads the UAPI control socket
 * (`RUN_DIR/NAME.sock`, the cross-platform protocol's `get=1`) and prints
 * what `wg show` prints; `wirestack down NAME` stops the process that owns
 * it, found through the pid file `up` writes beside its socket
 * (`RUN_DIR/NAME.pid`). The run directory is /var/run/wireguard for root
 * (where wg(8) looks) and a per-user directory otherwise, so control works
 * without root.
 */
import * as net from 'node:net';
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../wireguard/crypto/index.js';
import { parseFlags, UsageError } from './args.js';

/** The default run directory: /var/run/wireguard as root, `$XDG_RUNTIME_DIR/wireguard` or `/tmp/wirestack-UID` otherwise. */
export function defaultRunDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (uid === 0) return '/var/run/wireguard';
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'wireguard');
  return join(tmpdir(), `wirestack-${uid}`);
}

/** Path of the pid file `up` writes for interface `name`. */
export function pidFile(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}

/** Send one UAPI request and return the reply (up to the blank line). */
export function uapiRequest(path: string, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let reply = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(request));
    s.on('data', (d: string) => {
      reply += d;
      if (reply.endsWith('\n\n')) {
        clearTimeout(timer);
        s.end();
        resolve(reply);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? 'no such socket (is the interface up? see --run-dir)'
        : e.code === 'ECONNREFUSED' ? 'nobody listens (a stale socket)' : e.message;
      reject(Object.assign(new Error(`${path}: ${why}`), { code: e.code }));
    });
    s.on('end', () => {
      clearTimeout(timer);
      if (!reply.endsWith('\n\n')) reject(new Error(`${path}: the reply ended early`));
    });
  });
}

interface ShownPeer {
  publicKey: string;
  presharedKey: boolean;
  endpoint: string | null;
  allowedIps: string[];
  handshakeSec: number;
  rx: number;
  tx: number;
  keepalive: number;
}

interface ShownDevice {
  publicKey: string | null;
  listenPort: number;
  fwmark: number;
  peers: ShownPeer[];
}

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** Parse a `get=1` reply; throws when it carries a non-zero errno. */
export function parseGetReply(reply: string): ShownDevice {
  const dev: ShownDevice = { publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
  let privateHex: string | null = null;
  let peer: ShownPeer | null = null;
  for (const line of reply.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = { publicKey: hexToBase64(value), presharedKey: false, endpoint: null, allowedIps: [], handshakeSec: 0, rx: 0, tx: 0, keepalive: 0 };
      dev.peers.push(peer);
      continue;
    }
    if (key === 'errno') {
      if (value !== '0') throw new Error(`the device answered errno=${value}`);
      continue;
    }
    if (peer === null) {
      if (key === 'private_key') privateHex = value;
      else if (key === 'listen_port') dev.listenPort = Number(value);
      else if (key === 'fwmark') dev.fwmark = Number(value);
      continue;
    }
    switch (key) {
      case 'preshared_key': peer.presharedKey = !/^0+$/.test(value); break;
      case 'endpoint': peer.endpoint = value; break;
      case 'allowed_ip': peer.allowedIps.push(value); break;
      case 'last_handshake_time_sec': peer.handshakeSec = Number(value); break;
      case 'rx_bytes': peer.rx = Number(value); break;
      case 'tx_bytes': peer.tx = Number(value); break;
      case 'persistent_keepalive_interval': peer.keepalive = Number(value); break;
      default: break;
    }
  }
  if (privateHex !== null && !/^0+$/.test(privateHex)) {
    // Private keys of both suites are 32 bytes; a peer's 65-byte key says fips (P-256).
    const suite = getSuite(dev.peers.some((p) => Buffer.from(p.publicKey, 'base64').length === 65) ? 'fips' : 'standard');
    dev.publicKey = encodeKey(suite.publicKey(Buffer.from(privateHex, 'hex')));
  }
  return dev;
}

/** wg(8)'s byte counts: B, then KiB/MiB/GiB/TiB with two decimals. */
function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

/** wg(8)'s durations: "1 minute, 3 seconds". */
function duration(sec: number): string {
  const parts: string[] = [];
  const add = (n: number, unit: string): void => { if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`); };
  add(Math.floor(sec / (365 * 86400)), 'year');
  add(Math.floor(sec / 86400) % 365, 'day');
  add(Math.floor(sec / 3600) % 24, 'hour');
  add(Math.floor(sec / 60) % 60, 'minute');
  add(sec % 60, 'second');
  return parts.join(', ');
}

/** The text `wg show NAME` prints (without colours), peers by latest handshake first as wg sorts them. */
export function formatShow(name: string, dev: ShownDevice, nowSec = Math.floor(Date.now() / 1000)): string {
  const out: string[] = [`interface: ${name}`];
  if (dev.publicKey !== null) {
    out.push(`  public key: ${dev.publicKey}`, '  private key: (hidden)');
  }
  if (dev.listenPort !== 0) out.push(`  listening port: ${dev.listenPort}`);
  if (dev.fwmark !== 0) out.push(`  fwmark: 0x${dev.fwmark.toString(16)}`);
  const peers = [...dev.peers].sort((a, b) => b.handshakeSec - a.handshakeSec);
  for (const p of peers) {
    out.push('', `peer: ${p.publicKey}`);
    if (p.presharedKey) out.push('  preshared key: (hidden)');
    if (p.endpoint !== null) out.push(`  endpoint: ${p.endpoint}`);
    out.push(`  allowed ips: ${p.allowedIps.length > 0 ? p.allowedIps.join(', ') : '(none)'}`);
    if (p.handshakeSec > 0) {
      const ago = nowSec - p.handshakeSec;
      out.push(`  latest handshake: ${ago <= 0 ? 'Now' : `${duration(ago)} ago`}`);
    }
    if (p.rx > 0 || p.tx > 0) out.push(`  transfer: ${bytes(p.rx)} received, ${bytes(p.tx)} sent`);
    if (p.keepalive > 0) out.push(`  persistent keepalive: every ${duration(p.keepalive)}`);
  }
  return out.join('\n');
}

/** Names of the interfaces with a socket in `runDir`, sorted. */
function interfaces(runDir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${runDir}: ${(e as Error).message}`);
  }
  return entries.filter((f) => f.endsWith('.sock')).map((f) => f.slice(0, -5)).sort();
}

/** `wirestack show [NAME] [--run-dir DIR]`. Resolves to the exit code. */
export async function runShow(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const p = parseFlags(argv, { values: ['run-dir'], booleans: [] });
  if (p.positional.length > 1) throw new UsageError(`unexpected argument '${p.positional[1]}'`);
  const runDir = p.values['run-dir'] ?? defaultRunDir();
  const names = p.positional.length === 1 ? p.positional : interfaces(runDir);
  let code = 0;
  const blocks: string[] = [];
  for (const name of names) {
    try {
      blocks.push(formatShow(name, parseGetReply(await uapiRequest(join(runDir, `${name}.sock`), 'get=1\n\n'))));
    } catch (e) {
      err(`wirestack show: ${name}: ${(e as Error).message}`);
      code = 1;
    }
  }
  if (blocks.length > 0) out(blocks.join('\n\n'));
  return code;
}

/** Whether process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `wirestack down NAME [--run-dir DIR]`: SIGTERM to the `up` that owns NAME, and wait (10 s at most) for it to exit. */
export async function runDown(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const p = parseFlags(argv, { values: ['run-dir'], booleans: [] });
  if (p.positional.length !== 1) throw new UsageError('down needs exactly one interface NAME');
  const name = p.positional[0];
  const runDir = p.values['run-dir'] ?? defaultRunDir();
  const file = pidFile(runDir, name);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file: is the interface up (see --run-dir)?' : (e as Error).message;
    err(`wirestack down: ${name}: ${file}: ${why}`);
    return 1;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) {
    err(`wirestack down: ${name}: ${file} names no running process (${String(pid)}); a stale file`);
    return 1;
  }
  // The socket must be a live device of that name: a pid file alone could be stale with a reused pid.
  try {
    await uapiRequest(join(runDir, `${name}.sock`), 'get=1\n\n');
  } catch (e) {
    err(`wirestack down: ${name}: ${(e as Error).message}`);
    return 1;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    err(`wirestack down: ${name}: process ${pid} did not exit within 10 s of SIGTERM`);
    return 1;
  }
  out(`${name} down (process ${pid})`);
  return 0;
}

/** True when `file` can be read by users other than its owner and group (as wg(8) warns: "world accessible"). */
export function worldAccessible(file: string): boolean {
  try {
    return (statSync(file).mode & 0o007) !== 0;
  } catch {
    return false;
  }
}

/** Remove our pid file (unless another process has written its own there meanwhile). */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // already gone
  }
}
