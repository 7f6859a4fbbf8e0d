/*
 * The RX and TX threads of the threaded TAP I/O (tap_thread.c has the design,
 * the Node-API side and the handle's life cycle): the RX thread reads frames
 * into the RX ring and wakes JS; the TX thread writes what JS queued.
 */
#define _GNU_SOURCE
#include "tap_thread.h"

#ifdef __linux__
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static void futex_wait(int32_t *addr, int32_t val) {
  (void)syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void tt_futex_wake(int32_t *addr) {
  (void)syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void tt_evfd_signal(int fd) {
  uint64_t one = 1;
  ssize_t r;
  do {
    r = write(fd, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
}

static void evfd_drain(int fd) {
  uint64_t v;
  ssize_t r;
  do {
    r = read(fd, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
}

/* Sleep until JS publishes an RX tail other than `tail` (or a stop request). */
static void wait_for_js(tt_t *t, uint32_t tail) {
  int32_t *h = t->h;
  struct pollfd pf = { .fd = t->evfd, .events = POLLIN };
  st(&h[H_RX_WAIT], 1);
  if ((uint32_t)ld(&h[H_RX_TAIL]) == tail && !__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
    bump(&h[H_RX_STALLS]);
    if (poll(&pf, 1, -1) > 0) evfd_drain(t->evfd);
  }
  st(&h[H_RX_WAIT], 0);
}

/*
 * The RX thread reads while there is room, and when the device is empty it
 * sleeps in one of two ways:
 * - the ring is empty or nearly (JS is idle, or has a few frames to take):
 *   poll() the fd, and wake JS after the next frame if the ring is empty then;
 * - JS still has RX_BATCH_WAIT frames or more to work through: wait until JS publishes progress,
 *   then read what queued in the kernel meanwhile as one burst. Waking per
 *   frame instead costs a context switch per frame on a busy machine, while
 *   JS would not look at the frames sooner anyway.
 * A full ring waits for progress the same way (the kernel's queue holds).
 */
/*
 * Frames JS must have waiting before the RX thread, finding the device
 * empty, waits for JS rather than for the device. Below it (a lone reply of
 * a request/response exchange) JS would have to kick the thread awake after
 * consuming, a syscall and a context switch per exchange; the thread rather
 * goes back to poll() on the device at once (and wakes JS itself if JS has
 * emptied the ring meanwhile, as when idle).
 */
#define RX_BATCH_WAIT 8u

/*
 * Silence on the device after which the RX thread hands the fd to JS (when
 * allowed). Bulk traffic has gaps of microseconds and keeps the thread
 * reading; an idle link or a request/response exchange slower than this goes
 * to JS, which keeps it until it sees a burst. Idle, the thread pays one
 * wakeup for the hand-off, then sleeps until JS hands the fd back.
 */
#define RX_QUIET_MS 1

/* The device was quiet: let JS read it; sleep until JS hands it back or a stop. */
static void hand_to_js(tt_t *t) {
  int32_t *h = t->h;
  struct pollfd pf = { .fd = t->evfd, .events = POLLIN };
  st(&h[H_RX_OWNER], 1);
  bump(&h[H_RX_HANDOFFS]);
  /* JS must look even if it is idle: it starts watching the fd in its poll. */
  (void)napi_call_threadsafe_function(t->tsfn, NULL, napi_tsfn_nonblocking);
  for (;;) {
    /* Same handshake as wait_for_js: JS stores the owner, then wakes us if it sees H_RX_WAIT. */
    st(&h[H_RX_WAIT], 1);
    if (ld(&h[H_RX_OWNER]) == 0 || __atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) break;
    if (poll(&pf, 1, -1) > 0) evfd_drain(t->evfd);
  }
  st(&h[H_RX_WAIT], 0);
}

/*
 * Batched reads (tap_uring.c): `want` non-blocking reads straight into the
 * ring's next free slots in one system call. Under a flood this reads
 * several times faster than a read() per frame on this guest, so the
 * kernel's TAP queue no longer overflows and drops frames at random (a
 * legitimate client's among them). The batch size adapts: it doubles while
 * batches come back full and falls to what the last one found, and after a
 * batch finds the device empty, reads are plain read()s until two in a row
 * found a frame: a lone frame, as in a request/response exchange, costs the
 * same read() and the read() that finds the device empty as before.
 */
enum { RXB_UNAVAILABLE = -2, RXB_ERROR = -1, RXB_EMPTY = 0 };

static int rx_batch(tt_t *t, uint32_t *headp, uint32_t tail) {
  int32_t *h = t->h;
  if (t->rx_want < 2 || ld(&h[H_URING]) == 0) return RXB_UNAVAILABLE;
  ws_uring_t *u = ws_uring_get(&t->rx_ring, t->fd);
  if (u == NULL) return RXB_UNAVAILABLE;
  const uint32_t mask = t->slots - 1;
  const uint32_t start = *headp;
  uint32_t room = t->slots - (start - tail);
  unsigned want = t->rx_want < room ? t->rx_want : room;
  if (want > WS_URING_BATCH) want = WS_URING_BATCH;
  if (want < 2) return RXB_UNAVAILABLE;
  struct iovec iov[2 * WS_URING_BATCH];
  int32_t res[WS_URING_BATCH];
  const int ic = t->vnet != 0 ? 2 : 1;
  for (unsigned i = 0; i < want; i++) {
    uint8_t *slot = t->rx_data + (size_t)((start + i) & mask) * t->slot_size;
    if (ic == 2) {
      iov[2 * i] = (struct iovec){ t->rx_vh[i], WS_VNET_HDR_LEN };
      iov[2 * i + 1] = (struct iovec){ slot, t->slot_size };
    } else {
      iov[i] = (struct iovec){ slot, t->slot_size };
    }
  }
  if (ws_uring_readv(u, iov, ic, want, res) < 0) {
    ws_uring_give_up(&t->rx_ring); /* the ring refused a batch: read() per frame from now on */
    return RXB_UNAVAILABLE;
  }
  ws_synr_t *synr = __atomic_load_n(&t->synr, __ATOMIC_ACQUIRE);
  uint32_t head = start;
  unsigned got = 0;
  bool error = false;
  ws_synr_hold(synr, 1);
  for (unsigned i = 0; i < want; i++) {
    int32_t r = res[i];
    if (r < 0) {
      if (r != -EAGAIN && r != -EWOULDBLOCK && r != -EINTR) {
        bump(&h[H_RX_ERRORS]);
        error = true;
      }
      continue;
    }
    got++;
    bump(&h[H_RX_URING]);
    uint8_t *src = t->rx_data + (size_t)((start + i) & mask) * t->slot_size;
    const uint8_t *vh = t->rx_vh[i];
    if (synr != NULL && r > t->vnet && ws_synr_rx(synr, t->fd, t->vnet, vh, src, (size_t)(r - t->vnet), head - tail, t->slots)) {
      continue; /* answered or dropped there (counted); its slot is free again */
    }
    /* Frames stay contiguous: one after a slot the responder consumed (or a read that found nothing) moves down. */
    uint8_t *dst = t->rx_data + (size_t)(head & mask) * t->slot_size;
    if (dst != src && r > t->vnet) memcpy(dst, src, (size_t)(r - t->vnet));
    t->rx_lens[head & mask] = t->vnet != 0 ? ws_vnet_rx_len(vh, r) : r;
    head++;
  }
  ws_synr_hold(synr, 0); /* the writer takes the batch's SYN-ACKs at once */
  if (head != start) {
    st(&h[H_RX_HEAD], (int32_t)head);
    if ((uint32_t)ld(&h[H_RX_TAIL]) == start) {
      /* The ring was empty: JS may be idle. Queue one callback. */
      bump(&h[H_RX_WAKES]);
      (void)napi_call_threadsafe_function(t->tsfn, NULL, napi_tsfn_nonblocking);
    }
  }
  *headp = head;
  if (got > 0) t->rx_nap_idle = false;
  if (got == want) t->rx_want = want * 2 > WS_URING_BATCH ? WS_URING_BATCH : want * 2;
  else t->rx_want = got; /* 0 or 1: the device is (nearly) empty, the next read is a plain one */
  if (got > 0) return (int)got;
  return error ? RXB_ERROR : RXB_EMPTY;
}

/*
 * While the SYN responder answers a flood, the RX thread that found the
 * device empty naps for RX_FLOOD_NAP_US instead of waiting in poll(): a
 * poll() wakes it for the next frame, so at flood rates it paid a wake-up
 * and two syscalls per frame or two, which on this guest cost as much as
 * answering them. After the nap, what queued meanwhile (tens of SYNs) is
 * read as one batch. The kernel's queue (1000 frames by default) holds
 * several milliseconds of a flood, and a legitimate segment waits at most
 * the nap. A nap after which nothing had come ends the napping until
 * frames come again (the flood stopped, the hold has not yet run out).
 */
#define RX_FLOOD_NAP_US 200

static void rx_flood_nap(tt_t *t) {
  struct pollfd pe = { .fd = t->evfd, .events = POLLIN };
  struct timespec ts = { 0, RX_FLOOD_NAP_US * 1000 };
  if (ppoll(&pe, 1, &ts, NULL) > 0) evfd_drain(t->evfd); /* a stop request, or a kick: the loop looks */
  t->rx_want = WS_URING_BATCH;
  t->rx_nap_idle = true;
}

/* Batched writes (tap_uring.c): up to WS_URING_BATCH queued frames from `tail` in one system call; frames written
 * (their failures counted as write()'s are), or 0 when io_uring is off or unavailable. */
static uint32_t tx_batch(tt_t *t, uint32_t tail, uint32_t queued) {
  int32_t *h = t->h;
  if (queued < 2 || ld(&h[H_URING]) == 0) return 0;
  unsigned n = queued < WS_URING_BATCH ? queued : WS_URING_BATCH;
  uint8_t *buf[WS_URING_BATCH];
  uint32_t len[WS_URING_BATCH];
  int32_t res[WS_URING_BATCH];
  for (unsigned i = 0; i < n; i++) {
    uint32_t s = (tail + i) & (t->slots - 1);
    buf[i] = t->tx_data + (size_t)s * t->slot_size;
    len[i] = (uint32_t)t->tx_lens[s];
  }
  if (ws_uring_slot_write(&t->tx_ring, t->fd, buf, len, n, res) < 0) return 0;
  __atomic_fetch_add(&h[H_TX_URING], (int32_t)n, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < n; i++) {
    if (res[i] >= 0) continue;
    if (res[i] == -EAGAIN || res[i] == -EWOULDBLOCK || res[i] == -ENOBUFS) bump(&h[H_TX_DROPS]);
    else bump(&h[H_TX_ERRORS]);
  }
  return n;
}

void *tt_rx_main(void *arg) {
  tt_t *t = (tt_t *)arg;
  int32_t *h = t->h;
  const uint32_t mask = t->slots - 1;
  uint32_t head = (uint32_t)h[H_RX_HEAD];
  struct pollfd pf[2] = { { .fd = t->fd, .events = POLLIN }, { .fd = t->evfd, .events = POLLIN } };
  while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
    uint32_t tail = (uint32_t)ld_acq(&h[H_RX_TAIL]);
    if (head - tail >= t->slots) {
      wait_for_js(t, tail);
      continue;
    }
    uint32_t s = head & mask;
    uint8_t vh[WS_VNET_HDR_LEN];
    ssize_t r;
    int b = rx_batch(t, &head, tail);
    if (b > 0) continue;
    if (b != RXB_UNAVAILABLE) {
      r = -1; /* the batch found the device empty, or failed: as a read() would have */
      errno = b == RXB_EMPTY ? EAGAIN : EIO;
    } else if (t->vnet != 0) {
      struct iovec iov[2] = { { vh, sizeof vh }, { t->rx_data + (size_t)s * t->slot_size, t->slot_size } };
      r = readv(t->fd, iov, 2);
    } else {
      r = read(t->fd, t->rx_data + (size_t)s * t->slot_size, t->slot_size);
    }
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (b == RXB_UNAVAILABLE) t->rx_want = 0;
      if (e != EAGAIN && e != EWOULDBLOCK) {
        bump(&h[H_RX_ERRORS]);
        /* e.g. EBADFD while the device goes away: back off instead of spinning. */
        if (poll(&pf[1], 1, 10) > 0) evfd_drain(t->evfd);
        continue;
      }
      if (head - tail >= RX_BATCH_WAIT) {
        wait_for_js(t, tail);
      } else if (t->rx_ring.u != NULL && !t->rx_nap_idle && ws_synr_busy(__atomic_load_n(&t->synr, __ATOMIC_ACQUIRE))) {
        rx_flood_nap(t);
      } else if (ld(&h[H_RX_HANDOFF_OK]) != 0 && !ws_synr_busy(__atomic_load_n(&t->synr, __ATOMIC_ACQUIRE))) {
        /* (Not while the SYN responder answers a flood: the fd stays with this thread, which answers it.) */
        int n = poll(pf, 2, RX_QUIET_MS);
        if (n == 0) hand_to_js(t);
        else if (n > 0 && (pf[1].revents & POLLIN)) evfd_drain(t->evfd);
      } else if (poll(pf, 2, -1) > 0 && (pf[1].revents & POLLIN)) {
        evfd_drain(t->evfd);
      }
      continue;
    }
    if (t->rx_want < 2) t->rx_want++; /* a second frame in a row: the next read is a batch (rx_batch) */
    ws_synr_t *synr = __atomic_load_n(&t->synr, __ATOMIC_ACQUIRE);
    if (synr != NULL && r > t->vnet &&
        ws_synr_rx(synr, t->fd, t->vnet, vh, t->rx_data + (size_t)s * t->slot_size, (size_t)(r - t->vnet), head - tail, t->slots)) {
      continue; /* answered or dropped there (counted); the slot is reused */
    }
    t->rx_lens[s] = t->vnet != 0 ? ws_vnet_rx_len(vh, r) : (int32_t)r;
    head++;
    st(&h[H_RX_HEAD], (int32_t)head);
    if ((uint32_t)ld(&h[H_RX_TAIL]) == head - 1) {
      /* The ring was empty: JS may be idle. Queue one callback. */
      bump(&h[H_RX_WAKES]);
      (void)napi_call_threadsafe_function(t->tsfn, NULL, napi_tsfn_nonblocking);
    }
  }
  ws_uring_free(t->rx_ring.u);
  t->rx_ring.u = NULL;
  return NULL;
}

void *tt_tx_main(void *arg) {
  tt_t *t = (tt_t *)arg;
  int32_t *h = t->h;
  const uint32_t mask = t->slots - 1;
  uint32_t tail = (uint32_t)h[H_TX_TAIL];
  for (;;) {
    uint32_t head = (uint32_t)ld_acq(&h[H_TX_HEAD]);
    if (head == tail) {
      /* Empty. Frames queued before a stop request are still written (above). */
      if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) break;
      st(&h[H_TX_SLEEP], 1);
      if ((uint32_t)ld(&h[H_TX_HEAD]) == tail && !__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
        bump(&h[H_TX_SLEEPS]);
        futex_wait(&h[H_TX_SLEEP], 1);
      }
      st(&h[H_TX_SLEEP], 0);
      continue;
    }
    while (tail != head) {
      uint32_t batched = tx_batch(t, tail, head - tail);
      if (batched > 0) {
        tail += batched;
        st_rel(&h[H_TX_TAIL], (int32_t)tail);
        continue;
      }
      uint32_t s = tail & mask;
      ssize_t r;
      do {
        r = write(t->fd, t->tx_data + (size_t)s * t->slot_size, (size_t)t->tx_lens[s]);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) bump(&h[H_TX_DROPS]);
        else bump(&h[H_TX_ERRORS]);
      }
      tail++;
      st_rel(&h[H_TX_TAIL], (int32_t)tail);
    }
  }
  ws_uring_free(t->tx_ring.u);
  t->tx_ring.u = NULL;
  return NULL;
}

#endif
