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
import { Stack } from '../stack.js';
import { TapLink } from '../link/tap.js';
import { PcapWriter } from '../link/pcap-writer.js';
import type { Link } from '../link/link.js';
import { createHash } from 'node:crypto';
import { staticFiles, type HttpApp, type HttpHandler } from '../apps/http.js';
import { parseFlags, UsageError } from './args.js';
import type { ExpiryEvent, IpsecDocument } from '../ipsec/api.js';

/** A service port with an optional directory (`PORT[:DIR]`). */
export interface PortSpec {
  port: number;
  dir: string | null;
}

export interface TapOptions {
  dev: string;
  /** Static A/len, or null with DHCP. */
  address: string | null;
  dhcp: boolean;
  gateway: string | null;
  hostAddress: string | null;
  netns: string | null;
  echo: number | null;
  discard: number | null;
  http: PortSpec | null;
  https: PortSpec | null;
  cert: string | null;
  key: string | null;
  pcap: string | null;
  /** DNS servers for stack.dns (and so for host names in net.connect). */
  dns: string[];
  /** JSON file of IPsec SAs and policies (format: src/ipsec/api.ts), or null. */
  esp: string | null;
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

/** Parse `wirestack tap` flags; throws {@link UsageError}. */
export function tapOptions(argv: string[], out: (line: string) => void = console.log,
  err: (line: string) => void = console.error): TapOptions {
  const p = parseFlags(argv, {
    values: ['dev', 'address', 'gateway', 'host-address', 'netns', 'echo', 'discard', 'http', 'https', 'cert', 'key', 'pcap', 'dns', 'esp'],
    booleans: ['json', 'dhcp'],
  });
  if (p.positional.length > 0) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const v = p.values;
  if (v.dev === undefined) throw new UsageError('tap needs --dev NAME');
  if (v.dev.length === 0 || Buffer.byteLength(v.dev) > 15 || /[\s/]/.test(v.dev)) {
    throw new UsageError(`--dev must be a device name of 1..15 bytes without spaces or '/', got '${v.dev}'`);
  }
  const dhcp = p.booleans.has('dhcp');
  if ((v.address === undefined) === !dhcp) throw new UsageError('tap needs either --address A/len or --dhcp');
  if (dhcp && v.gateway !== undefined) throw new UsageError('--gateway comes from DHCP with --dhcp');
  const httpsSpec = v.https === undefined ? null : parsePortSpec(v.https, 'https');
  if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError('--cert and --key go together');
  if (v.cert !== undefined && httpsSpec === null) throw new UsageError('--cert/--key need --https');
  if (v.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(v.netns)) throw new UsageError(`--netns: bad namespace name '${v.netns}'`);
  const o: TapOptions = {
    dev: v.dev,
    address: v.address === undefined ? null : checkIp(v.address, 'address', true),
    dhcp,
    gateway: v.gateway === undefined ? null : checkIp(v.gateway, 'gateway', false),
    hostAddress: v['host-address'] === undefined ? null : checkIp(v['host-address'], 'host-address', true),
    netns: v.netns ?? null,
    echo: v.echo === undefined ? null : parsePort(v.echo, 'echo'),
    discard: v.discard === undefined ? null : parsePort(v.discard, 'discard'),
    http: v.http === undefined ? null : parsePortSpec(v.http, 'http'),
    https: httpsSpec,
    cert: v.cert ?? null,
    key: v.key ?? null,
    pcap: v.pcap ?? null,
    dns: v.dns === undefined ? [] : v.dns.split(',').map((d) => checkIp(d, 'dns', false)),
    esp: v.esp ?? null,
    json: p.booleans.has('json'),
    out,
    err,
  };
  const ports = [o.echo, o.discard, o.http?.port ?? null, o.https?.port ?? null].filter((x): x is number => x !== null);
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

interface Closable {
  close(cb: () => void): void;
}

/** Run until SIGINT/SIGTERM; resolves to the exit code (0 clean, 1 runtime error). */
export async function runTap(o: TapOptions): Promise<number> {
  const emit = (event: string, fields: Fields, text: string): void => {
    if (o.json) o.out(JSON.stringify({ event, ...fields }));
    else o.out(text);
  };
  const fail = (message: string, fields: Fields = {}): void => {
    if (o.json) o.out(JSON.stringify({ event: 'error', ...fields, message }));
    else o.err(`wirestack tap: error${fields.service !== undefined ? ` (${String(fields.service)})` : ''}: ${message}`);
  };

  let tap: TapLink | null = null;
  let link: Link | null = null;
  let stack: Stack | null = null;
  const servers: Closable[] = [];
  const sockets = new Set<{ destroy(): void }>();
  let stopping = false;
  let wentUp = false;
  let signalled: () => void = () => undefined;
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
    tap = TapLink.open(o.dev, o.netns === null && o.hostAddress !== null ? { hostAddress: o.hostAddress } : {});
    link = tap;
    if (o.netns !== null) tap.moveToNetns(o.netns, o.hostAddress !== null ? { hostAddress: o.hostAddress } : {});
    if (o.pcap !== null) link = new PcapWriter(tap, o.pcap);
    stack = new Stack({ maxSockets: 160, maxTcpSockets: 128, tcpSendBufferBytes: 256 * 1024, tcpRecvBufferBytes: 256 * 1024 });
    const iface = o.address !== null
      ? stack.addInterface(link, { address: o.address, ...(o.gateway !== null ? { gateway: o.gateway } : {}) })
      : stack.addInterface(link, { dhcp: true });
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
    emit('up', { dev: tap.name, mac: iface.mac, address: iface.address === null ? 'dhcp' : `${iface.address}/${iface.prefixLength}`, gateway: iface.gateway,
      mtu: iface.mtu, netns: o.netns, hostAddress: o.hostAddress, pcap: o.pcap },
    `up: ${tap.name} ${iface.mac} ${iface.address === null ? '(address by DHCP)' : `${iface.address}/${iface.prefixLength}`}`
      + `${iface.gateway !== null ? ` via ${iface.gateway}` : ''} mtu ${iface.mtu}`
      + `${o.netns !== null ? ` (device in netns ${o.netns})` : ''}${o.hostAddress !== null ? `, host side ${o.hostAddress}` : ''}`
      + `${o.pcap !== null ? `, capturing to ${o.pcap}` : ''}`);
    const s = stack;

    const listening = (service: string, proto: string, port: number, extra: Fields = {}, note = ''): void => {
      emit('listening', { service, proto, port, ...extra }, `listening: ${service} on ${proto} ${iface.address}:${port}${note}`);
    };
    const track = (service: string, sock: { remoteAddress?: string; remotePort?: number; bytesRead: number; bytesWritten: number;
      destroy(): void; on(e: 'error', f: (e: Error) => void): unknown; once(e: 'close', f: () => void): unknown; }): void => {
      const remote = `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? 0}`;
      sockets.add(sock);
      emit('connection', { service, remote }, `connection: ${service} from ${remote}`);
      sock.on('error', (e: Error) => fail(e.message, { service, remote }));
      sock.once('close', () => {
        sockets.delete(sock);
        emit('close', { service, remote, bytesIn: sock.bytesRead, bytesOut: sock.bytesWritten },
          `closed: ${service} from ${remote} (${sock.bytesRead} bytes in, ${sock.bytesWritten} out)`);
      });
    };
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
        sock.resume();
      });
      server.on('error', (e: Error) => fail(e.message, { service: 'discard' }));
      await listenTcp(server, o.discard, 'discard');
      servers.push(server);
      listening('discard', 'tcp', o.discard);
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
      app.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        res.once('close', () => emit('request', { service, method: req.method ?? '', url: req.url ?? '', status: res.statusCode },
          `request: ${service} ${req.method ?? ''} ${req.url ?? ''} -> ${res.statusCode}`));
      });
      app.server.on('tlsClientError', (e: Error) => fail(`TLS: ${e.message}`, { service }));
      app.server.on('clientError', (e: Error) => fail(e.message, { service }));
      await new Promise<void>((resolve, reject) => {
        app.server.once('error', (e: Error) => reject(new Error(`${service}: cannot listen on port ${spec.port}: ${e.message}`)));
        app.listen(spec.port, () => resolve());
      });
      servers.push({ close: (cb) => app.close(() => cb()) });
      listening(service, 'tcp', spec.port, { dir: spec.dir }, spec.dir !== null ? ` serving ${spec.dir}` : '');
    };
    if (o.http !== null) {
      await web('http', o.http, s.http.createServer(withUploads(o.http.dir !== null ? staticFiles(o.http.dir) : hello('http'))));
    }
    if (o.https !== null && tls !== null) {
      await web('https', o.https, s.https.createServer(tls, withUploads(o.https.dir !== null ? staticFiles(o.https.dir) : hello('https'))));
    }
    emit('ready', {}, 'ready: stop with Ctrl-C (SIGINT) or SIGTERM');
    await stopped;
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
    code = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Stop accepting, drop what is still open, wait (bounded) for the servers to report closed.
    const closing = servers.map((srv) => new Promise<void>((resolve) => {
      try {
        srv.close(() => resolve());
      } catch {
        resolve();
      }
    }));
    for (const sock of sockets) sock.destroy();
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
    // Whatever handle might linger (Node's server timers), do not hang after a clean stop.
    const exitCode = code;
    setTimeout(() => process.exit(exitCode), 1000).unref();
  }
  return code;
}
