/**
 * TCP over IPv6 against the Linux kernel: a TAP device moved into a
 * namespace this test creates (and removes), where Linux owns fd83::1/64
 * (and 10.83.0.1/24); the stack owns fd83::2/64 (and 10.83.0.2/24), its
 * neighbours found by ND. `curl -6` fetches 64 MiB from the stack's HTTP
 * server byte-exact; socat moves 32 MiB each way over IPv6 (the stack as
 * client, then as server). No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { withTimeout } from '../helpers/timeout.js';

const LINUX6 = 'fd83::1';
const STACK6 = 'fd83::2';
const HTTP_BYTES = 64 * 1024 * 1024;
const SOCAT_BYTES = 32 * 1024 * 1024;
const SOCAT = ['-d', '-d', '-b131072', '-T', '50', '-t', '50'];

const missing = missingCapability();

async function sha256File(path: string): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha: h.digest('hex') };
}

describe('TCP over IPv6 on a TAP device against Linux (curl -6, socat)', { skip: missing ?? false, timeout: 240_000 }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  const dev = `wst${process.pid % 100000}6`;
  let work = '';
  const body = randomBytes(HTTP_BYTES);
  const bodySha = createHash('sha256').update(body).digest('hex');

  before(async () => {
    for (const cmd of ['curl', 'socat']) assert.ok(haveCommand(cmd), `${cmd} is not installed`);
    work = mkdtempSync(join(tmpdir(), 'wirestack-tap6-'));
    ns = Netns.create();
    link = TapLink.open(dev, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: '10.83.0.1/24' });
    // DAD off on the Linux side only: the test is not about DAD (the stack's side does its own).
    ns.execSync('sysctl', ['-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
    ns.execSync('ip', ['-6', 'addr', 'add', `${LINUX6}/64`, 'dev', dev, 'nodad']);
    stack = new Stack({ tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20 });
    stack.addInterface(link, { address: ['10.83.0.2/24', `${STACK6}/64`] });
    stack.start();
    const web = stack.http.createServer((_req, res) => {
      res.setHeader('content-length', String(body.length));
      res.end(body);
    });
    web.listen(8080, '::');
    // Linux learns the stack's address by ND on the first packet; a ping makes it ready.
    const r = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', STACK6], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, `ping -6 ${STACK6}: ${r.stdout} ${r.stderr}`);
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (work !== '') rmSync(work, { recursive: true, force: true }); });
  });

  it('curl -6 fetches 64 MiB from the stack over HTTP, byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null);
    const out = join(work, 'curl.bin');
    const r = await ns.run('curl', ['-6', '-g', '-sS', '-m', '100', '-o', out, '-w', '%{http_code} %{remote_ip}',
      `http://[${STACK6}]:8080/big`], { timeoutMs: 110_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `200 ${STACK6}`);
    const got = await sha256File(out);
    assert.equal(got.bytes, HTTP_BYTES);
    assert.equal(got.sha, bodySha);
  });

  it('socat over IPv6, the stack as client: 32 MiB to a Linux TCP6 listener, byte-exact', { timeout: 90_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const out = join(work, 'sink.bin');
    const sink = ns.spawn('socat', [...SOCAT, '-u', `TCP6-LISTEN:5001,bind=[${LINUX6}],reuseaddr`, `CREATE:${out}`]);
    let log = '';
    sink.stderr?.setEncoding('utf8').on('data', (s: string) => { log += s; });
    const exited = once(sink, 'close');
    for (let i = 0; i < 150 && !/listening on/.test(log); i++) await new Promise((res) => setTimeout(res, 100));
    const data = randomBytes(SOCAT_BYTES);
    const sock = stack.net.connect({ host: LINUX6, port: 5001 });
    await withTimeout(once(sock, 'connect'), 10_000, 'connect');
    assert.equal(sock.remoteFamily, 'IPv6');
    assert.equal(sock.localAddress, STACK6);
    sock.resume();
    sock.end(data);
    const [code] = await withTimeout(exited, 60_000, `socat sink: ${log}`) as [number];
    assert.equal(code, 0, log);
    const got = await sha256File(out);
    assert.equal(got.bytes, SOCAT_BYTES);
    assert.equal(got.sha, createHash('sha256').update(data).digest('hex'));
  });

  it('socat over IPv6, the stack as server: 32 MiB from Linux to a :: listener, byte-exact', { timeout: 90_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const file = join(work, 'src.bin');
    const data = randomBytes(SOCAT_BYTES);
    writeFileSync(file, data);
    const h = createHash('sha256');
    let bytes = 0;
    let peer = '';
    const done = new Promise<void>((resolve, reject) => {
      const server = stack?.net.createServer((s) => {
        peer = `${s.remoteAddress ?? ''} ${s.remoteFamily ?? ''}`;
        s.on('data', (d: Buffer) => { h.update(d); bytes += d.length; });
        s.on('end', () => { server?.close(); resolve(); });
        s.on('error', reject);
      });
      server?.listen(5002, '::');
    });
    const r = await ns.run('socat', [...SOCAT, '-u', `OPEN:${file}`, `TCP6:[${STACK6}]:5002`], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    await withTimeout(done, 30_000, 'server end');
    assert.equal(peer, `${LINUX6} IPv6`);
    assert.equal(bytes, SOCAT_BYTES);
    assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
  });
});
