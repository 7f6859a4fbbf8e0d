/**
 * The eBPF SYN responder (native/bpf/syn_responder.bpf.c) on every case of
 * test/helpers/synr-bpf-cases.ts, run with BPF_PROG_TEST_RUN through the
 * addon's loader, against the RX thread's responder (native/syn_responder.c,
 * the addon's synResponderAnswerForTest) on the same configuration, clock and
 * frame. Per case:
 *   - the verdict: TC_ACT_REDIRECT (7) for 'answer', SYNR_NEXT (-1) for 'pass';
 *   - 'answer': the output frame equals the native responder's SYN-ACK byte
 *     for byte (Ethernet, IP, TCP, options, checksums);
 *   - 'pass': the frame comes back unchanged;
 *   - the counters: answered + 1 exactly for an answer, passed + 1 exactly
 *     when the case is `counted`, redirect_failed never;
 *   - the native responder's own verdict is the case's `native`, else its `expect`.
 *
 * Needs root, libbpf.so.1 and the object (clang at build): skipped without
 * them on a developer's machine, never in CI (CI=true installs clang).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tryNativeAddon } from '../../src/link/addon.js';
import { bpfObjectPath } from '../../src/link/syn-responder-bpf.js';
import {
  SYNR_NEXT, SYNR_STATS_SIZE, TC_ACT_REDIRECT, nativePureSyn, synrBpfCases, synrCfgBytes, synrNativeNowMs, synrNativeWords,
} from '../helpers/synr-bpf-cases.js';

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
  try {
    for (const c of synrBpfCases()) {
      n++;
      const cfg = { ...c.cfg, entries: c.cfg.entries.map((e) => ({ ...e })) };
      const mono = (): bigint => process.hrtime.bigint();
      if (c.clock !== undefined) cfg.entries[0].untilNs = BigInt.asUintN(64, mono() + cfg.clockOffNs + c.clock.untilAfterNs);
      assert.equal(a.bpfMapWrite!(cfgFd, synrCfgBytes(cfg)), 0);
      const s0 = stats();
      const t0 = mono();
      const r = a.bpfTestRun!(progFd, c.frame, out);
      const t1 = mono();
      if (typeof r === 'number') {
        failures.push(`${c.name}: BPF_PROG_TEST_RUN errno ${-r}`);
        continue;
      }
      const [ret, len] = r;
      const got = out.subarray(0, len);
      const s1 = stats();
      const words = synrNativeWords(cfg);
      const nf = c.nativeFrame ?? c.frame;
      const native = (ms: number): Uint8Array | null => (nativePureSyn(nf) ? a.synResponderAnswerForTest!(words, ms, nf) : null);
      let nat: Uint8Array | null = null;
      if (c.clock === undefined) {
        nat = native(synrNativeNowMs(cfg));
      } else {
        // The program read the clock between t0 and t1: any whole ms in between.
        const lo = (t0 + cfg.clockOffNs) / 1_000_000n;
        const hi = (t1 + cfg.clockOffNs) / 1_000_000n;
        for (let ms = lo; ms <= hi && nat === null; ms++) {
          const x = native(Number(ms));
          if (x !== null && (c.expect !== 'answer' || Buffer.compare(x, got) === 0)) nat = x;
        }
        if (nat === null && c.expect === 'answer') nat = native(Number(lo));
      }
      const problems: string[] = [];
      // The native verdict for the case's own frame (nativeFrame is only the reference for the answer's bytes).
      const nativeVerdict = c.nativeFrame !== undefined
        ? (nativePureSyn(c.frame) && a.synResponderAnswerForTest!(words, synrNativeNowMs(cfg), c.frame) !== null ? 'answer' : 'pass')
        : nat === null ? 'pass' : 'answer';
      if (nativeVerdict !== (c.native ?? c.expect)) problems.push(`native responder: ${nativeVerdict}, expected ${c.native ?? c.expect}`);
      if (c.expect === 'answer') {
        if (ret !== TC_ACT_REDIRECT) problems.push(`return ${ret}, expected ${TC_ACT_REDIRECT}`);
        if (nat === null || Buffer.compare(got, nat) !== 0) {
          problems.push(`frame differs: bpf ${Buffer.from(got).toString('hex')} native ${nat === null ? 'null' : Buffer.from(nat).toString('hex')}`);
        }
      } else {
        if (ret !== SYNR_NEXT) problems.push(`return ${ret}, expected ${SYNR_NEXT}`);
        if (Buffer.compare(got, c.frame) !== 0) problems.push('frame changed');
      }
      if (s1[0] - s0[0] !== (c.expect === 'answer' ? 1n : 0n)) problems.push(`answered +${s1[0] - s0[0]}`);
      if (s1[2] - s0[2] !== (c.counted ? 1n : 0n)) problems.push(`passed +${s1[2] - s0[2]}, expected +${c.counted ? 1 : 0}`);
      if (s1[1] !== s0[1]) problems.push(`redirect_failed +${s1[1] - s0[1]}`);
      if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')}`);
    }
  } finally {
    for (const fd of loaded) a.bpfClose!(fd);
  }
  assert.ok(n > 150, `${n} cases`);
  assert.deepEqual(failures, [], `${failures.length} of ${n} cases failed`);
});
