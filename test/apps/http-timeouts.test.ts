/**
 * Node's server timeouts on the stack's sockets (REAL time, two started stacks
 * on a MemoryLink): a connection that sends nothing, one that sends half its
 * headers, one that stops in the middle of its body, an idle keep-alive
 * connection and an HTTPS client that never starts TLS are each closed within
 * their timeout plus the checking interval, and counted by cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpApp, NetSocket, Stack } from '../../src/index.js';
import { withStacks } from '../helpers/socks.js';
import type http from 'node:http';

const HEADERS_MS = 600;
const REQUEST_MS = 1200;
const KEEPALIVE_MS = 400;
const CHECK_MS = 100;

function listen<S extends http.Server>(app: HttpApp<S>, port: number): Promise<void> {
  return new Promise((resolve) => { app.listen(port, resolve); });
}

/** Connect, write `data` pieces, and resolve with what came back and when (ms after connecting) the connection closed. */
function client(a: Stack, port: number, data: string[], limitMs: number): Promise<{ reply: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    let reply = '';
    let t0 = 0;
    const s: NetSocket = a.net.connect(port, '10.0.0.2', () => {
      t0 = performance.now();
      for (const d of data) s.write(d);
    });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`still open after ${limitMs} ms: ${JSON.stringify(reply)}`)); }, limitMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { reply += d; });
    s.on('error', () => undefined); // the server may reset after its 408
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ reply, closedAfterMs: performance.now() - t0 });
    });
  });
}

test('headersTimeout, requestTimeout and keepAliveTimeout close our sockets and are counted by cause', { timeout: 20_000 }, async () => {
  await withStacks(async (a, b) => {
    const app = b.http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok\n'));
    }, { headersTimeout: HEADERS_MS, requestTimeout: REQUEST_MS, keepAliveTimeout: KEEPALIVE_MS, connectionsCheckingInterval: CHECK_MS });
    await listen(app, 80);
    const bound = (ms: number): number => ms + CHECK_MS + 400;
    // Recent Node versions keep an idle keep-alive connection 1 s longer than the timeout they
    // announce (a fixed buffer against races with the client reusing it); older ones do not.
    const keepAliveMs = KEEPALIVE_MS;
    const [silent, halfHeaders, halfBody, keepAlive] = await Promise.all([
      client(a, 80, [], 5000),
      client(a, 80, ['GET / HTTP/1.1\r\nHost: x\r\n'], 5000),
      client(a, 80, ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'only a part'], 5000),
      client(a, 80, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], 5000),
    ]);
    assert.match(silent.reply, /^HTTP\/1\.1 408 /);
    assert.ok(silent.closedAfterMs >= HEADERS_MS - 50 && silent.closedAfterMs < bound(HEADERS_MS), `silent: ${silent.closedAfterMs} ms`);
    assert.match(halfHeaders.reply, /^HTTP\/1\.1 408 /);
    assert.ok(halfHeaders.closedAfterMs < bound(HEADERS_MS), `half headers: ${halfHeaders.closedAfterMs} ms`);
    assert.ok(halfBody.closedAfterMs >= REQUEST_MS - 50 && halfBody.closedAfterMs < bound(REQUEST_MS), `half body: ${halfBody.closedAfterMs} ms`);
    assert.match(keepAlive.reply, /^HTTP\/1\.1 200 /);
    assert.ok(keepAlive.closedAfterMs >= keepAliveMs - 50 && keepAlive.closedAfterMs < bound(keepAliveMs + 1000), `keep-alive: ${keepAlive.closedAfterMs} ms`);
    assert.deepEqual({ ...app.timeoutCloses }, { headers: 2, request: 1, keepAlive: 1, handshake: 0 });
    await new Promise<void>((resolve) => { app.close(() => resolve()); });
  });
});

test('an HTTPS client that never starts TLS is closed after handshakeTimeout and counted', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-cert-'));
  let tls: { key: string; cert: string };
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=t'], { stdio: 'ignore', timeout: 20_000 });
    tls = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await withStacks(async (a, b) => {
    const app = b.https.createServer({ ...tls, handshakeTimeout: 500 }, (_req, res) => res.end('ok\n'));
    await listen(app, 443);
    const r = await client(a, 443, [], 5000);
    assert.ok(r.closedAfterMs >= 450 && r.closedAfterMs < 1500, `closed after ${r.closedAfterMs} ms`);
    assert.equal(app.timeoutCloses.handshake, 1);
    await new Promise<void>((resolve) => { app.close(() => resolve()); });
  });
});
