/**
 * The WireGuard commands of the CLI as a user runs them: `wirestack genkey /
 * pubkey / genpsk` against Debian's wg(8), and `wirestack up` with two
 * config files in two child processes over loopback UDP, a SOCKS5 proxy on
 * one side and a TCP server tunnel to a loopback HTTP server on the other,
 * reached with curl. All traffic stays on 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createECDH } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/cli -> repo root
const BIN = join(REPO, 'bin/wirestack.js');
import { Up, freePort, type Event } from '../helpers/wirestack-up.js';
const WG = '/usr/bin/wg';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion with `input` on stdin. */
function cli(args: string[], input = '', timeoutMs = 20_000): Promise<Run> {
  return run(process.execPath, [BIN, ...args], input, timeoutMs);
}

function run(cmd: string, args: string[], input = '', timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number' && err.signal === null) {
        reject(err);
        return;
      }
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
    });
    // A command that does not read stdin may exit before we finish writing it.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

const KEY_RE = /^[A-Za-z0-9+/]{43}=\n$/;

function b64(text: string): Buffer {
  return Buffer.from(text.trim(), 'base64');
}

test('genkey, pubkey and genpsk print keys as wg does, and pubkey agrees with wg pubkey', async () => {
  assert.ok(fs.existsSync(WG), `${WG} missing: install wireguard-tools`);
  const keys = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const k = await cli(['genkey']);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout, KEY_RE);
    keys.add(k.stdout);
    const ours = await cli(['pubkey'], k.stdout);
    const theirs = await run(WG, ['pubkey'], k.stdout);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.match(ours.stdout, KEY_RE);
    assert.equal(ours.stdout, theirs.stdout, 'same public key as wg pubkey');
  }
  assert.equal(keys.size, 4, 'fresh keys every time');
  // A key from wg genkey, and one wg would clamp (all bits set): still the same answer.
  for (const priv of [(await run(WG, ['genkey'])).stdout, `${Buffer.alloc(32, 0xff).toString('base64')}\n`]) {
    const ours = await cli(['pubkey'], priv);
    assert.equal(ours.stdout, (await run(WG, ['pubkey'], priv)).stdout);
  }
  const psk = await cli(['genpsk']);
  assert.equal(psk.code, 0);
  assert.match(psk.stdout, KEY_RE);
  assert.notEqual(psk.stdout, (await cli(['genpsk'])).stdout);
  const bad = await cli(['pubkey'], 'not a key\n');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid private key/);
  assert.equal(bad.stdout, '');
  const usage = await cli(['genkey', '--suite', 'p384']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--suite must be standard or fips/);
});

test('fips keys: 32-byte private key, 65-byte uncompressed P-256 public key (0x04‖X‖Y) that node:crypto agrees with', async () => {
  const k = await cli(['genkey', '--suite', 'fips']);
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, KEY_RE);
  const pub = await cli(['pubkey', '--suite', 'fips'], k.stdout);
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stdout, /^[A-Za-z0-9+/]{86}[A-Za-z0-9+/=]{2}\n$/);
  const bytes = b64(pub.stdout);
  assert.equal(bytes.length, 65);
  assert.equal(bytes[0], 0x04);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(b64(k.stdout));
  assert.deepEqual(bytes, ecdh.getPublicKey(), 'the P-256 point of the private scalar');
  // Without --suite the same private key gives a (different) X25519 key.
  const std = await cli(['pubkey'], k.stdout);
  assert.equal(b64(std.stdout).length, 32);
});

let dir = '';
let web: http.Server;
let webPort = 0;
const started: Up[] = [];

before(async () => {
  dir = fs.mkdtempSync(join(os.tmpdir(), 'wirestack-wgcli-'));
  web = http.createServer((req, res) => res.end(`host web server: ${req.method} ${req.url}\n`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as net.AddressInfo).port;
});

after(async () => {
  for (const u of started) u.kill();
  await new Promise<void>((resolve) => web.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function keypair(): Promise<{ priv: string; pub: string }> {
  const priv = (await cli(['genkey'])).stdout.trim();
  const pub = (await cli(['pubkey'], `${priv}\n`)).stdout.trim();
  return { priv, pub };
}

test('up: two configs in two processes over loopback; handshake; curl through [Socks5] to a [TCPServerTunnel]; SIGTERM exits 0', { timeout: 90_000 }, async () => {
  const [a, b] = [await keypair(), await keypair()];
  const [portA, portB, socksPort] = [await freePort('udp'), await freePort('udp'), await freePort('tcp')];
  const nameA = `wsta${process.pid}`.slice(0, 15);
  const nameB = `wstb${process.pid}`.slice(0, 15);
  const fileA = join(dir, `${nameA}.conf`);
  const fileB = join(dir, 'b-side.conf');
  fs.writeFileSync(fileA, `# side a: a SOCKS5 proxy into the tunnel
[Interface]
PrivateKey = ${a.priv}
Address = 10.77.0.1/24
ListenPort = ${portA}
FwMark = 0x1234

[Peer]
PublicKey = ${b.pub}
Endpoint = 127.0.0.1:${portB}
AllowedIPs = 10.77.0.2/32

[Socks5]
BindAddress = 127.0.0.1:${socksPort}
`);
  fs.writeFileSync(fileB, `[Interface]
PrivateKey = ${b.priv}
Address = 10.77.0.2/24
ListenPort = ${portB}

[Peer]
PublicKey = ${a.pub}
AllowedIPs = 10.77.0.1/32

[TCPServerTunnel]
ListenPort = 80
Target = 127.0.0.1:${webPort}
`);
  const upB = Up.start([fileB, '--name', nameB, '--stats-interval', '1']);
  started.push(upB);
  const upA = Up.start([fileA, '--stats-interval', '1']);
  started.push(upA);
  const readyB = await upB.wait((e) => e.event === 'up', 15_000, 'b up');
  const readyA = await upA.wait((e) => e.event === 'up', 15_000, 'a up');
  assert.equal(readyA.name, nameA, 'name from the file name');
  assert.equal(readyB.name, nameB, 'name from --name');
  assert.equal(readyA.publicKey, a.pub);
  assert.equal(readyA.listenPort, portA);
  assert.deepEqual(readyA.addresses, ['10.77.0.1/24']);
  const warning = upA.events.find((e) => e.event === 'warning' && /FwMark/.test(String(e.message)));
  assert.ok(warning !== undefined, 'the FwMark warning is printed');
  assert.ok(upB.events.some((e) => e.event === 'tunnel' && e.kind === 'tcp-server' && e.target === `127.0.0.1:${webPort}`));
  assert.ok(upA.events.some((e) => e.event === 'socks5' && e.listen === `127.0.0.1:${socksPort}`));
  const root = process.getuid?.() === 0;
  if (root) assert.equal(readyA.uapi, `/var/run/wireguard/${nameA}.sock`);

  // curl resolves nothing itself (--socks5-hostname); a's stack connects to 10.77.0.2:80 through the tunnel.
  const curl = await run('curl', ['-sS', '-m', '20', '--socks5-hostname', `127.0.0.1:${socksPort}`, 'http://10.77.0.2/through/the/tunnel'], '', 30_000);
  assert.equal(curl.code, 0, `curl failed: ${curl.stderr}`);
  assert.equal(curl.stdout, 'host web server: GET /through/the/tunnel\n');

  const hsA = await upA.wait((e) => e.event === 'handshake', 10_000, 'a handshake');
  const hsB = await upB.wait((e) => e.event === 'handshake', 10_000, 'b handshake');
  assert.equal(hsA.peer, b.pub);
  assert.equal(hsA.initiator, true);
  assert.equal(hsB.peer, a.pub);
  assert.equal(hsB.initiator, false);
  assert.equal(hsB.endpoint, `127.0.0.1:${portA}`, 'b learned a\'s endpoint from the handshake');
  const transfer = await upA.wait((e) => e.event === 'transfer' && Number(e.rxBytes) > 0, 5_000, 'a transfer counters');
  assert.ok(Number(transfer.txBytes) > 0);

  if (root) {
    const show = await run(WG, ['show', nameA, 'latest-handshakes']);
    assert.equal(show.code, 0, show.stderr);
    const [peer, when] = show.stdout.trim().split('\t');
    assert.equal(peer, b.pub);
    assert.ok(Math.abs(Number(when) - Date.now() / 1000) < 60, `wg show sees the handshake (${show.stdout})`);
  }

  upA.child.kill('SIGTERM');
  upB.child.kill('SIGINT');
  const [exitA, exitB] = await Promise.all([upA.exited, upB.exited]);
  assert.deepEqual(exitA, { code: 0, signal: null }, upA.stderr);
  assert.deepEqual(exitB, { code: 0, signal: null }, upB.stderr);
  assert.equal(upA.events.at(-1)?.event, 'down');
  assert.ok(upA.events.some((e) => e.event === 'stopping' && e.signal === 'SIGTERM'));
  assert.ok(upB.events.some((e) => e.event === 'stopping' && e.signal === 'SIGINT'));
  if (root) assert.equal(fs.existsSync(`/var/run/wireguard/${nameA}.sock`), false, 'UAPI socket removed');
  // The ports are free again: everything was closed.
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(socksPort, '127.0.0.1', () => s.close(() => resolve()));
  });
});

test('up: a bad config exits 2 naming the line; a missing file exits 2', async () => {
  const file = join(dir, 'bad.conf');
  const priv = (await cli(['genkey'])).stdout.trim();
  fs.writeFileSync(file, `[Interface]\nPrivateKey = ${priv}\nAddress = 10.77.0.1/24\n\n[Peer]\nPublicKey = ${priv}\nAllowedIPs = 10.77.0.300/32\n`);
  const r = await cli(['up', file, '--no-uapi']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.conf: line 7: /);
  assert.equal(r.stdout, '');
  const j = await cli(['up', file, '--json', '--no-uapi']);
  assert.equal(j.code, 2);
  const ev = JSON.parse(j.stdout.trim()) as Event;
  assert.equal(ev.event, 'config-error');
  assert.equal(ev.line, 7);
  const missing = await cli(['up', join(dir, 'nope.conf')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /ENOENT.*nope\.conf/, 'the error names the path');
  const usage = await cli(['up']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /exactly one CONFIG/);
});

test('up: a listen port in use exits 1 with a clear message', async () => {
  const busy = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '0.0.0.0', resolve));
  try {
    const file = join(dir, 'busy.conf');
    fs.writeFileSync(file, `[Interface]\nPrivateKey = ${(await cli(['genkey'])).stdout.trim()}\nAddress = 10.77.0.1/24\nListenPort = ${busy.address().port}\n`);
    const r = await cli(['up', file, '--no-uapi']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EADDRINUSE.*port in use/);
  } finally {
    busy.close();
  }
});
