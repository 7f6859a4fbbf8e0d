/**
 * The batch crypter on the addon's native threads (native/wgcrypt.c):
 * ChaCha20-Poly1305 from OpenSSL, a batch split among `threads` threads
 * (the JS thread included). The Node-side half of batch.ts's
 * {@link BatchCrypter}; absent addon functions make {@link nativeCrypter}
 * return null and the device crypts through the suite instead.
 */
import { tryNativeAddon, type WgCryptAddon, type WgCryptHandle } from '../link/addon.js';
import { availableParallelism } from 'node:os';
import type { BatchCrypter } from './batch.js';
import type { SuiteName } from './crypto/suite.js';
import type { WireGuardDevice } from './device.js';

class NativeCrypter implements BatchCrypter {
  private handle: WgCryptHandle | null;

  constructor(private readonly a: WgCryptAddon, readonly threads: number) {
    this.handle = a.wgCryptNew(threads);
  }

  run(keys: Uint8Array, buf: Uint8Array, jobs: Int32Array, n: number): number {
    if (this.handle === null) throw new Error('crypter closed');
    return this.a.wgCryptRun(this.handle, keys, buf, jobs, n);
  }

  /** Packets each thread did so far (index 0: the JS thread). */
  split(): number[] {
    if (this.handle === null) return [];
    const out = new Float64Array(this.threads);
    this.a.wgCryptStats(this.handle, out);
    return Array.from(out);
  }

  close(): void {
    if (this.handle === null) return;
    this.a.wgCryptFree(this.handle);
    this.handle = null;
  }
}

/**
 * A crypter on `threads` threads in all (1: the JS thread alone, still
 * OpenSSL's ChaCha20-Poly1305 and one addon call per batch), or null when
 * the addon lacks native/wgcrypt.c.
 */
export function nativeCrypter(threads: number): (BatchCrypter & { split(): number[] }) | null {
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new RangeError('crypt threads must be 1..64');
  const a = tryNativeAddon();
  if (a instanceof Error || a.wgCryptNew === undefined || a.wgCryptRun === undefined || a.wgCryptFree === undefined
    || a.wgCryptStats === undefined) return null;
  return new NativeCrypter(a as WgCryptAddon, threads);
}

/** The default crypt threads: one per core, at most 8. */
export function defaultCryptThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Device options for `threads` crypt threads (0: no batching): the native
 * crypter for the standard suite when the addon has it, else the suite's
 * own calls on the JS thread.
 */
export function batchOptions(suite: SuiteName, threads: number): { batch: boolean; crypter: BatchCrypter | null } {
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new RangeError('cryptThreads must be 0..64');
  if (threads === 0) return { batch: false, crypter: null };
  return { batch: true, crypter: suite === 'standard' ? nativeCrypter(threads) : null };
}

/** Send a device's batch at the end of the current task (after the stack's poll, or the write that queued it). */
export function flushAtEndOfTask(device: WireGuardDevice): void {
  const flush = (): void => device.flushTx();
  device.txFlushHook = () => queueMicrotask(flush);
}
