/**
 * The chatty client of issue #10 against Linux: a Node server in a network
 * namespace answers each corked header + body with a short reply; the same
 * client runs (a) over `stack.net` through a TAP device into that namespace
 * and (b) with Node's own `net` from a second namespace over a veth. Both
 * runs must complete, and (a) must not be paced by the peer's delayed ACK
 * (Nagle meeting delayed ACK cost ~41 ms per exchange before the fix).
 * Addresses: 10.79.0.0/24 and 10.79.1.0/24, only inside the namespaces
 * (see test/helpers/chatty.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { missingCapability } from '../helpers/netns.js';
import { ChattyLab } from '../helpers/chatty.js';

const ROUNDS = 200;
const BODY = 100;
/** Linux's minimum delayed-ACK time: every exchange would wait about this long. */
const DELACK_MS = 40;

const missing = missingCapability();
if (missing !== null) console.error(`chatty-tap.test: SKIPPING the chatty-client TAP test: ${missing}`);

describe('chatty client (corked header + body, wait for the reply) against a Linux server', { skip: missing ?? false }, () => {
  let lab: ChattyLab | null = null;

  before(async () => {
    lab = await ChattyLab.open();
  });

  after(() => {
    lab?.close();
  });

  it(`${ROUNDS} exchanges over stack.net (TAP) and over Node's net (veth), same server`, { timeout: 120_000 }, async () => {
    assert.ok(lab !== null);
    const stack = await lab.overStack(ROUNDS, BODY);
    const linux = await lab.overLinux(ROUNDS, BODY);
    console.log(`chatty client, ${ROUNDS} exchanges: stack.net ${stack.ms.toFixed(1)} ms (slowest ${stack.maxMs.toFixed(1)} ms), `
      + `Node's net ${linux.ms.toFixed(1)} ms (slowest ${linux.maxMs.toFixed(1)} ms), ratio ${(stack.ms / linux.ms).toFixed(2)}`);
    assert.equal(stack.rounds, ROUNDS);
    assert.equal(linux.rounds, ROUNDS);
    // With each exchange waiting on a delayed ACK this would take ROUNDS x 40 ms = 8 s.
    assert.ok(stack.ms < (ROUNDS * DELACK_MS) / 4, `stack.net: ${stack.ms.toFixed(0)} ms for ${ROUNDS} exchanges`);
    const tcp = lab.stack.stats.tcp;
    assert.equal(tcp.retransmits, 0, 'no retransmission on a clean link');
  });
});
