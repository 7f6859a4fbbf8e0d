/**
 * `wirestack up --tun` applies `DNS =` through resolvconf as wg-quick's
 * set_dns does (`resolvconf -a tun.NAME -m 0 -x` with the servers on stdin)
 * and removes it on stop (`resolvconf -d tun.NAME -f`). resolvconf itself
 * would rewrite this machine's /etc/resolv.conf, so the daemon finds a
 * recording stand-in first on its PATH; everything else is real (a TUN in
 * a namespace this test creates and removes).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { Netns, missingCapability } from '../helpers/netns.js';
import { TunDaemon, leftovers } from '../helpers/wirestack-tun.js';

const cannot = missingCapability();

describe('wirestack up --tun: DNS through resolvconf', () => {
  let ns: Netns | null = null;
  let dir = '';
  const suite = getSuite('standard');

  before(() => {
    assert.equal(cannot, null, `needs root and /dev/net/tun: ${cannot}`);
    dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-tundns-'));
    ns = Netns.create();
  });

  after(() => {
    ns?.remove();
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds the servers with -a tun.NAME -m 0 -x at start and deletes them with -d tun.NAME -f at stop', async () => {
    const bin = join(dir, 'bin');
    const log = join(dir, 'resolvconf.log');
    fs.mkdirSync(bin);
    fs.writeFileSync(join(bin, 'resolvconf'), `#!/bin/sh\necho "ARGS $*" >> '${log}'\ncat >> '${log}'\n`, { mode: 0o755 });
    const file = join(dir, 'wsdns.conf');
    fs.writeFileSync(file, [
      '[Interface]', `PrivateKey = ${encodeKey(suite.generatePrivateKey())}`, 'Address = 10.97.0.1/24',
      'ListenPort = 51830', 'DNS = 10.97.0.53, 10.97.0.54', '',
      '[Peer]', `PublicKey = ${encodeKey(suite.publicKey(suite.generatePrivateKey()))}`, 'AllowedIPs = 10.98.0.0/24', '',
    ].join('\n'), { mode: 0o600 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
    let d: TunDaemon;
    try {
      d = await TunDaemon.start(ns!, file, 'wsdns', ['--no-uapi']);
    } finally {
      process.env.PATH = path;
    }
    try {
      assert.deepEqual(d.events.find((e) => e.event === 'up')?.dns, ['10.97.0.53', '10.97.0.54']);
      assert.equal(fs.readFileSync(log, 'utf8'), 'ARGS -a tun.wsdns -m 0 -x\nnameserver 10.97.0.53\nnameserver 10.97.0.54\n');
      assert.equal(await d.stop(), 0, d.stderr);
      assert.equal(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('ARGS')).pop(), 'ARGS -d tun.wsdns -f');
      assert.deepEqual(await leftovers(ns!, 'wsdns'), []);
    } finally {
      d.kill();
    }
  });
});
