/* test_casestate.c - every (state, command) pair of the case lifecycle
 * against a matrix written here independently of the table in casestate.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "casestate.h"
#include "wire.h"

#define S(x) MAILLAGE__V1__CASE_STATE__##x
#define B(x) MAILLAGE__V1__REQUEST__BODY_##x
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NO 0        /* refused */
#define KEEP (-1)   /* legal, state unchanged */
#define REF S(REFERRED)
#define ACK S(ACKNOWLEDGED)
#define SUP S(IN_SUPPORT)
#define HOLD S(ON_HOLD)
#define DECL S(DECLINED)
#define WDRN S(WITHDRAWN)
#define CLSD S(CLOSED)

/* Columns: "no case yet" (0), then every CaseState. */
static const int states[] = {
	0, S(REFERRED), S(ACKNOWLEDGED), S(IN_SUPPORT), S(ON_HOLD),
	S(DECLINED), S(WITHDRAWN), S(EXPIRED), S(CLOSED),
};

/* Rows: every command, every query, no body, an unknown body case; in each
 * column the state after the command, as casestate.h and DESIGN.md section 2
 * say (not as casestate.c does). */
static const struct row {
	int body;
	int to[ARRAY_SIZE(states)];
} matrix[] = {
	/*                            none  REF   ACK   SUP   HOLD  DECL  WDRN  EXP  CLSD */
	{ B(REFER_HOUSEHOLD),       { REF,  NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(ACKNOWLEDGE_REFERRAL),  { NO,   ACK,  NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(ACCEPT_CASE),           { NO,   NO,   SUP,  NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(DECLINE_REFERRAL),      { NO,   DECL, DECL, NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(WITHDRAW_REFERRAL),     { NO,   WDRN, WDRN, NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(RECORD_VISIT),          { NO,   NO,   NO,   KEEP, NO,   NO,   NO,   NO,  NO } },
	{ B(PROPOSE_REHOUSING),     { NO,   NO,   NO,   KEEP, NO,   NO,   NO,   NO,  NO } },
	{ B(CLOSE_SUPPORT),         { NO,   NO,   NO,   CLSD, CLSD, NO,   NO,   NO,  NO } },
	{ B(ASSIGN_PARTNER),        { NO,   NO,   NO,   KEEP, KEEP, NO,   NO,   NO,  NO } },
	{ B(RELEASE_ASSIGNMENT),    { NO,   NO,   NO,   KEEP, KEEP, NO,   NO,   NO,  NO } },
	{ B(RECORD_PROCEDURE_STEP), { NO,   KEEP, KEEP, KEEP, KEEP, NO,   NO,   NO,  NO } },
	{ B(ANSWER_PROPOSAL),       { NO,   NO,   NO,   KEEP, NO,   NO,   NO,   NO,  NO } },
	{ B(SIGN_LEASE),            { NO,   NO,   NO,   KEEP, NO,   NO,   NO,   NO,  NO } },
	{ B(PUT_ON_HOLD),           { NO,   NO,   NO,   HOLD, NO,   NO,   NO,   NO,  NO } },
	{ B(RESUME),                { NO,   NO,   NO,   NO,   SUP,  NO,   NO,   NO,  NO } },
	{ B(PING),                  { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(GET_CASE),              { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(GET_CASE_HISTORY),      { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(READ_EVENTS),           { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ B(_NOT_SET),              { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
	{ 99,                       { NO,   NO,   NO,   NO,   NO,   NO,   NO,   NO,  NO } },
};

static void test_every_pair(void **state)
{
	int legal = 0, checked = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(matrix); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(states); j++) {
			int from = states[j];
			int want = matrix[i].to[j] == KEEP ? from : matrix[i].to[j];
			int got = casestate_next(from, matrix[i].body);

			if (got != want)
				fail_msg("state %s, command %d: expected %s, got %s",
					 wire_case_state_name(from), matrix[i].body,
					 wire_case_state_name(want), wire_case_state_name(got));
			legal += got != 0;
			checked++;
		}
	}
	assert_int_equal(legal, 23);
	assert_int_equal(checked, 21 * 9);
}

static void test_final_states(void **state)
{
	(void)state;
	for (size_t j = 0; j < ARRAY_SIZE(states); j++) {
		int s = states[j];
		bool final = s == S(DECLINED) || s == S(WITHDRAWN) || s == S(EXPIRED) ||
			     s == S(CLOSED);

		assert_int_equal(casestate_is_final(s), final);
		for (size_t i = 0; final && i < ARRAY_SIZE(matrix); i++)
			assert_int_equal(casestate_next(s, matrix[i].body), 0);
	}
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(casestate_next(-1, B(ACCEPT_CASE)), 0);
	assert_int_equal(casestate_next(-1, B(REFER_HOUSEHOLD)), 0);
	assert_int_equal(casestate_next(9, B(CLOSE_SUPPORT)), 0);
	assert_int_equal(casestate_next(31, B(CLOSE_SUPPORT)), 0);
	assert_int_equal(casestate_next(99, B(CLOSE_SUPPORT)), 0);
	assert_false(casestate_is_final(0));
	assert_false(casestate_is_final(99));
}

/* casestate_legal_from() names the columns where the command is legal, as
 * "A", "A or B", "A, B or C"; "no case yet" for a referral, "no state" for
 * queries. */
static void test_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(matrix); i++) {
		char want[128] = "";
		size_t n = 0, k = 0;

		for (size_t j = 0; j < ARRAY_SIZE(states); j++)
			n += matrix[i].to[j] != NO;
		for (size_t j = 0; j < ARRAY_SIZE(states); j++) {
			if (matrix[i].to[j] == NO)
				continue;
			k++;
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
				 k == 1 ? "" : k == n ? " or " : ", ",
				 states[j] ? wire_case_state_name(states[j]) : "no case yet");
		}
		assert_string_equal(casestate_legal_from(matrix[i].body), n ? want : "no state");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_final_states),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests_name("casestate", tests, NULL, NULL);
}
