/**
 * PcapWriter around an 'ip' link (a WireGuard device): link type raw IP (101),
 * the layer passed through so the stack still treats the interface as
 * point-to-point, and a capture tshark decodes without malformed packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeWgPair } from '../wireguard/helpers.js';
import { MemoryLink, PcapWriter } from '../../src/link/index.js';

test('a MemoryLink (ethernet) capture keeps link type 1; the writer reports the inner layer', () => {
  const [a] = MemoryLink.pair();
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter(a, { write: (b, o, l) => { chunks.push(b.slice(o, o + l)); } });
  assert.equal(w.layer, undefined);
  w.close();
  const head = Buffer.concat(chunks);
  assert.equal(head.readUInt32LE(20), 1);
});

test('WireGuard inner traffic captured as raw IP (101): pings and a TCP exchange, read back by tshark', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestack-rawip-'));
  const file = path.join(dir, 'wg.pcap');
  try {
    const { a, b, wa, sim } = await makeWgPair('standard', { a: { pcap: file } });
    assert.ok(wa.capture !== null);
    assert.equal(wa.capture.layer, 'ip', 'the writer passes the device layer through');
    for (let i = 0; i < 3; i++) await sim.until(a.ping('10.200.0.2', { timeoutMs: 2000 }));
    const server = b.net.createServer((s) => s.on('data', (d: Buffer) => s.write(d)));
    server.listen(7);
    const echoed = await sim.until(new Promise<string>((resolve, reject) => {
      const c = a.net.connect({ host: '10.200.0.2', port: 7 }, () => c.write('through the tunnel'));
      c.on('data', (d: Buffer) => { resolve(d.toString()); c.destroy(); });
      c.on('error', reject);
    }));
    assert.equal(echoed, 'through the tunnel');
    await sim.run(1000);
    await wa.close();
    const frames = wa.capture.frames;
    assert.ok(frames >= 6 + 4, `pings and TCP captured (${frames})`);

    const bytes = fs.readFileSync(file);
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(bytes.readUInt32LE(20), 101, 'LINKTYPE_RAW');
    // Every record is a bare IPv4 packet whose total length is the record length.
    let p = 24;
    let n = 0;
    while (p < bytes.length) {
      const incl = bytes.readUInt32LE(p + 8);
      assert.equal(bytes[p + 16] >> 4, 4, `record ${n} starts with IPv4 version`);
      assert.equal(bytes.readUInt16BE(p + 16 + 2), incl, `record ${n}: IP total length = record length`);
      p += 16 + incl;
      n++;
    }
    assert.equal(p, bytes.length);
    assert.equal(n, frames);

    const tshark = (args: string[]) => execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const protos = tshark(['-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto']).trim().split('\n');
    assert.equal(protos.length, frames);
    assert.deepEqual(protos[0].split('\t'), ['10.200.0.1', '10.200.0.2', '1'], 'first packet: ICMP a → b');
    assert.ok(protos.some((l) => l.endsWith('\t6')), 'TCP decoded');
    assert.equal(tshark(['-Y', '_ws.malformed']).trim(), '', 'no malformed packets');
    assert.match(tshark(['-Y', 'tcp.payload', '-T', 'fields', '-e', 'tcp.payload']), /7468726f756768207468652074756e6e656c/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
