/**
 * wirestack: a TCP/IP stack for Node.js on planned memory.
 * @packageDocumentation
 */
export { Stack } from './stack.js';
export { StackCore } from './core.js';
export type { InterfaceOptions, InterfaceInfo, PingOptions } from './engine/stack.js';
export type { StackConfig } from './engine/config.js';
export { EMBEDDED_CONFIG } from './engine/config.js';
export type { StackStats } from './engine/stats.js';
export { Errno, StackError, errnoName } from './engine/errno.js';
export type { MemoryReport } from './storage/arena.js';
export { SocketApi, SOCK_STREAM, TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE, SO_LINGER, SO_SNDBUF, SHUT_RD, SHUT_WR, SHUT_RDWR, MSG_MORE, SOCK_DGRAM, SO_BROADCAST, SO_REUSEADDR, IP_DONTFRAG, SO_RCVBUF, SO_ERROR, EV_READABLE, EV_WRITABLE, EV_CLOSED, EV_ERROR } from './socket/api.js';
export type { SockAddr } from './socket/api.js';
export type { SocketCallback } from './engine/socket-table.js';
export { MemoryLink, PcapWriter, Prng, FaultLink } from './link/index.js';
export type { Link, FrameReceiver, LinkStats, MemoryLinkOptions, PcapSink } from './link/index.js';
export { parseIpv4, formatIpv4 } from './wire/ipv4addr.js';
export { Simulation } from './engine/simulation.js';
export type { SimNode, SimTimers } from './engine/simulation.js';
export { NetFacade, Socket as NetSocket, Server as NetServer } from './socket/net.js';
export type { NetError, SocketOptions as NetSocketOptions, TcpConnectOptions, ServerOptions as NetServerOptions, ListenOptions as NetListenOptions, OnReadOptions } from './socket/net.js';
export { createHttpServer, createHttpsServer, staticFiles, contentTypeOf } from './apps/http.js';
export type { HttpApp, HttpHandler, HttpsAppOptions, HttpTimeoutCloses } from './apps/http.js';
export { TapLink, TAP_THREADS_DEFAULT, TAP_KERNEL_QUEUE_DEFAULT, type TapLinkOptions, type TapNetnsOptions } from './link/tap.js';
export type { TapThreadCounters } from './link/tap-ring.js';
export { DnsClient, DnsError, connectByName } from './apps/dns.js';
export type { DnsClientOptions, DnsHost, LookupOptions, LookupAddress, RecordWithTtl } from './apps/dns.js';
export {
  DnsFormatError, encodeQuery as encodeDnsQuery, encodeMessage as encodeDnsMessage, parseMessage as parseDnsMessage,
  encodeName as encodeDnsName, reverseName as dnsReverseName,
} from './wire/dns.js';
export type { DnsMessage, DnsRecord, DnsQuestion, DnsMessageInit, DnsRecordInit } from './wire/dns.js';
export { WireGuardDevice } from './wireguard/device.js';
export type { WireGuardDeviceOptions, WireGuardPeerOptions, WireGuardEvent } from './wireguard/device.js';
export { WireGuardInterface, createWireGuard } from './wireguard/setup.js';
export type { WireGuardConfig, WireGuardPeerConfig } from './wireguard/setup.js';
export { HostUdpTransport } from './wireguard/transport-node.js';
export { StackUdpTransport } from './wireguard/stack-transport.js';
export type { WgTransport, DatagramReceiver } from './wireguard/transport.js';
export { getSuite, encodeKey, decodeKey, standardSuite, fipsSuite } from './wireguard/crypto/index.js';
export type { WgSuite, SuiteName } from './wireguard/crypto/suite.js';
export { parseWgQuick, loadWgQuick, formatWgQuick, WgConfigError } from './wireguard/config.js';
export type { WgQuickConfig, WgPeerConfig, WgTunnelConfig } from './wireguard/config.js';
export { UapiServer, handleUapiRequest } from './wireguard/uapi.js';
export type { UapiTarget } from './wireguard/uapi.js';
export { AllowedIps } from './wireguard/allowed-ips.js';
export { createSocks5Server } from './apps/socks5.js';
export { createTcpClientTunnel, createTcpServerTunnel, createUdpClientTunnel, createUdpServerTunnel } from './apps/tunnels.js';
export { IpsecApi } from './ipsec/api.js';
export type { SaSpec, PolicySpec, IpsecDocument, SaInfo, PolicyInfo, SaState, ExpiryEvent, ExpiryReason } from './ipsec/api.js';
export type { AlgorithmSpec } from './ipsec/algorithms.js';
export type { EspCrypto, EspKey } from './ipsec/crypto.js';
export { NodeEspCrypto } from './ipsec/crypto-node.js';
