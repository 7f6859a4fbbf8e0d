/**
 * Timer events of a peer, after the Linux driver's timers.c. Each event moves
 * deadlines held in the peer; the device's poll fires whatever is due
 * (device.ts, `runTimers`). Times are monotonic ms.
 */
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX } from './constants.js';
import type { Peer } from './peer.js';

/** Data (not a keepalive) was sent: expect an answer before KEEPALIVE + REKEY_TIMEOUT, else rekey. */
export function timerDataSent(p: Peer, now: number): void {
  if (p.newHandshakeAt === Infinity) p.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
}

/** Data was received: answer with a keepalive if we have nothing to say within KEEPALIVE_TIMEOUT. */
export function timerDataReceived(p: Peer, now: number): void {
  if (p.sendKeepaliveAt === Infinity) p.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
  else p.needAnotherKeepalive = true;
}

/** Anything authenticated was sent: it doubles as the keepalive. */
export function timerAnyAuthenticatedSent(p: Peer): void {
  p.sendKeepaliveAt = Infinity;
}

/** Anything authenticated was received: the peer is alive. */
export function timerAnyAuthenticatedReceived(p: Peer): void {
  p.newHandshakeAt = Infinity;
}

/** Any authenticated packet either way restarts the persistent keepalive interval. */
export function timerTraversal(p: Peer, now: number): void {
  if (p.persistentKeepalive > 0) p.persistentKeepaliveAt = now + p.persistentKeepalive * 1000;
}

/** An initiation went out: retry after REKEY_TIMEOUT plus jitter unless answered. */
export function timerHandshakeInitiated(p: Peer, now: number, random32: () => number): void {
  p.retransmitHandshakeAt = now + REKEY_TIMEOUT + ((random32() >>> 0) % REKEY_TIMEOUT_JITTER_MAX);
}

export function timerHandshakeComplete(p: Peer, wallClockMs: number): void {
  p.retransmitHandshakeAt = Infinity;
  p.handshakeAttempts = 0;
  p.sentLastMinuteHandshake = false;
  p.lastHandshakeWall = wallClockMs;
}

/** New keys exist: wipe all key material if nothing renews them within 3 × REJECT_AFTER_TIME. */
export function timerSessionDerived(p: Peer, now: number): void {
  p.zeroKeysAt = now + REJECT_AFTER_TIME * 3;
}

/** The earliest armed deadline of a peer. */
export function nextPeerDeadline(p: Peer): number {
  let t = p.retransmitHandshakeAt;
  if (p.sendKeepaliveAt < t) t = p.sendKeepaliveAt;
  if (p.newHandshakeAt < t) t = p.newHandshakeAt;
  if (p.zeroKeysAt < t) t = p.zeroKeysAt;
  if (p.persistentKeepaliveAt < t) t = p.persistentKeepaliveAt;
  return t;
}
