#!/usr/bin/env node
/**
 * Live check of the eBPF SYN responder at a real TAP device's tcx egress
 * (kernel >= 6.6; SYNR_ATTACH=clsact: a legacy clsact egress filter), in a network namespace it creates and removes: runs
 * scripts/live-bpf-synr.py there (what it does is described in that file) and
 * checks its findings, the SYN-ACK byte for byte against the native
 * responder's for the same SYN at the engine time the program read (any whole
 * ms between the clock reads around the send). A developer's check like
 * check-bpf-synr.mjs (root, bpftool, `npm run build` with clang, the addon).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const obj = process.env.SYNR_BPF_OBJ ?? join(root, 'dist', 'src', 'bpf', 'syn_responder.bpf.o');
const { synFrame, synrNativeWords, STACK_MAC } = await import(join(root, 'dist', 'test', 'helpers', 'synr-bpf-cases.js'));
const { tryNativeAddon } = await import(join(root, 'dist', 'src', 'link', 'addon.js'));
const addon = tryNativeAddon();
if (addon instanceof Error || addon.synResponderAnswerForTest === undefined) {
  console.error(`live-bpf-synr: the addon (synResponderAnswerForTest) is not built: ${addon}`);
  process.exit(2);
}

const ns = `synr-live-${process.pid}`;
const LINUX_OPTS = [2, 4, 5, 180, 4, 2, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 1, 3, 3, 7];
const template = synFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, isn: 0x12345678, options: LINUX_OPTS });
let result;
const sh = (args) => spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
try {
  const add = sh(['ip', 'netns', 'add', ns]);
  if (add.status !== 0) throw new Error(`ip netns add: ${add.stderr}`);
  const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', join(root, 'scripts', 'live-bpf-synr.py'), obj,
    Buffer.from(template).toString('hex')], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`live-bpf-synr.py: ${r.error ?? ''}${r.stderr}`);
  result = JSON.parse(r.stdout.trim().split('\n').pop());
} finally {
  sh(['ip', 'netns', 'del', ns]);
}

// The native responder's answer for the frame as sent, under the same configuration (live-bpf-synr.py's).
const frame = Uint8Array.from(Buffer.from(result.frame, 'hex'));
const cfg = {
  version: 1, on: 1, ttl: 64, opts: 7,
  key: [0x01234567, 0x89abcdef, 0xfedcba98 | 0, 0x76543210], secret: [0x0badf00d, 0x31415926, 0x27182818, 0xdeadbeef | 0],
  entries: [{ addr: '10.0.0.2', port: 80, mss: 1460, window: 64240, wscale: 7, untilNs: (BigInt(result.t1) + 60_000_000_000n) }],
  clockOffNs: 0n, fixedNs: 0n,
};
const words = synrNativeWords(cfg);
const candidates = [];
for (let ms = BigInt(result.t0) / 1_000_000n; ms <= BigInt(result.t1) / 1_000_000n; ms++) {
  const a = addon.synResponderAnswerForTest(words, Number(ms), frame);
  if (a !== null) candidates.push(Buffer.from(a).toString('hex'));
}
const checks = [
  [`attached at ${process.env.SYNR_ATTACH === 'clsact' ? 'a clsact egress filter' : 'tcx egress'}`,
    result.attached === (process.env.SYNR_ATTACH === 'clsact' ? 'clsact' : 'tcx')],
  ['answered counter +1', result.answered === 1],
  ['one SYN-ACK came in on synr0', result.synack_in.length === 1],
  ['it equals the native responder\'s SYN-ACK byte for byte', result.synack_in.length === 1 && candidates.includes(result.synack_in[0])],
  ['it is addressed to synr0 (Ethernet destination)', result.synack_in.length === 1 && result.synack_in[0].slice(0, 12) === result.frame.slice(12, 24)],
  ['the answered SYN never reached the TAP reader', result.syn_at_tap === 0],
  ['the namespace\'s TCP answered the SYN-ACK with a RST (seq = ISN + 1), read at the TAP',
    result.rst_at_tap.some((t) => t[2] === 40000 && t[3] === 80 && t[5] === 0x12345679)],
  ['a kernel socket\'s SYN (partial checksum) reached the TAP reader', result.kernel_syn_at_tap >= 1],
  ['... counted as passed, not answered', result.kernel_passed >= 1 && result.kernel_answered === 0],
];
let failed = 0;
for (const [name, ok] of checks) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (!ok) failed++;
}
if (failed > 0) console.log(JSON.stringify({ ...result, native: candidates, stackMac: STACK_MAC }, null, 1));
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
