import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeUdpTransport, nativeUdpAvailable } from '../../src/wireguard/transport-native.js';

const LOOPBACK = 0x7f000001;

test('native UDP transport: loopback datagrams with source, too-long ones dropped and counted, EADDRINUSE', async () => {
  assert.ok(nativeUdpAvailable(), 'the native addon (npm ci builds it with node-gyp) must provide udpOpen');
  const a = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 256 });
  const b = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 256 });
  const got: Array<{ bytes: number[]; addr: number; port: number }> = [];
  b.setReceiver((buf, off, len, addr, port) => got.push({ bytes: Array.from(buf.subarray(off, off + len)), addr, port }));
  const out = new Uint8Array(600);
  for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
  for (let i = 0; i < 100; i++) {
    out[10] = i;
    assert.equal(a.send(out, 10, 200, LOOPBACK, b.port), true);
  }
  assert.equal(a.send(out, 0, 600, LOOPBACK, b.port), true, 'the kernel takes it; the receiver drops it');
  const until = Date.now() + 5000;
  while ((got.length < 100 || b.drops < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.equal(got.length, 100);
  for (let i = 0; i < 100; i++) {
    assert.equal(got[i].bytes.length, 200);
    assert.equal(got[i].bytes[0], i);
    assert.equal(got[i].bytes[1], 11);
    assert.equal(got[i].addr, LOOPBACK);
    assert.equal(got[i].port, a.port);
  }
  assert.equal(b.drops, 1, 'a datagram longer than a slot is counted, not truncated');
  assert.throws(() => NativeUdpTransport.open({ address: '127.0.0.1', port: a.port }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
  a.close();
  b.close();
  assert.equal(a.send(out, 0, 10, LOOPBACK, b.port), false, 'closed');
});

test('native UDP transport corked: datagrams queue and leave in sendmmsg batches, in order, byte-exact; uncork sends at once again', async () => {
  const a = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 256 });
  const b = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 256 });
  const got: number[][] = [];
  b.setReceiver((buf, off, len) => got.push(Array.from(buf.subarray(off, off + len))));
  const out = new Uint8Array(300);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7) & 0xff;
  const wait = async (n: number) => {
    const until = Date.now() + 5000;
    while (got.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  };
  a.cork();
  for (let i = 0; i < 150; i++) {
    out[5] = i; // the source buffer is reused at once, as the device reuses its txBuf
    assert.equal(a.send(out, 5, 1 + (i % 200), LOOPBACK, b.port), true);
  }
  // 150 = two full batches of 64 sent by later sends, 22 still queued until the flush.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.length, 128);
  a.flush();
  await wait(150);
  assert.equal(got.length, 150);
  for (let i = 0; i < 150; i++) {
    assert.equal(got[i].length, 1 + (i % 200));
    assert.equal(got[i][0], i);
    if (got[i].length > 1) assert.equal(got[i][1], (6 * 7) & 0xff);
  }
  a.uncork();
  assert.equal(a.send(out, 0, 10, LOOPBACK, b.port), true);
  await wait(151);
  assert.equal(got.length, 151, 'uncorked: sent at once');
  assert.equal(a.drops, 0);
  a.close();
  b.close();
});

for (const gso of [true, false]) {
  for (const gro of [true, false]) {
    test(`native UDP transport sendBatch with GSO ${gso ? 'on' : 'off'}, receive with GRO ${gro ? 'on' : 'off'}: datagrams byte-exact, in order, boundaries kept`, async () => {
      const a = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 1500, gso, gro: false });
      const b = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 1500, gso: false, gro });
      const c = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 1500, gso: false, gro });
      assert.equal(a.gso, gso, 'this kernel has UDP_SEGMENT (Linux 4.18)');
      assert.equal(b.gro, gro, 'this kernel has UDP_GRO (Linux 5.0)');
      const gotB: Uint8Array[] = [];
      const gotC: Uint8Array[] = [];
      b.setReceiver((buf, off, len, _addr, port) => { assert.equal(port, a.port); gotB.push(buf.slice(off, off + len)); });
      c.setReceiver((buf, off, len) => gotC.push(buf.slice(off, off + len)));
      const slot = 1500;
      // Runs GSO can merge (one destination, one length, a shorter last), broken by another
      // destination (30..32), a longer datagram (20), an empty one (21) and a shorter one mid-run (50).
      const lens: number[] = [];
      const dsts: number[] = [];
      for (let i = 0; i < 64; i++) {
        lens.push(i === 63 ? 77 : i === 20 ? 1400 : i === 21 ? 0 : i === 50 ? 400 : i < 40 ? 1200 : 900);
        dsts.push(i >= 30 && i < 33 ? c.port : b.port);
      }
      const buf = new Uint8Array(64 * slot);
      const meta = new Int32Array(64 * 3);
      for (let i = 0; i < 64; i++) {
        for (let k = 0; k < lens[i]; k++) buf[i * slot + k] = (i * 31 + k) & 0xff;
        meta.set([lens[i], LOOPBACK, dsts[i]], 3 * i);
      }
      for (let round = 0; round < 3; round++) assert.equal(a.sendBatch(buf, slot, 64, meta), 64);
      const until = Date.now() + 5000;
      while (gotB.length + gotC.length < 3 * 64 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      for (const [list, port] of [[gotB, b.port], [gotC, c.port]] as const) {
        const mine = [...Array(64).keys()].filter((i) => dsts[i] === port);
        const order = [...mine, ...mine, ...mine];
        assert.equal(list.length, order.length);
        list.forEach((x, k) => {
          const i = order[k];
          assert.equal(x.length, lens[i], `datagram ${i}`);
          for (let j = 0; j < x.length; j++) if (x[j] !== ((i * 31 + j) & 0xff)) assert.fail(`datagram ${i} byte ${j}`);
        });
      }
      if (gso && gro) {
        assert.ok(b.groMessages > 0 && b.groDatagrams > b.groMessages,
          `loopback hands a GSO message whole to a GRO socket (${b.groMessages} messages, ${b.groDatagrams} datagrams)`);
      }
      if (!gro) assert.equal(b.groMessages, 0);
      assert.equal(a.drops, 0);
      assert.equal(b.drops, 0);
      a.close();
      b.close();
      c.close();
    });
  }
}
