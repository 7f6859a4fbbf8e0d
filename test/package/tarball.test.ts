/**
 * The package as a user gets it: `npm pack` (its prepack compiles dist and
 * the N-API prebuilt binary), then `npm install` of the tarball in an empty
 * folder with a PATH holding only node, npm and sh (no cc, gcc, make or
 * python: a source build could not run), then from the installed copy a TAP
 * ping (the device moved into a namespace this test creates, `ping` from
 * Linux) and a WireGuard handshake between two stacks over the native UDP
 * transport on loopback.
 *
 * The pack runs in a copy of the sources in a temp folder (node_modules
 * linked), so the prebuildify build never touches this checkout's build/,
 * which other test files running at the same time load the addon from.
 * npm install reaches only the registry npm is set up with, for the
 * dependencies (preferring its cache, which `npm ci` filled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'binding.gyp', 'src', 'bin', 'native',
  'scripts'];
const missing = missingCapability();

interface Ran { code: number | null; out: string }

/** Run a command to completion (killed by PID after `timeoutMs`); never rejects. */
function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const timer = setTimeout(() => {
      out += `\n[killed after ${opts.timeoutMs} ms]`;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); resolve({ code: null, out: out + String(err) }); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

/** What the installed copy runs: TAP ping from Linux, then a native-UDP WireGuard handshake. Prints one JSON line. */
const CHECK = `
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { Stack, TapLink, getSuite } from 'wirestack';
const [ns, dev] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const pkgDir = new URL('node_modules/wirestack/', import.meta.url).pathname;
const report = { addon: require('node-gyp-build').resolve(pkgDir), ping: '', transports: [], handshake: false, rtt: -1 };
function run(cmd, args, ms) {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b) => { out += b; });
    c.stderr.on('data', (b) => { out += b; });
    const t = setTimeout(() => c.kill('SIGKILL'), ms);
    c.on('close', () => { clearTimeout(t); resolve(out); });
  });
}
const link = TapLink.open(dev, { mtu: 1500 });
const s = new Stack();
try {
  link.moveToNetns(ns, { hostAddress: '10.79.0.1/24' });
  s.addInterface(link, { address: '10.79.0.2/24' });
  s.start();
  report.ping = await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.79.0.2'], 15000);
} finally {
  s.stop();
  link.close();
}
const suite = getSuite('standard');
const ak = suite.generatePrivateKey(), bk = suite.generatePrivateKey();
const a = new Stack(), b = new Stack();
const wb = await b.addWireGuard({ privateKey: bk, address: '10.0.0.2/24', bindAddress: '127.0.0.1', transport: 'native',
  peers: [{ publicKey: suite.publicKey(ak), allowedIps: ['10.0.0.1/32'] }] });
const wa = await a.addWireGuard({ privateKey: ak, address: '10.0.0.1/24', bindAddress: '127.0.0.1', transport: 'native',
  peers: [{ publicKey: suite.publicKey(bk), endpoint: '127.0.0.1:' + wb.listenPort, allowedIps: ['10.0.0.2/32'] }] });
report.transports = [wa.device.transport?.constructor.name, wb.device.transport?.constructor.name];
a.start();
b.start();
try {
  report.rtt = await a.ping('10.0.0.2', { timeoutMs: 5000 });
  report.handshake = wa.device.stats.handshakesCompleted > 0;
} finally {
  a.stop();
  b.stop();
  await wa.close();
  await wb.close();
}
console.log(JSON.stringify(report));
`;

test('the packed tarball installs without a compiler and its TAP and native UDP work', { skip: missing ?? false, timeout: 600_000 }, async () => {
  assert.ok(haveCommand('ping'), 'ping is not installed (apt-get install iputils-ping)');
  const work = mkdtempSync(join(tmpdir(), 'wirestack-pack-'));
  let ns: Netns | null = null;
  try {
    // 1. Pack from a copy of the sources.
    const src = join(work, 'src');
    mkdirSync(src);
    for (const f of SOURCES) cpSync(join(ROOT, f), join(src, f), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir');
    const pack = await run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: src, timeoutMs: 300_000 });
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.out}`);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, `no tarball: ${pack.out}`);
    const list = await run('tar', ['tzf', join(work, tarball)], { cwd: work, timeoutMs: 30_000 });
    const files = new Set(list.out.split('\n'));
    for (const f of ['prebuilds/linux-x64/wirestack.node', 'binding.gyp', 'native/tap.c', 'native/udp.c', 'native/tap_thread.c',
      'dist/src/index.js', 'dist/src/index.d.ts', 'bin/wirestack.js', 'src/index.ts']) {
      assert.ok(files.has(`package/${f}`), `${f} is in the tarball`);
    }
    // The eBPF SYN responder's object, built at pack time when clang is there (CI installs it).
    if (process.env.CI === 'true' || haveCommand('clang')) {
      assert.ok(files.has('package/dist/src/bpf/syn_responder.bpf.o'), 'the eBPF object is in the tarball');
    }
    // Every source map in the tarball points at a source that is in it too.
    for (const f of files) {
      if (!f.endsWith('.js.map')) continue;
      const source = join(f, '..', (JSON.parse(readFileSync(join(src, f.slice('package/'.length)), 'utf8')) as { sources: string[] }).sources[0]);
      assert.ok(files.has(source), `${f} points at ${source}, which is shipped`);
    }

    // 2. Install with no compiler reachable: PATH is a folder of links to node, npm and sh only.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    for (const c of ['node', 'npm', 'sh']) {
      const found = await run('sh', ['-c', `command -v ${c}`], { cwd: work, timeoutMs: 5000 });
      symlinkSync(realpathSync(found.out.trim()), join(bin, c));
    }
    const noCompiler = { ...process.env, PATH: bin };
    for (const c of ['cc', 'gcc', 'make', 'python3']) {
      const r = await run('sh', ['-c', `command -v ${c}`], { cwd: work, env: noCompiler, timeoutMs: 5000 });
      assert.notEqual(r.code, 0, `${c} must not be on the install PATH`);
    }
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)],
      { cwd: app, env: noCompiler, timeoutMs: 300_000 });
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.out}`);
    assert.ok(!existsSync(join(app, 'node_modules/wirestack/build')), 'no source build happened');

    // 3. From the installed copy: TAP ping and native-UDP WireGuard.
    writeFileSync(join(app, 'check.mjs'), CHECK);
    ns = Netns.create();
    const check = await run(process.execPath, ['check.mjs', ns.name, `wsk${process.pid % 100000}`], { cwd: app, timeoutMs: 60_000 });
    assert.equal(check.code, 0, `the installed copy failed:\n${check.out}`);
    const report = JSON.parse(check.out.trim().split('\n').pop() ?? '{}') as {
      addon: string; ping: string; transports: string[]; handshake: boolean; rtt: number;
    };
    assert.equal(report.addon, join(realpathSync(app), 'node_modules/wirestack/prebuilds/linux-x64/wirestack.node'), 'the prebuilt binary was loaded');
    assert.match(report.ping, / 3 received, 0% packet loss/, `ping from Linux to the installed stack's TAP:\n${report.ping}`);
    assert.deepEqual(report.transports, ['NativeUdpTransport', 'NativeUdpTransport']);
    assert.ok(report.handshake, 'the WireGuard handshake completed over the native UDP transport');
    assert.ok(report.rtt >= 0, 'a ping through the tunnel was answered');
  } finally {
    ns?.remove();
    rmSync(work, { recursive: true, force: true });
  }
});
