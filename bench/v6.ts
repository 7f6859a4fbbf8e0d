/**
 * IPv6 beside IPv4 in one process (issue #14: IPv6 within 10 % of IPv4):
 * TCP bulk and UDP echo between two dual-stack stacks over a MemoryLink,
 * the same code and link for both families, so the ratio of two runs in
 * one series is the cost of the IPv6 path. Garbage is counted over the
 * measured loop (0 GC expected). Run by bench/index.ts, one JSON line out.
 *
 *   node --expose-gc dist/bench/v6.js tcp --family 6 [--mib N] [--link ip|ethernet]
 *   node --expose-gc dist/bench/v6.js udp --family 4 [--units N] [--size B]
 *
 * `--link ip` (default) runs both families over a point-to-point IP link
 * (no ARP, no neighbour discovery: the transports and IP alone);
 * `--link ethernet` over Ethernet frames with ARP or ND.
 */
import { Stack } from '../src/stack.js';
import { MemoryLink } from '../src/link/memory-link.js';
import { IpLink } from '../test/helpers/ip-link.js';
import { GcMeter } from './gc-meter.js';
import { bulkPump } from './tcp-pump.js';

export interface V6Result {
  kind: 'tcp' | 'udp';
  family: number;
  link: string;
  bytes: number;
  units: number;
  seconds: number;
  /** CPU time of the process over the measured loop (user + system), s: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  gbps: number;
  perSecond: number;
  gcMinor: number;
  gcMajor: number;
  heapDelta: number;
}


const argv = process.argv.slice(2);
const kind = argv[0] === 'udp' ? 'udp' : 'tcp';
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const family = Number(opt('family', '4')) === 6 ? 6 : 4;
const linkKind = opt('link', 'ip') === 'ethernet' ? 'ethernet' : 'ip';
// Addresses in the API's allocation-free forms: 16 bytes for IPv6, a number for IPv4.
const peer: number | Uint8Array = family === 6 ? new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]) : 0x0a000002;

function pair(config: ConstructorParameters<typeof Stack>[0]): { a: Stack; b: Stack; poll: () => void } {
  const [la, lb] = MemoryLink.pair({ queueFrames: 4096, seed: 1 });
  const a = new Stack({ seed: 1, arpReachableMs: 86400000, ...config });
  const b = new Stack({ seed: 2, arpReachableMs: 86400000, ...config });
  a.addInterface(linkKind === 'ip' ? new IpLink(la) : la, { address: ['10.0.0.1/24', 'fd00::1/64'] });
  b.addInterface(linkKind === 'ip' ? new IpLink(lb) : lb, { address: ['10.0.0.2/24', 'fd00::2/64'] });
  let now = 0;
  const poll = (): void => {
    now += 1;
    a.poll(now);
    b.poll(now);
  };
  for (let i = 0; i < 50; i++) poll(); // addresses settle (DAD where it runs)
  return { a, b, poll };
}

async function tcp(mib: number): Promise<V6Result> {
  const { a, b, poll } = pair({ tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20, maxTcpSockets: 2 });
  const l = b.sockets.socket('tcp', family);
  b.sockets.bind(l, family === 6 ? '::' : 0, 5001);
  b.sockets.listen(l, 1);
  const c = a.sockets.socket('tcp', family);
  a.sockets.connect(c, peer, 5001);
  let s = -1;
  for (let i = 0; i < 1000 && s < 0; i++) {
    poll();
    s = b.sockets.accept(l);
  }
  if (s < 0) throw new Error(`no IPv${family} connection`);
  const run = bulkPump(a, b, c, s, poll);
  run(64 << 20); // warm-up
  const meter = new GcMeter();
  await meter.start();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = run(mib << 20);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const gc = await meter.stop();
  meter.close();
  return {
    kind: 'tcp', family, link: linkKind, bytes, units: bytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, gbps: (bytes * 8) / seconds / 1e9,
    perSecond: bytes / seconds, gcMinor: gc.minor, gcMajor: gc.major, heapDelta: gc.heapDelta,
  };
}

async function udp(units: number, size: number): Promise<V6Result> {
  const { a, b, poll } = pair({});
  const srv = b.sockets.socket('udp', family);
  b.sockets.bind(srv, family === 6 ? '::' : 0, 7);
  const cli = a.sockets.socket('udp', family);
  const msg = new Uint8Array(size).fill(0x42);
  const buf = new Uint8Array(2048);
  // One out-parameter with room for IPv6 senders: echo back to whoever sent.
  const from = { address: 0, port: 0, family: 0, address6: new Uint8Array(16) };
  const round = (): void => {
    a.sockets.sendto(cli, msg, 0, size, peer, 7);
    poll();
    const n = b.sockets.recvfrom(srv, buf, 0, buf.length, from);
    if (n < 0) throw new Error(`no datagram: ${n}`);
    if (family === 6) b.sockets.sendto(srv, buf, 0, n, from.address6, from.port);
    else b.sockets.sendto(srv, buf, 0, n, from.address, from.port);
    poll();
    if (a.sockets.recv(cli, buf, 0, buf.length) < 0) throw new Error('no echo');
  };
  for (let i = 0; i < Math.min(units, 100_000); i++) round(); // warm-up
  const meter = new GcMeter();
  await meter.start();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < units; i++) round();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const gc = await meter.stop();
  meter.close();
  return {
    kind: 'udp', family, link: linkKind, bytes: units * size * 2, units, seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    gbps: (units * size * 2 * 8) / seconds / 1e9, perSecond: units / seconds,
    gcMinor: gc.minor, gcMajor: gc.major, heapDelta: gc.heapDelta,
  };
}

const result = kind === 'udp' ? await udp(Number(opt('units', '300000')), Number(opt('size', '64')))
  : await tcp(Number(opt('mib', '512')));
console.log(JSON.stringify(result));
