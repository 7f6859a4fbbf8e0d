/**
 * Bidirectional piping between two TCP streams, shared by the SOCKS5 server
 * and the TCP tunnels: one end is a host `node:net` socket, the other a
 * stack socket (or the reverse); both are `stream.Duplex`es with
 * `resetAndDestroy()`.
 *
 * - Backpressure: `pipe()` both ways, so a slow reader on either side
 *   pauses the other (the stack's TCP window closes, or the host's does).
 * - Half-close: both sockets must be created with `allowHalfOpen: true`; a
 *   FIN from one side is `end()` on the other (pipe's default) while the
 *   opposite direction keeps flowing until its own FIN.
 * - Errors: a reset or failure on one side resets the other (RST), so an
 *   aborted transfer is never passed off as a complete one.
 */
import type { Duplex } from 'node:stream';

/** A TCP stream either side of a relay: Node's `net.Socket` and the stack's `Socket` both fit. */
export interface RelayEnd extends Duplex {
  resetAndDestroy(): unknown;
}

/** Bytes moved by one relay, live. */
export interface RelayCounts {
  /** From `a` to `b`. */
  aToB: number;
  /** From `b` to `a`. */
  bToA: number;
}

/**
 * Pipe `a` and `b` into each other until both directions have ended or one
 * side failed. `onData` sees every chunk's length as it passes (for live
 * counters); `onClose` is called once, after both sockets have closed.
 */
export function relay(
  a: RelayEnd, b: RelayEnd,
  onData?: (fromA: boolean, bytes: number) => void,
  onClose?: (counts: RelayCounts, error: Error | null) => void,
): RelayCounts {
  const counts: RelayCounts = { aToB: 0, bToA: 0 };
  let firstError: Error | null = null;
  let open = 2;
  const done = (): void => {
    if (--open === 0 && onClose !== undefined) onClose(counts, firstError);
  };
  const wire = (from: RelayEnd, to: RelayEnd, fromA: boolean): void => {
    from.on('error', (e: Error) => {
      if (firstError === null) firstError = e;
      // The peer of a failed side learns it by a reset, not by a clean FIN.
      if (!to.destroyed) to.resetAndDestroy();
    });
    from.once('close', () => {
      done();
      if (to.destroyed || to.readableEnded) return; // `to` finishes by itself (its FIN was relayed)
      // `from` is gone while `to` still has a direction open that nothing can carry: flush, then close.
      if (!to.writableEnded) to.end();
      if (to.writableFinished) to.destroy();
      else to.once('finish', () => to.destroy());
    });
    from.pipe(to);
    // An observer beside pipe()'s own 'data' listener: it never changes the flow, pipe() pauses and resumes.
    from.on('data', (chunk: Buffer) => {
      if (fromA) counts.aToB += chunk.length;
      else counts.bToA += chunk.length;
      if (onData !== undefined) onData(fromA, chunk.length);
    });
  };
  wire(a, b, true);
  wire(b, a, false);
  return counts;
}

/** Attach a no-op 'error' listener so a socket failing before it is relayed cannot crash the process. */
export function swallowErrors(s: Duplex): void {
  s.on('error', () => { /* reported through 'close' and the relay's own listeners */ });
}
