/**
 * TCP benchmarks: bulk transfer between two stacks in one process over a
 * MemoryLink at MTU 1500, and connections per second (open + one request +
 * close). Run by bench/index.ts in its own process; prints one JSON line.
 *
 *   node --expose-gc dist/bench/tcp.js [bulk|conns] [--mib N] [--conns N] [--offload 0|1]
 *
 * --offload 1: the MemoryLink pair offers offload (as a veth pair does): TCP
 * sends super-segments of up to 64 KiB with partial checksums, each passing
 * as one frame; 0 (the default): MSS-sized frames with full checksums.
 */
import { Stack } from '../src/stack.js';
import { MemoryLink } from '../src/link/memory-link.js';
import { GcMeter } from './gc-meter.js';
import { bulkPump, connect } from './tcp-pump.js';

export interface TcpBulkResult {
  kind: 'bulk';
  bytes: number;
  seconds: number;
  gbps: number;
  cpuSecondsPerGB: number;
  gcMinor: number;
  gcMajor: number;
  heapDelta: number;
  retransmits: number;
  segmentsOut: number;
  offload: boolean;
  /** Super-segments sent / coalesced segments received by the sender and receiver. */
  tsoSegments: number;
  groSegments: number;
}

export interface TcpConnsResult {
  kind: 'conns';
  connections: number;
  seconds: number;
  perSecond: number;
  bytesPerConnection: number;
  gcMinor: number;
}

function pair(config: ConstructorParameters<typeof Stack>[0], offload = false): { a: Stack; b: Stack; poll: () => void } {
  // With offload a slot holds 64 KiB: 256 of them carry the 4 MiB window as super-segments.
  const [la, lb] = MemoryLink.pair({ queueFrames: offload ? 256 : 4096, seed: 1, offload });
  const a = new Stack({ seed: 1, ...config });
  const b = new Stack({ seed: 2, ...config });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  // Whole-millisecond virtual time: timers stay small integers.
  let now = 0;
  const poll = (): void => {
    now += 1;
    a.poll(now);
    b.poll(now);
  };
  return { a, b, poll };
}



async function bulk(mib: number, offload: boolean): Promise<TcpBulkResult> {
  const { a, b, poll } = pair({ tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20, maxTcpSockets: 2 }, offload);
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 5001);
  b.sockets.listen(l, 1);
  const [c, s] = connect(a, b, poll, 5001, l);
  const run = bulkPump(a, b, c, s, poll);
  run(64 << 20); // warm-up
  const meter = new GcMeter();
  await meter.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = run(mib << 20);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const gc = await meter.stop();
  meter.close();
  const info = a.sockets.tcpInfo(c);
  return {
    kind: 'bulk', bytes, seconds, gbps: (bytes * 8) / seconds / 1e9,
    cpuSecondsPerGB: ((cpu.user + cpu.system) / 1e6) / (bytes / 1e9),
    gcMinor: gc.minor, gcMajor: gc.major, heapDelta: gc.heapDelta,
    retransmits: info?.retransmits ?? -1, segmentsOut: info?.segmentsOut ?? -1,
    offload, tsoSegments: a.stats.tcp.tsoSegments, groSegments: b.stats.tcp.groSegments,
  };
}

async function conns(n: number): Promise<TcpConnsResult> {
  const cfg = { maxSockets: 64, maxTcpSockets: 32, tcpSendBufferBytes: 16384, tcpRecvBufferBytes: 16384, tcpTimeWaitMs: 60000 };
  const { a, b, poll } = pair(cfg);
  const l = b.sockets.socket('tcp');
  b.sockets.bind(l, 0, 80);
  b.sockets.listen(l, 16);
  const req = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
  const buf = new Uint8Array(4096);
  const one = (): void => {
    const [c, s] = connect(a, b, poll, 80, l);
    a.sockets.send(c, req, 0, req.length);
    for (let i = 0; i < 100 && b.sockets.recv(s, buf, 0, buf.length) <= 0; i++) poll();
    b.sockets.send(s, req, 0, req.length);
    b.sockets.close(s);
    for (let i = 0; i < 100 && a.sockets.recv(c, buf, 0, buf.length) !== 0; i++) poll();
    a.sockets.close(c);
    poll();
  };
  for (let i = 0; i < 500; i++) one();
  const meter = new GcMeter();
  await meter.start();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) one();
  const seconds = (performance.now() - t0) / 1000;
  const gc = await meter.stop();
  meter.close();
  const perConn = (cfg.tcpSendBufferBytes + cfg.tcpRecvBufferBytes)
    + Math.round((a.memory.parts.tcb + a.memory.parts.tcbRanges + a.memory.parts.sockets) / cfg.maxSockets);
  return { kind: 'conns', connections: n, seconds, perSecond: n / seconds, bytesPerConnection: perConn, gcMinor: gc.minor };
}

const argv = process.argv.slice(2);
const kind = argv[0] ?? 'bulk';
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const result = kind === 'conns' ? await conns(opt('conns', 20000)) : await bulk(opt('mib', 1024), opt('offload', 0) === 1);
console.log(JSON.stringify(result));
