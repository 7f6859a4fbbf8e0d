/** Two stacks on a MemoryLink cable, driven in virtual time. */
import { Stack, MemoryLink, Simulation, type StackConfig, type MemoryLinkOptions } from '../../src/index.js';

export interface Pair {
  a: Stack;
  b: Stack;
  la: MemoryLink;
  lb: MemoryLink;
  sim: Simulation;
}

export function makePair(link: MemoryLinkOptions = {}, ca: StackConfig = {}, cb: StackConfig = {}): Pair {
  const [la, lb] = MemoryLink.pair({ seed: 7, ...link });
  const a = new Stack({ seed: 1, ...ca });
  const b = new Stack({ seed: 2, ...cb });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  return { a, b, la, lb, sim: new Simulation([a, b]) };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array, n = b.length): string => new TextDecoder().decode(b.subarray(0, n));
