/** TCP bulk helpers shared by the in-process benchmarks (plain TCP, ESP): the descriptor API driven by hand. */
import type { Stack } from '../src/stack.js';

/** Open a connection a → b:port through `listener`, polling until accepted. */
export function connect(a: Stack, b: Stack, poll: () => void, port: number, listener: number): [number, number] {
  const c = a.sockets.socket('tcp');
  a.sockets.connect(c, '10.0.0.2', port);
  let s = -11;
  for (let i = 0; i < 100 && s < 0; i++) {
    poll();
    s = b.sockets.accept(listener);
  }
  if (s < 0) throw new Error('no connection');
  return [c, s];
}

/** A function that moves `total` bytes over the connection c → s with the descriptor API, polling by hand; returns bytes received. */
export function bulkPump(a: Stack, b: Stack, c: number, s: number, poll: () => void): (total: number) => number {
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  const sink = new Uint8Array(256 * 1024);
  return (total: number): number => {
    let sent = 0;
    let got = 0;
    while (got < total) {
      while (sent < total) {
        const n = a.sockets.send(c, chunk, 0, Math.min(chunk.length, total - sent));
        if (n <= 0) break;
        sent += n;
      }
      poll();
      for (;;) {
        const n = b.sockets.recv(s, sink, 0, sink.length);
        if (n <= 0) break;
        got += n;
      }
    }
    return got;
  };
}
