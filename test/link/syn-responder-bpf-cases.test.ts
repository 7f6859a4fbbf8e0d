/**
 * The eBPF SYN responder (native/bpf/syn_responder.bpf.c) on every case of
 * test/helpers/synr-bpf-cases.ts, run with BPF_PROG_TEST_RUN through the
 * addon's loader, against the RX thread's responder (native/syn_responder.c,
 * the addon's synResponderAnswerForTest) on the same configuration, clock and
 * frame: per case, what synrBpfProblems checks (the verdict, the frame byte
 * for byte against the native SYN-ACK or unchanged, the counters: answered
 * +1 exactly for an answer, passed +1 exactly when counted, redirect_failed
 * never, and the native responder's own verdict).
 *
 * Needs root, libbpf.so.1 and the object (clang at build): skipped without
 * them on a developer's machine, never in CI (CI=true installs clang).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tryNativeAddon } from '../../src/link/addon.js';
import { bpfObjectPath } from '../../src/link/syn-responder-bpf.js';
import { SYNR_STATS_SIZE, synrBpfCases, synrBpfConfigFor, synrBpfProblems, synrCfgBytes } from '../helpers/synr-bpf-cases.js';
import { synrBpfCases6 } from '../helpers/synr-bpf-cases6.js';

const addon = tryNativeAddon();

function loadOrReason(): [number, number, number] | string {
  if (addon instanceof Error) return addon.message;
  if (addon.bpfSynrLoadForTest === undefined || addon.synResponderAnswerForTest === undefined) return 'the addon has no eBPF loader';
  if (process.getuid?.() !== 0) return 'needs root (bpf(2))';
  let obj: Uint8Array;
  try {
    obj = readFileSync(bpfObjectPath());
  } catch {
    return `${bpfObjectPath()} is not built (clang)`;
  }
  const r = addon.bpfSynrLoadForTest(obj);
  return 'error' in r ? r.error : r.fds;
}
const loaded = loadOrReason();
const missing = typeof loaded === 'string' && process.env.CI !== 'true' ? loaded : false;

test('the eBPF responder on every case: verdict, frame byte for byte against the native responder, counters', { skip: missing }, () => {
  if (typeof loaded === 'string') assert.fail(`the eBPF responder does not load: ${loaded}`);
  const a = addon as Exclude<typeof addon, Error>;
  const [cfgFd, statsFd, progFd] = loaded;
  const statsBytes = new Uint8Array(SYNR_STATS_SIZE);
  const stats = (): bigint[] => {
    assert.equal(a.bpfMapRead!(statsFd, statsBytes), 0);
    const d = new DataView(statsBytes.buffer);
    return [d.getBigUint64(0, true), d.getBigUint64(8, true), d.getBigUint64(16, true)]; // answered, redirect_failed, passed
  };
  const out = new Uint8Array(256);
  const failures: string[] = [];
  let n = 0;
  let n6 = 0;
  try {
    for (const c of [...synrBpfCases(), ...synrBpfCases6()]) {
      n++;
      if (c.engine !== undefined || c.frame[12] === 0x86) n6++;
      const cfg = synrBpfConfigFor(c, process.hrtime.bigint());
      assert.equal(a.bpfMapWrite!(cfgFd, synrCfgBytes(cfg)), 0);
      const s0 = stats();
      const t0 = process.hrtime.bigint();
      const r = a.bpfTestRun!(progFd, c.frame, out);
      const t1 = process.hrtime.bigint();
      if (typeof r === 'number') {
        failures.push(`${c.name}: BPF_PROG_TEST_RUN errno ${-r}`);
        continue;
      }
      const s1 = stats();
      const problems = synrBpfProblems(c, cfg, {
        retval: r[0], frame: out.slice(0, r[1]), answered: s1[0] - s0[0], redirectFailed: s1[1] - s0[1], passed: s1[2] - s0[2], t0, t1,
      }, a.synResponderAnswerForTest!);
      if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')}`);
    }
  } finally {
    for (const fd of loaded) a.bpfClose!(fd);
  }
  assert.ok(n > 150, `${n} cases`);
  assert.ok(n6 > 100, `${n6} IPv6 cases`);
  assert.deepEqual(failures, [], `${failures.length} of ${n} cases failed`);
});
