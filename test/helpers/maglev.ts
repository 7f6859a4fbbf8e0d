/**
 * Whether a Node binary's V8 runs Maglev (its mid-tier optimizing compiler)
 * by default: Node 24 and later do, Node 20 and 22 do not (22 has it, off).
 * Read from the binary's own `--v8-options`, which print each flag's default.
 * Used by test/engine/ping-realtime-gc.test.ts and the bench's chatty lines.
 */
import { spawnSync } from 'node:child_process';

/** true / false, or null when the binary's option list does not say. */
export function maglevByDefault(bin: string = process.execPath): boolean | null {
  const out = spawnSync(bin, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 << 20 }).stdout ?? '';
  const m = /--maglev \(enable the maglev optimizing compiler\)[^\n]*\n[^\n]*default: --(no-)?maglev\b/.exec(out);
  return m === null ? null : m[1] === undefined;
}
