/**
 * The node:net and node:dgram facades over IPv6, in REAL time (Node's
 * streams run on real timers): two started dual-stack stacks on a
 * point-to-point link. What Node reports is the reference: address() and
 * its family, remoteAddress/remoteFamily/localAddress, '::' listeners
 * taking IPv4 peers as ::ffff:a.b.c.d, ipv6Only, 'udp6' sockets, errors
 * with Node's codes, and names resolved to AAAA by stack.dns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Buffer } from 'node:buffer';
import { MemoryLink, Stack, type NetServer, type NetSocket } from '../../src/index.js';
import { IpLink } from '../helpers/ip-link.js';
import type { RemoteInfo } from '../../src/socket/dgram.js';
import { DNS_FLAG_QR, DNS_FLAG_RD, DNS_TYPE_AAAA, encodeMessage, parseMessage } from '../../src/wire/dns.js';

const T = { timeout: 15000 };


async function withPair(fn: (a: Stack, b: Stack) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 71 });
  const b = new Stack({ seed: 72 });
  a.addInterface(new IpLink(la), { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(new IpLink(lb), { address: ['10.0.0.2/24', 'fd00::2/64'] });
  a.start();
  b.start();
  try {
    await fn(a, b);
  } finally {
    a.stop();
    b.stop();
  }
}

function listen(server: NetServer, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => NetServer)(...args, () => { server.removeListener('error', reject); resolve(); });
  });
}

function echo(b: Stack, seen: NetSocket[]): NetServer {
  return b.net.createServer((s) => {
    seen.push(s);
    s.on('error', () => {});
    s.pipe(s);
  });
}

async function roundTrip(c: NetSocket, text: string): Promise<string> {
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  c.end(text);
  await once(c, 'end');
  return Buffer.concat(chunks).toString();
}

test("net: '::' listener address(), IPv6 connect with Node's fields, IPv4 peer as ::ffff:10.0.0.1", T, () => withPair(async (a, b) => {
  const seen: NetSocket[] = [];
  const server = echo(b, seen);
  await listen(server, 7, '::');
  assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 7 });

  const c = a.net.connect({ host: 'fd00::2', port: 7 });
  assert.equal(c.remoteFamily, 'IPv6');
  await once(c, 'connect');
  assert.equal(c.remoteAddress, 'fd00::2');
  assert.equal(c.remotePort, 7);
  assert.equal(c.remoteFamily, 'IPv6');
  assert.equal(c.localAddress, 'fd00::1');
  assert.deepEqual(c.address(), { address: 'fd00::1', family: 'IPv6', port: c.localPort });
  assert.equal(await roundTrip(c, 'over six'), 'over six');
  assert.equal(seen[0].remoteAddress, 'fd00::1');
  assert.equal(seen[0].remoteFamily, 'IPv6');
  assert.equal(seen[0].localAddress, 'fd00::2');

  const c4 = a.net.connect(7, '10.0.0.2');
  await once(c4, 'connect');
  assert.equal(c4.remoteFamily, 'IPv4');
  assert.equal(await roundTrip(c4, 'over four'), 'over four');
  assert.equal(seen[1].remoteAddress, '::ffff:10.0.0.1');
  assert.equal(seen[1].remoteFamily, 'IPv6');
  assert.deepEqual(seen[1].address(), { address: '::ffff:10.0.0.2', family: 'IPv6', port: 7 });
  server.close();
}));

test("net: listen(port) without a host binds '::' as Node (both families); ipv6Only without a host is IPv6 only", T, () => withPair(async (a, b) => {
  const seen: NetSocket[] = [];
  const server = echo(b, seen);
  await listen(server, 17);
  assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 17 });
  const c6 = a.net.connect(17, 'fd00::2');
  assert.equal(await roundTrip(c6, 'six'), 'six');
  const c4 = a.net.connect(17, '10.0.0.2');
  await once(c4, 'connect');
  assert.equal(c4.remoteAddress, '10.0.0.2', 'the client side stays IPv4');
  assert.equal(c4.remoteFamily, 'IPv4');
  assert.equal(await roundTrip(c4, 'four'), 'four');
  assert.equal(seen[0].remoteAddress, 'fd00::1');
  assert.equal(seen[1].remoteAddress, '::ffff:10.0.0.1');
  assert.equal(seen[1].remoteFamily, 'IPv6');
  assert.equal(seen[1].remotePort, c4.localPort);
  assert.equal(seen[1].localAddress, '::ffff:10.0.0.2');
  server.close();

  const only6 = echo(b, []);
  await listen(only6, { port: 18, ipv6Only: true });
  assert.deepEqual(only6.address(), { address: '::', family: 'IPv6', port: 18 });
  const r4 = a.net.connect(18, '10.0.0.2');
  const [e4] = await once(r4, 'error') as [NodeJS.ErrnoException];
  assert.equal(e4.code, 'ECONNREFUSED');
  assert.equal(await roundTrip(a.net.connect(18, 'fd00::2'), 'still six'), 'still six');
  only6.close();
}));

test("net: listen(port) on a stack built with ipv6: false binds '0.0.0.0' (Node's fallback when '::' fails)", T, async () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 73, ipv6: false });
  const b = new Stack({ seed: 74, ipv6: false });
  a.addInterface(new IpLink(la), { address: '10.0.0.1/24' });
  b.addInterface(new IpLink(lb), { address: '10.0.0.2/24' });
  a.start();
  b.start();
  try {
    const seen: NetSocket[] = [];
    const server = echo(b, seen);
    await listen(server, 7);
    assert.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7 });
    assert.equal(await roundTrip(a.net.connect(7, '10.0.0.2'), 'v4 only'), 'v4 only');
    assert.equal(seen[0].remoteAddress, '10.0.0.1');
    assert.equal(seen[0].remoteFamily, 'IPv4');
    server.close();
    const explicit = b.net.createServer();
    const errP = once(explicit, 'error');
    explicit.listen(7, '::');
    const [e] = await errP as [NodeJS.ErrnoException];
    assert.equal(e.code, 'EAFNOSUPPORT', "an explicit '::' still fails as Node's does without IPv6");
  } finally {
    a.stop();
    b.stop();
  }
});

test('net: ipv6Only refuses IPv4 (ECONNREFUSED); IPv6 errors carry Node codes', T, () => withPair(async (a, b) => {
  const server = echo(b, []);
  await listen(server, { port: 8, host: '::', ipv6Only: true });
  const c4 = a.net.connect(8, '10.0.0.2');
  const [e4] = await once(c4, 'error') as [NodeJS.ErrnoException & { address: string }];
  assert.equal(e4.code, 'ECONNREFUSED');
  const c6 = a.net.connect(8, 'fd00::2');
  await once(c6, 'connect');
  c6.destroy();

  const refused = a.net.connect(9, 'fd00::2');
  const [e] = await once(refused, 'error') as [NodeJS.ErrnoException & { address: string; port: number }];
  assert.equal(e.code, 'ECONNREFUSED');
  assert.equal(e.syscall, 'connect');
  assert.equal(e.address, 'fd00::2');
  assert.equal(e.port, 9);

  const s2 = b.net.createServer();
  s2.on('error', () => {});
  const busyP = once(s2, 'error');
  s2.listen(8, '::');
  const [busy] = await busyP as [NodeJS.ErrnoException];
  assert.equal(busy.code, 'EADDRINUSE');
  const s3 = b.net.createServer();
  const notMineP = once(s3, 'error');
  s3.listen(10, 'fd00::99');
  const [notMine] = await notMineP as [NodeJS.ErrnoException];
  assert.equal(notMine.code, 'EADDRNOTAVAIL');
  assert.throws(() => a.net.connect({ port: 1, host: 'x.example', family: 5 }), { code: 'ERR_INVALID_ARG_VALUE' });
  const bad = a.net.connect({ port: 7, host: 'fd00::2', localAddress: '10.0.0.1' });
  const [eb] = await once(bad, 'error') as [NodeJS.ErrnoException];
  assert.equal(eb.code, 'EINVAL');
  server.close();
}));

test("dgram: 'udp6' echo with IPv6 rinfo, a :: socket hears IPv4 as ::ffff:, ipv6Only does not; EINVAL for an IPv4 literal", T, () => withPair(async (a, b) => {
  const srv = b.dgram.createSocket('udp6');
  srv.on('message', (msg, rinfo) => srv.send(msg, rinfo.port, rinfo.address));
  srv.bind(53);
  await once(srv, 'listening');
  assert.deepEqual(srv.address(), { address: '::', family: 'IPv6', port: 53 });

  const c6 = a.dgram.createSocket('udp6');
  c6.send('ping6', 53, 'fd00::2');
  const [m6, r6] = await once(c6, 'message') as [Buffer, RemoteInfo];
  assert.equal(m6.toString(), 'ping6');
  assert.deepEqual(r6, { address: 'fd00::2', family: 'IPv6', port: 53, size: 5 });
  assert.equal(c6.address().family, 'IPv6');

  const c4 = a.dgram.createSocket('udp4');
  const seen4 = once(srv, 'message') as Promise<[Buffer, RemoteInfo]>;
  c4.send('ping4', 53, '10.0.0.2');
  const [, r4srv] = await seen4;
  assert.equal(r4srv.address, '::ffff:10.0.0.1');
  assert.equal(r4srv.family, 'IPv6');
  const [m4, r4] = await once(c4, 'message') as [Buffer, RemoteInfo];
  assert.equal(m4.toString(), 'ping4');
  assert.deepEqual(r4, { address: '10.0.0.2', family: 'IPv4', port: 53, size: 5 });

  const only = b.dgram.createSocket({ type: 'udp6', ipv6Only: true });
  only.bind(54);
  await once(only, 'listening');
  let heard = false;
  only.on('message', () => { heard = true; });
  const noPort = b.stats.udp.noPort;
  c4.send('nope', 54, '10.0.0.2');
  const until = Date.now() + 2000;
  while (b.stats.udp.noPort === noPort && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  assert.equal(b.stats.udp.noPort, noPort + 1, 'the IPv4 datagram found no socket');
  assert.equal(heard, false);

  const [sendErr] = await new Promise<[Error | null]>((resolve) => c6.send('x', 53, '10.0.0.2', (e) => resolve([e])));
  assert.equal((sendErr as NodeJS.ErrnoException).code, 'EINVAL');
  for (const s of [srv, c6, c4, only]) s.close();
}));

test('net.connect to a name: AAAA through stack.dns with family 6, lookup event with family 6', T, () => withPair(async (a, b) => {
  const dns = b.dgram.createSocket('udp6');
  dns.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    const answers = q.questions[0].type === DNS_TYPE_AAAA
      ? [{ name: q.questions[0].name, type: DNS_TYPE_AAAA, ttl: 60, address: 'fd00::2' }] : [];
    dns.send(encodeMessage({ id: q.id, flags: DNS_FLAG_QR | DNS_FLAG_RD, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  dns.bind(53);
  await once(dns, 'listening');
  a.dns.setServers(['fd00::2']);
  a.dns.configure({ timeout: 500 });
  assert.deepEqual(await a.dns.resolve6('www.example'), ['fd00::2']);
  const server = echo(b, []);
  await listen(server, 80, '::');
  const c = a.net.connect({ host: 'www.example', port: 80, family: 6 });
  const [lookupErr, address, family] = await once(c, 'lookup') as [Error | null, string, number];
  assert.equal(lookupErr, null);
  assert.equal(address, 'fd00::2');
  assert.equal(family, 6);
  await once(c, 'connect');
  assert.equal(c.remoteFamily, 'IPv6');
  assert.equal(await roundTrip(c, 'named'), 'named');
  server.close();
  dns.close();
}));
