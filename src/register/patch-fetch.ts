/**
 * The global `fetch` (and `WebSocket`, where Node has it) through the
 * tunnel. Both use Node's bundled undici and its global dispatcher, which
 * undici keeps under `Symbol.for('undici.globalDispatcher.1')` (the slot
 * undici's `setGlobalDispatcher()` writes, so an `undici` package the
 * program loads itself sees it too). The dispatcher put there is an Agent of
 * the bundled undici (no second copy of undici, no version skew) whose
 * `connect` opens the connection with the patched `net`/`tls`: tunnel or
 * host by destination, as every other connection.
 */
import type { Duplex } from 'node:stream';

/** undici's connector: `connect(options, callback)`. */
type Connector = (opts: { hostname: string; host?: string; protocol: string; port: string | number; servername?: string | null },
  cb: (err: Error | null, socket: Duplex | null) => void) => void;

interface Dispatcher {
  close(): Promise<void>;
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** Node's bundled undici Agent class, loaded the way Node loads it: by the first `fetch` call. */
function bundledAgent(): (new (options: { connect: Connector }) => Dispatcher) | null {
  const slots = globalThis as unknown as Record<symbol, unknown>;
  if (slots[GLOBAL_DISPATCHER] === undefined && typeof fetch === 'function') {
    // A data: URL never touches the network; the call loads undici, which installs its default Agent.
    fetch('data:,').catch(() => { /* only loading undici */ });
  }
  const current = slots[GLOBAL_DISPATCHER];
  if (typeof current !== 'object' || current === null) return null;
  return (current as { constructor: new (options: { connect: Connector }) => Dispatcher }).constructor;
}

/**
 * Install the global dispatcher; `openTcp`/`openTls` are the (patched)
 * `net.connect`/`tls.connect`. Returns a function that puts the previous
 * dispatcher back, or null when this Node has no fetch.
 */
export function patchFetch(openTcp: (options: object) => Duplex, openTls: (options: object) => Duplex): (() => void) | null {
  const Agent = bundledAgent();
  if (Agent === null) return null;
  const connect: Connector = (opts, cb) => {
    const https = opts.protocol === 'https:';
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    const port = Number(opts.port) || (https ? 443 : 80);
    const socket = https
      ? openTls({ host, port, servername: opts.servername ?? undefined, ALPNProtocols: ['http/1.1'] })
      : openTcp({ host, port, noDelay: true });
    const ready = https ? 'secureConnect' : 'connect';
    const onError = (e: Error): void => {
      socket.off(ready, onReady);
      cb(e, null);
    };
    const onReady = (): void => {
      socket.off('error', onError);
      cb(null, socket);
    };
    socket.once(ready, onReady);
    socket.once('error', onError);
  };
  const slots = globalThis as unknown as Record<symbol, unknown>;
  const previous = slots[GLOBAL_DISPATCHER];
  slots[GLOBAL_DISPATCHER] = new Agent({ connect });
  return () => {
    const ours = slots[GLOBAL_DISPATCHER] as Dispatcher;
    slots[GLOBAL_DISPATCHER] = previous;
    void ours.close().catch(() => { /* already closed */ });
  };
}
