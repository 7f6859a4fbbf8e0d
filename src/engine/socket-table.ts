/**
 * The fixed socket table: one slot per descriptor, state in parallel typed
 * arrays, receive queues carved from the arena. The protocol engine writes
 * here on the packet path; the descriptor API reads and writes here.
 */
import type { Arena, MemoryPlan } from '../storage/arena.js';
import { DatagramRing } from '../storage/datagram-ring.js';
import { LITTLE_ENDIAN, copyBytes, wordsOf } from '../wire/bytes.js';
import { ip6Equal, isUnspecified6 } from '../wire/ipv6addr.js';

export const SOCK_FREE = 0;
/** The IANA ephemeral port range (RFC 6335). */
export const EPHEMERAL_LOW = 49152;
export const EPHEMERAL_HIGH = 65535;
export const SOCK_UDP = 1;
export const SOCK_TCP = 2;

/** Address families of sockets and records (`family`): the values are the IP versions. */
export const AF_INET = 4;
export const AF_INET6 = 6;

/** Event bits delivered to socket callbacks. */
export const EV_READABLE = 1;
export const EV_WRITABLE = 2;
export const EV_CLOSED = 4;
export const EV_ERROR = 8;

/** Per-socket option/state flags. */
export const F_BOUND = 1;
export const F_CONNECTED = 2;
export const F_BROADCAST = 4;
export const F_REUSEADDR = 8;
/** The user holds the descriptor (cleared by close while a TCP connection may linger). */
export const F_OPEN = 16;
/** UDP: set DF and refuse (EMSGSIZE) datagrams larger than the route's MTU instead of fragmenting. */
export const F_DONTFRAG = 32;
/** IPV6_V6ONLY (RFC 3493 5.3): an AF_INET6 socket bound to `::` does not receive IPv4. */
export const F_V6ONLY = 64;
/**
 * The descriptor is an AF_INET6 socket (RFC 3493 3.7): its IPv4 traffic (a
 * dual-stack listener's IPv4 children, a `::` UDP socket's IPv4 datagrams,
 * a connect to `::ffff:a.b.c.d`) runs with `family` AF_INET and is reported
 * to the user with IPv4-mapped addresses, as Linux and Node do.
 */
export const F_INET6 = 128;

/** Called with the descriptor and the event bits that became true. */
export type SocketCallback = (fd: number, events: number) => void;

/**
 * Receives a UDP datagram synchronously during input: `b[off .. off+len)` is
 * only valid during the call; `address` is the engine's signed int32 form.
 * From an IPv6 source, `address` is 0 and the source is the 16 bytes at
 * `src6[src6Off]` (valid only during the call); from IPv4, `src6` is null.
 */
export type DatagramHandler = (b: Uint8Array, off: number, len: number, address: number, port: number,
  src6: Uint8Array | null, src6Off: number) => void;

/** A 32-bit fold of the IPv6 address at `b[o]` (XOR of its words): the hash key of family-6 sockets. */
export function fold6(b: Uint8Array, o: number): number {
  return ((b[o] ^ b[o + 4] ^ b[o + 8] ^ b[o + 12]) << 24 | (b[o + 1] ^ b[o + 5] ^ b[o + 9] ^ b[o + 13]) << 16
    | (b[o + 2] ^ b[o + 6] ^ b[o + 10] ^ b[o + 14]) << 8 | (b[o + 3] ^ b[o + 7] ^ b[o + 11] ^ b[o + 15])) | 0;
}

/**
 * {@link fold6} of an address given as its four words in the platform's
 * byte order (as {@link SocketTable.localAddr6w} holds them, or a packet's
 * read with `getInt32(off, LITTLE_ENDIAN)`): the same value, from 4 loads
 * instead of 16.
 */
export function fold6w(w0: number, w1: number, w2: number, w3: number): number {
  const x = w0 ^ w1 ^ w2 ^ w3;
  return LITTLE_ENDIAN ? ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) : x;
}

/** True when the 16 bytes at `a[ao]` and `b[bo]` are equal. */
export function addr6Equal(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  return ip6Equal(a, ao, b, bo);
}

/** True when the 16 bytes at `a[o]` are all zero (`::`). */
export function addr6Unspecified(a: Uint8Array, o: number): boolean {
  return isUnspecified6(a, o);
}

export interface SocketTableOptions {
  maxSockets: number;
  /** Receive rings for UDP sockets: at most this many UDP sockets exist at once. */
  maxUdpSockets: number;
  /** Plan the IPv6 address arrays (false or 0: IPv4 only, nothing planned for IPv6). Default on. */
  ipv6?: boolean | number;
  udpRecvBufferBytes: number;
  udpRecvQueueDatagrams: number;
}

export class SocketTable {
  readonly type: Uint8Array;
  readonly flags: Uint8Array;
  /**
   * AF_INET or AF_INET6: the network the socket's packets use. An AF_INET6
   * descriptor talking IPv4 has AF_INET here and F_INET6 in `flags`.
   */
  readonly family: Uint8Array;
  /**
   * IPv6 local and remote addresses of family-6 sockets, 16 bytes per slot
   * (slot `s` at `16 * s`); empty when IPv6 is off. For those sockets
   * `localAddr`/`remoteAddr` hold {@link fold6} of the addresses (hash keys:
   * a hit is confirmed on all 16 bytes).
   */
  readonly localAddr6: Uint8Array;
  readonly remoteAddr6: Uint8Array;
  /**
   * The same bytes as `localAddr6`/`remoteAddr6` seen as words (slot `s` at
   * `4 * s`, see {@link wordsOf}): the connection lookup compares a packet's
   * addresses four words at a time.
   */
  readonly localAddr6w: Int32Array;
  readonly remoteAddr6w: Int32Array;
  /**
   * Bumped whenever a slot is claimed or a family-6 address of one is set
   * (setLocal6, setRemote6): a memo keyed on a slot's addresses (TCP's route
   * of its last connection, tcp/ip6.ts) holds while this does not move.
   */
  addr6Epoch = 0;
  readonly localAddr: Int32Array;
  readonly localPort: Uint16Array;
  readonly remoteAddr: Int32Array;
  readonly remotePort: Uint16Array;
  /** Pending asynchronous error (positive errno), reported once. */
  readonly soError: Uint8Array;
  /** Event bits raised since the last dispatch. */
  readonly pending: Uint8Array;
  /** Next socket bound to the same UDP port (-1 ends the chain). */
  readonly portNext: Int16Array;
  /**
   * First UDP socket of each port bucket (-1: none). A bucket is
   * `portBucket(port)`; its chain (through `portNext`) may hold other ports,
   * so walkers compare `localPort`.
   */
  readonly udpPortHead: Int16Array;
  /** First TCP socket of each port bucket (listeners and active opens; accepted children are not). */
  readonly tcpPortHead: Int16Array;
  /** Buckets per protocol minus one (a power of two minus one). */
  readonly portMask: number;
  /** UDP receive ring of each socket slot (shared pool, assigned at allocation). */
  readonly rx: Array<DatagramRing | null>;
  private readonly ringPool: DatagramRing[] = [];
  readonly callbacks: Array<SocketCallback | null>;
  /** UDP sockets whose datagrams go straight to a handler instead of the ring (a tunnel's outer socket). */
  readonly datagramHandlers: Array<DatagramHandler | null>;
  private readonly dirty: Int16Array;
  /** 1 while the slot is in `dirty` (pending bits alone cannot tell: a reused slot's are reset). */
  private readonly inDirty: Uint8Array;
  private dirtyCount = 0;
  used = 0;
  /**
   * One past the highest slot in use (slots are taken lowest first): scans over the live sockets
   * (the TCP timer scan) stop here instead of at the capacity.
   */
  top = 0;

  static plan(plan: MemoryPlan, o: SocketTableOptions): void {
    const n = o.maxSockets;
    plan.add('sockets', n).add('sockets', n).add('sockets', n, 4).add('sockets', n, 2).add('sockets', n, 4)
      .add('sockets', n, 2).add('sockets', n).add('sockets', n).add('sockets', n, 2)
      .add('sockets', n, 2).add('sockets', n).add('sockets', n);
    if (o.ipv6 !== false && o.ipv6 !== 0) plan.add('sockets', 16 * n).add('sockets', 16 * n);
    plan.add('udpPortIndex', SocketTable.portBuckets(n), 2);
    plan.add('tcpPortIndex', SocketTable.portBuckets(n), 2);
    const v6 = o.ipv6 !== false && o.ipv6 !== 0 ? o.udpRecvQueueDatagrams : 0;
    for (let i = 0; i < o.maxUdpSockets; i++) DatagramRing.plan(plan, 'udpRecvBuffers', o.udpRecvBufferBytes, v6);
  }

  /**
   * Port buckets per protocol: the next power of two at or above the socket
   * count (at least 16), so chains average at most one socket. Only local
   * binds enter a chain — peers can't lengthen one — so a small hashed index
   * costs nothing a direct 65,536-entry map (256 KiB for both protocols)
   * would save, and lets small configurations stay small.
   */
  static portBuckets(maxSockets: number): number {
    let b = 16;
    while (b < maxSockets && b < 65536) b *= 2;
    return b;
  }

  constructor(arena: Arena, readonly options: SocketTableOptions) {
    const n = options.maxSockets;
    this.type = arena.u8('sockets', n);
    this.flags = arena.u8('sockets', n);
    this.family = arena.u8('sockets', n);
    const v6 = options.ipv6 !== false && options.ipv6 !== 0;
    this.localAddr6 = v6 ? arena.u8('sockets', 16 * n) : new Uint8Array(0);
    this.remoteAddr6 = v6 ? arena.u8('sockets', 16 * n) : new Uint8Array(0);
    this.localAddr6w = wordsOf(this.localAddr6);
    this.remoteAddr6w = wordsOf(this.remoteAddr6);
    this.localAddr = arena.i32('sockets', n);
    this.localPort = arena.u16('sockets', n);
    this.remoteAddr = arena.i32('sockets', n);
    this.remotePort = arena.u16('sockets', n);
    this.soError = arena.u8('sockets', n);
    this.pending = arena.u8('sockets', n);
    this.portNext = arena.i16('sockets', n);
    this.dirty = arena.i16('sockets', n);
    this.inDirty = arena.u8('sockets', n);
    const buckets = SocketTable.portBuckets(n);
    this.portMask = buckets - 1;
    this.udpPortHead = arena.i16('udpPortIndex', buckets);
    this.tcpPortHead = arena.i16('tcpPortIndex', buckets);
    this.udpPortHead.fill(-1);
    this.tcpPortHead.fill(-1);
    this.portNext.fill(-1);
    for (let i = 0; i < options.maxUdpSockets; i++) {
      this.ringPool.push(new DatagramRing(arena, 'udpRecvBuffers', options.udpRecvBufferBytes, options.udpRecvQueueDatagrams, v6));
    }
    this.rx = new Array<DatagramRing | null>(n).fill(null);
    this.callbacks = new Array<SocketCallback | null>(n).fill(null);
    this.datagramHandlers = new Array<DatagramHandler | null>(n).fill(null);
  }

  get capacity(): number {
    return this.options.maxSockets;
  }

  /**
   * Claim a free slot of `family`; returns its index, -1 when the table is
   * full, -2 when a UDP socket is asked for and every receive ring is taken,
   * -3 for AF_INET6 when the stack plans no IPv6.
   */
  allocate(type: number, family = AF_INET): number {
    if (type === SOCK_UDP && this.ringPool.length === 0) return -2;
    if (family === AF_INET6 && this.localAddr6.length === 0) return -3;
    for (let i = 0; i < this.capacity; i++) {
      if (this.type[i] !== SOCK_FREE) continue;
      this.type[i] = type;
      this.addr6Epoch++;
      this.flags[i] = family === AF_INET6 ? F_INET6 : 0;
      this.family[i] = family;
      if (family === AF_INET6) {
        this.localAddr6.fill(0, 16 * i, 16 * i + 16);
        this.remoteAddr6.fill(0, 16 * i, 16 * i + 16);
      }
      this.localAddr[i] = 0;
      this.localPort[i] = 0;
      this.remoteAddr[i] = 0;
      this.remotePort[i] = 0;
      this.soError[i] = 0;
      this.pending[i] = 0;
      this.portNext[i] = -1;
      if (type === SOCK_UDP) {
        const ring = this.ringPool.pop() as DatagramRing;
        ring.clear();
        this.rx[i] = ring;
      }
      this.callbacks[i] = null;
      this.datagramHandlers[i] = null;
      this.used++;
      if (i >= this.top) this.top = i + 1;
      return i;
    }
    return -1;
  }

  release(i: number): void {
    this.type[i] = SOCK_FREE;
    this.callbacks[i] = null;
    this.datagramHandlers[i] = null;
    const ring = this.rx[i];
    if (ring !== null) {
      ring.clear();
      this.ringPool.push(ring);
      this.rx[i] = null;
    }
    this.used--;
    if (i === this.top - 1) {
      let k = i;
      while (k > 0 && this.type[k - 1] === SOCK_FREE) k--;
      this.top = k;
    }
  }

  /** The UDP receive ring of a UDP socket slot. */
  ring(i: number): DatagramRing {
    return this.rx[i] as DatagramRing;
  }

  /** UDP sockets that can still be created. */
  get freeRings(): number {
    return this.ringPool.length;
  }

  /** The bucket of `port` in udpPortHead/tcpPortHead. */
  portBucket(port: number): number {
    return port & this.portMask;
  }

  /** Link a bound socket into its port bucket's chain of `head` (udpPortHead or tcpPortHead). */
  linkPort(head: Int16Array, i: number): void {
    const b = this.localPort[i] & this.portMask;
    this.portNext[i] = head[b];
    head[b] = i;
  }

  inPortChain(head: Int16Array, i: number): boolean {
    for (let s = head[this.localPort[i] & this.portMask]; s >= 0; s = this.portNext[s]) if (s === i) return true;
    return false;
  }

  /** True when family-6 slot `s`'s local address equals the 16 bytes at `a[o]`. */
  local6Is(s: number, a: Uint8Array, o: number): boolean {
    return addr6Equal(this.localAddr6, 16 * s, a, o);
  }

  /** True when family-6 slot `s`'s remote address equals the 16 bytes at `a[o]`. */
  remote6Is(s: number, a: Uint8Array, o: number): boolean {
    return addr6Equal(this.remoteAddr6, 16 * s, a, o);
  }

  /** Set slot `s`'s IPv6 local address (and its fold in `localAddr`). */
  setLocal6(s: number, a: Uint8Array, o: number): void {
    copyBytes(a, o, this.localAddr6, 16 * s, 16);
    this.localAddr[s] = fold6(a, o);
    this.addr6Epoch++;
  }

  /** Set slot `s`'s IPv6 remote address (and its fold in `remoteAddr`). */
  setRemote6(s: number, a: Uint8Array, o: number): void {
    copyBytes(a, o, this.remoteAddr6, 16 * s, 16);
    this.remoteAddr[s] = fold6(a, o);
    this.addr6Epoch++;
  }

  /**
   * May an IPv4 packet reach slot `s` (family 4, or an AF_INET6 socket
   * bound to `::` without IPV6_V6ONLY: RFC 3493 3.7)?
   */
  acceptsV4(s: number): boolean {
    return this.family[s] === AF_INET
      || ((this.flags[s] & F_V6ONLY) === 0 && addr6Unspecified(this.localAddr6, 16 * s));
  }

  /** True when some socket in `head`'s chains is bound to `port`. */
  portBound(head: Int16Array, port: number): boolean {
    for (let s = head[port & this.portMask]; s >= 0; s = this.portNext[s]) if (this.localPort[s] === port) return true;
    return false;
  }

  unlinkPort(head: Int16Array, i: number): void {
    const b = this.localPort[i] & this.portMask;
    let prev = -1;
    for (let s = head[b]; s >= 0; s = this.portNext[s]) {
      if (s === i) {
        if (prev < 0) head[b] = this.portNext[s];
        else this.portNext[prev] = this.portNext[s];
        this.portNext[i] = -1;
        return;
      }
      prev = s;
    }
  }

  /**
   * A free ephemeral port (IANA range 49152–65535) of `head`, searched from a
   * random start so ports are not predictable; 0 when all are taken.
   */
  ephemeralPort(head: Int16Array, random: number): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = random % span;
    for (let k = 0; k < span; k++) {
      const p = EPHEMERAL_LOW + ((start + k) % span);
      if (!this.portBound(head, p)) return p;
    }
    return 0;
  }

  /** Record events for dispatch after the current packet burst. */
  raise(i: number, events: number): void {
    if (this.inDirty[i] === 0) {
      this.inDirty[i] = 1;
      this.dirty[this.dirtyCount++] = i;
    }
    this.pending[i] |= events;
  }

  /** Call the callbacks of every socket with raised events; user code may re-enter the API. */
  dispatch(): void {
    // Callbacks may raise new events; those are dispatched in the same pass,
    // bounded by the table size per round so a callback loop cannot spin forever.
    for (let round = 0; round < 4 && this.dirtyCount > 0; round++) {
      const n = this.dirtyCount;
      for (let k = 0; k < n; k++) {
        const i = this.dirty[k];
        const ev = this.pending[i];
        this.pending[i] = 0;
        this.inDirty[i] = 0;
        const cb = this.callbacks[i];
        if (ev !== 0 && cb !== null) cb(i, ev);
      }
      // Entries raised during the callbacks were appended after n: move them to the front.
      const extra = this.dirtyCount - n;
      for (let k = 0; k < extra; k++) this.dirty[k] = this.dirty[n + k];
      this.dirtyCount = extra;
    }
  }

  get hasPendingEvents(): boolean {
    return this.dirtyCount > 0;
  }
}

