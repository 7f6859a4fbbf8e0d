/**
 * IPv6 listeners and the link's SYN responders, with the engine in virtual
 * time (test/helpers/synr-bpf-cases6.ts's Engine6: fd00::2/64 on a
 * FrameTap, [::]:80):
 * - the engine hands an IPv6 listener whose SYNs get cookies to a responder
 *   that answers IPv6 (activate6: its address words, port, MSS, window,
 *   window scale, hop limit, hold), renews it while it overflows and
 *   withdraws it at close; a responder without activate6 (the RX thread's,
 *   IPv4 only) is never offered one and the engine goes on answering;
 * - the eBPF program (loaded, not attached; BPF_PROG_TEST_RUN with its clock
 *   fixed at the engine's) answers IPv6 SYNs with the engine's own SYN-ACK,
 *   and its cookie completes a handshake in the engine: the connection has
 *   the options the cookie carried, and data goes both ways byte-exact;
 * - a retransmitted SYN of a pending IPv6 request that the program answered
 *   with a cookie completes that request (TcpPassive.requestAck, check6).
 *
 * The eBPF tests need root (bpf(2)), libbpf.so.1 and the object built with
 * clang: skipped without them on a developer's machine, never in CI
 * (CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missing, program } from '../helpers/bpf-responder.js';
import { SYNR_SACK, SYNR_TIMESTAMPS, SYNR_WSCALE, SYN_RESPONDER_HOLD_MS, type SynResponder } from '../../src/engine/tcp/syn-responder.js';
import { TC_ACT_REDIRECT, addr6Words } from '../helpers/synr-bpf-cases.js';
import { Engine6, LINUX_OPTS6, STACK6, synFrame6 } from '../helpers/synr-bpf-cases6.js';

const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;
const RST = 0x04;


/** The TCP fields of an Ethernet + IPv6 + TCP frame (no extension headers), read here byte by byte. */
interface Tcp6 { src: string; hop: number; flow: number; sport: number; dport: number; seq: number; ack: number; flags: number;
  win: number; mss: number; ws: number; sackOk: boolean; tsVal: number | null; tsEcr: number; payload: Uint8Array }
function parse6(f: Uint8Array): Tcp6 {
  assert.ok(f.length >= 74 && f[12] === 0x86 && f[13] === 0xdd && f[20] === 6, 'an IPv6 TCP frame');
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const t = 54;
  const thl = (f[t + 12] >> 4) * 4;
  const r: Tcp6 = {
    src: [...f.subarray(22, 38)].map((b) => b.toString(16).padStart(2, '0')).join(''),
    hop: f[21], flow: v.getUint32(14) & 0xfffff,
    sport: v.getUint16(t), dport: v.getUint16(t + 2), seq: v.getUint32(t + 4), ack: v.getUint32(t + 8), flags: f[t + 13],
    win: v.getUint16(t + 14), mss: -1, ws: -1, sackOk: false, tsVal: null, tsEcr: 0,
    payload: f.subarray(t + thl, 54 + v.getUint16(18)),
  };
  for (let i = t + 20; i < t + thl;) {
    const k = f[i];
    if (k === 0) break;
    if (k === 1) { i++; continue; }
    const l = f[i + 1];
    if (k === 2) r.mss = v.getUint16(i + 2);
    if (k === 3) r.ws = f[i + 2];
    if (k === 4) r.sackOk = true;
    if (k === 8) { r.tsVal = v.getUint32(i + 2); r.tsEcr = v.getUint32(i + 6); }
    i += l;
  }
  return r;
}

const tsOpt = (val: number, ecr: number): number[] => [1, 1, 8, 10, val >>> 24, (val >>> 16) & 255, (val >>> 8) & 255, val & 255,
  ecr >>> 24, (ecr >>> 16) & 255, (ecr >>> 8) & 255, ecr & 255];

test('an IPv6 listener answering with cookies is handed to a responder that answers IPv6 (address words, hop limit), renewed while it overflows, withdrawn at close', () => {
  const e = new Engine6({ nowMs: 2_000_000, hopLimit6: 77, seed: 41, config: { tcpRecvBufferBytes: 1 << 20 } });
  assert.equal(e.activations.length, 1, 'handed at the first cookie');
  const a = e.activations[0];
  assert.deepEqual(a.words.map((w) => w >>> 0), addr6Words(STACK6), 'our address as four big-endian words');
  assert.equal(a.port, 80);
  assert.equal(a.mss, 1440, 'the SYN-ACK\'s MSS option (1500 - 40 - 20)');
  assert.equal(a.window, 65535);
  assert.equal(a.wscale, 5, 'ours for a 1 MiB buffer');
  assert.equal(a.hop, 77, 'the interface\'s hop limit (a router\'s Cur Hop Limit), not the ttl');
  assert.equal(a.until, e.nowMs + SYN_RESPONDER_HOLD_MS);
  assert.equal(a.opts, SYNR_TIMESTAMPS | SYNR_SACK | SYNR_WSCALE);
  // The engine's own SYN-ACK carried that hop limit too.
  const own = e.answer(synFrame6({ src: 'fd00::1:1', sport: 1234, options: LINUX_OPTS6 }));
  assert.ok(own !== null);
  assert.equal(parse6(own).hop, 77);
  // Half a hold later the listener still answers with cookies (mode 2): renewed with the same address and hop limit.
  e.nowMs += SYN_RESPONDER_HOLD_MS / 2 + 1;
  e.exchange([]);
  const renewals = e.activations.filter((x) => x.at === e.nowMs);
  assert.equal(renewals.length, 1, 'renewed while cookies are due');
  assert.deepEqual(renewals[0].words, a.words);
  assert.equal(renewals[0].hop, 77);
  assert.equal(renewals[0].until, e.nowMs + SYN_RESPONDER_HOLD_MS);
  const n = e.activations.length;
  assert.equal(e.stack.sockets.close(e.lfd), 0);
  assert.deepEqual(e.deactivated, [80], 'withdrawn at close');
  e.nowMs += 2 * SYN_RESPONDER_HOLD_MS;
  e.exchange([]);
  assert.equal(e.activations.length, n, 'not renewed once closed');
});

test('a responder that answers IPv4 only (no activate6) is not offered an IPv6 listener: the engine keeps answering every SYN', () => {
  const e = new Engine6({ seed: 42, handOff: false });
  const calls: string[] = [];
  const v4only: SynResponder = {
    configure: () => { calls.push('configure'); },
    activate: () => { calls.push('activate'); return true; },
    deactivate: () => { calls.push('deactivate'); },
  };
  (e.tap as unknown as { synResponder: SynResponder }).synResponder = v4only;
  for (let i = 0; i < 5; i++) {
    const r = e.answer(synFrame6({ src: `fd00::1:${i + 1}`, sport: 3000 + i, options: LINUX_OPTS6 }));
    assert.ok(r !== null && (parse6(r).flags & (SYN | ACK)) === (SYN | ACK), `SYN ${i} answered by the engine`);
  }
  assert.deepEqual(calls, [], 'nothing handed');
  assert.equal(e.stack.stats.tcp.syncookiesSent, 5);
});

test('the eBPF program answers IPv6 SYNs with the engine\'s own SYN-ACK, and its cookie completes a handshake in the engine with the options it carried; data both ways byte-exact', { skip: missing }, () => {
  const bpf = program();
  const e = new Engine6({ nowMs: 7_777_777, seed: 43, forward: bpf, config: { tcpRecvBufferBytes: 1 << 20 } });
  assert.ok(bpf.setFixedClock(e.nowMs));
  try {
    const answered0 = bpf.counters().answered;
    const variants: number[][] = [LINUX_OPTS6, [], [2, 4, 0x05, 0xa0, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 1]];
    variants.forEach((options, i) => {
      const syn = synFrame6({ src: 'fd00::1:9', sport: 41000 + i, isn: 0x01020304 * (i + 1), options });
      const r = bpf.testRun(syn);
      assert.equal(r.ret, TC_ACT_REDIRECT, `variant ${i}: answered`);
      assert.deepEqual([...r.out], [...(e.answer(syn) ?? [])], `variant ${i}: the engine's SYN-ACK byte for byte`);
    });
    assert.equal(bpf.counters().answered - answered0, variants.length);

    // A client's SYN, answered by the program alone; the client completes the handshake with the engine.
    const isn = 0x7000_0001;
    const client = { src: 'fd00::1:42', sport: 45678 };
    const sa = bpf.testRun(synFrame6({ ...client, isn, options: [2, 4, 0x05, 0xa0, 4, 2, ...tsOpt(1000, 0).slice(2), 1, 3, 3, 7] }));
    assert.equal(sa.ret, TC_ACT_REDIRECT);
    const s = parse6(sa.out);
    assert.equal(s.ack, (isn + 1) >>> 0);
    assert.equal(s.flags, SYN | ACK);
    assert.equal(s.hop, 64);
    assert.equal(s.flow, 0);
    assert.ok(s.tsVal !== null && s.sackOk && s.ws === 5);
    const tsv = s.tsVal;
    const recv0 = e.stack.stats.tcp.syncookiesRecv;
    const ackOut = e.exchange([synFrame6({ ...client, flags: ACK, isn: isn + 1, ack: s.seq + 1, win: 512, options: tsOpt(1001, tsv) })]);
    assert.deepEqual(ackOut.filter((f) => f[20] === 6 && (parse6(f).flags & RST) !== 0), [], 'no reset');
    assert.equal(e.stack.stats.tcp.syncookiesRecv - recv0, 1, 'the engine accepted the program\'s cookie');
    assert.equal(e.stack.stats.tcp.syncookiesFailed, 0);
    const fd = e.stack.sockets.accept(e.lfd);
    assert.ok(fd >= 0, `accept: ${fd}`);
    const info = e.stack.sockets.tcpInfo(fd);
    assert.ok(info !== null);
    assert.equal(info.state, 'ESTABLISHED');
    assert.equal(info.options.timestamps, true);
    assert.equal(info.options.sack, true, 'SACK from the cookie\'s TSval');
    assert.equal(info.options.peerWindowScale, 7, 'the peer\'s window scale from the cookie\'s TSval');
    assert.equal(info.options.windowScale, 5, 'ours as the program advertised it');
    assert.equal(info.mss, 1440 - 12, 'MSS 1440 from the IPv6 cookie table, less the timestamp option');

    // Data: 1000 bytes from the client, read byte-exact; 700 bytes back in one segment to the client.
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 255);
    e.nowMs += 1;
    e.exchange([synFrame6({ ...client, flags: ACK | PSH, isn: isn + 1, ack: s.seq + 1, win: 512, options: tsOpt(1002, tsv),
      payload: data })]);
    const buf = new Uint8Array(4096);
    const n = e.stack.sockets.recv(fd, buf, 0, buf.length);
    assert.deepEqual([...buf.subarray(0, n)], [...data], 'the client\'s data, byte-exact');
    const back = Uint8Array.from({ length: 700 }, (_, i) => (i * 13 + 1) & 255);
    assert.equal(e.stack.sockets.send(fd, back, 0, back.length), back.length);
    e.nowMs += 1;
    const segs = e.exchange([]).filter((f) => f[20] === 6).map(parse6).filter((x) => x.payload.length > 0);
    assert.equal(segs.length, 1);
    assert.equal(segs[0].seq, (s.seq + 1) >>> 0);
    assert.deepEqual([...segs[0].payload], [...back], 'our data, byte-exact');
    assert.equal(segs[0].tsEcr, 1002, 'timestamps on the connection');
  } finally {
    bpf.setFixedClock(null);
    bpf.deactivate(80);
  }
});

test('a retransmitted SYN of a pending IPv6 request, answered by the eBPF program with a cookie, completes that request in the engine', { skip: missing }, () => {
  const bpf = program();
  // Cookies only when the listener's share (its backlog, 1) is full: the first SYN gets a request record.
  const e = new Engine6({ nowMs: 9_000_000, seed: 44, forward: bpf, handOff: false, backlog: 1, config: { tcpSyncookies: 1 } });
  assert.ok(bpf.setFixedClock(e.nowMs));
  try {
    const q = e.stack.tcp.core.passive.q;
    const client = { src: 'fd00::1:77', sport: 5555 };
    const isn = 0x1234_5678;
    const syn = synFrame6({ ...client, isn, options: LINUX_OPTS6 });
    const first = e.answer(syn);
    assert.ok(first !== null, 'the engine answers the first SYN from a request record');
    assert.equal(q.used, 1);
    // Another SYN overflows the listener's share: a cookie, and the listener handed to the program.
    assert.ok(e.answer(synFrame6({ src: 'fd00::1:78', sport: 6666, options: LINUX_OPTS6 })) !== null);
    assert.equal(e.activations.length, 1, 'handed');
    // The client's retransmitted SYN is answered by the program, with a cookie rather than the request's ISN.
    const r = bpf.testRun(syn);
    assert.equal(r.ret, TC_ACT_REDIRECT);
    const s = parse6(r.out);
    assert.notEqual(s.seq, parse6(first).seq, 'a cookie, not the request\'s ISN');
    assert.ok(s.tsVal !== null);
    const recv0 = e.stack.stats.tcp.syncookiesRecv;
    const out = e.exchange([synFrame6({ ...client, flags: ACK, isn: isn + 1, ack: s.seq + 1, options: tsOpt(0xdeadbef0, s.tsVal) })]);
    assert.deepEqual(out.filter((f) => f[20] === 6 && (parse6(f).flags & RST) !== 0), [], 'no reset');
    assert.equal(e.stack.stats.tcp.syncookiesRecv - recv0, 1, 'accepted through the cookie');
    assert.equal(q.used, 0, 'the pending request was removed');
    const fd = e.stack.sockets.accept(e.lfd);
    assert.ok(fd >= 0, `accept: ${fd}`);
    const info = e.stack.sockets.tcpInfo(fd);
    assert.ok(info !== null);
    assert.equal(info.options.peerWindowScale, 7);
    assert.equal(info.options.sack, true);
  } finally {
    bpf.setFixedClock(null);
    bpf.deactivate(80);
  }
});
