/* Which of the weakly referenced OpenSSL symbols (openssl_syms.h) the running binary exports. */
#include "openssl_syms.h"

#include <stddef.h>

typedef void (*ossl_fn)(void);

static const struct {
  ossl_fn fn;
  unsigned group;
} ossl_syms[] = {
  { (ossl_fn)EVP_CIPHER_CTX_new, OSSL_CIPHER },
  { (ossl_fn)EVP_CIPHER_CTX_free, OSSL_CIPHER },
  { (ossl_fn)EVP_CipherInit_ex, OSSL_CIPHER },
  { (ossl_fn)EVP_CipherUpdate, OSSL_CIPHER },
  { (ossl_fn)OPENSSL_cleanse, OSSL_CIPHER },
  { (ossl_fn)EVP_CIPHER_CTX_ctrl, OSSL_AEAD },
  { (ossl_fn)EVP_CipherFinal_ex, OSSL_AEAD },
  { (ossl_fn)EVP_aes_128_gcm, OSSL_GCM },
  { (ossl_fn)EVP_aes_192_gcm, OSSL_GCM },
  { (ossl_fn)EVP_aes_256_gcm, OSSL_GCM },
  { (ossl_fn)EVP_chacha20_poly1305, OSSL_CHACHA },
  { (ossl_fn)EVP_CIPHER_CTX_set_padding, OSSL_CBC },
  { (ossl_fn)EVP_aes_128_cbc, OSSL_CBC },
  { (ossl_fn)EVP_aes_192_cbc, OSSL_CBC },
  { (ossl_fn)EVP_aes_256_cbc, OSSL_CBC },
  { (ossl_fn)EVP_MAC_fetch, OSSL_MAC },
  { (ossl_fn)EVP_MAC_free, OSSL_MAC },
  { (ossl_fn)EVP_MAC_CTX_new, OSSL_MAC },
  { (ossl_fn)EVP_MAC_CTX_free, OSSL_MAC },
  { (ossl_fn)EVP_MAC_init, OSSL_MAC },
  { (ossl_fn)EVP_MAC_update, OSSL_MAC },
  { (ossl_fn)EVP_MAC_final, OSSL_MAC },
  { (ossl_fn)OSSL_PARAM_construct_utf8_string, OSSL_MAC },
  { (ossl_fn)OSSL_PARAM_construct_end, OSSL_MAC },
  { (ossl_fn)RAND_bytes, OSSL_RAND_MEMCMP },
  { (ossl_fn)CRYPTO_memcmp, OSSL_RAND_MEMCMP },
  { (ossl_fn)CRYPTO_zalloc, OSSL_ALLOC },
  { (ossl_fn)CRYPTO_free, OSSL_ALLOC },
};

bool wirestack_openssl_has(unsigned groups) {
  for (size_t i = 0; i < sizeof ossl_syms / sizeof ossl_syms[0]; i++) {
    if ((ossl_syms[i].group & groups) != 0 && ossl_syms[i].fn == NULL) return false;
  }
  return true;
}
