/**
 * The eBPF SYN responder loaded for tests (BPF_PROG_TEST_RUN: loaded, not
 * attached), shared by test/link/syn-responder-bpf*.test.ts. Needs root
 * (bpf(2)), libbpf.so.1 and the object scripts/build-bpf.mjs builds with
 * clang: `missing` is the reason to skip without them on a developer's
 * machine, and false under CI=true (CI installs clang), where a program that
 * does not load fails the tests instead. Not a test file.
 */
import assert from 'node:assert/strict';
import { tryNativeAddon } from '../../src/link/addon.js';
import { BpfSynResponder } from '../../src/link/syn-responder-bpf.js';

export const addon = tryNativeAddon();

function loadOrReason(): BpfSynResponder | string {
  if (addon instanceof Error) return addon.message;
  if (addon.synResponderAnswerForTest === undefined) return 'the addon has no synResponderAnswerForTest';
  if (process.getuid?.() !== 0) return 'needs root (bpf(2))';
  return BpfSynResponder.loadForTest(addon);
}

const loaded = loadOrReason();

/** Why the program's tests skip here, or false (loaded, or CI). */
export const missing: string | false = typeof loaded === 'string' && process.env.CI !== 'true' ? loaded : false;

/** The loaded program (one per test process); fails the test when it did not load. */
export function program(): BpfSynResponder {
  if (typeof loaded === 'string') assert.fail(`the eBPF responder does not load: ${loaded}`);
  return loaded;
}
