/**
 * An in-memory UapiTarget: the device state the UAPI reads and changes,
 * with a log of every call so tests can check what was (not) done.
 */
import type { UapiDeviceState, UapiPeerHandle, UapiPeerState, UapiTarget } from '../../src/wireguard/uapi.js';
import { encodeHex } from '../../src/wireguard/key-text.js';

export class FakePeer implements UapiPeerHandle {
  readonly state: UapiPeerState;
  constructor(publicKey: Uint8Array, private readonly log: string[]) {
    this.state = {
      publicKey,
      presharedKey: null,
      endpoint: null,
      persistentKeepalive: 0,
      lastHandshakeMs: 0,
      rxBytes: 0,
      txBytes: 0,
      allowedIps: [],
    };
  }
  private get tag(): string {
    return encodeHex(this.state.publicKey).slice(0, 8);
  }
  setPresharedKey(key: Uint8Array | null): void {
    this.log.push(`psk ${this.tag} ${key === null ? 'none' : encodeHex(key).slice(0, 8)}`);
    this.state.presharedKey = key;
  }
  setEndpoint(address: string, port: number): void {
    this.log.push(`endpoint ${this.tag} ${address}:${port}`);
    this.state.endpoint = { address, port };
  }
  setPersistentKeepalive(seconds: number): void {
    this.log.push(`keepalive ${this.tag} ${seconds}`);
    this.state.persistentKeepalive = seconds;
  }
  replaceAllowedIps(): void {
    this.log.push(`replace-allowed ${this.tag}`);
    this.state.allowedIps = [];
  }
  addAllowedIp(address: string, prefixLength: number): void {
    this.log.push(`allowed ${this.tag} ${address}/${prefixLength}`);
    if (!this.state.allowedIps.some((a) => a.address === address && a.prefixLength === prefixLength)) {
      this.state.allowedIps.push({ address, prefixLength });
    }
  }
}

export class FakeTarget implements UapiTarget {
  privateKey: Uint8Array | null = null;
  listenPort = 0;
  fwmark = 0;
  readonly peers = new Map<string, FakePeer>();
  readonly log: string[] = [];
  /** Thrown by the next setListenPort when set. */
  listenPortError: Error | null = null;

  constructor(readonly suite: 'standard' | 'fips' = 'standard') {}

  getState(): UapiDeviceState {
    return {
      privateKey: this.privateKey,
      listenPort: this.listenPort,
      fwmark: this.fwmark,
      peers: [...this.peers.values()].map((p) => ({ ...p.state, allowedIps: [...p.state.allowedIps] })),
    };
  }
  setPrivateKey(key: Uint8Array | null): void {
    this.log.push(`private ${key === null ? 'none' : encodeHex(key).slice(0, 8)}`);
    this.privateKey = key;
  }
  setListenPort(port: number): void {
    if (this.listenPortError !== null) throw this.listenPortError;
    this.log.push(`port ${port}`);
    this.listenPort = port;
  }
  setFwmark(mark: number): void {
    this.log.push(`fwmark ${mark}`);
    this.fwmark = mark;
  }
  removeAllPeers(): void {
    this.log.push('remove-all');
    this.peers.clear();
  }
  peer(publicKey: Uint8Array, updateOnly: boolean): UapiPeerHandle | null {
    const hex = encodeHex(publicKey);
    let p = this.peers.get(hex);
    if (p === undefined && !updateOnly) {
      this.log.push(`create ${hex.slice(0, 8)}`);
      p = new FakePeer(publicKey, this.log);
      this.peers.set(hex, p);
    }
    return p ?? null;
  }
  removePeer(publicKey: Uint8Array): void {
    const hex = encodeHex(publicKey);
    if (this.peers.delete(hex)) this.log.push(`remove ${hex.slice(0, 8)}`);
  }
  /** The peer whose key is `fill` repeated (the tests' keys), or undefined. */
  byFill(fill: number, bytes = 32): FakePeer | undefined {
    return this.peers.get(Buffer.alloc(bytes, fill).toString('hex'));
  }
}
