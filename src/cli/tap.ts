/**
 * `wirestack tap`: run a stack on a Linux TAP device with a few services
 * (TCP/UDP echo, TCP discard, HTTP, HTTPS) until SIGINT/SIGTERM. ICMP echo is
 * answered by the stack itself. One line per event, readable or JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { Stack } from '../stack.js';
import { TapLink } from '../link/tap.js';
import { PcapWriter } from '../link/pcap-writer.js';
import type { Link } from '../link/link.js';
import { parseIpv6 } from '../wire/ipv6addr.js';
import { createHash } from 'node:crypto';
import { OutBatch } from './out-batch.js';
import { ConnectionLines, type TrackedSocket } from './tap-lines.js';
import { staticFiles, type HttpApp, type HttpHandler, type HttpTimeoutCloses } from '../apps/http.js';
import { parseFlags, UsageError } from './args.js';
import { CAPACITY_FLAGS, capacityConfig, capacityFlags, describePlan, secondsFlag, type Capacity } from './capacity.js';
import type { ExpiryEvent, IpsecDocument } from '../ipsec/api.js';

/** A service port with an optional directory (`PORT[:DIR]`). */
export interface PortSpec {
  port: number;
  dir: string | null;
}

export interface TapOptions {
  dev: string;
  /** Static IPv4 A/len, or null (DHCP, or IPv6 only). */
  address: string | null;
  /** Static IPv6 addresses (addr/len), from repeated --address. */
  addresses6: string[];
  dhcp: boolean;
  gateway: string | null;
  /** IPv6 default gateway (--gateway with an IPv6 address), or null. */
  gateway6: string | null;
  hostAddress: string | null;
  netns: string | null;
  echo: number | null;
  discard: number | null;
  /** TCP port where each client that connects gets an endless stream (the stack as sender), or null. */
  source: number | null;
  http: PortSpec | null;
  https: PortSpec | null;
  cert: string | null;
  key: string | null;
  pcap: string | null;
  /** DNS servers for stack.dns (and so for host names in net.connect). */
  dns: string[];
  /** JSON file of IPsec SAs and policies (format: src/ipsec/api.ts), or null. */
  esp: string | null;
  /** Connections, buffer pairs and SYN backlog of the stack (sized through its memory plan). */
  capacity: Capacity;
  /**
   * HTTP(S): complete request headers within this (Node's headersTimeout; for
   * HTTPS also the TLS handshake's bound), the whole request within
   * `requestTimeoutMs` (0: none), the next request on a kept-alive connection
   * within `keepAliveTimeoutMs`. ms.
   */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Echo and discard: close a connection after this long without data either way (0: never), ms. */
  idleTimeoutMs: number;
  /** Print the TCP counters every this many ms (0: only at the end). */
  statsIntervalMs: number;
  /** The TAP RX thread's SYN-cookie responder (TapLinkOptions.synResponder); on unless --no-syn-responder. */
  synResponder: boolean;
  /** The eBPF one at the device's egress (TapLinkOptions.egressSynResponder); on unless --no-egress-syn-responder. */
  egressSynResponder: boolean;
  json: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function checkIp(s: string, name: string, withPrefix: boolean): string {
  const ok = withPrefix ? CIDR.test(s) : IPV4.test(s);
  const parts = s.split('/');
  const octetsOk = parts[0].split('.').every((o) => Number(o) <= 255);
  const prefixOk = parts.length < 2 || Number(parts[1]) <= 32;
  if (!ok || !octetsOk || !prefixOk) {
    throw new UsageError(`--${name} must look like ${withPrefix ? 'a.b.c.d/len' : 'a.b.c.d'}, got '${s}'`);
  }
  return s;
}

function checkIp6(s: string, name: string, withPrefix: boolean): string {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const len = slash < 0 ? '' : s.slice(slash + 1);
  const ok = parseIpv6(addr, new Uint8Array(16), 0) && (withPrefix ? /^\d{1,3}$/.test(len) && Number(len) <= 128 : slash < 0);
  if (!ok) throw new UsageError(`--${name} must look like ${withPrefix ? 'an IPv6 addr/len (fd00::2/64)' : 'an IPv6 address'}, got '${s}'`);
  return s;
}

function parsePort(s: string, name: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`--${name} needs a port in 1..65535, got '${s}'`);
  }
  return n;
}

function parsePortSpec(s: string, name: string): PortSpec {
  const colon = s.indexOf(':');
  if (colon < 0) return { port: parsePort(s, name), dir: null };
  const dir = s.slice(colon + 1);
  if (dir === '') throw new UsageError(`--${name} PORT:DIR needs a directory after ':'`);
  return { port: parsePort(s.slice(0, colon), name), dir };
}

/** Capacities of `wirestack tap` without flags. */
export const TAP_CAPACITY: Capacity = { maxConnections: 4096, tcpBuffers: 512, tcpBufferBytes: 128 * 1024, synBacklog: 1024 };

/** Parse `wirestack tap` flags; throws {@link UsageError}. */
export function tapOptions(argv: string[], out: (line: string) => void = console.log,
  err: (line: string) => void = console.error): TapOptions {
  const p = parseFlags(argv, {
    values: ['dev', 'address', 'gateway', 'host-address', 'netns', 'echo', 'discard', 'source', 'http', 'https', 'cert', 'key', 'pcap', 'dns', 'esp',
      ...CAPACITY_FLAGS, 'headers-timeout', 'request-timeout', 'keep-alive-timeout', 'idle-timeout', 'stats-interval'],
    booleans: ['json', 'dhcp', 'syn-responder', 'no-syn-responder', 'no-egress-syn-responder'],
    repeatable: ['address', 'gateway'],
  });
  if (p.positional.length > 0) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const v = p.values;
  if (v.dev === undefined) throw new UsageError('tap needs --dev NAME');
  if (v.dev.length === 0 || Buffer.byteLength(v.dev) > 15 || /[\s/]/.test(v.dev)) {
    throw new UsageError(`--dev must be a device name of 1..15 bytes without spaces or '/', got '${v.dev}'`);
  }
  const dhcp = p.booleans.has('dhcp');
  // --address and --gateway repeat: IPv4 and IPv6 (RFC 4291 text with a colon) told apart by form.
  const addrs = p.lists.address ?? [];
  const v4s = addrs.filter((a) => !a.includes(':')).map((a) => checkIp(a, 'address', true));
  const v6s = addrs.filter((a) => a.includes(':')).map((a) => checkIp6(a, 'address', true));
  const gws = p.lists.gateway ?? [];
  const gw4 = gws.filter((a) => !a.includes(':')).map((a) => checkIp(a, 'gateway', false));
  const gw6 = gws.filter((a) => a.includes(':')).map((a) => checkIp6(a, 'gateway', false));
  if (v4s.length > 1 || gw4.length > 1 || gw6.length > 1) throw new UsageError('one IPv4 --address, and one --gateway per family');
  if (addrs.length === 0 && !dhcp) throw new UsageError('tap needs either --address A/len or --dhcp');
  if (dhcp && v4s.length > 0) throw new UsageError('tap needs either an IPv4 --address A/len or --dhcp, not both');
  if (dhcp && gw4.length > 0) throw new UsageError('--gateway comes from DHCP with --dhcp');
  const httpsSpec = v.https === undefined ? null : parsePortSpec(v.https, 'https');
  if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError('--cert and --key go together');
  if (v.cert !== undefined && httpsSpec === null) throw new UsageError('--cert/--key need --https');
  if (v.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(v.netns)) throw new UsageError(`--netns: bad namespace name '${v.netns}'`);
  const o: TapOptions = {
    dev: v.dev,
    address: v4s[0] ?? null,
    addresses6: v6s,
    dhcp,
    gateway: gw4[0] ?? null,
    gateway6: gw6[0] ?? null,
    hostAddress: v['host-address'] === undefined ? null : checkIp(v['host-address'], 'host-address', true),
    netns: v.netns ?? null,
    echo: v.echo === undefined ? null : parsePort(v.echo, 'echo'),
    discard: v.discard === undefined ? null : parsePort(v.discard, 'discard'),
    source: v.source === undefined ? null : parsePort(v.source, 'source'),
    http: v.http === undefined ? null : parsePortSpec(v.http, 'http'),
    https: httpsSpec,
    cert: v.cert ?? null,
    key: v.key ?? null,
    pcap: v.pcap ?? null,
    dns: v.dns === undefined ? [] : v.dns.split(',').map((d) => checkIp(d, 'dns', false)),
    esp: v.esp ?? null,
    capacity: capacityFlags(p, TAP_CAPACITY),
    headersTimeoutMs: secondsFlag(p, 'headers-timeout', 60, 0.1, 86400),
    requestTimeoutMs: secondsFlag(p, 'request-timeout', 300, 0, 86400),
    keepAliveTimeoutMs: secondsFlag(p, 'keep-alive-timeout', 5, 0, 86400),
    idleTimeoutMs: secondsFlag(p, 'idle-timeout', 300, 0, 86400),
    statsIntervalMs: secondsFlag(p, 'stats-interval', 0, 0, 86400),
    synResponder: !p.booleans.has('no-syn-responder'), // --syn-responder: the default, still accepted
    egressSynResponder: !p.booleans.has('no-egress-syn-responder'),
    json: p.booleans.has('json'),
    out,
    err,
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (o.requestTimeoutMs > 0 && o.requestTimeoutMs < o.headersTimeoutMs) {
    throw new UsageError('--request-timeout must be 0 (none) or at least --headers-timeout');
  }
  const ports = [o.echo, o.discard, o.source, o.http?.port ?? null, o.https?.port ?? null].filter((x): x is number => x !== null);
  if (new Set(ports).size !== ports.length) throw new UsageError('two services on the same TCP port');
  return o;
}

type Fields = Record<string, string | number | boolean | null>;

/**
 * Read an `--esp FILE` document (SAs and policies, see src/ipsec/api.ts).
 * Throws an Error naming the file for unreadable or non-JSON content.
 */
export function readEspFile(file: string): IpsecDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--esp ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as IpsecDocument;
  } catch (e) {
    throw new Error(`--esp ${file}: not JSON: ${(e as Error).message}`);
  }
}

/** Load SAs and policies into the stack; errors name the file and the entry (e.g. 'sa[1]: ...'). */
export function loadEsp(stack: Stack, doc: IpsecDocument, file: string): { sa: number; policy: number } {
  try {
    return stack.ipsec.loadJson(doc);
  } catch (e) {
    throw new Error(`--esp ${file}: ${(e as Error).message}`);
  }
}

/** A self-signed certificate made with the openssl CLI in a temporary directory (removed again). */
function selfSigned(address: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=wirestack',
        '-addext', `subjectAltName=IP:${address},DNS:wirestack`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('--https without --cert/--key needs the openssl command to make a self-signed certificate: '
          + 'install it (apt-get install openssl) or pass --cert FILE --key FILE');
      }
      const stderr = (e as { stderr?: Buffer }).stderr;
      throw new Error(`openssl could not make a self-signed certificate: ${stderr !== undefined && stderr.length > 0 ? stderr.toString().trim() : String(e)}`);
    }
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How often connections closed by timeouts are reported (one line per service and cause with a count). */
const TIMEOUT_REPORT_MS = 5000;

interface Closable {
  close(cb: () => void): void;
}

/** Run until SIGINT/SIGTERM; resolves to the exit code (0 clean, 1 runtime error). */
export async function runTap(o: TapOptions): Promise<number> {
  // Lines of per-connection events (connection, request, close: tap-lines.ts) are written in batches
  // (out-batch.ts), the others at once, through emit().
  const lines = new OutBatch(o.out);
  const emit = (event: string, fields: Fields, text: string): void => {
    lines.now(o.json ? JSON.stringify({ event, ...fields }) : text);
  };
  const fail = (message: string, fields: Fields = {}): void => {
    lines.flush(); // what happened before the error first
    if (o.json) o.out(JSON.stringify({ event: 'error', ...fields, message }));
    else o.err(`wirestack tap: error${fields.service !== undefined ? ` (${String(fields.service)})` : ''}: ${message}`);
  };

  let tap: TapLink | null = null;
  let link: Link | null = null;
  let stack: Stack | null = null;
  const servers: Closable[] = [];
  const conns = new ConnectionLines(lines, o.json, fail);
  let stopping = false;
  let wentUp = false;
  const timers: Array<ReturnType<typeof setInterval>> = [];
  let signalled: () => void = () => undefined;
  let finalStats: () => void = () => undefined;
  let onUsr1: (() => void) | null = null;
  const stopped = new Promise<void>((resolve) => { signalled = resolve; });
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    emit('stopping', { signal: sig }, `${sig}: stopping`);
    signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code = 0;
  try {
    for (const spec of [o.http, o.https]) {
      if (spec?.dir != null && !statSync(spec.dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new Error(`${spec.dir} is not a directory`);
      }
    }
    const tls = o.https === null ? null
      : o.cert !== null && o.key !== null ? { cert: readFileSync(o.cert, 'utf8'), key: readFileSync(o.key, 'utf8') }
        : selfSigned(o.address !== null ? o.address.split('/')[0] : '0.0.0.0');

    // A bad ESP file stops us before the device is created.
    const espDoc = o.esp !== null ? readEspFile(o.esp) : null;
    const responders = { synResponder: o.synResponder, egressSynResponder: o.egressSynResponder };
    tap = TapLink.open(o.dev, o.netns === null && o.hostAddress !== null
      ? { hostAddress: o.hostAddress, ...responders } : responders);
    // Loaded now, on libuv's pool (a server expects floods: the verifier's time is not spent when one starts); said once.
    tap.synResponder?.onEgress((why) => emit('syn-egress', why === null ? { attached: true } : { attached: false, reason: why },
      why === null ? 'SYN flood: answered at the TAP device\'s egress (eBPF), in the senders\' context'
        : `SYN flood: no eBPF responder at the TAP egress (${why.split('\n')[0]}); the RX thread answers`));
    link = tap;
    if (o.netns !== null) tap.moveToNetns(o.netns, o.hostAddress !== null ? { hostAddress: o.hostAddress } : {});
    tap.synResponder?.prepare(); // in the device's namespace by now
    if (o.pcap !== null) link = new PcapWriter(tap, o.pcap);
    stack = new Stack(capacityConfig(o.capacity));
    const plan = describePlan(stack.memory, o.capacity);
    emit('memory', plan.fields, plan.text);
    const addresses = o.address !== null ? [o.address, ...o.addresses6] : o.addresses6;
    const iface = stack.addInterface(link, {
      ...(addresses.length > 0 ? { address: addresses } : {}), ...(o.dhcp ? { dhcp: true } : {}),
      ...(o.gateway !== null ? { gateway: o.gateway } : {}), ...(o.gateway6 !== null ? { gateway6: o.gateway6 } : {}),
    });
    for (const client of stack.dhcpClients) {
      client.on('bound', (l: { address: string; prefixLength: number; gateway: string | null; dnsServers: string[]; leaseTime: number }) =>
        emit('dhcp-bound', { address: `${l.address}/${l.prefixLength}`, gateway: l.gateway, dns: l.dnsServers.join(','), leaseSeconds: l.leaseTime },
          `dhcp: bound ${l.address}/${l.prefixLength}${l.gateway !== null ? ` via ${l.gateway}` : ''}, dns ${l.dnsServers.join(',') || '-'}, lease ${l.leaseTime} s`));
      client.on('renewed', (l: { address: string; leaseTime: number }) =>
        emit('dhcp-renewed', { address: l.address, leaseSeconds: l.leaseTime }, `dhcp: renewed ${l.address}, lease ${l.leaseTime} s`));
      client.on('lost', (l: { address: string } | null, why: string) =>
        emit('dhcp-lost', { address: l?.address ?? null, reason: why }, `dhcp: lost ${l?.address ?? ''} (${why})`));
    }

    if (o.dns.length > 0) stack.dns.setServers(o.dns);
    if (espDoc !== null && o.esp !== null) {
      const n = loadEsp(stack, espDoc, o.esp);
      emit('esp', { file: o.esp, sa: n.sa, policy: n.policy }, `esp: ${n.sa} SAs and ${n.policy} policies from ${o.esp}`);
      const expiry = (e: ExpiryEvent): void => emit(`esp-${e.kind}-expire`, { spi: e.sa.spi, dir: e.sa.dir, reason: e.reason },
        `esp: SA 0x${e.sa.spi.toString(16)} (${e.sa.dir}) ${e.kind} expiry (${e.reason})`);
      stack.ipsec.on('soft', expiry).on('hard', expiry);
    }
    stack.start();
    wentUp = true;
    emit('up', { dev: tap.name, mac: iface.mac, address: iface.address === null ? (o.dhcp ? 'dhcp' : null) : `${iface.address}/${iface.prefixLength}`, gateway: iface.gateway,
      addresses6: iface.addresses6.join(','), gateway6: o.gateway6,
      mtu: iface.mtu, netns: o.netns, hostAddress: o.hostAddress, pcap: o.pcap },
    `up: ${tap.name} ${iface.mac} ${iface.address === null ? '(address by DHCP)' : `${iface.address}/${iface.prefixLength}`}`
      + `${iface.gateway !== null ? ` via ${iface.gateway}` : ''}${iface.addresses6.length > 0 ? ` ${iface.addresses6.join(' ')}` : ''} mtu ${iface.mtu}`
      + `${o.netns !== null ? ` (device in netns ${o.netns})` : ''}${o.hostAddress !== null ? `, host side ${o.hostAddress}` : ''}`
      + `${o.pcap !== null ? `, capturing to ${o.pcap}` : ''}`);
    const s = stack;

    const listening = (service: string, proto: string, port: number, extra: Fields = {}, note = ''): void => {
      emit('listening', { service, proto, port, ...extra }, `listening: ${service} on ${proto} ${iface.address}:${port}${note}`);
    };
    const track = (service: string, sock: TrackedSocket): void => conns.track(service, sock);
    // Connections closed by a timeout, by service and cause: reported once per cause and interval, not per socket.
    const timeoutReports: Array<{ service: string; cause: string; seconds: number; what: string; count: () => number; reported: number }> = [];
    const idleCloses = { echo: 0, discard: 0 };
    const idleTimeout = (service: 'echo' | 'discard', sock: { setTimeout(ms: number, cb: () => void): unknown; destroy(): void }): void => {
      if (o.idleTimeoutMs === 0) return;
      // RFC 1122 4.2.3.6 leaves idle connections to the application: ours bounds them.
      sock.setTimeout(o.idleTimeoutMs, () => {
        idleCloses[service]++;
        sock.destroy();
      });
    };
    for (const service of ['echo', 'discard'] as const) {
      timeoutReports.push({ service, cause: 'idle', seconds: o.idleTimeoutMs / 1000,
        what: `idle connections (no data either way for ${o.idleTimeoutMs / 1000} s)`,
        count: () => idleCloses[service], reported: 0 });
    }
    const reportTimeouts = (): void => {
      for (const r of timeoutReports) {
        const n = r.count() - r.reported;
        if (n === 0) continue;
        r.reported += n;
        emit('timeouts', { service: r.service, cause: r.cause, count: n, total: r.reported, timeoutSeconds: r.seconds },
          `${r.service}: closed ${n} ${r.what} (${r.reported} so far)`);
      }
    };
    timers.push(setInterval(reportTimeouts, TIMEOUT_REPORT_MS));
    const reportStats = (): void => {
      const tcp: Fields = { ...s.stats.tcp };
      const dev = tap?.stats;
      const linkStats: Fields = dev === undefined ? {} : { linkRxFrames: dev.rxFrames, linkTxFrames: dev.txFrames, linkDrops: dev.drops };
      // The TAP I/O threads' counters (JSON only): which side of the device drops, and how often the threads slept.
      const io = tap?.threadCounters() ?? null;
      if (io !== null) for (const [k, n] of Object.entries(io)) linkStats[`tap${k[0].toUpperCase()}${k.slice(1)}`] = n;
      emit('stats', { ...tcp, ...linkStats }, `stats: tcp ${Object.entries(tcp).filter(([, n]) => n !== 0).map(([k, n]) => `${k} ${String(n)}`).join(', ')}`
        + (dev === undefined ? '' : `; link ${dev.rxFrames} frames in, ${dev.txFrames} out, ${dev.drops} dropped`));
    };
    finalStats = () => {
      reportTimeouts();
      reportStats();
    };
    if (o.statsIntervalMs > 0) timers.push(setInterval(reportStats, o.statsIntervalMs));
    // SIGUSR1: the counters now, as `kill -USR1` asks of many daemons.
    onUsr1 = reportStats;
    process.on('SIGUSR1', onUsr1);

    const listenTcp = (server: { once(e: 'listening', f: () => void): unknown; once(e: 'error', f: (e: Error) => void): unknown;
      listen(port: number): unknown; }, port: number, service: string): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        server.once('error', (e: Error) => reject(new Error(`${service}: cannot listen on port ${port}: ${e.message}`)));
        server.once('listening', () => resolve());
        server.listen(port);
      });

    if (o.echo !== null) {
      const server = s.net.createServer({ allowHalfOpen: true }, (sock) => {
        track('echo', sock);
        idleTimeout('echo', sock);
        sock.pipe(sock);
      });
      server.on('error', (e: Error) => fail(e.message, { service: 'echo' }));
      await listenTcp(server, o.echo, 'echo');
      servers.push(server);
      listening('echo', 'tcp', o.echo);
      const udp = s.dgram.createSocket('udp4');
      udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
      udp.on('error', (e: Error) => fail(e.message, { service: 'echo-udp' }));
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(o.echo ?? 7, () => resolve());
      });
      servers.push({ close: (cb) => udp.close(cb) });
      listening('echo', 'udp', o.echo);
    }
    if (o.discard !== null) {
      const server = s.net.createServer((sock) => {
        track('discard', sock);
        idleTimeout('discard', sock);
        sock.resume();
      });
      server.on('error', (e: Error) => fail(e.message, { service: 'discard' }));
      await listenTcp(server, o.discard, 'discard');
      servers.push(server);
      listening('discard', 'tcp', o.discard);
    }
    if (o.source !== null) {
      // One shared chunk, written again whenever the socket drains, until the client closes.
      const chunk = Buffer.alloc(64 * 1024, 'wirestack source\n');
      const server = s.net.createServer((sock) => {
        track('source', sock);
        sock.resume(); // what the client sends is ignored
        let open = true;
        sock.once('close', () => { open = false; });
        sock.once('end', () => { open = false; sock.end(); });
        const pump = (): void => {
          while (open && sock.write(chunk));
        };
        sock.on('drain', pump);
        pump();
      });
      server.on('error', (e: Error) => fail(e.message, { service: 'source' }));
      await listenTcp(server, o.source, 'source');
      servers.push(server);
      listening('source', 'tcp', o.source);
    }
    const hello = (service: string): HttpHandler => (req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`hello from wirestack (${service}): ${req.method ?? '?'} ${req.url ?? '/'}\n`);
    };
    // POST/PUT of any size: consumed and answered with its length and sha256 (an upload check for curl).
    const withUploads = (inner: HttpHandler): HttpHandler => (req, res) => {
      if (req.method !== 'POST' && req.method !== 'PUT') {
        inner(req, res);
        return;
      }
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (d: Buffer) => {
        hash.update(d);
        bytes += d.length;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(`${bytes} ${hash.digest('hex')}\n`);
      });
    };
    const web = async (service: 'http' | 'https', spec: PortSpec, app: HttpApp<http.Server>): Promise<void> => {
      app.listener.on('connection', (sock) => track(service, sock));
      const requestClosed = conns.requestLine(service);
      app.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.on('close', requestClosed);
      });
      // Handshake timeouts are reported per cause (below); Node closes the socket either way.
      app.server.on('tlsClientError', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ERR_TLS_HANDSHAKE_TIMEOUT') fail(`TLS: ${e.message}`, { service });
      });
      app.server.on('clientError', (e: NodeJS.ErrnoException, sock: Duplex & { bytesWritten?: number }) => {
        // Timeouts are reported per cause (see reportTimeouts); https passes TLS handshake timeouts here too.
        const timeout = e.code === 'ERR_HTTP_REQUEST_TIMEOUT' || e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
        if (!timeout) fail(e.message, { service });
        // What Node does without a 'clientError' listener: answer if nothing was sent yet (and no
        // TLS handshake is pending), then close.
        if (sock.writable && (sock.bytesWritten ?? 0) === 0 && e.code?.startsWith('ERR_TLS') !== true) {
          const status = e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
            : e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
          sock.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
        }
        sock.destroy(e);
      });
      const causes: Array<[keyof HttpTimeoutCloses, number, string]> = [
        ['headers', o.headersTimeoutMs, 'connections that sent no complete request headers'],
        ['request', o.requestTimeoutMs, 'connections that sent no complete request'],
        ['keepAlive', o.keepAliveTimeoutMs, 'idle keep-alive connections (no next request)'],
      ];
      if (service === 'https') causes.push(['handshake', o.headersTimeoutMs, 'connections that completed no TLS handshake']);
      for (const [cause, ms, what] of causes) {
        timeoutReports.push({ service, cause, seconds: ms / 1000, what: `${what} within ${ms / 1000} s`,
          count: () => app.timeoutCloses[cause], reported: 0 });
      }
      await new Promise<void>((resolve, reject) => {
        app.server.once('error', (e: Error) => reject(new Error(`${service}: cannot listen on port ${spec.port}: ${e.message}`)));
        app.listen(spec.port, () => resolve());
      });
      servers.push({ close: (cb) => app.close(() => cb()) });
      listening(service, 'tcp', spec.port, { dir: spec.dir }, spec.dir !== null ? ` serving ${spec.dir}` : '');
    };
    // Node's timeouts; connections are checked against headers/request timeouts this often.
    const timeouts = {
      headersTimeout: o.headersTimeoutMs, requestTimeout: o.requestTimeoutMs, keepAliveTimeout: o.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(o.headersTimeoutMs / 4))),
    };
    if (o.http !== null) {
      await web('http', o.http, s.http.createServer(withUploads(o.http.dir !== null ? staticFiles(o.http.dir) : hello('http')), timeouts));
    }
    if (o.https !== null && tls !== null) {
      await web('https', o.https, s.https.createServer({ ...tls, ...timeouts, handshakeTimeout: o.headersTimeoutMs },
        withUploads(o.https.dir !== null ? staticFiles(o.https.dir) : hello('https'))));
    }
    emit('ready', {}, 'ready: stop with Ctrl-C (SIGINT) or SIGTERM');
    await stopped;
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
    code = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (onUsr1 !== null) process.off('SIGUSR1', onUsr1);
    for (const t of timers) clearInterval(t);
    if (wentUp) finalStats();
    // Stop accepting, drop what is still open, wait (bounded) for the servers to report closed.
    const closing = servers.map((srv) => new Promise<void>((resolve) => {
      try {
        srv.close(() => resolve());
      } catch {
        resolve();
      }
    }));
    for (const sock of conns.sockets) sock.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(closing), new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); })]);
    clearTimeout(timer);
    try {
      if (stack !== null && stack !== undefined && stack.dhcpClients.length > 0) {
        await Promise.race([stack.releaseDhcp(), new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
      }
      stack?.stop();
    } catch (e) {
      fail(`stopping the stack: ${e instanceof Error ? e.message : String(e)}`);
      code = 1;
    }
    try {
      link?.close(); // the PcapWriter closes the TAP link it wraps
      tap?.close();
    } catch (e) {
      fail(`closing: ${e instanceof Error ? e.message : String(e)}`);
      code = 1;
    }
    if (tap !== null && wentUp) {
      emit('down', { dev: tap.name, rxFrames: tap.stats.rxFrames, txFrames: tap.stats.txFrames, drops: tap.stats.drops },
        `down: ${tap.name} (${tap.stats.rxFrames} frames in, ${tap.stats.txFrames} out, ${tap.stats.drops} dropped)`);
    }
    lines.flush();
    // Whatever handle might linger (Node's server timers), do not hang after a clean stop.
    const exitCode = code;
    setTimeout(() => process.exit(exitCode), 1000).unref();
  }
  return code;
}
