/* test_evlog_commands.c - the idempotency records and their index in memory
 * (server/evlog_commands.c): records of aborted nested and top-level
 * transactions are never found, their sequences are reused; the index grows;
 * it is loaded again at open; a read-only handle beside a writer catches up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "evlog.h"
#include "fixture.h"

#define MAP (64u << 20)
#define MANY 3000            /* several times the index's first size */

static char dir[FIXTURE_DIR_LEN];

static int setup(void **state)
{
	(void)state;
	return fixture_dir_make(dir, "cmdidx");
}

static int teardown(void **state)
{
	(void)state;
	return fixture_dir_remove(dir);
}

static struct evlog *open_log(bool readonly)
{
	struct evlog *log = fixture_evlog(dir, MAP, readonly);

	assert_non_null(log);
	return log;
}

/* Command id n: its 4 bytes (big-endian) then a fixed pattern. */
static void id_of(uint32_t n, uint8_t id[16])
{
	memset(id, 0xa5, 16);
	id[0] = (uint8_t)(n >> 24);
	id[1] = (uint8_t)(n >> 16);
	id[2] = (uint8_t)(n >> 8);
	id[3] = (uint8_t)n;
}

/* Record command n with first_position n in txn. */
static void put(struct evlog_txn *txn, uint32_t n)
{
	ml_command_record rec = MAILLAGE__V1__COMMAND_RECORD__INIT;
	Maillage__V1__CommandResult res = MAILLAGE__V1__COMMAND_RESULT__INIT;
	uint8_t id[16];

	id_of(n, id);
	res.case_id = "VNX-2026-000001";
	res.first_position = n;
	rec.actor_org = "landlord";
	rec.result = &res;
	assert_int_equal(evlog_command_put(txn, id, &rec), 0);
}

/* Command n's record as txn sees it: its first_position, or 0 when absent. */
static uint64_t get(struct evlog_txn *txn, uint32_t n)
{
	ml_command_record *rec = NULL;
	uint8_t id[16];
	uint64_t pos;
	int rc;

	id_of(n, id);
	rc = evlog_command_get(txn, id, &rec);
	if (rc == ML_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	pos = rec->result->first_position;
	wire_free(rec);
	return pos;
}

/* put(n) in a nested transaction of outer, committed or aborted. */
static void put_nested(struct evlog_txn *outer, uint32_t n, bool commit)
{
	struct evlog_txn *txn;

	assert_int_equal(evlog_txn_nest(outer, &txn), 0);
	put(txn, n);
	assert_int_equal(get(txn, n), n);
	if (commit)
		assert_int_equal(evlog_txn_commit(txn), 0);
	else
		evlog_txn_abort(txn);
}

static void test_aborted_nested_record_is_never_found(void **state)
{
	struct evlog *log = open_log(false);
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	put_nested(txn, 1, false);            /* takes sequence 1, then gives it back */
	put_nested(txn, 2, true);             /* takes sequence 1 again */
	assert_int_equal(get(txn, 1), 0);
	assert_int_equal(get(txn, 2), 2);
	put_nested(txn, 1, true);             /* retried: now recorded */
	assert_int_equal(get(txn, 1), 1);
	assert_int_equal(evlog_txn_commit(txn), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	assert_int_equal(get(txn, 1), 1);
	assert_int_equal(get(txn, 2), 2);
	evlog_txn_abort(txn);
	evlog_close(log);
}

static void test_aborted_batch_is_never_found(void **state)
{
	struct evlog *log = open_log(false);
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	put_nested(txn, 10, true);
	put_nested(txn, 11, true);
	evlog_txn_abort(txn);                 /* the batch's commit failed */
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	assert_int_equal(get(txn, 10), 0);
	assert_int_equal(get(txn, 11), 0);
	put_nested(txn, 12, true);            /* reuses 10's sequence */
	put_nested(txn, 11, true);
	assert_int_equal(evlog_txn_commit(txn), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	assert_int_equal(get(txn, 10), 0);
	assert_int_equal(get(txn, 11), 11);
	assert_int_equal(get(txn, 12), 12);
	evlog_txn_abort(txn);
	evlog_close(log);
}

/* Many records: the table grows; all are found, then again after a reopen
 * (the index loaded from the log). */
static void test_grows_and_loads_at_open(void **state)
{
	struct evlog *log = open_log(false);
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	for (uint32_t n = 1000; n < 1000 + MANY; n++)
		put_nested(txn, n, true);
	assert_int_equal(evlog_txn_commit(txn), 0);
	evlog_close(log);
	log = open_log(false);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	for (uint32_t n = 1000; n < 1000 + MANY; n++)
		assert_int_equal(get(txn, n), n);
	assert_int_equal(get(txn, 1000 + MANY), 0);
	assert_int_equal(get(txn, 1), 1);
	evlog_txn_abort(txn);
	evlog_close(log);
}

/* maillage-admin beside a running server: its index catches up with what
 * the writer recorded after it was opened. */
static void test_reader_catches_up(void **state)
{
	struct evlog *writer = open_log(false), *reader = open_log(true);
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(reader, false, &txn), 0);
	assert_int_equal(get(txn, 1), 1);
	assert_int_equal(get(txn, 50000), 0);
	evlog_txn_abort(txn);
	assert_int_equal(evlog_txn_begin(writer, true, &txn), 0);
	put_nested(txn, 50000, true);
	assert_int_equal(evlog_txn_commit(txn), 0);
	assert_int_equal(evlog_txn_begin(reader, false, &txn), 0);
	assert_int_equal(get(txn, 50000), 50000);
	evlog_txn_abort(txn);
	evlog_close(reader);
	evlog_close(writer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aborted_nested_record_is_never_found),
		cmocka_unit_test(test_aborted_batch_is_never_found),
		cmocka_unit_test(test_grows_and_loads_at_open),
		cmocka_unit_test(test_reader_catches_up),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
