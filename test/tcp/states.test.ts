/**
 * TCP states: every change goes through setState (counted per (from, to)
 * pair), and the named predicates hold for exactly the states RFC 9293
 * names for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  STATE_COUNT, STATE_NAMES, canReceive, canSend, isClosed, isHandshaking, isSending, isSynchronized,
} from '../../src/engine/tcp/tcb.js';
import type { TcbTable } from '../../src/engine/tcp/tcb.js';
import { B_IP, connect, tcpPair } from './helpers.js';

const S = Object.fromEntries(STATE_NAMES.map((n, i) => [n, i])) as Record<(typeof STATE_NAMES)[number], number>;

/** The (from, to) pairs counted so far, as 'FROM>TO' => count. */
function transitions(t: TcbTable): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < STATE_COUNT * STATE_COUNT; i++) {
    if (t.transitions[i] > 0) m.set(`${STATE_NAMES[Math.floor(i / STATE_COUNT)]}>${STATE_NAMES[i % STATE_COUNT]}`, t.transitions[i]);
  }
  return m;
}

test('predicates: exactly the states RFC 9293 names for each', () => {
  const holds = (f: (s: number) => boolean): string[] => STATE_NAMES.filter((_, i) => f(i));
  assert.equal(STATE_NAMES.length, STATE_COUNT);
  assert.deepEqual(holds(isSynchronized),
    ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT']);
  assert.deepEqual(holds(isHandshaking), ['SYN_SENT', 'SYN_RECEIVED']);
  assert.deepEqual(holds(isClosed), ['CLOSED']);
  assert.deepEqual(holds(canSend), ['ESTABLISHED', 'CLOSE_WAIT']);
  assert.deepEqual(holds(isSending), ['ESTABLISHED', 'FIN_WAIT_1', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK']);
  assert.deepEqual(holds(canReceive), ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2']);
});

test('setState counts each transition of an open and a close, on both ends', () => {
  const p = tcpPair({ tcpTimeWaitMs: 1000 });
  const ta = p.a.tcp.core.t;
  const tb = p.b.tcp.core.t;
  const { cfd, sfd } = connect(p.sim, p.a, p.b, B_IP, 80);
  p.a.sockets.close(cfd);
  p.sim.advance(10);
  assert.equal(p.b.sockets.tcpState(sfd), 'CLOSE_WAIT');
  p.b.sockets.close(sfd);
  p.sim.advance(2000);
  // The active closer: CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2 > TIME_WAIT > CLOSED.
  assert.deepEqual(transitions(ta), new Map([
    ['CLOSED>SYN_SENT', 1], ['SYN_SENT>ESTABLISHED', 1], ['ESTABLISHED>FIN_WAIT_1', 1], ['FIN_WAIT_1>FIN_WAIT_2', 1],
    ['FIN_WAIT_2>TIME_WAIT', 1], ['TIME_WAIT>CLOSED', 1],
  ]));
  // The passive closer: the listener, and its child through SYN_RECEIVED to LAST_ACK.
  assert.deepEqual(transitions(tb), new Map([
    ['CLOSED>LISTEN', 1], ['CLOSED>SYN_RECEIVED', 1], ['SYN_RECEIVED>ESTABLISHED', 1], ['ESTABLISHED>CLOSE_WAIT', 1],
    ['CLOSE_WAIT>LAST_ACK', 1], ['LAST_ACK>CLOSED', 1],
  ]));
  assert.equal(ta.state[cfd], S.CLOSED);
});

test('no code in engine/tcp writes a state except setState', () => {
  const dir = fileURLToPath(new URL('../../../src/engine/tcp/', import.meta.url));
  const offenders: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.ts')) continue;
    const lines = readFileSync(join(dir, f), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/\bstate\[[^\]]+\]\s*(=[^=]|\+\+|--|[-+|&]=)/.test(line) && !(f === 'tcb.ts' && /^\s*t\.state\[s\] = state;/.test(line))) {
        offenders.push(`${f}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
