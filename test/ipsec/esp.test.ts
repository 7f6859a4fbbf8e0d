/**
 * ESP rejection paths, sequence numbers, lifetimes, policies and the API:
 * every drop is counted under its own name, and nothing bad is delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Stack } from '../../src/index.js';
import type { ExpiryEvent } from '../../src/ipsec/api.js';
import { SUITES, espPair, espDrops, key, type EspPair } from './helpers.js';
import { ipv4Frame, udpDatagram } from '../helpers/frames.js';

const EHOSTUNREACH = 113;
const EPERM = 1;

function udpSink(p: EspPair, port = 9): { fd: number; count: () => number; last: () => Uint8Array | null } {
  const fd = p.b.sockets.socket('udp');
  assert.equal(p.b.sockets.bind(fd, 0, port), 0);
  const buf = new Uint8Array(2048);
  let n = 0;
  let last: Uint8Array | null = null;
  return {
    fd,
    count: () => {
      const from = { address: 0, port: 0 };
      for (let r; (r = p.b.sockets.recvfrom(fd, buf, 0, buf.length, from)) >= 0;) {
        n++;
        last = buf.slice(0, r);
      }
      return n;
    },
    last: () => last,
  };
}

function udpSender(p: EspPair): (len?: number, port?: number) => number {
  const fd = p.a.sockets.socket('udp');
  const data = new Uint8Array(1200).fill(0x5a);
  return (len = 100, port = 9) => {
    const r = p.a.sockets.sendto(fd, data, 0, len, '10.0.0.2', port);
    p.sim.advance(1);
    return r;
  };
}

/** Put a frame on the wire towards b as if a had sent it, and let b handle it. */
function inject(p: EspPair, frame: Uint8Array): void {
  p.la.transmit(frame, 0, frame.length, p.sim.now);
  p.sim.advance(1);
}

function macs(p: EspPair): [string, string] {
  return [p.b.interfaceList()[0].mac, p.a.interfaceList()[0].mac];
}

test('replay (duplicate, too old), tampering, forged sequence numbers, wrong SPI, truncation: dropped and counted', () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 128'], { sa: { replayWindow: 64 } });
  const sink = udpSink(p);
  const send = udpSender(p);
  for (let i = 0; i < 100; i++) {
    assert.equal(send(), 100);
    sink.count();
  }
  assert.equal(sink.count(), 100);
  const st = p.b.stats.ipsec;
  const frame = (k: number): Uint8Array => p.wire[k].slice();
  inject(p, frame(99));
  assert.equal(st.replayDuplicate, 1);
  inject(p, frame(0));
  assert.equal(st.replayTooOld, 1);
  // A forged sequence number fails the ICV, and the window must not have moved to it.
  const forged = frame(99);
  forged.set([0, 0, 0x03, 0xe8], 14 + 20 + 4); // seq 1000
  inject(p, forged);
  assert.equal(st.authFailed, 1);
  // Tampered ciphertext under a fresh sequence number fails the ICV too.
  const tampered = frame(99);
  tampered.set([0, 0, 0, 102], 14 + 20 + 4);
  tampered[14 + 20 + 16 + 3] ^= 0x40;
  inject(p, tampered);
  assert.equal(st.authFailed, 2);
  assert.equal(send(), 100); // seq 101
  assert.equal(send(), 100); // seq 102: not burnt by the tampered copy
  assert.equal(sink.count(), 102, 'legitimate packets after the forgeries still arrive');
  const wrongSpi = frame(50);
  wrongSpi.set([0, 0, 0x99, 0x99], 14 + 20);
  inject(p, wrongSpi);
  assert.equal(st.noSa, 1);
  const short = ipv4Frame(...macs(p), { src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: new Uint8Array([0, 0, 0x10, 1, 0, 0]) });
  inject(p, short);
  assert.equal(st.malformed, 1);
  const unaligned = ipv4Frame(...macs(p), { src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: frame(60).subarray(34, 34 + 8 + 8 + 5 + 16) });
  inject(p, unaligned);
  assert.equal(st.malformed, 2);
  assert.equal(sink.count(), 102);
  assert.equal(espDrops(st), 7, 'each drop counted once');
  assert.equal(st.delivered, 102);
});

/** An authentic null+HMAC-SHA-256 ESP packet from a (SA 0x1001) with any trailer. */
function craft(p: EspPair, seq: number, payload: Uint8Array, pad: number[], padLen: number, nh: number): Uint8Array {
  const body = Buffer.concat([Buffer.from([0, 0, 0x10, 0x01, seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff]),
    Buffer.from(payload), Buffer.from(pad), Buffer.from([padLen, nh])]);
  const icv = createHmac('sha256', Buffer.from(key(32, 1), 'hex')).update(body).digest().subarray(0, 16);
  return ipv4Frame(...macs(p), { src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: Buffer.concat([body, icv]) });
}

test('authentic packets with bad padding, pad length or next header, and dummy packets, are dropped and counted', () => {
  const p = espPair(SUITES['null+hmac(sha256)']);
  const sink = udpSink(p);
  const udp = udpDatagram('10.0.0.1', '10.0.0.2', 4000, 9, new TextEncoder().encode('hello esp!!!')); // 20 bytes: + 2 pad + 2 is aligned
  const st = p.b.stats.ipsec;
  inject(p, craft(p, 1, udp, [1, 2], 2, 17));
  assert.equal(sink.count(), 1, 'the well-formed crafted packet is delivered');
  inject(p, craft(p, 2, udp, [1, 3], 2, 17));
  assert.equal(st.badPadding, 1);
  inject(p, craft(p, 3, udp, [1, 2, 3, 4, 5, 6], 2, 17)); // pad length disagrees with the bytes: padding check fails
  assert.equal(st.badPadding, 2);
  inject(p, craft(p, 4, udp.subarray(0, 2), [], 200, 17)); // pad length longer than the payload
  assert.equal(st.badPadLength, 1);
  inject(p, craft(p, 5, udp, [1, 2], 2, 4)); // IP-in-IP: tunnel mode is not offered
  inject(p, craft(p, 6, udp, [1, 2], 2, 99));
  assert.equal(st.badNextHeader, 2);
  inject(p, craft(p, 7, udp, [1, 2], 2, 59)); // RFC 4303 2.6 dummy packet
  assert.equal(st.dummy, 1);
  inject(p, craft(p, 0, udp, [1, 2], 2, 17)); // sequence number 0 is never sent
  assert.equal(st.badSequence, 1);
  inject(p, craft(p, 8, udp, [1, 2], 2, 17));
  assert.equal(sink.count(), 2);
  assert.equal(espDrops(st), 7);
  // Windows still moved for the authentic-but-rejected packets: their numbers cannot be replayed.
  inject(p, craft(p, 2, udp, [1, 2], 2, 17));
  assert.equal(st.replayDuplicate, 1);
});

test('policies: protected traffic arriving in clear is dropped, discard drops, bypass passes, priorities order them', async () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 128'], { policies: false });
  const sink = udpSink(p);
  const send = udpSender(p);
  p.b.ipsec.addPolicy({ dir: 'in', src: '10.0.0.0/24', dst: '10.0.0.2', action: 'protect' });
  assert.equal(send(), 100);
  assert.equal(sink.count(), 0);
  assert.equal(p.b.stats.ipsec.unprotected, 1);
  await assert.rejects(p.sim.until(p.a.ping('10.0.0.2', { timeoutMs: 500 })), /ETIMEDOUT/);
  assert.equal(p.b.stats.ipsec.unprotected, 2);
  // Now a protects everything to b except UDP port 53, which a higher-priority bypass lets out in clear...
  p.a.ipsec.addPolicy({ dir: 'out', dst: '10.0.0.2', action: 'protect', priority: 10 });
  p.a.ipsec.addPolicy({ dir: 'out', dst: '10.0.0.2', proto: 'udp', dstPort: 53, action: 'bypass', priority: 0 });
  p.a.ipsec.addPolicy({ dir: 'out', dst: '10.0.0.2', proto: 'udp', dstPort: [5000, 5999], action: 'discard', priority: 0 });
  p.wireProtos.length = 0;
  assert.equal(send(100, 9), 100);
  assert.equal(send(100, 53), 100);
  assert.equal(send(100, 5555), -EPERM);
  assert.deepEqual(p.wireProtos, [50, 17]);
  assert.equal(p.a.stats.ipsec.outPolicyDiscard, 1);
  assert.equal(sink.count(), 1, 'the protected datagram passes b\'s protect policy');
  // ...and b requires protection for port 53 too: the clear one was dropped.
  assert.equal(p.b.stats.ipsec.unprotected, 3);
  // A discard policy on input drops even authentic ESP.
  p.b.ipsec.addPolicy({ dir: 'in', src: '10.0.0.1', proto: 'udp', dstPort: 9, action: 'discard', priority: -1 });
  assert.equal(send(), 100);
  assert.equal(sink.count(), 1);
  assert.equal(p.b.stats.ipsec.inPolicyDiscard, 1);
  const list = p.b.ipsec.listPolicy();
  assert.deepEqual(list.map((x) => [x.priority, x.action, x.hits]), [[-1, 'discard', 1], [0, 'protect', 4]]);
});

test('a protect policy without a live SA drops outbound packets (EHOSTUNREACH) and counts them', () => {
  const p = espPair(SUITES['null+hmac(sha1)']);
  const send = udpSender(p);
  assert.ok(p.a.ipsec.deleteSa(0x1001, '10.0.0.2', 'out'));
  assert.equal(send(), -EHOSTUNREACH);
  assert.equal(p.a.stats.ipsec.outNoSa, 1);
  assert.equal(p.wireProtos.length, 0);
});

test('ESN: sequence numbers cross 2^32 without a hitch (high bits inferred, authenticated, never sent)', () => {
  const start = 2 ** 32 - 4;
  for (const suite of ['rfc4106(gcm(aes)) 128', 'cbc(aes)+hmac(sha256)', 'rfc4543(gcm(aes))']) {
    const p = espPair(SUITES[suite], { sa: { esn: true, seq: start } });
    const sink = udpSink(p);
    const send = udpSender(p);
    for (let i = 0; i < 10; i++) assert.equal(send(), 100);
    assert.equal(sink.count(), 10, suite);
    const lows = p.wire.map((f) => Buffer.from(f).readUInt32BE(38));
    assert.deepEqual(lows, [0xfffffffd, 0xfffffffe, 0xffffffff, 0, 1, 2, 3, 4, 5, 6]);
    const inSa = p.b.ipsec.listSa().find((s) => s.dir === 'in' && s.spi === 0x1001);
    assert.equal(inSa?.seq, String(2 ** 32 + 6));
    // A replay from before the boundary is still recognised as one.
    inject(p, p.wire[1].slice());
    assert.equal(p.b.stats.ipsec.replayDuplicate, 1);
    assert.equal(espDrops(p.b.stats.ipsec), 1);
  }
});

test('sequence-number exhaustion stops the SA instead of wrapping (32-bit and ESN 64-bit)', () => {
  for (const [esn, seq] of [[false, 2 ** 32 - 3], [true, (1n << 64n) - 3n]] as const) {
    const p = espPair(SUITES['rfc4106(gcm(aes)) 128'], { sa: { esn, seq } });
    const events: ExpiryEvent[] = [];
    p.a.ipsec.on('hard', (e) => events.push(e));
    const sink = udpSink(p);
    const send = udpSender(p);
    assert.equal(send(), 100);
    assert.equal(send(), 100); // the last number, 2^n - 1
    assert.equal(send(), -EHOSTUNREACH);
    assert.equal(send(), -EHOSTUNREACH);
    assert.equal(sink.count(), 2);
    assert.equal(p.a.stats.ipsec.seqExhausted, 1);
    assert.equal(p.a.stats.ipsec.outNoSa, 2);
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'sequence');
    assert.equal(events[0].sa.spi, 0x1001);
    assert.equal(events[0].sa.seq, esn ? ((1n << 64n) - 1n).toString() : String(2 ** 32 - 1));
    assert.equal(p.a.ipsec.listSa().find((s) => s.spi === 0x1001)?.state, 'expired');
  }
});

test('lifetimes: soft and hard expiry by time (virtual) and by bytes, with events', () => {
  const p = espPair(SUITES['cbc(aes)+hmac(sha256)'], { sa: { lifetime: { softSeconds: 10, hardSeconds: 20 } } });
  const seen: Array<[string, string, number, number]> = [];
  const t0 = p.sim.now;
  p.a.ipsec.on('soft', (e) => seen.push([e.kind, e.reason, e.sa.spi, p.a.now - t0]));
  p.a.ipsec.on('hard', (e) => seen.push([e.kind, e.reason, e.sa.spi, p.a.now - t0]));
  const send = udpSender(p);
  p.sim.advance(9_000);
  assert.equal(seen.length, 0);
  p.sim.advance(2_000);
  assert.deepEqual(seen.map((x) => x.slice(0, 3)), [['soft', 'time', 0x1001], ['soft', 'time', 0x2002]]);
  assert.ok(seen[0][3] >= 10_000 && seen[0][3] < 10_010, `soft at ${seen[0][3]} ms`);
  assert.equal(send(), 100, 'soft expiry keeps the SA usable');
  p.sim.advance(10_000);
  assert.deepEqual(seen.slice(2).map((x) => x.slice(0, 3)), [['hard', 'time', 0x1001], ['hard', 'time', 0x2002]]);
  assert.ok(seen[2][3] >= 20_000 && seen[2][3] < 20_010);
  assert.equal(send(), -EHOSTUNREACH);
  assert.equal(p.a.stats.ipsec.softExpired, 2);
  assert.equal(p.a.stats.ipsec.hardExpired, 2);

  const q = espPair(SUITES['null+hmac(sha256)']);
  // Only b's inbound SA gets the byte lifetime.
  q.b.ipsec.deleteSa(0x1001, '10.0.0.2', 'in');
  q.b.ipsec.addSa({ dir: 'in', spi: 0x1001, src: '10.0.0.1', dst: '10.0.0.2', ...SUITES['null+hmac(sha256)'](1),
    lifetime: { softBytes: 3000, hardBytes: 6000 } });
  const kinds: string[] = [];
  q.b.ipsec.on('soft', (e) => { if (e.sa.dir === 'in') kinds.push(`soft:${e.reason}`); });
  q.b.ipsec.on('hard', (e) => { if (e.sa.dir === 'in') kinds.push(`hard:${e.reason}`); });
  const sink = udpSink(q);
  const sendq = udpSender(q);
  for (let i = 0; i < 8; i++) sendq(992); // 1000 bytes of UDP each
  assert.deepEqual(kinds, ['soft:bytes', 'hard:bytes']);
  assert.equal(sink.count(), 6);
  assert.equal(q.b.stats.ipsec.saExpired, 2, 'packets for a hard-expired inbound SA are dropped and counted');
});

test('sequence numbers survive a restart through exportState/importState without reuse', () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 256']);
  const sink = udpSink(p);
  const send = udpSender(p);
  for (let i = 0; i < 5; i++) send();
  assert.equal(sink.count(), 5);
  const saved = JSON.parse(JSON.stringify(p.a.ipsec.exportState()));
  assert.equal(saved.find((s: { spi: number; dir: string }) => s.spi === 0x1001 && s.dir === 'out').seq, '5');
  // "Restart": the SA is configured again from scratch, sequence 0.
  p.a.ipsec.deleteSa(0x1001, '10.0.0.2', 'out');
  const spec = { dir: 'out' as const, spi: 0x1001, src: '10.0.0.1', dst: '10.0.0.2', ...SUITES['rfc4106(gcm(aes)) 256'](1) };
  p.a.ipsec.addSa(spec);
  send();
  assert.equal(p.b.stats.ipsec.replayDuplicate, 1, 'without the saved state the peer sees a replay');
  p.a.ipsec.deleteSa(0x1001, '10.0.0.2', 'out');
  p.a.ipsec.addSa(spec);
  // Only the out SA moves (a's in SA saw nothing: numbers never go back).
  assert.equal(p.a.ipsec.importState(saved, 100), 1);
  send();
  assert.equal(sink.count(), 6);
  assert.equal(Buffer.from(p.wire[p.wire.length - 1]).readUInt32BE(38), 106, 'resumed past the margin');
  // Inbound: a restored window rejects what was already received.
  const bSaved = p.b.ipsec.exportState();
  p.b.ipsec.deleteSa(0x1001, '10.0.0.2', 'in');
  p.b.ipsec.addSa({ ...spec, dir: 'in' });
  p.b.ipsec.importState(bSaved);
  inject(p, p.wire[p.wire.length - 1].slice());
  assert.equal(p.b.stats.ipsec.replayDuplicate, 2);
  assert.equal(sink.count(), 6);
});

test('ESP-in-UDP: NAT keepalives are dropped, non-ESP-marker (IKE) datagrams reach a UDP socket on 4500', () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 128'], { sa: { encap: true } });
  const ike = udpSink(p, 4500);
  // IKE itself must bypass the protect-everything policy, as on Linux (a socket policy there).
  p.b.ipsec.addPolicy({ dir: 'in', src: '10.0.0.1', proto: 'udp', dstPort: 4500, action: 'bypass', priority: -1 });
  const [dmac, smac] = macs(p);
  inject(p, ipv4Frame(dmac, smac, { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udpDatagram('10.0.0.1', '10.0.0.2', 4500, 4500, new Uint8Array([0xff])) }));
  assert.equal(p.b.stats.ipsec.natKeepalive, 1);
  const marker = new Uint8Array([0, 0, 0, 0, 0x49, 0x4b, 0x45]);
  inject(p, ipv4Frame(dmac, smac, { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udpDatagram('10.0.0.1', '10.0.0.2', 4500, 4500, marker) }));
  assert.equal(p.b.stats.ipsec.ikeMarker, 1);
  assert.equal(ike.count(), 1);
  assert.deepEqual(Array.from(ike.last() ?? []), Array.from(marker));
  // Plain ESP for an SA that expects encapsulation is refused.
  const send = udpSender(p);
  send();
  const raw = p.wire[p.wire.length - 1];
  const esp = raw.subarray(14 + 20 + 8);
  inject(p, ipv4Frame(dmac, smac, { src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: esp }));
  assert.equal(p.b.stats.ipsec.encapMismatch, 1);
});

test('memory plan, capacities and refusals', () => {
  const s = new Stack({ ipsecMaxSa: 2, ipsecMaxSp: 1, ipsecReplayWindow: 1024 });
  assert.ok(s.memory.parts.ipsecSa > 0 && s.memory.parts.ipsecSp > 0 && s.memory.parts.ipsecReplay >= 2 * 1024 / 8);
  assert.ok(s.memory.parts.ipsecRx >= 1500);
  const bigger = Stack.planMemory({ ipsecMaxSa: 4, ipsecMaxSp: 1, ipsecReplayWindow: 1024 });
  assert.ok(bigger.parts.ipsecSa > s.memory.parts.ipsecSa && bigger.parts.ipsecReplay > s.memory.parts.ipsecReplay);
  const off = new Stack({ ipsecMaxSa: 0, ipsecMaxSp: 0 });
  assert.equal(off.memory.parts.ipsecSa, undefined);
  assert.throws(() => off.ipsec, /disabled/);
  const sa = (spi: number, dir: 'in' | 'out' = 'out') => ({ dir, spi, src: '10.0.0.1', dst: '10.0.0.2', ...SUITES['null+hmac(sha1)'](1) });
  s.ipsec.addSa(sa(0x100));
  assert.throws(() => s.ipsec.addSa(sa(0x100)), /exists/);
  s.ipsec.addSa(sa(0x101));
  assert.throws(() => s.ipsec.addSa(sa(0x102)), /ipsecMaxSa 2/);
  assert.throws(() => s.ipsec.addPolicy({ dir: 'both', action: 'protect' }), /ipsecMaxSp 1/);
  assert.throws(() => s.ipsec.addSa({ ...sa(0x103, 'in'), replayWindow: 2048 }), /replayWindow/);
  assert.throws(() => s.ipsec.addSa({ ...sa(7) }), /reserved/);
  assert.throws(() => s.ipsec.addSa({ ...sa(0x104), seq: 2 ** 32 }), /esn/);
  assert.throws(() => s.ipsec.addPolicy({ dir: 'out', proto: 'icmp', dstPort: 3, action: 'protect' }), /ports need/);
  assert.throws(() => s.ipsec.addPolicy({ dir: 'out', action: 'encrypt' as 'protect' }), /action/);
  assert.throws(() => s.ipsec.addSa({ ...sa(0x105), colour: 'red' } as never), /unknown field 'colour'/);
});

test('loadJson: a whole configuration at once, validated before anything is added', async () => {
  const doc = {
    sa: [
      { dir: 'out', spi: '0x3001', src: '10.0.0.1', dst: '10.0.0.2', aead: { name: 'rfc4106(gcm(aes))', key: `0x${key(20, 9)}` } },
      { dir: 'in', spi: '0x3002', src: '10.0.0.2', dst: '10.0.0.1', enc: { name: 'cbc(aes)', key: key(16, 8) }, auth: { name: 'hmac(sha256)', key: key(32, 7) } },
    ],
    policy: [{ dir: 'both', src: '10.0.0.1/32', dst: '10.0.0.2/32', action: 'protect' }],
  };
  const peer = {
    sa: [{ ...doc.sa[0], dir: 'in' }, { ...doc.sa[1], dir: 'out' }],
    policy: [{ dir: 'both', src: '10.0.0.2/32', dst: '10.0.0.1/32', action: 'protect' }],
  };
  const p = espPair(SUITES['null+hmac(sha1)'], { policies: false });
  p.a.ipsec.flush();
  p.b.ipsec.flush();
  assert.deepEqual(p.a.ipsec.loadJson(JSON.stringify(doc)), { sa: 2, policy: 2 });
  p.b.ipsec.loadJson(peer as never);
  await p.sim.until(p.a.ping('10.0.0.2'));
  assert.ok(p.wireProtos.length > 0 && p.wireProtos.every((x) => x === 50));
  assert.equal(p.b.stats.ipsec.delivered, 1);
  const bad = { sa: [doc.sa[0], { ...doc.sa[1], spi: '0x3003', auth: { name: 'hmac(sha256)', key: '00' } }], policy: [] };
  const c = new Stack();
  assert.throws(() => c.ipsec.loadJson(bad as never), /sa\[1\]: hmac\(sha256\) key must be 32 bytes/);
  assert.equal(c.ipsec.listSa().length, 0, 'nothing half-loaded');
  assert.throws(() => c.ipsec.loadJson({ sa: [], policy: [], extra: 1 } as never), /unknown field 'extra'/);
});

test('garbage ESP (right SPI, random bytes and lengths) never crashes and every packet is counted once', () => {
  for (const suite of ['rfc4106(gcm(aes)) 128', 'cbc(aes)+hmac(sha256)', 'rfc4543(gcm(aes))', 'null+hmac(sha1)']) {
    const p = espPair(SUITES[suite], { sa: { encap: false } });
    const sink = udpSink(p);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const [dmac, smac] = macs(p);
    const N = 300;
    for (let i = 0; i < N; i++) {
      const len = 8 + rnd(1400);
      const esp = new Uint8Array(len);
      for (let k = 0; k < len; k++) esp[k] = rnd(256);
      esp.set([0, 0, 0x10, 0x01], 0);
      if (i % 3 === 0) esp.set([0, 0, 0, 0], 4); // sequence 0 now and then
      inject(p, ipv4Frame(dmac, smac, { src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: esp }));
    }
    const st = p.b.stats.ipsec;
    assert.equal(st.rx, N);
    assert.equal(espDrops(st), N, `${suite}: ${JSON.stringify(st)}`);
    assert.equal(st.delivered, 0);
    assert.equal(sink.count(), 0);
    // The SA still works afterwards.
    assert.equal(udpSender(p)(), 100);
    assert.equal(sink.count(), 1);
  }
});
