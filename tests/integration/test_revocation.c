/* test_revocation.c - partner certificates: one issued by tools/issue-cert.sh
 * works; a certificate revocation list (tls_crl), reloaded on SIGHUP without a
 * restart: a revoked organisation's handshakes fail, its open connections are
 * closed, the others go on; a list that does not load keeps the previous one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char crl[700], db[700];

/* tools/revoke.sh on the development CA; cert NULL: only rewrite the list. */
static int revoke_cert(const char *cert)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "'%s/tools/revoke.sh' '%s' '%s' '%s' %s%s%s >/dev/null",
		 H.root, H.certs, db, crl, cert ? "'" : "", cert ? cert : "", cert ? "'" : "");
	return system(cmd);
}

/* A server started with an empty list in tls_crl. */
static int setup(void **state)
{
	char conf[8192];
	FILE *f;
	size_t n;

	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	snprintf(crl, sizeof(crl), "%s/crl.pem", H.dir);
	snprintf(db, sizeof(db), "%s/revoked", H.dir);
	f = fopen(H.conf, "r");
	if (revoke_cert(NULL) || !f || h_stop(&H, SIGTERM))
		return -1;
	n = fread(conf, 1, sizeof(conf) - 1, f);
	fclose(f);
	conf[n] = 0;
	f = fopen(H.conf, "w");
	if (!f)
		return -1;
	fprintf(f, "tls_crl = %s\n%s", crl, conf);
	fclose(f);
	return h_start(&H);
}

static bool can_ping(const char *org)
{
	struct mlc *c = h_connect(&H, org, NULL, 0);
	mlc_request *req = h_ping(&H);
	mlc_response *r = c ? mlc_call(c, req) : NULL;
	bool ok = h_code(r) == 0;

	mlc_response_free(r);
	h_request_free(req);
	mlc_close(c);
	return ok;
}

static void test_revoked_on_reload(void **state)
{
	char cert[700];
	struct mlc *open_conn;
	mlc_request *req;
	mlc_response *r;

	(void)state;
	assert_true(can_ping("asso-relais"));
	open_conn = h_connect(&H, "asso-relais", NULL, 0);
	assert_non_null(open_conn);

	snprintf(cert, sizeof(cert), "%s/asso-relais.crt", H.certs);
	assert_int_equal(revoke_cert(cert), 0);
	assert_int_equal(kill(H.pid, SIGHUP), 0);
	assert_true(h_log_wait(&H, "event=tls_reloaded revoked_certificates=1 connections_closed=1",
			       1, 5000));
	assert_true(h_log_contains(&H, "org=asso-relais reason=\"certificate revoked\""));

	/* the open connection is gone, a new one is refused, others go on */
	req = h_ping(&H);
	r = mlc_call(open_conn, req);
	assert_null(r);
	h_request_free(req);
	mlc_close(open_conn);
	assert_false(can_ping("asso-relais"));
	assert_true(can_ping("asso-habitat"));
	assert_true(can_ping("coord-vaulx-bron"));
}

static void test_bad_list_keeps_the_previous(void **state)
{
	FILE *f = fopen(crl, "w");

	(void)state;
	assert_non_null(f);
	fputs("not a revocation list\n", f);
	fclose(f);
	assert_int_equal(kill(H.pid, SIGHUP), 0);
	assert_true(h_log_wait(&H, "event=tls_reload_failed", 1, 5000));
	assert_true(h_log_contains(&H, "kept=previous"));
	assert_false(can_ping("asso-relais"));
	assert_true(can_ping("asso-habitat"));
	/* and a good one again reloads */
	assert_int_equal(revoke_cert(NULL), 0);
	assert_int_equal(kill(H.pid, SIGHUP), 0);
	assert_true(h_log_wait(&H, "connections_closed=0", 1, 5000));
	assert_false(can_ping("asso-relais"));
}

/* tools/issue-cert.sh: a new certificate for a declared organisation, with
 * an organisation identifier in its subject, opens a session as it. */
static void test_issued_certificate(void **state)
{
	char cmd[2000], sub[64], cert[128], key[128];
	struct mlc *c;
	mlc_request *req;
	mlc_response *r;

	(void)state;
	snprintf(sub, sizeof(sub), "issued-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "'%s/tools/issue-cert.sh' '%s' asso-habitat '%s/%s' "
		 "'Habitat et Solidarité' SIRET:12345678900017 >/dev/null", H.root, H.certs,
		 H.certs, sub);
	assert_int_equal(system(cmd), 0);
	/* never overwrites */
	assert_int_not_equal(system(cmd), 0);
	snprintf(cert, sizeof(cert), "%s/asso-habitat.crt", sub);
	snprintf(key, sizeof(key), "%s/asso-habitat.key", sub);
	c = h_connect_files(&H, cert, key, NULL, 0);
	assert_non_null(c);
	req = h_ping(&H);
	r = h_call(c, req);
	assert_int_equal(h_code(r), 0);
	assert_string_equal(r->pong->org, "asso-habitat");
	mlc_response_free(r);
	h_request_free(req);
	mlc_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", H.certs, sub);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issued_certificate),
		cmocka_unit_test(test_revoked_on_reload),
		cmocka_unit_test(test_bad_list_keeps_the_previous),
	};

	return cmocka_run_group_tests_name("revocation", tests, setup, h_group_teardown);
}
