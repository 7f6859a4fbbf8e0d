/**
 * IPv6 against Linux over TAP: the device sits in a namespace this test
 * creates (and removes) where Linux owns fd78::1/64 and its link-local
 * address; the stack owns fd78::2/64 and its EUI-64 link-local address,
 * reached through neighbour discovery. Everything the stack sends and
 * receives is captured to a pcap that tshark must read with no malformed
 * packet.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, TapLink, PcapWriter } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';

const LINUX_IP6 = 'fd78::1';
const STACK_IP6 = 'fd78::2';
const MAC = '02:00:00:78:00:02';
/** The stack's modified EUI-64 link-local address for MAC (RFC 4291 Appendix A). */
const STACK_LL = 'fe80::ff:fe78:2';

const missing = missingCapability();
if (missing !== null) console.error(`ipv6-tap.test: SKIPPING: ${missing}`);

function pingSummary(out: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  assert.ok(m !== null, `no ping summary: ${out}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

describe('IPv6 with a Linux peer over TAP', { skip: missing ?? false }, () => {
  let ns: Netns | null = null;
  let tap: TapLink | null = null;
  let pcap: PcapWriter | null = null;
  let stack: Stack | null = null;
  const dev = `wsv6${process.pid % 100000}`;
  let work = '';
  let capture = '';
  let linuxLL = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'wirestack-v6tap-'));
    capture = join(work, 'v6.pcap');
    ns = Netns.create();
    tap = TapLink.open(dev, { mtu: 1500 });
    tap.moveToNetns(ns.name);
    // DAD of Linux's own addresses is not what this test is about (common.md): off on the Linux side only.
    ns.execSync('sysctl', ['-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
    ns.execSync('ip', ['-6', 'addr', 'add', `${LINUX_IP6}/64`, 'dev', dev, 'nodad']);
    pcap = new PcapWriter(tap, capture);
    stack = new Stack();
    stack.addInterface(pcap, { address: `${STACK_IP6}/64`, mac: MAC });
    stack.start();
    // Wait for both link-local addresses: Linux's (left tentative when the device came up) and ours (DAD, ~1 s).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const shown = ns.execSync('ip', ['-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link']);
      const ours = stack.interfaceList()[0].addresses6.includes(`${STACK_LL}/64`);
      const m = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(shown);
      const ready = m !== null && !/tentative/.test(shown) && ours && stack.nd !== null
        && stack.interfaces[0].ownsAddress6(new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x78, 0, 2]), 0);
      if (ready && m !== null) {
        linuxLL = m[1];
        break;
      }
      assert.ok(Date.now() < deadline, `link-local addresses not ready: ${shown} / ${JSON.stringify(stack.interfaceList()[0])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(() => {
    teardown(() => stack?.stop(), () => pcap?.close(), () => ns?.remove(),
      () => { if (work !== '') rmSync(work, { recursive: true, force: true }); });
  });

  it('Linux pings the stack (global and link-local), 4000 bytes in fragments', { timeout: 30_000 }, async () => {
    assert.ok(ns !== null);
    const g = await ns.run('ping', ['-6', '-c', '5', '-i', '0.2', '-W', '2', STACK_IP6], { timeoutMs: 20_000 });
    assert.deepEqual(pingSummary(g.stdout), { sent: 5, received: 5 });
    const l = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', `${STACK_LL}%${dev}`], { timeoutMs: 20_000 });
    assert.deepEqual(pingSummary(l.stdout), { sent: 3, received: 3 });
    const big = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', '-s', '4000', STACK_IP6], { timeoutMs: 20_000 });
    assert.deepEqual(pingSummary(big.stdout), { sent: 3, received: 3 });
    assert.ok(stack !== null && stack.stats.ip6.reassembled >= 3 && stack.stats.ip6.fragmentedOut >= 3);
  });

  it('the stack pings Linux (global and link-local), 4000 bytes in fragments', { timeout: 30_000 }, async () => {
    assert.ok(stack !== null);
    for (let i = 0; i < 5; i++) assert.ok(await stack.ping(LINUX_IP6, { timeoutMs: 2000 }) >= 0);
    for (let i = 0; i < 3; i++) assert.ok(await stack.ping(linuxLL, { timeoutMs: 2000 }) >= 0);
    for (let i = 0; i < 3; i++) assert.ok(await stack.ping(LINUX_IP6, { timeoutMs: 2000, size: 4000 }) >= 0);
  });

  it('tshark reads the capture with no malformed packet', { timeout: 60_000 }, () => {
    assert.ok(stack !== null && pcap !== null);
    assert.ok(haveCommand('tshark'), 'tshark is not installed (apt-get install tshark)');
    pcap.flush();
    const run = (filter: string): string[] => execFileSync('tshark', ['-n', '-r', capture, '-Y', filter], { encoding: 'utf8', timeout: 30_000 })
      .split('\n').filter((x) => x.trim() !== '');
    const all = run('ipv6');
    const malformed = run('_ws.malformed || _ws.expert.severity == error');
    assert.deepEqual(malformed, [], 'malformed packets in the capture');
    const echoes = run('icmpv6.type == 128 || icmpv6.type == 129');
    const nd = run('icmpv6.type == 135 || icmpv6.type == 136');
    const frags = run('ipv6.fragment');
    assert.ok(echoes.length >= 2 * (5 + 3 + 5 + 3), `echo requests/replies dissected: ${echoes.length}`);
    assert.ok(nd.length >= 2, `NS/NA dissected: ${nd.length}`);
    assert.ok(frags.length >= 12, `fragments reassembled by tshark: ${frags.length}`);
    assert.ok(all.length > 0);
  });
});
