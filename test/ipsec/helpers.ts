/** Two stacks on a MemoryLink with ESP between them, for the IPsec tests. */
import { Stack, MemoryLink, Simulation, type StackConfig, type MemoryLinkOptions } from '../../src/index.js';
import type { Link, FrameReceiver, LinkStats } from '../../src/link/link.js';

/** Passes everything through and shows each transmitted frame (a copy) to `seen`. */
export class SniffLink implements Link {
  constructor(private readonly inner: Link, private readonly seen: (frame: Uint8Array) => void) {}
  get name(): string { return this.inner.name; }
  get mtu(): number { return this.inner.mtu; }
  get stats(): LinkStats { return this.inner.stats; }
  transmit(frame: Uint8Array, offset: number, length: number, now: number): number {
    this.seen(frame.slice(offset, offset + length));
    return this.inner.transmit(frame, offset, length, now);
  }
  poll(now: number, rx: FrameReceiver): number { return this.inner.poll(now, rx); }
  setWakeup(w: (() => void) | null): void { this.inner.setWakeup(w); }
  close(): void { this.inner.close(); }
}
import type { SaSpec } from '../../src/ipsec/api.js';
import type { AlgorithmSpec } from '../../src/ipsec/algorithms.js';

export const key = (bytes: number, seed: number): string => {
  let s = '';
  for (let i = 0; i < bytes; i++) s += ((i * 37 + seed * 101 + 11) & 0xff).toString(16).padStart(2, '0');
  return s;
};

/** Every suite the issue names, by label. */
export const SUITES: Record<string, (seed: number) => AlgorithmSpec> = {
  'rfc4106(gcm(aes)) 128': (k) => ({ aead: { name: 'rfc4106(gcm(aes))', key: key(20, k) } }),
  'rfc4106(gcm(aes)) 192': (k) => ({ aead: { name: 'rfc4106(gcm(aes))', key: key(28, k) } }),
  'rfc4106(gcm(aes)) 256': (k) => ({ aead: { name: 'rfc4106(gcm(aes))', key: key(36, k) } }),
  'rfc4543(gcm(aes))': (k) => ({ aead: { name: 'rfc4543(gcm(aes))', key: key(20, k) } }),
  'cbc(aes)+hmac(sha256)': (k) => ({ enc: { name: 'cbc(aes)', key: key(16, k) }, auth: { name: 'hmac(sha256)', key: key(32, k + 50) } }),
  'cbc(aes) 256+hmac(sha256)': (k) => ({ enc: { name: 'cbc(aes)', key: key(32, k) }, auth: { name: 'hmac(sha256)', key: key(32, k + 50) } }),
  'null+hmac(sha1)': (k) => ({ enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha1)', key: key(20, k) } }),
  'null+hmac(sha256)': (k) => ({ enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha256)', key: key(32, k) } }),
};

export interface EspPair {
  a: Stack;
  b: Stack;
  la: MemoryLink;
  lb: MemoryLink;
  sim: Simulation;
  /** IP protocol numbers of every IPv4 frame a sent (captured on the wire). */
  wireProtos: number[];
  /** Every frame on the wire from a, copied. */
  wire: Uint8Array[];
}

export interface EspPairOptions {
  link?: MemoryLinkOptions;
  config?: StackConfig;
  /** Extra SA fields for all four SAs (esn, encap, replayWindow, lifetime...). */
  sa?: Partial<SaSpec>;
  /** Add the 'both' protect policies (default true). */
  policies?: boolean;
}

/** a = 10.0.0.1, b = 10.0.0.2; a→b SPI 0x1001, b→a SPI 0x2002; everything between them protected. */
export function espPair(suite: (seed: number) => AlgorithmSpec, o: EspPairOptions = {}): EspPair {
  const [la, lb] = MemoryLink.pair({ seed: 7, queueFrames: 1024, ...o.link });
  const wire: Uint8Array[] = [];
  const wireProtos: number[] = [];
  const cap = new SniffLink(la, (frame) => {
    if (((frame[12] << 8) | frame[13]) === 0x0800 && frame.length >= 34) {
      wire.push(frame);
      wireProtos.push(frame[23]);
    }
  });
  const cfg: StackConfig = { tcpSendBufferBytes: 1 << 18, tcpRecvBufferBytes: 1 << 18, ...o.config };
  const a = new Stack({ seed: 1, ...cfg });
  const b = new Stack({ seed: 2, ...cfg });
  a.addInterface(cap, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  const ab = { dir: 'out' as const, spi: 0x1001, src: '10.0.0.1', dst: '10.0.0.2', ...suite(1), ...o.sa };
  const ba = { dir: 'out' as const, spi: 0x2002, src: '10.0.0.2', dst: '10.0.0.1', ...suite(2), ...o.sa };
  a.ipsec.addSa(ab);
  b.ipsec.addSa({ ...ab, dir: 'in' });
  b.ipsec.addSa(ba);
  a.ipsec.addSa({ ...ba, dir: 'in' });
  if (o.policies !== false) {
    a.ipsec.addPolicy({ dir: 'both', src: '10.0.0.1', dst: '10.0.0.2', action: 'protect' });
    b.ipsec.addPolicy({ dir: 'both', src: '10.0.0.2', dst: '10.0.0.1', action: 'protect' });
  }
  return { a, b, la, lb, sim: new Simulation([a, b]), wire, wireProtos };
}

export function pattern(i: number, k: number): number {
  return (i * 31 + (i >>> 9) + k * 7) & 0xff;
}

/** A TCP connection a→b:5001 moving `bytes` each way, checked byte by byte. Returns corrupt bytes and totals. */
export function tcpBulk(p: EspPair, bytes: number, limitMs = 600_000): { corrupt: number; got: [number, number]; ms: number } {
  const { a, b, sim } = p;
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 5001);
  b.sockets.listen(l, 4);
  const c = a.sockets.socket('tcp');
  a.sockets.connect(c, '10.0.0.2', 5001);
  let s = -1;
  for (let i = 0; i < 100 && s < 0; i++) {
    sim.advance(50);
    s = b.sockets.accept(l);
  }
  if (s < 0) throw new Error('TCP connection over ESP not established');
  const ends = [{ st: a, fd: c, sent: 0, got: 0, k: 1 }, { st: b, fd: s, sent: 0, got: 0, k: 2 }];
  const chunk = new Uint8Array(65536);
  const rbuf = new Uint8Array(65536);
  let corrupt = 0;
  const t0 = sim.now;
  while ((ends[0].got < bytes || ends[1].got < bytes) && sim.now - t0 < limitMs) {
    for (let e = 0; e < 2; e++) {
      const x = ends[e];
      const peerK = ends[1 - e].k;
      while (x.sent < bytes) {
        const n = Math.min(chunk.length, bytes - x.sent);
        for (let i = 0; i < n; i++) chunk[i] = pattern(x.sent + i, x.k);
        const w = x.st.sockets.send(x.fd, chunk, 0, n);
        if (w <= 0) break;
        x.sent += w;
      }
      for (;;) {
        const n = x.st.sockets.recv(x.fd, rbuf, 0, rbuf.length);
        if (n === -11) break;
        if (n <= 0) throw new Error(`recv returned ${n}`);
        for (let i = 0; i < n; i++) if (rbuf[i] !== pattern(x.got + i, peerK)) corrupt++;
        x.got += n;
      }
    }
    sim.advance(2);
  }
  a.sockets.close(c);
  b.sockets.close(s);
  b.sockets.close(l);
  return { corrupt, got: [ends[0].got, ends[1].got], ms: sim.now - t0 };
}

/** Sum of every inbound/outbound drop counter. */
export function espDrops(st: Stack['stats']['ipsec']): number {
  const { rx, delivered, tx, softExpired, hardExpired, ikeMarker, ...drops } = st;
  void rx; void delivered; void tx; void softExpired; void hardExpired; void ikeMarker;
  return Object.values(drops).reduce((x, y) => x + y, 0);
}
