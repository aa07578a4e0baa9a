/* test_models_rebuild.c - models_rebuild() against the models the write path
 * stores event by event: two platforms, households with cases on both and a
 * second case after a decline, referrals left pending, acknowledged,
 * accepted and declined, in an order that makes cases leave the rebuild's
 * cache and come back; and the in-order loading it relies on. The
 * households' data keys, in households with their cases, survive a rebuild,
 * counted before and after; so do households whose data keys were destroyed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "err.h"
#include "evlog.h"
#include "fixture.h"
#include "models.h"
#include "vault.h"
#include "verify.h"

/* Cases per platform: 7 000 in all, of which several hundred share a slot
 * of the rebuild's cache with another, met in between. */
#define PER_PLATFORM 3000
#define BATCH 500
#define ID_LEN 64

static char dir[FIXTURE_DIR_LEN];
static struct evlog *elog;
static struct kek *kek;
static struct config cfg;       /* vaulx-bron and lyon-7-8 */
static struct org orgs[3];      /* landlord, coord, asso: on both */
/* The write transaction a test has open: aborted after a failed test, so
 * that the next one does not wait for LMDB's writer lock. */
static struct evlog_txn *txn;

struct writer {
	struct evlog_txn *txn;
	size_t in_batch;
	uint32_t next_id;
	int64_t now;
};

/* Run req as org in w's batch; the case id it named or made into case_id
 * (when not NULL). */
static void run(struct writer *w, const struct org *org, ml_request *req, char *case_id)
{
	uint8_t id[16] = { 0 };
	struct command_ctx ctx = { .cfg = &cfg, .org = org, .req = req, .now_us = w->now };
	struct command_out out;

	if (!w->txn)
		assert_int_equal(evlog_txn_begin(elog, true, &w->txn), 0);
	w->next_id++;
	memcpy(id, &w->next_id, sizeof(w->next_id));
	req->command_id.data = id;
	req->command_id.len = sizeof(id);
	assert_int_equal(command_run(w->txn, &ctx, &out), 0);
	assert_int_equal(out.st.code, 0);
	if (case_id)
		snprintf(case_id, ID_LEN, "%s", out.case_id);
	req->command_id.data = NULL;
	if (++w->in_batch == BATCH) {
		assert_int_equal(evlog_txn_commit(w->txn), 0);
		w->txn = NULL;
		w->in_batch = 0;
	}
}

/* Refer person n on platform p (the same n, the same household). */
static void refer(struct writer *w, int p, int n, char *case_id)
{
	struct fixture_refer r;
	char first[16];

	snprintf(first, sizeof(first), "P%d", n);
	fixture_refer_init(&r, cfg.platforms[p].id,
			   MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT, "Rebuild", first);
	run(w, &orgs[0], &r.req, case_id);
}

static void acknowledge(struct writer *w, const char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__AcknowledgeReferral body = MAILLAGE__V1__ACKNOWLEDGE_REFERRAL__INIT;

	body.case_id = (char *)case_id;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL;
	req.acknowledge_referral = &body;
	run(w, &orgs[1], &req, NULL);
}

static void accept_case(struct writer *w, const char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__AcceptCase body = MAILLAGE__V1__ACCEPT_CASE__INIT;
	Maillage__V1__Acceptance a = MAILLAGE__V1__ACCEPTANCE__INIT;

	a.lead_partner = orgs[2].id;
	a.support_level = MAILLAGE__V1__SUPPORT_LEVEL__SUPPORT_COORDINATION;
	body.case_id = (char *)case_id;
	body.acceptance = &a;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE;
	req.accept_case = &body;
	run(w, &orgs[1], &req, NULL);
}

static void decline(struct writer *w, const char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__DeclineReferral body = MAILLAGE__V1__DECLINE_REFERRAL__INIT;
	Maillage__V1__Decline d = MAILLAGE__V1__DECLINE__INIT;

	d.reason = MAILLAGE__V1__DECLINE_REASON__DECLINE_NOT_ELIGIBLE;
	body.case_id = (char *)case_id;
	body.decline = &d;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL;
	req.decline_referral = &body;
	run(w, &orgs[1], &req, NULL);
}

/* Person n is referred on both platforms at the same instant (two pending
 * entries with one date); then, a platform at a time, the referrals are
 * acknowledged and decided: on vaulx-bron a third stays acknowledged, a
 * third is accepted, a third declined and referred again; on lyon-7-8 a
 * quarter is declined, the rest stays referred. */
static int setup(void **state)
{
	static char ids[2][PER_PLATFORM][ID_LEN];
	struct writer w = { .now = 1795000000000000LL };
	char again[ID_LEN];

	(void)state;
	fixture_config(&cfg, orgs, 3, 2);
	if (fixture_dir_make(dir, "rebuild") ||
	    fixture_log_open(dir, 256 << 20, &cfg, 0, &elog, &kek))
		return -1;

	for (int n = 0; n < PER_PLATFORM; n++, w.now++) {
		refer(&w, 0, n, ids[0][n]);
		refer(&w, 1, n, ids[1][n]);
	}
	for (int n = 0; n < PER_PLATFORM; n++, w.now++)
		acknowledge(&w, ids[0][n]);
	for (int n = 0; n < PER_PLATFORM; n++, w.now++) {
		if (n % 3 == 1)
			accept_case(&w, ids[0][n]);
		else if (n % 3 == 2)
			decline(&w, ids[0][n]);
		if (n % 4 == 0)
			decline(&w, ids[1][n]);
	}
	for (int n = 2; n < PER_PLATFORM; n += 3, w.now++)
		refer(&w, 0, n, again);
	if (w.txn)
		assert_int_equal(evlog_txn_commit(w.txn), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_log_close(elog, kek);
	return fixture_dir_remove(dir);
}

static int count_one(void *arg, const char *case_id)
{
	(void)case_id;
	++*(size_t *)arg;
	return 0;
}

static int count_pending(void *arg, int64_t at, const char *case_id)
{
	(void)at;
	return count_one(arg, case_id);
}

struct keys_seen {
	struct evlog_txn *txn;
	size_t n[2];               /* on vaulx-bron, on lyon-7-8 */
};

/* A data key of a platform of cfg that unwraps. */
static int unwrap_key(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct keys_seen *s = arg;
	struct vault_key k;
	int p = !strcmp(platform, "lyon-7-8");

	(void)at;
	if (!p && strcmp(platform, "vaulx-bron"))
		fail_msg("a data key on platform '%s'", platform);
	assert_int_equal(vault_get(s->txn, hk, platform, 0, &k), 0);
	vault_key_wipe(&k);
	s->n[p]++;
	return 0;
}

/* Every person's data key on both platforms, which share households with the
 * households' cases: the scan gives the keys only, and each unwraps. */
static void check_keys(struct evlog_txn *rtxn)
{
	struct keys_seen s = { .txn = rtxn };
	uint8_t hk[WIRE_HASH_LEN] = { 0 };
	ml_data_key *dk = NULL;

	assert_int_equal(evlog_datakey_scan(rtxn, unwrap_key, &s), 0);
	assert_int_equal(s.n[0], PER_PLATFORM);
	assert_int_equal(s.n[1], PER_PLATFORM);
	assert_int_equal(evlog_datakey_get(rtxn, hk, "", &dk), ML_EINVAL);
}

/* What the models hold: each platform's caseload, the pending referrals,
 * and the cases of person 2's household, in the order of their referral;
 * and the data keys beside them. */
static void check_models(void)
{
	struct evlog_txn *rtxn;
	ml_household_cases *hc;
	ml_case *c;
	size_t vnx = 0, lys = 0, pending = 0;

	assert_int_equal(evlog_txn_begin(elog, false, &rtxn), 0);
	assert_int_equal(evlog_caseload_scan(rtxn, "vaulx-bron", NULL, count_one, &vnx), 0);
	assert_int_equal(evlog_caseload_scan(rtxn, "lyon-7-8", NULL, count_one, &lys), 0);
	assert_int_equal(evlog_pending_scan(rtxn, INT64_MAX, count_pending, &pending), 0);
	assert_int_equal(vnx, PER_PLATFORM + PER_PLATFORM / 3);
	assert_int_equal(lys, PER_PLATFORM);
	/* vaulx-bron: a third acknowledged, the second referrals; lyon-7-8:
	 * three quarters. */
	assert_int_equal(pending, PER_PLATFORM / 3 + PER_PLATFORM / 3 + PER_PLATFORM * 3 / 4);

	assert_int_equal(evlog_case_get(rtxn, "VNX-2026-000003", &c), 0);
	assert_int_equal(evlog_household_get(rtxn, c->household_key.data, &hc), 0);
	assert_int_equal(hc->n_case_ids, 3);
	assert_string_equal(hc->case_ids[0], "VNX-2026-000003");
	assert_string_equal(hc->case_ids[1], "LYS-2026-000003");
	assert_string_equal(hc->case_ids[2], "VNX-2026-003001");
	wire_free(hc);
	wire_free(c);
	check_keys(rtxn);
	evlog_txn_abort(rtxn);
}

/* A rebuild gives the models the write path stored, byte for byte; so does
 * one in place (what maillage-admin rebuild does), which keeps the data keys
 * (check_models), and its models compare equal to a rebuild's, data keys
 * aside. */
static void test_rebuild_gives_the_stored_models(void **state)
{
	struct verify_report rep;

	(void)state;
	check_models();
	assert_int_equal(verify_models(elog, "/tmp", &rep), 0);

	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_models_clear(txn), 0);
	assert_int_equal(models_rebuild(txn, txn), 0);
	assert_int_equal(evlog_txn_commit(txn), 0);
	txn = NULL;
	check_models();
	assert_int_equal(verify_models(elog, "/tmp", &rep), 0);
}

/* Until its transaction commits, a rebuild is not seen: a reader meanwhile
 * sees the old models, and one that fails (here: a second pass, into models
 * that are no longer empty) leaves them as they were once aborted. */
static void test_failed_rebuild_leaves_nothing(void **state)
{
	struct verify_report rep;
	struct evlog_txn *reader;
	ml_case *c = NULL;

	(void)state;
	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_models_clear(txn), 0);
	check_models();
	assert_int_equal(models_rebuild(txn, txn), 0);
	assert_int_equal(evlog_case_append(txn, "ZZZ-2026-000001", "", 0), 0);
	assert_int_equal(models_rebuild(txn, txn), ML_EINVAL);
	assert_int_equal(evlog_txn_begin(elog, false, &reader), 0);
	assert_int_equal(evlog_case_get(reader, "ZZZ-2026-000001", &c), ML_ENOTFOUND);
	evlog_txn_abort(reader);
	check_models();
	evlog_txn_abort(txn);
	txn = NULL;
	check_models();
	assert_int_equal(verify_models(elog, "/tmp", &rep), 0);
}

/* Loading is in key order only: a row at or below the last is refused.
 * Households are put among the data keys: in any order, each once. */
static void test_append_in_key_order(void **state)
{
	ml_household_cases hc = MAILLAGE__V1__HOUSEHOLD_CASES__INIT;
	uint8_t low[WIRE_HASH_LEN] = { 1 }, high[WIRE_HASH_LEN] = { 2 };
	char *one[] = { "VNX-2026-000001" };

	(void)state;
	hc.case_ids = one;
	hc.n_case_ids = 1;
	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_models_clear(txn), 0);
	assert_int_equal(evlog_caseload_append(txn, "lyon-7-8", "LYS-2026-000002"), 0);
	assert_int_equal(evlog_caseload_append(txn, "lyon-7-8", "LYS-2026-000002"), ML_EINVAL);
	assert_int_equal(evlog_caseload_append(txn, "lyon-7-8", "LYS-2026-000001"), ML_EINVAL);
	/* "lyon-7-8", 0 sorts before "lyon-7-80". */
	assert_int_equal(evlog_caseload_append(txn, "lyon-7-80", "A"), 0);
	assert_int_equal(evlog_caseload_append(txn, "vaulx-bron", "VNX-2026-000001"), 0);
	assert_int_equal(evlog_pending_append(txn, 5, "B"), 0);
	assert_int_equal(evlog_pending_append(txn, 5, "A"), ML_EINVAL);
	assert_int_equal(evlog_pending_append(txn, 5, "BA"), 0);
	assert_int_equal(evlog_pending_append(txn, 4, "C"), ML_EINVAL);
	assert_int_equal(evlog_pending_append(txn, 6, "A"), 0);
	assert_int_equal(evlog_household_append(txn, high, 20, &hc), 0);
	assert_int_equal(evlog_household_append(txn, low, 10, &hc), 0);
	assert_int_equal(evlog_household_append(txn, high, 20, &hc), ML_EINVAL);
	assert_int_equal(evlog_household_append(txn, low, 0, &hc), ML_EINVAL);
	assert_int_equal(evlog_case_append(txn, "VNX-2026-000002", "\x0a\x01x", 3), 0);
	assert_int_equal(evlog_case_append(txn, "VNX-2026-000001", "\x0a\x01x", 3), ML_EINVAL);
	evlog_txn_abort(txn);
	txn = NULL;
	check_models();
}

/* Into a fresh environment (verify, the check of a backup) the households'
 * records are loaded in key order, appended: their leaf pages are full,
 * within a twentieth of the fewest that can hold them. (This does not tell
 * MDB_APPEND from a put in key order: for a record past the last one,
 * mdb_page_split already moves only that record to the new page; here 61
 * leaf pages appended, 63 put, for 3000 records.) Sizes as mdb.c lays a
 * leaf page out: a 16-byte header, then per record a 2-byte index and an
 * 8-byte node header, key and value, each node at an even offset. */
static void test_fresh_rebuild_fills_household_pages(void **state)
{
	char scratch[FIXTURE_DIR_LEN], err[256];
	struct evlog *elog2;
	struct evlog_txn *src, *dst;
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_stat st;
	size_t bytes = 0, fewest;

	(void)state;
	assert_int_equal(fixture_dir_make(scratch, "rebuild-fresh"), 0);
	assert_int_equal(evlog_open(scratch, 256 << 20, false, &elog2, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(elog, false, &src), 0);
	assert_int_equal(evlog_txn_begin(elog2, true, &dst), 0);
	assert_int_equal(models_rebuild(src, dst), 0);
	assert_int_equal(evlog_txn_commit(dst), 0);
	evlog_txn_abort(src);
	evlog_close(elog2);

	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, scratch, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &raw), 0);
	assert_int_equal(mdb_dbi_open(raw, "households", 0, &dbi), 0);
	assert_int_equal(mdb_stat(raw, dbi, &st), 0);
	assert_int_equal(mdb_cursor_open(raw, dbi, &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		bytes += 2 + ((8 + k.mv_size + v.mv_size + 1) & ~(size_t)1);
	mdb_cursor_close(cur);
	mdb_txn_abort(raw);
	mdb_env_close(env);
	assert_int_equal(st.ms_entries, PER_PLATFORM);
	fewest = (bytes + st.ms_psize - 16 - 1) / (st.ms_psize - 16);
	if (st.ms_leaf_pages > fewest + fewest / 20)
		fail_msg("%zu leaf pages for %zu records in %zu bytes (fewest %zu)",
			 (size_t)st.ms_leaf_pages, (size_t)st.ms_entries, bytes, fewest);
	assert_int_equal(fixture_dir_remove(scratch), 0);
}

/* The household keys of the data keys, in key order, each once. */
struct households_seen {
	uint8_t (*hk)[WIRE_HASH_LEN];
	size_t n;
};

static int note_household(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct households_seen *s = arg;

	(void)at;
	(void)platform;
	if (s->n && !memcmp(s->hk[s->n - 1], hk, WIRE_HASH_LEN))
		return 0;
	assert_true(s->n < PER_PLATFORM);
	memcpy(s->hk[s->n++], hk, WIRE_HASH_LEN);
	return 0;
}

/* Households whose data keys were destroyed (an erasure leaves the
 * household's record of cases): the last ERASED_RUN households in key order,
 * so a run of household records side by side over several pages up to the
 * last record of households, and every third one before them, records side
 * by side in pairs. A rebuild in place clears and reloads each of them
 * (a record left behind would be refused by the loading), keeps the data
 * keys left, which unwrap, and gives the models a rebuild elsewhere gives. */
#define ERASED_RUN 400

static void test_rebuild_beside_erased_households(void **state)
{
	static uint8_t hks[PER_PLATFORM][WIRE_HASH_LEN];
	struct households_seen seen = { .hk = hks };
	struct keys_seen left;
	struct verify_report rep;
	uint64_t before, after;
	size_t erased = 0;

	(void)state;
	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_datakey_scan(txn, note_household, &seen), 0);
	assert_int_equal(seen.n, PER_PLATFORM);
	for (size_t i = 0; i < seen.n; i++) {
		if (i < seen.n - ERASED_RUN && i % 3)
			continue;
		assert_int_equal(evlog_datakey_del(txn, hks[i], "vaulx-bron"), 0);
		assert_int_equal(evlog_datakey_del(txn, hks[i], "lyon-7-8"), 0);
		erased++;
	}
	assert_int_equal(evlog_txn_commit(txn), 0);
	txn = NULL;

	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_datakey_count(txn, &before), 0);
	assert_int_equal(before, 2 * (PER_PLATFORM - erased));
	assert_int_equal(evlog_models_clear(txn), 0);
	assert_int_equal(models_rebuild(txn, txn), 0);
	assert_int_equal(evlog_datakey_count(txn, &after), 0);
	assert_int_equal(after, before);
	assert_int_equal(evlog_txn_commit(txn), 0);
	txn = NULL;

	assert_int_equal(verify_models(elog, "/tmp", &rep), 0);
	assert_int_equal(evlog_txn_begin(elog, false, &left.txn), 0);
	left.n[0] = left.n[1] = 0;
	assert_int_equal(evlog_datakey_scan(left.txn, unwrap_key, &left), 0);
	evlog_txn_abort(left.txn);
	assert_int_equal(left.n[0], PER_PLATFORM - erased);
	assert_int_equal(left.n[1], PER_PLATFORM - erased);

	/* The guard the rebuild and the clear call: a data key gone since the
	 * count is refused. */
	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	assert_int_equal(evlog_datakey_count(txn, &before), 0);
	assert_int_equal(evlog_datakeys_unchanged(txn, before, "test"), 0);
	assert_int_equal(evlog_datakey_del(txn, hks[1], "vaulx-bron"), 0);   /* kept above */
	assert_int_equal(evlog_datakeys_unchanged(txn, before, "test"), ML_ECORRUPT);
	evlog_txn_abort(txn);
	txn = NULL;
}

/* The upgrade from schema 5 anchors each household at its first case's
 * first event: households of three cases on two platforms, re-keyed, give
 * the models and data keys they gave (check_models) and those a rebuild
 * gives, anchors included (verify_models). */
static void test_upgrade_anchors_households(void **state)
{
	struct verify_report rep;

	(void)state;
	fixture_log_close(elog, kek);
	assert_int_equal(fixture_unanchor(dir, 5), 0);
	assert_int_equal(fixture_log_open(dir, 256 << 20, &cfg, 1, &elog, &kek), 0);
	check_models();
	assert_int_equal(verify_models(elog, "/tmp", &rep), 0);
}

static int abort_open(void **state)
{
	(void)state;
	evlog_txn_abort(txn);
	txn = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rebuild_gives_the_stored_models, abort_open),
		cmocka_unit_test_teardown(test_failed_rebuild_leaves_nothing, abort_open),
		cmocka_unit_test_teardown(test_append_in_key_order, abort_open),
		cmocka_unit_test(test_fresh_rebuild_fills_household_pages),
		cmocka_unit_test(test_upgrade_anchors_households),
		/* Last: it destroys data keys. */
		cmocka_unit_test_teardown(test_rebuild_beside_erased_households, abort_open),
	};

	return cmocka_run_group_tests_name("models_rebuild", tests, setup, teardown);
}
