/**
 * Port-forward tunnels between the host's loopback and stack A, whose peer
 * stack B runs servers and clients; real time on a MemoryLink cable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { MemoryLink, Stack } from '../../src/index.js';
import {
  createTcpClientTunnel, createTcpServerTunnel, createUdpClientTunnel, createUdpServerTunnel,
} from '../../src/apps/tunnels.js';
import { connectHost, sleep, until, withStacks } from '../helpers/socks.js';

const A = '10.0.0.1';
const B = '10.0.0.2';

function curl(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    execFile('curl', ['-sS', '--max-time', '10', '--noproxy', '*', url], { env, timeout: 15000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`curl failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < n; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

test('TCP client tunnel: host loopback → HTTP and echo servers in the stack, 2 MiB both ways byte-exact, failed target resets', { timeout: 30000 }, () => withStacks(async (a, b) => {
  const web = b.http.createServer((req, res) => res.end(`tunnelled ${req.url} from ${req.socket.remoteAddress}`));
  web.listen(80);
  const echo = b.net.createServer((s) => s.pipe(s));
  echo.listen(7);
  const http = await createTcpClientTunnel(a, { bind: { host: '127.0.0.1', port: 0 }, target: { host: B, port: 80 } });
  const pipe = await createTcpClientTunnel(a, { bind: { host: '127.0.0.1', port: 0 }, target: { host: B, port: 7 } });
  const dead = await createTcpClientTunnel(a, { bind: { host: '127.0.0.1', port: 0 }, target: { host: B, port: 81 } });
  try {
    assert.equal(http.address().address, '127.0.0.1');
    assert.equal(await curl(`http://127.0.0.1:${http.address().port}/page`), `tunnelled /page from ::ffff:${A}`);
    assert.equal(http.stats.accepted, 1);
    await until(() => http.stats.active === 0, 5000, 'the HTTP connection to close');
    assert.ok(http.stats.bytesUp > 50 && http.stats.bytesDown > 50);

    const data = bytes(2 * 1024 * 1024, 'tcp-client');
    const r = await connectHost(pipe.address().port, true);
    r.sock.end(data);
    const back = await r.readToEnd();
    assert.equal(back.length, data.length);
    assert.equal(sha(back), sha(data));
    await r.closed;
    await until(() => pipe.stats.active === 0, 5000, 'the echo connection to close');
    assert.equal(pipe.stats.bytesUp, data.length);
    assert.equal(pipe.stats.bytesDown, data.length);

    const d = await connectHost(dead.address().port);
    d.sock.write('anyone?');
    await d.closed;
    assert.equal(d.error !== null ? (d.error as NodeJS.ErrnoException).code : 'no error', 'ECONNRESET');
    assert.equal(dead.stats.connectFailures, 1);
  } finally {
    await Promise.all([http.close(), pipe.close(), dead.close()]);
    web.close();
    echo.close();
  }
}));

/** An echo server on the host's loopback. */
async function hostEcho(): Promise<net.Server> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => { /* the test reports */ });
    s.pipe(s);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return srv;
}

function port(srv: net.Server): number {
  return (srv.address() as net.AddressInfo).port;
}

/** Connect from stack `b` and send `data`, read until the end. */
function stackRoundTrip(b: Stack, host: string, p: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = b.net.connect({ host, port: p, allowHalfOpen: true });
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.on('end', () => resolve(Buffer.concat(got)));
    c.on('error', reject);
    c.end(data);
  });
}

test('TCP server tunnel: a client in the other stack reaches a host loopback server through a stack port', { timeout: 30000 }, () => withStacks(async (a, b) => {
  const srv = await hostEcho();
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = port(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const t = await createTcpServerTunnel(a, { listenPort: 8080, target: { host: '127.0.0.1', port: port(srv) } });
  const t2 = await createTcpServerTunnel(a, { listenPort: 8081, target: { host: '127.0.0.1', port: closedPort } });
  try {
    assert.deepEqual(t.address(), { address: '::', family: 'IPv6', port: 8080 });
    const small = await stackRoundTrip(b, A, 8080, Buffer.from('from stack B'));
    assert.equal(small.toString(), 'from stack B');
    const data = bytes(2 * 1024 * 1024, 'tcp-server');
    const back = await stackRoundTrip(b, A, 8080, data);
    assert.equal(sha(back), sha(data));
    await until(() => t.stats.active === 0, 5000, 'connections to close');
    assert.equal(t.stats.accepted, 2);
    assert.equal(t.stats.bytesUp, data.length + 12);
    assert.equal(t.stats.bytesDown, data.length + 12);

    await assert.rejects(stackRoundTrip(b, A, 8081, Buffer.from('nobody')), { code: 'ECONNRESET' });
    await until(() => t2.stats.connectFailures === 1, 3000, 'the failure to be counted');
  } finally {
    await Promise.all([t.close(), t2.close()]);
    srv.close();
  }
}));

/** A bound host UDP socket collecting what it receives. */
async function hostUdp(): Promise<{ s: dgram.Socket; got: Array<{ msg: string; from: string }> }> {
  const s = dgram.createSocket('udp4');
  const got: Array<{ msg: string; from: string }> = [];
  s.on('message', (m, r) => got.push({ msg: m.toString(), from: `${r.address}:${r.port}` }));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return { s, got };
}

test('UDP client tunnel: one flow per host source, replies to the right source, idle flows expire, flow limit', { timeout: 20000 }, () => withStacks(async (a, b) => {
  const echo = b.dgram.createSocket('udp4');
  const seen = new Set<string>();
  echo.on('message', (m, r) => {
    seen.add(`${r.address}:${r.port}`);
    echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address);
  });
  echo.bind(7);
  const t = await createUdpClientTunnel(a, {
    bind: { host: '127.0.0.1', port: 0 }, target: { host: B, port: 7 }, idleTimeoutMs: 300, maxFlows: 2,
  });
  const c1 = await hostUdp();
  const c2 = await hostUdp();
  const c3 = await hostUdp();
  const front = `127.0.0.1:${t.address().port}`;
  try {
    c1.s.send('one', t.address().port, '127.0.0.1');
    c2.s.send('two', t.address().port, '127.0.0.1');
    await until(() => c1.got.length === 1 && c2.got.length === 1, 3000, 'both replies');
    assert.deepEqual(c1.got, [{ msg: 'echo:one', from: front }]);
    assert.deepEqual(c2.got, [{ msg: 'echo:two', from: front }]);
    c1.s.send('one again', t.address().port, '127.0.0.1');
    await until(() => c1.got.length === 2, 3000, 'the second reply');
    assert.equal(c1.got[1].msg, 'echo:one again');
    assert.equal(seen.size, 2, 'two stack-side sources, one per host client');
    assert.ok([...seen].every((s) => s.startsWith(`${A}:`)));
    assert.equal(t.stats.flows, 2);
    // A third source while two flows are open: dropped.
    c3.s.send('three', t.address().port, '127.0.0.1');
    await until(() => t.stats.rejectedLimit === 1, 3000, 'the limit');
    assert.equal(c3.got.length, 0);

    await until(() => t.stats.expired === 2, 3000, 'both flows to expire');
    assert.equal(t.stats.activeFlows, 0);
    c3.s.send('three later', t.address().port, '127.0.0.1');
    await until(() => c3.got.length === 1, 3000, 'the third reply');
    assert.equal(c3.got[0].msg, 'echo:three later');
    assert.equal(t.stats.flows, 3);
    assert.equal(t.stats.datagramsUp, 4);
    assert.equal(t.stats.datagramsDown, 4);
    assert.equal(t.stats.dropped, 0);
  } finally {
    await t.close();
    for (const c of [c1, c2, c3]) c.s.close();
    echo.close();
  }
}));

test('UDP server tunnel: datagrams to a stack port reach a host loopback server, replies return per source', { timeout: 20000 }, () => withStacks(async (a, b) => {
  const srv = dgram.createSocket('udp4');
  const sources = new Set<string>();
  srv.on('message', (m, r) => {
    sources.add(`${r.address}:${r.port}`);
    srv.send(Buffer.concat([Buffer.from('host:'), m]), r.port, r.address);
  });
  await new Promise<void>((resolve) => srv.bind(0, '127.0.0.1', resolve));
  const t = await createUdpServerTunnel(a, { listenPort: 5300, target: { host: '127.0.0.1', port: srv.address().port }, idleTimeoutMs: 300 });
  const p1 = b.dgram.createSocket('udp4');
  const p2 = b.dgram.createSocket('udp4');
  const got1: string[] = [];
  const got2: string[] = [];
  p1.on('message', (m, r) => got1.push(`${m.toString()} from ${r.address}:${r.port}`));
  p2.on('message', (m, r) => got2.push(`${m.toString()} from ${r.address}:${r.port}`));
  try {
    assert.equal(t.address().port, 5300);
    p1.send('alpha', 5300, A);
    p2.send('beta', 5300, A);
    await until(() => got1.length === 1 && got2.length === 1, 3000, 'both replies');
    assert.deepEqual(got1, [`host:alpha from ${A}:5300`]);
    assert.deepEqual(got2, [`host:beta from ${A}:5300`]);
    assert.equal(sources.size, 2, 'one host socket per stack source');
    assert.ok([...sources].every((s) => s.startsWith('127.0.0.1:')));
    assert.equal(t.stats.flows, 2);
    await until(() => t.stats.expired === 2, 3000, 'the flows to expire');
    p1.send('gamma', 5300, A);
    await until(() => got1.length === 2, 3000, 'a reply on a new flow');
    assert.equal(t.stats.flows, 3);
    assert.equal(t.stats.datagramsUp, 3);
    assert.equal(t.stats.datagramsDown, 3);
    await sleep(50);
    assert.equal(got2.length, 1);
  } finally {
    await t.close();
    p1.close();
    p2.close();
    srv.close();
  }
}));

/** Two dual-stack stacks in real time: a = 10.0.0.1 + fd00::1 (the tunnels' side), b = 10.0.0.2 + fd00::2. */
async function withStacks6(fn: (a: Stack, b: Stack) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 61 });
  const b = new Stack({ seed: 62 });
  a.addInterface(la, { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(lb, { address: ['10.0.0.2/24', 'fd00::2/64'] });
  a.start();
  b.start();
  try {
    await fn(a, b);
  } finally {
    a.stop();
    b.stop();
  }
}

test('UDP client tunnel to an IPv6 target: host [::1] front, [fd00::2]:7 in the stack (a literal and a name), byte-exact both ways', { timeout: 20000 }, () => withStacks6(async (a, b) => {
  const echo = b.dgram.createSocket('udp6');
  const seen: string[] = [];
  echo.on('message', (m, r) => {
    seen.push(r.address);
    echo.send(m, r.port, r.address);
  });
  echo.bind(7);
  // A non-canonical spelling: replies come from 'fd00::2' and must still match the target.
  const t = await createUdpClientTunnel(a, { bind: { host: '::1', port: 0 }, target: { host: 'FD00:0:0::2', port: 7 }, idleTimeoutMs: 2000 });
  a.net.resolver = async (h) => {
    if (h === 'v6.wirestack.test') return 'fd00::2';
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
  };
  const byName = await createUdpClientTunnel(a, { bind: { host: '127.0.0.1', port: 0 }, target: { host: 'v6.wirestack.test', port: 7 } });
  const c6 = dgram.createSocket('udp6');
  const c4 = dgram.createSocket('udp4');
  const got6: Array<{ m: Buffer; from: string }> = [];
  const got4: Buffer[] = [];
  c6.on('message', (m, r) => got6.push({ m, from: `${r.address}:${r.port}` }));
  c4.on('message', (m) => got4.push(m));
  await new Promise<void>((resolve) => c6.bind(0, '::1', resolve));
  await new Promise<void>((resolve) => c4.bind(0, '127.0.0.1', resolve));
  try {
    assert.deepEqual({ address: t.address().address, family: t.address().family }, { address: '::1', family: 'IPv6' });
    const datagrams = [Buffer.from('hello v6'), randomBytes(1200), randomBytes(1)];
    for (const d of datagrams) c6.send(d, t.address().port, '::1');
    await until(() => got6.length === 3, 3000, 'three IPv6 echoes');
    for (let i = 0; i < 3; i++) {
      assert.ok(got6[i].m.equals(datagrams[i]), `datagram ${i} byte-exact`);
      assert.equal(got6[i].from, `::1:${t.address().port}`);
    }
    assert.deepEqual(seen, ['fd00::1', 'fd00::1', 'fd00::1'], 'sent from the stack\'s IPv6 address');
    const big = randomBytes(1400);
    c4.send(big, byName.address().port, '127.0.0.1');
    await until(() => got4.length === 1, 3000, 'the echo through the tunnel to a name');
    assert.ok(got4[0].equals(big));
    assert.equal(seen[3], 'fd00::1');
    assert.equal(t.stats.datagramsUp, 3);
    assert.equal(t.stats.datagramsDown, 3);
    assert.equal(t.stats.dropped, 0);
    assert.equal(byName.stats.datagramsDown, 1);
  } finally {
    await Promise.all([t.close(), byName.close()]);
    c6.close();
    c4.close();
    echo.close();
  }
}));

test('UDP server tunnel listening on :: in the stack: IPv6 and IPv4 sources reach a host [::1] server, byte-exact replies per source', { timeout: 20000 }, () => withStacks6(async (a, b) => {
  const srv = dgram.createSocket('udp6');
  srv.on('message', (m, r) => srv.send(m, r.port, r.address));
  await new Promise<void>((resolve) => srv.bind(0, '::1', resolve));
  const t = await createUdpServerTunnel(a, { listenPort: 5300, listenHost: '::', target: { host: '::1', port: srv.address().port }, idleTimeoutMs: 2000 });
  const p6 = b.dgram.createSocket('udp6');
  const p4 = b.dgram.createSocket('udp4');
  const got6: Array<{ m: Buffer; from: string }> = [];
  const got4: Array<{ m: Buffer; from: string }> = [];
  p6.on('message', (m, r) => got6.push({ m, from: `${r.address}:${r.port}` }));
  p4.on('message', (m, r) => got4.push({ m, from: `${r.address}:${r.port}` }));
  try {
    assert.deepEqual(t.address(), { address: '::', family: 'IPv6', port: 5300 });
    const d6 = randomBytes(1200);
    const d4 = randomBytes(1200);
    p6.send(d6, 5300, 'fd00::1');
    p4.send(d4, 5300, A);
    await until(() => got6.length === 1 && got4.length === 1, 3000, 'both replies');
    assert.ok(got6[0].m.equals(d6), 'IPv6 source: byte-exact');
    assert.equal(got6[0].from, 'fd00::1:5300');
    assert.ok(got4[0].m.equals(d4), 'IPv4 source: byte-exact');
    assert.equal(got4[0].from, `${A}:5300`);
    assert.equal(t.stats.flows, 2);
    assert.equal(t.stats.datagramsUp, 2);
    assert.equal(t.stats.datagramsDown, 2);
    assert.equal(t.stats.dropped, 0);
  } finally {
    await t.close();
    p6.close();
    p4.close();
    srv.close();
  }
}));
