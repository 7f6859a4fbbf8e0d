/**
 * The receiver's out-of-order ranges and the sender's scoreboard are sized
 * from the buffers (tcb.ts rangesFor): a 4 MiB window over a lossy path holds
 * more holes than the old fixed 32 ranges, and the receiver then dropped
 * data it had received (found in a wirestack <-> wirestack run with CUBIC:
 * 374 segments thrown away); Linux's receiver keeps it all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { B_IP, connect, pattern, tcpPair, transfer } from './helpers.js';

const big = { tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 };

/**
 * 16 MiB from a to b over 1 Gbit/s with 5 ms each way, where every other
 * data frame a sends from the 400th to the 700th is lost: 150 holes in one
 * window (slow start has the window past 300 segments by then).
 */
function run(ranges: number): number {
  const p = tcpPair({ ...big, tcpReassemblyRanges: ranges, tcpSackRanges: ranges }, { rateBps: 1e9, delayMs: 5, queueFrames: 4096 });
  let dataFrames = 0;
  const inner = p.ra.transmit.bind(p.ra);
  p.ra.transmit = (frame, offset, length, now) => {
    if (length > 1000 && ++dataFrames >= 400 && dataFrames < 700 && (dataFrames & 1) === 0) return 0; // lost on the wire
    return inner(frame, offset, length, now);
  };
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 7000);
  const data = pattern(16 << 20, 5);
  const got = transfer(p.sim, p.a, cfd, p.b, sfd, data, 600_000);
  assert.deepEqual(got, data);
  assert.ok(dataFrames > 700);
  return p.b.stats.tcp.reassemblyDropped;
}

test('with 4 MiB buffers the default plans enough ranges to keep every out-of-order segment of a window with 150 holes', () => {
  const fixed = run(32);
  assert.ok(fixed > 0, 'with the old 32 ranges the receiver drops out-of-order data (the case this guards)');
  assert.equal(run(0), 0, `out-of-order segments dropped with derived ranges (32 ranges dropped ${fixed})`);
});

test('the default buffers keep 32 ranges: the memory plan does not grow', () => {
  const p = tcpPair();
  const q = tcpPair({ tcpReassemblyRanges: 32, tcpSackRanges: 32 });
  assert.equal(p.a.memory.totalBytes, q.a.memory.totalBytes);
  assert.equal(p.a.memory.parts.tcbRanges, q.a.memory.parts.tcbRanges);
});
