/**
 * Per-stack counters. Every drop on the packet path increments exactly one
 * named counter here, so "nothing vanishes silently" can be tested.
 * Counters are plain numbers mutated in place (no allocation).
 */
import { createTcpStats } from './tcp/core.js';
import { createIpsecStats } from './ipsec-stats.js';
import { createNd6Stats } from './nd6-stats.js';

export function createStats() {
  return {
    eth: { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, runt: 0, notForUs: 0, unknownType: 0, txDropped: 0 },
    arp: {
      rx: 0, requestsIn: 0, repliesIn: 0, requestsOut: 0, repliesOut: 0, gratuitousOut: 0,
      malformed: 0, ignored: 0, learned: 0, updated: 0, resolveFailed: 0, queued: 0, queueDropped: 0,
      cacheFull: 0, conflicts: 0,
    },
    ip: {
      rx: 0, delivered: 0, tx: 0, truncated: 0, badVersion: 0, badHeaderLength: 0, badTotalLength: 0,
      badChecksum: 0, martianSource: 0, notForUs: 0, fragmentsDropped: 0, unknownProtocol: 0, noRoute: 0,
      optionsSkipped: 0,
      // Fragments: each received fragment is counted once as fragmentsIn (kept), fragmentDuplicates
      // (ignored) or fragmentsDropped; the other fragment counters give reasons and datagram outcomes.
      fragmentsIn: 0, fragmentDuplicates: 0, fragmentsMalformed: 0, fragmentsTooBig: 0, fragmentsTiny: 0,
      reassembled: 0, reassemblyTimeouts: 0, reassemblyOverlaps: 0, reassemblyEvicted: 0, reassemblyDropped: 0,
      fragmentsOut: 0, fragmentedOut: 0,
      // Datagrams not fragmented because a send nested in another fragmentation asked (fragment.ts).
      fragmentNested: 0,
      // Forwarding (reasons per interface in its stats).
      forwarded: 0, forwardDropped: 0,
    },
    icmp: {
      rx: 0, tx: 0, malformed: 0, badChecksum: 0, echoRequestsIn: 0, echoRepliesOut: 0, echoRepliesIn: 0,
      echoRequestsOut: 0, errorsIn: 0, errorsOut: 0, errorsRateLimited: 0, unmatchedReplies: 0,
      broadcastEchoIgnored: 0,
    },
    ip6: {
      rx: 0, delivered: 0, tx: 0, truncated: 0, badVersion: 0, badPayloadLength: 0, martianSource: 0, notForUs: 0,
      // Multicast to a group we have not joined (the Ethernet layer let it in, 33:33:xx).
      multicastNotJoined: 0,
      // Extension headers: bad layout (Parameter Problem code 0), unknown next header (code 1),
      // unknown option whose action bits say discard (RFC 8200 §4.2), too many in the chain.
      badExtHeader: 0, unknownNextHeader: 0, unknownOption: 0, extChainTooLong: 0, noNextHeader: 0,
      hopLimitExceeded: 0, noRoute: 0, tooBig: 0,
      // Fragments: each received fragment is counted once as fragmentsIn (kept), fragmentDuplicates (ignored)
      // or fragmentsDropped (with one reason counter).
      fragmentsIn: 0, fragmentDuplicates: 0, fragmentsDropped: 0, fragmentsMalformed: 0, fragmentsTooBig: 0,
      atomicFragments: 0, reassembled: 0, reassemblyTimeouts: 0, reassemblyOverlaps: 0, reassemblyEvicted: 0,
      reassemblyDropped: 0, fragmentsOut: 0, fragmentedOut: 0, fragmentNested: 0,
      // Unicast next hop without neighbour discovery (placeholder ND only).
      noNeighbour: 0, loopbackDropped: 0,
      // TCP or UDP over IPv6 with no IPv6 transport built into the stack.
      noTransport: 0,
      forwarded: 0, forwardDropped: 0,
    },
    icmp6: {
      rx: 0, tx: 0, malformed: 0, badChecksum: 0, echoRequestsIn: 0, echoRepliesOut: 0, echoRepliesIn: 0,
      echoRequestsOut: 0, errorsIn: 0, errorsOut: 0, errorsRateLimited: 0, unmatchedReplies: 0,
      multicastEchoIgnored: 0, unknownType: 0, ndIn: 0, packetTooBigIn: 0, pmtuUpdated: 0, pmtuIgnored: 0,
    },
    udp: {
      rx: 0, tx: 0, malformed: 0, badChecksum: 0, noPort: 0, queueFull: 0, delivered: 0,
    },
    nd6: createNd6Stats(),
    tcp: createTcpStats(),
    ipsec: createIpsecStats(),
  };
}

export type StackStats = ReturnType<typeof createStats>;
