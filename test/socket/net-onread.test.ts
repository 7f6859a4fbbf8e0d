/**
 * Node's `onread` option on the node:net facade (src/socket/net-onread.ts),
 * in real time on a MemoryLink cable: chunks land in the application's one
 * reused buffer, byte-exact; no 'data' events; 'end' and 'close' as usual;
 * a callback returning false stops reading (the data waits in the TCP
 * receive buffer) until resume(); pause() stops it too; a buffer function is
 * called for each next buffer; an onread not of Node's shape is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryLink, Stack, type NetSocket } from '../../src/index.js';

const TOTAL = 1 << 20;

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = ((i * 2654435761) >>> 13) & 0xff;
  return b;
}

const PAYLOAD = pattern(TOTAL);

/** Two stacks in real time; b serves PAYLOAD on port 9 (then ends); `fn` gets the client stack. */
async function withServer(fn: (a: Stack) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  const server = b.net.createServer((s) => {
    s.on('error', () => { /* the client may reset */ });
    s.end(PAYLOAD);
  });
  server.listen(9, '10.0.0.2');
  await once(server, 'listening');
  try {
    await fn(a);
  } finally {
    server.close();
    a.stop();
    b.stop();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `pred()` holds (polled every 5 ms), rejects after `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('onread: every chunk lands in the one reused buffer, byte-exact; no data events; end and close', { timeout: 30000 }, () => withServer(async (a) => {
  const buf = Buffer.alloc(3000); // not a multiple of anything on the wire
  const parts: Buffer[] = [];
  let sameBuffer = true;
  let maxN = 0;
  const c = a.net.connect({
    port: 9, host: '10.0.0.2',
    onread: {
      buffer: buf,
      callback: (n, b) => {
        if (b !== buf) sameBuffer = false;
        if (n > maxN) maxN = n;
        parts.push(Buffer.from(b.subarray(0, n)));
      },
    },
  });
  let dataEvents = 0;
  c.on('data', () => { dataEvents++; });
  const closed = once(c, 'close');
  await once(c, 'end');
  const got = Buffer.concat(parts);
  assert.equal(got.length, TOTAL);
  assert.ok(got.equals(PAYLOAD), 'byte-exact');
  assert.ok(sameBuffer, 'the callback always got the buffer given');
  assert.ok(maxN <= buf.length && maxN === buf.length, `chunks fill the buffer (max ${maxN})`);
  assert.ok(parts.length >= Math.ceil(TOTAL / buf.length), `${parts.length} callbacks`);
  assert.equal(dataEvents, 0, "no 'data' events with onread");
  assert.equal(c.bytesRead, TOTAL);
  const [hadError] = await closed as [boolean];
  assert.equal(hadError, false);
}));

test('onread: a callback returning false stops reading until resume(); the data waits in TCP', { timeout: 30000 }, () => withServer(async (a) => {
  const buf = new Uint8Array(8192);
  const parts: Buffer[] = [];
  let calls = 0;
  let inResume = false;
  let calledInResume = false;
  const c = a.net.connect({
    port: 9, host: '10.0.0.2',
    onread: {
      buffer: buf,
      callback: (n, b) => {
        calls++;
        if (inResume) calledInResume = true;
        parts.push(Buffer.from(b.subarray(0, n)));
        return calls !== 1 && calls !== 5 ? undefined : false; // pause after the 1st and the 5th chunk
      },
    },
  });
  const ended = once(c, 'end');
  await until(() => calls >= 1, 10000, 'the first chunk');
  // Paused: no more callbacks while the rest of the megabyte waits in the receive buffer.
  await sleep(200);
  assert.equal(calls, 1, 'no callback after returning false');
  assert.ok(c.net.api.readableBytes(c.descriptor) > 0, 'data waits in the TCP receive buffer');
  inResume = true;
  c.resume();
  inResume = false;
  assert.equal(calledInResume, false, 'resume() restarts reading asynchronously, as Node');
  await until(() => calls >= 5, 10000, 'the fifth chunk');
  await sleep(200);
  assert.equal(calls, 5, 'paused again after the fifth chunk');
  c.read(0); // read() restarts reading too, as Node's net.Socket with onread
  await ended;
  const got = Buffer.concat(parts);
  assert.ok(got.equals(PAYLOAD), `byte-exact (${got.length} of ${TOTAL})`);
  c.destroy();
}));

test('onread: pause() stops the callbacks, resume() restarts them', { timeout: 30000 }, () => withServer(async (a) => {
  const buf = new Uint8Array(4096);
  let got = 0;
  const c: NetSocket = a.net.connect({ port: 9, host: '10.0.0.2', onread: { buffer: buf, callback: (n) => { got += n; } } });
  c.pause(); // before any data
  await once(c, 'connect');
  await sleep(200);
  assert.equal(got, 0, 'nothing delivered while paused');
  const ended = once(c, 'end');
  c.resume();
  await ended;
  assert.equal(got, TOTAL);
  c.destroy();
}));

test('onread: a buffer function is called for each next buffer', { timeout: 30000 }, () => withServer(async (a) => {
  const made: Uint8Array[] = [];
  const parts: Buffer[] = [];
  let gens = 0;
  const gen = (): Uint8Array => {
    gens++;
    const b = new Uint8Array(1000 + (gens % 7) * 500);
    made.push(b);
    return b;
  };
  let wrongBuffer = 0;
  const c = a.net.connect({
    port: 9, host: '10.0.0.2',
    onread: {
      buffer: gen,
      callback: (n, b) => {
        if (b !== made[made.length - 1]) wrongBuffer++;
        parts.push(Buffer.from(b.subarray(0, n)));
      },
    },
  });
  await once(c, 'end');
  assert.ok(Buffer.concat(parts).equals(PAYLOAD), 'byte-exact');
  assert.equal(wrongBuffer, 0, 'each chunk went into the latest buffer the function returned');
  assert.equal(gens, parts.length + 1, 'called once at the start and once after each callback');
  c.destroy();
}));

test('onread not of Node\'s shape is ignored (data flows as usual)', { timeout: 30000 }, () => withServer(async (a) => {
  const c = a.net.connect({ port: 9, host: '10.0.0.2', onread: { buffer: 'nope', callback: () => false } as never });
  const parts: Buffer[] = [];
  c.on('data', (d: Buffer) => parts.push(d));
  await once(c, 'end');
  assert.ok(Buffer.concat(parts).equals(PAYLOAD), 'byte-exact through data events');
  c.destroy();
}));

/** Two stacks in real time, b listening on port 9 with `opts`; `fn` gets both and the server. */
async function withOnreadServer(opts: Parameters<Stack['net']['createServer']>[0], fn: (a: Stack, server: ReturnType<Stack['net']['createServer']>) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 3 });
  const b = new Stack({ seed: 4 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  const server = b.net.createServer(opts);
  server.listen(9, '10.0.0.2');
  await once(server, 'listening');
  try {
    await fn(a, server);
  } finally {
    server.close();
    a.stop();
    b.stop();
  }
}

test('server onread: each accepted connection\'s chunks go to the callback with its socket as this, byte-exact; no data events', { timeout: 30000 }, async () => {
  const parts = new Map<NetSocket, Buffer[]>();
  let gens = 0;
  let dataEvents = 0;
  const ends: Array<Promise<unknown>> = [];
  await withOnreadServer({
    allowHalfOpen: true, // the answer follows the client's end
    onread: {
      buffer: () => { gens++; return new Uint8Array(5000); }, // a buffer per call: connections share none
      callback(n, b) {
        const list = parts.get(this) ?? [];
        list.push(Buffer.from(b.subarray(0, n)));
        parts.set(this, list);
      },
    },
  }, async (a, server) => {
    server.on('connection', (s: NetSocket) => {
      s.on('data', () => { dataEvents++; });
      // The server still writes as usual: it answers with the byte count at the end.
      ends.push(once(s, 'end').then(() => s.end(String(Buffer.concat(parts.get(s) ?? []).length))));
    });
    const other = pattern(TOTAL / 2).reverse();
    const replies = await Promise.all([PAYLOAD, other].map(async (body) => {
      const c = a.net.connect({ port: 9, host: '10.0.0.2' });
      const got: Buffer[] = [];
      c.on('data', (d: Buffer) => got.push(d));
      c.end(body);
      await once(c, 'end');
      c.destroy();
      return Buffer.concat(got).toString();
    }));
    assert.deepEqual(replies, [String(TOTAL), String(TOTAL / 2)], 'each connection\'s count, from its own socket');
    await Promise.all(ends);
    const bodies = [...parts.values()].map((l) => Buffer.concat(l)).sort((x, y) => y.length - x.length);
    assert.equal(bodies.length, 2, 'two sockets seen as this');
    assert.ok(bodies[0].equals(PAYLOAD), 'first connection byte-exact');
    assert.ok(bodies[1].equals(other), 'second connection byte-exact');
    assert.equal(dataEvents, 0, 'no data events with onread');
    assert.ok(gens >= 2 + [...parts.values()].reduce((k, l) => k + l.length, 0), 'buffer() called per connection and after each chunk');
  });
});

test('server onread: false stops reading until resume(); pauseOnConnect holds the callbacks until resume()', { timeout: 30000 }, async () => {
  const buf = new Uint8Array(8192);
  let calls = 0;
  let got = 0;
  await withOnreadServer({
    pauseOnConnect: true,
    onread: { buffer: buf, callback: (n) => { calls++; got += n; return calls === 1 ? false : undefined; } },
  }, async (a, server) => {
    const accepted = once(server, 'connection');
    const c = a.net.connect({ port: 9, host: '10.0.0.2' });
    c.end(PAYLOAD);
    const [s] = (await accepted) as [NetSocket];
    const ended = once(s, 'end');
    await sleep(200);
    assert.equal(calls, 0, 'pauseOnConnect: nothing delivered before resume()');
    s.resume();
    await until(() => calls >= 1, 10000, 'the first chunk');
    await sleep(200);
    assert.equal(calls, 1, 'no callback after returning false');
    assert.ok(s.net.api.readableBytes(s.descriptor) > 0, 'data waits in the TCP receive buffer');
    s.resume();
    await ended;
    assert.equal(got, TOTAL, 'every byte after resume()');
    s.destroy();
    c.destroy();
  });
});
