/**
 * IPv6 on the host transports (native/udp.c and node:dgram), over loopback:
 * a dual-stack socket on '::' takes IPv4 and IPv6 peers on one port, reports
 * IPv4-mapped sources as IPv4, sends to both families (also corked, in order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeUdpTransport } from '../../src/wireguard/transport-native.js';
import { HostUdpTransport } from '../../src/wireguard/transport-node.js';
import type { WgTransport } from '../../src/wireguard/transport.js';

const LOOPBACK = 0x7f000001;
const LOOPBACK6 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

interface Got { first: number; len: number; addr: number; port: number; addr6: number[] | null }

function record(t: WgTransport): Got[] {
  const got: Got[] = [];
  t.setReceiver((b, off, len, addr, port, addr6) => {
    got.push({ first: b[off], len, addr, port, addr6: addr6 === null || addr6 === undefined ? null : Array.from(addr6.subarray(0, 16)) });
  });
  return got;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

for (const kind of ['native', 'node:dgram'] as const) {
  const open = async (address?: string): Promise<WgTransport & { drops: number; ipv6: boolean }> => (kind === 'native'
    ? NativeUdpTransport.open(address === undefined ? { maxDatagram: 256 } : { address, maxDatagram: 256 })
    : HostUdpTransport.open(address === undefined ? {} : { address }));

  test(`${kind}: a dual-stack socket ('::' by default) talks to IPv4 and IPv6 peers on one port`, async () => {
    const d = await open();
    assert.equal(d.ipv6, true, 'dual-stack by default where the host has IPv6');
    const v4 = await open('127.0.0.1');
    const v6 = await open('::1');
    const gd = record(d);
    const g4 = record(v4);
    const g6 = record(v6);
    const out = new Uint8Array(64);
    out[0] = 4;
    assert.ok(v4.send(out, 0, 20, LOOPBACK, d.port));
    await waitFor(() => gd.length === 1, 'IPv4 datagram on the dual-stack socket');
    out[0] = 6;
    assert.ok(v6.send6!(out, 0, 30, LOOPBACK6, 0, d.port));
    await waitFor(() => gd.length === 2, 'IPv6 datagram on the dual-stack socket');
    assert.deepEqual(gd[0], { first: 4, len: 20, addr: LOOPBACK, port: v4.port, addr6: null }, 'the mapped IPv4 source is reported as IPv4');
    assert.deepEqual(gd[1], { first: 6, len: 30, addr: 0, port: v6.port, addr6: Array.from(LOOPBACK6) });
    // Replies from the dual-stack socket, to each family.
    out[0] = 40;
    assert.ok(d.send(out, 0, 10, LOOPBACK, v4.port));
    out[0] = 60;
    assert.ok(d.send6!(out, 0, 11, LOOPBACK6, 0, v6.port));
    await waitFor(() => g4.length === 1 && g6.length === 1, 'replies in both families');
    assert.equal(g4[0].first, 40);
    assert.equal(g4[0].addr, LOOPBACK);
    assert.equal(g6[0].first, 60);
    assert.equal(g6[0].len, 11);
    assert.deepEqual(g6[0].addr6, Array.from(LOOPBACK6));
    assert.equal(v4.send6?.(out, 0, 10, LOOPBACK6, 0, d.port) ?? false, false, 'an IPv4 socket cannot send to IPv6');
    for (const t of [d, v4, v6]) t.close();
  });
}

test('native corked on a dual-stack socket: IPv4 batches (sendmmsg) and IPv6 sends interleave in order', async () => {
  const d = NativeUdpTransport.open({ maxDatagram: 256 });
  const r4 = NativeUdpTransport.open({ address: '127.0.0.1', maxDatagram: 256 });
  const r6 = NativeUdpTransport.open({ address: '::1', maxDatagram: 256 });
  const g4 = record(r4);
  const g6 = record(r6);
  const out = new Uint8Array(64);
  d.cork();
  for (let i = 0; i < 150; i++) {
    out[0] = i;
    if (i % 3 === 2) assert.ok(d.send6(out, 0, 40, LOOPBACK6, 0, r6.port));
    else assert.ok(d.send(out, 0, 40, LOOPBACK, r4.port));
  }
  d.uncork();
  await waitFor(() => g4.length === 100 && g6.length === 50, 'all datagrams arrive');
  assert.deepEqual(g4.map((g) => g.first), Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 !== 2));
  assert.deepEqual(g6.map((g) => g.first), Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 === 2));
  assert.equal(d.drops, 0);
  for (const t of [d, r4, r6]) t.close();
});
