/**
 * Node-side assembly of a WireGuard interface: keys from text, the outer
 * transport (host UDP by default, or a wirestack stack's UDP), the device as
 * an interface of the stack with routes for every allowed IP, host-name
 * endpoints resolved (and re-resolved when a peer goes quiet), and the
 * device's events as a Node EventEmitter.
 */
import { EventEmitter } from 'node:events';
import { formatIpv4, parseCidr, parseIpv4 } from '../wire/ipv4addr.js';
import { formatIp6, hostPortText, maskIp6, parseIp6 } from './ip6-text.js';
import { lookup } from 'node:dns/promises';
import type { Engine, InterfaceInfo } from '../engine/stack.js';
import type { SocketApi } from '../socket/api.js';
import { decodeKey, getSuite } from './crypto/index.js';
import type { SuiteName } from './crypto/suite.js';
import { WireGuardDevice, type WireGuardEvent } from './device.js';
import type { Peer } from './peer.js';
import { HostUdpTransport } from './transport-node.js';
import { NativeUdpTransport, nativeUdpAvailable } from './transport-native.js';
import { StackUdpTransport } from './stack-transport.js';
import { batchOptions, defaultCryptThreads, flushAtEndOfTask } from './crypt-native.js';
import type { WgTransport } from './transport.js';
import { UapiServer, handleUapiRequest } from './uapi.js';
import { uapiTargetFor } from './uapi-target.js';
import { PcapWriter, type PcapSink } from '../link/pcap-writer.js';
import type { Link } from '../link/link.js';

/** A peer in {@link WireGuardConfig}: keys as base64 text or bytes. */
export interface WireGuardPeerConfig {
  publicKey: string | Uint8Array;
  presharedKey?: string | Uint8Array;
  /** 'host:port' or { host, port }; a host name is resolved with the host's resolver. */
  endpoint?: string | { host: string; port: number };
  /** CIDR strings ('10.0.0.2/32') or parsed prefixes. */
  allowedIps?: Array<string | { address: string; prefixLength: number }>;
  persistentKeepalive?: number;
}

/** Options of `stack.addWireGuard`. */
export interface WireGuardConfig {
  /** Defaults to what the key lengths say (65-byte public keys: fips), else 'standard'. */
  suite?: SuiteName;
  privateKey: string | Uint8Array;
  /** Interface address(es) with prefix: one IPv4 and any IPv6 ones, e.g. ['10.0.0.1/24', 'fd00::1/64']. */
  address: string | string[];
  name?: string;
  mtu?: number;
  /** Outer UDP port (0 or absent: ephemeral). */
  listenPort?: number;
  /**
   * Outer transport: 'host' (the default: a host UDP socket through the
   * native addon — recvmmsg, no per-datagram garbage — or node:dgram where
   * the addon is not built; 'native' / 'dgram' force one), a wirestack
   * stack whose UDP carries the tunnel (`{ stack }`), or any {@link WgTransport}.
   */
  transport?: 'host' | 'dgram' | 'native' | { stack: { sockets: SocketApi }; address?: string } | WgTransport;
  /** Host address the host UDP socket binds (default '::', dual-stack; 0.0.0.0 where the host has no IPv6). */
  bindAddress?: string;
  peers?: WireGuardPeerConfig[];
  maxPeers?: number;
  maxAllowedIps?: number;
  stagedPackets?: number;
  handshakeBudget?: number;
  wallClock?: () => number;
  /** Resolves endpoint host names to IPv4 text (default: the host's resolver, node:dns lookup). */
  resolveHost?: (host: string) => Promise<string>;
  /**
   * Threads for the data path's ChaCha20-Poly1305 (the JS thread included):
   * packets are gathered per wake-up and crypted as a batch on the addon's
   * native threads (native/wgcrypt.c), then sent or delivered in order.
   * Default: the machine's cores (at most 8) with a host UDP transport; 0
   * handles each packet at once (the only mode for other transports unless
   * set). The fips suite batches but keeps its AES-GCM on the JS thread.
   */
  cryptThreads?: number;
  /** UDP GSO on send and GRO on receive on the native host transport (default true). */
  udpOffload?: boolean;
  /**
   * Capture the tunnel's inner traffic (the IP packets before encryption and
   * after decryption) as pcap with link type raw IP: a file path or a sink.
   */
  pcap?: string | PcapSink;
}

function toKey(k: string | Uint8Array, what: string): Uint8Array {
  return typeof k === 'string' ? decodeKey(k, what) : k;
}

function parsePrefix(p: string | { address: string; prefixLength: number }): { address: string; prefixLength: number } {
  if (typeof p !== 'string') return p;
  if (p.includes(':')) {
    // IPv6: 'fd00::/64' (a bare address is a /128, as wg(8) reads it).
    const [text, len] = p.trim().split('/');
    const b = new Uint8Array(16);
    const prefixLength = len === undefined ? 128 : Number(len);
    if (!parseIp6(text, b, 0) || !/^\d{1,3}$/.test(len ?? '128') || prefixLength > 128) throw new RangeError(`allowed IP '${p}' is not an IPv6 prefix`);
    maskIp6(b, 0, prefixLength);
    return { address: formatIp6(b, 0), prefixLength };
  }
  const cidr = parseCidr(p.trim(), 'allowed IP');
  return { address: formatIpv4(cidr.address), prefixLength: cidr.prefixLength };
}

/** 'host:port' or '[ipv6]:port'. */
function parseEndpoint(e: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof e !== 'string') return e;
  const i = e.lastIndexOf(':');
  const port = Number(e.slice(i + 1));
  let host = e.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw new RangeError(`endpoint '${e}': an IPv6 address needs brackets, [addr]:port`);
  if (i <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`endpoint '${e}' is not host:port`);
  return { host, port };
}

/** A name resolves to the resolver's first answer, IPv4 or IPv6 (wg(8) takes getaddrinfo's first as well). */
const hostResolver = async (host: string): Promise<string> => (await lookup(host)).address;

/** A WireGuard interface of a stack: the device plus Node conveniences. */
export class WireGuardInterface extends EventEmitter {
  /** Index of the interface in the stack. */
  readonly index: number;
  readonly info: InterfaceInfo;

  constructor(readonly device: WireGuardDevice, private readonly stack: Engine, info: InterfaceInfo,
    /** The pcap writer around the device when `pcap` was given (its `frames` counts the captured packets). */
    readonly capture: PcapWriter | null = null) {
    super();
    this.index = info.index;
    this.info = info;
  }

  /** How endpoint names are resolved (config `resolveHost`). */
  resolveHost: (host: string) => Promise<string> = hostResolver;

  /** Name of the device (wg0). */
  get name(): string {
    return this.device.name;
  }

  /** The outer UDP port. */
  get listenPort(): number {
    return this.device.listenPort;
  }

  /** Our public key, base64. */
  get publicKey(): string {
    const k = this.device.publicKey;
    return k === null ? '' : Buffer.from(k).toString('base64');
  }

  /** Add or update a peer at run time (endpoint names are resolved first). */
  async addPeer(config: WireGuardPeerConfig): Promise<Peer> {
    const publicKey = toKey(config.publicKey, 'peer public key');
    let endpoint: { address: string; port: number } | null = null;
    let endpointHost: string | null = null;
    if (config.endpoint !== undefined) {
      const e = parseEndpoint(config.endpoint);
      endpointHost = parseIpv4(e.host) >= 0 || e.host.includes(':') ? null : e.host;
      const address = endpointHost === null ? e.host : await this.resolveHost(e.host);
      endpoint = { address, port: e.port };
    }
    const p = this.device.addPeer({
      publicKey,
      presharedKey: config.presharedKey === undefined ? undefined : toKey(config.presharedKey, 'preshared key'),
      endpoint,
      endpointHost,
      allowedIps: (config.allowedIps ?? []).map(parsePrefix),
      persistentKeepalive: config.persistentKeepalive,
    });
    this.stack.kick();
    return p;
  }

  /** Peers for display: keys base64, endpoint text, counters, latest handshake (Date or null). */
  peers(): Array<{ publicKey: string; endpoint: string | null; allowedIps: string[]; latestHandshake: Date | null;
    rxBytes: number; txBytes: number; persistentKeepalive: number }> {
    return this.device.activePeers().map((p) => {
      const d = this.device.describePeer(p);
      return {
        publicKey: Buffer.from(d.publicKey).toString('base64'),
        endpoint: d.endpoint === null ? null : hostPortText(d.endpoint),
        allowedIps: d.allowedIps.map((a) => `${a.address}/${a.prefixLength}`),
        latestHandshake: d.lastHandshakeMs === 0 ? null : new Date(d.lastHandshakeMs),
        rxBytes: d.rxBytes,
        txBytes: d.txBytes,
        persistentKeepalive: d.persistentKeepalive,
      };
    });
  }

  /** Set when the outer transport is a host UDP socket that `listen_port` may re-open ('' for the default, dual-stack '::'). */
  hostBindAddress: string | null = null;

  /** The UAPI target of this device (for `wg`-style control in-process or over a socket). */
  uapiTarget() {
    return uapiTargetFor(this.device, this.hostBindAddress === null ? undefined : (port) => {
      const address = this.hostBindAddress === null || this.hostBindAddress === '' ? undefined : this.hostBindAddress;
      const old = this.device.transport;
      if (old instanceof NativeUdpTransport) {
        // Synchronous: a port in use is reported to `wg set` as EADDRINUSE.
        this.device.attachTransport(NativeUdpTransport.open({ port, address, maxDatagram: this.device.mtu + 64 }));
        old.close();
        return;
      }
      HostUdpTransport.open({ port, address }).then((t) => {
        const old = this.device.transport;
        this.device.attachTransport(t);
        old?.close();
      }, (err: unknown) => this.emit('warning', err));
    });
  }

  /** Answer one UAPI request text (`get=1` / `set=1` …) in-process. */
  uapi(request: string): string {
    return handleUapiRequest(this.uapiTarget(), request);
  }

  /**
   * Serve the UAPI on a Unix socket at /var/run/wireguard/NAME.sock (or
   * `dir`), so Debian's `wg show NAME` / `wg set NAME ...` work.
   */
  async serveUapi(options: { dir?: string } = {}): Promise<UapiServer> {
    const server = await UapiServer.listen(this.uapiTarget(), this.name, options);
    this.uapiServers.push(server);
    return server;
  }

  private readonly uapiServers: UapiServer[] = [];

  /** Close the outer transport and UAPI sockets, wipe keys, and finish the capture file. */
  async close(): Promise<void> {
    for (const s of this.uapiServers.splice(0)) await s.close();
    // The writer flushes, closes its file, then closes the device it wraps.
    if (this.capture !== null) this.capture.close();
    else this.device.close();
  }
}

/** Build a WireGuard interface on `stack` (see `Stack.addWireGuard`). */
export async function createWireGuard(stack: Engine, config: WireGuardConfig): Promise<WireGuardInterface> {
  const privateKey = toKey(config.privateKey, 'private key');
  const peerKeys = (config.peers ?? []).map((p) => toKey(p.publicKey, 'peer public key'));
  let suiteName: SuiteName = config.suite ?? 'standard';
  if (config.suite === undefined && peerKeys.length > 0 && peerKeys[0].length === 65) suiteName = 'fips';
  const suite = getSuite(suiteName);
  for (const k of peerKeys) {
    if (k.length !== suite.publicKeyLen) {
      throw new RangeError(`peer public key of ${k.length} bytes does not fit the ${suiteName} suite (${suite.publicKeyLen} bytes)`);
    }
  }
  const addresses = Array.isArray(config.address) ? config.address : [config.address];
  if (addresses.length === 0) throw new RangeError('a WireGuard interface needs an address');
  const t = config.transport ?? 'host';
  const hostUdp = t === 'host' || t === 'dgram' || t === 'native';
  const threads = config.cryptThreads ?? (hostUdp ? defaultCryptThreads() : 0);
  const device = new WireGuardDevice({
    suite, privateKey, name: config.name, mtu: config.mtu, maxPeers: config.maxPeers,
    maxAllowedIps: config.maxAllowedIps, stagedPackets: config.stagedPackets, handshakeBudget: config.handshakeBudget,
    wallClock: config.wallClock, ...batchOptions(suiteName, threads),
  });
  if (threads > 0) flushAtEndOfTask(device);
  let transport: WgTransport;
  let hostBind: string | null = null;
  if (hostUdp) {
    const bind = { port: config.listenPort ?? 0, address: config.bindAddress };
    const native = t === 'native' || (t === 'host' && nativeUdpAvailable());
    const offload = config.udpOffload ?? true;
    transport = native ? NativeUdpTransport.open({ ...bind, maxDatagram: device.mtu + 64, gso: offload, gro: offload })
      : await HostUdpTransport.open(bind);
    hostBind = config.bindAddress ?? '';
  } else if ('stack' in t) {
    transport = new StackUdpTransport(t.stack.sockets, config.listenPort ?? 0, t.address);
  } else {
    transport = t;
  }
  device.attachTransport(transport);
  let info: InterfaceInfo;
  let capture: PcapWriter | null = null;
  try {
    if (config.pcap !== undefined) capture = new PcapWriter(device, config.pcap);
    const link: Link = capture ?? device;
    // One IPv4 address and any IPv6 ones (the stack's addInterface takes the list).
    info = stack.addInterface(link, { address: addresses, name: device.name, mtu: device.mtu });
  } catch (e) {
    if (capture !== null) capture.close();
    else device.close();
    throw e;
  }
  const iface = new WireGuardInterface(device, stack, info, capture);
  iface.hostBindAddress = hostBind;
  if (config.resolveHost !== undefined) iface.resolveHost = config.resolveHost;
  device.onAllowedIpsChanged = (address, prefixLength, added) => {
    const text = `${formatIpv4(address)}/${prefixLength}`;
    if (added) stack.addRoute(text, { interface: info.index });
    else stack.removeRoute(text, { interface: info.index });
  };
  // A stack built with `ipv6: false` has no IPv6 routes: its device still holds the
  // IPv6 allowed IPs (wg show lists them) but routes nothing there.
  if (stack.ip6 !== null) device.onAllowedIps6Changed = (address, prefixLength, added) => {
    const text = `${address}/${prefixLength}`;
    if (added) stack.addRoute(text, { interface: info.index });
    else stack.removeRoute(text, { interface: info.index });
  };
  device.onEvent = (e: WireGuardEvent) => {
    iface.emit(e.type, { ...e, peer: Buffer.from(e.peer).toString('base64') });
    if (e.type === 'peer-quiet') void reresolve(iface, e.peer);
  };
  try {
    for (const p of config.peers ?? []) await iface.addPeer(p);
  } catch (e) {
    await iface.close();
    throw e;
  }
  return iface;
}

/** Look a quiet peer's endpoint name up again: it may have moved (dynamic DNS). */
async function reresolve(iface: WireGuardInterface, key: Uint8Array): Promise<void> {
  const p = iface.device.findPeer(key);
  if (p === null || p.endpointHost === null) return;
  try {
    const address = await iface.resolveHost(p.endpointHost);
    if (p.inUse) iface.device.setEndpoint(p, address, p.endpointPort);
  } catch (err) {
    iface.emit('warning', err);
  }
}
