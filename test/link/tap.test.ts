/**
 * TapLink against the real Linux kernel: the TAP device is moved into a
 * namespace this test creates (and always removes), where Linux owns
 * 10.77.0.1/24; the stack owns 10.77.0.2/24 on the fd. No other address is used.
 * The Linux-side bulk peers are socat, reading and writing files in a temp
 * directory the test removes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { Errno } from '../../src/engine/errno.js';
import { teardown } from '../helpers/teardown.js';
import { withTimeout } from '../helpers/timeout.js';

const LINUX_IP = '10.77.0.1';
const STACK_IP = '10.77.0.2';
const TCP_BYTES = 256 * 1024 * 1024;

const missing = missingCapability();
if (missing !== null) {
  console.error(`tap.test: SKIPPING every TAP test: ${missing}`);
}

/** Resolve with the first stdout or stderr line matching `re`; reject on timeout or exit. */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      fn();
    };
    const onData = (b: Buffer | string): void => {
      out += b.toString();
      for (const line of out.split('\n')) {
        if (re.test(line)) {
          done(() => resolve(line));
          return;
        }
      }
    };
    const onExit = (code: number | null): void => done(() => reject(new Error(`child exited (${code}) before printing ${re}: ${out}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}: ${out}`))), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A socat started in the namespace, its output collected from the start. */
interface Peer {
  readonly child: ChildProcess;
  /** Everything it printed so far (socat -d -d logs to stderr). */
  output(): string;
  /** Exit code; rejects after `timeoutMs` (the namespace kills it on remove). */
  exit(timeoutMs: number): Promise<number | null>;
}

function startPeer(ns: Netns, args: readonly string[]): Peer {
  const child = ns.spawn('socat', args);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stdin?.end();
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', (err) => { out += String(err); resolve(null); });
  });
  return {
    child,
    output: () => out,
    exit: (timeoutMs) => withTimeout(exited, timeoutMs, `socat ${args.join(' ')}: ${out}`),
  };
}

/** sha256 (hex) and size of a file, streamed. */
async function hashFile(path: string): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    h.update(b);
    bytes += b.length;
  }
  return { bytes, sha: h.digest('hex') };
}

/**
 * socat options shared by every bulk peer: 128 KiB reads, `-T 50` ends an
 * idle transfer, and `-t 50` lets the other direction drain after one side's
 * EOF (socat's default half-close grace is only 0.5 s, shorter than the echo
 * still in flight when the input file ends).
 */
const SOCAT = ['-d', '-d', '-b131072', '-T', '50', '-t', '50'];
/** The line `socat -d -d` prints once a TCP-LISTEN address is bound. */
const LISTENING = /listening on/;

describe('TapLink with a Linux peer in a network namespace', { skip: missing ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  const devName = `wst${process.pid % 100000}t`;
  let work = '';
  let inFile = '';
  let inSha = '';

  before(() => {
    assert.ok(haveCommand('socat'), 'socat is not installed (apt-get install socat)');
    work = mkdtempSync(join(tmpdir(), 'wirestack-tap-'));
    // 256 MiB of random bytes for the Linux-side senders, written in 1 MiB blocks.
    inFile = join(work, 'in.bin');
    const hash = createHash('sha256');
    const fd = openSync(inFile, 'w');
    try {
      for (let off = 0; off < TCP_BYTES; off += 1 << 20) {
        const block = randomBytes(1 << 20);
        hash.update(block);
        writeSync(fd, block);
      }
    } finally {
      closeSync(fd);
    }
    inSha = hash.digest('hex');
    ns = Netns.create();
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    stack = new Stack();
    stack.addInterface(link, { address: `${STACK_IP}/24` });
    stack.start();
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (work !== '') rmSync(work, { recursive: true, force: true }); });
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

  it('sends 256 MiB over TCP to a Linux server (socat sink), byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const out = join(work, 'sink.bin');
    const sink = startPeer(ns, [...SOCAT, '-u', `TCP-LISTEN:5001,bind=${LINUX_IP},reuseaddr`, `CREATE:${out}`]);
    await waitForLine(sink.child, LISTENING, 15_000);
    const data = randomBytes(TCP_BYTES);
    const expected = createHash('sha256').update(data).digest('hex');
    const sock = stack.net.connect(5001, LINUX_IP);
    const closed = new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('close', () => resolve());
      sock.resume(); // socat closes its side after EOF
    });
    sock.end(data);
    const code = await sink.exit(60_000);
    assert.equal(code, 0, sink.output());
    const got = await hashFile(out);
    assert.equal(got.bytes, TCP_BYTES);
    assert.equal(got.sha, expected);
    await withTimeout(closed, 10_000, 'client close');
  });

  it('receives 256 MiB over TCP from a Linux server (socat source), byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const source = startPeer(ns, [...SOCAT, '-u', `OPEN:${inFile}`, `TCP-LISTEN:5002,bind=${LINUX_IP},reuseaddr`]);
    await waitForLine(source.child, LISTENING, 15_000);
    const h = createHash('sha256');
    let n = 0;
    const sock = stack.net.connect(5002, LINUX_IP);
    const closed = new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.on('data', (d: Buffer) => { h.update(d); n += d.length; });
      sock.once('close', () => resolve());
    });
    await withTimeout(closed, 60_000, `receive (${n} bytes so far)`);
    assert.equal(n, TCP_BYTES);
    assert.equal(h.digest('hex'), inSha);
    assert.equal(await source.exit(10_000), 0, source.output());
  });

  it('echoes 256 MiB from a Linux socat client on port 7, byte-exact (256 MiB each way at once)', { timeout: 120_000 }, async () => {
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
      const echoed = join(work, 'echo.bin');
      // Reads in.bin into the connection and writes what comes back to echo.bin; after in.bin's EOF it
      // half-closes and keeps reading until wirestack's FIN (-t bounds that wait).
      const client = startPeer(ns, [...SOCAT, `OPEN:${inFile}!!CREATE:${echoed}`, `TCP:${STACK_IP}:7`]);
      assert.equal(await client.exit(60_000), 0, client.output());
      const got = await hashFile(echoed);
      assert.equal(got.bytes, TCP_BYTES);
      assert.equal(got.sha, inSha);
      assert.equal(seenBytes, TCP_BYTES);
      assert.equal(seen.digest('hex'), inSha);
    } finally {
      server.close();
    }
  });

  it('discards 256 MiB from a Linux socat client on port 9, byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null);
    const seen = createHash('sha256');
    let seenBytes = 0;
    let ended!: () => void;
    const gotEnd = new Promise<void>((resolve) => { ended = resolve; });
    const server = stack.net.createServer((s) => {
      s.on('data', (d: Buffer) => { seen.update(d); seenBytes += d.length; });
      s.on('error', () => { /* reported by the client's result */ });
      s.once('end', () => ended());
    });
    await withTimeout(new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(9, STACK_IP, () => resolve());
    }), 5000, 'listen');
    try {
      const client = startPeer(ns, [...SOCAT, '-u', `OPEN:${inFile}`, `TCP:${STACK_IP}:9`]);
      assert.equal(await client.exit(60_000), 0, client.output());
      await withTimeout(gotEnd, 10_000, `discard end (${seenBytes} bytes so far)`);
      assert.equal(seenBytes, TCP_BYTES);
      assert.equal(seen.digest('hex'), inSha);
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
    assert.equal(link.transmit(new Uint8Array(60), 0, 60, 0), -Errno.ENETDOWN);
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
