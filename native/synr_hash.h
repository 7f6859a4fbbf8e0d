/*
 * The two keyed hashes of a cookie SYN-ACK, shared by the RX thread's SYN
 * responder (syn_responder.c) and the eBPF one (bpf/syn_responder.bpf.c), so
 * that both compute exactly what the engine does (engine/tcp/syncookie.ts
 * halfSipHash, TcpCore.tsOffsetFor): one definition for C and BPF, hence
 * plain <linux/types.h> integers and nothing from libc.
 */
#ifndef WIRESTACK_SYNR_HASH_H
#define WIRESTACK_SYNR_HASH_H

#include <linux/types.h>

#define SYNR_HASH_INLINE static inline __attribute__((always_inline))

SYNR_HASH_INLINE __u32 synr_rotl(__u32 x, int b) { return (x << b) | (x >> (32 - b)); }

#define SYNR_SIPROUND                                                           \
  do {                                                                          \
    v0 += v1; v1 = synr_rotl(v1, 5); v1 ^= v0; v0 = synr_rotl(v0, 16);          \
    v2 += v3; v3 = synr_rotl(v3, 8); v3 ^= v2;                                  \
    v0 += v3; v3 = synr_rotl(v3, 7); v3 ^= v0;                                  \
    v2 += v1; v1 = synr_rotl(v1, 13); v1 ^= v2; v2 = synr_rotl(v2, 16);         \
  } while (0)

#define SYNR_SIP_WORD(m)                                                        \
  do {                                                                          \
    v3 ^= (m);                                                                  \
    SYNR_SIPROUND;                                                              \
    SYNR_SIPROUND;                                                              \
    v0 ^= (m);                                                                  \
  } while (0)

/* The length word (message bytes << 24), then the finalization: the hash's last step for any length. */
#define SYNR_SIP_FINISH(bytes)                                                  \
  do {                                                                          \
    SYNR_SIP_WORD((__u32)(bytes) << 24);                                        \
    v2 ^= 0xff;                                                                 \
    SYNR_SIPROUND;                                                              \
    SYNR_SIPROUND;                                                              \
    SYNR_SIPROUND;                                                              \
    SYNR_SIPROUND;                                                              \
  } while (0)

/* HalfSipHash-2-4 of four words under the key (k0, k1), as halfSipHash in engine/tcp/syncookie.ts. */
SYNR_HASH_INLINE __u32 synr_half_siphash4_inline(__u32 k0, __u32 k1, __u32 m0, __u32 m1, __u32 m2, __u32 m3) {
  __u32 v0 = k0, v1 = k1, v2 = 0x6c796765u ^ k0, v3 = 0x74656462u ^ k1;
  SYNR_SIP_WORD(m0);
  SYNR_SIP_WORD(m1);
  SYNR_SIP_WORD(m2);
  SYNR_SIP_WORD(m3);
  SYNR_SIP_FINISH(16);
  return v1 ^ v3;
}

/*
 * HalfSipHash-2-4 of ten words under the key (k0, k1), as halfSipHashN(k0, k1, m, 10) in
 * engine/tcp/syncookie.ts: the IPv6 cookie's hash (our address and the peer's as big-endian words, the ports,
 * then 0 or the count). Only the eBPF responder uses it (the RX thread's answers IPv4 alone).
 */
SYNR_HASH_INLINE __u32 synr_half_siphash10_inline(__u32 k0, __u32 k1, const __u32 *m) {
  __u32 v0 = k0, v1 = k1, v2 = 0x6c796765u ^ k0, v3 = 0x74656462u ^ k1;
  for (int i = 0; i < 10; i++) SYNR_SIP_WORD(m[i]);
  SYNR_SIP_FINISH(40);
  return v1 ^ v3;
}

/* TcpCore.mix's round. */
SYNR_HASH_INLINE __u32 synr_mix_round(__u32 h, __u32 w, __u32 k) {
  __u32 x = (h ^ w) * 0x9e3779b1u;
  x = synr_rotl(x, 13);
  return (x * 0x85ebca77u) ^ k;
}

/* TcpCore.tsOffsetFor(laddr, lport, raddr, rport) under the secret k0..k3: the flow's timestamp offset. */
SYNR_HASH_INLINE __u32 synr_ts_offset(__u32 k0, __u32 k1, __u32 k2, __u32 k3, __u32 laddr, __u32 lport, __u32 raddr,
                                      __u32 rport) {
  __u32 h = k0 ^ 0x5bd1e995u;
  h = synr_mix_round(h, laddr, k1);
  h = synr_mix_round(h, (lport << 16) | rport, k2);
  h = synr_mix_round(h, raddr, k3);
  h = synr_mix_round(h, k1 ^ k2, k0);
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  return h;
}

#endif
