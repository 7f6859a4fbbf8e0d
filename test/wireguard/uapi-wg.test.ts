/**
 * The real wg(8) (wireguard-tools) against UapiServer and a fake device.
 * wg has no way to look elsewhere than /var/run/wireguard (no environment
 * override; checked in wireguard-tools' ipc-uapi-unix.h), so the socket is
 * /var/run/wireguard/wst<pid>.sock, removed at the end. No packets are sent:
 * wg only talks to the Unix socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UapiServer } from '../../src/wireguard/uapi.js';
import { parseWgQuick } from '../../src/wireguard/config.js';
import { FakeTarget } from './fake-target.js';

const WG = '/usr/bin/wg';
const RUN_DIR = '/var/run/wireguard';
const NAME = `wst${process.pid}`.slice(0, 15);

interface WgResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the server answering wg runs on this event loop. */
function wg(args: string[], env: Record<string, string> = {}): Promise<WgResult> {
  return new Promise((resolve) => {
    execFile(WG, args, { timeout: 10_000, env: { ...process.env, WG_COLOR_MODE: 'never', ...env } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function wgOk(args: string[], env?: Record<string, string>): Promise<string> {
  const r = await wg(args, env);
  assert.equal(r.code, 0, `wg ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function x25519(): { priv: Uint8Array; pub: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    priv: new Uint8Array(Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url')),
    pub: new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')),
  };
}

const device = x25519();
const peerA = x25519().pub;
const peerB = x25519().pub;
const psk = new Uint8Array(32).fill(0x5a);
let target: FakeTarget;
let server: UapiServer | undefined;
let createdRunDir = false;
let scratch: string;

before(async () => {
  try {
    accessSync(WG, constants.X_OK);
  } catch {
    throw new Error(`${WG} not found: install wireguard-tools (apt-get install wireguard-tools) to run the wg(8) interop test`);
  }
  createdRunDir = !existsSync(RUN_DIR);
  target = new FakeTarget();
  target.privateKey = device.priv;
  target.listenPort = 51820;
  target.fwmark = 0x42;
  const p = target.peer(peerA, false)!;
  p.setPresharedKey(psk);
  p.setEndpoint('192.0.2.1', 51820);
  p.setPersistentKeepalive(25);
  p.addAllowedIp('10.8.0.0', 24);
  p.addAllowedIp('10.9.1.5', 32);
  const a = target.peers.get(Buffer.from(peerA).toString('hex'))!;
  a.state.lastHandshakeMs = Date.now() - 90_000;
  a.state.rxBytes = 1536;
  a.state.txBytes = 4096;
  try {
    server = await UapiServer.listen(target, NAME);
  } catch (e) {
    throw new Error(`cannot create the UAPI socket in ${RUN_DIR} (wg only looks there; needs root): ${(e as Error).message}`);
  }
  scratch = mkdtempSync(join(tmpdir(), 'wst-wg-'));
});

after(async () => {
  await server?.close();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  if (createdRunDir && existsSync(RUN_DIR) && readdirSync(RUN_DIR).length === 0) rmdirSync(RUN_DIR);
});

test('wg show lists the interface, its peer, endpoint, allowed ips, latest handshake and transfer', async () => {
  assert.equal(server!.path, `${RUN_DIR}/${NAME}.sock`);
  const interfaces = (await wgOk(['show', 'interfaces'])).trim().split(/\s+/);
  assert.ok(interfaces.includes(NAME), `wg show interfaces: ${interfaces.join(' ')}`);

  const out = await wgOk(['show', NAME]);
  assert.match(out, new RegExp(`^interface: ${NAME}\\n`));
  // wg derives the public key from the private key we sent as hex.
  assert.match(out, new RegExp(`\\n  public key: ${b64(device.pub).replace(/[+/]/g, '\\$&')}\\n`));
  assert.match(out, /\n  private key: \(hidden\)\n/);
  assert.match(out, /\n  listening port: 51820\n/);
  assert.match(out, /\n  fwmark: 0x42\n/);
  assert.ok(out.includes(`\npeer: ${b64(peerA)}\n`), out);
  assert.match(out, /\n  preshared key: \(hidden\)\n/);
  assert.match(out, /\n  endpoint: 192\.0\.2\.1:51820\n/);
  assert.match(out, /\n  allowed ips: 10\.8\.0\.0\/24, 10\.9\.1\.5\/32\n/);
  assert.match(out, /\n  latest handshake: 1 minute, (29|30|31|32) seconds ago\n/);
  assert.match(out, /\n  transfer: 1\.50 KiB received, 4\.00 KiB sent\n/);
  assert.match(out, /\n  persistent keepalive: every 25 seconds\n/);

  // The dump shows the exact numbers.
  const dump = (await wgOk(['show', NAME, 'dump'])).trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(dump[0], [b64(device.priv), b64(device.pub), '51820', '0x42']);
  const [pub, pskText, endpoint, allowed, handshake, rx, tx, keepalive] = dump[1];
  assert.deepEqual([pub, pskText, endpoint, allowed, rx, tx, keepalive], [b64(peerA), b64(psk), '192.0.2.1:51820', '10.8.0.0/24,10.9.1.5/32', '1536', '4096', '25']);
  assert.ok(Math.abs(Number(handshake) - (Date.now() / 1000 - 90)) < 5, `handshake ${handshake}`);
});

test('wg showconf output parses with parseWgQuick', async () => {
  const text = await wgOk(['showconf', NAME]);
  const c = parseWgQuick(text);
  assert.deepEqual(c.privateKey, device.priv);
  assert.equal(c.listenPort, 51820);
  assert.deepEqual(c.warnings, ['line 3: FwMark is ignored by wirestack']);
  assert.equal(c.peers.length, 1);
  assert.deepEqual(c.peers[0], {
    publicKey: new Uint8Array(peerA),
    presharedKey: psk,
    allowedIps: [{ address: '10.8.0.0', prefixLength: 24 }, { address: '10.9.1.5', prefixLength: 32 }],
    endpoint: { host: '192.0.2.1', port: 51820 },
    persistentKeepalive: 25,
  });
});

test('wg set creates and changes a peer (allowed-ips, endpoint, persistent-keepalive), then removes it', async () => {
  const hexB = Buffer.from(peerB).toString('hex');
  await wgOk(['set', NAME, 'peer', b64(peerB), 'allowed-ips', '10.9.0.0/24', 'endpoint', '127.0.0.1:51820', 'persistent-keepalive', '25']);
  const b = target.peers.get(hexB);
  assert.ok(b, 'peer created');
  assert.deepEqual(b.state.allowedIps, [{ address: '10.9.0.0', prefixLength: 24 }]);
  assert.deepEqual(b.state.endpoint, { address: '127.0.0.1', port: 51820 });
  assert.equal(b.state.persistentKeepalive, 25);

  // allowed-ips replaces (wg sends replace_allowed_ips); IPv6 entries and endpoints as wg(8) writes them.
  await wgOk(['set', NAME, 'peer', b64(peerB), 'allowed-ips', '10.10.0.0/16,10.11.0.1/32', 'persistent-keepalive', 'off']);
  assert.deepEqual(b.state.allowedIps, [{ address: '10.10.0.0', prefixLength: 16 }, { address: '10.11.0.1', prefixLength: 32 }]);
  assert.equal(b.state.persistentKeepalive, 0);
  await wgOk(['set', NAME, 'peer', b64(peerB), 'allowed-ips', '::/0,fd00::7/128', 'endpoint', '[::1]:51820']);
  assert.deepEqual(b.state.allowedIps, [{ address: '::', prefixLength: 0 }, { address: 'fd00::7', prefixLength: 128 }]);
  assert.deepEqual(b.state.endpoint, { address: '::1', port: 51820 });
  const shown = await wgOk(['show', NAME, 'endpoints']);
  assert.match(shown, /\[::1\]:51820/);
  await wgOk(['set', NAME, 'peer', b64(peerB), 'allowed-ips', '10.10.0.0/16,10.11.0.1/32', 'endpoint', '127.0.0.1:51820']);

  // preshared-key from a file, and /dev/null (all zeros) removes it.
  const pskFile = join(scratch, 'psk');
  writeFileSync(pskFile, `${b64(new Uint8Array(32).fill(7))}\n`, { mode: 0o600 });
  await wgOk(['set', NAME, 'peer', b64(peerB), 'preshared-key', pskFile]);
  assert.deepEqual(b.state.presharedKey, new Uint8Array(32).fill(7));
  await wgOk(['set', NAME, 'peer', b64(peerB), 'preshared-key', '/dev/null']);
  assert.equal(b.state.presharedKey, null);

  await wgOk(['set', NAME, 'peer', b64(peerB), 'remove']);
  assert.equal(target.peers.has(hexB), false);
  assert.equal(target.peers.size, 1, 'the other peer is untouched');
  assert.ok(!(await wgOk(['show', NAME, 'peers'])).includes(b64(peerB)));
});

test('wg set on the device: listen-port, fwmark, private-key; a failure is reported with its errno', async () => {
  await wgOk(['set', NAME, 'listen-port', '41000', 'fwmark', 'off']);
  assert.equal(target.listenPort, 41000);
  assert.equal(target.fwmark, 0);
  const other = x25519();
  const keyFile = join(scratch, 'key');
  writeFileSync(keyFile, `${b64(other.priv)}\n`, { mode: 0o600 });
  await wgOk(['set', NAME, 'private-key', keyFile]);
  assert.deepEqual(target.privateKey, other.priv);
  assert.equal((await wgOk(['show', NAME, 'public-key'])).trim(), b64(other.pub));

  target.listenPortError = Object.assign(new Error('bind'), { code: 'EADDRINUSE' });
  try {
    const r = await wg(['set', NAME, 'listen-port', '41001']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unable to modify interface: Address already in use/);
    assert.equal(target.listenPort, 41000);
  } finally {
    target.listenPortError = null;
  }
});

test('wg setconf replaces the whole configuration', async () => {
  const conf = join(scratch, 'set.conf');
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${b64(device.priv)}\nListenPort = 51999\n\n[Peer]\nPublicKey = ${b64(peerB)}\nAllowedIPs = 10.20.0.0/16\nEndpoint = 127.0.0.1:5\n`,
  );
  await wgOk(['setconf', NAME, conf]);
  assert.deepEqual(target.privateKey, device.priv);
  assert.equal(target.listenPort, 51999);
  assert.deepEqual([...target.peers.keys()], [Buffer.from(peerB).toString('hex')]);
  const back = parseWgQuick(await wgOk(['showconf', NAME]));
  assert.deepEqual(back.peers.map((p) => p.allowedIps), [[{ address: '10.20.0.0', prefixLength: 16 }]]);
});
