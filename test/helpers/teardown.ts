/**
 * Run clean-up steps in order, every one of them even when an earlier one
 * throws (the first error is rethrown at the end): a test's `after()` that
 * stops a stack, closes its link and removes its namespace in one line
 * instead of nested try/finally.
 */
export function teardown(...steps: Array<() => void>): void {
  let first: unknown = null;
  for (const step of steps) {
    try {
      step();
    } catch (e) {
      if (first === null) first = e;
    }
  }
  if (first !== null) throw first;
}
