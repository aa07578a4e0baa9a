/* test_household.c - the normalised identity and the household key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "household.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static void test_normalisation(void **state)
{
	static const struct {
		const char *last, *first, *want;
	} cases[] = {
		{ "N'Diaye", "Élodie-Marie", "ndiaye|elodiemarie|1990-05-05" },
		{ "  NDIAYE ", "elodie marie", "ndiaye|elodiemarie|1990-05-05" },
		{ "n diaye", "ELODIE  MARIE", "ndiaye|elodiemarie|1990-05-05" },
		{ "Lefèvre-Çelik", "Zoë", "lefevrecelik|zoe|1990-05-05" },
		{ "Bœuf", "Lætitia", "boeuf|laetitia|1990-05-05" },
		{ "BŒUF", "LÆTITIA", "boeuf|laetitia|1990-05-05" },
		{ "STRAßE", "ÅSA", "strasse|asa|1990-05-05" },
		{ "O'Brien 2", "Ann", "obrien2|ann|1990-05-05" },
		{ "àâäáãåçéèêëíìîïñóòôöõúùûüýÿ", "x",
		  "aaaaaaceeeeiiiinooooouuuuyy|x|1990-05-05" },
		{ "ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ", "x",
		  "aaaaaaceeeeiiiinooooouuuuyy|x|1990-05-05" },
		/* letters of other scripts are separators, dropped like the rest */
		{ "Łukasz-Ωmega", "Дарья Anne", "ŁukaszΩmega|Дарьяanne|1990-05-05" },
	};
	char out[256];

	/* Letters outside the fold table (Ł, Ω, Cyrillic) are kept as written,
	 * so names in other scripts still make a household key. */
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Maillage__V1__Person p = person(cases[i].last, cases[i].first, "1990-05-05");

		assert_int_equal(household_identity(&p, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
}

/* The example of the brief: one identity whatever the accents, case, hyphens,
 * apostrophes and spaces. */
static void test_same_identity(void **state)
{
	Maillage__V1__Person a = person("N'Diaye", "Élodie-Marie  ", "1979-11-30");
	Maillage__V1__Person b = person("n diaye", "elodie marie", "1979-11-30");
	Maillage__V1__Person c = person("NDIAYE", "ELODIE-MARIE", "1979-11-30");
	char ia[128], ib[128], ic[128];
	uint8_t ka[32], kb[32];

	(void)state;
	assert_int_equal(household_identity(&a, ia, sizeof(ia)), 0);
	assert_int_equal(household_identity(&b, ib, sizeof(ib)), 0);
	assert_int_equal(household_identity(&c, ic, sizeof(ic)), 0);
	assert_string_equal(ia, ib);
	assert_string_equal(ia, ic);
	assert_int_equal(household_key(secret, sizeof(secret), &a, ka), 0);
	assert_int_equal(household_key(secret, sizeof(secret), &b, kb), 0);
	assert_memory_equal(ka, kb, 32);
}

static void test_refused(void **state)
{
	static const struct {
		const char *last, *first, *born;
	} cases[] = {
		{ "", "Ann", "1990-05-05" },
		{ "Smith", "", "1990-05-05" },
		{ "- ' -", "Ann", "1990-05-05" },
		{ "Smith", "\u2019 \u2013 \u00a0", "1990-05-05" },    /* typographic separators only */
		{ "Smith", "Ann", "1990-02-30" },
		{ "Smith", "Ann", "" },
		{ "Smith", "Ann", "05/05/1990" },
	};
	Maillage__V1__Person p;
	uint8_t key[32];
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		p = person(cases[i].last, cases[i].first, cases[i].born);
		assert_int_equal(household_identity(&p, out, sizeof(out)), ML_EINVAL);
		assert_int_equal(household_key(secret, sizeof(secret), &p, key), ML_EINVAL);
	}
	/* "smith|ann|1990-05-05" and its NUL: 21 bytes */
	p = person("Smith", "Ann", "1990-05-05");
	assert_int_equal(household_identity(&p, out, 20), ML_EINVAL);
	assert_int_equal(household_identity(&p, out, 21), 0);
	assert_string_equal(out, "smith|ann|1990-05-05");
	assert_int_equal(household_identity(&p, out, 0), ML_EINVAL);
	assert_int_equal(household_identity(NULL, out, sizeof(out)), ML_EINVAL);
	assert_int_equal(household_key(secret, sizeof(secret), NULL, key), ML_EINVAL);
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

/* Computed with: printf '%s' 'ndiaye|elodiemarie|1990-05-05' |
 *   openssl dgst -sha256 -hmac 'maillage-test-secret' */
static void test_known_key_text_secret(void **state)
{
	static const char text_secret[] = "maillage-test-secret";
	static const uint8_t want[32] = {
		0xa6, 0x2f, 0x44, 0x3c, 0x5a, 0x1c, 0x71, 0xcc, 0x6e, 0xcd, 0xc9, 0x12,
		0x7c, 0xaf, 0x02, 0xaf, 0x93, 0x78, 0x66, 0xb8, 0xc5, 0xca, 0x6a, 0xc2,
		0xd8, 0x9d, 0xab, 0xee, 0xc7, 0xb6, 0xe8, 0xc0,
	};
	Maillage__V1__Person p = person("N'Diaye", "Élodie-Marie", "1990-05-05");
	uint8_t key[32];

	(void)state;
	assert_int_equal(household_key((const uint8_t *)text_secret, strlen(text_secret), &p,
				       key), 0);
	assert_memory_equal(key, want, 32);
}

static void test_keys_differ(void **state)
{
	Maillage__V1__Person a = person("Benali", "Samira", "1984-03-12");
	Maillage__V1__Person b = person("BENALI", "samira", "1984-03-12");
	Maillage__V1__Person c = person("Benali", "Samira", "1984-03-13");
	Maillage__V1__Person d = person("Samira", "Benali", "1984-03-12");
	uint8_t ka[32], kb[32], kc[32], kd[32], ke[32];
	uint8_t other[32] = { 1 };

	(void)state;
	assert_int_equal(household_key(secret, 32, &a, ka), 0);
	assert_int_equal(household_key(secret, 32, &b, kb), 0);
	assert_int_equal(household_key(secret, 32, &c, kc), 0);
	assert_int_equal(household_key(secret, 32, &d, kd), 0);
	assert_int_equal(household_key(other, 32, &a, ke), 0);
	assert_memory_equal(ka, kb, 32);
	assert_memory_not_equal(ka, kc, 32);     /* another birth date */
	assert_memory_not_equal(ka, kd, 32);     /* names swapped */
	assert_memory_not_equal(ka, ke, 32);     /* another secret */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalisation),
		cmocka_unit_test(test_same_identity),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_known_key),
		cmocka_unit_test(test_known_key_text_secret),
		cmocka_unit_test(test_keys_differ),
	};

	return cmocka_run_group_tests_name("household", tests, NULL, NULL);
}
