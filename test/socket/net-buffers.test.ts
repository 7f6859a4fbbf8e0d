/**
 * Lazy TCP buffers through the Node facade (real time): a server with one
 * buffer pair for several connections echoes all of them byte-exact; the
 * ones that find the pool empty wait (dropped segments are retransmitted,
 * writes wait for EV_WRITABLE) instead of failing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryLink, Stack } from '../../src/index.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 8) * 7 + seed * 13) & 0xff;
  return b;
}

test('echo server with a single buffer pair serves three concurrent clients byte-exact', { timeout: 60000 }, async () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2, maxTcpSockets: 8, tcpBufferPairs: 1 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  try {
    const server = b.net.createServer((s) => s.pipe(s));
    server.listen(7);
    await once(server, 'listening');
    const runs = [1, 2, 3].map(async (k) => {
      const data = pattern(48 * 1024, k);
      const c = a.net.connect(7, '10.0.0.2');
      await once(c, 'connect');
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => parts.push(d));
      c.end(data);
      await once(c, 'end');
      c.destroy();
      return { data, got: Buffer.concat(parts) };
    });
    for (const r of await Promise.all(runs)) assert.ok(r.got.equals(r.data), `echo of ${r.data.length} bytes intact`);
    assert.ok(b.stats.tcp.bufferDrops + b.stats.tcp.bufferWaits > 0, 'the pool ran empty on the way');
    // Once the server's sockets have closed, the pair is back in the pool.
    for (let i = 0; i < 200 && b.tcp.core.t.freeBuffers !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.tcp.core.t.freeBuffers, 1);
    server.close();
  } finally {
    a.stop();
    b.stop();
  }
});
