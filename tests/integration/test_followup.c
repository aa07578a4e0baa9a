/* test_followup.c - what coordinators follow every day: partner load, cases
 * without contact, procedure deadlines (legal delays, winter truce), each
 * limited to what the caller may read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define NEW(T, init) ({ T *m_ = calloc(1, sizeof(T)); assert_non_null(m_); init(m_); m_; })
#define STAGE(x) MAILLAGE__V1__PROCEDURE_STAGE__STAGE_##x

static char quiet[64], busy[64], summoned[64], vacate[64];

/* Today + days, "YYYY-MM-DD" (UTC). */
static const char *day(int days, char *buf)
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
	return buf;
}

static void open_case(const char *name, const char *lead, char *case_id)
{
	mlc_response *r = h_send_as(&H, "bailleur-est",
				    h_refer(&H, "vaulx-bron", "Suivi", name, "1970-03-03"), 0);

	snprintf(case_id, 64, "%s", r->command->case_id);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, case_id), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, case_id, lead), 0);
}

static int setup(void **state)
{
	char d[11], h[11];

	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	open_case("Calme", "asso-habitat", quiet);
	open_case("Actif", "asso-habitat", busy);
	open_case("Cite", "asso-relais", summoned);
	open_case("Quitte", "asso-relais", vacate);
	/* contact: one visit long ago, one today */
	h_expect(&H, "asso-habitat", h_visit(&H, quiet, day(-100, d)), 0);
	h_expect(&H, "asso-habitat", h_visit(&H, busy, day(0, d)), 0);
	/* procedure: a payment order 30 days ago (deadline in 12 days), a
	 * summons heard in 10 days, an order to vacate in the truce */
	h_expect(&H, "bailleur-est", h_step(&H, busy, STAGE(PAYMENT_ORDER), day(-30, d), NULL), 0);
	h_expect(&H, "bailleur-est", h_step(&H, summoned, STAGE(COURT_SUMMONS), day(-20, d), day(10, h)), 0);
	h_expect(&H, "bailleur-est", h_step(&H, vacate, STAGE(ORDER_TO_VACATE), "2030-11-10", NULL), 0);
	/* a co-referent */
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, summoned, "asso-habitat",
						  MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT), 0);
	return 0;
}

static void test_partner_load(void **state)
{
	mlc_request *req = h_request(&H);
	mlc_response *r;
	int seen = 0;

	(void)state;
	req->get_partner_load = NEW(Maillage__V1__GetPartnerLoad,
				    maillage__v1__get_partner_load__init);
	req->get_partner_load->platform = strdup("vaulx-bron");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_PARTNER_LOAD;
	r = h_call_as(&H, "coord-vaulx-bron", req, 0);
	for (size_t i = 0; i < r->partner_load->n_partners; i++) {
		const Maillage__V1__PartnerLoad *p = r->partner_load->partners[i];

		if (!strcmp(p->partner, "asso-habitat")) {
			assert_int_equal(p->lead, 2);
			assert_int_equal(p->co_referent, 1);
			seen++;
		} else if (!strcmp(p->partner, "asso-relais")) {
			assert_int_equal(p->lead, 2);
			assert_int_equal(p->co_referent, 0);
			seen++;
		} else {
			/* other partners of the platform, idle; never a landlord */
			assert_int_equal(p->lead + p->co_referent, 0);
			assert_int_not_equal(p->kind, MAILLAGE__V1__ORG_KIND__LANDLORD);
		}
	}
	assert_int_equal(seen, 2);
	mlc_response_free(r);
	req->request_id = 0;
	mlc_response_free(h_call_as(&H, "asso-habitat", req, ST(PERMISSION_DENIED)));
	h_request_free(req);
}

static mlc_request *list(int body, uint32_t days)
{
	mlc_request *req = h_request(&H);

	if (body == MAILLAGE__V1__REQUEST__BODY_LIST_STALE_CASES) {
		req->list_stale_cases = NEW(Maillage__V1__ListStaleCases,
					    maillage__v1__list_stale_cases__init);
		req->list_stale_cases->platform = strdup("vaulx-bron");
		req->list_stale_cases->days = days;
	} else {
		req->list_deadlines = NEW(Maillage__V1__ListDeadlines,
					  maillage__v1__list_deadlines__init);
		req->list_deadlines->platform = strdup("vaulx-bron");
		req->list_deadlines->days = days;
	}
	req->body_case = body;
	return req;
}

static void test_stale_cases(void **state)
{
	mlc_response *r;

	(void)state;
	r = h_send_as(&H, "coord-vaulx-bron", list(MAILLAGE__V1__REQUEST__BODY_LIST_STALE_CASES, 45), 0);
	assert_int_equal(r->cases->n_rows, 1);
	assert_string_equal(r->cases->rows[0]->summary->case_id, quiet);
	assert_int_equal(r->cases->rows[0]->days_without_contact, 100);
	mlc_response_free(r);
	/* asso-relais leads no stale case and sees no other */
	r = h_send_as(&H, "asso-relais", list(MAILLAGE__V1__REQUEST__BODY_LIST_STALE_CASES, 45), 0);
	assert_int_equal(r->cases->n_rows, 0);
	mlc_response_free(r);
	h_expect(&H, "funder-metropole", list(MAILLAGE__V1__REQUEST__BODY_LIST_STALE_CASES, 45),
		 ST(PERMISSION_DENIED));
}

static void test_deadlines(void **state)
{
	mlc_response *r;
	char d[11];

	(void)state;
	r = h_send_as(&H, "coord-vaulx-bron", list(MAILLAGE__V1__REQUEST__BODY_LIST_DEADLINES, 30), 0);
	assert_int_equal(r->cases->n_rows, 2);
	/* soonest first: the hearing in 10 days, then the payment period */
	assert_string_equal(r->cases->rows[0]->summary->case_id, summoned);
	assert_string_equal(r->cases->rows[0]->summary->next_deadline, day(10, d));
	assert_int_equal(r->cases->rows[0]->summary->next_deadline_kind,
			 MAILLAGE__V1__DEADLINE_KIND__DEADLINE_HEARING);
	assert_string_equal(r->cases->rows[1]->summary->case_id, busy);
	assert_string_equal(r->cases->rows[1]->summary->next_deadline, day(12, d));
	mlc_response_free(r);
	/* the order to vacate waits for the end of the winter truce */
	r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, vacate), 0);
	assert_string_equal(r->case_->summary->next_deadline, "2031-04-01");
	assert_int_equal(r->case_->summary->next_deadline_kind,
			 MAILLAGE__V1__DEADLINE_KIND__DEADLINE_EVICTION_POSSIBLE);
	mlc_response_free(r);
	/* partners see the deadlines of their own cases only; funders none */
	r = h_send_as(&H, "asso-relais", list(MAILLAGE__V1__REQUEST__BODY_LIST_DEADLINES, 30), 0);
	assert_int_equal(r->cases->n_rows, 1);
	assert_string_equal(r->cases->rows[0]->summary->case_id, summoned);
	mlc_response_free(r);
	h_expect(&H, "funder-metropole", list(MAILLAGE__V1__REQUEST__BODY_LIST_DEADLINES, 30),
		 ST(PERMISSION_DENIED));
	h_expect(&H, "mdm-venissieux", list(MAILLAGE__V1__REQUEST__BODY_LIST_DEADLINES, 30),
		 ST(PERMISSION_DENIED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partner_load),
		cmocka_unit_test(test_stale_cases),
		cmocka_unit_test(test_deadlines),
	};

	return cmocka_run_group_tests_name("followup", tests, setup, h_group_teardown);
}
