/**
 * `wirestack/register` with IPv6 in the tunnel, without root: the routing
 * decision for IPv6 destinations, and an unmodified script run with
 * `node --import <register>` whose config has an IPv6 Address and IPv6
 * AllowedIPs; its peer is a wirestack stack in this process (joined over
 * host loopback UDP) serving HTTP and UDP echo on [fd98::2]. The script
 * fetches, http.gets and net.connects to [fd98::2], sends a udp6 datagram
 * to it, and listens on its own tunnel address fd98::1, which the peer
 * reaches; ::1 stays on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Stack, getSuite, encodeKey } from '../../src/index.js';
import { TunnelRoutes } from '../../src/register/routes.js';
import { runScript, type Line } from '../helpers/register-script.js';

test('routing decision for IPv6: AllowedIPs prefixes and our tunnel address to the tunnel; ::1, ::, link-local, multicast and host addresses to the host', () => {
  const r = new TunnelRoutes([{ address: '10.8.0.0', prefixLength: 24 }, { address: 'fd08::', prefixLength: 64 }, { address: '2001:db8:5::7', prefixLength: 128 }],
    ['10.9.0.2', 'fd09::2'], ['192.168.1.10', '2001:db8:1::10', 'fe80::1']);
  assert.equal(r.route('fd08::1'), 'tunnel');
  assert.equal(r.route('FD08:0:0:0:ffff::1'), 'tunnel', 'any text form');
  assert.equal(r.route('fd08:0:0:1::1'), 'host');
  assert.equal(r.route('2001:db8:5::7'), 'tunnel');
  assert.equal(r.route('2001:db8:5::8'), 'host');
  assert.equal(r.route('fd09::2'), 'tunnel', 'our own tunnel address');
  assert.equal(r.isTunnelAddress('fd09:0::2'), true);
  assert.equal(r.isTunnelAddress('fd08::1'), false);
  assert.equal(r.route('::1'), 'host');
  assert.equal(r.route('10.8.0.1'), 'tunnel', 'IPv4 unchanged');
  const full = new TunnelRoutes([{ address: '0.0.0.0', prefixLength: 0 }, { address: '::', prefixLength: 0 }],
    ['10.9.0.2', 'fd09::2'], ['2001:db8:1::10']);
  assert.equal(full.route('2606:4700::1111'), 'tunnel', '::/0 captures global IPv6');
  assert.equal(full.route('::1'), 'host');
  assert.equal(full.route('::'), 'host');
  assert.equal(full.route('fe80::1'), 'host', 'link-local stays on its link');
  assert.equal(full.route('fe80::1%eth0'), 'host');
  assert.equal(full.route('ff02::1'), 'host');
  assert.equal(full.route('2001:db8:1::10'), 'host', "the host's own address");
  // An IPv4-only config leaves IPv6 to the host, as before.
  assert.equal(new TunnelRoutes([{ address: '0.0.0.0', prefixLength: 0 }], ['10.9.0.2']).route('2606:4700::1111'), 'host');
});

const SCRIPT6 = `
import http from 'node:http';
import * as net from 'node:net';
import dgram from 'node:dgram';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const { PEER6, SELF6 } = process.env;
setTimeout(() => { out({ what: 'timeout' }); process.exit(3); }, 90000).unref();
try {
  const f = await fetch('http://[' + PEER6 + ']:8000/hello');
  out({ what: 'fetch', status: f.status, body: await f.text() });
  const g = await new Promise((resolve, reject) => http.get({ host: PEER6, port: 8000, path: '/get' }, (res) => {
    const c = [];
    res.on('data', (d) => c.push(d));
    res.on('end', () => resolve(Buffer.concat(c).toString()));
  }).on('error', reject));
  out({ what: 'http.get', body: g });
  const raw = await new Promise((resolve, reject) => {
    const s = net.connect(8001, PEER6);
    const c = [];
    s.on('data', (d) => c.push(d));
    s.on('end', () => resolve({ text: Buffer.concat(c).toString(), remoteAddress: s.remoteAddress, remoteFamily: s.remoteFamily }));
    s.on('error', reject);
  });
  out({ what: 'net', ...raw });
  const u = dgram.createSocket('udp6');
  const echo = await new Promise((resolve, reject) => {
    u.once('message', (m, r) => resolve({ text: m.toString(), from: r.address }));
    u.once('error', reject);
    u.send('over udp6', 7, PEER6);
  });
  u.close();
  out({ what: 'udp6', ...echo });
  const loop = await new Promise((resolve) => {
    const c = net.connect(1, '::1');
    c.on('connect', () => { c.destroy(); resolve('connected'); });
    c.on('error', (e) => resolve(e.code));
  });
  out({ what: 'loopback6', result: loop });
  const server = net.createServer((s) => {
    s.end('script to ' + s.remoteAddress + '\\n');
    server.close(() => out({ what: 'served', from: s.remoteAddress }));
  });
  await new Promise((resolve) => server.listen(0, SELF6, resolve));
  // Every interface ('::' as Node's listen(port)): the host, and the tunnel's two addresses.
  const seen = [];
  const any = net.createServer((s) => {
    seen.push(s.remoteAddress);
    s.end('any to ' + s.remoteAddress + '\\n');
    if (seen.length === 2) any.close(() => out({ what: 'served-any', from: seen.sort() }));
  });
  await new Promise((resolve) => any.listen(0, resolve));
  out({ what: 'listening', address: server.address(), anyPort: any.address().port });
} catch (e) {
  out({ what: 'error', message: String(e && e.stack || e), code: e && e.code });
  process.exitCode = 1;
}
process.on('exit', (code) => out({ what: 'exit', code }));
`;

test('an unmodified script (--import register) with IPv6 in the tunnel: fetch, http.get, net and udp6 to [fd98::2], a server on fd98::1 the peer reaches, ::1 on the host', { timeout: 120_000 }, async () => {
  const suite = getSuite('standard');
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const b = new Stack({ seed: 9 });
  const wg = await b.addWireGuard({
    privateKey: bPriv, address: ['10.98.6.2/24', 'fd98::2/64'], listenPort: 0, transport: 'dgram',
    peers: [{ publicKey: suite.publicKey(aPriv), allowedIps: ['10.98.6.1/32', 'fd98::1/128'] }],
  });
  b.start();
  const web = b.http.createServer((req, res) => res.end(`${req.url} from ${req.socket.remoteAddress}`));
  web.listen(8000, 'fd98::2');
  const raw = b.net.createServer((s) => s.end('raw hello'));
  raw.listen(8001, 'fd98::2');
  const echo = b.dgram.createSocket('udp6');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo: '), m]), r.port, r.address));
  echo.bind(7, 'fd98::2');
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-register6-'));
  let reached = '';
  try {
    const config = `[Interface]
PrivateKey = ${encodeKey(aPriv)}
Address = 10.98.6.1/24, fd98::1/64

[Peer]
PublicKey = ${encodeKey(suite.publicKey(bPriv))}
Endpoint = 127.0.0.1:${wg.listenPort}
AllowedIPs = 10.98.6.2/32, fd98::2/128
`;
    const reachedAny: string[] = [];
    const fetchText = (port: number, host: string, done: (t: string) => void): void => {
      const s = b.net.connect(port, host);
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => done(Buffer.concat(chunks).toString()));
      s.on('error', (e) => done(`error ${e.message}`));
    };
    const run = await runScript(dir, config, { PEER6: 'fd98::2', SELF6: 'fd98::1' }, (l) => {
      if (l.what !== 'listening') return;
      fetchText((l.address as { port: number }).port, 'fd98::1', (t) => { reached = t; });
      fetchText(Number(l.anyPort), 'fd98::1', (t) => reachedAny.push(t));
      fetchText(Number(l.anyPort), '10.98.6.1', (t) => reachedAny.push(t));
    }, 'import', SCRIPT6);
    const by = (w: string): Line => {
      const l = run.lines.find((x) => x.what === w);
      assert.ok(l !== undefined, `no '${w}' line: ${JSON.stringify(run.lines)}\nstderr: ${run.stderr}`);
      return l;
    };
    assert.equal(run.lines.find((l) => l.what === 'error'), undefined, `${JSON.stringify(run.lines)}\n${run.stderr}`);
    assert.deepEqual(by('fetch'), { what: 'fetch', status: 200, body: '/hello from fd98::1' });
    assert.deepEqual(by('http.get'), { what: 'http.get', body: '/get from fd98::1' });
    assert.deepEqual(by('net'), { what: 'net', text: 'raw hello', remoteAddress: 'fd98::2', remoteFamily: 'IPv6' });
    assert.deepEqual(by('udp6'), { what: 'udp6', text: 'echo: over udp6', from: 'fd98::2' });
    assert.ok(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENETUNREACH'].includes(String(by('loopback6').result)),
      `::1 is the host's (nothing listens on port 1): ${JSON.stringify(by('loopback6'))}`);
    assert.equal((by('listening').address as { address: string; family: string }).address, 'fd98::1');
    assert.equal((by('listening').address as { address: string; family: string }).family, 'IPv6');
    assert.deepEqual(by('served'), { what: 'served', from: 'fd98::2' });
    assert.equal(reached, 'script to fd98::2\n');
    // listen(port): the tunnel's IPv6 and IPv4 addresses both reach it, IPv4 peers shown as Node shows them on '::'.
    assert.deepEqual(by('served-any'), { what: 'served-any', from: ['::ffff:10.98.6.2', 'fd98::2'] });
    assert.deepEqual(reachedAny.sort(), ['any to ::ffff:10.98.6.2\n', 'any to fd98::2\n']);
    assert.deepEqual(by('exit'), { what: 'exit', code: 0 });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(b.stats.ip6.rx > 0, 'the peer saw IPv6 inside the tunnel');
  } finally {
    web.close();
    raw.close();
    echo.close();
    await wg.close();
    b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
