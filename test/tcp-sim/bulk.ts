/** Bulk-transfer driver for simulations: two stacks, one connection, data both ways, checked byte by byte. */
import { Stack, MemoryLink, Simulation, type MemoryLinkOptions, type StackConfig } from '../../src/index.js';

export interface BulkResult {
  virtualMs: number;
  corrupt: number;
  received: [number, number];
  stats: [Stack['stats']['tcp'], Stack['stats']['tcp']];
  link: MemoryLink[];
}

/** Deterministic content: byte i of a stream seeded by `k`. */
export function pattern(i: number, k: number): number {
  return (i * 31 + (i >>> 9) + k * 7) & 0xff;
}

export function runBulk(bytes: [number, number], link: MemoryLinkOptions, config: StackConfig = {},
  limitMs = 3_600_000): BulkResult {
  const [la, lb] = MemoryLink.pair({ queueFrames: 2048, ...link });
  const base: StackConfig = { tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20, ...config };
  const a = new Stack({ seed: 11, ...base });
  const b = new Stack({ seed: 12, ...base });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  const sim = new Simulation([a, b]);
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 5001);
  b.sockets.listen(l, 4);
  const c = a.sockets.socket('tcp');
  a.sockets.connect(c, '10.0.0.2', 5001);
  let s = -1;
  for (let i = 0; i < 200 && s < 0; i++) {
    sim.advance(100);
    s = b.sockets.accept(l);
  }
  if (s < 0) throw new Error('connection not established');
  const ends = [{ stack: a, fd: c, sent: 0, got: 0, k: 1, want: bytes[0] }, { stack: b, fd: s, sent: 0, got: 0, k: 2, want: bytes[1] }];
  const chunk = new Uint8Array(65536);
  const rbuf = new Uint8Array(65536);
  let corrupt = 0;
  const t0 = sim.now;
  while ((ends[0].got < bytes[1] || ends[1].got < bytes[0]) && sim.now - t0 < limitMs) {
    for (let e = 0; e < 2; e++) {
      const x = ends[e];
      const peerK = ends[1 - e].k;
      while (x.sent < x.want) {
        const n = Math.min(chunk.length, x.want - x.sent);
        for (let i = 0; i < n; i++) chunk[i] = pattern(x.sent + i, x.k);
        const w = x.stack.sockets.send(x.fd, chunk, 0, n);
        if (w <= 0) break;
        x.sent += w;
      }
      for (;;) {
        const n = x.stack.sockets.recv(x.fd, rbuf, 0, rbuf.length);
        if (n === -11) break;
        if (n <= 0) throw new Error(`recv on ${e === 0 ? 'a' : 'b'} returned ${n}`);
        for (let i = 0; i < n; i++) if (rbuf[i] !== pattern(x.got + i, peerK)) corrupt++;
        x.got += n;
      }
    }
    // The application acts every 2 ms of virtual time; the stacks jump from deadline to deadline between.
    sim.advance(2);
  }
  return {
    virtualMs: sim.now - t0, corrupt, received: [ends[1].got, ends[0].got],
    stats: [a.stats.tcp, b.stats.tcp], link: [la, lb],
  };
}
