import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, MemoryLink } from '../../src/index.js';

test('invalid capacities are rejected at construction with the field named', () => {
  assert.throws(() => new Stack({ maxSockets: 0 }), /maxSockets/);
  assert.throws(() => new Stack({ arpCacheSize: -1 }), /arpCacheSize/);
  assert.throws(() => new Stack({ udpRecvBufferBytes: 1.5 }), /udpRecvBufferBytes/);
  assert.throws(() => new Stack({ maxMtu: 100000 }), /maxMtu/);
  assert.throws(() => new Stack({ bogus: 1 } as never), /unknown Stack config field 'bogus'/);
});

test('bad interface configuration throws a clear error', () => {
  const s = new Stack({ maxInterfaces: 2 });
  const [l1, l2] = MemoryLink.pair();
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.300/24' }), /not an IPv4 address/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.1/40' }), /prefix length/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.0/24' }), /network or broadcast/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.255/24' }), /network or broadcast/);
  assert.throws(() => s.addInterface(l1, { address: '224.0.0.1/24' }), /unicast/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.1/24', gateway: '10.9.9.9' }), /not inside/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.1/24', mtu: 9000 }), /MTU/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.1/24', mac: '01:00:5e:00:00:01' }), /group/);
  assert.throws(() => s.addInterface(l1, { address: '10.0.0.1/24', mac: 'zz:00:5e:00:00:01' }), /invalid MAC/);
  s.addInterface(l1, { address: '10.0.0.1/24' });
  assert.throws(() => s.addInterface(l2, { address: '10.0.0.1/16' }), /duplicate address/);
  s.addInterface(l2, { address: '10.1.0.1/16' });
  const [l3] = MemoryLink.pair();
  assert.throws(() => s.addInterface(l3, { address: '10.2.0.1/16' }), /maxInterfaces/);
});

test('a configured MAC is used and a generated one is unicast and locally administered', () => {
  const s = new Stack({ seed: 9 });
  const [l1, l2] = MemoryLink.pair();
  const i1 = s.addInterface(l1, { address: '10.0.0.1/24', mac: '02:11:22:33:44:55' });
  const i2 = s.addInterface(l2, { address: '10.1.0.1/24' });
  assert.equal(i1.mac, '02:11:22:33:44:55');
  const first = parseInt(i2.mac.slice(0, 2), 16);
  assert.equal(first & 1, 0);
  assert.equal(first & 2, 2);
});

test('memory is planned from the config, reported by part and fixed after construction', () => {
  const small = new Stack({ maxUdpSockets: 4, udpRecvBufferBytes: 4096 });
  const big = new Stack({ maxUdpSockets: 8, udpRecvBufferBytes: 4096 });
  const sum = (m: { parts: Record<string, number> }) => Object.values(m.parts).reduce((x, y) => x + y, 0);
  assert.equal(sum(small.memory), small.memory.totalBytes);
  // Each ring: its bytes, and with IPv6 (default) 17 bytes per record slot (family + IPv6 source) for the 64 datagrams.
  assert.equal(small.memory.parts.udpRecvBuffers, 4 * (4096 + 17 * 64));
  assert.equal(big.memory.parts.udpRecvBuffers, 8 * (4096 + 17 * 64));
  assert.equal(new Stack({ maxUdpSockets: 4, udpRecvBufferBytes: 4096, ipv6: false }).memory.parts.udpRecvBuffers, 4 * 4096);
  assert.deepEqual(Stack.planMemory({ maxUdpSockets: 4, udpRecvBufferBytes: 4096 }), small.memory);
  const frame = 1500 + 14;
  assert.equal(new Stack({ arpPendingFrames: 10 }).memory.parts.arpPending >= 10 * frame, true);
  // By default the transmit buffer holds a whole 64 KiB datagram, fragmented in place, plus 88 bytes of tailroom for IPsec.
  assert.equal(new Stack({ maxMtu: 9000, ipMaxDatagramBytes: 576 }).memory.parts.txFrame, 9104);
  assert.equal(new Stack({ maxMtu: 9000 }).memory.parts.txFrame, 65640);
  assert.equal(new Stack({ maxMtu: 9000, ipMaxDatagramBytes: 576, ipsecMaxSa: 0, ipsecMaxSp: 0 }).memory.parts.txFrame, 9016);
  assert.equal(new Stack({ ipReassemblySlots: 0 }).memory.parts.ipReassembly, 0);
});
