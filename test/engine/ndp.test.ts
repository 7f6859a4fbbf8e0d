/**
 * Neighbour discovery, DAD, SLAAC and RDNSS in virtual time against frames
 * built here byte by byte (independent of src/wire): link-local address and
 * DAD at start, router solicitation, DAD conflicts, NS/NA resolution with
 * parked frames, RA → SLAAC address + default route + RDNSS, lifetimes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/index.js';
import { FrameTap, refChecksum, mac } from '../helpers/frames.js';
import { formatIpv6, parseIpv6 } from '../../src/wire/ipv6addr.js';
import { ADDR6_PREFERRED, ADDR6_TENTATIVE, ADDR6_DEPRECATED, ADDR6_FREE } from '../../src/engine/netif.js';
import type { NetInterface } from '../../src/engine/netif.js';
import { Route6Record } from '../../src/engine/routes6.js';

const OUR_MAC = '02:00:00:00:00:0a';
const OUR_LL = 'fe80::ff:fe00:a'; // modified EUI-64 of 02:00:00:00:00:0a (u/l bit flipped to 0)
const PEER_MAC = '02:00:00:00:00:0b';
const PEER_LL = 'fe80::b';
const ROUTER_LL = 'fe80::1';

function a6(text: string): Uint8Array {
  const b = new Uint8Array(16);
  assert.ok(parseIpv6(text, b, 0), text);
  return b;
}

/** ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1), written here independently. */
function icmp6Sum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  const ph = new Uint8Array(40 + msg.length);
  ph.set(src, 0);
  ph.set(dst, 16);
  ph[34] = msg.length >> 8;
  ph[35] = msg.length & 255;
  ph[39] = 58;
  ph.set(msg, 40);
  return refChecksum(ph);
}

/** Ethernet + IPv6 + ICMPv6 frame with a correct checksum. */
function ndFrame(ethDst: string, ethSrc: string, src: string, dst: string, msg: number[], hopLimit = 255): Uint8Array {
  const m = Uint8Array.from(msg);
  const s = a6(src);
  const d = a6(dst);
  m[2] = 0;
  m[3] = 0;
  const c = icmp6Sum(s, d, m);
  m[2] = c >> 8;
  m[3] = c & 255;
  const f = new Uint8Array(14 + 40 + m.length);
  f.set(mac(ethDst), 0);
  f.set(mac(ethSrc), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = m.length >> 8;
  f[19] = m.length & 255;
  f[20] = 58;
  f[21] = hopLimit;
  f.set(s, 22);
  f.set(d, 38);
  f.set(m, 54);
  return f;
}

const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const lla = (type: number, m: string): number[] => [type, 1, ...mac(m)];
const na = (flags: number, target: string, tlla?: string): number[] =>
  [136, 0, 0, 0, flags, 0, 0, 0, ...a6(target), ...(tlla !== undefined ? lla(2, tlla) : [])];
const ns = (target: string, slla?: string): number[] =>
  [135, 0, 0, 0, 0, 0, 0, 0, ...a6(target), ...(slla !== undefined ? lla(1, slla) : [])];
const prefixOpt = (prefix: string, len: number, flags: number, valid: number, preferred: number): number[] =>
  [3, 4, len, flags, ...be32(valid), ...be32(preferred), 0, 0, 0, 0, ...a6(prefix)];
const rdnssOpt = (lifetime: number, ...servers: string[]): number[] =>
  [25, 1 + 2 * servers.length, 0, 0, ...be32(lifetime), ...servers.flatMap((s) => [...a6(s)])];
const ra = (routerLifetime: number, ...opts: number[][]): number[] =>
  [134, 0, 0, 0, 64, 0, routerLifetime >> 8, routerLifetime & 255, 0, 0, 0, 0, 0, 0, 0, 0, ...opts.flat()];

interface Sent { ethDst: string; src: string; dst: string; hop: number; type: number; msg: Uint8Array }

function parse(f: Uint8Array): Sent | null {
  if (f[12] !== 0x86 || f[13] !== 0xdd || f[20] !== 58) return null;
  const len = (f[18] << 8) | f[19];
  const msg = f.slice(54, 54 + len);
  const src = f.slice(22, 38);
  const dst = f.slice(38, 54);
  assert.equal(icmp6Sum(src, dst, msg), 0, 'ICMPv6 checksum of a sent ND message');
  return {
    ethDst: [...f.slice(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
    src: formatIpv6(src, 0), dst: formatIpv6(dst, 0), hop: f[21], type: msg[0], msg,
  };
}

function setup(config: ConstructorParameters<typeof Stack>[0] = {}) {
  const stack = new Stack({ seed: 5, ...config });
  const tap = new FrameTap('tap0');
  stack.addInterface(tap, { mac: OUR_MAC, address: '10.0.0.2/24' });
  const iface = stack.interfaces[0];
  const nd = stack.ip6!.nd;
  let now = 0;
  const sent = (): Sent[] => tap.take().map(parse).filter((x): x is Sent => x !== null);
  /** Deliver an ND frame to ND input as IPv6/ICMPv6 input will. */
  const deliver = (f: Uint8Array): void => {
    const len = (f[18] << 8) | f[19];
    nd.input(iface, f, 14, 54, len);
  };
  const run = (until: number, step = 100): void => {
    for (; now <= until; now += step) stack.poll(now);
    now = until;
  };
  return { stack, tap, iface, nd, sent, deliver, run, at: () => now };
}

/** The IPv6 routing table as text (the engine keeps it protected). */
function routes6(stack: Stack): Array<{ destination: string; gateway: string | null }> {
  const t = stack.ip6!.routes;
  return t.list().map((r) => ({
    destination: `${formatIpv6(r.dest, 0)}/${r.prefixLength}`, gateway: r.gateway === null ? null : formatIpv6(r.gateway, 0),
  }));
}

function slotOf(iface: NetInterface, text: string): number {
  return iface.findAddress6(a6(text), 0);
}

test('start: link-local by modified EUI-64, tentative, DAD probe from ::, then preferred; RS to all-routers', () => {
  const { iface, sent, run, stack } = setup();
  const k = slotOf(iface, OUR_LL);
  assert.ok(k >= 0, 'link-local configured');
  assert.equal(iface.addr6State[k], ADDR6_TENTATIVE);
  run(1000);
  const first = sent();
  const dad = first.filter((s) => s.type === 135);
  assert.equal(dad.length, 1, 'one DAD probe (DupAddrDetectTransmits 1)');
  assert.equal(dad[0].src, '::');
  assert.equal(dad[0].dst, 'ff02::1:ff00:a');
  assert.equal(dad[0].ethDst, '33:33:ff:00:00:0a');
  assert.equal(dad[0].hop, 255);
  assert.equal(dad[0].msg.length, 24, 'no SLLA from the unspecified address');
  assert.equal(formatIpv6(dad[0].msg, 8), OUR_LL);
  const rs = first.filter((s) => s.type === 133);
  assert.equal(rs.length, 1);
  assert.equal(rs[0].dst, 'ff02::2');
  assert.equal(rs[0].ethDst, '33:33:00:00:00:02');
  run(2100);
  assert.equal(iface.addr6State[k], ADDR6_PREFERRED);
  assert.equal(stack.stats.nd6.dadPassed, 1);
  // Two more RSs 4 s apart (MAX_RTR_SOLICITATIONS 3), now from the link-local address with SLLA.
  run(20000, 500);
  const later = sent().filter((s) => s.type === 133);
  assert.equal(later.length, 2);
  assert.equal(later[0].src, OUR_LL);
  assert.deepEqual([...later[0].msg.slice(8, 16)], [1, 1, ...mac(OUR_MAC)]);
});

test('DAD conflict: an NA for the tentative address removes it, counted and reported', () => {
  const { iface, nd, sent, run, deliver, stack } = setup();
  const conflicts: string[] = [];
  nd.slaac.onConflict = (_i, a) => conflicts.push(a);
  run(1000);
  sent();
  deliver(ndFrame('33:33:00:00:00:01', PEER_MAC, OUR_LL, 'ff02::1', na(0x20, OUR_LL, PEER_MAC)));
  assert.equal(slotOf(iface, OUR_LL), -1, 'the duplicate address is not used');
  assert.equal(stack.stats.nd6.dadConflicts, 1);
  assert.deepEqual(conflicts, [OUR_LL]);
  run(5000);
  assert.equal(stack.stats.nd6.dadPassed, 0);
  // No source address now: RSs go from :: without SLLA.
  for (const s of sent().filter((x) => x.type === 133)) assert.equal(s.src, '::');
});

test('DAD conflict: another node probing the same tentative address (NS from ::)', () => {
  const { iface, run, deliver, stack } = setup();
  run(200);
  deliver(ndFrame('33:33:ff:00:00:0a', PEER_MAC, '::', 'ff02::1:ff00:a', ns(OUR_LL)));
  assert.equal(slotOf(iface, OUR_LL), -1);
  assert.equal(stack.stats.nd6.dadConflicts, 1);
});

test('NS for our address: solicited NA with TLLA to the sender, who is cached STALE; a probe for it is defended', () => {
  const { nd, sent, run, deliver, stack } = setup();
  run(2500);
  sent();
  deliver(ndFrame('33:33:ff:00:00:0a', PEER_MAC, PEER_LL, 'ff02::1:ff00:a', ns(OUR_LL, PEER_MAC)));
  const out = sent();
  assert.equal(out.length, 1);
  assert.equal(out[0].type, 136);
  assert.equal(out[0].ethDst, PEER_MAC);
  assert.equal(out[0].dst, PEER_LL);
  assert.equal(out[0].src, OUR_LL);
  assert.equal(out[0].msg[4], 0x60, 'S and O set, R clear');
  assert.deepEqual([...out[0].msg.slice(24, 32)], [2, 1, ...mac(OUR_MAC)]);
  const e = nd.entries();
  assert.equal(e.length, 1);
  assert.equal(e[0].state, 'stale');
  // DAD probe by someone else for our preferred address: NA to all-nodes, not solicited.
  deliver(ndFrame('33:33:ff:00:00:0a', PEER_MAC, '::', 'ff02::1:ff00:a', ns(OUR_LL)));
  const d = sent();
  assert.equal(d.length, 1);
  assert.equal(d[0].dst, 'ff02::1');
  assert.equal(d[0].msg[4], 0x20);
  // Not ours: ignored and counted. Hop limit below 255: dropped.
  deliver(ndFrame('33:33:ff:00:00:0c', PEER_MAC, PEER_LL, 'ff02::1:ff00:c', ns('fe80::c', PEER_MAC)));
  deliver(ndFrame('33:33:ff:00:00:0a', PEER_MAC, PEER_LL, 'ff02::1:ff00:a', ns(OUR_LL, PEER_MAC), 64));
  assert.equal(sent().length, 0);
  assert.equal(stack.stats.nd6.notForUs, 1);
  assert.equal(stack.stats.nd6.badHopLimit, 1);
});

test('resolution: frames park (3 per neighbour, counted), NS multicast, NA sends them; silence fails after 3 NS', () => {
  const { iface, nd, sent, run, deliver, stack } = setup();
  run(2500);
  sent();
  const tx = stack.tx;
  const frame = (n: number): number => {
    tx.fill(0, 0, 100);
    tx[14] = 0x60;
    tx[21] = 64;
    tx.set(a6(OUR_LL), 22);
    tx.set(a6(PEER_LL), 38);
    tx[60] = n;
    return nd.output(iface, a6(PEER_LL), 0, tx, 0, 100);
  };
  for (let n = 1; n <= 5; n++) assert.equal(frame(n), 0, 'parked counts as sent');
  assert.equal(nd.pendingCount, 3);
  assert.equal(stack.stats.nd6.queueDropped, 2);
  const q = sent();
  assert.equal(q.length, 1, 'one solicitation, not one per frame');
  assert.equal(q[0].type, 135);
  assert.equal(q[0].dst, 'ff02::1:ff00:b');
  assert.equal(q[0].src, OUR_LL);
  deliver(ndFrame(OUR_MAC, PEER_MAC, PEER_LL, OUR_LL, na(0x60, PEER_LL, PEER_MAC)));
  const out = stack.interfaces[0].link as FrameTap;
  const frames = out.take();
  assert.deepEqual(frames.map((f) => f[60]), [3, 4, 5], 'the three newest, in order');
  for (const f of frames) assert.deepEqual([...f.slice(0, 6)], [...mac(PEER_MAC)]);
  assert.equal(nd.entries()[0].state, 'reachable');
  assert.equal(frame(6), 0);
  assert.equal(out.take().length, 1, 'sent at once to a reachable neighbour');
  // Another neighbour that never answers: 3 solicitations, then the frame is dropped.
  tx.set(a6('fe80::d'), 38);
  nd.output(iface, a6('fe80::d'), 0, tx, 0, 100);
  run(6000, 250);
  assert.equal(sent().filter((s) => s.type === 135 && s.dst === 'ff02::1:ff00:d').length, 3);
  assert.equal(stack.stats.nd6.resolveFailed, 1);
  assert.equal(nd.pendingCount, 0);
});

test('RA: default route, SLAAC address after DAD, RDNSS into dnsServers6, MTU; lifetimes expire', () => {
  const { iface, nd, sent, run, deliver, stack, at } = setup();
  run(2500);
  sent();
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(30,
    lla(1, '02:00:00:00:00:01'), prefixOpt('fd00::', 64, 0xc0, 20, 10), [5, 1, 0, 0, ...be32(1400)],
    rdnssOpt(15, 'fd00::1', 'fd00::53'))));
  const k = slotOf(iface, 'fd00::ff:fe00:a');
  assert.ok(k >= 0, 'SLAAC address formed from the prefix and the EUI-64 identifier');
  assert.equal(iface.addr6State[k], ADDR6_TENTATIVE);
  assert.deepEqual(stack.dnsServers6, ['fd00::1', 'fd00::53']);
  assert.equal(iface.mtu6, 1400);
  assert.equal(stack.stats.nd6.mtuApplied, 1);
  const rec = new Route6Record();
  assert.equal(stack.ip6!.ip.route6(rec, a6('2001:db8::1'), 0, null, 0), 0, 'routed through the RA default router');
  assert.equal(stack.ip6!.ip.flowMtu6(rec, a6('2001:db8::1'), 0), 1400 - 40, 'the RA MTU bounds what transports send');
  const routes = routes6(stack);
  assert.ok(routes.some((r) => r.destination === '::/0' && r.gateway === ROUTER_LL), JSON.stringify(routes));
  assert.ok(routes.some((r) => r.destination === 'fd00::/64' && r.gateway === null));
  const router = nd.entries().find((e) => formatIpv6(e.address, 0) === ROUTER_LL);
  assert.ok(router !== undefined && router.router && router.state === 'stale');
  const t0 = at();
  run(t0 + 1500);
  const dad = sent().filter((s) => s.type === 135);
  assert.equal(dad.length, 1);
  assert.equal(dad[0].src, '::');
  assert.equal(iface.addr6State[k], ADDR6_PREFERRED);
  run(t0 + 10000);
  assert.equal(iface.addr6State[k], ADDR6_DEPRECATED, 'preferred lifetime (10 s) over');
  run(t0 + 15000);
  assert.deepEqual(stack.dnsServers6, [], 'RDNSS lifetime (15 s) over');
  run(t0 + 20000);
  assert.equal(iface.addr6State[k], ADDR6_FREE, 'valid lifetime (20 s) over: removed');
  assert.equal(slotOf(iface, 'fd00::ff:fe00:a'), -1);
  assert.ok(routes6(stack).some((r) => r.destination === '::/0'), 'router lifetime (30 s) not over yet');
  assert.ok(!routes6(stack).some((r) => r.destination === 'fd00::/64'), 'on-link prefix gone with its valid lifetime');
  run(t0 + 30000);
  assert.ok(!routes6(stack).some((r) => r.destination === '::/0'), 'router lifetime over: default route removed');
});

test('two-hour rule (RFC 4862 §5.5.3 e): a short valid lifetime cannot cut an address below two hours', () => {
  const { iface, run, deliver } = setup();
  run(2500);
  const H = 3600;
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(0, prefixOpt('fd00::', 64, 0xc0, 5 * H, 5 * H))));
  const k = slotOf(iface, 'fd00::ff:fe00:a');
  const now = 2500;
  assert.equal(iface.addr6Valid[k], now + 5 * H * 1000);
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(0, prefixOpt('fd00::', 64, 0xc0, 60, 60))));
  assert.equal(iface.addr6Valid[k], now + 2 * H * 1000, 'cut to two hours, not to 60 s');
  assert.equal(iface.addr6Preferred[k], now + 60 * 1000, 'preferred lifetime taken as is');
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(0, prefixOpt('fd00::', 64, 0xc0, 8 * H, 8 * H))));
  assert.equal(iface.addr6Valid[k], now + 8 * H * 1000, 'longer lifetimes are always taken');
  // Without the A flag or with a /48, no address; link-local prefixes are ignored.
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(0,
    prefixOpt('fd01::', 64, 0x80, 600, 600), prefixOpt('fd02::', 48, 0xc0, 600, 600), prefixOpt('fe80::', 64, 0xc0, 600, 600))));
  assert.equal(slotOf(iface, 'fd01::ff:fe00:a'), -1);
  assert.equal(slotOf(iface, 'fd02::ff:fe00:a'), -1);
});

test('redirects are ignored unless ipv6AcceptRedirects; RAs from a global source are invalid', () => {
  const { deliver, run, stack } = setup();
  run(2500);
  const redirect = [137, 0, 0, 0, 0, 0, 0, 0, ...a6('fe80::2'), ...a6('fd09::9')];
  deliver(ndFrame(OUR_MAC, '02:00:00:00:00:01', ROUTER_LL, OUR_LL, redirect));
  assert.equal(stack.stats.nd6.redirectsIgnored, 1);
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', 'fd00::1', 'ff02::1', ra(1800)));
  assert.equal(stack.stats.nd6.badAddress, 1);
  assert.ok(!routes6(stack).some((r) => r.destination === '::/0'));
});

test('Ethernet input accepts all-nodes and our solicited-node groups (tentative ones too), counts other 33:33 groups', () => {
  const { tap, run, stack } = setup();
  run(2500);
  const before = stack.stats.eth.notForUs;
  tap.inject(ndFrame('33:33:00:00:00:02', PEER_MAC, PEER_LL, 'ff02::2', [133, 0, 0, 0, 0, 0, 0, 0]));
  tap.inject(ndFrame('33:33:ff:00:00:0c', PEER_MAC, PEER_LL, 'ff02::1:ff00:c', ns('fe80::c')));
  run(2600);
  assert.equal(stack.stats.nd6.multicastNotJoined, 2);
  assert.equal(stack.stats.nd6.rsIn + stack.stats.nd6.nsIn, 0);
  tap.inject(ndFrame('33:33:ff:00:00:0a', PEER_MAC, PEER_LL, 'ff02::1:ff00:a', ns(OUR_LL, PEER_MAC)));
  tap.inject(ndFrame('33:33:00:00:00:01', PEER_MAC, PEER_LL, 'ff02::1', na(0, PEER_LL)));
  run(2700);
  assert.equal(stack.stats.nd6.multicastNotJoined, 2, 'joined groups pass');
  assert.equal(stack.stats.nd6.nsIn, 1);
  assert.equal(stack.stats.nd6.naIn, 1);
  assert.equal(stack.stats.eth.notForUs, before);
});

test('mutated ND messages (100k): no exception, tables stay within their plan', () => {
  const { iface, nd, run, stack } = setup({ ipv6AcceptRedirects: true, neighbourCache6Entries: 8, arpPendingFrames: 4 });
  run(2500);
  // A route through the router so redirects get past the first-hop check sometimes.
  const seeds = [
    ndFrame(OUR_MAC, PEER_MAC, PEER_LL, OUR_LL, ns(OUR_LL, PEER_MAC)),
    ndFrame(OUR_MAC, PEER_MAC, '::', 'ff02::1:ff00:a', ns(OUR_LL)),
    ndFrame(OUR_MAC, PEER_MAC, PEER_LL, OUR_LL, na(0x60, PEER_LL, PEER_MAC)),
    ndFrame(OUR_MAC, PEER_MAC, PEER_LL, OUR_LL, na(0xe0, PEER_LL)),
    ndFrame(OUR_MAC, PEER_MAC, PEER_LL, 'ff02::2', [133, 0, 0, 0, 0, 0, 0, 0, ...lla(1, PEER_MAC)]),
    ndFrame(OUR_MAC, '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(1800, lla(1, '02:00:00:00:00:01'),
      prefixOpt('fd00::', 64, 0xc0, 600, 300), [5, 1, 0, 0, ...be32(1400)], rdnssOpt(60, 'fd00::1', 'fd00::2', 'fd00::3'))),
    ndFrame(OUR_MAC, '02:00:00:00:00:01', ROUTER_LL, OUR_LL,
      [137, 0, 0, 0, 0, 0, 0, 0, ...a6('fe80::2'), ...a6('fd09::9'), ...lla(2, '02:00:00:00:00:02')]),
  ];
  let seed = 0x6e64_f00d;
  const rnd = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed % n;
  };
  const N = Number(process.env.FUZZ_FRAMES ?? 100_000);
  let t = 2500;
  for (let i = 0; i < N; i++) {
    const base = seeds[rnd(seeds.length)];
    let f = base.slice();
    const kind = rnd(6);
    if (kind === 0) for (let k = 0; k < 1 + rnd(4); k++) f[54 + rnd(f.length - 54)] = rnd(256);
    else if (kind === 1) f = f.slice(0, 54 + rnd(f.length - 54));
    else if (kind === 2) f[54 + 8 + (base[54] === 134 ? 8 : base[54] === 133 ? 0 : base[54] === 137 ? 32 : 16) + 1] = rnd(8);
    else if (kind === 3) f[54 + 1] = rnd(2);
    else if (kind === 4) f[22 + 15] = rnd(256); // other sources fill the cache
    else f[54 + 8 + 15] = rnd(256); // other targets
    const len = f.length - 54;
    nd.input(iface, f, 14, 54, len);
    if ((i & 255) === 0) {
      t += 500;
      stack.poll(t);
      // Some traffic toward random neighbours so frames park and solicitations go out.
      const tx = stack.tx;
      tx.fill(0, 0, 80);
      tx[14] = 0x60;
      tx.set(a6(OUR_LL), 22);
      tx.set(a6(`fe80::${rnd(40) + 1}`), 38);
      nd.output(iface, tx, 38, tx, 0, 80);
    }
    assert.ok(nd.cache.count <= 8);
    assert.ok(nd.pendingCount <= 4);
  }
  assert.ok(stack.dnsServers6.length <= 4);
  let used = 0;
  for (let k = 0; k < iface.addr6Count; k++) if (iface.addr6State[k] !== ADDR6_FREE) used++;
  assert.ok(used <= iface.addr6Count);
  const s = stack.stats.nd6;
  assert.ok(s.badOptions > 0 && s.badLength > 0 && s.badCode > 0 && s.naIn > 0 && s.raIn > 0, JSON.stringify(s));
});

test('RA Cur Hop Limit (RFC 4861 §6.3.4): applied per interface to TCP/UDP/echo sent with the default hop limit; 0 leaves it; an explicit ping TTL wins', () => {
  const { iface, sent, run, deliver, stack } = setup();
  const tap1 = new FrameTap('tap1');
  stack.addInterface(tap1, { mac: '02:00:00:00:00:0c', address: ['10.1.0.2/24', 'fd01::a/64'] });
  const iface1 = stack.interfaces[1];
  const tap0 = stack.interfaces[0].link as FrameTap;
  run(2500);
  sent();
  tap1.take();
  const hopsOut = (t: FrameTap, nextHeader: number): number[] =>
    t.take().filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === nextHeader).map((f) => f[21]);
  /** Resolve `peer` on `ifc` as its NA would (parked frames go out then). */
  const answer = (ifc: NetInterface, ourMac: string, peerMac: string, peer: string, ours: string): void => {
    const f = ndFrame(ourMac, peerMac, peer, ours, na(0x60, peer, peerMac));
    stack.nd!.input(ifc, f, 14, 54, (f[18] << 8) | f[19]);
  };
  const raHop = (hop: number): number[] => { const m = ra(0); m[4] = hop; return m; };
  const pings: Promise<unknown>[] = [];
  const ping = (dst: string, ttl?: number): void => {
    pings.push(stack.ping(dst, { timeoutMs: 100000, ...(ttl !== undefined ? { ttl } : {}) }).catch(() => undefined));
  };

  // Before any RA: config.ttl (64).
  ping(PEER_LL);
  answer(iface, OUR_MAC, PEER_MAC, PEER_LL, OUR_LL);
  assert.deepEqual(hopsOut(tap0, 58).filter((h) => h !== 255), [64]);
  // tap0's router says 42 (router lifetime 0: no default route, the hop limit still applies).
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', raHop(42)));
  assert.equal(iface.hopLimit6, 42);
  assert.equal(iface1.hopLimit6, 0, 'per interface: tap1 heard no RA');
  ping(PEER_LL);
  assert.deepEqual(hopsOut(tap0, 58), [42], 'echo request on tap0');
  ping(PEER_LL, 7);
  assert.deepEqual(hopsOut(tap0, 58), [7], "a ping's own ttl is kept");
  const api = stack.sockets;
  const u = api.socket('udp6');
  assert.ok(u >= 0);
  assert.ok(api.sendto(u, new Uint8Array(8), 0, 8, PEER_LL, 9) >= 0);
  assert.deepEqual(hopsOut(tap0, 17), [42], 'UDP on tap0');
  const t = api.socket('tcp', 6);
  api.connect(t, PEER_LL, 80);
  assert.deepEqual(hopsOut(tap0, 6), [42], 'TCP SYN on tap0');
  // tap1 keeps config.ttl.
  ping('fd01::c');
  answer(iface1, '02:00:00:00:00:0c', '02:00:00:00:00:0d', 'fd01::c', 'fd01::a');
  assert.deepEqual(hopsOut(tap1, 58).filter((h) => h !== 255), [64], 'tap1: config.ttl');
  // A later RA with Cur Hop Limit 0 (unspecified) keeps 42; a new value replaces it.
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', raHop(0)));
  assert.equal(iface.hopLimit6, 42);
  assert.ok(api.sendto(u, new Uint8Array(8), 0, 8, PEER_LL, 9) >= 0);
  assert.deepEqual(hopsOut(tap0, 17), [42]);
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', raHop(200)));
  assert.ok(api.sendto(u, new Uint8Array(8), 0, 8, PEER_LL, 9) >= 0);
  assert.deepEqual(hopsOut(tap0, 17), [200]);
  api.close(u);
  api.close(t);
});

test('the engine polls ND only when one of its timers is due; timers set outside a poll (an RA: DAD, lifetimes) lower its deadline', () => {
  const { iface, nd, sent, run, deliver, stack, at } = setup();
  let calls = 0;
  const poll = nd.poll.bind(nd);
  nd.poll = (): void => {
    calls++;
    poll();
  };
  run(20000, 500); // DAD and the three router solicitations: all of ND's start-up timers are over
  sent();
  assert.equal(nd.nextDeadline, Infinity, 'nothing left to time');
  calls = 0;
  run(25000, 10);
  assert.equal(calls, 0, '500 polls with no ND timer due: ND is not polled');
  // An RA handed to ND input directly, as IPv6 input does inside a poll: its timers are set outside ND's poll.
  deliver(ndFrame('33:33:00:00:00:01', '02:00:00:00:00:01', ROUTER_LL, 'ff02::1', ra(30,
    lla(1, '02:00:00:00:00:01'), prefixOpt('fd00::', 64, 0xc0, 20, 10))));
  const t0 = at();
  const k = slotOf(iface, 'fd00::ff:fe00:a');
  assert.ok(k >= 0);
  assert.ok(nd.nextDeadline <= t0 + 1000, `the SLAAC address's DAD (within 1 s) lowered ND's deadline: ${nd.nextDeadline - t0} ms`);
  const polled0 = calls;
  run(t0 + 1500, 10);
  assert.equal(sent().filter((s) => s.type === 135).length, 1, 'its DAD probe went out');
  assert.equal(iface.addr6State[k], ADDR6_PREFERRED, 'and the address was kept');
  assert.ok(calls - polled0 < 10, `ND was polled at its timers only (${calls - polled0} of 150 polls)`);
  run(t0 + 20000, 100);
  assert.equal(iface.addr6State[k], ADDR6_FREE, 'valid lifetime (20 s) over: removed');
  assert.ok(routes6(stack).some((r) => r.destination === '::/0'), 'router lifetime (30 s) not over yet');
  run(t0 + 30000, 100);
  assert.ok(!routes6(stack).some((r) => r.destination === '::/0'), 'router lifetime over: the default route removed at its time');
});
