/**
 * The portable stack: the engine (src/engine) plus what sits on it without
 * Node — the BSD-like descriptor API (src/socket/api.ts) and ESP transport
 * mode (src/ipsec), handed to the engine through its IPsec hook. `Stack`
 * (src/stack.ts) adds the Node adapters.
 */
import { Engine } from './engine/stack.js';
import { resolveConfig, type StackConfig } from './engine/config.js';
import type { IpsecHookFactory } from './engine/ipsec-hook.js';
import type { MemoryReport } from './storage/arena.js';
import { SocketApi, type SocketHost } from './socket/api.js';
import { IpsecEngine } from './ipsec/engine.js';
import { ESP_MAX_OVERHEAD } from './ipsec/algorithms.js';

/** ESP transport mode as the engine's IPsec hook, planned and carved with the stack's memory. */
const ESP: IpsecHookFactory<IpsecEngine> = {
  tailroom: ESP_MAX_OVERHEAD,
  plan: (m, c) => IpsecEngine.plan(m, c),
  create: (m, ctx, c, stats) => new IpsecEngine(m, ctx, c, stats),
};

/**
 * The portable engine with its descriptor API and IPsec: everything but the
 * Node adapters (see `Stack` in src/stack.ts, which adds `dgram`, `net`,
 * `http` and `https`).
 */
export class StackCore extends Engine<IpsecEngine> implements SocketHost {
  /** The BSD-like descriptor API. */
  readonly sockets: SocketApi;

  /** Compute the memory plan for a configuration without building a stack. */
  static override planMemory(config: StackConfig = {}): MemoryReport {
    return Engine.plan(resolveConfig(config), ESP).report();
  }

  constructor(config: StackConfig = {}) {
    super(config, ESP);
    this.sockets = new SocketApi(this.table, this.udp, this.tcp, this);
  }

  /** ESP transport mode; null when `ipsecMaxSa` and `ipsecMaxSp` are both 0. Configured through `stack.ipsec`. */
  get ipsecEngine(): IpsecEngine | null {
    return this.ipsecHook;
  }
}

export type { InterfaceOptions, InterfaceInfo, PingOptions } from './engine/stack.js';
