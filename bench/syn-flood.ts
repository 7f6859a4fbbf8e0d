/**
 * Accept rate of `wirestack tap --http` during a SYN flood, as a fraction of
 * its rate without one. Needs root, /dev/net/tun and python3-scapy; runs
 * against a network namespace this script creates and removes (only
 * 10.75.0.1/2 inside it, spoofed sources in 198.18.0.0/15 whose SYN-ACKs the
 * namespace's Linux drops: it does not forward).
 *
 * The CLI runs as a child with its default capacities. A Node client in the
 * namespace opens connections with a few loops in parallel, each sending a
 * small GET, reading the response and closing first (as curl does):
 * completed exchanges per second is the accept rate. It is measured during
 * a flood at the highest rate the flood sender reaches here
 * (test/helpers/syn-flood.py: frames built once by scapy, written to an
 * AF_PACKET socket in a loop, no rate limit) and at fixed lower rates, each
 * between two measurements without a flood: the machine's speed drifts (other
 * work shares its cores), so each flood figure is a fraction of the mean of
 * the two baselines next to it. The flood rate
 * is what the sender wrote; how many SYNs reached the stack is the stack's
 * own TCP receive counter (the kernel drops the rest at the TAP queue).
 * The same is measured with Linux as the server (Node's http.Server on
 * Linux TCP in a second namespace, over a veth, same client and flood) so
 * the figures can be read against what this machine allows at all: the
 * flood sender, the stack and the client share its cores. Prints one JSON line.
 *
 *   node dist/bench/syn-flood.js [--seconds S] [--loops N] [--rates 0,20000,50000] [--kernel-queue FRAMES]
 *     [--syn-responder 0|1] [--egress 0|1] [--linux 0|1] [--family 4|6]
 *
 * --family 6 runs all of it over IPv6 (RFC 8200): the stack gets fd75::2/64
 * beside its IPv4 address (the CLI's --host-address, which brings the
 * device up in the namespace, is IPv4), Linux fd75::1/64 on the device and
 * is the stack's IPv6 gateway, the flood's spoofed sources are in
 * 2001:db8::/32 (RFC 3849; the namespace's Linux does not forward, so the
 * SYN-ACKs end there) and the client connects to fd75::2. The Linux server
 * runs over IPv6 too (fd72::1 and fd72::2 on the veth). The output's
 * `family` says which. IPv6 SYNs are answered at the egress by the eBPF
 * program alone (the RX thread's responder is IPv4-only), else by the engine.
 *
 * --egress 0 runs the CLI with --no-egress-syn-responder: the RX thread
 * answers the flood instead of the eBPF program at the TAP's egress (which
 * answers in the sender's context, src/link/syn-responder-bpf.ts); the
 * output's `egress` says whether that program was attached.
 * --syn-responder 0 runs the CLI with --no-syn-responder (the engine answers
 * the flood); default 1, the TAP RX thread does (native/syn_responder.c).
 * WIRESTACK_TAP_URING=0 in the environment turns the batched TAP I/O off
 * (native/tap_uring.c), to compare.
 *
 * --kernel-queue sets the TAP device's txqueuelen (the kernel's queue toward
 * the stack; default TapLink's, TAP_KERNEL_QUEUE_DEFAULT) once the CLI is up,
 * to compare. WIRESTACK_SYNR_WRITER=1 in the environment gives the SYN
 * responder its former writer thread (native/syn_responder.c), to compare.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const LOOPS = opt('loops', 4);
const KERNEL_QUEUE = opt('kernel-queue', 0);
const SYN_RESPONDER = opt('syn-responder', 1);
const EGRESS = opt('egress', 1);
/** 0: skip the run with Linux as the server (to compare settings of the stack alone, faster). */
const LINUX = opt('linux', 1);
/** 4 or 6: the IP version of the flood, the client and the Linux comparison. */
const FAMILY = opt('family', 4);
if (FAMILY !== 4 && FAMILY !== 6) throw new Error(`--family must be 4 or 6, got ${FAMILY}`);
/** Flood rates in SYN/s, 0 = as fast as the sender goes (the headline figure); more with --rates 0,20000,50000. */
const RATES = ((): number[] => {
  const i = argv.indexOf('--rates');
  // --rates '' (none): the no-flood baselines alone.
  return i >= 0 ? argv[i + 1].split(',').filter((r) => r !== '').map(Number) : [0];
})();
const REPO = fileURLToPath(new URL('../../', import.meta.url)); // dist/bench -> repo root
const NS = `wstsf-${process.pid}`;
const DEV = `wstsf${process.pid % 100000}`;
const LINUX_IP = '10.75.0.1';
const STACK_IP = '10.75.0.2';
// IPv6 (--family 6): a ULA /64 (RFC 4193) on the TAP link; the flood's sources are elsewhere (syn-flood.py's 2001:db8::/32).
const LINUX6 = 'fd75::1';
const STACK6 = 'fd75::2';
/** The address the client connects to and the flood is sent to. */
const TARGET = FAMILY === 6 ? STACK6 : STACK_IP;
const PORT = 8080;

/** Starts of the CLI's per-connection lines (--json), which the bench does not read. */
const PER_CONNECTION = ['{"event":"connection"', '{"event":"close"', '{"event":"request"'];

interface Event {
  event: string;
  [k: string]: unknown;
}

// Runs in the namespace: LOOPS loops of connect, GET, read the response, close, for SECONDS; one JSON line.
// The client closes first (as curl and browsers do), so TIME_WAIT stays on the client's side.
const CLIENT = `
const net = require('node:net');
const [seconds, loops] = process.argv.slice(1, 3).map(Number); const host = process.argv[3];
const end = performance.now() + seconds * 1000;
let ok = 0, failed = 0, slowAfter = 0; const ms = [], cms = [];
function one() {
  return new Promise((resolve) => {
    const t0 = performance.now(); let got = ''; let done = false; let tc = 0;
    const s = net.connect(${PORT}, host, () => { tc = performance.now(); cms.push(tc - t0); s.write('GET / HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n'); });
    const fin = (good) => { if (done) return; done = true; clearTimeout(t); if (good) { ok++; const t1 = performance.now(); ms.push(t1 - t0); if (t1 - tc > 150) slowAfter++; s.end(); } else { failed++; s.destroy(); } resolve(); };
    const t = setTimeout(() => fin(false), 5000);
    s.setEncoding('latin1');
    s.on('data', (d) => {
      got += d;
      const h = got.indexOf('\\r\\n\\r\\n'); const m = /content-length: *(\\d+)/i.exec(got);
      if (h >= 0 && m !== null && got.length >= h + 4 + Number(m[1])) fin(true);
    });
    s.on('error', () => fin(false));
    s.on('close', () => fin(false));
  });
}
async function loop() { while (performance.now() < end) await one(); }
const t0 = performance.now();
Promise.all(Array.from({ length: loops }, loop)).then(() => {
  const secs = (performance.now() - t0) / 1000; ms.sort((a, b) => a - b);
  // Connect times by bucket (ms): under 10, 10-100, 100-900, 0.9-2.5 s (one SYN retransmission), over 2.5 s (more).
  const edges = [10, 100, 900, 2500, Infinity]; const connectHist = edges.map(() => 0);
  for (const c of cms) connectHist[edges.findIndex((e) => c < e)]++;
  const connectSum = cms.reduce((a, b) => a + b, 0); const allSum = ms.reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ ok, failed, seconds: secs, rate: ok / secs, p50: ms[Math.floor(ms.length / 2)] ?? null, p99: ms[Math.floor(ms.length * 0.99)] ?? null,
    connectHist, connectShare: allSum > 0 ? connectSum / allSum : null, slowAfter }));
});
`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

/**
 * The client's namespace may reuse its own TIME_WAIT ports (timestamps make it safe, RFC 6191) from
 * the whole port range. Without this, the client's ~2,700 connections/s filled Linux's default
 * 28k-port range with TIME_WAIT within a few measurements, and the no-flood baselines fell through
 * the run (2,906/s first, 426/s last) for both servers alike: the bench measured its client.
 */
function clientPorts(ns: string): void {
  ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1');
}

function kill(c: ChildProcess | null, sig: NodeJS.Signals = 'SIGKILL'): void {
  if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid, sig);
    } catch {
      // gone
    }
  }
}

/** Run in the namespace; resolves with stdout (rejects on a non-zero exit or after `ms`). */
function inNs(cmd: string, args: string[], ms: number, started?: (c: ChildProcess) => void, ns = NS): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    started?.(c);
    let out = '';
    let err = '';
    c.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s; });
    c.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const timer = setTimeout(() => kill(c), ms);
    c.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Frames the kernel dropped on their way to the TAP's reader (the device's tx_dropped, in the namespace). */
function kernelTapDrops(ns = NS, dev = DEV): number {
  const out = execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8', timeout: 10_000 });
  const j = JSON.parse(out) as Array<{ stats64?: { tx?: { dropped?: number } } }>;
  return j[0]?.stats64?.tx?.dropped ?? 0;
}

/** TCP counters of a namespace's Linux (/proc/net/snmp's Tcp and /proc/net/netstat's TcpExt lines), as `Tcp.Name`. */
function nsTcpCounters(ns: string): Record<string, number> {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp', '/proc/net/netstat'], { encoding: 'utf8', timeout: 10_000 });
  const lines = out.split('\n');
  const c: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i++) {
    const [k, ...names] = lines[i].split(' ');
    const [k2, ...vals] = lines[i + 1].split(' ');
    if (k !== k2 || !/^Tcp(Ext)?:$/.test(k) || !/^-?\d/.test(vals[0] ?? '')) continue;
    names.forEach((n, j) => { c[`${k.slice(0, -1)}.${n}`] = Number(vals[j]); });
    i++;
  }
  return c;
}

/** CPU ticks (user + system, 1/100 s) of each thread of `pid` by name (the main thread as 'main'), or of the whole process with `whole`. */
function cpuTicks(pid: number | undefined, whole = false): Record<string, number> {
  const t: Record<string, number> = {};
  if (pid === undefined) return t;
  const one = (file: string, name: string | null): void => {
    try {
      const st = readFileSync(file, 'utf8');
      const rest = st.slice(st.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      const comm = name ?? st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      t[comm] = (t[comm] ?? 0) + Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
    } catch {
      // gone
    }
  };
  if (whole) {
    one(`/proc/${pid}/stat`, 'process');
    return t;
  }
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) one(`/proc/${pid}/task/${tid}/stat`, tid === String(pid) ? 'main' : null);
  } catch {
    // gone
  }
  return t;
}

/**
 * Time (ticks of 10 ms, as cpuTicks) each thread of `pid` spent runnable but waiting for a CPU (schedstat's
 * run-queue wait), by name as cpuTicks: a thread starved by the machine's load, not idle.
 */
function waitTicks(pid: number | undefined): Record<string, number> {
  const t: Record<string, number> = {};
  if (pid === undefined) return t;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const comm = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const wait = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e7;
        t[comm] = (t[comm] ?? 0) + wait;
      } catch {
        // gone
      }
    }
  } catch {
    // gone
  }
  return t;
}

/** Idle and total ticks of the whole machine (/proc/stat). */
function machineTicks(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
}

/** b - a per key, as a share of `ticks` (CPUs busy). */
function cpuShare(a: Record<string, number>, b: Record<string, number>, ticks: number): Record<string, number> {
  return Object.fromEntries(Object.keys(b).filter((k) => b[k] !== (a[k] ?? 0)).map((k) => [k, Math.round((b[k] - (a[k] ?? 0)) / ticks * 1000) / 1000]));
}

interface ClientResult {
  ok: number; failed: number; seconds: number; rate: number; p50: number | null; p99: number | null;
  /** Connect times: < 10 ms, 10-100, 100-900, 0.9-2.5 s (a SYN retransmitted once), more. */
  connectHist: number[];
  /** Share of the exchanges' total time spent connecting. */
  connectShare: number | null;
  /** Exchanges whose request-response part took over 150 ms (a data segment retransmitted). */
  slowAfter: number;
}

async function main(): Promise<void> {
  let cli: ChildProcess | null = null;
  let flood: ChildProcess | null = null;
  ip('netns', 'add', NS);
  try {
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    clientPorts(NS);
    const events: Event[] = [];
    let rest = '';
    let cliErr = '';
    // BENCH_CLI_NODE_ARGS: node options for the CLI child alone, e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile it.
    const cliNodeArgs = (process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    cli = spawn(process.execPath, [...cliNodeArgs, join(REPO, 'bin/wirestack.js'), 'tap', '--dev', DEV, '--address', `${STACK_IP}/24`, '--gateway', LINUX_IP,
      '--netns', NS, '--host-address', `${LINUX_IP}/24`, '--http', String(PORT), '--stats-interval', '1', '--json',
      SYN_RESPONDER === 1 ? '--syn-responder' : '--no-syn-responder', ...(EGRESS === 1 ? [] : ['--no-egress-syn-responder']),
      // IPv6: the stack's SYN-ACKs to the spoofed sources go to Linux as the gateway, which drops them (no forwarding).
      ...(FAMILY === 6 ? ['--address', `${STACK6}/64`, '--gateway', LINUX6] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    cli.stderr?.setEncoding('utf8').on('data', (s: string) => { cliErr += s; });
    cli.stdout?.setEncoding('utf8').on('data', (s: string) => {
      rest += s;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      // The per-connection lines are skipped unparsed: this process shares the machine with the CLI, and
      // parsing ~3 lines per connection (and keeping them) took CPU from the measured run, and while this
      // reader lagged, the CLI's synchronous stdout writes blocked on the full pipe.
      for (const l of lines) {
        if (!l.startsWith('{') || PER_CONNECTION.some((p) => l.startsWith(p))) continue;
        events.push(JSON.parse(l) as Event);
      }
    });
    const waitFor = async (pred: (e: Event) => boolean, ms: number, what: string): Promise<Event> => {
      const t0 = Date.now();
      for (;;) {
        const e = events.find(pred);
        if (e !== undefined) return e;
        if (Date.now() - t0 > ms || cli?.exitCode !== null) throw new Error(`${what}: ${cliErr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor((e) => e.event === 'ready', 20_000, 'tap did not start');
    if (FAMILY === 6) {
      // Linux's side of the IPv6 link, without DAD (not what is measured; the stack's static address needs none),
      // and a ping so that both sides have resolved each other (RFC 4861) before anything is timed.
      ip('netns', 'exec', NS, 'sysctl', '-qw', `net.ipv6.conf.${DEV}.accept_dad=0`);
      ip('-n', NS, '-6', 'addr', 'add', `${LINUX6}/64`, 'dev', DEV, 'nodad');
      await inNs('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', STACK6], 15_000);
    }
    // To compare: another kernel queue than the kernel's default 1000 (TapLinkOptions.kernelQueue).
    if (KERNEL_QUEUE > 0) ip('-n', NS, 'link', 'set', 'dev', DEV, 'txqueuelen', String(KERNEL_QUEUE));
    const mac = String(events.find((e) => e.event === 'up')?.mac);
    const lastStats = (): Event => events.filter((e) => e.event === 'stats').pop() ?? { event: 'stats' };
    const client = async (started?: (c: ChildProcess) => void): Promise<ClientResult> =>
      JSON.parse((await inNs(process.execPath, ['-e', CLIENT, String(SECONDS), String(LOOPS), TARGET], (SECONDS + 20) * 1000, started)).trim()) as ClientResult;

    // The client with CPU sampled inside its run (its process ends with it): CPUs' worth (1 = one core) of the
    // CLI's threads by name ('main' = the JS thread), the share of the time each of them was runnable but waited
    // for a CPU (cliRunnableWaiting), the flood sender, the client, and the whole machine's busy share (1 = every
    // core busy).
    const measured = async (): Promise<{ result: ClientResult; cpu: Record<string, unknown> | null }> => {
      let clientPid: number | undefined;
      const sample = (): Array<Record<string, number>> => [cpuTicks(cli?.pid), cpuTicks(flood?.pid, true), cpuTicks(clientPid, true), machineTicks(),
        waitTicks(cli?.pid)];
      let cpuA: Array<Record<string, number>> = [];
      let cpuB: Array<Record<string, number>> = [];
      let tA = 0;
      let tB = 0;
      const sampler = [setTimeout(() => { tA = performance.now(); cpuA = sample(); }, 300),
        setTimeout(() => { tB = performance.now(); cpuB = sample(); }, SECONDS * 1000 - 200)];
      const result = await client((c) => { clientPid = c.pid; });
      for (const t of sampler) clearTimeout(t);
      const ticks = (tB - tA) / 10; // 1/100 s
      const cpu = cpuA.length > 0 && cpuB.length > 0 && ticks > 0 ? {
        cli: cpuShare(cpuA[0], cpuB[0], ticks), cliRunnableWaiting: cpuShare(cpuA[4], cpuB[4], ticks),
        flood: cpuShare(cpuA[1], cpuB[1], ticks).process ?? 0,
        client: cpuShare(cpuA[2], cpuB[2], ticks).process ?? 0,
        machineBusy: Math.round((1 - (cpuB[3].idle - cpuA[3].idle) / (cpuB[3].total - cpuA[3].total)) * 1000) / 1000,
      } : null;
      return { result, cpu };
    };

    await client(); // warm-up (JIT of the stack and Node's HTTP server)
    const base1run = await measured();
    const base1 = base1run.result;

    // One flood at `rate` SYN/s (0: as fast as the sender goes) with the client running during it.
    const floodRun = async (rate: number): Promise<Record<string, unknown>> => {
      let floodErr = '';
      const floodOut = inNs('/usr/bin/python3', [join(REPO, 'test/helpers/syn-flood.py'), DEV, mac, TARGET, String(PORT),
        '--rate', String(rate), '--seconds', String(SECONDS + 30)], (SECONDS + 60) * 1000, (c) => {
        flood = c;
        c.stderr?.setEncoding('utf8').on('data', (s: string) => { floodErr += s; });
      });
      floodOut.catch(() => undefined);
      for (let i = 0; i < 600 && !floodErr.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      if (!floodErr.includes('ready')) throw new Error(`the flood sender did not start: ${floodErr}`);
      await new Promise((r) => setTimeout(r, 1500)); // the request queue fills; cookies from here on
      const s0 = lastStats();
      const k0 = kernelTapDrops();
      const c0 = nsTcpCounters(NS);
      const t0 = performance.now();
      const run = await measured();
      const during = run.result;
      const cpu = run.cpu;
      const t1 = performance.now();
      const s1 = lastStats();
      const k1 = kernelTapDrops();
      const c1 = nsTcpCounters(NS);
      kill(flood, 'SIGTERM');
      const sent = JSON.parse((await floodOut).trim().split('\n').pop() ?? '{}') as { sent: number; seconds: number; rate: number };
      await new Promise((r) => setTimeout(r, 2000)); // requests and queues drain
      const secs = (t1 - t0) / 1000;
      return {
        targetRate: rate, floodSent: sent.sent, floodRate: sent.rate,
        during: during.rate, duringFailed: during.failed, duringP50Ms: during.p50, duringP99Ms: during.p99,
        // Where a legitimate exchange's time went: its connect times by bucket (< 10 ms, 10-100, 100-900,
        // 0.9-2.5 s: a SYN or SYN-ACK lost once, more), the share of all exchange time spent connecting, exchanges
        // whose request/response took over 150 ms, and the client's Linux: SYNs it retransmitted, segments it
        // retransmitted, connections it opened.
        duringConnectHist: during.connectHist, duringConnectShare: during.connectShare, duringSlowAfter: during.slowAfter,
        clientSynRetrans: c1['TcpExt.TCPSynRetrans'] - c0['TcpExt.TCPSynRetrans'],
        clientRetransSegs: c1['Tcp.RetransSegs'] - c0['Tcp.RetransSegs'],
        clientActiveOpens: c1['Tcp.ActiveOpens'] - c0['Tcp.ActiveOpens'],
        // CPUs' worth (1 = one core) over the client's run: the CLI's threads by name ('main' = the JS thread), the
        // flood sender, the client, and the whole machine's busy share (2 cores: 1 = both busy).
        cpu,
        // Segments the stack took in (SYNs and the clients' own) and cookies it sent, per second, while the client ran.
        stackRxRate: (Number(s1.rx) - Number(s0.rx)) / secs,
        cookiesPerSecond: (Number(s1.syncookiesSent) - Number(s0.syncookiesSent)) / secs,
        cookiesAccepted: Number(s1.syncookiesRecv) - Number(s0.syncookiesRecv),
        // Frames lost before the stack: the kernel's queue to the TAP reader, and TapLink's own drops.
        kernelDropRate: (k1 - k0) / secs,
        linkDropRate: (Number(s1.linkDrops) - Number(s0.linkDrops)) / secs,
        // The TAP I/O threads' counters per second (tapTxDrops: write() refused; ring-full drops are the rest of linkDrops).
        // Every TCP and link counter that moved (as a rate, like the ones above): where the SYNs and frames went.
        ...Object.fromEntries(Object.keys(s1).filter((k) => !k.startsWith('link') && typeof s1[k] === 'number' && s1[k] !== s0[k])
          .map((k) => [`${k}Rate`, (Number(s1[k]) - Number(s0[k])) / secs])),
        ...Object.fromEntries(Object.keys(s1).filter((k) => k.startsWith('tap')).map((k) => [`${k}Rate`, (Number(s1[k]) - Number(s0[k])) / secs])),
      };
    };
    const points: Array<Record<string, unknown>> = [];
    const bases = [base1.rate];
    for (const rate of RATES) {
      const pt = await floodRun(rate);
      bases.push((await client()).rate);
      const pointBase = (bases[bases.length - 2] + bases[bases.length - 1]) / 2;
      pt.baseline = pointBase;
      pt.ratio = Number(pt.during) / pointBase;
      points.push(pt);
    }
    const base2 = { rate: bases[bases.length - 1] };
    const baseline = bases.reduce((a, b) => a + b, 0) / bases.length;
    kill(cli, 'SIGTERM');
    const linux = LINUX === 1 ? await linuxRun() : null;
    console.log(JSON.stringify({
      family: FAMILY, seconds: SECONDS, loops: LOOPS, synResponder: SYN_RESPONDER,
      egress: events.find((e) => e.event === 'syn-egress') ?? null, baseline1: base1.rate, baseline2: base2.rate, baseline, baseP50Ms: base1.p50,
      baseCpu: base1run.cpu,
      // The highest-rate flood first: its figures at the top level.
      ...points[0], points, linux,
    }));
  } finally {
    kill(flood);
    kill(cli, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    kill(cli);
    try {
      ip('netns', 'del', NS);
    } catch {
      // already gone
    }
  }
}

// Linux's own server under the same flood: Node's http.Server on Linux TCP in a second namespace,
// over a veth from the client namespace, SYN-ACKs routed back to the client namespace (no forwarding).
const [VETH_CLIENT, VETH_SERVER, VETH_LEN] = FAMILY === 6 ? ['fd72::1', 'fd72::2', 64] : ['10.72.0.1', '10.72.0.2', 24];
const SERVER = `require('node:http').createServer((q, r) => r.end('hello from linux\\n')).listen(${PORT}, '${VETH_SERVER}', () => console.log('ready'));`;

/** The same measurement with Linux as the server: accept rate without and during a flood at the highest rate. */
async function linuxRun(): Promise<Record<string, unknown>> {
  const nsc = `wstsfc-${process.pid}`;
  const nss = `wstsfs-${process.pid}`;
  const vc = `wsfc${process.pid % 100000}`;
  const vs = `wsfs${process.pid % 100000}`;
  let server: ChildProcess | null = null;
  let flood: ChildProcess | null = null;
  ip('netns', 'add', nsc);
  try {
    clientPorts(nsc);
    ip('netns', 'add', nss);
    try {
      ip('link', 'add', vc, 'netns', nsc, 'type', 'veth', 'peer', 'name', vs, 'netns', nss);
      // IPv6 without DAD: the server's address must be usable at once (a tentative one cannot be bound).
      const nodad = FAMILY === 6 ? ['nodad'] : [];
      ip('-n', nsc, 'addr', 'add', `${VETH_CLIENT}/${VETH_LEN}`, 'dev', vc, ...nodad);
      ip('-n', nss, 'addr', 'add', `${VETH_SERVER}/${VETH_LEN}`, 'dev', vs, ...nodad);
      for (const [n, d] of [[nsc, vc], [nss, vs], [nsc, 'lo'], [nss, 'lo']]) ip('-n', n, 'link', 'set', d, 'up');
      ip('-n', nss, ...(FAMILY === 6 ? ['-6'] : []), 'route', 'add', 'default', 'via', VETH_CLIENT);
      const mac = (JSON.parse(execFileSync('ip', ['-n', nss, '-j', 'link', 'show', 'dev', vs], { encoding: 'utf8' })) as Array<{ address: string }>)[0].address;
      let ready = '';
      void inNs(process.execPath, ['-e', SERVER], 600_000, (c) => {
        server = c;
        c.stdout?.setEncoding('utf8').on('data', (d: string) => { ready += d; });
      }, nss).catch(() => undefined);
      for (let i = 0; i < 200 && !ready.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      if (!ready.includes('ready')) throw new Error('the Linux-side server did not start');
      const client = async (): Promise<ClientResult> => JSON.parse((await inNs(process.execPath,
        ['-e', CLIENT, String(SECONDS), String(LOOPS), VETH_SERVER], (SECONDS + 20) * 1000, undefined, nsc)).trim()) as ClientResult;
      await client();
      const base1 = await client();
      const points: Array<Record<string, unknown>> = [];
      const bases = [base1.rate];
      for (const rate of RATES) {
        let floodErr = '';
        const floodOut = inNs('/usr/bin/python3', [join(REPO, 'test/helpers/syn-flood.py'), vc, mac, VETH_SERVER, String(PORT),
          '--rate', String(rate), '--seconds', String(SECONDS + 30)], (SECONDS + 60) * 1000, (c) => {
          flood = c;
          c.stderr?.setEncoding('utf8').on('data', (d: string) => { floodErr += d; });
        }, nsc);
        floodOut.catch(() => undefined);
        for (let i = 0; i < 600 && !floodErr.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 1500));
        const c0 = nsTcpCounters(nsc);
        const during = await client();
        const c1 = nsTcpCounters(nsc);
        kill(flood, 'SIGTERM');
        const sent = JSON.parse((await floodOut).trim().split('\n').pop() ?? '{}') as { rate: number };
        await new Promise((r) => setTimeout(r, 2000));
        bases.push((await client()).rate);
        const pointBase = (bases[bases.length - 2] + bases[bases.length - 1]) / 2;
        points.push({ targetRate: rate, floodRate: sent.rate, during: during.rate, duringP50Ms: during.p50, duringP99Ms: during.p99,
          duringConnectHist: during.connectHist, duringConnectShare: during.connectShare, duringSlowAfter: during.slowAfter,
          clientSynRetrans: c1['TcpExt.TCPSynRetrans'] - c0['TcpExt.TCPSynRetrans'], clientRetransSegs: c1['Tcp.RetransSegs'] - c0['Tcp.RetransSegs'],
          baseline: pointBase, ratio: during.rate / pointBase });
      }
      const base2 = { rate: bases[bases.length - 1] };
      const baseline = bases.reduce((a, b) => a + b, 0) / bases.length;
      return { baseline, baseline1: base1.rate, baseline2: base2.rate, ...points[0], points };
    } finally {
      kill(flood);
      kill(server);
      ip('netns', 'del', nss);
    }
  } finally {
    ip('netns', 'del', nsc);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
