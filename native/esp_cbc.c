/*
 * AES-CBC and HMAC on reused OpenSSL contexts, in place on the caller's
 * bytes: ESP's cbc(aes) + hmac(sha*) suites (RFC 3602, RFC 4868, RFC 2404).
 *
 * node:crypto makes a Cipher and an Hmac object plus output Buffers for
 * every packet (createCipheriv/createHmac, update, final, digest). Here the
 * key is set once per SA: an EVP_CIPHER_CTX per direction keeps the AES key
 * schedule (a packet only sets its explicit IV: EVP_CipherInit_ex with
 * cipher and key NULL), and an EVP_MAC_CTX keeps the HMAC key (a packet
 * re-initialises it with key NULL, which reuses the precomputed inner and
 * outer pads). The packet path allocates nothing on the JS heap.
 *
 * The random IVs CBC needs (RFC 3602 2.3: unpredictable) come from
 * RAND_bytes through randFill, so that call allocates nothing either.
 *
 * As in native/aead.c, the OpenSSL symbols resolve from the node binary at
 * load time and the references are weak: a binary without them only loses
 * these functions (src/ipsec/crypto-node.ts then keeps node:crypto).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <node_api.h>
#include "napi_args.h"
#include "openssl_syms.h"

static bool cbc_available(void) {
  return wirestack_openssl_has(OSSL_CIPHER | OSSL_CBC | OSSL_MAC | OSSL_RAND_MEMCMP | OSSL_ALLOC);
}

#define CBC_BLOCK 16
#define MAC_MAX EVP_MAX_MD_SIZE
/* One call's data must fit OpenSSL's int lengths; packets are far smaller. */
#define DATA_MAX (1u << 30)

/*
 * Handles are N-API externals tagged with their kind, so a handle of one
 * kind passed where another is expected (or an aead handle) is refused
 * instead of being read as the wrong struct.
 */
static const napi_type_tag CBC_TAG = { 0x7769726573746163ULL, 0x6b2d6165732d6362ULL };
static const napi_type_tag MAC_TAG = { 0x7769726573746163ULL, 0x6b2d686d61632d31ULL };

typedef struct {
  EVP_CIPHER_CTX *ctx; /* NULL once freed */
} cbc_t;

typedef struct {
  EVP_MAC_CTX *ctx; /* NULL once freed */
  size_t size;      /* the hash's output length */
} mac_t;

static void cbc_release(cbc_t *c) {
  if (c->ctx != NULL) {
    EVP_CIPHER_CTX_free(c->ctx); /* cleanses the key schedule */
    c->ctx = NULL;
  }
}

static void mac_release(mac_t *m) {
  if (m->ctx != NULL) {
    EVP_MAC_CTX_free(m->ctx); /* cleanses the key and pads */
    m->ctx = NULL;
  }
}

static void cbc_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  cbc_release((cbc_t *)data);
  OPENSSL_free(data);
}

static void mac_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  mac_release((mac_t *)data);
  OPENSSL_free(data);
}

static bool in_range(napi_env env, size_t len, uint32_t off, uint32_t n, const char *what) {
  if ((uint64_t)off + n > len || n > DATA_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return false;
  }
  return true;
}

static void *get_handle(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  napi_valuetype t;
  bool ok = false;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_check_object_type_tag(env, v, tag, &ok) != napi_ok ||
      !ok || napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return NULL;
  }
  return data;
}

static napi_value wrap(napi_env env, void *data, napi_finalize fin, const napi_type_tag *tag) {
  napi_value external;
  if (napi_create_external(env, data, fin, NULL, &external) != napi_ok) {
    fin(env, data, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "napi_create_external failed");
    return NULL;
  }
  napi_type_tag_object(env, external, tag);
  return external;
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

#define ARGS(n, usage)                                                      \
  size_t argc = (n);                                                        \
  napi_value argv[(n)];                                                     \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL; \
  if (argc < (n)) {                                                         \
    napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);                  \
    return NULL;                                                            \
  }

/* cbcNew(key: Uint8Array (16, 24 or 32 bytes), encrypt: boolean) -> handle; one direction per context. */
static napi_value cbc_new(napi_env env, napi_callback_info info) {
  ARGS(2, "cbcNew(key, encrypt)");
  uint8_t *key;
  size_t klen;
  bool enc;
  if (!ws_arg_bytes(env, argv[0], &key, &klen, "key must be a Uint8Array")) return NULL;
  if (napi_get_value_bool(env, argv[1], &enc) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "encrypt must be a boolean");
    return NULL;
  }
  const EVP_CIPHER *cipher = klen == 16 ? EVP_aes_128_cbc() : klen == 24 ? EVP_aes_192_cbc() : klen == 32 ? EVP_aes_256_cbc() : NULL;
  if (cipher == NULL) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AES-CBC key must be 16, 24 or 32 bytes");
    return NULL;
  }
  cbc_t *c = OPENSSL_zalloc(sizeof *c);
  if (c == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "out of memory");
    return NULL;
  }
  c->ctx = EVP_CIPHER_CTX_new();
  /* ESP pads itself (RFC 4303 2.4): the cipher sees whole blocks and must add none. */
  bool ok = c->ctx != NULL && EVP_CipherInit_ex(c->ctx, cipher, NULL, key, NULL, enc ? 1 : 0) == 1 &&
            EVP_CIPHER_CTX_set_padding(c->ctx, 0) == 1;
  if (!ok) {
    cbc_finalize(env, c, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "OpenSSL could not set up AES-CBC");
    return NULL;
  }
  return wrap(env, c, cbc_finalize, &CBC_TAG);
}

/*
 * cbcRun(handle, b, iv, data, len, out, outO) -> 0 | -1
 * Encrypts or decrypts (the handle's direction) b[data..+len) into
 * out[outO..] with the 16-byte IV at b[iv..]. len is a multiple of 16. In
 * place when out === b and outO === data; other overlaps are not allowed.
 * -1 only if OpenSSL fails.
 */
static napi_value cbc_run(napi_env env, napi_callback_info info) {
  ARGS(7, "cbcRun(handle, b, iv, data, len, out, outO)");
  cbc_t *c = get_handle(env, argv[0], &CBC_TAG, "handle must come from cbcNew");
  if (c == NULL) return NULL;
  if (c->ctx == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "the AES-CBC handle was freed");
    return NULL;
  }
  uint8_t *b, *out;
  size_t b_len, out_len;
  uint32_t iv, data, len, out_o;
  if (!ws_arg_bytes(env, argv[1], &b, &b_len, "buffer must be a Uint8Array") || !ws_arg_u32(env, argv[2], &iv) ||
      !ws_arg_u32(env, argv[3], &data) || !ws_arg_u32(env, argv[4], &len) ||
      !ws_arg_bytes(env, argv[5], &out, &out_len, "out must be a Uint8Array") || !ws_arg_u32(env, argv[6], &out_o)) {
    return NULL;
  }
  if (len % CBC_BLOCK != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AES-CBC data must be whole 16-byte blocks");
    return NULL;
  }
  if (!in_range(env, b_len, iv, CBC_BLOCK, "IV outside the buffer") || !in_range(env, b_len, data, len, "data outside the buffer") ||
      !in_range(env, out_len, out_o, len, "output outside the buffer")) {
    return NULL;
  }
  int n = 0;
  /* enc -1: keep the direction the key schedule was made for; only the IV changes. */
  bool ok = EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, b + iv, -1) == 1 &&
            (len == 0 || EVP_CipherUpdate(c->ctx, out + out_o, &n, b + data, (int)len) == 1) && (uint32_t)n == len;
  return int_value(env, ok ? 0 : -1);
}

/* cbcFree(handle) / hmacFree(handle): wipe and free now rather than at garbage collection; later use throws. */
static napi_value cbc_free(napi_env env, napi_callback_info info) {
  ARGS(1, "cbcFree(handle)");
  cbc_t *c = get_handle(env, argv[0], &CBC_TAG, "handle must come from cbcNew");
  if (c != NULL) cbc_release(c);
  return NULL;
}

/* hmacNew(digest: 'sha1' | 'sha256' | 'sha384' | 'sha512', key: Uint8Array) -> handle */
static napi_value hmac_new(napi_env env, napi_callback_info info) {
  ARGS(2, "hmacNew(digest, key)");
  char digest[16];
  size_t dlen = 0;
  uint8_t *key;
  size_t klen;
  if (napi_get_value_string_utf8(env, argv[0], digest, sizeof digest, &dlen) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "digest must be a string");
    return NULL;
  }
  size_t size = strcmp(digest, "sha1") == 0 ? 20 : strcmp(digest, "sha256") == 0 ? 32
              : strcmp(digest, "sha384") == 0 ? 48 : strcmp(digest, "sha512") == 0 ? 64 : 0;
  if (size == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "HMAC digest must be sha1, sha256, sha384 or sha512");
    return NULL;
  }
  if (!ws_arg_bytes(env, argv[1], &key, &klen, "key must be a Uint8Array")) return NULL;
  mac_t *m = OPENSSL_zalloc(sizeof *m);
  if (m == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "out of memory");
    return NULL;
  }
  m->size = size;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (mac != NULL) {
    m->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
  }
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  /* An empty key is still a key: pass a non-NULL pointer so init does not take it for "reuse the old one". */
  static const uint8_t none[1] = { 0 };
  if (m->ctx == NULL || EVP_MAC_init(m->ctx, klen > 0 ? key : none, klen, params) != 1) {
    mac_finalize(env, m, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "OpenSSL could not set up HMAC");
    return NULL;
  }
  return wrap(env, m, mac_finalize, &MAC_TAG);
}

/* The MAC of b[o..o+n) ‖ tail[0..tailLen) into md (m->size bytes). */
static bool mac_compute(mac_t *m, const uint8_t *b, uint32_t n, const uint8_t *tail, uint32_t tail_len, uint8_t *md) {
  size_t got = 0;
  /* key NULL: start a new message with the key set at hmacNew (the pads are kept, not recomputed). */
  return EVP_MAC_init(m->ctx, NULL, 0, NULL) == 1 && (n == 0 || EVP_MAC_update(m->ctx, b, n) == 1) &&
         (tail_len == 0 || EVP_MAC_update(m->ctx, tail, tail_len) == 1) &&
         EVP_MAC_final(m->ctx, md, &got, MAC_MAX) == 1 && got == m->size;
}

typedef struct {
  mac_t *m;
  uint8_t *b, *tail;
  size_t b_len, tail_size;
  uint32_t o, n, tail_len;
} mac_args_t;

/* handle, b, o, n, tail, tailLen: the arguments hmacRun and hmacVerify share. */
static bool mac_args(napi_env env, napi_value *argv, mac_args_t *x) {
  x->m = get_handle(env, argv[0], &MAC_TAG, "handle must come from hmacNew");
  if (x->m == NULL) return false;
  if (x->m->ctx == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_CRYPTO", "the HMAC handle was freed");
    return false;
  }
  return ws_arg_bytes(env, argv[1], &x->b, &x->b_len, "buffer must be a Uint8Array") && ws_arg_u32(env, argv[2], &x->o) &&
         ws_arg_u32(env, argv[3], &x->n) && ws_arg_bytes(env, argv[4], &x->tail, &x->tail_size, "tail must be a Uint8Array") &&
         ws_arg_u32(env, argv[5], &x->tail_len) && in_range(env, x->b_len, x->o, x->n, "data outside the buffer") &&
         in_range(env, x->tail_size, 0, x->tail_len, "tailLen past the end of tail");
}

/*
 * hmacRun(handle, b, o, n, tail, tailLen, out, outO, outLen) -> 0 | -1
 * The HMAC of b[o..o+n) ‖ tail[0..tailLen), its first outLen bytes written
 * at out[outO..]. -1 only if OpenSSL fails.
 */
static napi_value hmac_run(napi_env env, napi_callback_info info) {
  ARGS(9, "hmacRun(handle, b, o, n, tail, tailLen, out, outO, outLen)");
  mac_args_t x;
  uint8_t *out;
  size_t out_len;
  uint32_t out_o, want;
  if (!mac_args(env, argv, &x) || !ws_arg_bytes(env, argv[6], &out, &out_len, "out must be a Uint8Array") ||
      !ws_arg_u32(env, argv[7], &out_o) || !ws_arg_u32(env, argv[8], &want)) {
    return NULL;
  }
  if (want < 1 || want > x.m->size) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "outLen must be 1..the digest length");
    return NULL;
  }
  if (!in_range(env, out_len, out_o, want, "output outside the buffer")) return NULL;
  uint8_t md[MAC_MAX];
  bool ok = mac_compute(x.m, x.b + x.o, x.n, x.tail, x.tail_len, md);
  if (ok) memcpy(out + out_o, md, want);
  OPENSSL_cleanse(md, sizeof md);
  return int_value(env, ok ? 0 : -1);
}

/*
 * hmacVerify(handle, b, o, n, tail, tailLen, icv, icvLen) -> 1 | 0
 * Constant-time check of the icvLen-byte truncated HMAC at b[icv..] over the
 * same inputs as hmacRun. 0 for a wrong ICV (and if OpenSSL fails).
 */
static napi_value hmac_verify(napi_env env, napi_callback_info info) {
  ARGS(8, "hmacVerify(handle, b, o, n, tail, tailLen, icv, icvLen)");
  mac_args_t x;
  uint32_t icv, icv_len;
  if (!mac_args(env, argv, &x) || !ws_arg_u32(env, argv[6], &icv) || !ws_arg_u32(env, argv[7], &icv_len)) return NULL;
  if (icv_len < 1 || icv_len > x.m->size) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "icvLen must be 1..the digest length");
    return NULL;
  }
  if (!in_range(env, x.b_len, icv, icv_len, "ICV outside the buffer")) return NULL;
  uint8_t md[MAC_MAX];
  bool ok = mac_compute(x.m, x.b + x.o, x.n, x.tail, x.tail_len, md) && CRYPTO_memcmp(md, x.b + icv, icv_len) == 0;
  OPENSSL_cleanse(md, sizeof md);
  return int_value(env, ok ? 1 : 0);
}

static napi_value hmac_free(napi_env env, napi_callback_info info) {
  ARGS(1, "hmacFree(handle)");
  mac_t *m = get_handle(env, argv[0], &MAC_TAG, "handle must come from hmacNew");
  if (m != NULL) mac_release(m);
  return NULL;
}

/* randFill(b, o, n) -> 0 | -1: OpenSSL's CSPRNG (RAND_bytes) into b[o..o+n). */
static napi_value rand_fill(napi_env env, napi_callback_info info) {
  ARGS(3, "randFill(b, o, n)");
  uint8_t *b;
  size_t b_len;
  uint32_t o, n;
  if (!ws_arg_bytes(env, argv[0], &b, &b_len, "buffer must be a Uint8Array") || !ws_arg_u32(env, argv[1], &o) ||
      !ws_arg_u32(env, argv[2], &n) || !in_range(env, b_len, o, n, "range outside the buffer")) {
    return NULL;
  }
  return int_value(env, n == 0 || RAND_bytes(b + o, (int)n) == 1 ? 0 : -1);
}

/* Called from native/aead.c's init. */
napi_status wirestack_cbc_init(napi_env env, napi_value exports) {
  if (!cbc_available()) return napi_ok;
  napi_property_descriptor props[] = {
    { "cbcNew", NULL, cbc_new, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cbcRun", NULL, cbc_run, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cbcFree", NULL, cbc_free, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hmacNew", NULL, hmac_new, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hmacRun", NULL, hmac_run, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hmacVerify", NULL, hmac_verify, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hmacFree", NULL, hmac_free, NULL, NULL, NULL, napi_enumerable, NULL },
    { "randFill", NULL, rand_fill, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
