import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWgQuick, loadWgQuick, formatWgQuick, WgConfigError, deriveSuiteFromKeyLength, type WgQuickConfig } from '../../src/wireguard/config.js';
import { decodeBase64Strict } from '../../src/wireguard/key-text.js';

const b64 = (bytes: number, fill: number) => Buffer.alloc(bytes, fill).toString('base64');
const fipsKey = (fill: number) => Buffer.concat([Buffer.from([4]), Buffer.alloc(64, fill)]).toString('base64');
const PRIV = b64(32, 1);
const PUB1 = b64(32, 2);
const PUB2 = b64(32, 3);
const PSK = b64(32, 4);

const WG0 = `# wg0: office VPN
[Interface]
PrivateKey = ${PRIV}
Address = 10.8.0.2/24, fd00::2/64
Address = 10.9.0.2
ListenPort = 51820
DNS = 10.8.0.1, 2606:4700::1111, 1.1.1.1, corp.example
MTU = 1420
FwMark = 0x1234
Table = off
PostUp = iptables -A FORWARD -i %i -j ACCEPT   # a hook
PreDown = true

[Peer]
PublicKey = ${PUB1}
PresharedKey = ${PSK}
AllowedIPs = 10.8.0.0/24, 0.0.0.0/0, ::/0
Endpoint = vpn.example.com:51820
PersistentKeepalive = 25

  [peer]
# keys are case-insensitive, like wg(8)
publickey=${PUB2}
allowedips = 192.168.5.7/24
ALLOWEDIPS = 172.16.0.1/32
endpoint = 203.0.113.5:51821
persistentkeepalive = off

[Socks5]
BindAddress = 127.0.0.1:1080
Username = alice
Password = s3cret

[http]
BindAddress = 127.0.0.1:3128

[TCPClientTunnel]
BindAddress = 127.0.0.1:2222
Target = 10.8.0.5:22

[TCPServerTunnel]
ListenPort = 8080
Target = localhost:80

[UDPClientTunnel]
BindAddress = 127.0.0.1:5353
Target = 10.8.0.1:53

[UDPServerTunnel]
ListenPort = 5000
Target = 127.0.0.1:5001
`;

test('a realistic wg0.conf parses into every field, with warnings for what wirestack ignores', () => {
  const c = parseWgQuick(WG0, { name: 'wg0' });
  assert.equal(c.name, 'wg0');
  assert.equal(c.suite, 'standard');
  assert.deepEqual(c.privateKey, new Uint8Array(Buffer.alloc(32, 1)));
  // IPv6 entries are kept in RFC 5952 form; an interface address keeps its host bits.
  assert.deepEqual(c.addresses, [
    { address: '10.8.0.2', prefixLength: 24 }, { address: 'fd00::2', prefixLength: 64 }, { address: '10.9.0.2', prefixLength: 32 },
  ]);
  assert.equal(c.listenPort, 51820);
  assert.deepEqual(c.dns, ['10.8.0.1', '2606:4700::1111', '1.1.1.1']);
  assert.equal(c.mtu, 1420);
  assert.equal(c.peers.length, 2);
  const [p1, p2] = c.peers;
  assert.deepEqual(p1.publicKey, new Uint8Array(Buffer.alloc(32, 2)));
  assert.deepEqual(p1.presharedKey, new Uint8Array(Buffer.alloc(32, 4)));
  assert.deepEqual(p1.allowedIps, [
    { address: '10.8.0.0', prefixLength: 24 }, { address: '0.0.0.0', prefixLength: 0 }, { address: '::', prefixLength: 0 },
  ]);
  assert.deepEqual(p1.endpoint, { host: 'vpn.example.com', port: 51820 });
  assert.equal(p1.persistentKeepalive, 25);
  assert.equal(p2.presharedKey, undefined);
  // Host bits are cleared, as wg(8) does; repeated keys accumulate.
  assert.deepEqual(p2.allowedIps, [{ address: '192.168.5.0', prefixLength: 24 }, { address: '172.16.0.1', prefixLength: 32 }]);
  assert.deepEqual(p2.endpoint, { host: '203.0.113.5', port: 51821 });
  assert.equal(p2.persistentKeepalive, undefined);
  assert.deepEqual(c.socks5, { bindAddress: { host: '127.0.0.1', port: 1080 }, username: 'alice', password: 's3cret' });
  // wireproxy spells it [http]; section names are case-insensitive.
  assert.deepEqual(c.http, { bindAddress: { host: '127.0.0.1', port: 3128 } });
  assert.deepEqual(c.tunnels, [
    { kind: 'tcp-client', bindAddress: { host: '127.0.0.1', port: 2222 }, target: { host: '10.8.0.5', port: 22 } },
    { kind: 'tcp-server', listenPort: 8080, target: { host: 'localhost', port: 80 } },
    { kind: 'udp-client', bindAddress: { host: '127.0.0.1', port: 5353 }, target: { host: '10.8.0.1', port: 53 } },
    { kind: 'udp-server', listenPort: 5000, target: { host: '127.0.0.1', port: 5001 } },
  ]);
  assert.deepEqual(c.warnings, [
    'line 7: DNS search domain corp.example is ignored by wirestack',
    'line 9: FwMark is ignored by wirestack',
    'line 10: Table is ignored by wirestack',
    'line 11: PostUp is ignored by wirestack',
    'line 12: PreDown is ignored by wirestack',
  ]);
});

test('formatWgQuick output parses back to the same config (standard and fips)', () => {
  const c = parseWgQuick(WG0);
  const text = formatWgQuick(c);
  const back = parseWgQuick(text);
  assert.deepEqual(back.warnings, []);
  assert.deepEqual({ ...back, warnings: [] }, { ...c, warnings: [] });
  assert.match(text, /^\[Interface\]\nPrivateKey = /);
  assert.match(text, /\nAllowedIPs = 10\.8\.0\.0\/24, 0\.0\.0\.0\/0, ::\/0\n/);

  const fips: WgQuickConfig = {
    suite: 'fips',
    privateKey: new Uint8Array(32).fill(9),
    addresses: [],
    dns: [],
    peers: [],
    tunnels: [],
    warnings: [],
  };
  // With no peers only the Suite line can carry the suite across.
  assert.deepEqual(parseWgQuick(formatWgQuick(fips)), fips);
  fips.peers.push({ publicKey: new Uint8Array(decodeBase64Strict(fipsKey(7)) as Uint8Array), allowedIps: [{ address: '10.0.0.0', prefixLength: 8 }], persistentKeepalive: 15 });
  assert.deepEqual(parseWgQuick(formatWgQuick(fips)), fips);

  assert.throws(() => formatWgQuick({ ...c, socks5: { bindAddress: { host: '127.0.0.1', port: 1 }, username: 'a', password: 'x#y' } }), /cannot write Socks5 Password/);
  const withAuth = { ...c, http: { bindAddress: { host: '127.0.0.1', port: 3128 }, username: 'u', password: 'p w' } };
  assert.deepEqual(parseWgQuick(formatWgQuick(withAuth)).http, withAuth.http);
});

test('suite: explicit, inferred from peer key length, and mixing is an error', () => {
  const iface = `[Interface]\nPrivateKey = ${PRIV}\n`;
  assert.equal(parseWgQuick(iface).suite, 'standard');
  assert.equal(parseWgQuick(`${iface}Suite = FIPS\n`).suite, 'fips');
  assert.equal(parseWgQuick(`${iface}[Peer]\nPublicKey = ${fipsKey(5)}\n`).suite, 'fips');
  assert.equal(parseWgQuick(`${iface}[Peer]\nPublicKey = ${PUB1}\n`).suite, 'standard');
  assert.throws(
    () => parseWgQuick(`${iface}[Peer]\nPublicKey = ${PUB1}\n[Peer]\nPublicKey = ${fipsKey(5)}\n`),
    (e: unknown) => e instanceof WgConfigError && e.line === 6 && /65 bytes \(fips suite\) but the PublicKey on line 4 says the standard suite/.test(e.message),
  );
  assert.throws(
    () => parseWgQuick(`${iface}Suite = fips\n[Peer]\nPublicKey = ${PUB1}\n`),
    (e: unknown) => e instanceof WgConfigError && e.line === 5 && /32 bytes \(standard suite\) but Suite says the fips suite/.test(e.message),
  );
  assert.equal(deriveSuiteFromKeyLength(32), 'standard');
  assert.equal(deriveSuiteFromKeyLength(65), 'fips');
  assert.equal(deriveSuiteFromKeyLength(33), null);
});

test('every error names its line', () => {
  const I = `[Interface]\nPrivateKey = ${PRIV}\n`; // lines 1-2
  const P = `${I}[Peer]\nPublicKey = ${PUB1}\n`; // peer on lines 3-4
  const cases: Array<[string, number, RegExp]> = [
    [`${I}Foo = 1\n`, 3, /unknown key "Foo" in \[Interface\]/],
    [`${P}Foo = 1\n`, 5, /unknown key "Foo" in \[Peer\]/],
    [`${I}[Bogus]\n`, 3, /unknown section \[Bogus\]/],
    [`${I}[Peer\n`, 3, /malformed section header/],
    [`PrivateKey = ${PRIV}\n`, 1, /outside of any section/],
    [`${I}ListenPort\n`, 3, /expected "Key = Value"/],
    [`${I}PrivateKey = ${PRIV}\n`, 3, /duplicate PrivateKey in \[Interface\] \(first on line 2\)/],
    [`${I}[Interface]\n`, 3, /second \[Interface\] section \(the first is on line 1\)/],
    [`[Interface]\nPrivateKey = not*base64\n`, 2, /PrivateKey is not valid base64/],
    [`[Interface]\nPrivateKey = ${b64(31, 1)}\n`, 2, /PrivateKey must be 32 bytes, got 31/],
    // Lenient decoders accept these; a strict one must not (missing padding, non-canonical last character, whitespace).
    [`[Interface]\nPrivateKey = ${PRIV.slice(0, -1)}\n`, 2, /not valid base64/],
    [`[Interface]\nPrivateKey = ${PRIV.slice(0, -2)}B=\n`, 2, /not valid base64/],
    [`[Interface]\nPrivateKey = ${PRIV.slice(0, 10)} ${PRIV.slice(10)}\n`, 2, /not valid base64/],
    [`${I}[Peer]\nPublicKey = ${b64(64, 1)}\n`, 4, /PublicKey must be 32 or 65 bytes, got 64/],
    [`${I}[Peer]\nPublicKey = ${b64(65, 1)}\n`, 4, /uncompressed P-256 point/],
    [`${P}PresharedKey = ${b64(16, 1)}\n`, 5, /PresharedKey must be 32 bytes/],
    [`${I}ListenPort = 70000\n`, 3, /ListenPort must be an integer 0\.\.65535/],
    [`${I}ListenPort = -1\n`, 3, /ListenPort must be an integer/],
    [`${I}MTU = 100\n`, 3, /MTU must be an integer 576\.\.65535/],
    [`${I}Address = 10.0.0.300/24\n`, 3, /not an IPv4 address/],
    [`${I}Address = 10.0.0.1/33\n`, 3, /prefix length must be 0\.\.32/],
    [`${I}Address = 10.0.0.1/24,,10.0.1.1/24\n`, 3, /empty entry in Address/],
    [`${I}Address =\n`, 3, /empty value for Address/],
    [`${I}DNS = 1.2.3.400\n`, 3, /DNS server "1\.2\.3\.400"/],
    [`${I}Suite = quantum\n`, 3, /Suite must be "standard" or "fips"/],
    [`${P}AllowedIPs = 10.0.0.0/40\n`, 5, /prefix length/],
    [`${P}Endpoint = 2001:db8::1:51820\n`, 5, /an IPv6 address needs brackets, as in \[2001:db8::1\]:51820/],
    [`${P}Endpoint = [2001:db8::1]\n`, 5, /must be \[IPv6 address\]:port/],
    [`${P}Endpoint = [2001:db8::1:51820\n`, 5, /must be \[IPv6 address\]:port/],
    [`${P}Endpoint = [2001:db8::g]:1\n`, 5, /host "2001:db8::g" is not a valid IPv6 address/],
    [`${P}Endpoint = [10.0.0.1]:1\n`, 5, /not a valid IPv6 address/],
    [`${P}Endpoint = [fd00::1]:0\n`, 5, /Endpoint port must be an integer 1\.\.65535/],
    [`${P}AllowedIPs = fd00::/129\n`, 5, /AllowedIPs prefix length must be an integer 0\.\.128/],
    [`${P}AllowedIPs = fd00:::/64\n`, 5, /AllowedIPs entry "fd00:::\/64" is not a valid IPv6 address/],
    [`${I}Address = fd00::1::2/64\n`, 3, /Address entry "fd00::1::2\/64" is not a valid IPv6 address/],
    [`${I}DNS = 2606:4700::11111\n`, 3, /DNS server "2606:4700::11111" is not a valid IPv6 address/],
    [`${P}Endpoint = 10.0.0.1\n`, 5, /Endpoint "10\.0\.0\.1" must be host:port/],
    [`${P}Endpoint = 10.0.0.1:0\n`, 5, /Endpoint port must be an integer 1\.\.65535/],
    [`${P}Endpoint = 10.0.0.1:65536\n`, 5, /Endpoint port/],
    [`${P}Endpoint = 10.0.0.256:1\n`, 5, /not a valid IPv4 address/],
    [`${P}Endpoint = bad_host-.example:1\n`, 5, /not a valid host name/],
    [`${P}PersistentKeepalive = 65536\n`, 5, /PersistentKeepalive must be an integer 0\.\.65535/],
    [`${P}PersistentKeepalive = never\n`, 5, /PersistentKeepalive/],
    [`${I}[Peer]\nAllowedIPs = 10.0.0.0/8\n`, 3, /missing PublicKey in \[Peer\]/],
    [`${P}[Peer]\n\nPublicKey = ${PUB1}\n`, 7, /duplicate peer \(same PublicKey as the peer on line 3\)/],
    [`[Interface]\nListenPort = 1\n`, 1, /missing PrivateKey in \[Interface\]/],
    [`${I}[Socks5]\nUsername = a\nPassword = b\n`, 3, /missing BindAddress in \[Socks5\]/],
    [`${I}[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = a\n`, 3, /both Username and Password/],
    [`${I}[Socks5]\nBindAddress = 127.0.0.1\n`, 4, /must be host:port/],
    [`${I}[Socks5]\nBindAddress = 127.0.0.1:1\n[Socks5]\n`, 5, /second \[Socks5\] section/],
    [`${I}[HTTP]\nUsername = a\nPassword = b\n`, 3, /missing BindAddress in \[HTTP\]/],
    [`${I}[HTTP]\nBindAddress = 127.0.0.1:3128\nPassword = b\n`, 3, /\[HTTP\] needs both Username and Password/],
    [`${I}[HTTP]\nBindAddress = 127.0.0.1:1\n[http]\n`, 5, /second \[HTTP\] section/],
    [`${I}[HTTP]\nTarget = 127.0.0.1:1\n`, 4, /unknown key "Target" in \[HTTP\]/],
    [`${I}[TCPClientTunnel]\nTarget = 10.0.0.1:22\n`, 3, /missing BindAddress in \[TCPClientTunnel\]/],
    [`${I}[TCPServerTunnel]\nTarget = 10.0.0.1:22\n`, 3, /missing ListenPort in \[TCPServerTunnel\]/],
    [`${I}[UDPClientTunnel]\nBindAddress = 127.0.0.1:53\n`, 3, /missing Target in \[UDPClientTunnel\]/],
    [`${I}[UDPServerTunnel]\nListenPort = 0\nTarget = 127.0.0.1:1\n`, 4, /ListenPort must be an integer 1\.\.65535/],
    [`${I}[TCPServerTunnel]\nBindAddress = 127.0.0.1:1\n`, 4, /unknown key "BindAddress" in \[TCPServerTunnel\]/],
  ];
  for (const [text, line, message] of cases) {
    assert.throws(
      () => parseWgQuick(text),
      (e: unknown) => {
        assert.ok(e instanceof WgConfigError, `${text}: not a WgConfigError: ${String(e)}`);
        assert.equal(e.line, line, `${JSON.stringify(text)} → ${e.message}`);
        assert.match(e.message, message);
        assert.ok(e.message.startsWith(`line ${line}: `), e.message);
        return true;
      },
    );
  }
  assert.throws(() => parseWgQuick('# nothing\n'), (e: unknown) => e instanceof WgConfigError && e.line === 0 && e.message === 'missing [Interface] section');
  assert.throws(() => parseWgQuick(I, { name: 'a/b' }), /invalid interface name "a\/b"/);
  assert.throws(() => parseWgQuick(I, { name: 'sixteen-chars-xx' }), /invalid interface name/);
});

test('comments, CRLF line ends and blank lines are ignored; a keepalive of 0 means off', () => {
  const c = parseWgQuick(`\r\n# top\r\n[Interface]   # trailing\r\n  PrivateKey=${PRIV}  \r\n\r\n[Peer]\r\nPublicKey = ${PUB1} # who\r\nPersistentKeepalive = 0\r\n`);
  assert.equal(c.peers.length, 1);
  assert.equal(c.peers[0].persistentKeepalive, undefined);
  assert.deepEqual(c.warnings, []);
});

test('loadWgQuick names the interface after the file and prefixes errors with the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wst-wgconf-'));
  try {
    const path = join(dir, 'office.conf');
    writeFileSync(path, WG0);
    const c = loadWgQuick(path);
    assert.equal(c.name, 'office');
    assert.equal(c.peers.length, 2);
    assert.equal(loadWgQuick(path, { name: 'wst9' }).name, 'wst9');
    const other = join(dir, 'wg1');
    writeFileSync(other, `[Interface]\nPrivateKey = ${PRIV}\n`);
    assert.equal(loadWgQuick(other).name, 'wg1');
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, `[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PUB1}\nFoo = 1\n`);
    assert.throws(
      () => loadWgQuick(bad),
      (e: unknown) => e instanceof WgConfigError && e.line === 6 && e.message === `${bad}: line 6: unknown key "Foo" in [Peer]`,
    );
    const long = join(dir, 'a-name-longer-than-15.conf');
    writeFileSync(long, `[Interface]\nPrivateKey = ${PRIV}\n`);
    assert.throws(() => loadWgQuick(long), /invalid interface name "a-name-longer-than-15"/);
    assert.equal(loadWgQuick(long, { name: 'short' }).name, 'short');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strict base64: exact alphabet, padding and canonical encoding', () => {
  assert.deepEqual(decodeBase64Strict(PRIV), new Uint8Array(Buffer.alloc(32, 1)));
  assert.equal(decodeBase64Strict('AQ'), null);
  assert.deepEqual(decodeBase64Strict('AQ=='), new Uint8Array([1]));
  assert.equal(decodeBase64Strict('AR=='), null); // non-zero unused bits
  assert.equal(decodeBase64Strict('A-_='), null); // URL alphabet
  assert.equal(decodeBase64Strict('AQ==AQ=='), null);
  assert.deepEqual(decodeBase64Strict(''), new Uint8Array(0));
});

test('IPv6 in every place wg-quick takes an address: Address, AllowedIPs, DNS, Endpoint, proxies and tunnels', () => {
  const text = `[Interface]
PrivateKey = ${PRIV}
Address = 10.2.0.2/32, FD00:0:0:0:0:0:0:2/128
DNS = 10.2.0.1, 2001:DB8::53
[Peer]
PublicKey = ${PUB1}
AllowedIPs = 0.0.0.0/0, ::/0, 2001:db8:1:2:3:4:5:6/48, fd00::7
Endpoint = [2001:0db8:0000::0001]:51820
[Peer]
PublicKey = ${PUB2}
Endpoint = [::ffff:192.0.2.1]:1
[Socks5]
BindAddress = [::1]:1080
[TCPClientTunnel]
BindAddress = [::1]:2222
Target = [fd00::5]:22
[UDPClientTunnel]
BindAddress = [::1]:5353
Target = [FD00::1]:53
[UDPServerTunnel]
ListenPort = 53
Target = [::1]:5353
`;
  const c = parseWgQuick(text);
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.addresses, [{ address: '10.2.0.2', prefixLength: 32 }, { address: 'fd00::2', prefixLength: 128 }]);
  assert.deepEqual(c.dns, ['10.2.0.1', '2001:db8::53']);
  // Host bits cleared, a bare address is a /128, text canonical (RFC 5952).
  assert.deepEqual(c.peers[0].allowedIps, [
    { address: '0.0.0.0', prefixLength: 0 }, { address: '::', prefixLength: 0 },
    { address: '2001:db8:1::', prefixLength: 48 }, { address: 'fd00::7', prefixLength: 128 },
  ]);
  assert.deepEqual(c.peers[0].endpoint, { host: '2001:db8::1', port: 51820 });
  assert.deepEqual(c.peers[1].endpoint, { host: '::ffff:192.0.2.1', port: 1 });
  assert.deepEqual(c.socks5?.bindAddress, { host: '::1', port: 1080 });
  assert.deepEqual(c.tunnels, [
    { kind: 'tcp-client', bindAddress: { host: '::1', port: 2222 }, target: { host: 'fd00::5', port: 22 } },
    { kind: 'udp-client', bindAddress: { host: '::1', port: 5353 }, target: { host: 'fd00::1', port: 53 } },
    { kind: 'udp-server', listenPort: 53, target: { host: '::1', port: 5353 } },
  ]);
  // Written back with brackets around IPv6 hosts, and read back equal.
  const out = formatWgQuick(c);
  assert.match(out, /\nEndpoint = \[2001:db8::1\]:51820\n/);
  assert.match(out, /\nAddress = 10\.2\.0\.2\/32, fd00::2\/128\n/);
  assert.match(out, /\nDNS = 10\.2\.0\.1, 2001:db8::53\n/);
  assert.match(out, /\nTarget = \[fd00::5\]:22\n/);
  assert.match(out, /\nBindAddress = \[::1\]:5353\nTarget = \[fd00::1\]:53\n/);
  assert.deepEqual({ ...parseWgQuick(out), warnings: [] }, { ...c, warnings: [] });
});
