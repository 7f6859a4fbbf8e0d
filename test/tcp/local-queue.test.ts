/**
 * A link whose queue is full refuses a frame (-ENOBUFS, Link.transmit): TCP
 * then leaves that data unsent, not sent-and-lost, and sends it when an ACK
 * makes room, as Linux's tcp_write_xmit stops when tcp_transmit_skb fails.
 * Before, each refused segment became a loss RACK had to find and repair:
 * over a TAP whose TX ring is shorter than the congestion window (bench/
 * loss.ts: a FaultLink hides the TAP's offload, so a window leaves as
 * single frames into a 512-slot ring) that multiplied the retransmissions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A_IP, B_IP, connect, pattern, tcpPair, transfer } from './helpers.js';

test('a full link queue holds data back instead of losing it: 4 MiB through a 16-frame queue with no retransmission', () => {
  const big = { tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 };
  // 16 frames of queue at 100 Mbit/s with 2 ms each way: a window of more than 16 frames overruns it.
  const p = tcpPair(big, { queueFrames: 16, rateBps: 100e6, delayMs: 2 });
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 7000);
  const data = pattern(4 << 20, 3);
  const got = transfer(p.sim, p.a, cfd, p.b, sfd, data, 120_000);
  assert.deepEqual(got, data);
  assert.ok(p.la.stats.drops > 0, 'the queue was full at times (the link refused frames)');
  const st = p.a.stats.tcp;
  assert.equal(st.retransmits, 0, `no retransmission for refused frames (${p.la.stats.drops} refused, ${st.rackLossMarked} marked lost)`);
  assert.equal(st.rtoTimeouts, 0);
  void A_IP;
});
