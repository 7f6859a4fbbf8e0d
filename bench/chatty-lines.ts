/**
 * The chatty-client benchmark (bench/chatty.ts) on other Node.js release
 * lines than the machine's own, for `npm run bench`'s chatty section.
 *
 * Why: the stack's TCP path is JavaScript, so how fast its first few
 * thousand exchanges go is how soon V8 compiles that path, and that differs
 * by line. Node 20 (V8 11.3, end of life since 2026-04-30) and Node 22
 * (V8 12.4, which ships V8's mid-tier compiler Maglev switched off) run the
 * path interpreted until TurboFan takes it, after ~650-1,700 exchanges;
 * Node 24 and 26 compile it with Maglev after a few hundred. Node's own net
 * client is mostly C++ and hardly changes. Each line runs the whole
 * comparison with its own binary: the server and Node's net client too.
 *
 * The binaries come from the npm registry (scripts/node-line.mjs);
 * BENCH_NODE_LINES (comma-separated majors, empty for none) overrides the
 * default list.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SectionIo } from './esp-section.js';
import { maglevByDefault } from '../test/helpers/maglev.js';

/** Supported release lines on 2026-12-06: 26 (active LTS), 24 and 22 (maintenance LTS). */
export const DEFAULT_NODE_LINES = [22, 24, 26];

/** What bench/chatty.ts prints (the fields used here). */
export interface ChattyRun {
  rounds: number;
  stackMs: number[];
  linuxMs: number[];
  freshStackMs?: number[];
  freshLinuxMs?: number[];
}

/** One row of the per-line table: a Node binary and its chatty run, or why there is none. */
export interface LineResult {
  label: string;
  maglev: string;
  run: ChattyRun | null;
  why: string;
}

/** Median (the upper one of an even count), as the chatty section takes it. */
export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/** Each run's ratio to the other side's run next to it: `median (min-max)`. */
export function pairs(fmt: SectionIo['fmt'], a: number[], b: number[]): string {
  const r = a.map((x, i) => x / b[i]);
  return `${fmt(median(r), 2)} (${fmt(Math.min(...r), 2)}-${fmt(Math.max(...r), 2)})`;
}

/** Whether `bin`'s V8 runs Maglev by default, for the table: on, off or '?'. */
export function maglevOf(bin: string): string {
  const m = maglevByDefault(bin);
  return m === null ? '?' : m ? 'on' : 'off';
}

/** Run bench/chatty.ts with `bin` (the machine's node or another line's). */
export function chattyRun(bin: string, args: string[]): { run: ChattyRun | null; why: string } {
  const script = fileURLToPath(new URL('./chatty.js', import.meta.url));
  const r = spawnSync(bin, [script, ...args], { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  const json = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !json.startsWith('{')) {
    return { run: null, why: `the run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return { run: JSON.parse(json) as ChattyRun, why: '' };
}

/** The lines to run besides the machine's own (BENCH_NODE_LINES, else {@link DEFAULT_NODE_LINES}). */
export function otherLines(): number[] {
  const env = process.env.BENCH_NODE_LINES;
  const all = env === undefined ? DEFAULT_NODE_LINES : env.split(',').filter((x) => x.trim() !== '').map(Number);
  const own = Number(process.versions.node.split('.')[0]);
  return all.filter((m) => Number.isInteger(m) && m > 0 && m !== own);
}

/** Each of {@link otherLines}: its binary (fetched when missing) and its chatty run with `args`. */
export function runOtherLines(args: string[], progress: (s: string) => void): LineResult[] {
  const fetcher = fileURLToPath(new URL('../../scripts/node-line.mjs', import.meta.url));
  const out: LineResult[] = [];
  for (const major of otherLines()) {
    progress(`chatty on Node ${major}`);
    const f = spawnSync(process.execPath, [fetcher, String(major)], { encoding: 'utf8', timeout: 600_000 });
    const bin = (f.stdout ?? '').trim();
    if (f.status !== 0 || bin === '') {
      out.push({ label: `Node ${major}`, maglev: '?', run: null, why: `no binary: ${(f.stderr ?? '').trim() || `exit ${f.status ?? f.signal}`}` });
      continue;
    }
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const r = chattyRun(bin, args);
    out.push({ label: `Node ${version}`, maglev: maglevOf(bin), ...r });
  }
  return out;
}

/** The table of every line: in-process and fresh-process ratios against Node's net on the same line. */
export function printLines(io: SectionIo, rows: LineResult[]): void {
  const { fmt, printTable } = io;
  printTable(['Node line', 'Maglev', 'stack ms/exch', "Node's net ms/exch", 'ratio', 'pairs median (min-max)', 'fresh ratio', 'fresh pairs'],
    rows.map(({ label, maglev, run, why }) => {
      if (run === null) return [label, maglev, why, '', '', '', '', ''];
      const s = median(run.stackMs);
      const l = median(run.linuxMs);
      const fresh = run.freshStackMs !== undefined && run.freshLinuxMs !== undefined && run.freshStackMs.length > 0;
      return [label, maglev, fmt(s / run.rounds, 3), fmt(l / run.rounds, 3), fmt(s / l, 2), pairs(fmt, run.stackMs, run.linuxMs),
        fresh ? fmt(median(run.freshStackMs ?? []) / median(run.freshLinuxMs ?? []), 2) : '-',
        fresh ? pairs(fmt, run.freshStackMs ?? [], run.freshLinuxMs ?? []) : '-'];
    }));
}
