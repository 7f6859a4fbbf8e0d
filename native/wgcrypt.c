/*
 * WireGuard's data-path crypto on every core: ChaCha20-Poly1305 (RFC 8439)
 * over a batch of packets, split among a pool of native threads.
 *
 * The design is the Linux driver's (drivers/net/wireguard/queueing.c,
 * send.c, receive.c): a parallel crypt queue shared by all cores, and a
 * serial stage per peer that keeps order. Here the serial stage is the JS
 * thread: it assigns the nonces (send counters) in order when it fills a
 * batch, then calls wgCryptRun, which hands the packets to the pool (the
 * calling thread works too, so 1 thread means "only the JS thread") and
 * returns when every packet of the batch is done; the JS thread then
 * sends, or checks the replay window and delivers, in batch order. Nothing
 * in a batch is reordered, so counters and replay checks are exactly those
 * of the one-core path.
 *
 * The cryptography is OpenSSL's EVP_chacha20_poly1305, resolved from the
 * node binary as aead.c resolves AES-GCM (weak references: without them
 * the addon loads and leaves these functions out). Each thread owns one
 * EVP_CIPHER_CTX, made when the pool starts; a packet only sets key and
 * nonce (ChaCha has no key schedule), so the packet path allocates nothing.
 *
 * Batch layout (all in the caller's typed arrays, read in place):
 *   keys: Uint8Array holding the 32-byte keys (the device's arena);
 *   buf:  Uint8Array holding the packets;
 *   jobs: Int32Array, WGC_JOB_WORDS words per packet:
 *     [0] op (0 seal, 1 open), [1] key offset in keys, [2] counter low 32
 *     bits, [3] counter high bits, [4] data offset in buf, [5] data length
 *     (seal: plaintext, the 16-byte tag is written after it; open:
 *     ciphertext without the tag, which follows it), [6] result (0 ok,
 *     -1 bad tag or failure; written here).
 * On a bad tag the decrypted bytes are wiped (the packet is dropped).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <node_api.h>
#include "openssl_syms.h"

#define WGC_JOB_WORDS 8
#define WGC_MAX_THREADS 64
#define WGC_TAG 16
#define WGC_KEY 32
/* Below this many packets the caller does the batch alone: waking a thread costs more than it saves. */
#define WGC_PARALLEL_MIN 4
/* Iterations the caller spins for the workers' last packets before it sleeps on the condition variable. */
#define WGC_SPIN 4096

static bool wgc_available(void) {
  return wirestack_openssl_has(OSSL_CIPHER | OSSL_AEAD | OSSL_CHACHA);
}

typedef struct wgc_pool wgc_pool_t;

typedef struct {
  wgc_pool_t *pool;
  EVP_CIPHER_CTX *ctx;
  pthread_t thread;
  bool started;
  /* Packets this thread did (for the benchmark's view of the split). */
  atomic_uint_fast64_t packets;
} wgc_worker_t;

struct wgc_pool {
  int threads; /* crypt threads including the caller (worker[0]) */
  wgc_worker_t worker[WGC_MAX_THREADS];
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a new generation */
  pthread_cond_t done_cv; /* a batch completed, or a worker left it */
  uint64_t gen;
  bool stop;
  int busy; /* workers inside a batch (they may still read its fields) */
  /* The current batch; written under mu before gen changes. */
  const uint8_t *keys;
  size_t keys_len;
  uint8_t *buf;
  size_t buf_len;
  int32_t *jobs;
  int n;
  atomic_int next;
  atomic_int completed;
  bool freed;
};

static bool wgc_job(EVP_CIPHER_CTX *ctx, const uint8_t *keys, size_t keys_len, uint8_t *buf, size_t buf_len, int32_t *j) {
  int op = j[0];
  uint32_t koff = (uint32_t)j[1], off = (uint32_t)j[4], len = (uint32_t)j[5];
  /* Ranges were not checked by the caller thread for every job: check here, cheaply. */
  if ((uint64_t)koff + WGC_KEY > keys_len || (uint64_t)off + len + WGC_TAG > buf_len || (op != 0 && op != 1)) return false;
  uint8_t nonce[12];
  memset(nonce, 0, 4);
  uint32_t lo = (uint32_t)j[2], hi = (uint32_t)j[3];
  /* WireGuard's nonce: 32 zero bits, then the 64-bit counter little-endian (5.4.6). */
  for (int i = 0; i < 4; i++) nonce[4 + i] = (uint8_t)(lo >> (8 * i));
  for (int i = 0; i < 4; i++) nonce[8 + i] = (uint8_t)(hi >> (8 * i));
  uint8_t *data = buf + off;
  uint8_t *tag = data + len;
  int n = 0, m = 0;
  if (op == 0) {
    return EVP_CipherInit_ex(ctx, NULL, NULL, keys + koff, nonce, 1) == 1 &&
           (len == 0 || EVP_CipherUpdate(ctx, data, &n, data, (int)len) == 1) &&
           EVP_CipherFinal_ex(ctx, data + n, &m) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WGC_TAG, tag) == 1;
  }
  uint8_t expect[WGC_TAG];
  memcpy(expect, tag, WGC_TAG);
  bool ok = EVP_CipherInit_ex(ctx, NULL, NULL, keys + koff, nonce, 0) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WGC_TAG, expect) == 1 &&
            (len == 0 || EVP_CipherUpdate(ctx, data, &n, data, (int)len) == 1) &&
            EVP_CipherFinal_ex(ctx, data + n, &m) == 1; /* constant-time tag check */
  if (!ok && len > 0) OPENSSL_cleanse(data, len);
  return ok;
}

/* Take packets of the current batch until none is left; returns how many this thread did. */
static int wgc_drain(wgc_pool_t *p, wgc_worker_t *w, const uint8_t *keys, size_t keys_len, uint8_t *buf, size_t buf_len,
                     int32_t *jobs, int n) {
  int did = 0;
  for (;;) {
    int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (i >= n) break;
    int32_t *j = jobs + (size_t)i * WGC_JOB_WORDS;
    j[6] = wgc_job(w->ctx, keys, keys_len, buf, buf_len, j) ? 0 : -1;
    did++;
    /* Release: the caller that sees completed == n sees every result and byte. */
    if (atomic_fetch_add_explicit(&p->completed, 1, memory_order_acq_rel) + 1 == n && w != &p->worker[0]) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->done_cv);
      pthread_mutex_unlock(&p->mu);
    }
  }
  atomic_fetch_add_explicit(&w->packets, (uint_fast64_t)did, memory_order_relaxed);
  return did;
}

static void *wgc_thread(void *arg) {
  wgc_worker_t *w = (wgc_worker_t *)arg;
  wgc_pool_t *p = w->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  seen = p->gen;
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    p->busy++;
    const uint8_t *keys = p->keys;
    size_t keys_len = p->keys_len;
    uint8_t *buf = p->buf;
    size_t buf_len = p->buf_len;
    int32_t *jobs = p->jobs;
    int n = p->n;
    pthread_mutex_unlock(&p->mu);
    wgc_drain(p, w, keys, keys_len, buf, buf_len, jobs, n);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_broadcast(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void wgc_shutdown(wgc_pool_t *p) {
  if (p->freed) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->threads; i++) {
    if (p->worker[i].started) pthread_join(p->worker[i].thread, NULL);
  }
  for (int i = 0; i < p->threads; i++) {
    if (p->worker[i].ctx != NULL) EVP_CIPHER_CTX_free(p->worker[i].ctx); /* wipes the last key and state */
    p->worker[i].ctx = NULL;
  }
  p->freed = true;
}

static void wgc_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wgc_pool_t *p = (wgc_pool_t *)data;
  wgc_shutdown(p);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->done_cv);
  free(p);
}

static napi_value wgc_num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* The pool behind a wgCryptNew handle, freed or not; NULL (TypeError thrown) for anything else. */
static wgc_pool_t *wgc_handle_any(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok ||
      data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from wgCryptNew");
    return NULL;
  }
  return (wgc_pool_t *)data;
}

static wgc_pool_t *wgc_handle(napi_env env, napi_value v) {
  wgc_pool_t *p = wgc_handle_any(env, v);
  if (p != NULL && p->freed) {
    napi_throw_error(env, "ERR_WIRESTACK_WGCRYPT", "the crypt pool was freed");
    return NULL;
  }
  return p;
}

/* wgCryptNew(threads) -> handle: `threads` crypt threads in all, the caller included (1: no native thread). */
static napi_value wgc_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t threads = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1 || threads > WGC_MAX_THREADS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "wgCryptNew(threads): threads must be 1..64");
    return NULL;
  }
  wgc_pool_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_WGCRYPT", "out of memory");
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  p->threads = threads;
  bool ok = true;
  for (int i = 0; i < threads && ok; i++) {
    wgc_worker_t *w = &p->worker[i];
    w->pool = p;
    w->ctx = EVP_CIPHER_CTX_new();
    ok = w->ctx != NULL && EVP_CipherInit_ex(w->ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, 1) == 1;
  }
  for (int i = 1; i < threads && ok; i++) {
    wgc_worker_t *w = &p->worker[i];
    if (pthread_create(&w->thread, NULL, wgc_thread, w) != 0) {
      ok = false;
      break;
    }
    w->started = true;
  }
  if (!ok) {
    wgc_finalize(env, p, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_WGCRYPT", "could not start the crypt threads");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, p, wgc_finalize, NULL, &ext) != napi_ok) {
    wgc_finalize(env, p, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_WGCRYPT", "napi_create_external failed");
    return NULL;
  }
  return ext;
}

/* wgCryptFree(handle): stop and join the threads, wipe the contexts now (otherwise at garbage collection). */
static napi_value wgc_free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  wgc_pool_t *p = wgc_handle_any(env, argv[0]);
  if (p != NULL) wgc_shutdown(p);
  return NULL;
}

static bool wgc_bytes(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count) {
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, count, data, NULL, NULL) != napi_ok || t != want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "unexpected argument type");
    return false;
  }
  return true;
}

/*
 * wgCryptRun(handle, keys: Uint8Array, buf: Uint8Array, jobs: Int32Array, n) -> packets that failed
 * Seals/opens the n packets described in jobs (layout above), in parallel
 * on the pool, and returns when all are done.
 */
static napi_value wgc_run(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "wgCryptRun(handle, keys, buf, jobs, n)");
    return NULL;
  }
  wgc_pool_t *p = wgc_handle(env, argv[0]);
  if (p == NULL) return NULL;
  void *keys, *buf, *jobs;
  size_t keys_len, buf_len, jobs_len;
  int32_t n;
  if (!wgc_bytes(env, argv[1], napi_uint8_array, &keys, &keys_len) || !wgc_bytes(env, argv[2], napi_uint8_array, &buf, &buf_len) ||
      !wgc_bytes(env, argv[3], napi_int32_array, &jobs, &jobs_len)) return NULL;
  if (napi_get_value_int32(env, argv[4], &n) != napi_ok || n < 0 || (uint64_t)n * WGC_JOB_WORDS > jobs_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "wgCryptRun: n jobs do not fit the jobs array");
    return NULL;
  }
  if (n == 0) return wgc_num(env, 0);
  bool parallel = p->threads > 1 && n >= WGC_PARALLEL_MIN;
  pthread_mutex_lock(&p->mu);
  /* A worker that joined the previous batch late may still hold its fields: let it leave first (it finds no work). */
  while (p->busy > 0) pthread_cond_wait(&p->done_cv, &p->mu);
  p->keys = keys;
  p->keys_len = keys_len;
  p->buf = buf;
  p->buf_len = buf_len;
  p->jobs = jobs;
  p->n = n;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  atomic_store_explicit(&p->completed, 0, memory_order_relaxed);
  if (parallel) {
    p->gen++;
    pthread_cond_broadcast(&p->work_cv);
  }
  pthread_mutex_unlock(&p->mu);
  wgc_drain(p, &p->worker[0], keys, keys_len, buf, buf_len, jobs, n);
  /* The workers' last packets: spin briefly (they are short), then sleep. */
  for (int s = 0; s < WGC_SPIN && atomic_load_explicit(&p->completed, memory_order_acquire) < n; s++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((s & 255) == 255) sched_yield();
  }
  if (atomic_load_explicit(&p->completed, memory_order_acquire) < n) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->completed, memory_order_acquire) < n) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  int bad = 0;
  const int32_t *j = (const int32_t *)jobs;
  for (int i = 0; i < n; i++) bad += j[(size_t)i * WGC_JOB_WORDS + 6] != 0;
  return wgc_num(env, bad);
}

/* wgCryptStats(handle, out: Float64Array) -> threads; out[i] = packets thread i did (0: the caller). */
static napi_value wgc_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  wgc_pool_t *p = wgc_handle(env, argv[0]);
  if (p == NULL) return NULL;
  void *out;
  size_t count;
  if (!wgc_bytes(env, argv[1], napi_float64_array, &out, &count)) return NULL;
  for (int i = 0; i < p->threads && (size_t)i < count; i++) {
    ((double *)out)[i] = (double)atomic_load_explicit(&p->worker[i].packets, memory_order_relaxed);
  }
  return wgc_num(env, p->threads);
}

/* Called from the addon's init (tap.c). */
napi_status wirestack_wgcrypt_init(napi_env env, napi_value exports) {
  if (!wgc_available()) return napi_ok;
  napi_property_descriptor props[] = {
    { "wgCryptNew", NULL, wgc_new, NULL, NULL, NULL, napi_enumerable, NULL },
    { "wgCryptFree", NULL, wgc_free, NULL, NULL, NULL, napi_enumerable, NULL },
    { "wgCryptRun", NULL, wgc_run, NULL, NULL, NULL, napi_enumerable, NULL },
    { "wgCryptStats", NULL, wgc_stats, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
