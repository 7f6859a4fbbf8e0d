/** AllowedIps and AllowedIps6 built from their own memory plans, for the tests. */
import { Arena, MemoryPlan } from '../../src/storage/arena.js';
import { AllowedIps } from '../../src/wireguard/allowed-ips.js';
import { AllowedIps6 } from '../../src/wireguard/allowed-ips6.js';

export function make(maxPrefixes: number): { t: AllowedIps; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}

export function make6(maxPrefixes: number): { t: AllowedIps6; plan: MemoryPlan } {
  const plan = new MemoryPlan();
  AllowedIps6.plan(plan, maxPrefixes);
  const arena = new Arena(plan);
  const t = new AllowedIps6(arena, maxPrefixes);
  arena.finish();
  return { t, plan };
}
