/**
 * Command-line flags through Node's `util.parseArgs` (strict: an unknown
 * flag, a missing value or a value given to a boolean is a usage error):
 * `--name value`, `--name=value`, `--flag`.
 */
import { parseArgs } from 'node:util';

export interface FlagSpec {
  /** Flags that take a value. */
  values: string[];
  /** Flags that are booleans. */
  booleans: string[];
  /** Value flags that may be repeated (every value kept in {@link Parsed.lists}); also listed in `values`. */
  repeatable?: string[];
}

export interface Parsed {
  /** The last value of each value flag given. */
  values: Record<string, string>;
  booleans: Set<string>;
  positional: string[];
  /** Every value of each repeatable flag given, in order. */
  lists: Record<string, string[]>;
}

export class UsageError extends Error {}

/** Turn parseArgs' own messages into the CLI's one-line usage errors. */
function usageMessage(err: NodeJS.ErrnoException): string {
  const name = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${name}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return `${name} takes no value`;
      if (/ambiguous/.test(err.message)) return `${name} needs a value (for one starting with '-', write ${name}=VALUE)`;
      return `${name} needs a value`;
    default: return err.message;
  }
}

/**
 * `--flag -1` as `--flag=-1` for value flags, so a negative number reaches the
 * range check (and its message) instead of parseArgs' 'ambiguous' error.
 */
function withNegativeValues(argv: string[], spec: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && spec.values.includes(a.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Parse `argv` against `spec` (strict, positionals allowed); throws {@link UsageError}. */
export function parseFlags(argv: string[], spec: FlagSpec): Parsed {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const options2 = options as Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  for (const v of spec.values) options2[v] = spec.repeatable?.includes(v) === true ? { type: 'string', multiple: true } : { type: 'string' };
  for (const b of spec.booleans) options[b] = { type: 'boolean' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: withNegativeValues(argv, spec), options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(usageMessage(e as NodeJS.ErrnoException));
  }
  const out: Parsed = { values: {}, booleans: new Set(), positional: parsed.positionals, lists: {} };
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string') out.values[k] = v;
    else if (v === true) out.booleans.add(k);
    else if (Array.isArray(v)) {
      out.lists[k] = v.filter((x): x is string => typeof x === 'string');
      if (out.lists[k].length > 0) out.values[k] = out.lists[k][out.lists[k].length - 1];
    }
  }
  return out;
}

/** A number flag within bounds, or the default. */
export function numberFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in ${min}..${max}`);
  return n;
}
