/**
 * Output lines of a long-running CLI command, written in batches.
 *
 * `wirestack tap` prints a line per connection, per request and per close.
 * Node writes stdout synchronously when it is a pipe or a file, so each line
 * was one write() system call on the JS thread: at ~3k connections/s three
 * of them per connection were a third of that thread's time (profile of
 * bench/syn-flood.ts without a flood). Lines of frequent events are
 * therefore gathered and written together, at most {@link BATCH_MS} later or
 * once {@link BATCH_CHARS} characters are waiting; every other line (start,
 * errors, stats, stop) is written at once, after whatever was waiting, so
 * the order of lines never changes.
 */

/** How long a line of a frequent event may wait for others (ms). */
export const BATCH_MS = 20;
/** Characters waiting that make a batch be written at once. */
export const BATCH_CHARS = 32 * 1024;

/** Lines to `out` in batches: {@link line} may wait, {@link now} writes at once (after what waits). */
export class OutBatch {
  private readonly lines: string[] = [];
  private chars = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  /** `out` takes one or more lines joined with '\n' (no trailing newline), as console.log does. */
  constructor(private readonly out: (text: string) => void) {}

  /** A line that may wait up to {@link BATCH_MS} to be written with others. */
  line(text: string): void {
    this.lines.push(text);
    this.chars += text.length + 1;
    if (this.chars >= BATCH_CHARS) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, BATCH_MS);
      this.timer.unref(); // the command's own handles keep it running; it flushes before it returns
    }
  }

  /** A line written at once, after the lines waiting. */
  now(text: string): void {
    this.lines.push(text);
    this.flush();
  }

  /** Write whatever waits. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0] : this.lines.join('\n');
    this.lines.length = 0;
    this.chars = 0;
    this.out(text);
  }
}
