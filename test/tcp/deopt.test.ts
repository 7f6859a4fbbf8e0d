/**
 * V8 keeps the engine's optimized code along the chatty path (issue #10).
 * A deoptimization throws a compiled function away; it runs unoptimized
 * until V8 has counted enough runs to compile it again, and that compile
 * takes CPU from the 2 cores the JS thread shares. The usual cause is code
 * first reached after the function was optimized (a close's branch, a timer
 * first due, an ARP reply's call site): it has no type feedback, and V8
 * deoptimizes when it gets there.
 *
 * test/helpers/chatty-sim.ts runs 15 connections of 200 corked exchanges in
 * virtual time in a child process under --trace-deopt, with compiles on the
 * main thread (--no-concurrent-recompilation), so the run is the same each
 * time. The diagnostic V8 flags are the child's; the library sets none.
 *
 * Node 24 and later also run Maglev (V8's mid tier; Node 22 ships it off),
 * which compiles a function after a few hundred calls, before every branch
 * has type feedback, and expects to bail out when one is first reached
 * ("Insufficient type feedback"), to compile again soon with it. Those
 * soft bailouts of Maglev code are its normal way of gathering feedback and
 * are allowed, a few per function; any other reason, or TurboFan code thrown
 * away, is held to the rule above.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../helpers/chatty-sim.js', import.meta.url));

/**
 * Deoptimizations known and left alone, as "function file", each a branch
 * first taken once, at a rare event, after the function holding it was
 * optimized (when that is depends on how many polls ran before, so each
 * comes and goes with unrelated changes):
 * - Stack.poll / scanLayers (src/engine/stack.ts): ARP's and ND's polls
 *   and deadlines, first due when their first timer comes;
 * - Simulation.settle (src/engine/simulation.ts), this virtual-time run's
 *   loop: it inlines Stack.poll and scanLayers, so theirs show as its;
 * - Tcp.poll (src/engine/tcp/index.ts): it inlines the passive opener's
 *   poll, whose SYN-ACK retransmission scan first runs when the request
 *   queue's earliest timer first comes due.
 */
const KNOWN = new Set(['poll src/engine/stack.js', 'scanLayers src/engine/stack.js', 'settle src/engine/simulation.js',
  'poll src/engine/tcp/index.js']);

interface Deopt {
  fn: string;
  file: string;
  reason: string;
  /** The tier whose code was thrown away: TURBOFAN, MAGLEV (Node 24+), or '' when the trace does not say. */
  tier: string;
}

/** Maglev's soft bailouts allowed per function (see above): seen at most 2 on Node 24 and 26 (Stack.poll). */
const MAGLEV_SOFT_PER_FUNCTION = 2;

test('chatty exchanges over 15 connections in virtual time: no function of src/ deoptimizes', () => {
  const r = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', '--trace-file-names', '--no-concurrent-recompilation',
    SCRIPT, '15', '200'], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `child failed (${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-500)}`);
  const lines = r.stdout.split('\n');
  const report = JSON.parse(lines.filter((l) => l.startsWith('{')).pop() ?? '{}') as { exchanges?: number; arpReplies?: number };
  assert.equal(report.exchanges, 3000);
  // ARP entries were refreshed during the run (the ARP reply's path ran after the start too).
  assert.ok((report.arpReplies ?? 0) >= 2, `ARP replies: ${report.arpReplies}`);
  // Not vacuous: the trace names our files (the format this test parses), and V8 did optimize the engine.
  const ours = (l: string): boolean => l.includes('/dist/src/');
  const compiled = lines.filter((l) => l.startsWith('[completed compiling') && ours(l)).length;
  assert.ok(compiled >= 20, `only ${compiled} functions of src/ were optimized: the trace format may have changed`);
  const deopts: Deopt[] = [];
  for (const l of lines) {
    if (!l.startsWith('[bailout') || !ours(l)) continue;
    const m = /reason: ([^)]*)\).*<JSFunction (\S+) <[^>]*\/dist\/(src\/[^>]+)>/.exec(l);
    if (m !== null) deopts.push({ fn: m[2], file: m[3], reason: m[1], tier: /<Code (\w+)>/.exec(l)?.[1] ?? '' });
  }
  const soft = new Map<string, number>();
  const unexpected = deopts.filter((d) => {
    const key = `${d.fn} ${d.file}`;
    if (d.tier === 'MAGLEV' && d.reason.startsWith('Insufficient type feedback')) {
      soft.set(key, (soft.get(key) ?? 0) + 1);
      return (soft.get(key) ?? 0) > MAGLEV_SOFT_PER_FUNCTION;
    }
    return !KNOWN.has(key);
  });
  assert.deepEqual(unexpected, [], `deoptimized: ${unexpected.map((d) => `${d.fn} (${d.file}, ${d.tier || 'tier not shown'}): ${d.reason}`).join('; ')}`);
});
