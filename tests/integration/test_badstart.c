/* test_badstart.c - bad configuration and bad files (issue 7, item 5): the
 * real maillaged refuses to start, exits non-zero, and names the file and
 * the problem; the data directory is left as it was.
 */
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

/* Run maillaged on a copy of the test's configuration edited by sed_expr
 * (NULL: unchanged) with extra_line prepended (NULL: none); it must exit
 * with status 1 within 10 s and say every needle on stderr. */
static void expect_refusal(const char *sed_expr, const char *extra_line,
			   const char *const *needles)
{
	char conf[700], err[700], cmd[4096], line[1024];
	size_t found = 0, n = 0;
	FILE *f;
	int st;

	snprintf(conf, sizeof(conf), "%s/bad.conf", H.dir);
	snprintf(err, sizeof(err), "%s/bad.err", H.dir);
	snprintf(cmd, sizeof(cmd), "{ printf '%%s\\n' '%s'; sed -e '%s' '%s'; } > '%s'",
		 extra_line ? extra_line : "# (nothing added)", sed_expr ? sed_expr : "s/^//",
		 H.conf, conf);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "timeout 10 '%s/maillaged' -c '%s' 2>'%s'", H.bin, conf, err);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	f = fopen(err, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		print_message("    %s", line);
		for (n = 0; needles[n]; n++)
			if (strstr(line, needles[n]))
				found |= 1u << n;
	}
	fclose(f);
	for (n = 0; needles[n]; n++)
		if (!(found & (1u << n)))
			fail_msg("stderr does not say '%s'", needles[n]);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_refusal(NULL, "colour = blue",
		       (const char *const[]){ "bad.conf:1: unknown key 'colour'", NULL });
}

static void test_missing_certificate(void **state)
{
	(void)state;
	expect_refusal("s|^tls_cert = .*|tls_cert = /nonexistent/server.crt|", NULL,
		       (const char *const[]){ "'/nonexistent/server.crt'",
					       "No such file or directory", NULL });
}

static void test_key_of_another_certificate(void **state)
{
	char expr[900], path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/ccas-vaulx.key", H.certs);
	snprintf(expr, sizeof(expr), "s|^tls_key = .*|tls_key = %s|", path);
	expect_refusal(expr, NULL,
		       (const char *const[]){ path, "key values mismatch", NULL });
}

/* A data directory written by a newer maillaged (schema version + 1). */
static void test_newer_schema(void **state)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = 14, .mv_data = "schema_version" }, v;
	uint8_t newer[4];
	uint32_t version;

	(void)state;
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	assert_int_equal(mdb_env_open(env, H.data, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 4);
	memcpy(newer, v.mv_data, 4);
	version = (uint32_t)newer[0] << 24 | newer[1] << 16 | newer[2] << 8 | newer[3];
	newer[3]++;
	v.mv_data = newer;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	{
		char want[96], upto[32];

		snprintf(want, sizeof(want), "has schema version %u; this maillaged reads "
			 "versions 2 to ", version + 1);      /* it upgrades from 2 */
		snprintf(upto, sizeof(upto), " to %u", version);
		expect_refusal(NULL, NULL, (const char *const[]){ H.data, want, upto, NULL });
	}
	/* Put it back: the group's teardown checks a clean stop. */
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	assert_int_equal(mdb_env_open(env, H.data, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	newer[3]--;
	v.mv_data = newer;
	v.mv_size = 4;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(h_start(&H), 0);
}

/* A data directory whose data.mdb is not LMDB: refused, and left alone. */
static void test_not_lmdb(void **state)
{
	char dir[700], cmd[4096], expr[900];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/garbage", H.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && head -c 65536 /dev/urandom > '%s/data.mdb' "
		 "&& sha256sum '%s/data.mdb' > '%s.sum'", dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(expr, sizeof(expr), "s|^data_dir = .*|data_dir = %s|", dir);
	expect_refusal(expr, NULL, (const char *const[]){ dir, "not an LMDB environment", NULL });
	snprintf(cmd, sizeof(cmd), "sha256sum --status -c '%s.sum' && test ! -e '%s/kek'", dir,
		 dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_missing_certificate),
		cmocka_unit_test(test_key_of_another_certificate),
		cmocka_unit_test(test_newer_schema),
		cmocka_unit_test(test_not_lmdb),
	};

	return cmocka_run_group_tests_name("badstart", tests, h_group_setup, h_group_teardown);
}
