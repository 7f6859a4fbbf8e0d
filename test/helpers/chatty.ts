/**
 * The chatty client of issue #10: request/response exchanges where each
 * request is a header and a body written with cork()/uncork() on the next
 * tick (as mqtt.js writes its packets), and the next request waits for the
 * short reply. Used by the TAP interop test and by the benchmark, over
 * `stack.net` and over Node's own `net`, against one Linux-side server.
 *
 * As a script (run inside a network namespace):
 *
 *   node chatty.js server PORT                        answer every request with "OK\r\n"; prints `ready`
 *   node chatty.js client HOST PORT ROUNDS BODY       Node's net client; prints one JSON {@link ChattyReport}
 *   node chatty.js stack-client NETNS ROUNDS BODY     the same over stack.net, on a TAP device of its own moved
 *                                                     into the server's namespace NETNS (10.79.2.2 -> 10.79.2.1)
 *
 * Either exits by itself after `WST_PEER_TIMEOUT_MS` (default 120 s) so a
 * stuck peer never outlives its test.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Netns } from './netns.js';
import { createVeth, type Veth } from './wireguard-go.js';
import { Stack } from '../../src/stack.js';
import { TapLink } from '../../src/link/tap.js';

/** Header: "REQ\0" and the body length (32-bit big-endian). */
export const CHATTY_HEADER = 8;
export const CHATTY_REPLY = 'OK\r\n';

/** What a client run measured. */
export interface ChattyReport {
  rounds: number;
  /** From the first request to the last reply. */
  ms: number;
  /** The slowest round. */
  maxMs: number;
  /** CPU time of the whole client process (all threads) from the first request to the last reply, µs (script modes). */
  cpuUs?: number;
}

/** The part of a socket the client needs: Node's net.Socket and the stack's NetSocket both fit. */
export interface ChattySocket {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer): boolean;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  once(event: 'error', fn: (e: Error) => void): unknown;
}

/** Run `rounds` corked header + body requests, each after the previous reply. */
export async function chattyClient(sock: ChattySocket, rounds: number, bodyLen: number): Promise<ChattyReport> {
  const body = Buffer.alloc(bodyLen, 0x61);
  const header = Buffer.alloc(CHATTY_HEADER);
  header.write('REQ', 0);
  header.writeUInt32BE(bodyLen, 4);
  let got = 0;
  let wake: (() => void) | null = null;
  let failed: Error | null = null;
  sock.on('data', (d: Buffer) => {
    got += d.length;
    if (wake !== null) wake();
  });
  sock.once('error', (e: Error) => {
    failed = e;
    if (wake !== null) wake();
  });
  const start = performance.now();
  let maxMs = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const want = (i + 1) * CHATTY_REPLY.length;
    sock.cork();
    sock.write(header);
    sock.write(body);
    process.nextTick(() => sock.uncork());
    await new Promise<void>((resolve, reject) => {
      wake = () => {
        if (failed !== null) reject(failed);
        else if (got >= want) resolve();
      };
      wake();
    });
    wake = null;
    const dt = performance.now() - t0;
    if (dt > maxMs) maxMs = dt;
  }
  return { rounds, ms: performance.now() - start, maxMs };
}

/** Answer each complete header + body with the reply (one write). */
export function chattyServe(sock: net.Socket): void {
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= CHATTY_HEADER) {
      const need = CHATTY_HEADER + buf.readUInt32BE(4);
      if (buf.length < need) break;
      buf = buf.subarray(need);
      sock.write(CHATTY_REPLY);
    }
  });
  sock.on('error', () => sock.destroy());
}

/** Path of this script (compiled) for spawning. */
export const CHATTY_SCRIPT = fileURLToPath(import.meta.url);

/**
 * The Linux side of a chatty run: a namespace with the server, reached from
 * a wirestack on a TAP device (10.79.0.2 -> 10.79.0.1) and from Node's net in
 * a second namespace over a veth (10.79.1.2 -> 10.79.1.1). Only these
 * addresses, all inside namespaces created here; {@link close} removes them.
 */
export class ChattyLab {
  static readonly SERVER_TAP_IP = '10.79.0.1';
  static readonly STACK_IP = '10.79.0.2';
  static readonly SERVER_VETH_IP = '10.79.1.1';
  static readonly CLIENT_VETH_IP = '10.79.1.2';
  static readonly PORT = 7070;
  readonly server: Netns;
  readonly client: Netns;
  readonly stack: Stack;
  readonly tap: TapLink;
  private readonly veth: Veth;

  private constructor(server: Netns, client: Netns, tap: TapLink, veth: Veth, stack: Stack) {
    this.server = server;
    this.client = client;
    this.tap = tap;
    this.veth = veth;
    this.stack = stack;
  }

  /** Create the namespaces, links and the started stack, and start the server; resolves once it listens. */
  static async open(options: { threads?: boolean; rxHandoff?: boolean } = {}): Promise<ChattyLab> {
    const server = Netns.create();
    let client: Netns | null = null;
    let tap: TapLink | null = null;
    let veth: Veth | null = null;
    let stack: Stack | null = null;
    try {
      client = Netns.create();
      const id = process.pid % 100000;
      tap = TapLink.open(`wsch${id}`, { mtu: 1500, ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.rxHandoff !== undefined ? { rxHandoff: options.rxHandoff } : {}) });
      tap.moveToNetns(server.name, { hostAddress: `${ChattyLab.SERVER_TAP_IP}/24` });
      veth = createVeth({ a: `wcs${id}`, b: `wcc${id}`, aCidr: `${ChattyLab.SERVER_VETH_IP}/24`, bCidr: `${ChattyLab.CLIENT_VETH_IP}/24`,
        nsA: server, nsB: client });
      stack = new Stack({ maxTcpSockets: 8 });
      stack.addInterface(tap, { address: `${ChattyLab.STACK_IP}/24` });
      stack.start();
      const lab = new ChattyLab(server, client, tap, veth, stack);
      const srv = server.spawn(process.execPath, [CHATTY_SCRIPT, 'server', String(ChattyLab.PORT)]);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`chatty server did not start: ${out}`)), 15_000);
        const onData = (d: Buffer): void => {
          out += d.toString();
          if (/ready/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        srv.stdout?.on('data', onData);
        srv.stderr?.on('data', onData);
        srv.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`chatty server exited (${code}): ${out}`));
        });
      });
      return lab;
    } catch (err) {
      stack?.stop();
      veth?.remove();
      tap?.close();
      client?.remove();
      server.remove();
      throw err;
    }
  }

  /** `rounds` exchanges over `stack.net` through the TAP device. */
  async overStack(rounds: number, bodyLen: number): Promise<ChattyReport> {
    const sock = this.stack.net.connect(ChattyLab.PORT, ChattyLab.SERVER_TAP_IP);
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('error', reject);
      });
      return await chattyClient(sock, rounds, bodyLen);
    } finally {
      sock.destroy();
    }
  }

  /** `rounds` exchanges with Node's own net, from the client namespace over the veth. */
  async overLinux(rounds: number, bodyLen: number): Promise<ChattyReport> {
    const r = await this.client.run(process.execPath, [CHATTY_SCRIPT, 'client', ChattyLab.SERVER_VETH_IP, String(ChattyLab.PORT),
      String(rounds), String(bodyLen)], { timeoutMs: 120_000 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !line.startsWith('{')) throw new Error(`chatty client failed (${r.code}, timedOut ${r.timedOut}): ${r.stdout} ${r.stderr}`);
    return JSON.parse(line) as ChattyReport;
  }

  /**
   * `rounds` exchanges over `stack.net` from a fresh process (its first exchanges, as each
   * {@link overLinux} run is a fresh Node process's): the child opens its own TAP device into the
   * server's namespace (10.79.2.2 -> 10.79.2.1), so the same server answers. Killed by PID after 120 s.
   */
  overStackFresh(rounds: number, bodyLen: number): Promise<ChattyReport> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CHATTY_SCRIPT, 'stack-client', this.server.name, String(rounds), String(bodyLen)],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
      const timer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, 120_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        const line = out.trim().split('\n').pop() ?? '';
        if (code !== 0 || !line.startsWith('{')) reject(new Error(`chatty stack client failed (${code}): ${out} ${err}`));
        else resolve(JSON.parse(line) as ChattyReport);
      });
    });
  }

  /** Stop the stack, close the links, remove the namespaces (killing the server). Never throws. */
  close(): void {
    try {
      this.stack.stop();
    } catch {
      // already stopped
    }
    this.veth.remove();
    try {
      this.tap.close();
    } catch {
      // already closed
    }
    this.client.remove();
    this.server.remove();
  }
}

function fail(err: Error): never {
  console.error(`chatty: ${err.message}`);
  process.exit(1);
}

/** A fresh process's chatty run over stack.net on a TAP device of its own in the server's namespace `ns`. */
async function stackClient(ns: string, rounds: number, bodyLen: number): Promise<void> {
  const tap = TapLink.open(`wscf${process.pid % 100000}`, { mtu: 1500 });
  const stack = new Stack({ maxTcpSockets: 8 });
  try {
    tap.moveToNetns(ns, { hostAddress: '10.79.2.1/24' });
    stack.addInterface(tap, { address: '10.79.2.2/24' });
    stack.start();
    const sock = stack.net.connect(ChattyLab.PORT, '10.79.2.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    const c0 = process.cpuUsage();
    const r = await chattyClient(sock, rounds, bodyLen);
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ ...r, cpuUs: c.user + c.system }));
    sock.destroy();
  } finally {
    stack.stop();
    tap.close();
  }
}

function main(argv: string[]): void {
  const limit = Number(process.env.WST_PEER_TIMEOUT_MS ?? 120_000);
  setTimeout(() => fail(new Error(`gave up after ${limit} ms`)), limit).unref();
  const [mode, ...rest] = argv;
  if (mode === 'server') {
    const srv = net.createServer((s) => chattyServe(s));
    srv.on('error', fail);
    srv.listen(Number(rest[0]), () => console.log('ready'));
  } else if (mode === 'client') {
    const sock = net.connect(Number(rest[1]), rest[0]);
    sock.once('error', fail);
    sock.once('connect', () => {
      const c0 = process.cpuUsage();
      chattyClient(sock, Number(rest[2]), Number(rest[3])).then((r) => {
        const c = process.cpuUsage(c0);
        console.log(JSON.stringify({ ...r, cpuUs: c.user + c.system }));
        sock.destroy();
        process.exit(0);
      }, fail);
    });
  } else if (mode === 'stack-client') {
    stackClient(rest[0], Number(rest[1]), Number(rest[2])).then(() => process.exit(0), fail);
  } else {
    fail(new Error('usage: chatty server PORT | client HOST PORT ROUNDS BODY | stack-client NETNS ROUNDS BODY'));
  }
}

// `node --test dist/test/` also loads this file, with no arguments: then it is only a module.
if (process.argv[1] === CHATTY_SCRIPT && process.argv.length > 2) main(process.argv.slice(2));
