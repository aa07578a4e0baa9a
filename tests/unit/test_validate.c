/* test_validate.c - request validation: a valid request of each kind passes;
 * each rule refuses with INVALID_ARGUMENT naming the exact field; UTF-8 and
 * calendar dates at their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "validate.h"

#define B(x) MAILLAGE__V1__REQUEST__BODY_##x
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t cmd_id[17] = { 1, 2, 3 };

/* Strings at and just over the limits, filled by main(). */
static char name_max[VALIDATE_MAX_NAME + 1];
static char name_over[VALIDATE_MAX_NAME + 2];
static char text_max[VALIDATE_MAX_TEXT + 1];
static char text_over[VALIDATE_MAX_TEXT + 2];

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
	Maillage__V1__ReadEvents read_events;
	Maillage__V1__ListCaseload caseload;
	Maillage__V1__ListPendingReferrals pending;
	Maillage__V1__GetPartnerLoad load;
	Maillage__V1__ListStaleCases stale;
	Maillage__V1__ListDeadlines deadlines;
	Maillage__V1__GetRehousingPipeline pipeline;
	Maillage__V1__GetPlatformStats stats;
	Maillage__V1__AssignPartner assign;
	Maillage__V1__ReleaseAssignment release;
	Maillage__V1__RecordProcedureStep procedure;
	Maillage__V1__ProcedureStep step;
	Maillage__V1__AnswerProposal answer;
	Maillage__V1__ProposalAnswer answer_body;
	Maillage__V1__SignLease lease;
	Maillage__V1__PutOnHold hold;
	Maillage__V1__Resume resume;
	Maillage__V1__Subscribe subscribe;
	Maillage__V1__EraseHouseholdData erase;
	Maillage__V1__ListAccessJournal journal;
	Maillage__V1__EventType types[3];
	uint8_t payload[VALIDATE_MAX_TEXT];
	Maillage__V1__Need needs[VALIDATE_MAX_LIST + 1];
	Maillage__V1__Domain domains[VALIDATE_MAX_LIST + 1];
	Maillage__V1__SupportTool tools[2];
	char *co_referents[VALIDATE_MAX_LIST + 1];
} f;

static const char case_id[] = "VNX-2026-000042";

static void reset_refer(void)
{
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
	f.household.commune = "Vaulx-en-Velin";
	maillage__v1__referral__init(&f.referral);
	f.referral.platform = "vaulx-bron";
	f.referral.reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	f.referral.household = &f.household;
	maillage__v1__refer_household__init(&f.refer);
	f.refer.referral = &f.referral;
	f.req.refer_household = &f.refer;
}

static void reset_accept(void)
{
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
}

static void reset_visit(void)
{
	maillage__v1__visit__init(&f.visit_body);
	f.visit_body.date = "2026-11-02";
	f.visit_body.mode = MAILLAGE__V1__VISIT_MODE__VISIT_HOME;
	f.domains[0] = MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET;
	f.domains[1] = MAILLAGE__V1__DOMAIN__DOMAIN_LEGAL;
	f.visit_body.domains = f.domains;
	f.visit_body.n_domains = 2;
	f.tools[0] = MAILLAGE__V1__SUPPORT_TOOL__TOOL_RESCUE_LEASE;
	f.tools[1] = MAILLAGE__V1__SUPPORT_TOOL__TOOL_LEGAL_AID;
	f.visit_body.tools = f.tools;
	f.visit_body.n_tools = 2;
	maillage__v1__record_visit__init(&f.visit);
	f.visit.case_id = (char *)case_id;
	f.visit.visit = &f.visit_body;
	f.req.record_visit = &f.visit;
}

static void reset_proposal(void)
{
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
}

/* The other bodies are one or two fields each. */
static void reset_small(void)
{
	maillage__v1__acknowledge_referral__init(&f.ack);
	f.ack.case_id = (char *)case_id;
	maillage__v1__decline__init(&f.decline_body);
	f.decline_body.reason = MAILLAGE__V1__DECLINE_REASON__DECLINE_NOT_ELIGIBLE;
	maillage__v1__decline_referral__init(&f.decline);
	f.decline.case_id = (char *)case_id;
	f.decline.decline = &f.decline_body;
	maillage__v1__withdraw_referral__init(&f.withdraw);
	f.withdraw.case_id = (char *)case_id;
	maillage__v1__closure__init(&f.closure);
	f.closure.outcome = MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_EVICTED;
	f.closure.date = "2026-11-20";
	maillage__v1__close_support__init(&f.close);
	f.close.case_id = (char *)case_id;
	f.close.closure = &f.closure;
	maillage__v1__get_case__init(&f.get_case);
	f.get_case.case_id = (char *)case_id;
	maillage__v1__get_case_history__init(&f.history);
	f.history.case_id = (char *)case_id;
	maillage__v1__ping__init(&f.ping);
	maillage__v1__read_events__init(&f.read_events);
	f.read_events.from_position = 1;
	maillage__v1__list_caseload__init(&f.caseload);
	f.caseload.platform = "vaulx-bron";
	f.caseload.limit = 50;
	maillage__v1__list_pending_referrals__init(&f.pending);
	f.pending.platform = "vaulx-bron";
	maillage__v1__get_partner_load__init(&f.load);
	f.load.platform = "vaulx-bron";
	maillage__v1__list_stale_cases__init(&f.stale);
	f.stale.platform = "vaulx-bron";
	f.stale.days = 60;
	maillage__v1__list_deadlines__init(&f.deadlines);
	f.deadlines.platform = "vaulx-bron";
	maillage__v1__get_rehousing_pipeline__init(&f.pipeline);
	f.pipeline.platform = "vaulx-bron";
	maillage__v1__get_platform_stats__init(&f.stats);
	f.stats.platform = "vaulx-bron";
	f.stats.from = "2026-01-01";
	f.stats.to = "2026-12-31";
}

/* The commands that followed the first eight (assignments, procedure,
 * answers, leases, hold). */
static void reset_later(void)
{
	maillage__v1__assign_partner__init(&f.assign);
	f.assign.case_id = (char *)case_id;
	f.assign.partner = "asso-relais";
	f.assign.role = MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT;
	maillage__v1__release_assignment__init(&f.release);
	f.release.case_id = (char *)case_id;
	f.release.partner = "asso-relais";
	maillage__v1__procedure_step__init(&f.step);
	f.step.stage = MAILLAGE__V1__PROCEDURE_STAGE__STAGE_COURT_SUMMONS;
	f.step.date = "2026-10-01";
	f.step.amount_cents = 345600;
	f.step.hearing_date = "2027-01-12";
	maillage__v1__record_procedure_step__init(&f.procedure);
	f.procedure.case_id = (char *)case_id;
	f.procedure.step = &f.step;
	maillage__v1__proposal_answer__init(&f.answer_body);
	f.answer_body.proposal_number = 1;
	f.answer_body.accepted = 1;
	maillage__v1__answer_proposal__init(&f.answer);
	f.answer.case_id = (char *)case_id;
	f.answer.answer = &f.answer_body;
	maillage__v1__sign_lease__init(&f.lease);
	f.lease.case_id = (char *)case_id;
	f.lease.proposal_number = 1;
	f.lease.date = "2026-12-01";
	maillage__v1__put_on_hold__init(&f.hold);
	f.hold.case_id = (char *)case_id;
	maillage__v1__resume__init(&f.resume);
	f.resume.case_id = (char *)case_id;
}

/* A valid request with the given body (the oneof shares its storage, so only
 * the pointer of body is set). */
static void reset(int body)
{
	memset(&f, 0, sizeof(f));
	maillage__v1__request__init(&f.req);
	f.req.command_id.data = cmd_id;
	f.req.command_id.len = 16;
	f.req.body_case = body;
	reset_small();
	reset_later();
	switch (body) {
	case B(REFER_HOUSEHOLD):
		reset_refer();
		break;
	case B(ACKNOWLEDGE_REFERRAL):
		f.req.acknowledge_referral = &f.ack;
		break;
	case B(ACCEPT_CASE):
		reset_accept();
		break;
	case B(DECLINE_REFERRAL):
		f.req.decline_referral = &f.decline;
		break;
	case B(WITHDRAW_REFERRAL):
		f.req.withdraw_referral = &f.withdraw;
		break;
	case B(RECORD_VISIT):
		reset_visit();
		break;
	case B(PROPOSE_REHOUSING):
		reset_proposal();
		break;
	case B(CLOSE_SUPPORT):
		f.req.close_support = &f.close;
		break;
	case B(GET_CASE):
		f.req.get_case = &f.get_case;
		break;
	case B(GET_CASE_HISTORY):
		f.req.get_case_history = &f.history;
		break;
	case B(PING):
		f.req.ping = &f.ping;
		break;
	case B(LIST_CASELOAD):
		f.req.list_caseload = &f.caseload;
		break;
	case B(LIST_PENDING_REFERRALS):
		f.req.list_pending_referrals = &f.pending;
		break;
	case B(GET_PARTNER_LOAD):
		f.req.get_partner_load = &f.load;
		break;
	case B(LIST_STALE_CASES):
		f.req.list_stale_cases = &f.stale;
		break;
	case B(LIST_DEADLINES):
		f.req.list_deadlines = &f.deadlines;
		break;
	case B(GET_REHOUSING_PIPELINE):
		f.req.get_rehousing_pipeline = &f.pipeline;
		break;
	case B(GET_PLATFORM_STATS):
		f.req.get_platform_stats = &f.stats;
		break;
	case B(READ_EVENTS):
		f.req.read_events = &f.read_events;
		break;
	case B(SUBSCRIBE):
		maillage__v1__subscribe__init(&f.subscribe);
		f.req.subscribe = &f.subscribe;
		break;
	case B(ASSIGN_PARTNER):
		f.req.assign_partner = &f.assign;
		break;
	case B(RELEASE_ASSIGNMENT):
		f.req.release_assignment = &f.release;
		break;
	case B(RECORD_PROCEDURE_STEP):
		f.req.record_procedure_step = &f.procedure;
		break;
	case B(ANSWER_PROPOSAL):
		f.req.answer_proposal = &f.answer;
		break;
	case B(SIGN_LEASE):
		f.req.sign_lease = &f.lease;
		break;
	case B(PUT_ON_HOLD):
		f.req.put_on_hold = &f.hold;
		break;
	case B(RESUME):
		f.req.resume = &f.resume;
		break;
	case B(ERASE_HOUSEHOLD_DATA):
		maillage__v1__erase_household_data__init(&f.erase);
		f.erase.case_id = (char *)case_id;
		f.erase.reason = MAILLAGE__V1__ERASURE_REASON__ERASURE_DPO_DECISION;
		f.req.erase_household_data = &f.erase;
		break;
	case B(LIST_ACCESS_JOURNAL):
		maillage__v1__list_access_journal__init(&f.journal);
		f.journal.case_id = (char *)case_id;
		f.req.list_access_journal = &f.journal;
		break;
	}
}

/* Validation of the current fixture refuses on field (NULL: accepts), with
 * message_part in its message; the message is always valid UTF-8. */
static void expect_field(const char *field, const char *message_part)
{
	struct status st;
	int rc = validate_request(&f.req, &st);

	if (!field) {
		if (rc)
			fail_msg("refused: %s (field %s)", st.message, st.field);
		assert_int_equal(st.code, 0);
		return;
	}
	if (rc != ML_EINVAL)
		fail_msg("accepted or wrong code %d, expected a refusal on %s", rc, field);
	assert_int_equal(st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(st.field, field);
	assert_true(validate_utf8(st.message, strlen(st.message), false));
	if (message_part && !strstr(st.message, message_part))
		fail_msg("message '%s' lacks '%s'", st.message, message_part);
}

/* Every body of the oneof; the commands first. */
static const int all_bodies[] = {
	B(REFER_HOUSEHOLD), B(ACKNOWLEDGE_REFERRAL), B(ACCEPT_CASE), B(DECLINE_REFERRAL),
	B(WITHDRAW_REFERRAL), B(RECORD_VISIT), B(PROPOSE_REHOUSING), B(CLOSE_SUPPORT),
	B(ASSIGN_PARTNER), B(RELEASE_ASSIGNMENT), B(RECORD_PROCEDURE_STEP),
	B(ANSWER_PROPOSAL), B(SIGN_LEASE), B(PUT_ON_HOLD), B(RESUME), B(ERASE_HOUSEHOLD_DATA),
	B(GET_CASE), B(GET_CASE_HISTORY), B(READ_EVENTS), B(LIST_CASELOAD),
	B(LIST_PENDING_REFERRALS), B(GET_PARTNER_LOAD), B(LIST_STALE_CASES), B(LIST_DEADLINES),
	B(GET_REHOUSING_PIPELINE), B(GET_PLATFORM_STATS), B(PING), B(SUBSCRIBE),
	B(LIST_ACCESS_JOURNAL),
};
#define N_COMMANDS 16

static void test_valid_requests(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(all_bodies),
			 maillage__v1__request__descriptor.n_fields - 5);   /* all but the envelope */
	for (size_t i = 0; i < ARRAY_SIZE(all_bodies); i++) {
		reset(all_bodies[i]);
		expect_field(NULL, NULL);
		assert_int_equal(validate_is_command(&f.req), i < N_COMMANDS);
	}
}

static void test_envelope(void **state)
{
	static const size_t bad_lens[] = { 0, 1, 15, 17 };

	(void)state;
	reset(B(_NOT_SET));
	expect_field("body", "request has no body");
	for (size_t i = 0; i < ARRAY_SIZE(all_bodies); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(bad_lens); j++) {
			reset(all_bodies[i]);
			f.req.command_id.len = bad_lens[j];
			/* queries ignore command_id */
			expect_field(validate_is_command(&f.req) ? "command_id" : NULL,
				     "16 random bytes");
		}
		reset(all_bodies[i]);
		f.req.correlation_id = name_max;
		expect_field(NULL, NULL);
		f.req.correlation_id = name_over;
		expect_field("correlation_id", "201 bytes is longer than 200");
		f.req.correlation_id = "réf\n42";
		expect_field("correlation_id", "control character at byte 4");
		f.req.correlation_id = "ref\xc3";
		expect_field("correlation_id", "not valid UTF-8");
	}
}

/* One rule: a field of a valid request set to a value, and the outcome. */
struct rule_case {
	int body;
	enum { M_STR, M_INT, M_NULL } kind;
	size_t offset, size;     /* of the field in struct fixture */
	const char *s;
	long long i;
	const char *field;       /* the refusal's field; NULL when accepted */
	const char *message;     /* part of the refusal's message */
};

#define STR(m, v) M_STR, offsetof(struct fixture, m), 0, v, 0
#define INT(m, v) M_INT, offsetof(struct fixture, m), sizeof(f.m), NULL, v
#define NONE(m) M_NULL, offsetof(struct fixture, m), 0, NULL, 0
#define OK NULL, NULL

#define REFER B(REFER_HOUSEHOLD)
#define RF "refer_household.referral."
#define PERSON "refer_household.referral.household.reference_person."
#define ACCEPT B(ACCEPT_CASE)
#define DECLINE B(DECLINE_REFERRAL)
#define VISIT B(RECORD_VISIT)
#define PROPOSE B(PROPOSE_REHOUSING)
#define PR "propose_rehousing.proposal."
#define CLOSE B(CLOSE_SUPPORT)

static const struct rule_case rule_cases[] = {
	{ REFER, NONE(refer.referral), "refer_household.referral", "field is required" },
	{ REFER, STR(referral.platform, ""), RF "platform", "field is required" },
	{ REFER, STR(referral.platform, "vaulx\tbron"), RF "platform", "control character" },
	{ REFER, STR(referral.platform, name_over), RF "platform", "longer than 200" },
	{ REFER, INT(referral.reason, 0), RF "reason", "field is required" },
	{ REFER, INT(referral.reason, 42), RF "reason", "value 42 is not a known ReferralReason" },
	{ REFER, STR(referral.reason_details, "line 1\nline 2"), OK },
	{ REFER, STR(referral.reason_details, text_over), RF "reason_details", "longer than 4000" },
	{ REFER, NONE(referral.household), RF "household", "field is required" },
	{ REFER, NONE(household.reference_person), RF "household.reference_person",
	  "field is required" },
	{ REFER, STR(person.last_name, ""), PERSON "last_name", "field is required" },
	{ REFER, STR(person.last_name, name_max), OK },
	{ REFER, STR(person.last_name, name_over), PERSON "last_name", "longer than 200" },
	{ REFER, STR(person.last_name, "Ben\nali"), PERSON "last_name", "control character" },
	{ REFER, STR(person.last_name, "Ben\xc3\x28"), PERSON "last_name", "not valid UTF-8" },
	{ REFER, STR(person.last_name, "N'Diaye-Lefèvre"), OK },
	{ REFER, STR(person.first_name, ""), PERSON "first_name", "field is required" },
	{ REFER, STR(person.birth_date, ""), PERSON "birth_date", "field is required" },
	{ REFER, STR(person.birth_date, "1984-02-30"), PERSON "birth_date",
	  "date '1984-02-30' is not a calendar date" },
	{ REFER, STR(person.birth_date, "1984-2-3"), PERSON "birth_date", "'1984-2-3'" },
	{ REFER, STR(person.birth_date, "\xff" "1984"), PERSON "birth_date", "date '?1984'" },
	{ REFER, INT(household.adults, 0), RF "household.adults", "value 0 is not between 1 and 30" },
	{ REFER, INT(household.adults, 31), RF "household.adults", "between 1 and 30" },
	{ REFER, INT(household.adults, 30), RF "household.children", "33 people" },
	{ REFER, INT(household.children, 28), OK },     /* 2 adults: 30 people */
	{ REFER, INT(household.children, 29), RF "household.children", "31 people" },
	{ REFER, INT(household.children, 30), RF "household.children", "between 0 and 29" },
	{ REFER, INT(household.debt_cents, -1), RF "household.debt_cents", "value -1 is not" },
	{ REFER, INT(household.debt_cents, 0), OK },
	{ REFER, INT(household.debt_cents, 10000000000LL), OK },
	{ REFER, INT(household.debt_cents, 10000000001LL), RF "household.debt_cents", NULL },
	{ REFER, STR(household.notes, text_max), OK },
	{ REFER, STR(household.notes, text_over), RF "household.notes", "longer than 4000" },
	{ REFER, STR(household.notes, "a\rb"), RF "household.notes", "control character at byte 1" },
	{ REFER, STR(household.address, "1 rue\nde la Paix"), RF "household.address",
	  "control character" },
	{ REFER, STR(household.email, name_over), RF "household.email", "longer than 200" },
	{ ACCEPT, NONE(accept.acceptance), "accept_case.acceptance", "field is required" },
	{ ACCEPT, STR(acceptance.lead_partner, ""), "accept_case.acceptance.lead_partner",
	  "field is required" },
	{ ACCEPT, INT(acceptance.support_level, 0), "accept_case.acceptance.support_level",
	  "field is required" },
	{ ACCEPT, INT(acceptance.support_level, 9), "accept_case.acceptance.support_level",
	  "value 9 is not a known SupportLevel" },
	{ ACCEPT, STR(acceptance.notes, text_over), "accept_case.acceptance.notes", "longer" },
	{ ACCEPT, INT(acceptance.n_co_referents, 0), OK },
	{ DECLINE, NONE(decline.decline), "decline_referral.decline", "field is required" },
	{ DECLINE, INT(decline_body.reason, 0), "decline_referral.decline.reason",
	  "field is required" },
	{ DECLINE, INT(decline_body.reason, 77), "decline_referral.decline.reason",
	  "value 77 is not a known DeclineReason" },
	{ DECLINE, STR(decline_body.text, text_max), OK },
	{ DECLINE, STR(decline_body.redirect_to, name_over), "decline_referral.decline.redirect_to",
	  "longer than 200" },
	{ B(ACKNOWLEDGE_REFERRAL), STR(ack.note, text_over), "acknowledge_referral.note",
	  "longer than 4000" },
	{ B(WITHDRAW_REFERRAL), STR(withdraw.reason_text, "moved\nout"), OK },
	{ VISIT, NONE(visit.visit), "record_visit.visit", "field is required" },
	{ VISIT, STR(visit_body.date, ""), "record_visit.visit.date", "field is required" },
	{ VISIT, STR(visit_body.date, "2026-13-01"), "record_visit.visit.date",
	  "date '2026-13-01' is not a calendar date" },
	{ VISIT, INT(visit_body.mode, 0), "record_visit.visit.mode", "field is required" },
	{ VISIT, INT(visit_body.mode, 42), "record_visit.visit.mode",
	  "value 42 is not a known VisitMode" },
	{ VISIT, INT(domains[1], 99), "record_visit.visit.domains", "value 99 is not a known Domain" },
	{ VISIT, INT(domains[1], 0), "record_visit.visit.domains", "unspecified" },
	{ VISIT, INT(domains[1], MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET), "record_visit.visit.domains",
	  "entry 2 repeats entry 1" },
	{ VISIT, INT(tools[0], 10), "record_visit.visit.tools", "not a known SupportTool" },
	{ VISIT, INT(tools[1], MAILLAGE__V1__SUPPORT_TOOL__TOOL_RESCUE_LEASE),
	  "record_visit.visit.tools", "repeats" },
	{ VISIT, STR(visit_body.notes, text_over), "record_visit.visit.notes", "longer than 4000" },
	{ PROPOSE, NONE(propose.proposal), "propose_rehousing.proposal", "field is required" },
	{ PROPOSE, STR(proposal.dwelling_ref, ""), PR "dwelling_ref", "field is required" },
	{ PROPOSE, STR(proposal.dwelling_ref, name_over), PR "dwelling_ref", "longer than 200" },
	{ PROPOSE, STR(proposal.commune, ""), PR "commune", "field is required" },
	{ PROPOSE, INT(proposal.typology, 0), PR "typology", "field is required" },
	{ PROPOSE, INT(proposal.typology, 7), PR "typology", "value 7 is not a known Typology" },
	{ PROPOSE, INT(proposal.kind, 0), PR "kind", "field is required" },
	{ PROPOSE, INT(proposal.kind, 7), PR "kind", "value 7 is not a known RehousingKind" },
	{ PROPOSE, INT(proposal.rent_cents, 0), PR "rent_cents", "value 0 is not between 1" },
	{ PROPOSE, INT(proposal.rent_cents, -5), PR "rent_cents", "value -5" },
	{ PROPOSE, INT(proposal.rent_cents, 100000000), OK },
	{ PROPOSE, INT(proposal.rent_cents, 100000001), PR "rent_cents", "and 100000000" },
	{ PROPOSE, STR(proposal.available_from, "2027-01-15"), OK },
	{ PROPOSE, STR(proposal.available_from, "soon"), PR "available_from",
	  "date 'soon' is not" },
	{ PROPOSE, STR(proposal.landlord, "bad\x01"), PR "landlord", "control character" },
	{ CLOSE, NONE(close.closure), "close_support.closure", "field is required" },
	{ CLOSE, INT(closure.outcome, 0), "close_support.closure.outcome", "field is required" },
	{ CLOSE, INT(closure.outcome, 10), "close_support.closure.outcome",
	  "value 10 is not a known ClosingOutcome" },
	{ CLOSE, STR(closure.date, ""), "close_support.closure.date", "field is required" },
	{ CLOSE, STR(closure.date, "2026-02-30"), "close_support.closure.date",
	  "date '2026-02-30' is not a calendar date" },
	{ CLOSE, STR(closure.handed_over_to, "CCAS de Bron"), OK },
	{ B(ASSIGN_PARTNER), STR(assign.partner, ""), "assign_partner.partner", "field is required" },
	{ B(ASSIGN_PARTNER), INT(assign.role, 0), "assign_partner.role", "field is required" },
	{ B(ASSIGN_PARTNER), INT(assign.role, 3), "assign_partner.role",
	  "value 3 is not a known PartnerRole" },
	{ B(RELEASE_ASSIGNMENT), STR(release.partner, ""), "release_assignment.partner",
	  "field is required" },
	{ B(RECORD_PROCEDURE_STEP), NONE(procedure.step), "record_procedure_step.step",
	  "field is required" },
	{ B(RECORD_PROCEDURE_STEP), INT(step.stage, 0), "record_procedure_step.step.stage",
	  "field is required" },
	{ B(RECORD_PROCEDURE_STEP), INT(step.stage, 11), "record_procedure_step.step.stage",
	  "value 11 is not a known ProcedureStage" },
	{ B(RECORD_PROCEDURE_STEP), STR(step.date, "2026-02-29"), "record_procedure_step.step.date",
	  "date '2026-02-29' is not a calendar date" },
	{ B(RECORD_PROCEDURE_STEP), STR(step.hearing_date, ""), OK },
	{ B(RECORD_PROCEDURE_STEP), STR(step.hearing_date, "12/01/2027"),
	  "record_procedure_step.step.hearing_date", "date '12/01/2027'" },
	{ B(RECORD_PROCEDURE_STEP), INT(step.amount_cents, -1),
	  "record_procedure_step.step.amount_cents", "value -1 is not" },
	{ B(ANSWER_PROPOSAL), NONE(answer.answer), "answer_proposal.answer", "field is required" },
	{ B(ANSWER_PROPOSAL), INT(answer_body.proposal_number, 0),
	  "answer_proposal.answer.proposal_number", "value 0 is not" },
	{ B(ANSWER_PROPOSAL), INT(answer_body.refusal_reason, 2),
	  "answer_proposal.answer.refusal_reason", NULL },
	{ B(ANSWER_PROPOSAL), INT(answer_body.accepted, 0),
	  "answer_proposal.answer.refusal_reason", "required" },
	{ B(SIGN_LEASE), INT(lease.proposal_number, 0), "sign_lease.proposal_number",
	  "value 0 is not" },
	{ B(SIGN_LEASE), STR(lease.date, ""), "sign_lease.date", "field is required" },
	{ B(PUT_ON_HOLD), STR(hold.reason_text, "waiting\nfor the court"), OK },
	{ B(RESUME), STR(resume.note, text_over), "resume.note", "longer than 4000" },
};

static void apply(const struct rule_case *c)
{
	char *at = (char *)&f + c->offset;
	int32_t i32 = (int32_t)c->i;
	int64_t i64 = c->i;
	void *null = NULL;

	switch (c->kind) {
	case M_STR:
		memcpy(at, &c->s, sizeof(c->s));
		break;
	case M_INT:
		memcpy(at, c->size == sizeof(i64) ? (void *)&i64 : (void *)&i32, c->size);
		break;
	case M_NULL:
		memcpy(at, &null, sizeof(null));
		break;
	}
}

static void test_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rule_cases); i++) {
		reset(rule_cases[i].body);
		apply(&rule_cases[i]);
		expect_field(rule_cases[i].field, rule_cases[i].message);
	}
}

/* Lists: size, empty and repeated entries, the lead partner as co-referent. */
static void test_lists(void **state)
{
	(void)state;
	reset(REFER);
	for (int i = 0; i <= VALIDATE_MAX_LIST; i++)
		f.needs[i] = (Maillage__V1__Need)(i % 6 + 1);
	f.household.n_needs = VALIDATE_MAX_LIST + 1;
	expect_field(RF "household.needs", "list of 33 entries is longer than 32");
	reset(REFER);
	f.needs[1] = MAILLAGE__V1__NEED__NEED_BUDGET;
	expect_field(RF "household.needs", "entry 2 repeats entry 1");
	reset(ACCEPT);
	f.co_referents[1] = "";
	expect_field("accept_case.acceptance.co_referents", "must not be empty");
	reset(ACCEPT);
	f.co_referents[1] = "asso-relais";
	expect_field("accept_case.acceptance.co_referents", "entry 2 repeats entry 1");
	reset(ACCEPT);
	f.co_referents[1] = "asso-habitat";
	expect_field("accept_case.acceptance.co_referents",
		     "'asso-habitat' is already the lead partner");
	reset(ACCEPT);
	for (int i = 0; i < VALIDATE_MAX_LIST; i++)
		f.co_referents[i] = name_max + VALIDATE_MAX_NAME - 1 - i;   /* distinct */
	f.acceptance.n_co_referents = VALIDATE_MAX_LIST;
	expect_field(NULL, NULL);
	f.co_referents[VALIDATE_MAX_LIST] = "one more";
	f.acceptance.n_co_referents = VALIDATE_MAX_LIST + 1;
	expect_field("accept_case.acceptance.co_referents", "longer than 32");
	reset(VISIT);
	f.visit_body.n_domains = 0;
	f.visit_body.n_tools = 0;
	expect_field(NULL, NULL);
}

/* Subscribe: every filter optional; a case id, when given, well formed;
 * event types known, not unspecified, not repeated. */
/* The retention reason is the server's; purpose is a short single line. */
static void test_erasure_and_purpose(void **state)
{
	char long_purpose[VALIDATE_MAX_NAME + 2];

	(void)state;
	reset(B(ERASE_HOUSEHOLD_DATA));
	f.erase.reason = MAILLAGE__V1__ERASURE_REASON__ERASURE_RETENTION;
	expect_field("erase_household_data.reason", "server");
	f.erase.reason = 0;
	expect_field("erase_household_data.reason", NULL);
	reset(B(LIST_ACCESS_JOURNAL));
	f.journal.limit = 1001;
	expect_field("list_access_journal.limit", NULL);
	reset(B(GET_CASE));
	f.req.purpose = "suivi de la visite du 2 novembre";
	expect_field(NULL, NULL);
	f.req.purpose = "two\nlines";
	expect_field("purpose", NULL);
	memset(long_purpose, 'a', sizeof(long_purpose) - 1);
	long_purpose[sizeof(long_purpose) - 1] = 0;
	f.req.purpose = long_purpose;
	expect_field("purpose", "longer");
}

static void test_subscribe(void **state)
{
	(void)state;
	reset(B(SUBSCRIBE));
	expect_field(NULL, NULL);
	f.subscribe.case_id = (char *)case_id;
	f.subscribe.platform = "vaulx-bron";
	f.types[0] = MAILLAGE__V1__EVENT_TYPE__CASE_ACCEPTED;
	f.types[1] = MAILLAGE__V1__EVENT_TYPE__REFERRAL_EXPIRED;
	f.subscribe.event_types = f.types;
	f.subscribe.n_event_types = 2;
	f.subscribe.involved_only = true;
	f.subscribe.from_position = UINT64_MAX;
	expect_field(NULL, NULL);
	f.subscribe.case_id = "VNX-2026-42";
	expect_field("subscribe.case_id", "not of the form CODE-YYYY-NNNNNN");
	f.subscribe.case_id = "";
	f.types[1] = MAILLAGE__V1__EVENT_TYPE__CASE_ACCEPTED;
	expect_field("subscribe.event_types", "entry 2 repeats entry 1");
	f.types[1] = MAILLAGE__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED;
	expect_field("subscribe.event_types", NULL);
	f.types[1] = (Maillage__V1__EventType)19;
	expect_field("subscribe.event_types", "not a known EventType");
	f.subscribe.platform = "vaulx\nbron";
	f.types[1] = MAILLAGE__V1__EVENT_TYPE__REFERRAL_EXPIRED;
	expect_field("subscribe.platform", NULL);
	assert_false(validate_is_command(&f.req));
}

/* The case_id of every command and query on a case, in every shape. */
static void test_case_ids(void **state)
{
	static const struct {
		int body;
		char **slot;
	} bodies[] = {
		{ B(ACKNOWLEDGE_REFERRAL), &f.ack.case_id },
		{ B(ACCEPT_CASE), &f.accept.case_id },
		{ B(DECLINE_REFERRAL), &f.decline.case_id },
		{ B(WITHDRAW_REFERRAL), &f.withdraw.case_id },
		{ B(RECORD_VISIT), &f.visit.case_id },
		{ B(PROPOSE_REHOUSING), &f.propose.case_id },
		{ B(CLOSE_SUPPORT), &f.close.case_id },
		{ B(ASSIGN_PARTNER), &f.assign.case_id },
		{ B(RELEASE_ASSIGNMENT), &f.release.case_id },
		{ B(RECORD_PROCEDURE_STEP), &f.procedure.case_id },
		{ B(ANSWER_PROPOSAL), &f.answer.case_id },
		{ B(SIGN_LEASE), &f.lease.case_id },
		{ B(PUT_ON_HOLD), &f.hold.case_id },
		{ B(RESUME), &f.resume.case_id },
		{ B(GET_CASE), &f.get_case.case_id },
		{ B(GET_CASE_HISTORY), &f.history.case_id },
	};
	static const struct {
		const char *id;
		const char *message;     /* NULL: accepted */
	} shapes[] = {
		{ "VB-2026-000001", NULL },
		{ "ABCDEF-2026-1234567890", NULL },
		{ "LYONSE-2199-0000000000000000000000000000", NULL },    /* 40 bytes */
		{ "LYONSE-2199-00000000000000000000000000000", "case id 'LYONSE-2199" },
		{ "", "field is required" },
		{ "V-2026-000001", "not of the form CODE-YYYY-NNNNNN" },
		{ "ABCDEFG-2026-000001", "CODE-YYYY-NNNNNN" },
		{ "vnx-2026-000001", "CODE-YYYY-NNNNNN" },
		{ "VNX-26-000001", "CODE-YYYY-NNNNNN" },
		{ "VNX-20261-000001", "CODE-YYYY-NNNNNN" },
		{ "VNX-2026-00001", "CODE-YYYY-NNNNNN" },
		{ "VNX-2026-000001 ", "CODE-YYYY-NNNNNN" },
		{ " VNX-2026-000001", "CODE-YYYY-NNNNNN" },
		{ "VNX_2026_000001", "CODE-YYYY-NNNNNN" },
		{ "VNX-2026-00000a", "CODE-YYYY-NNNNNN" },
		{ "V\xc3\x89X-2026-000001", "case id 'VÉX-2026-000001'" },
		{ "\xff\xfe-2026-000001", "case id '?" "?-2026-000001'" },
		{ "VNX-2026-000001\n", "case id 'VNX-2026-000001?'" },
	};
	char field[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(shapes); j++) {
			reset(bodies[i].body);
			*bodies[i].slot = (char *)shapes[j].id;
			snprintf(field, sizeof(field), "%s.case_id", wire_body_name(&f.req));
			expect_field(shapes[j].message ? field : NULL, shapes[j].message);
		}
	}
}

/* A quoted value never breaks the message: cut on a character boundary. */
static void test_quoting(void **state)
{
	char id[128] = "A";

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(id, "\xc3\x89");
	reset(B(GET_CASE));
	f.get_case.case_id = id;
	expect_field("get_case.case_id", "...' is not of the form");
	reset(B(GET_CASE));
	f.get_case.case_id = name_over;
	expect_field("get_case.case_id", "case id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

static void test_ping(void **state)
{
	(void)state;
	reset(B(PING));
	f.ping.payload.data = f.payload;
	f.ping.payload.len = 1024;
	expect_field(NULL, NULL);
	f.ping.payload.len = 1025;
	expect_field("ping.payload", "payload of 1025 bytes is longer than 1024");
}

static void test_dates(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t us;
	} dates[] = {
		{ "1970-01-01", 1, 0 },
		{ "1970-01-02", 1, 86400000000LL },
		{ "1969-12-31", 1, -86400000000LL },
		{ "1900-01-01", 1, -2208988800000000LL },
		{ "2199-12-31", 1, 7258032000000000LL },
		{ "2024-02-29", 1, 1709164800000000LL },
		{ "2000-02-29", 1, 951782400000000LL },
		{ "2026-11-24", 1, 1795478400000000LL },
		{ "2023-02-29", 0, 0 },
		{ "1900-02-29", 0, 0 },
		{ "2100-02-29", 0, 0 },
		{ "2026-13-01", 0, 0 },
		{ "2026-00-10", 0, 0 },
		{ "2026-01-00", 0, 0 },
		{ "2026-01-32", 0, 0 },
		{ "2026-04-31", 0, 0 },
		{ "1899-12-31", 0, 0 },
		{ "2200-01-01", 0, 0 },
		{ "2026-1-01", 0, 0 },
		{ "2026-01-1", 0, 0 },
		{ "2026/01/01", 0, 0 },
		{ "2026-01-01x", 0, 0 },
		{ " 2026-01-01", 0, 0 },
		{ "+026-01-01", 0, 0 },
		{ "2026-+1-01", 0, 0 },
		{ "2026-0a-01", 0, 0 },
		{ "20260101", 0, 0 },
		{ "", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(dates); i++) {
		int64_t us = -1;
		int rc = validate_parse_date(dates[i].s, &us);

		if (rc != (dates[i].ok ? 0 : ML_EINVAL) || (dates[i].ok && us != dates[i].us))
			fail_msg("date '%s': rc %d, %lld us", dates[i].s, rc, (long long)us);
	}
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;              /* 0: strlen */
		bool multiline, ok;
	} cases[] = {
		{ "Élodie Œuvre 日本 🏠", 0, false, true },
		{ "", 0, false, true },
		{ "\xc2\xa0", 0, false, true },              /* U+00A0, first after C1 */
		{ "\xdf\xbf", 0, false, true },              /* U+07FF */
		{ "\xe0\xa0\x80", 0, false, true },          /* U+0800 */
		{ "\xed\x9f\xbf", 0, false, true },          /* U+D7FF */
		{ "\xee\x80\x80", 0, false, true },          /* U+E000 */
		{ "\xef\xbf\xbf", 0, false, true },          /* U+FFFF */
		{ "\xf0\x90\x80\x80", 0, false, true },      /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 0, false, true },      /* U+10FFFF */
		{ "a\nb\tc", 0, true, true },
		{ "\xc0\xaf", 0, false, false },             /* overlong '/' */
		{ "\xc1\xbf", 0, false, false },             /* overlong */
		{ "\xe0\x80\xaf", 0, false, false },         /* overlong */
		{ "\xe0\x9f\xbf", 0, false, false },         /* overlong U+07FF */
		{ "\xf0\x80\x80\xaf", 0, false, false },     /* overlong */
		{ "\xf0\x8f\xbf\xbf", 0, false, false },     /* overlong U+FFFF */
		{ "\xed\xa0\x80", 0, false, false },         /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 0, false, false },         /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 0, false, false },     /* U+110000 */
		{ "\xf5\x80\x80\x80", 0, false, false },
		{ "\xf8\x88\x80\x80\x80", 0, false, false },
		{ "\xfe", 0, false, false },
		{ "\xff", 0, false, false },
		{ "\xc3", 0, false, false },                 /* truncated */
		{ "\xe2\x82", 0, false, false },
		{ "\xf0\x9f\x8f", 0, false, false },
		{ "\xe2\x82" "a", 0, false, false },
		{ "\xc3\xa9", 1, false, false },             /* cut by len */
		{ "\x80", 0, false, false },                 /* lone continuation */
		{ "\xbf", 0, false, false },
		{ "a\x7f", 0, false, false },
		{ "\x1b[31m", 0, false, false },
		{ "a\nb", 0, false, false },
		{ "a\tb", 0, false, false },
		{ "a\rb", 0, true, false },
		{ "a\0b", 3, true, false },
		{ "\xc2\x80", 0, false, false },             /* C1 control U+0080 */
		{ "\xc2\x85", 0, true, false },              /* NEL */
		{ "\xc2\x9f", 0, false, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);

		if (validate_utf8(cases[i].s, len, cases[i].multiline) != cases[i].ok)
			fail_msg("utf8 case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requests),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_subscribe),
		cmocka_unit_test(test_erasure_and_purpose),
		cmocka_unit_test(test_case_ids),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_utf8),
	};

	memset(name_max, 'a', VALIDATE_MAX_NAME);
	memset(name_over, 'a', VALIDATE_MAX_NAME + 1);
	memset(text_max, 't', VALIDATE_MAX_TEXT);
	memset(text_over, 't', VALIDATE_MAX_TEXT + 1);
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
