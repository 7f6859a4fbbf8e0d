/**
 * A peer's state: static key material, endpoint, keypairs (current, previous
 * and the responder's unconfirmed next), the staged-packet queue, counters and
 * timer deadlines. Peers and their keypairs are made once per slot when the
 * device is built; their byte storage is carved from the device's arena.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';
import type { WgKeyHandle, WgSuite } from './crypto/suite.js';
import { CookieMaker } from './cookie.js';
import { HandshakeState, type NoisePeer } from './noise.js';

/** Keypair slots per peer: current, previous, next, and one being made. */
export const KEYPAIRS_PER_PEER = 4;

export class Keypair {
  /** Key storage lives in the arena; these views are made once. */
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** The suite's cipher state for each key (WgSuite.keyHandle), made at install, freed at drop; null for suites without. */
  sendHandle: WgKeyHandle | null = null;
  receiveHandle: WgKeyHandle | null = null;
  inUse = false;
  sendCounter = 0;
  localIndex = 0;
  remoteIndex = 0;
  /** Monotonic ms when the session began. */
  created = 0;
  initiator = false;
  /** Slot in the device's replay windows. */
  readonly replaySlot: number;

  constructor(keys: Uint8Array, offset: number, replaySlot: number) {
    this.sendKey = keys.subarray(offset, offset + 32);
    this.receiveKey = keys.subarray(offset + 32, offset + 64);
    this.replaySlot = replaySlot;
  }

  wipe(): void {
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
    this.inUse = false;
    this.sendCounter = 0;
  }
}

export class Peer implements NoisePeer {
  inUse = false;
  remotePublicKey: Uint8Array = new Uint8Array(0);
  readonly presharedKey: Uint8Array;
  hasPresharedKey = false;
  staticShared: Uint8Array | null = null;
  readonly handshake = new HandshakeState();
  cookies: CookieMaker | null = null;

  /** Endpoint as the engine's signed int32 address and port; port 0 means none. */
  endpointAddress = 0;
  endpointPort = 0;
  /** 4, or 6 when the endpoint is the IPv6 address in {@link endpoint6} (then endpointAddress is 0). */
  endpointFamily = 4;
  /** The IPv6 endpoint address (network order), when endpointFamily is 6. */
  readonly endpoint6 = new Uint8Array(16);
  /** Host name the endpoint was configured with (re-resolved when the peer goes quiet), or null. */
  endpointHost: string | null = null;
  persistentKeepalive = 0;

  readonly keypairs: Keypair[] = [];
  current: Keypair | null = null;
  previous: Keypair | null = null;
  next: Keypair | null = null;

  // Timer deadlines, monotonic ms; Infinity when not armed (timers.ts).
  retransmitHandshakeAt = Infinity;
  sendKeepaliveAt = Infinity;
  newHandshakeAt = Infinity;
  zeroKeysAt = Infinity;
  persistentKeepaliveAt = Infinity;
  handshakeAttempts = 0;
  /** When we last sent an initiation (ms), for the REKEY_TIMEOUT spacing. */
  lastSentHandshake = -Infinity;
  /** An initiation is owed at the next poll (set from the data path, which must not do crypto twice). */
  initiationWanted = false;
  /** The owed initiation is a retry (keeps the attempt count). */
  initiationIsRetry = false;
  /** The receive path's "last-minute" rekey was already asked for this keypair. */
  sentLastMinuteHandshake = false;
  /** A keepalive is owed at the next poll. */
  keepaliveWanted = false;
  /** Data arrived while the keepalive timer was armed: re-arm it once it fires. */
  needAnotherKeepalive = false;
  /** Wall-clock ms of the last completed handshake; 0 never. */
  lastHandshakeWall = 0;
  rxBytes = 0;
  txBytes = 0;

  // Staged packets waiting for a session: a ring of fixed slots, the oldest dropped when full.
  private readonly staged: Uint8Array;
  private readonly stagedLen: Uint16Array;
  private stagedHead = 0;
  stagedCount = 0;

  static plan(plan: MemoryPlan, stagedPackets: number, mtu: number): void {
    plan.add('wg.peers', KEYPAIRS_PER_PEER * 64).add('wg.peers', 32)
      .add('wg.staged', stagedPackets * mtu).add('wg.staged', stagedPackets, 2);
  }

  constructor(arena: Arena, readonly slot: number, readonly stagedCapacity: number, readonly mtu: number) {
    const keys = arena.u8('wg.peers', KEYPAIRS_PER_PEER * 64);
    this.presharedKey = arena.u8('wg.peers', 32);
    this.staged = arena.u8('wg.staged', stagedCapacity * mtu);
    this.stagedLen = arena.u16('wg.staged', stagedCapacity);
    for (let i = 0; i < KEYPAIRS_PER_PEER; i++) this.keypairs.push(new Keypair(keys, i * 64, slot * KEYPAIRS_PER_PEER + i));
  }

  /** Take this slot for a peer with `publicKey`. */
  assign(suite: WgSuite, privateKey: Uint8Array | null, publicKey: Uint8Array): void {
    this.inUse = true;
    this.remotePublicKey = publicKey.slice();
    this.cookies = new CookieMaker(suite, publicKey);
    this.updateStaticShared(suite, privateKey);
  }

  /** Recompute DH(our static, their static) after either key changed. */
  updateStaticShared(suite: WgSuite, privateKey: Uint8Array | null): void {
    this.staticShared = privateKey === null ? null : suite.dh(privateKey, this.remotePublicKey);
  }

  /** Wipe everything (peer removed). */
  release(): void {
    this.inUse = false;
    this.remotePublicKey = new Uint8Array(0);
    this.presharedKey.fill(0);
    this.hasPresharedKey = false;
    this.staticShared = null;
    this.handshake.clear();
    this.handshake.latestTimestamp.fill(0);
    this.handshake.lastInitiationConsumed = -Infinity;
    this.cookies = null;
    this.endpointAddress = 0;
    this.endpointPort = 0;
    this.endpointFamily = 4;
    this.endpoint6.fill(0);
    this.endpointHost = null;
    this.persistentKeepalive = 0;
    for (const k of this.keypairs) k.wipe();
    this.current = this.previous = this.next = null;
    this.retransmitHandshakeAt = this.sendKeepaliveAt = this.newHandshakeAt = Infinity;
    this.zeroKeysAt = this.persistentKeepaliveAt = Infinity;
    this.handshakeAttempts = 0;
    this.lastSentHandshake = -Infinity;
    this.initiationWanted = this.initiationIsRetry = this.keepaliveWanted = this.sentLastMinuteHandshake = this.needAnotherKeepalive = false;
    this.lastHandshakeWall = 0;
    this.rxBytes = this.txBytes = 0;
    this.clearStaged();
  }

  /** A free keypair slot (one always exists: at most three are referenced). */
  freeKeypair(): Keypair {
    for (const k of this.keypairs) {
      if (k !== this.current && k !== this.previous && k !== this.next) return k;
    }
    throw new Error('unreachable: no free keypair slot');
  }

  /** Queue an IP packet until a session exists; returns false when the oldest had to be dropped. */
  stage(b: Uint8Array, off: number, len: number): boolean {
    let dropped = false;
    if (this.stagedCount === this.stagedCapacity) {
      this.stagedHead = (this.stagedHead + 1) % this.stagedCapacity;
      this.stagedCount--;
      dropped = true;
    }
    const slot = (this.stagedHead + this.stagedCount) % this.stagedCapacity;
    copyBytes(b, off, this.staged, slot * this.mtu, len);
    this.stagedLen[slot] = len;
    this.stagedCount++;
    return !dropped;
  }

  /** Offset of the oldest staged packet in {@link stagedBuffer}; its length is {@link stagedLength}. */
  get stagedOffset(): number {
    return this.stagedHead * this.mtu;
  }

  get stagedLength(): number {
    return this.stagedLen[this.stagedHead];
  }

  get stagedBuffer(): Uint8Array {
    return this.staged;
  }

  dropOldestStaged(): void {
    if (this.stagedCount === 0) return;
    this.stagedHead = (this.stagedHead + 1) % this.stagedCapacity;
    this.stagedCount--;
  }

  clearStaged(): void {
    this.stagedHead = 0;
    this.stagedCount = 0;
  }
}
