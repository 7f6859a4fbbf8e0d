/**
 * The native SYN responder (native/syn_responder.c) answers a SYN exactly as
 * the engine's cookie path does (TcpPassive.sendCookie): the same cookie
 * (SynCookies.make under the shared keys), the same timestamp (clock plus
 * TcpCore.tsOffsetFor's offset, option bits in its low 6 bits), the same
 * options, window, TTL and checksums. The engine is driven in virtual time;
 * what it hands its link's responder is written into responder words by
 * NativeSynResponder, and the addon's synResponderAnswerForTest runs the C
 * answer() on the same SYN at the same engine time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tryNativeAddon } from '../../src/link/addon.js';
import { NativeSynResponder } from '../../src/link/syn-responder.js';
import type { SynResponder } from '../../src/engine/tcp/syn-responder.js';
import { SynCookies, cookieTsSack, cookieTsWscale } from '../../src/engine/tcp/syncookie.js';
import {
  ACK, PEER_MAC, SYN, STACK_IP, STACK_MAC, add32, ip, parseTcpFrame, tapStack, tcpFrame,
} from '../tcp/helpers.js';
import { SYN_CASES, responderWords } from '../helpers/syn-cases.js';

const addon = tryNativeAddon();
const answerForTest = addon instanceof Error ? undefined : addon.synResponderAnswerForTest;
const missing = answerForTest === undefined ? 'the native addon (with synResponderAnswerForTest) is not built' : false;


test('the C responder\'s SYN-ACK equals the engine\'s cookie SYN-ACK for the same SYN, keys and time, field by field', { skip: missing }, () => {
  const call = answerForTest as (words: ArrayBuffer, now: number, frame: Uint8Array) => Uint8Array | null;
  for (const now of [1_234_567, 59_999_999, 60_000_000 + 64 * 1000 + 13]) {
    const ts = tapStack(77 + (now & 7), { tcpSyncookies: 2 });
    ts.stack.addRoute('198.18.0.0/15', '10.0.0.2');
    const words = responderWords();
    const native = new NativeSynResponder(words);
    let handed = 0;
    const fwd: SynResponder = {
      configure: (k, s, ttl, o, n) => native.configure(k, s, ttl, o, n),
      activate: (a, p, m, w, ws, until) => { handed++; return native.activate(a, p, m, w, ws, until); },
      deactivate: (p) => native.deactivate(p),
    };
    (ts.tap as unknown as { synResponder: SynResponder }).synResponder = fwd;
    const lfd = ts.stack.sockets.socket('tcp');
    assert.equal(ts.stack.sockets.bind(lfd, 0, 80), 0);
    assert.equal(ts.stack.sockets.listen(lfd, 8), 0);
    ts.advance(now - ts.now);
    assert.equal(ts.now, now);
    const cookies = (ts.stack.tcp.core.passive as unknown as { cookies: SynCookies }).cookies;
    for (const c of SYN_CASES) {
      const syn = tcpFrame(STACK_MAC, PEER_MAC, {
        src: c.src, dst: STACK_IP, sport: c.sport, dport: 80, seq: c.isn, flags: SYN, win: 64240, options: c.options,
      });
      ts.tap.take();
      ts.tap.inject(syn);
      ts.stack.poll(ts.now);
      const engineFrames = ts.tap.take().filter((f) => parseTcpFrame(f) !== null);
      assert.equal(engineFrames.length, 1, `${c.name}: the engine answers`);
      assert.ok(handed > 0, 'the listener was handed to the responder');
      const e = engineFrames[0];
      const n = call(words, now, syn);
      assert.ok(n !== null, `${c.name}: the C responder answers`);
      const es = parseTcpFrame(e);
      const ns = parseTcpFrame(n);
      assert.ok(es !== null && ns !== null);
      const at = `${c.name} at ${now}`;
      // The cookie is the engine's (checked by the engine's own code), and the same number in both.
      assert.equal(ns.seq, es.seq, `${at}: cookie (ISN)`);
      assert.ok(cookies.check(ip(STACK_IP), 80, ip(c.src), c.sport, c.isn, ns.seq) >= 0, `${at}: the engine accepts the C cookie`);
      assert.equal(ns.ack, add32(c.isn, 1), `${at}: ack`);
      assert.equal(ns.flags, SYN | ACK);
      assert.equal(ns.sport, es.sport);
      assert.equal(ns.dport, es.dport);
      assert.equal(ns.src, es.src);
      assert.equal(ns.dst, es.dst);
      assert.equal(ns.win, es.win, `${at}: window`);
      assert.equal(ns.hlen, es.hlen, `${at}: header length`);
      assert.deepEqual(ns.opts, es.opts, `${at}: options (MSS, SACK, timestamps, window scale)`);
      if (es.opts.ts !== null) {
        assert.equal(cookieTsWscale(ns.opts.ts!.val), cookieTsWscale(es.opts.ts.val));
        assert.equal(cookieTsSack(ns.opts.ts!.val), cookieTsSack(es.opts.ts.val));
      }
      assert.ok(ns.checksumOk, `${at}: C TCP checksum`);
      assert.deepEqual([...ns.tcp], [...es.tcp], `${at}: the TCP bytes, checksum included`);
      // IP: version/IHL, length, DF, TTL, protocol, addresses, and a valid header checksum.
      const ipN = n.subarray(14, 34);
      const ipE = e.subarray(14, 34);
      assert.equal(ipN[0], ipE[0], `${at}: version/IHL`);
      assert.equal((ipN[2] << 8) | ipN[3], (ipE[2] << 8) | ipE[3], `${at}: total length`);
      assert.equal(ipN[6] & 0xe0, ipE[6] & 0xe0, `${at}: flags (DF)`);
      assert.equal(ipN[8], ipE[8], `${at}: TTL`);
      assert.equal(ipN[9], 6);
      assert.deepEqual([...ipN.subarray(12, 20)], [...ipE.subarray(12, 20)], `${at}: addresses`);
      let s = 0;
      for (let i = 0; i < 20; i += 2) s += (ipN[i] << 8) | ipN[i + 1];
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      assert.equal(s, 0xffff, `${at}: C IP header checksum`);
      assert.deepEqual([...n.subarray(0, 14)], [...e.subarray(0, 14)], `${at}: Ethernet header`);
      assert.equal(n.length, e.length, `${at}: frame length`);
    }
    ts.stack.sockets.close(lfd);
  }
});
