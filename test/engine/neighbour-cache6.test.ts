/**
 * The neighbour-cache state machine (RFC 4861 §7.3, Appendix C) against a
 * plain model written from the RFC's transition table, over random event
 * sequences in virtual time, plus the fixed transitions spelled out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, MemoryPlan } from '../../src/storage/arena.js';
import {
  NeighbourCache6, NC_FREE, NC_INCOMPLETE, NC_REACHABLE, NC_STALE, NC_DELAY, NC_PROBE, NC_STATE_NAMES,
  type NeighbourCacheActions, type NeighbourTiming,
} from '../../src/engine/neighbour-cache6.js';
import { TestRng, seedFromEnv } from '../helpers/frames.js';

const R = 0x80;
const S = 0x40;
const O = 0x20;

function timing(): NeighbourTiming {
  return { retransMs: 1000, reachableMs: 30000, delayMs: 5000, maxMulticast: 3, maxUnicast: 3 };
}

function make(size: number) {
  const log: string[] = [];
  const actions: NeighbourCacheActions = {
    solicit: (e, unicast) => log.push(`solicit ${e} ${unicast ? 'u' : 'm'}`),
    resolved: (e) => log.push(`resolved ${e}`),
    failed: (e, evicted) => log.push(`failed ${e}${evicted ? ' evicted' : ''}`),
  };
  const plan = new MemoryPlan();
  new NeighbourCache6(plan, size, actions, timing());
  const arena = new Arena(plan);
  const nc = new NeighbourCache6(arena, size, actions, timing());
  arena.finish();
  return { nc, log, bytes: plan.totalBytes };
}

function addr(n: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe; a[1] = 0x80; a[15] = n; a[11] = n >> 8;
  return a;
}
function mac(n: number): Uint8Array {
  return Uint8Array.from([2, 0, 0, 0, 0, n]);
}

test('plan: the table is carved from the arena, 16 + 6 + 4 + 4 + 16 bytes and change per entry', () => {
  const { bytes } = make(64);
  assert.ok(bytes >= 64 * 46 && bytes <= 64 * 46 + 80, String(bytes));
});

test('INCOMPLETE → solicited NA → REACHABLE → STALE → DELAY → PROBE → REACHABLE (Appendix C)', () => {
  const { nc, log } = make(8);
  const a = addr(1);
  const e = nc.lookupForSend(0, a, 0, 0);
  assert.equal(nc.state[e], NC_INCOMPLETE);
  assert.deepEqual(log, [], 'the first solicitation waits for due()');
  nc.due(e, 0);
  assert.deepEqual(log.splice(0), [`solicit ${e} m`]);
  assert.equal(nc.deadline[e], 1000);
  // An NA without TLLA cannot complete it.
  assert.equal(nc.advert(0, a, 0, null, 0, S, 10), -1);
  assert.equal(nc.state[e], NC_INCOMPLETE);
  assert.equal(nc.advert(0, a, 0, mac(1), 0, S | O, 20), e);
  assert.equal(nc.state[e], NC_REACHABLE);
  assert.deepEqual(log.splice(0), [`resolved ${e}`]);
  nc.poll(20 + 29999);
  assert.equal(nc.state[e], NC_REACHABLE);
  nc.poll(20 + 30000);
  assert.equal(nc.state[e], NC_STALE);
  assert.equal(nc.nextDeadline, Infinity);
  assert.equal(nc.lookupForSend(0, a, 0, 40000), e);
  assert.equal(nc.state[e], NC_DELAY);
  nc.poll(45000);
  assert.equal(nc.state[e], NC_PROBE);
  assert.deepEqual(log.splice(0), [`solicit ${e} u`]);
  nc.poll(46000);
  assert.deepEqual(log.splice(0), [`solicit ${e} u`]);
  nc.advert(0, a, 0, null, 0, S, 46500);
  assert.equal(nc.state[e], NC_REACHABLE);
});

test('INCOMPLETE gives up after MAX_MULTICAST_SOLICIT; PROBE after MAX_UNICAST_SOLICIT', () => {
  const { nc, log } = make(8);
  const e = nc.lookupForSend(0, addr(2), 0, 0);
  nc.poll(0);
  for (let t = 1000; t <= 3000; t += 1000) nc.poll(t);
  assert.equal(nc.state[e], NC_FREE);
  assert.deepEqual(log.splice(0), [`solicit ${e} m`, `solicit ${e} m`, `solicit ${e} m`, `failed ${e}`]);
  const f = nc.learn(0, addr(3), 0, mac(3), 0, 5000, true);
  assert.equal(nc.state[f], NC_STALE);
  nc.lookupForSend(0, addr(3), 0, 5000);
  for (let t = 10000; t <= 13000; t += 1000) nc.poll(t);
  assert.equal(nc.state[f], NC_FREE);
  assert.deepEqual(log.splice(0), [`solicit ${f} u`, `solicit ${f} u`, `solicit ${f} u`, `failed ${f}`]);
});

test('NA without override and a different address: REACHABLE → STALE, otherwise ignored (§7.2.5)', () => {
  const { nc } = make(8);
  const a = addr(4);
  const e = nc.lookupForSend(0, a, 0, 0);
  nc.advert(0, a, 0, mac(4), 0, S, 1);
  assert.equal(nc.state[e], NC_REACHABLE);
  assert.equal(nc.advert(0, a, 0, mac(5), 0, S, 2), -1);
  assert.equal(nc.state[e], NC_STALE);
  assert.equal(nc.mac[e * 6 + 5], 4, 'address kept');
  assert.equal(nc.advert(0, a, 0, mac(5), 0, S | O, 3), e);
  assert.equal(nc.state[e], NC_REACHABLE);
  assert.equal(nc.mac[e * 6 + 5], 5);
  // An unsolicited override with a new address: STALE with the new address.
  nc.advert(0, a, 0, mac(6), 0, O, 4);
  assert.equal(nc.state[e], NC_STALE);
  assert.equal(nc.mac[e * 6 + 5], 6);
  // Unknown target: an unsolicited NA creates nothing.
  assert.equal(nc.advert(0, addr(99), 0, mac(9), 0, S | O, 5), -1);
  assert.equal(nc.count, 1);
});

test('router flag: R cleared on a router reports routerLost', () => {
  const { nc } = make(8);
  const a = addr(7);
  const e = nc.learn(0, a, 0, mac(7), 0, 0, true);
  nc.setRouter(e, true);
  nc.advert(0, a, 0, mac(7), 0, S | O, 1);
  assert.equal(nc.routerLost, true);
  assert.equal(nc.isRouter[e], 0);
  nc.advert(0, a, 0, mac(7), 0, S | O | R, 2);
  assert.equal(nc.routerLost, false);
  assert.equal(nc.isRouter[e], 1);
});

test('full table: INCOMPLETE entries are evicted first, then least recently used hosts, routers last', () => {
  const { nc, log } = make(3);
  const r = nc.learn(0, addr(1), 0, mac(1), 0, 0, true);
  nc.setRouter(r, true);
  const h = nc.learn(0, addr(2), 0, mac(2), 0, 1, true);
  const i = nc.lookupForSend(0, addr(3), 0, 2);
  nc.due(i, 2);
  log.length = 0;
  const n = nc.lookupForSend(0, addr(4), 0, 3);
  assert.equal(n, i, 'the incomplete entry made room');
  assert.deepEqual(log.splice(0, 1), [`failed ${i} evicted`]);
  nc.advert(0, addr(4), 0, mac(4), 0, S, 4);
  const m = nc.learn(0, addr(5), 0, mac(5), 0, 5, true);
  assert.equal(m, h, 'the least recently used host went next');
  assert.equal(nc.find(0, addr(1), 0), r, 'the router stayed');
  assert.equal(nc.evictions, 2);
});

/** The model: Appendix C of RFC 4861 as a Map. */
interface M { state: number; mac: number; probes: number; deadline: number; router: boolean }

test('model: random sends, NS/NA/RA learning, confirmations and time agree with the RFC table', () => {
  const rng = new TestRng(seedFromEnv('ND_SEED', 0x6e64));
  for (let round = 0; round < 40; round++) {
    const { nc, log } = make(16);
    const model = new Map<number, M>();
    const expectLog: string[] = [];
    const t = timing();
    let now = 0;
    for (let step = 0; step < 400; step++) {
      const n = 1 + rng.int(10);
      const a = addr(n);
      const op = rng.int(7);
      const m = model.get(n);
      if (op === 0) {
        const e = nc.lookupForSend(0, a, 0, now);
        if (m === undefined) nc.due(e, now);
        if (m === undefined) {
          model.set(n, { state: NC_INCOMPLETE, mac: 0, probes: 1, deadline: now + t.retransMs, router: false });
          expectLog.push(`solicit ${e} m`);
        } else if (m.state === NC_STALE) {
          m.state = NC_DELAY; m.deadline = now + t.delayMs; m.probes = 0;
        }
      } else if (op === 1) {
        // NS/RS/RA with a source link-layer address.
        const x = 1 + rng.int(3);
        const e = nc.learn(0, a, 0, mac(x), 0, now, true);
        if (m === undefined) model.set(n, { state: NC_STALE, mac: x, probes: 0, deadline: Infinity, router: false });
        else if (m.state === NC_INCOMPLETE) {
          m.state = NC_STALE; m.mac = x; m.deadline = Infinity; m.probes = 0;
          expectLog.push(`resolved ${e}`);
        } else if (m.mac !== x) {
          m.state = NC_STALE; m.mac = x; m.deadline = Infinity; m.probes = 0;
        }
      } else if (op === 2 || op === 3) {
        const x = 1 + rng.int(3);
        const withLla = rng.int(4) !== 0;
        const flags = (rng.int(2) ? S : 0) | (rng.int(2) ? O : 0) | (rng.int(2) ? R : 0);
        const e = nc.advert(0, a, 0, withLla ? mac(x) : null, 0, flags, now);
        if (m !== undefined) {
          const sol = (flags & S) !== 0;
          if (m.state === NC_INCOMPLETE) {
            if (withLla) {
              m.mac = x; m.router = (flags & R) !== 0; m.probes = 0;
              m.state = sol ? NC_REACHABLE : NC_STALE;
              m.deadline = sol ? now + t.reachableMs : Infinity;
              expectLog.push(`resolved ${e}`);
            }
          } else {
            const differs = withLla && x !== m.mac;
            if ((flags & O) === 0 && differs) {
              if (m.state === NC_REACHABLE) { m.state = NC_STALE; m.deadline = Infinity; m.probes = 0; }
            } else {
              if (differs) m.mac = x;
              if (sol) { m.state = NC_REACHABLE; m.deadline = now + t.reachableMs; m.probes = 0; }
              else if (differs) { m.state = NC_STALE; m.deadline = Infinity; m.probes = 0; }
              m.router = (flags & R) !== 0;
            }
          }
        }
      } else if (op === 4) {
        const e = nc.find(0, a, 0);
        if (e >= 0) nc.confirm(e, now);
        if (m !== undefined && m.state !== NC_INCOMPLETE) { m.state = NC_REACHABLE; m.deadline = now + t.reachableMs; m.probes = 0; }
      } else {
        now += rng.int(2) ? rng.int(1200) : rng.int(40000);
        const index = new Map<number, number>();
        for (const k of model.keys()) index.set(k, nc.find(0, addr(k), 0));
        nc.poll(now);
        for (const [k, v] of [...model].sort((p, q) => (index.get(p[0]) ?? 0) - (index.get(q[0]) ?? 0))) {
          const e = index.get(k) ?? -1;
          if (v.deadline > now) continue;
          if (v.state === NC_REACHABLE) { v.state = NC_STALE; v.deadline = Infinity; v.probes = 0; }
          else if (v.state === NC_DELAY) { v.state = NC_PROBE; v.probes = 1; v.deadline = now + t.retransMs; expectLog.push(`solicit ${e} u`); }
          else {
            const max = v.state === NC_INCOMPLETE ? t.maxMulticast : t.maxUnicast;
            if (v.probes >= max) { model.delete(k); expectLog.push(`failed ${e}`); }
            else { v.probes++; v.deadline = now + t.retransMs; expectLog.push(`solicit ${e} ${v.state === NC_PROBE ? 'u' : 'm'}`); }
          }
        }
      }
      // Compare everything after each step.
      for (let k = 1; k <= 10; k++) {
        const e = nc.find(0, addr(k), 0);
        const v = model.get(k);
        if (v === undefined) { assert.equal(e, -1, `step ${step}: ${k} should be absent`); continue; }
        assert.ok(e >= 0, `step ${step}: ${k} missing`);
        assert.equal(NC_STATE_NAMES[nc.state[e]], NC_STATE_NAMES[v.state], `round ${round} step ${step} addr ${k}`);
        if (v.state !== NC_INCOMPLETE) assert.equal(nc.mac[e * 6 + 5], v.mac);
        if (v.state !== NC_INCOMPLETE) assert.equal(nc.isRouter[e] === 1, v.router);
        if (v.deadline !== Infinity) assert.equal(nc.deadline[e], v.deadline);
      }
      assert.deepEqual(log.splice(0), expectLog.splice(0), `round ${round} step ${step}`);
      assert.equal(nc.evictions, 0);
    }
  }
});
