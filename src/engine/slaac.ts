/**
 * IPv6 stateless address autoconfiguration (RFC 4862) for Ethernet
 * interfaces: the link-local address (modified EUI-64, RFC 4291 App. A, as
 * Linux's default addr_gen_mode), duplicate address detection (§5.4, one
 * probe: DupAddrDetectTransmits = 1), router solicitation at start (RFC 4861
 * §6.3.7), addresses from prefix information options with the A flag and
 * their lifetimes (§5.5.3, with the two-hour rule of e), on-link prefixes
 * (RFC 4861 §6.3.4), and recursive DNS servers from RAs (RFC 8106) into
 * `ctx.dnsServers6`, which the socket layer's DNS reads.
 *
 * Static addresses (given to addInterface) are preferred at once, without
 * DAD: a configured address is the operator's decision and tests and
 * applications can use it immediately. Linux with accept_dad=1 (its
 * default) keeps one tentative: measured 1.25, 1.62 and 1.86 s from
 * `ip addr add` to usable on a veth (a random delay up to 1 s, one probe,
 * 1 s wait), and marks a duplicate "dadfailed". They are still
 * defended: an NS probing for one is answered, and an NA claiming one is
 * counted (`nd6.addressClaimed`).
 */
import type { Carver } from '../storage/arena.js';
import { copyBytes } from '../wire/bytes.js';
import { eui64Iid, formatIpv6, ip6Equal, ip6PrefixMatch, isLinkLocal6 } from '../wire/ipv6addr.js';
import {
  PREFIX_LENGTH, PREFIX_FLAGS, PREFIX_VALID, PREFIX_PREFERRED, PREFIX_PREFIX, PREFIX_FLAG_AUTO, PREFIX_FLAG_ONLINK,
  RDNSS_LIFETIME, RDNSS_ADDRS, ND_INFINITE, getU32, rdnssCount,
} from '../wire/ndp.js';
import type { EngineContext } from './context.js';
import type { ResolvedConfig } from './config.js';
import {
  type NetInterface, ADDR6_FREE, ADDR6_TENTATIVE, ADDR6_PREFERRED, ADDR6_DEPRECATED, ADDR6_SLAAC, ADDR6_LINKLOCAL,
} from './netif.js';
import { ROUTE6_CONNECTED, ROUTE6_RA, type Route6Table } from './routes6.js';

/** What slaac.ts sends through ND (engine/ndp.ts). */
export interface NdSender {
  sendNs(iface: NetInterface, target: Uint8Array, tOff: number, src: Uint8Array, sOff: number, unicastEntry: number): void;
  sendRs(iface: NetInterface, src: Uint8Array, sOff: number): void;
  /** A route slaac.ts added expires at `t` (ND runs Route6Table.expire then). */
  routeExpires(t: number): void;
  /** A slaac.ts timer is due at `t`: ND's own deadline (which the engine tests before polling it) must not be later. */
  timerAt(t: number): void;
}

/** DNS servers learned from RDNSS options, at most this many (RFC 8106 §5.3.1 suggests 3). */
export const RDNSS_MAX = 4;
/** RetransTimer between the DAD probe and the decision (RFC 4862 §5.4, RFC 4861 §10). */
const DAD_WAIT_MS = 1000;
/** MAX_RTR_SOLICITATION_DELAY: random delay before the first RS and DAD probe (RFC 4861 §10). */
const MAX_SOLICIT_DELAY_MS = 1000;
const RTR_SOLICITATION_INTERVAL_MS = 4000;
const MAX_RTR_SOLICITATIONS = 3;
/** §5.5.3 e: 2 hours. */
const TWO_HOURS_MS = 2 * 3600 * 1000;

const UNSPECIFIED = new Uint8Array(16);
const LINK_LOCAL_PREFIX = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export class Slaac {
  /** Per interface × address slot: when the DAD step is due (Infinity: none), probes sent. */
  private readonly dadAt: Float64Array;
  private readonly dadSent: Uint8Array;
  /** Per interface: router solicitations sent, when the next is due, whether an RA arrived. */
  private readonly rsSent: Uint8Array;
  private readonly rsAt: Float64Array;
  private readonly raSeen: Uint8Array;
  /** RDNSS servers: 16 bytes each, expiry (ms), interface. */
  readonly dnsAddr: Uint8Array;
  readonly dnsExpires: Float64Array;
  private readonly dnsIf: Uint8Array;
  private readonly perIf: number;
  private readonly addr = new Uint8Array(16);
  nextDeadline = Infinity;
  /** Called when DAD finds an address in use (the address is removed, `nd6.dadConflicts` counted). */
  onConflict: ((ifIndex: number, address: string) => void) | null = null;

  static plan(plan: Carver, c: ResolvedConfig): void {
    Slaac.carve(plan, c);
  }

  private static carve(m: Carver, c: ResolvedConfig) {
    const n = c.maxInterfaces * c.ipv6AddressesPerInterface;
    return {
      dadAt: m.f64('slaac', n), dadSent: m.u8('slaac', n),
      rsSent: m.u8('slaac', c.maxInterfaces), rsAt: m.f64('slaac', c.maxInterfaces), raSeen: m.u8('slaac', c.maxInterfaces),
      dnsAddr: m.u8('slaac', RDNSS_MAX * 16), dnsExpires: m.f64('slaac', RDNSS_MAX), dnsIf: m.u8('slaac', RDNSS_MAX),
    };
  }

  constructor(arena: Carver, private readonly ctx: EngineContext, private readonly nd: NdSender,
    private readonly routes6: Route6Table) {
    const t = Slaac.carve(arena, ctx.config);
    this.perIf = ctx.config.ipv6AddressesPerInterface;
    this.dadAt = t.dadAt;
    this.dadSent = t.dadSent;
    this.rsSent = t.rsSent;
    this.rsAt = t.rsAt;
    this.raSeen = t.raSeen;
    this.dnsAddr = t.dnsAddr;
    this.dnsExpires = t.dnsExpires;
    this.dnsIf = t.dnsIf;
    this.dadAt.fill(Infinity);
    this.rsAt.fill(Infinity);
  }

  private randomDelay(max: number): number {
    return Math.floor((this.ctx.random32() / 4294967296) * max);
  }

  private schedule(t: number): void {
    if (t < this.nextDeadline) {
      this.nextDeadline = t;
      this.nd.timerAt(t);
    }
  }

  /**
   * Link-local address (tentative, DAD after a random delay), its fe80::/64
   * route, and router solicitations.
   */
  interfaceUp(iface: NetInterface): void {
    const now = this.ctx.now;
    copyBytes(LINK_LOCAL_PREFIX, 0, this.addr, 0, 8);
    eui64Iid(this.addr, 0, iface.mac);
    const slot = iface.addAddress6(this.addr, 0, 64, ADDR6_TENTATIVE, ADDR6_LINKLOCAL);
    if (slot >= 0) this.startDad(iface, slot, now + this.randomDelay(MAX_SOLICIT_DELAY_MS));
    // fe80::/64 on-link (RFC 4291 §2.5.6), shown in the routing table as Linux shows it.
    this.routes6.add(LINK_LOCAL_PREFIX, 0, 64, null, 0, iface.index, ROUTE6_CONNECTED);
    this.rsSent[iface.index] = 0;
    this.raSeen[iface.index] = 0;
    this.rsAt[iface.index] = now + this.randomDelay(MAX_SOLICIT_DELAY_MS);
    this.schedule(this.rsAt[iface.index]);
  }

  private startDad(iface: NetInterface, slot: number, at: number): void {
    const k = iface.index * this.perIf + slot;
    this.dadAt[k] = at;
    this.dadSent[k] = 0;
    this.schedule(at);
  }

  /** Address slot to use as the source of a solicitation on `iface`: preferred link-local first, else any usable; -1. */
  sourceFor(iface: NetInterface): number {
    let any = -1;
    for (let k = 0; k < iface.addr6Count; k++) {
      const s = iface.addr6State[k];
      if (s !== ADDR6_PREFERRED && s !== ADDR6_DEPRECATED) continue;
      if (isLinkLocal6(iface.addr6, k * 16)) return k;
      if (any < 0) any = k;
    }
    return any;
  }

  /** DAD found `slot` in use (RFC 4862 §5.4.5): the address is not used; counted and reported. */
  dadConflict(iface: NetInterface, slot: number): void {
    this.ctx.stats.nd6.dadConflicts++;
    this.dadAt[iface.index * this.perIf + slot] = Infinity;
    const text = this.onConflict !== null ? formatIpv6(iface.addr6, slot * 16) : '';
    iface.removeAddress6(slot);
    if (this.onConflict !== null) this.onConflict(iface.index, text);
  }

  /** An RA arrived on `iface`: stop soliciting (RFC 4861 §6.3.7). */
  routerAdvertised(iface: NetInterface): void {
    this.raSeen[iface.index] = 1;
    this.rsAt[iface.index] = Infinity;
  }

  /** A seconds lifetime from an option as an absolute time (ND_INFINITE: forever). */
  private lifetimeEnd(seconds: number, now: number): number {
    return seconds === ND_INFINITE ? Infinity : now + seconds * 1000;
  }

  /** Prefix information option at `b[p]` (32 bytes, checked by the caller), RFC 4861 §6.3.4 and RFC 4862 §5.5.3. */
  prefixOption(iface: NetInterface, b: Uint8Array, p: number, now: number): void {
    const st = this.ctx.stats.nd6;
    const len = b[p + PREFIX_LENGTH];
    const flags = b[p + PREFIX_FLAGS];
    const valid = getU32(b, p + PREFIX_VALID);
    const preferred = getU32(b, p + PREFIX_PREFERRED);
    const pre = p + PREFIX_PREFIX;
    // b) a link-local prefix is ignored; c) preferred above valid is ignored.
    if (isLinkLocal6(b, pre) || preferred > valid || len > 128) {
      st.prefixIgnored++;
      return;
    }
    if ((flags & PREFIX_FLAG_ONLINK) !== 0) {
      // The route's expiry is the prefix's valid lifetime; 0 withdraws it at once (RFC 4861 §6.3.4).
      const end = valid === 0 ? 0 : this.lifetimeEnd(valid, now);
      this.routes6.add(b, pre, len, null, 0, iface.index, ROUTE6_RA, end);
      this.nd.routeExpires(end);

    }
    if ((flags & PREFIX_FLAG_AUTO) === 0) return;
    // Modified EUI-64 identifiers are 64 bits: the prefix must be /64 on Ethernet (§5.5.3 d, RFC 4291 §2.5.1).
    if (len !== 64) {
      st.prefixIgnored++;
      return;
    }
    let slot = -1;
    for (let k = 0; k < iface.addr6Count; k++) {
      if (iface.addr6State[k] !== ADDR6_FREE && (iface.addr6Flags[k] & ADDR6_SLAAC) !== 0
        && ip6PrefixMatch(iface.addr6, k * 16, b, pre, 64)) {
        slot = k;
        break;
      }
    }
    const validEnd = this.lifetimeEnd(valid, now);
    const preferredEnd = this.lifetimeEnd(preferred, now);
    if (slot < 0) {
      if (valid === 0) return; // §5.5.3 d: form an address only with a non-zero valid lifetime
      copyBytes(b, pre, this.addr, 0, 8);
      eui64Iid(this.addr, 0, iface.mac);
      slot = iface.addAddress6(this.addr, 0, 64, ADDR6_TENTATIVE, ADDR6_SLAAC);
      if (slot < 0) {
        st.slaacNoSlot++;
        return;
      }
      iface.addr6Valid[slot] = validEnd;
      iface.addr6Preferred[slot] = preferredEnd;
      st.slaacAddresses++;
      this.startDad(iface, slot, now);
      return;
    }
    // §5.5.3 e: the preferred lifetime is reset; the valid one only where it cannot be used
    // to cut an address short: above two hours or above the remaining time it is taken,
    // else with more than two hours left it becomes two hours, else it is kept.
    iface.addr6Preferred[slot] = preferredEnd;
    const remaining = iface.addr6Valid[slot] - now;
    if (validEnd - now > TWO_HOURS_MS || validEnd > iface.addr6Valid[slot]) iface.addr6Valid[slot] = validEnd;
    else if (remaining > TWO_HOURS_MS) iface.addr6Valid[slot] = now + TWO_HOURS_MS;
    if (iface.addr6State[slot] === ADDR6_DEPRECATED && preferredEnd > now) {
      iface.addr6State[slot] = ADDR6_PREFERRED;
      iface.addr6Gen++;
    }
    this.schedule(Math.min(iface.addr6Valid[slot], iface.addr6Preferred[slot]));
  }

  /** RDNSS option at `b[p]` (RFC 8106 §5.1, §5.3.1): add, refresh or (lifetime 0) remove servers. */
  rdnssOption(iface: NetInterface, b: Uint8Array, p: number, now: number): void {
    const st = this.ctx.stats.nd6;
    const n = rdnssCount(b, p);
    const lifetime = getU32(b, p + RDNSS_LIFETIME);
    const end = this.lifetimeEnd(lifetime, now);
    let changed = false;
    for (let i = 0; i < n; i++) {
      const a = p + RDNSS_ADDRS + 16 * i;
      let k = -1;
      let free = -1;
      for (let j = 0; j < RDNSS_MAX; j++) {
        if (this.dnsExpires[j] === 0) {
          if (free < 0) free = j;
        } else if (this.dnsIf[j] === iface.index && ip6Equal(this.dnsAddr, j * 16, b, a)) {
          k = j;
        }
      }
      if (k >= 0) {
        if (lifetime === 0) {
          this.dnsExpires[k] = 0;
          changed = true;
        } else {
          this.dnsExpires[k] = end;
        }
      } else if (lifetime !== 0) {
        if (free < 0) {
          st.rdnssFull++;
          continue;
        }
        copyBytes(b, a, this.dnsAddr, free * 16, 16);
        this.dnsIf[free] = iface.index;
        this.dnsExpires[free] = end;
        st.rdnssLearned++;
        changed = true;
      }
    }
    if (end < this.nextDeadline && lifetime !== 0) this.schedule(end);
    if (changed) this.publishDns();
  }

  /** Rewrite `ctx.dnsServers6` from the table (only when the set changed: it allocates strings). */
  private publishDns(): void {
    const list = this.ctx.dnsServers6;
    list.length = 0;
    for (let j = 0; j < RDNSS_MAX; j++) if (this.dnsExpires[j] !== 0) list.push(formatIpv6(this.dnsAddr, j * 16));
  }

  /** DAD steps, router solicitations, address lifetimes, RDNSS expiry at `now`; leaves the next deadline in nextDeadline. */
  poll(now: number): void {
    const st = this.ctx.stats.nd6;
    let next = Infinity;
    const ifs = this.ctx.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const iface = ifs[i];
      if (iface.ipOnly || iface.addr6Count === 0) continue;
      for (let k = 0; k < iface.addr6Count; k++) {
        const s = iface.addr6State[k];
        if (s === ADDR6_FREE) continue;
        const d = i * this.perIf + k;
        if (s === ADDR6_TENTATIVE && this.dadAt[d] <= now) {
          if (this.dadSent[d] < 1) {
            // RFC 4862 §5.4.2: NS from :: to the solicited-node group; we have joined that group already.
            this.nd.sendNs(iface, iface.addr6, k * 16, UNSPECIFIED, 0, -1);
            this.dadSent[d]++;
            this.dadAt[d] = now + DAD_WAIT_MS;
          } else {
            this.dadAt[d] = Infinity;
            iface.addr6State[k] = iface.addr6Preferred[k] <= now ? ADDR6_DEPRECATED : ADDR6_PREFERRED;
            iface.addr6Gen++;
            st.dadPassed++;
          }
        }
        if (iface.addr6Valid[k] <= now) {
          // §5.5.4: an address whose valid lifetime ended is removed.
          this.dadAt[d] = Infinity;
          iface.removeAddress6(k);
          st.addressesExpired++;
          continue;
        }
        if (iface.addr6State[k] === ADDR6_PREFERRED && iface.addr6Preferred[k] <= now) {
          iface.addr6State[k] = ADDR6_DEPRECATED;
          iface.addr6Gen++;
          st.addressesDeprecated++;
        }
        if (this.dadAt[d] < next) next = this.dadAt[d];
        if (iface.addr6Valid[k] < next) next = iface.addr6Valid[k];
        if (iface.addr6State[k] === ADDR6_PREFERRED && iface.addr6Preferred[k] < next) next = iface.addr6Preferred[k];
      }
      if (this.raSeen[i] === 0 && this.rsAt[i] <= now) {
        // RFC 4861 §6.3.7: from the link-local address once usable, else from :: (then without SLLA).
        const src = this.sourceFor(iface);
        if (src >= 0 && isLinkLocal6(iface.addr6, src * 16)) this.nd.sendRs(iface, iface.addr6, src * 16);
        else this.nd.sendRs(iface, UNSPECIFIED, 0);
        this.rsSent[i]++;
        this.rsAt[i] = this.rsSent[i] >= MAX_RTR_SOLICITATIONS ? Infinity : now + RTR_SOLICITATION_INTERVAL_MS;
      }
      if (this.rsAt[i] < next) next = this.rsAt[i];
    }
    let changed = false;
    for (let j = 0; j < RDNSS_MAX; j++) {
      const e = this.dnsExpires[j];
      if (e === 0) continue;
      if (e <= now) {
        this.dnsExpires[j] = 0;
        st.rdnssExpired++;
        changed = true;
      } else if (e < next) next = e;
    }
    if (changed) this.publishDns();
    this.nextDeadline = next;
  }
}
