/**
 * TAP offload (IFF_VNET_HDR, TSO/GRO, checksum offload) against the Linux
 * kernel, each way, with offload on and off: 64 MiB byte-exact through
 * socat in a namespace this test creates (Linux 10.78.0.1/24 on the TAP,
 * the stack 10.78.0.2/24); with offload the stack's counters show
 * super-segments went out (tsoSegments, the link's txGso) and coalesced ones
 * came in (groSegments), without it none. Then the kernel's side of TSO: the
 * namespace forwards to a second TAP without offload (10.79.0.0/24) and a
 * second stack on it; tshark on that TAP sees only MTU-sized frames while
 * the first stack sent 64 KiB super-segments, and the far stack gets every
 * byte. Only addresses inside that namespace are used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { withTimeout } from '../helpers/timeout.js';

const LINUX_IP = '10.78.0.1';
const STACK_IP = '10.78.0.2';
const FAR_GW = '10.79.0.1'; // the namespace's side of the far TAP
const FAR_IP = '10.79.0.2';
const BYTES = 64 * 1024 * 1024;

const missing = missingCapability();
if (missing !== null) console.error(`tap-offload.test: SKIPPING every TAP test: ${missing}`);

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Resolve once `child` prints a line matching `re` on stderr (where socat -d -d and tshark report). */
function waitFor(child: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return withTimeout(new Promise<void>((resolve, reject) => {
    let out = '';
    const on = (d: Buffer): void => {
      out += d.toString();
      if (re.test(out)) {
        child.stderr?.off('data', on);
        resolve();
      }
    };
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${re}: ${out}`)));
  }), ms, `waiting for ${re}`);
}

/** A socat in `ns` listening on addr:port, writing what it receives to stdout: its byte count and hash once it closes. */
function sink(ns: Netns, addr: string, port: number): { ready: Promise<void>; done: Promise<{ n: number; sha: string }> } {
  const child = ns.spawn('socat', ['-d', '-d', '-u', '-b131072', '-T', '30', `TCP-LISTEN:${port},bind=${addr},reuseaddr`, 'STDOUT']);
  const h = createHash('sha256');
  let n = 0;
  child.stdout?.on('data', (d: Buffer) => { h.update(d); n += d.length; });
  const ready = waitFor(child, /listening on/, 10_000);
  const done = withTimeout(new Promise<{ n: number; sha: string }>((resolve) => {
    child.once('close', () => resolve({ n, sha: h.digest('hex') }));
  }), 90_000, 'socat sink');
  child.stdin?.end();
  return { ready, done };
}

/** Send `data` from the stack to addr:port and end; resolves when the socket closed. */
function stackSend(stack: Stack, addr: string, port: number, data: Uint8Array): Promise<void> {
  return withTimeout(new Promise<void>((resolve, reject) => {
    const c = stack.net.connect(port, addr);
    c.on('error', reject);
    c.on('close', () => resolve());
    c.on('connect', () => c.end(data));
    c.resume();
  }), 90_000, `stack -> ${addr}:${port}`);
}

for (const offload of [true, false]) {
  describe(`TapLink offload ${offload ? 'on' : 'off'} with Linux in a namespace`, { skip: missing ?? false }, () => {
    let ns: Netns | null = null;
    let link: TapLink | null = null;
    let stack: Stack | null = null;

    before(() => {
      assert.ok(haveCommand('socat'), 'socat is not installed (apt-get install socat)');
      ns = Netns.create();
      link = TapLink.open(`wso${process.pid % 100000}${offload ? 'y' : 'n'}`, { offload });
      link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
      stack = new Stack({ tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
      stack.addInterface(link, { address: `${STACK_IP}/24` });
      stack.start();
    });

    after(() => {
      teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove());
    });

    it(offload ? 'the kernel takes the offload (TUN_F_CSUM | TUN_F_TSO4)' : 'offers no offload', () => {
      assert.ok(link !== null);
      if (offload) assert.deepEqual(link.offload, { tsoMax: 65535, csum: true });
      else assert.equal(link.offload, null);
    });

    it('stack -> Linux: 64 MiB byte-exact', { timeout: 120_000 }, async () => {
      assert.ok(ns !== null && stack !== null && link !== null);
      const data = randomBytes(BYTES);
      const tso0 = stack.stats.tcp.tsoSegments;
      const s = sink(ns, LINUX_IP, 5002);
      await s.ready;
      await stackSend(stack, LINUX_IP, 5002, data);
      const got = await s.done;
      assert.equal(got.n, BYTES);
      assert.equal(got.sha, sha(data));
      const tso = stack.stats.tcp.tsoSegments - tso0;
      if (offload) {
        assert.ok(tso > 100, `super-segments sent: ${tso}`);
        assert.ok(link.offloadStats.txGso >= tso, JSON.stringify(link.offloadStats));
        assert.ok(link.offloadStats.txCsumPartial > 0);
      } else {
        assert.equal(tso, 0);
        assert.deepEqual(link.offloadStats, { txGso: 0, txCsumPartial: 0 });
      }
      assert.equal(link.txErrors, 0);
    });

    it('Linux -> stack: 64 MiB byte-exact', { timeout: 120_000 }, async () => {
      assert.ok(ns !== null && stack !== null);
      const data = randomBytes(BYTES);
      const gro0 = stack.stats.tcp.groSegments;
      const bad0 = stack.stats.tcp.badChecksum;
      const h = createHash('sha256');
      let n = 0;
      const received = new Promise<void>((resolve, reject) => {
        const server = stack!.net.createServer((sock) => {
          sock.on('data', (d: Buffer) => { h.update(d); n += d.length; });
          sock.on('error', reject);
          sock.on('end', () => { server.close(); resolve(); });
        });
        server.listen(5001, STACK_IP);
      });
      const client = ns.spawn('socat', ['-u', '-b131072', '-T', '30', 'STDIN', `TCP:${STACK_IP}:5001`]);
      client.stdin?.end(data);
      await withTimeout(received, 90_000, 'Linux -> stack');
      assert.equal(n, BYTES);
      assert.equal(h.digest('hex'), sha(data));
      const gro = stack.stats.tcp.groSegments - gro0;
      if (offload) assert.ok(gro > 100, `coalesced segments received: ${gro}`);
      else assert.equal(gro, 0);
      assert.equal(stack.stats.tcp.badChecksum - bad0, 0);
    });
  });
}

describe('TapLink offload: the kernel cuts super-segments into MTU-sized frames where they leave it', { skip: missing ?? false }, () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let farLink: TapLink | null = null;
  let stack: Stack | null = null;
  let farStack: Stack | null = null;
  const tag = process.pid % 100000;

  before(() => {
    assert.ok(haveCommand('tshark'), 'tshark is needed (apt-get install tshark)');
    ns = Netns.create();
    // The sender's TAP offers offload; the far stack's TAP does not, so the kernel (forwarding in
    // ns between the two) must cut each super-segment into MTU-sized frames before it writes them there.
    link = TapLink.open(`wsf${tag}a`, { offload: true });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    farLink = TapLink.open(`wsf${tag}b`, { offload: false });
    farLink.moveToNetns(ns.name, { hostAddress: `${FAR_GW}/24` });
    ns.execSync('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    stack = new Stack({ tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
    stack.addInterface(link, { address: `${STACK_IP}/24`, gateway: LINUX_IP });
    stack.start();
    farStack = new Stack({ tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
    farStack.addInterface(farLink, { address: `${FAR_IP}/24`, gateway: FAR_GW });
    farStack.start();
  });

  after(() => {
    teardown(() => stack?.stop(), () => farStack?.stop(), () => link?.close(), () => farLink?.close(), () => ns?.remove());
  });

  it('16 MiB stack -> kernel (forwarding) -> stack: super-segments in, at most 1514-byte frames out (tshark), byte-exact', { timeout: 120_000 }, async () => {
    assert.ok(ns !== null && stack !== null && farStack !== null && link !== null && farLink !== null);
    const data = randomBytes(16 << 20);
    // tshark on the far TAP: the length of every TCP frame the kernel wrote toward the far stack.
    const shark = ns.spawn('tshark', ['-l', '-n', '-i', `wsf${tag}b`, '-f', `tcp and src host ${STACK_IP}`, '-T', 'fields', '-e', 'frame.len']);
    let lens = '';
    shark.stdout?.setEncoding('utf8').on('data', (s: string) => { lens += s; });
    await waitFor(shark, /Capturing on/, 30_000);
    const h = createHash('sha256');
    let n = 0;
    const received = new Promise<void>((resolve, reject) => {
      const server = farStack!.net.createServer((sock) => {
        sock.on('data', (d: Buffer) => { h.update(d); n += d.length; });
        sock.on('error', reject);
        sock.on('end', () => { sock.end(); server.close(); resolve(); });
      });
      server.listen(5003, FAR_IP);
    });
    const tso0 = stack.stats.tcp.tsoSegments;
    const drops0 = farLink.stats.drops;
    await stackSend(stack, FAR_IP, 5003, data);
    await withTimeout(received, 60_000, 'far stack');
    assert.equal(n, data.length);
    assert.equal(h.digest('hex'), sha(data));
    assert.ok(stack.stats.tcp.tsoSegments - tso0 > 10, 'the stack sent super-segments');
    assert.equal(farStack.stats.tcp.groSegments, 0, 'the far stack got MTU-sized segments only');
    assert.equal(farLink.stats.drops - drops0, 0, 'no frame larger than the MTU reached the far TAP');
    await new Promise((r) => setTimeout(r, 500)); // the last frames reach tshark's output
    // tshark dissects what it captured before it exits on SIGTERM; in one CI run it had not exited
    // 10 s later. What it printed so far is the sample asserted on below, so a tshark still busy
    // then is killed instead of failing the test (its exit stays bounded).
    const sharkClosed = new Promise((r) => shark.once('close', r));
    shark.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([sharkClosed.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(r, 10_000, false); })]);
    clearTimeout(timer);
    if (!exited) {
      shark.kill('SIGKILL');
      await withTimeout(sharkClosed, 10_000, 'tshark exit after SIGKILL');
    }
    const sizes = lens.split('\n').filter((l) => l.trim() !== '').map(Number);
    // tshark may miss frames on a loaded machine: a sample is enough to see their sizes (the far
    // stack's counters above cover every frame).
    assert.ok(sizes.length > 1000, `frames captured: ${sizes.length}`);
    let max = 0;
    let full = 0;
    for (const x of sizes) {
      if (x > max) max = x;
      if (x === 1514) full++;
    }
    assert.ok(max <= 1514, `largest frame on the far TAP ${max}`);
    assert.ok(full > sizes.length / 2, 'mostly full-sized frames');
  });
});
