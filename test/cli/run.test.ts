/**
 * `wirestack run CONFIG -- node APP`: argument handling, the config checked
 * before anything starts, and the program started with the register module
 * (exit code passed through). The tunnel itself is tested in
 * test/register/register.test.ts (which runs its script through `run`) and
 * test/interop/register-wg.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSuite, encodeKey } from '../../src/index.js';
import { WIRESTACK_BIN } from '../helpers/wirestack-up.js';

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WIRESTACK_BIN, ...args], { timeout: 30_000 }, (e, out, err) => {
      const code = e === null ? 0 : typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : -1;
      resolve({ code, out, err });
    });
  });
}

test('wirestack run: --help before --, usage errors in one line (exit 2), bad config (exit 2) before the program starts', async () => {
  const help = await cli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: wirestack run /);
  const noCommand = await cli(['run', 'wg0.conf']);
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.err, /^wirestack: run needs a command after CONFIG .*\(see 'wirestack run --help'\)\n$/);
  const notNode = await cli(['run', 'wg0.conf', '--', 'npm', 'start']);
  assert.equal(notNode.code, 2);
  assert.match(notNode.err, /not 'npm'/);
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-run-'));
  try {
    const missing = await cli(['run', join(dir, 'nope.conf'), '--', 'node', '-e', 'console.log("started")']);
    assert.equal(missing.code, 2);
    assert.equal(missing.out, '', 'the program did not start');
    assert.match(missing.err, /nope\.conf.*ENOENT/);
    fs.writeFileSync(join(dir, 'bad.conf'), '[Interface]\nPrivateKey = nope\n');
    const bad = await cli(['run', join(dir, 'bad.conf'), '--', 'node', '-e', 'console.log("started")']);
    assert.equal(bad.code, 2);
    assert.equal(bad.out, '');
    assert.match(bad.err, /bad\.conf: line 2: PrivateKey /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('wirestack run starts node with the register module: the program\'s own --help and exit code, no tunnel variable left for its children', { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'wst-run-'));
  try {
    const conf = join(dir, 'wst1.conf');
    fs.writeFileSync(conf, `[Interface]\nPrivateKey = ${encodeKey(getSuite('standard').generatePrivateKey())}\nAddress = 10.99.0.1/24\n`, { mode: 0o600 });
    const program = [
      `const { registration } = await import(${JSON.stringify(new URL('../../src/register/index.js', import.meta.url).href)});`,
      'const r = registration();',
      'console.log(JSON.stringify({ argv: process.argv.slice(1), env: process.env.WIRESTACK_CONFIG ?? null,',
      '  address: r === null ? null : r.tunnel.address }));',
      'process.exitCode = 7;',
    ].join('\n');
    const r = await cli(['run', conf, '--', 'node', '--input-type=module', '-e', program, '--', '--help', 'x']);
    assert.equal(r.code, 7, r.err);
    assert.deepEqual(JSON.parse(r.out), { argv: ['--help', 'x'], env: null, address: '10.99.0.1' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
