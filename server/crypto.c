/* crypto.c - SHA-256, HMAC-SHA-256, AES-256-GCM and random bytes from
 * OpenSSL's libcrypto (EVP). */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"

/* The algorithms, fetched from the provider once: an implicit fetch by name
 * (EVP_aes_256_gcm(), SHA256()) takes a lock and a lookup on every call, a
 * tenth of the writer's time per command. Never freed: they live as long as
 * the process. */
static pthread_once_t fetched = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes_gcm;
static EVP_MD *sha256;

/* Nonces and new data keys come from a per-thread pool of random bytes that
 * RAND_bytes refills (one call per POOL_LEN bytes instead of one per seal
 * or key: each call costs a few microseconds, the DRBG's lock and a
 * getpid()). A fork counts a new generation, which empties the child's
 * pool: parent and child never draw the same bytes. Bytes handed out are
 * wiped from the pool. */
#define POOL_LEN 4096
static atomic_uint fork_generation;
static bool pool_off;                       /* fork handler not registered:
					     * one RAND_bytes per draw */
static _Thread_local struct random_pool {
	uint8_t bytes[POOL_LEN];
	size_t left;                        /* unused bytes at the end of bytes */
	unsigned generation;
} pool;

/* In the child of a fork: a new generation, and the forking thread's pool
 * (the only thread there) wiped at once. */
static void count_fork(void)
{
	atomic_fetch_add(&fork_generation, 1);
	explicit_bzero(&pool, sizeof(pool));
}

void crypto_pool_wipe(void)
{
	explicit_bzero(&pool, sizeof(pool));
}

static void fetch(void)
{
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	pool_off = pthread_atfork(NULL, NULL, count_fork) != 0;
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	pthread_once(&fetched, fetch);
	if (!sha256 || !EVP_Digest(data, len, out, NULL, sha256, NULL))
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

int crypto_random_pooled(void *buf, size_t len)
{
	unsigned generation;
	uint8_t *p;

	pthread_once(&fetched, fetch);      /* the fork handler, before any draw */
	if (pool_off || len > CRYPTO_POOLED_MAX)
		return crypto_random(buf, len);
	generation = atomic_load(&fork_generation);
	if (pool.generation != generation || pool.left < len) {
		if (crypto_random(pool.bytes, sizeof(pool.bytes))) {
			pool.left = 0;
			return ML_ECRYPTO;
		}
		pool.left = sizeof(pool.bytes);
		pool.generation = generation;
	}
	p = pool.bytes + sizeof(pool.bytes) - pool.left;
	memcpy(buf, p, len);
	explicit_bzero(p, len);
	pool.left -= len;
	return 0;
}

/* One AES-256-GCM pass over in (len bytes) into out; tag is written when
 * sealing and checked when opening. */
static int gcm(bool seal, const uint8_t *key, const uint8_t *nonce, const void *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	pthread_once(&fetched, fetch);
	if (!aes_gcm || !(ctx = EVP_CIPHER_CTX_new()))
		return ML_ECRYPTO;
	ok = EVP_CipherInit_ex2(ctx, aes_gcm, key, nonce, seal, NULL) == 1 &&
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
	if (len > INT_MAX / 2 || crypto_random_pooled(box, CRYPTO_NONCE_LEN))
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

struct crypto_siphash {
	EVP_MAC_CTX *ctx;
};

int crypto_siphash_new(const uint8_t key[CRYPTO_SIPHASH_KEY_LEN], struct crypto_siphash **out)
{
	size_t size = 8;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	struct crypto_siphash *h = calloc(1, sizeof(*h));
	int rc = ML_ECRYPTO;

	if (!h)
		rc = ML_ENOMEM;
	else if (mac && (h->ctx = EVP_MAC_CTX_new(mac)) &&
		 EVP_MAC_init(h->ctx, key, CRYPTO_SIPHASH_KEY_LEN, params))
		rc = 0;
	EVP_MAC_free(mac);
	if (rc) {
		crypto_siphash_free(h);
		h = NULL;
	}
	*out = h;
	return rc;
}

int crypto_siphash(struct crypto_siphash *h, const void *data, size_t len, uint64_t *out)
{
	uint8_t mac[8];
	size_t n = 0;

	if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) || !EVP_MAC_update(h->ctx, data, len) ||
	    !EVP_MAC_final(h->ctx, mac, &n, sizeof(mac)) || n != sizeof(mac))
		return ML_ECRYPTO;
	memcpy(out, mac, sizeof(mac));
	return 0;
}

void crypto_siphash_free(struct crypto_siphash *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	free(h);
}
