import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleUapiRequest, UapiServer, errnoOf } from '../../src/wireguard/uapi.js';
import { FakeTarget } from './fake-target.js';

const hex = (bytes: number, fill: number) => Buffer.alloc(bytes, fill).toString('hex');
const K1 = hex(32, 0x11);
const K2 = hex(32, 0x22);
const K3 = hex(32, 0x33);
const PSK = hex(32, 0x44);
const ZERO = hex(32, 0);
const set = (t: FakeTarget, ...lines: string[]) => handleUapiRequest(t, `set=1\n${lines.map((l) => `${l}\n`).join('')}\n`);
const get = (t: FakeTarget) => handleUapiRequest(t, 'get=1\n\n');

test('get on an empty device is just errno=0', () => {
  assert.equal(get(new FakeTarget()), 'errno=0\n\n');
});

test('get dumps device and peers in the wireguard-go format', () => {
  const t = new FakeTarget();
  t.privateKey = new Uint8Array(32).fill(0xab);
  t.listenPort = 51820;
  t.fwmark = 0x1234;
  const p = t.peer(Buffer.alloc(32, 0x11), false)!;
  p.setPresharedKey(Buffer.alloc(32, 0x44));
  p.setEndpoint('192.0.2.7', 4500);
  p.setPersistentKeepalive(25);
  p.addAllowedIp('10.8.0.0', 24);
  p.addAllowedIp('10.9.1.5', 32);
  const fp = t.byFill(0x11)!;
  fp.state.lastHandshakeMs = 1_700_000_000_123.5;
  fp.state.rxBytes = 1536;
  fp.state.txBytes = 2 ** 40;
  t.peer(Buffer.alloc(32, 0x22), false);
  assert.equal(
    get(t),
    [
      `private_key=${hex(32, 0xab)}`,
      'listen_port=51820',
      'fwmark=4660',
      `public_key=${K1}`,
      `preshared_key=${PSK}`,
      'protocol_version=1',
      'endpoint=192.0.2.7:4500',
      'last_handshake_time_sec=1700000000',
      'last_handshake_time_nsec=123500000',
      'tx_bytes=1099511627776',
      'rx_bytes=1536',
      'persistent_keepalive_interval=25',
      'allowed_ip=10.8.0.0/24',
      'allowed_ip=10.9.1.5/32',
      `public_key=${K2}`,
      `preshared_key=${ZERO}`,
      'protocol_version=1',
      'last_handshake_time_sec=0',
      'last_handshake_time_nsec=0',
      'tx_bytes=0',
      'rx_bytes=0',
      'persistent_keepalive_interval=0',
      'errno=0',
      '',
      '',
    ].join('\n'),
  );
});

test('set: device keys', () => {
  const t = new FakeTarget();
  t.peer(Buffer.alloc(32, 9), false);
  assert.equal(set(t, `private_key=${hex(32, 0xcd)}`, 'listen_port=51821', 'fwmark=4294967295', 'replace_peers=true'), 'errno=0\n\n');
  assert.deepEqual(t.privateKey, new Uint8Array(Buffer.alloc(32, 0xcd)));
  assert.equal(t.listenPort, 51821);
  assert.equal(t.fwmark, 0xffffffff);
  assert.equal(t.peers.size, 0);
  assert.match(get(t), /^private_key=cdcd.*\nlisten_port=51821\nfwmark=4294967295\nerrno=0\n\n$/);
  // A zero key (what `wg set private-key /dev/null` sends) and an empty value both remove the key.
  assert.equal(set(t, `private_key=${ZERO}`), 'errno=0\n\n');
  assert.equal(t.privateKey, null);
  t.privateKey = new Uint8Array(32).fill(1);
  assert.equal(set(t, 'private_key='), 'errno=0\n\n');
  assert.equal(t.privateKey, null);
  // Uppercase hex is read (wireguard-go does), written back lowercase.
  assert.equal(set(t, `private_key=${hex(32, 0xcd).toUpperCase()}`), 'errno=0\n\n');
  assert.deepEqual(t.privateKey, new Uint8Array(Buffer.alloc(32, 0xcd)));
  assert.equal(set(t, 'listen_port=0'), 'errno=0\n\n');
  assert.equal(t.listenPort, 0);
  assert.equal(set(t), 'errno=0\n\n');
});

test('set: every peer key', () => {
  const t = new FakeTarget();
  const reply = set(
    t,
    `public_key=${K1}`,
    `preshared_key=${PSK}`,
    'endpoint=203.0.113.9:51820',
    'persistent_keepalive_interval=25',
    'replace_allowed_ips=true',
    'allowed_ip=10.8.0.77/24', // host bits cleared, as wg(8) and the kernel store it
    'allowed_ip=0.0.0.0/0',
    'protocol_version=1',
    `public_key=${K2}`,
    `public_key=${K3}`,
    'allowed_ip=10.3.0.0/16',
  );
  assert.equal(reply, 'errno=0\n\n');
  const p1 = t.byFill(0x11)!.state;
  assert.deepEqual(p1.presharedKey, new Uint8Array(Buffer.alloc(32, 0x44)));
  assert.deepEqual(p1.endpoint, { address: '203.0.113.9', port: 51820 });
  assert.equal(p1.persistentKeepalive, 25);
  assert.deepEqual(p1.allowedIps, [{ address: '10.8.0.0', prefixLength: 24 }, { address: '0.0.0.0', prefixLength: 0 }]);
  // A bare public_key line creates the peer.
  assert.ok(t.byFill(0x22));
  assert.deepEqual(t.byFill(0x33)!.state.allowedIps, [{ address: '10.3.0.0', prefixLength: 16 }]);

  // replace_allowed_ips drops the old ones; a zero preshared key removes it; keepalive 0 turns it off.
  assert.equal(set(t, `public_key=${K1}`, `preshared_key=${ZERO}`, 'persistent_keepalive_interval=0', 'replace_allowed_ips=true', 'allowed_ip=192.168.0.1/32'), 'errno=0\n\n');
  assert.equal(p1.presharedKey, null);
  assert.equal(p1.persistentKeepalive, 0);
  assert.deepEqual(p1.allowedIps, [{ address: '192.168.0.1', prefixLength: 32 }]);
  // Without replace_allowed_ips they accumulate.
  assert.equal(set(t, `public_key=${K1}`, 'allowed_ip=10.0.0.0/8'), 'errno=0\n\n');
  assert.equal(p1.allowedIps.length, 2);
});

test('set: update_only never creates, remove deletes, and neither creates an absent peer', () => {
  const t = new FakeTarget();
  assert.equal(set(t, `public_key=${K1}`, 'update_only=true', 'endpoint=192.0.2.1:1', 'allowed_ip=10.0.0.0/8'), 'errno=0\n\n');
  assert.equal(t.peers.size, 0);
  // update_only late in the section still means "do not create" (wireguard-go removes a peer it just made).
  assert.equal(set(t, `public_key=${K1}`, 'endpoint=192.0.2.1:1', 'update_only=true'), 'errno=0\n\n');
  assert.equal(t.peers.size, 0);
  assert.deepEqual(t.log, []);
  set(t, `public_key=${K1}`);
  assert.equal(set(t, `public_key=${K1}`, 'update_only=true', 'endpoint=192.0.2.1:7'), 'errno=0\n\n');
  assert.deepEqual(t.byFill(0x11)!.state.endpoint, { address: '192.0.2.1', port: 7 });

  t.log.length = 0;
  assert.equal(set(t, `public_key=${K2}`, 'remove=true', `public_key=${K1}`, 'remove=true', `public_key=${K3}`, 'allowed_ip=10.0.0.0/8'), 'errno=0\n\n');
  assert.deepEqual(t.log, ['remove 11111111', 'create 33333333', 'allowed 33333333 10.0.0.0/8']);
  assert.deepEqual([...t.peers.keys()], [K3]);
  // Lines after remove in the same section are validated but apply to nothing.
  assert.equal(set(t, `public_key=${K3}`, 'remove=true', 'endpoint=192.0.2.1:7'), 'errno=0\n\n');
  assert.equal(t.peers.size, 0);
});

test('set: a peer with the device\'s own public key is ignored, as the kernel does', () => {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const t = new FakeTarget();
  assert.equal(set(t, `private_key=${d.toString('hex')}`, `public_key=${x.toString('hex')}`, 'allowed_ip=10.0.0.0/8', `public_key=${K1}`), 'errno=0\n\n');
  assert.deepEqual([...t.peers.keys()], [K1]);
});

test('set errors: errno (negated, as wireguard-go sends it), and the request stops at the failing line', () => {
  const cases: Array<[string[], number]> = [
    [['bogus=1'], 22],
    [['endpoint=192.0.2.1:1'], 22], // a peer key before any public_key
    [[`public_key=${K1}`, 'listen_port=1'], 22], // a device key inside a peer
    [['listen_port'], 71], // no '='
    [['listen_port=65536'], 22],
    [['listen_port=-1'], 22],
    [['listen_port=0x10'], 22],
    [['fwmark=4294967296'], 22],
    [['replace_peers=false'], 22],
    [[`private_key=${K1.slice(2)}`], 22],
    [[`private_key=${K1}00`], 22],
    [[`private_key=${K1.slice(2)}zz`], 22],
    [[`public_key=${K1.slice(2)}`], 22],
    [[`public_key=${K1}`, `preshared_key=${PSK}0`], 22],
    [[`public_key=${K1}`, 'endpoint=192.0.2.1'], 22],
    [[`public_key=${K1}`, 'endpoint=192.0.2.1:0'], 22],
    [[`public_key=${K1}`, 'endpoint=192.0.2.300:1'], 22],
    [[`public_key=${K1}`, 'endpoint=[2001:db8::1]'], 22],
    [[`public_key=${K1}`, 'endpoint=[2001:db8::1:1'], 22],
    [[`public_key=${K1}`, 'endpoint=[2001:db8::g]:1'], 22],
    [[`public_key=${K1}`, 'endpoint=2001:db8::1:1'], 22],
    [[`public_key=${K1}`, 'endpoint=[2001:db8::1]:0'], 22],
    [[`public_key=${K1}`, 'allowed_ip=::'], 22],
    [[`public_key=${K1}`, 'allowed_ip=::/129'], 22],
    [[`public_key=${K1}`, 'allowed_ip=fd00:::/8'], 22],
    [[`public_key=${K1}`, 'allowed_ip=10.0.0.1'], 22],
    [[`public_key=${K1}`, 'allowed_ip=10.0.0.0/33'], 22],
    [[`public_key=${K1}`, 'persistent_keepalive_interval=65536'], 22],
    [[`public_key=${K1}`, 'update_only=yes'], 22],
    [[`public_key=${K1}`, 'remove=1'], 22],
    [[`public_key=${K1}`, 'replace_allowed_ips=false'], 22],
    [[`public_key=${K1}`, 'protocol_version=2'], 22],
    [[`public_key=${K1}`, 'last_handshake_time_sec=1'], 22],
  ];
  for (const [lines, errno] of cases) {
    assert.equal(set(new FakeTarget(), ...lines), `errno=-${errno}\n\n`, lines.join(' | '));
  }
  const t = new FakeTarget();
  assert.equal(set(t, 'listen_port=7', 'fwmark=1', 'bogus=1', 'fwmark=2', 'listen_port=9'), 'errno=-22\n\n');
  assert.equal(t.listenPort, 7);
  assert.equal(t.fwmark, 1);
  assert.equal(set(t, `public_key=${K1}`, 'allowed_ip=10.1.0.0/16', 'allowed_ip=::/129', 'allowed_ip=10.2.0.0/16'), 'errno=-22\n\n');
  assert.deepEqual(t.byFill(0x11)!.state.allowedIps, [{ address: '10.1.0.0', prefixLength: 16 }]);
  // IPv6: endpoint in brackets, prefixes masked and canonical, written back as wireguard-go writes them.
  assert.equal(set(t, `public_key=${K1}`, 'endpoint=[2001:DB8:0::1]:51820', 'allowed_ip=fd00::1:2/112', 'allowed_ip=::/0'), 'errno=0\n\n');
  const p = t.byFill(0x11)!.state;
  assert.deepEqual(p.endpoint, { address: '2001:db8::1', port: 51820 });
  assert.deepEqual(p.allowedIps.slice(1), [{ address: 'fd00::1:0', prefixLength: 112 }, { address: '::', prefixLength: 0 }]);
  const reply = handleUapiRequest(t, 'get=1\n\n');
  assert.match(reply, /\nendpoint=\[2001:db8::1\]:51820\n/);
  assert.match(reply, /\nallowed_ip=fd00::1:0\/112\n/);
});

test('errors thrown by the target become their errno', () => {
  const t = new FakeTarget();
  t.listenPortError = Object.assign(new Error('bind'), { code: 'EADDRINUSE' });
  assert.equal(set(t, 'listen_port=51820'), 'errno=-98\n\n');
  t.listenPortError = Object.assign(new Error('bind'), { errno: -13, code: 'EACCES' }); // Node's shape
  assert.equal(set(t, 'listen_port=80'), 'errno=-13\n\n');
  t.listenPortError = new Error('something else');
  assert.equal(set(t, 'listen_port=80'), 'errno=-22\n\n');
  assert.equal(errnoOf(Object.assign(new Error('x'), { errno: 12 })), 12);
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ENOSPC' })), 28);
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'EWHATEVER' })), 22);
  assert.equal(errnoOf('a string'), 22);
});

test('malformed requests', () => {
  const t = new FakeTarget();
  assert.equal(handleUapiRequest(t, 'get=1\nx\n'), 'errno=-22\n\n');
  assert.equal(handleUapiRequest(t, 'get=1\n'), 'errno=-22\n\n');
  assert.equal(handleUapiRequest(t, 'set=1\nlisten_port=1\n'), 'errno=-22\n\n');
  assert.equal(handleUapiRequest(t, 'set=1\nlisten_port=1\n\nlisten_port=2\n\n'), 'errno=-22\n\n');
  assert.equal(t.listenPort, 0);
  assert.equal(handleUapiRequest(t, 'get=2\n\n'), 'errno=-22\n\n');
  assert.equal(handleUapiRequest(t, 'set=1\n\n'), 'errno=0\n\n');
});

test('fips suite: 65-byte public keys as 130 hex digits, 32-byte private keys', () => {
  const t = new FakeTarget('fips');
  const pub = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 0x55)]);
  assert.equal(set(t, `private_key=${hex(32, 7)}`, `public_key=${pub.toString('hex')}`, 'allowed_ip=10.0.0.0/8'), 'errno=0\n\n');
  assert.ok(t.peers.has(pub.toString('hex')));
  assert.match(get(t), new RegExp(`\npublic_key=${pub.toString('hex')}\npreshared_key=${ZERO}\n`));
  assert.equal(set(t, `public_key=${K1}`), 'errno=-22\n\n');
});

// ---- the socket server (in a temp dir; wg(8) itself is tested in uapi-wg.test.ts) ----

/** Send `data` (in pieces when given an array) and collect everything until the server closes or `until` matches. */
function exchange(path: string, data: string | string[], until?: RegExp): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let text = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(text.slice(0, 200))}`));
    }, 5000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve({ text, closed });
    };
    c.on('data', (d) => {
      text += d.toString('latin1');
      if (until?.test(text)) done(false);
    });
    c.on('close', () => done(true));
    c.on('error', reject);
    c.on('connect', async () => {
      for (const piece of Array.isArray(data) ? data : [data]) {
        c.write(piece);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  });
}

test('UapiServer: socket file 0600 in a created 0755 dir, several requests per connection, split writes', async () => {
  const base = mkdtempSync(join(tmpdir(), 'wst-uapi-'));
  const dir = join(base, 'run', 'wireguard');
  const t = new FakeTarget();
  const server = await UapiServer.listen(t, 'wst-test', { dir });
  try {
    assert.equal(server.path, join(dir, 'wst-test.sock'));
    assert.ok(statSync(server.path).isSocket());
    assert.equal(statSync(server.path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o755);

    const pipelined = await exchange(server.path, `set=1\nlisten_port=5\n\nget=1\n\nset=1\nfwmark=3\n\nget=1\n\n`, /fwmark=3\nerrno=0\n\n$/);
    assert.equal(pipelined.text, 'errno=0\n\nlisten_port=5\nerrno=0\n\nerrno=0\n\nlisten_port=5\nfwmark=3\nerrno=0\n\n');
    // One byte at a time: the framing must not depend on how the stream is cut.
    const request = `set=1\npublic_key=${K1}\nallowed_ip=10.0.0.0/8\n\nget=1\n\n`;
    const split = await exchange(server.path, request.split(''), /errno=0\n\n.*errno=0\n\n/s);
    assert.match(split.text, /^errno=0\n\nlisten_port=5\nfwmark=3\npublic_key=1111.*allowed_ip=10\.0\.0\.0\/8\nerrno=0\n\n$/s);
    // A failing set replies and the connection stays usable.
    const err = await exchange(server.path, 'set=1\nbogus=1\n\nget=1\n\n', /fwmark=3\n.*errno=0\n\n$/s);
    assert.match(err.text, /^errno=-22\n\nlisten_port=5/);
    // wg(8) probes with connect+close; that must not disturb anything.
    await new Promise<void>((resolve) => net.connect(server.path, function (this: net.Socket) { this.destroy(); resolve(); }));
    // Not the protocol: the connection is closed.
    const junk = await exchange(server.path, 'hello\n');
    assert.equal(junk.closed, true);
    assert.equal(junk.text, 'errno=-22\n\n');
  } finally {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  }
  assert.equal(existsSync(server.path), false);
});

test('UapiServer: requests beyond the size bound get EMSGSIZE and the connection is closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wst-uapi-'));
  const t = new FakeTarget();
  const server = await UapiServer.listen(t, 'big', { dir });
  try {
    // The default bound is 1 MiB: a never-ending set of 1 MiB + a bit.
    const line = `allowed_ip=10.0.0.0/8\n`;
    const big = `set=1\npublic_key=${K1}\n${line.repeat(Math.ceil((1 << 20) / line.length) + 10)}`;
    const r = await exchange(server.path, big);
    assert.equal(r.closed, true);
    assert.equal(r.text, 'errno=-90\n\n');
    assert.equal(t.peers.size, 0, 'nothing of the oversized request was applied');
    // A complete request just under the bound is served.
    const ok = `set=1\npublic_key=${K1}\n${line.repeat(Math.floor(((1 << 20) - 200) / line.length))}\n`;
    const r2 = await exchange(server.path, ok, /errno/);
    assert.equal(r2.text, 'errno=0\n\n');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const small = mkdtempSync(join(tmpdir(), 'wst-uapi-'));
  const s2 = await UapiServer.listen(t, 'small', { dir: small, maxRequestBytes: 64 });
  try {
    assert.equal((await exchange(s2.path, 'get=1\n\n', /errno/)).text.endsWith('errno=0\n\n'), true);
    const r = await exchange(s2.path, `set=1\npublic_key=${K2}\nallowed_ip=10.0.0.0/8\n\n`);
    assert.deepEqual(r, { text: 'errno=-90\n\n', closed: true });
    assert.equal(t.byFill(0x22), undefined);
  } finally {
    await s2.close();
    rmSync(small, { recursive: true, force: true });
  }
});

test('UapiServer: a stale socket is replaced, a live one refused, a non-socket left alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wst-uapi-'));
  try {
    // A socket file nobody listens on: hard-link a live one, then close the original.
    const donor = net.createServer();
    await new Promise<void>((r) => donor.listen(join(dir, 'donor.sock'), r));
    linkSync(join(dir, 'donor.sock'), join(dir, 'stale.sock'));
    await new Promise<void>((r) => donor.close(() => r()));
    assert.ok(statSync(join(dir, 'stale.sock')).isSocket());
    const t = new FakeTarget();
    const server = await UapiServer.listen(t, 'stale', { dir });
    assert.equal((await exchange(server.path, 'get=1\n\n', /errno/)).text, 'errno=0\n\n');

    await assert.rejects(UapiServer.listen(new FakeTarget(), 'stale', { dir }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && /in use/.test(e.message));
    // The refused second server must not have broken the first.
    assert.equal((await exchange(server.path, 'set=1\nfwmark=9\n\n', /errno/)).text, 'errno=0\n\n');
    assert.equal(t.fwmark, 9);
    await server.close();
    assert.equal(existsSync(server.path), false);

    writeFileSync(join(dir, 'file.sock'), 'not a socket');
    await assert.rejects(UapiServer.listen(t, 'file', { dir }), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    assert.equal(existsSync(join(dir, 'file.sock')), true);

    await assert.rejects(UapiServer.listen(t, 'a/b', { dir }), /invalid interface name/);
    await assert.rejects(UapiServer.listen(t, 'x', { dir: '/tmp/' + 'd'.repeat(120) }), /longer than 107 bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
