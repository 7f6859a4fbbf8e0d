/**
 * `wirestack up CONFIG --tun`: WireGuard for the host. The config's device
 * runs on a Linux TUN device (wireguard-go's model) and the interface is set
 * up as wg-quick(8) sets it up: PreUp hooks, the device, addresses, MTU (the
 * file's, else the outer path's minus 80), DNS through resolvconf, a route
 * per allowed IP (a default route through fwmark and policy rules; none with
 * `Table = off`; table N with `Table = N`), PostUp hooks. On SIGINT/SIGTERM
 * (or `stop`) PreDown hooks run, everything added is removed, PostDown hooks
 * run. A failed step prints one line naming its cause, rolls back what was
 * added and exits 1.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { pidFile, removePidFile } from './control.js';
import { parseIpv4 } from '../wire/ipv4addr.js';
import { hostPortText } from '../wireguard/ip6-text.js';
import { loadWgQuick, WgConfigError, type WgQuickConfig } from '../wireguard/config.js';
import { TunWireGuard, TunOpenError } from '../wireguard/tun-device.js';
import { UapiServer } from '../wireguard/uapi.js';
import type { UpOptions } from './up.js';
import {
  HOST_KEY_WARNING, HostChanges, HostCommandError, addDefaultRoute, freeTable, parseHostKeys, pathMtu, setDns, type HostKeys,
} from './host-net.js';

/** A step that could not be done: one line, exit 1. */
class StartError extends Error {}

function short(key: string): string {
  return `${key.slice(0, 8)}…`;
}

/** Run the --tun mode until `stop` resolves; resolves to the exit code (0, 1 could not start, 2 bad config). */
export async function runUpTun(o: UpOptions, stop: Promise<string>): Promise<number> {
  const emit = (event: string, fields: Record<string, unknown>, text: string): void => {
    o.out(o.json ? JSON.stringify({ time: new Date().toISOString(), event, ...fields }) : text);
  };
  let config: WgQuickConfig;
  let keys: HostKeys;
  try {
    config = loadWgQuick(o.config, { name: o.name });
    keys = parseHostKeys(readFileSync(o.config, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof WgConfigError || e instanceof RangeError || code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      const line = e instanceof WgConfigError ? e.line : 0;
      if (o.json) o.out(JSON.stringify({ time: new Date().toISOString(), event: 'config-error', line, message: (e as Error).message }));
      o.err(`wirestack up: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
  for (const w of config.warnings) {
    if (!HOST_KEY_WARNING.test(w)) emit('warning', { message: w }, `warning: ${o.config}: ${w}`);
  }
  if (config.tunnels.length > 0 || config.socks5 !== undefined) {
    emit('warning', { message: 'the [Socks5] and tunnel sections are for the stack mode; --tun ignores them' },
      `warning: ${o.config}: the [Socks5] and tunnel sections are for the stack mode; --tun ignores them`);
  }
  const name = config.name ?? 'wg0';
  const changes = new HostChanges((command) => emit('command', { command }, `[#] ${command}`));
  const hookOut = (line: string) => emit('hook-output', { line }, line);
  let wg: TunWireGuard | null = null;
  let uapi: UapiServer | null = null;
  let pidPath: string | null = null;
  let statsTimer: NodeJS.Timeout | undefined;
  let watchTimer: NodeJS.Timeout | undefined;
  let exitCode = 0;
  let up = false;
  try {
    for (const h of keys.preUp) await step(`PreUp hook failed: ${h}`, () => changes.hook(h, name, hookOut));

    // Endpoints are resolved first: the MTU is computed from the routes to them.
    const endpoints: Array<{ address: string; port: number } | null> = [];
    for (const p of config.peers) {
      if (p.endpoint === undefined) {
        endpoints.push(null);
        continue;
      }
      const host = p.endpoint.host;
      // A name resolves to either family, the resolver's first answer (wg(8) takes getaddrinfo's first too).
      const address = isLiteral(host) ? host
        : await step(`cannot resolve endpoint ${host}`, async () => (await lookup(host)).address);
      endpoints.push({ address, port: p.endpoint.port });
    }
    const mtu = config.mtu ?? await pathMtu(changes, endpoints.flatMap((e) => (e === null ? [] : [e.address])));

    try {
      wg = TunWireGuard.open({
        name, suite: config.suite, privateKey: config.privateKey, mtu,
        listenPort: config.listenPort, cryptThreads: o.cryptThreads, udpOffload: o.udpOffload,
      });
    } catch (e) {
      if (e instanceof TunOpenError) throw new StartError(e.message);
      throw new StartError(`cannot create ${name}: ${(e as Error).message}`);
    }
    const dev = wg;
    changes.added(`device ${name}`, () => dev.close());
    await step('cannot add the peers', async () => {
      config.peers.forEach((p, i) => {
        dev.device.addPeer({
          publicKey: p.publicKey, presharedKey: p.presharedKey ?? null, endpoint: endpoints[i],
          endpointHost: p.endpoint !== undefined && !isLiteral(p.endpoint.host) ? p.endpoint.host : null,
          allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive ?? 0,
        });
      });
    });
    if (keys.fwmark !== 0) await step(`cannot set fwmark ${keys.fwmark}`, async () => dev.setFwmark(keys.fwmark));
    dev.onEvent = (e) => {
      const peer = Buffer.from(e.peer).toString('base64');
      const d = dev.device.findPeer(e.peer);
      const endpoint = d === null ? null : dev.device.describePeer(d).endpoint;
      const at = endpoint === null ? '?' : hostPortText(endpoint);
      const text = e.type === 'handshake' ? `handshake with ${short(peer)} at ${at} (${e.initiator ? 'we initiated' : 'they initiated'})`
        : e.type === 'handshake-failed' ? `handshake with ${short(peer)} failed: no answer, giving up until new traffic`
          : e.type === 'peer-quiet' ? `peer ${short(peer)} is quiet (no packet for a while)`
            : `session keys with ${short(peer)} expired and were wiped`;
      emit(e.type, { peer, endpoint: endpoint === null ? null : at, ...(e.type === 'handshake' ? { initiator: e.initiator } : {}) }, text);
      // A quiet peer may have moved: look its endpoint name up again (dynamic DNS), as the stack mode does.
      const host = d?.endpointHost ?? null;
      if (e.type === 'peer-quiet' && d !== null && host !== null) {
        lookup(host).then(({ address }) => {
          if (d.inUse) dev.device.setEndpoint(d, address, d.endpointPort);
        }, (err: unknown) => emit('warning', { message: `cannot resolve ${host}: ${(err as Error).message}` }, `warning: cannot resolve ${host}: ${(err as Error).message}`));
      }
    };
    dev.start();

    const addresses = config.addresses.map((a) => `${a.address}/${a.prefixLength}`);
    for (const a of addresses) {
      await step(`cannot add address ${a} to ${name}`, () => changes.ip([family(a), 'address', 'add', a, 'dev', name]));
    }
    await step(`cannot set MTU ${mtu} on ${name}`, () => changes.ip(['link', 'set', 'mtu', String(mtu), 'up', 'dev', name]));

    let dnsApplied = false;
    if (config.dns.length > 0) {
      dnsApplied = await step(`cannot set DNS ${config.dns.join(', ')} with resolvconf`, () => setDns(changes, name, config.dns,
        (command) => emit('command', { command }, `[#] ${command}`)));
      if (!dnsApplied) {
        emit('warning', { message: 'resolvconf not found: DNS not applied' }, `warning: resolvconf not found: DNS ${config.dns.join(', ')} not applied`);
      }
    }

    const routes = await addRoutes(changes, dev, keys, name);

    for (const h of keys.postUp) await step(`PostUp hook failed: ${h}`, () => changes.hook(h, name, hookOut));

    if (o.uapi) {
      try {
        uapi = await UapiServer.listen(dev.uapiTarget(), name, { dir: o.runDir });
        // `wirestack down NAME` finds this process through it.
        pidPath = pidFile(o.runDir, name);
        writeFileSync(pidPath, `${process.pid}\n`, { mode: 0o644 });
      } catch (e) {
        emit('warning', { message: `UAPI socket not served: ${(e as Error).message}` },
          `warning: no UAPI socket for wg(8) (${(e as Error).message}); continuing without it`);
      }
    }

    const last = new Map<string, { rx: number; tx: number }>();
    statsTimer = setInterval(() => {
      for (const p of dev.device.activePeers()) {
        const d = dev.device.describePeer(p);
        const key = Buffer.from(d.publicKey).toString('base64');
        const prev = last.get(key) ?? { rx: 0, tx: 0 };
        last.set(key, { rx: d.rxBytes, tx: d.txBytes });
        const endpoint = d.endpoint === null ? null : hostPortText(d.endpoint);
        emit('transfer', { peer: key, endpoint, rxBytes: d.rxBytes, txBytes: d.txBytes, rxDelta: d.rxBytes - prev.rx,
          txDelta: d.txBytes - prev.tx, latestHandshake: d.lastHandshakeMs === 0 ? null : new Date(d.lastHandshakeMs).toISOString() },
        `transfer ${short(key)}: ${d.rxBytes} B received (+${d.rxBytes - prev.rx}), ${d.txBytes} B sent (+${d.txBytes - prev.tx})`);
      }
    }, o.statsInterval * 1000);

    up = true;
    emit('up', {
      name, tun: true, publicKey: dev.publicKey, listenPort: dev.listenPort, addresses, mtu, routes,
      fwmark: dev.device.fwmark, peers: config.peers.length, uapi: uapi?.path ?? null, dns: dnsApplied ? config.dns : [],
    }, `${name} up (TUN): ${addresses.join(', ') || 'no address'}, MTU ${mtu}, public key ${dev.publicKey}, listening on UDP ${dev.listenPort},`
      + ` ${config.peers.length} peer(s), ${routes.length} route(s)${uapi !== null ? `, wg show ${name} works` : ''}`);

    // `ip link delete NAME` (wg-quick down's way, and what `wirestack down` may do) removes the TUN under
    // us: the RX thread's reads start failing; then take the rest down as on a signal.
    let seenErrors = dev.tun.rxErrors;
    let watching = false;
    const removed = new Promise<string>((resolve) => {
      watchTimer = setInterval(() => {
        const n = dev.tun.rxErrors;
        if (n === seenErrors || watching) return;
        seenErrors = n;
        watching = true;
        void changes.query(['link', 'show', 'dev', name]).then((out) => {
          watching = false;
          if (out.trim() === '') resolve('device removed');
        });
      }, 1000);
    });
    const why = await Promise.race([stop, removed]);
    emit('stopping', { signal: why }, `${why}: shutting down`);
    const drops = dev.dropCounters();
    emit('drops', drops, `drop counters: ${Object.entries(drops).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
    for (const h of keys.preDown) {
      try {
        await changes.hook(h, name, hookOut);
      } catch (e) {
        o.err(`wirestack up: PreDown hook failed: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    if (!(e instanceof StartError)) throw e;
    o.err(`wirestack up: ${e.message}`);
    exitCode = 1;
  } finally {
    clearInterval(statsTimer);
    clearInterval(watchTimer);
    if (uapi !== null) await uapi.close();
    if (pidPath !== null) removePidFile(pidPath);
    await changes.undoAll((line) => o.err(`wirestack up: ${line}`));
    // After the device is gone (PostDown), as wg-quick runs them; not after a failed start, which never came up.
    if (up) {
      for (const h of keys.postDown) {
        try {
          await changes.hook(h, name, hookOut);
        } catch (e) {
          o.err(`wirestack up: PostDown hook failed: ${(e as Error).message}`);
        }
      }
    }
  }
  if (exitCode === 0) emit('down', { name }, `${name} down`);
  return exitCode;
}

/** `ip`'s family switch for an address or prefix. */
function family(addressOrCidr: string): '-4' | '-6' {
  return addressOrCidr.includes(':') ? '-6' : '-4';
}

/** An IPv4 or IPv6 address literal (not a name to resolve). */
function isLiteral(host: string): boolean {
  return parseIpv4(host) >= 0 || host.includes(':');
}

/** Run one start step; a host command's failure becomes a {@link StartError} line `what: cause`. */
async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof StartError) throw e;
    const err = e as NodeJS.ErrnoException;
    const cause = e instanceof HostCommandError ? e.detail : err.message;
    throw new StartError(`${what}: ${cause}`);
  }
}

/**
 * A route per allowed IP, most specific first (wg-quick: `sort -nr -k 2 -t /`),
 * as its add_route: skipped with Table = off, into table N with Table = N,
 * a default route through fwmark and rules, else into main unless a route
 * on the device already covers it.
 */
async function addRoutes(changes: HostChanges, dev: TunWireGuard, keys: HostKeys, name: string): Promise<string[]> {
  if (keys.table === 'off') return [];
  const all: Array<{ address: string; prefixLength: number }> = [];
  for (const p of dev.device.activePeers()) all.push(...dev.device.describePeer(p).allowedIps);
  all.sort((a, b) => b.prefixLength - a.prefixLength);
  const added: string[] = [];
  for (const a of all) {
    const cidr = `${a.address}/${a.prefixLength}`;
    if (keys.table !== 'auto') {
      await step(`cannot add route ${cidr} to ${name} (table ${keys.table})`,
        () => changes.ip([family(cidr), 'route', 'add', cidr, 'dev', name, 'table', keys.table]));
    } else if (a.prefixLength === 0) {
      let table = dev.device.fwmark;
      if (table === 0) {
        table = await step('cannot pick a routing table for the default route', () => freeTable(changes));
        await step(`cannot set fwmark ${table} on the UDP socket`, async () => dev.setFwmark(table));
      }
      await step(`cannot add default route ${cidr} through ${name}`, () => addDefaultRoute(changes, cidr, name, table));
    } else {
      const covered = await changes.query([family(cidr), 'route', 'show', 'dev', name, 'match', cidr]);
      if (covered.trim() !== '') continue;
      await step(`cannot add route ${cidr} to ${name}`, () => changes.ip([family(cidr), 'route', 'add', cidr, 'dev', name]));
    }
    added.push(cidr);
  }
  return added;
}
