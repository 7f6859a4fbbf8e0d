/**
 * TCP throughput between wirestack on a TAP device and the Linux kernel's
 * stack, each way, plus ping RTT. Needs root and /dev/net/tun; everything
 * runs against a network namespace this script creates and removes (only
 * 10.76.0.1/2 inside it). Prints one JSON line.
 *
 *   node dist/bench/tap.js [--mib N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { Stack } from '../src/stack.js';
import { TapLink } from '../src/link/tap.js';

const argv = process.argv.slice(2);
const mibArg = argv.indexOf('--mib');
const MIB = mibArg >= 0 ? Number(argv[mibArg + 1]) : 256;
const ns = `wstb-${process.pid}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

/** Run a command in the namespace; resolves with its stdout (killed after `ms`). */
function inNs(cmd: string, args: string[], ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  ip('netns', 'add', ns);
  const tap = TapLink.open(`wstb${process.pid % 100000}`, {});
  const stack = new Stack({ maxTcpSockets: 4, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
  try {
    tap.moveToNetns(ns, { hostAddress: '10.76.0.1/24' });
    stack.addInterface(tap, { address: '10.76.0.2/24' });
    stack.start();
    const result: Record<string, number> = { mib: MIB };
    for (let run = 0; run < 3; run++) {
      // Linux -> wirestack
      let got = 0;
      let t0 = 0;
      const done = new Promise<number>((resolve) => {
        const server = stack.net.createServer((sock) => {
          t0 = performance.now();
          sock.on('data', (d: Buffer) => { got += d.length; });
          sock.on('end', () => {
            server.close();
            resolve((got * 8) / ((performance.now() - t0) / 1000) / 1e9);
          });
        });
        server.listen(5001);
      });
      const client = `const n=require('net');const s=n.connect(5001,'10.76.0.2',()=>{const b=Buffer.alloc(1<<20);let left=${MIB};`
        + `const go=()=>{while(left>0){left--;if(!s.write(b)){s.once('drain',go);return;}}s.end();};go();});s.on('close',()=>process.exit(0));`;
      await inNs(process.execPath, ['-e', client], 120_000);
      result[`inGbps${run + 1}`] = await done;
      // wirestack -> Linux
      const sink = `const n=require('net');let g=0,t0=0;const srv=n.createServer(c=>{t0=process.hrtime.bigint();c.on('data',d=>g+=d.length);`
        + `c.on('end',()=>{const dt=Number(process.hrtime.bigint()-t0)/1e9;console.log(g*8/dt/1e9);process.exit(0);});}).listen(5002,'10.76.0.1',()=>console.log('ready'));`;
      const sinkRun = inNs(process.execPath, ['-e', sink], 120_000);
      await new Promise((r) => setTimeout(r, 300));
      const c = stack.net.connect(5002, '10.76.0.1');
      await new Promise((r) => c.once('connect', r));
      const b = Buffer.alloc(1 << 20);
      let left = MIB;
      await new Promise<void>((resolve) => {
        const go = (): void => {
          while (left > 0) {
            left--;
            if (!c.write(b)) {
              c.once('drain', go);
              return;
            }
          }
          c.end();
          resolve();
        };
        go();
      });
      const out = await sinkRun;
      result[`outGbps${run + 1}`] = Number(out.trim().split('\n').pop());
    }
    const ping = await inNs('ping', ['-c', '50', '-i', '0.01', '-q', '10.76.0.2'], 20_000);
    const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(ping);
    if (m) {
      result.pingMinMs = Number(m[1]);
      result.pingAvgMs = Number(m[2]);
    }
    console.log(JSON.stringify(result));
  } finally {
    stack.stop();
    tap.close();
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
  process.exit(0);
}

await main();
