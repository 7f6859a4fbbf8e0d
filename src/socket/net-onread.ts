/**
 * Node's `onread` socket option for the `node:net` facade's {@link Socket}
 * (net-socket.ts): received bytes are copied into one reusable buffer of the
 * application's and handed to its callback, instead of a fresh Buffer per
 * chunk pushed through the Readable stream. A bulk receiver then makes no
 * garbage per chunk. A 'data' Buffer is a new ArrayBuffer each time (malloc,
 * external memory to V8), and in a process that has loaded this package
 * (Node 20, V8 11.3) V8 answers them with major GCs, not scavenges: a
 * mark-compact of the whole heap every ~23 MiB of 16 KiB chunks dropped at
 * once (22 per 512 MiB of 'data' over a MemoryLink, 0 with onread; a loop
 * that only allocates such Buffers: 24-25 per GiB after importing the
 * package, 0-1 without). Over TAP that was 0.2-0.5 s of GC pauses per GB on
 * the JS thread (bench/tap.ts inGcMsPerGB), besides the concurrent marking.
 * Also offered by the facade's servers (`createServer({ onread })`), which
 * Node's are not.
 *
 * Semantics as Node v20's `net.Socket` (lib/net.js, `kBuffer`/`kBufferCb`/
 * `kBufferGen`; lib/internal/stream_base_commons.js `onStreamRead`):
 * - `buffer` is a Uint8Array reused for every chunk, or a function returning
 *   one; the function is called once at the start and again after every
 *   callback, and a result that is not a Uint8Array keeps the previous buffer.
 * - `callback(bytesWritten, buffer)` runs per chunk, with the socket as
 *   `this` (Node calls it as `stream[kBufferCb](nread, buf)`, so one callback
 *   can serve several sockets, e.g. a server's); returning `false` stops
 *   reading (the data waits in the TCP receive buffer, whose window closes)
 *   until `socket.resume()` or `socket.read()`; `socket.pause()` stops it too.
 * - No data reaches the stream ('data' is never emitted); 'end', 'error' and
 *   'close' are emitted as usual.
 * - An `onread` that is not an object with a Uint8Array (or function)
 *   `buffer` and a function `callback` is ignored, as Node ignores it.
 */

import type { Socket } from './net-socket.js';

/** Node's `onread` option: a reusable receive buffer and its callback. */
export interface OnReadOptions {
  /** The buffer every chunk is copied into, or a function returning the buffer for the next chunk. */
  buffer: Uint8Array | (() => Uint8Array);
  /**
   * Called (with the socket as `this`) with the bytes written at the start of
   * `buffer`; `false` stops reading until `resume()`/`read()`.
   */
  callback: (this: Socket, bytesWritten: number, buffer: Uint8Array) => boolean | void;
}

/** The state of one socket's `onread`: the current buffer, its callback and generator. */
export class UserReadBuffer {
  /** Where the next chunk is copied (its whole length is offered to recv()). */
  buf: Uint8Array;
  private readonly cb: OnReadOptions['callback'];
  private readonly gen: (() => Uint8Array) | null;
  /** Reading stopped by the callback's `false` (or the socket's pause()) until {@link restart}. */
  paused = false;
  private restarting = false;
  private readonly tick: () => void;

  private constructor(buf: Uint8Array, cb: OnReadOptions['callback'], gen: (() => Uint8Array) | null, onRestart: () => void) {
    this.buf = buf;
    this.cb = cb;
    this.gen = gen;
    this.tick = () => {
      this.restarting = false;
      if (!this.paused) onRestart();
    };
  }

  /**
   * The option's state, or null when `onread` is absent or not of Node's shape
   * (then ignored, as Node does). `onRestart` resumes the socket's reading.
   */
  static from(onread: unknown, onRestart: () => void): UserReadBuffer | null {
    if (onread === null || typeof onread !== 'object') return null;
    const o = onread as { buffer?: unknown; callback?: unknown };
    const cb = o.callback;
    if (typeof cb !== 'function') return null;
    const callback = cb as OnReadOptions['callback'];
    if (o.buffer instanceof Uint8Array) return new UserReadBuffer(o.buffer, callback, null, onRestart);
    if (typeof o.buffer !== 'function') return null;
    const gen = o.buffer as () => Uint8Array;
    const first = gen();
    return new UserReadBuffer(first instanceof Uint8Array ? first : new Uint8Array(0), callback, gen, onRestart);
  }

  /** Hand `n` bytes (at the start of {@link buf}) to the callback, called on `socket`; false: stop reading. */
  deliver(n: number, socket: Socket): boolean {
    const more = this.cb.call(socket, n, this.buf) !== false;
    if (!more) this.paused = true;
    const gen = this.gen;
    if (gen !== null) {
      const next = gen();
      if (next instanceof Uint8Array) this.buf = next;
    }
    return more;
  }

  /**
   * After a pause: reading restarts in the event loop's check phase, as data
   * comes after Node's readStart(): never inside resume(), and after the
   * Readable's own resume tick (whose internal read() must not undo a pause
   * the callback asks for meanwhile).
   */
  restart(): void {
    if (!this.paused || this.restarting) return;
    this.paused = false;
    this.restarting = true;
    setImmediate(this.tick);
  }
}
