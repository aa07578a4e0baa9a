/* test_household.c - the normalised identity and the household key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "household.h"

static const uint8_t secret[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static Maillage__V1__Person person(const char *last, const char *first, const char *born)
{
	Maillage__V1__Person p = MAILLAGE__V1__PERSON__INIT;

	p.last_name = (char *)last;
	p.first_name = (char *)first;
	p.birth_date = (char *)born;
	return p;
}

static void assert_identity(const char *last, const char *first, const char *want)
{
	Maillage__V1__Person p = person(last, first, "1990-05-05");
	char out[256];

	assert_int_equal(household_identity(&p, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_normalisation(void **state)
{
	(void)state;
	assert_identity("N'Diaye", "Élodie-Marie", "ndiaye|elodiemarie|1990-05-05");
	assert_identity("  NDIAYE ", "elodie marie", "ndiaye|elodiemarie|1990-05-05");
	assert_identity("Lefèvre-Çelik", "Zoë", "lefevrecelik|zoe|1990-05-05");
	assert_identity("Bœuf", "Lætitia", "boeuf|laetitia|1990-05-05");
	assert_identity("STRAßE", "ÅSA", "strasse|asa|1990-05-05");
	assert_identity("O'Brien 2", "Ann", "obrien2|ann|1990-05-05");
}

static void test_refused(void **state)
{
	Maillage__V1__Person p;
	char out[256];

	(void)state;
	p = person("", "Ann", "1990-05-05");
	assert_int_equal(household_identity(&p, out, sizeof(out)), ML_EINVAL);
	p = person("- ' -", "Ann", "1990-05-05");
	assert_int_equal(household_identity(&p, out, sizeof(out)), ML_EINVAL);
	p = person("Smith", "Ann", "1990-02-30");
	assert_int_equal(household_identity(&p, out, sizeof(out)), ML_EINVAL);
	p = person("Smith", "Ann", "1990-05-05");
	assert_int_equal(household_identity(&p, out, 20), ML_EINVAL);
	assert_int_equal(household_identity(NULL, out, sizeof(out)), ML_EINVAL);
}

/* Computed with: printf '%s' 'benali|samira|1984-03-12' |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1e1f */
static void test_known_key(void **state)
{
	static const uint8_t want[32] = {
		0x71, 0x67, 0xb6, 0x63, 0xc0, 0x3d, 0x78, 0x20, 0x9f, 0xbf, 0xa6, 0x77,
		0xaf, 0x30, 0x31, 0x4a, 0x42, 0xd0, 0x49, 0x36, 0xe8, 0x68, 0x8e, 0x94,
		0xea, 0x38, 0x54, 0xae, 0x1c, 0x9e, 0x73, 0x55,
	};
	Maillage__V1__Person p = person("Benali", "Samira", "1984-03-12");
	uint8_t key[32];

	(void)state;
	assert_int_equal(household_key(secret, sizeof(secret), &p, key), 0);
	assert_memory_equal(key, want, 32);
}

static void test_keys_differ(void **state)
{
	Maillage__V1__Person a = person("Benali", "Samira", "1984-03-12");
	Maillage__V1__Person b = person("BENALI", "samira", "1984-03-12");
	Maillage__V1__Person c = person("Benali", "Samira", "1984-03-13");
	uint8_t ka[32], kb[32], kc[32], kd[32];
	uint8_t other[32] = { 1 };

	(void)state;
	assert_int_equal(household_key(secret, 32, &a, ka), 0);
	assert_int_equal(household_key(secret, 32, &b, kb), 0);
	assert_int_equal(household_key(secret, 32, &c, kc), 0);
	assert_int_equal(household_key(other, 32, &a, kd), 0);
	assert_memory_equal(ka, kb, 32);
	assert_memory_not_equal(ka, kc, 32);
	assert_memory_not_equal(ka, kd, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalisation),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_known_key),
		cmocka_unit_test(test_keys_differ),
	};

	return cmocka_run_group_tests_name("household", tests, NULL, NULL);
}
