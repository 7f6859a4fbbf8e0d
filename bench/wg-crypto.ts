/**
 * WireGuard crypto micro-benchmark: the data path (sealInto/openInto of a
 * 1420-byte payload: WireGuard's default MTU, 1500 minus 80 bytes of outer
 * IPv6, UDP and WireGuard headers) and the handshake primitives, for both
 * suites.
 *
 *   node --expose-gc dist/bench/wg-crypto.js
 *   BENCH_SCALE=0.2 node --expose-gc dist/bench/wg-crypto.js    (quicker)
 *
 * Allocation per op is measured over a short run after a forced GC: JS heap
 * growth (heapUsed) and ArrayBuffer backing stores (memoryUsage().arrayBuffers,
 * where node:crypto's output Buffers live). If a scavenge ran inside that run
 * the heap figure is a lower bound and is marked with '>'.
 *
 * Then the batched data path (src/wireguard/batch.ts, native/wgcrypt.c):
 * ChaCha20-Poly1305 over batches of 64 packets on 1 crypt thread (the JS
 * thread alone) and on N (one per core), as MB/s of this process and the
 * ratio N / 1; and two batched devices back to back in virtual time moving
 * packets both ways, with the garbage collections that ran (the packet path
 * allocates nothing, so the goal is 0).
 */
import { performance } from 'node:perf_hooks';
import { fipsSuite, kdf, standardSuite, type WgSuite } from '../src/wireguard/crypto/index.js';
import { GcMeter, canForceGc } from './gc-meter.js';
import { nativeCrypter, defaultCryptThreads } from '../src/wireguard/crypt-native.js';
import { BATCH_SLOTS, JOB_WORDS } from '../src/wireguard/batch.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import { sendInitiation } from '../src/wireguard/send.js';
import type { DatagramReceiver, WgTransport } from '../src/wireguard/transport.js';

const SCALE = ((): number => {
  const v = Number(process.env.BENCH_SCALE ?? '1');
  return Number.isFinite(v) && v > 0 ? v : 1;
})();
const PAYLOAD = 1420;
const TAG = 16;

interface Figure { label: string; opsPerSec: number; heapPerOp: number; abPerOp: number; gcs: number }

function rate(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(i); // warm up (JIT)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - t0) / 1000);
}

async function allocation(m: number, fn: (i: number) => void, meter: GcMeter): Promise<[number, number, number]> {
  await meter.start();
  const ab0 = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < m; i++) fn(i);
  const ab1 = process.memoryUsage().arrayBuffers;
  const r = await meter.stop();
  return [r.heapDelta / m, (ab1 - ab0) / m, r.minor + r.major];
}

async function figure(label: string, n: number, fn: (i: number) => void, meter: GcMeter): Promise<Figure> {
  const opsPerSec = rate(Math.max(100, Math.round(n * SCALE)), fn);
  const [heapPerOp, abPerOp, gcs] = await allocation(Math.min(1000, Math.max(100, Math.round(n * SCALE / 10))), fn, meter);
  return { label, opsPerSec, heapPerOp, abPerOp, gcs };
}

async function benchSuite(s: WgSuite, meter: GcMeter): Promise<Figure[]> {
  const key = s.randomBytes(32);
  // The device's data path passes its keypair's handle (fips: the AES-GCM context, no key lookup).
  const h = s.keyHandle?.(key) ?? null;
  const buf = new Uint8Array(16 + PAYLOAD + TAG);
  buf.set(s.randomBytes(PAYLOAD), 16);
  const sealed = new Uint8Array(PAYLOAD + TAG);
  s.sealInto(key, 7, buf, 16, PAYLOAD, sealed, 0);
  const bad = sealed.slice();
  bad[PAYLOAD + TAG - 1] ^= 1;
  const out = new Uint8Array(PAYLOAD);
  const a = s.generatePrivateKey();
  const B = s.publicKey(s.generatePrivateKey());
  const ck = s.randomBytes(32);
  const input = s.randomBytes(32);
  const fast = s.name === 'standard' ? 1 : 0.5;
  const figs: Figure[] = [];
  figs.push(await figure(`${s.name} sealInto ${PAYLOAD} B (in place)`, 200_000 * fast, (i) => {
    s.sealInto(key, i, buf, 16, PAYLOAD, buf, 16, h);
  }, meter));
  if (h !== null) {
    // Without the handle: the context found by key array and its 32 bytes compared per packet.
    figs.push(await figure(`${s.name} sealInto ${PAYLOAD} B (key looked up)`, 200_000 * fast, (i) => {
      s.sealInto(key, i, buf, 16, PAYLOAD, buf, 16);
    }, meter));
  }
  figs.push(await figure(`${s.name} sealInto 1405..1420 B (length varies)`, 200_000 * fast, (i) => {
    s.sealInto(key, i, buf, 16, PAYLOAD - (i & 15), buf, 16, h);
  }, meter));
  figs.push(await figure(`${s.name} openInto ${PAYLOAD} B`, 200_000 * fast, () => {
    if (!s.openInto(key, 7, sealed, 0, PAYLOAD + TAG, out, 0, h)) throw new Error('openInto failed');
  }, meter));
  figs.push(await figure(`${s.name} openInto ${PAYLOAD} B, bad tag`, 100_000 * fast, () => {
    if (s.openInto(key, 7, bad, 0, PAYLOAD + TAG, out, 0, h)) throw new Error('openInto accepted a bad tag');
  }, meter));
  figs.push(await figure(`${s.name} dh`, 10_000, () => {
    if (s.dh(a, B) === null) throw new Error('dh failed');
  }, meter));
  figs.push(await figure(`${s.name} generatePrivateKey + publicKey`, 5_000, () => {
    s.publicKey(s.generatePrivateKey());
  }, meter));
  figs.push(await figure(`${s.name} kdf3`, 50_000, () => {
    kdf(s, ck, input, 3);
  }, meter));
  return figs;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  if (!canForceGc) console.log('(run with node --expose-gc for allocation figures after a clean GC)');
  const meter = new GcMeter();
  console.log(`wirestack WireGuard crypto, Node ${process.version}, scale ${SCALE}`);
  console.log(`${'operation'.padEnd(44)} ${'ops/s'.padStart(12)} ${'MB/s'.padStart(8)} ${'heap B/op'.padStart(10)} ${'ArrayBuf B/op'.padStart(14)}`);
  const rates = new Map<string, number>();
  for (const s of [standardSuite, fipsSuite]) {
    for (const f of await benchSuite(s, meter)) {
      rates.set(f.label, f.opsPerSec);
      const mbps = /Into/.test(f.label) ? fmt((f.opsPerSec * PAYLOAD) / 1e6) : '';
      const heap = (f.gcs > 0 ? '>' : '') + fmt(Math.max(0, f.heapPerOp));
      console.log(`${f.label.padEnd(44)} ${fmt(f.opsPerSec).padStart(12)} ${mbps.padStart(8)} ${heap.padStart(10)} ${fmt(Math.max(0, f.abPerOp)).padStart(14)}`);
    }
  }
  meter.close();
  // The fips suite's data path (AES-256-GCM on the addon's reused OpenSSL context, the keypair's handle) against the standard one, same run.
  for (const op of [`sealInto ${PAYLOAD} B (in place)`, `openInto ${PAYLOAD} B`]) {
    const std = rates.get(`standard ${op}`) ?? NaN;
    const fips = rates.get(`fips ${op}`) ?? NaN;
    console.log(`fips / standard ${op}: ${fmt(fips / std, 2)}×`);
  }
  const looked = rates.get(`fips sealInto ${PAYLOAD} B (key looked up)`) ?? NaN;
  console.log(`fips sealInto with the keypair's handle / with the key looked up: ${fmt((rates.get(`fips sealInto ${PAYLOAD} B (in place)`) ?? NaN) / looked, 2)}×`);
}

/** MB/s of sealing (or opening) batches of 64 × 1420 B on `threads` crypt threads, for `ms` of wall time. */
function batchRate(threads: number, open: boolean, ms: number): number {
  const c = nativeCrypter(threads);
  if (c === null) return NaN;
  const slot = 1500;
  const keys = standardSuite.randomBytes(32);
  const buf = new Uint8Array(BATCH_SLOTS * slot);
  const jobs = new Int32Array(BATCH_SLOTS * JOB_WORDS);
  const setJobs = (op: number): void => {
    for (let i = 0; i < BATCH_SLOTS; i++) jobs.set([op, 0, i, 0, i * slot, PAYLOAD, 0, 0], i * JOB_WORDS);
  };
  setJobs(0);
  c.run(keys, buf, jobs, BATCH_SLOTS);
  if (open) setJobs(1);
  const sealed = buf.slice();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (open) buf.set(sealed);
    for (let k = 0; k < 16; k++) {
      if (open && k > 0) break; // opening is in place: one run per restore
      if (c.run(keys, buf, jobs, BATCH_SLOTS) !== 0) throw new Error('batch crypt failed');
      n += BATCH_SLOTS;
    }
  }
  const dt = performance.now() - t0;
  c.close();
  return (n * PAYLOAD) / (dt / 1000) / 1e6;
}

class Pipe implements WgTransport {
  private rx: DatagramReceiver | null = null;
  other: Pipe | null = null;
  constructor(readonly port: number, private readonly address: number) {}
  send(b: Uint8Array, off: number, len: number): boolean {
    const o = this.other as Pipe;
    if (o.rx === null) return false;
    o.rx(b, off, len, this.address, this.port);
    return true;
  }
  setReceiver(rx: DatagramReceiver | null): void {
    this.rx = rx;
  }
  close(): void {
    this.rx = null;
  }
}

/** Two batched devices (N crypt threads) back to back, virtual time: `packets` each way; GCs in the measured part. */
async function batchedDevicesGc(packets: number, meter: GcMeter): Promise<{ packets: number; minor: number; major: number; mbps: number }> {
  const s = standardSuite;
  const aPriv = s.generatePrivateKey();
  const bPriv = s.generatePrivateKey();
  let now = 1000;
  const wallClock = (): number => 1_790_000_000_000 + now;
  const mk = (priv: Uint8Array): WireGuardDevice => new WireGuardDevice({ suite: s, privateKey: priv, wallClock, maxPeers: 1,
    maxAllowedIps: 1, batch: true, crypter: nativeCrypter(defaultCryptThreads()), receiveQueueBytes: 8 << 20 });
  const a = mk(aPriv);
  const b = mk(bPriv);
  a.txFlushHook = () => undefined;
  b.txFlushHook = () => undefined;
  const ta = new Pipe(1, 0x0a000001);
  const tb = new Pipe(2, 0x0a000002);
  ta.other = tb;
  tb.other = ta;
  a.attachTransport(ta);
  b.attachTransport(tb);
  a.addPeer({ publicKey: s.publicKey(bPriv), endpoint: { address: '10.0.0.2', port: 2 }, allowedIps: [{ address: '10.0.0.2', prefixLength: 32 }] });
  b.addPeer({ publicKey: s.publicKey(aPriv), endpoint: { address: '10.0.0.1', port: 1 }, allowedIps: [{ address: '10.0.0.1', prefixLength: 32 }] });
  let delivered = 0;
  const rx = { receiveFrame(): void { delivered++; } };
  const step = (): void => {
    a.poll(now, rx);
    a.flushTx();
    b.poll(now, rx);
    b.flushTx();
  };
  sendInitiation(a, a.peers[0], now, false);
  for (let i = 0; i < 4; i++) step();
  const pa = new Uint8Array(PAYLOAD);
  const pb = new Uint8Array(PAYLOAD);
  for (const [p, src, dst] of [[pa, 0x0a000001, 0x0a000002], [pb, 0x0a000002, 0x0a000001]] as const) {
    p[0] = 0x45;
    p[2] = PAYLOAD >> 8;
    p[3] = PAYLOAD & 0xff;
    new DataView(p.buffer).setInt32(12, src);
    new DataView(p.buffer).setInt32(16, dst);
  }
  const burst = (n: number): void => {
    for (let done = 0; done < n; done += 128) {
      for (let i = 0; i < 128; i++) {
        a.transmit(pa, 0, PAYLOAD, now);
        b.transmit(pb, 0, PAYLOAD, now);
      }
      step();
      step();
    }
  };
  packets = Math.ceil(packets / 128) * 128;
  burst(20_096); // warm up (JIT)
  await meter.start();
  const d0 = delivered;
  const t0 = performance.now();
  burst(packets);
  const dt = performance.now() - t0;
  const r = await meter.stop();
  const moved = delivered - d0;
  a.close();
  b.close();
  if (moved !== 2 * packets) throw new Error(`batched devices delivered ${moved} of ${2 * packets}`);
  return { packets: moved, minor: r.minor, major: r.major, mbps: (moved * PAYLOAD) / (dt / 1000) / 1e6 };
}

async function batchFigures(): Promise<void> {
  const n = defaultCryptThreads();
  const ms = Math.max(200, Math.round(1500 * SCALE));
  if (nativeCrypter(1) === null) {
    console.log('batched crypt: SKIPPED, the addon has no wgCrypt* (rebuild it)');
    return;
  }
  console.log(`\nbatched data path: ChaCha20-Poly1305 (OpenSSL) in batches of ${BATCH_SLOTS} × ${PAYLOAD} B; crypt threads 1 vs ${n} (one per core)`);
  for (const open of [false, true]) {
    const one = batchRate(1, open, ms);
    const many = batchRate(n, open, ms);
    const op = open ? 'open' : 'seal';
    console.log(`${`${op} 1 thread`.padEnd(20)} ${fmt(one).padStart(8)} MB/s`);
    console.log(`${`${op} ${n} threads`.padEnd(20)} ${fmt(many).padStart(8)} MB/s   ${fmt(many / one, 2)}× of 1 thread`);
  }
  const meter = new GcMeter();
  const g = await batchedDevicesGc(Math.max(20_000, Math.round(1_000_000 * SCALE)), meter);
  meter.close();
  console.log(`two batched devices (${n} crypt threads each), virtual time: ${fmt(g.packets)} packets of ${PAYLOAD} B, `
    + `${fmt(g.mbps)} MB/s, ${g.minor} minor / ${g.major} major GCs`);
}

await main();
await batchFigures();
