/**
 * The batched data path (after the Linux driver's queueing.c): packets are
 * gathered per wake-up, their crypt runs for the whole batch at once —
 * spread over every core by a {@link BatchCrypter} (native/wgcrypt.c) —
 * and then the serial stage finishes them in the order they were gathered.
 *
 * Send: {@link stageTx} writes header, counter and plaintext into a slot
 * (the send counter is taken in order, as Linux's per-peer tx queue does);
 * {@link flushTx} seals the batch, hands all datagrams to the transport at
 * once (sendmmsg, with UDP GSO when it has it), then does each packet's
 * accounting and timers.
 *
 * Receive: {@link receiveBatch} pops datagrams off the device's queue,
 * resolves each data message's keypair (index, expiry) into a job, opens
 * the batch, and then, in arrival order, drops what failed authentication
 * and runs the replay window, the keypair confirmation, roaming, source
 * filtering and delivery — after decryption and in order, as receive.c
 * does. A handshake or cookie message in the middle first finishes the
 * data before it, so a key installed by it never sees earlier packets.
 *
 * Nothing here allocates: slots, jobs and metadata are carved from the
 * device's arena; the peer and keypair references live in arrays made once.
 */
import type { MemoryPlan, Arena } from '../storage/arena.js';
import type { DatagramRing } from '../storage/datagram-ring.js';
import { copyBytes } from '../wire/bytes.js';
import type { FrameReceiver } from '../link/link.js';
import { DATA_HEADER_LEN, KEEPALIVE_LEN, MSG_DATA, TAG_LEN } from './constants.js';
import { readCounter, writeCounter, writeType, writeU32le } from './messages.js';
import type { Keypair, Peer } from './peer.js';
import { dataKeypair, finishData, receiveDatagram } from './receive.js';
import { sentData } from './send.js';
import type { WireGuardDevice } from './device.js';

/** Packets per batch: one recvmmsg/sendmmsg batch, and the most a UDP GSO message carries. */
export const BATCH_SLOTS = 64;
/** Int32 words per job, as native/wgcrypt.c reads them. */
export const JOB_WORDS = 8;
const J_OP = 0;
const J_KEY = 1;
const J_CTR_LO = 2;
const J_CTR_HI = 3;
const J_DATA = 4;
const J_LEN = 5;
const J_RESULT = 6;
/** Set by flushTx for datagrams the transport took. */
const J_SENT = 7;
const OP_SEAL = 0;
const OP_OPEN = 1;

/**
 * Runs the crypt of a batch: seal or open each job's packet in place (see
 * native/wgcrypt.c for the job layout), writing 0 or -1 into its result word.
 */
export interface BatchCrypter {
  /** Threads the crypt runs on, the caller's included. */
  readonly threads: number;
  /** Returns how many jobs failed. */
  run(keys: Uint8Array, buf: Uint8Array, jobs: Int32Array, n: number): number;
  /** Stop the threads. */
  close(): void;
}

/** One direction's batch: packet slots and per-packet jobs, metadata and references. */
export class CryptBatch {
  static plan(plan: MemoryPlan, part: string, slotSize: number): void {
    plan.add(part, BATCH_SLOTS * slotSize).add(part, BATCH_SLOTS * 3, 4).add(part, BATCH_SLOTS * JOB_WORDS, 4)
      .add(part, BATCH_SLOTS, 4).add(part, BATCH_SLOTS, 8);
  }

  /** Slot i is buf[i*slotSize ..). */
  readonly buf: Uint8Array;
  /** Per slot: datagram length, address, port (the transport's batch layout). */
  readonly meta: Int32Array;
  readonly jobs: Int32Array;
  /** Per slot: plaintext length (send) or datagram length (receive). */
  readonly lens: Int32Array;
  readonly counters: Float64Array;
  readonly peers: Array<Peer | null> = new Array<Peer | null>(BATCH_SLOTS).fill(null);
  readonly keypairs: Array<Keypair | null> = new Array<Keypair | null>(BATCH_SLOTS).fill(null);
  count = 0;

  constructor(arena: Arena, part: string, readonly slotSize: number) {
    this.buf = arena.u8(part, BATCH_SLOTS * slotSize);
    this.meta = arena.i32(part, BATCH_SLOTS * 3);
    this.jobs = arena.i32(part, BATCH_SLOTS * JOB_WORDS);
    this.lens = arena.i32(part, BATCH_SLOTS);
    this.counters = arena.f64(part, BATCH_SLOTS);
  }
}

/** Fill job i: op, key (offset in the device's key bytes), counter, data range. */
function setJob(b: CryptBatch, i: number, op: number, key: Uint8Array, counter: number, data: number, len: number): void {
  const j = i * JOB_WORDS;
  const jobs = b.jobs;
  jobs[j + J_OP] = op;
  jobs[j + J_KEY] = key.byteOffset;
  jobs[j + J_CTR_LO] = counter % 4294967296;
  jobs[j + J_CTR_HI] = Math.floor(counter / 4294967296);
  jobs[j + J_DATA] = data;
  jobs[j + J_LEN] = len;
  jobs[j + J_RESULT] = 0;
  jobs[j + J_SENT] = 0;
  b.counters[i] = counter;
}

/** Seal or open jobs 0..n-1: on the crypter's threads, or one by one through the suite. */
function crypt(dev: WireGuardDevice, b: CryptBatch, n: number): void {
  const c = dev.crypter;
  if (c !== null) {
    c.run(dev.keyBytes, b.buf, b.jobs, n);
    return;
  }
  const jobs = b.jobs;
  const buf = b.buf;
  for (let i = 0; i < n; i++) {
    const j = i * JOB_WORDS;
    const kp = b.keypairs[i] as Keypair;
    const off = jobs[j + J_DATA];
    const len = jobs[j + J_LEN];
    if (jobs[j + J_OP] === OP_SEAL) {
      dev.suite.sealInto(kp.sendKey, b.counters[i], buf, off, len, buf, off, kp.sendHandle);
    } else {
      jobs[j + J_RESULT] = dev.suite.openInto(kp.receiveKey, b.counters[i], buf, off, len + TAG_LEN, buf, off, kp.receiveHandle) ? 0 : -1;
    }
  }
}

/**
 * Put a data packet (`padded` bytes after zero padding, of which `len` are
 * the packet) into the send batch with the counter the caller took. False
 * when the peer has no endpoint (counted). A full batch is flushed at once;
 * the first packet of a batch asks for a flush at the end of this wake-up.
 */
export function stageTx(dev: WireGuardDevice, p: Peer, kp: Keypair, counter: number, b: Uint8Array, off: number,
  len: number, padded: number): boolean {
  const tb = dev.txBatch as CryptBatch;
  if (dev.transport === null || p.endpointPort === 0) {
    dev.stats.txNoEndpoint++;
    return false;
  }
  const i = tb.count;
  const base = i * tb.slotSize;
  const out = tb.buf;
  writeType(out, base, MSG_DATA);
  writeU32le(out, base + 4, kp.remoteIndex);
  writeCounter(out, base + 8, counter);
  copyBytes(b, off, out, base + DATA_HEADER_LEN, len);
  out.fill(0, base + DATA_HEADER_LEN + len, base + DATA_HEADER_LEN + padded);
  setJob(tb, i, OP_SEAL, kp.sendKey, counter, base + DATA_HEADER_LEN, padded);
  tb.meta[3 * i] = DATA_HEADER_LEN + padded + TAG_LEN;
  tb.meta[3 * i + 1] = p.endpointAddress;
  tb.meta[3 * i + 2] = p.endpointPort;
  tb.lens[i] = len;
  tb.peers[i] = p;
  tb.keypairs[i] = kp;
  tb.count = i + 1;
  if (i + 1 === BATCH_SLOTS) flushTx(dev, dev.lastNow);
  else if (i === 0) dev.txFlushHook();
  return true;
}

/** Seal and send the send batch, then each packet's accounting (bytes, counters, timers) in order. */
export function flushTx(dev: WireGuardDevice, now: number): void {
  const tb = dev.txBatch;
  if (tb === null || tb.count === 0) return;
  const n = tb.count;
  tb.count = 0;
  crypt(dev, tb, n);
  const t = dev.transport;
  const jobs = tb.jobs;
  const meta = tb.meta;
  if (t !== null) {
    if (t.sendBatch !== undefined) {
      const sent = t.sendBatch(tb.buf, tb.slotSize, n, meta);
      for (let i = 0; i < sent; i++) jobs[i * JOB_WORDS + J_SENT] = 1;
    } else {
      for (let i = 0; i < n; i++) {
        if (t.send(tb.buf, i * tb.slotSize, meta[3 * i], meta[3 * i + 1], meta[3 * i + 2])) jobs[i * JOB_WORDS + J_SENT] = 1;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const p = tb.peers[i] as Peer;
    tb.peers[i] = null;
    tb.keypairs[i] = null;
    if (jobs[i * JOB_WORDS + J_SENT] === 0) {
      dev.stats.txTransportDrops++;
      continue;
    }
    p.txBytes += meta[3 * i];
    sentData(dev, p, tb.lens[i], now);
  }
}

/** Open the receive batch and finish each packet in arrival order. */
function finishRx(dev: WireGuardDevice, now: number, rx: FrameReceiver): void {
  const rb = dev.rxBatch as CryptBatch;
  const n = rb.count;
  if (n === 0) return;
  rb.count = 0;
  crypt(dev, rb, n);
  const st = dev.stats;
  dev.rx6 = false; // batches hold datagrams from IPv4 sources only (see receiveBatch)
  for (let i = 0; i < n; i++) {
    const p = rb.peers[i] as Peer;
    const kp = rb.keypairs[i] as Keypair;
    rb.peers[i] = null;
    rb.keypairs[i] = null;
    if (rb.jobs[i * JOB_WORDS + J_RESULT] !== 0) {
      st.rxBadAuth++;
      continue;
    }
    // An earlier packet of this batch may have retired the keypair (a confirmed next drops the previous).
    if (!p.inUse || !kp.inUse) {
      st.rxUnknownIndex++;
      continue;
    }
    finishData(dev, p, kp, rb.counters[i], rb.buf, i * rb.slotSize, rb.lens[i], rb.meta[3 * i + 1], rb.meta[3 * i + 2], now, rx);
  }
}

/**
 * Handle up to `budget` datagrams of the device's receive queue: data in
 * batches through the crypter, everything else one by one in its place.
 */
export function receiveBatch(dev: WireGuardDevice, q: DatagramRing, budget: number, now: number, rx: FrameReceiver): void {
  const rb = dev.rxBatch as CryptBatch;
  const st = dev.stats;
  for (let n = 0; n < budget && q.count > 0; n++) {
    const i = rb.count;
    const base = i * rb.slotSize;
    const b = rb.buf;
    const len = q.pop(b, base, rb.slotSize);
    st.rxFrames++;
    st.rxBytes += len;
    const addr = q.lastAddress;
    const port = q.lastPort;
    if (addr === 0) {
      // An IPv6 source (its address rides behind the datagram, device.ts enqueue): after the data
      // before it, on the one-by-one path, which knows the source's family.
      finishRx(dev, now, rx);
      const l = len - 16;
      copyBytes(b, base + l, dev.rxAddr6, 0, 16);
      copyBytes(b, base, dev.rxBuf, 0, l);
      dev.rx6 = true;
      st.rxBytes -= 16;
      receiveDatagram(dev, l, addr, port, now, rx);
      dev.rx6 = false;
      continue;
    }
    if (len >= KEEPALIVE_LEN && b[base] === MSG_DATA && b[base + 1] === 0 && b[base + 2] === 0 && b[base + 3] === 0) {
      const v = dataKeypair(dev, b, base, now);
      if (v < 0) continue;
      const p = dev.peers[v >>> 3];
      const kp = p.keypairs[(v & 7) - 1];
      setJob(rb, i, OP_OPEN, kp.receiveKey, readCounter(b, base + 8), base + DATA_HEADER_LEN, len - DATA_HEADER_LEN - TAG_LEN);
      rb.meta[3 * i] = len;
      rb.meta[3 * i + 1] = addr;
      rb.meta[3 * i + 2] = port;
      rb.lens[i] = len;
      rb.peers[i] = p;
      rb.keypairs[i] = kp;
      rb.count = i + 1;
      if (i + 1 === BATCH_SLOTS) finishRx(dev, now, rx);
    } else {
      // Not data (or malformed): the data before it first, then this one on the one-by-one path.
      finishRx(dev, now, rx);
      copyBytes(b, base, dev.rxBuf, 0, len);
      receiveDatagram(dev, len, addr, port, now, rx);
    }
  }
  finishRx(dev, now, rx);
}
