import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBulk } from './bulk.js';

const MiB = 1 << 20;
const impair = (loss: number, seed: number) => ({
  loss, reorder: loss > 0 ? 0.01 : 0, duplicate: loss > 0 ? 0.005 : 0, corrupt: loss > 0 ? 0.001 : 0,
  delayMs: 5, rateBps: 1e9, seed,
});

for (const loss of [0, 0.01, 0.05, 0.1]) {
  test(`16 MiB each way at once, byte-exact, at ${loss * 100}% loss with reordering, duplication and corruption`, () => {
    const r = runBulk([16 * MiB, 16 * MiB], impair(loss, 100 + loss * 1000));
    assert.deepEqual(r.received, [16 * MiB, 16 * MiB]);
    assert.equal(r.corrupt, 0);
    if (loss === 0) {
      assert.equal(r.stats[0].retransmits + r.stats[1].retransmits, 0, 'no retransmission on a clean link');
      // 1 Gbit/s with 10 ms RTT and 1 MiB windows: ~100 MB/s, so 16 MiB in well under a second.
      assert.ok(r.virtualMs < 1000, `clean transfer took ${r.virtualMs} ms`);
    } else {
      assert.ok(r.stats[0].retransmits > 0 && r.stats[1].retransmits > 0);
      const lost = r.link[0].faults.lost + r.link[1].faults.lost;
      const rtx = r.stats[0].retransmits + r.stats[1].retransmits;
      // Selective recovery: retransmissions stay within a small multiple of the losses.
      assert.ok(rtx < 4 * lost + 50, `${rtx} retransmissions for ${lost} lost frames`);
    }
  });
}

test('SACK recovers from loss with fewer timeouts and sooner than NewReno alone', () => {
  const withSack = runBulk([8 * MiB, 0], impair(0.03, 7), { tcpSack: 1 });
  const without = runBulk([8 * MiB, 0], impair(0.03, 7), { tcpSack: 0 });
  assert.equal(withSack.corrupt + without.corrupt, 0);
  assert.ok(withSack.stats[0].sackRecoveries > 0, 'SACK-based recovery was used');
  assert.equal(without.stats[0].sackRecoveries, 0);
  assert.ok(withSack.virtualMs < without.virtualMs,
    `SACK ${withSack.virtualMs} ms vs NewReno ${without.virtualMs} ms`);
  assert.ok(withSack.stats[0].rtoTimeouts <= without.stats[0].rtoTimeouts,
    `timeouts: SACK ${withSack.stats[0].rtoTimeouts}, NewReno ${without.stats[0].rtoTimeouts}`);
});

test('a small receive buffer is never overrun: flow control bounds what is in flight', () => {
  const r = runBulk([2 * MiB, 0], { delayMs: 2, seed: 3 }, { tcpRecvBufferBytes: 8192, tcpSendBufferBytes: 65536 });
  assert.equal(r.received[0], 2 * MiB);
  assert.equal(r.corrupt, 0);
  assert.equal(r.stats[1].outOfWindow, 0);
  assert.equal(r.stats[0].retransmits, 0);
});

test('CUBIC (RFC 9438, tcpCubic: 1) completes byte-exact under loss and is not slower than Reno', () => {
  const cubic = runBulk([8 * MiB, 0], impair(0.05, 21), { tcpCubic: 1 });
  const reno = runBulk([8 * MiB, 0], impair(0.05, 21), { tcpCubic: 0 });
  assert.equal(cubic.received[0], 8 * MiB);
  assert.equal(cubic.corrupt, 0);
  assert.ok(cubic.stats[0].fastRetransmits > 0, 'losses were recovered');
  assert.ok(cubic.virtualMs <= reno.virtualMs * 1.1, `CUBIC ${cubic.virtualMs} ms vs Reno ${reno.virtualMs} ms`);
});
