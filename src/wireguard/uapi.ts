/**
 * The cross-platform WireGuard configuration protocol
 * (https://www.wireguard.com/xplatform/): `get=1` and `set=1` text requests
 * over a Unix socket at /var/run/wireguard/<name>.sock, which is where wg(8)
 * looks for userspace implementations before it tries the kernel. With it
 * `wg show`, `wg showconf`, `wg set` and `wg setconf` work on a running
 * wirestack device.
 *
 * The protocol logic is written against {@link UapiTarget} so it can be
 * tested without a device; the device implements that interface.
 *
 * Error replies carry a negative errno (`errno=-22`), as wireguard-go sends
 * them: wg(8) reports `errno = -value`, so this is what makes it print
 * "Invalid argument" instead of "Unknown error -22".
 */
import * as net from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { getSuite } from './crypto/index.js';
import { Errno, StackError } from '../engine/errno.js';
import { parseCidr, formatIpv4, prefixMask, parseIpv4 } from '../wire/ipv4addr.js';
import { formatIp6, maskIp6, parseIp6 } from './ip6-text.js';
import { type WgSuite, PRESHARED_KEY_BYTES, PRIVATE_KEY_BYTES, publicKeyBytes, decodeHexStrict, encodeHex, isAllZero, bytesEqual } from './key-text.js';

export interface UapiPeerState {
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  endpoint: { address: string; port: number } | null;
  /** Seconds, 0 = off. */
  persistentKeepalive: number;
  /** Wall-clock ms since the epoch, 0 = never. */
  lastHandshakeMs: number;
  rxBytes: number;
  txBytes: number;
  allowedIps: Array<{ address: string; prefixLength: number }>;
}

export interface UapiDeviceState {
  privateKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  peers: UapiPeerState[];
}

/** One peer being configured by a `set`. Methods may throw; see {@link UapiTarget}. */
export interface UapiPeerHandle {
  /** null removes the preshared key. */
  setPresharedKey(key: Uint8Array | null): void;
  /** `address` is dotted-quad IPv4. */
  setEndpoint(address: string, port: number): void;
  setPersistentKeepalive(seconds: number): void;
  /** Drop all allowed IPs of this peer (the `addAllowedIp` calls that follow rebuild them). */
  replaceAllowedIps(): void;
  /** `address` is the network address (host bits already cleared). */
  addAllowedIp(address: string, prefixLength: number): void;
}

/**
 * What the UAPI needs from a WireGuard device. Methods may throw: an error
 * with a numeric `errno` or a `code` such as 'EADDRINUSE' becomes that errno
 * in the reply, anything else EINVAL.
 */
export interface UapiTarget {
  readonly suite: WgSuite;
  getState(): UapiDeviceState;
  /** null removes the key. */
  setPrivateKey(key: Uint8Array | null): void;
  /** May throw (e.g. EADDRINUSE). */
  setListenPort(port: number): void;
  setFwmark(mark: number): void;
  removeAllPeers(): void;
  /** The peer with this public key; created unless `updateOnly`; null when absent and updateOnly. */
  peer(publicKey: Uint8Array, updateOnly: boolean): UapiPeerHandle | null;
  /** No-op when there is no such peer. */
  removePeer(publicKey: Uint8Array): void;
}

// Node names errno 95 ENOTSUP (libuv's UV_ENOTSUP) where Linux says EOPNOTSUPP.
const ERRNO_BY_CODE: Record<string, number> = { ...Errno, ENOTSUP: Errno.EOPNOTSUPP };

class UapiError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

/** The positive errno an exception stands for (EINVAL when it names none). */
export function errnoOf(e: unknown): number {
  if (e instanceof UapiError) return e.errno;
  if (typeof e === 'object' && e !== null) {
    const { errno, code } = e as { errno?: unknown; code?: unknown };
    // Node reports errno negated (libuv style); the engine's sysError too.
    if (typeof errno === 'number' && Number.isInteger(errno) && errno !== 0) return Math.abs(errno);
    if (typeof code === 'string' && ERRNO_BY_CODE[code] !== undefined) return ERRNO_BY_CODE[code];
  }
  return Errno.EINVAL;
}

function invalid(message: string): never {
  throw new UapiError(Errno.EINVAL, message);
}

function parseUint(value: string, max: number, key: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > max) invalid(`${key}: not an integer 0..${max}`);
  return Number(value);
}

function parseTrue(value: string, key: string): void {
  if (value !== 'true') invalid(`${key}: only "true" is accepted`);
}

/** `ipv4:port` or `[ipv6]:port` (wireguard-go's form; a scope id `%n` is not accepted). */
function parseEndpoint(value: string): { address: string; port: number } {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    const b = new Uint8Array(16);
    if (close < 0 || value[close + 1] !== ':' || !parseIp6(value.slice(1, close), b, 0)) invalid(`endpoint "${value}" is not [ipv6]:port`);
    const port = parseUint(value.slice(close + 2), 65535, 'endpoint port');
    if (port === 0) invalid('endpoint port 0');
    return { address: formatIp6(b, 0), port };
  }
  const colon = value.indexOf(':');
  const address = colon < 0 ? -1 : parseIpv4(value.slice(0, colon));
  if (address < 0) invalid(`endpoint "${value}" is not ipv4:port`);
  const port = parseUint(value.slice(colon + 1), 65535, 'endpoint port');
  if (port === 0) invalid('endpoint port 0');
  return { address: formatIpv4(address), port };
}

function parseAllowedIp(value: string): { address: string; prefixLength: number } {
  if (!value.includes('/')) invalid(`allowed_ip "${value}" has no prefix length`);
  if (value.includes(':')) {
    const slash = value.indexOf('/');
    const b = new Uint8Array(16);
    if (!parseIp6(value.slice(0, slash), b, 0)) invalid(`allowed_ip "${value}" is not an IPv6 prefix`);
    const len = parseUint(value.slice(slash + 1), 128, 'allowed_ip prefix length');
    maskIp6(b, 0, len);
    return { address: formatIp6(b, 0), prefixLength: len };
  }
  let cidr;
  try {
    cidr = parseCidr(value, 'allowed_ip');
  } catch (e) {
    invalid((e as Error).message);
  }
  return { address: formatIpv4(cidr.address & prefixMask(cidr.prefixLength)), prefixLength: cidr.prefixLength };
}

/** Public key of a private key in the given suite, or null when the key is not usable (e.g. not a P-256 scalar). */
function publicKeyOf(suite: WgSuite, privateKey: Uint8Array): Uint8Array | null {
  try {
    return getSuite(suite).publicKey(privateKey);
  } catch {
    return null;
  }
}

function decimal(n: number): string {
  return Number.isFinite(n) && n > 0 ? BigInt(Math.floor(n)).toString() : '0';
}

function getReply(target: UapiTarget): string {
  const state = target.getState();
  const out: string[] = [];
  if (state.privateKey !== null && !isAllZero(state.privateKey)) out.push(`private_key=${encodeHex(state.privateKey)}`);
  if (state.listenPort !== 0) out.push(`listen_port=${state.listenPort}`);
  if (state.fwmark !== 0) out.push(`fwmark=${state.fwmark >>> 0}`);
  for (const p of state.peers) {
    out.push(`public_key=${encodeHex(p.publicKey)}`);
    out.push(`preshared_key=${encodeHex(p.presharedKey ?? new Uint8Array(PRESHARED_KEY_BYTES))}`);
    out.push('protocol_version=1');
    if (p.endpoint !== null) {
      const a = p.endpoint.address;
      out.push(`endpoint=${a.includes(':') ? `[${a}]` : a}:${p.endpoint.port}`);
    }
    const ms = p.lastHandshakeMs > 0 ? p.lastHandshakeMs : 0;
    const sec = Math.floor(ms / 1000);
    const nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
    out.push(`last_handshake_time_sec=${decimal(sec)}`, `last_handshake_time_nsec=${decimal(nsec)}`);
    out.push(`tx_bytes=${decimal(p.txBytes)}`, `rx_bytes=${decimal(p.rxBytes)}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIps) out.push(`allowed_ip=${a.address}/${a.prefixLength}`);
  }
  out.push('errno=0', '', '');
  return out.join('\n');
}

/**
 * Apply the lines of a `set=1` request in order, like wireguard-go: each
 * line takes effect as it is read, and the first failing line ends the
 * request with its errno (what came before stays applied).
 */
function applySet(target: UapiTarget, lines: string[]): void {
  let inPeer = false;
  let peerKey: Uint8Array | null = null;
  /** null: nothing to apply to (removed, absent with update_only, or the device's own key). */
  let handle: UapiPeerHandle | null = null;
  let ownPublicKey: Uint8Array | null | undefined;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const eq = line.indexOf('=');
    if (eq < 0) throw new UapiError(Errno.EPROTO, `line without "=": ${JSON.stringify(line)}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);

    if (key === 'public_key') {
      const publicKey = decodeHexStrict(value, publicKeyBytes(target.suite));
      if (publicKey === null) invalid(`public_key must be ${publicKeyBytes(target.suite) * 2} hex digits for the ${target.suite} suite`);
      inPeer = true;
      peerKey = publicKey;
      if (ownPublicKey === undefined) {
        const own = target.getState().privateKey;
        ownPublicKey = own === null || isAllZero(own) ? null : publicKeyOf(target.suite, own);
      }
      if (ownPublicKey !== null && bytesEqual(ownPublicKey, publicKey)) {
        // The kernel and wireguard-go ignore a peer that is this device itself.
        handle = null;
        continue;
      }
      // A section that ends in update_only or remove must not create the peer.
      let lookupOnly = false;
      for (let j = i + 1; j < lines.length && !lines[j].startsWith('public_key='); j++) {
        if (lines[j] === 'update_only=true' || lines[j] === 'remove=true') lookupOnly = true;
      }
      handle = target.peer(publicKey, lookupOnly);
      continue;
    }

    if (!inPeer) {
      switch (key) {
        case 'private_key': {
          const k = value === '' ? new Uint8Array(PRIVATE_KEY_BYTES) : decodeHexStrict(value, PRIVATE_KEY_BYTES);
          if (k === null) invalid(`private_key must be ${PRIVATE_KEY_BYTES * 2} hex digits`);
          target.setPrivateKey(isAllZero(k) ? null : k);
          ownPublicKey = undefined;
          break;
        }
        case 'listen_port':
          target.setListenPort(parseUint(value, 65535, key));
          break;
        case 'fwmark':
          target.setFwmark(parseUint(value, 0xffffffff, key));
          break;
        case 'replace_peers':
          parseTrue(value, key);
          target.removeAllPeers();
          break;
        default:
          invalid(`unknown device key ${JSON.stringify(key)}`);
      }
      continue;
    }

    switch (key) {
      case 'update_only':
        parseTrue(value, key);
        break;
      case 'remove':
        parseTrue(value, key);
        if (handle !== null) target.removePeer(peerKey as Uint8Array);
        handle = null;
        break;
      case 'preshared_key': {
        const k = decodeHexStrict(value, PRESHARED_KEY_BYTES);
        if (k === null) invalid(`preshared_key must be ${PRESHARED_KEY_BYTES * 2} hex digits`);
        handle?.setPresharedKey(isAllZero(k) ? null : k);
        break;
      }
      case 'endpoint': {
        const ep = parseEndpoint(value);
        handle?.setEndpoint(ep.address, ep.port);
        break;
      }
      case 'persistent_keepalive_interval':
        handle?.setPersistentKeepalive(parseUint(value, 65535, key));
        break;
      case 'replace_allowed_ips':
        parseTrue(value, key);
        handle?.replaceAllowedIps();
        break;
      case 'allowed_ip': {
        const a = parseAllowedIp(value);
        handle?.addAllowedIp(a.address, a.prefixLength);
        break;
      }
      case 'protocol_version':
        if (value !== '1') invalid(`protocol_version ${JSON.stringify(value)} (only 1 exists)`);
        break;
      default:
        invalid(`unknown peer key ${JSON.stringify(key)}`);
    }
  }
}

function errnoReply(errno: number): string {
  return `errno=${errno === 0 ? 0 : -errno}\n\n`;
}

interface Outcome {
  reply: string;
  /** The request was not a protocol operation: the connection should be closed. */
  close: boolean;
}

function processRequest(target: UapiTarget, request: string): Outcome {
  const nl = request.indexOf('\n');
  const op = nl < 0 ? request : request.slice(0, nl);
  const rest = nl < 0 ? '' : request.slice(nl + 1);
  try {
    if (op === 'get=1') {
      if (rest !== '\n') invalid('a get request is "get=1" and an empty line');
      return { reply: getReply(target), close: false };
    }
    if (op === 'set=1') {
      const end = rest === '\n' ? 0 : rest.indexOf('\n\n');
      if (end < 0 || end + (end === 0 ? 1 : 2) !== rest.length) {
        invalid('a set request is "set=1", key=value lines and one empty line');
      }
      applySet(target, end === 0 ? [] : rest.slice(0, end).split('\n'));
      return { reply: errnoReply(0), close: false };
    }
  } catch (e) {
    return { reply: errnoReply(errnoOf(e)), close: false };
  }
  return { reply: errnoReply(Errno.EINVAL), close: true };
}

/**
 * Answer one complete request (`get=1\n\n`, or `set=1\n` + lines + `\n`):
 * the get dump ending in `errno=0`, or `errno=0` / `errno=-<n>` for a set.
 */
export function handleUapiRequest(target: UapiTarget, request: string): string {
  return processRequest(target, request).reply;
}

/** Length of the first complete request in `buf`, 0 when more bytes are needed, -1 when it cannot become one. */
function requestLength(buf: string): number {
  const nl = buf.indexOf('\n');
  if (nl < 0) return buf.length > 5 ? -1 : 0;
  const op = buf.slice(0, nl);
  if (op === 'get=1') return buf.length > nl + 1 ? nl + 2 : 0;
  if (op !== 'set=1') return -1;
  if (buf.charCodeAt(nl + 1) === 10) return nl + 2;
  const end = buf.indexOf('\n\n', nl + 1);
  return end < 0 ? 0 : end + 2;
}

const DEFAULT_DIR = '/var/run/wireguard';
const NAME_RE = /^[a-zA-Z0-9_=+.-]{1,15}$/;
/** sun_path is 108 bytes on Linux, NUL included. */
const MAX_SOCKET_PATH = 107;

export interface UapiServerOptions {
  /** Socket directory; default /var/run/wireguard, where wg(8) looks. */
  dir?: string;
  /** Largest request accepted; beyond it the connection gets EMSGSIZE and is closed. Default 1 MiB. */
  maxRequestBytes?: number;
}

function listenOn(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** True when something accepts connections on `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    const timer = setTimeout(() => done(true), 1000); // a listener too busy to accept is still a listener
    function done(live: boolean) {
      clearTimeout(timer);
      probe.destroy();
      resolve(live);
    }
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

function addressInUse(path: string): Error {
  return new StackError(Errno.EADDRINUSE, 'listen', `${path} (UAPI socket in use by a running device)`);
}

/** The UAPI on a Unix socket at `<dir>/<name>.sock`, mode 0600. */
export class UapiServer {
  readonly path: string;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  private constructor(private readonly server: net.Server, path: string) {
    this.path = path;
  }

  /**
   * Listen for wg(8). Creates the directory (0755) if needed, replaces a
   * stale socket nobody listens on, and refuses with EADDRINUSE when a live
   * device already owns the name.
   */
  static async listen(target: UapiTarget, name: string, options?: UapiServerOptions): Promise<UapiServer> {
    if (!NAME_RE.test(name)) throw new Error(`invalid interface name "${name}" (1..15 characters of a-z A-Z 0-9 _ = + . -)`);
    const dir = options?.dir ?? DEFAULT_DIR;
    const maxRequestBytes = options?.maxRequestBytes ?? 1 << 20;
    const path = join(dir, `${name}.sock`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new Error(`UAPI socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });

    const uapi: UapiServer = new UapiServer(net.createServer((s) => uapi.serve(s, target, maxRequestBytes)), path);
    uapi.server.maxConnections = 64;
    try {
      await listenOn(uapi.server, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      let isSocket = false;
      try {
        isSocket = lstatSync(path).isSocket();
      } catch {
        // Vanished meanwhile: just retry.
      }
      if (isSocket && (await isLive(path))) throw addressInUse(path);
      if (!isSocket && lstatSync(path, { throwIfNoEntry: false }) !== undefined) {
        throw new StackError(Errno.EEXIST, 'listen', `${path} (exists and is not a socket)`);
      }
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await listenOn(uapi.server, path);
    }
    // wg(8) needs write permission to connect; only the owner (root, normally) gets it.
    chmodSync(path, 0o600);
    return uapi;
  }

  private serve(socket: net.Socket, target: UapiTarget, maxRequestBytes: number): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = '';
    let ended = false;
    const finish = (reply: string) => {
      ended = true;
      buf = '';
      socket.end(reply);
      // A client that keeps sending after the error must not hold the connection open.
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    socket.on('data', (chunk: Buffer) => {
      if (ended) return;
      // latin1 keeps one character per byte, so lengths are byte counts and a split UTF-8 sequence cannot throw.
      buf += chunk.toString('latin1');
      for (;;) {
        const n = requestLength(buf);
        if (n < 0) return finish(errnoReply(Errno.EINVAL));
        if (n === 0) {
          if (buf.length > maxRequestBytes) finish(errnoReply(Errno.EMSGSIZE));
          return;
        }
        if (n > maxRequestBytes) return finish(errnoReply(Errno.EMSGSIZE));
        const request = buf.slice(0, n);
        buf = buf.slice(n);
        const outcome = processRequest(target, request);
        if (outcome.close) return finish(outcome.reply);
        socket.write(outcome.reply);
      }
    });
  }

  /** Stop listening, drop open connections and remove the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
