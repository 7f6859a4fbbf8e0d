/**
 * The `ip` command (iproute2) as TapLink runs it to configure its device:
 * no shell, a time bound, and ip's own message in the error.
 */
import { execFileSync } from 'node:child_process';

const IP_TIMEOUT_MS = 10_000;

/** Run `ip ARGS...` (no shell), throwing with ip's own message on failure. */
export function ip(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: IP_TIMEOUT_MS });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr;
    const detail = stderr !== undefined && stderr.length > 0 ? stderr.toString().trim() : (err instanceof Error ? err.message : String(err));
    throw new Error(`ip ${args.join(' ')} failed: ${detail}`, { cause: err });
  }
}

/** Throw a RangeError unless `cidr` looks like a.b.c.d/len. */
export function checkCidr(cidr: string): void {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new RangeError(`address must look like a.b.c.d/len, got '${cidr}'`);
}
