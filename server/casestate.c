/* casestate.c - the transition table of the case lifecycle (see casestate.h
 * for the diagram). One row per command; no other code knows the rules.
 */
#include "casestate.h"
#include "wire.h"

#define S(x) MAILLAGE__V1__CASE_STATE__##x
#define B(x) MAILLAGE__V1__REQUEST__BODY_##x
#define FROM(x) (1u << S(x))
#define OPEN_STATES (FROM(REFERRED) | FROM(ACKNOWLEDGED) | FROM(IN_SUPPORT) | FROM(ON_HOLD))
#define FINAL_STATES (FROM(DECLINED) | FROM(WITHDRAWN) | FROM(EXPIRED) | FROM(CLOSED))
#define NO_CASE (1u << 0)   /* CASE_STATE_UNSPECIFIED: the case does not exist yet */

struct transition {
	int body;           /* MAILLAGE__V1__REQUEST__BODY_* of the command */
	unsigned from;      /* states in which the command is legal (bit per state) */
	int to;             /* the state after it; 0: the state is kept */
	const char *legal;  /* the same states, for messages */
};

static const struct transition table[] = {
	{ B(REFER_HOUSEHOLD), NO_CASE, S(REFERRED), "no case yet" },
	{ B(ACKNOWLEDGE_REFERRAL), FROM(REFERRED), S(ACKNOWLEDGED), "REFERRED" },
	{ B(ACCEPT_CASE), FROM(ACKNOWLEDGED), S(IN_SUPPORT), "ACKNOWLEDGED" },
	{ B(DECLINE_REFERRAL), FROM(REFERRED) | FROM(ACKNOWLEDGED), S(DECLINED),
	  "REFERRED or ACKNOWLEDGED" },
	{ B(WITHDRAW_REFERRAL), FROM(REFERRED) | FROM(ACKNOWLEDGED), S(WITHDRAWN),
	  "REFERRED or ACKNOWLEDGED" },
	{ B(RECORD_VISIT), FROM(IN_SUPPORT), 0, "IN_SUPPORT" },
	{ B(PROPOSE_REHOUSING), FROM(IN_SUPPORT), 0, "IN_SUPPORT" },
	{ B(CLOSE_SUPPORT), FROM(IN_SUPPORT) | FROM(ON_HOLD), S(CLOSED),
	  "IN_SUPPORT or ON_HOLD" },
	{ B(ASSIGN_PARTNER), FROM(IN_SUPPORT) | FROM(ON_HOLD), 0, "IN_SUPPORT or ON_HOLD" },
	{ B(RELEASE_ASSIGNMENT), FROM(IN_SUPPORT) | FROM(ON_HOLD), 0, "IN_SUPPORT or ON_HOLD" },
	{ B(RECORD_PROCEDURE_STEP), OPEN_STATES, 0,
	  "REFERRED, ACKNOWLEDGED, IN_SUPPORT or ON_HOLD" },
	{ B(ANSWER_PROPOSAL), FROM(IN_SUPPORT), 0, "IN_SUPPORT" },
	{ B(SIGN_LEASE), FROM(IN_SUPPORT), 0, "IN_SUPPORT" },
	{ B(PUT_ON_HOLD), FROM(IN_SUPPORT), S(ON_HOLD), "IN_SUPPORT" },
	{ B(RESUME), FROM(ON_HOLD), S(IN_SUPPORT), "ON_HOLD" },
	{ B(ERASE_HOUSEHOLD_DATA), FINAL_STATES, 0, "CLOSED, DECLINED, WITHDRAWN or EXPIRED" },
	{ CASESTATE_EXPIRE, FROM(REFERRED) | FROM(ACKNOWLEDGED), S(EXPIRED),
	  "REFERRED or ACKNOWLEDGED" },
};

/* The row of a command; NULL for queries and unknown body cases. */
static const struct transition *find(int body)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].body == body)
			return &table[i];
	return NULL;
}

int casestate_next(int from, int body_case)
{
	const struct transition *t = find(body_case);

	if (!t || from < 0 || from > S(CLOSED) || !(t->from & (1u << from)))
		return 0;
	return t->to ? t->to : from;
}

bool casestate_is_final(int state)
{
	return state == S(DECLINED) || state == S(WITHDRAWN) || state == S(EXPIRED) ||
	       state == S(CLOSED);
}

const char *casestate_legal_from(int body_case)
{
	const struct transition *t = find(body_case);

	return t ? t->legal : "no state";
}
