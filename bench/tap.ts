/**
 * TCP throughput between wirestack on a TAP device and the Linux kernel's
 * stack, each way, plus ping RTT. Needs root, /dev/net/tun and socat;
 * everything runs against a network namespace this script creates and
 * removes (only 10.76.0.1/2 inside it). Prints one JSON line.
 *
 * The Linux-side peers are socat (a lighter peer than a Node script on a
 * machine with few cores): a sparse file of N MiB is sent to wirestack, and
 * wirestack's bytes go to /dev/null. Both directions are timed on the
 * wirestack side; the CPU seconds per GB are this process's (user + system,
 * which includes the kernel's work behind our TAP reads and writes), and
 * how much of it the JS thread and the TAP I/O threads took.
 *
 *   node dist/bench/tap.js [--mib N] [--runs N] [--mtu N] [--threads 0|1] [--handoff 0|1] [--ring SLOTS]
 *                          [--offload 0|1] [--veth 1] [--warmup MIB] [--parts in,onread,recv,node,out]
 *
 * MTU default 1500; up to 9000, the stack's maxMtu limit. --threads picks
 * TapLink's I/O mode (default: TapLink's default); the threaded mode also
 * reports the I/O threads' counters; --handoff 0 turns its quiet-device
 * hand-off to the JS thread off (TapLinkOptions.rxHandoff). --offload picks
 * TapLink's offload (IFF_VNET_HDR, TSO/GRO; default: TapLink's default);
 * the stack's super-segment counters are reported. --veth 1 also measures,
 * in each run between the TAP runs, Linux <-> Linux over a veth between two
 * more namespaces with iperf3 (2 s each way): the same-run baseline of the
 * goal "TCP over TAP each way >= 25 % of Linux <-> Linux over veth".
 *
 * Linux -> stack is measured three times per run: through stack.net ('data'
 * events, a Buffer per chunk: what a Node application gets; the headline
 * figure), through stack.net with the server's `onread` option (each chunk
 * copied into one reused 128 KiB buffer: no Buffer, so no GC, per chunk):
 * inOnreadGbps, ..., and through the descriptor API (accept, then recv() into one
 * 128 KiB buffer, iperf3's default read size, as iperf3 itself and a BSD
 * sockets stack such as wolfIP read): inRecvGbps, inRecvCpuSPerGB, ...
 * The 'data' transfer also reports its frames sent per MiB (the ACKs),
 * its major GCs, its GC pause ms per GB and its minor page faults per MiB
 * (inTxFramesPerMiB, inGcMajor, inGcMsPerGB, inFaultsPerMiB): each 'data'
 * Buffer is an ArrayBuffer of its own (a malloc, whose pages glibc may have
 * trimmed and the kernel faults in again), and V8 starts a major GC for
 * every few tens of MiB of them. Why (Node 20, V8 11.3; --trace-gc
 * --trace-incremental-marking): V8 counts the external bytes allocated
 * since the last mark-compact against the old generation's limit
 * (Heap::OldGenerationSpaceAvailable), which it sets ~16 MiB above a small
 * old generation; young ArrayBuffers are freed only by the scavenge V8
 * forces after 32 MiB of them ("external memory pressure"), and every such
 * scavenge is followed at once by "Start (allocation limit)" and a
 * mark-compact: V8 checks the limit right after the scavenge, while its
 * background thread is still sweeping the dead Buffers, so their 32 MiB
 * still count. With --no-concurrent-array-buffer-sweeping (swept inside the
 * scavenge) the mark-compacts go: 1-2 per GiB instead of 11-29 in a loop
 * of Buffers, 0-4 per GB of 'data' here instead of 26, CPU 0.9 s/GB
 * instead of 1.9 (the section runs it as a diagnostic: a process-wide flag
 * is the application's choice). Below 8 MiB of old generation (V8's incremental-marking
 * activation threshold) none start: a bare Node process stays under it,
 * this package loaded puts it over (~9-10 MiB), as any real application is.
 * The count follows the bytes, not the chunks (4, 16 and 64 KiB Buffers,
 * or 1 MiB slabs cut into views, all gave 18-30 major GCs per GiB), and
 * Node's own net server gets the same in such a process (part 'node' below;
 * 64 KiB reads: 12-26 per GB and 2.3-3.5 CPU s/GB over loopback, against 0
 * and 0.9 in a bare process). In the library, only no fresh Buffer per
 * chunk (onread, recv()) avoids it; a pool of Buffers returned through a
 * FinalizationRegistry did not (its slots came back only after
 * mark-compacts: a 64 MiB pool served 60 % of the chunks, CPU unchanged).
 *
 * --parts node: the same stream into Node's own net server in this process
 * over loopback (socat from the launcher), 'data' as Node delivers it:
 * inNodeNetGbps, inNodeNetCpuSPerGB, inNodeNetGcMajor, ... Not the stack:
 * what fresh Buffers cost this process, beside the stack's 'data' figures.
 *
 * --warmup N (default 128; 0: none): one transfer of N MiB each way (and
 * one through each other measured inbound path) before the measured runs,
 * not counted in them (the 'data' one's rate is reported as inColdGbps).
 * iperf3 over the veth measures the kernel in its steady state for 2 s;
 * without a warm-up the stack's first runs (51 MiB each at the
 * bench's default scale, ~0.1 s) measured process start-up instead: code
 * still in V8's interpreter and baseline tiers, and a malloc heap and free
 * lists still growing (page faults): the JS thread took 5-8 s per GB there, ~1 once warm.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNodeServer, type AddressInfo, type Socket as NodeSocket } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Stack } from '../src/stack.js';
import { Launcher, ip, numberOption, sendBlocks } from './tap-lab.js';
import { TapLink } from '../src/link/tap.js';
import { EV_CLOSED, EV_ERROR, EV_READABLE } from '../src/socket/api.js';
import { Errno } from '../src/engine/errno.js';

const opt = numberOption;
const MIB = opt('mib', 256);
const RUNS = opt('runs', 3);
const MTU = opt('mtu', 1500);
const THREADS = opt('threads', -1);
const RING = opt('ring', 0);
const HANDOFF = opt('handoff', -1);
const OFFLOAD = opt('offload', -1);
const VETH = opt('veth', 0) === 1;
const WARMUP = opt('warmup', 128);
/** --parts in,onread,recv,node,out (default all five): which measured transfers each run makes (e.g. `--parts in` to profile the 'data' path alone). */
const PARTS = (((i) => (i >= 0 ? process.argv[i + 1] : undefined))(process.argv.indexOf('--parts')) ?? 'in,onread,recv,node,out').split(',');
const BYTES = MIB * 1024 * 1024;
const ns = `wstb-${process.pid}`;
const LINUX_IP = '10.76.0.1';
const STACK_IP = '10.76.0.2';

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function sysSeconds(): number {
  return process.cpuUsage().system / 1e6;
}

const TICKS_PER_S = 100; // USER_HZ
/** CPU seconds (user + system) of the JS thread and of the TAP I/O threads, from /proc (10 ms resolution). */
function threadSeconds(): { main: number; io: number } {
  let main = 0;
  let io = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' '); // f[0] is field 3 (state); utime, stime are fields 14, 15
    const secs = (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
    if (Number(tid) === process.pid) main += secs;
    else if (comm.startsWith('wirestack-')) io += secs;
  }
  return { main, io };
}

/** Major (mark-compact) GCs and all GC pause time of this process so far (PerformanceObserver 'gc' entries). */
const gcSeen = { major: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcSeen.ms += e.duration;
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcSeen.major++;
  }
}).observe({ entryTypes: ['gc'] });

/** One direction's figures: wall-clock rate, and this process's CPU (all, and kernel part) per GB. */
interface Dir {
  gbps: number;
  cpuPerGB: number;
  sysPerGB: number;
  /** The JS thread's part of cpuPerGB. */
  mainPerGB: number;
  /** The TAP I/O threads' part (threaded mode). */
  ioPerGB: number;
  /** Frames the stack sent per MiB moved (inbound: its ACKs). */
  txFramesPerMiB: number;
  /** Major GCs, and GC pause ms per GB, during the transfer (entries reported by then). */
  gcMajor: number;
  gcMsPerGB: number;
  /** Minor page faults of this process per MiB moved (first touch of fresh or trimmed malloc memory). */
  faultsPerMiB: number;
}

/** Reads the clocks at the start of a measured transfer; the function returned reads them again at its end. */
function startMeter(): (bytes: number) => Dir {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const s0 = sysSeconds();
  const th0 = threadSeconds();
  const tx0 = tap.stats.txFrames;
  const gc0 = { ...gcSeen };
  const f0 = process.resourceUsage().minorPageFault;
  return (bytes) => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - c0;
    const sys = sysSeconds() - s0;
    const th = threadSeconds();
    const gb = bytes / 1e9;
    return { gbps: (gb * 8) / seconds, cpuPerGB: cpu / gb, sysPerGB: sys / gb, mainPerGB: (th.main - th0.main) / gb, ioPerGB: (th.io - th0.io) / gb,
      txFramesPerMiB: (tap.stats.txFrames - tx0) / (bytes / 2 ** 20), gcMajor: gcSeen.major - gc0.major, gcMsPerGB: (gcSeen.ms - gc0.ms) / gb,
      faultsPerMiB: (process.resourceUsage().minorPageFault - f0) / (bytes / 2 ** 20) };
  };
}

/** One receive buffer for the onread transfer (iperf3's default read size, as the recv() one). */
const onreadBuf = new Uint8Array(128 * 1024);

/**
 * Linux -> stack through stack.net: 'data' events (a Buffer per chunk), or
 * with `onread` the server's option (each chunk copied into one reused
 * buffer, no Buffer per chunk; an extension of Node's API, see net-onread.ts).
 */
async function inbound(file: string, bytes = BYTES, onread = false): Promise<Dir> {
  let got = 0;
  const done = new Promise<Dir>((resolve, reject) => {
    const opts = onread ? { onread: { buffer: onreadBuf, callback: (n: number) => { got += n; } } } : {};
    const server = stack.net.createServer(opts, (sock) => {
      const meter = startMeter();
      if (!onread) sock.on('data', (d: Buffer) => { got += d.length; });
      sock.on('error', reject);
      sock.on('end', () => {
        const r = meter(got);
        server.close();
        if (got !== bytes) reject(new Error(`received ${got} of ${bytes} bytes`));
        resolve(r);
      });
    });
    server.listen(5001, STACK_IP);
  });
  const client = launcher.socatIn(ns, ['-u', '-b131072', `OPEN:${file}`, `TCP:${STACK_IP}:5001`], false, 120_000);
  const r = await done;
  const code = await client.exited;
  if (code !== 0) throw new Error(`socat client exited ${code}`);
  return r;
}

/**
 * The same stream into Node's own `net` server in this process, over
 * loopback (socat from the launcher, no namespace): 'data' with a fresh
 * Buffer per read as Node delivers it. Not the stack: the figure shows what
 * fresh Buffers cost this process (its major GCs, see the header), beside
 * the stack's 'data' path.
 */
async function inboundNodeNet(file: string, bytes = BYTES): Promise<Dir> {
  let got = 0;
  const server = createNodeServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const done = new Promise<Dir>((resolve, reject) => {
    server.once('connection', (sock: NodeSocket) => {
      const meter = startMeter();
      sock.on('data', (d: Buffer) => { got += d.length; });
      sock.on('error', reject);
      sock.on('end', () => {
        const r = meter(got);
        server.close();
        if (got !== bytes) reject(new Error(`Node net: received ${got} of ${bytes} bytes`));
        resolve(r);
      });
    });
  });
  const client = launcher.run(['socat', '-u', '-b131072', `OPEN:${file}`, `TCP:127.0.0.1:${port}`], 120_000);
  const r = await done;
  const code = await client.exited;
  if (code !== 0) throw new Error(`socat client exited ${code}`);
  return r;
}

/** Linux -> stack through the descriptor API: recv() into one reused 128 KiB buffer until EOF. */
async function inboundRecv(file: string, bytes = BYTES): Promise<Dir> {
  const api = stack.net.api;
  const buf = new Uint8Array(128 * 1024);
  const lfd = api.socket('tcp');
  if (api.bind(lfd, STACK_IP, 5004) < 0 || api.listen(lfd) < 0) throw new Error('recv bench: bind/listen failed');
  let got = 0;
  const done = new Promise<Dir>((resolve, reject) => {
    api.setCallback(lfd, () => {
      const c = api.accept(lfd);
      if (c < 0) return;
      api.setCallback(lfd, null);
      api.close(lfd);
      const meter = startMeter();
      api.setCallback(c, (_fd, ev) => {
        if ((ev & (EV_READABLE | EV_CLOSED | EV_ERROR)) === 0) return;
        for (;;) {
          const n = api.recv(c, buf, 0, buf.length);
          if (n > 0) {
            got += n;
            continue;
          }
          if (n === -Errno.EAGAIN) return;
          const r = meter(got);
          api.setCallback(c, null);
          api.close(c);
          if (n < 0) reject(new Error(`recv: errno ${-n}`));
          else if (got !== bytes) reject(new Error(`received ${got} of ${bytes} bytes`));
          resolve(r);
          return;
        }
      });
    });
  });
  const client = launcher.socatIn(ns, ['-u', '-b131072', `OPEN:${file}`, `TCP:${STACK_IP}:5004`], false, 120_000);
  const r = await done;
  const code = await client.exited;
  if (code !== 0) throw new Error(`socat client exited ${code}`);
  return r;
}

async function outbound(mib = MIB): Promise<Dir> {
  const sink = launcher.socatIn(ns, ['-u', '-b131072', `TCP-LISTEN:5002,bind=${LINUX_IP},reuseaddr`, 'OPEN:/dev/null'], true, 120_000);
  await sink.ready;
  const c = stack.net.connect(5002, LINUX_IP);
  await new Promise((r) => c.once('connect', r));
  const meter = startMeter();
  // socat closes after reading our EOF: everything arrived.
  await sendBlocks(c, mib, 0);
  const r = meter(mib << 20);
  const code = await sink.exited;
  if (code !== 0) throw new Error(`socat sink exited ${code}`);
  return r;
}

/** Run `ping` in the namespace; resolves with its stdout. */
function ping(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-c', '50', '-i', '0.01', '-q', STACK_IP], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => { clearTimeout(timer); resolve(out); });
  });
}

/** Linux <-> Linux over a veth (namespaces nsA, nsB): iperf3 server in B. */
const nsA = `${ns}-va`;
const nsB = `${ns}-vb`;
let iperfServer: ChildProcess | null = null;

function vethUp(): void {
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('link', 'add', 'wstbva', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'wstbvb', 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', '10.75.0.1/24', 'dev', 'wstbva');
  ip('-n', nsB, 'addr', 'add', '10.75.0.2/24', 'dev', 'wstbvb');
  ip('-n', nsA, 'link', 'set', 'wstbva', 'up');
  ip('-n', nsB, 'link', 'set', 'wstbvb', 'up');
  iperfServer = spawn('ip', ['netns', 'exec', nsB, 'iperf3', '-s', '-B', '10.75.0.2', '-p', '5201'], { stdio: 'ignore' });
}

/** One iperf3 run over the veth, A -> B (reverse: B -> A); Gbit/s. */
async function veth(reverse: boolean): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const job = launcher.run(['ip', 'netns', 'exec', nsA, 'iperf3', '-c', '10.75.0.2', '-p', '5201', '-t', '2', '-J', ...(reverse ? ['-R'] : [])], 30_000);
    const out = { code: await job.exited, stdout: job.stdout() };
    if (out.code === 0) {
      // iperf3 may report an error (a busy server) in its JSON with status 0: then try again too.
      let j: { end?: { sum_received?: { bytes: number; seconds: number } } } = {};
      try {
        j = JSON.parse(out.stdout) as typeof j;
      } catch {
        // not JSON: try again
      }
      const r = j.end?.sum_received;
      if (r !== undefined && r.seconds > 0) return (r.bytes * 8) / r.seconds / 1e9;
    }
    if (attempt >= 20) throw new Error(`iperf3 over the veth failed: ${out.stdout.slice(-300)}`);
    await new Promise((r) => setTimeout(r, 250)); // server not up yet, or finishing the previous test
  }
}

// Peers and iperf3 start from this shell: the measuring process must not fork between its runs (see Launcher).
const launcher = new Launcher();
ip('netns', 'add', ns);
const work = mkdtempSync(join(tmpdir(), 'wirestack-bench-tap-'));
const tap = TapLink.open(`wstb${process.pid % 100000}`, { mtu: MTU, ...(THREADS >= 0 ? { threads: THREADS === 1 } : {}), ...(RING > 0 ? { ringSlots: RING } : {}),
  ...(HANDOFF >= 0 ? { rxHandoff: HANDOFF === 1 } : {}), ...(OFFLOAD >= 0 ? { offload: OFFLOAD === 1 } : {}) });
const stack = new Stack({ maxMtu: Math.max(1500, MTU), maxTcpSockets: 4, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
let failed = false;
try {
  const file = join(work, 'zeros.bin');
  writeFileSync(file, '');
  truncateSync(file, BYTES); // sparse: reading it costs no disk
  tap.moveToNetns(ns, { hostAddress: `${LINUX_IP}/24` });
  stack.addInterface(tap, { address: `${STACK_IP}/24` });
  stack.start();
  const result: Record<string, number | boolean> = { mib: MIB, runs: RUNS, mtu: MTU, threads: tap.threaded, offload: tap.offload !== null };
  if (VETH) vethUp();
  if (WARMUP > 0) {
    // Not measured: see --warmup in the header.
    const cold = join(work, 'warmup.bin');
    writeFileSync(cold, '');
    truncateSync(cold, WARMUP << 20);
    result.inColdGbps = (await inbound(cold, WARMUP << 20)).gbps;
    // Each measured path warms its own code too: the onread and recv() runs 1 were measured cold (1-2 Gbit/s, then 4-8).
    if (PARTS.includes('onread')) result.inOnreadColdGbps = (await inbound(cold, WARMUP << 20, true)).gbps;
    if (PARTS.includes('recv')) result.inRecvColdGbps = (await inboundRecv(cold, WARMUP << 20)).gbps;
    if (PARTS.includes('node')) result.inNodeNetColdGbps = (await inboundNodeNet(cold, WARMUP << 20)).gbps;
    if (PARTS.includes('out')) result.outColdGbps = (await outbound(WARMUP)).gbps;
  }
  for (let run = 1; run <= RUNS; run++) {
    if (VETH) {
      result[`vethGbps${run}`] = await veth(false);
      result[`vethRevGbps${run}`] = await veth(true);
    }
    if (PARTS.includes('in')) {
      const i = await inbound(file);
      result[`inGbps${run}`] = i.gbps;
      result[`inCpuSPerGB${run}`] = i.cpuPerGB;
      result[`inSysSPerGB${run}`] = i.sysPerGB;
      result[`inMainSPerGB${run}`] = i.mainPerGB;
      result[`inIoSPerGB${run}`] = i.ioPerGB;
      result[`inTxFramesPerMiB${run}`] = i.txFramesPerMiB;
      result[`inGcMajor${run}`] = i.gcMajor;
      result[`inGcMsPerGB${run}`] = i.gcMsPerGB;
      result[`inFaultsPerMiB${run}`] = i.faultsPerMiB;
    }
    if (PARTS.includes('onread')) {
      const io = await inbound(file, BYTES, true);
      result[`inOnreadGbps${run}`] = io.gbps;
      result[`inOnreadCpuSPerGB${run}`] = io.cpuPerGB;
      result[`inOnreadMainSPerGB${run}`] = io.mainPerGB;
      result[`inOnreadGcMajor${run}`] = io.gcMajor;
      result[`inOnreadFaultsPerMiB${run}`] = io.faultsPerMiB;
    }
    if (PARTS.includes('recv')) {
      const ir = await inboundRecv(file);
      result[`inRecvGbps${run}`] = ir.gbps;
      result[`inRecvCpuSPerGB${run}`] = ir.cpuPerGB;
      result[`inRecvMainSPerGB${run}`] = ir.mainPerGB;
    }
    if (PARTS.includes('node')) {
      const n = await inboundNodeNet(file);
      result[`inNodeNetGbps${run}`] = n.gbps;
      result[`inNodeNetCpuSPerGB${run}`] = n.cpuPerGB;
      result[`inNodeNetMainSPerGB${run}`] = n.mainPerGB;
      result[`inNodeNetGcMajor${run}`] = n.gcMajor;
      result[`inNodeNetGcMsPerGB${run}`] = n.gcMsPerGB;
      result[`inNodeNetFaultsPerMiB${run}`] = n.faultsPerMiB;
    }
    if (PARTS.includes('out')) {
      const o = await outbound();
      result[`outGbps${run}`] = o.gbps;
      result[`outCpuSPerGB${run}`] = o.cpuPerGB;
      result[`outSysSPerGB${run}`] = o.sysPerGB;
      result[`outMainSPerGB${run}`] = o.mainPerGB;
      result[`outIoSPerGB${run}`] = o.ioPerGB;
    }
  }
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(await ping());
  if (m) {
    result.pingMinMs = Number(m[1]);
    result.pingAvgMs = Number(m[2]);
  }
  const counters = tap.threadCounters();
  if (counters !== null) Object.assign(result, counters);
  result.drops = tap.stats.drops;
  result.tsoSegments = stack.stats.tcp.tsoSegments;
  result.groSegments = stack.stats.tcp.groSegments;
  console.log(JSON.stringify(result));
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  stack.stop();
  tap.close();
  launcher.close();
  rmSync(work, { recursive: true, force: true });
  (iperfServer as ChildProcess | null)?.kill('SIGKILL');
  for (const n of VETH ? [ns, nsA, nsB] : [ns]) {
    try {
      ip('netns', 'del', n);
    } catch {
      // already gone
    }
  }
}
process.exit(failed ? 1 : 0);
