/**
 * The sending half of the device (after Linux's send.c): handshake messages,
 * transport data, keepalives and the staged-packet flush.
 */
import {
  DATA_HEADER_LEN, MSG_DATA, PADDING_MULTIPLE, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME, REKEY_TIMEOUT, TAG_LEN,
} from './constants.js';
import { copyBytes } from '../wire/bytes.js';
import { writeCounter, writeType, writeU32le } from './messages.js';
import { beginSession, createInitiation, createResponse } from './noise.js';
import type { Keypair, Peer } from './peer.js';
import {
  timerAnyAuthenticatedSent, timerDataSent, timerHandshakeInitiated, timerSessionDerived, timerTraversal,
} from './timers.js';
import type { WireGuardDevice } from './device.js';
import { flushTx, stageTx } from './batch.js';

/** Index-table values: peer slot × 8 + kind (0 handshake, 1 + keypair number). */
export const INDEX_KIND_HANDSHAKE = 0;

export function indexValue(peerSlot: number, kind: number): number {
  return peerSlot * 8 + kind;
}

/** Whether a keypair may still encrypt. */
export function canSend(kp: Keypair | null, now: number): kp is Keypair {
  return kp !== null && kp.inUse && kp.sendCounter < REJECT_AFTER_MESSAGES && now - kp.created < REJECT_AFTER_TIME;
}

/** Put the datagram in `dev.txBuf[0 .. len)` on the wire towards the peer's endpoint. */
function transmit(dev: WireGuardDevice, p: Peer, len: number): boolean {
  const t = dev.transport;
  if (t === null || p.endpointPort === 0) {
    dev.stats.txNoEndpoint++;
    return false;
  }
  const sent = p.endpointFamily === 6
    ? t.send6 !== undefined && t.send6(dev.txBuf, 0, len, p.endpoint6, 0, p.endpointPort)
    : t.send(dev.txBuf, 0, len, p.endpointAddress, p.endpointPort);
  if (!sent) {
    dev.stats.txTransportDrops++;
    return false;
  }
  p.txBytes += len;
  return true;
}

/** A fresh receiver index for the peer's next handshake message; the previous handshake's index stops resolving. */
function renewHandshakeIndex(dev: WireGuardDevice, p: Peer): number {
  const old = p.handshake.localIndex;
  const handshake = indexValue(p.slot, INDEX_KIND_HANDSHAKE);
  if (old !== 0 && dev.index.get(old) === handshake) dev.index.remove(old);
  return dev.index.insert(handshake, dev.random32);
}

/**
 * Send an initiation unless one went out within REKEY_TIMEOUT (one attempt,
 * retried by the timer — not one per data packet). A fresh (non-retry)
 * request restarts the attempt count, as Linux does.
 */
export function sendInitiation(dev: WireGuardDevice, p: Peer, now: number, isRetry: boolean): void {
  if (!isRetry) p.handshakeAttempts = 0;
  if (now - p.lastSentHandshake < REKEY_TIMEOUT) return;
  const id = dev.identity;
  if (id === null || p.cookies === null || p.endpointPort === 0) return;
  p.lastSentHandshake = now;
  const localIndex = renewHandshakeIndex(dev, p);
  const msg = dev.msgBuf;
  if (!createInitiation(id, dev.layout, p, localIndex, dev.wallClock(), msg)) {
    dev.index.remove(localIndex);
    dev.stats.handshakeErrors++;
    return;
  }
  p.cookies.addMacs(msg, dev.layout.initMac1, now);
  dev.txBuf.set(msg.subarray(0, dev.layout.initLen));
  if (transmit(dev, p, dev.layout.initLen)) dev.stats.initiationsSent++;
  timerHandshakeInitiated(p, now, dev.random32);
  timerTraversal(p, now);
  timerAnyAuthenticatedSent(p);
}

/** Answer a consumed initiation and derive the responder's (unconfirmed) keypair. */
export function sendResponse(dev: WireGuardDevice, p: Peer, now: number): void {
  const id = dev.identity;
  if (id === null || p.cookies === null) return;
  const localIndex = renewHandshakeIndex(dev, p);
  const msg = dev.msgBuf;
  if (!createResponse(id, dev.layout, p, localIndex, msg)) {
    dev.index.remove(localIndex);
    dev.stats.handshakeErrors++;
    return;
  }
  p.cookies.addMacs(msg, dev.layout.respMac1, now);
  dev.txBuf.set(msg.subarray(0, dev.layout.respLen));
  if (transmit(dev, p, dev.layout.respLen)) dev.stats.responsesSent++;
  timerTraversal(p, now);
  timerAnyAuthenticatedSent(p);
  const keys = beginSession(id, p);
  if (keys !== null) {
    installKeypair(dev, p, keys.sendKey, keys.receiveKey, keys.localIndex, keys.remoteIndex, false, now);
    timerSessionDerived(p, now);
  }
}

/** Drop a keypair: its index stops resolving and its keys are wiped. */
export function dropKeypair(dev: WireGuardDevice, kp: Keypair | null): void {
  if (kp === null || !kp.inUse) return;
  // Packets in the send batch may still need this key: seal and send them first.
  if (dev.txBatch !== null && dev.txBatch.count > 0) flushTx(dev, dev.lastNow);
  dev.index.remove(kp.localIndex);
  dev.suite.dropKey?.(kp.sendKey);
  dev.suite.dropKey?.(kp.receiveKey);
  freeKeyHandles(dev, kp);
  kp.wipe();
}

/** Release a keypair's cipher state (WgSuite.keyHandle). */
function freeKeyHandles(dev: WireGuardDevice, kp: Keypair): void {
  if (kp.sendHandle !== null) dev.suite.freeKeyHandle?.(kp.sendHandle);
  if (kp.receiveHandle !== null) dev.suite.freeKeyHandle?.(kp.receiveHandle);
  kp.sendHandle = kp.receiveHandle = null;
}

/**
 * A new session: an initiator's keys are usable at once (current), a
 * responder's wait as `next` until the initiator's first packet confirms
 * them (Linux's add_new_keypair).
 */
export function installKeypair(dev: WireGuardDevice, p: Peer, sendKey: Uint8Array, receiveKey: Uint8Array,
  localIndex: number, remoteIndex: number, initiator: boolean, now: number): void {
  const kp = p.freeKeypair();
  kp.sendKey.set(sendKey);
  kp.receiveKey.set(receiveKey);
  sendKey.fill(0);
  receiveKey.fill(0);
  // The keypair owns its cipher state from here until dropKeypair (fips: the AES-GCM contexts);
  // a slot wiped without dropKeypair (peer released) may still hold the last session's.
  freeKeyHandles(dev, kp);
  kp.sendHandle = dev.suite.keyHandle?.(kp.sendKey) ?? null;
  kp.receiveHandle = dev.suite.keyHandle?.(kp.receiveKey) ?? null;
  kp.inUse = true;
  kp.sendCounter = 0;
  kp.localIndex = localIndex;
  kp.remoteIndex = remoteIndex;
  kp.created = now;
  kp.initiator = initiator;
  dev.replay.reset(kp.replaySlot);
  dev.index.set(localIndex, indexValue(p.slot, 1 + p.keypairs.indexOf(kp)));
  if (initiator) {
    if (p.next !== null) {
      const oldCurrent = p.current;
      dropKeypair(dev, p.previous);
      p.previous = p.next;
      p.next = null;
      dropKeypair(dev, oldCurrent);
    } else {
      dropKeypair(dev, p.previous);
      p.previous = p.current;
    }
    p.current = kp;
  } else {
    dropKeypair(dev, p.next);
    p.next = kp;
    dropKeypair(dev, p.previous);
    p.previous = null;
  }
  p.sentLastMinuteHandshake = false;
}

/**
 * Encrypt `b[off .. off+len)` (an IP packet, or nothing for a keepalive)
 * with the peer's current keypair and send it — or, on a device with a send
 * batch, put it in the batch with its counter (sealed and sent at the end
 * of the wake-up, batch.ts). Padding to 16 bytes never goes past the
 * device MTU.
 */
export function sendData(dev: WireGuardDevice, p: Peer, kp: Keypair, b: Uint8Array, off: number, len: number, now: number): boolean {
  let padded = len + ((PADDING_MULTIPLE - (len % PADDING_MULTIPLE)) % PADDING_MULTIPLE);
  if (padded > dev.mtu) padded = len > dev.mtu ? len : dev.mtu;
  const counter = kp.sendCounter++;
  let ok: boolean;
  // Batches carry IPv4 endpoints (sendmmsg/GSO metadata); a peer at an IPv6 endpoint is sent one by one.
  if (dev.txBatch !== null && p.endpointFamily !== 6) {
    ok = stageTx(dev, p, kp, counter, b, off, len, padded);
  } else {
    const out = dev.txBuf;
    writeType(out, 0, MSG_DATA);
    writeU32le(out, 4, kp.remoteIndex);
    writeCounter(out, 8, counter);
    copyBytes(b, off, out, DATA_HEADER_LEN, len);
    out.fill(0, DATA_HEADER_LEN + len, DATA_HEADER_LEN + padded);
    dev.suite.sealInto(kp.sendKey, counter, out, DATA_HEADER_LEN, padded, out, DATA_HEADER_LEN, kp.sendHandle);
    ok = transmit(dev, p, DATA_HEADER_LEN + padded + TAG_LEN);
    if (ok) sentData(dev, p, len, now);
  }
  // Keep the key fresh: the initiator rekeys by age, either side by message count.
  if (kp.sendCounter > REKEY_AFTER_MESSAGES || (kp.initiator && now - kp.created > REKEY_AFTER_TIME)) p.initiationWanted = true;
  return ok;
}

/** Counters and timers after a data packet of `len` plaintext bytes (0: keepalive) left for the peer. */
export function sentData(dev: WireGuardDevice, p: Peer, len: number, now: number): void {
  if (len > 0) {
    dev.stats.dataSent++;
    timerDataSent(p, now);
  } else {
    dev.stats.keepalivesSent++;
  }
  timerAnyAuthenticatedSent(p);
  timerTraversal(p, now);
}

/** Send what waited for a session, or ask for a handshake when there is none. */
export function flushStaged(dev: WireGuardDevice, p: Peer, now: number): void {
  while (p.stagedCount > 0) {
    const kp = p.current;
    if (!canSend(kp, now)) {
      p.initiationWanted = true;
      return;
    }
    sendData(dev, p, kp, p.stagedBuffer, p.stagedOffset, p.stagedLength, now);
    p.dropOldestStaged();
  }
}

/** A keepalive: an empty data message (staged like data when there is no session yet). */
export function sendKeepalive(dev: WireGuardDevice, p: Peer, now: number): void {
  if (p.stagedCount === 0) p.stage(dev.txBuf, 0, 0);
  flushStaged(dev, p, now);
}
