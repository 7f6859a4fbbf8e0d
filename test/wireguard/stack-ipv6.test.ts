/**
 * Stack mode with IPv6: two stacks joined by a MemoryLink that carries only
 * IPv6 outside (fd70::/64), each with a WireGuard interface on its own UDP
 * whose tunnel carries IPv4 and IPv6 (10.200.0.0/24, fd00::/64). Virtual time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Stack, MemoryLink, Simulation } from '../../src/index.js';
import { getSuite } from '../../src/wireguard/crypto/index.js';
import { WALL_START } from './helpers.js';

async function pair() {
  const suite = getSuite('standard');
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const [la, lb] = MemoryLink.pair({ seed: 11 });
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(la, { address: 'fd70::1/64' });
  b.addInterface(lb, { address: 'fd70::2/64' });
  const sim = new Simulation([a, b]);
  const wallClock = (): number => WALL_START + sim.now;
  const wa = await a.addWireGuard({
    privateKey: aPriv, address: ['10.200.0.1/24', 'fd00::1/64'], listenPort: 51820, transport: { stack: a }, wallClock,
    peers: [{ publicKey: suite.publicKey(bPriv), endpoint: '[fd70::2]:51821', allowedIps: ['10.200.0.2/32', 'fd00::2/128'] }],
  });
  const wb = await b.addWireGuard({
    privateKey: bPriv, address: ['10.200.0.2/24', 'fd00::2/64'], listenPort: 51821, transport: { stack: b }, wallClock,
    peers: [{ publicKey: suite.publicKey(aPriv), allowedIps: ['10.200.0.1/32', 'fd00::1/128'] }],
  });
  return { a, b, wa, wb, sim };
}

test('stack mode: ping fd00::2 through a tunnel whose outer endpoint is [fd70::2]:51821; IPv4 inside too', async () => {
  const { a, b, wa, wb, sim } = await pair();
  const rtt = await sim.until(a.ping('fd00::2', { timeoutMs: 3000 }));
  assert.ok(rtt >= 0);
  assert.equal(wa.device.stats.handshakesCompleted, 1);
  assert.equal(wb.peers()[0].endpoint, '[fd70::1]:51820', 'b learned a\'s IPv6 endpoint from the handshake');
  await sim.until(b.ping('fd00::1', { timeoutMs: 3000 }));
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 3000 }));
  assert.deepEqual(wa.peers()[0].allowedIps, ['10.200.0.2/32', 'fd00::2/128']);
  const d = wb.device.stats;
  assert.equal(d.rxBadSourceIp + d.rxBadPacket + d.rxMalformed + d.drops, 0);
  assert.ok(d.dataReceived >= 3);
});

test('stack mode: TCP 1 MiB byte-exact both ways to [fd00::2] inside the tunnel', async () => {
  const { a, b, sim } = await pair();
  const size = 1 << 20;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >>> 9)) & 0xff;
  const want = createHash('sha256').update(data).digest('hex');
  const gotB: Buffer[] = [];
  const server = b.net.createServer((s) => {
    s.on('data', (x: Buffer) => gotB.push(x));
    s.on('end', () => s.end(Buffer.from(data)));
  });
  server.listen(9000, '::');
  const gotA: Buffer[] = [];
  let family = '';
  const done = new Promise<void>((resolve, reject) => {
    const c = a.net.connect({ host: 'fd00::2', port: 9000 }, () => {
      family = String(c.remoteFamily);
      c.end(Buffer.from(data));
    });
    c.on('data', (x: Buffer) => gotA.push(x));
    c.on('end', () => resolve());
    c.on('error', reject);
  });
  await sim.until(done, 120_000);
  assert.equal(family, 'IPv6');
  assert.equal(createHash('sha256').update(Buffer.concat(gotB)).digest('hex'), want, 'a → b');
  assert.equal(createHash('sha256').update(Buffer.concat(gotA)).digest('hex'), want, 'b → a');
  server.close();
});
