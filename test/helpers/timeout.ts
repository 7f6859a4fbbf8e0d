/** Bounding real-time waits in tests. */

/**
 * `p`, or a rejection "`what`: timed out after `ms` ms" if it has not settled
 * by then; the timer is cleared either way so it never holds the process.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
