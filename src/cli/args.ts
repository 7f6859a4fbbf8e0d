/** A small flag parser: `--name value`, `--name=value`, `--flag`; unknown flags are errors. */

export interface FlagSpec {
  /** Flags that take a value. */
  values: string[];
  /** Flags that are booleans. */
  booleans: string[];
}

export interface Parsed {
  values: Record<string, string>;
  booleans: Set<string>;
  positional: string[];
}

export class UsageError extends Error {}

export function parseFlags(argv: string[], spec: FlagSpec): Parsed {
  const out: Parsed = { values: {}, booleans: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.booleans.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.booleans.add(name);
    } else if (spec.values.includes(name)) {
      const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.values[name] = v;
    } else {
      throw new UsageError(`unknown option --${name}`);
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
