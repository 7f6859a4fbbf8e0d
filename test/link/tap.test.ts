/**
 * TapLink against the real Linux kernel: the TAP device is moved into a
 * namespace this test creates (and always removes), where Linux owns
 * 10.77.0.1/24; the stack owns 10.77.0.2/24 on the fd. No other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';

const LINUX_IP = '10.77.0.1';
const STACK_IP = '10.77.0.2';
const TCP_BYTES = 256 * 1024 * 1024;

const missing = missingCapability();
if (missing !== null) {
  console.error(`tap.test: SKIPPING every TAP test: ${missing}`);
}

/** Resolve with the first stdout line matching `re`; reject on timeout or exit. */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      fn();
    };
    const onData = (b: Buffer): void => {
      out += b.toString();
      for (const line of out.split('\n')) {
        if (re.test(line)) {
          done(() => resolve(line));
          return;
        }
      }
    };
    const onErr = (b: Buffer): void => { err += b.toString(); };
    const onExit = (code: number | null): void => done(() => reject(new Error(`child exited (${code}) before printing ${re}: ${out} ${err}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}: ${out} ${err}`))), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// Runs in the namespace: accept one connection on LINUX_IP:5001, print sha256 and byte count at EOF.
const SINK_SERVER = `
const net = require('node:net'), crypto = require('node:crypto');
const srv = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes: n, sha: h.digest('hex') })); s.end(); srv.close(); });
  s.on('error', (e) => { console.error(String(e)); process.exit(2); });
});
srv.listen(5001, '${LINUX_IP}', () => console.log('ready'));
setTimeout(() => { console.error('sink timeout'); process.exit(3); }, 60000).unref();
`;

// Runs in the namespace: send N random bytes to STACK_IP:7, hash the echo, print both hashes at EOF.
const ECHO_CLIENT = `
const net = require('node:net'), crypto = require('node:crypto');
const data = crypto.randomBytes(${TCP_BYTES});
const sent = crypto.createHash('sha256').update(data).digest('hex');
const h = crypto.createHash('sha256'); let n = 0;
const s = net.connect(7, '${STACK_IP}', () => { s.end(data); });
s.on('data', (d) => { h.update(d); n += d.length; });
s.on('end', () => { console.log(JSON.stringify({ sent, bytes: n, sha: h.digest('hex') })); });
s.on('error', (e) => { console.error(String(e)); process.exit(2); });
setTimeout(() => { console.error('echo client timeout'); process.exit(3); }, 60000).unref();
`;

describe('TapLink with a Linux peer in a network namespace', { skip: missing ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  const devName = `wst${process.pid % 100000}t`;

  before(() => {
    ns = Netns.create();
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    stack = new Stack();
    stack.addInterface(link, { address: `${STACK_IP}/24` });
    stack.start();
  });

  after(() => {
    try {
      stack?.stop();
    } finally {
      try {
        link?.close();
      } finally {
        ns?.remove();
      }
    }
  });

  it('opens a TAP device named as asked, inside the namespace', () => {
    assert.ok(link !== null && ns !== null);
    assert.equal(link.name, devName);
    assert.equal(link.netns, ns.name);
    const shown = ns.execSync('ip', ['-o', 'link', 'show', 'dev', devName]);
    assert.match(shown, /UP/);
  });

  it('answers 100 pings from Linux with no loss', { timeout: 30_000 }, async () => {
    assert.ok(ns !== null && link !== null);
    assert.ok(haveCommand('ping'), 'ping is not installed (apt-get install iputils-ping)');
    const r = await ns.run('ping', ['-c', '100', '-i', '0.01', '-W', '1', STACK_IP], { timeoutMs: 25_000 });
    const m = /(\d+) packets transmitted, (\d+) received.*?(\d+(?:\.\d+)?)% packet loss/.exec(r.stdout);
    assert.ok(m !== null, `no ping summary (code ${r.code}, timedOut ${r.timedOut}): ${r.stdout} ${r.stderr}`);
    assert.equal(Number(m[1]), 100);
    assert.equal(Number(m[2]), 100, r.stdout);
    assert.equal(Number(m[3]), 0);
    assert.equal(r.code, 0);
    assert.ok(link.stats.rxFrames >= 100 && link.stats.txFrames >= 100);
  });

  it('pings Linux 20 times', { timeout: 30_000 }, async () => {
    assert.ok(stack !== null);
    for (let i = 0; i < 20; i++) {
      const rtt = await stack.ping(LINUX_IP, { timeoutMs: 2000 });
      assert.ok(rtt >= 0 && rtt < 2000, `rtt ${rtt}`);
    }
  });

  it('sends 256 MiB over TCP to a Linux server, byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const server = ns.spawn(process.execPath, ['-e', SINK_SERVER]);
    await waitForLine(server, /^ready$/, 15_000);
    const result = waitForLine(server, /^\{/, 50_000);
    const data = randomBytes(TCP_BYTES);
    const expected = createHash('sha256').update(data).digest('hex');
    const sock = stack.net.connect(5001, LINUX_IP);
    const closed = new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('close', () => resolve());
      sock.resume(); // the server ends its side after EOF
    });
    sock.end(data);
    const line = await result;
    const got = JSON.parse(line) as { bytes: number; sha: string };
    assert.equal(got.bytes, TCP_BYTES);
    assert.equal(got.sha, expected);
    await withTimeout(closed, 10_000, 'client close');
  });

  it('echoes 256 MiB from a Linux client on port 7, byte-exact (256 MiB each way at once)', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const seen = createHash('sha256');
    let seenBytes = 0;
    const server = stack.net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (d: Buffer) => { seen.update(d); seenBytes += d.length; });
      s.on('error', () => { /* reported by the client's result */ });
      s.pipe(s);
    });
    await withTimeout(new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(7, STACK_IP, () => resolve());
    }), 5000, 'listen');
    try {
      const r = await ns.run(process.execPath, ['-e', ECHO_CLIENT], { timeoutMs: 55_000 });
      assert.equal(r.code, 0, `client failed (timedOut ${r.timedOut}): ${r.stderr}`);
      const got = JSON.parse(r.stdout.trim()) as { sent: string; bytes: number; sha: string };
      assert.equal(got.bytes, TCP_BYTES);
      assert.equal(got.sha, got.sent);
      assert.equal(seenBytes, TCP_BYTES);
      assert.equal(seen.digest('hex'), got.sent);
    } finally {
      server.close();
    }
  });

  it('100 short connections with wirestack closing first, then 100 with Linux closing first: nothing lingers', { timeout: 60_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    const st = stack;
    // wirestack's server closes first (active close on our side, passive on Linux's).
    const server = st.net.createServer((sock) => sock.end('bye\n'));
    await new Promise<void>((resolve) => server.listen(2000, resolve));
    const client = `const net=require('node:net');setTimeout(()=>process.exit(3),25000).unref();
(async()=>{for(let i=0;i<100;i++){await new Promise((res,rej)=>{let got='';const s=net.connect(2000,'${STACK_IP}');
s.setEncoding('utf8');s.on('data',d=>got+=d);s.on('end',()=>s.end());s.on('error',rej);s.on('close',()=>got==='bye\\n'?res():rej(new Error('got '+got)));});}
console.log('ok');})().catch(e=>{console.error(String(e));process.exit(2);});`;
    const r = await ns.run(process.execPath, ['-e', client], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Linux's server closes first (active close on Linux, LAST_ACK on ours).
    const linuxServer = ns.spawn(process.execPath, ['-e',
      `require('node:net').createServer(c=>{c.on('error',()=>{});c.end('hi\\n');}).listen(2001,'${LINUX_IP}',()=>console.log('ready'));`]);
    await new Promise<void>((resolve) => linuxServer.stdout?.once('data', () => resolve()));
    const baseline = st.sockets.usage.used;
    for (let i = 0; i < 100; i++) {
      const sock = st.net.connect(2001, LINUX_IP);
      let got = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => { got += d; });
      await new Promise<void>((resolve, reject) => {
        sock.once('close', () => resolve());
        sock.once('error', reject);
      });
      assert.equal(got, 'hi\n');
    }
    linuxServer.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    const ss = await ns.run('ss', ['-tan'], { timeoutMs: 5000 });
    const stuck = ss.stdout.split('\n').filter((l) => l.includes(STACK_IP) && /LAST-ACK|FIN-WAIT|CLOSE-WAIT|CLOSING|SYN/.test(l));
    assert.deepEqual(stuck, [], ss.stdout);
    // Our side: the connections Linux closed first are gone (no LAST_ACK left). The table was full of our
    // TIME_WAITs from the first half (wirestack closed first); new connections recycled the oldest, so no growth.
    assert.ok(st.sockets.usage.used <= baseline, `${st.sockets.usage.used} sockets in use, ${baseline} before`);
  });

  it('close() releases the device', { timeout: 20_000 }, () => {
    assert.ok(ns !== null && link !== null && stack !== null);
    stack.stop();
    link.close();
    assert.equal(link.closed, true);
    assert.equal(link.transmit(new Uint8Array(60), 0, 60, 0), false);
    link.close(); // idempotent
    assert.throws(() => ns?.execSync('ip', ['link', 'show', 'dev', devName]), /does not exist|Command failed/);
    // The name is free again in this namespace too.
    const again = TapLink.open(devName, { up: false });
    try {
      assert.equal(again.name, devName);
    } finally {
      again.close();
    }
    assert.throws(() => execIpRoot(['link', 'show', 'dev', devName]));
  });
});

function execIpRoot(args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 });
}
