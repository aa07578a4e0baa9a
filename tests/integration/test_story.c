/* test_story.c - the whole life of a case through the real server: referral
 * by a landlord, acknowledgement and acceptance by coordination, a visit by
 * the lead partner, a rehousing proposal, closure; then the case and its
 * history read back, the hash chain checked and the data directory verified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x


static void test_full_story(void **state)
{
	mlc_response *r;
	char case_id[64];

	(void)state;
	r = h_send_as(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Benali", "Samira", "1984-03-12"),
		    ST(OK));
	assert_non_null(r->command);
	assert_int_equal(r->command->case_version, 1);
	assert_int_equal(r->command->first_position, 1);
	assert_int_equal(strncmp(r->command->case_id, "VNX-", 4), 0);
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);

	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, case_id), ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, case_id, "asso-habitat"), ST(OK));
	h_expect(&H, "asso-habitat", h_visit(&H, case_id, "2026-11-02"), ST(OK));
	h_expect(&H, "bailleur-est", h_propose(&H, case_id, "bailleur-est"), ST(OK));
	h_expect(&H, "asso-habitat", h_close(&H, case_id), ST(OK));

	/* The case as it stands, read by the referrer. */
	r = h_send_as(&H, "bailleur-est", h_get_case(&H, case_id), ST(OK));
	assert_non_null(r->case_);
	assert_int_equal(r->case_->summary->state, MAILLAGE__V1__CASE_STATE__CLOSED);
	assert_int_equal(r->case_->summary->version, 6);
	assert_string_equal(r->case_->summary->lead_partner, "asso-habitat");
	assert_string_equal(r->case_->summary->last_visit_date, "2026-11-02");
	assert_int_equal(r->case_->summary->visit_count, 1);
	assert_int_equal(r->case_->summary->proposal_count, 1);
	assert_int_equal(r->case_->summary->outcome,
			 MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_KEPT_IN_DWELLING);
	assert_non_null(r->case_->household);
	assert_string_equal(r->case_->household->reference_person->last_name, "Benali");
	mlc_response_free(r);
}

/* The history replays in order, each event chained to the previous one. */
static void test_history_and_chain(void **state)
{
	static const int bodies[] = {
		MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED,
		MAILLAGE__V1__EVENT__BODY_REFERRAL_ACKNOWLEDGED,
		MAILLAGE__V1__EVENT__BODY_CASE_ACCEPTED,
		MAILLAGE__V1__EVENT__BODY_VISIT_RECORDED,
		MAILLAGE__V1__EVENT__BODY_REHOUSING_PROPOSED,
		MAILLAGE__V1__EVENT__BODY_SUPPORT_CLOSED,
	};
	uint8_t zero[32] = { 0 }, prev[32];
	mlc_response *r, *e;

	(void)state;
	r = h_send_as(&H, "auditor", h_history(&H, "VNX-2026-000001"), ST(OK));
	assert_non_null(r->history);
	assert_int_equal(r->history->n_events, 6);
	assert_int_equal(r->history->next_version, 0);
	for (size_t i = 0; i < r->history->n_events; i++) {
		Maillage__V1__Event *ev = r->history->events[i];

		assert_int_equal(ev->case_version, i + 1);
		assert_int_equal(ev->position, i + 1);
		assert_int_equal(ev->body_case, bodies[i]);
		assert_int_equal(ev->command_id.len, 16);
		assert_null(ev->sealed);     /* opened for the reader */
	}
	/* The chain, over the log as stored (personal fields sealed). */
	e = h_send_as(&H, "auditor", h_read_events(&H, 1, 0), ST(OK));
	assert_int_equal(e->events->n_events, 6);
	memcpy(prev, zero, 32);
	for (size_t i = 0; i < e->events->n_events; i++) {
		Maillage__V1__Event *ev = e->events->events[i];
		size_t len = maillage__v1__event__get_packed_size(ev);
		uint8_t buf[4096];

		assert_int_equal(ev->prev_hash.len, 32);
		assert_memory_equal(ev->prev_hash.data, prev, 32);
		assert_true(len < sizeof(buf));
		maillage__v1__event__pack(ev, buf);
		SHA256(buf, len, prev);
	}
	assert_non_null(e->events->events[0]->sealed);
	mlc_response_free(e);
	assert_string_equal(r->history->events[0]->actor_org, "bailleur-est");
	assert_int_equal(r->history->events[2]->actor_role,
			 MAILLAGE__V1__ACTOR_ROLE__ROLE_COORDINATION);
	assert_int_equal(r->history->events[3]->actor_role,
			 MAILLAGE__V1__ACTOR_ROLE__ROLE_LEAD_PARTNER);
	mlc_response_free(r);
	assert_int_equal(h_verify(&H), 0);
}

/* Illegal transitions answer FAILED_PRECONDITION naming the state. */
static void test_illegal_transitions(void **state)
{
	mlc_response *r;
	char case_id[64];

	(void)state;
	r = h_send_as(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "Martin", "Paul", "1970-01-01"),
		    ST(OK));
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);
	/* accept needs ACKNOWLEDGED */
	r = h_send_as(&H, "coord-vaulx-bron", h_accept(&H, case_id, "asso-habitat"),
		    ST(FAILED_PRECONDITION));
	assert_non_null(strstr(r->status->message, "REFERRED"));
	mlc_response_free(r);
	h_expect(&H, "ccas-vaulx", h_visit(&H, case_id, "2026-11-02"), ST(PERMISSION_DENIED));
	h_expect(&H, "ccas-vaulx", h_withdraw(&H, case_id), ST(OK));
	/* final: nothing more */
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, case_id), ST(FAILED_PRECONDITION));
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, case_id), ST(FAILED_PRECONDITION));
}

/* A household with an open case on the platform cannot be referred again;
 * once the case is final it can, and gets a new case. */
static void test_already_exists(void **state)
{
	mlc_response *r;
	char case_id[64];

	(void)state;
	r = h_send_as(&H, "hopital-est", h_refer(&H, "vaulx-bron", "N'Diaye", "Élodie-Marie",
					   "1990-05-05"), ST(OK));
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);
	r = h_send_as(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "ndiaye", "elodie marie",
					  "1990-05-05"), ST(ALREADY_EXISTS));
	assert_non_null(r->command);
	assert_string_equal(r->command->case_id, case_id);
	mlc_response_free(r);
	/* another platform is another matter */
	h_expect(&H, "hopital-est", h_refer(&H, "venissieux", "N'Diaye", "Élodie-Marie", "1990-05-05"),
	       ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, case_id), ST(OK));
	r = h_send_as(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "ndiaye", "elodie marie",
					  "1990-05-05"), ST(OK));
	assert_string_not_equal(r->command->case_id, case_id);
	mlc_response_free(r);
}

/* Ping {counters}: what the server did since it started. */
static void test_counters(void **state)
{
	mlc_request *req = h_ping(&H);
	const Maillage__V1__ServerCounters *c;
	uint64_t batches = 0, refer_ok = 0;
	uint64_t timed = 0;
	mlc_response *r;

	(void)state;
	req->ping->counters = 1;
	r = h_send_as(&H, "funder-metropole", req, ST(OK));
	c = r->pong->counters;
	assert_non_null(c);
	assert_true(c->commits >= 1);
	assert_int_equal(c->events, r->pong->last_position);   /* a fresh server */
	assert_true(c->jobs >= c->commits);
	for (size_t i = 0; i < c->n_batch_sizes; i++)
		batches += c->batch_sizes[i];
	assert_int_equal(batches, c->commits);
	for (size_t i = 0; i < c->n_commands; i++)
		if (!strcmp(c->commands[i]->command, "refer_household") && !c->commands[i]->status)
			refer_ok = c->commands[i]->count;
	assert_true(refer_ok >= 1);
	/* Every command came through a connection, which prepares it. */
	assert_int_equal(c->commands_unprepared, 0);
	assert_true(c->batch_us_total >= c->batch_us_max);
	/* Every commit in one bucket of commit time; bounds ascending. */
	assert_true(c->n_commit_us_bounds >= 2);
	assert_int_equal(c->n_commit_us_counts, c->n_commit_us_bounds + 1);
	for (size_t i = 0; i < c->n_commit_us_counts; i++)
		timed += c->commit_us_counts[i];
	assert_int_equal(timed, c->commits);
	for (size_t i = 1; i < c->n_commit_us_bounds; i++)
		assert_true(c->commit_us_bounds[i] > c->commit_us_bounds[i - 1]);
	assert_true(c->cpu_user_us + c->cpu_system_us > 0);
	assert_true(c->rss_bytes > 0 && c->rss_max_bytes >= c->rss_bytes / 2);
	assert_true(c->connections >= 1);
	mlc_response_free(r);
	/* Without the flag, no counters. */
	r = h_send_as(&H, "funder-metropole", h_ping(&H), ST(OK));
	assert_null(r->pong->counters);
	mlc_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_story),
		cmocka_unit_test(test_history_and_chain),
		cmocka_unit_test(test_illegal_transitions),
		cmocka_unit_test(test_already_exists),
		cmocka_unit_test(test_counters),
	};

	return cmocka_run_group_tests_name("story", tests, h_group_setup, h_group_teardown);
}
