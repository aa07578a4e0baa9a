/* test_board.c - a platform's caseload board and pending referrals: filters,
 * paging, oldest-first order, and each caller seeing only what it may read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define NEW(T, init) ({ T *m_ = calloc(1, sizeof(T)); assert_non_null(m_); init(m_); m_; })

static char first[64], second[64], third[64];   /* referred in this order */

static void refer(const char *org, const char *platform, const char *name, char *case_id)
{
	mlc_response *r = h_send_as(&H, org, h_refer(&H, platform, "Board", name, "1975-05-05"), 0);

	if (case_id)
		snprintf(case_id, 64, "%s", r->command->case_id);
	mlc_response_free(r);
}

static int setup(void **state)
{
	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	refer("bailleur-est", "vaulx-bron", "Un", first);
	refer("ccas-vaulx", "vaulx-bron", "Deux", second);
	refer("bailleur-est", "vaulx-bron", "Trois", third);
	refer("bailleur-est", "venissieux", "Quatre", NULL);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, second), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, second, "asso-habitat"), 0);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, third), 0);
	return 0;
}

static mlc_request *caseload(const char *platform, int state, const char *partner,
			     const char *referrer, const char *cursor, uint32_t limit)
{
	mlc_request *req = h_request(&H);
	Maillage__V1__ListCaseload *q = NEW(Maillage__V1__ListCaseload,
					    maillage__v1__list_caseload__init);

	q->platform = strdup(platform);
	q->state = state;
	if (partner)
		q->partner = strdup(partner);
	if (referrer)
		q->referrer = strdup(referrer);
	if (cursor)
		q->cursor = strdup(cursor);
	q->limit = limit;
	req->list_caseload = q;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD;
	return req;
}

/* The ids on the board for org, in order, joined by spaces. */
static void board_ids(const char *org, mlc_request *req, char *out, size_t len)
{
	mlc_response *r = h_send_as(&H, org, req, 0);

	out[0] = 0;
	for (size_t i = 0; i < r->caseload->n_rows; i++) {
		strncat(out, r->caseload->rows[i]->summary->case_id, len - strlen(out) - 2);
		strncat(out, " ", len - strlen(out) - 1);
		assert_int_equal(r->caseload->rows[i]->days_since_referral, 0);
	}
	mlc_response_free(r);
}

static void test_caseload_filters(void **state)
{
	char ids[512], want[512];

	(void)state;
	board_ids("coord-vaulx-bron", caseload("vaulx-bron", 0, NULL, NULL, NULL, 0), ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s %s %s ", first, second, third);
	assert_string_equal(ids, want);
	board_ids("coord-vaulx-bron", caseload("vaulx-bron", MAILLAGE__V1__CASE_STATE__IN_SUPPORT,
					       NULL, NULL, NULL, 0), ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s ", second);
	assert_string_equal(ids, want);
	board_ids("coord-vaulx-bron", caseload("vaulx-bron", 0, "asso-habitat", NULL, NULL, 0),
		  ids, sizeof(ids));
	assert_string_equal(ids, want);
	board_ids("coord-vaulx-bron", caseload("vaulx-bron", 0, NULL, "ccas-vaulx", NULL, 0),
		  ids, sizeof(ids));
	assert_string_equal(ids, want);
}

static void test_caseload_paging(void **state)
{
	mlc_response *r;
	char cursor[64];

	(void)state;
	r = h_send_as(&H, "auditor", caseload("vaulx-bron", 0, NULL, NULL, NULL, 2), 0);
	assert_int_equal(r->caseload->n_rows, 2);
	assert_string_equal(r->caseload->next_cursor, second);
	snprintf(cursor, sizeof(cursor), "%s", r->caseload->next_cursor);
	mlc_response_free(r);
	r = h_send_as(&H, "auditor", caseload("vaulx-bron", 0, NULL, NULL, cursor, 2), 0);
	assert_int_equal(r->caseload->n_rows, 1);
	assert_string_equal(r->caseload->rows[0]->summary->case_id, third);
	assert_string_equal(r->caseload->next_cursor, "");
	mlc_response_free(r);
}

/* Partners and referrers see their own cases only; funders nothing. */
static void test_caseload_access(void **state)
{
	char ids[512], want[512];

	(void)state;
	board_ids("asso-habitat", caseload("vaulx-bron", 0, NULL, NULL, NULL, 0), ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s ", second);
	assert_string_equal(ids, want);
	board_ids("bailleur-est", caseload("vaulx-bron", 0, NULL, NULL, NULL, 0), ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s %s ", first, third);
	assert_string_equal(ids, want);
	board_ids("asso-relais", caseload("vaulx-bron", 0, NULL, NULL, NULL, 0), ids, sizeof(ids));
	assert_string_equal(ids, "");
	h_expect(&H, "funder-metropole", caseload("vaulx-bron", 0, NULL, NULL, NULL, 0),
		 ST(PERMISSION_DENIED));
	h_expect(&H, "asso-habitat", caseload("venissieux", 0, NULL, NULL, NULL, 0),
		 ST(PERMISSION_DENIED));
	h_expect(&H, "coord-vaulx-bron", caseload("lyon-7-8", 0, NULL, NULL, NULL, 0),
		 ST(INVALID_ARGUMENT));
}

static mlc_request *pending(const char *platform)
{
	mlc_request *req = h_request(&H);

	req->list_pending_referrals = NEW(Maillage__V1__ListPendingReferrals,
					  maillage__v1__list_pending_referrals__init);
	req->list_pending_referrals->platform = strdup(platform);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_LIST_PENDING_REFERRALS;
	return req;
}

static void test_pending_referrals(void **state)
{
	mlc_response *r;

	(void)state;
	r = h_send_as(&H, "coord-vaulx-bron", pending("vaulx-bron"), 0);
	assert_int_equal(r->pending->n_referrals, 2);    /* the accepted one is decided */
	assert_string_equal(r->pending->referrals[0]->case_id, first);
	assert_int_equal(r->pending->referrals[0]->state, MAILLAGE__V1__CASE_STATE__REFERRED);
	assert_string_equal(r->pending->referrals[1]->case_id, third);
	assert_int_equal(r->pending->referrals[1]->state, MAILLAGE__V1__CASE_STATE__ACKNOWLEDGED);
	assert_true(r->pending->referrals[0]->referred_at <= r->pending->referrals[1]->referred_at);
	mlc_response_free(r);
	h_expect(&H, "asso-habitat", pending("vaulx-bron"), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-venissieux", pending("vaulx-bron"), ST(PERMISSION_DENIED));
	/* a decision takes it off the list */
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, first), 0);
	r = h_send_as(&H, "auditor", pending("vaulx-bron"), 0);
	assert_int_equal(r->pending->n_referrals, 1);
	assert_string_equal(r->pending->referrals[0]->case_id, third);
	mlc_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caseload_filters),
		cmocka_unit_test(test_caseload_paging),
		cmocka_unit_test(test_caseload_access),
		cmocka_unit_test(test_pending_referrals),
	};

	return cmocka_run_group_tests_name("board", tests, setup, h_group_teardown);
}
