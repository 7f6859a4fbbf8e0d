/*
 * Threaded TAP I/O: the read() and write() syscalls on a TAP fd run on two
 * native threads, so the JS thread only touches memory.
 *
 *   threadStart(fd, slots, slotSize, callback, vnetHdr?) -> { handle, memory: ArrayBuffer, push }
 *   push(frame: Uint8Array, offset, length, gso?, csum?) -> true | false (TX ring full, or stopped)
 *   threadKick(handle)                         -> wakes an RX thread waiting for JS to consume
 *   threadRef(handle, keepAlive: boolean)      -> whether the wakeup keeps the event loop alive
 *   threadStop(handle)                         -> joins both threads (idempotent); the fd stays open
 *
 * `memory` holds a header of int32 words (indices, flags, counters and the
 * layout, see H_* below) and two single-producer/single-consumer rings of
 * `slots` frame slots each: RX (producer: the RX thread, consumer: JS) and
 * TX (producer: JS, consumer: the TX thread). Indices run freely modulo
 * 2^32; slot = index & (slots - 1). JS accesses the words with
 * Atomics.load/store (sequentially consistent), the threads with the
 * __atomic builtins.
 *
 * `push` copies a frame into the TX ring natively: one Node-API call costs
 * far less than copying 1.5 kB in JS (measured ~150 ns against ~600 ns).
 *
 * Wakeups are coalesced both ways:
 * - RX: the thread calls the JS callback (a thread-safe function) only when
 *   its push found the ring empty, i.e. JS had consumed everything. JS, after
 *   publishing its tail, re-reads the head before going idle; both sides
 *   store then load with seq_cst, so at least one of them sees the other.
 * - TX: before sleeping on a futex the thread sets H_TX_SLEEP and re-checks
 *   the head; push, after publishing a frame, wakes it only when it sees
 *   H_TX_SLEEP set. A full RX ring stalls the RX thread the same way
 *   (H_RX_WAIT; JS calls threadKick, which signals an eventfd that also
 *   carries stop requests).
 * - RX hand-off: when allowed (threadStart's rxHandoff, H_RX_HANDOFF_OK), the RX thread,
 *   having found the device silent for RX_QUIET_MS, hands the fd to JS
 *   (H_RX_OWNER = 1) and parks; JS then reads it itself from the event loop
 *   (a uv_poll and non-blocking reads), so a lone reply wakes the JS thread
 *   directly instead of the RX thread and then JS: one thread hop instead
 *   of two per request/response exchange. JS hands the fd back (owner 0,
 *   threadKick) when a read finds a full batch waiting (bulk traffic). One
 *   reader at a time: each side stops reading before it stores the other
 *   as owner, and JS drains the ring before reading the fd, so order holds.
 * - Direct TX: once armed by JS (H_TX_ARM, set at each poll), push writes
 *   the frame itself when the TX ring is empty: a lone frame (a request, an
 *   ACK) then costs one write() instead of a futex wake and a hand-off to a
 *   sleeping thread. See thread_push.
 *
 * - Busy-poll before blocking: after a frame went out while JS holds the
 *   fd (a request, or a reply to one), JS's event loop, about to block in
 *   epoll, first watches the fd for a short bounded window (a uv_prepare
 *   handle, see tt_spin_before_block in tap_thread_spin.c), as Linux's busy_poll does for sockets:
 *   an answer that comes within it is read without the thread going to
 *   sleep, sparing a wake-up, which on a paravirtualised guest costs far
 *   more than the spin (the idle vCPU's wake, the caches and TLB gone
 *   cold). Off unless JS sets a ceiling (see SPIN_DEFAULT_US in tap_thread.h). The window
 *   adapts: halved on each miss down to nothing (a server's reply expects
 *   no answer), re-probed now and then; never armed while idle, so idle
 *   CPU stays 0.
 *
 * - Offload (vnetHdr 10: the fd was opened with IFF_VNET_HDR, see vnet.h):
 *   the RX thread reads each frame's virtio_net_hdr aside (readv) and puts
 *   its checksum flags on top of the frame's length word; push() writes the
 *   header built from `gso` and `csum` at the start of the TX slot, the frame after
 *   it, and the slot's length covers both, so the TX thread's write() is
 *   unchanged.
 *
 * Linux only; elsewhere threadStart throws ENOTSUP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

#include "tap_thread.h"

#ifdef __linux__
#include <poll.h>
#include <sys/uio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>
#include <uv.h>
#endif


/* The header layout as JS reads it at load (ringLayout on the addon; see
 * src/link/addon.ts), so the TS side holds no copy of these numbers. Bump
 * RING_LAYOUT_VERSION when a word changes meaning; JS refuses another one. */
#define RING_LAYOUT_VERSION 3

static napi_status define_ring_layout(napi_env env, napi_value exports) {
  static const struct { const char *name; int32_t value; } fields[] = {
    { "version", RING_LAYOUT_VERSION }, { "words", H_WORDS },
    { "rxHead", H_RX_HEAD }, { "rxTail", H_RX_TAIL }, { "txHead", H_TX_HEAD }, { "txTail", H_TX_TAIL },
    { "txSleep", H_TX_SLEEP }, { "rxWait", H_RX_WAIT }, { "txDrops", H_TX_DROPS }, { "txErrors", H_TX_ERRORS },
    { "rxErrors", H_RX_ERRORS }, { "rxWakes", H_RX_WAKES }, { "txSleeps", H_TX_SLEEPS }, { "rxStalls", H_RX_STALLS },
    { "txDirect", H_TX_DIRECT }, { "slots", H_SLOTS }, { "slotSize", H_SLOT_SIZE }, { "rxLens", H_RX_LENS },
    { "txLens", H_TX_LENS }, { "rxData", H_RX_DATA }, { "txData", H_TX_DATA }, { "txArm", H_TX_ARM },
    { "rxHandoffs", H_RX_HANDOFFS }, { "rxHandoffOk", H_RX_HANDOFF_OK }, { "rxOwner", H_RX_OWNER },
    { "vnetHdr", H_VNET_HDR }, { "spinHits", H_SPIN_HITS }, { "spinMisses", H_SPIN_MISSES },
    { "spinMaxUs", H_SPIN_MAX_US }, { "spinArm", H_SPIN_ARM }, { "uring", H_URING },
    { "rxUring", H_RX_URING }, { "txUring", H_TX_URING },
  };
  napi_value layout, v;
  napi_status s = napi_create_object(env, &layout);
  for (size_t i = 0; s == napi_ok && i < sizeof fields / sizeof fields[0]; i++) {
    s = napi_create_int32(env, fields[i].value, &v);
    if (s == napi_ok) s = napi_set_named_property(env, layout, fields[i].name, v);
  }
  if (s == napi_ok) s = napi_object_freeze(env, layout);
  return s == napi_ok ? napi_set_named_property(env, exports, "ringLayout", layout) : s;
}

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

bool tt_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return false;
  }
  return true;
}

/* One Node-API call per argument on the wake path (push): napi_get_value_int64 itself refuses a
 * non-number (napi_number_expected), so no napi_typeof ahead of it. */
static bool get_int(napi_env env, napi_value v, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  char msg[96];
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  if (*out < lo || *out > hi) {
    snprintf(msg, sizeof msg, "%s out of range", name);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  return true;
}

/* native/clock.c: clockMs/clockMsPrecise, registered with this file's functions (not TAP-specific). */
napi_status wirestack_clock_init(napi_env env, napi_value exports);

#ifndef __linux__

static napi_value unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, "ENOTSUP", "threaded TAP I/O is only supported on Linux");
  return NULL;
}

napi_status wirestack_tap_thread_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "threadStart", NULL, unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadKick", NULL, unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadRef", NULL, unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadStop", NULL, unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadSynResponder", NULL, unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_status s = define_ring_layout(env, exports);
  if (s == napi_ok) s = wirestack_clock_init(env, exports);
  return s != napi_ok ? s : napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

#else

void tt_release(tt_t *t) {
  if (--t->refs > 0) return;
  ws_synr_free(t->synr);
  free(t->mem);
  free(t);
}

static void on_prep_closed(uv_handle_t *handle) {
  tt_release((tt_t *)handle->data);
}

static void cleanup_hook(void *arg);

/* JS thread: stop and join both threads, then let go of the callback. Idempotent. */
static void stop_threads(tt_t *t) {
  if (!t->running) return;
  t->running = false;
  __atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
  tt_evfd_signal(t->evfd);
  st(&t->h[H_TX_SLEEP], 0);
  tt_futex_wake(&t->h[H_TX_SLEEP]);
  (void)pthread_join(t->rx_thread, NULL);
  (void)pthread_join(t->tx_thread, NULL);
  ws_synr_stop(t->synr); /* its writer thread uses the fd too */
  (void)close(t->evfd);
  t->evfd = -1;
  if (t->prep_open) {
    t->prep_open = false;
    (void)uv_prepare_stop(&t->prep);
    uv_close((uv_handle_t *)&t->prep, on_prep_closed); /* releases its share of t */
  }
  if (!t->in_cleanup_hook) (void)napi_remove_env_cleanup_hook(t->env, cleanup_hook, t);
  if (t->async != NULL) {
    (void)napi_async_destroy(t->env, t->async);
    t->async = NULL;
  }
  (void)napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort); /* finalize_tsfn releases */
}

static void cleanup_hook(void *arg) {
  tt_t *t = (tt_t *)arg;
  t->in_cleanup_hook = true;
  stop_threads(t);
}

/* Runs on the JS thread for each queued wakeup. */
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)data;
  tt_t *t = (tt_t *)context;
  if (env == NULL || cb == NULL || !t->running) return;
  napi_value result;
  /* The callback is its own receiver (an object, as make_callback needs; it ignores `this`): no
   * napi_get_global per wake-up (see tap.c on_readable). make_callback runs the microtask queue
   * afterwards, as libuv-driven JS expects. */
  if (napi_make_callback(env, t->async, cb, cb, 0, NULL, &result) != napi_ok) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok && exc != NULL) {
      napi_valuetype ty;
      if (napi_typeof(env, exc, &ty) == napi_ok && ty != napi_undefined) napi_fatal_exception(env, exc);
    }
  }
}

static void finalize_tsfn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tt_release((tt_t *)data);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tt_t *t = (tt_t *)data;
  stop_threads(t);
  tt_release(t);
}

void tt_finalize_memory(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  tt_release((tt_t *)hint);
}

bool tt_get_handle(napi_env env, napi_value v, tt_t **out) {
  napi_valuetype ty;
  void *p = NULL;
  if (napi_typeof(env, v, &ty) != napi_ok || ty != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from threadStart");
    return false;
  }
  *out = (tt_t *)p;
  return true;
}

static napi_value undefined(napi_env env) {
  napi_value u = NULL;
  (void)napi_get_undefined(env, &u);
  return u;
}

static napi_value thread_push(napi_env env, napi_callback_info info);

static napi_value thread_start(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  int64_t fd, slots, slot_size, vnet = 0, handoff = 0;
  if (argc >= 5 && !get_int(env, argv[4], "vnetHdr", 0, WS_VNET_HDR_LEN, &vnet)) return NULL;
  if (argc >= 6 && !get_int(env, argv[5], "rxHandoff", 0, 1, &handoff)) return NULL;
  if (vnet != 0 && vnet != WS_VNET_HDR_LEN) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "vnetHdr must be 0 or 10");
    return NULL;
  }
  if (!get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) || !get_int(env, argv[1], "slots", 2, 1 << 16, &slots) ||
      !get_int(env, argv[2], "slotSize", 64, 1 << 17, &slot_size)) {
    return NULL;
  }
  if ((slots & (slots - 1)) != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "slots must be a power of two");
    return NULL;
  }
  napi_valuetype ty;
  if (napi_typeof(env, argv[3], &ty) != napi_ok || ty != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }

  size_t ss = ALIGN64((size_t)slot_size);
  size_t lens = ALIGN64((size_t)slots * 4);
  size_t off_rx_lens = H_WORDS * 4, off_tx_lens = off_rx_lens + lens;
  size_t off_rx = off_tx_lens + lens, off_tx = off_rx + (size_t)slots * ss;
  size_t size = off_tx + (size_t)slots * ss;
  if (size > INT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "rings too large");
    return NULL;
  }

  tt_t *t = (tt_t *)calloc(1, sizeof *t);
  void *mem = NULL;
  if (t == NULL || posix_memalign(&mem, 64, size) != 0) {
    free(t);
    napi_throw_error(env, "ENOMEM", "threadStart: out of memory");
    return NULL;
  }
  /* Only the header and lengths need zeros; slots are written before they are
   * published, so their pages stay untouched (not resident) until used. */
  memset(mem, 0, off_rx);
  t->env = env;
  t->fd = (int)fd;
  t->vnet = (int)vnet;
  t->slots = (uint32_t)slots;
  t->slot_size = (uint32_t)ss;
  t->mem = (uint8_t *)mem;
  t->mem_size = size;
  t->h = (int32_t *)mem;
  t->rx_lens = (int32_t *)(t->mem + off_rx_lens);
  t->tx_lens = (int32_t *)(t->mem + off_tx_lens);
  t->rx_data = t->mem + off_rx;
  t->tx_data = t->mem + off_tx;
  t->h[H_SLOTS] = (int32_t)slots;
  t->h[H_SLOT_SIZE] = (int32_t)ss;
  t->h[H_RX_LENS] = (int32_t)off_rx_lens;
  t->h[H_TX_LENS] = (int32_t)off_tx_lens;
  t->h[H_RX_DATA] = (int32_t)off_rx;
  t->h[H_TX_DATA] = (int32_t)off_tx;
  t->h[H_VNET_HDR] = (int32_t)vnet;
  /* Before the RX thread starts: set later by JS (as it was), it could come
   * after the thread's first empty read, which then sleeps in poll() without
   * a timeout until a frame arrives; a device silent from the start stayed
   * with the RX thread (30 % of new devices after 50 ms of silence). */
  t->h[H_RX_HANDOFF_OK] = (int32_t)handoff;
  t->h[H_SPIN_MAX_US] = SPIN_DEFAULT_US;
  const char *uring = getenv("WIRESTACK_TAP_URING"); /* "0": one syscall per frame (to compare) */
  t->h[H_URING] = uring != NULL && strcmp(uring, "0") == 0 ? 0 : 1;
  t->spin_us = SPIN_DEFAULT_US;
  t->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->evfd < 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "eventfd: %s", strerror(errno));
    free(mem);
    free(t);
    napi_throw_error(env, "ERR_WIRESTACK_TAP", msg);
    return NULL;
  }

  /* From here on t is owned by the JS objects created below; on failure each
   * finalizer releases its share. */
  napi_value out, handle, memory, resource, rname, push;
  t->refs = 1; /* the handle */
  if (napi_create_external(env, t, finalize_handle, NULL, &handle) != napi_ok) {
    (void)close(t->evfd);
    free(mem);
    free(t);
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadStart: napi_create_external failed");
    return NULL;
  }
  if (napi_create_external_arraybuffer(env, mem, size, tt_finalize_memory, t, &memory) != napi_ok) {
    (void)close(t->evfd);
    t->evfd = -1;
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadStart: napi_create_external_arraybuffer failed");
    return NULL;
  }
  t->refs++;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "wirestack:TapThread", NAPI_AUTO_LENGTH, &rname) != napi_ok ||
      napi_async_init(env, resource, rname, &t->async) != napi_ok ||
      napi_create_threadsafe_function(env, argv[3], NULL, rname, 0, 1, t, finalize_tsfn, t, call_js, &t->tsfn) != napi_ok) {
    (void)close(t->evfd);
    t->evfd = -1;
    if (t->async != NULL) (void)napi_async_destroy(env, t->async);
    t->async = NULL;
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadStart: creating the wakeup failed");
    return NULL;
  }
  t->refs++;
  /* Signals stay with Node's threads: ours inherit a full mask. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&t->rx_thread, NULL, tt_rx_main, t);
  int e2 = e == 0 ? pthread_create(&t->tx_thread, NULL, tt_tx_main, t) : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0 || e2 != 0) {
    if (e == 0) {
      __atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
      tt_evfd_signal(t->evfd);
      (void)pthread_join(t->rx_thread, NULL);
    }
    (void)close(t->evfd);
    t->evfd = -1;
    (void)napi_async_destroy(env, t->async);
    t->async = NULL;
    (void)napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadStart: pthread_create failed");
    return NULL;
  }
  pthread_setname_np(t->rx_thread, "wirestack-rx");
  pthread_setname_np(t->tx_thread, "wirestack-tx");
  t->running = true;
  (void)napi_add_env_cleanup_hook(env, cleanup_hook, t);
  /* The busy-poll before blocking; without it (no loop) the link works as before. Unref'd: it keeps no process alive. */
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop != NULL && uv_prepare_init(loop, &t->prep) == 0) {
    t->prep.data = t;
    t->prep_open = true;
    t->refs++;
    (void)uv_prepare_start(&t->prep, tt_spin_before_block);
    uv_unref((uv_handle_t *)&t->prep);
  }
  /* push holds t through its data, and a share of it through a finalizer;
   * it checks `running` before touching the rings. */
  bool pushed = napi_create_function(env, "push", NAPI_AUTO_LENGTH, thread_push, t, &push) == napi_ok &&
                napi_add_finalizer(env, push, t, tt_finalize_memory, t, NULL) == napi_ok;
  if (pushed) t->refs++;
  if (!pushed || napi_create_object(env, &out) != napi_ok || napi_set_named_property(env, out, "handle", handle) != napi_ok ||
      napi_set_named_property(env, out, "memory", memory) != napi_ok || napi_set_named_property(env, out, "push", push) != napi_ok) {
    stop_threads(t);
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadStart: building the result failed");
    return NULL;
  }
  return out;
}

/* push(frame, offset, length, gso?, csum?), bound to one ring through the function's data; gso, csum: vnet.h (offload only). */
static napi_value thread_push(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "push(frame, offset, length)");
    return NULL;
  }
  tt_t *t = (tt_t *)data;
  bool ok = false;
  napi_typedarray_type type;
  size_t blen = 0;
  void *p = NULL;
  int64_t off, len, gso = 0, csum = 0;
  if (napi_get_typedarray_info(env, argv[0], &type, &blen, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "frame must be a Uint8Array");
    return NULL;
  }
  if (!get_int(env, argv[1], "offset", 0, INT32_MAX, &off) || !get_int(env, argv[2], "length", 0, t->slot_size - t->vnet, &len)) return NULL;
  if ((argc >= 4 && !get_int(env, argv[3], "gso", 0, 1 << 19, &gso)) || (argc >= 5 && !get_int(env, argv[4], "csum", 0, 1 << 22, &csum))) return NULL;
  if ((uint64_t)off + (uint64_t)len > blen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "push: offset/length outside the frame buffer");
    return NULL;
  }
  if (t->running) {
    int32_t *h = t->h;
    uint32_t head = t->tx_head;
    if (__atomic_load_n(&h[H_TX_ARM], __ATOMIC_RELAXED) != 0 && (uint32_t)ld_acq(&h[H_TX_TAIL]) == head) {
      /* Direct write: the ring is empty, so every frame pushed before this one
       * has been written (the TX thread advances the tail after write()), and
       * writing here keeps the order while sparing a futex wake and two thread
       * hand-offs (the sleeping TX thread, then JS again). Armed by JS once
       * per poll, so a burst writes its first frame here and queues the rest
       * for the TX thread as before: the JS thread does at most one syscall
       * per poll. Failures are counted like the TX thread's. */
      __atomic_store_n(&h[H_TX_ARM], 0, __ATOMIC_RELAXED);
      ssize_t r;
      uint8_t vh[WS_VNET_HDR_LEN];
      struct iovec iov[2] = { { vh, sizeof vh }, { (uint8_t *)p + off, (size_t)len } };
      if (t->vnet != 0) ws_vnet_tx_fill(vh, gso, csum);
      do {
        r = t->vnet != 0 ? writev(t->fd, iov, 2) : write(t->fd, (uint8_t *)p + off, (size_t)len);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) bump(&h[H_TX_DROPS]);
        else bump(&h[H_TX_ERRORS]);
      }
      bump(&h[H_TX_DIRECT]);
      ok = true;
    } else {
      if (head - t->tx_tail_seen >= t->slots) t->tx_tail_seen = (uint32_t)ld_acq(&h[H_TX_TAIL]);
      if (head - t->tx_tail_seen < t->slots) {
        uint32_t s = head & (t->slots - 1);
        uint8_t *slot = t->tx_data + (size_t)s * t->slot_size;
        if (t->vnet != 0) ws_vnet_tx_fill(slot, gso, csum); /* the header, then the frame: one write() */
        memcpy(slot + t->vnet, (uint8_t *)p + off, (size_t)len);
        t->tx_lens[s] = (int32_t)len + t->vnet;
        t->tx_head = ++head;
        st(&h[H_TX_HEAD], (int32_t)head);
        if (ld(&h[H_TX_SLEEP]) != 0 && __atomic_exchange_n(&h[H_TX_SLEEP], 0, __ATOMIC_SEQ_CST) != 0) tt_futex_wake(&h[H_TX_SLEEP]);
        ok = true;
      }
    }
    /* Sent while JS reads the quiet device: an answer may follow soon, so the
     * loop busy-polls before it blocks (tt_spin_before_block). */
    if (ok && ld(&h[H_RX_OWNER]) != 0) __atomic_store_n(&h[H_SPIN_ARM], 1, __ATOMIC_RELAXED);
  }
  if (napi_get_boolean(env, ok, &out) != napi_ok) return NULL;
  return out;
}

/* threadKick(handle): called by JS when it saw H_RX_WAIT set. Only the RX
 * thread is woken: push() wakes the TX thread when it queues a frame, and a
 * TX thread woken with nothing queued would only go back to sleep (it used
 * to be woken here after every received burst: a futex wake and a context
 * switch per chatty exchange for nothing). */
static napi_value thread_kick(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tt_t *t;
  if (!tt_get_args(env, info, 1, argv) || !tt_get_handle(env, argv[0], &t)) return NULL;
  if (!t->running) return undefined(env);
  if (__atomic_exchange_n(&t->h[H_RX_WAIT], 0, __ATOMIC_SEQ_CST) != 0) tt_evfd_signal(t->evfd);
  return undefined(env);
}

/* threadRef(handle, keepAlive) */
static napi_value thread_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tt_t *t;
  bool keep = false;
  if (!tt_get_args(env, info, 2, argv) || !tt_get_handle(env, argv[0], &t)) return NULL;
  if (napi_get_value_bool(env, argv[1], &keep) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "keepAlive must be a boolean");
    return NULL;
  }
  if (t->running) {
    if (keep) (void)napi_ref_threadsafe_function(env, t->tsfn);
    else (void)napi_unref_threadsafe_function(env, t->tsfn);
  }
  return undefined(env);
}

static napi_value thread_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tt_t *t;
  if (!tt_get_args(env, info, 1, argv) || !tt_get_handle(env, argv[0], &t)) return NULL;
  stop_threads(t);
  return undefined(env);
}

napi_status wirestack_tap_thread_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "threadStart", NULL, thread_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadKick", NULL, thread_kick, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadRef", NULL, thread_ref, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadStop", NULL, thread_stop, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threadSynResponder", NULL, tt_thread_syn_responder, NULL, NULL, NULL, napi_enumerable, NULL },
    { "synResponderAnswerForTest", NULL, tt_synr_answer_for_test, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_status s = define_ring_layout(env, exports);
  if (s == napi_ok) s = wirestack_clock_init(env, exports);
  return s != napi_ok ? s : napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

#endif
