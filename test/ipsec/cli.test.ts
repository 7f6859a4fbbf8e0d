/** `wirestack tap --esp FILE`: option parsing, file reading and loading, with errors that name the file and entry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '../../src/index.js';
import { loadEsp, readEspFile, tapOptions } from '../../src/cli/tap.js';

test('tap --esp FILE is parsed, read and loaded; errors name the file and the entry', () => {
  const o = tapOptions(['--dev', 'wst0', '--address', '10.83.3.2/24', '--esp', '/x/esp.json'], () => undefined, () => undefined);
  assert.equal(o.esp, '/x/esp.json');
  assert.equal(tapOptions(['--dev', 'wst0', '--address', '10.83.3.2/24'], () => undefined, () => undefined).esp, null);
  const dir = mkdtempSync(join(tmpdir(), 'wst-esp-cli-'));
  try {
    // The example of the format documented in src/ipsec/api.ts, with real keys.
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({
      sa: [
        { dir: 'out', spi: '0x1001', src: '10.83.0.2', dst: '10.83.0.1', aead: { name: 'rfc4106(gcm(aes))', key: `0x${'ab'.repeat(16)}01020304`, icvBits: 128 } },
        { dir: 'in', spi: 4098, src: '10.83.0.1', dst: '10.83.0.2', enc: { name: 'cbc(aes)', key: `0x${'cd'.repeat(16)}` },
          auth: { name: 'hmac(sha256)', key: `0x${'ef'.repeat(32)}` }, esn: false, replayWindow: 128, encap: { sport: 4500, dport: 4500 },
          lifetime: { softBytes: 1e9, hardBytes: 2e9, softSeconds: 3000, hardSeconds: 3600 } },
      ],
      policy: [
        { dir: 'both', src: '10.83.0.2/32', dst: '10.83.0.1/32', proto: 'any', action: 'protect' },
        { dir: 'out', dst: '10.83.0.0/24', proto: 'udp', dstPort: [5000, 5999], action: 'discard', priority: 10 },
      ],
    }));
    const s = new Stack();
    assert.deepEqual(loadEsp(s, readEspFile(good), good), { sa: 2, policy: 3 });
    const sas = s.ipsec.listSa();
    assert.deepEqual(sas.map((x) => [x.dir, x.spi, x.enc, x.auth]), [['out', 0x1001, 'rfc4106(gcm(aes))', ''], ['in', 4098, 'cbc(aes)', 'hmac(sha256)']]);
    assert.deepEqual(sas[1].encap, { sport: 4500, dport: 4500 });
    assert.throws(() => readEspFile(join(dir, 'missing.json')), /--esp .*missing\.json: ENOENT/);
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ sa: [');
    assert.throws(() => readEspFile(notJson), /--esp .*bad\.json: not JSON/);
    const badEntry = join(dir, 'entry.json');
    writeFileSync(badEntry, JSON.stringify({ sa: [], policy: [{ dir: 'out', action: 'protect' }, { dir: 'sideways', action: 'protect' }] }));
    assert.throws(() => loadEsp(new Stack(), readEspFile(badEntry), badEntry), /entry\.json: policy\[1\]: policy dir must be/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
