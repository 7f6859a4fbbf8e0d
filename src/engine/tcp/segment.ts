/**
 * The TCP segment under processing: its header fields and options, parsed
 * once per arrival into one preallocated object (no per-segment objects).
 * TcpInput is one; the ACK and data steps (input-ack.ts, input-data.ts)
 * read it.
 */
import { TcpOptions } from '../../wire/tcp.js';

const EMPTY = new Uint8Array(0);

export class Segment {
  readonly opts = new TcpOptions();
  /** The frame holding the segment while it is processed (EMPTY otherwise, so none is retained). */
  b: Uint8Array = EMPTY;
  /** Offset of the payload in `b`. */
  dataOff = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** The window field as received (unscaled). */
  win = 0;
  /** Payload length. */
  len = 0;
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  /** Arrived over IPv6: `src`/`dst` are folds, the addresses are the 16 bytes at `b[src6Off]`, `b[dst6Off]`. */
  v6 = false;
  src6Off = 0;
  dst6Off = 0;

  /** Let go of the frame. */
  release(): void {
    this.b = EMPTY;
  }
}
