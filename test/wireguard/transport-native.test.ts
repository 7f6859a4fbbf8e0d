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
