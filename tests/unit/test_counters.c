/* test_counters.c - the server's counters as a Ping reads them: commands by
 * type and status, the commands the writer prepared itself, batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "counters.h"
#include "err.h"
#include "wire.h"

#define BODY(x) MAILLAGE__V1__REQUEST__BODY_##x

/* Commands counted by type and status; those without the loop thread's
 * preparation counted apart. */
static void test_commands(void **state)
{
	Maillage__V1__ServerCounters out = MAILLAGE__V1__SERVER_COUNTERS__INIT;
	struct counters *c = counters_new();
	uint64_t visits = 0;

	(void)state;
	assert_non_null(c);
	counters_command(c, BODY(RECORD_VISIT), 0, true);
	counters_command(c, BODY(RECORD_VISIT), 0, false);
	counters_command(c, BODY(REFER_HOUSEHOLD), 0, true);
	counters_command(c, -1, 0, false);           /* out of range: not counted */
	assert_int_equal(counters_fill(c, &out), 0);
	assert_int_equal(out.commands_unprepared, 1);
	for (size_t i = 0; i < out.n_commands; i++)
		if (!strcmp(out.commands[i]->command, "record_visit"))
			visits = out.commands[i]->count;
	assert_int_equal(visits, 2);
	assert_int_equal(out.n_commands, 2);
	counters_release(&out);
	counters_free(c);
}

/* A batch counts its jobs, events and time, in one bucket of each. */
static void test_batches(void **state)
{
	Maillage__V1__ServerCounters out = MAILLAGE__V1__SERVER_COUNTERS__INIT;
	struct counters *c = counters_new();
	uint64_t timed = 0;

	(void)state;
	assert_non_null(c);
	counters_batch(c, 5, 7, 1200);
	assert_int_equal(counters_fill(c, &out), 0);
	assert_int_equal(out.commits, 1);
	assert_int_equal(out.events, 7);
	assert_int_equal(out.jobs, 5);
	assert_int_equal(out.batch_us_max, 1200);
	assert_int_equal(out.n_batch_sizes, 3);          /* 5 is in [2] 4-7 */
	assert_int_equal(out.batch_sizes[2], 1);
	for (size_t i = 0; i < out.n_commit_us_counts; i++)
		timed += out.commit_us_counts[i];
	assert_int_equal(timed, 1);
	assert_int_equal(out.commands_unprepared, 0);
	counters_release(&out);
	counters_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
