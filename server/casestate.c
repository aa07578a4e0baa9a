/* casestate.c - the transition table of the case lifecycle (see casestate.h). */
#include "casestate.h"
#include "wire.h"

#define S(x) MAILLAGE__V1__CASE_STATE__##x
#define B(x) MAILLAGE__V1__REQUEST__BODY_##x
#define FROM(x) (1u << S(x))

struct transition {
	int body;
	unsigned from;      /* states in which the command is legal (bit per state) */
	int to;             /* 0: the state is kept */
	const char *legal;  /* the same states, for messages */
};

static const struct transition table[] = {
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
};

static const struct transition *find(int body)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].body == body)
			return &table[i];
	return NULL;
}

int casestate_next(int from, int body_case)
{
	const struct transition *t;

	if (body_case == B(REFER_HOUSEHOLD))
		return from == 0 ? S(REFERRED) : 0;
	t = find(body_case);
	if (!t || from <= 0 || from > S(CLOSED) || !(t->from & (1u << from)))
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

	if (body_case == B(REFER_HOUSEHOLD))
		return "no case yet";
	return t ? t->legal : "no state";
}
