/* test_stats.c - a platform's figures against a small scenario whose numbers
 * are worked out by hand below, and the rehousing pipeline per landlord.
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

static char today[11];

static void refer(const char *org, const char *platform, const char *name, int reason,
		  char *case_id)
{
	mlc_request *req = h_refer(&H, platform, "Stats", name, "1981-01-01");
	mlc_response *r;

	req->refer_household->referral->reason = reason;
	r = h_send_as(&H, org, req, 0);
	if (case_id)
		snprintf(case_id, 64, "%s", r->command->case_id);
	mlc_response_free(r);
}

static mlc_request *visit(const char *case_id, const char *date, int mode, int domain,
			  int tool)
{
	mlc_request *req = h_visit(&H, case_id, date);
	Maillage__V1__Visit *v = req->record_visit->visit;

	v->mode = mode;
	v->domains[0] = domain;
	if (tool) {
		v->tools = malloc(sizeof(*v->tools));
		assert_non_null(v->tools);
		v->tools[0] = tool;
		v->n_tools = 1;
	}
	return req;
}

static mlc_request *close_today(const char *case_id, int outcome)
{
	mlc_request *req = h_close(&H, case_id);

	req->close_support->closure->outcome = outcome;
	free(req->close_support->closure->date);
	req->close_support->closure->date = strdup(today);
	return req;
}

#define R(x) MAILLAGE__V1__REFERRAL_REASON__REASON_##x
#define V(x) MAILLAGE__V1__VISIT_MODE__VISIT_##x
#define D(x) MAILLAGE__V1__DOMAIN__DOMAIN_##x
#define T(x) MAILLAGE__V1__SUPPORT_TOOL__TOOL_##x
#define O(x) MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_##x

/* Five referrals on vaulx-bron (2 by the landlord, 2 by the CCAS, 1 by the
 * hospital; 3 for unpaid rent), four acknowledged, three accepted, one
 * declined, one withdrawn; three visits; two proposals (one refused for its
 * location, one accepted and signed); two closures that avoided eviction.
 * One referral on venissieux that must not count. */
static int setup(void **state)
{
	char a[64], b[64], c[64], d[64], e[64];
	time_t now = time(NULL);
	struct tm tm;

	(void)state;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (h_setup(&H, NULL))
		return -1;
	refer("bailleur-est", "vaulx-bron", "A", R(UNPAID_RENT), a);
	refer("bailleur-est", "vaulx-bron", "B", R(UNPAID_RENT), b);
	refer("ccas-vaulx", "vaulx-bron", "C", R(OVER_OCCUPATION), c);
	refer("hopital-est", "vaulx-bron", "D", R(LEAVING_PSYCHIATRIC_HOSPITAL), d);
	refer("ccas-vaulx", "vaulx-bron", "E", R(UNPAID_RENT), e);
	refer("bailleur-est", "venissieux", "F", R(UNPAID_RENT), NULL);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, a), 0);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, b), 0);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, c), 0);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, d), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, a, "asso-habitat"), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, b, "asso-habitat"), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, c, "asso-relais"), 0);
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, d), 0);
	h_expect(&H, "ccas-vaulx", h_withdraw(&H, e), 0);
	h_expect(&H, "asso-habitat", visit(a, "2026-11-02", V(HOME), D(BUDGET), T(RENT_PAYMENT_AID)), 0);
	h_expect(&H, "asso-habitat", visit(a, "2026-11-05", V(PHONE), D(LEGAL), 0), 0);
	h_expect(&H, "asso-habitat", visit(b, "2026-11-03", V(HOME), D(HOUSING), T(RESCUE_LEASE)), 0);
	h_expect(&H, "bailleur-est", h_propose(&H, b, "bailleur-est"), 0);
	h_expect(&H, "bailleur-est", h_propose(&H, b, "bailleur-est"), 0);
	h_expect(&H, "asso-habitat", h_answer(&H, b, 1, false), 0);
	h_expect(&H, "asso-habitat", h_answer(&H, b, 2, true), 0);
	h_expect(&H, "bailleur-est", h_sign(&H, b, 2), 0);
	h_expect(&H, "asso-habitat", close_today(a, O(KEPT_IN_DWELLING)), 0);
	h_expect(&H, "asso-habitat", close_today(b, O(REHOUSED_TRANSFER)), 0);
	return 0;
}

static mlc_request *stats(const char *from, const char *to)
{
	mlc_request *req = h_request(&H);

	req->get_platform_stats = NEW(Maillage__V1__GetPlatformStats,
				      maillage__v1__get_platform_stats__init);
	req->get_platform_stats->platform = strdup("vaulx-bron");
	req->get_platform_stats->from = strdup(from);
	req->get_platform_stats->to = strdup(to);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_PLATFORM_STATS;
	return req;
}

static uint32_t count(Maillage__V1__Count **counts, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(counts[i]->key, key))
			return counts[i]->count;
	return 0;
}

#define COUNT(s, list, key) count((s)->list, (s)->n_##list, key)

static void test_figures(void **state)
{
	mlc_response *r = h_send_as(&H, "funder-metropole", stats("2026-01-01", today), 0);
	const Maillage__V1__PlatformStats *s = r->stats;

	(void)state;
	assert_int_equal(s->referrals, 5);
	assert_int_equal(s->n_referrals_by_kind, 3);
	assert_int_equal(COUNT(s, referrals_by_kind, "LANDLORD"), 2);
	assert_int_equal(COUNT(s, referrals_by_kind, "CCAS"), 2);
	assert_int_equal(COUNT(s, referrals_by_kind, "HOSPITAL"), 1);
	assert_int_equal(COUNT(s, referrals_by_reason, "REASON_UNPAID_RENT"), 3);
	assert_int_equal(COUNT(s, referrals_by_reason, "REASON_OVER_OCCUPATION"), 1);
	assert_int_equal(COUNT(s, referrals_by_reason, "REASON_LEAVING_PSYCHIATRIC_HOSPITAL"), 1);
	assert_int_equal(s->acknowledged, 4);
	assert_int_equal(s->accepted, 3);
	assert_int_equal(s->declined, 1);
	assert_int_equal(s->withdrawn, 1);
	assert_int_equal(s->expired, 0);
	assert_int_equal(s->closed, 2);
	assert_int_equal(COUNT(s, closures_by_outcome, "OUTCOME_KEPT_IN_DWELLING"), 1);
	assert_int_equal(COUNT(s, closures_by_outcome, "OUTCOME_REHOUSED_TRANSFER"), 1);
	assert_int_equal(s->eviction_avoided, 2);
	assert_true(s->eviction_avoided_share > 0.999 && s->eviction_avoided_share < 1.001);
	/* every decision and closure today: durations of (less than) a day */
	assert_true(s->decision_days_mean >= 0 && s->decision_days_mean < 1);
	assert_true(s->decision_days_median >= 0 && s->decision_days_median < 1);
	assert_true(s->support_days_mean >= 0 && s->support_days_mean < 1);
	assert_int_equal(s->visits, 3);
	assert_int_equal(COUNT(s, visits_by_mode, "VISIT_HOME"), 2);
	assert_int_equal(COUNT(s, visits_by_mode, "VISIT_PHONE"), 1);
	assert_int_equal(COUNT(s, visits_by_domain, "DOMAIN_BUDGET"), 1);
	assert_int_equal(COUNT(s, visits_by_domain, "DOMAIN_LEGAL"), 1);
	assert_int_equal(COUNT(s, visits_by_domain, "DOMAIN_HOUSING"), 1);
	assert_int_equal(COUNT(s, tools_mobilised, "TOOL_RENT_PAYMENT_AID"), 1);
	assert_int_equal(COUNT(s, tools_mobilised, "TOOL_RESCUE_LEASE"), 1);
	assert_int_equal(s->proposals, 2);
	assert_int_equal(s->proposals_accepted, 1);
	assert_int_equal(s->proposals_refused, 1);
	assert_int_equal(s->leases_signed, 1);
	mlc_response_free(r);
}

static void test_empty_period_and_refusals(void **state)
{
	mlc_response *r = h_send_as(&H, "coord-vaulx-bron", stats("2020-01-01", "2020-12-31"), 0);

	(void)state;
	assert_int_equal(r->stats->referrals, 0);
	assert_int_equal(r->stats->visits, 0);
	assert_int_equal(r->stats->n_referrals_by_kind, 0);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", stats("2026-12-31", "2026-01-01"), ST(INVALID_ARGUMENT));
	h_expect(&H, "coord-vaulx-bron", stats("2026-02-30", "2026-12-31"), ST(INVALID_ARGUMENT));
	h_expect(&H, "mdm-venissieux", stats("2026-01-01", "2026-12-31"), ST(PERMISSION_DENIED));
}

static void test_pipeline(void **state)
{
	mlc_request *req = h_request(&H);
	mlc_response *r;
	const Maillage__V1__LandlordPipeline *l;

	(void)state;
	req->get_rehousing_pipeline = NEW(Maillage__V1__GetRehousingPipeline,
					  maillage__v1__get_rehousing_pipeline__init);
	req->get_rehousing_pipeline->platform = strdup("vaulx-bron");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_REHOUSING_PIPELINE;
	r = h_send_as(&H, "funder-metropole", req, 0);
	assert_int_equal(r->pipeline->n_landlords, 1);
	l = r->pipeline->landlords[0];
	assert_string_equal(l->landlord, "bailleur-est");
	assert_int_equal(l->proposed, 2);
	assert_int_equal(l->accepted, 1);
	assert_int_equal(l->refused, 1);
	assert_int_equal(l->pending, 0);
	assert_int_equal(l->leases_signed, 1);
	assert_int_equal(l->n_refusals_by_reason, 1);
	assert_string_equal(l->refusals_by_reason[0]->key, "REFUSAL_LOCATION");
	mlc_response_free(r);
	/* members of the platform only */
	req = h_request(&H);
	req->get_rehousing_pipeline = NEW(Maillage__V1__GetRehousingPipeline,
					  maillage__v1__get_rehousing_pipeline__init);
	req->get_rehousing_pipeline->platform = strdup("vaulx-bron");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_REHOUSING_PIPELINE;
	h_expect(&H, "mdm-venissieux", req, ST(PERMISSION_DENIED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_empty_period_and_refusals),
		cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests_name("stats", tests, setup, h_group_teardown);
}
