/**
 * The global `fetch` (and `WebSocket`, where Node has it) through the
 * tunnel. Both use Node's bundled undici and its global dispatcher, which
 * undici keeps in global slots (the ones undici's `setGlobalDispatcher()`
 * writes, so an `undici` package the program loads itself sees it too):
 * `Symbol.for('undici.globalDispatcher.1')` up to undici 6 (Node 20, 22);
 * undici 7 (Node 24) keeps the same dispatcher under `.2` as well, and
 * undici 8 (Node 26) reads `.2` and keeps in `.1` a wrapper of it for the
 * older handler API. The dispatcher put there is an Agent of the bundled
 * undici (no second copy of undici, no version skew) whose `connect` opens
 * the connection with the patched `net`/`tls`: tunnel or host by
 * destination, as every other connection.
 */
import type { Duplex } from 'node:stream';

/** undici's connector: `connect(options, callback)`. */
type Connector = (opts: { hostname: string; host?: string; protocol: string; port: string | number; servername?: string | null },
  cb: (err: Error | null, socket: Duplex | null) => void) => void;

interface Dispatcher {
  close(): Promise<void>;
}

/** The slot every undici reads or keeps up to date (a wrapper from undici 8 on). */
const SLOT_1 = Symbol.for('undici.globalDispatcher.1');
/** The slot undici 7 and later read (absent before). */
const SLOT_2 = Symbol.for('undici.globalDispatcher.2');

type Slots = Record<symbol, unknown>;
type AgentClass = new (options: { connect: Connector }) => Dispatcher;

const isObject = (x: unknown): x is object => typeof x === 'object' && x !== null;

/** Node's bundled undici's dispatcher slots, loaded the way Node loads them: by the first `fetch` call. */
function bundledSlots(): Slots {
  const slots = globalThis as unknown as Slots;
  if (slots[SLOT_1] === undefined && slots[SLOT_2] === undefined && typeof fetch === 'function') {
    // A data: URL never touches the network; the call loads undici, which installs its default Agent.
    fetch('data:,').catch(() => { /* only loading undici */ });
  }
  return slots;
}

/**
 * Install the global dispatcher; `openTcp`/`openTls` are the (patched)
 * `net.connect`/`tls.connect`. Returns a function that puts the previous
 * dispatcher back, or null when this Node has no fetch.
 */
export function patchFetch(openTcp: (options: object) => Duplex, openTls: (options: object) => Duplex): (() => void) | null {
  const slots = bundledSlots();
  const prev1 = slots[SLOT_1];
  const prev2 = slots[SLOT_2];
  // The Agent class from the slot fetch reads; .1 holds a wrapper, not an Agent, from undici 8 on.
  const agentOf = isObject(prev2) ? prev2 : prev1;
  if (!isObject(agentOf)) return null;
  const Agent = (agentOf as { constructor: AgentClass }).constructor;
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
  const ours = new Agent({ connect });
  if (isObject(prev2)) slots[SLOT_2] = ours;
  if (isObject(prev1)) {
    // undici 8: a new wrapper of ours, as its setGlobalDispatcher() makes; before it, the same Agent.
    const Wrapper = (prev1 as { constructor: new (d: Dispatcher) => Dispatcher }).constructor;
    slots[SLOT_1] = prev1 === prev2 || !isObject(prev2) || (Wrapper as unknown) === Agent ? ours : new Wrapper(ours);
  }
  return () => {
    if (isObject(prev2)) slots[SLOT_2] = prev2;
    if (isObject(prev1)) slots[SLOT_1] = prev1;
    void ours.close().catch(() => { /* already closed */ });
  };
}
