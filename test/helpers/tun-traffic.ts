/** Traffic for the `--tun` interop tests: a file server for a namespace, socat transfers both ways, file hashes. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

/**
 * A static file server for a namespace: streams the files of argv[1] on
 * argv[2]:argv[3], prints `ready`, and exits by itself after ten minutes so
 * it never outlives the test.
 */
export const NS_FILE_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const [dir, host, port] = process.argv.slice(1);
setTimeout(() => process.exit(3), 600000).unref();
http.createServer((req, res) => {
  const file = path.join(dir, path.basename(req.url));
  fs.stat(file, (err, st) => {
    if (err) { res.statusCode = 404; res.end('not found\\n'); return; }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', st.size);
    fs.createReadStream(file).pipe(res);
  });
}).listen(Number(port), host, () => console.log('ready'));
`;

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Resolves once a child printed a line matching `re` on stdout or stderr (at most `ms`). */
export function waitForOutput(child: ChildProcess, re: RegExp, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      child.stdout?.off('data', on);
      child.stderr?.off('data', on);
      child.off('exit', onExit);
      if (err === null) resolve(out);
      else reject(err);
    };
    const on = (s: string): void => {
      out += s;
      if (re.test(out)) done(null);
    };
    const onExit = (code: number | null): void => done(new Error(`${what} exited (${code}) before ready: ${out}`));
    const timer = setTimeout(() => done(new Error(`${what}: not ready within ${ms} ms: ${out}`)), ms);
    child.stdout?.setEncoding('utf8').on('data', on);
    child.stderr?.setEncoding('utf8').on('data', on);
    child.once('exit', onExit);
  });
}

/** `bytes` random bytes from `from` to a socat listener on `to` at `addr`:`port`; asserts they arrived byte-exact. */
async function socatOnce(from: Netns, to: Netns, addr: string, port: number, dir: string, bytes: number): Promise<void> {
  const src = join(dir, `socat-${port}.in`);
  const dst = join(dir, `socat-${port}.out`);
  const data = randomBytes(bytes);
  writeFileSync(src, data);
  try {
    // IPv6 addresses take socat's TCP6 forms with brackets.
    const v6 = addr.includes(':');
    const listen = v6 ? `TCP6-LISTEN:${port},bind=[${addr}],reuseaddr` : `TCP-LISTEN:${port},bind=${addr},reuseaddr`;
    const listener = to.run('socat', ['-u', listen, `CREATE:${dst}`], { timeoutMs: 120_000 });
    // The client retries until the listener is up (bounded: 200 x 0.1 s).
    const connect = v6 ? `TCP6:[${addr}]:${port},retry=200,interval=0.1` : `TCP:${addr}:${port},retry=200,interval=0.1`;
    const client = await from.run('socat', ['-u', `OPEN:${src}`, connect], { timeoutMs: 120_000 });
    assert.equal(client.code, 0, `socat client to ${addr}:${port}: ${client.stderr}`);
    const l = await listener;
    assert.equal(l.code, 0, `socat listener on ${addr}:${port}: ${l.stderr}`);
    const got = readFileSync(dst);
    assert.equal(got.length, bytes);
    assert.ok(got.equals(data), `socat to ${addr}:${port}: bytes differ`);
  } finally {
    rmSync(src, { force: true });
    rmSync(dst, { force: true });
  }
}

/** socat from A to B's tunnel address and from B to A's, `bytes` each way. */
export async function socatBothWays(a: Netns, aAddr: string, b: Netns, bAddr: string, dir: string, bytes: number): Promise<void> {
  await socatOnce(a, b, bAddr, 9101, dir, bytes);
  await socatOnce(b, a, aAddr, 9102, dir, bytes);
}
