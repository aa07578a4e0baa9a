/* test_security.c - who gets in and who may do what: handshakes without a
 * certificate or with one from another CA, an undeclared organisation,
 * commands from the wrong kind, platform or relation, and the same answer for
 * a hidden case as for a missing one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

static char case_id[64];    /* referred by ccas-vaulx, accepted, lead asso-habitat */

static int setup(void **state)
{
	mlc_response *r;

	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	r = h_send_as(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "Secret", "Sam", "1988-08-08"), 0);
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, case_id), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, case_id, "asso-habitat"), 0);
	return 0;
}

/* A connection that the handshake should refuse: either connect fails, or the
 * first exchange does (TLS 1.3 reports the client's rejection after it). */
static void expect_refused_handshake(const char *cert, const char *key)
{
	char err[256] = "";
	struct mlc *c = h_connect_files(&H, cert, key, err, sizeof(err));
	mlc_request *req;
	mlc_response *resp;

	if (!c)
		return;
	req = h_ping(&H);
	resp = mlc_call(c, req);
	assert_null(resp);
	h_request_free(req);
	mlc_close(c);
}

static void test_no_certificate(void **state)
{
	(void)state;
	expect_refused_handshake(NULL, NULL);
	assert_true(h_log_contains(&H, "handshake failed"));
}

static void test_certificate_from_another_ca(void **state)
{
	(void)state;
	/* CN is a declared coordination, but the CA is not the platform's. */
	expect_refused_handshake("intruder.crt", "intruder.key");
}

static void test_undeclared_organisation(void **state)
{
	struct mlc *c = h_connect(&H, "stranger", NULL, 0);
	mlc_request *req = h_ping(&H);
	mlc_response *resp;

	(void)state;
	assert_non_null(c);
	resp = h_call(c, req);
	assert_int_equal(h_code(resp), ST(UNAUTHENTICATED));
	assert_non_null(strstr(resp->status->message, "'stranger'"));
	mlc_response_free(resp);
	/* and the connection is closed */
	assert_null(mlc_recv(c));
	h_request_free(req);
	mlc_close(c);
}

static void test_wrong_kind(void **state)
{
	mlc_response *r;

	(void)state;
	r = h_send_as(&H, "funder-metropole", h_refer(&H, "vaulx-bron", "A", "B", "1990-01-01"),
		    ST(PERMISSION_DENIED));
	assert_non_null(strstr(r->status->message, "funder-metropole"));
	mlc_response_free(r);
	h_expect(&H, "bailleur-est", h_acknowledge(&H, case_id), ST(PERMISSION_DENIED));
	h_expect(&H, "asso-habitat", h_accept(&H, case_id, "asso-habitat"), ST(PERMISSION_DENIED));
	h_expect(&H, "funder-metropole", h_get_case(&H, case_id), ST(PERMISSION_DENIED));
}

static void test_wrong_platform(void **state)
{
	(void)state;
	/* asso-habitat belongs to vaulx-bron only */
	h_expect(&H, "asso-habitat", h_refer(&H, "venissieux", "A", "B", "1990-01-01"),
	       ST(PERMISSION_DENIED));
	h_expect(&H, "ccas-vaulx", h_refer(&H, "lyon-7-8", "A", "B", "1990-01-01"),
	       ST(INVALID_ARGUMENT));
	/* the other platform's coordination has no hold on this case */
	h_expect(&H, "coord-venissieux", h_decline(&H, case_id), ST(PERMISSION_DENIED));
}

static void test_relation_to_the_case(void **state)
{
	(void)state;
	/* asso-relais is an association of the platform, but not on this case */
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-03"), ST(PERMISSION_DENIED));
	h_expect(&H, "asso-relais", h_get_case(&H, case_id), ST(PERMISSION_DENIED));
	/* the referrer reads it but may not record a visit */
	h_expect(&H, "ccas-vaulx", h_get_case(&H, case_id), ST(OK));
	h_expect(&H, "ccas-vaulx", h_visit(&H, case_id, "2026-11-03"), ST(PERMISSION_DENIED));
	/* the lead partner may; coordination, auditors read */
	h_expect(&H, "asso-habitat", h_visit(&H, case_id, "2026-11-03"), ST(OK));
	h_expect(&H, "auditor", h_history(&H, case_id), ST(OK));
	/* only the referrer may withdraw (and here it is too late anyway) */
	h_expect(&H, "hopital-est", h_withdraw(&H, case_id), ST(PERMISSION_DENIED));
	h_expect(&H, "ccas-vaulx", h_withdraw(&H, case_id), ST(FAILED_PRECONDITION));
}

/* An outsider learns nothing: a hidden case answers like a missing one. */
static void test_hidden_equals_missing(void **state)
{
	mlc_response *hidden, *missing;

	(void)state;
	hidden = h_send_as(&H, "asso-relais", h_get_case(&H, case_id), ST(PERMISSION_DENIED));
	missing = h_send_as(&H, "asso-relais", h_get_case(&H, "VNX-2026-999999"),
			  ST(PERMISSION_DENIED));
	assert_non_null(strstr(hidden->status->message, "no access"));
	assert_non_null(strstr(missing->status->message, "no access"));
	mlc_response_free(hidden);
	mlc_response_free(missing);
	/* the platform's own coordination is told it does not exist */
	h_expect(&H, "coord-vaulx-bron", h_get_case(&H, "VNX-2026-999999"), ST(NOT_FOUND));
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, "VNX-2026-999999"), ST(NOT_FOUND));
	h_expect(&H, "coord-venissieux", h_get_case(&H, "VNX-2026-999999"), ST(PERMISSION_DENIED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_certificate),
		cmocka_unit_test(test_certificate_from_another_ca),
		cmocka_unit_test(test_undeclared_organisation),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_wrong_platform),
		cmocka_unit_test(test_relation_to_the_case),
		cmocka_unit_test(test_hidden_equals_missing),
	};

	return cmocka_run_group_tests_name("security", tests, setup, h_group_teardown);
}
