/**
 * EMBEDDED_CONFIG (shaped like wolfIP's defaults) is a working stack, not
 * only a small number: TCP both ways byte-exact through its 32/20 KiB
 * buffers, a fragmented UDP datagram reassembled in its one slot, and its
 * tables full with the defined errors rather than growth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMBEDDED_CONFIG, Errno, Stack } from '../../src/index.js';
import { tcpPair, connect, transfer, pattern, waitFor, B_IP } from '../tcp/helpers.js';

test('EMBEDDED_CONFIG: its plan is small and lists only bounded parts', () => {
  const m = Stack.planMemory(EMBEDDED_CONFIG);
  // Buffers dominate: 4 x (32 + 20) KiB of TCP buffers out of the total.
  assert.ok(m.parts.tcpSendBuffers === 4 * 32768 && m.parts.tcpRecvBuffers === 4 * 20480, JSON.stringify(m.parts));
  assert.ok(m.totalBytes < 2 * (4 * (32768 + 20480)), `total ${m.totalBytes}`);
});

test('EMBEDDED_CONFIG: TCP both ways byte-exact, fragments reassembled, full tables refuse', () => {
  const p = tcpPair(EMBEDDED_CONFIG);
  const c = connect(p.sim, p.a, p.b, B_IP, 7);
  const up = pattern(300_000, 3);
  assert.deepEqual(transfer(p.sim, p.a, c.cfd, p.b, c.sfd, up), up);
  const down = pattern(200_000, 5);
  assert.deepEqual(transfer(p.sim, p.b, c.sfd, p.a, c.cfd, down), down);

  // A 4000-byte datagram leaves in three fragments and is rebuilt in the 8 KiB slot.
  const rx = p.b.sockets.socket('udp');
  assert.equal(p.b.sockets.bind(rx, 0, 9000), 0);
  const tx = p.a.sockets.socket('udp');
  const dgram = pattern(4000, 9);
  assert.equal(p.a.sockets.sendto(tx, dgram, 0, dgram.length, B_IP, 9000), dgram.length);
  const buf = new Uint8Array(8192);
  waitFor(p.sim, () => p.b.stats.udp.delivered > 0, 1000);
  assert.equal(p.b.sockets.recvfrom(rx, buf, 0, buf.length, null), dgram.length);
  assert.deepEqual(buf.subarray(0, dgram.length), dgram);
  const big = pattern(9000, 1);
  assert.equal(p.a.sockets.sendto(tx, big, 0, big.length, B_IP, 9000), -Errno.EMSGSIZE,
    'larger than ipMaxDatagramBytes (8 KiB): refused at the sender, as configured');

  // Two UDP sockets is the limit; the third is refused with a defined error.
  assert.equal(p.a.sockets.socket('udp') >= 0, true);
  const third = p.a.sockets.socket('udp');
  assert.ok(third < 0, `third UDP socket: ${third}`);
});
