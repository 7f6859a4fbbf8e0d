import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultLink, MemoryLink, PcapWriter, Simulation, Stack } from '../../src/index.js';
import type { PcapSink } from '../../src/index.js';

test('FaultLink wraps any link: losses, duplicates, corruption and reordering both ways, TCP still byte-exact', () => {
  const [l1, l2] = MemoryLink.pair({ delayMs: 2, seed: 3, queueFrames: 1024 });
  const frames: number[] = [];
  const sink: PcapSink = { write: (_b, _o, len) => { frames.push(len); } };
  // A pcap writer around the fault injector around a clean cable: wrappers compose.
  const faulty = new FaultLink(l1, { loss: 0.03, duplicate: 0.02, corrupt: 0.01, reorder: 0.02, seed: 9 });
  const a = new Stack({ seed: 1, tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
  const b = new Stack({ seed: 2, tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
  const capture = new PcapWriter(faulty, sink);
  a.addInterface(capture, { address: '10.0.0.1/24' });
  b.addInterface(l2, { address: '10.0.0.2/24' });
  const sim = new Simulation([a, b]);
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 80);
  b.sockets.listen(l, 1);
  const c = a.sockets.socket('tcp');
  a.sockets.connect(c, '10.0.0.2', 80);
  let s = -1;
  for (let i = 0; i < 100 && s < 0; i++) {
    sim.advance(50);
    s = b.sockets.accept(l);
  }
  assert.ok(s >= 0, 'connected through the faults');
  const N = 4 << 20;
  const data = new Uint8Array(N);
  for (let i = 0; i < N; i++) data[i] = (i * 37 + (i >>> 12)) & 0xff;
  const rbuf = new Uint8Array(65536);
  let sent = 0;
  let got = 0;
  let bad = 0;
  for (let step = 0; step < 200000 && got < N; step++) {
    if (sent < N) {
      const n = a.sockets.send(c, data, sent, N - sent);
      if (n > 0) sent += n;
    }
    sim.advance(2);
    for (let n; (n = b.sockets.recv(s, rbuf, 0, rbuf.length)) > 0;) {
      for (let i = 0; i < n; i++) if (rbuf[i] !== data[got + i]) bad++;
      got += n;
    }
  }
  assert.equal(got, N);
  assert.equal(bad, 0);
  const f = faulty.faults;
  for (const dir of [f.tx, f.rx]) {
    assert.ok(dir.lost > 0 && dir.duplicated > 0 && dir.corrupted > 0 && dir.reordered > 0, JSON.stringify(f));
  }
  // Corrupted frames were caught by checksums on both sides, never delivered as data.
  const drops = a.stats.tcp.badChecksum + a.stats.ip.badChecksum + a.stats.eth.notForUs + a.stats.eth.unknownType
    + b.stats.tcp.badChecksum + b.stats.ip.badChecksum + b.stats.eth.notForUs + b.stats.eth.unknownType
    + a.stats.arp.malformed + b.stats.arp.malformed + a.stats.ip.martianSource + b.stats.ip.martianSource
    + a.stats.tcp.malformed + b.stats.tcp.malformed + a.stats.tcp.badOptions + b.stats.tcp.badOptions
    + a.stats.ip.badTotalLength + b.stats.ip.badTotalLength + a.stats.ip.badHeaderLength + b.stats.ip.badHeaderLength
    + a.stats.ip.badVersion + b.stats.ip.badVersion + a.stats.ip.notForUs + b.stats.ip.notForUs
    + a.stats.eth.runt + b.stats.eth.runt + a.stats.ip.truncated + b.stats.ip.truncated
    + a.stats.tcp.noSocket + b.stats.tcp.noSocket + a.stats.ip.fragmentsDropped + b.stats.ip.fragmentsDropped;
  assert.ok(drops > 0, 'corrupted frames were dropped and counted');
  capture.flush();
  assert.ok(capture.frames > 2000 && frames.length > 0, 'the pcap wrapper saw the traffic');
});

test('FaultLink with no faults is transparent, and setFaults changes it at run time', () => {
  const [l1, l2] = MemoryLink.pair({ seed: 1 });
  const f = new FaultLink(l1, { seed: 2 });
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(f, { address: '10.0.0.1/24' });
  b.addInterface(l2, { address: '10.0.0.2/24' });
  const sim = new Simulation([a, b]);
  let ok = 0;
  for (let i = 0; i < 20; i++) {
    void a.ping('10.0.0.2', { timeoutMs: 100 }).then(() => { ok++; }, () => undefined);
    sim.advance(10);
  }
  f.setFaults({ loss: 1 });
  let lost = 0;
  for (let i = 0; i < 5; i++) {
    void a.ping('10.0.0.2', { timeoutMs: 100 }).then(() => undefined, () => { lost++; });
    sim.advance(200);
  }
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.equal(ok, 20);
    assert.equal(lost, 5);
    assert.equal(f.faults.tx.lost + f.faults.rx.lost >= 5, true);
    resolve();
  }));
});

test('FaultLink reordering is a bounded delay: a held frame with no successor leaves after reorderDelayMs', () => {
  const [l1, l2] = MemoryLink.pair({ seed: 1 });
  const f = new FaultLink(l1, { seed: 2, reorder: 1, reorderDelayMs: 4 });
  const got: number[] = [];
  const rx = { receiveFrame: (b: Uint8Array, o: number) => { got.push(b[o + 14]); } };
  const none = { receiveFrame: () => undefined };
  const frame = (id: number) => { const b = new Uint8Array(60); b[14] = id; return b; };
  // Outgoing: frame 1 is held; polls before the bound keep it and report the deadline.
  f.transmit(frame(1), 0, 60, 10);
  assert.equal(f.poll(10, none), 14);
  assert.equal(l2.poll(10, rx), Infinity);
  assert.deepEqual(got, []);
  assert.equal(f.poll(13, none), 14);
  assert.equal(f.poll(14, none), Infinity);
  l2.poll(14, rx);
  assert.deepEqual(got, [1]);
  // A successor within the bound overtakes it (the successor itself is not held).
  f.transmit(frame(2), 0, 60, 20);
  f.transmit(frame(3), 0, 60, 21);
  l2.poll(21, rx);
  assert.deepEqual(got, [1, 3, 2]);
  // Incoming: held across polls, released by poll at the bound.
  const gotIn: number[] = [];
  const rxIn = { receiveFrame: (b: Uint8Array, o: number) => { gotIn.push(b[o + 14]); } };
  l2.transmit(frame(7), 0, 60, 30);
  assert.equal(f.poll(30, rxIn), 34);
  assert.deepEqual(gotIn, []);
  f.poll(34, rxIn);
  assert.deepEqual(gotIn, [7]);
  assert.equal(f.faults.tx.reordered, 2);
  assert.equal(f.faults.rx.reordered, 1);
});
