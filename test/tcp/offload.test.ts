/**
 * TCP with offload, in virtual time: input of segments larger than the MSS
 * (what a link with GRO/TSO delivers), and super-segments over a MemoryLink
 * with `offload` (as over veth), with and without impairments; without
 * offload the frames stay MSS-sized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tapStack, TapPeer, drain, ACK, PSH, pattern as bytes } from './helpers.js';
import { runBulk } from '../tcp-sim/bulk.js';
import { parseTcpFrame } from './helpers.js';
import { MemoryLink, Stack, Simulation } from '../../src/index.js';

const LISTEN_PORT = 80;

function listener(stack: Stack): number {
  const l = stack.sockets.socket('tcp');
  assert.equal(stack.sockets.bind(l, 0, LISTEN_PORT), 0);
  assert.equal(stack.sockets.listen(l, 4), 0);
  return l;
}

test('a segment larger than the MSS (coalesced by a link) is accepted whole, counted, and ACKed at once', () => {
  const ts = tapStack(7);
  const l = listener(ts.stack);
  const peer = new TapPeer(ts, { port: 40000, stackPort: LISTEN_PORT, isn: 1000 });
  const fd = peer.handshake(l);
  const data = bytes(20000, 3);
  const before = ts.stack.stats.tcp.groSegments;
  const out = peer.send(data);
  assert.equal(ts.stack.stats.tcp.groSegments, before + 1);
  // More than one full segment is acknowledged without waiting for the delayed-ACK timer.
  assert.ok(out.some((s) => (s.flags & ACK) !== 0 && s.ack === peer.sndNxt), 'ACK of the whole super-segment in the same poll');
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), data);
});

test('coalesced segments out of order are reassembled (SACK), and one beyond the window is trimmed to it', () => {
  const ts = tapStack(8, { tcpRecvBufferBytes: 32768 });
  const l = listener(ts.stack);
  const peer = new TapPeer(ts, { port: 40001, stackPort: LISTEN_PORT, isn: 5000 });
  const fd = peer.handshake(l);
  const data = bytes(24000, 5);
  const first = peer.dataFrame(data.subarray(0, 12000));
  const second = peer.dataFrame(data.subarray(12000));
  const sack = peer.absorb(ts.feed(second));
  assert.ok(sack.some((s) => s.opts.sack.length > 0), 'the out-of-order super-segment draws a SACK');
  peer.absorb(ts.feed(first));
  assert.deepEqual(Uint8Array.from(drain(ts.stack, fd)), data);
  // A 40000-byte segment into a 32 KiB buffer: only what fits is taken, the ACK says how far.
  const big = bytes(40000, 9);
  const out = peer.send(big, 0, ACK | PSH);
  const acked = out.filter((s) => (s.flags & ACK) !== 0).map((s) => s.ack);
  const took = drain(ts.stack, fd);
  assert.ok(took.length > 0 && took.length <= 32768, `took ${took.length}`);
  assert.deepEqual(Uint8Array.from(took), big.subarray(0, took.length));
  assert.ok(acked.length > 0);
});

for (const offload of [true, false]) {
  test(`MemoryLink offload ${offload ? 'on' : 'off'}: 8 MiB each way byte-exact; super-segments ${offload ? 'sent and received' : 'never'}`, () => {
    const r = runBulk([8 << 20, 8 << 20], { offload, queueFrames: 256, rateBps: 1e9, delayMs: 1 });
    assert.equal(r.corrupt, 0);
    assert.deepEqual(r.received, [8 << 20, 8 << 20]);
    const [sa, sb] = r.stats;
    if (offload) {
      assert.ok(sa.tsoSegments > 0 && sb.tsoSegments > 0, `tso ${sa.tsoSegments}/${sb.tsoSegments}`);
      assert.ok(sa.groSegments > 0 && sb.groSegments > 0, `gro ${sa.groSegments}/${sb.groSegments}`);
      // Far fewer frames than 16 MiB / 1448 B each way.
      assert.ok(r.link[0].stats.txFrames < (8 << 20) / 1448, `frames ${r.link[0].stats.txFrames}`);
      assert.equal(sa.badChecksum + sb.badChecksum, 0);
    } else {
      assert.equal(sa.tsoSegments + sb.tsoSegments + sa.groSegments + sb.groSegments, 0);
    }
  });
}

test('MemoryLink offload under loss, reordering, duplication and corruption: byte-exact; corrupted super-segments are caught', () => {
  const r = runBulk([4 << 20, 4 << 20], {
    offload: true, queueFrames: 256, rateBps: 1e9, delayMs: 1, loss: 0.01, reorder: 0.01, duplicate: 0.01, corrupt: 0.01, seed: 5,
  });
  assert.equal(r.corrupt, 0);
  assert.deepEqual(r.received, [4 << 20, 4 << 20]);
  const corrupted = r.link[0].faults.corrupted + r.link[1].faults.corrupted;
  assert.ok(corrupted > 0);
  // A flipped bit unmarks the frame; the receiver then checks the (partial) checksum and drops it
  // (a flip in the Ethernet or IP header is caught there instead).
  assert.ok(r.stats[0].badChecksum + r.stats[1].badChecksum > 0, 'corrupted frames failed the checksum');
  assert.ok(r.stats[0].tsoSegments > 0 && r.stats[1].groSegments > 0);
});

test('offload: super-segments carry whole MSS pieces and a partial checksum the receiver can complete', () => {
  const [la, lb] = MemoryLink.pair({ offload: true, queueFrames: 64 });
  const a = new Stack({ seed: 1, tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
  const b = new Stack({ seed: 2, tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
  const seen: Uint8Array[] = [];
  const tap = {
    name: la.name, mtu: la.mtu, stats: la.stats, offload: la.offload,
    transmit: (f: Uint8Array, o: number, n: number, now: number, tx?: Parameters<MemoryLink['transmit']>[4]) => {
      if (tx != null && tx.gsoType !== 0) {
        seen.push(f.slice(o, o + n));
        assert.equal(tx.csumStart, 34);
        assert.equal(tx.csumOffset, 16);
        assert.equal((n - tx.hdrLen) > tx.gsoSize, true);
      }
      return la.transmit(f, o, n, now, tx);
    },
    poll: (now: number, rx: Parameters<MemoryLink['poll']>[1]) => la.poll(now, rx),
    setWakeup: (w: (() => void) | null) => la.setWakeup(w),
    close: () => la.close(),
  };
  a.addInterface(tap, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  const sim = new Simulation([a, b]);
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 9);
  b.sockets.listen(l, 1);
  const c = a.sockets.socket('tcp');
  a.sockets.connect(c, '10.0.0.2', 9);
  sim.advance(50);
  const s = b.sockets.accept(l);
  assert.ok(s >= 0);
  const data = bytes(1 << 20, 4);
  let sent = 0;
  const got: number[] = [];
  const rbuf = new Uint8Array(65536);
  for (let i = 0; i < 2000 && got.length < data.length; i++) {
    if (sent < data.length) {
      const n = a.sockets.send(c, data, sent, data.length - sent);
      if (n > 0) sent += n;
    }
    sim.advance(1);
    for (let n; (n = b.sockets.recv(s, rbuf, 0, rbuf.length)) > 0;) for (let k = 0; k < n; k++) got.push(rbuf[k]);
  }
  assert.deepEqual(Uint8Array.from(got), data);
  assert.ok(seen.length > 0);
  for (const f of seen) {
    const seg = parseTcpFrame(f);
    assert.ok(seg !== null);
    // Complete the partial checksum as the kernel would: sum over the TCP part, field included.
    const ipTotal = (f[16] << 8) | f[17];
    assert.equal(ipTotal, f.length - 14);
    let sum = 0;
    for (let i = 34; i + 1 < f.length; i += 2) sum += (f[i] << 8) | f[i + 1];
    if ((f.length - 34) & 1) sum += f[f.length - 1] << 8;
    const tcpLen = f.length - 34;
    // The field held the pseudo-header sum: adding the header+data gives the full sum; recomputing it
    // from scratch must agree.
    let ref = ((f[26] << 8) | f[27]) + ((f[28] << 8) | f[29]) + ((f[30] << 8) | f[31]) + ((f[32] << 8) | f[33]) + 6 + tcpLen;
    for (let i = 34; i + 1 < f.length; i += 2) if (i !== 50) ref += (f[i] << 8) | f[i + 1];
    if ((f.length - 34) & 1) ref += f[f.length - 1] << 8;
    const fold = (x: number): number => { while (x > 0xffff) x = (x & 0xffff) + (x >>> 16); return x; };
    assert.equal(fold(sum), fold(ref), 'the field holds the pseudo-header sum');
  }
});
