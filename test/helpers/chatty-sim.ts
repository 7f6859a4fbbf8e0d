/**
 * The chatty exchange of issue #10 in virtual time, for V8 diagnostics: two
 * stacks on a MemoryLink, `conns` connections one after another, each
 * `rounds` exchanges of a corked header + body (one sendv) answered by a
 * 4-byte reply, then closed by the client (the server closes on EOF). The
 * same engine path as the TAP client's (output, input, ACK, RACK, close and
 * TIME_WAIT), deterministic, no devices, no root.
 *
 *   node [V8 flags] chatty-sim.js CONNS ROUNDS     prints one JSON line {conns, rounds, exchanges, virtualMs, arpReplies}
 *
 * test/tcp/deopt.test.ts runs it under --trace-deopt to find engine
 * functions V8 throws away and compiles again.
 */
import { fileURLToPath } from 'node:url';
import { MemoryLink, Simulation, Stack } from '../../src/index.js';

const EAGAIN = 11;
const EINPROGRESS = 115;
const HEADER = 8;
const REPLY = 4;
/**
 * ARP entries stay reachable this long (ms of virtual time): short, so that
 * entries are refreshed in the middle of the run (each stack answers the
 * other's ARP request) after the path was optimized, as on a long-lived TAP
 * link, not only before.
 */
const ARP_MS = 1500;

/** Step the simulation 1 ms at a time until `cond()`; throws after `limit` ms. */
function until(sim: Simulation, cond: () => boolean, limit = 10000): void {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    sim.advance(1);
  }
  throw new Error(`chatty-sim: condition not met within ${limit} ms`);
}

/** Virtual time the last {@link chattySim} took, ms. */
export let lastRunMs = 0;
/** ARP replies both stacks sent in the last {@link chattySim}. */
export let lastArpReplies = 0;

/** Run the exchanges; returns how many completed. */
export function chattySim(conns: number, rounds: number, body = 100): number {
  const [la, lb] = MemoryLink.pair({ seed: 7 });
  const client = new Stack({ seed: 101, maxTcpSockets: 8, arpReachableMs: ARP_MS });
  const server = new Stack({ seed: 202, maxTcpSockets: 8, arpReachableMs: ARP_MS });
  client.addInterface(la, { address: '10.9.0.1/24' });
  server.addInterface(lb, { address: '10.9.0.2/24' });
  const sim = new Simulation([client, server]);
  sim.advance(1);
  const lfd = server.sockets.socket('tcp');
  if (server.sockets.bind(lfd, 0, 7070) !== 0 || server.sockets.listen(lfd, 8) !== 0) throw new Error('listen');
  const header = new Uint8Array(HEADER);
  header.set([0x52, 0x45, 0x51, 0, 0, 0, body >>> 8, body & 0xff]);
  const chunks = [header, new Uint8Array(body).fill(0x61)];
  const reply = new Uint8Array([0x4f, 0x4b, 0x0d, 0x0a]);
  const buf = new Uint8Array(4096);
  let done = 0;
  for (let k = 0; k < conns; k++) {
    const cfd = client.sockets.socket('tcp');
    if (client.sockets.connect(cfd, '10.9.0.2', 7070) !== -EINPROGRESS) throw new Error('connect');
    let sfd = -1;
    until(sim, () => {
      if (sfd < 0) sfd = server.sockets.accept(lfd);
      return sfd >= 0 && client.sockets.tcpState(cfd) === 'ESTABLISHED';
    });
    for (let i = 0; i < rounds; i++) {
      if (client.sockets.sendv(cfd, chunks, 0, 0, 1) !== HEADER + body) throw new Error('sendv');
      let req = 0;
      until(sim, () => {
        const n = server.sockets.recv(sfd, buf, 0, buf.length);
        if (n > 0) req += n;
        else if (n !== -EAGAIN) throw new Error(`server recv ${n}`);
        return req >= HEADER + body;
      });
      server.sockets.send(sfd, reply, 0, REPLY);
      let got = 0;
      until(sim, () => {
        const n = client.sockets.recv(cfd, buf, 0, buf.length);
        if (n > 0) got += n;
        else if (n !== -EAGAIN) throw new Error(`client recv ${n}`);
        return got >= REPLY;
      });
      done++;
    }
    client.sockets.close(cfd);
    until(sim, () => server.sockets.recv(sfd, buf, 0, buf.length) === 0);
    server.sockets.close(sfd);
    sim.advance(50);
  }
  lastRunMs = sim.now;
  lastArpReplies = client.stats.arp.repliesOut + server.stats.arp.repliesOut;
  return done;
}

const SCRIPT = fileURLToPath(import.meta.url);
// `node --test dist/test/` also loads this file, with no arguments: then it is only a module.
if (process.argv[1] === SCRIPT && process.argv.length > 2) {
  const conns = Number(process.argv[2]);
  const rounds = Number(process.argv[3]);
  const exchanges = chattySim(conns, rounds);
  console.log(JSON.stringify({ conns, rounds, exchanges, virtualMs: lastRunMs, arpReplies: lastArpReplies }));
}
