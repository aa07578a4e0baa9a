/* test_random.c - a long seeded random sequence of commands, legal and not,
 * from every kind of organisation: no command may fail for the server's own
 * reasons, and afterwards (and after a restart) the log verifies and every
 * model equals a rebuild from the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define STEPS 2000
#define MAX_CASES 128

static char cases[MAX_CASES][64];
static int n_cases;
static uint64_t seed = 0x6d61696c6c616765ULL;

static unsigned next(unsigned n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(seed >> 33) % n;
}

static const char *const orgs[] = {
	"bailleur-est", "ccas-vaulx", "hopital-est", "siao-rhone", "asso-habitat",
	"asso-relais", "coord-vaulx-bron", "funder-metropole", "auditor", "mdm-venissieux",
};

/* The organisation likely to be allowed to send req (most of the time), or
 * any organisation (the rest). */
static const char *sender(const mlc_request *req)
{
	static const char *const referrers[] = { "bailleur-est", "ccas-vaulx", "hopital-est" };
	static const char *const partners[] = { "asso-habitat", "asso-relais", "ccas-vaulx" };

	if (next(5) == 0)
		return orgs[next(sizeof(orgs) / sizeof(orgs[0]))];
	switch (req->body_case) {
	case MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD:
	case MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL:
		return referrers[next(3)];
	case MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL:
	case MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE:
	case MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL:
	case MAILLAGE__V1__REQUEST__BODY_ASSIGN_PARTNER:
		return "coord-vaulx-bron";
	case MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING:
	case MAILLAGE__V1__REQUEST__BODY_RECORD_PROCEDURE_STEP:
		return "bailleur-est";
	default:
		return partners[next(3)];
	}
}

static struct mlc *conns[sizeof(orgs) / sizeof(orgs[0])];

/* One connection per organisation, kept for the whole run. */
static struct mlc *connection(const char *org)
{
	for (size_t i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++)
		if (!strcmp(orgs[i], org)) {
			if (!conns[i])
				conns[i] = h_connect(&H, org, NULL, 0);
			return conns[i];
		}
	return NULL;
}

static mlc_request *random_request(void)
{
	static const char *const first[] = { "Ana", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hu" };
	const char *c = n_cases ? cases[next((unsigned)n_cases)] : "VNX-2026-000001";
	char date[11];

	snprintf(date, sizeof(date), "2026-%02u-%02u", 1 + next(11), 1 + next(28));
	switch (next(16)) {
	case 0:
	case 1:
	case 2:
		return h_refer(&H, next(4) ? "vaulx-bron" : "venissieux", "Hasard",
			       first[next(8)], next(2) ? "1970-01-01" : "1980-02-02");
	case 3: return h_acknowledge(&H, c);
	case 4: return h_accept(&H, c, next(2) ? "asso-habitat" : "asso-relais");
	case 5: return h_decline(&H, c);
	case 6: return h_withdraw(&H, c);
	case 7: return h_visit(&H, c, date);
	case 8: return h_propose(&H, c, "bailleur-est");
	case 9: return h_answer(&H, c, 1 + next(2), next(2));
	case 10: return h_sign(&H, c, 1 + next(2));
	case 11: return h_hold(&H, c, next(2));
	case 12: return h_close(&H, c);
	case 13: return h_assign(&H, c, next(2) ? "asso-relais" : "ccas-vaulx", 1 + next(2));
	case 14: return h_release(&H, c, next(2) ? "asso-relais" : "asso-habitat");
	default: return h_step(&H, c, 1 + next(10), date, next(2) ? "2027-01-15" : NULL);
	}
}

static void test_random_sequence(void **state)
{
	int accepted = 0, refused = 0;

	(void)state;
	for (int i = 0; i < STEPS; i++) {
		mlc_request *req = random_request();
		const char *org = sender(req);
		struct mlc *conn = connection(org);
		mlc_response *r;
		int code;

		assert_non_null(conn);
		r = h_call(conn, req);
		assert_non_null(r);
		code = h_code(r);
		if (code == ST(INTERNAL) || code == ST(UNAVAILABLE) || code == ST(RESOURCE_EXHAUSTED))
			fail_msg("step %d as %s: %s", i, org, r->status->message);
		if (code == 0 && req->body_case == MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD &&
		    n_cases < MAX_CASES)
			snprintf(cases[n_cases++], 64, "%s", r->command->case_id);
		accepted += code == 0;
		refused += code != 0;
		mlc_response_free(r);
		h_request_free(req);
	}
	print_message("random sequence: %d accepted, %d refused, %d cases\n", accepted, refused,
		      n_cases);
	assert_true(accepted > STEPS / 20);   /* the generator is not degenerate */
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		mlc_close(conns[i]);
		conns[i] = NULL;
	}
	assert_int_equal(h_verify(&H), 0);
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	assert_int_equal(h_start(&H), 0);
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sequence),
	};

	return cmocka_run_group_tests_name("random", tests, h_group_setup, h_group_teardown);
}
