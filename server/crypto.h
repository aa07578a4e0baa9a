/* crypto.h - the libcrypto primitives the server uses (hashes, MACs, random).
 * Thread-safe. Only crypto.c and tls.c include OpenSSL headers.
 */
#ifndef MAILLAGE_CRYPTO_H
#define MAILLAGE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

/* out = SHA-256(data). */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* out = HMAC-SHA-256(key, data). Returns 0 or ML_ECRYPTO. */
int crypto_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
		       size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* AES-256-GCM boxes: nonce (12 random bytes) | ciphertext | tag (16). */
#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
#define CRYPTO_BOX_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/* Seal len bytes of plain, bound to aad, into box (len + CRYPTO_BOX_OVERHEAD
 * bytes) with a fresh random nonce. 0 or ML_ECRYPTO. */
int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aadlen,
		const void *plain, size_t len, uint8_t *box);

/* Open a box of boxlen bytes into plain (boxlen - CRYPTO_BOX_OVERHEAD bytes).
 * ML_ECRYPTO when it is too short, was sealed with another key or aad, or
 * was altered; plain is then wiped. */
int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aadlen,
		const uint8_t *box, size_t boxlen, void *plain);

/* Fill buf with cryptographically strong random bytes. 0 or ML_ECRYPTO. */
int crypto_random(void *buf, size_t len);
/* The same, drawn from this thread's pool of random bytes, refilled by
 * RAND_bytes 4 KiB at a time (fork-safe: a child never draws its parent's
 * bytes; what is handed out is wiped from the pool): nonces, new data keys.
 * More than CRYPTO_POOLED_MAX bytes come from RAND_bytes directly. */
#define CRYPTO_POOLED_MAX 256
int crypto_random_pooled(void *buf, size_t len);
/* Wipe this thread's pool (the bytes not handed out yet: future data keys
 * among them): a thread that drew from it calls this before it ends. */
void crypto_pool_wipe(void);

/* SipHash-2-4 with a 64-bit output under a 16-byte key: a keyed hash for
 * hash tables fed by clients (they cannot aim at a bucket without the key).
 * A struct crypto_siphash holds the key; one thread at a time uses it.
 * crypto_siphash_new(): 0, ML_ENOMEM or ML_ECRYPTO; crypto_siphash(): 0 or
 * ML_ECRYPTO. */
#define CRYPTO_SIPHASH_KEY_LEN 16
struct crypto_siphash;
int crypto_siphash_new(const uint8_t key[CRYPTO_SIPHASH_KEY_LEN], struct crypto_siphash **out);
int crypto_siphash(struct crypto_siphash *h, const void *data, size_t len, uint64_t *out);
void crypto_siphash_free(struct crypto_siphash *h);

#endif
