/** Two stacks joined by a MemoryLink, each with a WireGuard interface carried by its own UDP, in virtual time. */
import { Stack, MemoryLink, Simulation, type MemoryLinkOptions, type StackConfig } from '../../src/index.js';
import { getSuite, type SuiteName } from '../../src/wireguard/crypto/index.js';
import type { WireGuardInterface, WireGuardConfig } from '../../src/wireguard/setup.js';

export const WALL_START = 1_790_000_000_000;

export interface WgPair {
  a: Stack;
  b: Stack;
  wa: WireGuardInterface;
  wb: WireGuardInterface;
  sim: Simulation;
  keys: { aPriv: Uint8Array; aPub: Uint8Array; bPriv: Uint8Array; bPub: Uint8Array };
}

/**
 * Outer network 10.70.0.0/24 (a = .1, b = .2, WireGuard on UDP 51820 and
 * 51821), tunnel 10.200.0.0/24 (a = .1, b = .2). `a` knows b's endpoint; b
 * learns a's from the handshake unless `bKnowsA`.
 */
export async function makeWgPair(suiteName: SuiteName, opts: {
  link?: MemoryLinkOptions; stack?: StackConfig; bKnowsA?: boolean; psk?: Uint8Array;
  a?: Partial<WireGuardConfig>; b?: Partial<WireGuardConfig>;
} = {}): Promise<WgPair> {
  const suite = getSuite(suiteName);
  const aPriv = suite.generatePrivateKey();
  const bPriv = suite.generatePrivateKey();
  const aPub = suite.publicKey(aPriv);
  const bPub = suite.publicKey(bPriv);
  const [la, lb] = MemoryLink.pair({ seed: 11, ...opts.link });
  const a = new Stack({ seed: 1, ...opts.stack });
  const b = new Stack({ seed: 2, ...opts.stack });
  a.addInterface(la, { address: '10.70.0.1/24' });
  b.addInterface(lb, { address: '10.70.0.2/24' });
  const sim = new Simulation([a, b]);
  const wallClock = (): number => WALL_START + sim.now;
  const wa = await a.addWireGuard({
    suite: suiteName, privateKey: aPriv, address: '10.200.0.1/24', listenPort: 51820, transport: { stack: a },
    wallClock, peers: [{ publicKey: bPub, endpoint: '10.70.0.2:51821', allowedIps: ['10.200.0.2/32'], presharedKey: opts.psk }],
    ...opts.a,
  });
  const wb = await b.addWireGuard({
    suite: suiteName, privateKey: bPriv, address: '10.200.0.2/24', listenPort: 51821, transport: { stack: b },
    wallClock, peers: [{ publicKey: aPub, allowedIps: ['10.200.0.1/32'], presharedKey: opts.psk, ...(opts.bKnowsA ? { endpoint: '10.70.0.1:51820' } : {}) }],
    ...opts.b,
  });
  return { a, b, wa, wb, sim, keys: { aPriv, aPub, bPriv, bPub } };
}
