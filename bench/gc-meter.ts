/**
 * Counts garbage collections and heap growth around a measured loop.
 *
 * GC entries reach a PerformanceObserver asynchronously, so {@link GcMeter.stop}
 * yields one `setImmediate` turn before reading the counters. Everything the
 * meter allocates happens outside the measured loop.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

export interface GcResult {
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-sweep-compact (old generation). */
  major: number;
  /** Incremental marking steps and weak-callback processing. */
  other: number;
  /** Total GC pause reported by the entries, ms. */
  pauseMs: number;
  /** heapUsed after the loop minus heapUsed before it (after a forced GC), bytes. */
  heapDelta: number;
}

const gcFn: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/** True when `global.gc()` is available (node --expose-gc). */
export const canForceGc = typeof gcFn === 'function';

export function forceGc(): void {
  if (gcFn !== undefined) {
    gcFn();
    gcFn();
  }
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function gcKind(e: PerformanceEntry): number {
  const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
  return detail?.kind ?? 0;
}

export class GcMeter {
  private minor = 0;
  private major = 0;
  private other = 0;
  private pauseMs = 0;
  private counting = false;
  private baseline = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      if (!this.counting) return;
      for (const e of list.getEntries()) {
        const k = gcKind(e);
        if (k === constants.NODE_PERFORMANCE_GC_MINOR) this.minor++;
        else if (k === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
        else this.other++;
        this.pauseMs += e.duration;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Force a GC, let its entry drain, then start counting from a clean baseline. */
  async start(): Promise<void> {
    forceGc();
    await yieldTurn();
    await yieldTurn();
    this.minor = this.major = this.other = 0;
    this.pauseMs = 0;
    this.counting = true;
    this.baseline = process.memoryUsage().heapUsed;
  }

  /**
   * Read heapUsed synchronously right after the loop (call this first thing),
   * then wait for GC entries to arrive.
   */
  async stop(): Promise<GcResult> {
    const heapDelta = process.memoryUsage().heapUsed - this.baseline;
    await yieldTurn();
    await yieldTurn();
    this.counting = false;
    return { minor: this.minor, major: this.major, other: this.other, pauseMs: this.pauseMs, heapDelta };
  }

  close(): void {
    this.observer.disconnect();
  }
}
