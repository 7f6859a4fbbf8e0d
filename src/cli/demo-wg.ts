/**
 * `wirestack demo` (the default): two wirestack stacks in this process, each
 * with a WireGuard interface whose encrypted datagrams travel over the
 * host's loopback UDP (127.0.0.1, ephemeral ports), so no root and no
 * config are needed. It shows the handshake, pings, HTTP and HTTPS and a
 * bulk TCP transfer through the tunnel, and writes a pcap of the tunnel's
 * inner (decrypted) traffic as raw IP.
 */
import { once } from 'node:events';
import { Stack } from '../stack.js';
import type { WireGuardInterface } from '../wireguard/setup.js';
import { encodeKey, getSuite, type SuiteName } from '../wireguard/crypto/index.js';
import { numberFlag, parseFlags, UsageError } from './args.js';
import { tcpTransfer, webRequests, type DemoReport } from './demo.js';

export interface WgDemoOptions {
  pcap: string;
  suite: SuiteName;
  pings: number;
  /** MiB sent over TCP from a to b through the tunnel. */
  tcpMiB: number;
  json: boolean;
  out: (line: string) => void;
}

export interface WgDemoReport {
  suite: SuiteName;
  /** Outer UDP endpoints on the host's loopback. */
  endpoints: { a: string; b: string };
  publicKeys: { a: string; b: string };
  handshake: { done: boolean; ms: number; initiations: number };
  /** b's view of a's endpoint, learned from the handshake (b was given none). */
  learnedEndpoint: string | null;
  pings: { sent: number; received: number; rttMs: number[] };
  http: DemoReport['http'];
  https: DemoReport['https'];
  tcp: DemoReport['tcp'];
  /** Outer traffic: transport data messages and bytes a sent and received, and drops of any kind on either side. */
  wire: { dataSent: number; dataReceived: number; txBytes: number; rxBytes: number; drops: number; authFailures: number };
  pcap: { path: string; packets: number };
}

export function wgDemoOptions(argv: string[], out: (line: string) => void = console.log): WgDemoOptions {
  const p = parseFlags(argv, { values: ['pcap', 'suite', 'pings', 'tcp-mib'], booleans: ['json'] });
  const suite = p.values.suite ?? 'standard';
  if (suite !== 'standard' && suite !== 'fips') throw new UsageError(`--suite must be standard or fips, got '${suite}'`);
  return {
    pcap: p.values.pcap ?? 'wirestack-demo.pcap',
    suite,
    pings: numberFlag(p, 'pings', 5, 1, 10000),
    tcpMiB: numberFlag(p, 'tcp-mib', 16, 1, 4096),
    json: p.booleans.has('json'),
    out,
  };
}

const TUNNEL_A = '10.0.0.1';
const TUNNEL_B = '10.0.0.2';

export async function runWgDemo(o: WgDemoOptions): Promise<WgDemoReport> {
  const say = (s: string) => { if (!o.json) o.out(s); };
  const suite = getSuite(o.suite);
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const aPub = suite.publicKey(aPriv);
  const bPub = suite.publicKey(bPriv);
  const tcpBuffers = { tcpSendBufferBytes: 1 << 20, tcpRecvBufferBytes: 1 << 20, maxTcpSockets: 8 };
  const a = new Stack(tcpBuffers);
  const b = new Stack(tcpBuffers);
  let wa: WireGuardInterface | null = null;
  let wb: WireGuardInterface | null = null;
  const report: WgDemoReport = {
    suite: o.suite, endpoints: { a: '', b: '' }, publicKeys: { a: encodeKey(aPub), b: encodeKey(bPub) },
    handshake: { done: false, ms: 0, initiations: 0 }, learnedEndpoint: null,
    pings: { sent: 0, received: 0, rttMs: [] },
    http: { status: 0, body: '' }, https: { status: 0, body: '', protocol: '' },
    tcp: { bytes: 0, seconds: 0, mbitPerSecond: 0, intact: false, retransmits: 0 },
    wire: { dataSent: 0, dataReceived: 0, txBytes: 0, rxBytes: 0, drops: 0, authFailures: 0 },
    pcap: { path: o.pcap, packets: 0 },
  };
  try {
    // b knows a's key but not where a is: it learns the endpoint from a's handshake, as a server would.
    wb = await b.addWireGuard({
      suite: o.suite, privateKey: bPriv, name: 'wgb', address: `${TUNNEL_B}/24`, bindAddress: '127.0.0.1',
      peers: [{ publicKey: aPub, allowedIps: [`${TUNNEL_A}/32`] }],
    });
    wa = await a.addWireGuard({
      suite: o.suite, privateKey: aPriv, name: 'wga', address: `${TUNNEL_A}/24`, bindAddress: '127.0.0.1', pcap: o.pcap,
      peers: [{ publicKey: bPub, endpoint: `127.0.0.1:${wb.listenPort}`, allowedIps: [`${TUNNEL_B}/32`] }],
    });
    report.endpoints = { a: `127.0.0.1:${wa.listenPort}`, b: `127.0.0.1:${wb.listenPort}` };
    a.start();
    b.start();
    say(`wirestack demo: two stacks joined by WireGuard (${o.suite === 'fips' ? 'fips suite: P-256, AES-256-GCM, SHA-256'
      : 'standard suite: X25519, ChaCha20-Poly1305, BLAKE2s'}) over host loopback UDP`);
    say(`  a  ${TUNNEL_A}/24 on ${wa.name}, outer UDP ${report.endpoints.a}, public key ${report.publicKeys.a}`);
    say(`  b  ${TUNNEL_B}/24 on ${wb.name}, outer UDP ${report.endpoints.b}, public key ${report.publicKeys.b}`);
    say(`  a's peer b: endpoint ${report.endpoints.b}; b's peer a: no endpoint (learned from the handshake)`);

    say(`\nhandshake: a's first packet to ${TUNNEL_B} starts it (initiation, response, then data):`);
    const t0 = performance.now();
    const handshake = once(wa, 'handshake');
    report.pings.sent++;
    let firstRtt = -1;
    try {
      firstRtt = await a.ping(TUNNEL_B, { timeoutMs: 3000 });
    } catch (e) {
      say(`  first ping: ${(e as Error).message}`);
    }
    const settled = await Promise.race([handshake.then(() => true), delay(3000).then(() => false)]);
    report.handshake = { done: settled && wa.device.stats.handshakesCompleted > 0, ms: performance.now() - t0,
      initiations: wa.device.stats.initiationsSent };
    report.learnedEndpoint = wb.peers()[0]?.endpoint ?? null;
    say(report.handshake.done
      ? `  done in ${report.handshake.ms.toFixed(1)} ms (${report.handshake.initiations} initiation); b learned a's endpoint: ${report.learnedEndpoint ?? 'none'}`
      : '  FAILED: no handshake within 3 s');

    say(`\nping ${TUNNEL_B} from a through the tunnel:`);
    for (let i = 0; i < o.pings; i++) {
      let rtt = firstRtt;
      if (i > 0) {
        report.pings.sent++;
        try {
          rtt = await a.ping(TUNNEL_B, { timeoutMs: 1000 });
        } catch (e) {
          say(`  icmp_seq=${i + 1}: ${(e as Error).message}`);
          continue;
        }
      } else if (rtt < 0) {
        continue;
      }
      report.pings.received++;
      report.pings.rttMs.push(rtt);
      say(`  reply from ${TUNNEL_B}: icmp_seq=${i + 1} time=${rtt.toFixed(3)} ms${i === 0 ? ' (including the handshake)' : ''}`);
    }

    say('\nHTTP and HTTPS through the tunnel: b serves with Node\'s own http/https over wirestack TCP, a requests:');
    const web = await webRequests(a, b, TUNNEL_B);
    report.http = web.http;
    report.https = web.https;
    say(`  http://${TUNNEL_B}/plain  -> ${report.http.status} ${report.http.body.trim()}`);
    say(`  https://${TUNNEL_B}/secure -> ${report.https.status} ${report.https.body.trim()} (${report.https.protocol}, certificate verified)`);

    say(`\nTCP bulk: a sends ${o.tcpMiB} MiB to b through the tunnel (node:net API, backpressure, sha256 compared):`);
    report.tcp = await tcpTransfer(a, b, TUNNEL_B, o.tcpMiB, 120_000);
    say(`  ${(report.tcp.bytes / 2 ** 20).toFixed(1)} MiB in ${report.tcp.seconds.toFixed(2)} s = `
      + `${report.tcp.mbitPerSecond.toFixed(0)} Mbit/s, ${report.tcp.intact ? 'byte-exact' : 'INCOMPLETE OR CORRUPTED'}, `
      + `${report.tcp.retransmits} retransmissions`);
  } finally {
    a.stop();
    b.stop();
    if (wa !== null) {
      const s = wa.device.stats;
      const t = wb?.device.stats;
      report.wire = {
        dataSent: s.dataSent, dataReceived: s.dataReceived, txBytes: s.txBytes, rxBytes: s.rxBytes,
        drops: s.drops + (t?.drops ?? 0),
        authFailures: s.rxBadAuth + s.rxReplay + s.rxBadSourceIp + (t === undefined ? 0 : t.rxBadAuth + t.rxReplay + t.rxBadSourceIp),
      };
      await wa.close();
      report.pcap.packets = wa.capture?.frames ?? 0;
    }
    if (wb !== null) await wb.close();
  }
  const rtts = report.pings.rttMs;
  if (!o.json) {
    say('\nsummary:');
    say(`  handshake ${report.handshake.done ? `done (${report.handshake.ms.toFixed(1)} ms)` : 'FAILED'}; `
      + `pings ${report.pings.received}/${report.pings.sent} answered`
      + (rtts.length > 1 ? `, rtt after the handshake min/avg/max ${Math.min(...rtts.slice(1)).toFixed(3)}/`
        + `${(rtts.slice(1).reduce((x, y) => x + y, 0) / (rtts.length - 1)).toFixed(3)}/${Math.max(...rtts.slice(1)).toFixed(3)} ms` : ''));
    say(`  http ${report.http.status}, https ${report.https.status}; tcp ${(report.tcp.bytes / 2 ** 20).toFixed(1)} MiB at `
      + `${report.tcp.mbitPerSecond.toFixed(0)} Mbit/s (${report.tcp.intact ? 'bytes intact' : 'NOT intact'})`);
    say(`  a's device: ${report.wire.dataSent} data messages out, ${report.wire.dataReceived} in; `
      + `${(report.wire.txBytes / 2 ** 20).toFixed(1)} MiB inner out; drops ${report.wire.drops}, authentication failures ${report.wire.authFailures}`);
    say(`  pcap: ${report.pcap.packets} inner IP packets of a's tunnel written to ${o.pcap} (raw IP; tshark -r ${o.pcap})`);
    say('  the same with real configs: wirestack genkey | tee a.key | wirestack pubkey; wirestack up wg0.conf');
  } else {
    o.out(JSON.stringify(report));
  }
  return report;
}

/** True when the report shows everything worked through the tunnel. */
export function wgDemoPassed(r: WgDemoReport): boolean {
  return r.handshake.done && r.pings.received === r.pings.sent && r.http.status === 200 && r.https.status === 200 && r.tcp.intact;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
