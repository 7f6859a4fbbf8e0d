/*
 * The busy-poll before the JS thread's event loop blocks (see "Busy-poll
 * before blocking" in tap_thread.c's overview): a uv_prepare callback that
 * watches the TAP fd for a short adaptive window after a frame went out.
 */
#ifdef __linux__

#include <poll.h>
#include <time.h>

#include "tap_thread.h"

/* Below this the window is worth less than the poll() calls in it: off until the next probe. */
#define SPIN_MIN_US 8
/* Armings skipped with the window off before the ceiling is tried again. */
#define SPIN_REPROBE 64

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * uv_prepare callback: runs on the JS thread right before libuv blocks in
 * epoll. Armed by push (a frame went out while JS holds the fd), it watches
 * the fd with zero-timeout poll()s for the current window; seeing it
 * readable it returns and epoll returns at once, so the answer is read
 * without the thread sleeping. A miss halves the window (down to off, then
 * re-probed after SPIN_REPROBE armings); a hit restores the ceiling.
 */
void tt_spin_before_block(uv_prepare_t *p) {
  tt_t *t = (tt_t *)p->data;
  int32_t *h = t->h;
  if (!t->running || __atomic_load_n(&h[H_SPIN_ARM], __ATOMIC_RELAXED) == 0) return;
  __atomic_store_n(&h[H_SPIN_ARM], 0, __ATOMIC_RELAXED);
  int32_t max = ld(&h[H_SPIN_MAX_US]);
  if (max <= 0 || ld(&h[H_RX_OWNER]) == 0) return; /* off, or the RX thread reads (it wakes JS itself) */
  if (t->spin_us > (uint32_t)max) t->spin_us = (uint32_t)max;
  if (t->spin_us == 0) {
    if (t->spin_skip > 0) {
      t->spin_skip--;
      return;
    }
    t->spin_us = (uint32_t)max;
  }
  struct pollfd pf = { .fd = t->fd, .events = POLLIN };
  const uint64_t end = now_ns() + (uint64_t)t->spin_us * 1000u;
  do {
    if (poll(&pf, 1, 0) > 0) {
      bump(&h[H_SPIN_HITS]);
      t->spin_us = (uint32_t)max;
      return;
    }
  } while (now_ns() < end);
  bump(&h[H_SPIN_MISSES]);
  t->spin_us /= 2;
  if (t->spin_us < SPIN_MIN_US) {
    t->spin_us = 0;
    t->spin_skip = SPIN_REPROBE;
  }
}

#endif
