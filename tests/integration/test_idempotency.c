/* test_idempotency.c - command_id retries (before and after a restart),
 * command_id reuse, expected_version conflicts, and refused commands leaving
 * no trace.
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


static void test_retry_same_command_id(void **state)
{
	mlc_request *refer = h_refer(&H, "vaulx-bron", "Retry", "Rose", "1975-07-14");
	mlc_response *first, *again;
	uint64_t pos;

	(void)state;
	first = h_call_as(&H, "bailleur-est", refer, ST(OK));
	assert_false(first->command->replayed);
	pos = h_last_position(&H);

	/* Same id, same request, new request_id: the stored answer, nothing appended. */
	refer->request_id = 0;
	again = h_call_as(&H, "bailleur-est", refer, ST(OK));
	assert_true(again->command->replayed);
	assert_string_equal(again->command->case_id, first->command->case_id);
	assert_int_equal(again->command->first_position, first->command->first_position);
	assert_int_equal(again->command->case_version, 1);
	assert_int_equal(h_last_position(&H), pos);
	mlc_response_free(again);

	/* After a clean restart (SIGTERM exits 0), still the same answer. */
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	assert_true(h_log_contains(&H, "event=shutdown"));
	assert_int_equal(h_start(&H), 0);
	refer->request_id = 0;
	again = h_call_as(&H, "bailleur-est", refer, ST(OK));
	assert_true(again->command->replayed);
	assert_string_equal(again->command->case_id, first->command->case_id);
	assert_int_equal(h_last_position(&H), pos);
	mlc_response_free(again);

	/* The same id from another organisation is refused. */
	refer->request_id = 0;
	again = h_call_as(&H, "ccas-vaulx", refer, ST(INVALID_ARGUMENT));
	assert_string_equal(again->status->field, "command_id");
	mlc_response_free(again);
	mlc_response_free(first);
	h_request_free(refer);
}

static void test_command_id_reused_for_another_command(void **state)
{
	mlc_request *a = h_refer(&H, "vaulx-bron", "Reuse", "Anne", "1966-06-06");
	mlc_request *b = h_refer(&H, "vaulx-bron", "Reuse", "Bruno", "1967-07-07");
	mlc_response *r;

	(void)state;
	memcpy(b->command_id.data, a->command_id.data, 16);
	mlc_response_free(h_call_as(&H, "bailleur-est", a, ST(OK)));
	r = h_call_as(&H, "bailleur-est", b, ST(INVALID_ARGUMENT));
	assert_string_equal(r->status->field, "command_id");
	assert_non_null(strstr(r->status->message, "different command"));
	mlc_response_free(r);
	h_request_free(a);
	h_request_free(b);
}

static void test_expected_version(void **state)
{
	mlc_request *refer = h_refer(&H, "vaulx-bron", "Version", "Victor", "1955-05-05");
	mlc_request *ack, *accept;
	mlc_response *r;
	char case_id[64];

	(void)state;
	r = h_call_as(&H, "ccas-vaulx", refer, ST(OK));
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);

	ack = h_acknowledge(&H, case_id);
	ack->expected_version = 1;
	r = h_call_as(&H, "coord-vaulx-bron", ack, ST(OK));
	assert_int_equal(r->command->case_version, 2);
	mlc_response_free(r);

	/* A stale expectation: ABORTED with the current version, nothing written. */
	accept = h_accept(&H, case_id, "asso-habitat");
	accept->expected_version = 1;
	r = h_call_as(&H, "coord-vaulx-bron", accept, ST(ABORTED));
	assert_non_null(r->command);
	assert_int_equal(r->command->case_version, 2);
	assert_string_equal(r->status->field, "expected_version");
	mlc_response_free(r);

	/* The refusal left no trace: the same command_id, corrected, goes through. */
	accept->expected_version = 2;
	accept->request_id = 0;
	r = h_call_as(&H, "coord-vaulx-bron", accept, ST(OK));
	assert_false(r->command->replayed);
	assert_int_equal(r->command->case_version, 3);
	mlc_response_free(r);
	h_request_free(refer);
	h_request_free(ack);
	h_request_free(accept);
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_same_command_id),
		cmocka_unit_test(test_command_id_reused_for_another_command),
		cmocka_unit_test(test_expected_version),
	};

	return cmocka_run_group_tests_name("idempotency", tests, h_group_setup, h_group_teardown);
}
