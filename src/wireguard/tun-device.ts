/**
 * A WireGuard device for the host (wireguard-go's model): the device's inner
 * side is a Linux TUN device instead of a wirestack stack. IP packets the
 * host routes into the TUN are looked up by allowed IPs, encrypted and sent
 * over the host UDP socket (the native transport); datagrams decrypted from
 * allowed sources are written back to the TUN and reach the host's sockets.
 *
 * It is the same {@link WireGuardDevice} as inside a stack (timers, cookies,
 * roaming, replay windows, counters), driven in real time by the stack's
 * {@link RealtimeDriver}: polled when the TUN or the UDP socket has news,
 * and at the device's next timer deadline otherwise. The UAPI target
 * applies `fwmark` to the socket (SO_MARK), as the kernel's WireGuard does.
 */
import { performance } from 'node:perf_hooks';
import { RealtimeDriver } from '../engine/driver.js';
import type { FrameReceiver } from '../link/link.js';
import { TunLink } from '../link/tun.js';
import { WireGuardDevice, type WireGuardEvent } from './device.js';
import { getSuite, type SuiteName } from './crypto/index.js';
import { NativeUdpTransport } from './transport-native.js';
import { batchOptions, defaultCryptThreads, flushAtEndOfTask } from './crypt-native.js';
import { uapiTargetFor } from './uapi-target.js';
import type { WgStats } from './stats.js';
import type { UapiTarget } from './uapi.js';

/** The device's counters that count dropped packets, by reason. */
const DEVICE_DROPS = [
  'stagedDrops', 'txNoPeer', 'txNoEndpoint', 'txTransportDrops', 'rxQueueDrops', 'rxMalformed', 'rxNoIdentity', 'rxBadMac1',
  'rxRateLimited', 'rxHandshakeReplay', 'rxHandshakeFlood', 'rxUnknownPeer', 'rxHandshakeInvalid', 'rxUnknownIndex',
  'rxBadCookie', 'rxExpiredKey', 'rxBadAuth', 'rxReplay', 'rxBadPacket', 'rxBadSourceIp', 'rxBadEndpoint',
] as const satisfies ReadonlyArray<keyof WgStats>;

/** Options of {@link TunWireGuard.open}. */
export interface TunWireGuardOptions {
  /** TUN device name (at most 15 bytes). */
  name: string;
  suite: SuiteName;
  privateKey: Uint8Array;
  /** Inner MTU: the TUN's and the device's. */
  mtu: number;
  /** Outer UDP port (0: ephemeral). */
  listenPort?: number;
  /** Peer slots (default 64). */
  maxPeers?: number;
  /** Allowed-IP prefixes over all peers (default 1024). */
  maxAllowedIps?: number;
  /** Crypt threads of the data path, the JS thread included (default: one per core, at most 8; 0: no batching). */
  cryptThreads?: number;
  /** UDP GSO on send and GRO on receive (default true). */
  udpOffload?: boolean;
}

/** Counters of the bridge between the TUN and the device. */
export interface TunBridgeStats {
  /** Packets read from the TUN the device refused (no peer for the destination, no endpoint). */
  noRoute: number;
  /** Decrypted packets the TUN's TX ring had no room for. */
  tunFull: number;
}

/** Which cause a failed step of {@link TunWireGuard.open} had. */
export class TunOpenError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

export class TunWireGuard {
  readonly stats: TunBridgeStats = { noRoute: 0, tunFull: 0 };
  /** Set by the owner: device events (handshakes...). */
  onEvent: ((e: WireGuardEvent) => void) | null = null;

  private readonly driver: RealtimeDriver;
  private readonly fromTun: FrameReceiver;
  private readonly toTun: FrameReceiver;
  private closed = false;
  private now = 0;

  private constructor(readonly device: WireGuardDevice, readonly tun: TunLink, private transport: NativeUdpTransport) {
    this.fromTun = {
      receiveFrame: (b, off, len) => {
        if (this.device.transmit(b, off, len, this.now) !== 0) this.stats.noRoute++;
      },
    };
    this.toTun = {
      receiveFrame: (b, off, len) => {
        if (this.tun.transmit(b, off, len, this.now) !== 0) this.stats.tunFull++;
      },
    };
    const clock = () => performance.now();
    this.driver = new RealtimeDriver({ poll: (now) => this.poll(now) }, clock);
    device.onEvent = (e) => {
      if (this.onEvent !== null) this.onEvent(e);
    };
  }

  /**
   * Create the TUN device and the outer UDP socket and join them through a
   * new WireGuard device (no peers yet: {@link WireGuardDevice.addPeer}).
   * Throws {@link TunOpenError} naming what failed; nothing is left open.
   */
  static open(o: TunWireGuardOptions): TunWireGuard {
    const suite = getSuite(o.suite);
    const device = new WireGuardDevice({
      suite, privateKey: o.privateKey, name: o.name, mtu: o.mtu,
      maxPeers: o.maxPeers ?? 64, maxAllowedIps: o.maxAllowedIps ?? 1024,
      ...batchOptions(o.suite, o.cryptThreads ?? defaultCryptThreads()),
    });
    if (device.txBatch !== null) flushAtEndOfTask(device);
    const offload = o.udpOffload ?? true;
    let tun: TunLink;
    try {
      tun = TunLink.open(o.name, { mtu: o.mtu, ipv6: true });
    } catch (e) {
      const msg = (e as Error).message;
      // TUNSETIFF says EINVAL when the name belongs to a device of another kind (a TAP, a veth...).
      const hint = /Invalid argument/.test(msg) ? ' (a device of that name exists and is not a TUN device)' : '';
      throw new TunOpenError(`cannot create TUN device ${o.name}: ${msg}${hint}`, (e as NodeJS.ErrnoException).code);
    }
    let transport: NativeUdpTransport;
    try {
      transport = NativeUdpTransport.open({ port: o.listenPort ?? 0, maxDatagram: o.mtu + 64, gso: offload, gro: offload });
    } catch (e) {
      tun.close();
      const code = (e as NodeJS.ErrnoException).code;
      throw new TunOpenError(`cannot open UDP port ${o.listenPort ?? 0}: ${(e as Error).message}${code === 'EADDRINUSE' ? ' (port in use)' : ''}`, code);
    }
    device.attachTransport(transport);
    return new TunWireGuard(device, tun, transport);
  }

  get name(): string {
    return this.device.name;
  }

  get listenPort(): number {
    return this.device.listenPort;
  }

  /** Our public key, base64. */
  get publicKey(): string {
    const k = this.device.publicKey;
    return k === null ? '' : Buffer.from(k).toString('base64');
  }

  /** Mark the outer datagrams (SO_MARK) and record it for `wg show`; 0 clears it. */
  setFwmark(mark: number): void {
    this.transport.setMark(mark);
    this.device.fwmark = mark >>> 0;
  }

  /** The UAPI target of the device: `listen_port` re-opens the socket (keeping the mark), `fwmark` sets SO_MARK. */
  uapiTarget(): UapiTarget {
    const target = uapiTargetFor(this.device, (port) => {
      // Synchronous: a port in use is reported to `wg set` as EADDRINUSE.
      const next = NativeUdpTransport.open({ port, maxDatagram: this.device.mtu + 64 });
      try {
        if (this.device.fwmark !== 0) next.setMark(this.device.fwmark);
      } catch (e) {
        next.close();
        throw e;
      }
      const old = this.transport;
      this.device.attachTransport(next);
      this.transport = next;
      old.close();
    });
    return { ...target, setFwmark: (mark: number) => this.setFwmark(mark) };
  }

  /** Every drop counter on the path, non-zero ones only: the device's, the TUN's, the UDP socket's and the bridge's. */
  dropCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    const d = this.device.stats;
    for (const k of DEVICE_DROPS) if (d[k] !== 0) out[`wg.${k}`] = d[k];
    if (this.tun.stats.drops !== 0) out['tun.drops'] = this.tun.stats.drops;
    if (this.tun.nonIpv4 !== 0) out['tun.nonIpv4'] = this.tun.nonIpv4;
    if (this.transport.drops !== 0) out['udp.drops'] = this.transport.drops;
    if (this.stats.noRoute !== 0) out['bridge.noRoute'] = this.stats.noRoute;
    if (this.stats.tunFull !== 0) out['bridge.tunFull'] = this.stats.tunFull;
    return out;
  }

  /** Start moving packets. */
  start(): void {
    this.device.setWakeup(this.driver.kick);
    this.tun.setWakeup(this.driver.kick);
    this.driver.start();
  }

  /** Poll the TUN, then the device: the driver's step. Returns the device's next deadline. */
  private poll(now: number): number {
    if (this.closed) return Infinity;
    this.now = now;
    // The datagrams of one poll leave in sendmmsg batches of up to 64, not one syscall each.
    const t = this.transport;
    t.cork();
    this.tun.poll(now, this.fromTun);
    const next = this.device.poll(now, this.toTun);
    this.device.flushTx();
    t.uncork();
    return next;
  }

  /** Stop, close the TUN (the kernel removes the device and its routes) and the socket, wipe the keys. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.stop();
    this.device.setWakeup(null);
    this.tun.setWakeup(null);
    this.tun.close();
    this.device.close();
  }
}
