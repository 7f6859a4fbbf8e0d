/*
 * Native SYN-cookie responder for the TAP RX thread (syn_responder.c).
 * tap_thread.c hands it every frame it reads; the responder answers pure
 * SYNs to listeners the stack has marked as under a flood with a cookie
 * SYN-ACK written straight back to the fd, and drops pure SYNs when the RX
 * ring is nearly full, so the frames JS must see (ACKs carrying cookies,
 * data) are not lost behind flood SYNs in the kernel's queue.
 */
#ifndef WIRESTACK_SYN_RESPONDER_H
#define WIRESTACK_SYN_RESPONDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_synr ws_synr_t;

/* Allocate a responder; *mem / *size: the shared words JS configures it through. NULL on ENOMEM. */
ws_synr_t *ws_synr_create(void **mem, size_t *size);
void ws_synr_free(ws_synr_t *r);
/* Join the responder's writer thread (before the fd closes; the RX thread must be stopped). Idempotent; NULL: nothing. */
void ws_synr_stop(ws_synr_t *r);

/* The switch word for batched SYN-ACK writes (tap_uring.c; non-zero: on), read before each batch; set before the
 * responder is attached to the RX thread. */
void ws_synr_set_uring(ws_synr_t *r, const int32_t *on);

/* RX thread: 1 before a batch of reads (SYN-ACKs queue without waking the writer), 0 after it (one wake). */
void ws_synr_hold(ws_synr_t *r, int on);

/* Whether an entry is active (a listener under a flood): the RX thread then keeps the fd (no hand-off to JS). NULL: 0. */
int ws_synr_busy(ws_synr_t *r);

/* For tests: the SYN-ACK answer() would write for `frame` under the words `cfg` at engine time `now`. */
int ws_synr_answer_for_test(const int32_t *cfg, size_t cfg_words, double now, const uint8_t *frame, size_t len,
                            uint8_t *out, size_t cap);

/*
 * One received frame (`vh`: its virtio_net_hdr when vnet != 0). `fill`: frames
 * waiting in the RX ring, of `slots`. Returns 1 when the responder consumed
 * the frame (answered or dropped, counted), 0 to queue it for JS as usual.
 */
int ws_synr_rx(ws_synr_t *r, int fd, int vnet, const uint8_t *vh, const uint8_t *frame, size_t len, uint32_t fill,
               uint32_t slots);

#endif
