/**
 * `wirestack up CONFIG --tun` (WireGuard for the host) against Debian's
 * wireguard-go, as a user runs it: the CLI in a child process in namespace
 * A (and its own mount namespace for the UAPI socket), wireguard-go in
 * namespace B, a second wireguard-go in namespace C added later with
 * `wg set`. The host programs of A (ping, curl, socat, wg) use the tunnel.
 *
 * Outer: veth 10.94.0.1 (A) - 10.94.0.2 (B), veth 10.94.1.1 (A) - 10.94.1.2
 * (C). Tunnel: wirestack 10.95.0.1/24, wireguard-go B 10.95.0.2/24 (an HTTP
 * server with a 64 MiB file there), wireguard-go C 10.96.0.3/24. The config
 * routes 0.0.0.0/0 through the tunnel, so the fwmark and policy rules of
 * wg-quick's default route are in use (and C needs no extra route). No
 * other address is used; every process is killed by PID and the namespaces
 * removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { haveCommand, type Netns } from '../helpers/netns.js';
import { parseWgDump, type WireGuardGo } from '../helpers/wireguard-go.js';
import { leftovers, type TunDaemon } from '../helpers/wirestack-tun.js';
import { sha256File, socatBothWays } from '../helpers/tun-traffic.js';
import { TunLab, mustIn, tunLabMissing } from '../helpers/tun-lab.js';

const A_OUTER = '10.94.0.1';
const B_OUTER = '10.94.0.2';
const A_OUTER_C = '10.94.1.1';
const C_OUTER = '10.94.1.2';
const A_INNER = '10.95.0.1';
const B_INNER = '10.95.0.2';
const C_INNER = '10.96.0.3';
const PORT = 51820;
const HTTP_PORT = 8000;
const BIG = 64 << 20;

const cannot = tunLabMissing();

describe('wirestack up --tun against wireguard-go: the host uses the tunnel', () => {
  let lab: TunLab | null = null;
  let a: Netns | null = null;
  let b: Netns | null = null;
  let goB: WireGuardGo | null = null;
  let goC: WireGuardGo | null = null;
  let ws: TunDaemon | null = null;
  let dir = '';
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const cPriv = suite.generatePrivateKey();
  const ourPub = encodeKey(suite.publicKey(ourPriv));
  const bPub = encodeKey(suite.publicKey(bPriv));
  const cPub = encodeKey(suite.publicKey(cPriv));
  const name = `wst${process.pid % 100000}`;
  let bigHash = '';

  before(async () => {
    assert.equal(cannot, null, `needs root, /dev/net/tun and the Debian packages wireguard-go wireguard-tools curl socat iputils-ping: ${cannot}`);
    lab = await TunLab.create('wst-tun-', BIG);
    ({ dir, bigHash } = lab);
    a = lab.netns();
    b = lab.netns();
    const c = lab.netns();
    lab.veth({ a: 'wstab', b: 'wstba', aCidr: `${A_OUTER}/24`, bCidr: `${B_OUTER}/24`, nsA: a, nsB: b });
    lab.veth({ a: 'wstac', b: 'wstca', aCidr: `${A_OUTER_C}/24`, bCidr: `${C_OUTER}/24`, nsA: a, nsB: c });
    goB = await lab.wireguardGo(b, 'wgb', ['[Interface]', `PrivateKey = ${encodeKey(bPriv)}`, `ListenPort = ${PORT}`, '',
      '[Peer]', `PublicKey = ${ourPub}`, `AllowedIPs = ${A_INNER}/32`], [`${B_INNER}/24`]);
    goC = await lab.wireguardGo(c, 'wgc', ['[Interface]', `PrivateKey = ${encodeKey(cPriv)}`, `ListenPort = ${PORT}`, '',
      '[Peer]', `PublicKey = ${ourPub}`, `AllowedIPs = ${A_INNER}/32`, `Endpoint = ${A_OUTER_C}:${PORT}`], [`${C_INNER}/24`]);
    await goC.must('ip', ['route', 'add', `${A_INNER}/32`, 'dev', 'wgc']);
    await lab.httpServer(b, B_INNER, HTTP_PORT);

    const file = lab.config('tun.conf', `[Interface]
PrivateKey = ${encodeKey(ourPriv)}
Address = ${A_INNER}/24
ListenPort = ${PORT}
DNS = ${B_INNER}
PostUp = ip link show dev %i > ${dir}/postup.txt
PostDown = echo down %i > ${dir}/postdown.txt

[Peer]
PublicKey = ${bPub}
Endpoint = ${B_OUTER}:${PORT}
AllowedIPs = 0.0.0.0/0
`);
    ws = await lab.tun(a, file, name, ['--stats-interval', '1']);
  });

  after(() => {
    lab?.teardown();
  });

  it('comes up as wg-quick would: device, address, MTU from the path, default route through fwmark and rules, hooks', async () => {
    const up = ws!.events.find((e) => e.event === 'up')!;
    assert.equal(up.name, name);
    assert.equal(up.listenPort, PORT);
    assert.equal(up.mtu, 1500 - 80, 'no MTU key: the veth path MTU minus 80');
    assert.deepEqual(up.routes, ['0.0.0.0/0']);
    assert.equal(up.fwmark, 51820);
    assert.equal(up.uapi, `/var/run/wireguard/${name}.sock`);
    const link = (await a!.run('ip', ['link', 'show', 'dev', name])).stdout;
    assert.match(link, /mtu 1420/);
    assert.match(link, /POINTOPOINT/);
    const rules = (await a!.run('ip', ['-4', 'rule', 'show'])).stdout;
    assert.match(rules, /not from all fwmark 0xca6c lookup 51820/);
    assert.match(rules, /from all lookup main suppress_prefixlength 0/);
    assert.match((await a!.run('ip', ['-4', 'route', 'show', 'table', '51820'])).stdout, new RegExp(`default dev ${name}`));
    assert.match(fs.readFileSync(join(dir, 'postup.txt'), 'utf8'), new RegExp(`: ${name}: `), 'PostUp ran with %i replaced');
    if (!haveCommand('resolvconf')) {
      assert.ok(ws!.events.some((e) => e.event === 'warning' && /resolvconf not found/.test(String(e.message))), 'DNS reported and skipped');
    }
  });

  it('ping both ways over the tunnel', async () => {
    const there = await a!.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', B_INNER], { timeoutMs: 30_000 });
    assert.equal(there.code, 0, `ping ${B_INNER} from A: ${there.stdout}${there.stderr}`);
    assert.match(there.stdout, /3 received/);
    const back = await b!.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', A_INNER], { timeoutMs: 30_000 });
    assert.equal(back.code, 0, `ping ${A_INNER} from B: ${back.stdout}${back.stderr}`);
    // Not through the tunnel: the outer address stays on the main table (suppress_prefixlength 0 / fwmark).
    const outer = await a!.run('ping', ['-c', '1', '-W', '5', B_OUTER], { timeoutMs: 30_000 });
    assert.equal(outer.code, 0);
  });

  it('curl of 64 MiB from an HTTP server behind wireguard-go arrives byte-exact', async () => {
    const out = join(dir, 'got.bin');
    const r = await a!.run('curl', ['-sS', '--fail', '--max-time', '240', '-o', out, `http://${B_INNER}:${HTTP_PORT}/big.bin`], { timeoutMs: 250_000 });
    assert.equal(r.code, 0, `curl: ${r.stderr}`);
    assert.equal(fs.statSync(out).size, BIG);
    assert.equal(await sha256File(out), bigHash);
    fs.rmSync(out);
  });

  it('socat both ways: 4 MiB each, byte-exact', async () => {
    await socatBothWays(a!, A_INNER, b!, B_INNER, dir, 4 << 20);
  });

  it('wg show on both sides shows the handshake and the transfer counters', async () => {
    const ours = parseWgDump(await mustIn(ws!, 'wg', ['show', name, 'dump']));
    assert.equal(ours.publicKey, ourPub);
    assert.equal(ours.listenPort, PORT);
    const p = ours.peers.find((x) => x.publicKey === bPub)!;
    assert.ok(p.latestHandshake > 0, 'our side: handshake');
    assert.ok(p.rx > BIG && p.tx > 0, `our side: transfer rx ${p.rx} tx ${p.tx}`);
    assert.equal(p.allowedIps, '0.0.0.0/0');
    const theirs = parseWgDump(await goB!.must('wg', ['show', 'wgb', 'dump']));
    const q = theirs.peers.find((x) => x.publicKey === ourPub)!;
    assert.ok(q.latestHandshake > 0, 'wireguard-go: handshake');
    assert.ok(q.tx > BIG && q.rx > 0, `wireguard-go: transfer rx ${q.rx} tx ${q.tx}`);
    assert.equal(q.endpoint, `${A_OUTER}:${PORT}`);
    // The counters match up to packets in flight (keepalives).
    assert.ok(Math.abs(p.rx - q.tx) < 4096, `our rx ${p.rx} vs their tx ${q.tx}`);
  });

  it('a second peer added with wg set while running is reachable', async () => {
    await mustIn(ws!, 'wg', ['set', name, 'peer', cPub, 'endpoint', `${C_OUTER}:${PORT}`, 'allowed-ips', `${C_INNER}/32`]);
    const r = await a!.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', C_INNER], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `ping ${C_INNER} (second peer): ${r.stdout}${r.stderr}`);
    const dump = parseWgDump(await mustIn(ws!, 'wg', ['show', name, 'dump']));
    assert.equal(dump.peers.length, 2);
    const p = dump.peers.find((x) => x.publicKey === cPub)!;
    assert.ok(p.latestHandshake > 0 && p.rx > 0);
    const theirs = parseWgDump(await goC!.must('wg', ['show', 'wgc', 'dump']));
    assert.ok(theirs.peers[0].latestHandshake > 0);
  });

  it('stops on SIGTERM and leaves no device, route or rule behind; PostDown runs', async () => {
    assert.equal(await ws!.stop(), 0);
    assert.ok(ws!.events.some((e) => e.event === 'down'));
    assert.deepEqual(await leftovers(a!, name), []);
    assert.equal(fs.readFileSync(join(dir, 'postdown.txt'), 'utf8').trim(), `down ${name}`);
    assert.equal(fs.existsSync(`/proc/${ws!.pid}`), false);
  });
});
