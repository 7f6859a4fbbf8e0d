/**
 * The WireGuard device's data path by family, in one process and one run:
 * inner IPv4 or IPv6 packets, outer IPv4 or IPv6 endpoint. Two devices are
 * joined by a synchronous in-memory transport (no sockets, no stack), so the
 * figures are the device's own work: allowed-IPs lookup by version nibble,
 * encrypt, the transport hand-over (an IPv6 source rides behind its datagram
 * in the receive queue), decrypt, replay check, inner source check. Each
 * figure is a ratio against IPv4-in-IPv4 measured in the same run; GCs and
 * heap bytes per packet are counted (run with --expose-gc).
 *
 *   node --expose-gc dist/bench/wg-v6.js [--packets N] [--json]
 */
import { parseArgs } from 'node:util';
import { getSuite } from '../src/wireguard/crypto/index.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import type { DatagramReceiver, WgTransport } from '../src/wireguard/transport.js';
import type { FrameReceiver } from '../src/link/link.js';
import { GcMeter, canForceGc } from './gc-meter.js';

const PAYLOAD = 1400;

class DirectTransport implements WgTransport {
  peer: DirectTransport | null = null;
  receiver: DatagramReceiver | null = null;
  readonly addr6 = new Uint8Array(16);
  /** The family this side's datagrams come from. */
  family: 4 | 6 = 4;
  constructor(readonly port: number, readonly addr4: number, last: number) {
    this.addr6[0] = 0xfd;
    this.addr6[15] = last;
  }
  send(b: Uint8Array, off: number, len: number): boolean {
    return this.deliver(b, off, len);
  }
  send6(b: Uint8Array, off: number, len: number): boolean {
    return this.deliver(b, off, len);
  }
  private deliver(b: Uint8Array, off: number, len: number): boolean {
    const to = this.peer as DirectTransport;
    const rx = to.receiver;
    if (rx === null) return false;
    if (this.family === 6) rx(b, off, len, 0, this.port, this.addr6);
    else rx(b, off, len, this.addr4, this.port);
    return true;
  }
  setReceiver(rx: DatagramReceiver | null): void { this.receiver = rx; }
  close(): void {}
}

function packet(v6: boolean): Uint8Array {
  const p = new Uint8Array(PAYLOAD);
  if (v6) {
    p[0] = 0x60;
    p[4] = (PAYLOAD - 40) >> 8;
    p[5] = (PAYLOAD - 40) & 0xff;
    p[6] = 59;
    p[7] = 64;
    p[8] = 0xfd; p[23] = 1; // fd00::1
    p[24] = 0xfd; p[39] = 2; // fd00::2
  } else {
    p[0] = 0x45;
    p[2] = PAYLOAD >> 8;
    p[3] = PAYLOAD & 0xff;
    p[8] = 64;
    p[9] = 253;
    p.set([10, 9, 0, 1, 10, 9, 0, 2], 12);
  }
  return p;
}

interface Row { inner: number; outer: number; pps: number; gcs: number; heapPerPacket: number; delivered: number }

async function measure(inner: 4 | 6, outer: 4 | 6, n: number, meter: GcMeter): Promise<Row> {
  const suite = getSuite('standard');
  const ka = suite.generatePrivateKey();
  const kb = suite.generatePrivateKey();
  const ta = new DirectTransport(51820, 0x0a000001, 1);
  const tb = new DirectTransport(51821, 0x0a000002, 2);
  ta.peer = tb;
  tb.peer = ta;
  ta.family = outer;
  tb.family = outer;
  const A = new WireGuardDevice({ suite, privateKey: ka });
  const B = new WireGuardDevice({ suite, privateKey: kb });
  A.attachTransport(ta);
  B.attachTransport(tb);
  A.addPeer({ publicKey: suite.publicKey(kb), endpoint: outer === 6 ? { address: 'fd00::2', port: 51821 } : { address: '10.0.0.2', port: 51821 },
    allowedIps: [{ address: '10.9.0.0', prefixLength: 24 }, { address: 'fd00::', prefixLength: 64 }] });
  B.addPeer({ publicKey: suite.publicKey(ka), allowedIps: [{ address: '10.9.0.1', prefixLength: 32 }, { address: 'fd00::1', prefixLength: 128 }] });
  let delivered = 0;
  const rx: FrameReceiver = { receiveFrame: () => { delivered++; } };
  const p = packet(inner === 6);
  let now = 1;
  A.transmit(p, 0, p.length, now);
  for (let i = 0; i < 10; i++) {
    now++;
    A.poll(now, rx);
    B.poll(now, rx);
  }
  if (delivered !== 1) throw new Error(`handshake failed (${inner} in ${outer})`);
  const step = (): void => {
    A.transmit(p, 0, p.length, now);
    B.poll(now, rx);
  };
  for (let i = 0; i < 2000; i++) step(); // warm up (JIT)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const pps = n / ((performance.now() - t0) / 1000);
  const m = Math.min(n, 20_000);
  await meter.start();
  for (let i = 0; i < m; i++) step();
  const r = await meter.stop();
  const st = B.stats;
  if (st.rxBadSourceIp + st.rxBadPacket + st.rxReplay + A.stats.drops !== 0) throw new Error(`drops: ${JSON.stringify(st)}`);
  return { inner, outer, pps, gcs: r.minor + r.major, heapPerPacket: r.heapDelta / m, delivered };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { packets: { type: 'string', default: '100000' }, json: { type: 'boolean', default: false } } });
  const n = Number(values.packets);
  const meter = new GcMeter();
  const rows: Row[] = [];
  for (const [inner, outer] of [[4, 4], [6, 4], [4, 6], [6, 6]] as const) rows.push(await measure(inner, outer, n, meter));
  meter.close();
  const base = rows[0].pps;
  if (values.json) {
    console.log(JSON.stringify(rows.map((r) => ({ ...r, ratio: r.pps / base }))));
    return;
  }
  if (!canForceGc) console.log('(run with node --expose-gc for the heap figures after a clean GC)');
  console.log(`WireGuard device data path, ${PAYLOAD}-byte inner packets, ${n} per figure (encrypt + decrypt on one core)`);
  for (const r of rows) {
    console.log(`  IPv${r.inner} in IPv${r.outer}: ${Math.round(r.pps).toLocaleString('en-US')} packets/s `
      + `(${(r.pps / base).toFixed(3)}× IPv4 in IPv4), GCs ${r.gcs}, heap ${Math.max(0, r.heapPerPacket).toFixed(1)} B/packet`);
  }
}

await main();
