/**
 * CLI conventions: `wirestack CMD --help` prints that command's usage and
 * exits 0 for every command; a usage error is one line that says where to get
 * help, exit 2. Runs the CLI in-process (no root, no network).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

/** Run main() with console.log/error captured. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { err.push(a.join(' ')); };
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

for (const command of ['demo', 'up', 'show', 'down', 'genkey', 'pubkey', 'genpsk', 'tap']) {
  for (const flag of ['--help', '-h']) {
    test(`wirestack ${command} ${flag}: its usage on stdout, exit 0, nothing run`, async () => {
      // For tap and up the flag comes after other arguments, which must not be parsed first.
      const argv = command === 'tap' ? [command, '--dev', 'x', flag] : command === 'up' ? [command, 'missing.conf', flag] : [command, flag];
      const r = await capture(argv);
      assert.equal(r.code, 0);
      assert.equal(r.err, '');
      assert.match(r.out, new RegExp(`^usage: wirestack ${command} `));
      assert.match(r.out, new RegExp(`\\n  ${command}\\b`), 'the command\'s own entry');
      if (command === 'tap' || command === 'up') assert.match(r.out, /--max-connections/);
      else assert.doesNotMatch(r.out, /--max-connections/);
    });
  }
}

test('a bad flag is one line naming the command\'s --help, exit 2', async () => {
  const r = await capture(['tap', '--dev', 'x', '--address', '10.0.0.2/24', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, /^wirestack: unknown option --bogus \(see 'wirestack tap --help'\)$/);
});

test('an unknown command is one line pointing at wirestack help, exit 2', async () => {
  const r = await capture(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^wirestack: unknown command 'frobnicate' \(see 'wirestack help'\)$/);
});

test('wirestack help and --help still print the whole usage', async () => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const r = await capture(argv);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: wirestack <command>/);
    assert.match(r.out, /\n {2}tap /);
    assert.match(r.out, /\n {2}up /);
  }
});
