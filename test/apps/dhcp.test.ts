/**
 * DHCP client in VIRTUAL time over two stacks on a MemoryLink cable: the
 * client on a (no address), a fake DHCP server written here on b
 * (10.79.0.1/24, UDP port 67). A Simulation polls both stacks and fires the
 * client's timers (its `timers` option is `sim.timers`), so the stacks and the
 * client advance in lockstep and every time asserted below is exact: the
 * cable has no delay, so a request and its answer share an instant. Timers
 * are shortened through the client's options (secondMs scales lease times).
 * Plus parser unit tests and StackCore.setInterfaceAddress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Buffer } from 'node:buffer';
import { MemoryLink, Simulation, Stack } from '../../src/index.js';
import type { RemoteInfo, UdpSocket } from '../../src/socket/dgram.js';
import { DhcpClient, type DhcpClientOptions, type DhcpLease } from '../../src/apps/dhcp.js';
import {
  BOOTREPLY, DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST, DHCP_FLAG_BROADCAST,
  DhcpFormatError, OPT_DNS, OPT_LEASE_TIME, OPT_MESSAGE_TYPE, OPT_ROUTER, OPT_SERVER_ID, OPT_SUBNET_MASK, OPT_T1, OPT_T2,
  encodeDhcp, ipBytes, maskToPrefix, parseDhcp, u32Bytes, type DhcpMessage,
} from '../../src/wire/dhcp.js';

/** The IPv4 routes (IPv6 ones, such as the link-local fe80::/64 of an Ethernet interface, aside). */
function v4Routes(s: { routeTable(): Array<{ destination: string; gateway: string | null }> }): Array<{ destination: string; gateway: string | null }> {
  return s.routeTable().filter((r) => !r.destination.includes(':'));
}

const T = { timeout: 15000 };
const SERVER = '10.79.0.1';
const OFFERED = '10.79.0.50';
const FAST: DhcpClientOptions = { initialTimeoutMs: 100, jitterMs: 20, maxTimeoutMs: 400, minRenewRetryMs: 20, secondMs: 10, declineDelayMs: 50 };

/** A message the fake server received, and the virtual time it arrived. */
interface Seen { m: DhcpMessage; rinfo: RemoteInfo; at: number }
type Decide = (m: DhcpMessage, n: number) => Uint8Array | Array<Uint8Array> | 'offer' | 'ack' | 'nak' | null;

interface Fake {
  sock: UdpSocket;
  seen: Seen[];
  lease: number;
  t1: number | null;
  t2: number | null;
}

function reply(m: DhcpMessage, type: number, f: Fake, yiaddr = OFFERED): Uint8Array {
  const opts: Array<[number, Uint8Array]> = [[OPT_SERVER_ID, ipBytes(SERVER)]];
  if (type !== DHCPNAK) {
    opts.push([OPT_SUBNET_MASK, ipBytes('255.255.255.0')], [OPT_ROUTER, ipBytes(SERVER)],
      [OPT_DNS, Uint8Array.of(...ipBytes('10.79.0.53'), ...ipBytes('10.79.0.54'))], [OPT_LEASE_TIME, u32Bytes(f.lease)]);
    if (f.t1 !== null) opts.push([OPT_T1, u32Bytes(f.t1)]);
    if (f.t2 !== null) opts.push([OPT_T2, u32Bytes(f.t2)]);
  }
  return encodeDhcp({ op: BOOTREPLY, xid: m.xid, flags: m.flags, yiaddr: type === DHCPNAK ? undefined : yiaddr, chaddr: m.chaddr, type, options: opts });
}

/** Client options on the simulation's clock. */
function opts(sim: Simulation, o: DhcpClientOptions = FAST): DhcpClientOptions {
  return { ...o, timers: sim.timers };
}

async function withDhcp(decide: Decide, fn: (a: Stack, b: Stack, f: Fake, sim: Simulation) => Promise<void>, lease = 40): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 41 });
  const b = new Stack({ seed: 42 });
  a.addInterface(la);
  b.addInterface(lb, { address: `${SERVER}/24` });
  const sim = new Simulation([a, b]);
  const sock = b.dgram.createSocket('udp4');
  const f: Fake = { sock, seen: [], lease, t1: null, t2: null };
  sock.on('message', (buf: Buffer, rinfo: RemoteInfo) => {
    let m: DhcpMessage;
    try {
      m = parseDhcp(new Uint8Array(buf));
    } catch {
      return;
    }
    f.seen.push({ m, rinfo, at: sim.now });
    let out = decide(m, f.seen.length);
    if (out === 'offer') out = reply(m, DHCPOFFER, f);
    else if (out === 'ack') out = reply(m, DHCPACK, f);
    else if (out === 'nak') out = reply(m, DHCPNAK, f);
    if (out === null) return;
    const list = Array.isArray(out) ? out : [out];
    const unicast = m.ciaddr !== '0.0.0.0' && (m.flags & DHCP_FLAG_BROADCAST) === 0 && rinfo.address !== '0.0.0.0';
    for (const p of list) sock.send(p, 68, unicast ? m.ciaddr : '255.255.255.255');
  });
  await new Promise<void>((resolve) => sock.bind(67, () => resolve()));
  sock.setBroadcast(true);
  try {
    await fn(a, b, f, sim);
  } finally {
    sock.close();
  }
}

/** The usual server: OFFER to DISCOVER, ACK to REQUEST. */
const normal: Decide = (m) => (m.type === DHCPDISCOVER ? 'offer' : m.type === DHCPREQUEST ? 'ack' : null);

function types(f: Fake): number[] {
  return f.seen.map((s) => s.m.type);
}

test('DISCOVER → OFFER → REQUEST → ACK configures address, gateway and DNS', T, async () => {
  await withDhcp(normal, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim));
    const [lease] = (await sim.until(once(c, 'bound'))) as [DhcpLease];
    // A prompt server binds in the first exchange, at time 0: no DISCOVER or REQUEST was retransmitted.
    assert.equal(sim.now, 0);
    assert.equal(lease.obtainedAt, 0);
    assert.deepEqual(types(f), [DHCPDISCOVER, DHCPREQUEST]);
    assert.equal(lease.address, OFFERED);
    assert.equal(lease.prefixLength, 24);
    assert.equal(lease.gateway, SERVER);
    assert.deepEqual(lease.dnsServers, ['10.79.0.53', '10.79.0.54']);
    assert.equal(lease.serverId, SERVER);
    assert.equal(lease.renewalTime, 20);
    assert.equal(lease.rebindingTime, 35);
    assert.equal(c.state, 'bound');
    const info = a.interfaceList()[0];
    assert.equal(info.address, OFFERED);
    assert.equal(info.prefixLength, 24);
    assert.equal(info.gateway, SERVER);
    assert.ok(a.routeTable().some((r) => r.destination === '0.0.0.0/0' && r.gateway === SERVER));
    assert.deepEqual(a.dns.getServers(), ['10.79.0.53', '10.79.0.54']);
    // The client's messages: broadcast from 0.0.0.0 with the BROADCAST flag, parameters requested.
    assert.deepEqual(types(f).slice(0, 2), [DHCPDISCOVER, DHCPREQUEST]);
    const d = f.seen[0];
    assert.equal(d.rinfo.address, '0.0.0.0');
    assert.equal(d.rinfo.port, 68);
    assert.equal(d.m.flags & DHCP_FLAG_BROADCAST, DHCP_FLAG_BROADCAST);
    assert.deepEqual([...(d.m.options.get(55) ?? [])].filter((x) => [1, 3, 6, 51, 54, 58, 59].includes(x)).sort((x, y) => x - y), [1, 3, 6, 51, 54, 58, 59]);
    const r = f.seen[1].m;
    assert.equal(r.requestedIp, OFFERED);
    assert.equal(r.serverId, SERVER);
    assert.equal(r.xid, d.m.xid);
    // The stack now talks from the leased address.
    const rtt = await sim.until(a.ping(SERVER, { timeoutMs: 2000 }));
    assert.ok(rtt >= 0);
    await sim.until(c.stop({ release: false }));
  }, 40);
});

test('renews at T1 with a unicast REQUEST, and emits renewed', T, async () => {
  await withDhcp(normal, async (a, _b, f, sim) => {
    const c = a.dhcp(a.interfaces[0].link, opts(sim));
    const [first] = (await sim.until(once(c, 'bound'))) as [DhcpLease];
    const t0 = sim.now;
    const [lease] = (await sim.until(once(c, 'renewed'))) as [DhcpLease];
    const took = sim.now - t0;
    assert.equal(lease.address, OFFERED);
    // T1 = 20 s × 10 ms after the first REQUEST, which went out at the instant of binding (no cable delay).
    assert.equal(first.obtainedAt, t0);
    assert.equal(took, 200, `renewed after ${took} ms (T1 = 20 × 10 ms)`);
    assert.equal(lease.obtainedAt, t0 + 200, 'the renewed lease runs from the RENEWING REQUEST');
    assert.equal(f.seen[2].at, t0 + 200, 'the RENEWING REQUEST went out at T1');
    const renew = f.seen[2];
    assert.equal(renew.m.type, DHCPREQUEST);
    assert.equal(renew.m.ciaddr, OFFERED);
    assert.equal(renew.rinfo.address, OFFERED, 'RENEWING is unicast from the leased address');
    assert.equal(renew.m.requestedIp, null, 'no requested-IP option in RENEWING');
    assert.equal(renew.m.serverId, null, 'no server id in RENEWING');
    assert.equal(renew.m.flags & DHCP_FLAG_BROADCAST, 0);
    assert.equal(c.state, 'bound');
    assert.equal(a.interfaceList()[0].address, OFFERED);
    await sim.until(c.stop({ release: false }));
  }, 40);
});

test('NAK in REQUESTING restarts from DISCOVER', T, async () => {
  let naks = 0;
  await withDhcp((m) => {
    if (m.type === DHCPDISCOVER) return 'offer';
    if (m.type === DHCPREQUEST) return naks++ === 0 ? 'nak' : 'ack';
    return null;
  }, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim));
    await sim.until(once(c, 'bound'));
    assert.deepEqual(types(f), [DHCPDISCOVER, DHCPREQUEST, DHCPDISCOVER, DHCPREQUEST]);
    assert.notEqual(f.seen[2].m.xid, f.seen[0].m.xid, 'a new transaction after NAK');
    assert.equal(c.stats.naks, 1);
    // restartDelayMs is 0: the new DISCOVER left at the NAK's instant, without waiting for a retransmission.
    assert.equal(sim.now, 0);
    await sim.until(c.stop({ release: false }));
  });
});

test('NAK in RENEWING drops the lease (lost) and restarts', T, async () => {
  let requests = 0;
  await withDhcp((m) => {
    if (m.type === DHCPDISCOVER) return 'offer';
    if (m.type === DHCPREQUEST) return ++requests === 2 ? 'nak' : 'ack';
    return null;
  }, async (a, _b, _f, sim) => {
    const c = a.dhcp(0, opts(sim));
    await sim.until(once(c, 'bound'));
    // restartDelayMs is 0 and the cable has no delay: the client is bound again within the instant
    // of the loss, so look at the interface from the 'lost' listener, and listen for 'bound' already.
    let addressAtLoss: string | null = 'not lost';
    c.once('lost', () => { addressAtLoss = a.interfaceList()[0].address; });
    const rebound = new Promise<void>((resolve) => { c.once('lost', () => c.once('bound', () => resolve())); });
    const [lost, reason] = (await sim.until(once(c, 'lost'))) as [DhcpLease, string];
    assert.equal(lost.address, OFFERED);
    assert.equal(reason, 'nak');
    assert.equal(sim.now, 200, 'the NAK answered the RENEWING REQUEST at T1');
    assert.equal(addressAtLoss, null, 'the address went with the lease');
    await sim.until(rebound);
    assert.equal(a.interfaceList()[0].address, OFFERED);
    await sim.until(c.stop({ release: false }));
  });
});

test('silent server: RENEWING, then REBINDING broadcasts, then expiry removes the address', T, async () => {
  let acks = 0;
  await withDhcp((m) => {
    if (m.type === DHCPDISCOVER) return acks === 0 ? 'offer' : null;
    if (m.type === DHCPREQUEST && acks === 0) {
      acks++;
      return 'ack';
    }
    return null;
  }, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim));
    await sim.until(once(c, 'bound'));
    assert.ok(a.dns.getServers().length > 0);
    const states: string[] = [];
    c.on('state', (s: string) => states.push(`${s}@${sim.now}`));
    const [lost, reason] = (await sim.until(once(c, 'lost'))) as [DhcpLease, string];
    assert.equal(reason, 'expired');
    assert.equal(lost.address, OFFERED);
    // Lease 30 s: T1 = 15 s, T2 = floor(0.875 × 30) = 26 s, expiry at 30 s; × 10 ms from the REQUEST at 0.
    assert.deepEqual(states.slice(0, 2), ['renewing@150', 'rebinding@260']);
    assert.equal(sim.now, 300, 'the address went at the lease expiry');
    assert.equal(a.interfaceList()[0].address, null);
    assert.equal(a.interfaceList()[0].gateway, null);
    assert.equal(v4Routes(a).length, 0);
    assert.deepEqual(a.dns.getServers(), []);
    const renews = f.seen.filter((s) => s.m.type === DHCPREQUEST && s.m.ciaddr === OFFERED);
    assert.ok(renews.some((s) => s.rinfo.address === OFFERED), 'a REBINDING/RENEWING request from the leased address');
    // The client is back in INIT/SELECTING, discovering again.
    assert.ok(c.state === 'selecting' || c.state === 'init', c.state);
    await sim.until(c.stop());
  }, 30);
});

test('malformed, foreign and mismatched replies are ignored', T, async () => {
  let n = 0;
  await withDhcp((m) => {
    if (m.type === DHCPDISCOVER && n++ === 0) {
      const f: Fake = { sock: null as unknown as UdpSocket, seen: [], lease: 40, t1: null, t2: null };
      const good = reply(m, DHCPOFFER, f);
      const badCookie = good.slice();
      badCookie[236] ^= 1;
      const overrun = good.slice();
      overrun[240 + 3 + 1] = 200; // second option's length points past the end
      const noEnd = good.slice(0, 250);
      const wrongXid = reply({ ...m, xid: (m.xid + 1) >>> 0 }, DHCPOFFER, f);
      const otherMac = reply({ ...m, chaddr: Uint8Array.of(2, 0, 0, 0, 0, 9, ...new Uint8Array(10)) }, DHCPOFFER, f);
      const request = good.slice();
      request[0] = 1; // BOOTREQUEST
      const badMask = encodeDhcp({ op: BOOTREPLY, xid: m.xid, chaddr: m.chaddr, type: DHCPOFFER, yiaddr: OFFERED, options: [[OPT_SUBNET_MASK, Uint8Array.of(255, 255)]] });
      const noServerId = encodeDhcp({ op: BOOTREPLY, xid: m.xid, chaddr: m.chaddr, type: DHCPOFFER, yiaddr: OFFERED });
      const badYiaddr = reply(m, DHCPOFFER, f, '255.255.255.255');
      return [badCookie, overrun, noEnd, wrongXid, otherMac, request, badMask, noServerId, badYiaddr, new Uint8Array(10)];
    }
    return normal(m, 0);
  }, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim));
    const [lease] = (await sim.until(once(c, 'bound'))) as [DhcpLease];
    assert.equal(lease.address, OFFERED);
    assert.ok(c.stats.malformed >= 5, `malformed ${c.stats.malformed}`);
    assert.ok(c.stats.ignored >= 4, `ignored ${c.stats.ignored}`);
    // The broken replies did not count as an offer: the first REQUEST followed the retransmitted DISCOVER.
    assert.deepEqual(types(f), [DHCPDISCOVER, DHCPDISCOVER, DHCPREQUEST]);
    // The retransmission came after the first timeout, 100 ± 20 ms.
    assert.ok(f.seen[1].at >= 80 && f.seen[1].at <= 120, `retransmitted at ${f.seen[1].at} ms`);
    await sim.until(c.stop({ release: false }));
  });
});

test('stop() sends RELEASE and removes the address', T, async () => {
  await withDhcp(normal, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim));
    await sim.until(once(c, 'bound'));
    await sim.until(c.stop());
    assert.equal(c.state, 'stopped');
    assert.equal(a.interfaceList()[0].address, null);
    // stop() waited for ARP to let the RELEASE out: it reached the server before stop() resolved.
    const rel = f.seen.find((s) => s.m.type === DHCPRELEASE);
    assert.ok(rel !== undefined, 'RELEASE reached the server');
    assert.equal(rel.m.ciaddr, OFFERED);
    assert.equal(rel.m.serverId, SERVER);
    assert.equal(rel.rinfo.address, OFFERED);
  });
});

test('checkAddress reporting a conflict sends DECLINE and restarts', T, async () => {
  await withDhcp(normal, async (a, _b, f, sim) => {
    let asked = 0;
    const c = a.dhcp(0, opts(sim, { ...FAST, checkAddress: () => asked++ === 0 }));
    const [declined] = (await sim.until(once(c, 'declined'))) as [string];
    assert.equal(declined, OFFERED);
    assert.equal(a.interfaceList()[0].address, null);
    const t0 = sim.now;
    await sim.until(once(c, 'bound'));
    assert.equal(sim.now - t0, 50, 'restarted after declineDelayMs');
    const dec = f.seen.find((s) => s.m.type === DHCPDECLINE);
    assert.ok(dec !== undefined);
    assert.equal(dec.m.requestedIp, OFFERED);
    assert.equal(dec.m.serverId, SERVER);
    assert.equal(dec.rinfo.address, '0.0.0.0');
    assert.equal(c.stats.declines, 1);
    await sim.until(c.stop({ release: false }));
  });
});

test('retransmits DISCOVER with exponential backoff', T, async () => {
  await withDhcp(() => null, async (a, _b, f, sim) => {
    const c = a.dhcp(0, opts(sim, { initialTimeoutMs: 50, jitterMs: 0, maxTimeoutMs: 200 }));
    await sim.run(600);
    await sim.until(c.stop());
    // Arrival times at the server, in virtual time: sent at 0, then after 50, 100, 200, 200 (capped) ms.
    const times = f.seen.map((s) => s.at);
    assert.deepEqual(times, [0, 50, 150, 350, 550]);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.deepEqual(gaps, [50, 100, 200, 200]);
    assert.ok(f.seen.every((s) => s.m.type === DHCPDISCOVER && s.m.xid === f.seen[0].m.xid));
  });
});

// ---- parser ----------------------------------------------------------------

const MAC = Uint8Array.of(2, 1, 2, 3, 4, 5);

test('encode/parse round trip with RFC 3396 concatenation and overload', () => {
  const long = new Uint8Array(300).fill(7);
  const b = encodeDhcp({ op: BOOTREPLY, xid: 0xdeadbeef, chaddr: MAC, type: DHCPACK, yiaddr: '10.1.2.3', flags: DHCP_FLAG_BROADCAST,
    options: [[OPT_LEASE_TIME, u32Bytes(3600)], [OPT_ROUTER, ipBytes('10.1.2.1')], [224, long]] });
  assert.ok(b.length >= 300);
  const m = parseDhcp(b);
  assert.equal(m.xid, 0xdeadbeef);
  assert.equal(m.type, DHCPACK);
  assert.equal(m.yiaddr, '10.1.2.3');
  assert.equal(m.leaseTime, 3600);
  assert.deepEqual(m.routers, ['10.1.2.1']);
  assert.deepEqual(m.options.get(224), long);
  assert.deepEqual([...m.chaddr.subarray(0, 6)], [...MAC]);
  // Overload: the file field carries the DNS option.
  const o = encodeDhcp({ op: BOOTREPLY, xid: 1, chaddr: MAC, type: DHCPOFFER, options: [[52, Uint8Array.of(1)]] });
  o.set([OPT_DNS, 4, 1, 1, 1, 1, 255], 108);
  assert.deepEqual(parseDhcp(o).dnsServers, ['1.1.1.1']);
  o[114] = 0; // file area no longer terminated
  o.fill(0, 114, 236);
  assert.throws(() => parseDhcp(o), DhcpFormatError);
});

test('parser rejects bad cookie, truncation, overruns and bad option lengths', () => {
  const good = encodeDhcp({ op: BOOTREPLY, xid: 1, chaddr: MAC, type: DHCPOFFER, options: [[OPT_SERVER_ID, ipBytes('10.0.0.1')]] });
  parseDhcp(good);
  const bad = (mut: (b: Uint8Array) => Uint8Array): void => { assert.throws(() => parseDhcp(mut(good.slice())), DhcpFormatError); };
  bad((b) => { b[236] = 0; return b; });
  bad((b) => b.subarray(0, 239));
  bad((b) => { b[0] = 3; return b; });
  bad((b) => { b[2] = 17; return b; });
  bad((b) => { b[241] = 2; b[242] = 9; return b; }); // message type length 2
  bad((b) => { b[244] = 250; return b; }); // server id runs off the end
  bad((b) => { b.fill(0, 243); return b; }); // no END
  bad((b) => { b[242] = 9; return b; }); // message type 9
  const mk = (code: number, data: Uint8Array): Uint8Array => encodeDhcp({ xid: 1, chaddr: MAC, type: DHCPOFFER, options: [[code, data]] });
  assert.throws(() => parseDhcp(mk(OPT_ROUTER, Uint8Array.of(1, 2, 3))), DhcpFormatError);
  assert.throws(() => parseDhcp(mk(OPT_DNS, new Uint8Array(0))), DhcpFormatError);
  assert.throws(() => parseDhcp(mk(OPT_LEASE_TIME, Uint8Array.of(1, 2))), DhcpFormatError);
  assert.throws(() => parseDhcp(mk(OPT_MESSAGE_TYPE, Uint8Array.of(5))), DhcpFormatError); // concatenated to length 2
  // Random junk never throws anything but DhcpFormatError.
  for (let i = 0; i < 2000; i++) {
    const b = good.slice();
    for (let k = 0; k < 4; k++) b[240 + Math.floor(Math.random() * (b.length - 240))] = Math.floor(Math.random() * 256);
    try {
      parseDhcp(b);
    } catch (err) {
      assert.ok(err instanceof DhcpFormatError, String(err));
    }
  }
  assert.equal(maskToPrefix('255.255.255.0'), 24);
  assert.equal(maskToPrefix('255.255.255.255'), 32);
  assert.equal(maskToPrefix('0.0.0.0'), 0);
  assert.equal(maskToPrefix('255.0.255.0'), -1);
});

// ---- StackCore.setInterfaceAddress -------------------------------------------

test('setInterfaceAddress sets, changes and removes an address with its routes', async () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 1 });
  a.addInterface(la);
  assert.equal(a.interfaceList()[0].address, null);
  const info = a.setInterfaceAddress(0, '10.79.1.2/24', '10.79.1.1');
  assert.equal(info.address, '10.79.1.2');
  assert.equal(info.gateway, '10.79.1.1');
  assert.deepEqual(v4Routes(a).map((r) => `${r.destination} ${r.gateway}`).sort(), ['0.0.0.0/0 10.79.1.1', '10.79.1.0/24 null']);
  // A gratuitous ARP is announced at the next poll.
  a.poll(1);
  let garp = 0;
  lb.poll(1e9, { receiveFrame(f, o) { if (f[o + 12] === 8 && f[o + 13] === 6 && f.subarray(o + 28, o + 32).join('.') === '10.79.1.2') garp++; } });
  assert.equal(garp, 1);
  a.setInterfaceAddress(0, '10.79.2.2/16');
  assert.deepEqual(v4Routes(a).map((r) => `${r.destination} ${r.gateway}`), ['10.79.0.0/16 null']);
  assert.equal(a.interfaceList()[0].gateway, null);
  a.setInterfaceAddress(0, null);
  assert.equal(a.interfaceList()[0].address, null);
  assert.deepEqual(v4Routes(a), []);
  assert.throws(() => a.setInterfaceAddress(0, '10.79.1.0/24'), RangeError);
  assert.throws(() => a.setInterfaceAddress(0, '10.79.1.2/24', '10.80.0.1'), RangeError);
  assert.throws(() => a.setInterfaceAddress(0, null, '10.79.1.1'), RangeError);
  assert.throws(() => a.setInterfaceAddress(3, '10.79.1.2/24'), RangeError);
  const [lc] = MemoryLink.pair();
  a.addInterface(lc, { address: '10.79.3.1/24' });
  assert.throws(() => a.setInterfaceAddress(0, '10.79.3.1/24'), /duplicate/);
  // Static routes through the interface survive an address change.
  a.setInterfaceAddress(0, '10.79.1.2/24');
  a.addRoute('10.90.0.0/16', '10.79.1.9');
  a.setInterfaceAddress(0, '10.79.1.3/24');
  assert.ok(a.routeTable().some((r) => r.destination === '10.90.0.0/16'));
});

test('DhcpClient rejects an unknown interface', () => {
  const a = new Stack({ seed: 1 });
  assert.throws(() => a.dhcp(0), RangeError);
  assert.throws(() => new DhcpClient(a, 2), RangeError);
});

test('arpProbe: an offered address that answers an RFC 5227 probe is DECLINEd, the next one bound', T, async () => {
  let declined = false;
  // The server first offers its own address (in use on the link), then a free one after the DECLINE.
  const conflicting: Decide = (m) => {
    if (m.type === DHCPDECLINE) declined = true;
    const addr = declined ? OFFERED : SERVER;
    if (m.type === DHCPDISCOVER) return reply(m, DHCPOFFER, currentFake as Fake, addr);
    if (m.type === DHCPREQUEST) return reply(m, DHCPACK, currentFake as Fake, addr);
    return null;
  };
  let currentFake: Fake | null = null;
  await withDhcp(conflicting, async (a, b, f, sim) => {
    currentFake = f;
    const c = a.dhcp(0, { ...opts(sim), arpProbe: true });
    const [addr] = (await sim.until(once(c, 'declined'))) as [string];
    assert.equal(addr, SERVER);
    assert.ok(b.stats.arp.repliesOut >= 1, 'the owner answered the probe');
    const [lease] = (await sim.until(once(c, 'bound'))) as [{ address: string }];
    assert.equal(lease.address, OFFERED);
    assert.equal(c.stats.declines, 1);
    await sim.until(c.stop({ release: false }));
  });
});
