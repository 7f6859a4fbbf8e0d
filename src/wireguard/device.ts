/**
 * A WireGuard device: a point-to-point 'ip' link of the stack. The stack
 * routes IP packets to it; it picks the peer by allowed IPs, encrypts and
 * sends them through its outer transport; what the transport receives is
 * queued and handled at the stack's poll (handshakes, cookies, data), and
 * decrypted packets from allowed sources go up into the stack.
 *
 * Everything per peer is carved from the device's own memory plan (peers,
 * keypairs, replay windows, staged packets, the allowed-IPs trie, the
 * receive queue); the crypto calls may allocate (documented boundary).
 */
import { Errno } from '../engine/errno.js';
import type { FrameReceiver, Link } from '../link/link.js';
import { Arena, MemoryPlan, type MemoryReport } from '../storage/arena.js';
import { DatagramRing } from '../storage/datagram-ring.js';
import { formatIpv4, parseIpv4 } from '../wire/ipv4addr.js';
import { copyBytes } from '../wire/bytes.js';
import { bytesEqual, isAllZero } from './key-text.js';
import { AllowedIps } from './allowed-ips.js';
import { AllowedIps6 } from './allowed-ips6.js';
import { formatIp6, parseIp6 } from './ip6-text.js';
import { setPeerEndpoint, sourceKey } from './endpoint.js';
import { CookieChecker } from './cookie.js';
import type { WgSuite } from './crypto/suite.js';
import { DATA_HEADER_LEN, MAX_TIMER_HANDSHAKES, TAG_LEN, KEEPALIVE_TIMEOUT } from './constants.js';
import { IndexTable } from './index-table.js';
import { MessageLayout } from './messages.js';
import { StaticIdentity } from './noise.js';
import { KEYPAIRS_PER_PEER, Peer } from './peer.js';
import { receiveDatagram } from './receive.js';
import { ReplayWindows } from './replay.js';
import { canSend, dropKeypair, flushStaged, sendData, sendInitiation, sendKeepalive } from './send.js';
import { nextPeerDeadline, timerSessionDerived } from './timers.js';
import type { WgTransport } from './transport.js';
import { createWgStats, type WgStats } from './stats.js';
import { CryptBatch, flushTx, receiveBatch, type BatchCrypter } from './batch.js';
import { Ratelimiter } from './ratelimiter.js';
import type { WireGuardDeviceOptions, WireGuardPeerOptions, WireGuardEvent } from './device-options.js';

export type { WireGuardDeviceOptions, WireGuardPeerOptions, WireGuardEvent } from './device-options.js';

export class WireGuardDevice implements Link {
  readonly layer = 'ip' as const;
  readonly name: string;
  readonly mtu: number;
  readonly suite: WgSuite;
  readonly layout: MessageLayout;
  readonly memory: MemoryReport;
  readonly stats: WgStats = createWgStats();

  identity: StaticIdentity | null = null;
  checker: CookieChecker | null = null;
  transport: WgTransport | null = null;
  readonly peers: Peer[] = [];
  readonly allowedIps: AllowedIps;
  readonly allowedIps6: AllowedIps6;
  readonly replay: ReplayWindows;
  readonly index: IndexTable;
  /** Scratch for the datagram being handled, and for the one being built. */
  readonly rxBuf: Uint8Array;
  readonly txBuf: Uint8Array;
  readonly msgBuf: Uint8Array;
  readonly wallClock: () => number;
  readonly random32: () => number;
  /** Handshake messages given to Diffie-Hellman in the current second. */
  handshakeWork = 0;
  /** Listener for handshake events (set by the Node side). */
  onEvent: ((e: WireGuardEvent) => void) | null = null;
  /** Called when allowed IPs change, so the stack can keep routes to the device. */
  onAllowedIpsChanged: ((address: number, prefixLength: number, added: boolean) => void) | null = null;
  /** The same for IPv6 prefixes (address as RFC 5952 text). */
  onAllowedIps6Changed: ((address: string, prefixLength: number, added: boolean) => void) | null = null;
  /** Whether the datagram being handled came from an IPv6 source, which is then in {@link rxAddr6}. */
  rx6 = false;
  /** Source address of the datagram being handled, when {@link rx6}. */
  readonly rxAddr6 = new Uint8Array(16);
  fwmark = 0;
  /** Send and receive batches when batching (null otherwise). */
  readonly txBatch: CryptBatch | null = null;
  readonly rxBatch: CryptBatch | null = null;
  /** The batch crypter, or null for the suite's own calls. */
  readonly crypter: BatchCrypter | null;
  /** The arena's bytes: keypair keys are found in it by byteOffset (the crypter's key table). */
  readonly keyBytes: Uint8Array;
  /**
   * Called when a packet enters an empty send batch: something must call
   * {@link flushTx} before long. Default: the wake-up (the next poll
   * flushes); a real-time owner flushes at the end of the current task.
   */
  txFlushHook: () => void = () => {
    if (this.wakeup !== null) this.wakeup();
  };

  private readonly rxQueue: DatagramRing;
  private readonly maxDatagram: number;
  /** A datagram from an IPv6 source with its address appended, as queued (rxQueue records hold 4-byte addresses). */
  private readonly rx6Scratch: Uint8Array;
  /** Scratch for the control plane's IPv6 text → bytes. */
  private readonly addr6 = new Uint8Array(16);
  private readonly handshakeBudget: number;
  private workWindowStart = 0;
  private underLoadUntil = -Infinity;
  private readonly limiter: Ratelimiter;
  private wakeup: (() => void) | null = null;
  private now = 0;

  static plan(o: WireGuardDeviceOptions): MemoryPlan {
    const c = WireGuardDevice.sizes(o);
    const plan = new MemoryPlan();
    plan.add('wg.buffers', c.maxDatagram + 16).add('wg.buffers', c.maxDatagram).add('wg.buffers', c.maxDatagram + 16);
    DatagramRing.plan(plan, 'wg.rxQueue', c.rxBytes);
    AllowedIps.plan(plan, c.maxAllowedIps);
    AllowedIps6.plan(plan, c.maxAllowedIps6);
    ReplayWindows.plan(plan, c.maxPeers * KEYPAIRS_PER_PEER);
    IndexTable.plan(plan, c.maxPeers * (KEYPAIRS_PER_PEER + 1));
    for (let i = 0; i < c.maxPeers; i++) Peer.plan(plan, c.staged, c.mtu);
    if (o.batch === true) {
      CryptBatch.plan(plan, 'wg.txBatch', c.maxDatagram);
      // A record from an IPv6 source carries its address behind the datagram (16 bytes).
      CryptBatch.plan(plan, 'wg.rxBatch', c.maxDatagram + 16);
    }
    Ratelimiter.plan(plan);
    return plan;
  }

  private static sizes(o: WireGuardDeviceOptions) {
    const mtu = o.mtu ?? 1420;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535 - 80) throw new RangeError(`WireGuard MTU must be 68..65455, got ${mtu}`);
    const maxPeers = o.maxPeers ?? 16;
    if (!Number.isInteger(maxPeers) || maxPeers < 1 || maxPeers > 8191) throw new RangeError('maxPeers must be 1..8191');
    const maxAllowedIps = o.maxAllowedIps ?? 256;
    if (!Number.isInteger(maxAllowedIps) || maxAllowedIps < 1) throw new RangeError('maxAllowedIps must be >= 1');
    const maxAllowedIps6 = o.maxAllowedIps6 ?? maxAllowedIps;
    if (!Number.isInteger(maxAllowedIps6) || maxAllowedIps6 < 0) throw new RangeError('maxAllowedIps6 must be >= 0');
    const staged = o.stagedPackets ?? 128;
    if (!Number.isInteger(staged) || staged < 1) throw new RangeError('stagedPackets must be >= 1');
    const rxBytes = o.receiveQueueBytes ?? 2 * 1024 * 1024;
    // The largest datagram: header, MTU-sized payload padded to 16, tag.
    const maxDatagram = DATA_HEADER_LEN + mtu + 16 + TAG_LEN;
    return { mtu, maxPeers, maxAllowedIps, maxAllowedIps6, staged, rxBytes, maxDatagram };
  }

  constructor(options: WireGuardDeviceOptions) {
    const c = WireGuardDevice.sizes(options);
    const plan = WireGuardDevice.plan(options);
    const arena = new Arena(plan);
    this.suite = options.suite;
    this.layout = new MessageLayout(options.suite);
    this.name = options.name ?? 'wg0';
    this.mtu = c.mtu;
    this.maxDatagram = Math.max(c.maxDatagram, this.layout.initLen);
    // 16 bytes more: an IPv6 source address travels behind its datagram through the queue.
    this.rxBuf = arena.u8('wg.buffers', c.maxDatagram + 16);
    this.txBuf = arena.u8('wg.buffers', c.maxDatagram);
    this.rx6Scratch = arena.u8('wg.buffers', c.maxDatagram + 16);
    this.rxQueue = new DatagramRing(arena, 'wg.rxQueue', c.rxBytes, Math.max(16, Math.floor(c.rxBytes / 40)));
    this.allowedIps = new AllowedIps(arena, c.maxAllowedIps);
    this.allowedIps6 = new AllowedIps6(arena, c.maxAllowedIps6);
    this.replay = new ReplayWindows(arena, c.maxPeers * KEYPAIRS_PER_PEER);
    this.index = new IndexTable(arena, c.maxPeers * (KEYPAIRS_PER_PEER + 1));
    for (let i = 0; i < c.maxPeers; i++) this.peers.push(new Peer(arena, i, c.staged, c.mtu));
    this.limiter = new Ratelimiter(arena);
    if (options.batch === true) {
      this.txBatch = new CryptBatch(arena, 'wg.txBatch', c.maxDatagram);
      this.rxBatch = new CryptBatch(arena, 'wg.rxBatch', c.maxDatagram + 16);
    }
    arena.finish();
    this.keyBytes = new Uint8Array(arena.buffer);
    // The native crypter does ChaCha20-Poly1305: the fips suite keeps its own (one-core) AES-GCM path.
    this.crypter = options.batch === true && options.suite.name === 'standard' ? options.crypter ?? null : null;
    this.memory = plan.report();
    this.msgBuf = new Uint8Array(Math.max(this.layout.initLen, this.layout.respLen, this.layout.cookieLen));
    this.handshakeBudget = options.handshakeBudget ?? 2000;
    this.wallClock = options.wallClock ?? Date.now;
    const suite = options.suite;
    this.random32 = options.random32 ?? (() => {
      const r = suite.randomBytes(4);
      return (r[0] | (r[1] << 8) | (r[2] << 16) | (r[3] << 24)) >>> 0;
    });
    if (options.privateKey !== null) this.setPrivateKey(options.privateKey);
  }

  /** The outer UDP port (0 without a transport). */
  get listenPort(): number {
    return this.transport === null ? 0 : this.transport.port;
  }

  /** Attach the outer transport (the device starts receiving from it). */
  attachTransport(t: WgTransport | null): void {
    if (this.transport !== null) this.transport.setReceiver(null);
    this.transport = t;
    if (t !== null) {
      t.setReceiver((b, off, len, addr, port, addr6) => this.enqueue(b, off, len, addr, port, addr6 ?? null));
    }
  }

  /**
   * Transport receive: queue for the next poll (copied; the transport's buffer
   * is not ours). A record's address 0 marks an IPv6 source, whose 16 bytes
   * follow the datagram in the record; an IPv4 source in 0.0.0.0/8 is never a
   * reachable endpoint (RFC 1122 §3.2.1.3), so nothing is lost by that mark.
   */
  private enqueue(b: Uint8Array, off: number, len: number, addr: number, port: number, addr6: Uint8Array | null): void {
    if (len > this.maxDatagram) {
      this.stats.rxQueueDrops++;
      return;
    }
    let ok: boolean;
    if (addr6 !== null) {
      const s = this.rx6Scratch;
      copyBytes(b, off, s, 0, len);
      copyBytes(addr6, 0, s, len, 16);
      ok = this.rxQueue.push(s, 0, len + 16, 0, port);
    } else {
      if ((addr >>> 24) === 0 || port === 0) {
        this.stats.rxBadEndpoint++;
        return;
      }
      ok = this.rxQueue.push(b, off, len, addr, port);
    }
    if (!ok) {
      this.stats.rxQueueDrops++;
      return;
    }
    if (this.wakeup !== null) this.wakeup();
  }

  // ---- identity and peers (control plane; may allocate) ----

  /** Set (or with null remove) the static private key; sessions are dropped as the key changed. */
  setPrivateKey(key: Uint8Array | null): void {
    if (key !== null && isAllZero(key)) key = null;
    if (key === null) {
      this.identity = null;
      this.checker = null;
    } else {
      if (key.length !== 32) throw new RangeError('private key must be 32 bytes');
      this.identity = new StaticIdentity(this.suite, key.slice());
      this.checker = new CookieChecker(this.suite, this.identity.publicKey);
      // A peer with our own public key would let us talk to ourselves; Linux removes it.
      const self = this.findPeer(this.identity.publicKey);
      if (self !== null) this.removePeer(self.remotePublicKey);
    }
    for (const p of this.peers) {
      if (!p.inUse) continue;
      p.updateStaticShared(this.suite, this.identity === null ? null : this.identity.privateKey);
      this.dropSessions(p);
    }
  }

  /** Our public key, or null without a private key. */
  get publicKey(): Uint8Array | null {
    return this.identity === null ? null : this.identity.publicKey;
  }

  findPeer(publicKey: Uint8Array): Peer | null {
    for (const p of this.peers) if (p.inUse && bytesEqual(p.remotePublicKey, publicKey)) return p;
    return null;
  }

  /** NoisePeer lookup for an initiation's decrypted static key. */
  peerByKey(publicKey: Uint8Array): Peer | null {
    return this.findPeer(publicKey);
  }

  /** Add a peer or update an existing one; throws RangeError when the peer table or allowed-IPs table is full. */
  addPeer(o: WireGuardPeerOptions): Peer {
    if (o.publicKey.length !== this.suite.publicKeyLen) {
      throw new RangeError(`peer public key must be ${this.suite.publicKeyLen} bytes for the ${this.suite.name} suite`);
    }
    let p = this.findPeer(o.publicKey);
    if (p === null) {
      if (this.identity !== null && bytesEqual(this.identity.publicKey, o.publicKey)) {
        throw new RangeError('a peer cannot have the device\'s own public key');
      }
      const free = this.peers.find((x) => !x.inUse);
      if (free === undefined) throw Object.assign(new RangeError(`peer table full (maxPeers ${this.peers.length})`), { code: 'ENOSPC', errno: 28 });
      p = free;
      p.assign(this.suite, this.identity === null ? null : this.identity.privateKey, o.publicKey);
    }
    if (o.presharedKey !== undefined) this.setPresharedKey(p, o.presharedKey);
    if (o.endpoint !== undefined && o.endpoint !== null) this.setEndpoint(p, o.endpoint.address, o.endpoint.port);
    if (o.endpointHost !== undefined) p.endpointHost = o.endpointHost;
    if (o.persistentKeepalive !== undefined) this.setPersistentKeepalive(p, o.persistentKeepalive);
    for (const a of o.allowedIps ?? []) this.addAllowedIp(p, a.address, a.prefixLength);
    return p;
  }

  setPresharedKey(p: Peer, key: Uint8Array | null): void {
    if (key !== null && key.length !== 32) throw new RangeError('preshared key must be 32 bytes');
    p.presharedKey.fill(0);
    if (key !== null) p.presharedKey.set(key);
    p.hasPresharedKey = key !== null && !isAllZero(key);
  }

  /** Set a peer's endpoint: an IPv4 or IPv6 address (an IPv4-mapped IPv6 address counts as IPv4). */
  setEndpoint(p: Peer, address: string, port: number): void {
    setPeerEndpoint(p, address, port, this.addr6);
  }

  setPersistentKeepalive(p: Peer, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) throw new RangeError('persistent keepalive must be 0..65535 s');
    const was = p.persistentKeepalive;
    p.persistentKeepalive = seconds;
    p.persistentKeepaliveAt = Infinity;
    // Turning it on sends one at once, as Linux does, so a NATed peer becomes reachable.
    if (seconds > 0 && was === 0) {
      p.keepaliveWanted = true;
      if (this.wakeup !== null) this.wakeup();
    }
  }

  addAllowedIp(p: Peer, address: string, prefixLength: number): void {
    if (address.includes(':')) {
      const b = this.addr6;
      if (!parseIp6(address, b, 0)) throw new RangeError(`allowed IP '${address}' is not IPv6`);
      if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 128) throw new RangeError(`bad prefix length ${prefixLength}`);
      if (!this.allowedIps6.insert(b, 0, prefixLength, p.slot)) {
        throw Object.assign(new RangeError(`IPv6 allowed-IPs table full (maxAllowedIps6 ${this.allowedIps6.capacity})`), { code: 'ENOSPC', errno: 28 });
      }
      if (this.onAllowedIps6Changed !== null) {
        for (let i = 0; i < 16; i++) {
          const bits = prefixLength - 8 * i;
          if (bits < 8) b[i] = bits <= 0 ? 0 : b[i] & (0xff << (8 - bits));
        }
        this.onAllowedIps6Changed(formatIp6(b, 0), prefixLength, true);
      }
      return;
    }
    const a = parseIpv4(address);
    if (a < 0) throw new RangeError(`allowed IP '${address}' is neither IPv4 nor IPv6`);
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) throw new RangeError(`bad prefix length ${prefixLength}`);
    if (!this.allowedIps.insert(a, prefixLength, p.slot)) {
      throw Object.assign(new RangeError(`allowed-IPs table full (maxAllowedIps ${this.allowedIps.capacity})`), { code: 'ENOSPC', errno: 28 });
    }
    if (this.onAllowedIpsChanged !== null) this.onAllowedIpsChanged(a, prefixLength, true);
  }

  clearAllowedIps(p: Peer): void {
    const list = this.allowedIps.list(p.slot);
    this.allowedIps.removePeer(p.slot);
    if (this.onAllowedIpsChanged !== null) for (const e of list) this.onAllowedIpsChanged(e.address, e.prefixLength, false);
    const list6 = this.allowedIps6.list(p.slot);
    this.allowedIps6.removePeer(p.slot);
    if (this.onAllowedIps6Changed !== null) for (const e of list6) this.onAllowedIps6Changed(formatIp6(e.address, 0), e.prefixLength, false);
  }

  removePeer(publicKey: Uint8Array): boolean {
    const p = this.findPeer(publicKey);
    if (p === null) return false;
    this.clearAllowedIps(p);
    this.dropSessions(p);
    if (p.handshake.localIndex !== 0) this.index.remove(p.handshake.localIndex);
    p.release();
    return true;
  }

  /** Forget every session and handshake of a peer (keys zeroed). */
  dropSessions(p: Peer): void {
    dropKeypair(this, p.current);
    dropKeypair(this, p.previous);
    dropKeypair(this, p.next);
    p.current = p.previous = p.next = null;
    p.handshake.clear();
  }

  /** Whether the device is over its handshake budget (then it answers with cookies). */
  underLoad(now: number): boolean {
    if (now - this.workWindowStart >= 1000) {
      this.workWindowStart = now;
      this.handshakeWork = 0;
    }
    if (this.handshakeWork >= this.handshakeBudget || this.rxQueue.count > QUEUE_LOAD_THRESHOLD) this.underLoadUntil = now + 1000;
    return now < this.underLoadUntil;
  }

  /** Per-source rate limits (ratelimiter.ts) for cookie replies and for handshakes under load. */
  allowCookieReply(addr: number, now: number): boolean {
    return this.limiter.take(sourceKey(this, addr), now, 1);
  }

  allowHandshake(addr: number, now: number): boolean {
    return this.limiter.take(sourceKey(this, addr), now, 1);
  }

  emitHandshake(p: Peer, initiator: boolean): void {
    this.stats.handshakesCompleted++;
    if (this.onEvent !== null) this.onEvent({ type: 'handshake', peer: p.remotePublicKey, initiator });
  }

  // ---- Link ----

  /**
   * The stack sends an IP packet (IPv4 or IPv6, told apart by the version
   * nibble): find the peer by destination, encrypt and
   * send, or stage and handshake. Returns 0 when sent or staged (a packet
   * waiting for its handshake is not an error, as one waiting for ARP; a
   * full stage drops the oldest, counted in stagedDrops), -EHOSTUNREACH when
   * no peer's allowed IPs cover the destination, -EDESTADDRREQ when the peer
   * has no endpoint (the errors Linux's wg_xmit gives the sender).
   */
  transmit(b: Uint8Array, off: number, len: number, now: number): number {
    if (now > this.now) this.now = now;
    const version = len > 0 ? b[off] >>> 4 : 0;
    let slot: number;
    if (version === 4 && len >= 20) {
      slot = this.allowedIps.lookup((b[off + 16] << 24) | (b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]);
    } else if (version === 6 && len >= 40) {
      // The IPv6 destination is at bytes 24..40 of the fixed header (RFC 8200 §3).
      slot = this.allowedIps6.lookup(b, off + 24);
    } else {
      slot = -1;
    }
    if (slot < 0) {
      this.stats.txNoPeer++;
      this.stats.drops++;
      return -Errno.EHOSTUNREACH;
    }
    const p = this.peers[slot];
    if (p.endpointPort === 0) {
      this.stats.txNoEndpoint++;
      this.stats.drops++;
      return -Errno.EDESTADDRREQ;
    }
    this.stats.txFrames++;
    this.stats.txBytes += len;
    const kp = p.current;
    if (p.stagedCount === 0 && canSend(kp, this.now)) {
      sendData(this, p, kp, b, off, len, this.now);
    } else {
      if (!p.stage(b, off, len)) this.stats.stagedDrops++;
      if (canSend(kp, this.now)) flushStaged(this, p, this.now);
      else p.initiationWanted = true;
    }
    if (p.initiationWanted && this.wakeup !== null) this.wakeup();
    return 0;
  }

  /** The latest time the device was given (ms). */
  get lastNow(): number {
    return this.now;
  }

  /** Seal and send what the send batch holds (batching devices; see {@link WireGuardDeviceOptions.batch}). */
  flushTx(): void {
    flushTx(this, this.now);
  }

  poll(now: number, rx: FrameReceiver): number {
    if (now > this.now) this.now = now;
    now = this.now;
    if (this.txBatch !== null) {
      flushTx(this, now);
      receiveBatch(this, this.rxQueue, RX_BATCH, now, rx);
    }
    // A bounded batch per poll so timers and the stack keep running under a flood.
    for (let n = this.txBatch === null ? 0 : RX_BATCH; n < RX_BATCH && this.rxQueue.count > 0; n++) {
      let len = this.rxQueue.pop(this.rxBuf, 0, this.rxBuf.length);
      this.rx6 = this.rxQueue.lastAddress === 0;
      if (this.rx6) {
        // The IPv6 source rides behind the datagram (see enqueue).
        len -= 16;
        copyBytes(this.rxBuf, len, this.rxAddr6, 0, 16);
      }
      this.stats.rxFrames++;
      this.stats.rxBytes += len;
      receiveDatagram(this, len, this.rxQueue.lastAddress, this.rxQueue.lastPort, now, rx);
    }
    let next = Infinity;
    for (const p of this.peers) {
      if (!p.inUse) continue;
      this.runTimers(p, now);
      if (p.keepaliveWanted) {
        p.keepaliveWanted = false;
        sendKeepalive(this, p, now);
      }
      if (p.initiationWanted) {
        p.initiationWanted = false;
        const retry = p.initiationIsRetry;
        p.initiationIsRetry = false;
        sendInitiation(this, p, now, retry);
      }
      const t = nextPeerDeadline(p);
      if (t < next) next = t;
    }
    if (this.rxQueue.count > 0 || (this.txBatch !== null && this.txBatch.count > 0)) next = now;
    return next;
  }

  /** Fire a peer's due timers (Linux's timers.c expiry functions). */
  private runTimers(p: Peer, now: number): void {
    if (p.retransmitHandshakeAt <= now) {
      p.retransmitHandshakeAt = Infinity;
      if (p.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
        // Give up after REKEY_ATTEMPT_TIME: drop what waited and let the keys die.
        p.clearStaged();
        this.stats.handshakesFailed++;
        if (p.zeroKeysAt === Infinity) timerSessionDerived(p, now);
        if (this.onEvent !== null) this.onEvent({ type: 'handshake-failed', peer: p.remotePublicKey });
      } else {
        p.handshakeAttempts++;
        sendInitiation(this, p, now, true);
      }
    }
    if (p.sendKeepaliveAt <= now) {
      p.sendKeepaliveAt = Infinity;
      sendKeepalive(this, p, now);
      if (p.needAnotherKeepalive) {
        p.needAnotherKeepalive = false;
        p.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
      }
    }
    if (p.newHandshakeAt <= now) {
      // We sent data and heard nothing back: the peer may have moved (re-resolve) or lost our keys.
      p.newHandshakeAt = Infinity;
      if (this.onEvent !== null) this.onEvent({ type: 'peer-quiet', peer: p.remotePublicKey });
      sendInitiation(this, p, now, false);
    }
    if (p.zeroKeysAt <= now) {
      p.zeroKeysAt = Infinity;
      this.dropSessions(p);
      this.stats.keysZeroed++;
      if (this.onEvent !== null) this.onEvent({ type: 'keys-zeroed', peer: p.remotePublicKey });
    }
    if (p.persistentKeepaliveAt <= now) {
      p.persistentKeepaliveAt = Infinity;
      sendKeepalive(this, p, now);
    }
  }

  setWakeup(wakeup: (() => void) | null): void {
    this.wakeup = wakeup;
  }

  close(): void {
    flushTx(this, this.now);
    if (this.crypter !== null) this.crypter.close();
    if (this.transport !== null) {
      this.transport.setReceiver(null);
      this.transport.close();
      this.transport = null;
    }
    for (const p of this.peers) if (p.inUse) this.dropSessions(p);
  }

  /** A snapshot of a peer for display and UAPI. */
  describePeer(p: Peer): {
    publicKey: Uint8Array; presharedKey: Uint8Array | null; endpoint: { address: string; port: number } | null;
    persistentKeepalive: number; lastHandshakeMs: number; rxBytes: number; txBytes: number;
    allowedIps: Array<{ address: string; prefixLength: number }>;
  } {
    return {
      publicKey: p.remotePublicKey.slice(),
      presharedKey: p.hasPresharedKey ? p.presharedKey.slice() : null,
      endpoint: p.endpointPort === 0 ? null
        : { address: p.endpointFamily === 6 ? formatIp6(p.endpoint6, 0) : formatIpv4(p.endpointAddress), port: p.endpointPort },
      persistentKeepalive: p.persistentKeepalive,
      lastHandshakeMs: p.lastHandshakeWall,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      allowedIps: [
        ...this.allowedIps.list(p.slot).map((e) => ({ address: formatIpv4(e.address), prefixLength: e.prefixLength })),
        ...this.allowedIps6.list(p.slot).map((e) => ({ address: formatIp6(e.address, 0), prefixLength: e.prefixLength })),
      ],
    };
  }

  /** Peers in use, in slot order. */
  activePeers(): Peer[] {
    return this.peers.filter((p) => p.inUse);
  }
}

const RX_BATCH = 2048;
const QUEUE_LOAD_THRESHOLD = 512;
