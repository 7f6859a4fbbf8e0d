import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, EV_READABLE, EV_WRITABLE, EV_CLOSED, SO_REUSEADDR, SO_BROADCAST, SO_ERROR, SO_RCVBUF, IP_DONTFRAG, Stack, formatIpv4 } from '../../src/index.js';
import { makePair, enc, dec } from '../helpers/net.js';

test('datagrams arrive byte-exact with the sender address, in order', () => {
  const { a, b, sim } = makePair();
  const srv = b.sockets.socket('udp');
  assert.equal(b.sockets.bind(srv, '10.0.0.2', 7000), 0);
  const cli = a.sockets.socket('udp');
  const payload = new Uint8Array(1472);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  for (let k = 0; k < 3; k++) {
    payload[0] = k;
    assert.equal(a.sockets.sendto(cli, payload, 0, payload.length, '10.0.0.2', 7000), 1472);
    sim.advance(1);
  }
  const me = { address: 0, port: 0 };
  a.sockets.getsockname(cli, me);
  assert.ok(me.port >= 49152 && me.port <= 65535, 'ephemeral port from the IANA range');
  const buf = new Uint8Array(2000);
  const from = { address: 0, port: 0 };
  for (let k = 0; k < 3; k++) {
    assert.equal(b.sockets.recvfrom(srv, buf, 0, 2000, from), 1472);
    assert.equal(buf[0], k);
    for (let i = 1; i < 1472; i++) if (buf[i] !== ((i * 7) & 0xff)) assert.fail(`byte ${i} differs`);
    assert.equal(formatIpv4(from.address), '10.0.0.1');
    assert.equal(from.port, me.port);
  }
  assert.equal(b.sockets.recvfrom(srv, buf, 0, 2000, from), -Errno.EAGAIN);
});

test('bind rules: EADDRINUSE, SO_REUSEADDR, EADDRNOTAVAIL, EINVAL on rebind', () => {
  const { a } = makePair();
  const s1 = a.sockets.socket('udp');
  const s2 = a.sockets.socket('udp');
  const s3 = a.sockets.socket('udp');
  assert.equal(a.sockets.bind(s1, 0, 5353), 0);
  assert.equal(a.sockets.bind(s2, '10.0.0.1', 5353), -Errno.EADDRINUSE);
  assert.equal(a.sockets.bind(s2, '10.0.0.9', 5354), -Errno.EADDRNOTAVAIL);
  assert.equal(a.sockets.bind(s1, 0, 5355), -Errno.EINVAL);
  a.sockets.close(s1);
  assert.equal(a.sockets.setsockopt(s2, SO_REUSEADDR, 1), 0);
  assert.equal(a.sockets.setsockopt(s3, SO_REUSEADDR, 1), 0);
  assert.equal(a.sockets.bind(s2, 0, 5353), 0);
  assert.equal(a.sockets.bind(s3, 0, 5353), 0);
  assert.equal(a.sockets.bind(99, 0, 1), -Errno.EBADF);
  assert.equal(a.sockets.bind(s1, 0, 1), -Errno.EBADF, 'closed descriptor');
});

test('ephemeral ports are distinct', () => {
  const s = new Stack({ seed: 4, maxSockets: 200, maxUdpSockets: 200 });
  const seen = new Set<number>();
  const me = { address: 0, port: 0 };
  for (let i = 0; i < 200; i++) {
    const fd = s.sockets.socket('udp');
    assert.equal(s.sockets.bind(fd, 0, 0), 0);
    s.sockets.getsockname(fd, me);
    seen.add(me.port);
  }
  assert.equal(seen.size, 200);
});

test('the socket table is fixed: EMFILE when full, slots reused after close', () => {
  const s = new Stack({ maxSockets: 3 });
  const fds = [s.sockets.socket('udp'), s.sockets.socket('udp'), s.sockets.socket('udp')];
  assert.deepEqual(fds, [0, 1, 2]);
  assert.equal(s.sockets.socket('udp'), -Errno.EMFILE);
  assert.equal(s.sockets.close(1), 0);
  assert.equal(s.sockets.close(1), -Errno.EBADF);
  assert.equal(s.sockets.socket('udp'), 1);
  assert.equal(s.sockets.socket(99), -Errno.EPROTONOSUPPORT);
  assert.deepEqual(s.sockets.usage, { used: 3, capacity: 3 });
  const t = new Stack({ maxSockets: 8, maxUdpSockets: 2 });
  assert.ok(t.sockets.socket('udp') >= 0 && t.sockets.socket('udp') >= 0);
  assert.equal(t.sockets.socket('udp'), -Errno.ENOBUFS, 'receive buffers are a planned pool too');
});

test('receive queues are bounded: excess datagrams are dropped and counted', () => {
  const { a, b, sim } = makePair({}, {}, { udpRecvQueueDatagrams: 4, udpRecvBufferBytes: 4096 });
  const srv = b.sockets.socket('udp');
  b.sockets.bind(srv, 0, 9999);
  assert.equal(b.sockets.getsockopt(srv, SO_RCVBUF), 4096);
  const cli = a.sockets.socket('udp');
  for (let i = 0; i < 10; i++) {
    const m = enc(`n${i}`);
    a.sockets.sendto(cli, m, 0, m.length, '10.0.0.2', 9999);
  }
  sim.advance(5);
  assert.equal(b.stats.udp.delivered, 4);
  assert.equal(b.stats.udp.queueFull, 6);
  const buf = new Uint8Array(100);
  const got = [];
  for (let n; (n = b.sockets.recv(srv, buf, 0, 100)) >= 0;) got.push(dec(buf, n));
  assert.deepEqual(got, ['n0', 'n1', 'n2', 'n3']);
  // Byte-bounded too: 3 datagrams of 1400 bytes do not fit in 4096 bytes.
  const big = new Uint8Array(1400);
  for (let i = 0; i < 3; i++) a.sockets.sendto(cli, big, 0, big.length, '10.0.0.2', 9999);
  sim.advance(5);
  assert.equal(b.stats.udp.delivered, 6);
  assert.equal(b.stats.udp.queueFull, 7);
});

test('recvfrom truncates a long datagram to the buffer and discards the rest', () => {
  const { a, b, sim } = makePair();
  const srv = b.sockets.socket('udp');
  b.sockets.bind(srv, 0, 1234);
  const cli = a.sockets.socket('udp');
  const m = enc('0123456789');
  a.sockets.sendto(cli, m, 0, m.length, '10.0.0.2', 1234);
  a.sockets.sendto(cli, m, 0, 3, '10.0.0.2', 1234);
  sim.advance(5);
  assert.equal(b.sockets.nextLength(srv), 10);
  const buf = new Uint8Array(4);
  assert.equal(b.sockets.recv(srv, buf, 0, 4), 4);
  assert.equal(dec(buf, 4), '0123');
  assert.equal(b.sockets.recv(srv, buf, 0, 4), 3);
  assert.equal(dec(buf, 3), '012');
});

test('callbacks report readable and writable after the poll, closed on close', () => {
  const { a, b, sim } = makePair();
  const srv = b.sockets.socket('udp');
  b.sockets.bind(srv, 0, 4000);
  const events: number[] = [];
  b.sockets.setCallback(srv, (_fd, ev) => events.push(ev));
  sim.advance(1);
  assert.deepEqual(events, [EV_WRITABLE]);
  const cli = a.sockets.socket('udp');
  const m = enc('ping');
  a.sockets.sendto(cli, m, 0, 4, '10.0.0.2', 4000);
  assert.equal(events.length, 1, 'nothing is dispatched before the receiving stack polls');
  sim.advance(1);
  assert.deepEqual(events, [EV_WRITABLE, EV_READABLE]);
  b.sockets.close(srv);
  assert.deepEqual(events, [EV_WRITABLE, EV_READABLE, EV_CLOSED]);
});

test('a connected socket only hears its peer and cannot sendto elsewhere', () => {
  const { a, b, sim } = makePair();
  const srv = b.sockets.socket('udp');
  b.sockets.bind(srv, 0, 4001);
  b.sockets.connect(srv, '10.0.0.1', 4002);
  const good = a.sockets.socket('udp');
  a.sockets.bind(good, 0, 4002);
  const other = a.sockets.socket('udp');
  a.sockets.bind(other, 0, 4003);
  const m = enc('m');
  a.sockets.sendto(other, m, 0, 1, '10.0.0.2', 4001);
  a.sockets.sendto(good, m, 0, 1, '10.0.0.2', 4001);
  sim.advance(5);
  assert.equal(b.stats.udp.delivered, 1);
  assert.equal(b.stats.udp.noPort, 1);
  assert.equal(b.sockets.sendto(srv, m, 0, 1, '10.0.0.1', 4003), -Errno.EISCONN);
  assert.equal(b.sockets.send(srv, m, 0, 1), 1);
  const peer = { address: 0, port: 0 };
  assert.equal(b.sockets.getpeername(srv, peer), 0);
  assert.equal(peer.port, 4002);
  assert.equal(a.sockets.send(other, m, 0, 1), -Errno.EDESTADDRREQ);
  assert.equal(a.sockets.getsockopt(other, SO_ERROR), 0);
  assert.equal(a.sockets.getsockopt(other, SO_BROADCAST), 0);
});

test('oversized datagrams give EMSGSIZE; bad arguments EINVAL', () => {
  const { a } = makePair();
  const fd = a.sockets.socket('udp');
  const big = new Uint8Array(65508);
  assert.equal(a.sockets.sendto(fd, big, 0, 65508, '10.0.0.2', 9), -Errno.EMSGSIZE, 'beyond 65535 - 28');
  // With IP_DONTFRAG nothing larger than the MTU leaves (DF instead of fragments).
  assert.equal(a.sockets.setsockopt(fd, IP_DONTFRAG, 1), 0);
  assert.equal(a.sockets.getsockopt(fd, IP_DONTFRAG), 1);
  assert.equal(a.sockets.sendto(fd, big, 0, 1473, '10.0.0.2', 9), -Errno.EMSGSIZE);
  assert.equal(a.sockets.setsockopt(fd, IP_DONTFRAG, 0), 0);
  assert.equal(a.sockets.sendto(fd, big, 0, 1472, '10.0.0.2', 0), -Errno.EINVAL);
  assert.equal(a.sockets.sendto(fd, big, 65000, 1000, '10.0.0.2', 9), -Errno.EINVAL);
  assert.equal(a.sockets.sendto(fd, big, 0, 10, 'nope', 9), -Errno.EINVAL);
});

test('UDP to our own address is delivered through loopback', () => {
  const { a, sim } = makePair();
  const srv = a.sockets.socket('udp');
  a.sockets.bind(srv, 0, 53);
  const cli = a.sockets.socket('udp');
  const m = enc('self');
  assert.equal(a.sockets.sendto(cli, m, 0, 4, '10.0.0.1', 53), 4);
  sim.advance(1);
  const buf = new Uint8Array(8);
  const from = { address: 0, port: 0 };
  assert.equal(a.sockets.recvfrom(srv, buf, 0, 8, from), 4);
  assert.equal(formatIpv4(from.address), '10.0.0.1');
});

test('recvfromAsync waits for a datagram', async () => {
  const { a, b, sim } = makePair();
  const srv = b.sockets.socket('udp');
  b.sockets.bind(srv, 0, 6000);
  const buf = new Uint8Array(64);
  const pending = b.sockets.recvfromAsync(srv, buf);
  const cli = a.sockets.socket('udp');
  const m = enc('later');
  a.sockets.sendto(cli, m, 0, m.length, '10.0.0.2', 6000);
  const r = await sim.until(pending);
  assert.equal(r.length, 5);
  assert.equal(dec(buf, 5), 'later');
});
