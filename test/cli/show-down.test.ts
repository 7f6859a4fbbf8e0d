/**
 * CLI control of a running `wirestack up`: `show` prints what `wg show`
 * prints (compared with Debian's wg(8) byte for byte when root), `down`
 * stops it through its pid file, `--run-dir` puts the socket and pid file
 * where a non-root user can write, SIGUSR1 dumps the counters, and a config
 * file others can read is warned about. Loopback only.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Up, freePort } from '../helpers/wirestack-up.js';
import { defaultRunDir, formatShow, parseGetReply } from '../../src/cli/control.js';
import { encodeKey, getSuite } from '../../src/index.js';

const BIN = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin/wirestack.js');
const WG = '/usr/bin/wg';
const dir = fs.mkdtempSync(join(os.tmpdir(), 'wirestack-control-'));
const runDir = join(dir, 'run');
const started: Up[] = [];
after(() => {
  for (const u of started) u.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000, encoding: 'utf8' }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr });
    });
  });
}
const cli = (args: string[]): Promise<Run> => run(process.execPath, [BIN, ...args]);

const suite = getSuite('standard');
const key = (): string => encodeKey(suite.generatePrivateKey());

async function config(name: string, mode: number): Promise<{ file: string; pub: string; peer: string; psk: string; port: number }> {
  const priv = key();
  const peer = encodeKey(suite.publicKey(Buffer.from(key(), 'base64')));
  const psk = key();
  const port = await freePort('udp');
  const file = join(dir, `${name}.conf`);
  fs.writeFileSync(file, `[Interface]\nPrivateKey = ${priv}\nAddress = 10.77.0.1/24\nListenPort = ${port}\n\n`
    + `[Peer]\nPublicKey = ${peer}\nPresharedKey = ${psk}\nAllowedIPs = 10.77.0.2/32, 10.88.0.0/16\nPersistentKeepalive = 25\n`);
  fs.chmodSync(file, mode);
  return { file, pub: encodeKey(suite.publicKey(Buffer.from(priv, 'base64'))), peer, psk, port };
}

test('the default run directory: /var/run/wireguard as root, else under XDG_RUNTIME_DIR', () => {
  const root = process.getuid?.() === 0;
  if (root) assert.equal(defaultRunDir(), '/var/run/wireguard');
  else {
    const saved = process.env.XDG_RUNTIME_DIR;
    try {
      process.env.XDG_RUNTIME_DIR = '/run/user/1234';
      assert.equal(defaultRunDir(), '/run/user/1234/wireguard');
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
  }
});

test('formatShow: wg show\'s units, durations and order', () => {
  const now = 1_000_000;
  const text = formatShow('wg9', parseGetReply('private_key=' + '00'.repeat(32) + '\nlisten_port=51820\nfwmark=4660\n'
    + `public_key=${'11'.repeat(32)}\nlast_handshake_time_sec=${now - 63}\nrx_bytes=1536\ntx_bytes=3221225472\nallowed_ip=10.0.0.2/32\n`
    + `public_key=${'22'.repeat(32)}\nlast_handshake_time_sec=${now - 5}\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=1\n`
    + 'errno=0\n\n'), now);
  assert.equal(text, [
    'interface: wg9', '  listening port: 51820', '  fwmark: 0x1234', '',
    `peer: ${Buffer.alloc(32, 0x22).toString('base64')}`, '  endpoint: 192.0.2.1:51820', '  allowed ips: (none)',
    '  latest handshake: 5 seconds ago', '  persistent keepalive: every 1 second', '',
    `peer: ${Buffer.alloc(32, 0x11).toString('base64')}`, '  allowed ips: 10.0.0.2/32',
    '  latest handshake: 1 minute, 3 seconds ago', '  transfer: 1.50 KiB received, 3.00 GiB sent',
  ].join('\n'));
  assert.throws(() => parseGetReply('errno=-22\n\n'), /errno=-22/);
});

test('up --run-dir; show prints the device; SIGUSR1 dumps counters; down stops it; a world-readable config is warned about', { timeout: 60_000 }, async () => {
  const name = `wsc${process.pid % 100000}`;
  const c = await config(name, 0o644);
  const up = Up.start([c.file, '--run-dir', runDir, '--stats-interval', '3600']);
  started.push(up);
  const ready = await up.wait((e) => e.event === 'up', 15_000, 'up');
  assert.equal(ready.uapi, join(runDir, `${name}.sock`));
  assert.equal(fs.readFileSync(join(runDir, `${name}.pid`), 'utf8').trim(), String(up.child.pid));
  const warned = up.events.filter((e) => e.event === 'warning' && /world accessible/.test(String(e.message)));
  assert.equal(warned.length, 1, 'mode 0644: one warning');

  const expected = [`interface: ${name}`, `  public key: ${c.pub}`, '  private key: (hidden)', `  listening port: ${c.port}`, '',
    `peer: ${c.peer}`, '  preshared key: (hidden)', '  allowed ips: 10.77.0.2/32, 10.88.0.0/16', '  persistent keepalive: every 25 seconds', ''].join('\n');
  const shown = await cli(['show', name, '--run-dir', runDir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, expected);
  const all = await cli(['show', '--run-dir', runDir]);
  assert.equal(all.stdout, expected, 'without NAME: every interface of the run directory');

  up.child.kill('SIGUSR1');
  const stats = await up.wait((e) => e.event === 'stats', 5_000, 'stats on SIGUSR1');
  assert.equal(typeof (stats.device as Record<string, unknown>).txBytes, 'number');
  assert.ok(up.events.some((e) => e.event === 'transfer' && e.peer === c.peer), 'per-peer counters too');
  assert.equal(up.child.exitCode, null, 'SIGUSR1 does not stop it');

  const missing = await cli(['down', 'nope', '--run-dir', runDir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`${join(runDir, 'nope.pid').replace(/[.]/g, '\\.')}: no such file`));
  const down = await cli(['down', name, '--run-dir', runDir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await up.exited, { code: 0, signal: null }, up.stderr);
  assert.equal(up.events.at(-1)?.event, 'down');
  assert.equal(fs.existsSync(join(runDir, `${name}.pid`)), false, 'pid file removed');
  assert.equal(fs.existsSync(join(runDir, `${name}.sock`)), false, 'socket removed');
  const gone = await cli(['show', name, '--run-dir', runDir]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no such socket/);
});

test('as root: wirestack show prints exactly what wg show prints; a 0600 config gets no warning', { timeout: 60_000, skip: process.getuid?.() !== 0 ? 'needs root (/var/run/wireguard)' : false }, async () => {
  assert.ok(fs.existsSync(WG), `${WG} missing: install wireguard-tools`);
  const name = `wsd${process.pid % 100000}`;
  const c = await config(name, 0o600);
  const up = Up.start([c.file]);
  started.push(up);
  await up.wait((e) => e.event === 'up', 15_000, 'up');
  assert.ok(!up.events.some((e) => e.event === 'warning' && /world accessible/.test(String(e.message))));
  const ours = await cli(['show', name]);
  const theirs = await run(WG, ['show', name]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  const down = await cli(['down', name]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal((await up.exited).code, 0);
});
