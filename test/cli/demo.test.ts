/**
 * `wirestack demo` as `npm start` runs it: the WireGuard demo over host
 * loopback UDP (the default) and the in-memory cable demo (--link memory),
 * each in a child process, judged by its JSON report and its exit code; the
 * WireGuard demo's pcap of inner packets is read back by tshark.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WgDemoReport } from '../../src/cli/demo-wg.js';
import type { DemoReport } from '../../src/cli/demo.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/cli -> repo root
const BIN = join(REPO, 'bin/wirestack.js');
const dir = fs.mkdtempSync(join(os.tmpdir(), 'wirestack-demo-'));

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr });
    });
  });
}

for (const suite of ['standard', 'fips'] as const) {
  test(`demo (WireGuard, ${suite}): handshake, ping, HTTP 200, HTTPS 200, bytes intact; pcap of inner packets`, { timeout: 120_000 }, async (t) => {
    const pcap = join(dir, `wg-${suite}.pcap`);
    const r = await run(process.execPath, [BIN, 'demo', '--suite', suite, '--json', '--tcp-mib', '4', '--pings', '3', '--pcap', pcap], 100_000);
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}; stdout: ${r.stdout}`);
    const report = JSON.parse(r.stdout.trim()) as WgDemoReport;
    assert.equal(report.suite, suite);
    assert.equal(Buffer.from(report.publicKeys.a, 'base64').length, suite === 'fips' ? 65 : 32);
    assert.match(report.endpoints.a, /^127\.0\.0\.1:\d+$/);
    assert.equal(report.handshake.done, true);
    assert.equal(report.handshake.initiations, 1);
    assert.equal(report.learnedEndpoint, report.endpoints.a, 'b learned a\'s endpoint from the handshake');
    assert.deepEqual([report.pings.sent, report.pings.received], [3, 3]);
    assert.equal(report.http.status, 200);
    assert.equal(report.http.body, 'hello from wirestack b: GET /plain\n');
    assert.equal(report.https.status, 200);
    assert.equal(report.https.protocol, 'TLSv1.3');
    assert.equal(report.tcp.bytes, 4 << 20);
    assert.equal(report.tcp.intact, true);
    assert.ok(report.tcp.mbitPerSecond > 0);
    assert.equal(report.wire.authFailures, 0);
    assert.ok(report.wire.dataSent >= (4 << 20) / 1420, `data messages sent (${report.wire.dataSent})`);
    t.diagnostic(`${suite}: ${report.tcp.mbitPerSecond.toFixed(0)} Mbit/s through the tunnel, handshake ${report.handshake.ms.toFixed(1)} ms`);

    // The pcap holds a's inner packets: raw IP, both directions, tshark decodes all of them.
    assert.ok(report.pcap.packets > (4 << 20) / 1400);
    const bytes = fs.readFileSync(pcap);
    assert.equal(bytes.readUInt32LE(20), 101, 'LINKTYPE_RAW');
    const fields = await run('tshark', ['-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.col.Protocol'], 100_000);
    assert.equal(fields.code, 0, fields.stderr);
    const rows = fields.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, report.pcap.packets);
    assert.deepEqual(rows[0], ['10.0.0.1', '10.0.0.2', 'ICMP']);
    assert.ok(rows.some((x) => x[2] === 'HTTP'), 'HTTP decoded');
    assert.ok(rows.some((x) => x[2].startsWith('TLS')), 'TLS decoded');
    const malformed = await run('tshark', ['-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity >= error'], 100_000);
    assert.equal(malformed.code, 0);
    assert.equal(malformed.stdout.trim(), '', 'no malformed packets');
  });
}

test('demo text output tells the story and ends with a summary', { timeout: 120_000 }, async () => {
  const r = await run(process.execPath, [BIN, 'demo', '--tcp-mib', '2', '--pings', '2', '--pcap', join(dir, 'text.pcap')], 100_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /handshake: .*\n {2}done in [\d.]+ ms \(1 initiation\)/);
  assert.match(r.stdout, /reply from 10\.0\.0\.2: icmp_seq=2/);
  assert.match(r.stdout, /http:\/\/10\.0\.0\.2\/plain {2}-> 200/);
  assert.match(r.stdout, /https:\/\/10\.0\.0\.2\/secure -> 200 .*TLSv1\.3, certificate verified/);
  assert.match(r.stdout, /2\.0 MiB in [\d.]+ s = \d+ Mbit\/s, byte-exact/);
  assert.match(r.stdout, /summary:\n {2}handshake done .*pings 2\/2 answered/);
  assert.match(r.stdout, /http 200, https 200; tcp 2\.0 MiB at \d+ Mbit\/s \(bytes intact\)/);
});

test('demo --link memory: the in-memory cable demo still works', { timeout: 120_000 }, async () => {
  const r = await run(process.execPath, [BIN, 'demo', '--link', 'memory', '--json', '--tcp-mib', '2', '--pings', '2', '--datagrams', '5',
    '--pcap', join(dir, 'memory.pcap')], 100_000);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim()) as DemoReport;
  assert.deepEqual([report.pings.sent, report.pings.received], [2, 2]);
  assert.equal(report.udp.echoed, 5);
  assert.equal(report.tcp.intact, true);
  assert.equal(report.http.status, 200);
  assert.equal(report.https.status, 200);
  assert.ok(report.arpRequests >= 1);
  assert.equal(fs.readFileSync(join(dir, 'memory.pcap')).readUInt32LE(20), 1, 'Ethernet capture');
  const bad = await run(process.execPath, [BIN, 'demo', '--link', 'carrier-pigeon'], 10_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--link must be wireguard or memory/);
});
