// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * eBPF SYN-cookie responder at the TAP device's tcx egress (see synr_map.h
 * for why it exists and for the maps' layout).
 *
 * Frames the kernel sends to the TAP device are frames the stack receives.
 * For a pure IPv4 or IPv6 SYN to a listener the stack has marked as under
 * a flood (an active entry of map synr_cfg), this program answers in place,
 * in the sender's context: the frame is rewritten into the very SYN-ACK the
 * engine's cookie path (TcpPassive.sendCookie) would send, and over IPv4 the
 * RX thread's responder (native/syn_responder.c, answer(), IPv4 only) too -
 * the same cookie (HalfSipHash-2-4 over the 4-tuple, engine/tcp/syncookie.ts
 * make/make6, Linux's syncookies.c), the same options in the same order, the
 * same TSval (clock plus the flow's offset, low bits carrying the peer's
 * window scale and SACK), the same IP header (IPv6: the entry's hop limit,
 * traffic class and flow label 0, as Ipv6.output6 sends) - and redirected to
 * the device's ingress, so the sender's own stack receives
 * it as if the stack had answered. The ACK that completes the handshake is
 * not a SYN: it goes on to the stack, which validates the cookie with the
 * same keys and makes the connection.
 *
 * Everything else goes on unchanged (SYNR_NEXT): frames that are not an
 * untagged unicast IPv4 pure SYN without IP options or payload or an IPv6
 * one with TCP right after the fixed header (RFC 8200 4: extension headers
 * are the stack's), SYNs whose IP or TCP checksum does not verify (a local socket's SYN, whose checksum field
 * holds only the pseudo-header's sum, CHECKSUM_PARTIAL, is answered),
 * malformed options, sources the stack would not answer, SYNs to no active
 * entry. The stack then handles (and counts) them as before.
 *
 * Self-contained on purpose: no libbpf headers, the few helpers are declared
 * below by their stable numbers (include/uapi/linux/bpf.h's
 * __BPF_FUNC_MAPPER). Verifier notes: every loop has a constant bound; the
 * TCP header is copied into a zeroed stack buffer and read there at constant
 * offsets; the options parser and the hash are global functions, each
 * verified once on its own (kernel >= 5.6), which keeps the verifier's walk
 * at ~21k instructions (6.18; ~16k before IPv6, whose path adds one more
 * walk of the answer's part) instead of one walk of the rest of the program
 * per option layout. Needs kernel >= 5.6 (global functions; bounded loops
 * 5.3; -mcpu=v3 5.1); attaching at tcx egress needs 6.6, a legacy clsact
 * egress filter (direct action) works before that.
 */
#include <linux/types.h>
#include <linux/bpf.h>

#include "synr_map.h"
#include "../synr_hash.h"

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name
#define INLINE static inline __attribute__((always_inline))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_skb_store_bytes)(struct __sk_buff *skb, __u32 offset, const void *from, __u32 len,
                                   __u64 flags) = (void *)9;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static long (*bpf_skb_load_bytes)(const struct __sk_buff *skb, __u32 offset, void *to, __u32 len) = (void *)26;
static long (*bpf_skb_change_tail)(struct __sk_buff *skb, __u32 len, __u64 flags) = (void *)38;

/*
 * "Not mine": TCX_NEXT (-1) lets the next program of the device's tcx chain
 * (and a legacy clsact filter after it) see the frame; at the chain's end
 * the frame goes on to the device as with TCX_PASS. Under a legacy cls_bpf
 * direct-action attachment the same -1 is TC_ACT_UNSPEC: next filter, else
 * the default action, so the program behaves the same either way and never
 * decides for a frame it does not answer. (linux/bpf.h of older distros has
 * no TCX_* names, so the value is spelled here.)
 */
#define SYNR_NEXT (-1)

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct synr_cfg);
  __uint(max_entries, 1);
} synr_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct synr_stats);
  __uint(max_entries, 1);
} synr_stats SEC(".maps");

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* TCP header copy: the largest header (60 bytes), plus slack for an option's fixed reads at any position below
 * 60 (a timestamp option reads 6 bytes past its kind); zero past the header. */
#define TH_BUF 80

INLINE __u32 get16(const __u8 *p) { return ((__u32)p[0] << 8) | p[1]; }
INLINE __u32 get32(const __u8 *p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}
INLINE void put16(__u8 *p, __u32 v) {
  p[0] = (__u8)(v >> 8);
  p[1] = (__u8)v;
}
INLINE void put32(__u8 *p, __u32 v) {
  p[0] = (__u8)(v >> 24);
  p[1] = (__u8)(v >> 16);
  p[2] = (__u8)(v >> 8);
  p[3] = (__u8)v;
}
INLINE __u32 fold(__u32 s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s & 0xffff;
}
/*
 * HalfSipHash-2-4 of four words (../synr_hash.h, shared with native/syn_responder.c); m3 in the high half of
 * `m23` (BPF functions take at most five arguments). A global function, called twice: inlined, clang
 * interleaves the two hashes and spills them past the 512-byte stack.
 */
__attribute__((noinline)) __u32 synr_half_siphash4(__u32 k0, __u32 k1, __u32 m0, __u32 m1, __u64 m23) {
  return synr_half_siphash4_inline(k0, k1, m0, m1, (__u32)m23, (__u32)(m23 >> 32));
}

/*
 * The IPv6 cookie's HalfSipHash-2-4 (SynCookies.make6: ../synr_hash.h): our address (the SYN's destination)
 * and the peer's as big-endian words, the ports, then `m9` (0 for H1, the count for H2). A global function as
 * the IPv4 one; it reads the 32 address bytes from the frame itself (the caller has read them already, so the
 * load does not fail), since a global function takes no pointer into the caller's stack.
 */
__attribute__((noinline)) __u32 synr_half_siphash6(struct __sk_buff *skb, __u32 k0, __u32 k1, __u32 ports, __u32 m9) {
  __u8 a[32];
  if (bpf_skb_load_bytes(skb, 14 + 8, a, sizeof a) < 0) return 0;
  __u32 m[10];
  for (int i = 0; i < 4; i++) {
    m[i] = get32(a + 16 + 4 * i);
    m[4 + i] = get32(a + 4 * i);
  }
  m[8] = ports;
  m[9] = m9;
  return synr_half_siphash10_inline(k0, k1, m);
}

/* TcpCore.tsOffsetFor(laddr, lport, raddr, rport) (../synr_hash.h). */
INLINE __u32 ts_offset(const struct synr_cfg *c, __u32 laddr, __u32 lport, __u32 raddr, __u32 rport) {
  return synr_ts_offset(c->secret[0], c->secret[1], c->secret[2], c->secret[3], laddr, lport, raddr, rport);
}

/* One's-complement sum of the 16-bit big-endian words of `n` (even, constant) bytes. Not unrolled: clang's
 * scheduler hoists the loads of an unrolled sum and spills them past the 512-byte stack; the verifier walks the
 * loop with a known counter (constant offsets). */
#define SUM16(p, n, s)                                                \
  do {                                                                \
    _Pragma("clang loop unroll(disable)") for (__u32 i_ = 0; i_ < (n); i_ += 2) (s) += get16((p) + i_); \
  } while (0)

/* Linux's IPv4 msstab, as COOKIE_MSS in syncookie.ts: the index of the largest entry <= the peer's MSS. */
INLINE __u32 mss_index(__u32 peer_mss) {
  if (peer_mss >= 1460) return 3;
  if (peer_mss >= 1440) return 2;
  if (peer_mss >= 1300) return 1;
  return 0;
}

/* The same over IPv6 (COOKIE_MSS6: 1220, 1420, 1440, 8940, Linux's msstab for IPv6). */
INLINE __u32 mss_index6(__u32 peer_mss) {
  if (peer_mss >= 8940) return 3;
  if (peer_mss >= 1440) return 2;
  if (peer_mss >= 1420) return 1;
  return 0;
}

/*
 * The peer's TCP header: its checksum and its options (RFC 9293 3.1; RFC 7323; RFC 2018), as answer() reads
 * them. A global (not inlined) function: the verifier checks it once, on its own, and the caller sees one
 * unknown result, so the option layouts it tells apart (with or without MSS, window scale, SACK, timestamps)
 * do not each walk the rest of the program again (the inlined version needed 816k of the 1M instructions the
 * verifier may process).
 *
 * `off`: where the header starts in the frame (14 + 20 over IPv4, 14 + 40 over IPv6), `thl`: its length
 * (20..60, the caller checked), `seed`: the pseudo-header's sum (addresses, protocol, length; RFC 9293 3.1
 * for IPv4, RFC 8200 8.1 for IPv6: the same one's-complement sum over more address words). Returns SYNR_OPT_BAD for a checksum that does not verify or malformed options (the
 * stack then gets the SYN), else the options packed: bits 0-15 the MSS (0: none), 16-23 the window scale
 * shift as sent, 24 window scale present, 25 SACK permitted, 26 timestamps, 27-58 the peer's TSval (so a
 * result is never negative).
 */
#define SYNR_OPT_BAD (-1)
#define OPT_WS_SHIFT 16
#define OPT_WS 24
#define OPT_SACK 25
#define OPT_TS 26
#define OPT_TSVAL_SHIFT 27

__attribute__((noinline)) long synr_tcp_options(struct __sk_buff *skb, __u32 off, __u32 thl, __u32 seed) {
  if (thl < 20 || thl > 60) return SYNR_OPT_BAD; /* the caller checked; the verifier checks this function alone */
  __u8 th[TH_BUF];
  __builtin_memset(th, 0, sizeof th);
  if (bpf_skb_load_bytes(skb, off, th, thl) < 0) return SYNR_OPT_BAD;
  /* The checksum over the pseudo-header and the header: the buffer past thl is zero, so summing all of it
   * sums the header alone. A local socket's SYN carries only the pseudo-header's sum in its checksum field
   * (CHECKSUM_PARTIAL: completed after this hook, by the device or in software): the kernel vouches for it, as
   * the virtio-net header's NEEDS_CSUM does for the RX thread's responder, and the answer replaces the whole
   * segment anyway, so that SYN is answered too. */
  __u32 s = seed;
  SUM16(th, 60, s);
  if (fold(s) != 0xffff && ((__u32)th[16] << 8 | th[17]) != fold(seed)) return SYNR_OPT_BAD;

  /* The loop walks byte positions (unrolled: each reads at constant offsets) and acts where the next option
   * starts; `next` is only compared, never an index, so the verifier's states at each position prune to one
   * another. Duplicates: the last one counts, as in answer(). */
  __u64 mss = 0, ws = 0, flags = 0, tsval = 0;
  __u32 next = 20;
#pragma unroll
  for (__u32 i = 20; i < 60; i++) {
    if (i >= thl || next >= thl) break;
    if (i == next) {
      __u32 kind = th[i];
      if (kind == 0) break; /* end of options */
      if (kind == 1) {
        next = i + 1;
      } else {
        if (i + 1 >= thl) return SYNR_OPT_BAD;
        __u32 ol = th[i + 1];
        if (ol < 2 || i + ol > thl) return SYNR_OPT_BAD;
        if (kind == 2 && ol == 4) {
          mss = get16(th + i + 2);
        } else if (kind == 3 && ol == 3) {
          ws = th[i + 2];
          flags |= 1ull << OPT_WS;
        } else if (kind == 4 && ol == 2) {
          flags |= 1ull << OPT_SACK;
        } else if (kind == 8 && ol == 10) {
          tsval = get32(th + i + 2);
          flags |= 1ull << OPT_TS;
        }
        next = i + ol;
      }
    }
  }
  return (long)(mss | (ws << OPT_WS_SHIFT) | flags | (tsval << OPT_TSVAL_SHIFT));
}

/* A pure SYN to an active entry that is passed on anyway (checksum, options, payload): counted, then passed. */
INLINE int pass_counted(struct synr_stats *st) {
  __sync_fetch_and_add(&st->passed, 1);
  return SYNR_NEXT;
}

SEC("tc")
int synr_egress(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct synr_cfg *c = bpf_map_lookup_elem(&synr_cfg, &zero);
  struct synr_stats *st = bpf_map_lookup_elem(&synr_stats, &zero);
  if (c == 0 || st == 0) return SYNR_NEXT;
  if (c->on == 0 || c->version != SYNR_BPF_VERSION) return SYNR_NEXT;
  __u32 n = c->n_entries;
  if (n == 0) return SYNR_NEXT;

  /* Ethernet and the fixed IP header (IPv6's read below). A tag the device inserts on transmit (skb metadata) is
   * a tag too. */
  __u32 len = skb->len;
  if (len < 14 + 20 + 20 || skb->vlan_present) return SYNR_NEXT;
  __u8 f[14 + 40];
  if (bpf_skb_load_bytes(skb, 0, f, 14 + 20) < 0) return SYNR_NEXT;
  if ((f[0] & 1) != 0) return SYNR_NEXT; /* multicast/broadcast MAC */
  const __u8 *ip = f + 14;
  __u32 type = get16(f + 12);
  __u32 v6, ihl;
  if (type == 0x0800) {
    if ((ip[0] >> 4) != 4 || ip[9] != 6) return SYNR_NEXT;
    if ((get16(ip + 6) & 0x3fff) != 0) return SYNR_NEXT; /* a fragment (MF or an offset): the stack reassembles it */
    ihl = (__u32)(ip[0] & 0xf) * 4;
    if (ihl < 20 || len < 14 + ihl + 20) return SYNR_NEXT;
    v6 = 0;
  } else if (type == 0x86dd) {
    /* IPv6 (RFC 8200 3): TCP only as the fixed header's next header. Any extension header (hop-by-hop,
     * routing, fragment, destination options, ...) goes to the stack, which walks the chain (and reassembles):
     * the program does not look past it, so it cannot tell a SYN there and does not count it (as an IPv4
     * fragment). */
    if (len < 14 + 40 + 20) return SYNR_NEXT;
    if (bpf_skb_load_bytes(skb, 14 + 20, f + 14 + 20, 20) < 0) return SYNR_NEXT;
    if ((ip[0] >> 4) != 6 || ip[6] != 6) return SYNR_NEXT;
    ihl = 40;
    v6 = 1;
  } else {
    return SYNR_NEXT;
  }

  /* The TCP header's fixed part (at 14 + ihl: IPv4 options are skipped here, to tell a SYN from the rest). */
  __u8 th[20];
  if (bpf_skb_load_bytes(skb, (14 + ihl) & 0x7f, th, sizeof th) < 0) return SYNR_NEXT;
  if ((th[13] & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) != TH_SYN) return SYNR_NEXT;

  /* Sources the stack would not answer: left to it, which counts them. IPv4: RFC 1122 3.2.1.3, 4.2.3.10. IPv6:
   * a multicast source (RFC 4291 2.7) and our own address (Ipv6Input: a loop or a spoof), dropped by the stack;
   * the unspecified address and ::1, which never come from a link (RFC 4291 2.5.2, 2.5.3); IPv4-mapped
   * addresses (RFC 4291 2.5.5.2), which are for the IPv4 path (Linux's tcp_v6_conn_request drops them too).
   * `src` and `dst` are IPv4's addresses, or the folds of IPv6's (fold6: the four words XORed), which the
   * engine passes to tsOffsetFor for an IPv6 flow. */
  __u32 src, dst;
  if (v6 == 0) {
    src = get32(ip + 12);
    dst = get32(ip + 16);
    __u32 top = src >> 24;
    if (src == 0 || src == 0xffffffffu || top == 127 || top >= 224) return SYNR_NEXT;
  } else {
    __u32 s0 = get32(ip + 8), s1 = get32(ip + 12), s2 = get32(ip + 16), s3 = get32(ip + 20);
    __u32 d0 = get32(ip + 24), d1 = get32(ip + 28), d2 = get32(ip + 32), d3 = get32(ip + 36);
    if ((s0 >> 24) == 0xff) return SYNR_NEXT;
    if ((s0 | s1) == 0 && (s2 == 0 || s2 == 0xffff) && (s2 != 0 || s3 <= 1)) return SYNR_NEXT;
    if (s0 == d0 && s1 == d1 && s2 == d2 && s3 == d3) return SYNR_NEXT;
    src = s0 ^ s1 ^ s2 ^ s3;
    dst = d0 ^ d1 ^ d2 ^ d3;
  }

  /* The engine's clock (synr_map.h): CLOCK_MONOTONIC aligned by user space, or the tests' fixed time. The
   * matching entry's fields are copied out (one state after the loop, not one per entry for the verifier). An
   * IPv6 entry matches on all 16 bytes of its address; `dst` is then only the fold. */
  __u64 now_ns = c->fixed_ns != 0 ? c->fixed_ns : bpf_ktime_get_ns() + c->clock_off_ns;
  __u32 sport = get16(th), dport = get16(th + 2);
  __u32 found = 0, e_mss = 0, e_window = 0, e_wscale = 0, e_hop = 0;
#pragma unroll
  for (__u32 i = 0; i < SYNR_BPF_ENTRIES; i++) {
    const struct synr_entry *e = &c->entries[i];
    if (found == 0 && i < n && e->port == dport && now_ns < e->until_ns
        && (v6 == 0 ? e->family == SYNR_BPF_INET && e->addr == dst
                    : e->family == SYNR_BPF_INET6 && e->addr6[3] == get32(ip + 36) && e->addr6[0] == get32(ip + 24)
                          && e->addr6[1] == get32(ip + 28) && e->addr6[2] == get32(ip + 32))) {
      found = 1;
      e_mss = e->mss;
      e_window = e->window;
      e_wscale = e->wscale;
      e_hop = e->hop_limit;
    }
  }
  if (found == 0) return SYNR_NEXT;

  /* A SYN to an active entry from here on: what is not answered is passed on and counted. IPv4 options, a
   * payload (a frame may be longer than its datagram: Ethernet padding), a datagram longer than the frame, or an
   * IPv6 payload length of 0 (a jumbogram, RFC 2675, which needs a hop-by-hop option anyway): the stack's. */
  __u32 thl = (__u32)(th[12] >> 4) * 4;
  __u32 s = 0;
  if (v6 == 0) {
    __u32 total = get16(ip + 2);
    if (ihl != 20 || thl < 20 || total != 20 + thl || len < 14 + total) return pass_counted(st);
    SUM16(ip, 20, s);
    if (fold(s) != 0xffff) return pass_counted(st);
  } else {
    __u32 plen = get16(ip + 4);
    if (thl < 20 || plen != thl || len < 14 + 40 + plen) return pass_counted(st);
  }

  /* The cookie's hashes and the timestamp offset (before the options split the paths). */
  __u64 now_ms = now_ns / 1000000;
  __u32 peer_isn = get32(th + 4);
  __u32 count = (__u32)(now_ms / 60000) & 0xff;
  __u32 ports = (dport << 16) | sport;
  __u32 h1, h2;
  if (v6 == 0) {
    h1 = synr_half_siphash4(c->key[0], c->key[1], dst, src, ports);
    h2 = synr_half_siphash4(c->key[2], c->key[3], dst, src, ports | ((__u64)count << 32));
  } else {
    h1 = synr_half_siphash6(skb, c->key[0], c->key[1], ports, 0);
    h2 = synr_half_siphash6(skb, c->key[2], c->key[3], ports, count);
  }
  __u32 ts_now = (__u32)now_ms + ts_offset(c, dst, dport, src, sport);
  __u32 ttl = v6 == 0 ? c->ttl : e_hop, opts = c->opts;

  /* The pseudo-header's address words (RFC 9293 3.1; RFC 8200 8.1), for the SYN's checksum and the answer's
   * (the same words, swapped). */
  __u32 asum = 0;
  if (v6 == 0)
    SUM16(ip + 12, 8, asum);
  else
    SUM16(ip + 8, 32, asum);
  long po = synr_tcp_options(skb, v6 == 0 ? 14 + 20 : 14 + 40, thl, asum + 6 + thl);
  if (po < 0) return pass_counted(st);
  __u64 pk = (__u64)po;
  __u32 mss = pk & 0xffff, wscale = (pk >> OPT_WS_SHIFT) & 0xff, peer_tsval = (__u32)(pk >> OPT_TSVAL_SHIFT);
  int use_ts = (opts & SYNR_BPF_TIMESTAMPS) != 0 && (pk & (1ull << OPT_TS)) != 0;
  int use_ws = use_ts && (opts & SYNR_BPF_WSCALE) != 0 && (pk & (1ull << OPT_WS)) != 0;
  int use_sack = use_ts && (opts & SYNR_BPF_SACK) != 0 && (pk & (1ull << OPT_SACK)) != 0;
  if (wscale > 14) wscale = 14;

  /* The cookie: SynCookies.make / make6 (the clock in whole ms, its minute count mod 256). Without an MSS
   * option: 536 over IPv4 (RFC 9293 3.7.1), 1220 over IPv6 (RFC 8200 8.3), as the engine. */
  __u32 mi = v6 == 0 ? mss_index(mss > 0 ? mss : 536) : mss_index6(mss > 0 ? mss : 1220);
  __u32 iss = h1 + peer_isn + (count << 24) + ((h2 + mi) & 0xffffff);
  __u32 tsval = 0;
  if (use_ts) {
    /* cookieTsVal: the clock plus the flow's offset, low 6 bits = window scale (0xf: none) and SACK. */
    __u32 o = use_ws ? wscale : 0xfu;
    if (use_sack) o |= 0x10;
    tsval = (ts_now & ~63u) | o;
    if ((__s32)(tsval - ts_now) > 0) tsval -= 64;
  }

  /* The SYN-ACK's TCP header, as answer() (and TcpPassive.sendSynAck) writes it. Options: MSS,
   * [SACK-permitted], [timestamps, [NOP, window scale]], NOPs to a multiple of 4; every layout at constant
   * offsets. */
  __u8 ot[40];
  __builtin_memset(ot, 0, sizeof ot);
  __u32 q = 24;
  ot[20] = 2;
  ot[21] = 4;
  put16(ot + 22, e_mss);
  if (use_ts) {
    __u8 *t = ot + 24;
    if (use_sack) {
      t[0] = 4;
      t[1] = 2;
      t[2] = 8;
      t[3] = 10;
      put32(t + 4, tsval);
      put32(t + 8, peer_tsval);
      q = 36;
    } else {
      t[0] = 8;
      t[1] = 10;
      put32(t + 2, tsval);
      put32(t + 6, peer_tsval);
      t[10] = 1; /* 34 -> 36, or before the window scale */
      t[11] = 1;
      q = 36;
    }
    if (use_ws) {
      /* after 36 bytes, both ways: NOP, window scale (with SACK), or the two NOPs above and 2 more to 40 */
      if (use_sack) {
        t[12] = 1;
        t[13] = 3;
        t[14] = 3;
        t[15] = (__u8)e_wscale;
      } else {
        t[10] = 1;
        t[11] = 3;
        t[12] = 3;
        t[13] = (__u8)e_wscale;
        t[14] = 1;
        t[15] = 1;
      }
      q = 40;
    }
  }
  __builtin_memcpy(ot, th + 2, 2);
  __builtin_memcpy(ot + 2, th, 2);
  put32(ot + 4, iss);
  put32(ot + 8, peer_isn + 1);
  ot[12] = (__u8)((q / 4) << 4);
  ot[13] = TH_SYN | TH_ACK;
  put16(ot + 14, e_window);
  /* Checksum: the options area past q is zero, so the sum over all 40 bytes is the sum over the header. */
  s = asum + 6 + q;
  SUM16(ot, 40, s);
  put16(ot + 16, ~fold(s) & 0xffff);

  /* Ethernet and IP headers. Addresses are copied from the frame's bytes (already in network order): kept as
   * scalars until here, clang spills them byte by byte and the stack overflows. */
  __u8 out[14 + 40];
  __builtin_memset(out, 0, sizeof out);
  __builtin_memcpy(out, f + 6, 6);
  __builtin_memcpy(out + 6, f, 6);
  __u8 *oi = out + 14;
  if (v6 == 0) {
    out[12] = 0x08;
    out[13] = 0x00;
    oi[0] = 0x45;
    put16(oi + 2, 20 + q);
    put16(oi + 6, 0x4000); /* DF; identification 0, unused with DF (RFC 6864 4.1) */
    oi[8] = (__u8)ttl;
    oi[9] = 6;
    __builtin_memcpy(oi + 12, ip + 16, 4);
    __builtin_memcpy(oi + 16, ip + 12, 4);
    s = 0;
    SUM16(oi, 20, s);
    put16(oi + 10, ~fold(s) & 0xffff);
  } else {
    /* RFC 8200 3, as Ipv6.output6 writes it (wire/ipv6.ts writeIpv6): traffic class 0 and flow label 0 (the
     * engine sets none; RFC 6437 2 allows a zero label), the payload length, next header TCP, the entry's hop
     * limit. */
    out[12] = 0x86;
    out[13] = 0xdd;
    oi[0] = 0x60;
    put16(oi + 4, q);
    oi[6] = 6;
    oi[7] = (__u8)ttl;
    __builtin_memcpy(oi + 8, ip + 24, 16);
    __builtin_memcpy(oi + 24, ip + 8, 16);
  }

  /* Resize the frame to the SYN-ACK (58, 70 or 74 bytes over IPv4; 78, 90 or 94 over IPv6), write it, and turn
   * it around to the device's ingress. */
  __u32 hl = 14 + ihl; /* ihl is 20 over IPv4 by now */
  if (bpf_skb_change_tail(skb, hl + q, 0) < 0) goto failed;
  if (v6 == 0) {
    if (bpf_skb_store_bytes(skb, 0, out, 14 + 20, 0) < 0) goto failed;
  } else {
    if (bpf_skb_store_bytes(skb, 0, out, 14 + 40, 0) < 0) goto failed;
  }
  if (q == 24) {
    if (bpf_skb_store_bytes(skb, hl, ot, 24, 0) < 0) goto failed;
  } else if (q == 36) {
    if (bpf_skb_store_bytes(skb, hl, ot, 36, 0) < 0) goto failed;
  } else {
    if (bpf_skb_store_bytes(skb, hl, ot, 40, 0) < 0) goto failed;
  }
  __sync_fetch_and_add(&st->answered, 1);
  return bpf_redirect(skb->ifindex, BPF_F_INGRESS);

failed:
  /* The frame may be cut already: it goes on as it is, and the stack drops what does not parse (counted). */
  __sync_fetch_and_add(&st->redirect_failed, 1);
  return SYNR_NEXT;
}

char _license[] SEC("license") = "Dual MIT/GPL";
