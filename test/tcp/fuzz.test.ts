/**
 * Seeded fuzzing of TCP input: random and mutated segments (random flags,
 * sequence and acknowledgement numbers near and far from the window, random
 * option bytes, odd data offsets and lengths, bad checksums) against a
 * listening socket and an established connection on one stack.
 *
 * Segments aimed at the established connection with a correct checksum are
 * kept to those that RFC 9293 / RFC 5961 / RFC 7323 require a receiver to
 * discard without changing the connection (an exact-sequence RST or an
 * in-window segment with an acceptable ACK could legitimately alter it); all
 * others are unconstrained. Afterwards the connection must still carry 64 KiB
 * each way intact, and memory and socket usage must return to the baseline.
 *
 * FUZZ_SEED=<n> replays another sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, type StackConfig } from '../../src/index.js';
import { TestRng, ipv4Frame, pseudoHeader, refChecksum, seedFromEnv, u16, u32 } from '../helpers/frames.js';
import {
  ACK, FIN, PEER_IP, PEER_MAC, describe, PROTO_TCP, RST, SO_LINGER, STACK_IP, STACK_MAC, SYN, TapPeer, add32, diff32, drain, opt,
  optionBlock, pattern, tapStack, tcpOnly,
} from './helpers.js';

const SEED = seedFromEnv('FUZZ_SEED', 0x7c9e51);
const SEGMENTS = 24000;
const PORT = 80;
const PEER_PORT = 40000;
const CONFIG: StackConfig = { tcpSynRetries: 2, tcpTimeWaitMs: 1000, maxTcpSockets: 16, maxSockets: 64 };

/** Offsets (in `tcp`) of the TSval of every well-formed timestamp option (a parser may keep any of them). */
function tsValOffsets(tcp: Uint8Array, hlen: number): number[] {
  const out: number[] = [];
  let i = 20;
  while (i < hlen) {
    const kind = tcp[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= hlen) break;
    const len = tcp[i + 1];
    if (len < 2 || i + len > hlen) break;
    if (kind === 8 && len === 10) out.push(i + 2);
    i += len;
  }
  return out;
}

/** The interesting control-block fields of a connection, for failure messages. */
function tcbDump(stack: Stack, s: number): string {
  const t = stack.tcp.core.t;
  const f: Record<string, number> = {
    state: t.state[s], tflags: t.tflags[s], sndUna: t.sndUna[s], sndNxt: t.sndNxt[s], sndMax: t.sndMax[s],
    sndWnd: t.sndWnd[s], maxSndWnd: t.maxSndWnd[s], sndWl1: t.sndWl1[s], sndWl2: t.sndWl2[s], sndLen: t.sndLen[s],
    cwnd: t.cwnd[s], rcvNxt: t.rcvNxt[s], rcvAdv: t.rcvAdv[s], rcvLen: t.rcvLen[s], tsRecent: t.tsRecent[s],
    sackCount: t.sackCount[s], oooCount: t.oooCount[s], rtoAt: t.rtoAt[s], persistAt: t.persistAt[s], backoff: t.backoff[s],
  };
  return JSON.stringify(f);
}

function setChecksum(tcp: Uint8Array, src: string, dst: string, good: boolean): void {
  tcp[16] = 0;
  tcp[17] = 0;
  const ph = pseudoHeader(src, dst, PROTO_TCP, tcp.length);
  const all = new Uint8Array(ph.length + tcp.length);
  all.set(ph, 0);
  all.set(tcp, ph.length);
  let c = refChecksum(all);
  if (!good) c = c === 0x1234 ? 0x4321 : 0x1234;
  tcp[16] = c >>> 8;
  tcp[17] = c & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  v >>>= 0;
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

test(`fuzz: ${SEGMENTS} random and mutated segments against a listener and an established connection (seed ${SEED})`, () => {
  const rng = new TestRng(SEED);
  const ts = tapStack(SEED, CONFIG);
  const { stack } = ts;
  const memoryBefore = JSON.stringify(stack.memory);
  assert.deepEqual(stack.memory, Stack.planMemory({ seed: SEED, arpReachableMs: 86400000, ...CONFIG }));
  const lfd = stack.sockets.socket('tcp');
  assert.equal(stack.sockets.bind(lfd, 0, PORT), 0);
  assert.equal(stack.sockets.listen(lfd, 16), 0);
  const baselineUsed = stack.sockets.usage.used;
  const baselineBuffers = stack.tcp.core.t.freeBuffers;

  const peer = new TapPeer(ts, { port: PEER_PORT, stackPort: PORT, isn: rng.u32() });
  const fd = peer.handshake(lfd);
  // Some traffic first so the connection has history (timestamps, RTT, SACK state).
  const warm = pattern(20000, 1);
  const warmGot: number[] = [];
  peer.pushData(warm, () => drain(stack, fd, warmGot));
  assert.deepEqual(Uint8Array.from(warmGot), warm);

  /** Constrain a segment for the established 4-tuple to ones a correct receiver discards (see file comment). */
  const sanitize = (tcp: Uint8Array): void => {
    const hlen = (tcp[12] >>> 4) * 4;
    const flags = tcp[13];
    const rn = peer.sndNxt;
    if (hlen >= 20 && hlen <= tcp.length) {
      // Never a newer TSval than the real peer's clock (RFC 7323 R3 would make it TS.Recent).
      for (const at of tsValOffsets(tcp, hlen)) put32(tcp, at, add32(peer.tsVal(), -rng.int(1 << 30)));
    }
    const seq = u32(tcp, 4);
    if (flags & RST) {
      if (seq === rn) put32(tcp, 4, add32(rn, 1 + rng.int(1000)));
      return;
    }
    if (flags & SYN) return; // challenge ACK whatever the numbers
    if ((flags & ACK) === 0) return; // dropped
    const ack = u32(tcp, 8);
    const d = diff32(ack, peer.rcvNxt);
    const ackAcceptable = d <= 0 && d >= -(1 << 24);
    if (!ackAcceptable) return; // ACK of unsent data, or far too old: ACK and drop
    const payload = hlen >= 20 && hlen <= tcp.length ? tcp.length - hlen : tcp.length;
    const segLen = payload + (flags & FIN ? 1 : 0);
    const old = diff32(add32(seq, segLen), rn) <= 0;
    const beyond = diff32(seq, rn) >= (1 << 17);
    if (!old && !beyond) put32(tcp, 4, add32(rn, (1 << 17) + rng.int(1 << 24)));
  };

  const randomOptions = (): Uint8Array => {
    const r = rng.int(10);
    if (r < 3) return new Uint8Array(0);
    if (r < 6) {
      // Well-formed options in random order and number.
      const parts: number[][] = [];
      const n = rng.range(1, 6);
      for (let k = 0; k < n; k++) {
        switch (rng.int(8)) {
          case 0: parts.push(opt.mss(rng.int(65536))); break;
          case 1: parts.push(opt.ws(rng.int(20))); break;
          case 2: parts.push(opt.sackOk()); break;
          case 3: parts.push(opt.ts(rng.u32(), rng.u32())); break;
          case 4: {
            const blocks: Array<[number, number]> = [];
            const nb = rng.range(1, 4);
            const base = add32(peer.rcvNxt, rng.range(-70000, 70000));
            for (let b = 0; b < nb; b++) blocks.push([add32(base, rng.int(80000)), add32(base, rng.int(80000))]);
            parts.push(opt.sack(blocks));
            break;
          }
          case 5: parts.push(opt.nop()); break;
          case 6: parts.push(opt.raw(rng.range(9, 254), 2 + rng.int(4), ...Array.from(rng.bytes(4)))); break;
          default: parts.push(opt.eol()); break;
        }
      }
      const b = optionBlock(parts);
      return b.length <= 40 ? b : b.subarray(0, 40);
    }
    // Random bytes (mostly malformed).
    const len = 4 * rng.int(11);
    const b = rng.bytes(len);
    if (rng.chance(0.5) && len > 0) b[0] = rng.pick([2, 3, 4, 5, 8]);
    return b;
  };

  const seqNear = (base: number): number => {
    switch (rng.int(6)) {
      case 0: return rng.u32();
      case 1: return add32(base, rng.range(-2000, 2000));
      case 2: return add32(base, rng.range(-70000, 70000));
      case 3: return add32(base, rng.range(-(2 ** 31), 2 ** 31 - 1));
      case 4: return base;
      default: return add32(base, rng.range(60000, 140000));
    }
  };

  const flagsPick = (): number => {
    if (rng.chance(0.4)) return rng.int(256);
    return rng.pick([SYN, SYN | ACK, ACK, ACK | 0x08, FIN | ACK, RST, RST | ACK, SYN | FIN, SYN | RST, FIN, 0, ACK | 0x20]);
  };

  /** A template of a legitimate segment of the established connection, to be mutated. */
  const template = (): Uint8Array => {
    const f = peer.frame({ flags: ACK | 0x08, payload: rng.bytes(rng.int(300)), options: peer.stdOptions() });
    return f.slice(34);
  };

  let established = 0;
  let injected = 0;
  const counts = { bad: 0, established: 0, listener: 0, closed: 0, mutated: 0, truncated: 0 };
  while (injected < SEGMENTS) {
    const batch = rng.range(1, 60);
    const frames: Uint8Array[] = [];
    for (let k = 0; k < batch; k++) {
      const target = rng.int(100);
      let src = PEER_IP;
      let sport: number;
      let dport = PORT;
      if (target < 50) {
        sport = PEER_PORT;
        counts.established++;
      } else if (target < 80) {
        sport = rng.range(1, 65535);
        if (sport === PEER_PORT) sport++;
        if (rng.chance(0.3)) src = `10.0.0.${rng.range(3, 254)}`;
        counts.listener++;
      } else {
        sport = rng.range(1, 65535);
        if (sport === PEER_PORT) sport++;
        dport = rng.chance(0.5) ? rng.range(1, 65535) : PORT + 1;
        if (dport === PORT) dport++;
        counts.closed++;
      }
      let tcp: Uint8Array;
      if (sport === PEER_PORT && rng.chance(0.3)) {
        tcp = template();
        const flips = rng.range(1, 6);
        for (let m = 0; m < flips; m++) {
          const at = rng.int(tcp.length);
          if (at === 0 || at === 1 || at === 2 || at === 3) continue; // keep the ports: it must reach the connection
          tcp[at] = rng.chance(0.5) ? rng.int(256) : tcp[at] ^ (1 << rng.int(8));
        }
        counts.mutated++;
      } else {
        const options = randomOptions();
        const payload = rng.chance(0.4) ? new Uint8Array(0) : rng.bytes(rng.range(1, 1400));
        const seqBase = sport === PEER_PORT ? peer.sndNxt : rng.u32();
        const ackBase = sport === PEER_PORT ? peer.rcvNxt : rng.u32();
        const hlen = 20 + options.length;
        tcp = new Uint8Array(hlen + payload.length);
        const v = new DataView(tcp.buffer);
        v.setUint16(0, sport);
        v.setUint16(2, dport);
        v.setUint32(4, seqNear(seqBase));
        v.setUint32(8, seqNear(ackBase));
        const doff = rng.chance(0.08) ? rng.int(16) : hlen / 4;
        tcp[12] = (doff << 4) | (rng.chance(0.05) ? rng.int(16) : 0);
        tcp[13] = flagsPick();
        v.setUint16(14, rng.chance(0.2) ? rng.int(65536) : 65535);
        v.setUint16(18, rng.chance(0.1) ? rng.int(65536) : 0);
        tcp.set(options, 20);
        tcp.set(payload, hlen);
      }
      if (rng.chance(0.03)) {
        tcp = tcp.slice(0, rng.int(Math.min(tcp.length, 40)));
        counts.truncated++;
      }
      const good = !rng.chance(0.15);
      if (!good) counts.bad++;
      if (tcp.length >= 20) {
        if (sport === PEER_PORT && src === PEER_IP && dport === PORT) sanitize(tcp);
        setChecksum(tcp, src, STACK_IP, good);
      }
      frames.push(ipv4Frame(STACK_MAC, PEER_MAC, { src, dst: STACK_IP, proto: PROTO_TCP, ttl: 64, id: injected & 0xffff, payload: tcp }));
      injected++;
    }
    ts.feed(frames, rng.range(0, 5));
    if (stack.sockets.tcpState(fd) === 'ESTABLISHED') established++;
    else assert.fail(`the established connection became ${stack.sockets.tcpState(fd)} after ${injected} segments`);
    // Anything that completes a handshake by chance is taken and aborted.
    for (let c = stack.sockets.accept(lfd); c >= 0; c = stack.sockets.accept(lfd)) {
      stack.sockets.setsockopt(c, SO_LINGER, 1);
      stack.sockets.close(c);
    }
  }
  assert.ok(counts.established > SEGMENTS * 0.4 && counts.listener > SEGMENTS * 0.2 && counts.closed > SEGMENTS * 0.1,
    JSON.stringify(counts));
  const st = stack.stats.tcp;
  assert.ok(st.badChecksum > 1000, `badChecksum ${st.badChecksum}`);
  assert.ok(st.badOptions > 500, `badOptions ${st.badOptions}`);
  assert.ok(st.malformed > 100, `malformed ${st.malformed}`);
  assert.ok(st.challengeAcks > 100, `challengeAcks ${st.challengeAcks}`);
  assert.ok(st.passiveOpens > 10, `passiveOpens ${st.passiveOpens}`);
  assert.ok(st.rstOut > 1000, `rstOut ${st.rstOut}`);
  assert.equal(stack.sockets.readableBytes(fd), 0, 'no fuzz byte reached the application');

  // Let half-open children time out (tcpSynRetries 2: 1 + 2 + 4 s).
  for (let i = 0; i < 10; i++) {
    ts.advance(1000);
    for (let c = stack.sockets.accept(lfd); c >= 0; c = stack.sockets.accept(lfd)) {
      stack.sockets.setsockopt(c, SO_LINGER, 1);
      stack.sockets.close(c);
    }
  }
  assert.equal(stack.sockets.usage.used, baselineUsed + 1, 'only the listener and the established connection remain');
  // Buffers are lazy: only the established connection may hold a pair, and only while it holds data.
  assert.equal(stack.tcp.core.t.freeBuffers, baselineBuffers - (stack.tcp.core.t.buf[fd] >= 0 ? 1 : 0));

  // The connection still carries 64 KiB each way, intact.
  assert.equal(stack.sockets.tcpState(fd), 'ESTABLISHED');
  const statsBefore = { ...stack.stats.tcp };
  const up = pattern(65536, 2);
  const upGot: number[] = [];
  peer.pushData(up, () => drain(stack, fd, upGot));
  for (let i = 0; i < 50 && upGot.length < up.length; i++) {
    ts.advance(1);
    drain(stack, fd, upGot);
  }
  if (upGot.length !== up.length) {
    const after = { ...stack.stats.tcp } as Record<string, number>;
    const delta = Object.entries(after).filter(([k, v]) => v !== (statsBefore as Record<string, number>)[k])
      .map(([k, v]) => `${k}+${v - (statsBefore as Record<string, number>)[k]}`).join(' ');
    assert.fail(`peer -> stack: ${upGot.length}/${up.length} bytes; stats ${delta}; connection ${tcbDump(stack, fd)}; `
      + `peer sndNxt ${peer.sndNxt} tsVal ${peer.tsVal()}`);
  }
  assert.deepEqual(Uint8Array.from(upGot), up, 'peer -> stack');
  const down = pattern(65536, 3);
  let queued = 0;
  peer.received = [];
  try {
    peer.pullUntil(() => peer.received.length >= down.length, () => {
      if (queued < down.length) {
        const n = stack.sockets.send(fd, down, queued, down.length - queued);
        if (n > 0) queued += n;
      }
    }, 5000);
  } catch (e) {
    ts.tap.take();
    ts.now += 20000;
    stack.poll(ts.now);
    const raw = ts.tap.take();
    const more = `${tcpOnly(raw).map(describe).join(' | ')}; ${raw.length} frames, types ${raw.map((f) => u16(f, 12).toString(16)).join(',')}, tap drops ${ts.tap.stats.drops}, `
      + `eth ${JSON.stringify(stack.stats.eth)} arp ${JSON.stringify((stack.stats as unknown as Record<string, unknown>).arp)} ip ${JSON.stringify((stack.stats as unknown as Record<string, unknown>).ip)}`;
    assert.fail(`${(e as Error).message}; next segments: ${more}; queued ${queued}; connection ${tcbDump(stack, fd)}; peer rcvNxt ${peer.rcvNxt} ack ${peer.peerAck} wnd ${peer.peerWnd}`);
  }
  assert.deepEqual(Uint8Array.from(peer.received), down, 'stack -> peer');

  // Close: back to the baseline.
  stack.sockets.close(fd);
  peer.absorb(ts.advance(1));
  assert.ok(peer.finReceived, 'FIN from the stack');
  peer.absorb(ts.feed(peer.dataFrame(new Uint8Array(0), FIN | ACK), 1));
  ts.advance(1100);
  assert.equal(stack.sockets.usage.used, baselineUsed, 'socket usage back to the baseline');
  assert.equal(stack.tcp.core.t.freeBuffers, baselineBuffers, 'every TCP buffer back in the pool');
  assert.equal(JSON.stringify(stack.memory), memoryBefore, 'memory report unchanged');
  assert.ok(established > 0);
});
