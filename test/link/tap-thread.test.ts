/**
 * TapLink's two I/O modes (native I/O threads, and synchronous syscalls on
 * the JS thread) against the Linux kernel, and the threads' lifecycle: no fd
 * or thread survives close(), process exit or a worker's teardown. Traffic
 * stays inside namespaces the test creates and removes (10.78.0.1/2 and 10.78.1.1/2 only).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Stack, TapLink, TAP_THREADS_DEFAULT, TAP_KERNEL_QUEUE_DEFAULT } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { Errno } from '../../src/engine/errno.js';

const LINUX_IP = '10.78.0.1';
const STACK_IP = '10.78.0.2';
/** A second namespace's pair, for the hand-polled link. */
const MANUAL_LINUX_IP = '10.78.1.1';
const MANUAL_STACK_IP = '10.78.1.2';
const BULK_BYTES = 32 * 1024 * 1024;
const TAP_JS = fileURLToPath(new URL('../../src/link/tap.js', import.meta.url));

const missing = missingCapability();
if (missing !== null) console.error(`tap-thread.test: SKIPPING every TAP test: ${missing}`);

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function taskCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** Threads named by the addon (wirestack-rx / wirestack-tx) in this process. */
function ioThreads(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('wirestack-')) n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

/** Run a node script (ESM, given as text) to completion; resolves with its exit code, stderr and time. */
function runNode(source: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('TapLink I/O threads: lifecycle', { skip: missing ?? false }, () => {
  it('uses the threaded mode by default, the synchronous one on request', () => {
    assert.equal(TAP_THREADS_DEFAULT, true);
    const a = TapLink.open('', { up: false });
    const b = TapLink.open('', { up: false, threads: false });
    try {
      assert.equal(a.threaded, true);
      assert.notEqual(a.threadCounters(), null);
      assert.equal(b.threaded, false);
      assert.equal(b.threadCounters(), null);
    } finally {
      a.close();
      b.close();
    }
    assert.throws(() => TapLink.open('', { ringSlots: 3 }), /power of two/);
  });

  it('sets the device\'s kernel queue (txqueuelen): TAP_KERNEL_QUEUE_DEFAULT unless told, the kernel\'s default with 0', () => {
    const qlen = (dev: string): number =>
      (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as Array<{ txqlen: number }>)[0].txqlen;
    const a = TapLink.open('');
    const b = TapLink.open('', { kernelQueue: 2500 });
    const c = TapLink.open('', { kernelQueue: 0 });
    try {
      assert.equal(qlen(a.name), TAP_KERNEL_QUEUE_DEFAULT);
      assert.equal(qlen(b.name), 2500);
      assert.equal(qlen(c.name), 1000); // the kernel's own default
    } finally {
      a.close();
      b.close();
      c.close();
    }
    assert.throws(() => TapLink.open('', { kernelQueue: -1 }), /kernelQueue/);
  });

  it('opens and closes 100 times (with a wakeup set) leaking no fd and no thread', { timeout: 60_000 }, () => {
    const fds = fdCount();
    const tasks = taskCount();
    for (let i = 0; i < 100; i++) {
      const link = TapLink.open('', { up: i % 2 === 0, threads: i % 4 !== 3 });
      link.setWakeup(() => {});
      if (i % 10 === 0) assert.equal(ioThreads(), link.threaded ? 2 : 0);
      link.close();
      assert.equal(ioThreads(), 0, `I/O threads left after close #${i}`);
    }
    assert.equal(fdCount(), fds, 'fd count changed');
    assert.equal(taskCount(), tasks, 'thread count changed');
  });

  it('does not busy-poll: an idle threaded link with a wakeup set costs (almost) no CPU', { timeout: 20_000 }, async () => {
    const link = TapLink.open('', { threads: true });
    try {
      let wakeups = 0;
      link.setWakeup(() => { wakeups++; });
      await new Promise((r) => setTimeout(r, 100)); // let the device settle (IPv6 router solicitations etc.)
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 1000));
      const c = process.cpuUsage(c0);
      assert.ok(c.user + c.system < 100_000, `${(c.user + c.system) / 1000} ms of CPU in 1 s idle (${wakeups} wakeups)`);
    } finally {
      link.close();
    }
  });

  it('writes queued frames before close() returns; write errors and a full ring are counted drops', { timeout: 20_000 }, () => {
    // A device that is down refuses every write (EIO): each queued frame becomes a counted error.
    const link = TapLink.open('', { up: false, ringSlots: 2 });
    const frame = new Uint8Array(1514);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = link.transmit(frame, 0, frame.length, 0);
      if (r === 0) accepted++;
      else if (r === -Errno.ENOBUFS) refused++; // the ring is full
      else assert.fail(`transmit returned ${r}`);
    }
    link.close();
    assert.equal(accepted + refused, 10_000);
    assert.ok(refused > 0, 'a 2-slot ring never filled');
    assert.equal(link.stats.txFrames, accepted);
    assert.equal(link.txErrors, accepted, 'every queued frame was written (and failed) before close returned');
    assert.equal(link.stats.drops, refused + accepted);
  });

  it('writes the first frame after a poll on the JS thread when the ring is empty, the rest through the TX thread', { timeout: 20_000 }, async () => {
    const frame = new Uint8Array(60);
    frame.fill(0xff, 0, 6); // broadcast: the kernel takes it and drops it
    frame[12] = 0x88;
    frame[13] = 0xb5; // local experimental EtherType
    const rx = { receiveFrame(): void {} };
    for (const directWrite of [true, false]) {
      const link = TapLink.open('', { directWrite });
      try {
        link.setWakeup(() => {});
        // Not armed yet: everything goes through the ring.
        for (let i = 0; i < 10; i++) assert.equal(link.transmit(frame, 0, frame.length, 0), 0);
        for (let i = 0; i < 200 && link.stats.txFrames !== 10; i++) await new Promise((r) => setTimeout(r, 5));
        assert.equal(link.threadCounters()?.txDirect, 0);
        // A burst after a poll: at most its first frame is written directly
        // (if the TX thread has drained the ring), the rest are queued.
        for (let round = 0; round < 5; round++) {
          await new Promise((r) => setTimeout(r, 20)); // let the TX thread drain the ring
          link.poll(0, rx);
          for (let i = 0; i < 100; i++) assert.equal(link.transmit(frame, 0, frame.length, 0), 0);
        }
        const direct = link.threadCounters()?.txDirect ?? -1;
        // At most one per poll; fewer only if the (loaded) TX thread had not drained the ring yet.
        if (directWrite) assert.ok(direct >= 1 && direct <= 5, `${direct} direct writes after 5 polls`);
        else assert.equal(direct, 0);
      } finally {
        link.close();
      }
      assert.equal(link.stats.txFrames, 510);
      assert.equal(link.txErrors, 0);
      assert.equal(link.stats.drops, 0);
    }
  });

  it('hands a device silent from the start to the JS thread (rxHandoff): 10 devices of 10 within 200 ms', { timeout: 30_000 }, async () => {
    // The hand-off is allowed before the RX thread's first read: allowed after it, the thread slept in poll()
    // with no timeout from its first empty read until a frame came, and 30 % of new silent devices (IPv6
    // off: Linux sends nothing) were still with the RX thread after 50 ms.
    const ns = Netns.create();
    try {
      ns.execSync('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      const late: string[] = [];
      for (let i = 0; i < 10; i++) {
        const link = TapLink.open('', { threads: true, rxHandoff: true });
        try {
          link.moveToNetns(ns.name, { hostAddress: `${MANUAL_LINUX_IP}/24` });
          link.setWakeup(() => {}, () => {});
          const t0 = performance.now();
          while (link.threadCounters()?.rxHandoffs === 0 && performance.now() - t0 < 200) await new Promise((r) => setTimeout(r, 5));
          const c = link.threadCounters();
          if ((c?.rxHandoffs ?? 0) === 0) late.push(JSON.stringify(c));
        } finally {
          link.setWakeup(null);
          link.close();
        }
      }
      assert.deepEqual(late, [], 'devices the RX thread kept');
    } finally {
      ns.remove();
    }
  });

  it('polled by hand (no wakeup set), still reads a quiet device the RX thread handed to JS', { timeout: 30_000 }, async () => {
    const ns = Netns.create();
    const link = TapLink.open('', { threads: true });
    try {
      link.moveToNetns(ns.name, { hostAddress: `${MANUAL_LINUX_IP}/24` });
      const stack = new Stack();
      stack.addInterface(link, { address: `${MANUAL_STACK_IP}/24` });
      // Quiet for over 1 ms (Linux may send a router solicitation or two): the RX thread hands over.
      for (let i = 0; i < 100 && link.threadCounters()?.rxHandoffs === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok((link.threadCounters()?.rxHandoffs ?? 0) >= 1, JSON.stringify(link.threadCounters()));
      const timer = setInterval(() => stack.poll(Math.floor(performance.now())), 1);
      try {
        const r = await ns.run('ping', ['-c', '5', '-i', '0.05', '-W', '2', MANUAL_STACK_IP], { timeoutMs: 20_000 });
        assert.match(r.stdout, / 5 received/, r.stdout);
      } finally {
        clearInterval(timer);
      }
      assert.ok((link.threadCounters()?.rxDirect ?? 0) >= 5, JSON.stringify(link.threadCounters()));
    } finally {
      link.close();
      ns.remove();
    }
  });

  it('lets a process exit on its own (no wakeup set) and on process.exit() with a wakeup set', { timeout: 30_000 }, async () => {
    const idle = await runNode(`import { TapLink } from ${JSON.stringify(TAP_JS)};
      const l = TapLink.open('', { threads: true }); l.setWakeup(() => {}); l.setWakeup(null);`, 10_000);
    assert.equal(idle.code, 0, idle.stderr);
    assert.ok(idle.ms < 5000, `took ${idle.ms} ms`);
    const exiting = await runNode(`import { TapLink } from ${JSON.stringify(TAP_JS)};
      const l = TapLink.open('', { threads: true }); l.setWakeup(() => {});
      const f = new Uint8Array(60); for (let i = 0; i < 1000; i++) l.transmit(f, 0, 60, 0);
      setTimeout(() => process.exit(7), 50);`, 10_000);
    assert.equal(exiting.code, 7, exiting.stderr);
    // Kept alive by the wakeup until closed: the child only ends by its timer.
    const kept = await runNode(`import { TapLink } from ${JSON.stringify(TAP_JS)};
      const l = TapLink.open('', { threads: true }); l.setWakeup(() => {});
      setTimeout(() => { l.close(); process.exitCode = 5; }, 300);`, 10_000);
    assert.equal(kept.code, 5, kept.stderr);
    assert.ok(kept.ms >= 300, `exited after ${kept.ms} ms`);
  });

  it('stops the threads when a worker that owns an open link is terminated', { timeout: 30_000 }, async () => {
    const tasks = taskCount();
    const worker = new Worker(`import { TapLink } from ${JSON.stringify(TAP_JS)};
      import { parentPort } from 'node:worker_threads';
      const l = TapLink.open('', { threads: true }); l.setWakeup(() => {});
      parentPort.postMessage(l.name);`, { eval: true, type: 'module' } as unknown as ConstructorParameters<typeof Worker>[1]);
    const name = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.match(name, /^tap\d+$/);
    assert.equal(ioThreads(), 2);
    await worker.terminate();
    assert.equal(ioThreads(), 0, 'I/O threads survived the worker');
    // The worker's own thread may take a moment to be reaped after terminate() resolves.
    for (let i = 0; i < 100 && taskCount() > tasks; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(taskCount(), tasks);
  });
});

// Threaded with the RX hand-off (the default), threaded without it, synchronous.
for (const [threads, rxHandoff] of [[true, true], [true, false], [false, false]] as const) {
  const mode = threads ? `threaded mode (rxHandoff ${rxHandoff})` : 'synchronous mode';
  describe(`TapLink ${mode} with Linux in a namespace`, { skip: missing ?? false }, () => {
    let ns: Netns | null = null;
    let link: TapLink | null = null;
    let stack: Stack | null = null;

    before(() => {
      assert.ok(haveCommand('socat'), 'socat is not installed (apt-get install socat)');
      ns = Netns.create();
      link = TapLink.open('', { threads, rxHandoff, busyPollUs: 100 });
      link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
      stack = new Stack();
      stack.addInterface(link, { address: `${STACK_IP}/24` });
      stack.start();
    });

    after(() => {
      teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove());
    });

    it('answers 200 pings from Linux with no loss', { timeout: 30_000 }, async () => {
      assert.ok(ns !== null && link !== null);
      assert.equal(link.threaded, threads);
      const r = await ns.run('ping', ['-c', '200', '-i', '0.002', '-W', '1', STACK_IP], { timeoutMs: 25_000 });
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      assert.ok(m !== null, `no ping summary: ${r.stdout} ${r.stderr}`);
      assert.equal(Number(m[2]), 200, r.stdout);
      // Each reply is a lone frame after a poll: written on the JS thread (threaded mode).
      if (threads) assert.ok((link.threadCounters()?.txDirect ?? 0) >= 100, JSON.stringify(link.threadCounters()));
      // Pings 2 ms apart leave the device quiet for over 1 ms: the RX thread
      // hands it to the JS thread, which then reads the requests itself.
      const c = link.threadCounters();
      if (threads && rxHandoff) {
        assert.ok(c !== null && c.rxHandoffs >= 1 && c.rxDirect >= 100, JSON.stringify(c));
      } else if (threads) {
        assert.ok(c !== null && c.rxHandoffs === 0 && c.rxDirect === 0, JSON.stringify(c));
      }
    });

    it('pings Linux: with the device quiet, the busy-poll before blocking catches each reply', { timeout: 30_000 }, async () => {
      assert.ok(stack !== null && link !== null);
      const before = link.threadCounters();
      for (let i = 0; i < 20; i++) {
        // Quiet for over 1 ms first, so the RX thread has handed the device to JS.
        await new Promise((r) => setTimeout(r, 5));
        await stack.ping(LINUX_IP, { timeoutMs: 2000 });
      }
      const c = link.threadCounters();
      if (threads && rxHandoff && before !== null && c !== null) {
        // Linux answers an echo within our write() of the request (the kernel's receive path runs in it),
        // so the reply is waiting before the loop would block: nearly every request is a hit.
        assert.ok(c.spinHits - before.spinHits >= 10, JSON.stringify(c));
      } else if (threads) {
        // The RX thread reads the device: it wakes JS itself, no busy-poll.
        assert.ok(c !== null && c.spinHits === 0 && c.spinMisses === 0, JSON.stringify(c));
      }
    });

    it('carries 32 MiB each way at once through an echo server, byte-exact', { timeout: 60_000 }, async () => {
      assert.ok(ns !== null && stack !== null && link !== null);
      const server = stack.net.createServer({ allowHalfOpen: true }, (s) => {
        s.on('error', () => { /* reported by the client */ });
        s.pipe(s);
      });
      await new Promise<void>((resolve) => server.listen(7, STACK_IP, () => resolve()));
      try {
        const data = randomBytes(BULK_BYTES);
        const want = createHash('sha256').update(data).digest('hex');
        // socat sends stdin and writes what comes back to stdout; -t waits for the echo after EOF.
        const child = ns.spawn('socat', ['-b131072', '-t', '30', '-T', '30', '-', `TCP:${STACK_IP}:7`]);
        const h = createHash('sha256');
        let n = 0;
        child.stdout?.on('data', (d: Buffer) => { h.update(d); n += d.length; });
        const code = new Promise<number | null>((resolve) => child.once('close', resolve));
        child.stdin?.end(data);
        assert.equal(await code, 0);
        assert.equal(n, BULK_BYTES);
        assert.equal(h.digest('hex'), want);
        assert.equal(link.txErrors, 0);
        // Bulk arriving while JS held the quiet device: a full batch waiting
        // sends it back to the RX thread (byte-exact above: order held across).
        const c = link.threadCounters();
        if (threads && rxHandoff) assert.ok(c !== null && c.rxHandbacks >= 1, JSON.stringify(c));
      } finally {
        server.close();
      }
    });
  });
}
