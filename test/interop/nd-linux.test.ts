/**
 * Neighbour discovery, DAD, SLAAC and RDNSS against the Linux kernel and
 * dnsmasq: a TAP device is moved into a namespace this test creates (and
 * always removes), where Linux owns its automatic link-local address and
 * fd00:79::1/64, and dnsmasq (`--enable-ra`, ra-stateless, RDNSS
 * fd00:79::1) advertises the prefix. dnsmasq is killed by PID
 * (Netns.remove). No other address is used. Linux's own DAD is turned off
 * in the namespace (accept_dad=0) since these tests are not about Linux's DAD.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Stack, TapLink } from '../../src/index.js';
import { formatIpv6, parseIpv6 } from '../../src/wire/ipv6addr.js';
import { ADDR6_PREFERRED } from '../../src/engine/netif.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { withTimeout } from '../helpers/timeout.js';

const STACK_MAC = '02:79:00:00:00:02';
const STACK_LL = 'fe80::79:ff:fe00:2';
const PREFIX = 'fd00:79::';
const LINUX_GLOBAL = 'fd00:79::1';
const STACK_SLAAC = 'fd00:79::79:ff:fe00:2';

const skip = missingCapability() ?? (haveCommand('dnsmasq') ? null : 'dnsmasq not installed (apt-get install dnsmasq)');
if (skip !== null) console.error(`nd-linux.test: SKIPPING: ${skip}`);

function a6(text: string): Uint8Array {
  const b = new Uint8Array(16);
  assert.ok(parseIpv6(text, b, 0), text);
  return b;
}

/** Poll `cond` every 20 ms until true or `ms` pass. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('neighbour discovery and SLAAC against Linux and dnsmasq', { skip: skip ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  let dnsmasq: ChildProcess | null = null;
  let log = '';
  let dir = '';
  let linuxLL = '';
  let linuxMac = '';
  const devName = `wsn${process.pid % 100000}t`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wst-nd-'));
    ns = Netns.create();
    // Devices entering the namespace inherit 'default': no DAD wait for Linux's addresses.
    ns.execSync('sysctl', ['-q', '-w', 'net.ipv6.conf.default.accept_dad=0']);
    ns.execSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0']);
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name);
    ns.execSync('ip', ['-6', 'addr', 'add', `${LINUX_GLOBAL}/64`, 'dev', devName]);
    const shown = ns.execSync('ip', ['-6', '-o', 'addr', 'show', 'dev', devName, 'scope', 'link']);
    const m = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(shown);
    assert.ok(m !== null, shown);
    linuxLL = m[1];
    linuxMac = /link\/ether ([0-9a-f:]+)/.exec(ns.execSync('ip', ['-o', 'link', 'show', 'dev', devName]))?.[1] ?? '';
    stack = new Stack({ seed: 0x79 });
    stack.addInterface(link, { mac: STACK_MAC });
    stack.start();
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });
  });

  it('configures the EUI-64 link-local address after DAD (probe seen by Linux as a NS from ::)', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null);
    const iface = stack.interfaces[0];
    const k = iface.findAddress6(a6(STACK_LL), 0);
    assert.ok(k >= 0, 'link-local present');
    await until(() => iface.addr6State[k] === ADDR6_PREFERRED, 5000, 'link-local preferred');
    assert.equal(stack.stats.nd6.dadPassed, 1);
    assert.equal(stack.stats.nd6.dadConflicts, 0);
    assert.ok(stack.stats.nd6.rsOut >= 1, 'router solicitation sent');
  });

  it('answers Linux pinging the link-local address (ping -6 fe80::...%dev), learning Linux by its NS', { timeout: 20_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const r = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', `${STACK_LL}%${devName}`], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    assert.ok(stack.stats.nd6.naOut >= 1, 'our NA answered Linux');
    const neigh = ns.execSync('ip', ['-6', 'neigh', 'show', 'dev', devName]);
    assert.match(neigh, new RegExp(`${STACK_LL} lladdr ${STACK_MAC}`), neigh);
    assert.ok(stack.ip6 !== null);
    const e = stack.ip6.nd.entries().find((x) => formatIpv6(x.address, 0) === linuxLL);
    assert.ok(e !== undefined, 'Linux cached from its solicitation');
  });

  it('resolves Linux\'s MAC by NS: a packet to a forgotten neighbour parks, then goes out', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null && stack.ip6 !== null);
    const nd = stack.ip6.nd;
    nd.flushInterface(0);
    assert.equal(nd.entries().length, 0);
    const nsOut = stack.stats.nd6.nsOut;
    // An echo request built by hand at the IPv6 layer, sent through ND as IPv6 output would.
    const tx = stack.tx;
    const payload = 16;
    tx.fill(0, 0, 14 + 40 + 8 + payload);
    tx[14] = 0x60;
    tx[19] = 8 + payload;
    tx[20] = 58;
    tx[21] = 64;
    tx.set(a6(STACK_LL), 22);
    tx.set(a6(linuxLL), 38);
    tx[54] = 128;
    tx[58] = 0x79;
    let sum = 0;
    const words = [...tx.slice(22, 54), 0, 0, 0, 8 + payload, 0, 0, 0, 58, ...tx.slice(54, 54 + 8 + payload)];
    for (let i = 0; i < words.length; i += 2) sum += (words[i] << 8) | (words[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    tx[56] = c >> 8;
    tx[57] = c & 255;
    stack.touch();
    assert.equal(nd.output(stack.interfaces[0], a6(linuxLL), 0, tx, 0, 14 + 40 + 8 + payload), 0);
    stack.kick();
    await until(() => nd.entries().some((x) => formatIpv6(x.address, 0) === linuxLL && x.state === 'reachable'), 5000,
      'Linux resolved');
    assert.ok(stack.stats.nd6.nsOut > nsOut, 'a solicitation went out');
    const e = nd.entries().find((x) => formatIpv6(x.address, 0) === linuxLL);
    assert.equal([...(e?.mac ?? [])].map((x) => x.toString(16).padStart(2, '0')).join(':'), linuxMac);
    assert.equal(nd.pendingCount, 0, 'the parked echo request went out');
    await until(() => (stack?.stats.icmp6.echoRepliesIn ?? 0) + (stack?.stats.icmp6.unmatchedReplies ?? 0) > 0, 5000,
      'Linux answered the echo request');
  });

  it('takes a SLAAC address, default route and RDNSS server from dnsmasq --enable-ra', { timeout: 30_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    dnsmasq = ns.spawn('dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--user=root', '--no-resolv', '--no-hosts', '--port=0',
      '--log-facility=-', `--interface=${devName}`, '--bind-interfaces', '--except-interface=lo',
      '--enable-ra', `--dhcp-range=${PREFIX},ra-stateless,64,10m`, `--dhcp-option=option6:dns-server,[${LINUX_GLOBAL}]`,
      '--ra-param=' + devName + ',10,300',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'leases')}`,
    ]);
    dnsmasq.stdout?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    dnsmasq.stderr?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    const iface = stack.interfaces[0];
    // dnsmasq answers our RSs (sent at start, given up after 3) only when they come; its unsolicited RAs
    // follow at --ra-param's interval (10 s), and it sends a burst of them when it starts.
    await withTimeout(until(() => iface.findAddress6(a6(STACK_SLAAC), 0) >= 0 && stack!.dnsServers6.length > 0, 25_000,
      `SLAAC address and RDNSS (dnsmasq log: ${log})`), 26_000, 'SLAAC');
    const k = iface.findAddress6(a6(STACK_SLAAC), 0);
    await until(() => iface.addr6State[k] === ADDR6_PREFERRED, 5000, 'SLAAC address preferred after DAD');
    assert.deepEqual(stack.dnsServers6, [LINUX_GLOBAL]);
    assert.equal(iface.addr6Prefix[k], 64);
    assert.ok(stack.stats.nd6.routersLearned >= 1, 'dnsmasq is a default router (router lifetime 300)');
    const router = stack.ip6?.nd.entries().find((x) => formatIpv6(x.address, 0) === linuxLL);
    assert.ok(router !== undefined && router.router, 'the RA source is cached as a router');
    // Linux reaches the SLAAC address.
    const r = await ns.run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', STACK_SLAAC], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
