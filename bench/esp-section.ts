/**
 * The IPsec ESP section of `npm run bench` (bench/index.ts), in its own
 * module: each run is a fresh process of bench/esp.ts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a section module borrows from bench/index.ts: the scale and its output helpers. */
export interface SectionIo {
  scale: number;
  fmt: (n: number | null, digits?: number) => string;
  printTable: (headers: string[], rows: string[][], leftCols?: number) => void;
  progress: (msg: string) => void;
}

/** Alternating pairs per ratio, and the least measuring time of each run (seconds). */
const ESP_ROUNDS = 3;
const ESP_MIN_SECONDS = 1.5;

/**
 * IPsec ESP: the same TCP bulk with every packet in ESP transport mode (AES-GCM, AES-CBC and HMAC on the
 * addon's reused OpenSSL contexts) against node:crypto (cipher and HMAC objects per packet) in the same run.
 * The two ratios are medians of alternating pairs of fresh processes, each measuring for at least
 * ESP_MIN_SECONDS: a single short pair (0.2 s at scale 0.2) moved with every scheduling hiccup.
 */
export function espSection(io: SectionIo): void {
  const { fmt, printTable, progress } = io;
  const espScript = fileURLToPath(new URL('./esp.js', import.meta.url));
  const mib = String(Math.max(32, Math.round(256 * io.scale)));
  const run = (suite: string): Record<string, number | string> => {
    const args = suite === 'gcm-node' ? ['gcm', '--gcm', 'node'] : suite === 'cbc-node' ? ['cbc', '--cbc', 'node'] : [suite];
    const r = spawnSync(process.execPath, ['--expose-gc', espScript, ...args, '--mib', mib, '--min-seconds', String(ESP_MIN_SECONDS)],
      { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`esp bench ${suite} failed:\n${r.stderr}`);
    progress(`esp bulk ${suite}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number | string>;
  };
  const rows: string[][] = [];
  const row = (e: Record<string, number | string>, note: string): void => {
    rows.push([`${String(e.suite)}${note}`, fmt(Number(e.bytes) / 2 ** 20), fmt(Number(e.seconds), 2), fmt(Number(e.gbps), 2),
      fmt(Number(e.cpuSecondsPerGB), 2), fmt(Number(e.espPackets)), fmt(Number(e.gcMinor)), fmt(Number(e.retransmits))]);
  };
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const pairs: Array<[string, string, string]> = [
    ['gcm', 'gcm-node', 'AES-128-GCM on the addon (one call per packet on a reused OpenSSL context)'],
    ['cbc', 'cbc-node', 'AES-128-CBC + HMAC-SHA256 on the addon\'s reused OpenSSL contexts'],
  ];
  const lines: string[] = [];
  for (const [fast, base, label] of pairs) {
    const byRate: number[] = [];
    const byCpu: number[] = [];
    for (let round = 0; round < ESP_ROUNDS; round++) {
      const b = run(base);
      const f = run(fast);
      row(b, ` (pair ${round + 1})`);
      row(f, ` (pair ${round + 1})`);
      byRate.push(Number(f.gbps) / Number(b.gbps));
      byCpu.push(Number(b.cpuSecondsPerGB) / Number(f.cpuSecondsPerGB));
    }
    const spread = (xs: number[]): string => `${fmt(Math.min(...xs), 2)}..${fmt(Math.max(...xs), 2)}`;
    lines.push(`${label}: ${fmt(med(byRate), 2)}× node:crypto's throughput (median of ${ESP_ROUNDS} alternating pairs, `
      + `spread ${spread(byRate)}); by CPU per GB ${fmt(med(byCpu), 2)}× (spread ${spread(byCpu)})`);
  }
  for (const suite of ['gcm256', 'null']) row(run(suite), '');
  console.log('IPsec ESP transport mode, TCP bulk between two stacks in one process (encrypt + decrypt on one core, MTU 1500)');
  printTable(['suite', 'MiB', 'seconds', 'Gbit/s', 'CPU s/GB', 'ESP packets', 'minor GCs', 'retransmits'], rows);
  for (const l of lines) console.log(l);
  console.log('');
}
