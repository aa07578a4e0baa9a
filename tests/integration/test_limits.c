/* test_limits.c - connection limits (issue 7, item 4): max_connections
 * (handshakes included) and max_connections_per_org; the others keep being
 * served, and a freed place can be taken again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "max_connections = 6\nmax_connections_per_org = 3");
}

/* A ping on c answers OK. */
static void ping_ok(struct mlc *c)
{
	mlc_request *req = h_ping(&H);
	mlc_response *r = h_call(c, req);

	assert_int_equal(h_code(r), 0);
	mlc_response_free(r);
	h_request_free(req);
}

static void test_per_organisation(void **state)
{
	struct mlc *mine[3], *extra, *other;
	mlc_response *r;

	(void)state;
	for (int i = 0; i < 3; i++) {
		mine[i] = h_connect(&H, "ccas-vaulx", NULL, 0);
		assert_non_null(mine[i]);
		ping_ok(mine[i]);
	}
	/* The fourth of the same organisation is told why, then closed. */
	extra = h_connect(&H, "ccas-vaulx", NULL, 0);
	assert_non_null(extra);
	r = mlc_recv(extra);
	assert_non_null(r);
	assert_int_equal(r->request_id, 0);
	assert_int_equal(h_code(r), ST(RESOURCE_EXHAUSTED));
	assert_non_null(strstr(r->status->message, "max_connections_per_org"));
	mlc_response_free(r);
	assert_null(mlc_recv(extra));
	mlc_close(extra);
	assert_true(h_log_contains(&H, "org=ccas-vaulx reason=\"max_connections_per_org (3) "
				       "reached\""));
	/* Another organisation is served, and so are the first three. */
	other = h_connect(&H, "asso-habitat", NULL, 0);
	assert_non_null(other);
	ping_ok(other);
	for (int i = 0; i < 3; i++)
		ping_ok(mine[i]);
	/* A place freed is a place again. */
	mlc_close(mine[0]);
	usleep(300000);
	mine[0] = h_connect(&H, "ccas-vaulx", NULL, 0);
	assert_non_null(mine[0]);
	ping_ok(mine[0]);
	for (int i = 0; i < 3; i++)
		mlc_close(mine[i]);
	mlc_close(other);
}

static void test_total(void **state)
{
	static const char *const orgs[] = { "asso-relais", "asso-relais", "hopital-est",
					    "hopital-est", "siao-rhone", "siao-rhone" };
	struct mlc *c[6], *seventh;
	char err[256];

	(void)state;
	usleep(300000);                 /* the previous test's connections are reaped */
	for (int i = 0; i < 6; i++) {
		c[i] = h_connect(&H, orgs[i], err, sizeof(err));
		if (!c[i])
			fail_msg("connection %d refused: %s", i, err);
	}
	/* The seventh is closed before its handshake. */
	seventh = h_connect(&H, "coord-vaulx-bron", err, sizeof(err));
	assert_null(seventh);
	assert_true(h_log_contains(&H, "reason=\"max_connections (6) reached\""));
	for (int i = 0; i < 6; i++)
		ping_ok(c[i]);
	mlc_close(c[5]);
	usleep(300000);
	seventh = h_connect(&H, "coord-vaulx-bron", err, sizeof(err));
	assert_non_null(seventh);
	ping_ok(seventh);
	mlc_close(seventh);
	for (int i = 0; i < 5; i++)
		mlc_close(c[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_organisation),
		cmocka_unit_test(test_total),
	};

	return cmocka_run_group_tests_name("limits", tests, setup, h_group_teardown);
}
