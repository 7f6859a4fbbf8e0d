/**
 * `node --import wirestack/register app.js` with `WIRESTACK_CONFIG=wg0.conf`:
 * the Node counterpart of an LD_PRELOAD shim. The wg-quick file is brought
 * up in this process (a stack with the WireGuard device, host UDP outside,
 * the tunnel's DNS), then Node's own modules are patched so the unmodified
 * program's `net`, `tls`, `http`/`https` agents, `dgram`, `dns` and the
 * global `fetch`/`WebSocket` reach addresses inside the peers' AllowedIPs
 * through the tunnel, and everything else (loopback included) as before.
 * `listen()` on every interface also listens on the tunnel address. ESM
 * named imports (`import { connect } from 'node:net'`) see the patched
 * functions: `module.syncBuiltinESMExports()` runs after patching.
 *
 * The stack's own I/O (the outer UDP socket, endpoint lookups) is created
 * before patching, with the original functions. The process exits when the
 * program is done: the stack's timers and outer socket do not hold it, only
 * tunnel sockets, listeners and lookups the program has open.
 *
 * What it cannot catch: child processes (the variable is removed from this
 * process's environment, so children start without a tunnel), native addons
 * with their own sockets, worker threads (each would need its own tunnel),
 * `new net.Socket().connect()` (only `net.connect`/`createConnection` and
 * the agents), `dns.Resolver` instances, `dgram` `connect()` to the tunnel.
 *
 * Environment: `WIRESTACK_CONFIG` (required to do anything; without it the
 * import is a no-op), `WIRESTACK_LOG=1` (tunnel events on stderr).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { Duplex } from 'node:stream';
import { loadWgQuick, type WgQuickConfig } from '../wireguard/config.js';
import { openTunnel, type Tunnel } from './tunnel.js';
import { patchNet } from './patch-net.js';
import { patchDns } from './patch-dns.js';
import { patchDgram } from './patch-dgram.js';
import { patchFetch } from './patch-fetch.js';

export { TunnelRoutes, type Side } from './routes.js';
export type { Tunnel } from './tunnel.js';

/** A registered tunnel: the stack and device, and how to undo the patches. */
export interface Registration {
  readonly tunnel: Tunnel;
  /** Put Node's original functions back and bring the tunnel down. */
  unregister(): Promise<void>;
}

let active: Registration | null = null;

/**
 * Bring `config` (a wg-quick file path or a parsed config) up and patch
 * Node's modules to use it. One registration per process.
 */
export async function register(config: string | WgQuickConfig): Promise<Registration> {
  if (active !== null) throw new Error('wirestack/register: this process already has a tunnel');
  const parsed = typeof config === 'string' ? loadWgQuick(config) : config;
  for (const w of parsed.warnings) process.emitWarning(`wirestack/register: ${w}`);
  const tunnel = await openTunnel(parsed);
  const require = createRequire(import.meta.url);
  const net = require('node:net') as { connect: (o: object) => Duplex };
  const tls = require('node:tls') as { connect: (o: object) => Duplex };
  const undo: Array<() => void> = [];
  undo.push(patchNet(tunnel));
  if (tunnel.hasDns) undo.push(patchDns(tunnel));
  undo.push(patchDgram(tunnel));
  const fetchUndo = patchFetch((o) => net.connect(o), (o) => tls.connect(o));
  if (fetchUndo !== null) undo.push(fetchUndo);
  syncBuiltinESMExports();
  if (process.env.WIRESTACK_LOG === '1') {
    for (const type of ['handshake', 'handshake-failed', 'peer-quiet', 'keys-zeroed'] as const) {
      tunnel.wg.on(type, (e: { peer: string }) => process.stderr.write(`wirestack/register: ${type} ${e.peer.slice(0, 8)}…\n`));
    }
  }
  const registration: Registration = {
    tunnel,
    async unregister() {
      for (const f of undo.reverse()) f();
      syncBuiltinESMExports();
      active = null;
      await tunnel.close();
    },
  };
  active = registration;
  return registration;
}

/** The registration of this process, if any. */
export function registration(): Registration | null {
  return active;
}

const file = process.env.WIRESTACK_CONFIG;
if (file !== undefined && file !== '') {
  // Children of this program start without a tunnel of their own (two devices with one key would fight over the sessions).
  delete process.env.WIRESTACK_CONFIG;
  try {
    await register(file);
  } catch (e) {
    process.stderr.write(`wirestack/register: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
