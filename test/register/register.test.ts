/**
 * `wirestack/register` without root: the routing decision, and an
 * unmodified script (test/helpers/register-script.ts) run with
 * `wirestack run CONFIG -- node script.mjs` (= `node --import <register>`) whose peer is a wirestack stack in this
 * process, joined over host loopback UDP. The peer serves HTTP (a 4 MiB
 * file) and UDP echo on its tunnel address and connects to the script's
 * server through the tunnel. The interop test against wireguard-go is
 * test/interop/register-wg.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Stack, getSuite, encodeKey } from '../../src/index.js';
import type * as http from 'node:http';
import { TunnelRoutes } from '../../src/register/routes.js';
import { DEMO_CERT, DEMO_KEY } from '../../src/cli/demo-cert.js';
import { runScript, type Line } from '../helpers/register-script.js';


test('routing decision: AllowedIPs and the tunnel address go to the tunnel; loopback, host addresses, IPv6 and the rest to the host', () => {
  const r = new TunnelRoutes([{ address: '10.8.0.0', prefixLength: 24 }, { address: '192.168.77.5', prefixLength: 32 }],
    ['10.9.0.2'], ['192.168.1.10']);
  assert.equal(r.route('10.8.0.1'), 'tunnel');
  assert.equal(r.route('10.8.0.255'), 'tunnel');
  assert.equal(r.route('10.8.1.1'), 'host');
  assert.equal(r.route('192.168.77.5'), 'tunnel');
  assert.equal(r.route('192.168.77.6'), 'host');
  assert.equal(r.route('10.9.0.2'), 'tunnel', 'our own tunnel address');
  assert.equal(r.route('::ffff:10.8.0.7'), 'tunnel', 'IPv4-mapped');
  assert.equal(r.route('127.0.0.1'), 'host');
  assert.equal(r.route('8.8.8.8'), 'host');
  assert.equal(r.route('fd00::1'), 'host');
  assert.equal(r.route('not-an-address'), 'host');
  assert.equal(r.isTunnelAddress('10.9.0.2'), true);
  assert.equal(r.isTunnelAddress('10.8.0.1'), false);
  // A full tunnel captures everything but loopback, 0.0.0.0 and the host's own addresses (Linux's local table first).
  const full = new TunnelRoutes([{ address: '0.0.0.0', prefixLength: 0 }], ['10.9.0.2'], ['192.168.1.10']);
  assert.equal(full.route('8.8.8.8'), 'tunnel');
  assert.equal(full.route('10.8.1.1'), 'tunnel');
  assert.equal(full.route('127.0.0.53'), 'host');
  assert.equal(full.route('192.168.1.10'), 'host');
  assert.equal(full.route('0.0.0.0'), 'host');
});

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

test('an unmodified script under `wirestack run` (--import register): fetch, http.get, a net server and UDP through the tunnel, loopback on the host, and it exits by itself', { timeout: 120_000 }, async () => {
  const suite = getSuite('standard');
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const blob = randomBytes(4 << 20);
  const b = new Stack({ seed: 7 });
  const wg = await b.addWireGuard({
    privateKey: bPriv, address: '10.98.0.2/24', listenPort: 0, transport: 'dgram',
    peers: [{ publicKey: suite.publicKey(aPriv), allowedIps: ['10.98.0.1/32'] }],
  });
  b.start();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url === '/blob.bin') res.end(blob);
    else res.end(`hello from 10.98.0.2 to ${req.socket.remoteAddress ?? 'a TLS client'}\n`);
  };
  const web = b.http.createServer(handler);
  web.listen(8000);
  const secure = b.https.createServer({ key: DEMO_KEY, cert: DEMO_CERT }, handler);
  secure.listen(8443);
  const echo = b.dgram.createSocket('udp4');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo: '), m]), r.port, r.address));
  echo.bind(7);
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-register-'));
  let reached = '';
  let reachedTunnelOnly = '';
  try {
    const config = `[Interface]
PrivateKey = ${encodeKey(aPriv)}
Address = 10.98.0.1/24

[Peer]
PublicKey = ${encodeKey(suite.publicKey(bPriv))}
Endpoint = 127.0.0.1:${wg.listenPort}
AllowedIPs = 10.98.0.2/32
`;
    const env = { PEER: '10.98.0.2', HTTP_PORT: '8000', HTTPS_PORT: '8443', UDP_PORT: '7', SELF: '10.98.0.1', NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    const run = await runScript(dir, config, env, (l) => {
      if (l.what !== 'listening') return;
      const t = b.net.connect(Number(l.tunnelOnlyPort), '10.98.0.1');
      t.setEncoding('utf8');
      t.on('data', (d: string) => { reachedTunnelOnly += d; });
      // The peer connects to the script's server on the script's tunnel address.
      const s = b.net.connect(Number(l.port), '10.98.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => { reached = Buffer.concat(chunks).toString(); });
      s.on('error', (e) => { reached = `error ${e.message}`; });
    }, 'run');
    const by = (w: string): Line => {
      const l = run.lines.find((x) => x.what === w);
      assert.ok(l !== undefined, `no '${w}' line: ${JSON.stringify(run.lines)}\nstderr: ${run.stderr}`);
      return l;
    };
    assert.equal(run.lines.find((l) => l.what === 'error'), undefined, `${JSON.stringify(run.lines)}\n${run.stderr}`);
    assert.deepEqual(by('fetch'), { what: 'fetch', status: 200, length: blob.length, sha: sha256(blob) });
    assert.deepEqual(by('http.get'), { what: 'http.get', status: 200, length: blob.length, sha: sha256(blob) });
    assert.equal(by('hello').body, 'hello from 10.98.0.2 to ::ffff:10.98.0.1\n', "b's listen(8000) binds '::' as Node's");
    assert.deepEqual(by('https'), { what: 'https', viaGet: 'hello from 10.98.0.2 to a TLS client\n', viaFetch: 'hello from 10.98.0.2 to a TLS client\n' });
    assert.deepEqual(by('tunnel-only'), { what: 'tunnel-only', address: { address: '10.98.0.1', family: 'IPv4', port: by('listening').tunnelOnlyPort },
      listening: true, loopback: 'ECONNREFUSED' });
    assert.equal(reachedTunnelOnly, 'tunnel-only server to 10.98.0.2\n');
    by('tunnel-only-closed');
    assert.deepEqual(by('udp'), { what: 'udp', text: 'echo: ping over udp', from: '10.98.0.2:7' });
    // Loopback: Node's own server saw Node's own sockets from 127.0.0.1, not stack sockets.
    assert.deepEqual(by('loopback'), { what: 'loopback', viaFetch: { remote: '127.0.0.1', host: true }, viaGet: { remote: '127.0.0.1', host: true } });
    assert.deepEqual(by('served'), { what: 'served', from: '10.98.0.2' });
    assert.equal(reached, 'hello from the script to 10.98.0.2\n');
    // Nothing left open: the script ended by itself, with its own exit code.
    assert.deepEqual(by('exit'), { what: 'exit', code: 0 });
    assert.equal(run.code, 0, run.stderr);
  } finally {
    web.close();
    secure.close();
    echo.close();
    await wg.close();
    b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
