/**
 * Two `wirestack up --tun` daemons with the fips suite (P-256, AES-256-GCM,
 * SHA-256 handshake; no other implementation speaks it), each in its own
 * network and mount namespace, joined by a veth: the hosts' ping, curl and
 * socat over the tunnel, the UAPI counters on both sides (raw `get=1`: wg(8)
 * cannot print 65-byte keys), and nothing left after SIGTERM.
 *
 * Outer: 10.94.2.1 (A) - 10.94.2.2 (B). Tunnel: 10.95.2.1/24 (A),
 * 10.95.2.2/24 (B, with an HTTP server). Namespaces removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import type { Netns } from '../helpers/netns.js';
import { leftovers, type TunDaemon } from '../helpers/wirestack-tun.js';
import { sha256File, socatBothWays } from '../helpers/tun-traffic.js';
import { TunLab, tunLabMissing } from '../helpers/tun-lab.js';

const A_OUTER = '10.94.2.1';
const B_OUTER = '10.94.2.2';
const A_INNER = '10.95.2.1';
const B_INNER = '10.95.2.2';
const PORT = 51820;
const HTTP_PORT = 8000;
const BIG = 64 << 20;

const cannot = tunLabMissing();

describe('two wirestack up --tun daemons with the fips suite', () => {
  let lab: TunLab | null = null;
  let a: Netns | null = null;
  let b: Netns | null = null;
  let da: TunDaemon | null = null;
  let db: TunDaemon | null = null;
  let dir = '';
  const suite = getSuite('fips');
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const aPub = suite.publicKey(aPriv);
  const bPub = suite.publicKey(bPriv);
  const nameA = `wsfa${process.pid % 10000}`;
  const nameB = `wsfb${process.pid % 10000}`;
  let bigHash = '';

  function conf(file: string, priv: Uint8Array, addr: string, peer: Uint8Array, endpoint: string, allowed: string): string {
    return lab!.config(file, ['[Interface]', 'Suite = fips', `PrivateKey = ${encodeKey(priv)}`, `Address = ${addr}/24`,
      `ListenPort = ${PORT}`, '', '[Peer]', `PublicKey = ${encodeKey(peer)}`, `Endpoint = ${endpoint}:${PORT}`,
      `AllowedIPs = ${allowed}`, ''].join('\n'));
  }

  before(async () => {
    assert.equal(cannot, null, `needs root, /dev/net/tun, nsenter/unshare, curl, socat, ping: ${cannot}`);
    lab = await TunLab.create('wst-tunfips-', BIG);
    ({ dir, bigHash } = lab);
    a = lab.netns();
    b = lab.netns();
    lab.veth({ a: 'wsffa', b: 'wsffb', aCidr: `${A_OUTER}/24`, bCidr: `${B_OUTER}/24`, nsA: a, nsB: b });
    await lab.httpServer(b, '0.0.0.0', HTTP_PORT);
    [da, db] = await Promise.all([
      lab.tun(a, conf('a.conf', aPriv, A_INNER, bPub, B_OUTER, `${B_INNER}/32`), nameA),
      lab.tun(b, conf('b.conf', bPriv, B_INNER, aPub, A_OUTER, `${A_INNER}/32`), nameB),
    ]);
  });

  after(() => {
    lab?.teardown();
  });

  it('ping both ways', async () => {
    const there = await a!.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', B_INNER], { timeoutMs: 30_000 });
    assert.equal(there.code, 0, `ping ${B_INNER}: ${there.stdout}${there.stderr}`);
    const back = await b!.run('ping', ['-c', '3', '-i', '0.2', '-W', '5', A_INNER], { timeoutMs: 30_000 });
    assert.equal(back.code, 0, `ping ${A_INNER}: ${back.stdout}${back.stderr}`);
  });

  it('curl of 64 MiB arrives byte-exact', async () => {
    const out = join(dir, 'got.bin');
    const r = await a!.run('curl', ['-sS', '--fail', '--max-time', '240', '-o', out, `http://${B_INNER}:${HTTP_PORT}/big.bin`], { timeoutMs: 250_000 });
    assert.equal(r.code, 0, `curl: ${r.stderr}`);
    assert.equal(await sha256File(out), bigHash);
    fs.rmSync(out);
  });

  it('socat both ways: 4 MiB each, byte-exact', async () => {
    await socatBothWays(a!, A_INNER, b!, B_INNER, dir, 4 << 20);
  });

  it('the UAPI on both sides shows the fips peer, its handshake and the transfer counters', async () => {
    for (const [d, peer] of [[da!, bPub], [db!, aPub]] as const) {
      const s = await d.uapiGet();
      assert.deepEqual(s.get('public_key'), [Buffer.from(peer).toString('hex')]);
      assert.ok(Number(s.get('last_handshake_time_sec')?.[0]) > 0, `${d.ifname}: handshake`);
      const rx = Number(s.get('rx_bytes')?.[0]);
      const tx = Number(s.get('tx_bytes')?.[0]);
      assert.ok(rx > 4 << 20 && tx > 4 << 20, `${d.ifname}: rx ${rx} tx ${tx}`);
      assert.ok(rx + tx > BIG, `${d.ifname}: the 64 MiB counted`);
    }
  });

  it('both stop on SIGTERM and leave nothing behind', async () => {
    const [ca, cb] = await Promise.all([da!.stop(), db!.stop()]);
    assert.equal(ca, 0);
    assert.equal(cb, 0);
    assert.deepEqual(await leftovers(a!, nameA), []);
    assert.deepEqual(await leftovers(b!, nameB), []);
  });
});
