import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from '../helpers/net.js';

/** A connection whose last segments are lost: only a probe or a timeout can reveal it. */
function tailLoss(tlp: number) {
  const p = makePair({ delayMs: 10 }, { tcpTailLossProbe: tlp, tcpMinRtoMs: 1000 }, {});
  const l = p.b.sockets.socket('tcp');
  p.b.sockets.bind(l, 0, 9000);
  p.b.sockets.listen(l, 1);
  const c = p.a.sockets.socket('tcp');
  p.a.sockets.connect(c, '10.0.0.2', 9000);
  p.sim.advance(100);
  const s = p.b.sockets.accept(l);
  const buf = new Uint8Array(16 * 1448);
  // Warm up so the RTT is known.
  p.a.sockets.send(c, buf, 0, buf.length);
  p.sim.advance(200);
  const sink = new Uint8Array(65536);
  while (p.b.sockets.recv(s, sink, 0, sink.length) > 0);
  // Send 10 segments; the last 3 are lost on the wire.
  let n = 0;
  p.la.setFaults({ loss: 0 });
  const origTransmit = p.la.transmit.bind(p.la);
  p.la.transmit = (f, o, len, now) => {
    if (len > 1000 && ++n > 7 && n <= 10) return 0; // dropped silently, like loss
    return origTransmit(f, o, len, now);
  };
  const t0 = p.sim.now;
  p.a.sockets.send(c, buf, 0, 10 * 1448);
  let doneAt = -1;
  let got = 0;
  for (let i = 0; i < 400 && doneAt < 0; i++) {
    p.sim.advance(5);
    for (let r; (r = p.b.sockets.recv(s, sink, 0, sink.length)) > 0;) got += r;
    if (got >= 10 * 1448) doneAt = p.sim.now - t0;
  }
  return { doneAt, stats: p.a.stats.tcp };
}

test('a tail loss probe repairs a lost tail by fast recovery long before the RTO (RFC 8985)', () => {
  const withProbe = tailLoss(1);
  const without = tailLoss(0);
  assert.ok(withProbe.stats.tailLossProbes >= 1, 'a probe was sent');
  assert.equal(withProbe.stats.rtoTimeouts, 0, 'no timeout with the probe');
  assert.ok(without.stats.rtoTimeouts >= 1, 'without the probe only the RTO repairs the tail');
  assert.ok(withProbe.doneAt > 0 && withProbe.doneAt < 500, `repaired after ${withProbe.doneAt} ms`);
  assert.ok(without.doneAt >= 1000, `without the probe: ${without.doneAt} ms`);
});
