/**
 * Loss recovery as the sender: 64 MiB over a lossy, reordering link (a
 * FaultLink around a TAP device: 5 % loss and 5 % reordering each way by
 * default), once with wirestack sending to Linux and once with Linux sending
 * to wirestack, alternating, over the same link. The Linux side is socat in a
 * network namespace this script creates and removes (10.77.0.1/2 only).
 * Prints one JSON line: the times of each run, their medians, the ratio, and
 * the loss-recovery counters of wirestack's TCP.
 *
 *   node dist/bench/loss.js [--mib N] [--runs N] [--loss P] [--reorder P] [--cubic 0|1]
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '../src/stack.js';
import { ip, numberOption, sendBlocks, socatIn } from './tap-lab.js';
import { TapLink } from '../src/link/tap.js';
import { FaultLink } from '../src/link/fault-link.js';

const opt = numberOption;
const MIB = opt('mib', 64);
const RUNS = opt('runs', 3);
const LOSS = opt('loss', 0.05);
const REORDER = opt('reorder', 0.05);
const CUBIC = opt('cubic', -1);
const BYTES = MIB * 1024 * 1024;
const TIMEOUT_MS = opt('timeout', 240) * 1000;
const ns = `wstl-${process.pid}`;
const LINUX_IP = '10.77.0.1';
const STACK_IP = '10.77.0.2';

/** Linux sends the file to a wirestack server; seconds from accept to EOF. */
async function linuxSends(file: string): Promise<number> {
  let got = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve, reject) => {
    const server = stack.net.createServer((sock) => {
      t0 = performance.now();
      sock.on('data', (d: Buffer) => { got += d.length; });
      sock.on('error', reject);
      sock.on('end', () => {
        const seconds = (performance.now() - t0) / 1000;
        server.close();
        if (got !== BYTES) reject(new Error(`received ${got} of ${BYTES} bytes`));
        resolve(seconds);
      });
    });
    server.listen(5001, STACK_IP);
  });
  const client = socatIn(ns, ['-u', '-b131072', `OPEN:${file}`, `TCP:${STACK_IP}:5001`], false, TIMEOUT_MS);
  const r = await done;
  const code = await client.exited;
  if (code !== 0) throw new Error(`socat client exited ${code}`);
  return r;
}

/** wirestack sends to a socat sink; seconds from connect until socat closed after our EOF. */
async function wirestackSends(): Promise<number> {
  const sink = socatIn(ns, ['-u', '-b131072', `TCP-LISTEN:5002,bind=${LINUX_IP},reuseaddr`, 'OPEN:/dev/null'], true, TIMEOUT_MS);
  await sink.ready;
  const c = stack.net.connect(5002, LINUX_IP);
  await new Promise((r) => c.once('connect', r));
  const t0 = performance.now();
  // socat closes after reading our EOF: everything arrived.
  await sendBlocks(c, MIB, 0x5a);
  const seconds = (performance.now() - t0) / 1000;
  const code = await sink.exited;
  if (code !== 0) throw new Error(`socat sink exited ${code}`);
  return seconds;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

ip('netns', 'add', ns);
const work = mkdtempSync(join(tmpdir(), 'wirestack-bench-loss-'));
// Without offload: the faults must hit each wire frame, both ways. With it, the kernel coalesces
// Linux's segments into 64 KiB super-segments before the FaultLink sees them (GRO), so Linux's flow
// lost one frame in 20 of what ours lost, in bursts; and the stack's frames, cut to MSS size for the
// FaultLink (which offers no offload), met a 512-slot ring (offload's) instead of 4096.
const tap = TapLink.open(`wstl${process.pid % 100000}`, { mtu: 1500, offload: false });
const link = new FaultLink(tap, { loss: LOSS, reorder: REORDER, seed: 42 });
const stack = new Stack({
  maxTcpSockets: 4, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20, ...(CUBIC >= 0 ? { tcpCubic: CUBIC } : {}),
});
let failed = false;
try {
  const file = join(work, 'zeros.bin');
  writeFileSync(file, '');
  truncateSync(file, BYTES);
  tap.moveToNetns(ns, { hostAddress: `${LINUX_IP}/24` });
  stack.addInterface(link, { address: `${STACK_IP}/24` });
  stack.start();
  const ws: number[] = [];
  const lx: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    ws.push(await wirestackSends());
    lx.push(await linuxSends(file));
  }
  const tcp = stack.stats.tcp;
  const w = median(ws);
  const l = median(lx);
  console.log(JSON.stringify({
    mib: MIB, runs: RUNS, loss: LOSS, reorder: REORDER, cubic: stack.config.tcpCubic,
    wirestackS: ws, linuxS: lx, wirestackMedianS: w, linuxMedianS: l, ratio: w / l,
    retransmits: tcp.retransmits, rtoTimeouts: tcp.rtoTimeouts, tailLossProbes: tcp.tailLossProbes,
    rackLossMarked: tcp.rackLossMarked, rackReorderTimeouts: tcp.rackReorderTimeouts,
    spuriousRetransUndone: tcp.spuriousRetransUndone, dsacksReceived: tcp.dsacksReceived, prrRecoveries: tcp.prrRecoveries,
    faults: link.faults,
    // Frames the TAP link itself refused (its TX ring full: the stack then leaves the data unsent).
    tapDrops: tap.stats.drops,
  }));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  stack.stop();
  link.close();
  rmSync(work, { recursive: true, force: true });
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
}
process.exit(failed ? 1 : 0);
