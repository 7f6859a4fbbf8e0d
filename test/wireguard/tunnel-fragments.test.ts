/**
 * A datagram larger than the tunnel's MTU, sent into a WireGuard interface
 * whose outer transport is the same stack's UDP: the device sends each
 * fragment's ciphertext through that stack (a route() and output() nested
 * inside the fragmenter's loop). Every fragment must still take the
 * fragmented datagram's own route, into the tunnel. When route() left its
 * answer in fields of the IPv4 layer, the nested send re-pointed them and
 * fragments 1.. went out in clear on the outer link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeWgPair } from './helpers.js';

test('every fragment of a datagram sent into a same-stack WireGuard tunnel goes into the tunnel, none in clear', async () => {
  const { a, wa, wb, sim } = await makeWgPair('standard');
  await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
  const txBefore = wa.device.stats.txFrames;
  const rxBefore = wb.device.stats.rxFrames;
  const fragsBefore = a.stats.ip.fragmentsOut;
  // 3000 bytes of echo payload: 3028 bytes of IP, three fragments at the tunnel's 1420.
  const done = a.ping('10.200.0.2', { timeoutMs: 500, size: 3000 }).then(() => 'reply', (e: Error) => e.message);
  await sim.until(done);
  const frags = a.stats.ip.fragmentsOut - fragsBefore;
  assert.equal(frags, 3);
  assert.equal(wa.device.stats.txFrames - txBefore, frags, 'each fragment was handed to the WireGuard device');
  assert.ok(wb.device.stats.rxFrames - rxBefore >= frags, 'and came out of the peer\'s device');
});
