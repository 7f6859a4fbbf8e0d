/**
 * Capacity and fairness in virtual time: thousands of idle peers on one
 * listener cannot take the reserve, so a second listener and outgoing
 * connections keep working; idle connections hold no buffer pair; an empty
 * buffer pool drops (and counts) arriving data and refuses writes until a
 * pair is given back, and nothing is lost end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/index.js';
import {
  ACK, EAGAIN, EINPROGRESS, EV_WRITABLE, PEER_MAC, SYN, STACK_IP, STACK_MAC, B_IP, add32, connect, optionBlock,
  opt, pattern, tapStack, tcpFrame, tcpPair, transfer, waitFor, type Seg, type TapStack,
} from './helpers.js';

function srcOf(i: number): string {
  return `198.18.${(i >>> 8) & 255}.${i & 255}`;
}

function syn(src: string, sport: number, dport: number, isn: number): Uint8Array {
  return tcpFrame(STACK_MAC, PEER_MAC, {
    src, dst: STACK_IP, sport, dport, seq: isn, flags: SYN, win: 64240,
    options: optionBlock([opt.mss(1460), opt.sackOk(), opt.ts(1, 0), opt.nop(), opt.ws(7)]),
  });
}

/**
 * Peers `from .. from+count-1` (one address each, port 40000) open connections to
 * `dport` and then send nothing; the server side accepts what it can. Returns the
 * accepted descriptors.
 */
function idlePeers(ts: TapStack, lfd: number, dport: number, from: number, count: number, batch = 100): number[] {
  const accepted: number[] = [];
  for (let b = from; b < from + count; b += batch) {
    const n = Math.min(batch, from + count - b);
    const synFrames: Uint8Array[] = [];
    for (let i = b; i < b + n; i++) synFrames.push(syn(srcOf(i), 40000, dport, i * 1000));
    const out = ts.feed(synFrames, 1);
    const acks: Uint8Array[] = [];
    for (const s of out) {
      if ((s.flags & (SYN | ACK)) !== (SYN | ACK) || s.sport !== dport) continue;
      acks.push(tcpFrame(STACK_MAC, PEER_MAC, {
        src: s.dst, dst: STACK_IP, sport: s.dport, dport, seq: add32(s.ack, 0), ack: add32(s.seq, 1), flags: ACK,
        win: 502, options: optionBlock([opt.nop(), opt.nop(), opt.ts(2, s.opts.ts?.val ?? 0)]),
      }));
    }
    ts.feed(acks, 1);
    for (let fd = ts.stack.sockets.accept(lfd); fd >= 0; fd = ts.stack.sockets.accept(lfd)) accepted.push(fd);
  }
  return accepted;
}

test('3000 idle peers on one listener: it stops at N - R; a second listener and an outgoing connection still work; memory bounded', () => {
  const config = { maxSockets: 3200, maxTcpSockets: 3100, tcpBufferPairs: 64, tcpSynBacklog: 256 };
  const ts = tapStack(41, config);
  ts.stack.addRoute('198.18.0.0/15', '10.0.0.2');
  const st = ts.stack.stats.tcp;
  const c = ts.stack.config;
  assert.equal(c.tcpReservedSockets, Math.floor(3100 / 16), 'default reserve max(4, N/16)');
  const r = c.tcpReservedSockets;
  // The plan: control blocks for 3200 descriptors, 64 buffer pairs of 2 x 64 KiB, 256 request records.
  const mem = ts.stack.memory;
  assert.equal(mem.parts.tcpSendBuffers, 64 * 65536);
  assert.equal(mem.parts.tcpRecvBuffers, 64 * 65536);
  // A record: under 80 bytes, and 33 more with IPv6 (family, local and remote 16-byte addresses).
  assert.ok(mem.parts.tcpSynQueue < 256 * (80 + 33), `request records ${mem.parts.tcpSynQueue} bytes`);
  assert.ok(mem.parts.tcb < 3200 * 700, `control blocks ${mem.parts.tcb} bytes`);
  // Buffers (8 MiB) + control blocks and range tables (~3 MiB) + the rest (~1.5 MiB): 12.3 MiB, under 16 MiB.
  assert.ok(mem.totalBytes < 16 * 1024 * 1024, `plan ${mem.totalBytes} bytes`);

  const l1 = ts.stack.sockets.socket('tcp');
  ts.stack.sockets.bind(l1, 0, 80);
  assert.equal(ts.stack.sockets.listen(l1, 511), 0);
  const l2 = ts.stack.sockets.socket('tcp');
  ts.stack.sockets.bind(l2, 0, 81);
  assert.equal(ts.stack.sockets.listen(l2, 16), 0);

  const idle = idlePeers(ts, l1, 80, 0, 3000);
  assert.equal(idle.length, 3100 - r, 'one listener holds at most N - R connections');
  assert.ok(st.listenOverflows > 0, 'the refused ones are counted');
  assert.equal(ts.stack.tcp.core.t.freeBuffers, 64, 'idle connections hold no buffer pair');
  for (const fd of idle.slice(0, 50)) assert.equal(ts.stack.sockets.tcpState(fd), 'ESTABLISHED');

  // A second listener still accepts.
  const second = idlePeers(ts, l2, 81, 5000, 5);
  assert.equal(second.length, 5, 'the second listener is served from the reserve');

  // And an outgoing connection from the stack still connects (the test plays the remote server at 10.0.0.2).
  const cfd = ts.stack.sockets.socket('tcp');
  assert.ok(cfd >= 0, `socket ${cfd}`);
  assert.equal(ts.stack.sockets.connect(cfd, '10.0.0.2', 443), -EINPROGRESS);
  const out = ts.advance(1);
  const s: Seg | undefined = out.find((x) => x.dport === 443 && x.flags === SYN);
  assert.ok(s !== undefined, 'SYN sent');
  ts.feed(tcpFrame(STACK_MAC, PEER_MAC, {
    src: '10.0.0.2', dst: STACK_IP, sport: 443, dport: s.sport, seq: 777, ack: add32(s.seq, 1), flags: SYN | ACK,
    options: optionBlock([opt.mss(1460)]),
  }), 1);
  assert.equal(ts.stack.sockets.tcpState(cfd), 'ESTABLISHED');
  // Passive opens together stay below N - R/2: the last slots are for outgoing connections.
  const core = ts.stack.tcp.core;
  assert.ok(core.passiveConns <= 3100 - Math.ceil(r / 2));
  assert.equal(core.tcpConns, idle.length + 5 + 1);

  // Connections the server closes (idle timeouts) stop counting against the listener at once
  // (they count as passive opens until they are gone): 10 closed, 10 more accepted.
  for (const fd of idle.slice(0, 10)) ts.stack.sockets.close(fd);
  ts.advance(1);
  const more = idlePeers(ts, l1, 80, 6000, 20);
  assert.equal(more.length, 10, `after closing 10, ${more.length} more accepted`);
  assert.equal(core.t.children[l1], 3100 - r);
  assert.ok(core.passiveConns <= 3100 - Math.ceil(r / 2));
});

test('a listener closed with accepted connections: they stay counted until destroyed, and its slot count starts afresh', () => {
  const p = tcpPair({ maxTcpSockets: 8 });
  const a = connect(p.sim, p.a, p.b, B_IP, 80);
  const core = p.b.tcp.core;
  assert.equal(core.passiveConns, 1);
  assert.equal(core.t.children[a.lfd], 1);
  p.b.sockets.close(a.lfd);
  assert.equal(core.passiveConns, 1, 'the accepted connection is still a passive open');
  p.b.sockets.close(a.sfd);
  p.a.sockets.close(a.cfd);
  waitFor(p.sim, () => core.tcpConns === 0, 200000, 100);
  assert.equal(core.passiveConns, 0);
});

test('lazy buffers: a connection idle after a request/response holds no buffer pair', () => {
  const p = tcpPair({ maxTcpSockets: 4 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  const ta = p.a.tcp.core.t;
  const tb = p.b.tcp.core.t;
  assert.equal(ta.buf[cfd], -1, 'no pair before any data');
  assert.equal(tb.buf[sfd], -1);
  const req = pattern(300, 1);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, req), req);
  const res = pattern(20000, 2);
  assert.deepEqual(transfer(p.sim, p.b, sfd, p.a, cfd, res), res);
  p.sim.advance(500);
  assert.equal(ta.buf[cfd], -1, 'client: everything acknowledged and read, pair given back');
  assert.equal(tb.buf[sfd], -1, 'server: the same');
  assert.equal(ta.freeBuffers, 4);
  assert.equal(tb.freeBuffers, 4);
  // And the connection goes on: the pair is taken again when needed.
  const again = pattern(70000, 3);
  assert.deepEqual(transfer(p.sim, p.a, cfd, p.b, sfd, again), again);
});

test('empty buffer pool: arriving data dropped and counted, writes refused with EAGAIN then EV_WRITABLE; no data lost', () => {
  const p = tcpPair({ maxTcpSockets: 8 }, {}, {}, { tcpBufferPairs: 1 });
  const c1 = connect(p.sim, p.a, p.b, B_IP, 80);
  const c2 = connect(p.sim, p.a, p.b, B_IP, 80, c1.lfd);
  const st = p.b.stats.tcp;
  const tb = p.b.tcp.core.t;
  // Connection 1 takes the server's only pair with data nobody reads yet.
  const d1 = pattern(30000, 11);
  assert.equal(p.a.sockets.send(c1.cfd, d1, 0, d1.length), d1.length);
  p.sim.advance(50);
  assert.ok(tb.buf[c1.sfd] >= 0);
  assert.equal(tb.freeBuffers, 0);
  // Connection 2's data finds no pair: dropped, counted; the client retransmits.
  const d2 = pattern(30000, 12);
  assert.equal(p.a.sockets.send(c2.cfd, d2, 0, d2.length), d2.length);
  p.sim.advance(50);
  assert.ok(st.bufferDrops > 0, 'drops counted');
  assert.equal(p.b.sockets.readableBytes(c2.sfd), 0);
  // Writing on connection 2 is refused until a pair comes back.
  let writable = false;
  p.b.sockets.setCallback(c2.sfd, (_fd, ev) => { if (ev & EV_WRITABLE) writable = true; });
  const reply = pattern(1000, 13);
  assert.equal(p.b.sockets.send(c2.sfd, reply, 0, reply.length), -EAGAIN);
  assert.equal(st.bufferWaits, 1);
  // Reading connection 1 empties its pair, which goes back to the pool.
  const got1: number[] = [];
  const buf = new Uint8Array(65536);
  waitFor(p.sim, () => {
    for (let n = p.b.sockets.recv(c1.sfd, buf, 0, buf.length); n > 0; n = p.b.sockets.recv(c1.sfd, buf, 0, buf.length)) {
      for (let i = 0; i < n; i++) got1.push(buf[i]);
    }
    return got1.length === d1.length;
  }, 20000);
  assert.deepEqual(Uint8Array.from(got1), d1);
  waitFor(p.sim, () => writable, 5000);
  assert.ok(writable, 'EV_WRITABLE once a pair was free');
  // Connection 2's data arrives through retransmission, intact.
  const got2: number[] = [];
  waitFor(p.sim, () => {
    for (let n = p.b.sockets.recv(c2.sfd, buf, 0, buf.length); n > 0; n = p.b.sockets.recv(c2.sfd, buf, 0, buf.length)) {
      for (let i = 0; i < n; i++) got2.push(buf[i]);
    }
    return got2.length === d2.length;
  }, 60000);
  assert.deepEqual(Uint8Array.from(got2), d2);
  // And the reply goes out once there is a pair.
  waitFor(p.sim, () => p.b.sockets.send(c2.sfd, reply, 0, reply.length) === reply.length, 20000);
  const back = new Uint8Array(reply.length);
  let have = 0;
  waitFor(p.sim, () => {
    const n = p.a.sockets.recv(c2.cfd, back, have, back.length - have);
    if (n > 0) have += n;
    return have === reply.length;
  }, 20000);
  assert.deepEqual(back, reply);
});

test('maxTcpSockets counts connections: at the limit connect() recycles the oldest TIME_WAIT, else ENOBUFS', () => {
  const p = tcpPair({ tcpTimeWaitMs: 60000 }, {}, { maxTcpSockets: 2 });
  const core = p.a.tcp.core;
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 8);
  const conns = [connect(p.sim, p.a, p.b, B_IP, 80, lfd), connect(p.sim, p.a, p.b, B_IP, 80, lfd)];
  const open = conns.map((x) => x.cfd);
  assert.equal(core.tcpConns, 2);
  const extra = p.a.sockets.socket('tcp');
  assert.ok(extra >= 0, 'a descriptor is still there');
  assert.equal(p.a.sockets.connect(extra, B_IP, 80), -105, 'ENOBUFS: no connection left');
  // The client closes one first: it waits in TIME_WAIT, still a connection.
  p.a.sockets.close(open[0]);
  p.sim.advance(10);
  p.b.sockets.close(conns[0].sfd);
  waitFor(p.sim, () => core.t.state[open[0]] === 10, 5000);
  assert.equal(core.tcpConns, 2);
  assert.equal(p.a.sockets.connect(extra, B_IP, 80), -EINPROGRESS, 'the TIME_WAIT connection was recycled');
  assert.equal(p.a.stats.tcp.timeWaitRecycled, 1);
  waitFor(p.sim, () => p.a.sockets.tcpState(extra) === 'ESTABLISHED', 5000);
});

test('config: derived defaults of tcpBufferPairs and tcpReservedSockets, ranges checked, memory planned from them', () => {
  const d = new Stack({});
  assert.equal(d.config.tcpBufferPairs, d.config.maxTcpSockets, 'one pair per connection by default');
  assert.equal(d.config.tcpReservedSockets, 4, 'max(4, N/16) for N = 16');
  assert.equal(new Stack({ maxTcpSockets: 2 }).config.tcpReservedSockets, 0, 'at most N/4');
  assert.equal(new Stack({ maxSockets: 4000, maxTcpSockets: 3200 }).config.tcpReservedSockets, 200);
  assert.equal(d.config.tcpSynBacklog, 256);
  assert.equal(d.config.tcpSynAckRetries, 5);
  assert.equal(d.config.tcpSyncookies, 1);
  assert.throws(() => new Stack({ tcpBufferPairs: -1 }), /tcpBufferPairs/);
  assert.throws(() => new Stack({ tcpSyncookies: 3 }), /tcpSyncookies/);
  assert.throws(() => new Stack({ tcpSynBacklog: 0 }), /tcpSynBacklog/);
  const few = Stack.planMemory({ maxTcpSockets: 1000, maxSockets: 1100, tcpBufferPairs: 10 });
  assert.equal(few.parts.tcpSendBuffers, 10 * 65536, 'buffers follow tcpBufferPairs, not maxTcpSockets');
  assert.equal(Stack.planMemory({ tcpSynBacklog: 512 }).parts.tcpSynQueue > Stack.planMemory({}).parts.tcpSynQueue, true);
});

test('a server that closes first keeps accepting: TIME_WAIT descriptors are recycled for new passive opens', () => {
  // The server side has room for 24 descriptors; 100 connections in a row, each
  // closed by the server first, leave it one TIME_WAIT each (60 s).
  const p = tcpPair({ tcpTimeWaitMs: 60000 }, {}, { maxSockets: 256, maxTcpSockets: 200 },
    { maxSockets: 24, maxTcpSockets: 22 });
  const lfd = p.b.sockets.socket('tcp');
  p.b.sockets.bind(lfd, 0, 80);
  p.b.sockets.listen(lfd, 8);
  for (let i = 0; i < 100; i++) {
    const c = connect(p.sim, p.a, p.b, B_IP, 80, lfd);
    assert.equal(p.b.sockets.close(c.sfd), 0);
    waitFor(p.sim, () => p.a.sockets.tcpState(c.cfd) === 'CLOSE_WAIT', 5000);
    assert.equal(p.a.sockets.close(c.cfd), 0);
    p.sim.advance(20);
  }
  assert.ok(p.b.stats.tcp.timeWaitRecycled >= 70, `recycled ${p.b.stats.tcp.timeWaitRecycled}`);
  assert.equal(p.b.stats.tcp.listenOverflows, 0);
  assert.equal(p.b.tcp.core.timeWaitConns, p.b.tcp.core.tcpConns, 'every connection left is in TIME_WAIT');
});
