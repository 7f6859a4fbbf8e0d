/**
 * The Noise_IKpsk2 handshake of WireGuard (paper section 5.4), for either
 * suite. These functions build and consume the handshake messages and
 * derive the transport keys; MACs, cookies, indices, keypair rotation and
 * timers belong to cookie.ts, the device and the peer. A failed consume
 * leaves the handshake state untouched, so forged messages cannot disturb a
 * handshake in progress.
 *
 * Handshake messages are rare, so this code may allocate (the crypto calls
 * do anyway); the data path never comes here.
 */
import { kdf, type WgSuite } from './crypto/suite.js';
import { INITIATION_MIN_INTERVAL, MSG_INITIATION, MSG_RESPONSE, TAG_LEN } from './constants.js';
import { type MessageLayout, TIMESTAMP_LEN, readU32le, writeType, writeU32le } from './messages.js';

export const enum HandshakeStage {
  None = 0,
  CreatedInitiation = 1,
  ConsumedInitiation = 2,
  CreatedResponse = 3,
  ConsumedResponse = 4,
}

const EMPTY = new Uint8Array(0);

/** Our static key pair with the hashes every handshake starts from. */
export class StaticIdentity {
  readonly publicKey: Uint8Array;
  /** C0 = HASH(construction). */
  readonly initialChainingKey: Uint8Array;
  /** H0 = HASH(C0 ‖ identifier). */
  readonly initialHash: Uint8Array;
  /** HASH(H0 ‖ our public key): where a responder's transcript starts. */
  readonly responderHash: Uint8Array;

  constructor(readonly suite: WgSuite, readonly privateKey: Uint8Array) {
    this.publicKey = suite.publicKey(privateKey);
    const enc = new TextEncoder();
    this.initialChainingKey = suite.hash(enc.encode(suite.construction));
    this.initialHash = suite.hash(this.initialChainingKey, enc.encode(suite.identifier));
    this.responderHash = suite.hash(this.initialHash, this.publicKey);
  }
}

/** The per-peer handshake in progress. */
export class HandshakeState {
  stage = HandshakeStage.None;
  chainingKey: Uint8Array = new Uint8Array(32);
  hash: Uint8Array = new Uint8Array(32);
  ephemeralPrivate: Uint8Array = new Uint8Array(32);
  remoteEphemeral: Uint8Array = EMPTY;
  localIndex = 0;
  remoteIndex = 0;
  /** The greatest TAI64N timestamp accepted from this peer (replay defence). */
  readonly latestTimestamp = new Uint8Array(TIMESTAMP_LEN);
  /** When the last initiation from this peer was consumed (ms, monotonic); -Infinity never. */
  lastInitiationConsumed = -Infinity;

  /** Forget the ephemeral secrets (after deriving keys, or on give-up). */
  clear(): void {
    this.stage = HandshakeStage.None;
    this.chainingKey.fill(0);
    this.hash.fill(0);
    this.ephemeralPrivate.fill(0);
    this.remoteEphemeral = EMPTY;
  }
}

/** What the handshake needs to know of a peer. */
export interface NoisePeer {
  readonly remotePublicKey: Uint8Array;
  /** 32 bytes, all zero when no preshared key is configured. */
  readonly presharedKey: Uint8Array;
  /** DH(our static, their static), precomputed; null when their key is unusable. */
  readonly staticShared: Uint8Array | null;
  readonly handshake: HandshakeState;
}

/** Transport keys from a finished handshake. */
export interface SessionKeys {
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  localIndex: number;
  remoteIndex: number;
  initiator: boolean;
}

function mixHash(suite: WgSuite, h: Uint8Array, data: Uint8Array): Uint8Array {
  return suite.hash(h, data);
}

/**
 * TAI64N of a wall-clock time in ms: 8 bytes big-endian 2^62 + 10 + seconds,
 * 4 bytes big-endian nanoseconds rounded down to 2^24 ns as Linux does, so a
 * timestamp does not leak fine timing.
 */
export function writeTai64n(out: Uint8Array, o: number, wallClockMs: number): void {
  const secs = Math.floor(wallClockMs / 1000);
  const nanos = ((wallClockMs - secs * 1000) * 1e6) & ~0xffffff;
  const low = secs + 10;
  const high = 0x40000000 + Math.floor(low / 0x100000000);
  out[o] = high >>> 24; out[o + 1] = high >>> 16; out[o + 2] = high >>> 8; out[o + 3] = high;
  out[o + 4] = low >>> 24; out[o + 5] = low >>> 16; out[o + 6] = low >>> 8; out[o + 7] = low;
  out[o + 8] = nanos >>> 24; out[o + 9] = nanos >>> 16; out[o + 10] = nanos >>> 8; out[o + 11] = nanos;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Write an initiation (without mac1/mac2) into `out[0 .. layout.initLen)` and
 * move the peer's handshake to CreatedInitiation. Returns false when the
 * peer's static key is unusable.
 */
export function createInitiation(id: StaticIdentity, layout: MessageLayout, peer: NoisePeer, localIndex: number,
  wallClockMs: number, out: Uint8Array): boolean {
  const s = id.suite;
  if (peer.staticShared === null) return false;
  const hs = peer.handshake;
  let c = id.initialChainingKey;
  let h = mixHash(s, id.initialHash, peer.remotePublicKey);
  const ePriv = s.generatePrivateKey();
  const ePub = s.publicKey(ePriv);
  writeType(out, 0, MSG_INITIATION);
  writeU32le(out, 4, localIndex);
  out.set(ePub, layout.initEphemeral);
  [c] = kdf(s, c, ePub, 1);
  h = mixHash(s, h, ePub);
  const es = s.dh(ePriv, peer.remotePublicKey);
  if (es === null) return false;
  let k: Uint8Array;
  [c, k] = kdf(s, c, es, 2);
  const encStatic = s.seal(k, 0, id.publicKey, h);
  out.set(encStatic, layout.initStatic);
  h = mixHash(s, h, encStatic);
  [c, k] = kdf(s, c, peer.staticShared, 2);
  const ts = new Uint8Array(TIMESTAMP_LEN);
  writeTai64n(ts, 0, wallClockMs);
  const encTs = s.seal(k, 0, ts, h);
  out.set(encTs, layout.initTimestamp);
  h = mixHash(s, h, encTs);
  hs.stage = HandshakeStage.CreatedInitiation;
  hs.chainingKey = c;
  hs.hash = h;
  hs.ephemeralPrivate = ePriv;
  hs.localIndex = localIndex;
  return true;
}

/** Why an initiation was refused, for counters. */
export const enum InitiationError {
  None = 0,
  Decrypt = 1,
  UnknownPeer = 2,
  Replay = 3,
  Flood = 4,
}

/** Result of {@link consumeInitiation}: the peer, or null with `error` set. */
export interface ConsumedInitiation<P extends NoisePeer> {
  peer: P | null;
  error: InitiationError;
}

/**
 * Authenticate an initiation (mac1 already checked) and, when it is fresh,
 * record it in the sender's handshake state (stage ConsumedInitiation).
 */
export function consumeInitiation<P extends NoisePeer>(id: StaticIdentity, layout: MessageLayout, msg: Uint8Array,
  findPeer: (publicKey: Uint8Array) => P | null, now: number): ConsumedInitiation<P> {
  const s = id.suite;
  const P = layout.pub;
  let c = id.initialChainingKey;
  let h = id.responderHash;
  const ePub = msg.slice(layout.initEphemeral, layout.initEphemeral + P);
  [c] = kdf(s, c, ePub, 1);
  h = mixHash(s, h, ePub);
  const es = s.dh(id.privateKey, ePub);
  if (es === null) return { peer: null, error: InitiationError.Decrypt };
  let k: Uint8Array;
  [c, k] = kdf(s, c, es, 2);
  const encStatic = msg.subarray(layout.initStatic, layout.initStatic + P + TAG_LEN);
  const remoteStatic = s.open(k, 0, encStatic, h);
  if (remoteStatic === null) return { peer: null, error: InitiationError.Decrypt };
  h = mixHash(s, h, encStatic);
  const peer = findPeer(remoteStatic);
  if (peer === null) return { peer: null, error: InitiationError.UnknownPeer };
  if (peer.staticShared === null) return { peer: null, error: InitiationError.Decrypt };
  [c, k] = kdf(s, c, peer.staticShared, 2);
  const encTs = msg.subarray(layout.initTimestamp, layout.initTimestamp + TIMESTAMP_LEN + TAG_LEN);
  const ts = s.open(k, 0, encTs, h);
  if (ts === null) return { peer: null, error: InitiationError.Decrypt };
  h = mixHash(s, h, encTs);
  const hs = peer.handshake;
  if (compareBytes(ts, hs.latestTimestamp) <= 0) return { peer: null, error: InitiationError.Replay };
  if (now - hs.lastInitiationConsumed < INITIATION_MIN_INTERVAL) return { peer: null, error: InitiationError.Flood };
  hs.latestTimestamp.set(ts);
  hs.lastInitiationConsumed = now;
  hs.stage = HandshakeStage.ConsumedInitiation;
  hs.chainingKey = c;
  hs.hash = h;
  hs.remoteEphemeral = ePub;
  hs.remoteIndex = readU32le(msg, 4);
  hs.ephemeralPrivate.fill(0);
  return { peer, error: InitiationError.None };
}

/** The response's ee, se and psk steps, the same on both sides: C, H and the key sealing "nothing". */
function mixResponderKeys(s: WgSuite, c: Uint8Array, h: Uint8Array, ee: Uint8Array, se: Uint8Array,
  psk: Uint8Array): { c: Uint8Array; h: Uint8Array; k: Uint8Array } {
  [c] = kdf(s, c, ee, 1);
  [c] = kdf(s, c, se, 1);
  const [c2, tau, k] = kdf(s, c, psk, 3);
  return { c: c2, h: mixHash(s, h, tau), k };
}

/**
 * Write a response (without macs) to a consumed initiation into
 * `out[0 .. layout.respLen)`; stage becomes CreatedResponse.
 */
export function createResponse(id: StaticIdentity, layout: MessageLayout, peer: NoisePeer, localIndex: number,
  out: Uint8Array): boolean {
  const s = id.suite;
  const hs = peer.handshake;
  if (hs.stage !== HandshakeStage.ConsumedInitiation) return false;
  let c = hs.chainingKey;
  let h = hs.hash;
  const ePriv = s.generatePrivateKey();
  const ePub = s.publicKey(ePriv);
  writeType(out, 0, MSG_RESPONSE);
  writeU32le(out, 4, localIndex);
  writeU32le(out, 8, hs.remoteIndex);
  out.set(ePub, layout.respEphemeral);
  [c] = kdf(s, c, ePub, 1);
  h = mixHash(s, h, ePub);
  const ee = s.dh(ePriv, hs.remoteEphemeral);
  const se = s.dh(ePriv, peer.remotePublicKey);
  if (ee === null || se === null) return false;
  const mixed = mixResponderKeys(s, c, h, ee, se, peer.presharedKey);
  c = mixed.c;
  h = mixed.h;
  const empty = s.seal(mixed.k, 0, EMPTY, h);
  out.set(empty, layout.respEmpty);
  h = mixHash(s, h, empty);
  hs.stage = HandshakeStage.CreatedResponse;
  hs.chainingKey = c;
  hs.hash = h;
  hs.localIndex = localIndex;
  ePriv.fill(0);
  return true;
}

/**
 * Authenticate a response to our initiation (mac1 already checked; the
 * caller found `peer` by the receiver index). Stage becomes ConsumedResponse.
 */
export function consumeResponse(id: StaticIdentity, layout: MessageLayout, msg: Uint8Array, peer: NoisePeer): boolean {
  const s = id.suite;
  const hs = peer.handshake;
  if (hs.stage !== HandshakeStage.CreatedInitiation) return false;
  let c = hs.chainingKey;
  let h = hs.hash;
  const ePub = msg.slice(layout.respEphemeral, layout.respEphemeral + layout.pub);
  [c] = kdf(s, c, ePub, 1);
  h = mixHash(s, h, ePub);
  const ee = s.dh(hs.ephemeralPrivate, ePub);
  const se = s.dh(id.privateKey, ePub);
  if (ee === null || se === null) return false;
  const mixed = mixResponderKeys(s, c, h, ee, se, peer.presharedKey);
  c = mixed.c;
  h = mixed.h;
  const empty = msg.subarray(layout.respEmpty, layout.respEmpty + TAG_LEN);
  if (s.open(mixed.k, 0, empty, h) === null) return false;
  h = mixHash(s, h, empty);
  hs.stage = HandshakeStage.ConsumedResponse;
  hs.chainingKey = c;
  hs.hash = h;
  hs.remoteIndex = readU32le(msg, 4);
  hs.ephemeralPrivate.fill(0);
  return true;
}

/**
 * Derive the transport keys of a finished handshake (we created the response,
 * or consumed one) and wipe the handshake's secrets. Null in any other stage.
 */
export function beginSession(id: StaticIdentity, peer: NoisePeer): SessionKeys | null {
  const hs = peer.handshake;
  let initiator: boolean;
  if (hs.stage === HandshakeStage.ConsumedResponse) initiator = true;
  else if (hs.stage === HandshakeStage.CreatedResponse) initiator = false;
  else return null;
  const [t1, t2] = kdf(id.suite, hs.chainingKey, EMPTY, 2);
  const keys: SessionKeys = {
    sendKey: initiator ? t1 : t2,
    receiveKey: initiator ? t2 : t1,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
    initiator,
  };
  hs.clear();
  return keys;
}
