/** Two wirestack stacks over a MemoryLink with ESP between them, for every suite: ICMP, UDP and TCP bulk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SUITES, espPair, espDrops, tcpBulk, type EspPair } from './helpers.js';

const IPPROTO_ESP = 50;
const IPPROTO_UDP = 17;

async function udpEcho(p: EspPair, size: number): Promise<void> {
  const { a, b, sim } = p;
  const srv = b.dgram.createSocket('udp4');
  srv.on('message', (msg, rinfo) => srv.send(msg, rinfo.port, rinfo.address));
  srv.bind(7);
  const cli = a.dgram.createSocket('udp4');
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 13 + 5) & 0xff;
  let got: Buffer | null = null;
  cli.on('message', (m) => { got = m; });
  cli.send(payload, 7, '10.0.0.2');
  // dgram sends on a later turn of the event loop: run the simulation in steps until the echo is back.
  for (let i = 0; i < 100 && got === null; i++) await sim.run(10);
  assert.ok(got !== null && (got as Buffer).equals(payload), 'UDP echo byte-exact');
  cli.close();
  srv.close();
}

for (const [name, suite] of Object.entries(SUITES)) {
  test(`ESP ${name}: ping, UDP echo and 1 MiB of TCP each way, byte-exact, nothing in clear`, async () => {
    const p = espPair(suite);
    const { a, b, sim } = p;
    const rtt = await sim.until(a.ping('10.0.0.2', { size: 1000 }), 5000);
    assert.ok(rtt >= 0);
    await udpEcho(p, 1400);
    const r = tcpBulk(p, 1 << 20);
    assert.deepEqual(r.got, [1 << 20, 1 << 20]);
    assert.equal(r.corrupt, 0);
    sim.advance(1000); // let the closing segments arrive
    assert.ok(p.wireProtos.length > 500);
    assert.ok(p.wireProtos.every((x) => x === IPPROTO_ESP), 'every IPv4 packet from a is ESP');
    const biggest = Math.max(...p.wire.map((f) => f.length));
    assert.ok(biggest <= 1514, `no frame beyond the MTU (${biggest})`);
    assert.ok(biggest >= 1514 - 16, `full-size segments: the MSS leaves just the ESP overhead (${biggest})`);
    for (const s of [a, b]) {
      assert.equal(espDrops(s.stats.ipsec), 0, JSON.stringify(s.stats.ipsec));
      assert.ok(s.stats.ipsec.delivered > 300);
      assert.equal(s.stats.ip.unknownProtocol, 0);
      assert.equal(s.stats.tcp.badChecksum ?? 0, 0);
    }
    assert.equal(a.stats.ipsec.tx, b.stats.ipsec.rx);
  });
}

test('ESP with ESN and ESP-in-UDP (RFC 3948): ping and TCP; the wire carries UDP 4500', async () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 128'], { sa: { esn: true, encap: true } });
  await p.sim.until(p.a.ping('10.0.0.2'), 5000);
  const r = tcpBulk(p, 256 * 1024);
  assert.equal(r.corrupt, 0);
  assert.deepEqual(r.got, [256 * 1024, 256 * 1024]);
  assert.ok(p.wireProtos.every((x) => x === IPPROTO_UDP));
  for (const f of p.wire) {
    assert.equal((f[34] << 8) | f[35], 4500);
    assert.equal((f[36] << 8) | f[37], 4500);
    assert.equal((f[40] << 8) | f[41], 0, 'UDP checksum zero (RFC 3948 2.1)');
  }
  assert.equal(espDrops(p.a.stats.ipsec) + espDrops(p.b.stats.ipsec), 0);
});

test('ESP with fragmentation: a 6000-byte UDP datagram and an 8000-byte ping are encrypted, then fragmented, reassembled, then decrypted', async () => {
  const p = espPair(SUITES[Object.keys(SUITES)[0]], {});
  const { a, b, sim } = p;
  await udpEcho(p, 6000);
  const rtt = await sim.until(a.ping('10.0.0.2', { size: 8000 }), 5000);
  assert.ok(rtt >= 0);
  assert.ok(a.stats.ip.fragmentsIn > 0 && b.stats.ip.fragmentsIn > 0, 'the ESP packets travelled as fragments');
  for (const s of [a, b]) assert.equal(espDrops(s.stats.ipsec), 0, JSON.stringify(s.stats.ipsec));
  assert.ok(p.wireProtos.every((x) => x === IPPROTO_ESP), 'nothing in clear, fragments included');
});
