/**
 * What a WireGuard device is built from and reports: its options, a peer's
 * configuration and the device's events (device.ts re-exports them).
 */
import type { WgSuite } from './crypto/suite.js';
import type { BatchCrypter } from './batch.js';

/** Sizing and behaviour of a device. */
export interface WireGuardDeviceOptions {
  suite: WgSuite;
  /** 32-byte private key; null leaves the device without identity until {@link WireGuardDevice.setPrivateKey}. */
  privateKey: Uint8Array | null;
  /** Device name, e.g. 'wg0'. */
  name?: string;
  /** Inner MTU (default 1420, WireGuard's). */
  mtu?: number;
  /** Peer slots (default 16). */
  maxPeers?: number;
  /** Allowed-IP prefixes over all peers (default 256). */
  maxAllowedIps?: number;
  /** IPv6 allowed-IP prefixes over all peers (default: maxAllowedIps). */
  maxAllowedIps6?: number;
  /** Packets staged per peer while a handshake is under way (default 128, as Linux; the oldest is dropped). */
  stagedPackets?: number;
  /** Bytes of the receive queue between transport and poll (default 2 MiB). */
  receiveQueueBytes?: number;
  /** Handshake messages the device processes per second before it demands cookies (default 2000). */
  handshakeBudget?: number;
  /** Wall-clock ms for TAI64N timestamps and "latest handshake" (default Date.now). */
  wallClock?: () => number;
  /** 32-bit randomness for indices and jitter (default from the suite). */
  random32?: () => number;
  /**
   * Gather data packets per wake-up and crypt them as a batch (batch.ts;
   * default false: each packet at once). Sends leave at {@link WireGuardDevice.flushTx},
   * which {@link WireGuardDevice.txFlushHook} asks for.
   */
  batch?: boolean;
  /** Where a batch's crypt runs (the native threads of native/wgcrypt.c); standard suite only, else the suite's own calls. */
  crypter?: BatchCrypter | null;
}

/** A peer as configured. */
export interface WireGuardPeerOptions {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array | null;
  /** IPv4 (dotted quad) or IPv6 address, resolved already, and port. */
  endpoint?: { address: string; port: number } | null;
  /** Original host name of the endpoint, kept for re-resolution. */
  endpointHost?: string | null;
  allowedIps?: Array<{ address: string; prefixLength: number }>;
  /** Seconds; 0 off. */
  persistentKeepalive?: number;
}

/** Reported through {@link WireGuardDevice.onEvent}. */
export type WireGuardEvent =
  | { type: 'handshake'; peer: Uint8Array; initiator: boolean }
  | { type: 'handshake-failed'; peer: Uint8Array }
  | { type: 'peer-quiet'; peer: Uint8Array }
  | { type: 'keys-zeroed'; peer: Uint8Array };
