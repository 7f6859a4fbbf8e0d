/**
 * `wirestack demo --link memory`: two stacks joined by an in-memory cable,
 * run in real time: ARP resolution, pings, a UDP echo exchange, a TCP
 * transfer, HTTP and HTTPS, a pcap of it all and a short report. No root, no
 * config. (The default demo, over WireGuard, is demo-wg.ts; it reuses the
 * HTTP and TCP pieces exported here.)
 */
import { once } from 'node:events';
import { Stack } from '../stack.js';
import { MemoryLink } from '../link/memory-link.js';
import { PcapWriter } from '../link/pcap-writer.js';
import { formatIpv4 } from '../wire/ipv4addr.js';
import { formatMac } from '../wire/ethernet.js';
import { numberFlag, parseFlags } from './args.js';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { DEMO_CERT, DEMO_KEY } from './demo-cert.js';

export interface DemoOptions {
  pcap: string;
  loss: number;
  delayMs: number;
  pings: number;
  datagrams: number;
  /** MiB sent over TCP from a to b. */
  tcpMiB: number;
  json: boolean;
  out: (line: string) => void;
}

export interface DemoReport {
  memoryBytes: number;
  arpRequests: number;
  pings: { sent: number; received: number; rttMs: number[] };
  udp: { sent: number; echoed: number; bytes: number };
  tcp: { bytes: number; seconds: number; mbitPerSecond: number; intact: boolean; retransmits: number };
  http: { status: number; body: string };
  https: { status: number; body: string; protocol: string };
  pcap: { path: string; frames: number };
}

export function demoOptions(argv: string[], out: (line: string) => void = console.log): DemoOptions {
  const p = parseFlags(argv, { values: ['pcap', 'loss', 'delay', 'pings', 'datagrams', 'tcp-mib'], booleans: ['json'] });
  return {
    pcap: p.values.pcap ?? 'wirestack-demo.pcap',
    loss: numberFlag(p, 'loss', 0, 0, 0.9),
    delayMs: numberFlag(p, 'delay', 1, 0, 1000),
    pings: numberFlag(p, 'pings', 5, 1, 10000),
    datagrams: numberFlag(p, 'datagrams', 20, 1, 100000),
    tcpMiB: numberFlag(p, 'tcp-mib', 16, 1, 4096),
    json: p.booleans.has('json'),
    out,
  };
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const say = (s: string) => { if (!o.json) o.out(s); };
  const [cableA, cableB] = MemoryLink.pair({ delayMs: o.delayMs, rateBps: 1e9, loss: o.loss, seed: 42, name: ['a0', 'b0'], queueFrames: 1024 });
  const capture = new PcapWriter(cableA, o.pcap);
  const tcpBuffers = { tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20, maxTcpSockets: 8 };
  const a = new Stack(tcpBuffers);
  const b = new Stack(tcpBuffers);
  const ia = a.addInterface(capture, { address: '10.0.0.1/24' });
  const ib = b.addInterface(cableB, { address: '10.0.0.2/24' });
  say('wirestack demo: two stacks on an in-memory cable'
    + ` (delay ${o.delayMs} ms, 1 Gbit/s, loss ${(o.loss * 100).toFixed(1)} %)`);
  say(`  a  ${ia.address}/${ia.prefixLength}  ${ia.mac}`);
  say(`  b  ${ib.address}/${ib.prefixLength}  ${ib.mac}`);
  say(`  memory planned per stack: ${kib(a.memory.totalBytes)} (${Object.entries(a.memory.parts)
    .map(([k, v]) => `${k} ${kib(v)}`).join(', ')})`);
  a.start();
  b.start();
  const report: DemoReport = {
    memoryBytes: a.memory.totalBytes, arpRequests: 0,
    pings: { sent: 0, received: 0, rttMs: [] }, udp: { sent: 0, echoed: 0, bytes: 0 },
    tcp: { bytes: 0, seconds: 0, mbitPerSecond: 0, intact: false, retransmits: 0 },
    http: { status: 0, body: '' }, https: { status: 0, body: '', protocol: '' },
    pcap: { path: o.pcap, frames: 0 },
  };
  try {
    say('\nping 10.0.0.2 from a (the first one resolves the MAC with ARP):');
    for (let i = 0; i < o.pings; i++) {
      report.pings.sent++;
      try {
        const rtt = await a.ping('10.0.0.2', { timeoutMs: 1000 });
        report.pings.received++;
        report.pings.rttMs.push(rtt);
        say(`  reply from 10.0.0.2: icmp_seq=${i + 1} time=${rtt.toFixed(3)} ms`);
      } catch (e) {
        say(`  icmp_seq=${i + 1}: ${(e as Error).message}`);
      }
    }
    for (const e of a.arp.entries()) say(`  arp: ${formatIpv4(e.ip)} is at ${formatMac(e.mac)} (${e.state})`);
    report.arpRequests = a.stats.arp.requestsOut;

    say(`\nUDP echo: b serves port 7, a sends ${o.datagrams} datagrams:`);
    const server = b.dgram.createSocket('udp4');
    server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
    server.bind(7);
    await once(server, 'listening');
    const client = a.dgram.createSocket('udp4');
    let echoed = 0;
    let allEchoed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => { allEchoed = resolve; });
    client.on('message', (msg) => {
      echoed++;
      report.udp.bytes += msg.length;
      if (echoed === o.datagrams) allEchoed();
    });
    for (let i = 0; i < o.datagrams; i++) {
      client.send(`datagram ${i + 1} of ${o.datagrams} from a`, 7, '10.0.0.2');
      report.udp.sent++;
    }
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([done, timer]);
    report.udp.echoed = echoed;
    say(`  ${echoed}/${o.datagrams} echoed back (${report.udp.bytes} bytes)`);
    client.close();
    server.close();

    say(`\nTCP: a sends ${o.tcpMiB} MiB to b (node:net API, pipe with backpressure, sha256 compared):`);
    report.tcp = await tcpTransfer(a, b, '10.0.0.2', o.tcpMiB);
    say(`  ${(report.tcp.bytes / 2 ** 20).toFixed(0)} MiB in ${report.tcp.seconds.toFixed(2)} s = `
      + `${report.tcp.mbitPerSecond.toFixed(0)} Mbit/s, ${report.tcp.intact ? 'byte-exact' : 'CORRUPTED'}, `
      + `${report.tcp.retransmits} retransmissions`);

    say('\nHTTP and HTTPS: b serves with Node\'s own http/https over wirestack TCP, a requests:');
    const web = await webRequests(a, b, '10.0.0.2');
    report.http = web.http;
    report.https = web.https;
    say(`  http://10.0.0.2/plain  -> ${report.http.status} ${report.http.body.trim()}`);
    say(`  https://10.0.0.2/secure -> ${report.https.status} ${report.https.body.trim()} (${report.https.protocol}, certificate verified)`);
  } finally {
    a.stop();
    b.stop();
    capture.close();
  }
  report.pcap.frames = capture.frames;
  const rtts = report.pings.rttMs;
  if (!o.json) {
    say('\nsummary:');
    say(`  pings ${report.pings.received}/${report.pings.sent} answered`
      + (rtts.length > 0 ? `, rtt min/avg/max ${Math.min(...rtts).toFixed(3)}/${(rtts.reduce((x, y) => x + y, 0) / rtts.length).toFixed(3)}/${Math.max(...rtts).toFixed(3)} ms` : ''));
    say(`  udp ${report.udp.echoed}/${report.udp.sent} echoed`);
    say(`  tcp ${(report.tcp.bytes / 2 ** 20).toFixed(0)} MiB at ${report.tcp.mbitPerSecond.toFixed(0)} Mbit/s`
      + ` (${report.tcp.intact ? 'intact' : 'corrupted'}); http ${report.http.status}, https ${report.https.status}`);
    say(`  a: ${a.stats.eth.txFrames} frames out, ${a.stats.eth.rxFrames} in; arp requests ${a.stats.arp.requestsOut};`
      + ` drops: link ${cableA.stats.drops + cableB.stats.drops}`);
    say(`  pcap: ${report.pcap.frames} frames written to ${o.pcap} (open it with wireshark or tshark -r)`);
  } else {
    o.out(JSON.stringify(report));
  }
  return report;
}

/**
 * b serves HTTP on 80 and HTTPS on 443 (Node's own servers over wirestack
 * TCP, the demo certificate for 'wirestack-demo'); a requests both at `host`
 * (b's address), verifying the certificate.
 */
export async function webRequests(a: Stack, b: Stack, host: string): Promise<{ http: DemoReport['http']; https: DemoReport['https'] }> {
  const handler: http.RequestListener = (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from wirestack b: ${req.method} ${req.url}\n`);
  };
  const web = b.http.createServer(handler);
  const secure = b.https.createServer({ key: DEMO_KEY, cert: DEMO_CERT }, handler);
  await new Promise<void>((resolve) => web.listen(80, resolve));
  await new Promise<void>((resolve) => secure.listen(443, resolve));
  try {
    const plain = await get((cb) => http.get({ host, path: '/plain', createConnection: () => a.net.connect(80, host) }, cb));
    let protocol = '';
    const r = await get((cb) => https.get({ host, path: '/secure', ca: DEMO_CERT,
      createConnection: () => {
        const t = tls.connect({ socket: a.net.connect(443, host), ca: DEMO_CERT, servername: 'wirestack-demo' });
        t.once('secureConnect', () => { protocol = t.getProtocol() ?? ''; });
        return t;
      } }, cb));
    return { http: plain, https: { ...r, protocol } };
  } finally {
    await new Promise<void>((resolve) => web.close(() => resolve()));
    await new Promise<void>((resolve) => secure.close(() => resolve()));
  }
}

/** Send `mib` MiB from a to b's `host` port 5001 through stack.net, with backpressure, timing it and comparing digests. */
export async function tcpTransfer(a: Stack, b: Stack, host: string, mib: number, timeoutMs = 300_000): Promise<DemoReport['tcp']> {
  const total = mib * 2 ** 20;
  const block = Buffer.alloc(256 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >>> 11)) & 0xff;
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let got = 0;
  const server = b.net.createServer((sock) => {
    sock.on('data', (d: Buffer) => {
      received.update(d);
      got += d.length;
    });
  });
  await new Promise<void>((resolve) => server.listen(5001, resolve));
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve, reject) => {
    // A stalled transfer ends the wait; the report then says what arrived (not intact).
    timer = setTimeout(resolve, timeoutMs);
    server.once('connection', (sock) => {
      sock.once('end', () => resolve());
      sock.once('error', reject);
    });
  });
  const client = a.net.connect(5001, host);
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      const chunk = n === block.length ? block : block.subarray(0, n);
      sent.update(chunk);
      left -= n;
      if (!client.write(chunk)) {
        client.once('drain', pump);
        return;
      }
    }
    client.end();
  };
  client.once('connect', pump);
  await done.finally(() => clearTimeout(timer));
  const seconds = (performance.now() - t0) / 1000;
  const info = client.tcpInfo();
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    bytes: got, seconds, mbitPerSecond: (got * 8) / seconds / 1e6,
    intact: got === total && sent.digest('hex') === received.digest('hex'), retransmits: info?.retransmits ?? 0,
  };
}

/** Run one request and collect status and body. */
export function get(start: (cb: (res: http.IncomingMessage) => void) => http.ClientRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = start((res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
