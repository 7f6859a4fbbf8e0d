/**
 * The receiving half of the device (after Linux's receive.c): message
 * validation, the cookie defence, handshake consumption and transport data
 * decryption, replay check, source filtering and delivery to the stack.
 * Every rejected datagram is counted by reason.
 */
import {
  DATA_HEADER_LEN, KEEPALIVE_LEN, KEEPALIVE_TIMEOUT, MSG_COOKIE_REPLY, MSG_DATA, MSG_INITIATION, MSG_RESPONSE,
  REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_TIMEOUT, TAG_LEN,
} from './constants.js';
import { MacState } from './cookie.js';
import { readCounter, readU32le } from './messages.js';
import { HandshakeStage, InitiationError, beginSession, consumeInitiation, consumeResponse } from './noise.js';
import type { Keypair, Peer } from './peer.js';
import {
  INDEX_KIND_HANDSHAKE, dropKeypair, flushStaged, installKeypair, sendKeepalive, sendResponse,
} from './send.js';
import {
  timerAnyAuthenticatedReceived, timerDataReceived, timerHandshakeComplete, timerSessionDerived, timerTraversal,
} from './timers.js';
import type { WireGuardDevice } from './device.js';
import { replyToSource, roam } from './endpoint.js';
import type { FrameReceiver } from '../link/link.js';

/** Move the peer's endpoint to where its latest authenticated packet came from (roaming, either family). */
function updateEndpoint(dev: WireGuardDevice, p: Peer, addr: number, port: number): void {
  roam(dev, p, addr, port);
}

/** Handle the datagram in `dev.rxBuf[0 .. len)`. */
export function receiveDatagram(dev: WireGuardDevice, len: number, addr: number, port: number, now: number,
  rx: FrameReceiver): void {
  const b = dev.rxBuf;
  const st = dev.stats;
  if (len < 4 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) {
    st.rxMalformed++;
    return;
  }
  const type = b[0];
  const L = dev.layout;
  if (type === MSG_DATA) {
    if (len < KEEPALIVE_LEN) {
      st.rxMalformed++;
      return;
    }
    receiveData(dev, len, addr, port, now, rx);
  } else if (type === MSG_INITIATION || type === MSG_RESPONSE) {
    const expected = type === MSG_INITIATION ? L.initLen : L.respLen;
    if (len !== expected) {
      st.rxMalformed++;
      return;
    }
    receiveHandshake(dev, type, addr, port, now);
  } else if (type === MSG_COOKIE_REPLY) {
    if (len !== L.cookieLen) {
      st.rxMalformed++;
      return;
    }
    receiveCookieReply(dev, now);
  } else {
    st.rxMalformed++;
  }
}

function receiveHandshake(dev: WireGuardDevice, type: number, addr: number, port: number, now: number): void {
  const st = dev.stats;
  const id = dev.identity;
  const checker = dev.checker;
  if (id === null || checker === null) {
    st.rxNoIdentity++;
    return;
  }
  const L = dev.layout;
  const msg = dev.rxBuf;
  const mac1Offset = type === MSG_INITIATION ? L.initMac1 : L.respMac1;
  const underLoad = dev.underLoad(now);
  const mac = checker.check(msg, mac1Offset, addr, port, now, underLoad, dev.rx6 ? dev.rxAddr6 : null);
  if (mac === MacState.InvalidMac1) {
    st.rxBadMac1++;
    return;
  }
  if (underLoad) {
    if (mac !== MacState.ValidMac2) {
      // Too busy for Diffie-Hellman: make the sender prove its address first.
      if (dev.allowCookieReply(addr, now)) {
        const n = checker.createReply(L, msg, mac1Offset, addr, port, now, dev.txBuf, dev.rx6 ? dev.rxAddr6 : null);
        if (replyToSource(dev, n, addr, port)) st.cookieRepliesSent++;
      } else {
        st.rxRateLimited++;
      }
      return;
    }
    if (!dev.allowHandshake(addr, now)) {
      st.rxRateLimited++;
      return;
    }
  }
  dev.handshakeWork++;
  if (type === MSG_INITIATION) {
    const r = consumeInitiation(id, L, msg.subarray(0, L.initLen), (key) => dev.peerByKey(key), now);
    const p = r.peer;
    if (p === null) {
      if (r.error === InitiationError.Replay) st.rxHandshakeReplay++;
      else if (r.error === InitiationError.Flood) st.rxHandshakeFlood++;
      else if (r.error === InitiationError.UnknownPeer) st.rxUnknownPeer++;
      else st.rxHandshakeInvalid++;
      return;
    }
    st.initiationsReceived++;
    updateEndpoint(dev, p, addr, port);
    timerAnyAuthenticatedReceived(p);
    timerTraversal(p, now);
    sendResponse(dev, p, now);
    return;
  }
  const v = dev.index.get(readU32le(msg, 8));
  if (v < 0 || (v & 7) !== INDEX_KIND_HANDSHAKE) {
    st.rxUnknownIndex++;
    return;
  }
  const p = dev.peers[v >>> 3];
  if (!p.inUse || !consumeResponse(id, L, msg.subarray(0, L.respLen), p)) {
    st.rxHandshakeInvalid++;
    return;
  }
  st.responsesReceived++;
  updateEndpoint(dev, p, addr, port);
  const keys = beginSession(id, p);
  if (keys === null) return;
  installKeypair(dev, p, keys.sendKey, keys.receiveKey, keys.localIndex, keys.remoteIndex, true, now);
  timerAnyAuthenticatedReceived(p);
  timerTraversal(p, now);
  timerHandshakeComplete(p, dev.wallClock());
  timerSessionDerived(p, now);
  dev.emitHandshake(p, true);
  // Confirm the session to the responder: staged data if any, else a keepalive.
  if (p.stagedCount > 0) flushStaged(dev, p, now);
  else sendKeepalive(dev, p, now);
}

function receiveCookieReply(dev: WireGuardDevice, now: number): void {
  const st = dev.stats;
  const msg = dev.rxBuf;
  const v = dev.index.get(readU32le(msg, 4));
  if (v < 0) {
    st.rxUnknownIndex++;
    return;
  }
  const p = dev.peers[v >>> 3];
  if (!p.inUse || p.cookies === null || !p.cookies.consumeReply(dev.layout, msg, now)) {
    st.rxBadCookie++;
    return;
  }
  st.cookieRepliesReceived++;
  // The responder is under load and dropped our initiation: retry now with mac2
  // instead of waiting REKEY_TIMEOUT (the cookie is only good for two minutes anyway).
  if (p.handshake.stage === HandshakeStage.CreatedInitiation) {
    p.lastSentHandshake = now - REKEY_TIMEOUT;
    p.initiationWanted = true;
    p.initiationIsRetry = true;
  }
}

/**
 * Resolve a data message's receiver index at b[base+4..] to its keypair and
 * check the key may still receive: the index-table value (peer slot × 8 +
 * 1 + keypair number), or -1 with the drop counted.
 */
export function dataKeypair(dev: WireGuardDevice, b: Uint8Array, base: number, now: number): number {
  const st = dev.stats;
  const v = dev.index.get(readU32le(b, base + 4));
  if (v < 0 || (v & 7) === INDEX_KIND_HANDSHAKE) {
    st.rxUnknownIndex++;
    return -1;
  }
  const p = dev.peers[v >>> 3];
  const kp = p.keypairs[(v & 7) - 1];
  if (!p.inUse || !kp.inUse) {
    st.rxUnknownIndex++;
    return -1;
  }
  const counter = readCounter(b, base + 8);
  if (counter >= REJECT_AFTER_MESSAGES || now - kp.created >= REJECT_AFTER_TIME) {
    st.rxExpiredKey++;
    return -1;
  }
  return v;
}

function receiveData(dev: WireGuardDevice, len: number, addr: number, port: number, now: number, rx: FrameReceiver): void {
  const b = dev.rxBuf;
  const v = dataKeypair(dev, b, 0, now);
  if (v < 0) return;
  const p = dev.peers[v >>> 3];
  const kp = p.keypairs[(v & 7) - 1];
  const counter = readCounter(b, 8);
  if (!dev.suite.openInto(kp.receiveKey, counter, b, DATA_HEADER_LEN, len - DATA_HEADER_LEN, b, DATA_HEADER_LEN, kp.receiveHandle)) {
    dev.stats.rxBadAuth++;
    return;
  }
  finishData(dev, p, kp, counter, b, 0, len, addr, port, now, rx);
}

/**
 * The in-order part of receiving an authenticated data message at
 * b[base .. base+len) (already decrypted in place): the replay window,
 * confirming a responder's next keypair, roaming, timers, and delivery of
 * the inner packet when it is IPv4 from an address this peer may use.
 */
export function finishData(dev: WireGuardDevice, p: Peer, kp: Keypair, counter: number, b: Uint8Array, base: number,
  len: number, addr: number, port: number, now: number, rx: FrameReceiver): void {
  const st = dev.stats;
  if (!dev.replay.accept(kp.replaySlot, counter, REJECT_AFTER_MESSAGES)) {
    st.rxReplay++;
    return;
  }
  if (kp === p.next) {
    // The initiator used the keys we derived as responder: they become current.
    dropKeypair(dev, p.previous);
    p.previous = p.current;
    p.current = kp;
    p.next = null;
    timerHandshakeComplete(p, dev.wallClock());
    dev.emitHandshake(p, false);
    if (p.stagedCount > 0) flushStaged(dev, p, now);
  }
  updateEndpoint(dev, p, addr, port);
  p.rxBytes += len;
  timerAnyAuthenticatedReceived(p);
  timerTraversal(p, now);
  // Ask for new keys before the current ones expire under us (receive-side keep_key_fresh).
  const cur = p.current;
  if (cur !== null && cur.initiator && !p.sentLastMinuteHandshake
    && now - cur.created > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
    p.sentLastMinuteHandshake = true;
    p.initiationWanted = true;
  }
  const plain = len - DATA_HEADER_LEN - TAG_LEN;
  if (plain === 0) {
    st.keepalivesReceived++;
    return;
  }
  // The inner packet: an IPv4 or IPv6 header whose length fits, from an address this peer may use.
  const o = base + DATA_HEADER_LEN;
  const version = b[o] >>> 4;
  let total: number;
  let slot: number;
  if (version === 4 && plain >= 20) {
    total = (b[o + 2] << 8) | b[o + 3];
    if (total < 20 || total > plain) {
      st.rxBadPacket++;
      return;
    }
    slot = dev.allowedIps.lookup((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]);
  } else if (version === 6 && plain >= 40) {
    // RFC 8200 §3: payload length after the 40-byte header; the source at bytes 8..24.
    total = 40 + ((b[o + 4] << 8) | b[o + 5]);
    if (total > plain) {
      st.rxBadPacket++;
      return;
    }
    slot = dev.allowedIps6.lookup(b, o + 8);
  } else {
    st.rxBadPacket++;
    return;
  }
  if (slot !== p.slot) {
    st.rxBadSourceIp++;
    return;
  }
  st.dataReceived++;
  timerDataReceived(p, now);
  rx.receiveFrame(b, o, total);
}
