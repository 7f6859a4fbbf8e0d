/**
 * Accepting costs no extra poll (REAL time, two started stacks on a
 * MemoryLink): accept(), setCallback() and TCP_NODELAY called from a
 * listener's callback, inside a poll, schedule nothing (that poll's dispatch
 * delivers the events they raise), while the same calls from outside a poll
 * still get the new socket's events delivered soon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStacks } from '../helpers/socks.js';
import { EV_READABLE, EV_WRITABLE, TCP_NODELAY } from '../../src/socket/api.js';

/** Resolves when `cond()` holds (checked every 5 ms), rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('accept, setCallback and TCP_NODELAY inside a listener callback schedule no poll; the new socket still hears EV_WRITABLE', { timeout: 10_000 }, async () => {
  await withStacks(async (a, b) => {
    const api = b.sockets;
    const lfd = api.socket('tcp');
    assert.equal(api.bind(lfd, '10.0.0.2', 8080), 0);
    assert.equal(api.listen(lfd, 16), 0);
    const scheduled: number[] = [];
    const accepted: number[] = [];
    const heard = new Map<number, number>();
    const realImmediate = globalThis.setImmediate;
    api.setCallback(lfd, (_fd, ev) => {
      if ((ev & EV_READABLE) === 0) return;
      // Count what the calls below schedule: the driver's polls go through setImmediate.
      let n = 0;
      globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
        n++;
        return realImmediate(...args);
      }) as typeof setImmediate;
      try {
        for (let c = api.accept(lfd); c >= 0; c = api.accept(lfd)) {
          accepted.push(c);
          api.setCallback(c, (fd, e) => heard.set(fd, (heard.get(fd) ?? 0) | e));
          api.setsockopt(c, TCP_NODELAY, 1);
        }
      } finally {
        globalThis.setImmediate = realImmediate;
      }
      scheduled.push(n);
    });
    const clients: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = a.sockets.socket('tcp');
      a.sockets.connect(c, '10.0.0.2', 8080);
      clients.push(c);
    }
    await until(() => accepted.length === 5 && accepted.every((c) => ((heard.get(c) ?? 0) & EV_WRITABLE) !== 0), 5000,
      'five accepted sockets hearing EV_WRITABLE');
    assert.ok(scheduled.length > 0);
    assert.deepEqual(scheduled.filter((n) => n !== 0), [], 'no poll scheduled from inside the poll');
    for (const c of [...clients]) a.sockets.close(c);
    for (const c of accepted) api.close(c);
    api.close(lfd);
  });
});

test('accept and setCallback from outside a poll (a timer) still deliver the new socket\'s events at once', { timeout: 10_000 }, async () => {
  await withStacks(async (a, b) => {
    const api = b.sockets;
    const lfd = api.socket('tcp');
    assert.equal(api.bind(lfd, '10.0.0.2', 8081), 0);
    assert.equal(api.listen(lfd, 16), 0);
    const c = a.sockets.socket('tcp');
    a.sockets.connect(c, '10.0.0.2', 8081);
    // No listener callback: the connection waits in the accept queue until a timer takes it.
    let fd = -1;
    await until(() => (fd = api.accept(lfd)) >= 0, 5000, 'a connection to accept');
    let ev = 0;
    const t0 = Date.now();
    api.setCallback(fd, (_fd, e) => { ev |= e; });
    await until(() => (ev & EV_WRITABLE) !== 0, 1000, 'EV_WRITABLE on the accepted socket');
    assert.ok(Date.now() - t0 < 500, 'delivered by the next turn of the event loop, not a far deadline');
    a.sockets.close(c);
    api.close(fd);
    api.close(lfd);
  });
});
