/* evlog_households.c - where a household's rows are in `households`, and
 * the household's record of cases (HouseholdCases).
 *
 * Since schema 6 every key of households begins with the household's
 * anchor: the log position (u64 BE) of its first case's first event, the
 * referral that made the household known. Then comes the household key (32
 * bytes); that alone is the household's record of cases; followed by a
 * platform id it is the household's data key on that platform
 * (evlog_keys.c). A new household's rows therefore go at the end of the
 * database, beside the other households of the same commit, where a B-tree
 * keyed by the random household keys rewrote a page per new household (issue
 * 6: half of what a commit wrote). The anchor is a function of the log, so
 * a rebuild elsewhere (verify, the check of a backup) gives the same keys.
 * Before schema 6 the keys began with the household key (read-only opens of
 * schema 3 to 5: log->anchored false).
 *
 * Lookups by household key go through an index in memory: a tagindex of
 * (tag, anchor), the tag the first 8 bytes of the household key (an
 * HMAC-SHA-256 under the server's secret: no client can aim one at a slot),
 * built from households at the first lookup (or evlog_households_preload())
 * and extended by every put of a new household's record. A candidate is
 * confirmed by reading the household's record: an entry left by a
 * transaction that did not commit is never taken for a household.
 *
 * Threads: the writer thread adds; the loop thread looks up (a case's
 * history, unsealing its personal fields with the household's data key). A
 * read-write lock guards the table: looking up and confirming under the read
 * lock, adding and catching up under the write lock.
 *
 * Memory: 16 bytes a slot, at most half the slots in use: 32 bytes or less a
 * household.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "evlog_int.h"
#include "grow.h"
#include "log.h"
#include "tagindex.h"

struct evlog_hh_index {
	pthread_rwlock_t lock;
	struct tagindex table;   /* tag of a household key -> its anchor */
	uint64_t max;            /* every household anchored up to here is indexed */
};

/* Assert that a call on the index's lock succeeded: it fails only when
 * misused (a thread taking the write lock twice, or unlocking a lock it does
 * not hold), which would be our own bug. */
static void lock_checked(int rc)
{
	assert(rc == 0);
	(void)rc;
}

int evlog_households_init(struct evlog *log)
{
	struct evlog_hh_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return ML_ENOMEM;
	if (pthread_rwlock_init(&ix->lock, NULL)) {
		free(ix);
		return ML_ENOMEM;
	}
	log->households = ix;
	return 0;
}

void evlog_households_free(struct evlog *log)
{
	if (!log->households)
		return;
	lock_checked(pthread_rwlock_destroy(&log->households->lock));
	tagindex_free(&log->households->table);
	free(log->households);
	log->households = NULL;
}

static uint64_t tag_of(const uint8_t *hk)
{
	uint64_t tag;

	memcpy(&tag, hk, sizeof(tag));
	return tag;
}

void evlog_hh_at(struct evlog_hh *h, uint64_t at, const uint8_t *hk)
{
	evlog_put_be64(h->prefix, at);
	memcpy(h->prefix + EVLOG_ANCHOR_LEN, hk, WIRE_HASH_LEN);
	h->len = EVLOG_ANCHOR_LEN + WIRE_HASH_LEN;
	h->at = at;
}

/* The household's record at h in txn: 0, ML_ENOTFOUND or an error. */
static int get_record(struct evlog_txn *txn, const struct evlog_hh *h, MDB_val *val)
{
	return evlog_get_raw(txn, DB_HOUSEHOLDS, h->prefix, h->len, val);
}

/* Look hk up in the table, confirming each candidate in txn (read lock
 * held): 0 and *h, or ML_ENOTFOUND. */
static int probe(struct evlog_txn *txn, struct evlog_hh_index *ix, const uint8_t *hk,
		 struct evlog_hh *h)
{
	uint64_t tag = tag_of(hk);
	MDB_val val;

	for (size_t i = tagindex_first(&ix->table, tag); i != TAGINDEX_END;
	     i = tagindex_next(&ix->table, i, tag)) {
		int rc;

		evlog_hh_at(h, ix->table.slots[i].value, hk);
		rc = get_record(txn, h, &val);
		if (rc != ML_ENOTFOUND)
			return rc;
	}
	return ML_ENOTFOUND;
}

/* A key of households that is not an anchor then a household key (what
 * says where: "the last record", "a record"): logged, ML_ECORRUPT. */
static int bad_key(const char *which, size_t bytes)
{
	log_error("households_corrupt", "bytes=%zu detail=\"%s of households has no anchor "
		  "then a household key\"", bytes, which);
	return ML_ECORRUPT;
}

/* The anchor of the last row of households txn sees (0: none). */
static int last_anchor(struct evlog_txn *txn, uint64_t *at)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_HOUSEHOLDS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	*at = !rc && key.mv_size >= EVLOG_ANCHOR_LEN + WIRE_HASH_LEN ?
	      evlog_get_be64(key.mv_data) : 0;
	mdb_cursor_close(cur);
	if (!rc && !*at)
		return bad_key("the last record", key.mv_size);
	return rc && rc != MDB_NOTFOUND ? evlog_map_err(rc, "households") : 0;
}

/* Index the household records txn sees anchored after ix->max (write lock
 * held). */
static int catch_up(struct evlog_txn *txn, struct evlog_hh_index *ix)
{
	MDB_cursor *cur;
	uint8_t k[EVLOG_ANCHOR_LEN];
	MDB_val key = { .mv_size = sizeof(k), .mv_data = k }, val;
	int rc = 0, mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_HOUSEHOLDS], &cur);

	if (mrc)
		return evlog_map_err(mrc, "cursor");
	evlog_put_be64(k, ix->max + 1);
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uint64_t at;

		at = key.mv_size < EVLOG_ANCHOR_LEN + WIRE_HASH_LEN ? 0 :
		     evlog_get_be64(key.mv_data);
		if (!at) {
			rc = bad_key("a record", key.mv_size);
			break;
		}
		if (evlog_is_household_row(txn->log, &key))
			rc = tagindex_add(&ix->table, tag_of((uint8_t *)key.mv_data +
							     EVLOG_ANCHOR_LEN), at);
		if (!rc && at > ix->max)
			ix->max = at;
	}
	mdb_cursor_close(cur);
	if (!rc && mrc != MDB_NOTFOUND)
		rc = evlog_map_err(mrc, "households");
	return rc;
}

/* Index what txn sees of households beyond the table (write lock held).
 * From then on the table has every
 * household txn sees: a read transaction's snapshot does not change, and
 * the households a write transaction adds are indexed as they are put
 * (added()); so txn does not look again (txn->hh_synced). */
static int sync_index(struct evlog_txn *txn, struct evlog_hh_index *ix)
{
	uint64_t last;
	int rc = last_anchor(txn, &last);

	if (!rc && last > ix->max)
		rc = catch_up(txn, ix);
	txn->hh_synced = !rc;
	return rc;
}

int evlog_hh_find(struct evlog_txn *txn, const uint8_t *hk, struct evlog_hh *h)
{
	struct evlog_hh_index *ix = txn->log->households;
	int rc;

	if (!txn->log->anchored) {
		memcpy(h->prefix, hk, WIRE_HASH_LEN);
		h->len = WIRE_HASH_LEN;
		h->at = 0;
		return 0;
	}
	lock_checked(pthread_rwlock_rdlock(&ix->lock));
	rc = probe(txn, ix, hk, h);
	lock_checked(pthread_rwlock_unlock(&ix->lock));
	if (rc != ML_ENOTFOUND || txn->hh_synced)
		return rc;
	/* Probe again even when this sync added nothing: another thread may
	 * have added hk between the two locks. */
	lock_checked(pthread_rwlock_wrlock(&ix->lock));
	rc = sync_index(txn, ix);
	if (!rc)
		rc = probe(txn, ix, hk, h);
	lock_checked(pthread_rwlock_unlock(&ix->lock));
	return rc;
}

int evlog_hh_place(struct evlog_txn *txn, const uint8_t *hk, uint64_t at, struct evlog_hh *h,
		   bool *isnew)
{
	int rc = evlog_hh_find(txn, hk, h);

	*isnew = rc == ML_ENOTFOUND;
	if (!*isnew)
		return rc;
	if (!at)
		return ML_EINVAL;
	evlog_hh_at(h, at, hk);
	return 0;
}

/* A new household's record is stored at h: index it. The table had
 * everything txn sees before (evlog_hh_place() looked hk up, or
 * evlog_household_append() synced: txn->hh_synced), so it now has
 * everything anchored up to h->at. */
static int added(struct evlog *log, const uint8_t *hk, const struct evlog_hh *h)
{
	struct evlog_hh_index *ix = log->households;
	int rc;

	lock_checked(pthread_rwlock_wrlock(&ix->lock));
	rc = tagindex_add(&ix->table, tag_of(hk), h->at);
	if (!rc && h->at > ix->max)
		ix->max = h->at;
	lock_checked(pthread_rwlock_unlock(&ix->lock));
	return rc;
}

int evlog_households_preload(struct evlog *log)
{
	struct evlog_hh_index *ix = log->households;
	struct evlog_txn *txn;
	size_t used;
	int rc;

	if (!log->anchored)
		return 0;
	rc = evlog_txn_begin(log, false, &txn);
	if (rc)
		return rc;
	lock_checked(pthread_rwlock_wrlock(&ix->lock));
	rc = catch_up(txn, ix);
	used = ix->table.used;
	lock_checked(pthread_rwlock_unlock(&ix->lock));
	evlog_txn_abort(txn);
	if (!rc)
		log_info("household_index", "households=%zu", used);
	return rc;
}

int evlog_household_get(struct evlog_txn *txn, const uint8_t *hk, ml_household_cases **out)
{
	struct evlog_hh h;
	int rc = evlog_hh_find(txn, hk, &h);

	return rc ? rc : GET_MSG(txn, DB_HOUSEHOLDS, h.prefix, h.len,
				 wire_household_cases_unpack, out);
}

int evlog_household_put(struct evlog_txn *txn, const uint8_t *hk, uint64_t at,
			const ml_household_cases *hc)
{
	struct evlog_hh h;
	bool isnew;
	int rc = evlog_hh_place(txn, hk, at, &h, &isnew);

	if (!rc)
		rc = evlog_put_msg(txn, DB_HOUSEHOLDS, h.prefix, h.len, hc, 0);
	return !rc && isnew ? added(txn->log, hk, &h) : rc;
}

/* Households' rows go among the data keys that stay in households: at the
 * end when the row sorts last (always, into a fresh environment: verify,
 * the check of a backup), else where it sorts (a rebuild in place; LMDB
 * refuses an append that does not sort last with MDB_KEYEXIST, changing
 * nothing). One already there is refused (MDB_NOOVERWRITE): ML_EINVAL. */
int evlog_household_append(struct evlog_txn *txn, const uint8_t *hk, uint64_t at,
			   const ml_household_cases *hc)
{
	struct evlog_hh_index *ix = txn->log->households;
	MDB_dbi dbi = txn->log->dbi[DB_HOUSEHOLDS];
	struct evlog_hh h;
	MDB_val k, v, val = { .mv_size = wire_packed_size(hc), .mv_data = NULL };
	int rc;

	if (!txn->log->anchored || !at)
		return ML_EINVAL;
	lock_checked(pthread_rwlock_wrlock(&ix->lock));
	rc = txn->hh_synced ? 0 : sync_index(txn, ix);
	if (!rc)
		rc = probe(txn, ix, hk, &h);
	lock_checked(pthread_rwlock_unlock(&ix->lock));
	if (rc != ML_ENOTFOUND)
		return rc ? rc : ML_EINVAL;      /* there already, maybe elsewhere */
	evlog_hh_at(&h, at, hk);
	k = (MDB_val){ .mv_size = h.len, .mv_data = h.prefix };
	v = val;
	rc = evlog_wrote(txn, mdb_put(txn->txn, dbi, &k, &v,
				      MDB_APPEND | MDB_NOOVERWRITE | MDB_RESERVE));
	if (rc == MDB_KEYEXIST) {
		v = val;
		rc = evlog_wrote(txn, mdb_put(txn->txn, dbi, &k, &v,
					      MDB_NOOVERWRITE | MDB_RESERVE));
	}
	if (rc)
		return rc == MDB_KEYEXIST ? ML_EINVAL :
		       evlog_map_err(rc, evlog_db_names[DB_HOUSEHOLDS]);
	wire_pack_to(hc, v.mv_data);
	return added(txn->log, hk, &h);
}

/* The upgrade to schema 6: one row of households, re-keyed. */
struct row {
	uint8_t *key;
	size_t klen;
	uint8_t *val;
	size_t vlen;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static int row_add(struct rows *r, uint64_t at, const MDB_val *key, const MDB_val *val)
{
	struct row *v = grow_for_one(r->v, r->n, &r->cap, sizeof(*v), 1024), *w;

	if (!v)
		return ML_ENOMEM;
	r->v = v;
	w = &v[r->n];
	w->klen = EVLOG_ANCHOR_LEN + key->mv_size;
	w->vlen = val->mv_size;
	w->key = malloc(w->klen);
	w->val = malloc(w->vlen ? w->vlen : 1);
	if (!w->key || !w->val) {
		free(w->key);
		free(w->val);
		return ML_ENOMEM;
	}
	evlog_put_be64(w->key, at);
	memcpy(w->key + EVLOG_ANCHOR_LEN, key->mv_data, key->mv_size);
	memcpy(w->val, val->mv_data, val->mv_size);
	r->n++;
	return 0;
}

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		explicit_bzero(r->v[i].val, r->v[i].vlen);
		free(r->v[i].val);
	}
	free(r->v);
}

static int by_key(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int d = memcmp(x->key, y->key, n);

	return d ? d : (x->klen > y->klen) - (x->klen < y->klen);
}

/* The anchor of the household whose record of cases is val: the position
 * of its first case's first event (the earliest of its cases' first events,
 * as the rebuild finds it). */
static int anchor_of(struct evlog_txn *txn, const MDB_val *val, uint64_t *at, char *err,
		     size_t errlen)
{
	ml_household_cases *hc = wire_household_cases_unpack(val->mv_data, val->mv_size);
	int rc = 0;

	*at = 0;
	if (!hc || !hc->n_case_ids) {
		snprintf(err, errlen, "%s", hc ? "it lists no case" : "it does not decode");
		wire_free(hc);
		return ML_ECORRUPT;
	}
	for (size_t i = 0; !rc && i < hc->n_case_ids; i++) {
		uint64_t first;

		rc = evlog_stream_get(txn, hc->case_ids[i], 1, &first);
		if (rc == ML_ENOTFOUND)
			snprintf(err, errlen, "its case '%.64s' has no first event",
				 hc->case_ids[i]);
		else if (!rc && (!*at || first < *at))
			*at = first;
	}
	wire_free(hc);
	return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
}

/* Read every row of households (keys of schema 5: household key first) into
 * r, each under its new key. */
static int read_rows(struct evlog_txn *txn, struct rows *r, char *err, size_t errlen)
{
	uint8_t hk[WIRE_HASH_LEN];
	uint64_t at = 0;
	char why[160] = "";
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = 0, mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_HOUSEHOLDS], &cur);

	if (mrc)
		return evlog_map_err(mrc, "cursor");
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (evlog_is_household_row(txn->log, &key)) {
			memcpy(hk, key.mv_data, WIRE_HASH_LEN);
			rc = anchor_of(txn, &val, &at, why, sizeof(why));
		} else if (!evlog_is_datakey_row(txn->log, DB_HOUSEHOLDS, &key) || !at ||
			   memcmp(hk, key.mv_data, WIRE_HASH_LEN)) {
			snprintf(why, sizeof(why), "it is no household's record, nor a data key "
				 "after its household's record");
			rc = ML_ECORRUPT;
		}
		if (!rc)
			rc = row_add(r, at, &key, &val);
	}
	if (rc == ML_ECORRUPT) {
		char hex[2 * WIRE_HASH_LEN + 1];

		evlog_key_hex(&key, hex);
		snprintf(err, errlen, "the record of households at key %s (%zu bytes): %s", hex,
			 key.mv_size, why);
	}
	mdb_cursor_close(cur);
	return rc ? rc : mrc == MDB_NOTFOUND ? 0 : evlog_map_err(mrc, "households");
}

int evlog_households_anchor(struct evlog_txn *txn, uint64_t *n, char *err, size_t errlen)
{
	struct evlog *log = txn->log;
	MDB_dbi dbi = log->dbi[DB_HOUSEHOLDS];
	struct rows r = { .v = NULL };
	int rc;

	*n = 0;
	if (log->anchored)
		return 0;
	rc = read_rows(txn, &r, err, errlen);
	if (!rc)
		rc = evlog_map_err(evlog_wrote(txn, mdb_drop(txn->txn, dbi, 0)), "households");
	if (!rc)
		qsort(r.v, r.n, sizeof(*r.v), by_key);
	for (size_t i = 0; !rc && i < r.n; i++) {
		MDB_val k = { .mv_size = r.v[i].klen, .mv_data = r.v[i].key };
		MDB_val v = { .mv_size = r.v[i].vlen, .mv_data = r.v[i].val };

		rc = evlog_map_err(evlog_wrote(txn, mdb_put(txn->txn, dbi, &k, &v, MDB_APPEND)),
				   "households");
		*n += r.v[i].klen == EVLOG_ANCHOR_LEN + WIRE_HASH_LEN;
	}
	rows_free(&r);
	if (!rc)
		log->anchored = true;
	return rc;
}
