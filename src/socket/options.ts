/** Option names and flags of the descriptor API (`SocketApi.setsockopt`, `SocketApi.send`), Linux's values where Linux has one. */
/** Options for `SocketApi.setsockopt`/`getsockopt`. */
export const SO_BROADCAST = 6;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const TCP_NODELAY = 0x101;
/** UDP: set DF; datagrams larger than the route's MTU fail with EMSGSIZE instead of being fragmented (BSD's IP_DONTFRAG). */
export const IP_DONTFRAG = 28;
/** AF_INET6 sockets: take IPv6 only (no IPv4 through a `::` bind); set before bind (RFC 3493 5.3, Linux's value). */
export const IPV6_V6ONLY = 26;
/** Keepalive tuning, ms (Linux uses seconds; milliseconds suit virtual-time tests). */
export const TCP_KEEPIDLE = 0x104;
export const TCP_KEEPINTVL = 0x105;
export const TCP_KEEPCNT = 0x106;
/** Abort when sent data stays unacknowledged this many ms (RFC 5482); 0 = off. */
export const TCP_USER_TIMEOUT = 0x112;
/**
 * `SocketApi.send` flag (Linux's value): more data follows at once, so
 * TCP holds a partial last segment until a send without it (one gathered
 * write, as Linux's writev()/MSG_MORE).
 */
export const MSG_MORE = 0x8000;
