/**
 * `wirestack up CONFIG --tun` with IPv6 inside and outside the tunnel,
 * against Debian's wireguard-go: the CLI in namespace A, wireguard-go in B,
 * the outer endpoint an IPv6 address ([fd94::2]:51820), the tunnel carrying
 * both families with default routes for both (0.0.0.0/0 and ::/0, so
 * wg-quick's fwmark rules are in use for IPv6 too).
 *
 * Outer: veth fd94::1 (A) - fd94::2 (B) (also 10.94.2.1/.2, unused by the
 * tunnel). Tunnel: wirestack 10.95.2.1/24 + fd95::1/64, wireguard-go
 * 10.95.2.2/24 + fd95::2/64 with an HTTP server on [fd95::2]. Addresses
 * exist only in the namespaces the test creates; processes are killed by
 * PID and the namespaces removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import type { Netns } from '../helpers/netns.js';
import { parseWgDump, type WireGuardGo } from '../helpers/wireguard-go.js';
import { leftovers, type TunDaemon } from '../helpers/wirestack-tun.js';
import { sha256File, socatBothWays } from '../helpers/tun-traffic.js';
import { TunLab, mustIn, tunLabMissing } from '../helpers/tun-lab.js';

const A_OUTER6 = 'fd94::1';
const B_OUTER6 = 'fd94::2';
const A_INNER = '10.95.2.1';
const B_INNER = '10.95.2.2';
const A_INNER6 = 'fd95::1';
const B_INNER6 = 'fd95::2';
const PORT = 51820;
const HTTP_PORT = 8000;
const BIG = 16 << 20;

const cannot = tunLabMissing();

describe('wirestack up --tun with IPv6 inside and an IPv6 outer endpoint, against wireguard-go', () => {
  let lab: TunLab | null = null;
  let a: Netns | null = null;
  let b: Netns | null = null;
  let goB: WireGuardGo | null = null;
  let ws: TunDaemon | null = null;
  let dir = '';
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const ourPub = encodeKey(suite.publicKey(ourPriv));
  const bPub = encodeKey(suite.publicKey(bPriv));
  const name = `ws6${process.pid % 100000}`;
  let bigHash = '';

  before(async () => {
    assert.equal(cannot, null, `needs root, /dev/net/tun and the Debian packages wireguard-go wireguard-tools curl socat iputils-ping: ${cannot}`);
    lab = await TunLab.create('wst-tun6-', BIG);
    ({ dir, bigHash } = lab);
    a = lab.netns();
    b = lab.netns();
    lab.veth({ a: 'ws6ab', b: 'ws6ba', aCidr: '10.94.2.1/24', bCidr: '10.94.2.2/24', nsA: a, nsB: b });
    // The outer IPv6 addresses without duplicate address detection (not what this test is about).
    a.execSync('ip', ['-6', 'address', 'add', `${A_OUTER6}/64`, 'dev', 'ws6ab', 'nodad']);
    b.execSync('ip', ['-6', 'address', 'add', `${B_OUTER6}/64`, 'dev', 'ws6ba', 'nodad']);
    goB = await lab.wireguardGo(b, 'wg6b', ['[Interface]', `PrivateKey = ${encodeKey(bPriv)}`, `ListenPort = ${PORT}`, '',
      '[Peer]', `PublicKey = ${ourPub}`, `AllowedIPs = ${A_INNER}/32, ${A_INNER6}/128`], [`${B_INNER}/24`, `${B_INNER6}/64`]);
    await lab.httpServer(b, B_INNER6, HTTP_PORT);

    const file = lab.config('tun6.conf', `[Interface]
PrivateKey = ${encodeKey(ourPriv)}
Address = ${A_INNER}/24, ${A_INNER6}/64
ListenPort = ${PORT}

[Peer]
PublicKey = ${bPub}
Endpoint = [${B_OUTER6}]:${PORT}
AllowedIPs = 0.0.0.0/0, ::/0
`);
    ws = await lab.tun(a, file, name, ['--stats-interval', '1']);
  });

  after(() => {
    lab?.teardown();
  });

  it('comes up with the IPv6 address, default routes for both families and the IPv6 fwmark rules', async () => {
    const up = ws!.events.find((e) => e.event === 'up')!;
    assert.deepEqual(up.addresses, [`${A_INNER}/24`, `${A_INNER6}/64`]);
    assert.deepEqual(up.routes, ['0.0.0.0/0', '::/0']);
    assert.equal(up.fwmark, 51820);
    assert.equal(ws!.events.filter((e) => e.event === 'warning').length, 0, 'no IPv6 warnings any more');
    assert.match((await a!.run('ip', ['-6', 'address', 'show', 'dev', name])).stdout, new RegExp(`inet6 ${A_INNER6}/64`));
    const rules = (await a!.run('ip', ['-6', 'rule', 'show'])).stdout;
    assert.match(rules, /not from all fwmark 0xca6c lookup 51820/);
    assert.match(rules, /from all lookup main suppress_prefixlength 0/);
    assert.match((await a!.run('ip', ['-6', 'route', 'show', 'table', '51820'])).stdout, new RegExp(`default dev ${name}`));
  });

  it('ping -6 both ways through the tunnel (and IPv4 inside over the IPv6 outer endpoint)', async () => {
    const there = await a!.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', B_INNER6], { timeoutMs: 30_000 });
    assert.equal(there.code, 0, `ping -6 ${B_INNER6} from A: ${there.stdout}${there.stderr}`);
    assert.match(there.stdout, /3 received/);
    const back = await b!.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', A_INNER6], { timeoutMs: 30_000 });
    assert.equal(back.code, 0, `ping -6 ${A_INNER6} from B: ${back.stdout}${back.stderr}`);
    const v4 = await a!.run('ping', ['-c', '2', '-i', '0.2', '-W', '5', B_INNER], { timeoutMs: 30_000 });
    assert.equal(v4.code, 0, `ping ${B_INNER}: ${v4.stdout}${v4.stderr}`);
    // Large IPv6 packets: 1400 bytes of ICMPv6 payload fill the tunnel MTU.
    const big = await a!.run('ping', ['-6', '-c', '2', '-s', '1300', '-W', '5', B_INNER6], { timeoutMs: 30_000 });
    assert.equal(big.code, 0, `ping -6 -s 1300: ${big.stdout}${big.stderr}`);
  });

  it('HTTP over IPv6 inside: curl -6 of 16 MiB from [fd95::2] arrives byte-exact', async () => {
    const out = join(dir, 'got.bin');
    const r = await a!.run('curl', ['-6', '-sS', '--fail', '--max-time', '240', '-o', out, `http://[${B_INNER6}]:${HTTP_PORT}/big.bin`], { timeoutMs: 250_000 });
    assert.equal(r.code, 0, `curl: ${r.stderr}`);
    assert.equal(fs.statSync(out).size, BIG);
    assert.equal(await sha256File(out), bigHash);
    fs.rmSync(out);
  });

  it('TCP over IPv6 inside, socat both ways: 2 MiB each, byte-exact', async () => {
    await socatBothWays(a!, A_INNER6, b!, B_INNER6, dir, 2 << 20);
  });

  it('wg show: the IPv6 endpoint on both sides, IPv6 allowed IPs, no drops by source', async () => {
    const ours = parseWgDump(await mustIn(ws!, 'wg', ['show', name, 'dump']));
    const p = ours.peers.find((x) => x.publicKey === bPub)!;
    assert.equal(p.endpoint, `[${B_OUTER6}]:${PORT}`);
    assert.equal(p.allowedIps, '0.0.0.0/0,::/0');
    assert.ok(p.rx > BIG, `rx ${p.rx}`);
    const theirs = parseWgDump(await goB!.must('wg', ['show', 'wg6b', 'dump']));
    const q = theirs.peers.find((x) => x.publicKey === ourPub)!;
    assert.equal(q.endpoint, `[${A_OUTER6}]:${PORT}`, 'wireguard-go saw us come from the IPv6 address');
    assert.ok(q.latestHandshake > 0);
  });

  it('stops on SIGTERM: no device, IPv6 route or rule left; the drop counters show no bad source or packet', async () => {
    assert.equal(await ws!.stop(), 0);
    const drops: Record<string, unknown> = ws!.events.find((e) => e.event === 'drops') ?? {};
    assert.equal(drops['wg.rxBadSourceIp'], undefined, JSON.stringify(drops));
    assert.equal(drops['wg.rxBadPacket'], undefined, JSON.stringify(drops));
    assert.deepEqual(await leftovers(a!, name), []);
    const routes6 = (await a!.run('ip', ['-6', 'route', 'show', 'table', 'all'])).stdout;
    assert.equal(routes6.split('\n').filter((l) => l.includes(`dev ${name}`)).length, 0, routes6);
    const rules6 = (await a!.run('ip', ['-6', 'rule', 'show'])).stdout;
    assert.doesNotMatch(rules6, /fwmark|suppress_prefixlength/, rules6);
  });
});
