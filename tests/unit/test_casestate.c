/* test_casestate.c - every (state, command) pair of the case lifecycle
 * against a table written here independently of the one in casestate.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "casestate.h"
#include "wire.h"

#define S(x) MAILLAGE__V1__CASE_STATE__##x
#define B(x) MAILLAGE__V1__REQUEST__BODY_##x

static const int states[] = {
	0, S(REFERRED), S(ACKNOWLEDGED), S(IN_SUPPORT), S(ON_HOLD),
	S(DECLINED), S(WITHDRAWN), S(EXPIRED), S(CLOSED),
};

static const int commands[] = {
	B(REFER_HOUSEHOLD), B(ACKNOWLEDGE_REFERRAL), B(ACCEPT_CASE), B(DECLINE_REFERRAL),
	B(WITHDRAW_REFERRAL), B(RECORD_VISIT), B(PROPOSE_REHOUSING), B(CLOSE_SUPPORT),
	B(PING), B(GET_CASE), B(GET_CASE_HISTORY),
};

/* Expected next state; 0 = refused; -1 = legal and state kept. */
static int expected(int from, int cmd)
{
	switch (cmd) {
	case B(REFER_HOUSEHOLD):
		return from == 0 ? S(REFERRED) : 0;
	case B(ACKNOWLEDGE_REFERRAL):
		return from == S(REFERRED) ? S(ACKNOWLEDGED) : 0;
	case B(ACCEPT_CASE):
		return from == S(ACKNOWLEDGED) ? S(IN_SUPPORT) : 0;
	case B(DECLINE_REFERRAL):
		return from == S(REFERRED) || from == S(ACKNOWLEDGED) ? S(DECLINED) : 0;
	case B(WITHDRAW_REFERRAL):
		return from == S(REFERRED) || from == S(ACKNOWLEDGED) ? S(WITHDRAWN) : 0;
	case B(RECORD_VISIT):
	case B(PROPOSE_REHOUSING):
		return from == S(IN_SUPPORT) ? -1 : 0;
	case B(CLOSE_SUPPORT):
		return from == S(IN_SUPPORT) || from == S(ON_HOLD) ? S(CLOSED) : 0;
	default:
		return 0;    /* queries never move a case */
	}
}

static void test_every_pair(void **state)
{
	int legal = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		for (size_t j = 0; j < sizeof(commands) / sizeof(commands[0]); j++) {
			int want = expected(states[i], commands[j]);
			int got = casestate_next(states[i], commands[j]);

			if (want == -1)
				want = states[i];
			if (got != want)
				fail_msg("state %s, command %d: expected %s, got %s",
					 wire_case_state_name(states[i]), commands[j],
					 wire_case_state_name(want), wire_case_state_name(got));
			legal += got != 0;
		}
	}
	/* refer, ack, accept, 2 declines, 2 withdrawals, visit, proposal, 2 closes */
	assert_int_equal(legal, 11);
}

static void test_final_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		int s = states[i];
		bool final = s == S(DECLINED) || s == S(WITHDRAWN) || s == S(EXPIRED) ||
			     s == S(CLOSED);

		assert_int_equal(casestate_is_final(s), final);
		for (size_t j = 0; final && j < sizeof(commands) / sizeof(commands[0]); j++)
			assert_int_equal(casestate_next(s, commands[j]), 0);
	}
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(casestate_next(-1, B(ACCEPT_CASE)), 0);
	assert_int_equal(casestate_next(99, B(CLOSE_SUPPORT)), 0);
	assert_int_equal(casestate_next(S(REFERRED), 9999), 0);
}

static void test_messages(void **state)
{
	(void)state;
	assert_string_equal(casestate_legal_from(B(ACCEPT_CASE)), "ACKNOWLEDGED");
	assert_string_equal(casestate_legal_from(B(WITHDRAW_REFERRAL)), "REFERRED or ACKNOWLEDGED");
	assert_string_equal(casestate_legal_from(B(CLOSE_SUPPORT)), "IN_SUPPORT or ON_HOLD");
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
