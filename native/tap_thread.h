/*
 * Threaded TAP I/O (tap_thread.c): the shared-memory header words, the
 * handle, and the RX/TX thread loops (tap_thread_loops.c) that the Node-API
 * side starts and wakes. See tap_thread.c for the design.
 */
#ifndef WIRESTACK_TAP_THREAD_H
#define WIRESTACK_TAP_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <node_api.h>

#include "vnet.h"
#include "syn_responder.h"
#include "tap_uring.h"

#ifdef __linux__
#include <pthread.h>
#include <uv.h>
#endif

/* Header words (int32). Hot indices get a 64-byte line each. */
enum {
  H_RX_HEAD = 0,     /* RX thread */
  H_RX_TAIL = 16,    /* JS */
  H_TX_HEAD = 32,    /* JS */
  H_TX_TAIL = 48,    /* TX thread */
  H_TX_SLEEP = 64,   /* 1: the TX thread sleeps (or is about to) on this word */
  H_RX_WAIT = 80,    /* 1: the RX ring was full and the RX thread waits for space */
  /* counters, written by one thread each */
  H_TX_DROPS = 96,   /* write() said EAGAIN/ENOBUFS: the frame is lost */
  H_TX_ERRORS = 97,  /* other write() errors (EIO while down, ...) */
  H_RX_ERRORS = 98,  /* read() errors other than EAGAIN */
  H_RX_WAKES = 99,   /* JS callbacks requested */
  H_TX_SLEEPS = 100, /* futex sleeps of the TX thread */
  H_RX_STALLS = 101, /* times the RX thread waited for JS to consume */
  H_TX_DIRECT = 102, /* frames push() wrote itself on the JS thread (JS thread only) */
  H_RX_HANDOFFS = 103, /* times the RX thread handed the fd to JS after RX_QUIET_MS of silence */
  H_SPIN_HITS = 104, /* busy-polls before blocking that saw the fd readable (JS thread only) */
  H_SPIN_MISSES = 105, /* busy-polls that ran out their window (JS thread only) */
  H_RX_URING = 106,  /* frames the RX thread read through io_uring batches (rx_batch) */
  H_TX_URING = 107,  /* frames the TX thread wrote through io_uring batches (tx_batch) */
  /* layout, written once before the threads start */
  H_SLOTS = 112,
  H_SLOT_SIZE = 113,
  H_RX_LENS = 114,   /* byte offsets into memory */
  H_TX_LENS = 115,
  H_RX_DATA = 116,
  H_TX_DATA = 117,
  /* JS thread only: 1 lets the next push() write directly (see thread_push) */
  H_TX_ARM = 120,
  /* 1 (written by JS): the RX thread may hand the fd to JS when it goes quiet (see hand_to_js) */
  H_RX_HANDOFF_OK = 121,
  /* who reads the fd: 0 the RX thread, 1 JS (each side stores it only while it is the reader) */
  H_RX_OWNER = 122,
  /* layout: bytes of virtio_net_hdr in front of each frame in the TX slots (0 or 10; RX lengths then carry flags, vnet.h) */
  H_VNET_HDR = 123,
  /* the busy-poll window's ceiling in µs (written by JS; 0 turns the busy-poll off) */
  H_SPIN_MAX_US = 124,
  /* 1 (written by push): a frame went out while JS held the fd; the loop's next block is preceded by a busy-poll */
  H_SPIN_ARM = 125,
  /* 1: the RX and TX threads batch their reads and writes through io_uring (tap_uring.c) when the kernel has it;
   * 0: one syscall per frame. Starts as WIRESTACK_TAP_URING says (default 1); JS may store either at any time. */
  H_URING = 126,
  H_WORDS = 128
};

#ifdef __linux__

typedef struct {
  napi_env env;
  int fd;
  int vnet;              /* virtio_net_hdr bytes per frame (0 or WS_VNET_HDR_LEN) */
  int evfd;              /* wakes the RX thread: stop, or space in a full ring */
  uint32_t slots;        /* power of two */
  uint32_t slot_size;     /* bytes per slot, a multiple of 64 (at least the caller's slotSize) */
  uint8_t *mem;
  size_t mem_size;
  int32_t *h;            /* header words, at mem */
  int32_t *rx_lens, *tx_lens;
  uint8_t *rx_data, *tx_data;
  pthread_t rx_thread, tx_thread;
  uint32_t tx_head;       /* JS thread's copy of H_TX_HEAD (it is the only producer) */
  uint32_t tx_tail_seen;  /* last H_TX_TAIL read: while it shows room, push skips the atomic load */
  int stop;              /* atomic: 1 asks both threads to end */
  bool running;          /* threads started and not yet joined (JS thread only) */
  bool in_cleanup_hook;
  napi_threadsafe_function tsfn;
  napi_async_context async;
  uv_prepare_t prep;     /* the busy-poll before the event loop blocks (spin_before_block) */
  bool prep_open;        /* prep initialised and not yet closed */
  uint32_t spin_us;      /* the busy-poll's current window (adaptive, at most H_SPIN_MAX_US) */
  uint32_t spin_skip;    /* armings left before a window of 0 is probed again */
  int refs;              /* owners, all on the JS thread: handle external, ArrayBuffer, tsfn, push function, prep */
  ws_synr_t *synr;       /* atomic: the native SYN-cookie responder (syn_responder.c), once JS attached one */
  /* Batched I/O (tap_uring.c), each ring created and used by its own thread; NULL until needed or when unavailable. */
  ws_uring_slot_t rx_ring, tx_ring;
  unsigned rx_want;      /* RX thread: reads the next batch issues (adaptive, see rx_batch) */
  bool rx_nap_idle;      /* RX thread: it napped (rx_flood_nap) and no frame has come since */
  uint8_t rx_vh[WS_URING_BATCH][WS_VNET_HDR_LEN]; /* RX thread: the batch's virtio_net_hdrs */
} tt_t;

static inline int32_t ld(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void st(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int32_t ld_acq(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void st_rel(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void bump(int32_t *p) { __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }

/* Wake a thread sleeping on a header word (the TX thread on H_TX_SLEEP). */
void tt_futex_wake(int32_t *addr);
/* Signal the RX thread's eventfd: stop, or space in a full RX ring. */
void tt_evfd_signal(int fd);
/* The RX and TX thread bodies; arg is the tt_t. */
void *tt_rx_main(void *arg);
void *tt_tx_main(void *arg);

/*
 * The busy-poll's default ceiling: off. Measured on this 2-core guest under
 * a load of 10-17 (bench/chatty.ts's exchanges, spin on and off alternating
 * in one process, 12 runs each): 100 µs caught 87 % of the replies but the
 * median run took 129 ms against 99 ms without (200 µs: 226 vs 99), the spin
 * taking the CPU the answering process needed. At a load of 4-5 (two series
 * of 8 and 10 runs each) it paid: 49 vs 55 ms and 47 vs 72 ms, 87-94 % of the
 * replies caught and 4-5 % less CPU per exchange (a caught reply spares a
 * cold wake-up). So it helps with the peer on an idle core and hurts on an
 * oversubscribed one; off until a quiet machine's bench decides:
 * TapLinkOptions.busyPollUs turns it on (Linux's busy_poll sysctl suggests
 * 50 µs for sockets).
 */
#define SPIN_DEFAULT_US 0

/* tap_thread.c: drop one owner's share of t (freed with the last); the external ArrayBuffers' finalizer (hint: t). */
void tt_release(tt_t *t);
void tt_finalize_memory(napi_env env, void *data, void *hint);
/* tap_thread.c: argument readers; each throws the JS error and returns false. */
bool tt_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
bool tt_get_handle(napi_env env, napi_value v, tt_t **out);
/* tap_thread_spin.c: the uv_prepare callback busy-polling the fd before the event loop blocks. */
void tt_spin_before_block(uv_prepare_t *p);
/* tap_thread_synr.c: threadSynResponder and synResponderAnswerForTest. */
napi_value tt_thread_syn_responder(napi_env env, napi_callback_info info);
napi_value tt_synr_answer_for_test(napi_env env, napi_callback_info info);

#endif

#endif
