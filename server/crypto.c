/* crypto.c - SHA-256, HMAC-SHA-256 and random bytes from OpenSSL's libcrypto. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"
#include "err.h"

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	SHA256(data, len, out);
}

int crypto_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
		       size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) ||
	    outlen != CRYPTO_SHA256_LEN)
		return ML_ECRYPTO;
	return 0;
}

int crypto_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : ML_ECRYPTO;
}
