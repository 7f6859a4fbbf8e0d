/**
 * What TCP over IPv6 remembers between segments of a connection, and when
 * it must forget it (engine/tcp/ip6.ts routeConn, engine/ipv6.ts
 * stillRouted, the word views of the address arrays): a route added or
 * removed mid-connection, an address deleted and added back, a socket slot
 * reused for a connection to another peer over another interface. In each
 * case the next segment must follow the new state. Virtual time; stack `a`
 * has two point-to-point links: to `b` (fd00::/64) and to `c` (fd01::/64).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLink, Simulation, Stack } from '../../src/index.js';
import { IpLink } from '../helpers/ip-link.js';
import { AF_INET6 } from '../../src/socket/api.js';
import { parseIpv6 } from '../../src/wire/ipv6addr.js';
import { ADDR6_PREFERRED } from '../../src/engine/netif.js';
import { EINPROGRESS, pattern, transfer, waitFor } from './helpers.js';


interface Lab {
  a: Stack;
  b: Stack;
  c: Stack;
  sim: Simulation;
  /** a's end of each link: frames a sent on it. */
  toB: IpLink;
  toC: IpLink;
}

function lab(): Lab {
  const [ab, ba] = MemoryLink.pair({ seed: 21 });
  const [ac, ca] = MemoryLink.pair({ seed: 22 });
  const a = new Stack({ seed: 701 });
  const b = new Stack({ seed: 702 });
  const c = new Stack({ seed: 703 });
  const toB = new IpLink(ab);
  const toC = new IpLink(ac);
  a.addInterface(toB, { address: ['fd00::1/64'] });
  a.addInterface(toC, { address: ['fd01::1/64'] });
  b.addInterface(new IpLink(ba), { address: ['fd00::2/64'] });
  c.addInterface(new IpLink(ca), { address: ['fd01::3/64', 'fd00::3/64'] });
  const sim = new Simulation([a, b, c]);
  sim.advance(1);
  return { a, b, c, sim, toB, toC };
}

/** A listener on `server` port 80 (::), a connection from `a` to `host`; returns [client fd, server fd, listener]. */
function open(l: Lab, server: Stack, host: string, lfd = -1): [number, number, number] {
  if (lfd < 0) {
    lfd = server.sockets.socket('tcp', AF_INET6);
    assert.equal(server.sockets.bind(lfd, '::', 80), 0);
    assert.equal(server.sockets.listen(lfd, 4), 0);
  }
  const cfd = l.a.sockets.socket('tcp', AF_INET6);
  assert.ok(cfd >= 0);
  assert.equal(l.a.sockets.connect(cfd, host, 80), -EINPROGRESS);
  let sfd = -1;
  waitFor(l.sim, () => {
    if (sfd < 0) sfd = server.sockets.accept(lfd);
    return sfd >= 0 && l.a.sockets.tcpState(cfd) === 'ESTABLISHED';
  }, 5000);
  return [cfd, sfd, lfd];
}

function addr(text: string): Uint8Array {
  const a = new Uint8Array(16);
  assert.ok(parseIpv6(text, a, 0));
  return a;
}

test('a route added mid-connection takes the next segment, and its removal brings the next one back', () => {
  const l = lab();
  const { a, b, c, sim } = l;
  const [cfd, sfd] = open(l, b, 'fd00::2');
  const d = pattern(64 * 1024, 1);
  assert.deepEqual(transfer(sim, a, cfd, b, sfd, d), d);
  // A host route to fd00::2 through the link to c: the connection's next segment must leave there.
  a.addRoute('fd00::2/128', { interface: 1 });
  const viaB = l.toB.stats.txFrames;
  const viaC = l.toC.stats.txFrames;
  const notForC = c.stats.ip6.notForUs;
  assert.equal(a.sockets.send(cfd, d, 0, 1000), 1000);
  sim.advance(1);
  assert.equal(l.toB.stats.txFrames, viaB, 'no segment on the old route');
  assert.ok(l.toC.stats.txFrames > viaC, 'the segment took the new route');
  assert.ok(c.stats.ip6.notForUs > notForC, 'c got it (and dropped it: not its address)');
  // Without the host route the connection's own route applies again: the retransmission reaches b.
  assert.equal(a.removeRoute('fd00::2/128', { interface: 1 }), true);
  const buf = new Uint8Array(2000);
  let got = 0;
  waitFor(sim, () => {
    const n = b.sockets.recv(sfd, buf, got, buf.length - got);
    if (n > 0) got += n;
    return got === 1000;
  }, 10000);
  assert.ok(l.toB.stats.txFrames > viaB);
  assert.deepEqual(buf.subarray(0, 1000), d.subarray(0, 1000));
});

test('an address deleted mid-connection stops its segments at once; added back, they flow again', () => {
  const l = lab();
  const { a, b, sim } = l;
  const [cfd, sfd] = open(l, b, 'fd00::2');
  const d = pattern(32 * 1024, 2);
  assert.deepEqual(transfer(sim, a, cfd, b, sfd, d), d);
  const ifB = b.interfaces[0];
  const slot = ifB.findAddress6(addr('fd00::2'), 0);
  assert.ok(slot >= 0);
  ifB.removeAddress6(slot);
  const notForUs = b.stats.ip6.notForUs;
  const rx = b.stats.tcp.rx;
  assert.equal(a.sockets.send(cfd, d, 0, 500), 500);
  sim.advance(1);
  assert.ok(b.stats.ip6.notForUs > notForUs, 'the segment to the deleted address is not ours any more');
  assert.equal(b.stats.tcp.rx, rx, 'TCP saw nothing');
  assert.ok(ifB.addAddress6(addr('fd00::2'), 0, 64, ADDR6_PREFERRED, 0) >= 0);
  const buf = new Uint8Array(1000);
  let got = 0;
  waitFor(sim, () => {
    const n = b.sockets.recv(sfd, buf, got, buf.length - got);
    if (n > 0) got += n;
    return got === 500;
  }, 10000);
  assert.deepEqual(buf.subarray(0, 500), d.subarray(0, 500));
});

test('a socket slot reused for a connection to another peer routes its segments anew', () => {
  const l = lab();
  const { a, b, c, sim } = l;
  const [cfd, sfd] = open(l, b, 'fd00::2');
  const d = pattern(16 * 1024, 3);
  assert.deepEqual(transfer(sim, a, cfd, b, sfd, d), d);
  // b closes first: a, the passive closer, keeps no TIME_WAIT, so its slot is free once b ACKs a's FIN.
  assert.equal(b.sockets.close(sfd), 0);
  sim.advance(100);
  assert.equal(a.sockets.close(cfd), 0);
  sim.advance(1000);
  // The new connection gets the same slot; c is on the other link (fd01::3).
  const [cfd2, sfd2] = open(l, c, 'fd01::3');
  assert.equal(cfd2, cfd, 'the slot was reused');
  const viaB = l.toB.stats.txFrames;
  assert.deepEqual(transfer(sim, a, cfd2, c, sfd2, d), d);
  assert.equal(l.toB.stats.txFrames, viaB, 'nothing of it went to b');
  // And a third, to c's other address fd00::3, which is on b's prefix: that goes out to b (and is lost there).
  assert.equal(c.sockets.close(sfd2), 0);
  sim.advance(100);
  assert.equal(a.sockets.close(cfd2), 0);
  sim.advance(1000);
  const fd3 = a.sockets.socket('tcp', AF_INET6);
  assert.equal(fd3, cfd);
  assert.equal(a.sockets.connect(fd3, 'fd00::3', 80), -EINPROGRESS);
  sim.advance(1);
  assert.ok(l.toB.stats.txFrames > viaB, 'the SYN to fd00::3 followed its own route');
});
