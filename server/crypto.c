/* crypto.c - SHA-256, HMAC-SHA-256, AES-256-GCM and random bytes from
 * OpenSSL's libcrypto (EVP). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

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

/* One AES-256-GCM pass over in (len bytes) into out; tag is written when
 * sealing and checked when opening. */
static int gcm(bool seal, const uint8_t *key, const uint8_t *nonce, const void *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	if (!ctx)
		return ML_ECRYPTO;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, seal) == 1 &&
	     (!aadlen || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1) &&
	     (!len || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
	     (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag) == 1) &&
	     EVP_CipherFinal_ex(ctx, out + n, &n) == 1 &&
	     (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : ML_ECRYPTO;
}

int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aadlen,
		const void *plain, size_t len, uint8_t *box)
{
	if (len > INT_MAX / 2 || crypto_random(box, CRYPTO_NONCE_LEN))
		return ML_ECRYPTO;
	return gcm(true, key, box, aad, aadlen, plain, len, box + CRYPTO_NONCE_LEN,
		   box + CRYPTO_NONCE_LEN + len);
}

int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aadlen,
		const uint8_t *box, size_t boxlen, void *plain)
{
	size_t len = boxlen - CRYPTO_BOX_OVERHEAD;
	uint8_t tag[CRYPTO_TAG_LEN];
	int rc;

	if (boxlen < CRYPTO_BOX_OVERHEAD || len > INT_MAX / 2)
		return ML_ECRYPTO;
	memcpy(tag, box + CRYPTO_NONCE_LEN + len, CRYPTO_TAG_LEN);
	rc = gcm(false, key, box, aad, aadlen, box + CRYPTO_NONCE_LEN, len, plain, tag);
	if (rc)
		explicit_bzero(plain, len);
	return rc;
}
