/*
 * Batched TAP I/O through io_uring: see tap_uring.h.
 *
 * Why: under a SYN flood every frame in and every SYN-ACK out was one
 * read() or write() system call, and on this guest (a paravirtualised VM
 * with page-table isolation) the entry and exit of each is a large part of
 * its cost; the RX thread fell behind the flood sender and the kernel's TAP
 * queue dropped frames at random, a legitimate client's among them (one
 * lost SYN costs it a 1 s retransmission). io_uring issues a batch of reads
 * or writes in one io_uring_enter: the kernel runs each in turn (inline, as
 * the fd is non-blocking) and posts their results to the completion ring.
 *
 * The ring is small (WS_URING_BATCH entries) and set up with the flags that
 * make a synchronous batch cheapest where the kernel has them
 * (SINGLE_ISSUER and DEFER_TASKRUN: no task work from other contexts;
 * SUBMIT_ALL), falling back to none. Linux only.
 */
#define _GNU_SOURCE
#include "tap_uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__NR_io_uring_setup) && defined(__NR_io_uring_enter)
#define WS_HAVE_URING 1
#endif
#endif

#ifndef WS_HAVE_URING

ws_uring_t *ws_uring_create(int fd) {
  (void)fd;
  return NULL;
}
void ws_uring_free(ws_uring_t *u) { (void)u; }
int ws_uring_readv(ws_uring_t *u, const struct iovec *iov, int iovcnt, unsigned n, int32_t *res) {
  (void)u; (void)iov; (void)iovcnt; (void)n; (void)res;
  return -ENOSYS;
}
int ws_uring_write(ws_uring_t *u, uint8_t *const *buf, const uint32_t *len, unsigned n, int32_t *res) {
  (void)u; (void)buf; (void)len; (void)n; (void)res;
  return -ENOSYS;
}

#else

struct ws_uring {
  int ring, fd;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_size, cq_size, sqes_size;
};

static int uring_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int uring_enter(int ring, unsigned submit, unsigned wait) {
  return (int)syscall(__NR_io_uring_enter, ring, submit, wait, wait > 0 ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
}

ws_uring_t *ws_uring_create(int fd) {
  static const unsigned flag_sets[] = {
#if defined(IORING_SETUP_SINGLE_ISSUER) && defined(IORING_SETUP_DEFER_TASKRUN) && defined(IORING_SETUP_SUBMIT_ALL)
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
#endif
#ifdef IORING_SETUP_SUBMIT_ALL
    IORING_SETUP_SUBMIT_ALL,
#endif
    0,
  };
  ws_uring_t *u = (ws_uring_t *)calloc(1, sizeof *u);
  if (u == NULL) return NULL;
  struct io_uring_params p;
  int ring = -1;
  for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0] && ring < 0; i++) {
    memset(&p, 0, sizeof p);
    p.flags = flag_sets[i];
    ring = uring_setup(WS_URING_BATCH, &p);
    if (ring < 0 && errno != EINVAL) break; /* ENOSYS, EPERM (disabled): no io_uring at all */
  }
  if (ring < 0) {
    free(u);
    return NULL;
  }
  u->ring = ring;
  u->fd = fd;
  u->sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  u->cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (u->cq_size > u->sq_size) u->sq_size = u->cq_size;
    u->cq_size = u->sq_size;
  }
  u->sq_map = mmap(NULL, u->sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  if (u->sq_map == MAP_FAILED) goto fail;
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    u->cq_map = u->sq_map;
  } else {
    u->cq_map = mmap(NULL, u->cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    if (u->cq_map == MAP_FAILED) {
      u->cq_map = NULL;
      goto fail;
    }
  }
  u->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
  u->sqes = (struct io_uring_sqe *)mmap(NULL, u->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (u->sqes == MAP_FAILED) {
    u->sqes = NULL;
    goto fail;
  }
  uint8_t *sq = (uint8_t *)u->sq_map, *cq = (uint8_t *)u->cq_map;
  u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  u->sq_array = (unsigned *)(sq + p.sq_off.array);
  u->cq_head = (unsigned *)(cq + p.cq_off.head);
  u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  /* The SQ array maps slot i to SQE i for good: every batch fills SQEs from the tail's slot. */
  for (unsigned i = 0; i < p.sq_entries; i++) u->sq_array[i] = i;
  return u;
fail:
  ws_uring_free(u);
  return NULL;
}

void ws_uring_free(ws_uring_t *u) {
  if (u == NULL) return;
  if (u->sqes != NULL) munmap(u->sqes, u->sqes_size);
  if (u->cq_map != NULL && u->cq_map != u->sq_map) munmap(u->cq_map, u->cq_size);
  if (u->sq_map != NULL && u->sq_map != MAP_FAILED) munmap(u->sq_map, u->sq_size);
  close(u->ring);
  free(u);
}

/* Submit the `n` SQEs prepared at the tail and reap their `n` completions into res (by user_data). */
static int run_batch(ws_uring_t *u, unsigned n, int32_t *res) {
  unsigned tail = *u->sq_tail;
  __atomic_store_n(u->sq_tail, tail + n, __ATOMIC_RELEASE);
  unsigned submitted = 0, reaped = 0;
  while (reaped < n) {
    int r = uring_enter(u->ring, n - submitted, n - reaped);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (submitted == 0) {
        /* Nothing went in: take the SQEs back so the ring stays consistent. */
        __atomic_store_n(u->sq_tail, tail, __ATOMIC_RELEASE);
        return -errno;
      }
      return -errno; /* cannot happen once submitted with a ring this size; the caller gives up on io_uring */
    }
    submitted += (unsigned)r;
    unsigned head = *u->cq_head;
    unsigned ctail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != ctail; head++) {
      const struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
      if (c->user_data < n) res[c->user_data] = c->res;
      reaped++;
    }
    __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
  }
  return 0;
}

static struct io_uring_sqe *sqe_at(ws_uring_t *u, unsigned i) {
  struct io_uring_sqe *s = &u->sqes[(*u->sq_tail + i) & *u->sq_mask];
  memset(s, 0, sizeof *s);
  s->fd = u->fd;
  s->user_data = i;
  return s;
}

int ws_uring_readv(ws_uring_t *u, const struct iovec *iov, int iovcnt, unsigned n, int32_t *res) {
  if (n == 0) return 0;
  if (n > WS_URING_BATCH) n = WS_URING_BATCH;
  for (unsigned i = 0; i < n; i++) {
    struct io_uring_sqe *s = sqe_at(u, i);
    s->opcode = IORING_OP_READV;
    s->addr = (uint64_t)(uintptr_t)&iov[(size_t)i * (size_t)iovcnt];
    s->len = (uint32_t)iovcnt;
    s->rw_flags = RWF_NOWAIT; /* an empty device completes with -EAGAIN instead of arming a poll */
  }
  return run_batch(u, n, res);
}

int ws_uring_write(ws_uring_t *u, uint8_t *const *buf, const uint32_t *len, unsigned n, int32_t *res) {
  if (n == 0) return 0;
  if (n > WS_URING_BATCH) n = WS_URING_BATCH;
  for (unsigned i = 0; i < n; i++) {
    struct io_uring_sqe *s = sqe_at(u, i);
    s->opcode = IORING_OP_WRITE;
    s->addr = (uint64_t)(uintptr_t)buf[i];
    s->len = len[i];
  }
  return run_batch(u, n, res);
}

#endif
