/**
 * IPv6 output (RFC 8200): routing with source selection, sending,
 * source fragmentation. The contract types live in ipv6-types.ts and are
 * re-exported here.
 */
export {
  IP6_PAYLOAD_OFFSET, IP6_DONTFRAG, type Ip6Output, type Transport6Input, type Transports6,
  type Udp6ErrorSink, type Tcp6ErrorSink, type NeighbourOutput, type NeighbourInput,
} from './ipv6-types.js';
