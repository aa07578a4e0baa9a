/* test_validate.c - request validation: a valid request of each kind passes;
 * each rule refuses with INVALID_ARGUMENT naming the exact field; UTF-8 and
 * calendar dates at their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "validate.h"

static uint8_t cmd_id[16] = { 1, 2, 3 };

/* Every message of every command, valid, wired into one place. */
static struct fixture {
	ml_request req;
	Maillage__V1__ReferHousehold refer;
	Maillage__V1__Referral referral;
	Maillage__V1__Household household;
	Maillage__V1__Person person;
	Maillage__V1__AcknowledgeReferral ack;
	Maillage__V1__AcceptCase accept;
	Maillage__V1__Acceptance acceptance;
	Maillage__V1__DeclineReferral decline;
	Maillage__V1__Decline decline_body;
	Maillage__V1__WithdrawReferral withdraw;
	Maillage__V1__RecordVisit visit;
	Maillage__V1__Visit visit_body;
	Maillage__V1__ProposeRehousing propose;
	Maillage__V1__Proposal proposal;
	Maillage__V1__CloseSupport close;
	Maillage__V1__Closure closure;
	Maillage__V1__GetCase get_case;
	Maillage__V1__GetCaseHistory history;
	Maillage__V1__Ping ping;
	Maillage__V1__Need needs[2];
	Maillage__V1__Domain domains[2];
	char *co_referents[2];
} f;

static void reset(int body)
{
	static const char case_id[] = "VNX-2026-000042";

	memset(&f, 0, sizeof(f));
	maillage__v1__request__init(&f.req);
	f.req.command_id.data = cmd_id;
	f.req.command_id.len = 16;
	f.req.body_case = body;

	maillage__v1__person__init(&f.person);
	f.person.last_name = "Benali";
	f.person.first_name = "Samira";
	f.person.birth_date = "1984-03-12";
	maillage__v1__household__init(&f.household);
	f.household.reference_person = &f.person;
	f.household.adults = 2;
	f.household.children = 3;
	f.household.debt_cents = 345600;
	f.needs[0] = MAILLAGE__V1__NEED__NEED_BUDGET;
	f.needs[1] = MAILLAGE__V1__NEED__NEED_HEALTH_ACCESS;
	f.household.needs = f.needs;
	f.household.n_needs = 2;
	f.household.notes = "first line\nsecond line\twith a tab";
	maillage__v1__referral__init(&f.referral);
	f.referral.platform = "vaulx-bron";
	f.referral.reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	f.referral.household = &f.household;
	maillage__v1__refer_household__init(&f.refer);
	f.refer.referral = &f.referral;
	f.req.refer_household = &f.refer;

	switch (body) {
	case MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL:
		maillage__v1__acknowledge_referral__init(&f.ack);
		f.ack.case_id = (char *)case_id;
		f.req.acknowledge_referral = &f.ack;
		break;
	case MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE:
		maillage__v1__acceptance__init(&f.acceptance);
		f.acceptance.lead_partner = "asso-habitat";
		f.co_referents[0] = "asso-relais";
		f.co_referents[1] = "ccas-vaulx";
		f.acceptance.co_referents = f.co_referents;
		f.acceptance.n_co_referents = 2;
		f.acceptance.support_level = MAILLAGE__V1__SUPPORT_LEVEL__SUPPORT_COORDINATION;
		maillage__v1__accept_case__init(&f.accept);
		f.accept.case_id = (char *)case_id;
		f.accept.acceptance = &f.acceptance;
		f.req.accept_case = &f.accept;
		break;
	case MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL:
		maillage__v1__decline__init(&f.decline_body);
		f.decline_body.reason = MAILLAGE__V1__DECLINE_REASON__DECLINE_NOT_ELIGIBLE;
		maillage__v1__decline_referral__init(&f.decline);
		f.decline.case_id = (char *)case_id;
		f.decline.decline = &f.decline_body;
		f.req.decline_referral = &f.decline;
		break;
	case MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL:
		maillage__v1__withdraw_referral__init(&f.withdraw);
		f.withdraw.case_id = (char *)case_id;
		f.req.withdraw_referral = &f.withdraw;
		break;
	case MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT:
		maillage__v1__visit__init(&f.visit_body);
		f.visit_body.date = "2026-11-02";
		f.visit_body.mode = MAILLAGE__V1__VISIT_MODE__VISIT_HOME;
		f.domains[0] = MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET;
		f.domains[1] = MAILLAGE__V1__DOMAIN__DOMAIN_LEGAL;
		f.visit_body.domains = f.domains;
		f.visit_body.n_domains = 2;
		maillage__v1__record_visit__init(&f.visit);
		f.visit.case_id = (char *)case_id;
		f.visit.visit = &f.visit_body;
		f.req.record_visit = &f.visit;
		break;
	case MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING:
		maillage__v1__proposal__init(&f.proposal);
		f.proposal.dwelling_ref = "BEH-0042";
		f.proposal.commune = "Bron";
		f.proposal.typology = MAILLAGE__V1__TYPOLOGY__T3;
		f.proposal.kind = MAILLAGE__V1__REHOUSING_KIND__REHOUSING_TRANSFER;
		f.proposal.rent_cents = 48000;
		maillage__v1__propose_rehousing__init(&f.propose);
		f.propose.case_id = (char *)case_id;
		f.propose.proposal = &f.proposal;
		f.req.propose_rehousing = &f.propose;
		break;
	case MAILLAGE__V1__REQUEST__BODY_CLOSE_SUPPORT:
		maillage__v1__closure__init(&f.closure);
		f.closure.outcome = MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_EVICTED;
		f.closure.date = "2026-11-20";
		maillage__v1__close_support__init(&f.close);
		f.close.case_id = (char *)case_id;
		f.close.closure = &f.closure;
		f.req.close_support = &f.close;
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_CASE:
		maillage__v1__get_case__init(&f.get_case);
		f.get_case.case_id = (char *)case_id;
		f.req.get_case = &f.get_case;
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY:
		maillage__v1__get_case_history__init(&f.history);
		f.history.case_id = (char *)case_id;
		f.req.get_case_history = &f.history;
		break;
	case MAILLAGE__V1__REQUEST__BODY_PING:
		maillage__v1__ping__init(&f.ping);
		f.req.ping = &f.ping;
		break;
	}
}

/* Validation of the current fixture refuses on field (NULL: accepts). */
static void expect_field(const char *field, const char *message_part)
{
	struct status st;
	int rc = validate_request(&f.req, &st);

	if (!field) {
		if (rc)
			fail_msg("refused: %s (field %s)", st.message, st.field);
		return;
	}
	if (rc != ML_EINVAL)
		fail_msg("accepted, expected a refusal on %s", field);
	assert_int_equal(st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(st.field, field);
	if (message_part && !strstr(st.message, message_part))
		fail_msg("message '%s' lacks '%s'", st.message, message_part);
}

static void test_valid_requests(void **state)
{
	static const int bodies[] = {
		MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD,
		MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL,
		MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE,
		MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL,
		MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL,
		MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT,
		MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING,
		MAILLAGE__V1__REQUEST__BODY_CLOSE_SUPPORT,
		MAILLAGE__V1__REQUEST__BODY_GET_CASE,
		MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY,
		MAILLAGE__V1__REQUEST__BODY_PING,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		reset(bodies[i]);
		expect_field(NULL, NULL);
		assert_int_equal(validate_is_command(&f.req), i < 8);
	}
	/* queries need no command_id */
	reset(MAILLAGE__V1__REQUEST__BODY_GET_CASE);
	f.req.command_id.len = 0;
	expect_field(NULL, NULL);
}

static void test_envelope(void **state)
{
	(void)state;
	reset(MAILLAGE__V1__REQUEST__BODY__NOT_SET);
	expect_field("body", "no body");
	reset(MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL);
	f.req.command_id.len = 15;
	expect_field("command_id", "16 random bytes");
	reset(MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL);
	f.req.correlation_id = "bad\x01";
	expect_field("correlation_id", "UTF-8");
}

#define REFER MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD
#define P "refer_household.referral."

static void test_referral_rules(void **state)
{
	char long_name[VALIDATE_MAX_NAME + 2];

	(void)state;
	reset(REFER);
	f.refer.referral = NULL;
	expect_field("refer_household.referral", "required");
	reset(REFER);
	f.referral.platform = "";
	expect_field(P "platform", "required");
	reset(REFER);
	f.referral.reason = 0;
	expect_field(P "reason", "required");
	reset(REFER);
	f.referral.reason = 42;
	expect_field(P "reason", "value 42 is not a known ReferralReason");
	reset(REFER);
	f.household.reference_person = NULL;
	expect_field(P "household.reference_person", "required");
	reset(REFER);
	f.person.first_name = "";
	expect_field(P "household.reference_person.first_name", "required");
	reset(REFER);
	f.person.birth_date = "1984-02-30";
	expect_field(P "household.reference_person.birth_date", "'1984-02-30' is not a calendar date");
	reset(REFER);
	f.household.adults = 0;
	expect_field(P "household.adults", "between 1 and 30");
	reset(REFER);
	f.household.adults = 20;
	f.household.children = 20;
	expect_field(P "household.children", "not plausible");
	reset(REFER);
	f.household.debt_cents = -1;
	expect_field(P "household.debt_cents", NULL);
	reset(REFER);
	f.needs[1] = MAILLAGE__V1__NEED__NEED_BUDGET;
	expect_field(P "household.needs", "repeats");
	reset(REFER);
	f.needs[0] = 0;
	expect_field(P "household.needs", "unspecified");
	reset(REFER);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	f.person.last_name = long_name;
	expect_field(P "household.reference_person.last_name", "longer than");
	reset(REFER);
	f.person.last_name = "Ben\nali";     /* names are single-line */
	expect_field(P "household.reference_person.last_name", "control characters");
}

static void test_case_command_rules(void **state)
{
	(void)state;
	reset(MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL);
	f.ack.case_id = "";
	expect_field("acknowledge_referral.case_id", "required");
	reset(MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL);
	f.ack.case_id = "vnx-2026-000042";
	expect_field("acknowledge_referral.case_id", "CODE-YYYY-NNNNNN");
	reset(MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE);
	f.acceptance.lead_partner = "";
	expect_field("accept_case.acceptance.lead_partner", "required");
	reset(MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE);
	f.co_referents[1] = "asso-habitat";
	expect_field("accept_case.acceptance.co_referents", "already the lead partner");
	reset(MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE);
	f.co_referents[1] = "asso-relais";
	expect_field("accept_case.acceptance.co_referents", "repeats");
	reset(MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL);
	f.decline.decline = NULL;
	expect_field("decline_referral.decline", "required");
	reset(MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT);
	f.visit_body.date = "2026-1-02";
	expect_field("record_visit.visit.date", NULL);
	reset(MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT);
	f.domains[1] = 99;
	expect_field("record_visit.visit.domains", "not a known Domain");
	reset(MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING);
	f.proposal.rent_cents = 0;
	expect_field("propose_rehousing.proposal.rent_cents", NULL);
	reset(MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING);
	f.proposal.available_from = "soon";
	expect_field("propose_rehousing.proposal.available_from", NULL);
	reset(MAILLAGE__V1__REQUEST__BODY_CLOSE_SUPPORT);
	f.closure.outcome = 0;
	expect_field("close_support.closure.outcome", "required");
	reset(MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY);
	f.history.case_id = "VNX-26-000042";
	expect_field("get_case_history.case_id", NULL);
}

static void test_dates(void **state)
{
	int64_t us = -1;

	(void)state;
	assert_int_equal(validate_parse_date("1970-01-02", &us), 0);
	assert_int_equal(us, 86400000000LL);
	assert_int_equal(validate_parse_date("1970-01-01", &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(validate_parse_date("2024-02-29", &us), 0);
	assert_int_equal(validate_parse_date("2000-02-29", &us), 0);
	assert_int_equal(validate_parse_date("2026-11-24", &us), 0);
	assert_int_equal(us, 1795478400000000LL);
	assert_int_equal(validate_parse_date("1900-02-29", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("2023-02-29", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("2026-13-01", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("2026-04-31", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("2026-1-01", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("2026-01-01x", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("+026-01-01", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("1899-12-31", &us), ML_EINVAL);
	assert_int_equal(validate_parse_date("", &us), ML_EINVAL);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(validate_utf8("Élodie Œuvre 日本 🏠", strlen("Élodie Œuvre 日本 🏠"), false));
	assert_false(validate_utf8("\xc0\xaf", 2, false));          /* overlong '/' */
	assert_false(validate_utf8("\xe0\x80\xaf", 3, false));      /* overlong */
	assert_false(validate_utf8("\xed\xa0\x80", 3, false));      /* surrogate */
	assert_false(validate_utf8("\xf4\x90\x80\x80", 4, false));  /* > U+10FFFF */
	assert_false(validate_utf8("\xc3", 1, false));              /* truncated */
	assert_false(validate_utf8("\x80", 1, false));              /* lone continuation */
	assert_false(validate_utf8("a\x7f", 2, false));
	assert_false(validate_utf8("a\nb", 3, false));
	assert_true(validate_utf8("a\nb\tc", 5, true));
	assert_false(validate_utf8("a\rb", 3, true));
	assert_false(validate_utf8("a\0b", 3, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requests),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_referral_rules),
		cmocka_unit_test(test_case_command_rules),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
