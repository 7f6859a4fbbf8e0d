/**
 * `wirestack tap` under a SYN flood and under 1,000 idle connections, against
 * Linux in a network namespace this test creates (and always removes). The
 * TAP device is in the namespace: Linux owns 10.79.0.1/24, the CLI's stack
 * 10.79.0.2/24 with Linux as its gateway.
 *
 * - The flood comes from spoofed sources in 198.18.0.0/15 (RFC 2544's
 *   benchmarking range): a raw-socket sender in the namespace (frames built
 *   by scapy) writes them onto the TAP. The stack's SYN-ACKs for them go to
 *   its gateway, Linux in the namespace, which does not forward (ip_forward
 *   0 there, checked) and drops them: nothing answers, nothing leaves the
 *   namespace (its only interfaces are lo and the TAP). curl must still get
 *   its answers, each within a bound, and the stack's counters must show
 *   SYN cookies sent and accepted.
 * - 1,000 connections that open and send nothing are held by a Node child
 *   while curl and TCP echo are still served; then the HTTP headers timeout
 *   closes every one of them within its bound, and the CLI reports that in a
 *   few lines (per cause), not one per socket.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { CliChild, type Event } from '../helpers/wirestack-up.js';

const LINUX_IP = '10.79.0.1';
const STACK_IP = '10.79.0.2';
const HTTP_PORT = 8080;
const HEADERS_TIMEOUT_S = 12;
const IDLE = 1000;
const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/interop -> repo root
const FLOOD = join(REPO, 'test/helpers/syn-flood.py');
const PYTHON = '/usr/bin/python3';

const missing = missingCapability();
if (missing !== null) console.error(`tap-flood.test: SKIPPING the TAP flood tests: ${missing}`);

// Runs in the namespace: opens IDLE connections (100 at a time), sends nothing, prints
// {"held": n} once all are up, then for each connection how long after its open it was
// closed, as {"closed": n, "minMs": .., "maxMs": ..} once all are closed (or the limit passes).
const IDLE_CLIENT = `
const net = require('node:net');
const N = Number(process.argv[1]), LIMIT = Number(process.argv[2]);
setTimeout(() => { console.log(JSON.stringify({ closed: done.length, timeout: true })); process.exit(3); }, LIMIT).unref();
const done = [];
function open() {
  return new Promise((resolve, reject) => {
    const s = net.connect(${HTTP_PORT}, '${STACK_IP}');
    let t0 = 0;
    s.once('connect', () => { t0 = performance.now(); resolve(); });
    s.on('error', (e) => { if (t0 === 0) reject(e); });
    s.on('data', () => undefined);
    s.once('close', () => {
      done.push(performance.now() - t0);
      if (done.length === N) {
        console.log(JSON.stringify({ closed: N, minMs: Math.min(...done), maxMs: Math.max(...done) }));
        process.exit(0);
      }
    });
  });
}
(async () => {
  for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: Math.min(100, N - i) }, open));
  console.log(JSON.stringify({ held: N }));
  // Progress, for a failure's message: how many had closed, every 2 s.
  setInterval(() => console.log(JSON.stringify({ closedSoFar: done.length })), 2000).unref();
})().catch((e) => { console.log(JSON.stringify({ error: String(e), closed: done.length })); process.exit(2); });
`;

// Runs in the namespace: one echo exchange on port 7.
const ECHO_CLIENT = `
const net = require('node:net');
setTimeout(() => { console.error('echo timeout'); process.exit(3); }, 10000).unref();
const msg = 'still here\\n'; let got = '';
const s = net.connect(7, '${STACK_IP}', () => s.write(msg));
s.setEncoding('utf8');
s.on('data', (d) => { got += d; if (got.length >= msg.length) s.end(); });
s.on('close', () => { console.log(got === msg ? 'ok' : 'bad ' + JSON.stringify(got)); });
s.on('error', (e) => { console.error(String(e)); process.exit(2); });
`;

describe('wirestack tap under a SYN flood and 1,000 idle connections (Linux in a namespace)', { skip: missing ?? false, timeout: 180_000 }, () => {
  let ns: Netns | null = null;
  let tap: CliChild | null = null;
  let dev = '';
  let stackMac = '';
  let events: Event[] = [];

  function waitEvent(pred: (e: Event) => boolean, timeoutMs: number, what: string): Promise<Event> {
    assert.ok(tap !== null);
    return tap.wait(pred, timeoutMs, what);
  }

  /** The latest 'stats' line printed after `since` events. */
  async function freshStats(since: number): Promise<Event> {
    await waitEvent((e) => e.event === 'stats' && events.indexOf(e) >= since, 5000, 'a stats line');
    return events.filter((e) => e.event === 'stats').pop() as Event;
  }

  /** curl the HTTP service; resolves with its status, time and exit code. */
  async function curl(maxSeconds: number): Promise<{ code: number | null; status: string; seconds: number; stderr: string }> {
    assert.ok(ns !== null);
    const t0 = performance.now();
    const r = await ns.run('curl', ['-s', '-S', '-m', String(maxSeconds), '-o', '/dev/null', '-w', '%{http_code}', `http://${STACK_IP}:${HTTP_PORT}/`],
      { timeoutMs: (maxSeconds + 2) * 1000 });
    return { code: r.code, status: r.stdout, seconds: (performance.now() - t0) / 1000, stderr: r.stderr };
  }

  before(async () => {
    // The assertions here are timings of the processes this test starts: the CLI's (the headers timeout
    // closes each idle connection 12-13 s after it was handed to the server; curl is answered within 3 s),
    // the idle client's, which measures them, and the flood sender's, which must start within 30 s. At
    // nice 0 other load starves them: at load 16-19 the 1,000 connections took up to 8 s to open (bound 10 s),
    // the CLI accepted them seconds late and the closes came up to 15.8 s after the opens (bound 16 s), and
    // the sender took over 30 s to build its frames (9 of 17 runs). So this process (every thread) runs at nice
    // -15, which everything it starts inherits: timings as on a quiet machine, whatever else runs.
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), -15);
    for (const [cmd, pkg] of [['curl', 'curl'], ['ip', 'iproute2']]) assert.ok(haveCommand(cmd), `${cmd} is not installed: apt-get install ${pkg}`);
    const scapy = await new Promise<number | null>((resolve) => {
      const c = spawn(PYTHON, ['-c', 'import scapy.all'], { stdio: 'ignore' });
      c.once('error', () => resolve(null));
      c.once('exit', (code) => resolve(code));
    });
    assert.equal(scapy, 0, `scapy is not importable by ${PYTHON}: apt-get install python3-scapy`);
    ns = Netns.create();
    dev = `wstf${process.pid % 1_000_000}`;
    tap = CliChild.run('tap', ['--dev', dev, '--address', `${STACK_IP}/24`, '--gateway', LINUX_IP,
      '--netns', ns.name, '--host-address', `${LINUX_IP}/24`, '--echo', '7', '--http', String(HTTP_PORT),
      '--syn-backlog', '128', '--headers-timeout', String(HEADERS_TIMEOUT_S), '--stats-interval', '1']);
    events = tap.events;
    await waitEvent((e) => e.event === 'ready', 20_000, 'the "ready" line');
    stackMac = String(events.find((e) => e.event === 'up')?.mac);
  });

  after(() => {
    tap?.kill();
    ns?.remove();
  });

  it('prints the memory plan at start', () => {
    const m = events.find((e) => e.event === 'memory');
    assert.ok(m !== undefined, 'no "memory" line');
    assert.equal(m.maxConnections, 4096);
    assert.equal(m.synBacklog, 128);
    assert.ok(Number(m.totalBytes) > Number(m.bufferBytes) && Number(m.bufferBytes) > 0, JSON.stringify(m));
  });

  it('serves curl during a spoofed SYN flood whose SYN-ACKs go nowhere, with SYN cookies', { timeout: 60_000 }, async () => {
    assert.ok(ns !== null);
    // Where the stack's SYN-ACKs end: Linux in the namespace, which must not forward them anywhere.
    assert.equal(ns.execSync('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '0');
    const links = ns.execSync('ip', ['-o', 'link', 'show']).split('\n').filter((l) => l.trim() !== '').map((l) => l.split(': ')[1].split('@')[0]);
    assert.deepEqual(links.sort(), ['lo', dev].sort(), 'the namespace has other interfaces: traffic could leave it');
    const before = events.length;
    const flood = ns.spawn(PYTHON, [FLOOD, dev, stackMac, STACK_IP, String(HTTP_PORT), '--rate', '4000', '--seconds', '12']);
    let floodOut = '';
    let floodErr = '';
    flood.stdout?.setEncoding('utf8').on('data', (s: string) => { floodOut += s; });
    flood.stderr?.setEncoding('utf8').on('data', (s: string) => { floodErr += s; });
    const floodDone = new Promise<void>((resolve) => flood.once('close', () => resolve()));
    // The frames are built first; the sender says 'ready' on stderr when it starts sending.
    for (let i = 0; i < 300 && !floodErr.includes('ready') && flood.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(floodErr.includes('ready'), `the flood did not start: ${floodErr}`);
    // Let the request queue fill, then curl while the flood goes on.
    await new Promise((r) => setTimeout(r, 2000));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await curl(5);
      assert.equal(r.code, 0, `curl ${i} failed during the flood after ${r.seconds.toFixed(2)} s: ${r.stderr}`);
      assert.equal(r.status, '200');
      assert.ok(r.seconds < 3, `curl ${i} took ${r.seconds.toFixed(2)} s`);
      times.push(r.seconds);
    }
    const stats = await freshStats(events.length);
    await floodDone;
    const result = JSON.parse(floodOut.trim().split('\n').pop() ?? '{}') as { sent?: number; rate?: number };
    console.error(`tap-flood: flood ${result.sent ?? 0} SYNs at ${result.rate ?? 0}/s; curl times ${times.map((t) => t.toFixed(3)).join(' ')} s; `
      + `cookies sent ${String(stats.syncookiesSent)} (RX thread ${String(stats.tapSynAnswered)}, egress ${String(stats.tapSynEgressAnswered)}), accepted ${String(stats.syncookiesRecv)}, queue overflows ${String(stats.synQueueOverflow)}`);
    assert.ok((result.sent ?? 0) > 20_000, `the flood sent only ${result.sent ?? 0} SYNs`);
    // The request queue (128) overflowed and the excess was answered with cookies, by the stack
    // (and, with --syn-responder, by the TAP RX thread once the stack handed the listener over); curl's
    // own connections came in through cookies too (its SYNs met a full queue).
    assert.ok(Number(stats.syncookiesSent) >= 1, JSON.stringify(stats));
    assert.ok(Number(stats.syncookiesSent) + Number(stats.tapSynAnswered ?? 0) + Number(stats.tapSynEgressAnswered ?? 0) > 1000,
      JSON.stringify(stats));
    // Where eBPF is available (always in CI, which runs as root and installs clang), the flood is answered at the
    // TAP's egress, in the sender's context (src/link/syn-responder-bpf.ts); elsewhere the CLI says why not.
    const egress = events.find((e) => e.event === 'syn-egress');
    assert.ok(egress !== undefined, 'the CLI says whether the eBPF responder was attached');
    if (process.env.CI === 'true' || egress.attached === true) {
      assert.equal(egress.attached, true, JSON.stringify(egress));
      assert.ok(Number(stats.tapSynEgressAnswered) > 1000, JSON.stringify(stats));
    }
    assert.ok(Number(stats.syncookiesRecv) >= 1, JSON.stringify(stats));
    // The RX thread writes the SYN-ACKs of what it read itself (native/syn_responder.c): no queue in between that
    // could overflow and leave SYNs it read unanswered (a writer thread's did, legitimate SYNs among them).
    assert.equal(Number(stats.tapSynQueueFull ?? 0), 0, JSON.stringify(stats));
    assert.ok(events.slice(before).every((e) => e.event !== 'error'), JSON.stringify(events.slice(before).filter((e) => e.event === 'error').slice(0, 3)));
  });

  it('serves HTTP and echo while 1,000 idle connections are held, then closes them after the headers timeout', { timeout: 90_000 }, async () => {
    assert.ok(ns !== null);
    const before = events.length;
    const spawnedAt = performance.now();
    const idle = ns.spawn(process.execPath, ['-e', IDLE_CLIENT, String(IDLE), String((HEADERS_TIMEOUT_S + 40) * 1000)]);
    const lines: Array<Record<string, unknown>> = [];
    let idleErr = '';
    let rest = '';
    idle.stderr?.setEncoding('utf8').on('data', (s: string) => { idleErr += s; });
    const got = (pred: (l: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = (): void => {
          const l = lines.find(pred);
          if (l !== undefined) resolve(l);
          else if (Date.now() - t0 > ms || idle.exitCode !== null) reject(new Error(`${what}: ${JSON.stringify(lines)} ${idleErr}`));
          else setTimeout(tick, 50);
        };
        tick();
      });
    idle.stdout?.setEncoding('utf8').on('data', (s: string) => {
      rest += s;
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    const heldAt = await got((l) => l.held !== undefined, HEADERS_TIMEOUT_S * 1000 - 2000, `${IDLE} idle connections not all open in time`).then(() => performance.now());
    // All held: HTTP and TCP echo still work (the listener's share and the reserve leave room).
    for (let i = 0; i < 3; i++) {
      const r = await curl(5);
      assert.equal(r.code, 0, `curl ${i} failed while ${IDLE} idle connections were held: ${r.stderr}`);
      assert.equal(r.status, '200');
      assert.ok(r.seconds < 3, `curl ${i} took ${r.seconds.toFixed(2)} s`);
    }
    const echo = await ns.run(process.execPath, ['-e', ECHO_CLIENT], { timeoutMs: 12_000 });
    assert.equal(echo.stdout.trim(), 'ok', `echo failed while idle connections were held: ${echo.stderr}`);
    assert.ok(performance.now() - heldAt < HEADERS_TIMEOUT_S * 1000, 'the checks took longer than the timeout: they did not run while all were held');
    // Every idle connection is closed by the headers timeout: not before it, and at most the
    // server's checking interval (1 s) plus scheduling slack after it.
    const checksMs = performance.now() - heldAt;
    // On failure, also what the server said it closed (its 'timeouts' lines) and its last stats line.
    const done = await got((l) => l.closed !== undefined, (HEADERS_TIMEOUT_S + 30) * 1000, 'idle connections not closed').catch((e: Error) => {
      const said = events.slice(before).filter((ev) => ev.event === 'timeouts' || ev.event === 'error');
      throw new Error(`${e.message}; server: ${JSON.stringify(said)}; ${JSON.stringify(events.filter((ev) => ev.event === 'stats').pop() ?? null)}`);
    });
    console.error(`tap-flood: ${IDLE} idle held after ${((heldAt - spawnedAt) / 1000).toFixed(2)} s; checks took ${(checksMs / 1000).toFixed(2)} s; closed ${JSON.stringify(done)}`);
    assert.equal(done.closed, IDLE, JSON.stringify(done));
    assert.ok(Number(done.minMs) >= HEADERS_TIMEOUT_S * 1000 - 500, `closed too early: ${JSON.stringify(done)}`);
    assert.ok(Number(done.maxMs) <= HEADERS_TIMEOUT_S * 1000 + 4000, `closed too late: ${JSON.stringify(done)}`);
    // Reported per cause, aggregated: a few lines with counts adding up, not one per connection.
    await waitEvent(() => events.slice(before).filter((e) => e.event === 'timeouts' && e.cause === 'headers')
      .reduce((n, e) => n + Number(e.count), 0) >= IDLE, 10_000, 'timeout lines counting every idle connection');
    const lines2 = events.slice(before).filter((e) => e.event === 'timeouts');
    assert.ok(lines2.length <= 5, `${lines2.length} timeout lines: ${JSON.stringify(lines2)}`);
    assert.ok(lines2.every((e) => e.service === 'http' && e.cause === 'headers' && e.timeoutSeconds === HEADERS_TIMEOUT_S), JSON.stringify(lines2));
    assert.ok(!events.slice(before).some((e) => e.event === 'error'), 'timeouts were also logged as per-socket errors');
  });

  it('exits 0 on SIGTERM', { timeout: 10_000 }, async () => {
    assert.ok(tap !== null && tap.child.pid !== undefined);
    process.kill(tap.child.pid, 'SIGTERM');
    assert.equal((await tap.exited).code, 0, tap.stderr);
    assert.ok(events.some((e) => e.event === 'down'));
    assert.ok(!events.some((e) => e.event === 'non-json'));
  });
});
