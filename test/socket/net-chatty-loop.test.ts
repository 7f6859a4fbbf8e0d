/**
 * The event-loop cost of a request/response exchange over `stack.net` in
 * REAL time (issue #10, chatty client): TCP send()/recv() transmit at once,
 * so they must not cost a poll of their own, and the timers they arm must
 * still be scheduled without one. Two started stacks on a MemoryLink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryLink, Stack, type NetSocket } from '../../src/index.js';

/** Two started stacks: a = 10.0.0.1 (client), b = 10.0.0.2 (server, echoing "OK" per request). */
async function withPair(fn: (a: Stack, b: Stack, link: MemoryLink) => Promise<void>, delayMs = 0): Promise<void> {
  const [la, lb] = MemoryLink.pair({ delayMs });
  // IPv4 only: IPv6's start-up timers (DAD, router solicitations) would poll the stacks now and then.
  const a = new Stack({ seed: 1, ipv6: false });
  const b = new Stack({ seed: 2, ipv6: false });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  const server = b.net.createServer((s) => {
    s.on('data', () => s.write('OK'));
    s.on('error', () => s.destroy());
  });
  try {
    server.listen(7000);
    await once(server, 'listening');
    await fn(a, b, la);
  } finally {
    server.close();
    a.stop();
    b.stop();
  }
}

async function connect(a: Stack): Promise<NetSocket> {
  const sock = a.net.connect(7000, '10.0.0.2');
  await once(sock, 'connect');
  return sock;
}

/** Count the polls of `stack` while `fn` runs (the driver calls the instance's poll). */
async function countPolls(stack: Stack, fn: () => Promise<void>): Promise<number> {
  const s = stack as unknown as { poll(now: number): number };
  const poll = s.poll;
  let n = 0;
  s.poll = (now: number) => {
    n++;
    return poll.call(s, now);
  };
  try {
    await fn();
  } finally {
    delete (s as { poll?: unknown }).poll;
  }
  return n;
}

test('a corked request/response exchange costs the client one poll, not one more per send/recv', async () => {
  await withPair(async (a) => {
    const sock = await connect(a);
    let got = 0;
    let wake: (() => void) | null = null;
    sock.on('data', (d: Buffer) => {
      got += d.length;
      wake?.();
    });
    const ROUNDS = 300;
    const header = Buffer.alloc(8, 1);
    const body = Buffer.alloc(100, 2);
    const exchange = async (i: number): Promise<void> => {
      sock.cork();
      sock.write(header);
      sock.write(body);
      process.nextTick(() => sock.uncork());
      await new Promise<void>((resolve) => {
        wake = () => { if (got >= 2 * (i + 1)) resolve(); };
        wake();
      });
    };
    let i = 0;
    for (; i < 20; i++) await exchange(i); // warm-up: ARP, buffers
    const polls = await countPolls(a, async () => {
      for (let k = 0; k < ROUNDS; k++, i++) await exchange(i);
    });
    // Over a 1 ms wire the reply costs two polls: one when the peer queues it (its wakeup), one
    // when it is due. The request's send and the reply's recv add none (before, the send added a
    // setImmediate poll: 2.93 per exchange measured, 1.96 after).
    assert.ok(polls / ROUNDS < 2.5, `client polls per exchange: ${(polls / ROUNDS).toFixed(2)}`);
    assert.equal(got, 2 * i);
    sock.destroy();
  }, 1);
});

test('a send on an idle connection arms its retransmission timer without a poll: a lost segment is resent', async () => {
  await withPair(async (a, _b, link) => {
    const sock = await connect(a);
    const reply = once(sock, 'data');
    // Idle: let every timer of the handshake run out (the SYN's 1 s initial RTO is the last), so
    // nothing else would wake the client's stack.
    await new Promise((resolve) => { setTimeout(resolve, 1300); });
    const retransmits = a.stats.tcp.retransmits;
    link.setFaults({ loss: 1 });
    sock.write('request'); // transmitted at once, and lost
    link.setFaults({ loss: 0 });
    const t0 = Date.now();
    const timer = new Promise<never>((_, reject) => {
      setTimeout(() => reject(new Error('no retransmission within 5 s: the send armed no timer')), 5000).unref();
    });
    const [d] = await Promise.race([reply, timer]) as [Buffer];
    assert.equal(d.toString(), 'OK');
    assert.ok(a.stats.tcp.retransmits > retransmits, 'the reply came through a retransmission');
    assert.ok(Date.now() - t0 < 5000);
    sock.destroy();
  });
});
