import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, MemoryLink, Simulation } from '../../src/index.js';
import { enc } from '../helpers/net.js';

function host(): { s: Stack; links: MemoryLink[]; peers: MemoryLink[] } {
  const s = new Stack({ seed: 5 });
  const links: MemoryLink[] = [];
  const peers: MemoryLink[] = [];
  for (let i = 0; i < 2; i++) {
    const [l, p] = MemoryLink.pair({ seed: i });
    links.push(l);
    peers.push(p);
  }
  s.addInterface(links[0], { address: '10.0.0.1/24', gateway: '10.0.0.254' });
  s.addInterface(links[1], { address: '10.1.0.1/16' });
  return { s, links, peers };
}

/** Next hop asked for by the ARP request the stack put on `peer`'s side of the cable. */
function arpTargets(peer: MemoryLink): string[] {
  const out: string[] = [];
  peer.poll(1e9, {
    receiveFrame(f, o, len) {
      if (len >= 42 && f[o + 12] === 0x08 && f[o + 13] === 0x06 && f[o + 21] === 1) {
        const t = f.subarray(o + 38, o + 42);
        if (t.join('.') !== f.subarray(o + 28, o + 32).join('.')) out.push(t.join('.'));
      }
    },
  });
  return out;
}

test('longest prefix wins: connected, static and default routes', () => {
  const { s, peers } = host();
  s.addRoute('10.2.0.0/16', '10.1.0.254');
  s.addRoute('10.0.0.128/25', '10.0.0.200');
  const fd = s.sockets.socket('udp');
  const m = enc('x');
  const send = (dst: string) => assert.equal(s.sockets.sendto(fd, m, 0, 1, dst, 9), 1);
  send('10.1.2.3');     // connected /16 on if1
  send('10.2.3.4');     // static /16 via 10.1.0.254 on if1
  send('10.0.0.7');     // connected /24 on if0
  send('10.0.0.130');   // static /25 beats connected /24
  send('8.8.8.8');      // default via 10.0.0.254
  assert.deepEqual(arpTargets(peers[0]).sort(), ['10.0.0.200', '10.0.0.254', '10.0.0.7']);
  assert.deepEqual(arpTargets(peers[1]).sort(), ['10.1.0.254', '10.1.2.3']);
});

test('no route gives ENETUNREACH and counts it', () => {
  const s = new Stack({ seed: 1 });
  const [l] = MemoryLink.pair();
  s.addInterface(l, { address: '10.0.0.1/24' });
  const fd = s.sockets.socket('udp');
  const m = enc('x');
  assert.equal(s.sockets.sendto(fd, m, 0, 1, '192.0.2.1', 9), -101);
  assert.equal(s.stats.ip.noRoute, 1);
  assert.throws(() => s.addRoute('10.9.0.0/16', '10.5.5.5'), /not on any connected subnet/);
  assert.equal(s.routeTable().filter((r) => !r.destination.includes(':')).length, 1);
});

test('limited and directed broadcasts leave as link broadcasts without ARP', () => {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 1 });
  const b = new Stack({ seed: 2 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  const sim = new Simulation([a, b]);
  const rx = b.sockets.socket('udp');
  b.sockets.bind(rx, 0, 67);
  const fd = a.sockets.socket('udp');
  const m = enc('bcast');
  assert.equal(a.sockets.sendto(fd, m, 0, m.length, '255.255.255.255', 67), -13);
  a.sockets.setsockopt(fd, 6, 1);
  assert.equal(a.sockets.sendto(fd, m, 0, m.length, '255.255.255.255', 67), 5);
  assert.equal(a.sockets.sendto(fd, m, 0, m.length, '10.0.0.255', 67), 5);
  sim.advance(5);
  assert.equal(a.stats.arp.requestsOut, 0);
  assert.equal(b.stats.udp.delivered, 2);
});

test('a second interface on another subnet is reachable end to end', async () => {
  const { s, peers } = host();
  const p = new Stack({ seed: 8 });
  p.addInterface(peers[1], { address: '10.1.9.9/16' });
  const sim = new Simulation([s, p]);
  const rtt = await sim.until(s.ping('10.1.9.9'));
  assert.ok(rtt >= 0);
  assert.equal(peers[0].pending, 1); // only the gratuitous ARP went out on if0
});

test('a static route can name an interface directly (point-to-point, no gateway)', () => {
  const { s, peers } = host();
  s.addRoute('192.168.50.0/24', { interface: 1 });
  const fd = s.sockets.socket('udp');
  const m = enc('x');
  assert.equal(s.sockets.sendto(fd, m, 0, 1, '192.168.50.9', 9), 1);
  assert.deepEqual(arpTargets(peers[1]), ['192.168.50.9'], 'the destination itself is the next hop, on if1');
  assert.deepEqual(arpTargets(peers[0]), []);
  assert.throws(() => s.addRoute('192.168.60.0/24', { interface: 7 }), /no interface 7/);
  assert.ok(s.routeTable().some((r) => r.destination === '192.168.50.0/24' && r.gateway === null));
});
