/**
 * `wirestack tap --source PORT` (an endless stream to each client: the stack
 * as sender), SIGUSR1 (the counters on demand) and `--http PORT:DIR` with
 * Range and ETag, against Linux clients in a namespace this test creates
 * (and removes): the device's Linux side is 10.81.0.1/24, the stack
 * 10.81.0.2/24. No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { CliChild } from '../helpers/wirestack-up.js';

const LINUX_IP = '10.81.0.1';
const STACK_IP = '10.81.0.2';
const SOURCE_BYTES = 32 * 1024 * 1024;
const missing = missingCapability();

// Runs in the namespace: read SOURCE_BYTES from the source port, then close; prints the count.
const SINK = `
const net = require('node:net');
setTimeout(() => { console.error('sink timeout'); process.exit(3); }, 40000).unref();
let n = 0;
const s = net.connect(19, '${STACK_IP}');
s.on('data', (d) => { n += d.length; if (n >= ${SOURCE_BYTES}) { console.log(String(n)); s.destroy(); } });
s.on('error', (e) => { console.error(String(e)); process.exit(2); });
`;

describe('wirestack tap --source, SIGUSR1 and static files with Range/ETag', { skip: missing ?? false, timeout: 120_000 }, () => {
  let ns: Netns | null = null;
  let tap: CliChild | null = null;
  let work = '';
  const file = Buffer.alloc(100_000);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7) & 0xff;

  before(async () => {
    for (const cmd of ['curl', 'node']) assert.ok(haveCommand(cmd), `${cmd} is not installed`);
    work = mkdtempSync(join(tmpdir(), 'wirestack-tapsrc-'));
    writeFileSync(join(work, 'index.html'), '<p>index</p>\n');
    writeFileSync(join(work, 'data.bin'), file);
    ns = Netns.create();
    tap = CliChild.run('tap', ['--dev', `wsts${process.pid % 1_000_000}`, '--address', `${STACK_IP}/24`,
      '--netns', ns.name, '--host-address', `${LINUX_IP}/24`, '--source', '19', '--http', `8080:${work}`]);
    await tap.wait((e) => e.event === 'ready', 20_000, 'ready');
  });

  after(() => {
    tap?.kill();
    ns?.remove();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('streams to a client on the source port until it closes', { timeout: 60_000 }, async () => {
    assert.ok(ns !== null && tap !== null);
    const r = await ns.run('node', ['-e', SINK], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) >= SOURCE_BYTES, r.stdout);
    const closed = await tap.wait((e) => e.event === 'close' && e.service === 'source', 10_000, 'source connection closed');
    assert.ok(Number(closed.bytesOut) >= SOURCE_BYTES, `the stack sent it: ${JSON.stringify(closed)}`);
  });

  it('prints its counters on SIGUSR1 and keeps running', { timeout: 15_000 }, async () => {
    assert.ok(tap !== null && tap.child.pid !== undefined);
    const seen = tap.events.length;
    assert.ok(!tap.events.some((e) => e.event === 'stats'), 'no stats before (no --stats-interval)');
    process.kill(tap.child.pid, 'SIGUSR1');
    const stats = await tap.wait((e) => e.event === 'stats', 5_000, 'stats on SIGUSR1');
    assert.ok(tap.events.indexOf(stats) >= seen);
    assert.equal(typeof stats.linkRxFrames, 'number');
    assert.ok(Number(stats.linkTxFrames) > 0);
    assert.equal(tap.child.exitCode, null);
  });

  it('serves Range requests (206) and answers If-None-Match with 304; / is index.html', { timeout: 30_000 }, async () => {
    assert.ok(ns !== null);
    const url = `http://${STACK_IP}:8080`;
    const index = await ns.run('curl', ['-sS', '-m', '10', `${url}/`], { timeoutMs: 15_000 });
    assert.equal(index.stdout, '<p>index</p>\n');
    const range = await ns.run('curl', ['-sS', '-m', '10', '-r', '1000-1099', '-D', '-', '-o', join(work, 'part'), `${url}/data.bin`], { timeoutMs: 15_000 });
    assert.match(range.stdout, /^HTTP\/1\.1 206 /);
    assert.match(range.stdout, /content-range: bytes 1000-1099\/100000/i);
    const part = readFileSync(join(work, 'part'));
    assert.ok(part.equals(file.subarray(1000, 1100)));
    const head = await ns.run('curl', ['-sS', '-m', '10', '-I', `${url}/data.bin`], { timeoutMs: 15_000 });
    const etag = /^etag: (.+?)\r?$/im.exec(head.stdout)?.[1];
    assert.ok(etag !== undefined, head.stdout);
    const cond = await ns.run('curl', ['-sS', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${url}/data.bin`], { timeoutMs: 15_000 });
    assert.equal(cond.stdout, '304');
  });
});
