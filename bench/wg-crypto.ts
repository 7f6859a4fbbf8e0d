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
 */
import { performance } from 'node:perf_hooks';
import { fipsSuite, kdf, standardSuite, type WgSuite } from '../src/wireguard/crypto/index.js';
import { GcMeter, canForceGc } from './gc-meter.js';

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

await main();
