/**
 * JIT warm-up of the TCP request/response path (issue #10, chatty client):
 * two stacks on a MemoryLink in virtual time, each exchange a corked 8-byte
 * header + 100-byte body (MSG_MORE, then the body) and a 4-byte reply. No
 * TAP, no kernel, no other process: only the stack's JavaScript and V8.
 *
 * In a fresh process V8 runs the stack's functions in its interpreter and
 * baseline tiers until each has spent enough "budget" (bytecode executed,
 * weighed against the function's whole bytecode length) to be optimized,
 * and the optimizing compiles cost CPU too. This prints the CPU per exchange
 * of the first exchanges as a ratio to the CPU per exchange once warm
 * (the last quarter of the run), both from this run, and with `--tiers` the
 * exchange after which each hot function was first seen optimized (the
 * benchmark then runs itself again under --allow-natives-syntax and
 * --no-concurrent-recompilation, so tier-up points do not depend on when a
 * background compile finishes). Prints one JSON line.
 *
 *   node dist/bench/warmup.js [--exchanges N] [--early N] [--tiers]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Stack, MemoryLink, Simulation, MSG_MORE } from '../src/index.js';
import { TcpInput } from '../src/engine/tcp/input.js';
import { TcpOutput } from '../src/engine/tcp/output.js';
import { TcpUser } from '../src/engine/tcp/user.js';
import { Rack } from '../src/engine/tcp/rack.js';
import { processData } from '../src/engine/tcp/input-data.js';
import { processAck } from '../src/engine/tcp/input-ack.js';

const argv = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const EXCHANGES = opt('exchanges', 3000);
const EARLY = opt('early', 1000);
if (!(EARLY > 0 && EARLY < EXCHANGES - Math.floor(EXCHANGES / 4))) throw new RangeError('--early must lie before the last quarter of --exchanges');
const TIERS = argv.includes('--tiers');
const CHILD = argv.includes('--child');

if (TIERS && !CHILD) {
  // Tier-up points need V8's natives syntax: run this script again with it (a benchmark flag, not the library's).
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation',
    fileURLToPath(import.meta.url), ...argv, '--child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  process.exit(r.status ?? 1);
}

/** The per-segment functions whose tier-up is reported (prototype methods are shared by all instances). */
const HOT: Record<string, unknown> = {
  'TcpInput.input': TcpInput.prototype.input,
  'TcpInput.segmentInput': (TcpInput.prototype as unknown as Record<string, unknown>).segmentInput,
  'TcpOutput.sendSegment': TcpOutput.prototype.sendSegment,
  'TcpOutput.sendData': (TcpOutput.prototype as unknown as Record<string, unknown>).sendData,
  'TcpOutput.transmit': TcpOutput.prototype.transmit,
  'TcpUser.send': TcpUser.prototype.send,
  'Rack.onAck': Rack.prototype.onAck,
  processAck,
  processData,
};

/** V8's OptimizationStatus bit for "optimized code" (src/runtime/runtime.h). */
const V8_OPTIMIZED = 1 << 4;
const status = CHILD ? new Function('f', 'return %GetOptimizationStatus(f);') as (f: unknown) => number : null;
const optimizedAt: Record<string, number> = {};

function checkTiers(exchange: number): void {
  if (status === null) return;
  for (const [name, fn] of Object.entries(HOT)) {
    if (optimizedAt[name] === undefined && (status(fn) & V8_OPTIMIZED) !== 0) optimizedAt[name] = exchange;
  }
}

const [la, lb] = MemoryLink.pair({ seed: 11 });
const a = new Stack({ seed: 101, arpReachableMs: 86400000 });
const b = new Stack({ seed: 202, arpReachableMs: 86400000 });
a.addInterface(la, { address: '10.0.0.1/24' });
b.addInterface(lb, { address: '10.0.0.2/24' });
const sim = new Simulation([a, b]);
sim.advance(1);
const lfd = b.sockets.socket('tcp');
b.sockets.bind(lfd, 0, 7070);
b.sockets.listen(lfd, 4);
const cfd = a.sockets.socket('tcp');
a.sockets.connect(cfd, '10.0.0.2', 7070);
let sfd = -1;
for (let i = 0; i < 1000 && (sfd < 0 || a.sockets.tcpState(cfd) !== 'ESTABLISHED'); i++) {
  sim.advance(1);
  if (sfd < 0) sfd = b.sockets.accept(lfd);
}
if (sfd < 0) throw new Error('no connection');
const header = new Uint8Array(8);
const body = new Uint8Array(100).fill(0x61);
const reply = new Uint8Array([0x4f, 0x4b, 0x0d, 0x0a]);
const buf = new Uint8Array(4096);

/** Advance virtual time until `fd` of `st` has read `want` bytes (bounded). */
function waitFor(st: Stack, fd: number, want: number): void {
  let got = 0;
  for (let k = 0; k < 200 && got < want; k++) {
    sim.advance(1);
    const n = st.sockets.recv(fd, buf, 0, buf.length);
    if (n > 0) got += n;
  }
  if (got !== want) throw new Error(`expected ${want} bytes, got ${got}`);
}

const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const lateFrom = EXCHANGES - Math.floor(EXCHANGES / 4);
let early = 0;
let late = 0;
let mark = cpuUs();
for (let i = 1; i <= EXCHANGES; i++) {
  a.sockets.send(cfd, header, 0, header.length, MSG_MORE);
  a.sockets.send(cfd, body, 0, body.length, 0);
  waitFor(b, sfd, header.length + body.length);
  b.sockets.send(sfd, reply, 0, reply.length, 0);
  waitFor(a, cfd, reply.length);
  if (i === EARLY) {
    early = cpuUs() - mark;
  }
  if (i === lateFrom) mark = cpuUs();
  if (i % 25 === 0) checkTiers(i);
}
late = cpuUs() - mark;
const earlyPer = early / EARLY;
const latePer = late / (EXCHANGES - lateFrom);
console.log(JSON.stringify({
  exchanges: EXCHANGES, early: EARLY,
  earlyCpuUsPerExchange: Math.round(earlyPer), warmCpuUsPerExchange: Math.round(latePer),
  earlyToWarm: +(earlyPer / latePer).toFixed(2),
  ...(status !== null ? { optimizedAt } : {}),
}));
