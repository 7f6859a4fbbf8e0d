/** IPv6 network layer in virtual time: two stacks on an 'ip' cable, and a raw peer injecting crafted packets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, MemoryLink, Simulation } from '../../src/index.js';
import { ipPair, ipLink, RawPeer, echoRequest, fragments, packet } from '../helpers/ip6.js';

test('ping6 both ways, to our own address, and the IPv4 side still works', async () => {
  const { a, b, sim } = ipPair();
  const rtt = await sim.until(a.ping('fd00::2'));
  assert.equal(typeof rtt, 'number');
  await sim.until(b.ping('fd00::1'));
  await sim.until(a.ping('fd00::1'));
  await sim.until(a.ping('10.0.0.2'));
  assert.equal(a.stats.icmp6.echoRepliesIn, 2);
  assert.equal(b.stats.icmp6.echoRequestsIn, 1);
  assert.equal(a.stats.icmp6.echoRequestsIn, 2); // b's ping and our own
  await assert.rejects(a.ping('fd01::1'), { code: 'ENETUNREACH' });
  await assert.rejects(a.ping('fd00::zz'), { code: 'EINVAL' });
  const info = a.interfaceList()[0];
  assert.deepEqual(info.addresses6, ['fd00::1/64']);
  assert.ok(a.routeTable().some((r) => r.destination === 'fd00::/64'));
});

test('a 4000-byte ping6 goes out in fragments and comes back reassembled', async () => {
  const { a, b, sim } = ipPair();
  await sim.until(a.ping('fd00::2', { size: 4000 }));
  assert.equal(a.stats.ip6.fragmentedOut, 1);
  assert.equal(a.stats.ip6.fragmentsOut, 3);
  assert.equal(b.stats.ip6.reassembled, 1);
  assert.equal(b.stats.ip6.fragmentedOut, 1);
  assert.equal(a.stats.ip6.reassembled, 1);
  assert.equal(a.reassemblyBusy + b.reassemblyBusy, 0);
  // To ourselves the same way (through the loopback queue).
  await sim.until(a.ping('fd00::1', { size: 3000 }));
  assert.equal(a.stats.ip6.reassembled, 3);
});

test('reassembly: in any order, exact duplicates ignored, overlaps drop the packet (RFC 5722)', () => {
  const p = new RawPeer();
  const whole = echoRequest(1, 1, 3000);
  const fr = fragments(whole, [[0, 1448], [1448, 1448], [2896, 112]], 77);
  p.send(fr[2]);
  p.send(fr[0]);
  p.send(fr[0]);
  p.send(fr[1]);
  assert.equal(p.b.stats.ip6.fragmentDuplicates, 1);
  assert.equal(p.b.stats.ip6.reassembled, 1);
  assert.equal(p.b.stats.icmp6.echoRepliesOut, 1);
  // Overlap: the second piece starts 8 bytes early.
  const ov = fragments(whole, [[0, 1448], [1440, 1456], [2896, 112]], 78);
  for (const f of ov) p.send(f);
  assert.equal(p.b.stats.ip6.reassemblyOverlaps, 1);
  assert.equal(p.b.stats.ip6.reassembled, 1);
  assert.ok(p.b.stats.ip6.reassemblyDropped >= 1, 'the fragment after the overlap is dropped too');
  assert.equal(p.b.stats.icmp6.echoRepliesOut, 1);
  // The dead slot goes at the timeout (60 s, RFC 8200 §4.5) without a Time Exceeded (nothing reassembled to quote).
  assert.equal(p.b.reassemblyBusy6, 1, 'the dead slot is held');
  p.run(59000);
  assert.equal(p.b.reassemblyBusy6, 1, 'held past IPv4\'s 30 s');
  p.run(2000);
  assert.equal(p.b.reassemblyBusy6, 0);
});

test('an incomplete packet times out after 60 s (RFC 8200 §4.5, not IPv4\'s 30 s) with Time Exceeded code 1 when fragment 0 arrived', () => {
  const p = new RawPeer();
  const fr = fragments(echoRequest(1, 2, 3000), [[0, 1448], [1448, 1448]], 5);
  p.send(fr[0]);
  p.run(31000);
  assert.equal(p.b.stats.ip6.reassemblyTimeouts, 0, 'still waiting past IPv4\'s 30 s');
  assert.equal(p.b.reassemblyBusy6, 1);
  p.run(28000);
  assert.equal(p.b.stats.ip6.reassemblyTimeouts, 0, 'still waiting at 59 s');
  p.run(2000);
  assert.equal(p.b.stats.ip6.reassemblyTimeouts, 1);
  assert.equal(p.b.reassemblyBusy6, 0);
  assert.deepEqual(p.icmp().at(-1), [3, 1, 0]);
  // Its own key: ip6ReassemblyTimeoutMs, independent of ipReassemblyTimeoutMs.
  const q = new RawPeer({ ip6ReassemblyTimeoutMs: 5000, ipReassemblyTimeoutMs: 600000 });
  q.send(fragments(echoRequest(1, 3, 3000), [[0, 1448], [1448, 1448]], 6)[0]);
  q.run(6000);
  assert.equal(q.b.stats.ip6.reassemblyTimeouts, 1);
});

test('an atomic fragment is processed as a whole packet (RFC 6946)', () => {
  const p = new RawPeer();
  const [f] = fragments(echoRequest(1, 3, 100), [[0, 108]], 9);
  p.send(f);
  assert.equal(p.b.stats.ip6.atomicFragments, 1);
  assert.equal(p.b.stats.icmp6.echoRepliesOut, 1);
  assert.equal(p.b.reassemblyBusy, 0);
});

test('bad fragments: M set with a length not a multiple of 8, past 65535, first without the header chain', () => {
  const p = new RawPeer();
  const whole = echoRequest(1, 4, 3000);
  p.send(fragments(whole, [[0, 1447]], 10)[0]);
  assert.deepEqual(p.icmp().at(-1), [4, 0, 4]); // Parameter Problem at the payload length
  p.send(fragments(whole, [[65528, 16]], 11)[0]);
  assert.deepEqual(p.icmp().at(-1), [4, 0, 42]); // at the fragment offset field
  // RFC 7112: a first fragment holding only 2 bytes of the ICMPv6 header.
  p.send(fragments(whole, [[0, 8]], 12)[0].subarray(0, 48 + 2));
  assert.equal(p.b.stats.ip6.badPayloadLength, 1); // truncated on purpose: payload length says 16
  const short = fragments(packet(60, new Uint8Array([58, 0, 1, 4, 0, 0, 0, 0, 128, 0])), [[0, 8]], 13)[0];
  p.send(short);
  assert.deepEqual(p.icmp().at(-1), [4, 3, 0]);
  assert.equal(p.b.stats.ip6.fragmentsMalformed, 3);
});

test('extension headers: unknown next header and options → Parameter Problem; routing header with segments left', () => {
  const p = new RawPeer();
  // Unknown next header 253 right after the fixed header: code 1, pointer 6.
  p.send(packet(253, new Uint8Array(8)));
  assert.deepEqual(p.icmp().at(-1), [4, 1, 6]);
  // Destination options with an unknown option of action 10: code 2, pointer at the option (40 + 2).
  p.send(packet(60, new Uint8Array([59, 0, 0x87, 2, 0, 0, 1, 0])));
  assert.deepEqual(p.icmp().at(-1), [4, 2, 42]);
  assert.equal(p.b.stats.ip6.unknownOption, 1);
  // Action 01: dropped silently.
  const before = p.icmp().length;
  p.send(packet(60, new Uint8Array([59, 0, 0x47, 2, 0, 0, 1, 0])));
  assert.equal(p.icmp().length, before);
  assert.equal(p.b.stats.ip6.unknownOption, 2);
  // Skippable option then an echo: answered.
  const e = echoRequest(2, 1, 8);
  const body = new Uint8Array(8 + e.length - 40);
  body.set([58, 0, 0x07, 4, 0, 0, 0, 0]);
  body.set(e.subarray(40), 8);
  p.send(packet(60, body));
  assert.equal(p.b.stats.icmp6.echoRepliesOut, 1, 'answered through the destination options');
  // Hop-by-hop not first: code 1 at the destination options' next header field (40).
  p.send(packet(60, new Uint8Array([0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0])));
  assert.deepEqual(p.icmp().at(-1), [4, 1, 40]);
  // Routing header type 0 with segments left: code 0 at the routing type (42).
  p.send(packet(43, new Uint8Array([59, 0, 0, 1, 0, 0, 0, 0])));
  assert.deepEqual(p.icmp().at(-1), [4, 0, 42]);
  // No next header: counted, nothing sent.
  p.send(packet(59, new Uint8Array(0)));
  assert.equal(p.b.stats.ip6.noNextHeader >= 1, true);
});

test('forwarding: hop limit exceeded → Time Exceeded; too big for the next link → Packet Too Big → path MTU', async () => {
  // a (fd00::1) —— r (fd00::2 | fd01::1, MTU 1280 on the far side) —— c (fd01::2)
  const [la, lr1] = MemoryLink.pair({ seed: 1, mtu: 1500 });
  const [lr2, lc] = MemoryLink.pair({ seed: 2, mtu: 1280 });
  const a = new Stack({ seed: 1 });
  const r = new Stack({ seed: 2, ipForwarding: true });
  const c = new Stack({ seed: 3 });
  a.addInterface(ipLink(la), { address: 'fd00::1/64', gateway: 'fd00::2' });
  r.addInterface(ipLink(lr1), { address: 'fd00::2/64' });
  r.addInterface(ipLink(lr2), { address: 'fd01::1/64' });
  c.addInterface(ipLink(lc), { address: 'fd01::2/64', gateway6: 'fd01::1' });
  const sim = new Simulation([a, r, c]);
  await sim.until(a.ping('fd01::2'));
  assert.equal(r.stats.ip6.forwarded, 2);
  await assert.rejects(sim.until(a.ping('fd01::2', { ttl: 1 })), (e: Error & { code: string }) =>
    e.code === 'ETIME' && /from fd00::2/.test(e.message));
  assert.equal(r.stats.ip6.hopLimitExceeded, 1);
  // 1400 bytes fit a's link but not r's next one: PTB, the ping is lost, the next one goes in fragments.
  await assert.rejects(sim.until(a.ping('fd01::2', { size: 1400, timeoutMs: 500 })), { code: 'ETIMEDOUT' });
  assert.equal(r.stats.ip6.tooBig, 1);
  assert.equal(a.stats.icmp6.pmtuUpdated, 1);
  await sim.until(a.ping('fd01::2', { size: 1400 }));
  assert.equal(a.stats.ip6.fragmentedOut, 1);
  assert.equal(c.stats.ip6.reassembled, 1);
});

test('IPv6 off plans nothing for it and refuses IPv6 configuration', () => {
  const on = Stack.planMemory({});
  const off = Stack.planMemory({ ipv6: false });
  assert.ok(on.parts.routes6 > 0 && off.parts.routes6 === undefined);
  const s = new Stack({ ipv6: false });
  const [l] = MemoryLink.pair();
  assert.throws(() => s.addInterface(ipLink(l), { address: 'fd00::1/64' }), /ipv6: false/);
});

test('address and route API: lists, duplicates, full tables, gateways', () => {
  // 4 routes: fe80::/64 of the link-local address (slaac.ts), fd00::/64, the default route, one static.
  const s = new Stack({ ipv6AddressesPerInterface: 3, routes6: 4 });
  const [l1, l2] = MemoryLink.pair();
  assert.throws(() => s.addInterface(l1, { address: ['fd00::1/64', 'fd00::2/64', 'fd00::3/64', 'fd00::4/64'] }), /ipv6AddressesPerInterface/);
  assert.throws(() => s.addInterface(l1, { address: ['10.0.0.1/24', '10.0.0.2/24'] }), /one IPv4 address/);
  assert.throws(() => s.addInterface(l1, { address: 'ff02::1/64' }), /not a usable/);
  s.addInterface(l1, { address: ['fd00::1/64', '10.0.0.1/24'], gateway: 'fd00::ff' });
  assert.throws(() => s.addInterface(l2, { address: 'fd00::1/64' }), /duplicate/);
  s.addRoute('fd09::/48', 'fd00::fe');
  assert.throws(() => s.addRoute('fd0a::/48', 'fd00::fe'), /routing table full/);
  assert.throws(() => s.addRoute('fd0a::/48', 'fd77::1'), /not on any connected/);
  assert.ok(s.removeRoute('fd09::/48', { interface: 0 }));
  s.addRoute('fd0a::/48', { interface: 0 });
  const t = s.routeTable().map((r) => `${r.destination} ${r.gateway}`);
  assert.deepEqual(t.filter((x) => x.includes(':') && !x.startsWith('fe80')).sort(), ['::/0 fd00::ff', 'fd00::/64 null', 'fd0a::/48 null']);
});

test('over Ethernet with neighbour discovery: ping6 both ways (global and link-local), 4000 bytes in fragments', async () => {
  const [la, lb] = MemoryLink.pair({ seed: 9 });
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(la, { address: 'fd00::1/64', mac: '02:00:00:00:00:0a' });
  b.addInterface(lb, { address: 'fd00::2/64', mac: '02:00:00:00:00:0b' });
  const sim = new Simulation([a, b]);
  sim.advance(3000); // link-local DAD and router solicitations run out
  await sim.until(a.ping('fd00::2'));
  await sim.until(b.ping('fd00::1'));
  await sim.until(a.ping('fe80::ff:fe00:b')); // b's EUI-64 link-local (02:00:00:00:00:0b → 00:00:00:ff:fe:00:00:0b)
  await sim.until(a.ping('fd00::2', { size: 4000 }));
  assert.equal(b.stats.ip6.reassembled, 1);
  assert.equal(a.stats.ip6.reassembled, 1);
  assert.equal(a.stats.ip6.noNeighbour, 0);
  await assert.rejects(sim.until(a.ping('fd00::77', { timeoutMs: 5000 })), { code: 'EHOSTUNREACH' });
});

test('route6 answers from its memo only while routes and addresses are unchanged', async () => {
  const { Route6Record } = await import('../../src/engine/routes6.js');
  const { ADDR6_PREFERRED } = await import('../../src/engine/netif.js');
  const s = new Stack({ ipv6AddressesPerInterface: 3, routes6: 4 });
  const [l1] = MemoryLink.pair();
  s.addInterface(l1, { address: ['fd00::1/64'], gateway: 'fd00::ff' });
  const ip6 = s.ip6;
  assert.ok(ip6 !== null);
  const r = new Route6Record();
  const dst = new Uint8Array([0xfd, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]); // fd09::7, off-link
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  assert.equal(ip6.ip.route6(r, dst, 0, null, 0), 0);
  assert.equal(hex(r.nextHop), 'fd0000000000000000000000000000ff'); // the default route's gateway
  assert.equal(ip6.ip.route6(r, dst, 0, null, 0), 0); // a memo hit: the same answer
  assert.equal(hex(r.nextHop), 'fd0000000000000000000000000000ff');
  s.addRoute('fd09::/48', 'fd00::fe'); // a more specific route: the memo must not answer
  assert.equal(ip6.ip.route6(r, dst, 0, null, 0), 0);
  assert.equal(hex(r.nextHop), 'fd0000000000000000000000000000fe');
  // A new address of a longer common prefix with the destination wins source selection (RFC 6724 rule 8).
  const iface = s.interfaces[0];
  const a2 = new Uint8Array(dst);
  a2[15] = 1;
  assert.ok(iface.addAddress6(a2, 0, 48, ADDR6_PREFERRED, 0) >= 0);
  assert.equal(ip6.ip.route6(r, dst, 0, null, 0), 0);
  assert.equal(hex(r.src), 'fd090000000000000000000000000001');
  // A destination we now own goes through the loopback queue.
  assert.equal(ip6.ip.route6(r, a2, 0, null, 0), 0);
  assert.ok(r.local);
  assert.ok(s.removeRoute('fd09::/48', { interface: 0 }));
  iface.removeAddress6(iface.findAddress6(a2, 0));
  assert.equal(ip6.ip.route6(r, a2, 0, null, 0), 0);
  assert.ok(!r.local);
  assert.equal(hex(r.src), 'fd000000000000000000000000000001');
  assert.equal(hex(r.nextHop), 'fd0000000000000000000000000000ff');
});

test('route6: a record that holds the memo\'s answer keeps it, others get it copied, a failed walk leaves no stale stamp', async () => {
  const { Route6Record } = await import('../../src/engine/routes6.js');
  const s = new Stack({ routes6: 4 });
  const [l1] = MemoryLink.pair();
  s.addInterface(l1, { address: ['fd00::1/64'], gateway: 'fd00::ff' });
  const ip6 = s.ip6;
  assert.ok(ip6 !== null);
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const r1 = new Route6Record();
  const r2 = new Route6Record();
  const onLink = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]); // fd00::7: on-link, next hop itself
  const offLink = new Uint8Array([0xfd, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]); // fd09::7: via the gateway
  assert.equal(ip6.ip.route6(r1, onLink, 0, null, 0), 0);
  assert.equal(hex(r1.nextHop), 'fd000000000000000000000000000007');
  assert.equal(ip6.ip.route6(r2, onLink, 0, null, 0), 0); // a memo hit into a record that never held it
  assert.equal(hex(r2.nextHop), 'fd000000000000000000000000000007');
  assert.equal(hex(r2.src), 'fd000000000000000000000000000001');
  assert.equal(r2.iface, s.interfaces[0]);
  assert.equal(ip6.ip.route6(r2, offLink, 0, null, 0), 0); // the memo moves on
  assert.equal(hex(r2.nextHop), 'fd0000000000000000000000000000ff');
  assert.equal(ip6.ip.route6(r1, offLink, 0, null, 0), 0); // r1 held the old answer: it gets the new one
  assert.equal(hex(r1.nextHop), 'fd0000000000000000000000000000ff');
  assert.equal(ip6.ip.route6(r1, onLink, 0, null, 0), 0);
  assert.equal(hex(r1.nextHop), 'fd000000000000000000000000000007');
  // A walk that fails (no usable source) leaves the record without a stamp: the next hit must rewrite it.
  const bound = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(ip6.ip.route6(r2, onLink, 0, bound, 0), 0);
  assert.ok(s.removeRoute('::/0', { interface: 0 }));
  assert.ok(ip6.ip.route6(r2, offLink, 0, null, 0) < 0); // no route now
  assert.equal(r2.stamp, -1);
  assert.equal(ip6.ip.route6(r2, onLink, 0, bound, 0), 0);
  assert.equal(hex(r2.nextHop), 'fd000000000000000000000000000007');
  assert.equal(hex(r2.src), 'fd000000000000000000000000000001');
});
