/**
 * An unmodified program for the `wirestack/register` tests: plain Node APIs
 * only (fetch, http.get, dns.lookup, a net server, dgram, ESM named imports),
 * nothing about wirestack. Run as `node --import <register> script.mjs`
 * with WIRESTACK_CONFIG, it prints one JSON line per step:
 *
 * - fetch and http.get of http://$PEER:$HTTP_PORT/blob.bin (length, sha256)
 *   and /hello.txt; with $NAME, dns.lookup and dns/promises lookup of it
 *   and a fetch by that name;
 * - a UDP datagram to $PEER:$UDP_PORT (an echo service) and its answer;
 * - the same fetch and http.get against a server of its own on 127.0.0.1
 *   (loopback: that server must see host sockets from 127.0.0.1);
 * - with $HTTPS_PORT, https.get and fetch of https://$PEER:$HTTPS_PORT/hello.txt;
 * - with $SELF (its tunnel address), a net server on that address only,
 *   which loopback cannot reach; it closes after its first connection;
 * - a net server on every interface: prints {what:'listening', port}, then
 *   answers the first connection that comes through the tunnel (whose
 *   remote address is the peer) and closes;
 * - then it ends by itself: the process must exit with nothing left open.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { WIRESTACK_BIN } from './wirestack-up.js';

/** The register module of this build, as `--import` takes it. */
export const REGISTER_URL = new URL('../../src/register/index.js', import.meta.url).href;

export const REGISTER_SCRIPT = `
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import * as net from 'node:net';
import { createServer } from 'node:net';
import dns from 'node:dns';
import { lookup as lookupP } from 'node:dns/promises';
import dgram from 'node:dgram';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const sha = (b) => createHash('sha256').update(b).digest('hex');
const { PEER, HTTP_PORT, HTTPS_PORT, UDP_PORT, NAME, SELF } = process.env;
setTimeout(() => { out({ what: 'timeout' }); process.exit(3); }, 90000).unref();

const get = (url) => new Promise((resolve, reject) => {
  (url.startsWith('https:') ? https : http).get(url, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
  }).on('error', reject);
});

try {
  const r = await fetch('http://' + PEER + ':' + HTTP_PORT + '/blob.bin');
  const body = Buffer.from(await r.arrayBuffer());
  out({ what: 'fetch', status: r.status, length: body.length, sha: sha(body) });
  const g = await get('http://' + PEER + ':' + HTTP_PORT + '/blob.bin');
  out({ what: 'http.get', status: g.status, length: g.body.length, sha: sha(g.body) });
  const hello = await get('http://' + PEER + ':' + HTTP_PORT + '/hello.txt');
  out({ what: 'hello', body: hello.body.toString() });

  if (HTTPS_PORT) {
    // TLS over the tunnel: Node's https agent and fetch (the test trusts the self-signed server with NODE_TLS_REJECT_UNAUTHORIZED=0).
    const viaGet = (await get('https://' + PEER + ':' + HTTPS_PORT + '/hello.txt')).body.toString();
    const viaFetch = await (await fetch('https://' + PEER + ':' + HTTPS_PORT + '/hello.txt')).text();
    out({ what: 'https', viaGet, viaFetch });
  }

  if (NAME) {
    const a = await new Promise((resolve, reject) => dns.lookup(NAME, (e, address, family) => e ? reject(e) : resolve({ address, family })));
    const p = await lookupP(NAME);
    const byName = await (await fetch('http://' + NAME + ':' + HTTP_PORT + '/hello.txt')).text();
    out({ what: 'dns', lookup: a, promises: p, byName });
  }

  if (UDP_PORT) {
    const u = dgram.createSocket('udp4');
    const answer = await new Promise((resolve, reject) => {
      u.once('message', (m, rinfo) => resolve({ text: m.toString(), from: rinfo.address + ':' + rinfo.port }));
      u.once('error', reject);
      u.send('ping over udp', Number(UDP_PORT), PEER);
    });
    u.close();
    out({ what: 'udp', ...answer });
  }

  // Loopback stays on the host: Node's own server sees Node's own sockets.
  const local = http.createServer((req, res) => res.end(JSON.stringify({
    remote: req.socket.remoteAddress, host: req.socket instanceof net.Socket && req.socket._handle !== null })));
  await new Promise((resolve) => local.listen(0, '127.0.0.1', resolve));
  const lp = local.address().port;
  const viaFetch = await (await fetch('http://127.0.0.1:' + lp + '/')).json();
  const viaGet = JSON.parse((await get('http://localhost:' + lp + '/')).body.toString());
  local.closeAllConnections();
  local.close();
  out({ what: 'loopback', viaFetch, viaGet });

  // A server on the tunnel address only: not on the host's loopback.
  let tunnelOnly = null;
  if (SELF) {
    tunnelOnly = createServer((s) => {
      s.end('tunnel-only server to ' + s.remoteAddress + '\\n');
      tunnelOnly.close(() => out({ what: 'tunnel-only-closed' }));
    });
    await new Promise((resolve) => tunnelOnly.listen(0, SELF, resolve));
    const port = tunnelOnly.address().port;
    const refused = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve('connected'); });
      c.on('error', (e) => resolve(e.code));
    });
    out({ what: 'tunnel-only', address: tunnelOnly.address(), listening: tunnelOnly.listening, loopback: refused });
  }

  // A server on every interface: the peer reaches it through the tunnel.
  const server = createServer((s) => {
    const from = s.remoteAddress;
    s.end('hello from the script to ' + from + '\\n');
    if (from === PEER) {
      server.close();
      out({ what: 'served', from });
    }
  });
  server.listen(0, () => out({ what: 'listening', port: server.address().port, tunnelOnlyPort: tunnelOnly?.address().port }));
} catch (e) {
  out({ what: 'error', message: String(e && e.stack || e), code: e && e.code });
  process.exitCode = 1;
}
process.on('exit', (code) => out({ what: 'exit', code }));
`;

export interface Line { what: string; [k: string]: unknown }

/**
 * Run the script with `config`: `via: 'import'` as `node --import <register>
 * script.mjs` with WIRESTACK_CONFIG, `via: 'run'` as `wirestack run CONFIG --
 * node script.mjs`. `onLine` sees each JSON line as it comes; the child is
 * killed (by PID) after 100 s.
 */
export function runScript(dir: string, config: string, env: Record<string, string>, onLine: (l: Line) => void,
  via: 'import' | 'run' = 'import', source = REGISTER_SCRIPT,
): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  const script = join(dir, 'script.mjs');
  const conf = join(dir, 'wst0.conf');
  fs.writeFileSync(script, source);
  fs.writeFileSync(conf, config, { mode: 0o600 });
  const child = via === 'import'
    ? spawn(process.execPath, ['--import', REGISTER_URL, script], { env: { ...process.env, ...env, WIRESTACK_CONFIG: conf }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [WIRESTACK_BIN, 'run', conf, '--', 'node', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  let stderr = '';
  let buf = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = JSON.parse(buf.slice(0, i)) as Line;
      buf = buf.slice(i + 1);
      lines.push(l);
      onLine(l);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const killer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 100_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(killer);
    resolve({ code, lines, stderr });
  }));
}

