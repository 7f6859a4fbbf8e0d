/*
 * AES-GCM on a reused OpenSSL cipher context, in place on the caller's bytes.
 *
 * node:crypto makes a cipher object and output Buffers for every packet
 * (createCipheriv, update, getAuthTag: ~1.4 KB of garbage per ESP or fips
 * WireGuard packet). Here a key is expanded once into an EVP_CIPHER_CTX
 * (aeadNew, once per SA or keypair) and every packet only sets the IV
 * (EVP_CipherInit_ex with cipher and key NULL keeps the key schedule), feeds
 * the AAD, runs the cipher over the caller's Uint8Array and reads or checks
 * the tag: no allocation besides what N-API needs to pass the arguments.
 *
 * The cryptography is OpenSSL's. Its EVP_* symbols are not linked into the
 * addon: they resolve at load time from the node binary, which carries
 * OpenSSL 3 and exports its symbols (official Node builds do; the headers
 * ship in <node>/include/node/openssl). A Node built against a shared
 * libcrypto provides them the same way through that library. The
 * references are weak, so a binary without them costs only this part.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <node_api.h>
#include "napi_args.h"
#include "openssl_syms.h"

/*
 * Where the running binary does not export the OpenSSL symbols (a Node
 * without them), the addon still loads for TAP and UDP and only leaves out
 * the aead* functions; src/crypto/aes-gcm.ts then uses node:crypto.
 */
static bool aead_available(void) {
  return wirestack_openssl_has(OSSL_CIPHER | OSSL_AEAD | OSSL_GCM | OSSL_ALLOC);
}

#define AEAD_TAG_MAX 16
/* GCM IVs: 12 bytes is the fast path (RFC 4106 ESP); wolfGuard uses 16 (derived through GHASH). */
#define AEAD_IV_MIN 8
#define AEAD_IV_MAX 64
/* One call's data must fit EVP_CipherUpdate's int length; packets are far smaller. */
#define AEAD_DATA_MAX (1 << 30)
/* ESP (RFC 4106 4, RFC 4543 4): nonce = salt (4) || the packet's explicit IV (8). */
#define ESP_NONCE_LEN 12
/* SPI (4) + sequence number (4) + IV (8): where an ESP packet's payload starts. */
#define ESP_HEAD_LEN 16

typedef struct {
  EVP_CIPHER_CTX *ctx; /* NULL once freed (aeadFree) */
  int iv_len;
  /* RFC 4106 4 / RFC 4543 4: the 4-byte salt (implicit nonce part) for aeadEsp*; has_salt 0 when none was given. */
  int has_salt;
  uint8_t salt[4];
} aead_t;

static void aead_release(aead_t *a) {
  if (a->ctx != NULL) {
    EVP_CIPHER_CTX_free(a->ctx); /* cleanses the key schedule */
    a->ctx = NULL;
  }
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_t *a = (aead_t *)data;
  aead_release(a);
  OPENSSL_cleanse(a, sizeof *a);
  OPENSSL_free(a);
}

/* [off, off+n) inside a buffer of len bytes; throws a RangeError otherwise. */
static bool aead_range(napi_env env, size_t len, uint32_t off, uint32_t n, const char *what) {
  if ((uint64_t)off + n > len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return false;
  }
  return true;
}

static aead_t *aead_handle(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from aeadNew");
    return NULL;
  }
  aead_t *a = (aead_t *)data;
  if (a->ctx == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_AEAD", "the AEAD handle was freed");
    return NULL;
  }
  return a;
}

static napi_value aead_int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/*
 * aeadNew(key: Uint8Array (16, 24 or 32 bytes), ivLen[, salt: Uint8Array (4 bytes)]) -> handle (an external; the
 * finalizer frees the context). With a salt (ESP, RFC 4106 4) and ivLen 12 the handle also serves aeadEspSeal/Open.
 */
static napi_value aead_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadNew(key, ivLen)");
    return NULL;
  }
  uint8_t *key;
  size_t klen;
  uint32_t iv_len;
  if (!ws_arg_bytes(env, argv[0], &key, &klen, "key must be a Uint8Array") || !ws_arg_u32(env, argv[1], &iv_len)) return NULL;
  const EVP_CIPHER *cipher = klen == 16 ? EVP_aes_128_gcm() : klen == 24 ? EVP_aes_192_gcm() : klen == 32 ? EVP_aes_256_gcm() : NULL;
  if (cipher == NULL) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AES-GCM key must be 16, 24 or 32 bytes");
    return NULL;
  }
  if (iv_len < AEAD_IV_MIN || iv_len > AEAD_IV_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AES-GCM IV length must be 8..64 bytes");
    return NULL;
  }
  uint8_t *salt = NULL;
  size_t salt_len = 0;
  napi_valuetype st = napi_undefined;
  if (argc > 2 && napi_typeof(env, argv[2], &st) == napi_ok && st != napi_undefined) {
    if (!ws_arg_bytes(env, argv[2], &salt, &salt_len, "salt must be a Uint8Array")) return NULL;
    if (salt_len != 4 || iv_len != ESP_NONCE_LEN) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "an ESP salt is 4 bytes, for 12-byte nonces");
      return NULL;
    }
  }
  aead_t *a = OPENSSL_zalloc(sizeof *a);
  if (a == NULL) {
    napi_throw_error(env, "ERR_WIRESTACK_AEAD", "out of memory");
    return NULL;
  }
  a->iv_len = (int)iv_len;
  if (salt != NULL) {
    memcpy(a->salt, salt, 4);
    a->has_salt = 1;
  }
  a->ctx = EVP_CIPHER_CTX_new();
  /* The IV length must be set between choosing the cipher and setting the key and IV. */
  bool ok = a->ctx != NULL &&
            EVP_CipherInit_ex(a->ctx, cipher, NULL, NULL, NULL, 1) == 1 &&
            EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1 &&
            EVP_CipherInit_ex(a->ctx, NULL, NULL, key, NULL, 1) == 1;
  napi_value external;
  if (!ok) {
    aead_finalize(env, a, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_AEAD", "OpenSSL could not set up AES-GCM");
    return NULL;
  }
  if (napi_create_external(env, a, aead_finalize, NULL, &external) != napi_ok) {
    aead_finalize(env, a, NULL);
    napi_throw_error(env, "ERR_WIRESTACK_AEAD", "napi_create_external failed");
    return NULL;
  }
  return external;
}

/* aeadFree(handle): wipe and free the context now rather than at garbage collection; later calls throw. */
static napi_value aead_free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype t;
  void *data = NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from aeadNew");
    return NULL;
  }
  aead_release((aead_t *)data);
  return NULL;
}

/* Set the IV (and direction) for one message and feed the two AAD parts. */
static bool aead_begin(aead_t *a, int enc, const uint8_t *iv, const uint8_t *aad, uint32_t aad_len,
                       const uint8_t *aad2, uint32_t aad2_len) {
  int n;
  if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, enc) != 1) return false;
  if (aad_len > 0 && EVP_CipherUpdate(a->ctx, NULL, &n, aad, (int)aad_len) != 1) return false;
  if (aad2_len > 0 && EVP_CipherUpdate(a->ctx, NULL, &n, aad2, (int)aad2_len) != 1) return false;
  return true;
}

/*
 * The arguments shared by seal and open:
 *   handle, nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, ...
 * The AAD is aad[0..aadLen) then b[aad2..aad2+aad2Len); the data is b[data..data+dataLen).
 */
typedef struct {
  aead_t *a;
  uint8_t *nonce, *aad, *b;
  size_t nonce_len, aad_size, b_len;
  uint32_t aad_len, aad2, aad2_len, data, data_len;
} aead_args_t;

static bool aead_common(napi_env env, napi_value *argv, aead_args_t *x) {
  x->a = aead_handle(env, argv[0]);
  if (x->a == NULL) return false;
  if (!ws_arg_bytes(env, argv[1], &x->nonce, &x->nonce_len, "nonce must be a Uint8Array") ||
      !ws_arg_bytes(env, argv[2], &x->aad, &x->aad_size, "aad must be a Uint8Array") ||
      !ws_arg_u32(env, argv[3], &x->aad_len) ||
      !ws_arg_bytes(env, argv[4], &x->b, &x->b_len, "buffer must be a Uint8Array") ||
      !ws_arg_u32(env, argv[5], &x->aad2) || !ws_arg_u32(env, argv[6], &x->aad2_len) ||
      !ws_arg_u32(env, argv[7], &x->data) || !ws_arg_u32(env, argv[8], &x->data_len)) {
    return false;
  }
  if (x->nonce_len != (size_t)x->a->iv_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "nonce length differs from the handle's IV length");
    return false;
  }
  if (x->data_len > AEAD_DATA_MAX || x->aad_len > AEAD_DATA_MAX || x->aad2_len > AEAD_DATA_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AEAD input too long");
    return false;
  }
  return aead_range(env, x->aad_size, 0, x->aad_len, "aadLen past the end of aad") &&
         aead_range(env, x->b_len, x->aad2, x->aad2_len, "second AAD part outside the buffer") &&
         aead_range(env, x->b_len, x->data, x->data_len, "data outside the buffer");
}

/*
 * aeadSeal(handle, nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, out, outO, tag, tagLen) -> 0 | -1
 * Encrypts b[data..+dataLen) into out[outO..] (in place when out === b and
 * outO === data; overlapping otherwise is not allowed) and writes the first
 * tagLen bytes of the tag at out[tag..]. -1 only if OpenSSL fails.
 */
static napi_value aead_seal(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 13) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadSeal needs 13 arguments");
    return NULL;
  }
  aead_args_t x;
  uint8_t *out;
  size_t out_len;
  uint32_t out_o, tag, tag_len;
  if (!aead_common(env, argv, &x) || !ws_arg_bytes(env, argv[9], &out, &out_len, "out must be a Uint8Array") ||
      !ws_arg_u32(env, argv[10], &out_o) || !ws_arg_u32(env, argv[11], &tag) || !ws_arg_u32(env, argv[12], &tag_len)) {
    return NULL;
  }
  if (tag_len < 1 || tag_len > AEAD_TAG_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tag length must be 1..16");
    return NULL;
  }
  if (!aead_range(env, out_len, out_o, x.data_len, "output outside the buffer") ||
      !aead_range(env, out_len, tag, tag_len, "tag outside the buffer")) {
    return NULL;
  }
  uint8_t full[AEAD_TAG_MAX];
  int n = 0, m = 0;
  bool ok = aead_begin(x.a, 1, x.nonce, x.aad, x.aad_len, x.b + x.aad2, x.aad2_len) &&
            (x.data_len == 0 || EVP_CipherUpdate(x.a->ctx, out + out_o, &n, x.b + x.data, (int)x.data_len) == 1) &&
            EVP_CipherFinal_ex(x.a->ctx, out + out_o + n, &m) == 1 &&
            EVP_CIPHER_CTX_ctrl(x.a->ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_MAX, full) == 1;
  if (ok) memcpy(out + tag, full, tag_len);
  OPENSSL_cleanse(full, sizeof full);
  return aead_int(env, ok ? 0 : -1);
}

/*
 * aeadOpen(handle, nonce, aad, aadLen, b, aad2, aad2Len, data, dataLen, tag, tagLen, out, outO) -> 0 | -1
 * Checks the tagLen-byte tag at b[tag..] and decrypts b[data..+dataLen) into
 * out[outO..] (in place allowed). GCM decrypts before the tag is known good,
 * so on -1 (a bad tag) the output range is zeroed: unauthenticated
 * plaintext never stays behind.
 */
static napi_value aead_open(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 13) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadOpen needs 13 arguments");
    return NULL;
  }
  aead_args_t x;
  uint8_t *out;
  size_t out_len;
  uint32_t out_o, tag, tag_len;
  if (!aead_common(env, argv, &x) || !ws_arg_u32(env, argv[9], &tag) || !ws_arg_u32(env, argv[10], &tag_len) ||
      !ws_arg_bytes(env, argv[11], &out, &out_len, "out must be a Uint8Array") || !ws_arg_u32(env, argv[12], &out_o)) {
    return NULL;
  }
  if (tag_len < 1 || tag_len > AEAD_TAG_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tag length must be 1..16");
    return NULL;
  }
  if (!aead_range(env, x.b_len, tag, tag_len, "tag outside the buffer") ||
      !aead_range(env, out_len, out_o, x.data_len, "output outside the buffer")) {
    return NULL;
  }
  /* Copy the tag first: in-place decryption may run over it when the caller's ranges overlap. */
  uint8_t expect[AEAD_TAG_MAX];
  memcpy(expect, x.b + tag, tag_len);
  int n = 0, m = 0;
  bool ok = aead_begin(x.a, 0, x.nonce, x.aad, x.aad_len, x.b + x.aad2, x.aad2_len) &&
            (x.data_len == 0 || EVP_CipherUpdate(x.a->ctx, out + out_o, &n, x.b + x.data, (int)x.data_len) == 1) &&
            EVP_CIPHER_CTX_ctrl(x.a->ctx, EVP_CTRL_GCM_SET_TAG, (int)tag_len, expect) == 1 &&
            EVP_CipherFinal_ex(x.a->ctx, out + out_o + n, &m) == 1; /* constant-time tag check */
  if (!ok && x.data_len > 0) OPENSSL_cleanse(out + out_o, x.data_len);
  return aead_int(env, ok ? 0 : -1);
}


/*
 * The ESP packet calls: one N-API call per packet with the nonce and AAD
 * taken from the packet itself, so the caller builds neither and passes
 * six or eight numbers instead of thirteen arguments (RFC 4106 for
 * AES-GCM, RFC 4543 for GMAC). The ESP packet starts at b[e]:
 *   [e] SPI  [e+4] sequence number (low 32 bits)  [e+8] IV (8)  [e+16] payload (ptLen)  [e+16+ptLen] ICV (icvLen)
 * nonce = salt || IV (RFC 4106 4); AAD = SPI || [seqHi] || seqLo (RFC 4106 5:
 * with ESN the high 32 bits sit between SPI and low bits, network order);
 * GMAC also authenticates IV and payload and encrypts nothing (RFC 4543 3.3).
 * flags: bit 0 ESN (seqHi is used), bit 1 GMAC.
 */
#define ESP_F_ESN 1
#define ESP_F_GMAC 2
/* aeadEspOpen: also verify the TCP checksum of the plaintext (pseudo-header from the IPv4 header at b[ipo]). */
#define ESP_F_CSUM 4

/*
 * One's complement sum (RFC 1071) of n bytes in memory order, 8 at a time
 * with end-around carry: the sum of a range is byte-order independent up to
 * a final swap, and a valid checksum sums to 0xffff either way (RFC 1071 2(B)).
 */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    acc += w;
    if (acc < w) acc++;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, n); /* the 0..7 trailing bytes, zero-padded after them in memory order */
  acc += w;
  if (acc < w) acc++;
  return acc;
}

static uint16_t csum_fold(uint64_t a) {
  a = (a & 0xffffffffu) + (a >> 32);
  a = (a & 0xffffffffu) + (a >> 32);
  a = (a & 0xffffu) + (a >> 16);
  a = (a & 0xffffu) + (a >> 16);
  return (uint16_t)a;
}

/*
 * Whether the decrypted plaintext pt[0..pt_len) (payload, padding 1, 2, ..,
 * pad length, next header) carries a TCP segment whose checksum is valid
 * under the pseudo-header of the IPv4 header at ip (RFC 793 3.1). False
 * means only "not verified here": the caller's TCP checks it as usual and
 * counts what fails.
 */
static bool esp_tcp_csum_ok(const uint8_t *ip, const uint8_t *pt, uint32_t pt_len) {
  if (pt_len < 2 || pt[pt_len - 1] != 6 /* IPPROTO_TCP */) return false;
  uint32_t pad = pt[pt_len - 2];
  if (pad + 2 > pt_len) return false;
  uint32_t len = pt_len - 2 - pad;
  if (len < 20 || len > 0xffff) return false;
  uint8_t pseudo[12];
  memcpy(pseudo, ip + 12, 8); /* source and destination address */
  pseudo[8] = 0;
  pseudo[9] = 6;
  pseudo[10] = (uint8_t)(len >> 8);
  pseudo[11] = (uint8_t)len;
  return csum_fold(csum_add(csum_add(0, pseudo, sizeof pseudo), pt, len)) == 0xffff;
}

typedef struct {
  aead_t *a;
  uint8_t *b;
  size_t b_len;
  uint32_t e, pt_len, icv_len, flags, seq_hi;
} esp_args_t;

static bool esp_common(napi_env env, napi_value *argv, esp_args_t *x) {
  x->a = aead_handle(env, argv[0]);
  if (x->a == NULL) return false;
  if (!ws_arg_bytes(env, argv[1], &x->b, &x->b_len, "buffer must be a Uint8Array") ||
      !ws_arg_u32(env, argv[2], &x->e) || !ws_arg_u32(env, argv[3], &x->pt_len) ||
      !ws_arg_u32(env, argv[4], &x->icv_len) || !ws_arg_u32(env, argv[5], &x->flags) ||
      !ws_arg_u32(env, argv[6], &x->seq_hi)) {
    return false;
  }
  if (!x->a->has_salt) {
    napi_throw_error(env, "ERR_WIRESTACK_AEAD", "the handle was made without an ESP salt");
    return false;
  }
  if (x->icv_len < 1 || x->icv_len > AEAD_TAG_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tag length must be 1..16");
    return false;
  }
  if (x->pt_len > AEAD_DATA_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "AEAD input too long");
    return false;
  }
  return aead_range(env, x->b_len, x->e, ESP_HEAD_LEN + x->pt_len + x->icv_len, "ESP packet outside the buffer");
}

/* Set the nonce from the packet's IV and feed the AAD (and, for GMAC, IV and payload). */
static bool esp_begin(const esp_args_t *x, int enc) {
  const uint8_t *p = x->b + x->e;
  uint8_t nonce[ESP_NONCE_LEN];
  uint8_t aad[12];
  int aad_len = 8;
  memcpy(nonce, x->a->salt, 4);
  memcpy(nonce + 4, p + 8, 8);
  memcpy(aad, p, 4);
  if (x->flags & ESP_F_ESN) {
    aad[4] = (uint8_t)(x->seq_hi >> 24);
    aad[5] = (uint8_t)(x->seq_hi >> 16);
    aad[6] = (uint8_t)(x->seq_hi >> 8);
    aad[7] = (uint8_t)x->seq_hi;
    memcpy(aad + 8, p + 4, 4);
    aad_len = 12;
  } else {
    memcpy(aad + 4, p + 4, 4);
  }
  if (x->flags & ESP_F_GMAC) {
    return aead_begin(x->a, enc, nonce, aad, (uint32_t)aad_len, p + 8, 8 + x->pt_len);
  }
  return aead_begin(x->a, enc, nonce, aad, (uint32_t)aad_len, NULL, 0);
}

/*
 * aeadEspSeal(handle, b, e, ptLen, icvLen, flags, seqHi) -> 0 | -1
 * SPI, sequence number, IV, payload and trailer are in place at b[e..];
 * encrypts the ptLen bytes at b[e+16..] in place (GCM) and writes the ICV
 * after them. -1 only if OpenSSL fails.
 */
static napi_value aead_esp_seal(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 7) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadEspSeal needs 7 arguments");
    return NULL;
  }
  esp_args_t x;
  if (!esp_common(env, argv, &x)) return NULL;
  uint8_t *data = x.b + x.e + ESP_HEAD_LEN;
  uint8_t full[AEAD_TAG_MAX];
  int n = 0, m = 0;
  bool gcm = (x.flags & ESP_F_GMAC) == 0;
  bool ok = esp_begin(&x, 1) &&
            (!gcm || x.pt_len == 0 || EVP_CipherUpdate(x.a->ctx, data, &n, data, (int)x.pt_len) == 1) &&
            EVP_CipherFinal_ex(x.a->ctx, data + n, &m) == 1 &&
            EVP_CIPHER_CTX_ctrl(x.a->ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_MAX, full) == 1;
  if (ok) memcpy(data + x.pt_len, full, x.icv_len);
  OPENSSL_cleanse(full, sizeof full);
  return aead_int(env, ok ? 0 : -1);
}

/*
 * aeadEspOpen(handle, b, e, ptLen, icvLen, flags, seqHi, out, outO[, ipo]) -> 1 | 0 | -1
 * Checks the ICV of the ESP packet at b[e..] and writes its ptLen bytes of
 * plaintext (payload and trailer) to out[outO..] (GMAC: copied once the ICV
 * verified). -1 on a bad ICV; the output range then holds no plaintext
 * (GCM decrypts before the tag is known and zeroes it). With ESP_F_CSUM
 * and the offset `ipo` of the packet's IPv4 header in b, 1 when the
 * plaintext is a TCP segment whose checksum verified (done here while the
 * bytes are in cache, as a NIC's checksum offload would), else 0.
 */
static napi_value aead_esp_open(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 9) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadEspOpen needs 9 arguments");
    return NULL;
  }
  esp_args_t x;
  uint8_t *out;
  size_t out_len;
  uint32_t out_o;
  if (!esp_common(env, argv, &x) || !ws_arg_bytes(env, argv[7], &out, &out_len, "out must be a Uint8Array") ||
      !ws_arg_u32(env, argv[8], &out_o)) {
    return NULL;
  }
  if (!aead_range(env, out_len, out_o, x.pt_len, "output outside the buffer")) return NULL;
  uint32_t ipo = 0;
  bool csum = (x.flags & ESP_F_CSUM) != 0;
  if (csum && (argc < 10 || !ws_arg_u32(env, argv[9], &ipo) || !aead_range(env, x.b_len, ipo, 20, "IPv4 header outside the buffer"))) {
    if (argc < 10) napi_throw_type_error(env, "ERR_MISSING_ARGS", "aeadEspOpen with ESP_F_CSUM needs the IPv4 header offset");
    return NULL;
  }
  const uint8_t *data = x.b + x.e + ESP_HEAD_LEN;
  uint8_t *dst = out + out_o;
  /* Copy the ICV first: an in-place or overlapping output may run over it. */
  uint8_t expect[AEAD_TAG_MAX];
  memcpy(expect, data + x.pt_len, x.icv_len);
  int n = 0, m = 0;
  bool gcm = (x.flags & ESP_F_GMAC) == 0;
  bool ok = esp_begin(&x, 0) &&
            (!gcm || x.pt_len == 0 || EVP_CipherUpdate(x.a->ctx, dst, &n, data, (int)x.pt_len) == 1) &&
            EVP_CIPHER_CTX_ctrl(x.a->ctx, EVP_CTRL_GCM_SET_TAG, (int)x.icv_len, expect) == 1 &&
            EVP_CipherFinal_ex(x.a->ctx, dst + n, &m) == 1; /* constant-time tag check */
  if (ok && !gcm) memmove(dst, data, x.pt_len);
  if (!ok && gcm && x.pt_len > 0) OPENSSL_cleanse(dst, x.pt_len);
  if (!ok) return aead_int(env, -1);
  /* The IPv4 header is read only now: an output overlapping it (in place) is the caller's to avoid. */
  return aead_int(env, csum && esp_tcp_csum_ok(x.b + ipo, dst, x.pt_len) ? 1 : 0);
}

napi_status wirestack_cbc_init(napi_env env, napi_value exports); /* native/esp_cbc.c */

/* Called from the addon's init (tap.c); also registers native/esp_cbc.c's AES-CBC and HMAC. */
napi_status wirestack_aead_init(napi_env env, napi_value exports) {
  napi_status st = wirestack_cbc_init(env, exports);
  if (st != napi_ok) return st;
  if (!aead_available()) return napi_ok;
  napi_property_descriptor props[] = {
    { "aeadNew", NULL, aead_new, NULL, NULL, NULL, napi_enumerable, NULL },
    { "aeadFree", NULL, aead_free, NULL, NULL, NULL, napi_enumerable, NULL },
    { "aeadSeal", NULL, aead_seal, NULL, NULL, NULL, napi_enumerable, NULL },
    { "aeadOpen", NULL, aead_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "aeadEspSeal", NULL, aead_esp_seal, NULL, NULL, NULL, napi_enumerable, NULL },
    { "aeadEspOpen", NULL, aead_esp_open, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
