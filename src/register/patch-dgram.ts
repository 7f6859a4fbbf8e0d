/**
 * UDP of an unmodified program through the tunnel. `dgram.createSocket`
 * still returns Node's own socket; each `udp4` socket (and each `udp6` one
 * when the config has an IPv6 Address) gets a companion socket of its type
 * in the stack, on the tunnel address of that family, created when it is
 * first needed:
 *
 * - `bind()` on an unspecified address binds the host socket and then the
 *   companion on the tunnel address with the same port (every interface);
 *   `bind()` on the tunnel address binds only the companion.
 * - `send()` to a tunnel destination (by AllowedIPs, or a name when the
 *   config has DNS: resolved through the tunnel) goes out of the companion;
 *   to any other destination out of the host socket.
 * - The companion's datagrams and errors are emitted by the host socket,
 *   and `close()` closes both.
 *
 * Not covered: `connect()` to a tunnel destination (the host socket is
 * connected), IPv4 through a `udp6` socket (`::ffff:a.b.c.d`), multicast in
 * the tunnel.
 */
import { createRequire } from 'node:module';
import type * as dgramTypes from 'node:dgram';
import { isIP } from 'node:net';
import type { UdpSocket } from '../socket/dgram.js';
import { isLocalhostName, isUnspecified } from './routes.js';
import type { Tunnel } from './tunnel.js';

type Fn = (...args: unknown[]) => unknown;

const require = createRequire(import.meta.url);
const dgram = require('node:dgram') as typeof dgramTypes;

/** Node's createSocket before `wirestack/register`. */
export const originalCreateSocket = dgram.createSocket as unknown as Fn;

/** Destination port and address of `send()`'s argument forms (address undefined: connected or localhost). */
function sendTarget(args: readonly unknown[]): { port: unknown; address: unknown; addressIndex: number } {
  // send(msg, offset, length, port, address, cb) when offset and length are numbers followed by a port.
  if (typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number') {
    return { port: args[3], address: args[4], addressIndex: 4 };
  }
  return { port: args[1], address: args[2], addressIndex: 2 };
}

function attach(tunnel: Tunnel, real: dgramTypes.Socket, type: 'udp4' | 'udp6', self: string): void {
  let side: UdpSocket | null = null;
  let release: (() => void) | null = null;
  const origBind = real.bind as unknown as Fn;
  const origSend = real.send as unknown as Fn;
  const origClose = real.close as unknown as Fn;
  const origAddress = real.address as unknown as Fn;

  const companion = (port: number, onListening?: () => void): UdpSocket => {
    if (side !== null) return side;
    const s = tunnel.stack.dgram.createSocket(type);
    s.on('message', (msg, rinfo) => real.emit('message', msg, rinfo));
    s.on('error', (e: Error) => real.emit('error', e));
    if (onListening !== undefined) s.once('listening', onListening);
    s.bind(port, self);
    release = tunnel.activity.hold();
    side = s;
    return s;
  };

  const bind = function bind(this: dgramTypes.Socket, ...args: unknown[]): unknown {
    const first = args[0];
    const address = typeof first === 'object' && first !== null ? (first as { address?: unknown }).address
      : typeof args[1] === 'string' ? args[1] : undefined;
    const port = Number(typeof first === 'object' && first !== null ? (first as { port?: unknown }).port ?? 0 : typeof first === 'number' ? first : 0);
    if (typeof address === 'string' && tunnel.routes.isTunnelAddress(address)) {
      // The tunnel address only: the companion is the socket.
      const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (cb !== undefined) real.once('listening', cb);
      companion(port, () => real.emit('listening'));
      (real as unknown as { address: Fn }).address = () => side?.address();
      return real;
    }
    if (isUnspecified(address as string | undefined)) {
      real.prependOnceListener('listening', () => companion((origAddress.call(real) as dgramTypes.RemoteInfo).port));
    }
    return origBind.apply(real, args);
  };

  const send = function send(this: dgramTypes.Socket, ...args: unknown[]): unknown {
    const t = sendTarget(args);
    const address = t.address;
    if (typeof address !== 'string' || address === '' || isLocalhostName(address)) return origSend.apply(real, args);
    if (isIP(address) !== 0) {
      if (tunnel.routes.route(address) === 'host') return origSend.apply(real, args);
      return (companion(0).send as unknown as Fn).apply(side, args);
    }
    if (!tunnel.hasDns) return origSend.apply(real, args);
    // A name, resolved by the tunnel's DNS; then the address decides.
    const s = companion(0);
    const cb = args.find((a, i) => i > t.addressIndex && typeof a === 'function') as ((e: Error | null, n?: number) => void) | undefined;
    tunnel.stack.dns.lookup(address, { family: type === 'udp6' ? 6 : 4 }).then(({ address: ip }) => {
      const resolved = [...args];
      resolved[t.addressIndex] = ip;
      if (tunnel.routes.route(ip) === 'host') origSend.apply(real, resolved);
      else (s.send as unknown as Fn).apply(s, resolved);
    }, (e: Error) => {
      if (cb !== undefined) cb(e);
      else real.emit('error', e);
    });
    return undefined;
  };

  const close = function close(this: dgramTypes.Socket, ...args: unknown[]): unknown {
    if (side !== null) {
      const s = side;
      side = null;
      s.close();
      release?.();
    }
    try {
      return origClose.apply(real, args);
    } catch (e) {
      // A tunnel-only socket never bound its host side: closing it is still a clean close.
      if ((e as { code?: string }).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw e;
      return real;
    }
  };

  const own = real as unknown as Record<string, unknown>;
  own.bind = bind;
  own.send = send;
  own.close = close;
}

/** Install the UDP patch; returns a function that undoes it. */
export function patchDgram(tunnel: Tunnel): () => void {
  const createSocket = function createSocket(...args: unknown[]): unknown {
    const real = originalCreateSocket(...args) as dgramTypes.Socket;
    const type = typeof args[0] === 'string' ? args[0] : (args[0] as { type?: unknown } | undefined)?.type;
    if (type === 'udp4') attach(tunnel, real, 'udp4', tunnel.address);
    else if (type === 'udp6' && tunnel.address6 !== null) attach(tunnel, real, 'udp6', tunnel.address6);
    return real;
  };
  (dgram as unknown as Record<string, unknown>).createSocket = createSocket;
  return () => {
    (dgram as unknown as Record<string, unknown>).createSocket = originalCreateSocket;
  };
}
