/**
 * `wirestack up` (stack mode) with IPv6 inside the tunnel and an IPv6 outer
 * endpoint, against Debian's wireguard-go: the CLI in namespace A (its host
 * UDP socket dual-stack there, its SOCKS5 proxy on A's loopback), wireguard-go
 * in namespace B with an HTTP server on its IPv6 tunnel address.
 *
 * Outer: veth fd92::1 (A) - fd92::2 (B) (plus 10.92.4.1/.2, unused by the
 * tunnel). Tunnel: wirestack 10.93.4.1/24 + fd93::1/64, wireguard-go
 * 10.93.4.2/24 + fd93::2/64. Addresses exist only in the namespaces the test
 * creates; processes are killed by PID, the namespaces removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { CliChild, WIRESTACK_BIN } from '../helpers/wirestack-up.js';
import { NS_FILE_SERVER, sha256File, waitForOutput } from '../helpers/tun-traffic.js';
import { WireGuardGo, parseWgDump, wireguardToolsMissing } from '../helpers/wireguard-go.js';
import { closeGoPeer6, openGoPeer6, type GoPeer6Lab } from '../helpers/go-peer6.js';

const A_OUTER6 = 'fd92::1';
const B_OUTER6 = 'fd92::2';
const A_INNER = '10.93.4.1';
const B_INNER = '10.93.4.2';
const A_INNER6 = 'fd93::1';
const B_INNER6 = 'fd93::2';
const GO_PORT = 51820;
const OUR_PORT = 51821;
const HTTP_PORT = 8000;
const SOCKS_PORT = 1080;
const CLIENT_TUNNEL_PORT = 2222;
const SERVER_TUNNEL_PORT = 8080;
const A_HOST_HTTP_PORT = 9000;
const FILE_BYTES = 4 << 20;

const cannot = missingCapability() ?? wireguardToolsMissing()
  ?? (['curl', 'ping'].filter((c) => !haveCommand(c)).map((c) => `${c} missing (Debian package ${c === 'ping' ? 'iputils-ping' : c})`)[0] ?? null);

describe('wirestack up (stack mode) with IPv6 inside and an IPv6 outer endpoint, against wireguard-go', () => {
  let a: Netns | null = null;
  let b: Netns | null = null;
  const lab: GoPeer6Lab = { a: null, b: null, veth: null, go: null };
  let go: WireGuardGo | null = null;
  let up: CliChild | null = null;
  let dir = '';
  let fileHash = '';
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();
  const ourPub = encodeKey(suite.publicKey(ourPriv));
  const goPub = encodeKey(suite.publicKey(goPriv));

  before(async () => {
    assert.equal(cannot, null, `needs root, /dev/net/tun and the Debian packages wireguard-go wireguard-tools curl iputils-ping: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-up6-'));
    fs.writeFileSync(join(dir, 'blob.bin'), randomBytes(FILE_BYTES));
    fileHash = await sha256File(join(dir, 'blob.bin'));
    // No endpoint for us: wireguard-go learns our IPv6 source from the handshake.
    ({ a, b, go } = await openGoPeer6(lab, {
      vethA: 'wu6ab', vethB: 'wu6ba', cidr4A: '10.92.4.1/24', cidr4B: '10.92.4.2/24', outer6A: A_OUTER6, outer6B: B_OUTER6,
      ifname: 'wgu6', goPrivate: encodeKey(goPriv), listenPort: GO_PORT, inner4: `${B_INNER}/24`,
      peerPublic: ourPub, allowedIps: `${A_INNER}/32, ${A_INNER6}/128`,
    }));
    await go.must('ip', ['-6', 'address', 'add', `${B_INNER6}/64`, 'dev', 'wgu6']);
    const httpd = b.spawn(process.execPath, ['-e', NS_FILE_SERVER, dir, B_INNER6, String(HTTP_PORT)]);
    await waitForOutput(httpd, /^ready$/m, 20_000, 'HTTP server in B');

    // A's host side: a server on A's loopback that B reaches through [TCPServerTunnel].
    const hostd = a.spawn(process.execPath, ['-e', NS_FILE_SERVER, dir, '127.0.0.1', String(A_HOST_HTTP_PORT)]);
    await waitForOutput(hostd, /^ready$/m, 20_000, 'HTTP server on A\'s loopback');

    const file = join(dir, 'wgu6.conf');
    fs.writeFileSync(file, `[Interface]
PrivateKey = ${encodeKey(ourPriv)}
Address = ${A_INNER}/24, ${A_INNER6}/64
ListenPort = ${OUR_PORT}

[Peer]
PublicKey = ${goPub}
Endpoint = [${B_OUTER6}]:${GO_PORT}
AllowedIPs = ${B_INNER}/32, fd93::/64
PersistentKeepalive = 25

[Socks5]
BindAddress = 127.0.0.1:${SOCKS_PORT}

[TCPClientTunnel]
BindAddress = 127.0.0.1:${CLIENT_TUNNEL_PORT}
Target = [${B_INNER6}]:${HTTP_PORT}

[TCPServerTunnel]
ListenPort = ${SERVER_TUNNEL_PORT}
Target = 127.0.0.1:${A_HOST_HTTP_PORT}
`, { mode: 0o600 });
    up = new CliChild(a.spawn(process.execPath, [WIRESTACK_BIN, 'up', '--json', '--no-uapi', file, '--stats-interval', '1']));
    const ready = await up.wait((e) => e.event === 'up', 20_000, 'wirestack up');
    assert.deepEqual(ready.addresses, [`${A_INNER}/24`, `${A_INNER6}/64`]);
  });

  after(() => {
    try {
      up?.kill();
    } finally {
      closeGoPeer6(lab);
      if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('handshake over the IPv6 outer endpoint; wireguard-go learns our IPv6 source', { timeout: 30_000 }, async () => {
    const hs = await up!.wait((e) => e.event === 'handshake', 15_000, 'handshake');
    assert.equal(hs.endpoint, `[${B_OUTER6}]:${GO_PORT}`);
    const dump = parseWgDump(await go!.must('wg', ['show', 'wgu6', 'dump']));
    assert.equal(dump.peers[0].endpoint, `[${A_OUTER6}]:${OUR_PORT}`);
    assert.equal(up!.events.filter((e) => e.event === 'warning').length, 0, JSON.stringify(up!.events.filter((e) => e.event === 'warning')));
  });

  it('ping -6 from behind wireguard-go to the stack\'s IPv6 tunnel address (ICMPv6 echo by the stack)', { timeout: 30_000 }, async () => {
    const r = await b!.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', A_INNER6], { timeoutMs: 25_000 });
    assert.equal(r.code, 0, `ping -6 ${A_INNER6}: ${r.stdout}${r.stderr}\n${up!.stderr}`);
    assert.match(r.stdout, /3 received/);
    const r4 = await b!.run('ping', ['-c', '2', '-i', '0.2', '-W', '5', A_INNER], { timeoutMs: 25_000 });
    assert.equal(r4.code, 0, `ping ${A_INNER}: ${r4.stdout}${r4.stderr}`);
  });

  it('HTTP to the peer\'s IPv6 tunnel address: curl through SOCKS5 (ATYP 4) fetches 4 MiB from [fd93::2] byte-exact', { timeout: 90_000 }, async () => {
    const out = join(dir, 'got.bin');
    const r = await a!.run('curl', ['-sS', '--fail', '--max-time', '60', '--socks5', `127.0.0.1:${SOCKS_PORT}`,
      '-o', out, `http://[${B_INNER6}]:${HTTP_PORT}/blob.bin`], { timeoutMs: 80_000 });
    assert.equal(r.code, 0, `curl: ${r.stderr}\n${up!.stderr}`);
    assert.equal(fs.statSync(out).size, FILE_BYTES);
    assert.equal(await sha256File(out), fileHash);
  });

  it('tunnels with IPv6: [TCPClientTunnel] to [fd93::2]:8000, and [TCPServerTunnel] reached from B at [fd93::1]:8080', { timeout: 90_000 }, async () => {
    const out = join(dir, 'client-tunnel.bin');
    const r = await a!.run('curl', ['-sS', '--fail', '--max-time', '60', '-o', out, `http://127.0.0.1:${CLIENT_TUNNEL_PORT}/blob.bin`], { timeoutMs: 80_000 });
    assert.equal(r.code, 0, `curl through the client tunnel: ${r.stderr}\n${up!.stderr}`);
    assert.equal(await sha256File(out), fileHash);
    const back = join(dir, 'server-tunnel.bin');
    const s6 = await b!.run('curl', ['-6', '-sS', '--fail', '--max-time', '60', '-o', back, `http://[${A_INNER6}]:${SERVER_TUNNEL_PORT}/blob.bin`], { timeoutMs: 80_000 });
    assert.equal(s6.code, 0, `curl -6 to the server tunnel: ${s6.stderr}\n${up!.stderr}`);
    assert.equal(await sha256File(back), fileHash);
  });
});
