import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLink, Prng } from '../../src/link/index.js';
import type { FrameReceiver, MemoryLinkOptions } from '../../src/link/index.js';
import { Errno } from '../../src/engine/errno.js';

/** Keeps copies of delivered frames (the link's bytes are only valid during the call). */
class Collector implements FrameReceiver {
  frames: Uint8Array[] = [];
  receiveFrame(frame: Uint8Array, offset: number, length: number): void {
    this.frames.push(frame.slice(offset, offset + length));
  }
  ids(): number[] {
    return this.frames.map(frameId);
  }
}

/** A frame of `len` bytes carrying `id` at bytes 14..17 and an id-dependent pattern elsewhere. */
function makeFrame(id: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (id * 31 + i * 7) & 0xff;
  new DataView(f.buffer).setUint32(14, id);
  return f;
}

function frameId(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(14);
}

/** Send `n` frames one ms apart, polling after each, and drain; returns delivered ids. */
function run(options: MemoryLinkOptions, n: number): { a: MemoryLink; b: MemoryLink; rx: Collector } {
  const [a, b] = MemoryLink.pair(options);
  const rx = new Collector();
  for (let i = 0; i < n; i++) {
    assert.equal(a.transmit(makeFrame(i), 0, 60, i), 0);
    b.poll(i, rx);
  }
  b.poll(n + 1e6, rx);
  assert.equal(b.pending, 0);
  return { a, b, rx };
}

/** Accept `observed` if within 5 standard deviations of a binomial(n, p) mean. */
function assertBinomial(observed: number, n: number, p: number, what: string): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - mean) <= 5 * sd, `${what}: observed ${observed}, expected ${mean.toFixed(0)} ± ${(5 * sd).toFixed(0)}`);
}

test('Prng is deterministic, in range and roughly uniform', () => {
  const x = new Prng(42);
  const y = new Prng(42);
  const z = new Prng(43);
  let same = 0;
  let sum = 0;
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 10000; i++) {
    const v = x.next();
    assert.equal(v, y.next());
    assert.ok(v >= 0 && v < 1);
    if (v === z.next()) same++;
    sum += v;
    const k = x.int(10);
    assert.equal(k, y.int(10));
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    buckets[k]++;
    const u = x.nextU32();
    assert.equal(u, y.nextU32());
    assert.ok(Number.isInteger(u) && u >= 0 && u <= 0xffffffff);
  }
  assert.ok(same < 5, 'different seeds must give different sequences');
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02, `mean ${sum / 10000}`);
  for (const c of buckets) assertBinomial(c, 10000, 0.1, 'int(10) bucket');
  // Large seeds differing only above bit 32 must still differ.
  assert.notEqual(new Prng(1).nextU32(), new Prng(2 ** 32 + 1).nextU32());
});

test('frames arrive byte-exact and in order in both directions without faults', () => {
  const [a, b] = MemoryLink.pair();
  assert.equal(a.name, 'mem0');
  assert.equal(b.name, 'mem1');
  assert.equal(a.mtu, 1500);
  const sent: Uint8Array[] = [];
  const rxB = new Collector();
  const backing = new Uint8Array(4000);
  for (let i = 0; i < 200; i++) {
    const len = 14 + ((i * 37) % 1501);
    const f = makeFrame(i, Math.max(len, 18));
    // Send from a non-zero offset inside a larger buffer to check offset handling.
    backing.set(f, 100);
    assert.equal(a.transmit(backing, 100, f.length, 0), 0);
    backing.fill(0xee); // the link must have copied the bytes
    sent.push(f);
    if (i % 50 === 49) b.poll(0, rxB);
  }
  b.poll(0, rxB);
  assert.equal(rxB.frames.length, 200);
  for (let i = 0; i < 200; i++) assert.deepEqual(rxB.frames[i], sent[i]);
  const txBytes = sent.reduce((s, f) => s + f.length, 0);
  assert.deepEqual(a.stats, { txFrames: 200, txBytes, rxFrames: 0, rxBytes: 0, drops: 0 });
  assert.deepEqual(b.stats, { txFrames: 0, txBytes: 0, rxFrames: 200, rxBytes: txBytes, drops: 0 });

  const rxA = new Collector();
  assert.equal(b.transmit(makeFrame(7), 0, 60, 0), 0);
  assert.equal(b.poll(0, new Collector()), Infinity, 'b must not receive its own frame');
  a.poll(0, rxA);
  assert.deepEqual(rxA.frames, [makeFrame(7)]);
});

test('propagation delay is honoured and poll reports the deadline', () => {
  const [a, b] = MemoryLink.pair({ delayMs: 10 });
  const rx = new Collector();
  assert.equal(b.poll(0, rx), Infinity);
  a.transmit(makeFrame(1), 0, 60, 5);
  a.transmit(makeFrame(2), 0, 60, 7);
  assert.equal(b.poll(5, rx), 15);
  assert.equal(b.poll(14.999, rx), 15);
  assert.equal(rx.frames.length, 0);
  assert.equal(b.poll(15, rx), 17);
  assert.deepEqual(rx.ids(), [1]);
  assert.equal(b.poll(100, rx), Infinity);
  assert.deepEqual(rx.ids(), [1, 2]);
});

test('rate limiting spaces departures by L*8/rate', () => {
  // 8 Mbit/s: 1000-byte frames take exactly 1 ms on the wire.
  const [a, b] = MemoryLink.pair({ rateBps: 8_000_000, delayMs: 2 });
  const rx = new Collector();
  for (let i = 0; i < 3; i++) a.transmit(makeFrame(i, 1000), 0, 1000, 0);
  assert.equal(b.poll(0, rx), 3); // departs at 1, arrives at 1 + 2
  assert.equal(b.poll(3, rx), 4);
  assert.equal(b.poll(4, rx), 5);
  assert.deepEqual(rx.ids(), [0, 1]);
  assert.equal(b.poll(5, rx), Infinity);
  // After the wire went idle a frame starts serializing at its own send time.
  a.transmit(makeFrame(3, 500), 0, 500, 10);
  assert.equal(b.poll(10, rx), 12.5);
  // A frame sent while the wire is busy waits for the previous one.
  a.transmit(makeFrame(4, 1000), 0, 1000, 10.2);
  assert.equal(b.poll(12.5, rx), 13.5);
  assert.deepEqual(rx.ids(), [0, 1, 2, 3]);
});

test('loss rate matches the configured probability; seeds are reproducible', () => {
  const n = 20000;
  const { a, b, rx } = run({ loss: 0.1, seed: 7 }, n);
  const delivered = rx.ids();
  assertBinomial(n - delivered.length, n, 0.1, 'lost frames');
  assert.equal(a.faults.lost, n - delivered.length);
  assert.equal(a.stats.drops, a.faults.lost);
  assert.equal(a.stats.txFrames, n);
  assert.equal(b.stats.rxFrames, delivered.length);
  for (let i = 1; i < delivered.length; i++) assert.ok(delivered[i] > delivered[i - 1], 'order kept');

  assert.deepEqual(run({ loss: 0.1, seed: 7 }, n).rx.ids(), delivered, 'same seed, same losses');
  assert.notDeepEqual(run({ loss: 0.1, seed: 8 }, n).rx.ids(), delivered, 'different seed, different losses');
});

test('the two directions draw independent faults', () => {
  const [a, b] = MemoryLink.pair({ loss: 0.5, seed: 3 });
  const rxA = new Collector();
  const rxB = new Collector();
  for (let i = 0; i < 200; i++) {
    a.transmit(makeFrame(i), 0, 60, i);
    b.transmit(makeFrame(i), 0, 60, i);
  }
  a.poll(1e6, rxA);
  b.poll(1e6, rxB);
  assert.notDeepEqual(rxA.ids(), rxB.ids());
});

test('duplicates are delivered twice at roughly the configured rate', () => {
  const n = 20000;
  const { a, rx } = run({ duplicate: 0.05, seed: 11 }, n);
  const ids = rx.ids();
  let dups = 0;
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i] >= ids[i - 1]);
    if (ids[i] === ids[i - 1]) {
      dups++;
      assert.deepEqual(rx.frames[i], rx.frames[i - 1]);
    }
  }
  assert.equal(new Set(ids).size, n, 'every frame arrives');
  assert.equal(dups, a.faults.duplicated);
  assertBinomial(dups, n, 0.05, 'duplicates');
});

test('reorder swaps a frame with its successor at roughly the configured rate', () => {
  const n = 20000;
  const { a, rx } = run({ reorder: 0.1, seed: 5 }, n);
  const ids = rx.ids();
  assert.deepEqual([...ids].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i), 'each frame exactly once');
  let swaps = 0;
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] < ids[i - 1]) {
      swaps++;
      assert.equal(ids[i], ids[i - 1] - 1, 'only adjacent frames swap');
    }
  }
  assert.equal(swaps, a.faults.reordered);
  // A frame that overtakes a held frame is not eligible to be held itself.
  assertBinomial(swaps, n - swaps, 0.1, 'reordered frames');
});

test('reorder=1 swaps pairs; a held frame without successor is released after 2*delay+1 ms', () => {
  const [a, b] = MemoryLink.pair({ reorder: 1 });
  const rx = new Collector();
  for (let i = 0; i < 4; i++) a.transmit(makeFrame(i), 0, 60, 0);
  b.poll(0, rx);
  assert.deepEqual(rx.ids(), [1, 0, 3, 2]);

  const [c, d] = MemoryLink.pair({ reorder: 1, delayMs: 5 });
  const rx2 = new Collector();
  c.transmit(makeFrame(9), 0, 60, 0);
  assert.equal(d.poll(5, rx2), 16);
  assert.equal(rx2.frames.length, 0);
  assert.equal(d.poll(16, rx2), Infinity);
  assert.deepEqual(rx2.ids(), [9]);
  assert.equal(c.faults.reordered, 0, 'a frame nobody overtook was not reordered');
  // A successor arriving after the give-up time does not overtake.
  c.transmit(makeFrame(10), 0, 60, 20);
  c.transmit(makeFrame(11), 0, 60, 40);
  d.poll(1000, rx2);
  assert.deepEqual(rx2.ids(), [9, 10, 11]);
});

test('corruption flips exactly one bit at roughly the configured rate', () => {
  const n = 20000;
  const { a, rx } = run({ corrupt: 0.1, seed: 9 }, n);
  assert.equal(rx.frames.length, n);
  let corrupted = 0;
  for (let i = 0; i < n; i++) {
    const got = rx.frames[i];
    const want = makeFrame(i);
    let bits = 0;
    for (let j = 0; j < want.length; j++) {
      let x = got[j] ^ want[j];
      while (x) {
        bits += x & 1;
        x >>= 1;
      }
    }
    assert.ok(bits <= 1, `frame ${i} has ${bits} flipped bits`);
    corrupted += bits;
  }
  assert.equal(corrupted, a.faults.corrupted);
  assertBinomial(corrupted, n, 0.1, 'corrupted frames');
});

test('a full ring drops and counts, and recovers after polling', () => {
  const [a, b] = MemoryLink.pair({ queueFrames: 4 });
  for (let i = 0; i < 4; i++) assert.equal(a.transmit(makeFrame(i), 0, 60, 0), 0);
  assert.equal(a.transmit(makeFrame(4), 0, 60, 0), -Errno.ENOBUFS);
  assert.equal(a.stats.drops, 1);
  assert.equal(a.stats.txFrames, 4);
  const rx = new Collector();
  b.poll(0, rx);
  assert.deepEqual(rx.ids(), [0, 1, 2, 3]);
  // Wrap around the ring a few times.
  for (let i = 5; i < 15; i++) {
    assert.equal(a.transmit(makeFrame(i), 0, 60, 0), 0);
    b.poll(0, rx);
  }
  assert.deepEqual(rx.ids(), [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
});

test('oversized and runt frames are dropped', () => {
  const [a, b] = MemoryLink.pair({ mtu: 100 });
  const big = new Uint8Array(200);
  assert.equal(a.transmit(big, 0, 115, 0), -Errno.EMSGSIZE);
  assert.equal(a.transmit(big, 0, 13, 0), -Errno.EMSGSIZE);
  assert.equal(a.transmit(big, 0, 114, 0), 0);
  assert.equal(a.transmit(big, 0, 14, 0), 0);
  assert.equal(a.stats.drops, 2);
  const rx = new Collector();
  b.poll(0, rx);
  assert.deepEqual(rx.frames.map((f) => f.length), [114, 14]);
});

test('transmit wakes the peer, not the sender', () => {
  const [a, b] = MemoryLink.pair();
  let wokeA = 0;
  let wokeB = 0;
  a.setWakeup(() => wokeA++);
  b.setWakeup(() => wokeB++);
  a.transmit(makeFrame(1), 0, 60, 0);
  assert.equal(wokeB, 1);
  assert.equal(wokeA, 0);
  b.transmit(makeFrame(2), 0, 60, 0);
  assert.equal(wokeA, 1);
  b.setWakeup(null);
  a.transmit(makeFrame(3), 0, 60, 0);
  assert.equal(wokeB, 1);
});

test('close on either end stops transmit and delivery both ways', () => {
  const [a, b] = MemoryLink.pair();
  a.transmit(makeFrame(1), 0, 60, 0);
  b.transmit(makeFrame(2), 0, 60, 0);
  b.close();
  assert.equal(a.closed, true);
  assert.equal(a.transmit(makeFrame(3), 0, 60, 0), -Errno.ENETDOWN);
  assert.equal(b.transmit(makeFrame(4), 0, 60, 0), -Errno.ENETDOWN);
  const rx = new Collector();
  assert.equal(b.poll(100, rx), Infinity);
  assert.equal(a.poll(100, rx), Infinity);
  assert.equal(rx.frames.length, 0);
  assert.equal(a.pending, 0);
  assert.equal(b.pending, 0);
});

test('closing from inside receiveFrame stops the current poll cleanly', () => {
  const [a, b] = MemoryLink.pair();
  for (let i = 0; i < 3; i++) a.transmit(makeFrame(i), 0, 60, 0);
  let seen = 0;
  const closer: FrameReceiver = {
    receiveFrame() {
      seen++;
      b.close();
    },
  };
  assert.equal(b.poll(0, closer), Infinity);
  assert.equal(seen, 1);
  assert.equal(b.pending, 0);
  assert.equal(b.poll(0, closer), Infinity);
});

test('setFaults turns loss on and off at run time', () => {
  const [a, b] = MemoryLink.pair();
  const rx = new Collector();
  a.setFaults({ loss: 1 });
  for (let i = 0; i < 10; i++) assert.equal(a.transmit(makeFrame(i), 0, 60, 0), 0);
  b.setFaults({ loss: 0 }); // settings are shared by both ends
  for (let i = 10; i < 20; i++) a.transmit(makeFrame(i), 0, 60, 0);
  b.poll(0, rx);
  assert.deepEqual(rx.ids(), Array.from({ length: 10 }, (_, i) => i + 10));
  assert.equal(a.faults.lost, 10);
  assert.throws(() => a.setFaults({ loss: 1.5 }), RangeError);
  assert.throws(() => a.setFaults({ rateBps: 0 }), RangeError);
});

test('a receiver may reply from inside receiveFrame', () => {
  const [a, b] = MemoryLink.pair({ queueFrames: 2 });
  const echo: FrameReceiver = {
    receiveFrame(frame, offset, length) {
      assert.equal(b.transmit(frame, offset, length, 0), 0);
    },
  };
  const rx = new Collector();
  for (let round = 0; round < 5; round++) {
    a.transmit(makeFrame(round), 0, 60, 0);
    a.transmit(makeFrame(round + 100), 0, 60, 0);
    b.poll(0, echo);
    a.poll(0, rx);
  }
  assert.equal(rx.frames.length, 10);
  assert.deepEqual(rx.frames[9], makeFrame(104));
});

test('reorderDelayMs bounds how long a reordered frame waits for a successor', () => {
  const [a, b] = MemoryLink.pair({ reorder: 1, delayMs: 5, reorderDelayMs: 2 });
  const rx = new Collector();
  a.transmit(makeFrame(1), 0, 60, 0);
  // Due at 5, held 2 ms more: poll's deadline says so.
  assert.equal(b.poll(5, rx), 7);
  assert.equal(rx.frames.length, 0);
  assert.equal(b.poll(7, rx), Infinity);
  assert.deepEqual(rx.ids(), [1]);
  // A successor due within the bound overtakes it.
  a.transmit(makeFrame(2), 0, 60, 10);
  a.transmit(makeFrame(3), 0, 60, 11);
  b.poll(100, rx);
  assert.deepEqual(rx.ids(), [1, 3, 2]);
  assert.equal(a.faults.reordered, 1);
});
