/* test_crypto.c - the AES-256-GCM boxes and their nonces, SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"

#define SEALS 1000      /* more than one refill of a thread's nonce pool */

static const uint8_t key[CRYPTO_KEY_LEN] = { 7 };

static int cmp_nonce(const void *a, const void *b)
{
	return memcmp(a, b, CRYPTO_NONCE_LEN);
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 40);
}

/* What is sealed opens with the same key and aad, and with nothing else. */
static void test_seal_open(void **state)
{
	static const char plain[] = "dette de loyer: 4 312 euros";
	uint8_t box[sizeof(plain) + CRYPTO_BOX_OVERHEAD], out[sizeof(plain)];
	uint8_t other[CRYPTO_KEY_LEN] = { 8 };

	(void)state;
	assert_int_equal(crypto_seal(key, "aad", 3, plain, sizeof(plain), box), 0);
	assert_int_equal(crypto_open(key, "aad", 3, box, sizeof(box), out), 0);
	assert_memory_equal(out, plain, sizeof(plain));
	assert_int_equal(crypto_open(key, "aaX", 3, box, sizeof(box), out), ML_ECRYPTO);
	assert_int_equal(crypto_open(other, "aad", 3, box, sizeof(box), out), ML_ECRYPTO);
	box[CRYPTO_NONCE_LEN] ^= 1;
	assert_int_equal(crypto_open(key, "aad", 3, box, sizeof(box), out), ML_ECRYPTO);
	assert_int_equal(crypto_open(key, "aad", 3, box, CRYPTO_BOX_OVERHEAD - 1, out),
			 ML_ECRYPTO);
}

/* Every seal draws a nonce no other seal drew, across pool refills. */
static void test_nonces_distinct(void **state)
{
	uint8_t (*nonces)[CRYPTO_NONCE_LEN] = calloc(SEALS, CRYPTO_NONCE_LEN);
	uint8_t box[1 + CRYPTO_BOX_OVERHEAD];

	(void)state;
	assert_non_null(nonces);
	for (int i = 0; i < SEALS; i++) {
		assert_int_equal(crypto_seal(key, NULL, 0, "x", 1, box), 0);
		memcpy(nonces[i], box, CRYPTO_NONCE_LEN);
	}
	qsort(nonces, SEALS, CRYPTO_NONCE_LEN, cmp_nonce);
	for (int i = 1; i < SEALS; i++)
		assert_true(memcmp(nonces[i - 1], nonces[i], CRYPTO_NONCE_LEN) != 0);
	free(nonces);
}

/* A forked child does not draw the nonces its parent draws next: the pool
 * is not inherited. */
static void test_fork_does_not_share_nonces(void **state)
{
	uint8_t box[1 + CRYPTO_BOX_OVERHEAD], child[CRYPTO_NONCE_LEN];
	int fds[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(crypto_seal(key, NULL, 0, "x", 1, box), 0);   /* fill the pool */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = crypto_seal(key, NULL, 0, "x", 1, box) == 0 &&
			 write(fds[1], box, CRYPTO_NONCE_LEN) == CRYPTO_NONCE_LEN;

		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
	assert_int_equal(crypto_seal(key, NULL, 0, "x", 1, box), 0);
	assert_true(memcmp(child, box, CRYPTO_NONCE_LEN) != 0);
	close(fds[0]);
	close(fds[1]);
}

/* The FIPS 180-2 example. */
static void test_sha256(void **state)
{
	static const uint8_t want[CRYPTO_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
		0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
		0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t got[CRYPTO_SHA256_LEN];

	(void)state;
	crypto_sha256("abc", 3, got);
	assert_memory_equal(got, want, sizeof(want));
}

/* Draws of a data key's size from the pool are never the same, across
 * refills; one over CRYPTO_POOLED_MAX comes from RAND_bytes; a wiped pool
 * refills. */
#define KEY_DRAWS 400             /* 40 bytes each: about four refills */
static void test_pooled_draws_distinct(void **state)
{
	uint8_t (*keys)[40] = calloc(KEY_DRAWS, 40);
	uint8_t big[CRYPTO_POOLED_MAX + 1] = { 0 }, zeros[sizeof(big)] = { 0 };

	(void)state;
	assert_non_null(keys);
	for (int i = 0; i < KEY_DRAWS; i++) {
		if (i == KEY_DRAWS / 2)
			crypto_pool_wipe();
		assert_int_equal(crypto_random_pooled(keys[i], 40), 0);
	}
	qsort(keys, KEY_DRAWS, 40, cmp_key);
	for (int i = 1; i < KEY_DRAWS; i++)
		assert_true(memcmp(keys[i - 1], keys[i], 40) != 0);
	free(keys);
	assert_int_equal(crypto_random_pooled(big, sizeof(big)), 0);
	assert_true(memcmp(big, zeros, sizeof(big)) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_nonces_distinct),
		cmocka_unit_test(test_pooled_draws_distinct),
		cmocka_unit_test(test_fork_does_not_share_nonces),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
