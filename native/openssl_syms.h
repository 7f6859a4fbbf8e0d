/*
 * OpenSSL symbols for the addon's crypto (aead.c, esp_cbc.c, wgcrypt.c),
 * resolved at load time from the node binary, which carries OpenSSL 3 and
 * exports its symbols (official Node builds do; the headers ship in
 * <node>/include/node/openssl). A Node built against a shared libcrypto
 * provides them the same way through that library.
 *
 * The references are weak (the pragmas below, which must be seen by every
 * file that calls these functions, hence this header): where the running
 * binary does not export them, the addon still loads for TAP and UDP and
 * each crypto file leaves out its functions, after asking
 * wirestack_openssl_has() for the groups of symbols it calls. The JS side
 * then keeps node:crypto or libsodium.
 */
#ifndef WIRESTACK_OPENSSL_SYMS_H
#define WIRESTACK_OPENSSL_SYMS_H

#include <stdbool.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#pragma weak EVP_CIPHER_CTX_new
#pragma weak EVP_CIPHER_CTX_free
#pragma weak EVP_CIPHER_CTX_ctrl
#pragma weak EVP_CIPHER_CTX_set_padding
#pragma weak EVP_CipherInit_ex
#pragma weak EVP_CipherUpdate
#pragma weak EVP_CipherFinal_ex
#pragma weak EVP_aes_128_gcm
#pragma weak EVP_aes_192_gcm
#pragma weak EVP_aes_256_gcm
#pragma weak EVP_aes_128_cbc
#pragma weak EVP_aes_192_cbc
#pragma weak EVP_aes_256_cbc
#pragma weak EVP_chacha20_poly1305
#pragma weak EVP_MAC_fetch
#pragma weak EVP_MAC_free
#pragma weak EVP_MAC_CTX_new
#pragma weak EVP_MAC_CTX_free
#pragma weak EVP_MAC_init
#pragma weak EVP_MAC_update
#pragma weak EVP_MAC_final
#pragma weak OSSL_PARAM_construct_utf8_string
#pragma weak OSSL_PARAM_construct_end
#pragma weak RAND_bytes
#pragma weak CRYPTO_memcmp
#pragma weak CRYPTO_zalloc
#pragma weak CRYPTO_free
#pragma weak OPENSSL_cleanse

/* Groups of symbols, for wirestack_openssl_has(). */
enum {
  /* EVP_CIPHER_CTX_new/_free, EVP_CipherInit_ex, EVP_CipherUpdate, OPENSSL_cleanse */
  OSSL_CIPHER = 1 << 0,
  /* EVP_CIPHER_CTX_ctrl, EVP_CipherFinal_ex (setting and reading AEAD tags) */
  OSSL_AEAD = 1 << 1,
  /* EVP_aes_{128,192,256}_gcm */
  OSSL_GCM = 1 << 2,
  /* EVP_chacha20_poly1305 */
  OSSL_CHACHA = 1 << 3,
  /* EVP_CIPHER_CTX_set_padding, EVP_aes_{128,192,256}_cbc */
  OSSL_CBC = 1 << 4,
  /* EVP_MAC_* and the OSSL_PARAM constructors they take */
  OSSL_MAC = 1 << 5,
  /* RAND_bytes, CRYPTO_memcmp */
  OSSL_RAND_MEMCMP = 1 << 6,
  /* CRYPTO_zalloc, CRYPTO_free (OPENSSL_zalloc, OPENSSL_free) */
  OSSL_ALLOC = 1 << 7,
};

/* True when the running binary exports every symbol of every group in `groups`. */
bool wirestack_openssl_has(unsigned groups);

#endif
