/**
 * ESP in transport mode (RFC 4303) on the packet path: the hooks the IPv4
 * layer calls. Outbound, after a transport built its packet at
 * IP_PAYLOAD_OFFSET of the transmit buffer, {@link IpsecEngine.output} looks
 * up the policy and, to protect, moves the payload right, inserts the ESP
 * header and IV, seals it and appends trailer and ICV (the buffer has
 * ESP_MAX_OVERHEAD bytes of tailroom). Inbound, ESP (IP protocol 50, or
 * UDP to an encapsulation port, RFC 3948) is checked against the replay
 * window, its ICV verified, decrypted into a scratch buffer behind a copy of
 * the IP header, checked strictly (padding, next header, inbound policy)
 * and left there for the IP layer to deliver as if it had arrived in clear.
 * Implements the engine's {@link IpsecHook}.
 *
 * Allocation: none here; the injected {@link EspCrypto} may allocate per
 * call (node:crypto does).
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes, get16, get32, set16, set32 } from '../wire/bytes.js';
import { checksum } from '../wire/checksum.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HLEN, IP_CSUM, IP_PROTO, IP_TOTLEN } from '../wire/ipv4.js';
import type { EngineContext } from '../engine/context.js';
import { IPSEC_CONSUMED, IPSEC_PASS, type IpsecHook } from '../engine/ipsec-hook.js';
import { Errno } from '../engine/errno.js';
import { ENC_CBC, ESP_MAX_OVERHEAD, suiteOverhead } from './algorithms.js';
import type { EspCrypto } from './crypto.js';
import { REPLAY_DUPLICATE, REPLAY_OK } from './replay.js';
import {
  DIR_IN, EV_HARD, EV_SOFT, EXPIRE_SEQUENCE, SAF_ENCAP, SAF_ESN, SA_LIVE, SaTable,
} from './sad.js';
import { ACT_BYPASS, ACT_DISCARD, ACT_PROTECT, PolicyTable, SP_IN, SP_OUT } from './spd.js';
import { TRAILER_BAD_PAD_LENGTH, TRAILER_BAD_PADDING } from './transform.js';
import type { IpsecStats } from '../engine/ipsec-stats.js';
import { RX_CSUM_VALID } from '../engine/offload.js';

const PAYLOAD = ETH_HLEN + IPV4_MIN_HLEN;
/** RFC 4303 2.6: "no next header", a dummy packet to be discarded silently. */
const NH_NONE = 59;

/** Capacities (from the stack config). */
export interface IpsecCapacities {
  ipsecMaxSa: number;
  ipsecMaxSp: number;
  ipsecReplayWindow: number;
  maxMtu: number;
  /** Reassembled ESP datagrams are decrypted whole, so the scratch buffer covers them too. */
  ipReassemblySlots: number;
  ipReassemblyBytes: number;
}

function scratchBytes(c: IpsecCapacities): number {
  return Math.max(c.maxMtu, c.ipReassemblySlots > 0 ? c.ipReassemblyBytes : 0);
}

export class IpsecEngine implements IpsecHook {
  readonly sad: SaTable;
  readonly spd: PolicyTable;
  /** Injected by the Node-side Stack; without it no SA can be added. */
  crypto: EspCrypto | null = null;
  /** Called from poll() for soft (EV_SOFT) and hard (EV_HARD) expiry of SA `slot`. */
  onEvent: ((slot: number, kind: number, reason: number) => void) | null = null;
  /** The time poll() next has lifetime work, ms. */
  nextDeadline = Infinity;
  /** Protocol of the packet output() left in the transmit buffer (ESP, UDP when encapsulated, else unchanged). */
  outProto = 0;
  /** SAs using ESP-in-UDP, so plain UDP skips the port scan when there are none. */
  encapCount = 0;
  private eventsPending = false;
  /** Decrypted packets, header first, for the IP layer to deliver. */
  readonly rx: Uint8Array;
  /** RX_CSUM_VALID when the packet last left in {@link rx} had its TCP checksum verified while decrypting, else 0. */
  rxFlags = 0;
  private readonly st: IpsecStats;

  static plan(carver: Carver, c: IpsecCapacities): void {
    new SaTable(carver, c.ipsecMaxSa, c.ipsecReplayWindow);
    new PolicyTable(carver, c.ipsecMaxSp);
    carver.u8('ipsecRx', scratchBytes(c));
  }

  constructor(carver: Carver, private readonly ctx: EngineContext, c: IpsecCapacities, stats: IpsecStats) {
    this.sad = new SaTable(carver, c.ipsecMaxSa, c.ipsecReplayWindow);
    this.spd = new PolicyTable(carver, c.ipsecMaxSp);
    this.rx = carver.u8('ipsecRx', scratchBytes(c));
    this.st = stats;
  }

  /** Ask poll() to rescan lifetimes (after an SA was added or changed). */
  touchLifetimes(): void {
    this.nextDeadline = this.ctx.now;
  }

  /** The live outbound SA for protect policy `p` and this packet's addresses, or -1. */
  private outSa(p: number, src: number, dst: number): number {
    const spd = this.spd;
    const sad = this.sad;
    if (spd.cacheGen[p] === sad.generation) {
      const s = spd.cacheSa[p];
      if (s >= 0 && sad.dst[s] === dst && (sad.src[s] === 0 || sad.src[s] === src)) return s;
    }
    const s = sad.findOut(src, dst, spd.hasSpi[p] === 1, spd.spi[p]);
    spd.cacheSa[p] = s;
    spd.cacheGen[p] = sad.generation;
    return s;
  }

  /**
   * Outbound hook. The transport packet (`len` bytes, protocol `proto`) is at
   * IP_PAYLOAD_OFFSET of the transmit buffer. Returns the length of what is
   * there now (unchanged for bypass; the ESP packet, and {@link outProto} set,
   * for protect) or -errno: -EPERM for discard, -EHOSTUNREACH when no live SA
   * protects the flow, -EMSGSIZE when the overhead does not fit.
   */
  output(proto: number, len: number, src: number, dst: number): number {
    this.outProto = proto;
    const spd = this.spd;
    if (spd.count === 0) return len;
    const tx = this.ctx.tx;
    let sport = -1;
    let dport = -1;
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && len >= 4) {
      sport = get16(tx, PAYLOAD);
      dport = get16(tx, PAYLOAD + 2);
    }
    const p = spd.lookup(SP_OUT, src, dst, proto, sport, dport);
    if (p < 0) return len;
    spd.hits[p]++;
    const action = spd.action[p];
    if (action === ACT_BYPASS) return len;
    if (action === ACT_DISCARD) {
      this.st.outPolicyDiscard++;
      return -Errno.EPERM;
    }
    const sa = this.outSa(p, src, dst);
    const sad = this.sad;
    const t = sa >= 0 ? sad.transforms[sa] : null;
    if (t === null) {
      this.st.outNoSa++;
      return -Errno.EHOSTUNREACH;
    }
    const encap = (sad.flags[sa] & SAF_ENCAP) !== 0 ? 8 : 0;
    const e = PAYLOAD + encap;
    if (e + t.sealedLen(len) > tx.length) {
      this.st.outTooBig++;
      return -Errno.EMSGSIZE;
    }
    // Next sequence number; exhaustion (RFC 4303 3.3.3) is handled below, after the last one is sent.
    let hi = sad.seqHi[sa];
    let lo = (sad.seqLo[sa] + 1) | 0;
    if (lo === 0) hi = (hi + 1) | 0;
    copyBytes(tx, PAYLOAD, tx, e + t.headLen, len);
    if (t.suite.ivLen === 8) {
      // GCM/GMAC: a counter IV, unique per SA (RFC 4106 3.1), offset by a random per-SA base.
      const bl = sad.ivBase[sa * 2 + 1];
      const sumLo = (bl >>> 0) + (lo >>> 0);
      set32(tx, e + 8, (sad.ivBase[sa * 2] + hi + (sumLo >= 4294967296 ? 1 : 0)) | 0);
      set32(tx, e + 12, sumLo | 0);
    } else if (t.suite.enc === ENC_CBC) {
      // CBC needs unpredictable IVs (RFC 3602 2.3).
      (this.crypto as EspCrypto).randomFill(tx, e + 8, 16);
    }
    const espLen = t.seal(tx, e, len, proto, sad.spi[sa], hi, lo);
    if (encap !== 0) {
      // RFC 3948 2.1: UDP header before ESP, checksum zero.
      set16(tx, PAYLOAD, sad.encapSport[sa]);
      set16(tx, PAYLOAD + 2, sad.encapDport[sa]);
      set16(tx, PAYLOAD + 4, 8 + espLen);
      set16(tx, PAYLOAD + 6, 0);
    }
    sad.seqHi[sa] = hi;
    sad.seqLo[sa] = lo;
    if (lo === -1 && ((sad.flags[sa] & SAF_ESN) === 0 || hi === -1)) {
      // The last number was just used: the SA must not wrap, so it stops now.
      sad.kill(sa, EXPIRE_SEQUENCE);
      this.st.seqExhausted++;
    }
    sad.account(sa, len);
    if (sad.pending[sa] !== 0) this.eventsPending = true;
    this.st.tx++;
    this.outProto = encap !== 0 ? IPPROTO_UDP : IPPROTO_ESP;
    return encap + espLen;
  }

  /**
   * What ESP adds to a transport packet of this flow (0 when not protected):
   * the TCP MSS and path MTU seen by transports are reduced by it.
   */
  overhead(proto: number, src: number, dst: number, sport: number, dport: number): number {
    if (this.spd.count === 0) return 0;
    const hasPorts = proto === IPPROTO_TCP || proto === IPPROTO_UDP;
    const p = this.spd.lookup(SP_OUT, src, dst, proto, hasPorts ? sport : -1, hasPorts ? dport : -1);
    if (p < 0 || this.spd.action[p] !== ACT_PROTECT) return 0;
    const sa = this.outSa(p, src, dst);
    const t = sa >= 0 ? this.sad.transforms[sa] : null;
    if (t === null) return ESP_MAX_OVERHEAD;
    return ((this.sad.flags[sa] & SAF_ENCAP) !== 0 ? 8 : 0) + suiteOverhead(t.suite);
  }

  /**
   * Inbound hook for packets that are not ESP: ESP-in-UDP is taken here,
   * then the inbound policy decides. Returns IPSEC_PASS when the IP layer
   * should deliver the packet as usual, IPSEC_CONSUMED when dropped, or the
   * length of the decrypted ESP-in-UDP packet in {@link rx}.
   */
  inputClear(b: Uint8Array, o: number, hlen: number, total: number, proto: number, src: number, dst: number): number {
    this.rxFlags = 0;
    let sport = -1;
    let dport = -1;
    const t = o + hlen;
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && total - hlen >= 4) {
      sport = get16(b, t);
      dport = get16(b, t + 2);
    }
    if (proto === IPPROTO_UDP && this.encapCount > 0 && total - hlen >= 8 && this.isEncapPort(dport)) {
      const ulen = get16(b, t + 4);
      if (ulen >= 8 && ulen <= total - hlen) {
        const p = t + 8;
        const n = ulen - 8;
        if (n === 1 && b[p] === 0xff) {
          this.st.natKeepalive++;
          return IPSEC_CONSUMED;
        }
        // RFC 3948 2.2: four zero bytes (the non-ESP marker) mean IKE, for a UDP socket; the rest is ESP.
        if (n >= 4 && get32(b, p) === 0) this.st.ikeMarker++;
        else return this.inputEsp(b, o, hlen, p, n, src, dst, sport, dport);
      }
    }
    const spd = this.spd;
    if (spd.count === 0) return IPSEC_PASS;
    const pol = spd.lookup(SP_IN, src, dst, proto, sport, dport);
    if (pol < 0) return IPSEC_PASS;
    spd.hits[pol]++;
    const action = spd.action[pol];
    if (action === ACT_BYPASS) return IPSEC_PASS;
    if (action === ACT_DISCARD) this.st.inPolicyDiscard++;
    else this.st.unprotected++;
    return IPSEC_CONSUMED;
  }

  private isEncapPort(port: number): boolean {
    const sad = this.sad;
    for (let i = 0; i < sad.capacity; i++) {
      if (sad.state[i] !== 0 && sad.dir[i] === DIR_IN && (sad.flags[i] & SAF_ENCAP) !== 0 && sad.encapDport[i] === port) return true;
    }
    return false;
  }

  /**
   * Inbound ESP at `b[e .. e+n)` inside the IP packet at `b[o..]` (header
   * `hlen` bytes). `usport`/`udport` are the UDP ports when encapsulated, else -1.
   * Returns the total length of the decrypted packet left at `rx[0..)`, or
   * IPSEC_CONSUMED when it was dropped (each drop counted).
   */
  inputEsp(b: Uint8Array, o: number, hlen: number, e: number, n: number, src: number, dst: number,
    usport = -1, udport = -1): number {
    const st = this.st;
    const sad = this.sad;
    st.rx++;
    this.rxFlags = 0;
    if (n < 8) {
      st.malformed++;
      return IPSEC_CONSUMED;
    }
    const spi = get32(b, e);
    const sa = sad.findIn(spi, src, dst);
    if (sa < 0) {
      st.noSa++;
      return IPSEC_CONSUMED;
    }
    if (sad.state[sa] !== SA_LIVE) {
      st.saExpired++;
      return IPSEC_CONSUMED;
    }
    const encap = (sad.flags[sa] & SAF_ENCAP) !== 0;
    if (encap ? usport !== sad.encapSport[sa] || udport !== sad.encapDport[sa] : usport >= 0) {
      st.encapMismatch++;
      return IPSEC_CONSUMED;
    }
    const t = sad.transforms[sa];
    if (t === null) {
      st.noSa++;
      return IPSEC_CONSUMED;
    }
    if (!t.validLength(n)) {
      st.malformed++;
      return IPSEC_CONSUMED;
    }
    const rw = sad.replay;
    const windowOn = rw.size[sa] > 0;
    const lo = get32(b, e + 4);
    let hi = 0;
    if ((sad.flags[sa] & SAF_ESN) !== 0) hi = rw.inferHi(sa, lo);
    else if (lo === 0) {
      // Sequence numbers start at 1 and never wrap without ESN (RFC 4303 2.2).
      st.badSequence++;
      return IPSEC_CONSUMED;
    }
    // Cheap rejection first; the window itself moves only after the ICV is verified (RFC 4303 3.4.3).
    if (windowOn) {
      const r = rw.check(sa, hi, lo);
      if (r !== REPLAY_OK) {
        if (r === REPLAY_DUPLICATE) st.replayDuplicate++;
        else st.replayTooOld++;
        return IPSEC_CONSUMED;
      }
    }
    const rx = this.rx;
    if (hlen + n > rx.length) {
      st.tooBig++;
      return IPSEC_CONSUMED;
    }
    const ptLen = t.open(b, e, n, hi, rx, hlen, o);
    if (ptLen === -1) {
      st.malformed++;
      return IPSEC_CONSUMED;
    }
    if (ptLen < 0) {
      st.authFailed++;
      return IPSEC_CONSUMED;
    }
    if (windowOn) rw.mark(sa, hi, lo);
    const payload = t.trailer(rx, hlen, ptLen);
    if (payload === TRAILER_BAD_PAD_LENGTH) {
      st.badPadLength++;
      return IPSEC_CONSUMED;
    }
    if (payload === TRAILER_BAD_PADDING) {
      st.badPadding++;
      return IPSEC_CONSUMED;
    }
    const nh = rx[hlen + ptLen - 1];
    if (nh === NH_NONE) {
      st.dummy++;
      return IPSEC_CONSUMED;
    }
    if (nh !== IPPROTO_TCP && nh !== IPPROTO_UDP && nh !== IPPROTO_ICMP) {
      // Transport mode carries a transport header; tunnel mode (4) and the rest are not offered.
      st.badNextHeader++;
      return IPSEC_CONSUMED;
    }
    sad.account(sa, payload);
    if (sad.pending[sa] !== 0) this.eventsPending = true;
    // The IP header, rewritten as if the payload had arrived in clear.
    copyBytes(b, o, rx, 0, hlen);
    rx[IP_PROTO] = nh;
    set16(rx, IP_TOTLEN, hlen + payload);
    set16(rx, IP_CSUM, 0);
    set16(rx, IP_CSUM, checksum(rx, 0, hlen));
    let sport = -1;
    let dport = -1;
    if ((nh === IPPROTO_TCP || nh === IPPROTO_UDP) && payload >= 4) {
      sport = get16(rx, hlen);
      dport = get16(rx, hlen + 2);
    }
    const spd = this.spd;
    if (spd.count > 0) {
      const pol = spd.lookup(SP_IN, src, dst, nh, sport, dport);
      if (pol >= 0) {
        spd.hits[pol]++;
        if (spd.action[pol] === ACT_DISCARD) {
          st.inPolicyDiscard++;
          return IPSEC_CONSUMED;
        }
        if (spd.action[pol] === ACT_PROTECT && spd.hasSpi[pol] === 1 && spd.spi[pol] !== spi) {
          st.policyMismatch++;
          return IPSEC_CONSUMED;
        }
      }
    }
    st.delivered++;
    if (t.tcpChecksumOk && nh === IPPROTO_TCP) this.rxFlags = RX_CSUM_VALID;
    return hlen + payload;
  }

  /** Lifetimes by time, then report expiry events. */
  poll(): void {
    const now = this.ctx.now;
    const sad = this.sad;
    if (now >= this.nextDeadline) {
      this.nextDeadline = sad.expireByTime(now);
      this.eventsPending = true;
    }
    if (!this.eventsPending) return;
    this.eventsPending = false;
    for (let i = 0; i < sad.capacity; i++) {
      const ev = sad.pending[i];
      if (ev === 0) continue;
      sad.pending[i] = 0;
      if ((ev & EV_SOFT) !== 0) {
        this.st.softExpired++;
        this.onEvent?.(i, EV_SOFT, sad.reason[i * 2]);
      }
      if ((ev & EV_HARD) !== 0) {
        this.st.hardExpired++;
        this.onEvent?.(i, EV_HARD, sad.reason[i * 2 + 1]);
      }
    }
  }
}
