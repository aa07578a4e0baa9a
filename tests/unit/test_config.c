/* test_config.c - the configuration parser: values, defaults, relative paths,
 * the secret file, and an error naming FILE:LINE for each kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static char dir[64];
static char path[128];

#define GLOBALS "listen = 127.0.0.1:7400\n" \
		"data_dir = data\n" \
		"tls_cert = server.crt\n" \
		"tls_key = server.key\n" \
		"tls_ca = /etc/ca.crt\n" \
		"household_secret_file = secret\n"
#define PLATFORM "[platform vaulx-bron]\ncode = VNX\nname = Vaulx / Bron\n"
#define ORG "[org asso]\nkind = ASSOCIATION\nplatforms = vaulx-bron\n"

static void write_file(const char *name, const char *text, mode_t mode)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/maillage-config-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/maillaged.conf", dir);
	write_file("secret", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		   0600);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Load text as the configuration; expect rc, and msg in the error if given. */
static struct config *load(const char *text, int rc, const char *msg)
{
	struct config *cfg = NULL;
	char err[512] = "";

	write_file("maillaged.conf", text, 0600);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), rc);
	if (msg && !strstr(err, msg))
		fail_msg("expected '%s' in '%s'", msg, err);
	return cfg;
}

static void test_good_file(void **state)
{
	struct config *cfg = load(GLOBALS "max_batch = 64\n\n# comment\n" PLATFORM ORG
				  "[org coord]\nkind = COORDINATION\nname = C\n"
				  "platforms = vaulx-bron, venissieux\n"
				  "[platform venissieux]\ncode = VEN\n", 0, NULL);
	char expect[160];

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->listen, "127.0.0.1:7400");
	snprintf(expect, sizeof(expect), "%s/data", dir);
	assert_string_equal(cfg->data_dir, expect);
	assert_string_equal(cfg->tls_ca, "/etc/ca.crt");
	assert_int_equal(cfg->max_batch, 64);
	assert_int_equal(cfg->max_frame_bytes, 1048576);
	assert_int_equal(cfg->map_size_mb, 1024);
	assert_int_equal(cfg->idle_timeout_s, 600);
	assert_int_equal(cfg->household_secret[0], 0);
	assert_int_equal(cfg->household_secret[31], 0x1f);
	assert_int_equal(cfg->n_platforms, 2);
	assert_int_equal(cfg->n_orgs, 2);
	assert_string_equal(config_platform_by_code(cfg, "VEN-2026", 3)->id, "venissieux");
	assert_null(config_platform_by_code(cfg, "VE", 2));
	assert_int_equal(config_find_org(cfg, "coord")->kind, 7);
	assert_true(org_is_member(config_find_org(cfg, "coord"), "venissieux"));
	assert_false(org_is_member(config_find_org(cfg, "asso"), "venissieux"));
	assert_null(config_find_org(cfg, "nobody"));
	config_free(cfg);
}

static void test_errors_name_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ GLOBALS "colour = blue\n" PLATFORM ORG, "maillaged.conf:7: unknown key 'colour'" },
		{ GLOBALS "listen = x:1\n" PLATFORM ORG, ":7: duplicate key 'listen'" },
		{ GLOBALS "max_batch = 0\n" PLATFORM ORG, ":7: 'max_batch' must be a whole number" },
		{ GLOBALS "max_batch = 12abc\n" PLATFORM ORG, ":7:" },
		{ "data_dir = d\ntls_cert = c\ntls_key = k\ntls_ca = a\nhousehold_secret_file = secret\n"
		  PLATFORM ORG, ":0: missing required key 'listen'" },
		{ "listen = 127.0.0.1:99999\n", ":1: 'listen' port must be 1 to 65535" },
		{ GLOBALS "[shelf x]\n", ":7: unknown section type 'shelf'" },
		{ GLOBALS "[org Bad_Id]\n", ":7: bad id 'Bad_Id'" },
		{ GLOBALS PLATFORM "[platform vaulx-bron]\ncode = VNY\n", ":10: duplicate platform" },
		{ GLOBALS PLATFORM "[platform b]\ncode = VNX\n", ":11: code 'VNX' is already used" },
		{ GLOBALS PLATFORM "[platform b]\nname = x\n" ORG, ":10: missing required key 'code'" },
		{ GLOBALS PLATFORM "[org a]\nkind = BAKER\nplatforms = vaulx-bron\n",
		  ":11: unknown organisation kind 'BAKER'" },
		{ GLOBALS PLATFORM "[org a]\nkind = CCAS\nplatforms = lyon\n",
		  "organisation 'a' names unknown platform 'lyon'" },
		{ GLOBALS PLATFORM, "at least one [platform ID] and one [org ID]" },
		{ GLOBALS "just words\n", ":7: expected 'key = value'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		load(cases[i].text, ML_ECONFIG, cases[i].msg);
}

static void test_secret_file(void **state)
{
	(void)state;
	write_file("secret", "0011\n", 0600);
	load(GLOBALS PLATFORM ORG, ML_ECONFIG, "must hold 64 hexadecimal characters");
	write_file("secret", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		   0600);
	load(GLOBALS PLATFORM ORG, ML_ECONFIG, "must hold 64 hexadecimal characters");
	write_file("secret", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		   0644);
	load(GLOBALS PLATFORM ORG, ML_ECONFIG, "must not be accessible by group or others");
	write_file("secret", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		   0600);
	config_free(load(GLOBALS PLATFORM ORG, 0, NULL));
}

static void test_missing_file(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(config_load("/nonexistent/maillaged.conf", &cfg, err, sizeof(err)),
			 ML_EIO);
	assert_non_null(strstr(err, "cannot open '/nonexistent/maillaged.conf'"));
}

/* The development configuration of tools/devsetup.sh loads. */
static void test_devsetup_config(void **state)
{
	const char *root = getenv("MAILLAGE_ROOT");
	struct config *cfg = NULL;
	char cmd[512], conf[160], err[512] = "";

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s/tools/devsetup.sh' '%s/dev' 7999 '%s/devdata' >/dev/null",
		 root ? root : ".", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(conf, sizeof(conf), "%s/dev/maillaged.conf", dir);
	if (config_load(conf, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg->n_platforms, 2);
	assert_int_equal(cfg->n_orgs, 11);
	assert_non_null(config_find_org(cfg, "coord-vaulx-bron"));
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_devsetup_config),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
