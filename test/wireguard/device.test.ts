import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makeWgPair } from './helpers.js';

for (const suite of ['standard', 'fips'] as const) {
  test(`${suite}: handshake on first packet, ping both ways through the tunnel`, async () => {
    const { a, b, wa, wb, sim } = await makeWgPair(suite);
    const rtt = await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
    assert.ok(rtt >= 0);
    const da = wa.device.stats;
    const db = wb.device.stats;
    assert.equal(da.initiationsSent, 1);
    assert.equal(db.initiationsReceived, 1);
    assert.equal(da.responsesReceived, 1);
    assert.equal(da.handshakesCompleted, 1);
    assert.equal(db.handshakesCompleted, 1, 'the responder confirmed the session on the first data packet');
    await sim.until(b.ping('10.200.0.1', { timeoutMs: 2000 }));
    assert.equal(da.initiationsSent + db.initiationsSent, 1, 'no second handshake');
    // b learned a's endpoint from the handshake (roaming from nothing).
    assert.equal(wb.peers()[0].endpoint, '10.70.0.1:51820');
    assert.ok(wa.peers()[0].latestHandshake instanceof Date);
    assert.ok(wa.peers()[0].txBytes > 0 && wa.peers()[0].rxBytes > 0);
    assert.equal(db.rxBadAuth + db.rxReplay + db.rxBadSourceIp + db.rxMalformed, 0);
  });

  test(`${suite}: TCP 2 MiB byte-exact both ways through the tunnel (with a preshared key)`, async () => {
    const psk = new Uint8Array(32).fill(7);
    const { a, b, sim } = await makeWgPair(suite, { psk });
    const size = 2 << 20;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 11)) & 0xff;
    const want = createHash('sha256').update(data).digest('hex');
    const gotB: Buffer[] = [];
    const server = b.net.createServer((s) => {
      s.on('data', (d: Buffer) => gotB.push(d));
      s.on('end', () => s.end(Buffer.from(data)));
    });
    server.listen(9000);
    const gotA: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const c = a.net.connect({ host: '10.200.0.2', port: 9000 }, () => c.end(Buffer.from(data)));
      c.on('data', (d: Buffer) => gotA.push(d));
      c.on('end', () => resolve());
      c.on('error', reject);
    });
    await sim.until(done, 120_000);
    assert.equal(createHash('sha256').update(Buffer.concat(gotB)).digest('hex'), want, 'a → b');
    assert.equal(createHash('sha256').update(Buffer.concat(gotA)).digest('hex'), want, 'b → a');
    server.close();
  });
}

for (const suite of ['standard', 'fips'] as const) {
  test(`${suite}: rekey after REKEY_AFTER_TIME keeps traffic flowing; REJECT_AFTER_TIME and key zeroing when idle`, async () => {
    const { a, wa, wb, sim } = await makeWgPair(suite);
    await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
    // Steady pings every second for 300 s: the initiator rekeys after 120 s, and no ping is lost.
    for (let t = 0; t < 300; t++) {
      await sim.until(a.ping('10.200.0.2', { timeoutMs: 900 }));
      await sim.run(1000);
    }
    const da = wa.device.stats;
    const elapsed = sim.now;
    // A rekey starts with the first packet sent after 120 s, so the period is 120 s plus up to one ping interval.
    const lo = Math.floor(elapsed / 122_000) + 1;
    const hi = Math.floor(elapsed / 120_000) + 1;
    assert.ok(da.handshakesCompleted >= lo && da.handshakesCompleted <= hi,
      `rekeyed every ~120 s: ${da.handshakesCompleted} handshakes in ${elapsed} ms`);
    assert.equal(da.initiationsSent, da.handshakesCompleted, 'one initiation per rekey, not one per packet');
    assert.equal(wb.device.stats.initiationsSent, 0, 'only the initiator rekeys by age');
    assert.equal(wb.device.stats.rxExpiredKey, 0);
    // Idle: after 180 s the keys are unusable, after 540 s wiped.
    await sim.run(200_000);
    const peer = wa.device.activePeers()[0];
    assert.ok(peer.current !== null, 'keys still held (not yet zeroed)');
    // The fips suite's AES-GCM contexts are owned by the live keypairs only (made at install, freed at drop).
    for (const kp of peer.keypairs) {
      const live: boolean = kp === peer.current || kp === peer.previous || kp === peer.next;
      assert.equal(kp.sendHandle !== null && kp.receiveHandle !== null, live && suite === 'fips', 'a handle per live fips key');
    }
    await sim.run(400_000);
    assert.ok(da.keysZeroed >= 1);
    assert.equal(peer.current, null);
    for (const kp of peer.keypairs) assert.ok(kp.sendKey.every((x) => x === 0) && kp.receiveKey.every((x) => x === 0), 'key material zeroed');
    for (const kp of peer.keypairs) assert.ok(kp.sendHandle === null && kp.receiveHandle === null, 'cipher handles freed with the keys');
    // Traffic again: a fresh handshake, and it works.
    const before = da.handshakesCompleted;
    await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
    assert.equal(da.handshakesCompleted, before + 1);
  });
}

test('handshake retransmits every REKEY_TIMEOUT (+jitter) while the peer is silent, gives up after REKEY_ATTEMPT_TIME', async () => {
  const { a, wa, wb, sim } = await makeWgPair('standard');
  // b has no identity: it drops initiations (counted).
  wb.device.setPrivateKey(null);
  const sent: number[] = [];
  const orig = wa.device.transport!;
  const send = orig.send.bind(orig);
  orig.send = (buf, off, len, addr, port) => {
    if (buf[off] === 1) sent.push(sim.now);
    return send(buf, off, len, addr, port);
  };
  const failed = new Promise<void>((resolve) => wa.once('handshake-failed', () => resolve()));
  void a.ping('10.200.0.2', { timeoutMs: 200_000 }).catch(() => undefined);
  await sim.until(failed, 200_000);
  assert.ok(sent.length >= 18 && sent.length <= 20, `about 90 s / 5 s attempts (${sent.length})`);
  for (let i = 1; i < sent.length; i++) {
    const gap = sent[i] - sent[i - 1];
    assert.ok(gap >= 5000 && gap < 5340, `gap ${gap} ms`);
  }
  assert.equal(wb.device.stats.rxNoIdentity, sent.length);
  assert.equal(wa.device.activePeers()[0].stagedCount, 0, 'staged packets dropped on give-up');
});

test('persistent keepalive: one per interval when idle, none while data flows', async () => {
  const { wa, wb, sim } = await makeWgPair('standard', { a: {} });
  const peer = wa.device.activePeers()[0];
  wa.device.setPersistentKeepalive(peer, 25);
  await sim.run(1000);
  assert.equal(wa.device.stats.handshakesCompleted, 1, 'turning it on sent a keepalive, which needed a handshake');
  const k0 = wb.device.stats.keepalivesReceived;
  await sim.run(250_000);
  const k = wb.device.stats.keepalivesReceived - k0;
  // Besides one per 25 s, each rekey (by age, at 120 s and at 240 s) is confirmed with a keepalive.
  const rekeys = wa.device.stats.handshakesCompleted - 1;
  assert.ok(k - rekeys >= 9 && k - rekeys <= 11, `about one keepalive per 25 s over 250 s (${k}, ${rekeys} rekeys)`);
});

test('an endpoint given by name is resolved, and resolved again when the peer goes quiet (it moved)', async () => {
  let answer = '10.70.0.2';
  const asked: string[] = [];
  const resolveHost = async (host: string): Promise<string> => { asked.push(host); return answer; };
  const { a, b, wa, sim, keys } = await makeWgPair('standard', { a: { peers: [], resolveHost } });
  await wa.addPeer({ publicKey: keys.bPub, endpoint: 'peer-b.wg.test:51821', allowedIps: ['10.200.0.2/32'] });
  assert.deepEqual(asked, ['peer-b.wg.test']);
  assert.equal(wa.peers()[0].endpoint, '10.70.0.2:51821');
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
  // b moves to another address; the name now points there.
  b.setInterfaceAddress(0, '10.70.0.3/24');
  answer = '10.70.0.3';
  const quiet = new Promise<void>((resolve) => wa.once('peer-quiet', () => resolve()));
  void a.ping('10.200.0.2', { timeoutMs: 1000 }).catch(() => undefined);
  await sim.until(quiet, 30_000);
  await sim.run(100);
  assert.equal(asked.length, 2, 'resolved again when quiet');
  assert.equal(wa.peers()[0].endpoint, '10.70.0.3:51821');
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 15_000 }), 20_000);
});
