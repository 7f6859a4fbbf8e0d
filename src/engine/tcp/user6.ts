/**
 * The user calls of TCP over IPv6 that differ from IPv4's (user.ts): bind
 * and connect with 16-byte addresses. listen, accept, send, receive and
 * close are family-blind and stay in user.ts. Dual-stack rules (RFC 3493
 * 3.7, 5.3; as Linux): an AF_INET6 socket bound to `::` without IPV6_V6ONLY
 * also owns the port for IPv4, so it clashes with IPv4 binds of the port.
 */
import {
  AF_INET, AF_INET6, F_BOUND, F_REUSEADDR, F_V6ONLY, addr6Unspecified,
} from '../socket-table.js';
import { Errno } from '../errno.js';
import { Route6Record } from '../routes6.js';
import type { TcpCore } from './core.js';
import {
  CLOSED, LISTEN, SYN_SENT, TF_ACCEPTED, TF_CONNECTING, isHandshaking, setState,
} from './tcb.js';
import { wscaleFor } from './input.js';
import { TCP6_MIN_MSS } from './ip6.js';

/** `::` */
const ANY6 = new Uint8Array(16);

export class TcpUser6 {
  /** Where this module's route6() answers go (never shared with another sender). */
  private readonly route = new Route6Record();

  constructor(private readonly core: TcpCore) {}

  /** Would binding `a[ao]`:port (V6ONLY as given) clash with a TCP socket already on the port? */
  portInUse6(a: Uint8Array, ao: number, port: number, reuse: boolean, v6only: boolean): boolean {
    const c = this.core;
    const so = c.sockets;
    const any = addr6Unspecified(a, ao);
    for (let s = so.tcpPortHead[so.portBucket(port)]; s >= 0; s = so.portNext[s]) {
      if (so.localPort[s] !== port) continue;
      if (so.family[s] === AF_INET) {
        // An IPv4 socket is in the way only of a dual-stack `::` bind.
        if (!any || v6only) continue;
      } else if (!any && !addr6Unspecified(so.localAddr6, 16 * s) && !so.local6Is(s, a, ao)) {
        continue;
      }
      // SO_REUSEADDR lets a new socket share the port unless one is listening on it.
      if (reuse && (so.flags[s] & F_REUSEADDR) !== 0 && c.t.state[s] !== LISTEN) continue;
      return true;
    }
    return false;
  }

  /** Bind AF_INET6 socket `s` to `a[ao]` (`::` for any) and `port` (0: ephemeral). 0 or -errno. */
  bind6(s: number, a: Uint8Array, ao: number, port: number): number {
    const c = this.core;
    const so = c.sockets;
    if (so.family[s] !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if ((so.flags[s] & F_BOUND) !== 0 || c.t.state[s] !== CLOSED) return -Errno.EINVAL;
    const ip6 = c.v6.ip6;
    if (!addr6Unspecified(a, ao) && (ip6 === null || ip6.localInterface6(a, ao) === null)) return -Errno.EADDRNOTAVAIL;
    const reuse = (so.flags[s] & F_REUSEADDR) !== 0;
    if (port === 0) {
      port = so.ephemeralPort(so.tcpPortHead, c.ctx.random32());
      if (port === 0) return -Errno.EADDRINUSE;
    } else if (this.portInUse6(a, ao, port, reuse, (so.flags[s] & F_V6ONLY) !== 0)) {
      return -Errno.EADDRINUSE;
    }
    so.setLocal6(s, a, ao);
    so.localPort[s] = port;
    so.flags[s] |= F_BOUND;
    so.linkPort(so.tcpPortHead, s);
    return 0;
  }

  /**
   * Start an active open to `a[ao]`:port (not v4-mapped: the socket API
   * turns those into IPv4 connects); -EINPROGRESS, completion as IPv4's.
   */
  connect6(s: number, a: Uint8Array, ao: number, port: number): number {
    const c = this.core;
    const t = c.t;
    const so = c.sockets;
    const st = t.state[s];
    if (so.family[s] !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if (isHandshaking(st)) return -Errno.EALREADY;
    if (st !== CLOSED || (t.tflags[s] & TF_ACCEPTED) !== 0) return st === LISTEN ? -Errno.EINVAL : -Errno.EISCONN;
    if (so.remotePort[s] !== 0) return -Errno.EISCONN;
    if (addr6Unspecified(a, ao) || port === 0) return -Errno.EINVAL;
    const rt = this.route;
    const lo = 16 * s;
    const r = c.v6.route(rt, a, ao, addr6Unspecified(so.localAddr6, lo) ? null : so.localAddr6, lo);
    if (r < 0) return r;
    if ((so.flags[s] & F_BOUND) === 0) {
      const b = this.bind6(s, ANY6, 0, 0);
      if (b < 0) return b;
    }
    if (c.v6.lookup6(rt.src, 0, so.localPort[s], a, ao, port) >= 0) return -Errno.EADDRINUSE;
    if (!c.connectionRoom()) return -Errno.ENOBUFS;
    c.countConnection(s, -1);
    t.setCaps(s);
    so.setLocal6(s, rt.src, 0);
    so.setRemote6(s, a, ao);
    so.remotePort[s] = port;
    c.hashIn(s);
    // RFC 6528 over the folds of the addresses: the keyed mix and the clock as for IPv4.
    const iss = c.isn(so.localAddr[s], so.localPort[s], so.remoteAddr[s], port);
    t.iss[s] = iss;
    t.sndUna[s] = iss;
    t.sndNxt[s] = iss;
    t.sndMax[s] = iss;
    t.rcvWscale[s] = c.cfg.tcpWindowScaling === 1 ? wscaleFor(t.rcvCap[s]) : 0;
    t.tsOffset[s] = c.tsOffsetFor(so.localAddr[s], so.localPort[s], so.remoteAddr[s], port);
    const iface = rt.iface;
    t.mss[s] = iface !== null ? iface.mtu - 60 : TCP6_MIN_MSS;
    setState(t, s, SYN_SENT);
    t.tflags[s] |= TF_CONNECTING;
    t.rttStart[s] = c.ctx.now;
    c.out.sendSyn(s);
    return -Errno.EINPROGRESS;
  }
}
