/* test_durability.c - SIGKILL in the middle of a stream of pipelined commands:
 * after a restart every acknowledged command is there exactly once with the
 * answer it was given, nothing unacknowledged is half there, the log verifies.
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

#define N_COMMANDS 3000
#define KILL_AFTER 400     /* replies read before the kill */


struct sent {
	mlc_request *req;
	char case_id[64];     /* the acknowledged answer, "" if none */
};

static struct sent sent[N_COMMANDS];

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N_COMMANDS; i++)
		h_request_free(sent[i].req);
	return h_teardown(&H);
}

static void test_kill_mid_stream(void **state)
{
	struct mlc *c = h_connect(&H, "bailleur-est", NULL, 0);
	mlc_response *resp;
	int acked = 0, replayed = 0;
	char first[32];

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < N_COMMANDS; i++) {
		snprintf(first, sizeof(first), "Personne%d", i);
		sent[i].req = h_refer(&H, "vaulx-bron", "Durable", first, "1980-01-01");
		assert_int_equal(mlc_send(c, sent[i].req), 0);
	}
	/* Read some replies, then kill while the rest are being committed. */
	while ((resp = mlc_recv(c))) {
		uint64_t id = resp->request_id;

		assert_true(id >= sent[0].req->request_id);
		assert_int_equal(h_code(resp), 0);
		snprintf(sent[id - sent[0].req->request_id].case_id, 64, "%s",
			 resp->command->case_id);
		mlc_response_free(resp);
		if (++acked == KILL_AFTER)
			assert_int_equal(h_stop(&H, SIGKILL), 128 + SIGKILL);
	}
	mlc_close(c);
	print_message("acknowledged before the kill: %d of %d\n", acked, N_COMMANDS);
	assert_true(acked >= KILL_AFTER);

	assert_int_equal(h_start(&H), 0);
	assert_int_equal(h_verify(&H), 0);
	/* Nothing beyond what was committed; at least what was acknowledged. */
	assert_true(h_last_position(&H) >= (uint64_t)acked);
	assert_true(h_last_position(&H) <= N_COMMANDS);

	/* Retry everything with the same command ids. */
	c = h_connect(&H, "bailleur-est", NULL, 0);
	assert_non_null(c);
	for (int i = 0; i < N_COMMANDS; i++) {
		resp = h_call(c, sent[i].req);
		assert_int_equal(h_code(resp), 0);
		if (sent[i].case_id[0]) {
			assert_true(resp->command->replayed);
			assert_string_equal(resp->command->case_id, sent[i].case_id);
		}
		replayed += resp->command->replayed;
		mlc_response_free(resp);
	}
	mlc_close(c);
	print_message("replayed after restart: %d (acknowledged %d)\n", replayed, acked);
	/* Exactly one event per command: no duplicate, no loss, no fragment. */
	assert_int_equal(h_last_position(&H), N_COMMANDS);
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_mid_stream),
	};

	return cmocka_run_group_tests_name("durability", tests, h_group_setup, teardown);
}
