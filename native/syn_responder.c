/*
 * Native SYN-cookie responder, run by the TAP RX thread (see syn_responder.h).
 *
 * Why: under a SYN flood at the rate one core can send, every flood SYN
 * costs the JS path a read() on the RX thread, a wake-up and the parse and
 * cookie in JS, a copy into the TX ring and a write() on the TX thread. The
 * stack then falls behind, the kernel's TAP queue (and the TX ring) drop
 * frames at random, and a legitimate client that loses one frame waits a
 * whole SYN retransmission timeout (1 s). Linux answers the flood in its
 * softirq; here the RX thread answers it itself: read(), a few hundred
 * nanoseconds of parse and hash, and the batch's SYN-ACKs written in one
 * system call after the batch (below). JS never sees the flood.
 *
 * What: when the stack (src/engine/tcp/passive.ts) answers a SYN with a
 * cookie because a listener's request queue overflowed (RFC 4987 3.6), it
 * activates an entry here for that listener's address and port for a short
 * hold, with what its SYN-ACK carries (MSS, window, window scale) and, in
 * the configuration words, the keys of its cookie hash and of its timestamp
 * offsets. While the entry is active, pure SYNs to it are answered here with
 * the very SYN-ACK the stack would send: the same cookie (HalfSipHash-2-4
 * layout of engine/tcp/syncookie.ts, Linux's syncookies.c), the same
 * options in the same order, the same TSval (clock + per-flow offset, low
 * bits carrying the peer's window scale and SACK, Linux's
 * cookie_init_timestamp). The ACK that completes the handshake goes to JS,
 * which validates the cookie with the same keys and makes the connection.
 *
 * Second: when the RX ring is three quarters full, pure SYNs (IPv4 or IPv6)
 * that are not answered here are dropped and counted instead of queued, so
 * the ring's last quarter, and the kernel's queue behind it, stays for the
 * segments of connections (a cookie ACK, data, FIN): a lost SYN costs its
 * sender a retransmission, as a full SYN queue does in Linux, while a lost
 * ACK would cost an established exchange the same.
 *
 * Shared words (int32, layout below; JS in src/link/syn-responder.ts writes
 * the configuration and the entries, this thread the counters). An entry is
 * written field by field and its deadline last; a SYN that meets an entry
 * being rewritten may see an old window for one SYN-ACK, nothing worse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#ifdef __linux__
#include <pthread.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#endif

#include "syn_responder.h"
#include "synr_hash.h"
#include "tap_uring.h"
#include "vnet.h"

enum {
  W_VERSION = 0,   /* layout version, written by C */
  W_ON = 1,        /* JS: 1 once configured */
  W_TTL = 2,       /* JS: IP TTL of our SYN-ACKs */
  W_OPTS = 3,      /* JS: bit 0 timestamps, bit 1 SACK, bit 2 window scaling (the stack's sysctls) */
  W_KEY = 4,       /* JS: 4 words, the cookie hash keys (SynCookies) */
  W_SECRET = 8,    /* JS: 4 words, the timestamp-offset secret (TcpCore.tsOffsetFor) */
  W_ANSWERED = 12, /* C: SYNs answered with a cookie */
  W_DROPPED = 13,  /* C: pure SYNs dropped because the RX ring was nearly full */
  W_TX_ERRORS = 14, /* C: SYN-ACK write() failures */
  W_ENTRIES = 15,  /* JS: entries in use (0..SYNR_ENTRIES) */
  W_QUEUE_FULL = 18, /* C: SYN-ACKs dropped because the writer's queue was full */
  W_CLOCK = 16,    /* JS: float64 at byte 64: engine clock (ms) = CLOCK_MONOTONIC ms + this */
  W_ENTRY0 = 32,   /* entries: SYNR_ENTRY_WORDS words each */
  SYNR_ENTRIES = 8,
  SYNR_ENTRY_WORDS = 8, /* addr, port, mss, window, wscale, -, float64 deadline (engine clock ms) */
  W_TOTAL = W_ENTRY0 + SYNR_ENTRIES * SYNR_ENTRY_WORDS
};
#define SYNR_VERSION 1

/*
 * The RX thread writes the SYN-ACKs itself (state 4): those of a batch of
 * reads (ws_synr_hold) in one io_uring submission once the batch is answered
 * (tap_uring.c), a lone SYN's at once. The flood then has one queue, the
 * kernel's TAP queue in front of the RX thread, and every SYN read is
 * answered. A writer thread of its own used to take them through an SPSC
 * queue, to write on another core; on this 2-core guest, with the flood
 * sender on one core, both shared the other, the writer was woken once per
 * RX batch, and while it was descheduled its OUT_SLOTS queue filled and
 * further SYNs went unanswered, legitimate ones among them (each a 1 s SYN
 * retransmission): bench/syn-flood.ts counted 25k-94k/s at the sender's
 * maximum (W_QUEUE_FULL). WIRESTACK_SYNR_WRITER=1 in the environment brings
 * the writer back, to compare (woken as tap_thread.c's TX thread: a futex
 * word it sets before sleeping; if pthread_create fails, write() inline).
 */
#define OUT_SLOTS 4096u /* the writer thread's queue, ~30 ms of a flood; inline, at most a batch is queued */
#define OUT_SLOT 96u /* vnet header + the largest SYN-ACK (14 + 20 + 40) */

struct ws_synr {
  int32_t *w;
  uint8_t out[WS_VNET_HDR_LEN + 14 + 20 + 40];
  int fd, vnet;
  int state;               /* 0 no SYN-ACK yet, 1 writer running, 2 writer failed to start (write() inline), 3 stopped,
                              4 the RX thread writes in batches (the default) */
  int32_t head;            /* RX thread (atomic) */
  int32_t tail;            /* writer (atomic); state 4: the RX thread */
  int32_t sleep;           /* writer: 1 while it sleeps (futex word) */
  int stop;                /* atomic */
  int held;                /* RX thread: 1 while it reads a batch (ws_synr_hold): the writer is woken once, after it */
  const int32_t *uring_on; /* the TAP ring's switch word (non-zero: batch the writes through io_uring), or NULL: off */
  int writer_thread;       /* WIRESTACK_SYNR_WRITER=1: the SYN-ACKs go to a writer thread (to compare; see above) */
  ws_uring_slot_t rx_ring; /* state 4: the RX thread's ring for its SYN-ACK batches */
  int fixed;               /* ws_synr_answer_for_test: answer() reads fixed_now instead of the clock */
  double fixed_now;
#ifdef __linux__
  pthread_t writer;
#endif
  uint16_t lens[OUT_SLOTS];
  uint8_t slots[OUT_SLOTS][OUT_SLOT];
};

static inline int32_t ld(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void bump(int32_t *p) { __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }
static inline double ldd(const int32_t *p) {
  double d;
  memcpy(&d, p, sizeof d);
  return d;
}

/* The engine's clock, ms (CLOCK_MONOTONIC aligned by JS). */
static double now_ms(const int32_t *w) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6 + ldd(&w[W_CLOCK]);
}

#ifdef __linux__
/* Up to WS_URING_BATCH queued SYN-ACKs from `tail` in one system call (tap_uring.c); how many, 0: write() them. */
static uint32_t write_batch(ws_synr_t *r, ws_uring_slot_t *ring, uint32_t tail, uint32_t queued) {
  if (queued < 2 || r->uring_on == NULL || __atomic_load_n(r->uring_on, __ATOMIC_RELAXED) == 0) return 0;
  unsigned n = queued < WS_URING_BATCH ? queued : WS_URING_BATCH;
  uint8_t *buf[WS_URING_BATCH];
  uint32_t len[WS_URING_BATCH];
  int32_t res[WS_URING_BATCH];
  for (unsigned i = 0; i < n; i++) {
    uint32_t s = (tail + i) & (OUT_SLOTS - 1);
    buf[i] = r->slots[s];
    len[i] = r->lens[s];
  }
  if (ws_uring_slot_write(ring, r->fd, buf, len, n, res) < 0) return 0;
  for (unsigned i = 0; i < n; i++) bump(&r->w[res[i] < 0 ? W_TX_ERRORS : W_ANSWERED]);
  return n;
}

/*
 * Write the queued SYN-ACKs tail..head (batches through `ring`, else one write() each), publishing the tail after
 * each step so that the producer sees the slots free; the new tail. The writer thread and the RX thread (state 4)
 * both drain through here, each with its own ring.
 */
static uint32_t write_queued(ws_synr_t *r, ws_uring_slot_t *ring, uint32_t tail, uint32_t head) {
  while (tail != head) {
    uint32_t batched = write_batch(r, ring, tail, head - tail);
    if (batched > 0) {
      tail += batched;
    } else {
      uint32_t s = tail & (OUT_SLOTS - 1);
      ssize_t wr;
      do {
        wr = write(r->fd, r->slots[s], r->lens[s]);
      } while (wr < 0 && errno == EINTR);
      bump(&r->w[wr < 0 ? W_TX_ERRORS : W_ANSWERED]);
      tail++;
    }
    __atomic_store_n(&r->tail, (int32_t)tail, __ATOMIC_RELEASE);
  }
  return tail;
}

static void *writer_main(void *arg) {
  ws_synr_t *r = (ws_synr_t *)arg;
  uint32_t tail = (uint32_t)r->tail;
  ws_uring_slot_t ring = { NULL, 0 }; /* this thread's ring, created when a batch first waits */
  for (;;) {
    uint32_t head = (uint32_t)__atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (head == tail) {
      if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) break;
      __atomic_store_n(&r->sleep, 1, __ATOMIC_SEQ_CST);
      if ((uint32_t)__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) == tail && !__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        (void)syscall(SYS_futex, &r->sleep, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
      }
      __atomic_store_n(&r->sleep, 0, __ATOMIC_SEQ_CST);
      continue;
    }
    tail = write_queued(r, &ring, tail, head);
  }
  ws_uring_free(ring.u);
  return NULL;
}
#endif

#ifdef __linux__
/* State 4: the RX thread writes the SYN-ACKs it queued, in batches of up to WS_URING_BATCH per system call. */
static void flush_inline(ws_synr_t *r) {
  (void)write_queued(r, &r->rx_ring, (uint32_t)r->tail, (uint32_t)r->head);
}

static void wake_writer(ws_synr_t *r) {
  if (__atomic_load_n(&r->sleep, __ATOMIC_SEQ_CST) != 0 && __atomic_exchange_n(&r->sleep, 0, __ATOMIC_SEQ_CST) != 0) {
    (void)syscall(SYS_futex, &r->sleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
}
#endif

/*
 * RX thread, around a batch of reads: while held, SYN-ACKs are queued; releasing writes them (state 4, in one
 * io_uring submission) or, with the writer thread, wakes it once if it sleeps (a wake per SYN-ACK made the writer
 * take them one or two at a time, a futex wake and a context switch each). NULL: nothing.
 */
void ws_synr_hold(ws_synr_t *r, int on) {
  if (r == NULL) return;
  r->held = on;
#ifdef __linux__
  if (!on && r->state == 4) {
    flush_inline(r);
    return;
  }
  if (!on && r->state == 1 && (uint32_t)__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) != (uint32_t)r->head) wake_writer(r);
#endif
}

/* RX thread: send a built frame (`len` bytes at `buf`, its vnet header included when vnet != 0). */
static void send_frame(ws_synr_t *r, int fd, int vnet, const uint8_t *buf, size_t len) {
#ifdef __linux__
  if (r->state == 0 && !r->writer_thread) {
    r->fd = fd;
    r->vnet = vnet;
    r->state = 4;
  }
  if (r->state == 4) {
    uint32_t head = (uint32_t)r->head;
    if (head - (uint32_t)r->tail >= OUT_SLOTS) flush_inline(r);
    uint32_t s = head & (OUT_SLOTS - 1);
    memcpy(r->slots[s], buf, len);
    r->lens[s] = (uint16_t)len;
    r->head = (int32_t)(head + 1);
    if (!r->held) flush_inline(r);
    return;
  }
  if (r->state == 0) {
    r->fd = fd;
    r->vnet = vnet;
    r->state = pthread_create(&r->writer, NULL, writer_main, r) == 0 ? 1 : 2; /* signals: the RX thread's full mask */
    if (r->state == 1) pthread_setname_np(r->writer, "wirestack-synw");
  }
  if (r->state == 1) {
    uint32_t head = (uint32_t)r->head;
    if (head - (uint32_t)__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= OUT_SLOTS) {
      bump(&r->w[W_QUEUE_FULL]); /* the writer is behind: this SYN goes unanswered, as a dropped one */
      return;
    }
    uint32_t s = head & (OUT_SLOTS - 1);
    memcpy(r->slots[s], buf, len);
    r->lens[s] = (uint16_t)len;
    __atomic_store_n(&r->head, (int32_t)(head + 1), __ATOMIC_SEQ_CST);
    if (!r->held) wake_writer(r);
    return;
  }
#endif
  ssize_t wr;
  do {
    wr = write(fd, buf, len);
  } while (wr < 0 && errno == EINTR);
  if (wr < 0) bump(&r->w[W_TX_ERRORS]);
  else bump(&r->w[W_ANSWERED]);
}

void ws_synr_set_uring(ws_synr_t *r, const int32_t *on) { r->uring_on = on; }

void ws_synr_stop(ws_synr_t *r) {
  if (r == NULL) return;
#ifdef __linux__
  if (r->state == 1) {
    __atomic_store_n(&r->stop, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->sleep, 0, __ATOMIC_SEQ_CST);
    (void)syscall(SYS_futex, &r->sleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    (void)pthread_join(r->writer, NULL);
  }
  if (r->state == 4) ws_uring_free(r->rx_ring.u); /* the RX thread has stopped (ws_synr_stop is called after) */
#endif
  r->state = 3;
}

ws_synr_t *ws_synr_create(void **mem, size_t *size) {
  ws_synr_t *r = (ws_synr_t *)calloc(1, sizeof *r);
  void *m = NULL;
  if (r == NULL || posix_memalign(&m, 64, W_TOTAL * 4) != 0) {
    free(r);
    return NULL;
  }
  memset(m, 0, W_TOTAL * 4);
  r->w = (int32_t *)m;
  r->w[W_VERSION] = SYNR_VERSION;
  const char *wt = getenv("WIRESTACK_SYNR_WRITER");
  r->writer_thread = wt != NULL && wt[0] == '1';
  *mem = m;
  *size = W_TOTAL * 4;
  return r;
}

void ws_synr_free(ws_synr_t *r) {
  if (r == NULL) return;
  ws_synr_stop(r);
  free(r->w);
  free(r);
}

/* The cookie's HalfSipHash and the timestamp offset: synr_hash.h, shared with the eBPF responder. */
static uint32_t half_siphash4(uint32_t k0, uint32_t k1, uint32_t m0, uint32_t m1, uint32_t m2, uint32_t m3) {
  return synr_half_siphash4_inline(k0, k1, m0, m1, m2, m3);
}

/* TcpCore.tsOffsetFor(laddr, lport, raddr, rport) under the secret in the shared words. */
static uint32_t ts_offset(const int32_t *w, uint32_t laddr, uint32_t lport, uint32_t raddr, uint32_t rport) {
  return synr_ts_offset((uint32_t)ld(&w[W_SECRET]), (uint32_t)ld(&w[W_SECRET + 1]), (uint32_t)ld(&w[W_SECRET + 2]),
                        (uint32_t)ld(&w[W_SECRET + 3]), laddr, lport, raddr, rport);
}

static inline uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
  for (; n > 1; n -= 2, p += 2) s += (uint32_t)((p[0] << 8) | p[1]);
  if (n != 0) s += (uint32_t)p[0] << 8;
  return s;
}
static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

/* Linux's IPv4 msstab, as COOKIE_MSS in syncookie.ts. */
static const uint16_t COOKIE_MSS[4] = { 536, 1300, 1440, 1460 };

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* A pure SYN (no ACK, RST, FIN) in an untagged IPv4 or IPv6 frame, whatever its address. */
static int pure_syn(const uint8_t *f, size_t len) {
  if (len < 14) return 0;
  uint16_t type = get16(f + 12);
  if (type == 0x0800) {
    if (len < 14 + 20 || (f[14] >> 4) != 4 || f[14 + 9] != 6) return 0;
    size_t ihl = (size_t)(f[14] & 0xf) * 4;
    if ((get16(f + 14 + 6) & 0x3fff) != 0 || len < 14 + ihl + 20) return 0; /* a fragment: JS reassembles it */
    return (f[14 + ihl + 13] & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_SYN;
  }
  if (type == 0x86dd) {
    if (len < 14 + 40 + 20 || f[14 + 6] != 6) return 0; /* only TCP right after the fixed header */
    return (f[14 + 40 + 13] & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_SYN;
  }
  return 0;
}

/* Answer a pure IPv4 SYN for an active entry; 1 when answered (or its answer failed, counted), 0 to pass it on. */
static int answer(ws_synr_t *r, int fd, int vnet, const uint8_t *vh, const uint8_t *f, size_t len) {
  int32_t *w = r->w;
  int n = ld(&w[W_ENTRIES]);
  if (n <= 0 || ld(&w[W_ON]) == 0 || get16(f + 12) != 0x0800 || (f[0] & 1) != 0) return 0;
  const uint8_t *ip = f + 14;
  size_t ihl = (size_t)(ip[0] & 0xf) * 4;
  size_t total = get16(ip + 2);
  if (ihl < 20 || total < ihl + 20 || total > len - 14) return 0;
  const uint8_t *th = ip + ihl;
  size_t thl = (size_t)(th[12] >> 4) * 4;
  if (thl < 20 || ihl + thl > total) return 0;
  uint32_t src = get32(ip + 12), dst = get32(ip + 16);
  /* Sources the stack would not answer (RFC 1122 3.2.1.3, 4.2.3.10): leave them to JS, which counts them. */
  uint32_t top = src >> 24;
  if (src == 0 || src == 0xffffffffu || top == 127 || top >= 224) return 0;
  uint32_t sport = get16(th), dport = get16(th + 2);
  double now = r->fixed ? r->fixed_now : now_ms(w);
  const int32_t *e = NULL;
  if (n > SYNR_ENTRIES) n = SYNR_ENTRIES;
  for (int i = 0; i < n; i++) {
    const int32_t *c = &w[W_ENTRY0 + i * SYNR_ENTRY_WORDS];
    if ((uint32_t)ld(&c[1]) == dport && (uint32_t)ld(&c[0]) == dst && ldd(&c[6]) > now) {
      e = c;
      break;
    }
  }
  if (e == NULL) return 0;
  /* Checksums, unless the kernel vouched for the transport's (offload). A bad one goes to JS, which counts it. */
  if (fold(sum16(ip, ihl, 0)) != 0xffff) return 0;
  if (!(vnet != 0 && (vh[WS_VH_FLAGS] & 3) != 0)) { /* DATA_VALID, or NEEDS_CSUM: a local sender's, partial */
    size_t tl = total - ihl;
    uint32_t s = sum16(th, tl, (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)tl);
    if (fold(s) != 0xffff) return 0;
  }
  /* The peer's options (RFC 9293 3.1; RFC 7323; RFC 2018). Malformed ones go to JS. */
  int mss = 0, wscale = -1, sack_ok = 0, has_ts = 0;
  uint32_t peer_tsval = 0;
  for (size_t p = 20; p < thl;) {
    uint8_t kind = th[p];
    if (kind == 0) break;
    if (kind == 1) {
      p++;
      continue;
    }
    if (p + 1 >= thl) return 0;
    size_t ol = th[p + 1];
    if (ol < 2 || p + ol > thl) return 0;
    if (kind == 2 && ol == 4) mss = get16(th + p + 2);
    else if (kind == 3 && ol == 3) wscale = th[p + 2];
    else if (kind == 4 && ol == 2) sack_ok = 1;
    else if (kind == 8 && ol == 10) {
      has_ts = 1;
      peer_tsval = get32(th + p + 2);
    }
    p += ol;
  }
  const int32_t opts = ld(&w[W_OPTS]);
  int use_ts = (opts & 1) != 0 && has_ts;
  int use_ws = use_ts && (opts & 4) != 0 && wscale >= 0;
  int use_sack = use_ts && (opts & 2) != 0 && sack_ok;
  if (wscale > 14) wscale = 14;

  /* The cookie: SynCookies.make. */
  uint32_t peer_isn = get32(th + 4);
  int peer_mss = mss > 0 ? mss : 536;
  int mss_index = 3;
  while (mss_index > 0 && peer_mss < COOKIE_MSS[mss_index]) mss_index--;
  uint32_t count = (uint32_t)(int64_t)(now / 60000.0) & 0xff;
  uint32_t ports = (dport << 16) | sport;
  uint32_t h1 = half_siphash4((uint32_t)ld(&w[W_KEY]), (uint32_t)ld(&w[W_KEY + 1]), dst, src, ports, 0);
  uint32_t h2 = half_siphash4((uint32_t)ld(&w[W_KEY + 2]), (uint32_t)ld(&w[W_KEY + 3]), dst, src, ports, count);
  uint32_t iss = h1 + peer_isn + (count << 24) + ((h2 + (uint32_t)mss_index) & 0xffffff);
  uint32_t tsval = 0;
  if (use_ts) {
    /* cookieTsVal: the clock plus the flow's offset, low 6 bits = window scale (0xf: none) and SACK. */
    uint32_t ts_now = (uint32_t)(int64_t)now + ts_offset(w, dst, dport, src, sport);
    uint32_t o = use_ws ? (uint32_t)wscale : 0xfu;
    if (use_sack) o |= 0x10;
    tsval = (ts_now & ~63u) | o;
    if ((int32_t)(tsval - ts_now) > 0) tsval -= 64;
  }

  /* The SYN-ACK, as TcpPassive.sendSynAck writes it. */
  uint8_t *out = r->out;
  memset(out, 0, WS_VNET_HDR_LEN); /* no offload for this frame */
  uint8_t *o = out + WS_VNET_HDR_LEN;
  memcpy(o, f + 6, 6);
  memcpy(o + 6, f, 6);
  o[12] = 0x08;
  o[13] = 0x00;
  uint8_t *oi = o + 14, *ot = oi + 20;
  size_t q = 20;
  ot[q] = 2; ot[q + 1] = 4; put16(ot + q + 2, (uint32_t)ld(&e[2])); q += 4;
  if (use_sack) { ot[q] = 4; ot[q + 1] = 2; q += 2; }
  if (use_ts) { ot[q] = 8; ot[q + 1] = 10; put32(ot + q + 2, tsval); put32(ot + q + 6, peer_tsval); q += 10; }
  if (use_ws) { ot[q] = 1; ot[q + 1] = 3; ot[q + 2] = 3; ot[q + 3] = (uint8_t)ld(&e[4]); q += 4; }
  while ((q & 3) != 0) ot[q++] = 1;
  put16(ot, dport);
  put16(ot + 2, sport);
  put32(ot + 4, iss);
  put32(ot + 8, peer_isn + 1);
  ot[12] = (uint8_t)((q / 4) << 4);
  ot[13] = TH_SYN | TH_ACK;
  put16(ot + 14, (uint32_t)ld(&e[3]));
  put16(ot + 16, 0);
  put16(ot + 18, 0);
  put16(ot + 16, (uint16_t)~fold(sum16(ot, q, (dst >> 16) + (dst & 0xffff) + (src >> 16) + (src & 0xffff) + 6 + (uint32_t)q)));
  oi[0] = 0x45;
  oi[1] = 0;
  put16(oi + 2, (uint32_t)(20 + q));
  put16(oi + 4, 0);    /* identification: unused with DF (RFC 6864 4.1) */
  put16(oi + 6, 0x4000); /* DF */
  oi[8] = (uint8_t)ld(&w[W_TTL]);
  oi[9] = 6;
  put16(oi + 10, 0);
  put32(oi + 12, dst);
  put32(oi + 16, src);
  put16(oi + 10, (uint16_t)~fold(sum16(oi, 20, 0)));
  size_t flen = 14 + 20 + q;
  if (vnet != 0) send_frame(r, fd, vnet, out, WS_VNET_HDR_LEN + flen);
  else send_frame(r, fd, vnet, o, flen);
  return 1;
}

/* For tests: the frame answer() would send for `frame` under the words `cfg` (W_TOTAL of them, the layout
 * above), with the engine clock at `now` (ms); written inline to a pipe and read back. Returns its length
 * (no vnet header), 0 when the SYN would be passed on to JS, -1 on an error. */
int ws_synr_answer_for_test(const int32_t *cfg, size_t cfg_words, double now, const uint8_t *frame, size_t len,
                            uint8_t *out, size_t cap) {
  if (cfg_words < W_TOTAL || cfg[W_VERSION] != SYNR_VERSION) return -1;
  void *mem = NULL;
  size_t size = 0;
  ws_synr_t *r = ws_synr_create(&mem, &size);
  if (r == NULL) return -1;
  memcpy(r->w, cfg, W_TOTAL * 4);
  r->fixed = 1;
  r->fixed_now = now;
  r->state = 2; /* no writer thread: write inline */
  int fds[2];
  if (pipe(fds) != 0) {
    ws_synr_free(r);
    return -1;
  }
  int n = 0;
  if (answer(r, fds[1], 0, NULL, frame, len)) {
    ssize_t rd = read(fds[0], out, cap);
    n = rd > 0 ? (int)rd : -1;
  }
  close(fds[0]);
  close(fds[1]);
  ws_synr_free(r);
  return n;
}

int ws_synr_busy(ws_synr_t *r) {
  if (r == NULL || ld(&r->w[W_ON]) == 0) return 0;
  int n = ld(&r->w[W_ENTRIES]);
  if (n > SYNR_ENTRIES) n = SYNR_ENTRIES;
  double now = now_ms(r->w);
  for (int i = 0; i < n; i++) {
    if (ldd(&r->w[W_ENTRY0 + i * SYNR_ENTRY_WORDS + 6]) > now) return 1;
  }
  return 0;
}

int ws_synr_rx(ws_synr_t *r, int fd, int vnet, const uint8_t *vh, const uint8_t *frame, size_t len, uint32_t fill,
               uint32_t slots) {
  if (!pure_syn(frame, len)) return 0;
  if (answer(r, fd, vnet, vh, frame, len)) return 1;
  if (fill >= slots - slots / 4) {
    bump(&r->w[W_DROPPED]);
    return 1;
  }
  return 0;
}
