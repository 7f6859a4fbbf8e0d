/**
 * Fuzz storm: >= 100,000 frames per run, random and mutated-valid, fed to a
 * stack through a FrameTap. Seeded (FUZZ_SEED, default below) so a failure
 * replays; FUZZ_FRAMES changes the count.
 *
 * Every frame is also fed, at a random offset inside a larger junk-filled
 * buffer, to a twin stack built with the same seed: the twins must agree on
 * every counter and every transmitted byte, which catches reads beyond a
 * frame's length or ignoring its offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Stack } from '../../src/stack.js';
import {
  BROADCAST_MAC, PROTO_ICMP, PROTO_UDP, TestRng, arpFrame, fixIpChecksum, hex, icmpEcho, icmpMessage, ip, ipText,
  ipv4Frame, ipv4Packet, seedFromEnv, u16, udpDatagram,
} from '../helpers/frames.js';
import {
  BOUND_PORT, CLOSED_PORT, PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, SUBNET_BROADCAST, makeFixture, snapshot,
  type Counters, type Fixture,
} from './fixture.js';

const SEED = seedFromEnv('FUZZ_SEED', 0x5eed_f00d);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
/** Virtual time per frame, ms: 100k frames span 5 s, enough for ARP retries and expiry to run. */
const TICK = 0.05;

const STACK_MAC_BYTES = Uint8Array.from([2, 0, 0, 0, 0, 1]);

// ------------------------------------------------------------ frame sources

function peerIp(rng: TestRng): number {
  return ip('10.0.0.0') + rng.range(2, 199);
}

function macFor(addr: number): string {
  return `02:00:00:00:${((addr >>> 8) & 0xff).toString(16).padStart(2, '0')}:${(addr & 0xff).toString(16).padStart(2, '0')}`;
}

function payload(rng: TestRng): Uint8Array {
  const r = rng.int(100);
  return rng.bytes(r < 70 ? rng.int(65) : r < 95 ? rng.int(600) : rng.int(1473));
}

type Template = 'arpRequest' | 'arpReply' | 'echo' | 'echoBroadcast' | 'udpBound' | 'udpClosed' | 'udpBroadcast'
  | 'icmpError' | 'echoReply';
const TEMPLATES: readonly Template[] = ['arpRequest', 'arpReply', 'echo', 'echoBroadcast', 'udpBound', 'udpClosed', 'udpBroadcast',
  'icmpError', 'echoReply'];

/** Identifier of the twins' own pings (equal seeds give equal identifiers), and the peer they ping. */
let pingIdent = 0;
const PING_TARGET = ip('10.0.0.3');
/** The connected socket of each twin: local CONNECTED_PORT, peer PEER_IP:53. */
const CONNECTED_PORT = 5353;

/** A valid frame of the given kind from a random on-link peer. */
function validFrame(rng: TestRng, kind: Template): Uint8Array {
  const src = peerIp(rng);
  const smac = macFor(src);
  const unicastDst = rng.chance(0.8) ? STACK_MAC : BROADCAST_MAC;
  switch (kind) {
    case 'arpRequest':
      return arpFrame(BROADCAST_MAC, { oper: 1, sha: smac, spa: src, tpa: rng.chance(0.8) ? STACK_IP : peerIp(rng) });
    case 'arpReply':
      return arpFrame(unicastDst, { oper: 2, sha: smac, spa: src, tha: STACK_MAC, tpa: STACK_IP });
    case 'echo':
      return ipv4Frame(STACK_MAC, smac, {
        src, dst: STACK_IP, proto: PROTO_ICMP, id: rng.int(65536), payload: icmpEcho(8, rng.int(65536), rng.int(65536), payload(rng)),
      }, rng.chance(0.7));
    case 'echoBroadcast':
      return ipv4Frame(BROADCAST_MAC, smac, {
        src, dst: SUBNET_BROADCAST, proto: PROTO_ICMP, payload: icmpEcho(8, rng.int(65536), rng.int(65536), payload(rng)),
      });
    case 'udpBound':
    case 'udpClosed': {
      const dport = kind === 'udpBound' ? BOUND_PORT : CLOSED_PORT;
      return ipv4Frame(STACK_MAC, smac, {
        src, dst: STACK_IP, proto: PROTO_UDP, id: rng.int(65536), flags: rng.chance(0.5) ? 0x4000 : 0,
        payload: udpDatagram(src, STACK_IP, rng.range(1, 65535), dport, payload(rng), rng.chance(0.1) ? { checksum: 'none' } : {}),
      }, rng.chance(0.7));
    }
    case 'icmpError': {
      // An error about something we sent: a datagram of the connected socket, or one of our pings.
      const aboutPing = rng.chance(0.3);
      const peer = aboutPing ? PING_TARGET : rng.chance(0.7) ? ip(PEER_IP) : peerIp(rng);
      const quoted = ipv4Packet({
        src: STACK_IP, dst: peer, proto: aboutPing ? PROTO_ICMP : PROTO_UDP,
        payload: aboutPing ? icmpEcho(8, pingIdent, rng.range(1, 40), new Uint8Array(56))
          : udpDatagram(STACK_IP, peer, rng.chance(0.7) ? CONNECTED_PORT : rng.range(1, 65535), rng.chance(0.7) ? 53 : rng.range(1, 65535), payload(rng)),
      });
      const type = rng.pick([3, 3, 3, 11, 12, 4, 5]);
      const body = quoted.slice(0, rng.chance(0.7) ? quoted.length : rng.int(quoted.length + 1));
      return ipv4Frame(STACK_MAC, macFor(peer), { src: peer, dst: STACK_IP, proto: PROTO_ICMP, payload: icmpMessage(type, rng.int(6), 0, body) });
    }
    case 'echoReply': {
      const peer = rng.chance(0.5) ? PING_TARGET : src;
      return ipv4Frame(STACK_MAC, macFor(peer), {
        src: peer, dst: STACK_IP, proto: PROTO_ICMP, payload: icmpEcho(0, rng.chance(0.7) ? pingIdent : rng.int(65536), rng.range(1, 40), new Uint8Array(56)),
      });
    }
    case 'udpBroadcast': {
      const dst = rng.chance(0.5) ? SUBNET_BROADCAST : '255.255.255.255';
      return ipv4Frame(BROADCAST_MAC, smac, {
        src, dst, proto: PROTO_UDP, payload: udpDatagram(src, dst, rng.range(1, 65535), rng.chance(0.5) ? BOUND_PORT : CLOSED_PORT, payload(rng)),
      });
    }
  }
}

function put16(f: Uint8Array, o: number, v: number): void {
  if (o + 1 >= f.length) return;
  f[o] = (v >>> 8) & 0xff;
  f[o + 1] = v & 0xff;
}

/** Random damage to a valid frame: bits, bytes, length, and header fields (optionally re-checksummed). */
function mutate(rng: TestRng, frame: Uint8Array): Uint8Array {
  let f = frame;
  const rounds = rng.range(1, 3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(7)) {
      case 0: { // flip bits
        const n = rng.range(1, 8);
        for (let i = 0; i < n && f.length > 0; i++) {
          const bit = rng.int(f.length * 8);
          f[bit >>> 3] ^= 1 << (bit & 7);
        }
        break;
      }
      case 1: { // overwrite bytes, mostly in the headers
        const n = rng.range(1, 4);
        for (let i = 0; i < n && f.length > 0; i++) f[rng.chance(0.7) ? rng.int(Math.min(f.length, 64)) : rng.int(f.length)] = rng.int(256);
        break;
      }
      case 2: // truncate
        f = f.slice(0, rng.int(f.length + 1));
        break;
      case 3: { // extend
        const ext = new Uint8Array(Math.min(1600, f.length + rng.range(1, 120)));
        ext.set(f);
        ext.set(rng.bytes(ext.length - f.length), f.length);
        f = ext;
        break;
      }
      default: { // rewrite a header field
        const field = rng.int(12);
        const v16 = rng.chance(0.3) ? rng.pick([0, 1, 7, 8, 19, 20, 21, 0xffff, f.length - 14, f.length - 34, f.length - 33]) : rng.int(65536);
        switch (field) {
          case 0: put16(f, 14 + 2, v16); break; // IP total length
          case 1: if (f.length > 14) f[14] = (f[14] & 0xf0) | rng.int(16); break; // IHL
          case 2: if (f.length > 14) f[14] = (rng.int(16) << 4) | (f[14] & 0x0f); break; // version
          case 3: put16(f, 14 + 10, v16); break; // IP checksum
          case 4: put16(f, 14 + 20 + 4, v16); break; // UDP length
          case 5: put16(f, 14 + 20 + 6, v16); break; // UDP checksum
          case 6: put16(f, 14 + 20 + 2, v16); break; // ICMP checksum / UDP dst port
          case 7: put16(f, 14 + 6, rng.pick([0x2000, 0x0001, 0x4000, 0x1fff, v16])); break; // flags/offset
          case 8: if (f.length > 23) f[14 + 9] = rng.pick([1, 17, 6, 0, 255, rng.int(256)]); break; // protocol
          case 9: put16(f, 12, rng.pick([0x0800, 0x0806, 0x86dd, v16])); break; // ethertype
          case 10: put16(f, 14 + 6, rng.pick([1, 2, 3, 0, v16])); break; // ARP oper (or IP flags)
          default: if (f.length >= 34) { // IP source or destination
            const at = 14 + (rng.chance(0.5) ? 12 : 16);
            const a = rng.pick([ip('127.0.0.1'), ip(STACK_IP), ip(SUBNET_BROADCAST), 0xffffffff, 0, ip('224.0.0.1'), rng.u32()]);
            f[at] = a >>> 24; f[at + 1] = (a >>> 16) & 0xff; f[at + 2] = (a >>> 8) & 0xff; f[at + 3] = a & 0xff;
          }
        }
        // Half the time repair the IP header checksum so the damage reaches the layers above.
        if (rng.chance(0.5) && f.length >= 34 && f[12] === 0x08 && f[13] === 0x00) fixIpChecksum(f);
      }
    }
  }
  return f;
}

function randomFrame(rng: TestRng): Uint8Array {
  const f = rng.bytes(rng.int(1601));
  // Half of them get an address and type the stack will look at, so the junk reaches ARP/IP.
  if (rng.chance(0.5) && f.length >= 14) {
    f.set(rng.chance(0.5) ? STACK_MAC_BYTES : Uint8Array.from([255, 255, 255, 255, 255, 255]), 0);
    put16(f, 12, rng.chance(0.7) ? 0x0800 : 0x0806);
    if (f[12] === 0x08 && f[13] === 0x00 && f.length > 14 && rng.chance(0.5)) {
      f[14] = 0x45;
      if (rng.chance(0.5)) fixIpChecksum(f);
    }
  }
  return f;
}

// ------------------------------------------------------------ deliberate bad classes

interface Deliberate {
  frame: Uint8Array;
  /** Counter that must go up by exactly one. */
  counter: string;
  /** IP-level drops must not reach a transport. */
  ipDrop: boolean;
  /** An address that must not be in the ARP cache afterwards (unsolicited reply class), or -1. */
  notLearned: number;
}

/** Change the checksum at `o` to a value that is wrong for sure. */
function breakChecksum(f: Uint8Array, o: number, rng: TestRng): void {
  const old = u16(f, o);
  let v = old;
  while (v === old || v === 0 || v === 0xffff || ((old === 0 || old === 0xffff) && (v === 0 || v === 0xffff))) v = rng.int(65536);
  put16(f, o, v);
}

const MARTIANS = ['127.0.0.1', '127.1.2.3', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '0.1.2.3', STACK_IP, SUBNET_BROADCAST];
const DELIBERATE = [
  'badIpChecksum', 'truncatedIp', 'badVersion', 'badIhl', 'badTotalLength', 'badUdpChecksum', 'udpTooLong',
  'badIcmpChecksum', 'fragment', 'martian', 'unknownType', 'runt', 'notForUs', 'arpBadHardware', 'unsolicitedReply',
  'unicastInBroadcast',
] as const;

function unicastUdp(rng: TestRng): Uint8Array {
  const src = peerIp(rng);
  return ipv4Frame(STACK_MAC, macFor(src), {
    src, dst: STACK_IP, proto: PROTO_UDP, payload: udpDatagram(src, STACK_IP, rng.range(1, 65535), rng.chance(0.5) ? BOUND_PORT : CLOSED_PORT, payload(rng)),
  }, rng.chance(0.5));
}

function deliberate(rng: TestRng, kind: typeof DELIBERATE[number], stack: Stack): Deliberate | null {
  const ipFrame = (): Uint8Array => (rng.chance(0.5) ? unicastUdp(rng) : validFrame(rng, 'echo'));
  const d = (frame: Uint8Array, counter: string, ipDrop = true, notLearned = -1): Deliberate => ({ frame, counter, ipDrop, notLearned });
  switch (kind) {
    case 'badIpChecksum': { const f = ipFrame(); breakChecksum(f, 24, rng); return d(f, 'ip.badChecksum'); }
    case 'truncatedIp': return d(ipFrame().slice(0, 14 + rng.int(20)), 'ip.truncated');
    case 'badVersion': {
      const f = ipFrame();
      let v = 4;
      while (v === 4) v = rng.int(16);
      f[14] = (v << 4) | (f[14] & 0x0f);
      if (rng.chance(0.5)) fixIpChecksum(f);
      return d(f, 'ip.badVersion');
    }
    case 'badIhl': { const f = ipFrame(); f[14] = 0x40 | rng.int(5); return d(f, 'ip.badHeaderLength'); }
    case 'badTotalLength': {
      const f = ipFrame();
      const avail = f.length - 14;
      put16(f, 16, rng.chance(0.5) ? rng.int(20) : rng.range(avail + 1, 65535));
      if (rng.chance(0.7)) fixIpChecksum(f);
      return d(f, 'ip.badTotalLength');
    }
    case 'badUdpChecksum': { const f = unicastUdp(rng); breakChecksum(f, 40, rng); return d(f, 'udp.badChecksum', false); }
    case 'udpTooLong': {
      const f = unicastUdp(rng);
      const ipPayload = u16(f, 16) - 20;
      put16(f, 38, rng.range(ipPayload + 1, 65535));
      return d(f, 'udp.malformed', false);
    }
    case 'badIcmpChecksum': { const f = validFrame(rng, 'echo'); breakChecksum(f, 36, rng); return d(f, 'icmp.badChecksum', false); }
    case 'fragment': {
      const f = ipFrame();
      // Fragments reaching past 65535 bytes: dropped before reassembly (valid fragments are held, see fragment.test.ts).
      put16(f, 20, rng.pick([0x2000 | 0x1fff, 0x1fff, 0x4000 | 0x1fff]));
      fixIpChecksum(f);
      return d(f, 'ip.fragmentsDropped');
    }
    case 'martian': {
      const f = ipFrame();
      const a = ip(rng.pick(MARTIANS));
      f[26] = a >>> 24; f[27] = (a >>> 16) & 0xff; f[28] = (a >>> 8) & 0xff; f[29] = a & 0xff;
      fixIpChecksum(f);
      return d(f, 'ip.martianSource');
    }
    case 'unknownType': {
      const f = rng.chance(0.5) ? ipFrame() : validFrame(rng, 'arpRequest');
      let t = 0x0800;
      while (t === 0x0800 || t === 0x0806) t = rng.int(65536);
      put16(f, 12, t);
      return d(f, 'eth.unknownType');
    }
    case 'runt': return d(rng.bytes(rng.int(14)), 'eth.runt');
    case 'notForUs': {
      const f = rng.chance(0.5) ? ipFrame() : validFrame(rng, 'arpReply');
      const m = rng.bytes(6);
      m[0] &= 0xfe; // unicast
      if (m[5] === 1 && m[0] === 2 && m[1] === 0 && m[2] === 0 && m[3] === 0 && m[4] === 0) m[5] = 9;
      f.set(m, 0);
      return d(f, 'eth.notForUs');
    }
    case 'arpBadHardware': {
      const f = validFrame(rng, 'arpRequest');
      let h = 1;
      while (h === 1) h = rng.int(65536);
      put16(f, 14, h);
      return d(f, 'arp.malformed', false);
    }
    case 'unsolicitedReply': {
      const spa = ip('10.0.0.0') + rng.range(200, 250);
      if (stack.arp.entries().some((e) => e.ip === spa)) return null;
      const f = arpFrame(rng.chance(0.5) ? STACK_MAC : BROADCAST_MAC, {
        oper: 2, sha: macFor(spa), spa, tha: macFor(spa + 1), tpa: rng.chance(0.5) ? spa + 1 : peerIp(rng),
      });
      return d(f, 'arp.ignored', false, spa);
    }
    case 'unicastInBroadcast': { const f = ipFrame(); f.set([255, 255, 255, 255, 255, 255], 0); return d(f, 'ip.notForUs'); }
  }
}

// ------------------------------------------------------------ checks

function counter(c: Counters, name: string): number {
  const v = c[name];
  if (v === undefined) throw new Error(`no counter ${name}`);
  return v;
}

function get(stack: Stack, name: string): number {
  const [g, n] = name.split('.');
  return (stack.stats as unknown as Record<string, Record<string, number>>)[g][n];
}

/** Conservation of frames through the layers (nothing vanishes uncounted). */
function assertConservation(c: Counters, ctx: string): void {
  const s = (...names: string[]): number => names.reduce((a, n) => a + counter(c, n), 0);
  assert.equal(counter(c, 'eth.rxFrames'), s('eth.runt', 'eth.notForUs', 'eth.unknownType', 'ip.rx', 'arp.rx', 'ip6.rx'), `${ctx}: eth`);
  // A reassembled datagram re-enters the accounting as one more packet to deliver.
  assert.equal(counter(c, 'ip.rx') + counter(c, 'ip.reassembled'), s('ip.fragmentsIn', 'ip.fragmentDuplicates',
    'ip.forwarded', 'ip.forwardDropped', 'ip.truncated', 'ip.badVersion', 'ip.badHeaderLength', 'ip.badTotalLength', 'ip.badChecksum',
    'ip.martianSource', 'ip.notForUs', 'ip.fragmentsDropped', 'ip.delivered', 'ip.unknownProtocol'), `${ctx}: ip`);
  let transports = 0;
  for (const k of Object.keys(c)) if (k.endsWith('.rx') && !/^(eth|arp|ip|ip6|icmp6)\./.test(k)) transports += c[k];
  assert.equal(counter(c, 'ip.delivered'), transports, `${ctx}: ip.delivered vs transport rx`);
  assert.equal(counter(c, 'udp.rx'), s('udp.malformed', 'udp.badChecksum', 'udp.noPort', 'udp.delivered', 'udp.queueFull'), `${ctx}: udp`);
}

function sameFrames(a: Uint8Array[], b: Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    for (let k = 0; k < a[i].length; k++) if (a[i][k] !== b[i][k]) return false;
  }
  return true;
}

/** A gc function: --expose-gc's, else one obtained at run time through V8 flags; null when neither works. */
function findGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn === 'function') return fn as () => void;
  } catch {
    // fall through
  }
  return null;
}

function collect(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** After the storm: ARP, ping and UDP still work exactly. */
function legitimateExchange(fx: Fixture, tag: string): void {
  const { stack } = fx;
  // Let resolution attempts started by the storm run out, then empty the socket.
  for (let i = 0; i < 30; i++) fx.advance(1000);
  const buf = new Uint8Array(2048);
  while (stack.sockets.recvfrom(fx.fd, buf, 0, buf.length) >= 0) { /* drain */ }

  const arpOut = fx.feed(arpFrame(BROADCAST_MAC, { oper: 1, sha: PEER_MAC, spa: PEER_IP, tpa: STACK_IP }));
  const wantArp = arpFrame(PEER_MAC, { oper: 2, sha: STACK_MAC, spa: STACK_IP, tha: PEER_MAC, tpa: PEER_IP }, false);
  assert.ok(arpOut.some((f) => hex(f.subarray(0, 42)) === hex(wantArp)), `${tag}: ARP reply after the storm; got ${arpOut.map(hex).join(' ')}`);

  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 3) & 0xff);
  const echoOut = fx.feed(ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: PROTO_ICMP, id: 99, payload: icmpEcho(8, 0xabcd, 0x0102, data) }));
  const reply = echoOut.find((f) => f.length >= 42 && f[23] === PROTO_ICMP && u16(f, 38) === 0xabcd && u16(f, 40) === 0x0102);
  assert.ok(reply !== undefined, `${tag}: echo reply after the storm`);
  const want = ipv4Frame(PEER_MAC, STACK_MAC, {
    src: STACK_IP, dst: PEER_IP, proto: PROTO_ICMP, ttl: 64, id: u16(reply, 18), flags: u16(reply, 20), payload: icmpEcho(0, 0xabcd, 0x0102, data),
  }, false);
  assert.equal(hex(reply.subarray(0, want.length)), hex(want), `${tag}: echo reply bytes`);
  assert.equal(u16(reply, 20) & 0x3fff, 0);

  const msg = Uint8Array.from({ length: 333 }, (_, i) => (255 - i) & 0xff);
  fx.feed(ipv4Frame(STACK_MAC, PEER_MAC, { src: PEER_IP, dst: STACK_IP, proto: PROTO_UDP, payload: udpDatagram(PEER_IP, STACK_IP, 4444, BOUND_PORT, msg) }));
  const from = { address: 0, port: 0 };
  const n = stack.sockets.recvfrom(fx.fd, buf, 0, buf.length, from);
  assert.equal(n, msg.length, `${tag}: UDP after the storm`);
  assert.equal(hex(buf.subarray(0, n)), hex(msg));
  assert.equal(from.address, ip(PEER_IP));
  assert.equal(from.port, 4444);
}

// ------------------------------------------------------------ the storm

test(`fuzz storm: ${FRAMES} random and mutated frames`, { timeout: 120_000 }, (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} (0x${SEED.toString(16)}) FUZZ_FRAMES=${FRAMES}: set these to replay`);
  console.log(`[storm] seed ${SEED} (0x${SEED.toString(16)}), ${FRAMES} frames`);
  const rng = new TestRng(SEED);
  const warm = makeFixture(SEED ^ 1);
  const host = rng.bytes(4096);
  const buf = new Uint8Array(2048);

  const gc = findGc();
  let heapBefore = 0;
  // Warm up (JIT, lazily created objects) before the heap baseline.
  for (let i = 0; i < 2000; i++) {
    warm.tap.inject(mutate(rng, validFrame(rng, rng.pick(TEMPLATES))));
    warm.stack.poll(warm.now += TICK);
    warm.tap.take();
  }
  // The twins: A gets each frame as its own array, B the same bytes inside a junk-filled buffer.
  const A = makeFixture(SEED);
  const B = makeFixture(SEED);
  pingIdent = A.stack.icmpLayer.pingIdent;
  assert.equal(B.stack.icmpLayer.pingIdent, pingIdent);
  const connected: number[] = [];
  for (const fx of [A, B]) {
    const fd = fx.stack.sockets.socket('udp');
    assert.equal(fx.stack.sockets.bind(fd, 0, CONNECTED_PORT), 0);
    assert.equal(fx.stack.sockets.connect(fd, PEER_IP, 53), 0);
    connected.push(fd);
  }
  let socketErrors = 0;
  const memoryBefore = JSON.stringify(A.stack.memory);
  assert.equal(A.stack.memory.totalBytes, Stack.planMemory({ seed: SEED }).totalBytes);
  assert.equal(A.stack.memory.totalBytes, B.stack.memory.totalBytes);
  if (gc !== null) heapBefore = collect(gc);

  const classCounts: Record<string, number> = {};
  let deliberateChecked = 0;
  const started = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    let frame: Uint8Array;
    let check: Deliberate | null = null;
    const r = rng.int(100);
    if (r < 25) {
      frame = randomFrame(rng);
      classCounts.random = (classCounts.random ?? 0) + 1;
    } else if (r < 60) {
      const kind = rng.pick(TEMPLATES);
      frame = rng.chance(0.1) ? validFrame(rng, kind) : mutate(rng, validFrame(rng, kind));
      classCounts[kind] = (classCounts[kind] ?? 0) + 1;
    } else {
      const kind = rng.pick(DELIBERATE);
      check = deliberate(rng, kind, A.stack);
      frame = check?.frame ?? validFrame(rng, 'udpBound');
      classCounts[kind] = (classCounts[kind] ?? 0) + 1;
    }
    const off = rng.int(4096 - frame.length + 1);
    host.set(frame, off);

    const before = check !== null ? get(A.stack, check.counter) : 0;
    const delivered = check !== null ? get(A.stack, 'ip.delivered') : 0;
    A.now += TICK;
    B.now += TICK;
    A.tap.inject(frame);
    B.tap.inject(host, off, frame.length);
    try {
      A.stack.poll(A.now);
      B.stack.poll(B.now);
    } catch (e) {
      assert.fail(`seed ${SEED} frame #${i}: poll threw ${(e as Error).stack ?? String(e)}\nframe ${hex(frame)}`);
    }
    const outA = A.tap.take();
    const outB = B.tap.take();
    if (!sameFrames(outA, outB)) {
      assert.fail(`seed ${SEED} frame #${i}: twin stacks transmitted differently (offset ${off})\nframe ${hex(frame)}\n`
        + `A: ${outA.map(hex).join(' ')}\nB: ${outB.map(hex).join(' ')}`);
    }
    if (check !== null) {
      deliberateChecked++;
      const got = get(A.stack, check.counter) - before;
      if (got !== 1) assert.fail(`seed ${SEED} frame #${i}: ${check.counter} went up by ${got}, want 1\nframe ${hex(frame)}`);
      if (check.ipDrop && get(A.stack, 'ip.delivered') !== delivered) assert.fail(`seed ${SEED} frame #${i}: IP-level drop was delivered`);
      const spa = check.notLearned;
      if (spa >= 0 && A.stack.arp.entries().some((e) => e.ip === spa)) {
        assert.fail(`seed ${SEED} frame #${i}: unsolicited ARP reply from ${ipText(spa)} was learned\nframe ${hex(frame)}`);
      }
    }
    if (i % 500 === 499) {
      for (const [k, fx] of [A, B].entries()) {
        while (fx.stack.sockets.recvfrom(fx.fd, buf, 0, buf.length) >= 0) { /* drain */ }
        const e = fx.stack.sockets.recvfrom(connected[k], buf, 0, buf.length);
        if (k === 0 && e < 0 && e !== -11) socketErrors++;
        // Our own traffic now and then: a ping and a datagram from the connected socket.
        fx.stack.icmpLayer.sendEcho(PING_TARGET, 56, 2000, 64);
        fx.stack.sockets.send(connected[k], buf, 0, 20);
        fx.tap.take();
      }
    }
    if (i % 10_000 === 9_999) {
      const sa = snapshot(A.stack);
      assert.deepEqual(snapshot(B.stack), sa, `seed ${SEED} frame #${i}: twin counters differ`);
      assertConservation(sa, `seed ${SEED} frame #${i}`);
    }
  }
  const elapsed = performance.now() - started;
  const sa = snapshot(A.stack);
  t.diagnostic(`storm took ${elapsed.toFixed(0)} ms; deliberate checks ${deliberateChecked}; classes ${JSON.stringify(classCounts)}`);
  t.diagnostic(`counters ${JSON.stringify(Object.fromEntries(Object.entries(sa).filter(([, v]) => v !== 0)))}`);
  assert.equal(counter(sa, 'eth.rxFrames'), FRAMES);
  assert.deepEqual(snapshot(B.stack), sa, 'twin counters differ at the end');
  assertConservation(sa, `seed ${SEED} end`);
  // The storm reached every layer and every interesting outcome.
  for (const name of ['ip.badChecksum', 'ip.truncated', 'ip.badVersion', 'ip.badHeaderLength', 'ip.badTotalLength', 'ip.martianSource',
    'ip.notForUs', 'ip.fragmentsDropped', 'ip.unknownProtocol', 'udp.badChecksum', 'udp.malformed', 'udp.delivered', 'udp.noPort',
    'icmp.badChecksum', 'icmp.echoRepliesOut', 'icmp.errorsOut', 'eth.runt', 'eth.notForUs', 'eth.unknownType', 'arp.malformed',
    'arp.repliesOut', 'arp.ignored', 'icmp.errorsIn', 'icmp.echoRepliesIn']) {
    assert.ok(counter(sa, name) > 0, `${name} never happened: the fuzzer is not reaching it`);
  }
  t.diagnostic(`ICMP errors reported on the connected socket: ${socketErrors}`);
  assert.ok(socketErrors > 0, 'ICMP errors reached the connected socket');
  assert.ok(deliberateChecked > FRAMES / 4, `deliberate checks ${deliberateChecked}`);

  // Memory: the plan is fixed, and the heap did not grow with the traffic.
  assert.equal(JSON.stringify(A.stack.memory), memoryBefore);
  assert.equal(A.stack.memory.totalBytes, Stack.planMemory({ seed: SEED }).totalBytes);
  if (gc === null) {
    const msg = '!!! HEAP CHECK SKIPPED: no gc available (run node with --expose-gc); all other assertions ran !!!';
    t.diagnostic(msg);
    console.warn(msg);
  } else {
    const heapAfter = collect(gc);
    const grew = heapAfter - heapBefore;
    t.diagnostic(`heapUsed before ${(heapBefore / 1048576).toFixed(2)} MiB, after ${(heapAfter / 1048576).toFixed(2)} MiB`);
    assert.ok(grew < 8 * 1048576, `heap grew by ${(grew / 1048576).toFixed(2)} MiB over ${FRAMES} frames`);
  }

  legitimateExchange(A, 'A');
  legitimateExchange(B, 'B');
});
