/**
 * DNS client against Debian's dnsmasq: a TAP device in a namespace this test
 * creates (and removes), Linux at 10.74.0.1 serving DNS for a made-up local
 * domain. dnsmasq is killed by PID (Netns.remove). No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';

const LINUX_IP = '10.74.0.1';
const STACK_IP = '10.74.0.2';

const skip = missingCapability() ?? (haveCommand('dnsmasq') ? null : 'dnsmasq not installed (apt-get install dnsmasq)');
if (skip !== null) console.error(`dns-dnsmasq.test: SKIPPING: ${skip}`);

describe('DNS client against dnsmasq in a network namespace', { skip: skip ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  let dnsmasq: ChildProcess | null = null;
  let log = '';
  const devName = `wsn${process.pid % 100000}t`;

  before(async () => {
    ns = Netns.create();
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    dnsmasq = ns.spawn('dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--user=root', '--no-resolv', '--no-hosts', '--log-queries',
      '--log-facility=-', `--interface=${devName}`, '--bind-interfaces', '--except-interface=lo',
      '--local=/wst.test/', '--host-record=web.wst.test,10.74.0.20', '--cname=alias.wst.test,web.wst.test',
      '--cname=alias2.wst.test,alias.wst.test', '--host-record=multi.wst.test,10.74.0.31',
      '--host-record=multi.wst.test,10.74.0.32', '--txt-record=txtonly.wst.test,"no address here"',
    ]);
    dnsmasq.stdout?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    dnsmasq.stderr?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    stack = new Stack({ seed: 74 });
    stack.addInterface(link, { address: `${STACK_IP}/24` });
    stack.start();
    stack.dns.setServers([LINUX_IP]);
    // dnsmasq is up once it answers a query (bounded wait).
    for (let i = 0; i < 50; i++) {
      try {
        await stack.dns.resolve4('web.wst.test');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        stack.dns.clearCache();
      }
    }
    throw new Error(`dnsmasq did not answer: ${log}`);
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(), () => { dnsmasq = null; });
  });

  it('resolves A records (one and several)', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null);
    assert.deepEqual(await stack.dns.resolve4('web.wst.test'), ['10.74.0.20']);
    assert.deepEqual((await stack.dns.resolve4('multi.wst.test')).sort(), ['10.74.0.31', '10.74.0.32']);
    const l = await stack.dns.lookup('web.wst.test');
    assert.deepEqual(l, { address: '10.74.0.20', family: 4 });
  });

  it('follows a CNAME chain', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null);
    assert.deepEqual(await stack.dns.resolve4('alias2.wst.test'), ['10.74.0.20']);
  });

  it('answers PTR lookups (reverse)', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null);
    assert.deepEqual(await stack.dns.reverse('10.74.0.20'), ['web.wst.test']);
  });

  it('reports NXDOMAIN as ENOTFOUND and a name without A records as ENODATA', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null);
    await assert.rejects(stack.dns.resolve4('nothere.wst.test'), { code: 'ENOTFOUND' });
    await assert.rejects(stack.dns.resolve4('txtonly.wst.test'), { code: 'ENODATA' });
    await assert.rejects(stack.dns.lookup('nothere.wst.test'), { code: 'ENOTFOUND' });
  });

  it('stack.net.connect({ host }) asks dnsmasq and fails with ENOTFOUND for an unknown name', { timeout: 15_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    const sock = stack.net.connect({ host: 'nothere.wst.test', port: 80 });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => sock.once('error', resolve));
    assert.equal(err.code, 'ENOTFOUND');
  });
});
