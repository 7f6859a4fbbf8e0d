/*
 * Receive chunks for the node:net facade's 'data' Buffers (src/socket/
 * net-socket.ts), from blocks this file recycles instead of fresh malloc().
 *
 *   rxChunk(length) -> Buffer of `length` (1..65536) bytes, uninitialised
 *
 * Why: a bulk receiver makes one 'data' Buffer per 64 KiB chunk. From
 * Buffer.allocUnsafe each is a malloc() of its own; V8 frees them in batches
 * after a scavenge, glibc then trims the top of its heap (brk() down, with
 * the default 128 KiB M_TRIM_THRESHOLD: ~940 brk() calls in 192 MiB received)
 * and the next chunks fault their pages in again. Measured on this project's
 * 2-core VM (Linux -> stack over TAP, 'data' events): 40..260 minor faults
 * per MiB received, at ~13 us each, i.e. up to 3.4 s of the JS thread per
 * GB; with the trimming off (MALLOC_TRIM_THRESHOLD_) 0..16 per MiB and the
 * JS thread's CPU per GB a third. Setting malloc's thresholds is the host
 * process's business, not a library's, so the chunks come from here: a
 * Buffer over a 64 KiB block (napi_create_external_buffer), whose finalizer
 * (run on the JS thread once V8 has collected every view of it) puts the
 * block back on a free list. Blocks on the list stay resident: no fault, no
 * syscall per chunk. The list keeps at most FREE_MAX blocks (32 MiB); more
 * are freed. One list per process, behind a mutex (worker threads each run
 * their own finalizers).
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define CHUNK_BYTES 65536
#define FREE_MAX 512

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *free_blocks[FREE_MAX];
static int free_count;
/* Blocks handed out and not yet returned, and blocks malloc'd in all: for tests (rxChunkStats). */
static int64_t outstanding;
static int64_t allocated;

static void chunk_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pthread_mutex_lock(&lock);
  outstanding--;
  if (free_count < FREE_MAX) {
    free_blocks[free_count++] = data;
    data = NULL;
  }
  pthread_mutex_unlock(&lock);
  free(data);
}

static napi_value rx_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int64_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int64(env, argv[0], &len) != napi_ok || len < 1 || len > CHUNK_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "rxChunk(length): length must be an integer in 1..65536");
    return NULL;
  }
  void *block = NULL;
  pthread_mutex_lock(&lock);
  if (free_count > 0) block = free_blocks[--free_count];
  else allocated++;
  outstanding++;
  pthread_mutex_unlock(&lock);
  if (block == NULL) block = malloc(CHUNK_BYTES);
  if (block == NULL || napi_create_external_buffer(env, (size_t)len, block, chunk_finalize, NULL, &out) != napi_ok) {
    pthread_mutex_lock(&lock);
    outstanding--;
    allocated--;
    pthread_mutex_unlock(&lock);
    free(block);
    napi_throw_error(env, "ENOMEM", "rxChunk: no memory for a receive chunk");
    return NULL;
  }
  return out;
}

/* rxChunkStats() -> { outstanding, free, allocated } (tests, diagnostics). */
static napi_value rx_chunk_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  pthread_mutex_lock(&lock);
  int64_t o = outstanding, f = free_count, a = allocated;
  pthread_mutex_unlock(&lock);
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (napi_create_int64(env, o, &v) != napi_ok || napi_set_named_property(env, out, "outstanding", v) != napi_ok) return NULL;
  if (napi_create_int64(env, f, &v) != napi_ok || napi_set_named_property(env, out, "free", v) != napi_ok) return NULL;
  if (napi_create_int64(env, a, &v) != napi_ok || napi_set_named_property(env, out, "allocated", v) != napi_ok) return NULL;
  return out;
}

napi_status wirestack_rx_chunks_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "rxChunk", NULL, rx_chunk, NULL, NULL, NULL, napi_enumerable, NULL },
    { "rxChunkStats", NULL, rx_chunk_stats, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
