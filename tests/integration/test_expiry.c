/* test_expiry.c - referrals left without a decision expire: the server
 * appends ReferralExpired itself (actor: the platform), decided cases are
 * left alone, and the household can be referred again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define STATE(x) MAILLAGE__V1__CASE_STATE__##x


static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "referral_expiry_s = 3\nexpiry_check_s = 1");
}

static void refer(const char *first, char *case_id)
{
	mlc_response *r = h_send_as(&H, "ccas-vaulx",
				    h_refer(&H, "vaulx-bron", "Expiry", first, "1960-06-06"), 0);

	snprintf(case_id, 64, "%s", r->command->case_id);
	mlc_response_free(r);
}

static int state_of(const char *case_id)
{
	mlc_response *r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, case_id), 0);
	int s = r->case_->summary->state;

	mlc_response_free(r);
	return s;
}

static void test_undecided_referrals_expire(void **state)
{
	char referred[64], acknowledged[64], accepted[64];
	struct timespec pause = { .tv_nsec = 200 * 1000000 };
	mlc_response *r;
	Maillage__V1__Event *last;

	(void)state;
	refer("Ana", referred);
	refer("Bob", acknowledged);
	refer("Cyd", accepted);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, acknowledged), 0);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, accepted), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, accepted, "asso-habitat"), 0);
	/* Due after 3 s, looked for every second: wait for it (30 s at most). */
	for (int i = 0; i < 150 && state_of(acknowledged) != STATE(EXPIRED); i++)
		nanosleep(&pause, NULL);
	assert_int_equal(state_of(referred), STATE(EXPIRED));
	assert_int_equal(state_of(acknowledged), STATE(EXPIRED));
	assert_int_equal(state_of(accepted), STATE(IN_SUPPORT));
	assert_true(h_log_contains(&H, "event=referral_expired"));

	r = h_send_as(&H, "auditor", h_history(&H, referred), 0);
	assert_int_equal(r->history->n_events, 2);
	last = r->history->events[1];
	assert_int_equal(last->body_case, MAILLAGE__V1__EVENT__BODY_REFERRAL_EXPIRED);
	assert_string_equal(last->actor_org, "vaulx-bron");
	assert_int_equal(last->actor_role, MAILLAGE__V1__ACTOR_ROLE__ROLE_PLATFORM);
	assert_int_equal(last->command_id.len, 0);
	assert_int_equal(last->referral_expired->after_seconds, 3);
	mlc_response_free(r);

	/* final: no decision any more; the household may be referred again */
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, referred), ST(FAILED_PRECONDITION));
	h_expect(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "Expiry", "Ana", "1960-06-06"), 0);
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_undecided_referrals_expire),
	};

	return cmocka_run_group_tests_name("expiry", tests, setup, h_group_teardown);
}
