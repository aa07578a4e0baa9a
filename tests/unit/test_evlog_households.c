/* test_evlog_households.c - households' records by household key and their
 * index in memory (server/evlog_households.c): rows under the household's
 * anchor; entries of aborted transactions are never taken for a household;
 * the index grows, is built again after a reopen, preloaded, caught up by a
 * read-only handle; a household keeps its first anchor; the loader refuses
 * what is there already; a data key may come before its household's record;
 * a thread reading (the loop's history reads) while the writer's puts grow
 * the index finds every household it should.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "evlog.h"
#include "evlog_int.h"
#include "fixture.h"

#define MAP (64u << 20)
#define MANY 3000            /* several times the index's first size (1024) */
#define PLATFORM "vaulx-bron"
#define GROWN 40000          /* the index doubles seven times on the way */
#define BATCH 500            /* households per write transaction */

static char dir[FIXTURE_DIR_LEN];
/* What a test has open, closed by teardown when the test failed midway. */
static struct evlog *elog, *reader;
static struct evlog_txn *txn, *rtxn;

/* test_reader_thread_during_growth's reading thread: in read transactions
 * of its own, until told to stop, it looks up the households committed when
 * each transaction began (a sample of them, the newest always) and one never
 * put. Failures are counted, not asserted: cmocka's checks belong to the
 * test's thread. Stopped by the test, or by teardown when the test failed
 * midway (before elog is closed). */
struct growth {
	struct evlog *log;
	pthread_t thread;
	bool running;
	atomic_uint committed;      /* households 1..committed are committed */
	atomic_uint rounds;         /* read transactions done */
	atomic_bool stop;
	unsigned failures, lookups, partial;   /* partial: rounds amid the puts */
};
static struct growth growth;

static void growth_stop(struct growth *g)
{
	if (!g->running)
		return;
	atomic_store(&g->stop, true);
	pthread_join(g->thread, NULL);
	g->running = false;
}

static int setup(void **state)
{
	(void)state;
	return fixture_dir_make(dir, "hhidx");
}

static int teardown(void **state)
{
	(void)state;
	growth_stop(&growth);
	evlog_txn_abort(rtxn);
	evlog_txn_abort(txn);
	if (reader)
		evlog_close(reader);
	if (elog)
		evlog_close(elog);
	rtxn = txn = NULL;
	reader = elog = NULL;
	return fixture_dir_remove(dir);
}

static struct evlog *open_log(bool readonly)
{
	struct evlog *log = fixture_evlog(dir, MAP, readonly);

	assert_non_null(log);
	return log;
}

static void close_log(struct evlog **log)
{
	evlog_close(*log);
	*log = NULL;
}

static void begin(struct evlog *log, bool write, struct evlog_txn **t)
{
	assert_int_equal(evlog_txn_begin(log, write, t), 0);
}

static void commit(struct evlog_txn **t)
{
	int rc = evlog_txn_commit(*t);

	*t = NULL;
	assert_int_equal(rc, 0);
}

static void abort_txn(struct evlog_txn **t)
{
	evlog_txn_abort(*t);
	*t = NULL;
}

/* Household n's key: its first 8 bytes (the index's tag) spread n over the
 * table; the other 24 a pattern of `variant`, so that households n of two
 * variants share their tag. */
static void hk_of(uint32_t n, uint8_t variant, uint8_t hk[WIRE_HASH_LEN])
{
	uint64_t tag = (uint64_t)n * 0x9e3779b97f4a7c15ull;

	memcpy(hk, &tag, sizeof(tag));
	memset(hk + sizeof(tag), 0x5a ^ variant, WIRE_HASH_LEN - sizeof(tag));
}

/* A record of cases listing case "C-<n>". */
struct cases {
	ml_household_cases hc;
	char id[24];
	char *ids[1];
};

static void cases_init(struct cases *c, uint32_t n)
{
	c->hc = (ml_household_cases)MAILLAGE__V1__HOUSEHOLD_CASES__INIT;
	snprintf(c->id, sizeof(c->id), "C-%u", n);
	c->ids[0] = c->id;
	c->hc.case_ids = c->ids;
	c->hc.n_case_ids = 1;
}

/* Put hk's record, listing case n, as a new household anchored at `at`. */
static int put(struct evlog_txn *t, const uint8_t *hk, uint64_t at, uint32_t n)
{
	struct cases c;

	cases_init(&c, n);
	return evlog_household_put(t, hk, at, &c.hc);
}

static int append(struct evlog_txn *t, const uint8_t *hk, uint64_t at, uint32_t n)
{
	struct cases c;

	cases_init(&c, n);
	return evlog_household_append(t, hk, at, &c.hc);
}

/* The case n hk's record lists as t sees it in *n (0 when hk has no
 * record): 0, ML_ECORRUPT for a record that does not list one case "C-<n>",
 * or evlog_household_get()'s error. Asserts nothing (any thread). */
static int case_of(struct evlog_txn *t, const uint8_t *hk, uint32_t *n)
{
	ml_household_cases *hc = NULL;
	int rc = evlog_household_get(t, hk, &hc);

	*n = 0;
	if (rc)
		return rc == ML_ENOTFOUND ? 0 : rc;
	if (hc->n_case_ids != 1 || sscanf(hc->case_ids[0], "C-%u", n) != 1)
		rc = ML_ECORRUPT;
	wire_free(hc);
	return rc;
}

/* The case n hk's record lists as t sees it, 0 when hk has no record. */
static uint32_t get(struct evlog_txn *t, const uint8_t *hk)
{
	uint32_t n;

	assert_int_equal(case_of(t, hk, &n), 0);
	return n;
}

static uint32_t get_n(struct evlog_txn *t, uint32_t n, uint8_t variant)
{
	uint8_t hk[WIRE_HASH_LEN];

	hk_of(n, variant, hk);
	return get(t, hk);
}

/* In a read transaction of log, hks[i] lists case want[i] (0: no record),
 * for i < n. */
static void expect_found(struct evlog *log, size_t n, const uint8_t *const *hks,
			 const uint32_t *want)
{
	begin(log, false, &rtxn);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(get(rtxn, hks[i]), want[i]);
	abort_txn(&rtxn);
}

/* The anchor hk's rows are under in t, 0 when it has no record. */
static uint64_t anchor(struct evlog_txn *t, const uint8_t *hk)
{
	struct evlog_hh h;
	int rc = evlog_hh_find(t, hk, &h);

	if (rc == ML_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	assert_int_equal(h.len, EVLOG_ANCHOR_LEN + WIRE_HASH_LEN);
	return h.at;
}

/* Whether households has the row of hk at anchor `at`, with platform
 * appended when not NULL (a data key's row). */
static bool row_at(struct evlog_txn *t, uint64_t at, const uint8_t *hk, const char *platform)
{
	uint8_t key[EVLOG_ANCHOR_LEN + WIRE_HASH_LEN + 64];
	size_t len = EVLOG_ANCHOR_LEN + WIRE_HASH_LEN;
	MDB_val val;
	int rc;

	evlog_put_be64(key, at);
	memcpy(key + EVLOG_ANCHOR_LEN, hk, WIRE_HASH_LEN);
	if (platform) {
		memcpy(key + len, platform, strlen(platform));
		len += strlen(platform);
	}
	rc = evlog_get_raw(t, DB_HOUSEHOLDS, key, len, &val);
	if (rc != ML_ENOTFOUND)
		assert_int_equal(rc, 0);
	return !rc;
}

/* A data key whose kek_epoch is epoch. */
struct dkey {
	ml_data_key dk;
	uint8_t id[8];
	uint8_t wrapped[60];
};

static void dkey_init(struct dkey *k, uint64_t epoch)
{
	k->dk = (ml_data_key)MAILLAGE__V1__DATA_KEY__INIT;
	memset(k->id, 0x11, sizeof(k->id));
	memset(k->wrapped, 0x22, sizeof(k->wrapped));
	k->dk.key_id = (ProtobufCBinaryData){ .len = sizeof(k->id), .data = k->id };
	k->dk.wrapped = (ProtobufCBinaryData){ .len = sizeof(k->wrapped), .data = k->wrapped };
	k->dk.kek_epoch = epoch;
}

/* The kek_epoch of hk's data key on PLATFORM, 0 when there is none. */
static uint64_t key_epoch(struct evlog_txn *t, const uint8_t *hk)
{
	ml_data_key *dk = NULL;
	uint64_t epoch;
	int rc = evlog_datakey_get(t, hk, PLATFORM, &dk);

	if (rc == ML_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	epoch = dk->kek_epoch;
	wire_free(dk);
	return epoch;
}

static void test_put_then_get_and_key_layout(void **state)
{
	uint8_t hk[WIRE_HASH_LEN], other[WIRE_HASH_LEN];
	struct dkey k;

	(void)state;
	hk_of(1, 0, hk);
	hk_of(2, 0, other);
	dkey_init(&k, 7);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(get(txn, hk), 0);
	assert_int_equal(put(txn, hk, 0x0102030405060708ull, 1), 0);
	assert_int_equal(get(txn, hk), 1);
	assert_int_equal(get(txn, other), 0);
	assert_int_equal(anchor(txn, hk), 0x0102030405060708ull);
	/* The record's key: the anchor (big-endian) then the household key;
	 * the data key's: the same then the platform id. */
	assert_true(row_at(txn, 0x0102030405060708ull, hk, NULL));
	assert_int_equal(evlog_datakey_put(txn, hk, PLATFORM, 0, &k.dk, false), 0);
	assert_int_equal(key_epoch(txn, hk), 7);
	assert_true(row_at(txn, 0x0102030405060708ull, hk, PLATFORM));
	commit(&txn);

	begin(elog, false, &rtxn);
	assert_int_equal(get(rtxn, hk), 1);
	assert_int_equal(get(rtxn, other), 0);
	assert_int_equal(key_epoch(rtxn, hk), 7);
	assert_int_equal(key_epoch(rtxn, other), 0);
	assert_true(row_at(rtxn, 0x0102030405060708ull, hk, NULL));
	assert_true(row_at(rtxn, 0x0102030405060708ull, hk, PLATFORM));
	abort_txn(&rtxn);
	close_log(&elog);
}

/* put(hk, at, n) in a nested transaction of outer, committed or aborted. */
static void put_nested(struct evlog_txn *outer, const uint8_t *hk, uint64_t at, uint32_t n,
		       bool keep)
{
	struct evlog_txn *t;

	assert_int_equal(evlog_txn_nest(outer, &t), 0);
	assert_int_equal(put(t, hk, at, n), 0);
	assert_int_equal(get(t, hk), n);
	if (keep)
		assert_int_equal(evlog_txn_commit(t), 0);
	else
		evlog_txn_abort(t);
}

/* A household put in an aborted nested transaction is not found; its
 * anchor goes to another household, which is; so does its tag. */
static void test_aborted_nested_household_is_never_found(void **state)
{
	uint8_t a[WIRE_HASH_LEN], b[WIRE_HASH_LEN], twin[WIRE_HASH_LEN];

	(void)state;
	hk_of(10, 0, a);
	hk_of(11, 0, b);
	hk_of(10, 1, twin);          /* a's tag, another household */
	elog = open_log(false);
	begin(elog, true, &txn);
	put_nested(txn, a, 5, 10, false);
	assert_int_equal(get(txn, a), 0);
	put_nested(txn, b, 5, 11, true);      /* a's anchor, given back */
	assert_int_equal(get(txn, a), 0);
	assert_int_equal(get(txn, b), 11);
	put_nested(txn, twin, 6, 12, false);
	put_nested(txn, a, 6, 13, true);      /* retried under twin's anchor */
	assert_int_equal(get(txn, a), 13);
	assert_int_equal(get(txn, twin), 0);
	assert_int_equal(anchor(txn, a), 6);
	assert_int_equal(anchor(txn, b), 5);
	commit(&txn);

	expect_found(elog, 3, (const uint8_t *const[]){ a, b, twin }, (uint32_t[]){ 13, 11, 0 });
	close_log(&elog);

	/* The same from an index built from LMDB. */
	elog = open_log(false);
	expect_found(elog, 3, (const uint8_t *const[]){ a, b, twin }, (uint32_t[]){ 13, 11, 0 });
	close_log(&elog);
}

static void test_aborted_batch_household_is_never_found(void **state)
{
	uint8_t a[WIRE_HASH_LEN], b[WIRE_HASH_LEN], twin[WIRE_HASH_LEN];

	(void)state;
	hk_of(20, 0, a);
	hk_of(21, 0, b);
	hk_of(20, 1, twin);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, b, 1, 21), 0);
	commit(&txn);

	begin(elog, true, &txn);
	put_nested(txn, a, 7, 20, true);
	put_nested(txn, twin, 8, 22, true);
	abort_txn(&txn);                      /* the batch's commit failed */

	begin(elog, true, &txn);
	assert_int_equal(get(txn, a), 0);
	assert_int_equal(get(txn, twin), 0);
	assert_int_equal(get(txn, b), 21);
	put_nested(txn, twin, 7, 23, true);   /* a's anchor */
	assert_int_equal(get(txn, twin), 23);
	assert_int_equal(get(txn, a), 0);
	commit(&txn);

	begin(elog, false, &rtxn);
	assert_int_equal(get(rtxn, a), 0);
	assert_int_equal(get(rtxn, twin), 23);
	assert_int_equal(get(rtxn, b), 21);
	assert_int_equal(anchor(rtxn, twin), 7);
	abort_txn(&rtxn);
	close_log(&elog);
}

/* Every household of 1..MANY (anchor n, case n) and none past them. */
static void check_many(struct evlog *log)
{
	begin(log, false, &rtxn);
	for (uint32_t n = 1; n <= MANY; n++)
		assert_int_equal(get_n(rtxn, n, 0), n);
	assert_int_equal(get_n(rtxn, MANY + 1, 0), 0);
	assert_int_equal(get_n(rtxn, 1, 1), 0);
	abort_txn(&rtxn);
}

/* Many households: the index grows; all are found after the commit, after a
 * reopen (the index built from LMDB at the first lookup) and after a
 * preload. */
static void test_grows_and_loads_at_open(void **state)
{
	uint8_t hk[WIRE_HASH_LEN];

	(void)state;
	elog = open_log(false);
	begin(elog, true, &txn);
	for (uint32_t n = 1; n <= MANY; n++) {
		hk_of(n, 0, hk);
		if (n % 2)
			put_nested(txn, hk, n, n, true);
		else
			assert_int_equal(put(txn, hk, n, n), 0);
	}
	commit(&txn);
	check_many(elog);
	close_log(&elog);

	elog = open_log(false);
	check_many(elog);
	close_log(&elog);

	elog = open_log(false);
	assert_int_equal(evlog_households_preload(elog), 0);
	check_many(elog);
	/* A preload after lookups adds nothing twice: still found once each. */
	assert_int_equal(evlog_households_preload(elog), 0);
	check_many(elog);
	close_log(&elog);

	reader = open_log(true);
	assert_int_equal(evlog_households_preload(reader), 0);
	check_many(reader);
	close_log(&reader);
}

/* maillage-admin beside a running server: a read-only handle whose index
 * was built catches up with what the writer added after it. */
static void test_reader_catches_up(void **state)
{
	uint8_t old[WIRE_HASH_LEN], new[WIRE_HASH_LEN], late[WIRE_HASH_LEN];

	(void)state;
	hk_of(30, 0, old);
	hk_of(31, 0, new);
	hk_of(32, 0, late);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, old, 100, 30), 0);
	commit(&txn);

	reader = open_log(true);
	begin(reader, false, &rtxn);
	assert_int_equal(get(rtxn, old), 30);
	assert_int_equal(get(rtxn, new), 0);
	abort_txn(&rtxn);
	begin(reader, false, &rtxn);          /* a snapshot without new */

	begin(elog, true, &txn);
	assert_int_equal(put(txn, new, 200, 31), 0);
	commit(&txn);

	assert_int_equal(get(rtxn, new), 0);
	abort_txn(&rtxn);
	begin(reader, false, &rtxn);
	assert_int_equal(get(rtxn, new), 31);
	assert_int_equal(get(rtxn, old), 30);
	assert_int_equal(key_epoch(rtxn, new), 0);
	abort_txn(&rtxn);

	/* Again, the reader's first lookup being of an old household. */
	begin(elog, true, &txn);
	assert_int_equal(put(txn, late, 300, 32), 0);
	commit(&txn);
	begin(reader, false, &rtxn);
	assert_int_equal(get(rtxn, old), 30);
	assert_int_equal(get(rtxn, late), 32);
	abort_txn(&rtxn);
	close_log(&reader);
	close_log(&elog);
}

/* A second put of a household replaces its record under its first anchor;
 * `at` is not used. */
static void test_second_put_keeps_first_anchor(void **state)
{
	uint8_t hk[WIRE_HASH_LEN];
	struct dkey k;

	(void)state;
	hk_of(40, 0, hk);
	dkey_init(&k, 3);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, hk, 100, 40), 0);
	commit(&txn);

	begin(elog, true, &txn);
	assert_int_equal(put(txn, hk, 200, 41), 0);
	assert_int_equal(put(txn, hk, 0, 42), 0);
	assert_int_equal(get(txn, hk), 42);
	assert_int_equal(anchor(txn, hk), 100);
	assert_int_equal(evlog_datakey_put(txn, hk, PLATFORM, 300, &k.dk, false), 0);
	commit(&txn);

	begin(elog, false, &rtxn);
	assert_int_equal(get(rtxn, hk), 42);
	assert_int_equal(key_epoch(rtxn, hk), 3);
	assert_true(row_at(rtxn, 100, hk, NULL));
	assert_true(row_at(rtxn, 100, hk, PLATFORM));
	assert_false(row_at(rtxn, 200, hk, NULL));
	assert_false(row_at(rtxn, 300, hk, PLATFORM));
	abort_txn(&rtxn);
	close_log(&elog);
}

/* A new household needs its anchor: put and append refuse 0, storing
 * nothing. */
static void test_new_household_without_anchor_is_refused(void **state)
{
	uint8_t hk[WIRE_HASH_LEN], known[WIRE_HASH_LEN];
	struct dkey k;
	uint64_t writes;

	(void)state;
	hk_of(50, 0, hk);
	hk_of(51, 0, known);
	dkey_init(&k, 1);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, known, 9, 51), 0);
	writes = evlog_txn_writes(txn);
	assert_int_equal(put(txn, hk, 0, 50), ML_EINVAL);
	assert_int_equal(append(txn, hk, 0, 50), ML_EINVAL);
	assert_int_equal(evlog_datakey_put(txn, hk, PLATFORM, 0, &k.dk, false), ML_EINVAL);
	assert_int_equal(evlog_txn_writes(txn), writes);
	assert_int_equal(get(txn, hk), 0);
	/* Not new: `at` unused. */
	assert_int_equal(put(txn, known, 0, 52), 0);
	assert_int_equal(get(txn, known), 52);
	commit(&txn);

	expect_found(elog, 2, (const uint8_t *const[]){ hk, known }, (uint32_t[]){ 0, 52 });
	close_log(&elog);
}

/* The loader stores new households under any anchor, in any order, and
 * refuses one already under the same anchor. */
static void test_append_refuses_household_at_its_anchor(void **state)
{
	uint8_t hk[WIRE_HASH_LEN], first[WIRE_HASH_LEN], last[WIRE_HASH_LEN];

	(void)state;
	hk_of(60, 0, hk);
	hk_of(61, 0, first);
	hk_of(62, 0, last);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, hk, 10, 60), 0);
	commit(&txn);

	begin(elog, true, &txn);
	assert_int_equal(append(txn, hk, 10, 63), ML_EINVAL);
	assert_int_equal(get(txn, hk), 60);
	assert_int_equal(append(txn, last, 20, 62), 0);     /* sorts last */
	assert_int_equal(append(txn, first, 5, 61), 0);     /* sorts first */
	assert_int_equal(append(txn, first, 5, 64), ML_EINVAL);
	assert_int_equal(get(txn, first), 61);
	assert_int_equal(get(txn, last), 62);
	commit(&txn);

	expect_found(elog, 3, (const uint8_t *const[]){ hk, first, last },
		     (uint32_t[]){ 60, 61, 62 });
	begin(elog, false, &rtxn);
	assert_int_equal(anchor(rtxn, first), 5);
	assert_int_equal(anchor(rtxn, last), 20);
	abort_txn(&rtxn);
	close_log(&elog);
}

/* A household has one record: the loader refuses it under another anchor
 * too (else two records, found by lookups in whichever order the index
 * gives). */
static void test_append_refuses_household_at_another_anchor(void **state)
{
	uint8_t hk[WIRE_HASH_LEN];
	int rc;

	(void)state;
	hk_of(70, 0, hk);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, hk, 10, 70), 0);
	commit(&txn);

	begin(elog, true, &txn);
	rc = append(txn, hk, 20, 71);
	assert_false(row_at(txn, 20, hk, NULL));
	assert_int_equal(rc, ML_EINVAL);
	assert_int_equal(get(txn, hk), 70);
	abort_txn(&txn);
	close_log(&elog);
}

/* A referral stores its household's data key before the household's
 * record, both under the anchor it gives. */
static void test_data_key_before_household_record(void **state)
{
	uint8_t hk[WIRE_HASH_LEN], other[WIRE_HASH_LEN];
	struct dkey k;

	(void)state;
	hk_of(80, 0, hk);
	hk_of(81, 0, other);
	dkey_init(&k, 5);
	elog = open_log(false);
	begin(elog, true, &txn);
	assert_int_equal(put(txn, other, 40, 81), 0);
	commit(&txn);

	begin(elog, true, &txn);
	assert_int_equal(evlog_datakey_put(txn, hk, PLATFORM, 50, &k.dk, false), 0);
	assert_true(row_at(txn, 50, hk, PLATFORM));
	assert_int_equal(key_epoch(txn, hk), 0);    /* no record yet */
	assert_int_equal(get(txn, hk), 0);
	assert_int_equal(put(txn, hk, 50, 80), 0);
	assert_int_equal(get(txn, hk), 80);
	assert_int_equal(key_epoch(txn, hk), 5);
	assert_int_equal(anchor(txn, hk), 50);
	assert_true(row_at(txn, 50, hk, NULL));
	commit(&txn);

	begin(elog, false, &rtxn);
	assert_int_equal(get(rtxn, hk), 80);
	assert_int_equal(key_epoch(rtxn, hk), 5);
	assert_int_equal(get(rtxn, other), 81);
	abort_txn(&rtxn);
	close_log(&elog);

	elog = open_log(false);
	begin(elog, false, &rtxn);
	assert_int_equal(key_epoch(rtxn, hk), 5);
	assert_int_equal(get(rtxn, hk), 80);
	abort_txn(&rtxn);
	close_log(&elog);
}

/* Household n lists case want (0: has no record) in t. */
static bool found_as(struct evlog_txn *t, uint32_t n, uint32_t want)
{
	uint8_t hk[WIRE_HASH_LEN];
	uint32_t got;

	hk_of(n, 0, hk);
	return case_of(t, hk, &got) == 0 && got == want;
}

static void *read_during_growth(void *arg)
{
	struct growth *g = arg;

	while (!atomic_load(&g->stop)) {
		struct evlog_txn *t;
		uint32_t upto = atomic_load(&g->committed);
		unsigned round = atomic_load(&g->rounds);

		if (evlog_txn_begin(g->log, false, &t)) {
			g->failures++;
			break;
		}
		for (uint32_t n = 1 + round % 97; n <= upto; n += 97) {
			g->failures += !found_as(t, n, n);
			g->lookups++;
		}
		if (upto) {
			g->failures += !found_as(t, upto, upto);
			g->lookups++;
		}
		g->failures += !found_as(t, GROWN + 1, 0);
		g->partial += upto > 0 && upto < GROWN;
		evlog_txn_abort(t);
		atomic_store(&g->rounds, round + 1);
	}
	return NULL;
}

/* The loop thread reads households (a case's history is unsealed with its
 * household's data key) while the writer's puts grow the index: every
 * committed household is found in every read transaction, none that was
 * never put. Under ThreadSanitizer (make SANITIZE=thread threads), a look-up
 * or an add without the index's lock is a data race and fails the test. */
static void test_reader_thread_during_growth(void **state)
{
	struct growth *g = &growth;
	uint8_t hk[WIRE_HASH_LEN];

	(void)state;
	elog = open_log(false);
	*g = (struct growth){ .log = elog };
	atomic_init(&g->committed, 0);
	atomic_init(&g->rounds, 0);
	atomic_init(&g->stop, false);
	assert_int_equal(pthread_create(&g->thread, NULL, read_during_growth, g), 0);
	g->running = true;
	while (atomic_load(&g->rounds) == 0)      /* the reader is under way */
		usleep(100);
	for (uint32_t n = 1; n <= GROWN; n++) {
		if (!txn)
			begin(elog, true, &txn);
		hk_of(n, 0, hk);
		assert_int_equal(put(txn, hk, n, n), 0);
		if (n % BATCH == 0) {
			commit(&txn);
			atomic_store(&g->committed, n);
		}
	}
	growth_stop(g);
	printf("# reader thread: %u read transactions (%u amid the puts), %u look-ups during "
	       "%u puts\n", atomic_load(&g->rounds), g->partial, g->lookups, GROWN);
	assert_int_equal(g->failures, 0);
	assert_true(g->partial > 0);
	close_log(&elog);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_put_then_get_and_key_layout),
		TEST(test_aborted_nested_household_is_never_found),
		TEST(test_aborted_batch_household_is_never_found),
		TEST(test_grows_and_loads_at_open),
		TEST(test_reader_catches_up),
		TEST(test_second_put_keeps_first_anchor),
		TEST(test_new_household_without_anchor_is_refused),
		TEST(test_append_refuses_household_at_its_anchor),
		TEST(test_append_refuses_household_at_another_anchor),
		TEST(test_data_key_before_household_record),
		TEST(test_reader_thread_during_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
