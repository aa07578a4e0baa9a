/* test_journal.c - who read what (issue 5, items 5 and 6): the access
 * journal of reads of personal data with their purpose, who may list it, its
 * own retention; the retention rule erasing closed households; subscriptions
 * carrying no personal data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define PD(x) MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_##x

static char *refer(const char *last_name)
{
	mlc_response *r = h_send_as(&H, "bailleur-est",
				    h_refer(&H, "vaulx-bron", last_name, "Ana", "1975-05-05"),
				    ST(OK));
	char *id = strdup(r->command->case_id);

	mlc_response_free(r);
	return id;
}

static mlc_request *with_purpose(mlc_request *req, const char *purpose)
{
	req->purpose = strdup(purpose);
	return req;
}

static void test_reads_are_journaled(void **state)
{
	char *id = refer("Journalise");
	mlc_response *r;
	char *cursor;

	(void)state;
	h_expect(&H, "bailleur-est",
		 with_purpose(h_get_case(&H, id), "verification avant commission"), ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_history(&H, id), ST(OK));
	/* Refused reads disclose nothing and are not recorded. */
	h_expect(&H, "asso-relais", h_get_case(&H, id), ST(PERMISSION_DENIED));
	h_expect(&H, "funder-metropole", h_get_case(&H, id), ST(PERMISSION_DENIED));

	r = h_send_as(&H, "coord-vaulx-bron", h_journal(&H, id, NULL, 0), ST(OK));
	assert_int_equal(r->access_journal->n_records, 2);
	assert_string_equal(r->access_journal->records[0]->org, "bailleur-est");
	assert_int_equal(r->access_journal->records[0]->kind, MAILLAGE__V1__ORG_KIND__LANDLORD);
	assert_string_equal(r->access_journal->records[0]->query, "get_case");
	assert_string_equal(r->access_journal->records[0]->purpose,
			    "verification avant commission");
	assert_string_equal(r->access_journal->records[0]->case_id, id);
	assert_true(r->access_journal->records[0]->at > 0);
	assert_string_equal(r->access_journal->records[1]->org, "coord-vaulx-bron");
	assert_string_equal(r->access_journal->records[1]->query, "get_case_history");
	assert_string_equal(r->access_journal->records[1]->purpose, "");
	assert_true(r->access_journal->records[1]->at >= r->access_journal->records[0]->at);
	assert_string_equal(r->access_journal->next_cursor, "");
	mlc_response_free(r);

	/* Paged, for auditors too; nobody else may list it. */
	r = h_send_as(&H, "auditor", h_journal(&H, id, NULL, 1), ST(OK));
	assert_int_equal(r->access_journal->n_records, 1);
	assert_string_equal(r->access_journal->records[0]->org, "bailleur-est");
	assert_string_not_equal(r->access_journal->next_cursor, "");
	cursor = strdup(r->access_journal->next_cursor);
	mlc_response_free(r);
	r = h_send_as(&H, "auditor", h_journal(&H, id, cursor, 1), ST(OK));
	assert_int_equal(r->access_journal->n_records, 1);
	assert_string_equal(r->access_journal->records[0]->org, "coord-vaulx-bron");
	mlc_response_free(r);
	free(cursor);
	h_expect(&H, "auditor", h_journal(&H, id, "zz", 0), ST(INVALID_ARGUMENT));
	h_expect(&H, "bailleur-est", h_journal(&H, id, NULL, 0), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-venissieux", h_journal(&H, id, NULL, 0), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-vaulx-bron", h_journal(&H, "VNX-2026-999999", NULL, 0),
		 ST(NOT_FOUND));
	free(id);
}

static void test_notifications_withhold_personal_data(void **state)
{
	uint64_t head = h_last_position(&H);
	struct mlc *c = h_connect(&H, "coord-vaulx-bron", NULL, 0);
	mlc_request *sub = h_subscribe(&H, head, NULL, NULL);
	mlc_response *r;
	char *id;

	(void)state;
	assert_non_null(c);
	r = h_call(c, sub);
	assert_int_equal(h_code(r), 0);
	mlc_response_free(r);
	id = refer("Notifiee");
	do {
		r = mlc_recv(c);
		assert_non_null(r);
	} while (!r->notification && (mlc_response_free(r), 1));
	assert_string_equal(r->notification->event->case_id, id);
	assert_int_equal(r->notification->event->personal_data, PD(WITHHELD));
	assert_null(r->notification->event->sealed);
	assert_int_equal(r->notification->event->household_referred->household_key.len, 0);
	assert_string_equal(r->notification->event->household_referred->referral->household
			    ->reference_person->last_name, "");
	assert_string_equal(r->notification->event->household_referred->referral->household
			    ->commune, "Vaulx-en-Velin");
	mlc_response_free(r);
	h_request_free(sub);
	mlc_close(c);
	free(id);
}

/* A second server with short periods: retention erases closed households
 * and prunes the journal by itself. */
static void test_retention(void **state)
{
	struct harness *saved = malloc(sizeof(H));
	char *closed, *open;
	mlc_response *r;
	int64_t until;
	bool erased = false;

	(void)state;
	*saved = H;
	assert_int_equal(h_setup(&H, "retention_s = 2\nretention_check_s = 1\n"
				      "journal_retention_s = 3"), 0);
	closed = refer("Ancienne");
	open = refer("Encours");
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, closed), ST(OK));
	h_expect(&H, "coord-vaulx-bron", with_purpose(h_get_case(&H, closed), "controle"), ST(OK));
	r = h_send_as(&H, "coord-vaulx-bron", h_journal(&H, closed, NULL, 0), ST(OK));
	assert_int_equal(r->access_journal->n_records, 1);
	mlc_response_free(r);

	until = h_now_us() + 10000000;
	while (!erased && h_now_us() < until) {
		usleep(250000);
		r = h_send_as(&H, "auditor", h_history(&H, closed), ST(OK));
		erased = r->history->n_events == 3;
		if (erased) {
			Maillage__V1__Event *ev = r->history->events[2];

			assert_int_equal(ev->body_case, MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_DATA_ERASED);
			assert_int_equal(ev->household_data_erased->reason,
					 MAILLAGE__V1__ERASURE_REASON__ERASURE_RETENTION);
			assert_string_equal(ev->actor_org, "vaulx-bron");
			assert_int_equal(ev->actor_role, MAILLAGE__V1__ACTOR_ROLE__ROLE_PLATFORM);
			assert_int_equal(r->history->events[0]->personal_data, PD(ERASED));
		}
		mlc_response_free(r);
	}
	assert_true(erased);
	assert_true(h_log_contains(&H, "event=retention_erased platform=vaulx-bron cases=1"));

	/* The open case keeps its data; the journal's old records are gone. */
	r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, open), ST(OK));
	assert_string_equal(r->case_->household->reference_person->last_name, "Encours");
	mlc_response_free(r);
	until = h_now_us() + 10000000;
	do {
		usleep(250000);
		r = h_send_as(&H, "auditor", h_journal(&H, closed, NULL, 0), ST(OK));
		erased = r->access_journal->n_records == 0;   /* listing is not a read */
		mlc_response_free(r);
	} while (!erased && h_now_us() < until);
	assert_true(erased);
	assert_int_equal(h_verify(&H), 0);
	assert_int_equal(h_teardown(&H), 0);
	H = *saved;
	free(saved);
	free(closed);
	free(open);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_are_journaled),
		cmocka_unit_test(test_notifications_withhold_personal_data),
		cmocka_unit_test(test_retention),
	};

	return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
