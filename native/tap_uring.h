/*
 * Batched TAP I/O through io_uring (tap_uring.c): many read()s or write()s
 * on a TAP fd per system call. Each frame is still its own read or write in
 * the kernel (the TAP fd takes one frame per call), but one io_uring_enter
 * issues a whole batch, so the syscall entry and exit (expensive on this
 * paravirtualised guest with page-table isolation) is paid once per batch.
 *
 * One ring per thread that uses it (the ring is created by, and only
 * entered from, that thread: IORING_SETUP_SINGLE_ISSUER). Raw syscalls and
 * <linux/io_uring.h>, no liburing. Where io_uring is missing or disabled
 * (kernel.io_uring_disabled, seccomp, not Linux) ws_uring_create returns
 * NULL and callers keep their one-syscall-per-frame path.
 *
 * The fd must be O_NONBLOCK: a read that finds the device empty completes
 * at once with -EAGAIN (io_uring then neither arms a poll nor punts it to a
 * worker thread), as a non-blocking read() would.
 */
#ifndef WIRESTACK_TAP_URING_H
#define WIRESTACK_TAP_URING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct ws_uring ws_uring_t;

/* The largest batch one call takes. */
#define WS_URING_BATCH 64

/* A ring of WS_URING_BATCH entries for `fd`, owned by the calling thread; NULL when io_uring is unavailable. */
ws_uring_t *ws_uring_create(int fd);
void ws_uring_free(ws_uring_t *u);

/*
 * Issue `n` (<= WS_URING_BATCH) readv()s, frame i into iov[i * iovcnt ..
 * i * iovcnt + iovcnt - 1] (iovcnt 1 or 2), in one system call, and wait
 * for all of them. res[i]: bytes read, or -errno (-EAGAIN: the device had
 * no frame left for it). The reads are issued in order; a later one may
 * still find a frame that arrived after an earlier one found none. Returns
 * 0, or -errno when the batch could not be submitted (then res is unset).
 */
int ws_uring_readv(ws_uring_t *u, const struct iovec *iov, int iovcnt, unsigned n, int32_t *res);

/* Issue `n` (<= WS_URING_BATCH) write()s, frame i = buf[i], len[i], in order, in one system call; res[i] as above. */
int ws_uring_write(ws_uring_t *u, uint8_t *const *buf, const uint32_t *len, unsigned n, int32_t *res);

/* A thread's ring, created when first wanted. Once io_uring is unavailable or refused a batch it is never
 * tried again by that thread: one system call per frame from then on. Zero-initialised = not yet tried. */
typedef struct { ws_uring_t *u; int failed; } ws_uring_slot_t;

/* The slot's ring (created now if not yet tried), or NULL: use one system call per frame. */
static inline ws_uring_t *ws_uring_get(ws_uring_slot_t *s, int fd) {
  if (s->u == NULL && !s->failed && (s->u = ws_uring_create(fd)) == NULL) s->failed = 1;
  return s->u;
}

/* The ring refused a batch: free it and never try again. */
static inline void ws_uring_give_up(ws_uring_slot_t *s) {
  ws_uring_free(s->u);
  s->u = NULL;
  s->failed = 1;
}

/* ws_uring_write through the slot's ring: 0 (res filled), or -1 when there is no ring or it refused the batch
 * (then given up): write the frames one system call each. */
static inline int ws_uring_slot_write(ws_uring_slot_t *s, int fd, uint8_t *const *buf, const uint32_t *len, unsigned n,
    int32_t *res) {
  ws_uring_t *u = ws_uring_get(s, fd);
  if (u == NULL) return -1;
  if (ws_uring_write(u, buf, len, n, res) < 0) {
    ws_uring_give_up(s);
    return -1;
  }
  return 0;
}

#endif
