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

/* Fill buf with cryptographically strong random bytes. 0 or ML_ECRYPTO. */
int crypto_random(void *buf, size_t len);

#endif
