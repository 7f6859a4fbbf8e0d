/**
 * Scope ids (RFC 4007 §11): link-local destinations naming their interface,
 * `fe80::…%name` or `%<index>`, in stack.ping, the descriptor API's
 * connect/sendto, stack.net connect and dgram send/connect. Stack A has two
 * Ethernet links, to B and to C, which share one MAC and so one link-local
 * address: only the zone tells them apart. Without a zone a link-local
 * destination leaves through the first Ethernet interface with IPv6 (B).
 * Link-local addresses of TCP sockets are reported with their zone
 * (`fe80::…%name`, as Node). Real time (the facades run on Node's timers);
 * DAD holds link-local addresses tentative for about a second first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Buffer } from 'node:buffer';
import { MemoryLink, Stack, type NetSocket } from '../../src/index.js';
import { ADDR6_PREFERRED } from '../../src/engine/netif.js';

const TWIN_MAC = '02:00:00:00:00:0b';
const TWIN_LL = 'fe80::ff:fe00:b'; // modified EUI-64 of 02:00:00:00:00:0b

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function linkLocalReady(s: Stack): boolean {
  return s.interfaces.every((f) => {
    for (let k = 0; k < f.addr6Count; k++) if (f.addr6State[k] === ADDR6_PREFERRED && f.addr6[k * 16] === 0xfe) return true;
    return false;
  });
}

test('zones: ping, TCP connect, UDP sendto/connect to fe80::…%name or %index pick the interface; no zone: the first one; unknown zone: EINVAL', { timeout: 20000 }, async () => {
  const [ab, ba] = MemoryLink.pair();
  const [ac, ca] = MemoryLink.pair();
  const a = new Stack({ seed: 81 });
  const b = new Stack({ seed: 82 });
  const c = new Stack({ seed: 83 });
  a.addInterface(ab, { name: 'toB', mac: '02:00:00:00:00:0a' });
  a.addInterface(ac, { name: 'toC', mac: '02:00:00:00:00:0c' });
  b.addInterface(ba, { mac: TWIN_MAC });
  c.addInterface(ca, { mac: TWIN_MAC });
  for (const s of [a, b, c]) s.start();
  try {
    await until('link-local addresses', () => [a, b, c].every(linkLocalReady));
    assert.deepEqual(a.interfaceList().map((i) => [i.index, i.name]), [[0, 'toB'], [1, 'toC']]);

    // ping
    await a.ping(`${TWIN_LL}%toC`);
    assert.equal(c.stats.icmp6.echoRequestsIn, 1);
    assert.equal(b.stats.icmp6.echoRequestsIn, 0);
    await a.ping(`${TWIN_LL}%0`);
    assert.equal(b.stats.icmp6.echoRequestsIn, 1);
    await a.ping(TWIN_LL);
    assert.equal(b.stats.icmp6.echoRequestsIn, 2, 'no zone: the first Ethernet interface with IPv6');
    assert.equal(c.stats.icmp6.echoRequestsIn, 1);
    await assert.rejects(a.ping(`${TWIN_LL}%nope`), { code: 'EINVAL' });

    // TCP through stack.net: both twins listen on port 80 and say who they are.
    const peers: string[] = [];
    for (const [s, who] of [[b, 'B'], [c, 'C']] as const) {
      s.net.createServer((x) => { x.on('error', () => {}); peers.push(`${who} ${x.remoteAddress} ${x.localAddress}`); x.end(who); }).listen(80);
    }
    const read = async (sock: NetSocket): Promise<string> => {
      const parts: Buffer[] = [];
      sock.on('data', (d: Buffer) => parts.push(d));
      await once(sock, 'end');
      return Buffer.concat(parts).toString();
    };
    const toC = a.net.connect({ host: `${TWIN_LL}%toC`, port: 80 });
    assert.equal(await read(toC), 'C');
    // Link-local addresses are reported with their zone, as Node's (the interface name).
    assert.equal(toC.remoteAddress, `${TWIN_LL}%toC`);
    assert.equal(toC.localAddress, 'fe80::ff:fe00:c%toC');
    assert.deepEqual(toC.address(), { address: 'fe80::ff:fe00:c%toC', family: 'IPv6', port: toC.localPort });
    const cName = c.interfaceList()[0].name;
    assert.deepEqual(peers, [`C fe80::ff:fe00:c%${cName} ${TWIN_LL}%${cName}`]);
    assert.equal(await read(a.net.connect(80, `${TWIN_LL}%1`)), 'C');
    assert.equal(await read(a.net.connect(80, `${TWIN_LL}%toB`)), 'B');
    assert.equal(await read(a.net.connect(80, TWIN_LL)), 'B');
    const bad = a.net.connect(80, `${TWIN_LL}%nope`);
    const [e] = await once(bad, 'error') as [NodeJS.ErrnoException];
    assert.equal(e.code, 'EINVAL');

    // UDP: each twin echoes with its name.
    for (const [s, who] of [[b, 'B'], [c, 'C']] as const) {
      const u = s.dgram.createSocket('udp6');
      u.on('message', (m, r) => u.send(`${who}:${m.toString()}`, r.port, r.address));
      u.bind(7);
    }
    const client = a.dgram.createSocket('udp6');
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    client.send('one', 7, `${TWIN_LL}%toC`);
    await until('reply one', () => replies.length === 1);
    client.send('two', 7, TWIN_LL);
    await until('reply two', () => replies.length === 2);
    assert.deepEqual(replies, ['C:one', 'B:two']);
    const sendErr = await new Promise<Error | null>((resolve) => client.send('x', 7, `${TWIN_LL}%nope`, (err) => resolve(err)));
    assert.equal((sendErr as NodeJS.ErrnoException | null)?.code, 'EINVAL');
    // A connected socket keeps its peer's zone for every send.
    const conn = a.dgram.createSocket('udp6');
    const got: string[] = [];
    conn.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((resolve, reject) => conn.connect(7, `${TWIN_LL}%toC`, (err) => (err ? reject(err) : resolve())));
    conn.send('three');
    conn.send('four');
    await until('connected replies', () => got.length === 2);
    assert.deepEqual(got.sort(), ['C:four', 'C:three']);
    client.close();
    conn.close();
  } finally {
    for (const s of [a, b, c]) s.stop();
  }
});
