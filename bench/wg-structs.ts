/**
 * WireGuard data structures: allowed-IPs lookups/s over 1000 prefixes and
 * replay-window accepts/s, with the garbage collections seen while measuring
 * (both paths should allocate nothing).
 *
 *   node --expose-gc dist/bench/wg-structs.js      (--expose-gc optional: a cleaner GC baseline)
 */
import { pathToFileURL } from 'node:url';
import { Arena, MemoryPlan } from '../src/storage/arena.js';
import { AllowedIps } from '../src/wireguard/allowed-ips.js';
import { ReplayWindows } from '../src/wireguard/replay.js';
import { Prng } from '../src/engine/prng.js';
import { GcMeter, type GcResult } from './gc-meter.js';

export interface WgStructsResult {
  lookupsPerSec: number;
  lookupGc: GcResult;
  acceptsPerSec: number;
  acceptGc: GcResult;
}

export async function benchWgStructs(prefixes = 1000, lookups = 5_000_000, accepts = 5_000_000): Promise<WgStructsResult> {
  const plan = new MemoryPlan();
  AllowedIps.plan(plan, prefixes);
  ReplayWindows.plan(plan, 16);
  const arena = new Arena(plan);
  const table = new AllowedIps(arena, prefixes);
  const windows = new ReplayWindows(arena, 16);
  arena.finish();

  const rng = new Prng(0xbe4c);
  // A WireGuard-like mix: /32 per peer tunnel address, some /24 and /16 subnets, a default route.
  table.insert(0, 0, 0);
  for (let i = 1; i < prefixes; i++) {
    const r = rng.int(10);
    const len = r < 6 ? 32 : r < 9 ? 24 : 16;
    table.insert((10 << 24) | (rng.int(1 << 20) << 4), len, i % 500);
  }
  const addrs = new Int32Array(1 << 16);
  for (let i = 0; i < addrs.length; i++) addrs[i] = rng.int(2) === 0 ? rng.nextU32() | 0 : (10 << 24) | rng.int(1 << 24);

  const meter = new GcMeter();
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += table.lookup(addrs[i & 0xffff]); // JIT warm-up
  await meter.start();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) sink += table.lookup(addrs[i & 0xffff]);
  let ns = Number(process.hrtime.bigint() - t0);
  const lookupGc = await meter.stop();
  const lookupsPerSec = lookups / (ns / 1e9);

  // Mostly in order with a little reordering and duplication, over 16 slots.
  const limit = 2 ** 60;
  const next = new Float64Array(16);
  const step = (i: number): void => {
    const s = i & 15;
    const k = i % 97;
    const c = k === 0 ? next[s] - 50 : k === 1 ? next[s] - 1 : next[s]++;
    if (windows.accept(s, c < 0 ? 0 : c, limit)) sink++;
  };
  for (let i = 0; i < 200_000; i++) step(i);
  await meter.start();
  t0 = process.hrtime.bigint();
  for (let i = 0; i < accepts; i++) step(i);
  ns = Number(process.hrtime.bigint() - t0);
  const acceptGc = await meter.stop();
  const acceptsPerSec = accepts / (ns / 1e9);
  meter.close();
  if (!Number.isFinite(sink)) throw new Error('unreachable');
  return { lookupsPerSec, lookupGc, acceptsPerSec, acceptGc };
}

function fmt(n: number): string {
  return `${(n / 1e6).toFixed(2)} M/s`;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const r = await benchWgStructs();
  console.log(`allowed-ips lookup (1000 prefixes): ${fmt(r.lookupsPerSec)}  gc minor ${r.lookupGc.minor} major ${r.lookupGc.major}`);
  console.log(`replay accept (16 windows):         ${fmt(r.acceptsPerSec)}  gc minor ${r.acceptGc.minor} major ${r.acceptGc.major}`);
}
