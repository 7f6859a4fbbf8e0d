/**
 * IPv6 fuzz storm: >= 100,000 malformed and mutated-valid IPv6 / ICMPv6 /
 * extension-header / fragment / ND frames fed to a stack on an Ethernet
 * FrameTap (and, at a random offset in a junk buffer, to a twin): no
 * exception, twins agree on every counter and byte, every IPv6 packet ends
 * in exactly one counter, the memory plan is fixed and the heap does not
 * grow. Seeded (FUZZ_SEED, FUZZ_FRAMES to replay or scale).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Stack } from '../../src/stack.js';
import { TestRng, hex, seedFromEnv } from '../helpers/frames.js';
import { FrameTap } from '../helpers/frames.js';
import { a6 } from '../helpers/ip6.js';
import { writeIpv6, writeFragHeader } from '../../src/wire/ipv6.js';
import { writeIcmp6 } from '../../src/wire/icmpv6.js';
import { snapshot, type Counters } from './fixture.js';

const SEED = seedFromEnv('FUZZ_SEED', 0x6eed_f00d);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const TICK = 0.05;
const MAC = Uint8Array.from([2, 0, 0, 0, 0, 1]);
const PEER_MAC = Uint8Array.from([2, 0, 0, 0, 0, 2]);
const ME = a6('fd00::1');
const ALL_NODES = a6('ff02::1');
const LL = a6('fe80::1');

interface Twin { stack: Stack; tap: FrameTap; now: number }

function makeTwin(seed: number): Twin {
  const tap = new FrameTap('tap0', 1500);
  const stack = new Stack({ seed, ip6ReassemblySlots: 4 });
  stack.addInterface(tap, { address: ['10.0.0.1/24', 'fd00::1/64', 'fe80::1/64'], mac: '02:00:00:00:00:01' });
  stack.poll(0);
  tap.take();
  return { stack, tap, now: 0 };
}

function peerAddr(rng: TestRng): Uint8Array {
  const a = a6('fd00::');
  a[14] = rng.int(4);
  a[15] = rng.range(2, 255);
  if (rng.chance(0.05)) a.set(rng.bytes(16));
  return a;
}

/** Frame around an IPv6 packet: to our MAC, or to 33:33:00:00:00:01. */
function frame(rng: TestRng, ip6: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + ip6.length);
  if (rng.chance(0.15)) f.set([0x33, 0x33, 0, 0, 0, 1], 0);
  else f.set(MAC, 0);
  f.set(PEER_MAC, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f.set(ip6, 14);
  return f;
}

/** An IPv6 packet with `body` (starting with next header `nh`) from a random peer to us (or all-nodes, or link-local). */
function pkt(rng: TestRng, nh: number, body: Uint8Array, icmpAt = -1): Uint8Array {
  const p = new Uint8Array(40 + body.length);
  const r = rng.int(10);
  const dst = r < 7 ? ME : r < 9 ? ALL_NODES : LL;
  writeIpv6(p, 0, body.length, nh, rng.chance(0.1) ? rng.int(256) : 64, peerAddr(rng), 0, dst, 0);
  p.set(body, 40);
  if (icmpAt >= 0 && 40 + icmpAt + 8 <= p.length) writeIcmp6(p, 0, 40 + icmpAt, p.length - 40 - icmpAt, p[40 + icmpAt], p[41 + icmpAt], ((p[44 + icmpAt] << 24) | (p[45 + icmpAt] << 16) | (p[46 + icmpAt] << 8) | p[47 + icmpAt]) >>> 0);
  return p;
}

function icmpBody(rng: TestRng): Uint8Array {
  const kinds = [128, 129, 1, 2, 3, 4, 133, 134, 135, 136, 137, 200, 5];
  const t = rng.pick(kinds);
  if (rng.chance(0.03)) return rng.bytes(rng.int(8));
  const n = t < 128 ? 8 + rng.int(200) : 8 + rng.int(rng.chance(0.05) ? 1400 : 100);
  const b = rng.bytes(n);
  b[0] = t;
  b[1] = rng.int(5);
  if (t < 128 && n >= 48) {
    // Quote one of "our" packets: version 6, our source, a UDP/TCP/ICMPv6 next header.
    b[8] = 0x60;
    b[14] = rng.pick([6, 17, 58, 44, 0, 60]);
    b.set(ME, 16);
    if (t === 2) { b[4] = 0; b[5] = 0; b[6] = rng.int(8); b[7] = rng.int(256); }
  }
  return b;
}

/** An extension-header chain (random kinds and options) ending in `last` with `tail`. */
function chain(rng: TestRng, tail: Uint8Array, last: number): { nh: number; body: Uint8Array } {
  const parts: Uint8Array[] = [];
  const kinds: number[] = [];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) kinds.push(rng.pick([0, 60, 43, 44, 60, 253, 59]));
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    const next = i + 1 < kinds.length ? kinds[i + 1] : last;
    if (k === 44) {
      const h = new Uint8Array(8);
      writeFragHeader(h, 0, next, rng.chance(0.7) ? 0 : rng.int(200) * 8, rng.chance(0.3), rng.u32());
      parts.push(h);
    } else {
      const len = 8 * (1 + rng.int(3));
      const h = new Uint8Array(len);
      h[0] = next;
      h[1] = len / 8 - 1;
      if (k === 43) { h[2] = rng.int(5); h[3] = rng.chance(0.7) ? 0 : rng.int(4); }
      else {
        let o = 2;
        while (o < len) {
          const room = len - o;
          if (room === 1 || rng.chance(0.3)) { h[o++] = 0; continue; }
          const t = rng.chance(0.6) ? 1 : rng.int(256);
          const l = Math.min(room - 2, rng.int(6));
          h[o] = t;
          h[o + 1] = l;
          o += 2 + l;
        }
      }
      parts.push(h);
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0) + tail.length;
  const body = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { body.set(p, o); o += p.length; }
  body.set(tail, o);
  return { nh: kinds.length > 0 ? kinds[0] : last, body };
}

/** Fragments of an echo request, sometimes overlapping, duplicated or out of range. */
function fragmentSet(rng: TestRng): Uint8Array[] {
  const size = 1000 + rng.int(4000);
  const whole = new Uint8Array(40 + 8 + size);
  writeIpv6(whole, 0, 8 + size, 58, 64, peerAddr(rng), 0, ME, 0);
  whole[40] = 128;
  writeIcmp6(whole, 0, 40, 8 + size, 128, 0, rng.u32());
  const plen = 8 + size;
  const id = rng.int(8);
  const out: Uint8Array[] = [];
  for (let off = 0; off < plen;) {
    let len = Math.min(plen - off, 8 * (50 + rng.int(150)));
    if (rng.chance(0.05)) len += rng.int(20) - 10;
    let o = off;
    if (rng.chance(0.05)) o = Math.max(0, o - 8 * rng.int(4));
    if (len <= 0) break;
    const f = new Uint8Array(48 + Math.min(len, plen - o));
    f.set(whole.subarray(0, 40), 0);
    f[6] = 44;
    f[4] = (f.length - 40) >>> 8;
    f[5] = (f.length - 40) & 0xff;
    writeFragHeader(f, 40, 58, o, o + len < plen, id);
    f.set(whole.subarray(40 + o, 40 + o + f.length - 48), 48);
    out.push(f);
    if (rng.chance(0.05)) out.push(f);
    off += len;
  }
  if (rng.chance(0.3)) out.reverse();
  return out;
}

/**
 * A neighbour discovery message (RFC 4861 §4) as a router or neighbour would
 * send it: hop limit 255, link-local or unspecified source, options (SLLA,
 * TLLA, prefix information, MTU, RDNSS, unknown) of valid or broken length,
 * the body sometimes mutated before the checksum so ND's own checks are reached.
 */
function ndPacket(rng: TestRng): Uint8Array {
  const t = rng.pick([133, 134, 135, 135, 136, 136, 137]);
  const fixed = t === 133 ? 8 : t === 134 ? 16 : t === 137 ? 40 : 24;
  const opts: number[] = [];
  const nOpts = rng.int(4);
  for (let i = 0; i < nOpts; i++) {
    const k = rng.pick([1, 2, 3, 5, 25, 31, 99]);
    if (k === 1 || k === 2) opts.push(k, 1, 2, 0, 0, 0, rng.int(4), rng.int(256));
    else if (k === 3) {
      const v = rng.chance(0.2) ? 0xffffffff : rng.int(7200);
      const pf = rng.chance(0.8) ? v : rng.int(7200);
      opts.push(3, 4, rng.chance(0.8) ? 64 : rng.int(130), rng.pick([0xc0, 0x40, 0x80, 0, rng.int(256)]),
        v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255, pf >>> 24, (pf >>> 16) & 255, (pf >>> 8) & 255, pf & 255,
        0, 0, 0, 0, 0xfd, rng.int(4), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    } else if (k === 5) opts.push(5, 1, 0, 0, 0, 0, rng.int(8), rng.int(256));
    else if (k === 25) {
      const n = rng.int(3);
      opts.push(25, 1 + 2 * n, 0, 0, 0, 0, rng.int(2), rng.int(256));
      for (let j = 0; j < n; j++) opts.push(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, rng.int(8));
    } else opts.push(k, 1, 0, 0, 0, 0, 0, 0);
    if (rng.chance(0.05)) opts[opts.length - 7] = rng.int(3); // a bad option length
  }
  const body = new Uint8Array(fixed + opts.length);
  body[0] = t;
  if (rng.chance(0.05)) body[1] = 1 + rng.int(3);
  if (t === 134) { body[4] = 64; body[6] = rng.int(3); body[7] = rng.int(256); }
  if (t === 136) body[4] = rng.pick([0x60, 0x20, 0x40, 0xe0, 0]);
  if (t >= 135) {
    // Target: ours, a peer, or multicast.
    const tg = rng.int(4) === 0 ? ME : rng.int(3) === 0 ? LL : a6(`fe80::${rng.range(2, 40).toString(16)}`);
    body.set(rng.chance(0.03) ? ALL_NODES : tg, 8);
  }
  if (t === 137) body.set(a6(`fd09::${rng.range(1, 9)}`), 24);
  body.set(opts, fixed);
  if (rng.chance(0.2)) body[rng.int(body.length)] = rng.int(256);
  const p = new Uint8Array(40 + body.length);
  const src = rng.chance(0.15) ? a6('::') : rng.chance(0.1) ? peerAddr(rng) : a6(`fe80::${rng.range(2, 40).toString(16)}`);
  const r = rng.int(10);
  const dst = r < 4 ? ALL_NODES : r < 7 ? a6('ff02::1:ff00:1') : r < 9 ? LL : ME;
  writeIpv6(p, 0, body.length, 58, rng.chance(0.9) ? 255 : 64, src, 0, dst, 0);
  p.set(body, 40);
  writeIcmp6(p, 0, 40, body.length, body[0], body[1], ((body[4] << 24) | (body[5] << 16) | (body[6] << 8) | body[7]) >>> 0);
  return p;
}

function mutate(rng: TestRng, f: Uint8Array): Uint8Array {
  const n = rng.int(4);
  let g = f;
  for (let i = 0; i < n; i++) {
    const r = rng.int(6);
    if (r === 0 && g.length > 14) g = g.slice(0, rng.range(14, g.length - 1));
    else if (r === 1) g[rng.int(g.length)] ^= 1 << rng.int(8);
    else if (r === 2) g[rng.int(g.length)] = rng.int(256);
    else if (r === 3 && g.length > 19) { g[18] = rng.int(256); g[19] = rng.int(256); } // payload length
    else if (r === 4 && g.length > 20) g[20] = rng.pick([0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135, 253]);
    else if (g.length > 54) g[rng.range(54, g.length - 1)] = rng.int(256);
  }
  return g;
}

function nextFrames(rng: TestRng): Uint8Array[] {
  const r = rng.int(100);
  if (r < 10) {
    const g = rng.bytes(rng.int(200));
    if (g.length >= 14) { g.set(MAC, 0); g[12] = 0x86; g[13] = 0xdd; }
    return [g];
  }
  if (r < 25) {
    const p = ndPacket(rng);
    return [frame(rng, rng.chance(0.9) ? p : mutate(rng, p))];
  }
  if (r < 45) {
    const body = icmpBody(rng);
    const p = pkt(rng, 58, body, 0);
    return [frame(rng, rng.chance(0.2) ? p : mutate(rng, p))];
  }
  if (r < 75) {
    const e = icmpBody(rng);
    e[0] = 128;
    const c = chain(rng, e, rng.chance(0.8) ? 58 : rng.pick([6, 17, 59, 253]));
    const p = pkt(rng, c.nh, c.body);
    return [frame(rng, rng.chance(0.5) ? p : mutate(rng, p))];
  }
  return fragmentSet(rng).map((f) => frame(rng, rng.chance(0.8) ? f : mutate(rng, f)));
}

function counter(c: Counters, n: string): number {
  return c[n] ?? 0;
}

function assertConservation6(c: Counters, ctx: string): void {
  const s = (...names: string[]): number => names.reduce((a, n) => a + counter(c, n), 0);
  assert.equal(counter(c, 'ip6.rx') + counter(c, 'ip6.reassembled'), s('ip6.truncated', 'ip6.badVersion', 'ip6.badPayloadLength',
    'ip6.martianSource', 'ip6.multicastNotJoined', 'ip6.notForUs', 'ip6.forwarded', 'ip6.forwardDropped', 'ip6.delivered',
    'ip6.noTransport', 'ip6.unknownNextHeader', 'ip6.badExtHeader', 'ip6.unknownOption', 'ip6.extChainTooLong', 'ip6.noNextHeader',
    'ip6.fragmentsIn', 'ip6.fragmentDuplicates', 'ip6.fragmentsDropped'), `${ctx}: ip6`);
  assert.equal(counter(c, 'icmp6.rx'), s('icmp6.malformed', 'icmp6.badChecksum', 'icmp6.echoRequestsIn', 'icmp6.echoRepliesIn',
    'icmp6.ndIn', 'icmp6.errorsIn', 'icmp6.unknownType'), `${ctx}: icmp6`);
  assert.equal(counter(c, 'eth.rxFrames'), s('eth.runt', 'eth.notForUs', 'eth.unknownType', 'ip.rx', 'arp.rx', 'ip6.rx',
    'nd6.multicastNotJoined') - counter(c, 'ip6.loopbackIn'), `${ctx}: eth`);
  // Every ND message ICMPv6 hands over is counted once by type in nd6 (then its drop reasons, if any).
  assert.equal(counter(c, 'icmp6.ndIn'), s('nd6.rsIn', 'nd6.raIn', 'nd6.nsIn', 'nd6.naIn', 'nd6.redirectIn'), `${ctx}: nd6`);
}

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

test(`IPv6 fuzz storm: ${FRAMES} malformed and mutated frames`, { timeout: 300_000 }, (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} (0x${SEED.toString(16)}) FUZZ_FRAMES=${FRAMES}`);
  const rng = new TestRng(SEED);
  const warm = makeTwin(SEED ^ 1);
  for (let i = 0; i < 3000; i++) {
    for (const f of nextFrames(rng)) warm.tap.inject(f);
    warm.stack.poll(warm.now += TICK);
    warm.tap.take();
  }
  const A = makeTwin(SEED);
  const B = makeTwin(SEED);
  const host = new Uint8Array(8192);
  const memoryBefore = JSON.stringify(A.stack.memory);
  const gc = findGc();
  const heapBefore = gc !== null ? collect(gc) : 0;
  let frames = 0;
  let sent = 0;
  while (frames < FRAMES) {
    const batch = nextFrames(rng);
    for (const f of batch) {
      frames++;
      const off = rng.int(host.length - f.length + 1);
      host.fill(0xa5);
      host.set(f, off);
      A.tap.inject(f);
      A.now += TICK;
      B.now += TICK;
      try {
        A.stack.poll(A.now);
        B.tap.inject(host, off, f.length);
        B.stack.poll(B.now);
      } catch (e) {
        assert.fail(`seed ${SEED} frame #${frames}: poll threw ${(e as Error).stack ?? String(e)}\nframe ${hex(f)}`);
      }
      const outA = A.tap.take();
      const outB = B.tap.take();
      sent += outA.length;
      if (outA.length !== outB.length || outA.some((x, i) => hex(x) !== hex(outB[i]))) {
        assert.fail(`seed ${SEED} frame #${frames}: twins transmitted differently\nframe ${hex(f)}`);
      }
    }
    if (frames % 10_000 < batch.length) {
      const sa = snapshot(A.stack);
      assert.deepEqual(snapshot(B.stack), sa, `seed ${SEED} frame #${frames}: twin counters differ`);
      assertConservation6(sa, `seed ${SEED} frame #${frames}`);
    }
  }
  // Let reassembly time out.
  for (const x of [A, B]) { x.now += 60_000; x.stack.poll(x.now); x.tap.take(); }
  const sa = snapshot(A.stack);
  t.diagnostic(`frames ${frames}, transmitted ${sent}; counters ${JSON.stringify(Object.fromEntries(Object.entries(sa).filter(([k, v]) => v !== 0 && /^(ip6|icmp6|nd6)\./.test(k))))}`);
  assert.deepEqual(snapshot(B.stack), sa);
  assertConservation6(sa, 'end');
  for (const name of ['ip6.truncated', 'ip6.badPayloadLength', 'ip6.multicastNotJoined', 'ip6.unknownNextHeader',
    'ip6.badExtHeader', 'ip6.unknownOption', 'ip6.noNextHeader', 'ip6.atomicFragments', 'ip6.fragmentsIn', 'ip6.reassembled',
    'ip6.reassemblyOverlaps', 'ip6.fragmentsMalformed', 'ip6.fragmentDuplicates', 'ip6.reassemblyTimeouts', 'icmp6.badChecksum',
    'icmp6.echoRepliesOut', 'icmp6.errorsIn', 'icmp6.ndIn', 'icmp6.errorsOut', 'icmp6.packetTooBigIn', 'icmp6.malformed',
    'nd6.nsIn', 'nd6.naIn', 'nd6.raIn', 'nd6.naOut', 'nd6.badHopLimit', 'nd6.badCode', 'nd6.badOptions', 'nd6.badAddress',
    'nd6.notForUs', 'nd6.rsIgnored', 'nd6.redirectsIgnored', 'nd6.slaacAddresses', 'nd6.rdnssLearned', 'nd6.mtuApplied']) {
    assert.ok(counter(sa, name) > 0, `${name} never happened: the fuzzer is not reaching it`);
  }
  assert.equal(A.stack.reassemblyBusy6, 0);
  assert.equal(JSON.stringify(A.stack.memory), memoryBefore);
  if (gc === null) {
    t.diagnostic('!!! HEAP CHECK SKIPPED: no gc available !!!');
  } else {
    const grew = collect(gc) - heapBefore;
    t.diagnostic(`heap grew ${(grew / 1048576).toFixed(2)} MiB`);
    assert.ok(grew < 8 * 1048576, `heap grew by ${(grew / 1048576).toFixed(2)} MiB over ${frames} frames`);
  }
  // Still answers a plain ping6 afterwards.
  const e = new Uint8Array(48 + 16);
  writeIpv6(e, 0, 24, 58, 64, a6('fd00::77'), 0, ME, 0);
  writeIcmp6(e, 0, 40, 24, 128, 0, 0x12340001);
  const f = new Uint8Array(14 + e.length);
  f.set(MAC, 0); f.set(PEER_MAC, 6); f[12] = 0x86; f[13] = 0xdd; f.set(e, 14);
  const before = A.stack.stats.icmp6.echoRepliesOut;
  A.tap.inject(f);
  A.stack.poll(A.now += 1);
  assert.equal(A.stack.stats.icmp6.echoRepliesOut, before + 1);
});
