/**
 * TCP and UDP over IPv6 through the descriptor API, in virtual time: two
 * dual-stack stacks (10.0.0.x and fd00::x) on a MemoryLink. Byte-exact
 * transfers both ways, the MSS from the IPv6 path, a dual-stack listener
 * taking both families (IPv4 peers as ::ffff:a.b.c.d), IPV6_V6ONLY
 * refusing IPv4, UDP over IPv6 and dual-stack UDP, SYN cookies over IPv6,
 * and the family errors of bind/connect/sendto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLink, Simulation, Stack, type StackConfig } from '../../src/index.js';
import { IpLink } from '../helpers/ip-link.js';
import { AF_INET6, IPV6_V6ONLY, type SockAddr } from '../../src/socket/api.js';
import { formatIpv6 } from '../../src/wire/ipv6addr.js';
import { EAGAIN, EINPROGRESS, ECONNREFUSED, SO_ERROR, pattern, transfer, waitFor } from './helpers.js';

const EAFNOSUPPORT = 97;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const ENETUNREACH = 101;


interface Pair6 {
  a: Stack;
  b: Stack;
  sim: Simulation;
}

/** a = 10.0.0.1 + fd00::1, b = 10.0.0.2 + fd00::2, on one point-to-point link, in virtual time. */
function pair6(common: StackConfig = {}, cb: StackConfig = {}): Pair6 {
  const [la, lb] = MemoryLink.pair({ seed: 5 });
  const a = new Stack({ seed: 601, ...common });
  const b = new Stack({ seed: 602, ...common, ...cb });
  a.addInterface(new IpLink(la), { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(new IpLink(lb), { address: ['10.0.0.2/24', 'fd00::2/64'] });
  const sim = new Simulation([a, b]);
  sim.advance(1);
  return { a, b, sim };
}

function sockaddr(): SockAddr {
  return { address: 0, port: 0, family: 0, address6: new Uint8Array(16) };
}

/** Listen on `server` (family 6 unless `family`), connect from `client` to `host`, accept. */
function connect6(p: Pair6, client: Stack, server: Stack, host: string, port: number, lfd = -1,
  clientFamily = AF_INET6): { lfd: number; cfd: number; sfd: number } {
  if (lfd < 0) {
    lfd = server.sockets.socket('tcp', AF_INET6);
    assert.ok(lfd >= 0, `socket ${lfd}`);
    assert.equal(server.sockets.bind(lfd, '::', port), 0);
    assert.equal(server.sockets.listen(lfd, 16), 0);
  }
  const cfd = client.sockets.socket('tcp', clientFamily);
  assert.ok(cfd >= 0);
  assert.equal(client.sockets.connect(cfd, host, port), -EINPROGRESS);
  let sfd = -1;
  waitFor(p.sim, () => {
    if (sfd < 0) sfd = server.sockets.accept(lfd);
    return sfd >= 0 && client.sockets.tcpState(cfd) === 'ESTABLISHED';
  }, 20000);
  return { lfd, cfd, sfd };
}

test('TCP over IPv6: handshake, addresses, MSS of the IPv6 path, 256 KiB each way byte-exact, FIN', () => {
  const p = pair6();
  const { a, b, sim } = p;
  const { cfd, sfd } = connect6(p, a, b, 'fd00::2', 80);
  const s = sockaddr();
  assert.equal(a.sockets.getpeername(cfd, s), 0);
  assert.equal(s.family, 6);
  assert.equal(formatIpv6(s.address6 as Uint8Array, 0), 'fd00::2');
  assert.equal(s.port, 80);
  assert.equal(a.sockets.getsockname(cfd, s), 0);
  assert.equal(formatIpv6(s.address6 as Uint8Array, 0), 'fd00::1');
  assert.equal(b.sockets.getpeername(sfd, s), 0);
  assert.equal(formatIpv6(s.address6 as Uint8Array, 0), 'fd00::1');
  // 1500-byte link: MSS 1500 - 40 (IPv6) - 20 (TCP) = 1440, less 12 bytes of timestamps per segment.
  assert.equal(a.sockets.tcpInfo(cfd)?.mss, 1428);
  assert.equal(b.sockets.tcpInfo(sfd)?.mss, 1428);
  const up = pattern(256 * 1024, 3);
  assert.deepEqual(transfer(sim, a, cfd, b, sfd, up), up);
  const down = pattern(256 * 1024, 4);
  assert.deepEqual(transfer(sim, b, sfd, a, cfd, down), down);
  assert.equal(a.sockets.shutdown(cfd, 1), 0);
  const buf = new Uint8Array(16);
  waitFor(sim, () => b.sockets.recv(sfd, buf, 0, 16) === 0, 5000);
  assert.equal(a.stats.tcp.badChecksum + b.stats.tcp.badChecksum, 0);
  // IPv6 segments never ask IPv4 for a route (the send path once routed the address's fold, counting ip.noRoute).
  assert.equal(a.stats.ip.noRoute + b.stats.ip.noRoute, 0);
});

test('a dual-stack listener on :: accepts IPv4 (peer ::ffff:10.0.0.1) and IPv6; an IPv4 listener does not take IPv6', () => {
  const p = pair6();
  const { a, b } = p;
  const v6 = connect6(p, a, b, 'fd00::2', 8080);
  const v4 = connect6(p, a, b, '10.0.0.2', 8080, v6.lfd, 4);
  const s = sockaddr();
  assert.equal(b.sockets.getpeername(v4.sfd, s), 0);
  assert.equal(s.family, 6, 'an AF_INET6 listener reports IPv4 peers in IPv6 form');
  assert.equal(formatIpv6(s.address6 as Uint8Array, 0), '::ffff:10.0.0.1');
  assert.equal(s.address, 0x0a000001);
  assert.equal(b.sockets.getsockname(v4.sfd, s), 0);
  assert.equal(formatIpv6(s.address6 as Uint8Array, 0), '::ffff:10.0.0.2');
  assert.equal(b.sockets.family(v4.sfd), AF_INET6);
  // The IPv4 client sees a plain IPv4 connection.
  assert.equal(a.sockets.getpeername(v4.cfd, s), 0);
  assert.equal(s.family, 4);
  // Data both ways on both.
  for (const c of [v4, v6]) {
    const d = pattern(20000, c.cfd);
    assert.deepEqual(transfer(p.sim, a, c.cfd, b, c.sfd, d), d);
  }
  // An AF_INET listener (0.0.0.0) is no IPv6 listener: the IPv6 SYN is refused.
  const l4 = b.sockets.socket('tcp');
  assert.equal(b.sockets.bind(l4, '0.0.0.0', 8081), 0);
  assert.equal(b.sockets.listen(l4, 4), 0);
  const c6 = a.sockets.socket('tcp', AF_INET6);
  assert.equal(a.sockets.connect(c6, 'fd00::2', 8081), -EINPROGRESS);
  waitFor(p.sim, () => a.sockets.tcpState(c6) === 'CLOSED', 5000);
  assert.equal(a.sockets.getsockopt(c6, SO_ERROR), ECONNREFUSED);
});

test('IPV6_V6ONLY: the listener refuses IPv4 (RST), and frees the port for an IPv4 listener', () => {
  const p = pair6();
  const { a, b, sim } = p;
  const l = b.sockets.socket('tcp', AF_INET6);
  assert.equal(b.sockets.setsockopt(l, IPV6_V6ONLY, 1), 0);
  assert.equal(b.sockets.getsockopt(l, IPV6_V6ONLY), 1);
  assert.equal(b.sockets.bind(l, '::', 443), 0);
  assert.equal(b.sockets.setsockopt(l, IPV6_V6ONLY, 0), -22, 'only before bind');
  assert.equal(b.sockets.listen(l, 4), 0);
  const c = a.sockets.socket('tcp');
  assert.equal(a.sockets.connect(c, '10.0.0.2', 443), -EINPROGRESS);
  waitFor(sim, () => a.sockets.tcpState(c) === 'CLOSED', 5000);
  assert.equal(a.sockets.getsockopt(c, SO_ERROR), ECONNREFUSED);
  // V6ONLY leaves IPv4 port 443 free; a dual-stack :: socket would not.
  const l4 = b.sockets.socket('tcp');
  assert.equal(b.sockets.bind(l4, 0, 443), 0);
  const dual = b.sockets.socket('tcp', AF_INET6);
  assert.equal(b.sockets.bind(dual, '::', 443), -EADDRINUSE);
  const dual2 = b.sockets.socket('tcp', AF_INET6);
  assert.equal(b.sockets.bind(dual2, '::', 444), 0);
  const v4on444 = b.sockets.socket('tcp');
  assert.equal(b.sockets.bind(v4on444, '10.0.0.2', 444), -EADDRINUSE, ':: without V6ONLY owns IPv4 444 too');
});

test('family errors: addresses of the other family, foreign addresses, mapped peers on V6ONLY', () => {
  const { a } = pair6();
  const s4 = a.sockets.socket('tcp');
  const s6 = a.sockets.socket('tcp', AF_INET6);
  assert.equal(a.sockets.bind(s4, 'fd00::1', 1), -EAFNOSUPPORT);
  assert.equal(a.sockets.bind(s6, '10.0.0.1', 1), -EAFNOSUPPORT);
  assert.equal(a.sockets.connect(s4, 'fd00::2', 1), -EAFNOSUPPORT);
  assert.equal(a.sockets.bind(s6, 'fd00::99', 1), -EADDRNOTAVAIL);
  assert.equal(a.sockets.bind(s6, 'fd00::zz', 1), -22);
  const v6only = a.sockets.socket('udp6');
  assert.equal(a.sockets.setsockopt(v6only, IPV6_V6ONLY, 1), 0);
  const one = new Uint8Array(1);
  assert.equal(a.sockets.sendto(v6only, one, 0, 1, '::ffff:10.0.0.2', 9), -ENETUNREACH);
  assert.equal(a.sockets.sendto(v6only, one, 0, 1, '10.0.0.2', 9), -EAFNOSUPPORT);
  assert.equal(a.sockets.setsockopt(s4, IPV6_V6ONLY, 1), -95, 'not an AF_INET6 socket');
  const none = new Stack({ ipv6: false });
  assert.equal(none.sockets.socket('tcp', AF_INET6), -EAFNOSUPPORT);
  assert.equal(none.sockets.socket('udp6'), -EAFNOSUPPORT);
});

test('UDP over IPv6: echo, sender as 16 bytes; a :: udp6 socket takes IPv4 as ::ffff:a.b.c.d and answers it', () => {
  const p = pair6();
  const { a, b, sim } = p;
  const srv = b.sockets.socket('udp6');
  assert.equal(b.sockets.bind(srv, '::', 7), 0);
  const cli = a.sockets.socket('udp6');
  const msg = pattern(3000, 9); // larger than the MTU: fragmented at the source
  assert.equal(a.sockets.sendto(cli, msg, 0, 100, 'fd00::2', 7), 100);
  const from = sockaddr();
  const buf = new Uint8Array(4096);
  waitFor(sim, () => b.sockets.nextLength(srv) >= 0, 2000);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, from), 100);
  assert.deepEqual(buf.subarray(0, 100), msg.subarray(0, 100));
  assert.equal(from.family, 6);
  assert.equal(formatIpv6(from.address6 as Uint8Array, 0), 'fd00::1');
  assert.equal(b.sockets.sendto(srv, buf, 0, 100, from.address6 as Uint8Array, from.port), 100);
  waitFor(sim, () => a.sockets.nextLength(cli) >= 0, 2000);
  assert.equal(a.sockets.recvfrom(cli, buf, 0, buf.length, from), 100);
  assert.equal(formatIpv6(from.address6 as Uint8Array, 0), 'fd00::2');
  assert.equal(from.port, 7);
  // IPv4 into the dual-stack socket.
  const c4 = a.sockets.socket('udp');
  assert.equal(a.sockets.sendto(c4, msg, 0, 50, '10.0.0.2', 7), 50);
  waitFor(sim, () => b.sockets.nextLength(srv) >= 0, 2000);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, from), 50);
  assert.equal(from.family, 6);
  assert.equal(formatIpv6(from.address6 as Uint8Array, 0), '::ffff:10.0.0.1');
  assert.equal(b.sockets.sendto(srv, buf, 0, 50, formatIpv6(from.address6 as Uint8Array, 0), from.port), 50);
  waitFor(sim, () => a.sockets.nextLength(c4) >= 0, 2000);
  assert.equal(a.sockets.recvfrom(c4, buf, 0, buf.length, from), 50);
  assert.equal(from.family, 4);
  assert.equal(from.address, 0x0a000002);
  // A big datagram crosses in fragments.
  assert.equal(a.sockets.sendto(cli, msg, 0, msg.length, 'fd00::2', 7), msg.length);
  waitFor(sim, () => b.sockets.nextLength(srv) >= 0, 2000);
  assert.equal(b.sockets.recvfrom(srv, buf, 0, buf.length, from), msg.length);
  assert.deepEqual(buf.subarray(0, msg.length), msg);
  assert.equal(b.sockets.recv(srv, buf, 0, 1), -EAGAIN);
  assert.equal(a.stats.udp.badChecksum + b.stats.udp.badChecksum, 0);
});

test('SYN cookies over IPv6: every SYN answered with a cookie (tcpSyncookies 2), connections made from them', () => {
  const p = pair6({}, { tcpSyncookies: 2 });
  const { a, b, sim } = p;
  const first = connect6(p, a, b, 'fd00::2', 22);
  const second = connect6(p, a, b, 'fd00::2', 22, first.lfd);
  assert.equal(b.stats.tcp.syncookiesSent, 2);
  assert.equal(b.stats.tcp.syncookiesRecv, 2);
  assert.equal(b.stats.tcp.syncookiesFailed, 0);
  // The MSS came back from the cookie's IPv6 table: 1440 on this path (less 12 of timestamps).
  assert.equal(b.sockets.tcpInfo(second.sfd)?.mss, 1428);
  const d = pattern(100000, 7);
  assert.deepEqual(transfer(sim, a, second.cfd, b, second.sfd, d), d);
  assert.deepEqual(transfer(sim, b, first.sfd, a, first.cfd, d), d);
});

test('over Ethernet: neighbour discovery resolves the peer, then TCP 64 KiB byte-exact and UDP both ways', () => {
  const [la, lb] = MemoryLink.pair({ seed: 9 });
  const a = new Stack({ seed: 611 });
  const b = new Stack({ seed: 612 });
  a.addInterface(la, { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(lb, { address: ['10.0.0.2/24', 'fd00::2/64'] });
  const sim = new Simulation([a, b]);
  sim.advance(1);
  const p: Pair6 = { a, b, sim };
  const { cfd, sfd } = connect6(p, a, b, 'fd00::2', 80);
  const d = pattern(65536, 11);
  assert.deepEqual(transfer(sim, a, cfd, b, sfd, d), d);
  assert.deepEqual(transfer(sim, b, sfd, a, cfd, d), d);
  const u = b.sockets.socket('udp6');
  assert.equal(b.sockets.bind(u, 'fd00::2', 9), 0);
  const c = a.sockets.socket('udp6');
  assert.equal(a.sockets.sendto(c, d, 0, 512, 'fd00::2', 9), 512);
  waitFor(sim, () => b.sockets.nextLength(u) === 512, 2000);
  // Nobody on port 10: ICMPv6 port unreachable reaches a connected sender as ECONNREFUSED.
  assert.equal(a.sockets.connect(c, 'fd00::2', 10), 0);
  assert.equal(a.sockets.send(c, d, 0, 8), 8);
  waitFor(sim, () => a.sockets.getsockopt(c, SO_ERROR) === ECONNREFUSED, 2000);
});
