/* test_evlog_streams.c - the streams index (evlog_streams.c): a case's
 * newest events in its tail, moved into streams sixteen at a time; reads by
 * version and scans from any version across both; versions that do not
 * follow the case's last one refused.
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

static char dir[FIXTURE_DIR_LEN];
static struct evlog *log_;

/* Three cases, interleaved: A with 40 events (two moves into streams, 8 in
 * its tail), B with exactly 16 (a full tail), C with 17 (one move, 1 in its
 * tail). Positions in append order; the test reads them back. */
#define N_A 40
#define N_B 16
#define N_C 17
static uint64_t pos_a[N_A + 1], pos_b[N_B + 2], pos_c[N_C + 1];

static int append(struct evlog_txn *txn, const char *case_id, uint32_t version,
		  uint64_t *pos)
{
	ml_event ev = MAILLAGE__V1__EVENT__INIT;
	int rc;

	ev.case_id = (char *)case_id;
	ev.case_version = version;
	ev.platform = "vaulx-bron";
	rc = evlog_append(txn, &ev);
	if (!rc && pos)
		*pos = ev.position;
	return rc;
}

static int setup(void **state)
{
	struct evlog_txn *txn = NULL;
	char err[256];

	(void)state;
	if (fixture_dir_make(dir, "streams") || evlog_open(dir, 16 << 20, false, &log_, err, sizeof(err)))
		return -1;
	/* A transaction every 7 versions: tails carried across commits. */
	for (uint32_t v = 1; v <= N_A; v++) {
		int rc;

		if (!txn && evlog_txn_begin(log_, true, &txn))
			return -1;
		rc = append(txn, "A", v, &pos_a[v]);
		if (!rc && v <= N_B)
			rc = append(txn, "B", v, &pos_b[v]);
		if (!rc && v <= N_C)
			rc = append(txn, "C", v, &pos_c[v]);
		if (rc)
			return -1;
		if (v % 7 == 0 || v == N_A) {
			if (evlog_txn_commit(txn))
				return -1;
			txn = NULL;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	evlog_close(log_);
	return fixture_dir_remove(dir);
}

struct seen {
	uint32_t versions[64];
	uint64_t positions[64];
	size_t n, stop_after;              /* stop_after 0: read to the end */
};

static int collect(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct seen *s = arg;

	(void)raw;
	(void)rawlen;
	if (s->n == 64)
		return ML_EINTERNAL;
	s->versions[s->n] = ev->case_version;
	s->positions[s->n++] = ev->position;
	return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

/* Scan case_id from version `from`; check versions from..last in order at
 * the positions they were appended at. */
static void check_scan(struct evlog_txn *txn, const char *case_id, uint32_t from,
		       const uint64_t *pos, uint32_t last)
{
	struct seen s = { .n = 0 };

	assert_int_equal(evlog_stream_scan(txn, case_id, from, collect, &s), 0);
	assert_int_equal(s.n, from > last ? 0 : last - from + 1);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.versions[i], from + i);
		assert_int_equal(s.positions[i], pos[from + i]);
	}
}

static void test_scan_from_every_version(void **state)
{
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(log_, false, &txn), 0);
	for (uint32_t from = 1; from <= N_A + 1; from++) {
		check_scan(txn, "A", from, pos_a, N_A);
		check_scan(txn, "B", from, pos_b, N_B);
		check_scan(txn, "C", from, pos_c, N_C);
	}
	check_scan(txn, "D", 1, pos_a, 0);
	evlog_txn_abort(txn);
}

static void test_get_every_version(void **state)
{
	struct evlog_txn *txn;
	uint64_t pos, count;

	(void)state;
	assert_int_equal(evlog_txn_begin(log_, false, &txn), 0);
	for (uint32_t v = 1; v <= N_A; v++) {
		assert_int_equal(evlog_stream_get(txn, "A", v, &pos), 0);
		assert_int_equal(pos, pos_a[v]);
	}
	for (uint32_t v = 1; v <= N_C; v++) {
		assert_int_equal(evlog_stream_get(txn, "C", v, &pos), 0);
		assert_int_equal(pos, pos_c[v]);
	}
	assert_int_equal(evlog_stream_get(txn, "A", 0, &pos), ML_ENOTFOUND);
	assert_int_equal(evlog_stream_get(txn, "A", N_A + 1, &pos), ML_ENOTFOUND);
	assert_int_equal(evlog_stream_get(txn, "B", N_B + 1, &pos), ML_ENOTFOUND);
	assert_int_equal(evlog_stream_get(txn, "D", 1, &pos), ML_ENOTFOUND);
	assert_int_equal(evlog_stream_count(txn, &count), 0);
	assert_int_equal(count, N_A + N_B + N_C);
	evlog_txn_abort(txn);
}

/* fn stopping the scan, in streams and in the tail: no error, no more. */
static void test_scan_stops(void **state)
{
	struct evlog_txn *txn;

	(void)state;
	assert_int_equal(evlog_txn_begin(log_, false, &txn), 0);
	for (size_t stop = 1; stop <= N_A; stop += 13) {
		struct seen s = { .stop_after = stop };

		assert_int_equal(evlog_stream_scan(txn, "A", 1, collect, &s), 0);
		assert_int_equal(s.n, stop);
		assert_int_equal(s.versions[stop - 1], stop);
	}
	evlog_txn_abort(txn);
}

/* A version that does not follow the case's last one is refused, whether
 * it repeats one in the tail, one moved into streams, or skips one; nothing
 * of the refused append is visible. */
static void test_out_of_order_refused(void **state)
{
	const struct { const char *case_id; uint32_t version; } bad[] = {
		{ "A", N_A }, { "A", 3 }, { "A", N_A + 2 }, { "B", 1 }, { "C", 17 },
		{ "E", 2 },                /* a new case starts at version 1 */
	};
	struct evlog_txn *txn;
	uint64_t count, pos;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(evlog_txn_begin(log_, true, &txn), 0);
		assert_int_equal(append(txn, bad[i].case_id, bad[i].version, NULL), ML_ECORRUPT);
		evlog_txn_abort(txn);
	}
	/* The full tail of B moves into streams at its next event. */
	assert_int_equal(evlog_txn_begin(log_, true, &txn), 0);
	assert_int_equal(append(txn, "B", N_B + 1, &pos), 0);
	assert_int_equal(evlog_txn_commit(txn), 0);
	pos_b[N_B + 1] = pos;
	assert_int_equal(evlog_txn_begin(log_, false, &txn), 0);
	check_scan(txn, "B", 1, pos_b, N_B + 1);
	check_scan(txn, "B", N_B, pos_b, N_B + 1);
	assert_int_equal(evlog_stream_count(txn, &count), 0);
	assert_int_equal(count, N_A + N_B + 1 + N_C);
	evlog_txn_abort(txn);
	assert_int_equal(evlog_txn_begin(log_, true, &txn), 0);
	assert_int_equal(append(txn, "B", 5, NULL), ML_ECORRUPT);
	evlog_txn_abort(txn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_from_every_version),
		cmocka_unit_test(test_get_every_version),
		cmocka_unit_test(test_scan_stops),
		cmocka_unit_test(test_out_of_order_refused),
	};

	return cmocka_run_group_tests_name("evlog_streams", tests, setup, teardown);
}
