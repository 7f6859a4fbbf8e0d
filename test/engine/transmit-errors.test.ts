/**
 * One error path: a link's `transmit` result (0 | -errno) reaches the socket
 * call that caused the packet, on every way out of IPv4 (resolved neighbour,
 * broadcast, fragments, parked for ARP, point-to-point), and the Node facade
 * turns it into a Node-style error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Errno, MemoryLink, SO_BROADCAST, Simulation, Stack, StackError, type FrameReceiver, type Link, type LinkStats,
} from '../../src/index.js';

/** A link that refuses every frame with `fail` (a -errno) while it is non-zero. */
class FailingLink implements Link {
  fail = 0;
  refused = 0;
  constructor(private readonly inner: Link) {}
  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats(): LinkStats { return this.inner.stats; }
  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    if (this.fail !== 0) {
      this.refused++;
      return this.fail;
    }
    return this.inner.transmit(frame, offset, length, now);
  }
  poll(now: number, rx: FrameReceiver): number { return this.inner.poll(now, rx); }
  setWakeup(w: (() => void) | null): void { this.inner.setWakeup(w); }
  close(): void { this.inner.close(); }
}

function setup(): { a: Stack; b: Stack; link: FailingLink; la: MemoryLink; sim: Simulation } {
  const [la, lb] = MemoryLink.pair({ seed: 7 });
  const link = new FailingLink(la);
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(link, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  return { a, b, link, la, sim: new Simulation([a, b]) };
}

/** Send once so ARP resolves 10.0.0.2, and check it arrived. */
function resolveNeighbour(s: ReturnType<typeof setup>, fd: number): void {
  const srv = s.b.sockets.socket('udp');
  assert.equal(s.b.sockets.bind(srv, '10.0.0.2', 9), 0);
  assert.equal(s.a.sockets.sendto(fd, new Uint8Array(8), 0, 8, '10.0.0.2', 9), 8);
  s.sim.advance(10);
  assert.equal(s.b.sockets.recvfrom(srv, new Uint8Array(64), 0, 64), 8, 'the first datagram went through ARP');
}

test('a link refusing a frame: sendto returns its errno (resolved neighbour, fragments, broadcast)', () => {
  const s = setup();
  const fd = s.a.sockets.socket('udp');
  resolveNeighbour(s, fd);
  const buf = new Uint8Array(4000);
  const dropsBefore = s.a.stats.eth.txDropped;
  s.link.fail = -Errno.ENOBUFS;
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 100, '10.0.0.2', 9), -Errno.ENOBUFS);
  // A datagram larger than the MTU fails with its first fragment.
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 4000, '10.0.0.2', 9), -Errno.ENOBUFS);
  s.link.fail = -Errno.EIO;
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 100, '10.0.0.2', 9), -Errno.EIO, 'the errno is the link\'s, not a fixed one');
  assert.equal(s.a.sockets.setsockopt(fd, SO_BROADCAST, 1), 0);
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 100, '10.0.0.255', 9), -Errno.EIO, 'subnet broadcast');
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 100, '255.255.255.255', 9), -Errno.EIO, 'limited broadcast');
  assert.equal(s.link.refused, 5);
  assert.equal(s.a.stats.eth.txDropped - dropsBefore, 5, 'each refusal is counted');
  s.link.fail = 0;
  assert.equal(s.a.sockets.sendto(fd, buf, 0, 4000, '10.0.0.2', 9), 4000, 'sends again once the link takes frames');
});

test('a frame parked waiting for ARP is a successful send', () => {
  const s = setup();
  const fd = s.a.sockets.socket('udp');
  const queued = s.a.stats.arp.queued;
  // The ARP request itself is refused: the datagram still waits for an answer, as on Linux.
  s.link.fail = -Errno.ENOBUFS;
  assert.equal(s.a.sockets.sendto(fd, new Uint8Array(10), 0, 10, '10.0.0.2', 9), 10);
  assert.equal(s.a.stats.arp.queued - queued, 1);
  assert.equal(s.link.refused, 1, 'only the ARP request met the link');
});

test('a UDP send on an interface whose link is down reports ENETDOWN', () => {
  const s = setup();
  const fd = s.a.sockets.socket('udp');
  resolveNeighbour(s, fd);
  s.la.close();
  assert.equal(s.a.sockets.sendto(fd, new Uint8Array(10), 0, 10, '10.0.0.2', 9), -Errno.ENETDOWN);
  const c = s.a.sockets.socket('udp');
  assert.equal(s.a.sockets.connect(c, '10.0.0.2', 9), 0);
  assert.equal(s.a.sockets.send(c, new Uint8Array(10), 0, 10), -Errno.ENETDOWN);
});

test('the dgram facade reports a link refusal as Node does: code, negative errno, syscall, endpoint', async () => {
  const s = setup();
  const fd = s.a.sockets.socket('udp');
  resolveNeighbour(s, fd);
  const sock = s.a.dgram.createSocket('udp4');
  s.link.fail = -Errno.ENOBUFS;
  const [err, bytes] = await new Promise<[Error | null, number | undefined]>((resolve) =>
    sock.send('hello', 9, '10.0.0.2', (e, n) => resolve([e, n])));
  assert.equal(bytes, undefined);
  assert.ok(err instanceof StackError);
  assert.equal(err.code, 'ENOBUFS');
  assert.equal(err.errno, -105);
  assert.equal(err.syscall, 'send');
  assert.equal(err.address, '10.0.0.2');
  assert.equal(err.port, 9);
  assert.equal(err.message, 'send ENOBUFS 10.0.0.2:9');
  sock.close();
});
