/**
 * `wirestack demo`: the main job on an embedded default. Two stacks joined by
 * an in-memory cable, run in real time: ARP resolution, pings, a UDP echo
 * exchange, a pcap of it all and a short report. No root, no config.
 */
import { once } from 'node:events';
import { Stack } from '../engine/stack.js';
import { MemoryLink } from '../link/memory-link.js';
import { PcapWriter } from '../link/pcap-writer.js';
import { formatIpv4 } from '../wire/ipv4addr.js';
import { formatMac } from '../wire/ethernet.js';
import { numberFlag, parseFlags } from './args.js';

export interface DemoOptions {
  pcap: string;
  loss: number;
  delayMs: number;
  pings: number;
  datagrams: number;
  json: boolean;
  out: (line: string) => void;
}

export interface DemoReport {
  memoryBytes: number;
  arpRequests: number;
  pings: { sent: number; received: number; rttMs: number[] };
  udp: { sent: number; echoed: number; bytes: number };
  pcap: { path: string; frames: number };
}

export function demoOptions(argv: string[], out: (line: string) => void = console.log): DemoOptions {
  const p = parseFlags(argv, { values: ['pcap', 'loss', 'delay', 'pings', 'datagrams'], booleans: ['json'] });
  return {
    pcap: p.values.pcap ?? 'wirestack-demo.pcap',
    loss: numberFlag(p, 'loss', 0, 0, 0.9),
    delayMs: numberFlag(p, 'delay', 1, 0, 1000),
    pings: numberFlag(p, 'pings', 5, 1, 10000),
    datagrams: numberFlag(p, 'datagrams', 20, 1, 100000),
    json: p.booleans.has('json'),
    out,
  };
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const say = (s: string) => { if (!o.json) o.out(s); };
  const [cableA, cableB] = MemoryLink.pair({ delayMs: o.delayMs, rateBps: 1e9, loss: o.loss, seed: 42, name: ['a0', 'b0'] });
  const capture = new PcapWriter(cableA, o.pcap);
  const a = new Stack();
  const b = new Stack();
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
    say(`  a: ${a.stats.eth.txFrames} frames out, ${a.stats.eth.rxFrames} in; arp requests ${a.stats.arp.requestsOut};`
      + ` drops: link ${cableA.stats.drops + cableB.stats.drops}`);
    say(`  pcap: ${report.pcap.frames} frames written to ${o.pcap} (open it with wireshark or tshark -r)`);
  } else {
    o.out(JSON.stringify(report));
  }
  return report;
}
