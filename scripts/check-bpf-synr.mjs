#!/usr/bin/env node
/**
 * Runs the eBPF SYN responder (dist/src/bpf/syn_responder.bpf.o) on every case
 * of test/helpers/synr-bpf-cases.ts with BPF_PROG_TEST_RUN, through bpftool,
 * and compares it with the RX thread's responder (native/syn_responder.c via
 * the addon's synResponderAnswerForTest) on the same configuration, clock and
 * frame. A developer's check until the addon's own loader and test-run entry
 * exist (then a node:test runs the same cases); not run by `npm test`.
 *
 * Needs: root, bpftool (`apt-get install bpftool`), unshare, `npm run build`
 * and the addon built. It runs itself in a private mount namespace with its
 * own bpffs, so the pinned program and maps vanish with it.
 *
 * Per case it checks what synrBpfProblems (test/helpers/synr-bpf-cases.ts)
 * checks: the verdict (TC_ACT_REDIRECT 7 for 'answer', SYNR_NEXT -1 for
 * 'pass'); an answer equals the native responder's SYN-ACK byte for byte
 * (Ethernet, IP, TCP, options, checksums, length), a passed frame is
 * unchanged; answered +1 exactly for an answer, passed +1 exactly when the
 * case is `counted`, redirect_failed never; and the native responder's own
 * verdict (pure_syn() gating answer()) is the case's `native`, else `expect`.
 * Exit status 0 when every case passes. Prints `N passed, N failed` last.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const obj = process.env.SYNR_BPF_OBJ ?? join(root, 'dist', 'src', 'bpf', 'syn_responder.bpf.o');

if (process.env.SYNR_BPF_INNER !== '1') {
  if (!existsSync(obj)) {
    console.error(`check-bpf-synr: ${obj} is missing (npm run build with clang on PATH)`);
    process.exit(2);
  }
  const r = spawnSync('unshare', ['-m', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, SYNR_BPF_INNER: '1' },
  });
  process.exit(r.status ?? 1);
}

const { synrBpfCases, synrCfgBytes, synrBpfConfigFor, synrBpfProblems } =
  await import(join(root, 'dist', 'test', 'helpers', 'synr-bpf-cases.js'));
const { tryNativeAddon } = await import(join(root, 'dist', 'src', 'link', 'addon.js'));
const addon = tryNativeAddon();
if (addon instanceof Error || addon.synResponderAnswerForTest === undefined) {
  console.error(`check-bpf-synr: the addon (synResponderAnswerForTest) is not built: ${addon}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'synr-bpf-'));
const fs = join(dir, 'fs');
const prog = join(fs, 'prog');
const maps = join(fs, 'maps');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error ?? ''}${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}
const hexArgs = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0'));

function stats() {
  const j = JSON.parse(run('bpftool', ['-j', 'map', 'lookup', 'pinned', join(maps, 'synr_stats'), 'key', '0', '0', '0', '0']));
  const f = j.formatted?.value;
  if (f !== undefined) return { answered: BigInt(f.answered), redirectFailed: BigInt(f.redirect_failed), passed: BigInt(f.passed) };
  const b = Uint8Array.from(j.value.map((x) => Number.parseInt(x, 16)));
  const d = new BigUint64Array(b.buffer);
  return { answered: d[0], redirectFailed: d[1], passed: d[2] };
}

const monoNs = () => process.hrtime.bigint();

let passed = 0;
let failed = 0;
try {
  run('mkdir', ['-p', fs]);
  run('mount', ['-t', 'bpf', 'bpf', fs]);
  run('bpftool', ['prog', 'load', obj, prog, 'type', 'classifier', 'pinmaps', maps]);
  const info = JSON.parse(run('bpftool', ['-j', 'prog', 'show', 'pinned', prog]));
  console.log(`loaded ${obj}: ${info.bytes_xlated / 8} instructions (xlated), ${info.bytes_jited} B jited` +
    (info.verified_insns !== undefined ? `, ${info.verified_insns} verified` : ''));

  for (const c of synrBpfCases()) {
    const cfg = synrBpfConfigFor(c, monoNs());
    run('bpftool', ['map', 'update', 'pinned', join(maps, 'synr_cfg'), 'key', '0', '0', '0', '0', 'value', 'hex', ...hexArgs(synrCfgBytes(cfg))]);
    const s0 = stats();
    const fin = join(dir, 'in.bin');
    const fout = join(dir, 'out.bin');
    writeFileSync(fin, c.frame);
    rmSync(fout, { force: true });
    const t0 = monoNs();
    const outText = run('bpftool', ['prog', 'run', 'pinned', prog, 'data_in', fin, 'data_out', fout, 'data_size_out', '256']);
    const t1 = monoNs();
    const s1 = stats();
    const m = /Return value: (\d+)/.exec(outText);
    const out = existsSync(fout) ? new Uint8Array(readFileSync(fout)) : new Uint8Array(0);
    const problems = synrBpfProblems(c, cfg, {
      retval: m === null ? NaN : Number(m[1]) | 0, frame: out, t0, t1,
      answered: s1.answered - s0.answered, passed: s1.passed - s0.passed, redirectFailed: s1.redirectFailed - s0.redirectFailed,
    }, (words, nowMs, frame) => addon.synResponderAnswerForTest(words, nowMs, frame));

    const what = `${c.expect}${c.counted ? ' (counted)' : ''}${c.native !== undefined ? `, native ${c.native}` : ''}`;
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${c.name}: ${what}${c.expect === 'answer' ? `, ${out.length} B equal` : ''}`);
    } else {
      failed++;
      console.log(`FAIL ${c.name}: ${what}\n    ${problems.join('\n    ').replaceAll('\n  ', '\n      ')}`);
    }
  }
} finally {
  spawnSync('umount', [fs]);
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
