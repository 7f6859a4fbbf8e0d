/**
 * `wirestack up` (stack mode) UDP tunnels with IPv6 inside the tunnel,
 * against Debian's wireguard-go, end to end: the CLI in namespace A (host
 * UDP socket over an IPv6 outer endpoint), wireguard-go in namespace B.
 * - [UDPClientTunnel]: a client on A's loopback → the stack → the tunnel →
 *   a UDP echo server on B's IPv6 tunnel address [fd89::2]:5300;
 * - [UDPServerTunnel]: a client in B sends to the stack's [fd89::1]:5400
 *   through wireguard-go → an echo server on A's loopback.
 * Datagrams of 1 to 3000 bytes (3000 is fragmented inside the tunnel, the
 * kernel and the stack reassemble), byte-exact both ways.
 *
 * Outer: veth fd88::1 (A) - fd88::2 (B) (plus 10.88.4.1/.2, unused by the
 * tunnel). Tunnel: wirestack 10.89.4.1/24 + fd89::1/64, wireguard-go
 * 10.89.4.2/24 + fd89::2/64. Addresses exist only in the namespaces the test
 * creates (wireguard-go in its own mount namespace, WireGuardGo); processes
 * are killed by PID, the namespaces removed in `after`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getSuite, encodeKey } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { CliChild, WIRESTACK_BIN } from '../helpers/wirestack-up.js';
import { waitForOutput } from '../helpers/tun-traffic.js';
import { WireGuardGo, parseWgDump, wireguardToolsMissing } from '../helpers/wireguard-go.js';
import { closeGoPeer6, openGoPeer6, type GoPeer6Lab } from '../helpers/go-peer6.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

const A_OUTER6 = 'fd88::1';
const B_OUTER6 = 'fd88::2';
const A_INNER = '10.89.4.1';
const B_INNER = '10.89.4.2';
const A_INNER6 = 'fd89::1';
const B_INNER6 = 'fd89::2';
const GO_PORT = 51820;
const OUR_PORT = 51821;
const B_ECHO_PORT = 5300;
const CLIENT_TUNNEL_PORT = 5353;
const SERVER_TUNNEL_PORT = 5400;
const A_ECHO_PORT = 5401;
const SIZES = [1, 100, 512, 1200, 1400, 3000];

/** A UDP echo server for a namespace: argv[1] type ('udp4'/'udp6'), argv[2] host, argv[3] port; exits after ten minutes. */
const NS_UDP_ECHO = `
const dgram = require('node:dgram');
const [type, host, port] = process.argv.slice(1);
setTimeout(() => process.exit(3), 600000).unref();
const s = dgram.createSocket(type);
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(port), host, () => console.log('ready'));
`;

/**
 * A UDP client for a namespace: argv[1] type, argv[2] host, argv[3] port,
 * argv[4] sizes (comma separated). Sends one datagram of each size (bytes
 * derived from size and index), retrying each up to 20 times 500 ms apart
 * until its echo comes back, and prints JSON [{ size, ok, tries }].
 */
const NS_UDP_CLIENT = `
const dgram = require('node:dgram');
const [type, host, port, sizes] = process.argv.slice(1);
const s = dgram.createSocket(type);
const fill = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 7 + n) & 255; return b; };
(async () => {
  const out = [];
  for (const size of sizes.split(',').map(Number)) {
    const want = fill(size);
    let ok = false, tries = 0;
    while (!ok && tries < 20) {
      tries++;
      ok = await new Promise((resolve) => {
        const t = setTimeout(() => { s.off('message', on); resolve(false); }, 500);
        const on = (m) => { if (m.equals(want)) { clearTimeout(t); s.off('message', on); resolve(true); } };
        s.on('message', on);
        s.send(want, Number(port), host);
      });
    }
    out.push({ size, ok, tries });
  }
  console.log(JSON.stringify(out));
  s.close();
})();
`;

const cannot = missingCapability() ?? wireguardToolsMissing()
  ?? (['ping'].filter((c) => !haveCommand(c)).map((c) => `${c} missing (Debian package iputils-ping)`)[0] ?? null);

describe('wirestack up: [UDPClientTunnel]/[UDPServerTunnel] with IPv6 targets through the tunnel, against wireguard-go', () => {
  let a: Netns | null = null;
  let b: Netns | null = null;
  const lab: GoPeer6Lab = { a: null, b: null, veth: null, go: null };
  let go: WireGuardGo | null = null;
  let up: CliChild | null = null;
  let dir = '';
  const suite = getSuite('standard');
  const ourPriv = suite.generatePrivateKey();
  const goPriv = suite.generatePrivateKey();

  before(async () => {
    assert.equal(cannot, null, `needs root, /dev/net/tun and the Debian packages wireguard-go wireguard-tools iputils-ping: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-udp6-'));
    ({ a, b, go } = await openGoPeer6(lab, {
      vethA: 'wu7ab', vethB: 'wu7ba', cidr4A: '10.88.4.1/24', cidr4B: '10.88.4.2/24', outer6A: A_OUTER6, outer6B: B_OUTER6,
      ifname: 'wgu7', goPrivate: encodeKey(goPriv), listenPort: GO_PORT, inner4: `${B_INNER}/24`,
      peerPublic: encodeKey(suite.publicKey(ourPriv)), allowedIps: `${A_INNER}/32, ${A_INNER6}/128`,
    }));
    await go.must('ip', ['-6', 'address', 'add', `${B_INNER6}/64`, 'dev', 'wgu7', 'nodad']);
    const echoB = b.spawn(process.execPath, ['-e', NS_UDP_ECHO, 'udp6', B_INNER6, String(B_ECHO_PORT)]);
    await waitForOutput(echoB, /^ready$/m, 20_000, 'UDP echo in B');
    const echoA = a.spawn(process.execPath, ['-e', NS_UDP_ECHO, 'udp4', '127.0.0.1', String(A_ECHO_PORT)]);
    await waitForOutput(echoA, /^ready$/m, 20_000, 'UDP echo on A\'s loopback');

    const file = join(dir, 'wgu7.conf');
    fs.writeFileSync(file, `[Interface]
PrivateKey = ${encodeKey(ourPriv)}
Address = ${A_INNER}/24, ${A_INNER6}/64
ListenPort = ${OUR_PORT}

[Peer]
PublicKey = ${encodeKey(suite.publicKey(goPriv))}
Endpoint = [${B_OUTER6}]:${GO_PORT}
AllowedIPs = ${B_INNER}/32, fd89::/64
PersistentKeepalive = 25

[UDPClientTunnel]
BindAddress = 127.0.0.1:${CLIENT_TUNNEL_PORT}
Target = [${B_INNER6}]:${B_ECHO_PORT}

[UDPServerTunnel]
ListenPort = ${SERVER_TUNNEL_PORT}
Target = 127.0.0.1:${A_ECHO_PORT}
`, { mode: 0o600 });
    up = new CliChild(a.spawn(process.execPath, [WIRESTACK_BIN, 'up', '--json', '--no-uapi', file, '--stats-interval', '1']));
    await up.wait((e) => e.event === 'up', 20_000, 'wirestack up');
    await up.wait((e) => e.event === 'handshake', 15_000, 'handshake');
  });

  after(() => {
    try {
      up?.kill();
    } finally {
      closeGoPeer6(lab);
      if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** wireguard-go's byte counters for our peer: what crossed the tunnel. */
  const transfer = async (): Promise<{ rx: number; tx: number }> => {
    const p = parseWgDump(await go!.must('wg', ['show', 'wgu7', 'dump'])).peers[0];
    return { rx: p.rx, tx: p.tx };
  };
  const total = SIZES.reduce((x, y) => x + y, 0);
  const check = (what: string, out: string): void => {
    const got = JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as Array<{ size: number; ok: boolean; tries: number }>;
    assert.deepEqual(got.map((g) => [g.size, g.ok]), SIZES.map((s) => [s, true]), `${what}: ${out}\n${up!.stderr}`);
  };

  it('[UDPClientTunnel] on A\'s loopback to [fd89::2]:5300 behind wireguard-go: every size echoed byte-exact', { timeout: 60_000 }, async () => {
    const before = await transfer();
    const r = await a!.run(process.execPath, ['-e', NS_UDP_CLIENT, 'udp4', '127.0.0.1', String(CLIENT_TUNNEL_PORT), SIZES.join(',')],
      { timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    check('client tunnel', r.stdout);
    const after = await transfer();
    // Each datagram went through the tunnel both ways: IPv6 + UDP headers and WireGuard's overhead on top.
    assert.ok(after.rx - before.rx > total && after.tx - before.tx > total, `${JSON.stringify({ before, after })}`);
  });

  it('[UDPServerTunnel]: B sends to the stack\'s [fd89::1]:5400 through wireguard-go, echoed from A\'s loopback byte-exact', { timeout: 60_000 }, async () => {
    const before = await transfer();
    const r = await b!.run(process.execPath, ['-e', NS_UDP_CLIENT, 'udp6', A_INNER6, String(SERVER_TUNNEL_PORT), SIZES.join(',')],
      { timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    check('server tunnel', r.stdout);
    const after = await transfer();
    assert.ok(after.rx - before.rx > total && after.tx - before.tx > total, `${JSON.stringify({ before, after })}`);
  });
});
