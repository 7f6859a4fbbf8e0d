/**
 * The SOCKS5 server: listening on the host's loopback, dialing into stack A,
 * whose peer stack B runs the servers (HTTP, TCP and UDP echo); all in real
 * time on a MemoryLink cable. Clients are curl and a hand-written SOCKS5
 * client on node:net.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { MemoryLink, Stack } from '../../src/index.js';
import { createSocks5Server, socksReplyFor, type Socks5Event, type Socks5Options, type Socks5Server } from '../../src/apps/socks5.js';
import { connectHost, sleep, until, withStacks, type Reader } from '../helpers/socks.js';

const B = '10.0.0.2';

/** An HTTP server on B:80, TCP echo on B:7, UDP echo on B:7. */
function servers(b: Stack): () => void {
  const web = b.http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from B: ${req.method} ${req.url} from ${req.socket.remoteAddress}`);
  });
  web.listen(80);
  const echo = b.net.createServer((s) => s.pipe(s));
  echo.listen(7);
  const u = b.dgram.createSocket('udp4');
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  u.bind(7);
  return () => {
    web.close();
    echo.close();
    u.close();
  };
}

/** A resolver for stack A: the only names it knows are test names. */
function testResolver(a: Stack, names: Record<string, string>): string[] {
  const asked: string[] = [];
  a.net.resolver = async (h) => {
    asked.push(h);
    const v = names[h];
    if (v === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    return v;
  };
  return asked;
}

async function withSocks(
  fn: (a: Stack, b: Stack, s: Socks5Server, events: Socks5Event[]) => Promise<void>,
  options: Partial<Socks5Options> = {},
): Promise<void> {
  await withStacks(async (a, b) => {
    const stop = servers(b);
    const events: Socks5Event[] = [];
    const s = await createSocks5Server(a, { host: '127.0.0.1', port: 0, log: (e) => events.push(e), ...options });
    try {
      await fn(a, b, s, events);
    } finally {
      await s.close();
      stop();
    }
  }, { arpRetryMs: 100, arpMaxRequests: 2 });
}

type Target = { ipv4: string } | { domain: string } | { ipv6: Buffer } | { atyp: number; raw: Buffer };

function request(cmd: number, target: Target, port: number): Buffer {
  let addr: Buffer;
  if ('ipv4' in target) addr = Buffer.from([1, ...target.ipv4.split('.').map(Number)]);
  else if ('domain' in target) addr = Buffer.concat([Buffer.from([3, target.domain.length]), Buffer.from(target.domain)]);
  else if ('ipv6' in target) addr = Buffer.concat([Buffer.from([4]), target.ipv6]);
  else addr = Buffer.concat([Buffer.from([target.atyp]), target.raw]);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([5, cmd, 0]), addr, p]);
}

interface Reply {
  rep: number;
  address: string;
  port: number;
}

/** Read a reply with an IPv4 (or IPv6) bound address. */
async function readReply(r: Reader): Promise<Reply> {
  const head = await r.read(4);
  assert.equal(head[0], 5, 'reply version');
  assert.equal(head[2], 0, 'reserved byte');
  if (head[3] === 1) {
    const a = await r.read(6);
    return { rep: head[1], address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port: a.readUInt16BE(4) };
  }
  assert.equal(head[3], 4, 'bound address type');
  const a = await r.read(18);
  const words = Array.from({ length: 8 }, (_, i) => a.readUInt16BE(2 * i).toString(16)).join(':');
  // Compressed enough for the tests' addresses (one run of zero words, RFC 5952).
  return { rep: head[1], address: words.replace(/(^|:)0(:0)+(:|$)/, '::'), port: a.readUInt16BE(16) };
}

/** Greeting (no auth) + request; returns the reply and the open reader. */
async function socks(
  s: Socks5Server, cmd: number, target: Target, port: number, extra?: Buffer, allowHalfOpen = false,
): Promise<{ r: Reader; reply: Reply }> {
  const r = await connectHost(s.address().port, allowHalfOpen);
  r.sock.write(Buffer.from([5, 1, 0]));
  assert.deepEqual([...await r.read(2)], [5, 0]);
  r.sock.write(extra === undefined ? request(cmd, target, port) : Buffer.concat([request(cmd, target, port), extra]));
  return { r, reply: await readReply(r) };
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // No proxy variables from the environment: only the SOCKS server given here.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    execFile('curl', ['-sS', '--max-time', '10', ...args], { env, timeout: 15000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`curl failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

test('curl --socks5-hostname fetches from an HTTP server in the stack, by address and by a name the stack resolves', { timeout: 30000 }, () => withSocks(async (a, _b, s, events) => {
  const asked = testResolver(a, { 'web.wirestack.test': B });
  const port = s.address().port;
  const byAddress = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://${B}/x`]);
  assert.equal(byAddress, 'hello from B: GET /x from ::ffff:10.0.0.1');
  const byName = await curl(['--socks5-hostname', `127.0.0.1:${port}`, 'http://web.wirestack.test/y?z=1']);
  assert.equal(byName, 'hello from B: GET /y?z=1 from ::ffff:10.0.0.1');
  assert.deepEqual(asked, ['web.wirestack.test'], 'the name went to the stack resolver');
  // curl without -hostname resolves itself: the host's resolver cannot know the name, so nothing reaches us.
  await assert.rejects(curl(['--socks5', `127.0.0.1:${port}`, 'http://web.wirestack.test/']));
  assert.equal(s.stats.connects, 2);
  assert.equal(s.stats.connectFailures, 0);
  assert.equal(events.filter((e) => e.type === 'connect').length, 2);
  await until(() => events.filter((e) => e.type === 'close').length === 2, 5000, 'both sessions closing');
  const closes = events.filter((e) => e.type === 'close');
  for (const c of closes) assert.ok(c.type === 'close' && c.up > 0 && c.down > 0 && c.error === null);
}));

test('CONNECT to an IPv4 address: reply with the stack-side bound address, data sent with the request is relayed', { timeout: 15000 }, () => withSocks(async (_a, _b, s) => {
  const { r, reply } = await socks(s, 1, { ipv4: B }, 7, Buffer.from('early '));
  assert.equal(reply.rep, 0);
  assert.equal(reply.address, '10.0.0.1');
  assert.ok(reply.port > 0);
  r.sock.write('bird');
  assert.equal((await r.read(10)).toString(), 'early bird');
  r.sock.end();
  assert.equal((await r.readToEnd()).length, 0);
  await r.closed;
  await until(() => s.stats.active === 0, 5000, 'the session to close');
  assert.equal(s.stats.bytesUp, 10);
  assert.equal(s.stats.bytesDown, 10);
}));

test('CONNECT to a domain name goes through the stack resolver; an unknown name is reply 0x04', { timeout: 15000 }, () => withSocks(async (a, _b, s, events) => {
  const asked = testResolver(a, { 'echo.wirestack.test': B });
  const ok = await socks(s, 1, { domain: 'echo.wirestack.test' }, 7);
  assert.equal(ok.reply.rep, 0);
  ok.r.sock.write('via name');
  assert.equal((await ok.r.read(8)).toString(), 'via name');
  ok.r.sock.destroy();

  const bad = await socks(s, 1, { domain: 'nowhere.wirestack.test' }, 7);
  assert.equal(bad.reply.rep, 4);
  await bad.r.closed;
  assert.deepEqual(asked, ['echo.wirestack.test', 'nowhere.wirestack.test']);
  const failed = events.find((e) => e.type === 'connect-failed');
  assert.ok(failed !== undefined && failed.type === 'connect-failed');
  assert.equal(failed.code, 'ENOTFOUND');
  assert.equal(failed.target, 'nowhere.wirestack.test:7');
}));

test('reply codes: refused 0x05, no route 0x03 (IPv4 and IPv6), no neighbour 0x04, BIND 0x07, unknown address type 0x08', { timeout: 20000 }, () => withSocks(async (_a, _b, s) => {
  const cases: Array<[Target, number, number, number]> = [
    [{ ipv4: B }, 81, 1, 0x05],
    [{ ipv4: '192.0.2.1' }, 80, 1, 0x03],
    [{ ipv4: '10.0.0.99' }, 80, 1, 0x04],
    // IPv6 is connected like IPv4 now: these stacks have no IPv6 route, so "network unreachable".
    [{ ipv6: Buffer.from('20010db8000000000000000000000001', 'hex') }, 80, 1, 0x03],
    [{ ipv4: B }, 80, 2, 0x07],
    [{ ipv4: B }, 80, 9, 0x07],
  ];
  for (const [target, port, cmd, want] of cases) {
    const { r, reply } = await socks(s, cmd, target, port);
    assert.equal(reply.rep, want, `${JSON.stringify(target)}:${port} cmd ${cmd}`);
    assert.equal(reply.address, '0.0.0.0');
    await r.closed;
  }
  // An unknown address type cannot be parsed further: reply 0x08 and close.
  const r = await connectHost(s.address().port);
  r.sock.write(Buffer.from([5, 1, 0]));
  await r.read(2);
  r.sock.write(Buffer.from([5, 1, 0, 9, 1, 2, 3, 4, 0, 80]));
  assert.equal((await readReply(r)).rep, 0x08);
  await r.closed;
  assert.equal(s.stats.connectFailures, 4);
  assert.equal(s.stats.unsupportedAddressType, 0);
  assert.equal(s.stats.unsupportedCommand, 2);
  assert.equal(s.stats.malformed, 1);
  assert.equal(s.stats.connects, 0);
}));

test('socksReplyFor maps connect errors to REP codes', () => {
  const rep = (code: string): number => socksReplyFor(Object.assign(new Error(code), { code }));
  assert.equal(rep('ECONNREFUSED'), 0x05);
  assert.equal(rep('ENETUNREACH'), 0x03);
  assert.equal(rep('EHOSTUNREACH'), 0x04);
  assert.equal(rep('ENOTFOUND'), 0x04);
  assert.equal(rep('ETIMEDOUT'), 0x06);
  assert.equal(rep('ECONNRESET'), 0x01);
  assert.equal(socksReplyFor('nonsense'), 0x01);
});

test('username/password: no-auth refused, wrong password refused and closed, right one connects', { timeout: 15000 }, () => withSocks(async (_a, _b, s) => {
  const port = s.address().port;
  const noAuth = await connectHost(port);
  noAuth.sock.write(Buffer.from([5, 1, 0]));
  assert.deepEqual([...await noAuth.read(2)], [5, 0xff]);
  await noAuth.closed;

  const auth = (user: string, pass: string): Buffer => Buffer.concat([
    Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([pass.length]), Buffer.from(pass)]);
  const wrong = await connectHost(port);
  wrong.sock.write(Buffer.from([5, 2, 0, 2]));
  assert.deepEqual([...await wrong.read(2)], [5, 2]);
  wrong.sock.write(auth('alice', 'guess'));
  assert.deepEqual([...await wrong.read(2)], [1, 1]);
  await wrong.closed;

  const right = await connectHost(port);
  // Greeting, credentials and request in one write: the parser takes them in turn.
  right.sock.write(Buffer.concat([Buffer.from([5, 1, 2]), auth('alice', 's3cret'), request(1, { ipv4: B }, 7)]));
  assert.deepEqual([...await right.read(2)], [5, 2]);
  assert.deepEqual([...await right.read(2)], [1, 0]);
  assert.equal((await readReply(right)).rep, 0);
  right.sock.write('authorized');
  assert.equal((await right.read(10)).toString(), 'authorized');
  right.sock.destroy();
  assert.equal(s.stats.noAcceptableMethod, 1);
  assert.equal(s.stats.authFailures, 1);
  assert.equal(s.stats.connects, 1);
}, { username: 'alice', password: 's3cret' }));

test('bounds: malformed greeting closed, handshake timeout, connection limit', { timeout: 15000 }, () => withSocks(async (_a, _b, s, events) => {
  const port = s.address().port;
  const v4 = await connectHost(port);
  v4.sock.write(Buffer.from([4, 1, 0, 80, 10, 0, 0, 2, 0]));
  await v4.closed;
  assert.equal(v4.buffered, 0, 'no reply to a SOCKS4 greeting');
  const none = await connectHost(port);
  none.sock.write(Buffer.from([5, 0]));
  await none.closed;
  assert.equal(s.stats.malformed, 2);

  const idle = await connectHost(port);
  const idle2 = await connectHost(port);
  await until(() => s.stats.active === 2, 2000, 'two sessions');
  // The limit is 2: a third connection is closed at once.
  const third = await connectHost(port);
  await third.closed;
  assert.equal(s.stats.rejectedLimit, 1);
  const t0 = Date.now();
  await idle.closed;
  await idle2.closed;
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(s.stats.handshakeTimeouts, 2);
  assert.ok(events.some((e) => e.type === 'reject'));
  assert.ok(events.some((e) => e.type === 'handshake-failed' && e.reason === 'handshake timeout'));
}, { handshakeTimeoutMs: 300, maxConnections: 2 }));

/** SOCKS UDP header for an IPv4 or domain destination, then the payload. */
function udpDatagram(target: Target, port: number, payload: Buffer, frag = 0): Buffer {
  const req = request(0, target, port); // VER CMD RSV | ATYP ADDR PORT
  return Buffer.concat([Buffer.from([0, 0, frag]), req.subarray(3), payload]);
}

test('UDP ASSOCIATE: datagrams to an echo server in the stack and back, by address and name; fragments dropped; ends with the control connection', { timeout: 15000 }, () => withSocks(async (a, _b, s, events) => {
  testResolver(a, { 'udp.wirestack.test': B });
  const { r, reply } = await socks(s, 3, { ipv4: '0.0.0.0' }, 0);
  assert.equal(reply.rep, 0);
  assert.equal(reply.address, '127.0.0.1');
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const got: Buffer[] = [];
  client.on('message', (m) => got.push(m));
  try {
    client.send(udpDatagram({ ipv4: B }, 7, Buffer.from('ping 1')), reply.port, '127.0.0.1');
    await until(() => got.length === 1, 3000, 'the first echo');
    assert.deepEqual([...got[0].subarray(0, 10)], [0, 0, 0, 1, 10, 0, 0, 2, 0, 7]);
    assert.equal(got[0].subarray(10).toString(), 'ping 1');

    client.send(udpDatagram({ domain: 'udp.wirestack.test' }, 7, Buffer.from('ping 2')), reply.port, '127.0.0.1');
    await until(() => got.length === 2, 3000, 'the echo by name');
    assert.equal(got[1].subarray(10).toString(), 'ping 2');

    client.send(udpDatagram({ ipv4: B }, 7, Buffer.from('fragment'), 1), reply.port, '127.0.0.1');
    client.send(Buffer.from([0, 0]), reply.port, '127.0.0.1'); // shorter than any header
    await until(() => s.stats.udpFragmentsDropped === 1 && s.stats.udpDropped === 1, 3000, 'the drops to be counted');
    // A big datagram, byte-exact.
    const big = randomBytes(1200);
    client.send(udpDatagram({ ipv4: B }, 7, big), reply.port, '127.0.0.1');
    await until(() => got.length === 3, 3000, 'the big echo');
    assert.ok(got[2].subarray(10).equals(big));
    assert.equal(s.stats.udpUp, 3);
    assert.equal(s.stats.udpDown, 3);
    assert.equal(s.stats.udpAssociations, 1);
    assert.ok(events.some((e) => e.type === 'udp-associate' && e.relay === `127.0.0.1:${reply.port}`));

    // Closing the control connection ends the association: the relay port is gone.
    r.sock.end();
    await r.closed;
    await until(() => s.stats.active === 0, 3000, 'the session to end');
    client.send(udpDatagram({ ipv4: B }, 7, Buffer.from('late')), reply.port, '127.0.0.1');
    await sleep(300);
    assert.equal(got.length, 3);
    assert.equal(s.stats.udpUp, 3);
  } finally {
    client.close();
  }
}));

/** Deterministic pseudo-random bytes (a hash chain), so a mismatch is reproducible. */
function payload(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < n; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

test('byte-exact transfer of 3 MiB each way at once, with half-close in both orders', { timeout: 60000 }, () => withStacks(async (a, b) => {
  const SIZE = 3 * 1024 * 1024;
  const up = payload(SIZE, 'up');
  const down = payload(SIZE, 'down');
  const received: Array<Promise<string>> = [];
  // B sends its payload; it ends its side either right away ('first') or after the client's FIN ('last').
  const srv = b.net.createServer({ allowHalfOpen: true }, (sock) => {
    const hash = createHash('sha256');
    let first: boolean | null = null;
    let taken = 0;
    const done = new Promise<string>((resolve) => sock.on('end', () => resolve(hash.digest('hex'))));
    received.push(done);
    sock.on('data', (d: Buffer) => {
      if (first === null) {
        first = d[0] === 0x46; // 'F': the client asks B to finish first
        sock.write(down);
        if (first) sock.end();
        else void done.then(() => sock.end());
        d = d.subarray(1);
      }
      hash.update(d);
      // A slow reader now and then: backpressure keeps data queued at the SOCKS server when the client's FIN comes.
      const before = taken;
      taken += d.length;
      if (Math.floor(before / 262144) !== Math.floor(taken / 262144)) {
        sock.pause();
        setTimeout(() => sock.resume(), 40);
      }
    });
    sock.on('error', () => { /* reported by the client side */ });
  });
  srv.listen(9000);
  const s = await createSocks5Server(a, { host: '127.0.0.1', port: 0 });
  try {
    const run = async (order: 'F' | 'L'): Promise<void> => {
      // Half-open client: B's FIN must not end what the client still sends.
      const { r, reply } = await socks(s, 1, { ipv4: B }, 9000, undefined, true);
      assert.equal(reply.rep, 0);
      r.sock.write(order);
      r.sock.end(up);
      const back = await r.readToEnd();
      assert.equal(back.length, SIZE, `${order}: all bytes back`);
      assert.ok(back.equals(down), `${order}: byte-exact from B`);
      await r.closed;
    };
    const t0 = Date.now();
    await Promise.all([run('F'), run('L')]);
    const ms = Date.now() - t0;
    const hashes = await Promise.all(received);
    const want = createHash('sha256').update(up).digest('hex');
    assert.deepEqual(hashes, [want, want], 'byte-exact at B');
    assert.equal(s.stats.bytesUp, 2 * (SIZE + 1));
    assert.equal(s.stats.bytesDown, 2 * SIZE);
    console.log(`# 2 x (3 MiB up + 3 MiB down) through SOCKS5 in ${ms} ms`);
  } finally {
    await s.close();
    srv.close();
  }
}));

test('close() ends open sessions', { timeout: 15000 }, () => withStacks(async (a, b) => {
  const echo = b.net.createServer((x) => x.pipe(x));
  echo.listen(7);
  const s = await createSocks5Server(a, { host: '127.0.0.1', port: 0 });
  const { r, reply } = await socks(s, 1, { ipv4: B }, 7);
  assert.equal(reply.rep, 0);
  const pending = await connectHost(s.address().port);
  await until(() => s.stats.active === 2, 2000, 'two sessions');
  await s.close();
  await r.closed;
  await pending.closed;
  assert.equal(s.stats.active, 0);
  echo.close();
}));

test('CONNECT to an IPv6 destination (ATYP 4): HTTP and echo through the proxy, the reply binds an IPv6 address', { timeout: 20000 }, async () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 41 });
  const b = new Stack({ seed: 42 });
  a.addInterface(la, { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(lb, { address: ['10.0.0.2/24', 'fd00::2/64'] });
  a.start();
  b.start();
  // listen() without a host binds '::' as Node does: IPv6 clients reach these too.
  const web = b.http.createServer((req, res) => res.end(`hello from B: ${req.method} ${req.url} from ${req.socket.remoteAddress}`));
  web.listen(80);
  const echo = b.net.createServer((x) => x.pipe(x));
  echo.listen(7);
  const stop = (): void => {
    web.close();
    echo.close();
  };
  const s = await createSocks5Server(a, { host: '127.0.0.1', port: 0 });
  try {
    const fd02 = Buffer.from('fd000000000000000000000000000002', 'hex');
    const { r, reply } = await socks(s, 1, { ipv6: fd02 }, 7);
    assert.equal(reply.rep, 0);
    assert.equal(reply.address, 'fd00::1', 'bound address: the stack\'s IPv6 source');
    r.sock.write('hello over IPv6');
    assert.equal((await r.read(15)).toString(), 'hello over IPv6');
    r.sock.end();
    await r.closed;
    const web = await socks(s, 1, { ipv6: fd02 }, 80);
    assert.equal(web.reply.rep, 0);
    web.r.sock.write('GET /v6 HTTP/1.0\r\nhost: [fd00::2]\r\n\r\n');
    assert.match((await web.r.readToEnd()).toString(), /hello from B: GET \/v6 from fd00::1/);
    assert.equal(s.stats.connects, 2);
    // A stack built without IPv6 answers "address type not supported".
    const [lc, ld] = MemoryLink.pair();
    const c = new Stack({ seed: 43, ipv6: false });
    c.addInterface(lc, { address: '10.0.1.1/24' });
    void ld;
    const s4 = await createSocks5Server(c, { host: '127.0.0.1', port: 0 });
    try {
      const refused = await socks(s4, 1, { ipv6: fd02 }, 80);
      assert.equal(refused.reply.rep, 0x08);
      await refused.r.closed;
      assert.equal(s4.stats.unsupportedAddressType, 1);
    } finally {
      await s4.close();
    }
  } finally {
    await s.close();
    stop();
    a.stop();
    b.stop();
  }
});

test('UDP ASSOCIATE to IPv6 destinations (ATYP 4 and a name resolving to IPv6): byte-exact both ways, replies with ATYP 4 headers; IPv4 in the same association unchanged', { timeout: 20000 }, async () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 51 });
  const b = new Stack({ seed: 52 });
  a.addInterface(la, { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(lb, { address: ['10.0.0.2/24', 'fd00::2/64'] });
  a.start();
  b.start();
  // A dual-stack echo on B: '::' takes IPv4 as ::ffff:10.0.0.1, so it answers both families.
  const u = b.dgram.createSocket('udp6');
  const seen: string[] = [];
  u.on('message', (m, r) => {
    seen.push(r.address);
    u.send(m, r.port, r.address);
  });
  u.bind(7);
  testResolver(a, { 'v6.wirestack.test': 'fd00::2' });
  const s = await createSocks5Server(a, { host: '127.0.0.1', port: 0 });
  const client = dgram.createSocket('udp4');
  try {
    const { r, reply } = await socks(s, 3, { ipv4: '0.0.0.0' }, 0);
    assert.equal(reply.rep, 0);
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const got: Buffer[] = [];
    client.on('message', (m) => got.push(m));
    const fd02 = Buffer.from('fd000000000000000000000000000002', 'hex');
    const header6 = [0, 0, 0, 4, ...fd02, 0, 7];

    client.send(udpDatagram({ ipv6: fd02 }, 7, Buffer.from('ping v6')), reply.port, '127.0.0.1');
    await until(() => got.length === 1, 3000, 'the IPv6 echo');
    assert.deepEqual([...got[0].subarray(0, 22)], header6);
    assert.equal(got[0].subarray(22).toString(), 'ping v6');
    assert.equal(seen[0], 'fd00::1', 'sent from the stack\'s IPv6 address');

    // 1200 random bytes each way, byte-exact (the IPv6 header is 20 bytes longer than IPv4's).
    const big = randomBytes(1200);
    client.send(udpDatagram({ ipv6: fd02 }, 7, big), reply.port, '127.0.0.1');
    await until(() => got.length === 2, 3000, 'the big IPv6 echo');
    assert.equal(got[1].length, 22 + 1200);
    assert.deepEqual([...got[1].subarray(0, 22)], header6);
    assert.ok(got[1].subarray(22).equals(big));

    client.send(udpDatagram({ domain: 'v6.wirestack.test' }, 7, Buffer.from('by name')), reply.port, '127.0.0.1');
    await until(() => got.length === 3, 3000, 'the echo by a name resolving to IPv6');
    assert.deepEqual([...got[2].subarray(0, 22)], header6);
    assert.equal(got[2].subarray(22).toString(), 'by name');

    // IPv4 in the same association: out of the IPv4 socket, reply with an ATYP 1 header.
    client.send(udpDatagram({ ipv4: B }, 7, Buffer.from('ping v4')), reply.port, '127.0.0.1');
    await until(() => got.length === 4, 3000, 'the IPv4 echo');
    assert.deepEqual([...got[3].subarray(0, 10)], [0, 0, 0, 1, 10, 0, 0, 2, 0, 7]);
    assert.equal(got[3].subarray(10).toString(), 'ping v4');
    assert.equal(seen[3], '::ffff:10.0.0.1');
    assert.equal(s.stats.udpUp, 4);
    assert.equal(s.stats.udpDown, 4);
    assert.equal(s.stats.udpDropped, 0);
    r.sock.end();
    await r.closed;
    await until(() => s.stats.active === 0, 3000, 'the session to end');

    // A stack built without IPv6 drops IPv6 destinations and counts them; IPv4 still works there.
    const [lc, ld] = MemoryLink.pair();
    const c = new Stack({ seed: 53, ipv6: false });
    const d = new Stack({ seed: 54, ipv6: false });
    c.addInterface(lc, { address: '10.0.1.1/24' });
    d.addInterface(ld, { address: '10.0.1.2/24' });
    c.start();
    d.start();
    const e = d.dgram.createSocket('udp4');
    e.on('message', (m, rr) => e.send(m, rr.port, rr.address));
    e.bind(7);
    const s4 = await createSocks5Server(c, { host: '127.0.0.1', port: 0 });
    try {
      const v4 = await socks(s4, 3, { ipv4: '0.0.0.0' }, 0);
      assert.equal(v4.reply.rep, 0);
      client.send(udpDatagram({ ipv6: fd02 }, 7, Buffer.from('nowhere')), v4.reply.port, '127.0.0.1');
      await until(() => s4.stats.udpDropped === 1, 3000, 'the IPv6 datagram to be dropped');
      client.send(udpDatagram({ ipv4: '10.0.1.2' }, 7, Buffer.from('v4 only')), v4.reply.port, '127.0.0.1');
      await until(() => got.length === 5, 3000, 'the echo on the IPv4-only stack');
      assert.equal(got[4].subarray(10).toString(), 'v4 only');
      assert.equal(s4.stats.udpUp, 1);
      v4.r.sock.end();
      await v4.r.closed;
    } finally {
      await s4.close();
      e.close();
      c.stop();
      d.stop();
    }
  } finally {
    client.close();
    await s.close();
    u.close();
    a.stop();
    b.stop();
  }
});
