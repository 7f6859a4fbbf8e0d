/*
 * Shared layout of the eBPF SYN-cookie responder's maps (syn_responder.bpf.c,
 * attached at the TAP device's tcx egress) and of their user-space side (the
 * addon's bpf loader, src/link/syn-responder-bpf.ts). Plain fixed-width
 * fields only: the same bytes are read by the BPF program, C and JS.
 *
 * Why a second responder beside the RX thread's (native/syn_responder.c):
 * a flood sender on this host writes its SYNs through the kernel to the TAP
 * device, and Linux's own TCP answers a SYN inside the sender's system call
 * (softirq on its CPU), which throttles the sender. The RX thread answers
 * after the frame has crossed to user space, on another CPU, so the sender
 * runs unthrottled and the RX thread and the stack's JS thread share what is
 * left. Answered at the device's egress, a flood SYN never leaves the
 * kernel: the SYN-ACK is built in place and redirected to the device's
 * ingress, all in the sender's context, as Linux does (and as XDP
 * synproxies do).
 */
#ifndef WIRESTACK_SYNR_MAP_H
#define WIRESTACK_SYNR_MAP_H

#include <linux/types.h>

/* 2: entries carry a family, an IPv6 address and a hop limit (1 was IPv4 only). */
#define SYNR_BPF_VERSION 2
#define SYNR_BPF_ENTRIES 8

/* synr_entry.family */
#define SYNR_BPF_INET 4
#define SYNR_BPF_INET6 6

/* Option bits of synr_cfg.opts, as SYNR_* in engine/tcp/syn-responder.ts. */
#define SYNR_BPF_TIMESTAMPS 1
#define SYNR_BPF_SACK 2
#define SYNR_BPF_WSCALE 4

struct synr_entry {
  __u32 addr;     /* SYNR_BPF_INET: listener's IPv4 address, host byte order (10.0.0.2 = 0x0a000002) */
  __u32 port;     /* listener's port, host byte order */
  __u32 mss;      /* MSS our SYN-ACK advertises */
  __u32 window;   /* window field of our SYN-ACK (unscaled, as sent) */
  __u32 wscale;   /* our window scale, sent when the peer offered one (and timestamps allow it) */
  __u32 family;   /* SYNR_BPF_INET or SYNR_BPF_INET6; any other value matches nothing */
  __u64 until_ns; /* engine clock, ns: the entry answers while engine time < until_ns */
  __u32 addr6[4]; /* SYNR_BPF_INET6: listener's IPv6 address as its four big-endian words, each in host byte
                   * order (fd00::2 = 0xfd000000, 0, 0, 2): the words the engine's IPv6 cookie hashes */
  __u32 hop_limit; /* SYNR_BPF_INET6: hop limit of our SYN-ACKs (the interface's, as Ipv6.output6 picks it:
                    * a router's Cur Hop Limit, else the stack's ttl); IPv4 uses synr_cfg.ttl */
  __u32 pad;
};

/* Key 0 of map "synr_cfg" (BPF_MAP_TYPE_ARRAY, 1 entry): written by user space only. */
struct synr_cfg {
  __u32 version;      /* SYNR_BPF_VERSION */
  __u32 on;           /* 0: pass everything */
  __u32 ttl;          /* IPv4 TTL of our SYN-ACKs */
  __u32 opts;         /* SYNR_BPF_* (the stack's sysctls) */
  __u32 key[4];       /* cookie hash keys: H1 = key[0..1], H2 = key[2..3] (engine/tcp/syncookie.ts) */
  __u32 secret[4];    /* timestamp-offset secret (TcpCore.tsOffsetFor) */
  __u32 n_entries;    /* entries in use, 0..SYNR_BPF_ENTRIES */
  __u32 pad;
  __u64 clock_off_ns; /* engine clock ns = CLOCK_MONOTONIC ns (bpf_ktime_get_ns) + clock_off_ns, mod 2^64 */
  __u64 fixed_ns;     /* tests only: non-zero = engine clock ns to use instead (BPF_PROG_TEST_RUN) */
  struct synr_entry entries[SYNR_BPF_ENTRIES];
};

/* Key 0 of map "synr_stats" (BPF_MAP_TYPE_ARRAY, 1 entry): written by the program only (atomic adds). */
struct synr_stats {
  __u64 answered;  /* SYNs answered with a cookie SYN-ACK redirected to the device's ingress */
  __u64 redirect_failed; /* bpf_skb_change_tail / store failures: the SYN was passed on instead */
  __u64 passed;    /* pure SYNs to an active entry passed on to the stack (bad checksum, IP options, payload, ...) */
};

#endif
