/**
 * `wirestack up` says which outer UDP transport it uses: with the native
 * addon, 'native' in its up event and no warning; from a copy of the package
 * that has no addon binary (no build/, no prebuilds/), one warning line (a
 * JSON event with --json) naming why, then node:dgram. Loopback only, no root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliChild, Up } from '../helpers/wirestack-up.js';
import { getSuite, encodeKey } from '../../src/index.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/cli -> repo root
const dir = fs.mkdtempSync(join(os.tmpdir(), 'wirestack-up-transport-'));
const children: CliChild[] = [];
after(() => {
  for (const c of children) c.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

function config(): string {
  const file = join(dir, `t${children.length}.conf`);
  fs.writeFileSync(file, `[Interface]\nPrivateKey = ${encodeKey(getSuite('standard').generatePrivateKey())}\nAddress = 10.77.0.1/24\n`, { mode: 0o600 });
  return file;
}

test('up with the native addon: transport native, no transport warning', { timeout: 30_000 }, async () => {
  const up = Up.start([config(), '--no-uapi']);
  children.push(up);
  const ready = await up.wait((e) => e.event === 'up', 15_000, 'up');
  assert.equal(ready.transport, 'native');
  assert.ok(!up.events.some((e) => e.event === 'warning' && e.transport !== undefined), JSON.stringify(up.events));
  up.child.kill('SIGTERM');
  assert.equal((await up.exited).code, 0);
});

test('up from a copy without the addon: one warning saying why, then node:dgram', { timeout: 30_000 }, async () => {
  const copy = join(dir, 'pkg');
  fs.mkdirSync(copy);
  for (const f of ['package.json', 'bin', 'dist/src']) fs.cpSync(join(REPO, f), join(copy, f), { recursive: true });
  fs.symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
  for (const json of [false, true]) {
    const args = [join(copy, 'bin/wirestack.js'), 'up', config(), '--no-uapi', ...(json ? ['--json'] : [])];
    const up = new CliChild(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(up);
    if (json) {
      const ready = await up.wait((e) => e.event === 'up', 15_000, 'up');
      assert.equal(ready.transport, 'dgram');
      const warnings = up.events.filter((e) => e.event === 'warning' && e.transport === 'dgram');
      assert.equal(warnings.length, 1, JSON.stringify(up.events));
      assert.match(String(warnings[0].message), /native addon unavailable: .*rebuild/);
    } else {
      const ready = await up.wait((e) => e.event === 'non-json' && / up: /.test(String(e.line)), 15_000, 'up line');
      assert.match(String(ready.line), /listening on UDP \d+ \(node:dgram\)/);
      const lines = up.events.filter((e) => /native UDP transport unavailable/.test(String(e.line)));
      assert.equal(lines.length, 1, JSON.stringify(up.events));
      assert.match(String(lines[0].line), /^warning: native UDP transport unavailable, using node:dgram \(slower\): native addon unavailable/);
    }
    up.child.kill('SIGTERM');
    assert.equal((await up.exited).code, 0, up.stderr);
  }
});
