/**
 * The node:net facade, in REAL time: two started stacks on a MemoryLink
 * cable. Node's own stream/http/tls machinery (and undici, ws) runs on its
 * real timers and nextTick, so virtual time does not fit here; every test is
 * bounded by a timeout and stops its stacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform, Writable, type Duplex } from 'node:stream';
import http from 'node:http';
import tls from 'node:tls';
import type { Socket as NodeSocket } from 'node:net';
import { Client } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { MemoryLink, NetSocket, Stack, type NetError, type NetServer, type StackConfig } from '../../src/index.js';
import { SO_KEEPALIVE, TCP_NODELAY } from '../../src/socket/api.js';

interface Pair {
  a: Stack;
  b: Stack;
  la: MemoryLink;
  lb: MemoryLink;
}

/** Two stacks running in real time: a = 10.0.0.1 (client side), b = 10.0.0.2 (server side). */
async function withPair(fn: (p: Pair) => Promise<void>, ca: StackConfig = {}, cb: StackConfig = {}): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 1, ...ca });
  const b = new Stack({ seed: 2, ...cb });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  try {
    await fn({ a, b, la, lb });
  } finally {
    a.stop();
    b.stop();
  }
}

interface Watched {
  /** Resolves with 'close''s hadError. */
  closed: Promise<boolean>;
  /** Resolves with the first 'error' (never rejects; also marks errors handled). */
  errored: Promise<NetError>;
}
const watched = new WeakMap<object, Watched>();

/**
 * Listen for 'close' and 'error' from the start: a socket emits 'end'/'error'
 * and 'close' in consecutive ticks, before an `await` continuation could
 * attach a listener.
 */
function watch<T extends NetSocket | NetServer>(s: T): T {
  if (!watched.has(s)) {
    watched.set(s, {
      closed: new Promise<boolean>((resolve) => s.once('close', (hadError?: boolean) => resolve(hadError === true))),
      errored: new Promise<NetError>((resolve) => s.once('error', resolve)),
    });
  }
  return s;
}

function closed(s: NetSocket | NetServer): Promise<boolean> {
  const w = watched.get(s);
  if (w === undefined) throw new Error('watch() the socket when it is created');
  return w.closed;
}

function errored(s: NetSocket | NetServer): Promise<NetError> {
  const w = watched.get(s);
  if (w === undefined) throw new Error('watch() the socket when it is created');
  return w.errored;
}

async function listen(server: NetServer, port: number): Promise<void> {
  watch(server);
  server.listen(port);
  await once(server, 'listening');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

/** Resolve when `cond()` holds, polling every few ms (real time). */
async function until(cond: () => boolean, what: string, limitMs = 3000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

/** A self-signed P-256 certificate made with the openssl CLI (fails loudly without it). */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-cert-'));
  try {
    const k = join(dir, 'k.pem');
    const c = join(dir, 'c.pem');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-subj', '/CN=test', '-days', '1', '-keyout', k, '-out', c], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`these TLS tests need the openssl CLI to make a self-signed certificate: ${(e as Error).message}`);
    }
    return { key: readFileSync(k, 'utf8'), cert: readFileSync(c, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('echo round trip: connect/ready, addresses, bytesRead/bytesWritten, readyState', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  let serverSide: NetSocket | null = null;
  const server = b.net.createServer((s) => {
    serverSide = watch(s);
    s.pipe(s);
  });
  await listen(server, 7);
  // No host: '::' as Node (dual stack); IPv4 peers appear as ::ffff:a.b.c.d, family 'IPv6'.
  assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 7 });
  assert.equal(server.listening, true);

  const events: string[] = [];
  const c = watch(a.net.connect(7, '10.0.0.2', () => events.push('connect-cb')));
  assert.equal(c.connecting, true);
  assert.equal(c.pending, true);
  assert.equal(c.readyState, 'opening');
  c.on('connect', () => events.push('connect'));
  c.on('ready', () => events.push('ready'));
  await once(c, 'ready');
  assert.deepEqual(events, ['connect-cb', 'connect', 'ready']);
  assert.equal(c.connecting, false);
  assert.equal(c.pending, false);
  assert.equal(c.readyState, 'open');
  assert.equal(c.remoteAddress, '10.0.0.2');
  assert.equal(c.remotePort, 7);
  assert.equal(c.remoteFamily, 'IPv4');
  assert.equal(c.localAddress, '10.0.0.1');
  assert.ok(c.localPort !== undefined && c.localPort >= 49152, `ephemeral local port, got ${c.localPort}`);
  assert.deepEqual(c.address(), { address: '10.0.0.1', family: 'IPv4', port: c.localPort });

  const payload = Buffer.from('hello over wirestack '.repeat(100));
  const got = readAll(c);
  c.write(payload.subarray(0, 1000));
  c.end(payload.subarray(1000));
  const echoed = await got;
  assert.ok(echoed.equals(payload), 'echo is byte-exact');
  const hadError = await closed(c);
  assert.equal(hadError, false);
  assert.equal(c.bytesWritten, payload.length);
  assert.equal(c.bytesRead, payload.length);
  assert.equal(c.readyState, 'closed');

  assert.ok(serverSide !== null);
  const s = serverSide as NetSocket;
  assert.equal(s.remoteAddress, '::ffff:10.0.0.1');
  assert.equal(s.remoteFamily, 'IPv6');
  assert.equal(s.remotePort, c.localPort);
  assert.equal(s.localAddress, '::ffff:10.0.0.2');
  assert.equal(s.localPort, 7);
  assert.equal(s.server, server);
  if (!s.destroyed) await closed(s);
  assert.equal(s.bytesRead, payload.length);
  assert.equal(s.bytesWritten, payload.length);

  server.close();
  await closed(server);
}));

test('4 MiB through stream.pipeline() to a slow consumer: byte-exact, backpressure end to end', { timeout: 30000 }, () => withPair(async ({ a, b }) => {
  const TOTAL = 4 * 1024 * 1024;
  const CHUNK = 16384;
  let received = 0;
  let maxServerReadable = 0;
  const recvHash = createHash('sha256');
  let serverDone: Promise<void> = Promise.resolve();
  const server = b.net.createServer((s) => {
    // A consumer that takes 1 ms per chunk: much slower than the cable.
    const slow = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (s.readableLength > maxServerReadable) maxServerReadable = s.readableLength;
        setTimeout(() => cb(null, chunk), 1);
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        recvHash.update(chunk);
        received += chunk.length;
        cb();
      },
    });
    serverDone = pipeline(s, slow, sink);
  });
  await listen(server, 80);

  const c = watch(a.net.connect({ port: 80, host: '10.0.0.2' }));
  let falseWrites = 0;
  let maxWritable = 0;
  let maxSendQueue = 0;
  const write = c.write;
  c.write = function (this: NetSocket, ...args: Parameters<typeof write>): boolean {
    const r = write.apply(this, args);
    if (!r) falseWrites++;
    if (this.writableLength > maxWritable) maxWritable = this.writableLength;
    return r;
  } as typeof write;
  const sampler = setInterval(() => {
    const info = c.tcpInfo();
    if (info !== null && info.sendQueue > maxSendQueue) maxSendQueue = info.sendQueue;
    if (c.writableLength > maxWritable) maxWritable = c.writableLength;
  }, 1);
  const sendHash = createHash('sha256');
  let produced = 0;
  const source = new Readable({
    read() {
      if (produced >= TOTAL) {
        this.push(null);
        return;
      }
      const chunk = Buffer.allocUnsafe(CHUNK);
      for (let i = 0; i < CHUNK; i++) chunk[i] = ((produced + i) * 2654435761 >>> 13) & 0xff;
      produced += CHUNK;
      sendHash.update(chunk);
      this.push(chunk);
    },
  });
  try {
    await pipeline(source, c);
    await serverDone;
  } finally {
    clearInterval(sampler);
  }
  assert.equal(received, TOTAL);
  assert.equal(recvHash.digest('hex'), sendHash.digest('hex'), 'byte-exact');
  assert.equal(c.bytesWritten, TOTAL);
  assert.ok(falseWrites > 0, 'the sender saw write() return false');
  assert.ok(maxWritable <= 256 * 1024, `writableLength stayed bounded (max ${maxWritable})`);
  assert.ok(maxSendQueue > 32 * 1024, `the TCP send buffer filled up (max ${maxSendQueue}): the window closed`);
  assert.ok(maxServerReadable <= 256 * 1024, `the receiver buffered little (max ${maxServerReadable})`);
  if (!c.destroyed) await closed(c);
  server.close();
  await closed(server);
}));

test('half-close with allowHalfOpen: the server answers after the client ended its side', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  let serverState = '';
  const server = b.net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      serverState = s.readyState;
      // Our side is still open: reply after the client's FIN.
      setTimeout(() => {
        s.write(`got ${Buffer.concat(parts).toString()}`);
        s.end(' (bye)');
      }, 20);
    });
  });
  await listen(server, 8000);
  const c = watch(a.net.connect({ port: 8000, host: '10.0.0.2', allowHalfOpen: true }));
  await once(c, 'connect');
  const reply = readAll(c);
  c.end('question');
  await once(c, 'finish');
  assert.equal(c.readyState, 'readOnly');
  assert.equal((await reply).toString(), 'got question (bye)');
  assert.equal(serverState, 'writeOnly');
  const hadError = await closed(c);
  assert.equal(hadError, false);
  server.close();
  await closed(server);
}));

test('without allowHalfOpen a socket ends its side after the peer\'s FIN', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const server = b.net.createServer((s) => {
    s.resume(); // never calls end(): the Duplex does after 'end'
  });
  await listen(server, 8001);
  const c = watch(a.net.connect(8001, '10.0.0.2'));
  await once(c, 'connect');
  const ended = readAll(c);
  c.end('x');
  assert.equal((await ended).length, 0);
  await closed(c);
  server.close();
  await closed(server);
}));

test('ECONNREFUSED on a closed port: error, then close(hadError = true)', { timeout: 10000 }, () => withPair(async ({ a }) => {
  const c = watch(a.net.connect(9, '10.0.0.2'));
  const order: string[] = [];
  let err: NetError | null = null;
  c.on('error', (e: NetError) => {
    err = e;
    order.push('error');
  });
  const hadError = await closed(c);
  order.push('close');
  assert.equal(hadError, true);
  assert.deepEqual(order, ['error', 'close']);
  assert.ok(err !== null);
  const e = err as NetError;
  assert.equal(e.code, 'ECONNREFUSED');
  assert.equal(e.errno, -111);
  assert.equal(e.syscall, 'connect');
  assert.equal(e.address, '10.0.0.2');
  assert.equal(e.port, 9);
  assert.match(e.message, /connect ECONNREFUSED 10\.0\.0\.2:9/);
  assert.equal(c.destroyed, true);
}));

test('connect errors: EHOSTUNREACH (no such neighbour), ENETUNREACH, ENOTFOUND for names, bad port throws', { timeout: 10000 }, () => withPair(async ({ a }) => {
  const t = watch(a.net.connect(80, '10.0.0.99'));
  const te = await errored(t);
  assert.equal(te.code, 'EHOSTUNREACH');
  assert.equal(te.syscall, 'connect');

  const u = watch(a.net.connect(80, '192.0.2.1'));
  const ue = await errored(u);
  assert.equal(ue.code, 'ENETUNREACH');
  assert.equal(ue.syscall, 'connect');

  const n = watch(a.net.connect(80, 'example.invalid'));
  const ne = await errored(n);
  assert.equal(ne.code, 'ENOTFOUND');
  assert.equal(ne.syscall, 'getaddrinfo');
  assert.equal(ne.hostname, 'example.invalid');
  const closedWithError = await closed(n);
  assert.equal(closedWithError, true);

  assert.throws(() => a.net.connect(70000, '10.0.0.2'), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.equal(a.net.isIP('10.1.2.3'), 4);
  assert.equal(a.net.isIP('::1'), 6);
  assert.equal(a.net.isIP('example.com'), 0);
  assert.equal(a.net.isIPv4('1.2.3.04'), false);
}, { tcpSynRetries: 1, tcpInitialRtoMs: 50, arpMaxRequests: 1, arpRetryMs: 50 }));

test('ECONNRESET when the peer destroys with unread data, or calls resetAndDestroy()', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const accepted: NetSocket[] = [];
  const server = b.net.createServer({ pauseOnConnect: true }, (s) => { accepted.push(s); });
  await listen(server, 9000);

  // 1. Unread data in the TCP receive buffer (the server never reads).
  const c1 = watch(a.net.connect(9000, '10.0.0.2'));
  await once(c1, 'connect');
  c1.write('data the server will never read');
  await until(() => accepted.length === 1 && (accepted[0].tcpInfo()?.receiveQueue ?? 0) > 0, 'data at the server');
  accepted[0].destroy();
  const e1 = await errored(c1);
  assert.equal(e1.code, 'ECONNRESET');
  assert.equal(e1.syscall, 'read');
  const h1 = await closed(c1);
  assert.equal(h1, true);

  // 2. resetAndDestroy() with nothing unread.
  const c2 = watch(a.net.connect(9000, '10.0.0.2'));
  await once(c2, 'connect');
  await until(() => accepted.length === 2, 'second connection');
  accepted[1].resetAndDestroy();
  const e2 = await errored(c2);
  assert.equal(e2.code, 'ECONNRESET');

  // 3. destroy(err) by the application: the peer is reset too, not handed a clean end-of-stream.
  const c3 = watch(a.net.connect(9000, '10.0.0.2'));
  await once(c3, 'connect');
  await until(() => accepted.length === 3, 'third connection');
  const appErr = new Error('application failure');
  const serverErr = once(accepted[2], 'error');
  accepted[2].destroy(appErr);
  assert.equal((await serverErr)[0], appErr);
  const e3 = await errored(c3);
  assert.equal(e3.code, 'ECONNRESET');

  // 4. A plain destroy() with nothing unread is a graceful close: the peer sees 'end'.
  const c4 = watch(a.net.connect(9000, '10.0.0.2'));
  await once(c4, 'connect');
  await until(() => accepted.length === 4, 'fourth connection');
  const end4 = readAll(c4);
  accepted[3].destroy();
  assert.equal((await end4).length, 0);
  const h4 = await closed(c4);
  assert.equal(h4, false);

  server.close();
  await closed(server);
}));

test('data buffered in the stream but never consumed also resets on destroy()', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  let accepted: NetSocket | null = null;
  const server = b.net.createServer((s) => { accepted = s; }); // reads ahead into its buffer, nobody consumes
  await listen(server, 9001);
  const c = watch(a.net.connect(9001, '10.0.0.2'));
  await once(c, 'connect');
  c.write('unconsumed');
  await until(() => accepted !== null && (accepted as NetSocket).readableLength > 0, 'read-ahead at the server');
  (accepted as unknown as NetSocket).destroy();
  const e = await errored(c);
  assert.equal(e.code, 'ECONNRESET');
  server.close();
  await closed(server);
}));

test('server: EADDRINUSE, getConnections, maxConnections, close() waits for connections', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const conns: NetSocket[] = [];
  const server = b.net.createServer((s) => {
    conns.push(s);
    s.resume();
  });
  await listen(server, 80);

  const dup = watch(b.net.createServer());
  dup.listen(80, '10.0.0.2');
  const inUse = await errored(dup);
  assert.equal(inUse.code, 'EADDRINUSE');
  assert.equal(inUse.syscall, 'listen');
  assert.equal(inUse.port, 80);
  assert.equal(dup.listening, false);

  const c1 = watch(a.net.connect(80, '10.0.0.2'));
  await once(c1, 'connect');
  await until(() => conns.length === 1, 'accept');
  const count = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => err ? reject(err) : resolve(n)));
  assert.equal(count, 1);

  server.maxConnections = 1;
  const dropped = once(server, 'drop');
  const c2 = watch(a.net.connect(80, '10.0.0.2'));
  c2.on('error', () => undefined);
  c2.resume();
  const [info] = await dropped as [{ remoteAddress: string; localPort: number }];
  assert.equal(info.remoteAddress, '::ffff:10.0.0.1');
  assert.equal(info.localPort, 80);
  await closed(c2);
  server.maxConnections = undefined;

  let closeDone = false;
  const closeCb = new Promise<Error | undefined>((resolve) => server.close((err) => {
    closeDone = true;
    resolve(err);
  }));
  assert.equal(server.listening, false);
  assert.equal(server.address(), null);
  // No new connections...
  const c3 = watch(a.net.connect(80, '10.0.0.2'));
  const refused = await errored(c3);
  assert.equal(refused.code, 'ECONNREFUSED');
  // ...but the open one lives on, and close waits for it.
  await sleep(50);
  assert.equal(closeDone, false, 'close() waits for open connections');
  c1.write('still works');
  await until(() => conns[0].bytesRead === 11, 'data on the old connection');
  c1.end();
  assert.equal(await closeCb, undefined);
  assert.equal(closeDone, true);

  const notRunning = await new Promise<Error | undefined>((resolve) => server.close(resolve));
  assert.equal((notRunning as Error & { code: string }).code, 'ERR_SERVER_NOT_RUNNING');
}));

test('noDelay defaults as Node\'s net: Nagle on for connect() and accepted sockets; the Socket option noDelay turns it off', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const accepted: NetSocket[] = [];
  const server = b.net.createServer((s) => { accepted.push(s); s.resume(); });
  await listen(server, 80);
  const c = watch(a.net.connect(80, '10.0.0.2'));
  await once(c, 'connect');
  const c2 = watch(new NetSocket(a.net, { noDelay: true }).connect(80, '10.0.0.2'));
  await once(c2, 'connect');
  for (let i = 0; i < 100 && accepted.length < 2; i++) await sleep(10);
  assert.equal(accepted.length, 2);
  assert.equal(a.sockets.getsockopt(c.descriptor, TCP_NODELAY), 0, 'net.connect(): Nagle on');
  assert.equal(b.sockets.getsockopt(accepted[0].descriptor, TCP_NODELAY), 0, 'createServer(): Nagle on');
  assert.equal(a.sockets.getsockopt(c2.descriptor, TCP_NODELAY), 1, 'new Socket({ noDelay: true })');
  c.destroy();
  c2.destroy();
  for (const s of accepted) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}));

test('setNoDelay, setKeepAlive (a dead peer times out), setTimeout (real time)', { timeout: 10000 }, () => withPair(async ({ a, b, la }) => {
  const server = b.net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 500 }, (s) => {
    assert.equal(b.sockets.getsockopt(s.descriptor, TCP_NODELAY), 1);
    assert.equal(b.sockets.getsockopt(s.descriptor, SO_KEEPALIVE), 1);
    s.resume();
    s.on('error', () => undefined);
  });
  await listen(server, 80);
  const c = watch(a.net.connect({ port: 80, host: '10.0.0.2', noDelay: true }));
  await once(c, 'connect');
  assert.equal(a.sockets.getsockopt(c.descriptor, TCP_NODELAY), 1);
  c.setNoDelay(false);
  assert.equal(a.sockets.getsockopt(c.descriptor, TCP_NODELAY), 0);
  c.setNoDelay();
  assert.equal(a.sockets.getsockopt(c.descriptor, TCP_NODELAY), 1);

  // Idle timeout: 'timeout' after inactivity, activity restarts it, the socket stays open.
  const t0 = Date.now();
  let fired = 0;
  c.setTimeout(150, () => { fired++; });
  assert.equal(c.timeout, 150);
  await sleep(80);
  c.write('activity');
  await once(c, 'timeout');
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 200, `activity restarted the idle timer (fired after ${elapsed} ms)`);
  assert.equal(fired, 1);
  assert.equal(c.destroyed, false);
  c.setTimeout(0);
  assert.equal(c.timeout, undefined);

  // Keepalive: probes go unanswered once the cable drops everything; the connection times out.
  c.setKeepAlive(true, 100);
  assert.equal(a.sockets.getsockopt(c.descriptor, SO_KEEPALIVE), 1);
  la.setFaults({ loss: 1 });
  const e = await errored(c);
  assert.equal(e.code, 'ETIMEDOUT');
  assert.equal(e.syscall, 'read');
  la.setFaults({ loss: 0 });
  server.close();
  for (const s of [c]) if (!s.destroyed) s.destroy();
}, { tcpKeepIntervalMs: 50, tcpKeepCount: 2 }));

class StackAgent extends http.Agent {
  connections = 0;
  constructor(private readonly stack: Stack) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    this.connections++;
    return this.stack.net.connect(Number(options.port), String(options.host));
  }
}

function get(agent: http.Agent, path: string, body?: string): Promise<{ status: number; text: string; port: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '10.0.0.2', port: 80, path, agent, method: body === undefined ? 'GET' : 'POST' }, (res) => {
      const port = (res.socket as unknown as NetSocket).localPort ?? 0;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, text: Buffer.concat(parts).toString(), port,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('http.request over our sockets to http.createServer() fed from our listener, with keep-alive', { timeout: 15000 }, () => withPair(async ({ a, b }) => {
  const httpServer = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress} body=${Buffer.concat(parts).toString()}`);
    });
  });
  let accepted = 0;
  const server = b.net.createServer((s) => {
    accepted++;
    httpServer.emit('connection', s);
  });
  await listen(server, 80);
  const agent = new StackAgent(a);
  try {
    const r1 = await get(agent, '/first');
    assert.equal(r1.status, 200);
    assert.equal(r1.text, 'GET /first from ::ffff:10.0.0.1 body=');
    const r2 = await get(agent, '/second', 'payload');
    assert.equal(r2.text, 'POST /second from ::ffff:10.0.0.1 body=payload');
    assert.equal(r1.port, r2.port, 'both requests went over one connection');
    assert.equal(agent.connections, 1);
    assert.equal(accepted, 1);
  } finally {
    agent.destroy();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  httpServer.close();
}));

test('TLS: tls.connect({ socket }) to a tls.TLSSocket server over our sockets', { timeout: 15000 }, () => withPair(async ({ a, b }) => {
  const { key, cert } = selfSigned();
  const server = b.net.createServer((raw) => {
    const t = new tls.TLSSocket(raw, { isServer: true, key, cert });
    t.on('data', (d: Buffer) => t.write(`tls-echo:${d.toString()}`));
    t.on('end', () => t.end());
    t.on('error', () => undefined);
  });
  await listen(server, 443);
  const raw = watch(a.net.connect(443, '10.0.0.2'));
  const t = tls.connect({ socket: raw, rejectUnauthorized: false });
  await once(t, 'secureConnect');
  assert.ok(t.encrypted);
  assert.equal(t.getPeerCertificate().subject?.CN, 'test');
  t.write('secret');
  const [d] = await once(t, 'data') as [Buffer];
  assert.equal(d.toString(), 'tls-echo:secret');
  t.end();
  await closed(raw);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}));

test('undici Client with a custom connect() returning our socket', { timeout: 15000 }, () => withPair(async ({ a, b }) => {
  const httpServer = http.createServer((req, res) => res.end(`undici ${req.method} ${req.url}`));
  const server = b.net.createServer((s) => httpServer.emit('connection', s));
  await listen(server, 80);
  let opened = 0;
  const client = new Client('http://10.0.0.2:80', {
    connect(opts, callback) {
      opened++;
      const s = a.net.connect(Number(opts.port) || 80, opts.hostname);
      const onError = (e: Error): void => callback(e, null);
      s.once('error', onError);
      s.once('connect', () => {
        s.removeListener('error', onError);
        callback(null, s as unknown as NodeSocket);
      });
    },
  });
  try {
    for (const path of ['/a', '/b', '/c']) {
      const { statusCode, body } = await client.request({ path, method: 'GET' });
      assert.equal(statusCode, 200);
      assert.equal(await body.text(), `undici GET ${path}`);
    }
    assert.equal(opened, 1, 'undici kept the connection alive');
  } finally {
    await client.close();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  httpServer.close();
}));

test('ws: WebSocket client and server exchange messages over our sockets', { timeout: 15000 }, () => withPair(async ({ a, b }) => {
  const wss = new WebSocketServer({ noServer: true });
  const httpServer = http.createServer((_req, res) => res.end('not a websocket'));
  httpServer.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo:${m.toString()}`, { binary: isBinary }));
    });
  });
  const server = b.net.createServer((s) => httpServer.emit('connection', s));
  await listen(server, 80);
  const ws = new WebSocket('ws://10.0.0.2/chat', {
    createConnection: (() => a.net.connect(80, '10.0.0.2')) as unknown as typeof import('node:net').createConnection,
  });
  await once(ws, 'open');
  const replies: string[] = [];
  const gotAll = new Promise<void>((resolve) => {
    ws.on('message', (m, isBinary) => {
      replies.push(isBinary ? `binary:${(m as Buffer).length}` : m.toString());
      if (replies.length === 3) resolve();
    });
  });
  ws.send('one');
  ws.send('two');
  ws.send(Buffer.alloc(100000, 7));
  await gotAll;
  assert.deepEqual(replies, ['echo:one', 'echo:two', 'binary:100000']);
  ws.close(1000, 'done');
  const [code] = await once(ws, 'close') as [number];
  assert.equal(code, 1000);
  wss.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  httpServer.close();
}));

test('a new NetSocket(stack.net) connects like net.Socket().connect()', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const server = b.net.createServer((s) => s.end('hi'));
  await listen(server, 81);
  const s = watch(new NetSocket(a.net));
  assert.equal(s.pending, true);
  s.connect({ port: 81, host: '10.0.0.2' });
  assert.equal((await readAll(s)).toString(), 'hi');
  await closed(s);
  s.destroySoon();
  server.close();
  await closed(server);
}));

test('destroy() while a write waits for send space: the write callback fails, no \'error\', close(false)', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const accepted: NetSocket[] = [];
  const server = b.net.createServer({ pauseOnConnect: true }, (s) => { accepted.push(watch(s)); });
  await listen(server, 82);
  const c = watch(a.net.connect(82, '10.0.0.2'));
  await once(c, 'connect');
  const big = Buffer.alloc(1024 * 1024, 1);
  let writeErr: Error | null | undefined;
  const ok = c.write(big, (e) => { writeErr = e; });
  assert.equal(ok, false);
  // The peer does not read: its window closes and our send buffer fills. Stalled = more than the
  // send buffer taken and no progress over three samples in a row (a single 20 ms sample called a
  // busy machine's scheduling gap a stall); bounded at 400 samples.
  let last = -1;
  for (let i = 0, still = 0; i < 400 && still < 3; i++) {
    still = c.bytesWritten === last && last > 64 * 1024 ? still + 1 : 0;
    last = c.bytesWritten;
    await sleep(20);
  }
  // What was taken fits the two buffers (64 KiB send + 64 KiB receive by default) and never grows past
  // them: the rest of the 1 MiB waits.
  assert.ok(last > 64 * 1024 && last <= 2 * 65536, `bytes queued ${last}`);
  await sleep(100);
  assert.ok(c.bytesWritten <= 2 * 65536, `the write stalled (bytes queued ${c.bytesWritten})`);
  assert.ok(c.writableLength > 0);
  let sawError = false;
  c.on('error', () => { sawError = true; });
  c.destroy();
  assert.equal(await closed(c), false);
  assert.ok(writeErr instanceof Error, 'the pending write was failed');
  assert.equal(sawError, false);
  accepted[0].destroy();
  server.close();
  await closed(server);
}));

test('listen() forms: options object with an ephemeral port and a host, port + host + backlog + callback; ref/unref', { timeout: 10000 }, () => withPair(async ({ a, b }) => {
  const s1 = watch(b.net.createServer((s) => s.end('one')));
  await new Promise<void>((resolve) => { s1.listen({ port: 0, host: '10.0.0.2' }, resolve); });
  const addr = s1.address();
  assert.ok(addr !== null && addr.address === '10.0.0.2' && addr.port >= 49152, JSON.stringify(addr));
  assert.equal(s1.ref(), s1);
  assert.equal(s1.unref(), s1);
  const s2 = watch(b.net.createServer((s) => s.end('two')));
  await new Promise<void>((resolve) => { s2.listen(8123, '0.0.0.0', 5, resolve); });
  assert.equal(s2.address()?.port, 8123);
  const c1 = watch(a.net.connect({ port: addr.port, host: '10.0.0.2', localPort: 40000 }));
  assert.equal((await readAll(c1)).toString(), 'one');
  assert.equal(c1.localPort, 40000, 'localPort option honoured');
  const c2 = watch(a.net.createConnection('8123', '10.0.0.2'));
  assert.equal(c2.ref(), c2);
  assert.equal((await readAll(c2)).toString(), 'two');
  await Promise.all([closed(c1), closed(c2)]);
  s1.close();
  s2.close();
  await Promise.all([closed(s1), closed(s2)]);
}));
