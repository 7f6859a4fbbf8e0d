/**
 * The seam between IPv4 and an IPsec implementation (ESP transport mode,
 * RFC 4303; src/ipsec implements it): what IPv4 output and input call. The
 * engine defines it and never imports src/ipsec; the outer stack hands a
 * {@link IpsecHookFactory} in, so the hook is planned and carved with the
 * stack's memory.
 */
import type { Carver } from '../storage/arena.js';
import type { ResolvedConfig } from './config.js';
import type { EngineContext } from './context.js';
import type { IpsecStats } from './ipsec-stats.js';

/** {@link IpsecHook.inputClear}: deliver the packet as it arrived. */
export const IPSEC_PASS = -1;
/** {@link IpsecHook.inputClear} and {@link IpsecHook.inputEsp}: the packet was taken (dropped and counted). */
export const IPSEC_CONSUMED = 0;

export interface IpsecHook {
  /**
   * Outbound: the transport packet (`len` bytes, protocol `proto`) is at
   * IP_PAYLOAD_OFFSET of the transmit buffer. Returns the length of what is
   * there now (unchanged when bypassed; the ESP packet when protected, with
   * {@link outProto} set) or -errno.
   */
  output(proto: number, len: number, src: number, dst: number): number;
  /** IP protocol of what {@link output} left in the transmit buffer. */
  readonly outProto: number;
  /** Bytes ESP adds to packets of this flow (0 when not protected): the MTU transports see is reduced by it. */
  overhead(proto: number, src: number, dst: number, sport: number, dport: number): number;
  /**
   * Inbound ESP at `b[e .. e+n)` inside the IP packet at `b[o]` (header
   * `hlen` bytes). Returns the total length of the decrypted packet now at
   * the start of {@link rx} (same header length, protocol rewritten), or
   * IPSEC_CONSUMED.
   */
  inputEsp(b: Uint8Array, o: number, hlen: number, e: number, n: number, src: number, dst: number): number;
  /**
   * Inbound packet that is not ESP (ESP-in-UDP is recognised here): returns
   * IPSEC_PASS to deliver it as received, IPSEC_CONSUMED, or the length of a
   * decrypted packet at the start of {@link rx}.
   */
  inputClear(b: Uint8Array, o: number, hlen: number, total: number, proto: number, src: number, dst: number): number;
  /** Where decrypted packets are left for delivery. */
  readonly rx: Uint8Array;
  /**
   * Receive flags (offload.ts) of the packet last left in {@link rx}:
   * RX_CSUM_VALID when the hook verified its transport checksum while
   * decrypting, else 0 (the transport verifies it).
   */
  readonly rxFlags: number;
  /** Lifetime work at the context's time. */
  poll(): void;
  /** When {@link poll} next has work, ms. */
  readonly nextDeadline: number;
}

/** How a stack gets its IPsec hook: planned with, and carved from, the stack's memory. */
export interface IpsecHookFactory<H extends IpsecHook = IpsecHook> {
  /** Transmit-buffer tailroom the hook's output needs (ESP grows a packet in place). */
  readonly tailroom: number;
  /** Lay out the hook's memory for this configuration. */
  plan(m: Carver, config: ResolvedConfig): void;
  create(m: Carver, ctx: EngineContext, config: ResolvedConfig, stats: IpsecStats): H;
}
