/** What the protocol layers share: the clock, counters, interfaces and the transmit buffer. */
import type { ResolvedConfig } from './config.js';
import type { NetInterface } from './netif.js';
import type { StackStats } from './stats.js';

export interface EngineContext {
  /** Time of the current poll or API call, ms. */
  now: number;
  readonly config: ResolvedConfig;
  readonly stats: StackStats;
  readonly interfaces: NetInterface[];
  /**
   * The one buffer outgoing frames are built in, `maxMtu + 14` bytes. Only one
   * frame is under construction at a time: builders finish (transmit or queue
   * a copy) before returning.
   */
  readonly tx: Uint8Array;
  /** The clock at full resolution when running in real time (else `now`), for RTT reports. */
  preciseNow(): number;
  /** A pseudo-random unsigned 32-bit integer. */
  random32(): number;
}
