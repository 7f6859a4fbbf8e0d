/**
 * The port index is hashed (buckets sized from the socket count), so ports
 * that share a bucket share a chain. These tests pit it against a naive
 * model, a Map from port to bound sockets, with ports chosen to collide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, SO_REUSEADDR, Stack, EV_READABLE } from '../../src/index.js';
import { SocketTable } from '../../src/engine/socket-table.js';
import { makePair, enc } from '../helpers/net.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const SEED = seedFromEnv('PORT_INDEX_SEED', 0x90a7);

test('port buckets scale with the socket count, not with the port space', () => {
  assert.equal(SocketTable.portBuckets(8), 16);
  assert.equal(SocketTable.portBuckets(64), 64);
  assert.equal(SocketTable.portBuckets(65), 128);
  assert.equal(SocketTable.portBuckets(32767), 32768);
  const small = Stack.planMemory({ maxSockets: 8, maxTcpSockets: 4, maxUdpSockets: 4 });
  assert.equal(small.parts.udpPortIndex, 16 * 2);
  assert.equal(small.parts.tcpPortIndex, 16 * 2);
});

test('UDP binds and deliveries on colliding ports match a naive model', () => {
  // 16 sockets -> 16 buckets: 5000, 5016, 5032 and 5048 share one.
  const ports = [5000, 5016, 5032, 5048, 5001, 0];
  const { a, b, sim } = makePair({}, {}, { maxSockets: 16, maxUdpSockets: 16, maxTcpSockets: 0 });
  const rng = new TestRng(SEED);
  /** Model: port -> descriptors bound to it (all on the wildcard address). */
  const model = new Map<number, number[]>();
  const reuse = new Set<number>();
  const open: number[] = [];
  const me = { address: 0, port: 0 };
  const buf = new Uint8Array(64);
  const from = { address: 0, port: 0 };
  const sender = a.sockets.socket('udp');
  for (let step = 0; step < 600; step++) {
    const r = rng.int(10);
    if (r < 5 && open.length < 12) {
      const fd = b.sockets.socket('udp');
      assert.ok(fd >= 0);
      const shared = rng.int(2) === 1;
      if (shared) {
        assert.equal(b.sockets.setsockopt(fd, SO_REUSEADDR, 1), 0);
        reuse.add(fd);
      }
      const port = ports[rng.int(ports.length)];
      const holders = model.get(port) ?? [];
      const expectClash = port !== 0 && holders.length > 0 && !(shared && holders.every((h) => reuse.has(h)));
      const rc = b.sockets.bind(fd, 0, port);
      if (expectClash) {
        assert.equal(rc, -Errno.EADDRINUSE, `step ${step}: bind ${port} over ${holders.join(',')}`);
        b.sockets.close(fd);
        reuse.delete(fd);
        continue;
      }
      assert.equal(rc, 0, `step ${step}: bind ${port}`);
      b.sockets.getsockname(fd, me);
      if (port === 0) assert.ok(!model.has(me.port), `ephemeral port ${me.port} was free`);
      model.set(me.port, [...(model.get(me.port) ?? []), fd]);
      open.push(fd);
    } else if (r < 7 && open.length > 0) {
      const fd = open.splice(rng.int(open.length), 1)[0];
      b.sockets.getsockname(fd, me);
      const left = (model.get(me.port) ?? []).filter((x) => x !== fd);
      if (left.length === 0) model.delete(me.port);
      else model.set(me.port, left);
      reuse.delete(fd);
      assert.equal(b.sockets.close(fd), 0);
    } else {
      // A datagram to a port: delivered to one of its holders, or to none.
      const port = [5000, 5016, 5032, 5048, 5001, 5002][rng.int(6)];
      const payload = enc(`p${step}`);
      assert.equal(a.sockets.sendto(sender, payload, 0, payload.length, '10.0.0.2', port), payload.length);
      sim.advance(1);
      const holders = model.get(port) ?? [];
      let got = 0;
      for (const fd of open) {
        const n = b.sockets.recvfrom(fd, buf, 0, buf.length, from);
        if (n < 0) continue;
        got++;
        assert.ok(holders.includes(fd), `step ${step}: datagram for ${port} reached fd ${fd} (holders ${holders.join(',')})`);
        assert.equal(n, payload.length);
      }
      assert.equal(got, holders.length > 0 ? 1 : 0, `step ${step}: port ${port}`);
    }
  }
});

test('TCP listeners on ports sharing a bucket each get their own connections', () => {
  const { a, b, sim } = makePair({}, {}, { maxSockets: 16, maxTcpSockets: 8, maxUdpSockets: 0 });
  const l1 = b.sockets.socket('tcp');
  const l2 = b.sockets.socket('tcp');
  assert.equal(b.sockets.bind(l1, 0, 8000), 0);
  assert.equal(b.sockets.bind(l2, 0, 8016), 0);
  assert.equal(b.sockets.listen(l1, 4), 0);
  assert.equal(b.sockets.listen(l2, 4), 0);
  const l3 = b.sockets.socket('tcp');
  assert.equal(b.sockets.bind(l3, 0, 8016), -Errno.EADDRINUSE, 'the chain finds the port it holds');
  assert.equal(b.sockets.bind(l3, 0, 8032), 0, 'a third port in the same bucket is free');
  for (const [port, listener, other] of [[8016, l2, l1], [8000, l1, l2]]) {
    const c = a.sockets.socket('tcp');
    let events = 0;
    b.sockets.setCallback(listener, (_fd, ev) => { events |= ev; });
    a.sockets.connect(c, '10.0.0.2', port);
    sim.advance(50);
    assert.ok((events & EV_READABLE) !== 0, `listener on ${port} was told`);
    const peer = { address: 0, port: 0 };
    assert.equal(b.sockets.accept(other, peer), -Errno.EAGAIN, `nothing queued on the other listener for ${port}`);
    const child = b.sockets.accept(listener, peer);
    assert.ok(child >= 0, `accepted on ${port}`);
    const me = { address: 0, port: 0 };
    b.sockets.getsockname(child, me);
    assert.equal(me.port, port);
  }
});
