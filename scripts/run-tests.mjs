#!/usr/bin/env node
/**
 * `npm test`: every compiled file under dist/test/ with Node's test runner,
 * named one by one. Node 20 took the directory (`node --test dist/test/`);
 * Node 22 and later take only files or glob patterns, and Node 20 has no
 * globs, so a list of files is what every supported line runs alike (the
 * same files Node 20 ran from the directory: under a folder named test,
 * every .js is a test file, helpers included). Extra arguments go to
 * `node --test` (e.g. --test-name-pattern).
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist', 'test');
const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.js'))
  .sort()
  .map((f) => join('dist', 'test', f));
if (files.length === 0) {
  console.error(`run-tests: no compiled tests under ${dir} (npm run build first)`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...process.argv.slice(2), ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
