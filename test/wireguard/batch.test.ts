/**
 * The batched data path (src/wireguard/batch.ts) with the native crypt
 * threads (native/wgcrypt.c): byte-exact against libsodium, and two devices
 * back to back — synchronous transports, virtual time — with 1 and N
 * threads and with the suites' own calls: every packet arrives once, in the
 * order sent, with the counters the one-packet path gives; replays, forged
 * tags and reordering inside a batch are caught by the replay window after
 * decryption, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireGuardDevice } from '../../src/wireguard/device.js';
import { sendInitiation } from '../../src/wireguard/send.js';
import { getSuite, type SuiteName } from '../../src/wireguard/crypto/index.js';
import { nativeCrypter } from '../../src/wireguard/crypt-native.js';
import { BATCH_SLOTS, JOB_WORDS, type BatchCrypter } from '../../src/wireguard/batch.js';
import type { DatagramReceiver, WgTransport } from '../../src/wireguard/transport.js';
import type { FrameReceiver } from '../../src/link/link.js';

const A_ADDR = 0x0a000001;
const B_ADDR = 0x0a000002;

test('native crypt threads: ChaCha20-Poly1305 byte-exact with libsodium (sealInto/openInto), bad tags found, 1..4 threads', () => {
  const suite = getSuite('standard');
  for (const threads of [1, 2, 4]) {
    const c = nativeCrypter(threads);
    assert.ok(c !== null, 'the addon (npm ci builds it) must provide wgCrypt*');
    const keys = suite.randomBytes(96);
    const slot = 1500;
    const n = BATCH_SLOTS;
    const buf = new Uint8Array(n * slot);
    const plain = suite.randomBytes(n * slot);
    buf.set(plain);
    const jobs = new Int32Array(n * JOB_WORDS);
    const counter = (i: number): number => (i === 3 ? 2 ** 52 + 12345 : i * 1000003);
    const len = (i: number): number => (i === 7 ? 0 : 1440 - 16 * (i % 20));
    for (let i = 0; i < n; i++) {
      const j = i * JOB_WORDS;
      jobs.set([0, 32 * (i % 3), counter(i) % 2 ** 32, Math.floor(counter(i) / 2 ** 32), i * slot, len(i), 99, 0], j);
    }
    assert.equal(c.run(keys, buf, jobs, n), 0);
    for (let i = 0; i < n; i++) {
      const expect = new Uint8Array(len(i) + 16);
      suite.sealInto(keys.subarray(32 * (i % 3), 32 * (i % 3) + 32), counter(i), plain, i * slot, len(i), expect, 0);
      assert.deepEqual(buf.subarray(i * slot, i * slot + len(i) + 16), expect, `packet ${i} with ${threads} threads`);
      assert.equal(jobs[i * JOB_WORDS + 6], 0);
    }
    // Open them again in place; flip one tag bit and one ciphertext bit.
    for (let i = 0; i < n; i++) jobs[i * JOB_WORDS] = 1;
    buf[5 * slot + len(5) + 3] ^= 1;
    buf[9 * slot + 2] ^= 0x80;
    assert.equal(c.run(keys, buf, jobs, n), 2);
    for (let i = 0; i < n; i++) {
      const bad = i === 5 || i === 9;
      assert.equal(jobs[i * JOB_WORDS + 6], bad ? -1 : 0, `packet ${i}`);
      if (!bad) assert.deepEqual(buf.subarray(i * slot, i * slot + len(i)), plain.subarray(i * slot, i * slot + len(i)));
      else if (len(i) > 0) assert.ok(buf.subarray(i * slot, i * slot + len(i)).every((x) => x === 0), 'a forged packet is wiped');
    }
    // A job whose range leaves the buffer fails alone; the rest are done.
    jobs[2 * JOB_WORDS + 4] = buf.length - 10;
    for (let i = 0; i < n; i++) jobs[i * JOB_WORDS] = 0;
    assert.equal(c.run(keys, buf, jobs, n), 1);
    assert.equal(jobs[2 * JOB_WORDS + 6], -1);
    const split = c.split();
    assert.equal(split.length, threads);
    assert.equal(split.reduce((a, b) => a + b, 0), 3 * n, 'every packet was done by exactly one thread');
    c.close();
    c.close();
  }
});

/** Delivers synchronously to the other end's device, or holds datagrams when `hold` (to replay or reorder them). */
class PipeTransport implements WgTransport {
  private rx: DatagramReceiver | null = null;
  other: PipeTransport | null = null;
  hold = false;
  held: Uint8Array[] = [];
  batches = 0;
  constructor(readonly port: number, private readonly address: number) {}
  send(b: Uint8Array, off: number, len: number): boolean {
    if (this.hold) {
      this.held.push(b.slice(off, off + len));
      return true;
    }
    const o = this.other;
    if (o === null || o.rx === null) return false;
    o.rx(b, off, len, this.address, this.port);
    return true;
  }
  sendBatch(buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number {
    this.batches++;
    for (let i = 0; i < n; i++) this.send(buf, i * slotSize, meta[3 * i]);
    return n;
  }
  inject(d: Uint8Array): void {
    const o = this.other as PipeTransport;
    (o.rx as DatagramReceiver)(d, 0, d.length, this.address, this.port);
  }
  setReceiver(rx: DatagramReceiver | null): void {
    this.rx = rx;
  }
  close(): void {
    this.rx = null;
  }
}

/** An IPv4 header (enough for the device: version, length, addresses) and a sequence number in the payload. */
function packet(seq: number, len: number, src: number, dst: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[9] = 17;
  new DataView(p.buffer).setInt32(12, src);
  new DataView(p.buffer).setInt32(16, dst);
  new DataView(p.buffer).setUint32(20, seq);
  for (let i = 24; i < len; i++) p[i] = (seq + i) & 0xff;
  return p;
}

interface Pair {
  a: WireGuardDevice;
  b: WireGuardDevice;
  ta: PipeTransport;
  tb: PipeTransport;
  got: number[];
  corrupt: number;
  rx: FrameReceiver;
  now: { t: number };
}

function makePair(suiteName: SuiteName, crypter: () => BatchCrypter | null, batch: boolean): Pair {
  const suite = getSuite(suiteName);
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const now = { t: 1000 };
  const wallClock = (): number => 1_790_000_000_000 + now.t;
  const a = new WireGuardDevice({ suite, privateKey: aPriv, wallClock, maxPeers: 2, batch, crypter: crypter() });
  const b = new WireGuardDevice({ suite, privateKey: bPriv, wallClock, maxPeers: 2, batch, crypter: crypter() });
  // Virtual time: flushes happen where the test says (the end of a "wake-up").
  a.txFlushHook = () => undefined;
  b.txFlushHook = () => undefined;
  const ta = new PipeTransport(1, A_ADDR);
  const tb = new PipeTransport(2, B_ADDR);
  ta.other = tb;
  tb.other = ta;
  a.attachTransport(ta);
  b.attachTransport(tb);
  a.addPeer({ publicKey: suite.publicKey(bPriv), endpoint: { address: '10.0.0.2', port: 2 }, allowedIps: [{ address: '10.0.0.2', prefixLength: 32 }] });
  b.addPeer({ publicKey: suite.publicKey(aPriv), endpoint: { address: '10.0.0.1', port: 1 }, allowedIps: [{ address: '10.0.0.1', prefixLength: 32 }] });
  const pair: Pair = { a, b, ta, tb, got: [], corrupt: 0, rx: { receiveFrame: () => undefined }, now };
  pair.rx = {
    receiveFrame(f: Uint8Array, off: number, len: number) {
      const seq = new DataView(f.buffer, f.byteOffset + off).getUint32(20);
      for (let i = 24; i < len; i++) if (f[off + i] !== ((seq + i) & 0xff)) pair.corrupt++;
      pair.got.push(seq);
    },
  };
  return pair;
}

/** One "wake-up" of both ends: poll (receive, timers) and flush the send batches. */
function step(p: Pair): void {
  for (let i = 0; i < 4; i++) {
    p.a.poll(p.now.t, p.rx);
    p.a.flushTx();
    p.b.poll(p.now.t, p.rx);
    p.b.flushTx();
  }
}

function handshake(p: Pair): void {
  sendInitiation(p.a, p.a.peers[0], p.now.t, false);
  step(p);
  assert.equal(p.a.stats.handshakesCompleted, 1);
  assert.equal(p.b.stats.handshakesCompleted, 1, 'b confirmed a\'s keys on its first data (the keepalive)');
}

const VARIANTS: Array<{ name: string; suite: SuiteName; batch: boolean; crypter: () => BatchCrypter | null }> = [
  { name: 'one packet at a time (no batch)', suite: 'standard', batch: false, crypter: () => null },
  { name: 'batched, suite calls (no crypter)', suite: 'standard', batch: true, crypter: () => null },
  { name: 'batched, native, 1 thread', suite: 'standard', batch: true, crypter: () => nativeCrypter(1) },
  { name: 'batched, native, 2 threads', suite: 'standard', batch: true, crypter: () => nativeCrypter(2) },
  { name: 'batched, native, 4 threads', suite: 'standard', batch: true, crypter: () => nativeCrypter(4) },
  { name: 'batched, fips suite (its own AES-GCM, one core)', suite: 'fips', batch: true, crypter: () => nativeCrypter(2) },
];

for (const v of VARIANTS) {
  test(`batched data path, ${v.name}: 20,000 packets in order, byte-exact, counters as sent; replays and forgeries counted`, () => {
    const p = makePair(v.suite, v.crypter, v.batch);
    if (v.suite === 'fips') assert.equal(p.a.crypter, null, 'the fips suite never takes the ChaCha20 crypter');
    handshake(p);
    const total = 20_000;
    let seq = 0;
    // Bursts of 1..200 packets per wake-up (batches split at 64 and at the flush), lengths 40..1420.
    while (seq < total) {
      const burst = Math.min(total - seq, 1 + ((seq * 7919) % 200));
      for (let i = 0; i < burst; i++, seq++) {
        const pk = packet(seq, 40 + ((seq * 131) % 1381), A_ADDR, B_ADDR);
        assert.equal(p.a.transmit(pk, 0, pk.length, p.now.t), 0);
      }
      p.now.t += 1;
      step(p);
    }
    assert.equal(p.got.length, total);
    for (let i = 0; i < total; i++) if (p.got[i] !== i) assert.fail(`packet ${i} arrived as ${p.got[i]}`);
    assert.equal(p.corrupt, 0);
    assert.equal(p.b.stats.dataReceived, total);
    assert.equal(p.a.stats.dataSent, total);
    assert.equal(p.a.peers[0].current?.sendCounter, total + 1, 'counters 0..N: the confirming keepalive, then one per packet');
    if (v.batch) assert.ok(p.ta.batches < total / 10, `sent in batches (${p.ta.batches} for ${total})`);

    // Replay: datagrams captured and fed again are dropped by the window after decryption.
    p.ta.hold = true;
    for (let i = 0; i < 100; i++) {
      const pk = packet(total + i, 200, A_ADDR, B_ADDR);
      p.a.transmit(pk, 0, pk.length, p.now.t);
    }
    step(p);
    p.ta.hold = false;
    const held = p.ta.held.splice(0);
    assert.equal(held.length, 100);
    // Reversed order inside one batch: all within the window, so all accepted once, delivered as they came.
    for (let i = held.length - 1; i >= 0; i--) p.ta.inject(held[i]);
    step(p);
    assert.equal(p.got.length, total + 100);
    assert.deepEqual(p.got.slice(total), Array.from({ length: 100 }, (_, i) => total + 99 - i));
    // The same datagrams again (and one twice in one batch): replays.
    const replay0 = p.b.stats.rxReplay;
    for (const d of held) p.ta.inject(d);
    p.ta.inject(held[0]);
    step(p);
    assert.equal(p.b.stats.rxReplay - replay0, 101);
    // A forged tag in the middle of a batch: counted, its neighbours delivered.
    p.ta.hold = true;
    for (let i = 0; i < 10; i++) {
      const pk = packet(total + 100 + i, 300, A_ADDR, B_ADDR);
      p.a.transmit(pk, 0, pk.length, p.now.t);
    }
    step(p);
    p.ta.hold = false;
    const ten = p.ta.held.splice(0);
    ten[4][ten[4].length - 1] ^= 1;
    const bad0 = p.b.stats.rxBadAuth;
    for (const d of ten) p.ta.inject(d);
    step(p);
    assert.equal(p.b.stats.rxBadAuth - bad0, 1);
    assert.deepEqual(p.got.slice(total + 100), [0, 1, 2, 3, 5, 6, 7, 8, 9].map((i) => total + 100 + i));
    assert.equal(p.corrupt, 0);
    p.a.close();
    p.b.close();
  });
}

test('batched data path: a rekey mid-stream (new session while packets wait in the send batch) loses and reorders nothing', () => {
  const p = makePair('standard', () => nativeCrypter(2), true);
  handshake(p);
  let seq = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 50; i++, seq++) {
      const pk = packet(seq, 500, A_ADDR, B_ADDR);
      p.a.transmit(pk, 0, pk.length, p.now.t);
    }
    // A new handshake now: the packets in the batch still go out under the keys they were counted for.
    p.now.t += 6000;
    sendInitiation(p.a, p.a.peers[0], p.now.t, false);
    step(p);
  }
  assert.equal(p.a.stats.handshakesCompleted, 6);
  assert.deepEqual(p.got, Array.from({ length: seq }, (_, i) => i));
  assert.equal(p.b.stats.rxBadAuth, 0);
  assert.equal(p.b.stats.rxUnknownIndex, 0);
  p.a.close();
  p.b.close();
});
