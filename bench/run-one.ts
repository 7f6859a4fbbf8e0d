/**
 * Runs one scenario in this process and reports it; bench/index.ts starts one
 * of these per scenario so every loop gets a fresh JIT (type feedback from one
 * loop would otherwise change inlining, and so speed and garbage, in the next).
 *
 *   node --expose-gc dist/bench/run-one.js <kind> [--step ms] [--addr A,B] [--warm n] [--units n]
 *        [--alloc-units n] [--json]
 *
 * kind: ping56 | udp64 | udp1400 | rx64 | rx1472 | echo56 | echo1472 | fwd64 | fwd1472
 * --step: virtual ms added before each poll (default 0.001; 1 keeps time a small integer)
 * --addr: stack address and peer address (default 10.0.0.1,10.0.0.2)
 * --units 0 skips the timed run and only measures allocation per unit.
 * Handy for allocation hunting together with
 *   node --expose-gc --single-threaded --no-inline-new --print-opt-code dist/bench/run-one.js ...
 * (calls to AllocateRegularInYoungGeneration in the printed optimized code are the allocation sites).
 */
import { GcMeter, type GcResult } from './gc-meter.js';
import { RX_BATCH, defaultOptions, isScenarioKind, makeScenario, type Scenario, type ScenarioOptions } from './scenarios.js';

export interface RunResult {
  name: string;
  unit: string;
  units: number;
  packets: number;
  seconds: number;
  payloadBytesPerUnit: number;
  gc: GcResult | null;
  /** Bytes allocated per unit, from a short run in which no GC ran (null if every try saw a GC). */
  bytesPerUnit: number | null;
  options: ScenarioOptions;
}

/**
 * Exact allocation per unit: heapUsed growth over runs short enough that no GC
 * interrupts them (retried shorter when one did). The smaller of two clean runs
 * is kept, so a late JIT compilation in one of them does not count.
 */
async function bytesPerUnit(s: Scenario, units: number, meter: GcMeter): Promise<number | null> {
  let n = units;
  let best: number | null = null;
  let clean = 0;
  for (let attempt = 0; attempt < 8 && clean < 2; attempt++) {
    await meter.start();
    s.run(n);
    const r = await meter.stop();
    if (r.minor + r.major + r.other === 0) {
      const b = r.heapDelta / n;
      if (best === null || b < best) best = b;
      clean++;
    } else {
      n = Math.max(RX_BATCH, Math.floor(n / 4));
    }
  }
  return best;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function num(args: string[], name: string, def: number): number {
  const v = arg(args, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} needs a number >= 0, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const kind = args[0] ?? '';
  if (!isScenarioKind(kind)) throw new Error(`usage: run-one.js <kind> [options]; unknown kind '${kind}'`);
  const o: ScenarioOptions = { ...defaultOptions };
  o.step = num(args, '--step', o.step);
  if (o.step <= 0) throw new Error('--step must be > 0');
  // With whole-ms steps the virtual clock races ahead: keep neighbours from expiring mid-run.
  // Long runs at 1 ms per poll span many virtual minutes: keep neighbours from expiring mid-run.
  if (o.step >= 1) o.config = { arpReachableMs: 86_400_000 };
  const addr = arg(args, '--addr');
  if (addr !== undefined) {
    const [a, b] = addr.split(',');
    o.addrA = a;
    o.addrB = b;
  }
  const warm = num(args, '--warm', 50_000);
  const units = num(args, '--units', 200_000);
  const allocUnits = num(args, '--alloc-units', 20_000);

  const s = makeScenario(kind, o);
  const meter = new GcMeter();
  s.run(warm);
  let gc: GcResult | null = null;
  let seconds = 0;
  let done = 0;
  if (units > 0) {
    await meter.start();
    const before = s.completed();
    const t0 = performance.now();
    s.run(units);
    const t1 = performance.now();
    gc = await meter.stop();
    seconds = (t1 - t0) / 1000;
    done = s.completed() - before;
  }
  const bpu = allocUnits > 0 ? await bytesPerUnit(s, allocUnits, meter) : null;
  meter.close();
  const problem = s.check();
  if (problem !== null) throw new Error(`${s.name}: ${problem}`);
  const result: RunResult = {
    name: s.name, unit: s.unit, units: done, packets: done * s.packetsPerUnit, seconds,
    payloadBytesPerUnit: s.payloadBytesPerUnit, gc, bytesPerUnit: bpu, options: o,
  };
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const rate = done > 0 ? `${(done / seconds).toFixed(0)} ${s.unit}s/s, ` : '';
    const g = gc === null ? '' : `${gc.minor} minor + ${gc.major} major GCs, heapUsed Δ ${gc.heapDelta} B, `;
    console.log(`${s.name} (${o.addrB} -> ${o.addrA}, clock +${o.step} ms/poll): ${done} ${s.unit}s in ${seconds.toFixed(2)} s, `
      + `${rate}${g}${bpu === null ? 'alloc n/a' : `${bpu.toFixed(2)} B allocated per ${s.unit}`}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
