/**
 * TCP loss recovery against Linux over a lossy, reordering link: a FaultLink
 * (2 % loss and 2 % reordering in each direction) around a TAP device whose
 * other end is in a namespace this test creates and removes, where Linux owns
 * 10.79.0.1/24 and wirestack 10.79.0.2/24. 64 MiB each way, byte-exact by
 * SHA-256, with socat as the Linux peer; wirestack's sender must recover by
 * RACK, PRR and the probe, not by a stream of timeouts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultLink, Stack, TapLink } from '../../src/index.js';
import { teardown } from '../helpers/teardown.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';

const LINUX_IP = '10.79.0.1';
const STACK_IP = '10.79.0.2';
const BYTES = 64 * 1024 * 1024;
/** Generous for a loaded CI machine: each direction takes a few seconds here. */
const DIRECTION_MS = 90_000;

const missing = missingCapability();
if (missing !== null) console.error(`tcp-loss.test: SKIPPING the lossy-link interop test: ${missing}`);

/** Resolve once the child printed a line matching `re` (socat -d -d logs to stderr). */
function waitFor(child: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${out}`)), ms);
    const on = (b: Buffer): void => {
      out += b.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        child.stderr?.off('data', on);
        resolve();
      }
    };
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited (${code}) before ${re}: ${out}`));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`socat still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('TCP over a lossy, reordering link against Linux', { skip: missing ?? false }, () => {
  let ns: Netns | null = null;
  let tap: TapLink | null = null;
  let link: FaultLink | null = null;
  let stack: Stack | null = null;
  const devName = `wst${process.pid % 100000}l`;
  let work = '';
  let file = '';
  let sha = '';
  let data: Buffer = Buffer.alloc(0);

  before(() => {
    assert.ok(haveCommand('socat'), 'socat is not installed (apt-get install socat)');
    work = mkdtempSync(join(tmpdir(), 'wirestack-loss-'));
    data = randomBytes(BYTES);
    sha = createHash('sha256').update(data).digest('hex');
    file = join(work, 'in.bin');
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    ns = Netns.create();
    tap = TapLink.open(devName, { mtu: 1500 });
    tap.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    link = new FaultLink(tap, { loss: 0.02, reorder: 0.02, seed: 7 });
    stack = new Stack({ maxTcpSockets: 4, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
    stack.addInterface(link, { address: `${STACK_IP}/24` });
    stack.start();
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (work !== '') rmSync(work, { recursive: true, force: true }); });
  });

  it('wirestack sends 64 MiB to Linux, byte-exact, recovering by RACK/PRR rather than timeouts', { timeout: DIRECTION_MS + 10_000 }, async () => {
    assert.ok(stack !== null && ns !== null && link !== null);
    const out = join(work, 'out.bin');
    const sink = ns.spawn('socat', ['-d', '-d', '-u', `TCP-LISTEN:5002,bind=${LINUX_IP},reuseaddr`, `CREATE:${out}`]);
    await waitFor(sink, /listening on/, 10_000);
    const before = { ...stack.stats.tcp };
    const t0 = performance.now();
    const c = stack.net.connect(5002, LINUX_IP);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    const closed = new Promise<void>((resolve, reject) => {
      c.once('error', reject);
      c.once('close', () => resolve());
      c.resume();
    });
    for (let off = 0; off < BYTES; off += 1 << 20) {
      if (!c.write(data.subarray(off, off + (1 << 20)))) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    await closed;
    assert.equal(await exited(sink, DIRECTION_MS), 0);
    const seconds = (performance.now() - t0) / 1000;
    const got = readFileSync(out);
    assert.equal(got.length, BYTES);
    assert.equal(createHash('sha256').update(got).digest('hex'), sha, 'byte-exact');
    const tcp = stack.stats.tcp;
    const d = (k: keyof typeof tcp): number => tcp[k] - before[k];
    const f = link.faults;
    assert.ok(f.tx.lost > 100 && f.tx.reordered > 100, JSON.stringify(f));
    assert.ok(d('rackLossMarked') > 0 && d('prrRecoveries') > 0, 'losses found by RACK, repaired under PRR');
    // Timeouts are the exception: far fewer than the losses (a few lost retransmissions at the tail).
    assert.ok(d('rtoTimeouts') < f.tx.lost / 20, `${d('rtoTimeouts')} timeouts for ${f.tx.lost} losses`);
    console.error(`tcp-loss: wirestack -> Linux ${seconds.toFixed(2)} s, ${d('retransmits')} retransmits, `
      + `${d('rtoTimeouts')} RTOs, ${d('tailLossProbes')} probes, ${d('spuriousRetransUndone')} undone`);
  });

  it('Linux sends 64 MiB to wirestack, byte-exact', { timeout: DIRECTION_MS + 10_000 }, async () => {
    assert.ok(stack !== null && ns !== null);
    const hash = createHash('sha256');
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      const server = stack!.net.createServer((sock) => {
        sock.on('data', (b: Buffer) => {
          got += b.length;
          hash.update(b);
        });
        sock.on('error', reject);
        sock.on('end', () => {
          server.close();
          resolve();
        });
      });
      server.listen(5001, STACK_IP);
    });
    const t0 = performance.now();
    const client = ns.spawn('socat', ['-u', `OPEN:${file}`, `TCP:${STACK_IP}:5001`]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([done, new Promise((_r, reject) => { timer = setTimeout(() => reject(new Error('timed out')), DIRECTION_MS); })]);
    } finally {
      clearTimeout(timer);
    }
    assert.equal(await exited(client, 10_000), 0);
    assert.equal(got, BYTES);
    assert.equal(hash.digest('hex'), sha, 'byte-exact');
    console.error(`tcp-loss: Linux -> wirestack ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  });
});
