/**
 * DHCP client against Debian's dnsmasq: a TAP device is moved into a
 * namespace this test creates (and always removes), where Linux owns
 * 10.79.0.1/24 and dnsmasq serves 10.79.0.50-60 plus DNS for one made-up
 * name. T1/T2 are forced short with option 58/59 so renewal is seen too.
 * dnsmasq is killed by PID (Netns.remove). No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Stack, TapLink } from '../../src/index.js';
import type { DhcpClient, DhcpLease } from '../../src/apps/dhcp.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { withTimeout } from '../helpers/timeout.js';

const LINUX_IP = '10.79.0.1';

const skip = missingCapability() ?? (haveCommand('dnsmasq') ? null : 'dnsmasq not installed (apt-get install dnsmasq)');
if (skip !== null) console.error(`dhcp-dnsmasq.test: SKIPPING: ${skip}`);

describe('DHCP client against dnsmasq in a network namespace', { skip: skip ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  let client: DhcpClient | null = null;
  let dnsmasq: ChildProcess | null = null;
  let log = '';
  let dir = '';
  const devName = `wsd${process.pid % 100000}t`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wst-dhcp-'));
    ns = Netns.create();
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    dnsmasq = ns.spawn('dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--user=root', '--no-ping', '--no-resolv', '--no-hosts',
      '--log-dhcp', '--log-facility=-',
      `--interface=${devName}`, '--bind-interfaces', '--except-interface=lo',
      '--dhcp-range=10.79.0.50,10.79.0.60,255.255.255.0,2m',
      `--dhcp-option=3,${LINUX_IP}`, `--dhcp-option=6,${LINUX_IP}`,
      '--dhcp-option=option:T1,4', '--dhcp-option=option:T2,100',
      '--address=/dhcp-interop.test/10.79.0.77',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'leases')}`,
    ]);
    dnsmasq.stdout?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    dnsmasq.stderr?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    // dnsmasq logs 'DHCP, IP range ...' once it listens.
    await withTimeout(new Promise<void>((resolve, reject) => {
      const check = (): void => { if (/DHCP, IP range/.test(log)) resolve(); };
      dnsmasq?.stderr?.on('data', check);
      dnsmasq?.stdout?.on('data', check);
      dnsmasq?.once('exit', (code) => reject(new Error(`dnsmasq exited (${code}): ${log}`)));
      check();
    }), 10_000, 'dnsmasq start');
    stack = new Stack({ seed: 79 });
    stack.addInterface(link);
    stack.start();
  });

  after(async () => {
    await client?.stop().catch(() => undefined);
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });
  });

  it('obtains a lease, learns the router and DNS server, resolves through it', { timeout: 30_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    client = stack.dhcp(0, { initialTimeoutMs: 1000, jitterMs: 200, minRenewRetryMs: 1000 });
    const [lease] = (await withTimeout(once(client, 'bound'), 20_000, `bound (dnsmasq log: ${log})`)) as [DhcpLease];
    const n = Number(lease.address.split('.')[3]);
    assert.match(lease.address, /^10\.79\.0\.\d+$/);
    assert.ok(n >= 50 && n <= 60, lease.address);
    assert.equal(lease.prefixLength, 24);
    assert.equal(lease.gateway, LINUX_IP);
    assert.deepEqual(lease.dnsServers, [LINUX_IP]);
    assert.equal(lease.serverId, LINUX_IP);
    assert.equal(lease.leaseTime, 120);
    assert.equal(lease.renewalTime, 4);
    const info = stack.interfaceList()[0];
    assert.equal(info.address, lease.address);
    assert.equal(info.gateway, LINUX_IP);
    assert.deepEqual(stack.dns.getServers(), [LINUX_IP]);
    // dnsmasq recorded the lease for our MAC.
    assert.match(readFileSync(join(dir, 'leases'), 'utf8'), new RegExp(`${info.mac} ${lease.address.replace(/\./g, '\\.')}`));
    // Linux reaches the leased address; the stack resolves a name through the learned DNS server.
    const r = await ns.run('ping', ['-c', '1', '-W', '2', lease.address], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const found = await stack.dns.lookup('dhcp-interop.test');
    assert.equal(found.address, '10.79.0.77');
  });

  it('renews at T1 (4 s) with a unicast REQUEST that dnsmasq ACKs', { timeout: 30_000 }, async () => {
    assert.ok(client !== null && stack !== null);
    const before = client.lease;
    assert.ok(before !== null);
    const [lease] = (await withTimeout(once(client, 'renewed'), 15_000, `renewed (dnsmasq log: ${log})`)) as [DhcpLease];
    assert.equal(lease.address, before.address);
    assert.ok(lease.obtainedAt > before.obtainedAt);
    assert.equal(client.state, 'bound');
    // Renewal is a REQUEST with ciaddr set, which dnsmasq logs as from the client's address.
    assert.match(log, new RegExp(`DHCPREQUEST\\(${devName}\\) ${lease.address.replace(/\./g, '\\.')}`));
  });

  it('releases the lease on stop()', { timeout: 15_000 }, async () => {
    assert.ok(client !== null && stack !== null);
    const addr = client.lease?.address;
    await client.stop();
    assert.equal(stack.interfaceList()[0].address, null);
    const deadline = Date.now() + 5000;
    while (!/DHCPRELEASE/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, new RegExp(`DHCPRELEASE\\(${devName}\\) ${String(addr).replace(/\./g, '\\.')}`));
  });
});
