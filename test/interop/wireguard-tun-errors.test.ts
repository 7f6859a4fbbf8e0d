/**
 * `wirestack up --tun` when the host refuses a step: a route that exists
 * already, a UDP port in use, a name taken by a TAP device. Each time: exit
 * 1, one line on stderr naming the cause, and nothing the daemon added left
 * behind (its rollback). In a namespace this test creates and removes; the
 * port is held by a socat of this test, killed by PID.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { CliChild, WIRESTACK_BIN } from '../helpers/wirestack-up.js';
import { TunDaemon, leftovers } from '../helpers/wirestack-tun.js';
import { delay } from '../helpers/wireguard-go.js';

const cannot = missingCapability() ?? (haveCommand('socat') ? null : 'socat missing (Debian package socat)');

describe('wirestack up --tun: bad host state gives one line, exit 1, nothing left behind; ip link delete takes it down', () => {
  let ns: Netns | null = null;
  let dir = '';
  const suite = getSuite('standard');

  function config(extra: { listenPort?: number; allowed?: string; postUp?: string } = {}): string {
    const file = join(dir, `c${Math.floor(Math.random() * 1e9)}.conf`);
    fs.writeFileSync(file, [
      '[Interface]', `PrivateKey = ${encodeKey(suite.generatePrivateKey())}`, 'Address = 10.97.0.1/24',
      `ListenPort = ${extra.listenPort ?? 51820}`, 'MTU = 1400', ...(extra.postUp !== undefined ? [`PostUp = ${extra.postUp}`] : []), '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(suite.generatePrivateKey()))}`,
      `AllowedIPs = ${extra.allowed ?? '10.98.0.0/24'}, 0.0.0.0/0`, '',
    ].join('\n'), { mode: 0o600 });
    return file;
  }

  async function upFails(file: string, name: string): Promise<string> {
    const child = new CliChild(ns!.spawn(process.execPath, [WIRESTACK_BIN, 'up', file, '--tun', '--no-uapi', '--name', name]));
    const timer = setTimeout(() => child.kill(), 60_000);
    const { code } = await child.exited;
    clearTimeout(timer);
    assert.equal(code, 1, `exit code; stderr: ${child.stderr}`);
    const lines = child.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(child.stderr)}`);
    assert.match(lines[0], /^wirestack up: /);
    return lines[0];
  }

  before(() => {
    assert.equal(cannot, null, `needs root, /dev/net/tun and socat: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-tunerr-'));
    ns = Netns.create();
    // A route that `ip route add 10.98.0.0/24 dev wstr` collides with (File exists).
    ns.execSync('ip', ['route', 'add', '10.98.0.0/24', 'dev', 'lo']);
  });

  after(() => {
    ns?.remove();
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a route that cannot be added: the device and its address are rolled back', async () => {
    const line = await upFails(config(), 'wstr');
    assert.match(line, /cannot add route 10\.98\.0\.0\/24 to wstr: .*File exists/);
    assert.deepEqual(await leftovers(ns!, 'wstr'), []);
  });

  it('a failing PostUp hook: the routes, the default route\'s rules and the device are rolled back', async () => {
    const line = await upFails(config({ allowed: '10.99.0.0/24', postUp: 'echo no >&2; exit 3' }), 'wsth');
    assert.match(line, /PostUp hook failed: echo no >&2; exit 3: no/);
    assert.deepEqual(await leftovers(ns!, 'wsth'), []);
  });

  it('a UDP port in use', async () => {
    const holder = ns!.spawn('socat', ['-u', 'UDP-RECV:51999', '/dev/null']);
    try {
      // Bounded wait until socat holds the port.
      for (let i = 0; i < 100; i++) {
        const ss = await ns!.run('ss', ['-uln']);
        if (ss.stdout.includes(':51999')) break;
        await delay(50);
      }
      const line = await upFails(config({ listenPort: 51999 }), 'wstp');
      assert.match(line, /cannot open UDP port 51999: .*port in use/);
      assert.deepEqual(await leftovers(ns!, 'wstp'), []);
    } finally {
      if (holder.pid !== undefined && holder.exitCode === null) process.kill(holder.pid, 'SIGKILL');
    }
  });

  it('ip link delete NAME (wg-quick down\'s way) takes the daemon down: rules removed, PostDown run, exit 0', async () => {
    const mark = join(dir, 'postdown-del.txt');
    const file = config({ allowed: '10.99.0.0/24' });
    const text = fs.readFileSync(file, 'utf8').replace('MTU = 1400', `MTU = 1400\nPostDown = echo gone %i > ${mark}`);
    fs.writeFileSync(file, text);
    const d = await TunDaemon.start(ns!, file, 'wstd');
    try {
      assert.match((await ns!.run('ip', ['-4', 'rule', 'show'])).stdout, /suppress_prefixlength 0/);
      ns!.execSync('ip', ['link', 'delete', 'dev', 'wstd']);
      const timer = setTimeout(() => d.kill(), 30_000);
      const { code } = await d.exited;
      clearTimeout(timer);
      assert.equal(code, 0, d.stderr);
      assert.ok(d.events.some((e) => e.event === 'stopping' && e.signal === 'device removed'));
      assert.deepEqual(await leftovers(ns!, 'wstd'), []);
      assert.equal(fs.readFileSync(mark, 'utf8').trim(), 'gone wstd');
    } finally {
      d.kill();
    }
  });

  it('Table = 1234 puts the routes (the default one too) in that table without rules; Table = off adds none', async () => {
    const withTable = (table: string): string => {
      const file = config({ allowed: '10.99.0.0/24' });
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('MTU = 1400', `MTU = 1400\nTable = ${table}`));
      return file;
    };
    const d = await TunDaemon.start(ns!, withTable('1234'), 'wstn', ['--no-uapi']);
    try {
      assert.deepEqual(d.events.find((e) => e.event === 'up')?.routes, ['10.99.0.0/24', '0.0.0.0/0']);
      const t = (await ns!.run('ip', ['-4', 'route', 'show', 'table', '1234'])).stdout;
      assert.match(t, /default dev wstn/);
      assert.match(t, /10\.99\.0\.0\/24 dev wstn/);
      assert.doesNotMatch((await ns!.run('ip', ['-4', 'rule', 'show'])).stdout, /fwmark|suppress_prefixlength/);
      assert.equal(await d.stop(), 0);
      assert.deepEqual(await leftovers(ns!, 'wstn'), []);
    } finally {
      d.kill();
    }
    const off = await TunDaemon.start(ns!, withTable('off'), 'wsto', ['--no-uapi']);
    try {
      assert.deepEqual(off.events.find((e) => e.event === 'up')?.routes, []);
      const all = (await ns!.run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
      assert.deepEqual(all.split('\n').filter((l) => l.includes('dev wsto') && !l.includes('proto kernel')), [], 'only the address\'s own routes');
      assert.equal(await off.stop(), 0);
      assert.deepEqual(await leftovers(ns!, 'wsto'), []);
    } finally {
      off.kill();
    }
  });

  it('a TUN that cannot be created (the name is a TAP device)', async () => {
    ns!.execSync('ip', ['tuntap', 'add', 'dev', 'wstt', 'mode', 'tap']);
    const line = await upFails(config({ allowed: '10.99.0.0/24' }), 'wstt');
    assert.match(line, /cannot create TUN device wstt: .*exists and is not a TUN device/);
    const left = (await leftovers(ns!, 'wstt')).filter((l) => !l.startsWith('device:'));
    assert.deepEqual(left, []);
    assert.doesNotMatch((await ns!.run('ip', ['-d', 'link', 'show', 'dev', 'wstt'])).stdout, /tun type tun/, 'still the TAP device');
  });
});
