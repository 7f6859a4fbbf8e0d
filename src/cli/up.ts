/**
 * `wirestack up CONFIG`: a wg-quick file brought up as a user-space
 * WireGuard endpoint (no root, no kernel interface). The stack's only
 * interface is the WireGuard device, its encrypted datagrams go through a
 * host UDP socket, and what the host gets from it is what the file's
 * wireproxy sections say: a SOCKS5 proxy, an HTTP proxy and TCP/UDP port forwards. Ping on
 * the tunnel address is answered by the stack. Runs until SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { Stack } from '../stack.js';
import { loadWgQuick, WgConfigError, type WgQuickConfig, type WgTunnelConfig } from '../wireguard/config.js';
import type { WireGuardInterface } from '../wireguard/setup.js';
import { nativeUdpUnavailableReason } from '../wireguard/transport-native.js';
import { createSocks5Server } from '../apps/socks5.js';
import { createHttpProxy } from '../apps/http-proxy.js';
import {
  createTcpClientTunnel, createTcpServerTunnel, createUdpClientTunnel, createUdpServerTunnel,
  type TcpTunnelStats, type Tunnel, type UdpTunnelStats,
} from '../apps/tunnels.js';
import { numberFlag, parseFlags, UsageError } from './args.js';
import { defaultRunDir, pidFile, removePidFile, worldAccessible } from './control.js';
import { CAPACITY_FLAGS, capacityConfig, capacityFlags, describePlan, type Capacity } from './capacity.js';
import { runUpTun } from './up-tun.js';

export interface UpOptions {
  config: string;
  /** Interface name; the config file's base name without .conf by default. */
  name?: string;
  json: boolean;
  uapi: boolean;
  /** Seconds between transfer counter lines (default 60). */
  statsInterval: number;
  /** Capture the tunnel's inner packets to this pcap file. */
  pcap?: string;
  /** Where the UAPI socket NAME.sock and the pid file NAME.pid go (see {@link defaultRunDir}). */
  runDir: string;
  /** WireGuard for the host: the device on a TUN device, set up as wg-quick does (see up-tun.ts). */
  tun?: boolean;
  /** Crypt threads of the data path, the JS thread included (0: no batching); default one per core, at most 8. */
  cryptThreads?: number;
  /** UDP GSO/GRO on the host socket (default true; --no-udp-offload). */
  udpOffload: boolean;
  /** Connections, buffer pairs and SYN backlog of the stack (sized through its memory plan). */
  capacity: Capacity;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Capacities of `wirestack up` without flags (smaller buffers than tap's: a tunnel endpoint, often on a laptop). */
export const UP_CAPACITY: Capacity = { maxConnections: 4096, tcpBuffers: 256, tcpBufferBytes: 64 * 1024, synBacklog: 1024 };

export function upOptions(argv: string[], out: (line: string) => void = console.log,
  err: (line: string) => void = console.error): UpOptions {
  const p = parseFlags(argv, { values: ['name', 'stats-interval', 'pcap', 'run-dir', 'crypt-threads', ...CAPACITY_FLAGS],
    booleans: ['json', 'no-uapi', 'tun', 'no-udp-offload'] });
  if (p.positional.length !== 1) throw new UsageError('up needs exactly one CONFIG file');
  return {
    config: p.positional[0],
    name: p.values.name,
    json: p.booleans.has('json'),
    uapi: !p.booleans.has('no-uapi'),
    statsInterval: numberFlag(p, 'stats-interval', 60, 1, 86400),
    pcap: p.values.pcap,
    runDir: p.values['run-dir'] ?? defaultRunDir(),
    tun: p.booleans.has('tun'),
    cryptThreads: p.values['crypt-threads'] === undefined ? undefined : Math.trunc(numberFlag(p, 'crypt-threads', 0, 0, 64)),
    udpOffload: !p.booleans.has('no-udp-offload'),
    capacity: capacityFlags(p, UP_CAPACITY),
    out,
    err,
  };
}

/** Something `up` started that must be closed on the way down. */
interface Service {
  what: string;
  close(): Promise<void>;
}

const TUNNEL_SECTION: Record<WgTunnelConfig['kind'], string> = {
  'tcp-client': 'TCPClientTunnel', 'tcp-server': 'TCPServerTunnel',
  'udp-client': 'UDPClientTunnel', 'udp-server': 'UDPServerTunnel',
};

function hp(h: { host: string; port: number }): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`; // IPv6 bracketed (RFC 3986 §3.2.2)
}

function short(key: string): string {
  return `${key.slice(0, 8)}…`;
}

/**
 * Bring the config up and run until `stop` resolves (SIGINT/SIGTERM by
 * default). Resolves to the exit code: 0 after a clean shutdown, 2 for a bad
 * config, 1 when something could not be started.
 */
export async function runUp(o: UpOptions, stop: Promise<string> = signalled()): Promise<number> {
  if (o.tun === true) return runUpTun(o, stop);
  // One line per event: readable text, or a JSON object per line with --json.
  const emit = (event: string, fields: Record<string, unknown>, text: string): void => {
    o.out(o.json ? JSON.stringify({ time: new Date().toISOString(), event, ...fields }) : text);
  };
  let config: WgQuickConfig;
  try {
    config = loadWgQuick(o.config, { name: o.name });
    if (config.addresses.length === 0) throw new WgConfigError(0, 'no Address in [Interface]: the tunnel needs one', o.config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof WgConfigError || code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      const line = e instanceof WgConfigError ? e.line : 0;
      if (o.json) o.out(JSON.stringify({ time: new Date().toISOString(), event: 'config-error', line, message: (e as Error).message }));
      o.err(`wirestack up: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
  for (const w of config.warnings) emit('warning', { message: w }, `warning: ${o.config}: ${w}`);
  // The file holds the private key: warn as wg(8) does when others may read it.
  if (worldAccessible(o.config)) {
    emit('warning', { message: `${o.config} is world accessible`, file: o.config },
      `warning: \`${o.config}' is world accessible (it holds the private key: chmod 600 it)`);
  }

  const stack = new Stack(capacityConfig(o.capacity));
  const plan = describePlan(stack.memory, o.capacity);
  emit('memory', plan.fields, plan.text);
  // The outer UDP socket: the native addon's (recvmmsg, no garbage per datagram) or, where it cannot load, node:dgram. Said once.
  const noNative = nativeUdpUnavailableReason();
  if (noNative !== null) {
    emit('warning', { message: noNative, transport: 'dgram' },
      `warning: native UDP transport unavailable, using node:dgram (slower): ${noNative}`);
  }
  const services: Service[] = [];
  let wg: WireGuardInterface | null = null;
  let statsTimer: NodeJS.Timeout | undefined;
  let dumpStats: (() => void) | null = null;
  let pidPath: string | null = null;
  let started = false;
  let exitCode = 0;
  try {
    try {
      wg = await stack.addWireGuard({
        suite: config.suite, privateKey: config.privateKey, name: config.name,
        address: config.addresses.map((a) => `${a.address}/${a.prefixLength}`),
        listenPort: config.listenPort, mtu: config.mtu, pcap: o.pcap, cryptThreads: o.cryptThreads, udpOffload: o.udpOffload,
        peers: config.peers.map((p) => ({
          publicKey: p.publicKey, presharedKey: p.presharedKey, endpoint: p.endpoint,
          allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive,
        })),
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StartError(`cannot create the WireGuard interface: ${(e as Error).message}${code === 'EADDRINUSE' ? ' (port in use)' : ''}`);
    }
    const iface = wg;
    stack.start();
    started = true;
    if (config.dns.length > 0) stack.dns.setServers(config.dns);

    let uapiPath: string | null = null;
    if (o.uapi) {
      try {
        uapiPath = (await iface.serveUapi({ dir: o.runDir })).path;
        // `wirestack down NAME` finds this process through it.
        pidPath = pidFile(o.runDir, iface.name);
        writeFileSync(pidPath, `${process.pid}\n`, { mode: 0o644 });
      } catch (e) {
        emit('warning', { message: `UAPI socket not served: ${(e as Error).message}` },
          `warning: no UAPI socket for wg(8) (${(e as Error).message}); continuing without it`);
      }
    }

    if (config.socks5 !== undefined) {
      const s = config.socks5;
      const server = await start('[Socks5]', () => createSocks5Server(stack, {
        host: s.bindAddress.host, port: s.bindAddress.port, username: s.username, password: s.password,
      }));
      services.push({ what: '[Socks5]', close: () => server.close() });
      const a = server.address();
      emit('socks5', { listen: hp({ host: a.address, port: a.port }), auth: s.username !== undefined },
        `socks5 proxy on ${hp({ host: a.address, port: a.port })}${s.username !== undefined ? ' (username/password)' : ''}`);
    }
    if (config.http !== undefined) {
      const h = config.http;
      const proxy = await start('[HTTP]', () => createHttpProxy(stack, {
        host: h.bindAddress.host, port: h.bindAddress.port, username: h.username, password: h.password,
      }));
      services.push({ what: '[HTTP]', close: () => proxy.close() });
      const a = proxy.address();
      emit('http-proxy', { listen: hp({ host: a.address, port: a.port }), auth: h.username !== undefined },
        `http proxy on ${hp({ host: a.address, port: a.port })}${h.username !== undefined ? ' (Basic auth)' : ''}`);
    }
    const dual = config.addresses.some((x) => x.address.includes(':')) ? '::' : undefined;
    for (const t of config.tunnels) {
      const section = `[${TUNNEL_SECTION[t.kind]}]`;
      const tunnel = await start<Tunnel<TcpTunnelStats | UdpTunnelStats>>(section, () => {
        switch (t.kind) {
          case 'tcp-client': return createTcpClientTunnel(stack, { bind: t.bindAddress ?? { host: '127.0.0.1', port: 0 }, target: t.target });
          case 'udp-client': return createUdpClientTunnel(stack, { bind: t.bindAddress ?? { host: '127.0.0.1', port: 0 }, target: t.target });
          // With an IPv6 tunnel address, listen on '::' (both families: a 'udp6' socket for UDP; TCP's default host is '::' anyway).
          case 'tcp-server': return createTcpServerTunnel(stack, { listenPort: t.listenPort ?? 0, target: t.target, listenHost: dual });
          case 'udp-server': return createUdpServerTunnel(stack, { listenPort: t.listenPort ?? 0, target: t.target, listenHost: dual });
        }
      });
      services.push({ what: section, close: () => tunnel.close() });
      const a = tunnel.address();
      const from = t.kind.endsWith('client') ? `host ${hp({ host: a.address, port: a.port })}` : `tunnel port ${a.port}`;
      const to = t.kind.endsWith('client') ? `tunnel ${hp(t.target)}` : `host ${hp(t.target)}`;
      emit('tunnel', { kind: t.kind, listen: hp({ host: a.address, port: a.port }), target: hp(t.target) }, `${section} ${from} -> ${to}`);
    }

    for (const type of ['handshake', 'handshake-failed', 'peer-quiet', 'keys-zeroed'] as const) {
      iface.on(type, (e: { peer: string; initiator?: boolean }) => {
        const p = iface.peers().find((x) => x.publicKey === e.peer);
        const endpoint = p?.endpoint ?? null;
        const what = type === 'handshake' ? `handshake with ${short(e.peer)} at ${endpoint ?? '?'} (${e.initiator === true ? 'we initiated' : 'they initiated'})`
          : type === 'handshake-failed' ? `handshake with ${short(e.peer)} failed: no answer, giving up until new traffic`
            : type === 'peer-quiet' ? `peer ${short(e.peer)} is quiet (no packet for a while)`
              : `session keys with ${short(e.peer)} expired and were wiped`;
        emit(type, { peer: e.peer, endpoint, ...(type === 'handshake' ? { initiator: e.initiator === true } : {}) }, what);
      });
    }
    iface.on('warning', (e: unknown) => emit('warning', { message: String(e) }, `warning: ${String(e)}`));

    const last = new Map<string, { rx: number; tx: number }>();
    const transfer = (): void => {
      for (const p of iface.peers()) {
        const prev = last.get(p.publicKey) ?? { rx: 0, tx: 0 };
        last.set(p.publicKey, { rx: p.rxBytes, tx: p.txBytes });
        emit('transfer', { peer: p.publicKey, endpoint: p.endpoint, rxBytes: p.rxBytes, txBytes: p.txBytes,
          rxDelta: p.rxBytes - prev.rx, txDelta: p.txBytes - prev.tx, latestHandshake: p.latestHandshake?.toISOString() ?? null },
        `transfer ${short(p.publicKey)}: ${p.rxBytes} B received (+${p.rxBytes - prev.rx}), ${p.txBytes} B sent (+${p.txBytes - prev.tx}),`
          + ` latest handshake ${p.latestHandshake === null ? 'never' : `${Math.round((Date.now() - p.latestHandshake.getTime()) / 1000)} s ago`}`);
      }
    };
    statsTimer = setInterval(transfer, o.statsInterval * 1000);
    // SIGUSR1: the counters now (per peer, then the device's), as `kill -USR1` asks of many daemons.
    dumpStats = (): void => {
      transfer();
      const d = { ...iface.device.stats };
      emit('stats', { device: d }, `stats ${iface.name}: ${Object.entries(d).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    };
    process.on('SIGUSR1', dumpStats);

    const addresses = config.addresses.map((a) => `${a.address}/${a.prefixLength}`);
    emit('up', { name: iface.name, publicKey: iface.publicKey, listenPort: iface.listenPort, addresses,
      transport: noNative === null ? 'native' : 'dgram',
      peers: config.peers.length, uapi: uapiPath, dns: config.dns },
    `${iface.name} up: ${addresses.join(', ')}, public key ${iface.publicKey}, listening on UDP ${iface.listenPort}${noNative === null ? '' : ' (node:dgram)'},`
      + ` ${config.peers.length} peer(s)${config.dns.length > 0 ? `, DNS ${config.dns.join(', ')}` : ''}${uapiPath !== null ? `, wg show ${iface.name} works (${uapiPath})` : ''}`);

    const why = await stop;
    emit('stopping', { signal: why }, `${why}: shutting down`);
  } catch (e) {
    if (!(e instanceof StartError)) throw e;
    o.err(`wirestack up: ${e.message}`);
    exitCode = 1;
  } finally {
    clearInterval(statsTimer);
    if (dumpStats !== null) process.off('SIGUSR1', dumpStats);
    if (pidPath !== null) removePidFile(pidPath);
    for (const s of services.reverse()) {
      try {
        await s.close();
      } catch (e) {
        o.err(`wirestack up: closing ${s.what}: ${(e as Error).message}`);
      }
    }
    if (wg !== null) await wg.close();
    if (started) stack.stop();
  }
  if (exitCode === 0) emit('down', {}, `${config.name ?? 'wireguard'} down`);
  return exitCode;
}

/** A service that could not start: exit code 1 with its message. */
class StartError extends Error {}

async function start<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StartError(`cannot start ${what}: ${err.message}${err.code === 'EADDRINUSE' ? ' (port in use)' : ''}`);
  }
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
function signalled(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
