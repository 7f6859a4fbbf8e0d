/*
 * The Node-API side of the native SYN-cookie responder (syn_responder.c) on
 * a threaded TAP: attaching it to the RX thread, and its answer for tests.
 */
#ifdef __linux__

#include <string.h>

#include "tap_thread.h"

/* threadSynResponder(handle) -> ArrayBuffer: attach the native SYN-cookie responder (syn_responder.c) to the
 * RX thread (once); its words are how JS configures it. */
napi_value tt_thread_syn_responder(napi_env env, napi_callback_info info) {
  napi_value argv[1], ab;
  tt_t *t;
  if (!tt_get_args(env, info, 1, argv) || !tt_get_handle(env, argv[0], &t)) return NULL;
  void *mem = NULL;
  size_t size = 0;
  if (t->synr != NULL || !t->running) {
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadSynResponder: already attached, or stopped");
    return NULL;
  }
  ws_synr_t *r = ws_synr_create(&mem, &size);
  if (r == NULL) {
    napi_throw_error(env, "ENOMEM", "threadSynResponder: out of memory");
    return NULL;
  }
  /* The words live until the last owner releases t (after both threads are joined). */
  if (napi_create_external_arraybuffer(env, mem, size, tt_finalize_memory, t, &ab) != napi_ok) {
    ws_synr_free(r);
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "threadSynResponder: napi_create_external_arraybuffer failed");
    return NULL;
  }
  t->refs++;
  ws_synr_set_uring(r, &t->h[H_URING]);
  __atomic_store_n(&t->synr, r, __ATOMIC_RELEASE);
  return ab;
}

/* synResponderAnswerForTest(words: ArrayBuffer, now: number, frame: Uint8Array) -> Uint8Array | null: the
 * SYN-ACK frame the responder would send for `frame` (syn_responder.c's ws_synr_answer_for_test), for tests. */
napi_value tt_synr_answer_for_test(napi_env env, napi_callback_info info) {
  napi_value argv[3], ab, res;
  if (!tt_get_args(env, info, 3, argv)) return NULL;
  void *cfg = NULL, *frame = NULL, *data = NULL;
  size_t cfg_len = 0, frame_len = 0;
  double now = 0;
  napi_typedarray_type type;
  size_t off = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &cfg, &cfg_len) != napi_ok ||
      napi_get_value_double(env, argv[1], &now) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &type, &frame_len, &frame, &ab, &off) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "synResponderAnswerForTest(ArrayBuffer, number, Uint8Array)");
    return NULL;
  }
  uint8_t out[256];
  int n = ws_synr_answer_for_test((const int32_t *)cfg, cfg_len / 4, now, (const uint8_t *)frame, frame_len, out,
                                  sizeof out);
  if (n < 0) {
    napi_throw_error(env, "ERR_WIRESTACK_TAP", "synResponderAnswerForTest failed");
    return NULL;
  }
  if (n == 0) {
    napi_get_null(env, &res);
    return res;
  }
  if (napi_create_arraybuffer(env, (size_t)n, &data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &res) != napi_ok) return NULL;
  memcpy(data, out, (size_t)n);
  return res;
}

#endif
