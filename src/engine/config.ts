/**
 * Stack configuration: every capacity the memory plan is computed from.
 * All fields are optional; {@link resolveConfig} fills defaults and rejects
 * nonsense with a clear message at construction time.
 */

/** Capacities and tunables of a {@link Stack}. */
export interface StackConfig {
  /** Socket descriptors (all protocols). Default 64. */
  maxSockets?: number;
  /** UDP sockets that may exist at once (each owns a receive buffer). Default 16. */
  maxUdpSockets?: number;
  /** Receive buffer of each UDP socket, bytes. Default 32768. */
  udpRecvBufferBytes?: number;
  /** Datagrams a UDP socket may queue before drops. Default 64. */
  udpRecvQueueDatagrams?: number;
  /** Interfaces that may be added. Default 4. */
  maxInterfaces?: number;
  /** Routing table entries (connected + default + static). Default 16. */
  maxRoutes?: number;
  /** Largest MTU of any interface; sizes every frame buffer. Default 1500. */
  maxMtu?: number;
  /** Neighbour cache entries. Default 64. */
  arpCacheSize?: number;
  /** Frames held while their next hop is being resolved (oldest dropped when full). Default 16. */
  arpPendingFrames?: number;
  /** How long a resolved neighbour stays valid, ms. Default 60000. */
  arpReachableMs?: number;
  /** Interval between ARP request retries, ms. Default 1000. */
  arpRetryMs?: number;
  /** Requests sent before giving up on a neighbour. Default 3. */
  arpMaxRequests?: number;
  /** Outstanding `ping()` calls. Default 16. */
  maxPings?: number;
  /** ICMP errors generated per second (token bucket rate). Default 100. */
  icmpErrorsPerSecond?: number;
  /** ICMP error burst (bucket size). Default 50. */
  icmpErrorBurst?: number;
  /** TTL of packets we originate. Default 64. */
  ttl?: number;
  /** Frames queued for delivery to our own addresses. Default 8. */
  loopbackFrames?: number;
  /** Seed of the stack's pseudo-random choices (ports, IDs, MACs); random when absent. */
  seed?: number;
  /**
   * TCP connections that may exist at once (active opens and accepted or
   * queued children; listeners and unconnected sockets do not count, and
   * neither do half-open requests, see `tcpSynBacklog`). Each connection also
   * needs a descriptor (`maxSockets`). Buffers are separate: a connection
   * borrows a pair from the `tcpBufferPairs` pool only while it has data to
   * hold, so idle connections cost only their control block. Default 16.
   */
  maxTcpSockets?: number;
  /**
   * Send/receive buffer pairs of the pool (each `tcpSendBufferBytes` +
   * `tcpRecvBufferBytes`). A connection takes a pair when data arrives or the
   * user writes, and gives it back when both directions are empty and nothing
   * is out of order. With the pool empty, arriving data is dropped and counted
   * (`stats.tcp.bufferDrops`; the peer retransmits) and `send()` says -EAGAIN
   * until a pair frees (EV_WRITABLE). Default: `maxTcpSockets`.
   */
  tcpBufferPairs?: number;
  /**
   * Half-open connection requests held by all listeners together (compact
   * records, not sockets; Linux's tcp_max_syn_backlog). A listener holds at
   * most its listen backlog of them (and at most 7/8 of the table). Default 256.
   */
  tcpSynBacklog?: number;
  /** SYN-ACK retransmissions of a request before it is dropped (Linux tcp_synack_retries). Default 5 (~63 s). */
  tcpSynAckRetries?: number;
  /**
   * SYN cookies (RFC 4987): 0 never, 1 when a listener's request queue or the
   * request table is full (default), 2 always (no request records at all).
   */
  tcpSyncookies?: number;
  /**
   * Connections kept back from passive opens so other listeners and outgoing
   * connections still work when one listener is flooded with idle peers: with
   * N = min(maxTcpSockets, maxSockets), one listener holds at most N - R
   * connections (queued + accepted), all listeners together at most N - R/2.
   * Default max(4, N/16), at most N/4.
   */
  tcpReservedSockets?: number;
  /** Send buffer of each TCP connection, bytes. Default 65536. */
  tcpSendBufferBytes?: number;
  /** Receive buffer (and so the largest window) of each TCP connection, bytes. Default 65536. */
  tcpRecvBufferBytes?: number;
  /**
   * Out-of-order ranges a receiver tracks per connection; data that would
   * need one more is dropped (`stats.tcp.reassemblyDropped`). 0 (default)
   * derives it from the receive buffer: one per 16 KiB, at least 32, at most
   * 255 (32 for the default 64 KiB; a 4 MiB window with a few percent loss
   * holds more than 32 holes, and Linux's receiver has no such limit).
   */
  tcpReassemblyRanges?: number;
  /** SACKed ranges a sender tracks per connection (the scoreboard). 0 (default) derives it from the send buffer as above. */
  tcpSackRanges?: number;
  /**
   * Sent-segment records per connection for RACK loss detection (RFC 8985):
   * send time and state of each segment in flight. 0 (default) derives it from
   * the send buffer: one per KiB, at least 64, at most 4096. When a window
   * holds more segments, the newest ones share a record (coarser detection).
   */
  tcpRackRecords?: number;
  /** TIME_WAIT duration (2*MSL), ms. Default 60000. */
  tcpTimeWaitMs?: number;
  /** RFC 6298 bounds and initial value, ms. Defaults 200 / 60000 / 1000. */
  tcpMinRtoMs?: number;
  tcpMaxRtoMs?: number;
  tcpInitialRtoMs?: number;
  /** SYN retransmissions of an active open before ETIMEDOUT (passive opens: `tcpSynAckRetries`). Default 6. */
  tcpSynRetries?: number;
  /** Data retransmissions (RTO backoffs) before ETIMEDOUT. Default 15. */
  tcpMaxRetries?: number;
  /** Delayed-ACK timer, ms. Default 40. */
  tcpDelayedAckMs?: number;
  /** Keepalive idle time, probe interval (ms) and probe count. Defaults 7200000 / 75000 / 9. */
  tcpKeepIdleMs?: number;
  tcpKeepIntervalMs?: number;
  tcpKeepCount?: number;
  /** How long an orphaned connection may wait in FIN_WAIT_2, ms. Default 60000. */
  tcpFinTimeoutMs?: number;
  /**
   * Congestion avoidance: 0 = Reno (RFC 5681), 1 = CUBIC (RFC 9438). Default 1,
   * as Linux: over a lossy, reordering TAP link (bench/loss.ts) CUBIC moved
   * 64 MiB in 0.78–1.02 s against Reno's 0.89–1.30 s (medians of 3, three rounds).
   */
  tcpCubic?: number;
  /** Send a tail loss probe (RFC 8985) before the RTO when SACK is on (1) or not (0). Default 1. */
  tcpTailLossProbe?: number;
  /** Offer SACK, timestamps, window scaling (1) or not (0). Default 1 each. */
  tcpSack?: number;
  tcpTimestamps?: number;
  tcpWindowScaling?: number;
  /**
   * Largest IPv4 datagram the stack builds or accepts for fragmentation
   * (sizes the transmit staging buffer: UDP sends up to this minus 28).
   * Default 65535.
   */
  ipMaxDatagramBytes?: number;
  /** Datagrams reassembled at once (each slot owns a buffer); 0 drops all fragments. Default 8. */
  ipReassemblySlots?: number;
  /** Largest reassembled datagram (total length) a slot holds. Default 65535. */
  ipReassemblyBytes?: number;
  /** An incomplete datagram is discarded this long after its first fragment, ms (RFC 791: 15 s+). Default 30000. */
  ipReassemblyTimeoutMs?: number;
  /** Forward packets between interfaces as a router (RFC 1812). Default false. */
  ipForwarding?: boolean | number;
  /** Reverse-path check of forwarded packets: 0 off, 1 strict (default), 2 loose (as Linux rp_filter). */
  ipRpFilter?: number;
  /** IPsec ESP security associations (0 with ipsecMaxSp 0: no IPsec at all). Default 16. */
  ipsecMaxSa?: number;
  /** IPsec security policies. Default 16. */
  ipsecMaxSp?: number;
  /** Largest (and default) anti-replay window of an inbound SA, bits. Default 128. */
  ipsecReplayWindow?: number;
  /**
   * IPv6 (RFC 8200) beside IPv4. Default true; false plans no memory for
   * IPv6 at all (every IPv6 size below is then ignored, and IPv6 frames are
   * counted as an unknown EtherType).
   */
  ipv6?: boolean | number;
  /** IPv6 neighbour cache entries (RFC 4861 §5.1). Default 64. */
  neighbourCache6Entries?: number;
  /** IPv6 routing table entries (connected + default + static + learned from RAs). Default 16. */
  routes6?: number;
  /** IPv6 addresses per interface (link-local + SLAAC + static). Default 4. */
  ipv6AddressesPerInterface?: number;
  /** IPv6 datagrams reassembled at once (each slot owns a buffer); 0 drops all fragments. Default 8. */
  ip6ReassemblySlots?: number;
  /** Largest reassembled IPv6 packet (40-byte header + payload) a slot holds. Default 65535. */
  ip6ReassemblyBytes?: number;
  /** An incomplete IPv6 packet is discarded this long after its first fragment arrived, ms (RFC 8200 §4.5: 60 s). Default 60000. */
  ip6ReassemblyTimeoutMs?: number;
  /** Path MTU cache entries (RFC 8201: destinations that sent us Packet Too Big). Default 16. */
  ip6PathMtuEntries?: number;
  /** Follow ICMPv6 redirects from the first-hop router (RFC 4861 §8.3). Default false (ignored, counted). */
  ipv6AcceptRedirects?: boolean | number;
  /**
   * Clock used by `start()` (ms, monotonic). Default `performance.now()`; a Node `Stack` with the
   * native addon then reads its real-time `now` from the addon's integer clock on the same time base
   * (no heap number per wake-up) and this one for ping round-trip times only.
   */
  clock?: () => number;
}

export type ResolvedConfig = Required<Omit<StackConfig, 'clock' | 'seed' | 'ipForwarding' | 'ipv6' | 'ipv6AcceptRedirects'>>
  & { seed: number; clock: () => number; ipForwarding: number; ipv6: number; ipv6AcceptRedirects: number };

const limits: Record<string, [number, number, number]> = {
  // name: [default, min, max]
  maxSockets: [64, 1, 32767],
  maxUdpSockets: [16, 0, 32767],
  udpRecvBufferBytes: [32768, 1024, 16 * 1024 * 1024],
  udpRecvQueueDatagrams: [64, 1, 65535],
  maxInterfaces: [4, 1, 255],
  maxRoutes: [16, 1, 65535],
  maxMtu: [1500, 576, 9000],
  arpCacheSize: [64, 1, 65535],
  arpPendingFrames: [16, 1, 4096],
  arpReachableMs: [60000, 1, 86400000],
  arpRetryMs: [1000, 1, 600000],
  arpMaxRequests: [3, 1, 255],
  maxPings: [16, 1, 65535],
  icmpErrorsPerSecond: [100, 0, 1e9],
  icmpErrorBurst: [50, 0, 1e9],
  ttl: [64, 1, 255],
  loopbackFrames: [8, 1, 4096],
  maxTcpSockets: [16, 0, 32767],
  // -1: derived from maxTcpSockets / maxSockets (see resolveConfig).
  tcpBufferPairs: [-1, 0, 32767],
  tcpSynBacklog: [256, 1, 65535],
  tcpSynAckRetries: [5, 0, 16],
  tcpSyncookies: [1, 0, 2],
  tcpReservedSockets: [-1, 0, 32767],
  tcpSendBufferBytes: [65536, 2048, 1 << 30],
  tcpRecvBufferBytes: [65536, 2048, 1 << 30],
  tcpReassemblyRanges: [0, 0, 255],
  tcpSackRanges: [0, 0, 255],
  tcpRackRecords: [0, 0, 65535],
  tcpTimeWaitMs: [60000, 0, 600000],
  tcpMinRtoMs: [200, 1, 60000],
  tcpMaxRtoMs: [60000, 100, 600000],
  tcpInitialRtoMs: [1000, 1, 60000],
  tcpSynRetries: [6, 0, 255],
  tcpMaxRetries: [15, 1, 255],
  tcpDelayedAckMs: [40, 0, 500],
  tcpKeepIdleMs: [7200000, 1, 86400000],
  tcpKeepIntervalMs: [75000, 1, 86400000],
  tcpKeepCount: [9, 1, 255],
  tcpFinTimeoutMs: [60000, 1, 600000],
  tcpSack: [1, 0, 1],
  tcpTailLossProbe: [1, 0, 1],
  tcpCubic: [1, 0, 1],
  tcpTimestamps: [1, 0, 1],
  tcpWindowScaling: [1, 0, 1],
  ipMaxDatagramBytes: [65535, 576, 65535],
  ipReassemblySlots: [8, 0, 255],
  ipReassemblyBytes: [65535, 576, 65535],
  ipReassemblyTimeoutMs: [30000, 1, 600000],
  ipForwarding: [0, 0, 1],
  ipRpFilter: [1, 0, 2],
  ipsecMaxSa: [16, 0, 65535],
  ipsecMaxSp: [16, 0, 65535],
  ipsecReplayWindow: [128, 64, 8192],
  ipv6: [1, 0, 1],
  neighbourCache6Entries: [64, 1, 65535],
  routes6: [16, 1, 65535],
  ipv6AddressesPerInterface: [4, 1, 64],
  ip6ReassemblySlots: [8, 0, 255],
  ip6ReassemblyBytes: [65535, 1280, 65535],
  ip6ReassemblyTimeoutMs: [60000, 1, 600000],
  ip6PathMtuEntries: [16, 1, 65535],
  ipv6AcceptRedirects: [0, 0, 1],
};

/** Fill defaults and validate; throws `RangeError`/`TypeError` naming the bad field. */
export function resolveConfig(config: StackConfig = {}): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new TypeError('Stack config must be an object');
  const known = new Set([...Object.keys(limits), 'seed', 'clock']);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new TypeError(`unknown Stack config field '${key}'`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, [def, min, max]] of Object.entries(limits)) {
    let v = (config as Record<string, unknown>)[name];
    if (typeof v === 'boolean' && (name === 'ipForwarding' || name === 'ipv6' || name === 'ipv6AcceptRedirects')) v = v ? 1 : 0;
    if (v === undefined) {
      out[name] = def;
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`Stack config '${name}' must be an integer in ${min}..${max}, got ${String(v)}`);
    }
    out[name] = v;
  }
  let seed = config.seed;
  if (seed === undefined) {
    // Unpredictable by default (ephemeral ports, IP IDs, ISN secret); tests pass a seed to replay.
    const c = (globalThis as { crypto?: { getRandomValues(a: Uint32Array): Uint32Array } }).crypto;
    seed = c !== undefined ? c.getRandomValues(new Uint32Array(1))[0] : Math.floor(Math.random() * 0x100000000);
  }
  else if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new TypeError('Stack config \'seed\' must be a number');
  if (config.clock !== undefined && typeof config.clock !== 'function') {
    throw new TypeError('Stack config \'clock\' must be a function returning milliseconds');
  }
  // Derived defaults (an explicit -1 is not a value a user may give).
  for (const name of ['tcpBufferPairs', 'tcpReservedSockets']) {
    if ((config as Record<string, unknown>)[name] === -1) {
      throw new RangeError(`Stack config '${name}' must be an integer in 0..32767, got -1`);
    }
  }
  if (out.tcpBufferPairs === -1) out.tcpBufferPairs = out.maxTcpSockets;
  if (out.tcpReservedSockets === -1) {
    const n = Math.min(out.maxTcpSockets as number, out.maxSockets as number);
    out.tcpReservedSockets = Math.min(Math.max(4, Math.floor(n / 16)), Math.floor(n / 4));
  }
  out.seed = seed >>> 0;
  // `performance` looked up once: on Node's global object it is an accessor, a generic load per call.
  const perf = performance;
  out.clock = config.clock ?? (() => perf.now());
  // A copy with fast properties: `out`, filled by name in loops, ends up in
  // V8's dictionary mode, and the packet path reads this object (the clock,
  // TCP's timer settings) on every segment: a dictionary-mode load is a
  // generic IC call from optimized code, not an inlined field load.
  return { ...out } as ResolvedConfig;
}

/**
 * A small configuration shaped like wolfIP's defaults (the C stack wirestack
 * measures itself against): 8 descriptors of which 4 TCP and 2 UDP, 32 KiB
 * send and 20 KiB receive buffers per TCP connection, one interface, a
 * 1500-byte MTU, and IP datagrams up to 8 KiB (fragmented on the way
 * out, one 8 KiB reassembly slot on the way in). Every table is still
 * bounded with counted drops when full; use it as `new Stack({ ...EMBEDDED_CONFIG })`
 * (or spread and override) when memory matters more than connection count.
 * `npm run bench` prints its `stack.memory` against wolfIP's.
 */
export const EMBEDDED_CONFIG: Readonly<StackConfig> = Object.freeze({
  maxSockets: 8,
  maxTcpSockets: 4,
  maxUdpSockets: 2,
  udpRecvBufferBytes: 4096,
  udpRecvQueueDatagrams: 8,
  maxInterfaces: 1,
  maxRoutes: 4,
  maxMtu: 1500,
  ipMaxDatagramBytes: 8192,
  arpCacheSize: 16,
  arpPendingFrames: 4,
  loopbackFrames: 2,
  maxPings: 2,
  tcpSendBufferBytes: 32768,
  tcpRecvBufferBytes: 20480,
  tcpSynBacklog: 8,
  ipReassemblySlots: 1,
  ipReassemblyBytes: 8192,
  ipsecMaxSa: 4,
  ipsecMaxSp: 4,
  // IPv6 stays on, at the same scale: one 8 KiB reassembly slot, small tables.
  routes6: 4,
  neighbourCache6Entries: 16,
  ip6ReassemblySlots: 1,
  ip6ReassemblyBytes: 8192,
  ip6PathMtuEntries: 4,
});
