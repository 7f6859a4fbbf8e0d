/** Capacity and timeout flags of `wirestack tap` and `up`: parsing, errors, the config they make and the plan they cost. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/index.js';
import { tapOptions, TAP_CAPACITY } from '../../src/cli/tap.js';
import { upOptions, UP_CAPACITY } from '../../src/cli/up.js';
import { UsageError } from '../../src/cli/args.js';
import { capacityConfig, describePlan, EXTRA_SOCKETS, MAX_CONNECTIONS, planGroups } from '../../src/cli/capacity.js';

const quiet = (): void => undefined;
const tap = (...extra: string[]) => tapOptions(['--dev', 'wst0', '--address', '10.83.3.2/24', ...extra], quiet, quiet);

test('tap: capacity and timeout defaults, and flags that change them', () => {
  const d = tap();
  assert.deepEqual(d.capacity, TAP_CAPACITY);
  assert.ok(d.capacity.maxConnections >= 4096);
  assert.equal(d.headersTimeoutMs, 60_000);
  assert.equal(d.requestTimeoutMs, 300_000);
  assert.equal(d.keepAliveTimeoutMs, 5000);
  assert.equal(d.idleTimeoutMs, 300_000);
  assert.equal(d.statsIntervalMs, 0);
  const o = tap('--max-connections', '2000', '--tcp-buffers=100', '--tcp-buffer-size', '32k', '--syn-backlog', '64',
    '--headers-timeout', '2.5', '--request-timeout', '10', '--keep-alive-timeout', '0', '--idle-timeout', '0', '--stats-interval', '1');
  assert.deepEqual(o.capacity, { maxConnections: 2000, tcpBuffers: 100, tcpBufferBytes: 32 * 1024, synBacklog: 64 });
  assert.deepEqual([o.headersTimeoutMs, o.requestTimeoutMs, o.keepAliveTimeoutMs, o.idleTimeoutMs, o.statsIntervalMs], [2500, 10_000, 0, 0, 1000]);
  // Fewer connections than the default buffer pairs: the pairs follow.
  assert.equal(tap('--max-connections', '100').capacity.tcpBuffers, 100);
  assert.equal(tap('--tcp-buffer-size', '1m').capacity.tcpBufferBytes, 1 << 20);
});

test('tap/up: bad capacity and timeout values are one clear UsageError each', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--max-connections', '0'], /--max-connections must be an integer in 1\.\.\d+, got '0'/],
    [['--max-connections', String(MAX_CONNECTIONS + 1)], /--max-connections must be an integer/],
    [['--max-connections', '12.5'], /--max-connections must be an integer/],
    [['--max-connections', 'lots'], /got 'lots'/],
    [['--max-connections', '100', '--tcp-buffers', '101'], /--tcp-buffers must be an integer in 1\.\.100/],
    [['--tcp-buffer-size', '1k'], /--tcp-buffer-size must be a size in 2 KiB\.\.64 MiB/],
    [['--tcp-buffer-size', '64g'], /--tcp-buffer-size must be a size/],
    [['--syn-backlog', '-1'], /--syn-backlog must be an integer/],
    [['--headers-timeout', '0'], /--headers-timeout must be a number of seconds in 0\.1\.\.86400/],
    [['--keep-alive-timeout', '5s'], /--keep-alive-timeout must be a number of seconds/],
    [['--headers-timeout', '20', '--request-timeout', '10'], /--request-timeout must be 0 \(none\) or at least --headers-timeout/],
    [['--idle-timeout'], /--idle-timeout needs a value/],
  ];
  for (const [args, re] of bad) assert.throws(() => tap(...args), (e: unknown) => e instanceof UsageError && re.test(e.message), args.join(' '));
  assert.deepEqual(upOptions(['x.conf'], quiet, quiet).capacity, UP_CAPACITY);
  assert.equal(upOptions(['x.conf', '--max-connections', '9000'], quiet, quiet).capacity.maxConnections, 9000);
  assert.throws(() => upOptions(['x.conf', '--tcp-buffers', 'x'], quiet, quiet), /--tcp-buffers must be an integer/);
});

test('the capacities make a stack whose memory plan the start line describes', () => {
  const cap = { maxConnections: 1000, tcpBuffers: 50, tcpBufferBytes: 16 * 1024, synBacklog: 128 };
  const cfg = capacityConfig(cap);
  assert.equal(cfg.maxSockets, 1000 + EXTRA_SOCKETS);
  assert.equal(cfg.tcpSendBufferBytes, 16 * 1024);
  const s = new Stack(cfg);
  const g = planGroups(s.memory);
  assert.equal(g.connections + g.buffers + g.requests + g.other, s.memory.totalBytes);
  assert.equal(g.buffers, 50 * 2 * 16 * 1024);
  const line = describePlan(s.memory, cap);
  assert.equal(line.fields.totalBytes, s.memory.totalBytes);
  assert.equal(line.fields.maxConnections, 1000);
  assert.match(line.text, /^memory: [\d.]+ MiB planned: 1000 TCP connections \(control blocks [\d.]+ [KM]iB\), 50 buffer pairs of 2 x 16 KiB \(1\.56 MiB\), 128 SYN requests/);
  // The default capacities plan less than 256 MiB (buffers are a pool, not one pair per connection).
  assert.ok(Stack.planMemory(capacityConfig(TAP_CAPACITY)).totalBytes < 256 * 2 ** 20);
  assert.ok(Stack.planMemory(capacityConfig(UP_CAPACITY)).totalBytes < 64 * 2 ** 20);
});
