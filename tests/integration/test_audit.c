/* test_audit.c - replaying a case as it stood (as of a version, as of a date)
 * and reading the log itself as an auditor, paged and limited to the
 * auditor's platforms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define STATE(x) MAILLAGE__V1__CASE_STATE__##x

static char vnx[64], ven[64];

static int setup(void **state)
{
	mlc_response *r;

	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	r = h_send_as(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Audit", "Ada", "1970-07-07"), 0);
	snprintf(vnx, sizeof(vnx), "%s", r->command->case_id);
	mlc_response_free(r);
	r = h_send_as(&H, "bailleur-est", h_refer(&H, "venissieux", "Audit", "Ben", "1971-07-07"), 0);
	snprintf(ven, sizeof(ven), "%s", r->command->case_id);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, vnx), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, vnx, "asso-habitat"), 0);
	h_expect(&H, "asso-habitat", h_visit(&H, vnx, "2026-11-02"), 0);
	return 0;
}

static mlc_response *history_as_of(uint32_t version, const char *date, int code)
{
	mlc_request *req = h_history(&H, vnx);

	req->get_case_history->as_of_version = version;
	if (date)    /* replaces the static empty default: nothing to free */
		req->get_case_history->as_of_date = strdup(date);
	return h_send_as(&H, "coord-vaulx-bron", req, code);
}

static void test_as_of_version(void **state)
{
	mlc_response *r;

	(void)state;
	r = history_as_of(2, NULL, ST(OK));
	assert_int_equal(r->history->n_events, 2);
	assert_non_null(r->history->as_of);
	assert_int_equal(r->history->as_of->state, STATE(ACKNOWLEDGED));
	assert_int_equal(r->history->as_of->version, 2);
	assert_string_equal(r->history->as_of->lead_partner, "");
	mlc_response_free(r);
	r = history_as_of(0, NULL, ST(OK));
	assert_int_equal(r->history->n_events, 4);
	assert_int_equal(r->history->as_of->state, STATE(IN_SUPPORT));
	assert_int_equal(r->history->as_of->visit_count, 1);
	mlc_response_free(r);
}

static void test_as_of_date(void **state)
{
	mlc_response *r;

	(void)state;
	/* before anything was recorded: nothing */
	r = history_as_of(0, "2000-01-01", ST(OK));
	assert_int_equal(r->history->n_events, 0);
	assert_null(r->history->as_of);
	mlc_response_free(r);
	/* far in the future: everything */
	r = history_as_of(0, "2199-12-31", ST(OK));
	assert_int_equal(r->history->n_events, 4);
	mlc_response_free(r);
}

static void test_paging(void **state)
{
	mlc_request *req = h_history(&H, vnx);
	mlc_response *r;

	(void)state;
	req->get_case_history->max_events = 3;
	r = h_call_as(&H, "auditor", req, ST(OK));
	assert_int_equal(r->history->n_events, 3);
	assert_int_equal(r->history->next_version, 4);
	mlc_response_free(r);
	req->get_case_history->from_version = 4;
	req->request_id = 0;
	r = h_call_as(&H, "auditor", req, ST(OK));
	assert_int_equal(r->history->n_events, 1);
	assert_int_equal(r->history->events[0]->case_version, 4);
	assert_int_equal(r->history->next_version, 0);
	assert_int_equal(r->history->as_of->version, 4);
	mlc_response_free(r);
	h_request_free(req);
}

static void test_read_events(void **state)
{
	mlc_response *r;
	uint64_t pos = 1;
	size_t seen = 0;

	(void)state;
	/* the auditor belongs to both platforms: every event, in pages of 2 */
	do {
		r = h_send_as(&H, "auditor", h_read_events(&H, pos, 2), ST(OK));
		for (size_t i = 0; i < r->events->n_events; i++)
			assert_int_equal(r->events->events[i]->position, pos + i);
		seen += r->events->n_events;
		pos = r->events->next_position;
		assert_int_equal(r->events->last_position, 5);
		mlc_response_free(r);
	} while (pos);
	assert_int_equal(seen, 5);
	/* only auditors */
	h_expect(&H, "coord-vaulx-bron", h_read_events(&H, 1, 0), ST(PERMISSION_DENIED));
	h_expect(&H, "funder-metropole", h_read_events(&H, 1, 0), ST(PERMISSION_DENIED));
}

/* maillage-admin export: one JSON object per event, in order, beside the
 * running server. */
static void test_export(void **state)
{
	char cmd[1400], line[8192];
	unsigned n = 0;
	FILE *f;

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s/maillage-admin' export '%s' --case %s 2>/dev/null",
		 H.bin, H.data, vnx);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char want[64];

		snprintf(want, sizeof(want), "\"case_version\":%u,", ++n);
		assert_int_equal(strncmp(line, "{\"position\":", 12), 0);
		assert_non_null(strstr(line, want));
		assert_non_null(strstr(line, "\"prev_hash\":\""));
		assert_string_equal(line + strlen(line) - 2, "}\n");
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(n, 4);
}

/* The admin tools refuse what is not a maillage data directory, clearly. */
static void test_admin_refuses_other_directories(void **state)
{
	static const char *const cmds[] = { "verify", "rebuild", "export" };
	char cmd[1400], out[512];
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "'%s/maillage-admin' %s '%s' 2>&1", H.bin, cmds[i], H.dir);
		f = popen(cmd, "r");
		assert_non_null(f);
		assert_non_null(fgets(out, sizeof(out), f));
		assert_int_equal(WEXITSTATUS(pclose(f)), 2);
		assert_non_null(strstr(out, "is not a maillage data directory"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_of_version),
		cmocka_unit_test(test_as_of_date),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_read_events),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_admin_refuses_other_directories),
	};

	return cmocka_run_group_tests_name("audit", tests, setup, h_group_teardown);
}
