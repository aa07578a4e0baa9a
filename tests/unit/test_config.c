/* test_config.c - the configuration parser: values, defaults, relative paths,
 * the household secret and master key files, the data-protection role, a
 * "FILE:LINE: problem" error for each kind of mistake, the lookups, and the
 * files shipped with the repository (deploy/maillaged.conf.example, the
 * output of tools/devsetup.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fixture.h"

static char dir[FIXTURE_DIR_LEN];   /* "/tmp/maillage-config-XXXXXX" */
static char path[PATH_MAX];

#define SECRET_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MASTER_HEX "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeef"

/* Seven lines; the first section of a file that starts with them is line 8.
 * household_secret_file is line 6, master_key_file line 7. */
#define LISTEN "listen = 127.0.0.1:7400\n"
#define NO_LISTEN "data_dir = data\n" \
		"tls_cert = server.crt\n" \
		"tls_key = server.key\n" \
		"tls_ca = /etc/maillage/ca.crt\n" \
		"household_secret_file = secret\n" \
		"master_key_file = master.key\n"
#define GLOBALS LISTEN NO_LISTEN
/* Three lines each. */
#define PLATFORM "[platform vaulx-bron]\ncode = VNX\nname = Vaulx / Bron\n"
#define ORG "[org asso]\nkind = ASSOCIATION\nplatforms = vaulx-bron\n"

static void write_file(const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void write_secret(const char *text, mode_t mode)
{
	write_file("secret", text, mode);
}

static void write_master(const char *text, mode_t mode)
{
	write_file("master.key", text, mode);
}

static int setup(void **state)
{
	(void)state;
	if (fixture_dir_make(dir, "config"))
		return -1;
	snprintf(path, sizeof(path), "%s/maillaged.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fixture_dir_remove(dir);
}

static int reset_key_file(const char *name, const char *hex)
{
	char p[PATH_MAX + 16];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(hex, f);
	fputs("\n", f);
	fclose(f);
	return chmod(p, 0600);
}

/* Every test starts with a good secret file and a good master key file. */
static int reset_secret(void **state)
{
	(void)state;
	if (reset_key_file("secret", SECRET_HEX))
		return -1;
	return reset_key_file("master.key", MASTER_HEX);
}

/* Load text as maillaged.conf; it must succeed. */
static struct config *load_ok(const char *text)
{
	struct config *cfg = NULL;
	char err[1024] = "";

	write_file("maillaged.conf", text, 0600);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("config_load failed: %s", err);
	assert_non_null(cfg);
	return cfg;
}

/* Load text as maillaged.conf; expect rc and an error that reads
 * "PATH:LINE: ..." with msg in it. */
static void load_fails(const char *text, int rc, unsigned line, const char *msg)
{
	struct config *cfg = (struct config *)1;
	char err[1024] = "", prefix[PATH_MAX + 32];

	write_file("maillaged.conf", text, 0600);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), rc);
	assert_null(cfg);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)))
		fail_msg("expected '%s' at the start of '%s'", prefix, err);
	if (!strstr(err, msg))
		fail_msg("expected '%s' in '%s'", msg, err);
}

static void expect_config_error(const char *text, unsigned line, const char *msg)
{
	load_fails(text, ML_ECONFIG, line, msg);
}

static void test_good_file(void **state)
{
	const struct platform *p;
	const struct org *o;
	struct config *cfg;
	char expect[PATH_MAX + 64];

	(void)state;
	cfg = load_ok("# maillage test\n"
		      "  listen   =   0.0.0.0:7400  \n"
		      "data_dir = data dir\n"
		      "tls_cert = certs/server.crt\n"
		      "tls_key = /abs/server.key\n"
		      "tls_ca=ca.crt\n"
		      "household_secret_file = secret\n"
		      "master_key_file = master.key\n"
		      "\t# an indented comment\n"
		      "max_batch = 64\n"
		      "\n"
		      "[org coord]\n"
		      "kind = COORDINATION\n"
		      "name = Coordination #1 = the best\n"
		      "platforms = vaulx-bron ,venissieux\n"
		      "data_protection = yes\n"
		      "[platform vaulx-bron]\n"
		      "code = VNX\n"
		      "name = Vaulx-en-Velin / Bron\n"
		      "[ platform   venissieux ]\n"
		      "code = VEN\n"
		      "[org asso-1]\n"
		      "platforms = vaulx-bron\n"
		      "kind = ASSOCIATION\n");
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->listen, "0.0.0.0:7400");
	snprintf(expect, sizeof(expect), "%s/data dir", dir);
	assert_string_equal(cfg->data_dir, expect);
	snprintf(expect, sizeof(expect), "%s/certs/server.crt", dir);
	assert_string_equal(cfg->tls_cert, expect);
	assert_string_equal(cfg->tls_key, "/abs/server.key");
	snprintf(expect, sizeof(expect), "%s/ca.crt", dir);
	assert_string_equal(cfg->tls_ca, expect);
	snprintf(expect, sizeof(expect), "%s/secret", dir);
	assert_string_equal(cfg->household_secret_file, expect);
	for (unsigned i = 0; i < CONFIG_SECRET_LEN; i++)
		assert_int_equal(cfg->household_secret[i], i);
	snprintf(expect, sizeof(expect), "%s/master.key", dir);
	assert_string_equal(cfg->master_key_file, expect);
	assert_int_equal(cfg->master_key[0], 0xf0);
	assert_int_equal(cfg->master_key[15], 0xff);
	assert_int_equal(cfg->master_key[31], 0xef);

	/* given, and defaults */
	assert_int_equal(cfg->max_batch, 64);
	assert_int_equal(cfg->max_frame_bytes, 1048576);
	assert_int_equal(cfg->map_size_mb, 1024);
	assert_int_equal(cfg->handshake_timeout_s, 10);
	assert_int_equal(cfg->frame_timeout_s, 30);
	assert_int_equal(cfg->idle_timeout_s, 600);
	assert_int_equal(cfg->max_inflight, 256);
	assert_int_equal(cfg->max_output_bytes, 4u << 20);
	assert_null(cfg->metrics_listen);
	assert_int_equal(cfg->log_level, 1);
	assert_int_equal(cfg->max_connections, 20000);
	assert_int_equal(cfg->max_connections_per_org, 1000);
	assert_int_equal(cfg->retention_s, 63072000);
	assert_int_equal(cfg->retention_check_s, 3600);
	assert_int_equal(cfg->journal_retention_s, 31536000);

	assert_int_equal(cfg->n_platforms, 2);
	assert_string_equal(cfg->platforms[0].id, "vaulx-bron");
	assert_string_equal(cfg->platforms[0].code, "VNX");
	assert_string_equal(cfg->platforms[0].name, "Vaulx-en-Velin / Bron");
	assert_string_equal(cfg->platforms[1].id, "venissieux");
	assert_null(cfg->platforms[1].name);

	assert_int_equal(cfg->n_orgs, 2);
	o = config_find_org(cfg, "coord");
	assert_ptr_equal(o, &cfg->orgs[0]);
	assert_int_equal(o->kind, 7);
	assert_string_equal(o->name, "Coordination #1 = the best");
	assert_int_equal(o->n_platforms, 2);
	assert_string_equal(o->platforms[0], "vaulx-bron");
	assert_string_equal(o->platforms[1], "venissieux");
	assert_true(o->data_protection);
	o = config_find_org(cfg, "asso-1");
	assert_non_null(o);
	assert_int_equal(o->kind, 6);
	assert_null(o->name);
	assert_false(o->data_protection);

	p = config_find_platform(cfg, "venissieux");
	assert_ptr_equal(p, &cfg->platforms[1]);
	assert_null(config_find_platform(cfg, "lyon"));
	config_free(cfg);
}

static void test_every_limit(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok(GLOBALS
		      "max_frame_bytes = 67108864\n"
		      "map_size_mb = 16\n"
		      "handshake_timeout_s = 5\n"
		      "frame_timeout_s = 2\n"
		      "idle_timeout_s = 86400\n"
		      "max_inflight = 1\n"
		      "max_output_bytes = 1073741824\n"
		      "metrics_listen = [::1]:9100\n"
		      "log_level = debug\n"
		      "max_batch = 65536\n"
		      "heartbeat_s = 3600\n"
		      "subscriber_stall_s = 1\n"
		      "retention_s = 3153600000\n"
		      "retention_check_s = 86400\n"
		      "journal_retention_s = 60\n"
		      PLATFORM ORG);
	assert_int_equal(cfg->max_frame_bytes, 64u << 20);
	assert_int_equal(cfg->map_size_mb, 16);
	assert_int_equal(cfg->handshake_timeout_s, 5);
	assert_int_equal(cfg->frame_timeout_s, 2);
	assert_int_equal(cfg->idle_timeout_s, 86400);
	assert_int_equal(cfg->max_inflight, 1);
	assert_int_equal(cfg->max_output_bytes, 1u << 30);
	assert_string_equal(cfg->metrics_listen, "[::1]:9100");
	assert_int_equal(cfg->log_level, 0);
	assert_int_equal(cfg->max_batch, 65536);
	assert_int_equal(cfg->heartbeat_s, 3600);
	assert_int_equal(cfg->subscriber_stall_s, 1);
	assert_int_equal(cfg->retention_s, 3153600000u);
	assert_int_equal(cfg->retention_check_s, 86400);
	assert_int_equal(cfg->journal_retention_s, 60);
	config_free(cfg);

	cfg = load_ok(GLOBALS "max_frame_bytes = 1024\nmap_size_mb = 1048576\n"
		      "max_output_bytes = 65536\nmetrics_listen = 127.0.0.1:9100\n"
		      "log_level = error\n" PLATFORM ORG);
	assert_int_equal(cfg->max_frame_bytes, 1024);
	assert_int_equal(cfg->map_size_mb, 1048576);
	assert_int_equal(cfg->max_output_bytes, 65536);
	assert_string_equal(cfg->metrics_listen, "127.0.0.1:9100");
	assert_int_equal(cfg->log_level, 3);
	config_free(cfg);

	cfg = load_ok(GLOBALS "log_level = warn\n" PLATFORM ORG);
	assert_int_equal(cfg->log_level, 2);
	config_free(cfg);
	cfg = load_ok(GLOBALS "log_level = info\n" PLATFORM ORG);
	assert_int_equal(cfg->log_level, 1);
	config_free(cfg);

	cfg = load_ok(GLOBALS "retention_s = 60\nretention_check_s = 1\n"
		      "journal_retention_s = 3153600000\n" PLATFORM ORG);
	assert_int_equal(cfg->retention_s, 60);
	assert_int_equal(cfg->retention_check_s, 1);
	assert_int_equal(cfg->journal_retention_s, 3153600000u);
	config_free(cfg);
}

/* A file named without a directory: paths are made absolute from the cwd. */
static void test_relative_config_path(void **state)
{
	char cwd[PATH_MAX], here[PATH_MAX], expect[PATH_MAX + 16], err[512] = "";
	struct config *cfg = NULL;
	int rc;

	(void)state;
	write_file("maillaged.conf", GLOBALS PLATFORM ORG, 0600);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_non_null(getcwd(here, sizeof(here)));
	rc = config_load("maillaged.conf", &cfg, err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (rc)
		fail_msg("config_load failed: %s", err);
	snprintf(expect, sizeof(expect), "%s/data", here);
	assert_string_equal(cfg->data_dir, expect);
	assert_string_equal(cfg->path, "maillaged.conf");
	config_free(cfg);
}

/* Windows line endings and a long line: no fixed line length. */
static void test_crlf_and_long_lines(void **state)
{
	size_t n = 100000;
	char *text = malloc(n + 1024), *name = malloc(n + 1);
	struct config *cfg;

	(void)state;
	assert_non_null(text);
	assert_non_null(name);
	memset(name, 'x', n);
	name[n] = 0;
	snprintf(text, n + 1024, "listen = 127.0.0.1:1\r\ndata_dir = d\r\ntls_cert = c\r\n"
		 "tls_key = k\r\ntls_ca = a\r\nhousehold_secret_file = secret\r\n"
		 "master_key_file = master.key\r\n"
		 "[platform p]\r\ncode = PP\r\nname = %s\r\n"
		 "[org o]\r\nkind = FUNDER\r\nplatforms = p\r\n", name);
	cfg = load_ok(text);
	assert_string_equal(cfg->listen, "127.0.0.1:1");
	assert_int_equal(strlen(cfg->platforms[0].name), n);
	assert_int_equal(cfg->orgs[0].kind, 8);
	config_free(cfg);
	free(name);
	free(text);
}

static void test_listen(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("listen = [::1]:65535\n" NO_LISTEN PLATFORM ORG);
	assert_string_equal(cfg->listen, "[::1]:65535");
	config_free(cfg);

	expect_config_error("listen = 127.0.0.1\n", 1,
			    "'listen' must be ADDRESS:PORT, not '127.0.0.1'");
	expect_config_error("listen = 127.0.0.1:\n", 1, "'listen' port must be 1 to 65535");
	expect_config_error("listen = 127.0.0.1:0\n", 1, "'listen' port must be 1 to 65535, not '0'");
	expect_config_error("listen = 127.0.0.1:65536\n", 1, "not '65536'");
	expect_config_error("listen = 127.0.0.1:99999999999999999999999\n", 1, "port must be");
	expect_config_error("listen = 127.0.0.1:+80\n", 1, "port must be");
	expect_config_error("listen = :7400\n", 1, "'listen' must be ADDRESS:PORT");
	expect_config_error("listen = localhost:7400\n", 1,
			    "'listen' address must be an IPv4 address or an IPv6 address in "
			    "brackets ([::1]:7400), not 'localhost'");
	expect_config_error("listen = ::1:7400\n", 1, "not '::1'");
	expect_config_error("listen = [127.0.0.1]:7400\n", 1, "not '[127.0.0.1]'");

	/* metrics_listen is read the same way */
	expect_config_error(GLOBALS "metrics_listen = 9100\n", 8,
			    "'metrics_listen' must be ADDRESS:PORT, not '9100'");
	expect_config_error(GLOBALS "metrics_listen = 127.0.0.1:0\n", 8,
			    "'metrics_listen' port must be 1 to 65535, not '0'");
	expect_config_error(GLOBALS "metrics_listen = localhost:9100\n", 8,
			    "'metrics_listen' address must be an IPv4 address or an IPv6 address "
			    "in brackets ([::1]:7400), not 'localhost'");
	expect_config_error(GLOBALS "metrics_listen = 127.0.0.1:9100\n"
			    "metrics_listen = 127.0.0.1:9101\n", 9, "duplicate key 'metrics_listen'");
}

static void test_log_level(void **state)
{
	static const char *const bad[] = { "verbose", "INFO", "1", "warning", "info info" };
	char text[512], msg[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), GLOBALS "log_level = %s\n" PLATFORM ORG, bad[i]);
		snprintf(msg, sizeof(msg), "'log_level' must be debug, info, warn or error, "
			 "not '%s'", bad[i]);
		expect_config_error(text, 8, msg);
	}
	expect_config_error(GLOBALS "log_level =\n", 8, "empty value for 'log_level'");
}

static void test_bad_numbers(void **state)
{
	static const char *const bad[] = {
		"max_batch = 0\n", "max_batch = 65537\n", "max_batch = 12abc\n",
		"max_batch = -1\n", "max_batch = +5\n", "max_batch = 0x10\n",
		"max_batch = 1 000\n", "max_batch = 99999999999999999999999999\n",
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), GLOBALS "%s" PLATFORM ORG, bad[i]);
		expect_config_error(text, 8, "'max_batch' must be a whole number from 1 to 65536");
	}
	expect_config_error(GLOBALS "max_frame_bytes = 1023\n", 8,
			    "'max_frame_bytes' must be a whole number from 1024 to 67108864, "
			    "not '1023'");
	expect_config_error(GLOBALS "max_frame_bytes = 67108865\n", 8, "not '67108865'");
	expect_config_error(GLOBALS "map_size_mb = 15\n", 8, "from 16 to 1048576");
	expect_config_error(GLOBALS "map_size_mb = 1048577\n", 8, "from 16 to 1048576");
	expect_config_error(GLOBALS "max_inflight = 65537\n", 8, "'max_inflight'");
	expect_config_error(GLOBALS "handshake_timeout_s = 0\n", 8, "'handshake_timeout_s'");
	expect_config_error(GLOBALS "frame_timeout_s = 0\n", 8, "'frame_timeout_s'");
	expect_config_error(GLOBALS "idle_timeout_s = 86401\n", 8, "'idle_timeout_s'");
	expect_config_error(GLOBALS "max_output_bytes = 65535\n", 8,
			    "'max_output_bytes' must be a whole number from 65536 to 1073741824, "
			    "not '65535'");
	expect_config_error(GLOBALS "max_output_bytes = 1073741825\n", 8, "not '1073741825'");
	expect_config_error(GLOBALS "max_output_bytes = 4M\n", 8, "not '4M'");
	expect_config_error(GLOBALS "retention_s = 0\n", 8,
			    "'retention_s' must be a whole number from 1 to 3153600000, not '0'");
	expect_config_error(GLOBALS "retention_s = 3153600001\n", 8, "not '3153600001'");
	expect_config_error(GLOBALS "retention_s = 4294967296\n", 8, "not '4294967296'");
	expect_config_error(GLOBALS "retention_s = -60\n", 8, "'retention_s'");
	expect_config_error(GLOBALS "retention_check_s = 0\n", 8,
			    "'retention_check_s' must be a whole number from 1 to 86400, not '0'");
	expect_config_error(GLOBALS "retention_check_s = 86401\n", 8, "not '86401'");
	expect_config_error(GLOBALS "journal_retention_s = 0\n", 8,
			    "'journal_retention_s' must be a whole number from 1 to "
			    "3153600000, not '0'");
	expect_config_error(GLOBALS "journal_retention_s = 3153600001\n", 8,
			    "not '3153600001'");
}

static void test_keys(void **state)
{
	(void)state;
	expect_config_error(GLOBALS "colour = blue\n" PLATFORM ORG, 8, "unknown key 'colour'");
	expect_config_error(GLOBALS PLATFORM "colour = blue\n" ORG, 11,
			    "unknown key 'colour' in [platform vaulx-bron]");
	expect_config_error(GLOBALS PLATFORM ORG "code = X\n", 14,
			    "unknown key 'code' in [org asso]");
	expect_config_error(GLOBALS PLATFORM ORG "max_batch = 2\n", 14,
			    "global key 'max_batch' must come before the first section");
	expect_config_error(GLOBALS "listen = 127.0.0.1:1\n" PLATFORM ORG, 8,
			    "duplicate key 'listen'");
	expect_config_error(GLOBALS "max_batch = 1\nmax_batch = 1\n" PLATFORM ORG, 9,
			    "duplicate key 'max_batch'");
	expect_config_error(GLOBALS PLATFORM "name = again\n" ORG, 11, "duplicate key 'name'");
	expect_config_error(GLOBALS PLATFORM ORG "kind = CCAS\n", 14, "duplicate key 'kind'");
	expect_config_error(GLOBALS "[platform b]\nname =\n" ORG, 9, "empty value for 'name'");
	expect_config_error(NO_LISTEN "listen = \t \n", 7, "empty value for 'listen'");
	expect_config_error(GLOBALS "= 3\n", 8, "missing key before '='");
	expect_config_error(GLOBALS "just words\n", 8, "expected 'key = value', not 'just words'");
	/* '#' after the start of a line is part of the value */
	expect_config_error(GLOBALS "max_batch = 5 # five\n", 8, "not '5 # five'");
}

static void test_missing_keys(void **state)
{
	(void)state;
	/* globals: line 0, found at the first section or at the end */
	expect_config_error(NO_LISTEN PLATFORM ORG, 0, "missing required key 'listen'");
	expect_config_error("listen = 127.0.0.1:1\n", 0, "missing required key 'data_dir'");
	expect_config_error("", 0, "missing required key 'listen'");
	expect_config_error("tls_ca = a\n", 0, "missing required key 'listen'");
	/* sections: the line of their header */
	expect_config_error(GLOBALS PLATFORM "[platform b]\nname = x\n" ORG, 11,
			    "missing required key 'code'");
	expect_config_error(GLOBALS PLATFORM ORG "[platform b]\n", 14,
			    "missing required key 'code'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nplatforms = vaulx-bron\n", 11,
			    "missing required key 'kind'");
	expect_config_error(GLOBALS PLATFORM "\n[org a]\nkind = CCAS\nname = A\n" ORG, 12,
			    "missing required key 'platforms'");
	/* at least one platform and one org */
	expect_config_error(GLOBALS, 0, "no [platform ID] section");
	expect_config_error(GLOBALS PLATFORM, 0, "no [org ID] section");
	expect_config_error(GLOBALS ORG, 0, "no [platform ID] section");
}

static void test_sections(void **state)
{
	(void)state;
	expect_config_error(GLOBALS "[shelf x]\n", 8,
			    "unknown section type 'shelf' (expected platform or org)");
	expect_config_error(GLOBALS "[Platform x]\n", 8, "unknown section type 'Platform'");
	expect_config_error(GLOBALS "[org]\n", 8, "bad section header '[org]'");
	expect_config_error(GLOBALS "[org a b]\n", 8, "bad section header '[org a b]'");
	expect_config_error(GLOBALS "[org a\n", 8, "bad section header '[org a'");
	expect_config_error(GLOBALS "[]\n", 8, "bad section header '[]'");
	expect_config_error(GLOBALS "[org Bad_Id]\n", 8,
			    "bad org id 'Bad_Id': 1 to 64 lowercase letters, digits or '-'");
	expect_config_error(GLOBALS "[platform a.b]\n", 8, "bad platform id 'a.b'");
	expect_config_error(GLOBALS "[platform "
			    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345]\n",
			    8, "bad platform id");
	expect_config_error(GLOBALS PLATFORM "[platform vaulx-bron]\ncode = VNY\n", 11,
			    "duplicate platform 'vaulx-bron' (first declared at line 8)");
	expect_config_error(GLOBALS PLATFORM ORG "\n" ORG, 15,
			    "duplicate org 'asso' (first declared at line 11)");
}

static void test_platform_and_org_values(void **state)
{
	struct config *cfg;

	(void)state;
	/* a 64-character id, and an org named like a platform, are fine */
	cfg = load_ok(GLOBALS
		      "[platform abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234]\n"
		      "code = ABCDEF\n"
		      "[org abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234]\n"
		      "kind = AUDITOR\n"
		      "platforms = abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234\n");
	assert_int_equal(cfg->orgs[0].kind, 9);
	config_free(cfg);

	expect_config_error(GLOBALS "[platform a]\ncode = vnx\n", 9,
			    "'code' must be 2 to 6 capital letters, not 'vnx'");
	expect_config_error(GLOBALS "[platform a]\ncode = V\n", 9, "not 'V'");
	expect_config_error(GLOBALS "[platform a]\ncode = ABCDEFG\n", 9, "not 'ABCDEFG'");
	expect_config_error(GLOBALS "[platform a]\ncode = V1\n", 9, "not 'V1'");
	expect_config_error(GLOBALS PLATFORM "[platform b]\ncode = VNX\n", 12,
			    "code 'VNX' is already used by platform 'vaulx-bron'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = BAKER\nplatforms = vaulx-bron\n",
			    12, "unknown organisation kind 'BAKER'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = landlord\n", 12,
			    "unknown organisation kind 'landlord'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = ORG_KIND_UNSPECIFIED\n", 12,
			    "unknown organisation kind");
	/* platforms: checked at the end, reported at the org's platforms line */
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = CCAS\nplatforms = lyon\n" ORG,
			    13, "unknown platform 'lyon' in org 'a'");
	expect_config_error(GLOBALS PLATFORM ORG "[org a]\nplatforms = vaulx-bron, lyon\n"
			    "kind = CCAS\n[platform b]\ncode = BB\n",
			    15, "unknown platform 'lyon' in org 'a'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = CCAS\nplatforms = vaulx-bron,,\n",
			    13, "'platforms' has an empty item");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = CCAS\nplatforms = ,\n",
			    13, "'platforms' has an empty item");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = CCAS\n"
			    "platforms = vaulx-bron, vaulx-bron\n",
			    13, "platform 'vaulx-bron' is listed twice");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = CCAS\nplatforms = vaulx bron\n",
			    13, "bad platform id 'vaulx bron'");
}

static void test_secret_file(void **state)
{
	static const mode_t shared[] = { 0640, 0620, 0604, 0602, 0644, 0666 };
	struct config *cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		write_secret(SECRET_HEX "\n", shared[i]);
		expect_config_error(GLOBALS PLATFORM ORG, 6,
				    "/secret' must not be accessible by group or others "
				    "(chmod 600)");
	}
	write_secret(SECRET_HEX, 0400);
	config_free(load_ok(GLOBALS PLATFORM ORG));
	write_secret("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0600);
	cfg = load_ok(GLOBALS PLATFORM ORG);
	assert_int_equal(cfg->household_secret[31], 0x1f);
	config_free(cfg);

	write_secret("0011\n", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");
	write_secret("", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");
	write_secret("zz" "02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");
	write_secret(SECRET_HEX "0\n", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");
	write_secret(SECRET_HEX "\n\n", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");
	write_secret(" " "00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "must hold 64 hexadecimal characters");

	load_fails("listen = 127.0.0.1:1\ndata_dir = d\ntls_cert = c\ntls_key = k\ntls_ca = a\n"
		   "household_secret_file = nowhere\nmaster_key_file = master.key\n"
		   PLATFORM ORG, ML_EIO, 6,
		   "cannot open '");
	load_fails("listen = 127.0.0.1:1\ndata_dir = d\ntls_cert = c\ntls_key = k\ntls_ca = a\n"
		   "household_secret_file = .\nmaster_key_file = master.key\n"
		   PLATFORM ORG, ML_ECONFIG, 6, "is not a regular file");
}

/* The globals of GLOBALS but master_key_file: six lines. */
#define NO_MASTER LISTEN "data_dir = data\n" \
		"tls_cert = server.crt\n" \
		"tls_key = server.key\n" \
		"tls_ca = /etc/maillage/ca.crt\n" \
		"household_secret_file = secret\n"

/* The master key file: the checks of the household secret file (one reader
 * for both), and a key of its own. */
static void test_master_key_file(void **state)
{
	static const mode_t shared[] = { 0640, 0620, 0604, 0602, 0644, 0666 };
	static const char *const malformed[] = {
		"", "\n", "0011\n", MASTER_HEX "0\n", MASTER_HEX "\n\n", " " MASTER_HEX,
		MASTER_HEX " \n", MASTER_HEX "\r\n",
		"zzf1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeef\n",
		"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeeg\n",
		"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedee\n",
	};
	char key[PATH_MAX + 16], msg[2 * PATH_MAX + 128];
	struct config *cfg;

	(void)state;
	/* required, global */
	expect_config_error(NO_MASTER PLATFORM ORG, 0, "missing required key 'master_key_file'");
	expect_config_error(GLOBALS PLATFORM ORG "master_key_file = master.key\n", 14,
			    "global key 'master_key_file' must come before the first section");
	expect_config_error(GLOBALS "master_key_file = master.key\n" PLATFORM ORG, 8,
			    "duplicate key 'master_key_file'");

	/* good: with or without the newline, either case, read-only */
	write_master(MASTER_HEX, 0400);
	cfg = load_ok(GLOBALS PLATFORM ORG);
	assert_int_equal(cfg->master_key[0], 0xf0);
	assert_int_equal(cfg->master_key[31], 0xef);
	config_free(cfg);
	write_master("F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF\n", 0600);
	cfg = load_ok(GLOBALS PLATFORM ORG);
	assert_int_equal(cfg->master_key[15], 0xff);
	assert_memory_not_equal(cfg->master_key, cfg->household_secret, CONFIG_SECRET_LEN);
	config_free(cfg);

	/* group or others may read or write it: refused, at its line */
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		write_master(MASTER_HEX "\n", shared[i]);
		expect_config_error(GLOBALS PLATFORM ORG, 7,
				    "/master.key' must not be accessible by group or others "
				    "(chmod 600)");
	}
	/* malformed */
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		write_master(malformed[i], 0600);
		expect_config_error(GLOBALS PLATFORM ORG, 7,
				    "/master.key' must hold 64 hexadecimal characters "
				    "(openssl rand -hex 32)");
	}
	/* missing, or not a file */
	snprintf(key, sizeof(key), "%s/master.key", dir);
	assert_int_equal(unlink(key), 0);
	snprintf(msg, sizeof(msg), "cannot open '%s': No such file or directory", key);
	load_fails(GLOBALS PLATFORM ORG, ML_EIO, 7, msg);
	load_fails(NO_MASTER "master_key_file = .\n" PLATFORM ORG, ML_ECONFIG, 7,
		   "is not a regular file");

	/* the same key as the household secret, in another file or the same one */
	write_master(SECRET_HEX "\n", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 7, "must differ");
	write_master("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0600);
	snprintf(msg, sizeof(msg), "'%s/master.key' holds the same key as '%s/secret': the "
		 "master key and the household secret must differ", dir, dir);
	expect_config_error(GLOBALS PLATFORM ORG, 7, msg);
	expect_config_error(NO_MASTER "master_key_file = secret\n" PLATFORM ORG, 7,
			    "must differ");

	/* the household secret is read first */
	write_master("0011\n", 0600);
	write_secret("0011\n", 0600);
	expect_config_error(GLOBALS PLATFORM ORG, 6, "/secret' must hold 64 hexadecimal");
}

/* data_protection: yes or no, default no, yes only for a COORDINATION; the
 * kind may come before or after it in the section. */
static void test_data_protection(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok(GLOBALS PLATFORM ORG
		      "[org coord]\ndata_protection = yes\nkind = COORDINATION\n"
		      "platforms = vaulx-bron\n"
		      "[org coord-2]\nkind = COORDINATION\nplatforms = vaulx-bron\n"
		      "data_protection = no\n"
		      "[org coord-3]\nkind = COORDINATION\nplatforms = vaulx-bron\n"
		      "[org landlord]\nkind = LANDLORD\ndata_protection = no\n"
		      "platforms = vaulx-bron\n");
	assert_false(config_find_org(cfg, "asso")->data_protection);
	assert_true(config_find_org(cfg, "coord")->data_protection);
	assert_false(config_find_org(cfg, "coord-2")->data_protection);
	assert_false(config_find_org(cfg, "coord-3")->data_protection);
	assert_false(config_find_org(cfg, "landlord")->data_protection);
	config_free(cfg);

	/* yes on another kind: at the key's line, whether the section ends at
	 * the end of the file or at the next header, kind before or after */
	expect_config_error(GLOBALS PLATFORM ORG "data_protection = yes\n", 14,
			    "'data_protection = yes' is only for a COORDINATION organisation, "
			    "and org 'asso' is ASSOCIATION");
	expect_config_error(GLOBALS PLATFORM "[org a]\ndata_protection = yes\n"
			    "kind = LANDLORD\nplatforms = vaulx-bron\n" ORG, 12,
			    "org 'a' is LANDLORD");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = AUDITOR\n"
			    "platforms = vaulx-bron\n\n# the role\ndata_protection = yes\n",
			    16, "org 'a' is AUDITOR");
	expect_config_error(GLOBALS PLATFORM "[org a]\ndata_protection = yes\nkind = FUNDER\n"
			    "platforms = vaulx-bron\n[platform b]\ncode = BB\n", 12,
			    "org 'a' is FUNDER");
	/* a missing kind is reported as such */
	expect_config_error(GLOBALS PLATFORM "[org a]\ndata_protection = yes\n"
			    "platforms = vaulx-bron\n", 11, "missing required key 'kind'");

	/* values and places */
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = COORDINATION\n"
			    "data_protection = Yes\n", 13,
			    "'data_protection' must be yes or no, not 'Yes'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = COORDINATION\n"
			    "data_protection = true\n", 13, "not 'true'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = COORDINATION\n"
			    "data_protection = 1\n", 13, "not '1'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = COORDINATION\n"
			    "data_protection = yes\ndata_protection = yes\n", 14,
			    "duplicate key 'data_protection'");
	expect_config_error(GLOBALS PLATFORM "[org a]\nkind = COORDINATION\n"
			    "data_protection =\n", 13, "empty value for 'data_protection'");
	expect_config_error(GLOBALS "data_protection = yes\n" PLATFORM ORG, 8,
			    "unknown key 'data_protection'");
	expect_config_error(GLOBALS PLATFORM "data_protection = yes\n" ORG, 11,
			    "unknown key 'data_protection' in [platform vaulx-bron]");
}

static void test_cannot_open(void **state)
{
	struct config *cfg = (struct config *)1;
	char err[256];

	(void)state;
	assert_int_equal(config_load("/nonexistent/maillaged.conf", &cfg, err, sizeof(err)),
			 ML_EIO);
	assert_null(cfg);
	assert_string_equal(err, "cannot open '/nonexistent/maillaged.conf': "
			    "No such file or directory");
}

/* A small error buffer is filled, never overrun. */
static void test_small_error_buffer(void **state)
{
	struct config *cfg = NULL;
	char err[8];

	(void)state;
	write_file("maillaged.conf", GLOBALS "colour = blue\n", 0600);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), ML_ECONFIG);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(config_load(path, &cfg, NULL, 0), ML_ECONFIG);
}

static void test_lookups(void **state)
{
	struct config *cfg;
	const struct org *a, *b;

	(void)state;
	cfg = load_ok(GLOBALS PLATFORM "[platform venissieux]\ncode = VEN\n"
		      "[platform lyon]\ncode = VENX\n" ORG
		      "[org both]\nkind = LANDLORD\nplatforms = venissieux, vaulx-bron\n");
	assert_string_equal(config_platform_by_code(cfg, "VEN-2026-000001", 3)->id, "venissieux");
	assert_string_equal(config_platform_by_code(cfg, "VENX-2026-000001", 4)->id, "lyon");
	assert_string_equal(config_platform_by_code(cfg, "VNX", 3)->id, "vaulx-bron");
	assert_null(config_platform_by_code(cfg, "VE", 2));
	assert_null(config_platform_by_code(cfg, "VNXX", 4));
	assert_null(config_platform_by_code(cfg, "", 0));
	assert_string_equal(config_find_platform(cfg, "lyon")->code, "VENX");
	assert_null(config_find_platform(cfg, "VNX"));
	a = config_find_org(cfg, "asso");
	b = config_find_org(cfg, "both");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(b->kind, 1);
	assert_null(config_find_org(cfg, "nobody"));
	assert_null(config_find_org(cfg, "vaulx-bron"));
	assert_true(org_is_member(a, "vaulx-bron"));
	assert_false(org_is_member(a, "venissieux"));
	assert_false(org_is_member(a, "vaulx"));
	assert_true(org_is_member(b, "venissieux"));
	assert_true(org_is_member(b, "vaulx-bron"));
	assert_false(org_is_member(b, "lyon"));
	config_free(cfg);
	config_free(NULL);
}

static const char *repo_root(void)
{
	const char *root = getenv("MAILLAGE_ROOT");

	return root && root[0] ? root : ".";
}

/* "# max_batch = 4096" is a commented-out setting: return "max_batch = 4096". */
static const char *commented_setting(const char *line)
{
	size_t n;

	if (strncmp(line, "# ", 2))
		return NULL;
	n = strspn(line + 2, "abcdefghijklmnopqrstuvwxyz_");
	if (!n || strncmp(line + 2 + n, " = ", 3))
		return NULL;
	return line + 2;
}

/* deploy/maillaged.conf.example loads (with key files of ours), and its
 * commented-out limits are the defaults. */
static void test_example_file(void **state)
{
	char src[PATH_MAX + 64], line[1024], secret[PATH_MAX + 64], master[PATH_MAX + 64];
	struct config *cfg = NULL, *uncommented = NULL;
	char err[1024] = "";
	char path2[PATH_MAX + 16];
	const char *setting;
	FILE *in, *out, *out2;

	(void)state;
	snprintf(src, sizeof(src), "%s/deploy/maillaged.conf.example", repo_root());
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(master, sizeof(master), "%s/master.key", dir);
	snprintf(path2, sizeof(path2), "%s/uncommented.conf", dir);
	in = fopen(src, "r");
	if (!in)
		fail_msg("cannot open '%s' (set MAILLAGE_ROOT)", src);
	out = fopen(path, "w");
	out2 = fopen(path2, "w");
	assert_non_null(out);
	assert_non_null(out2);
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "household_secret_file", 21)) {
			fprintf(out, "household_secret_file = %s\n", secret);
			fprintf(out2, "household_secret_file = %s\n", secret);
			continue;
		}
		if (!strncmp(line, "master_key_file", 15)) {
			fprintf(out, "master_key_file = %s\n", master);
			fprintf(out2, "master_key_file = %s\n", master);
			continue;
		}
		fputs(line, out);
		setting = commented_setting(line);
		fputs(setting ? setting : line, out2);
	}
	fclose(in);
	fclose(out);
	fclose(out2);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(cfg->n_platforms >= 1);
	assert_true(cfg->n_orgs >= 1);
	if (config_load(path2, &uncommented, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(uncommented->max_frame_bytes, cfg->max_frame_bytes);
	assert_int_equal(uncommented->map_size_mb, cfg->map_size_mb);
	assert_int_equal(uncommented->handshake_timeout_s, cfg->handshake_timeout_s);
	assert_int_equal(uncommented->frame_timeout_s, cfg->frame_timeout_s);
	assert_int_equal(uncommented->idle_timeout_s, cfg->idle_timeout_s);
	assert_int_equal(uncommented->max_inflight, cfg->max_inflight);
	assert_int_equal(uncommented->max_output_bytes, cfg->max_output_bytes);
	assert_int_equal(uncommented->log_level, cfg->log_level);
	assert_int_equal(uncommented->max_batch, cfg->max_batch);
	assert_int_equal(uncommented->retention_s, cfg->retention_s);
	assert_int_equal(uncommented->retention_check_s, cfg->retention_check_s);
	assert_int_equal(uncommented->journal_retention_s, cfg->journal_retention_s);
	assert_true(config_find_org(cfg, "coord-vaulx-bron")->data_protection);
	config_free(uncommented);
	config_free(cfg);
}

/* The development configuration written by tools/devsetup.sh loads. */
static void test_devsetup_config(void **state)
{
	char cmd[3 * PATH_MAX + 128], conf[PATH_MAX + 32], data[PATH_MAX + 32];
	char err[1024] = "";
	uint8_t master_key[CONFIG_SECRET_LEN];
	struct config *cfg = NULL;
	const struct org *o;
	struct stat st;

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s/tools/devsetup.sh' '%s/dev' 7999 '%s/devdata' >/dev/null",
		 repo_root(), dir, dir);
	if (system(cmd) != 0)
		fail_msg("'%s' failed (set MAILLAGE_ROOT to the repository)", cmd);
	snprintf(conf, sizeof(conf), "%s/dev/maillaged.conf", dir);
	if (config_load(conf, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(cfg->listen, "127.0.0.1:7999");
	snprintf(data, sizeof(data), "%s/devdata", dir);
	assert_string_equal(cfg->data_dir, data);
	assert_int_equal(cfg->n_platforms, 2);
	assert_string_equal(config_platform_by_code(cfg, "VNX", 3)->id, "vaulx-bron");
	assert_string_equal(config_find_platform(cfg, "venissieux")->name, "V\xc3\xa9nissieux");
	assert_int_equal(cfg->n_orgs, 11);
	o = config_find_org(cfg, "coord-vaulx-bron");
	assert_non_null(o);
	assert_int_equal(o->kind, 7);
	assert_false(org_is_member(o, "venissieux"));
	assert_true(o->data_protection);
	o = config_find_org(cfg, "coord-venissieux");
	assert_int_equal(o->kind, 7);
	assert_false(o->data_protection);
	for (size_t i = 0; i < cfg->n_orgs; i++)
		if (strcmp(cfg->orgs[i].id, "coord-vaulx-bron"))
			assert_false(cfg->orgs[i].data_protection);
	o = config_find_org(cfg, "asso-habitat");
	assert_string_equal(o->name, "Habitat et Solidarit\xc3\xa9");
	o = config_find_org(cfg, "bailleur-est");
	assert_true(org_is_member(o, "vaulx-bron") && org_is_member(o, "venissieux"));
	assert_null(config_find_org(cfg, "stranger"));
	assert_null(config_find_org(cfg, "intruder"));
	assert_int_equal(cfg->max_frame_bytes, 1048576);
	assert_int_equal(stat(cfg->tls_key, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(stat(cfg->tls_ca, &st), 0);
	snprintf(data, sizeof(data), "%s/dev/master.key", dir);
	assert_string_equal(cfg->master_key_file, data);
	assert_int_equal(stat(cfg->master_key_file, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(cfg->retention_s, 63072000);
	memcpy(master_key, cfg->master_key, sizeof(master_key));
	config_free(cfg);

	/* a second run keeps the secret and the master key and still loads */
	if (system(cmd) != 0)
		fail_msg("'%s' failed a second time", cmd);
	if (config_load(conf, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_memory_equal(cfg->master_key, master_key, sizeof(master_key));
	config_free(cfg);
}

/* config_diff names every change by section and key; config_adopt swaps
 * one value of each type in, leaving the old one in next; key files and
 * unknown keys are refused. */
struct changes {
	char seen[8][64];
	size_t n;
};

static void note_change(void *arg, const char *section, const char *key)
{
	struct changes *c = arg;

	if (c->n < 8)
		snprintf(c->seen[c->n++], sizeof(c->seen[0]), "%s/%s", section ? section : "",
			 key ? key : "");
}

static bool changed(const struct changes *c, const char *what)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->seen[i], what))
			return true;
	return false;
}

static void test_diff_and_adopt(void **state)
{
	struct config *cfg, *next;
	struct changes c = { .n = 0 };
	const struct org *o;

	(void)state;
	cfg = load_ok(GLOBALS "max_inflight = 8\n" PLATFORM
		      "[platform venissieux]\ncode = VEN\n" ORG);
	next = load_ok(GLOBALS "max_inflight = 9\nlog_level = warn\ntls_crl = crl.pem\n"
		       PLATFORM "[platform venissieux]\ncode = VEN\n"
		       "[org asso]\nkind = ASSOCIATION\nplatforms = vaulx-bron, venissieux\n"
		       "[org other]\nkind = CCAS\nplatforms = venissieux\n");
	assert_int_equal(config_diff(cfg, next, note_change, &c), 5);
	assert_true(changed(&c, "/max_inflight"));
	assert_true(changed(&c, "/log_level"));
	assert_true(changed(&c, "/tls_crl"));
	assert_true(changed(&c, "org asso/platforms"));
	assert_true(changed(&c, "org other/"));

	assert_int_equal(config_adopt(cfg, next, NULL, "log_level"), 0);
	assert_int_equal(cfg->log_level, 2);
	assert_int_equal(next->log_level, 1);
	assert_int_equal(config_adopt(cfg, next, NULL, "max_inflight"), 0);
	assert_int_equal(cfg->max_inflight, 9);
	assert_int_equal(config_adopt(cfg, next, NULL, "tls_crl"), 0);
	assert_non_null(strstr(cfg->tls_crl, "/crl.pem"));
	assert_null(next->tls_crl);
	assert_int_equal(config_adopt(cfg, next, "org asso", "platforms"), 0);
	o = config_find_org(cfg, "asso");
	assert_int_equal(o->n_platforms, 2);
	assert_string_equal(o->platforms[1], "venissieux");
	assert_int_equal(config_find_org(next, "asso")->n_platforms, 1);
	assert_int_equal(config_adopt(cfg, next, NULL, "master_key_file"), ML_EINVAL);
	assert_int_equal(config_adopt(cfg, next, NULL, "no_such_key"), ML_EINVAL);
	assert_int_equal(config_adopt(cfg, next, "org other", "platforms"), ML_EINVAL);
	c.n = 0;
	assert_int_equal(config_diff(cfg, next, note_change, &c), 5);  /* swapped, not copied */
	config_free(next);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good_file, reset_secret),
		cmocka_unit_test_setup(test_every_limit, reset_secret),
		cmocka_unit_test_setup(test_relative_config_path, reset_secret),
		cmocka_unit_test_setup(test_crlf_and_long_lines, reset_secret),
		cmocka_unit_test_setup(test_listen, reset_secret),
		cmocka_unit_test_setup(test_log_level, reset_secret),
		cmocka_unit_test_setup(test_bad_numbers, reset_secret),
		cmocka_unit_test_setup(test_keys, reset_secret),
		cmocka_unit_test_setup(test_missing_keys, reset_secret),
		cmocka_unit_test_setup(test_sections, reset_secret),
		cmocka_unit_test_setup(test_platform_and_org_values, reset_secret),
		cmocka_unit_test_setup(test_secret_file, reset_secret),
		cmocka_unit_test_setup(test_master_key_file, reset_secret),
		cmocka_unit_test_setup(test_data_protection, reset_secret),
		cmocka_unit_test_setup(test_cannot_open, reset_secret),
		cmocka_unit_test_setup(test_small_error_buffer, reset_secret),
		cmocka_unit_test_setup(test_lookups, reset_secret),
		cmocka_unit_test_setup(test_example_file, reset_secret),
		cmocka_unit_test_setup(test_devsetup_config, reset_secret),
		cmocka_unit_test_setup(test_diff_and_adopt, reset_secret),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
