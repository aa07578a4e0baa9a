/* evlog_keys.c - the households' data keys, named values in meta, and the
 * scrubbing of free pages that makes a destroyed key unreadable on disk.
 *
 * Where data keys live: in households, keyed by the household's prefix (its
 * anchor then its key since schema 6: evlog_households.c) then the platform
 * id, beside the household's cases (keyed by the prefix alone:
 * evlog_is_household_row). A referral writes both records: in two databases
 * they cost two pages a referral, side by side one (issue 6), and since
 * schema 6 a new household's rows are appended.
 * Schema 4 and before kept them in their own database, keys: a read-only open
 * of such a directory reads them there (log->old_keys), a writable one moves
 * them (evlog_datakeys_migrate).
 *
 * Why scrubbing: LMDB never writes a page in place. Deleting a data key
 * writes a new copy of its page without it; the old copy (and every older
 * copy, one per change of that page) stays in the file as a free page until
 * LMDB reuses it, which may be never. evlog_scrub_free_pages() overwrites
 * those pages with zeros once no reader can reach them: LMDB's own rule for
 * reusing a free page (mdb_page_alloc: freed by a transaction older than the
 * oldest reader), so overwriting one is as safe as LMDB reusing it. The list
 * of free pages is LMDB's free database (handle 0), read as mdb_stat -f does:
 * key = the freeing transaction's id, value = a count then page numbers.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "evlog_int.h"
#include "fsutil.h"
#include "log.h"

#define KEY_MAX (EVLOG_ANCHOR_LEN + WIRE_HASH_LEN + 65)

/* A data key's key: its household's prefix (h), then the platform id,
 * never empty (the prefix alone is the household's record of cases). */
static int datakey_key(uint8_t *buf, const struct evlog_hh *h, const char *platform,
		       size_t *len)
{
	size_t n = strlen(platform);

	if (!n || h->len + n > KEY_MAX)
		return ML_EINVAL;
	memcpy(buf, h->prefix, h->len);
	memcpy(buf + h->len, platform, n);
	*len = h->len + n;
	return 0;
}

/* The database holding the data keys. */
static int datakey_db(const struct evlog_txn *txn)
{
	return txn->log->old_keys ? DB_KEYS : DB_HOUSEHOLDS;
}

/* The key of hk's data key on platform: under anchor `at` when not 0 (schema
 * 6), else where hk's record is (ML_ENOTFOUND when it has none). An empty
 * platform: ML_EINVAL. */
static int find_key(struct evlog_txn *txn, uint64_t at, const uint8_t *hk,
		    const char *platform, uint8_t *key, size_t *len)
{
	struct evlog_hh h;
	int rc = *platform ? 0 : ML_EINVAL;

	if (!rc && at && txn->log->anchored)
		evlog_hh_at(&h, at, hk);
	else if (!rc)
		rc = evlog_hh_find(txn, hk, &h);
	return rc ? rc : datakey_key(key, &h, platform, len);
}

int evlog_datakey_get_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk,
			 const char *platform, ml_data_key **out)
{
	uint8_t key[KEY_MAX];
	size_t len;
	int rc = find_key(txn, at, hk, platform, key, &len);

	return rc ? rc : GET_MSG(txn, datakey_db(txn), key, len, wire_data_key_unpack, out);
}

int evlog_datakey_get(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
		      ml_data_key **out)
{
	return evlog_datakey_get_at(txn, 0, hk, platform, out);
}

int evlog_datakey_replace_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk,
			     const char *platform, const ml_data_key *k)
{
	uint8_t key[KEY_MAX];
	size_t len;
	MDB_val val;
	int rc = find_key(txn, at, hk, platform, key, &len);

	if (!rc)
		rc = evlog_get_raw(txn, datakey_db(txn), key, len, &val);
	return rc ? rc : evlog_put_msg(txn, datakey_db(txn), key, len, k, 0);
}

int evlog_datakey_put(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
		      uint64_t at, const ml_data_key *k, bool replace)
{
	uint8_t key[KEY_MAX];
	struct evlog_hh h;
	size_t len;
	bool isnew;
	int rc = evlog_hh_place(txn, hk, at, &h, &isnew);

	if (!rc)
		rc = datakey_key(key, &h, platform, &len);
	return rc ? rc : evlog_put_msg(txn, datakey_db(txn), key, len, k, replace ? 0 : MDB_NOOVERWRITE);
}

int evlog_datakey_del(struct evlog_txn *txn, const uint8_t *hk, const char *platform)
{
	uint8_t key[KEY_MAX];
	MDB_val k = { .mv_data = key };
	int rc = find_key(txn, 0, hk, platform, key, &k.mv_size);

	if (rc)
		return rc;
	rc = evlog_wrote(txn, mdb_del(txn->txn, txn->log->dbi[datakey_db(txn)], &k, NULL));
	return rc == MDB_NOTFOUND ? ML_ENOTFOUND : evlog_map_err(rc, "data key");
}

int evlog_datakey_scan(struct evlog_txn *txn, evlog_datakey_fn fn, void *arg)
{
	char platform[66];
	int db = datakey_db(txn);
	MDB_cursor *cur;
	MDB_val key, val;
	int mrc, rc = 0;

	mrc = mdb_cursor_open(txn->txn, txn->log->dbi[db], &cur);
	if (mrc)
		return evlog_map_err(mrc, "cursor");
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		size_t prefix = evlog_hh_prefix_len(txn->log, db), n = key.mv_size - prefix;

		if (db == DB_HOUSEHOLDS && evlog_is_household_row(txn->log, &key))
			continue;
		if (!evlog_is_datakey_row(txn->log, db, &key) || n >= sizeof(platform)) {
			rc = ML_ECORRUPT;
			break;
		}
		memcpy(platform, (uint8_t *)key.mv_data + prefix, n);
		platform[n] = 0;
		rc = fn(arg, evlog_row_hk(txn->log, db, &key), platform,
			prefix > WIRE_HASH_LEN ? evlog_get_be64(key.mv_data) : 0);
	}
	mdb_cursor_close(cur);
	if (rc)
		return rc > 0 ? 0 : rc;
	return mrc == MDB_NOTFOUND || !mrc ? 0 : evlog_map_err(mrc, "data keys scan");
}

void evlog_key_hex(const MDB_val *key, char hex[2 * WIRE_HASH_LEN + 1])
{
	size_t m = key->mv_size < WIRE_HASH_LEN ? key->mv_size : WIRE_HASH_LEN;

	for (size_t i = 0; i < m; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)key->mv_data)[i]);
	hex[2 * m] = 0;
}

/* Fill fault with the data key at key in database db, whose household has
 * no record. */
static int orphan(const struct evlog *log, int db, const MDB_val *key, char *fault,
		  size_t len)
{
	size_t prefix = evlog_hh_prefix_len(log, db);
	MDB_val hk = { .mv_size = WIRE_HASH_LEN, .mv_data = (void *)evlog_row_hk(log, db, key) };
	char hex[2 * WIRE_HASH_LEN + 1];
	int plen = (int)(key->mv_size - prefix);

	evlog_key_hex(&hk, hex);
	snprintf(fault, len, "%s: data key of household %s on platform '%.*s' has no household "
		 "record", evlog_db_names[db], hex, plen > 64 ? 64 : plen,
		 (const char *)key->mv_data + prefix);
	return ML_ECORRUPT;
}

int evlog_datakeys_check(struct evlog_txn *txn, char *fault, size_t len)
{
	uint8_t last[EVLOG_ANCHOR_LEN + WIRE_HASH_LEN];
	bool have = false;
	int db = datakey_db(txn);
	size_t prefix = evlog_hh_prefix_len(txn->log, db);
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = 0, mrc = mdb_cursor_open(txn->txn, txn->log->dbi[db], &cur);

	if (mrc)
		return evlog_map_err(mrc, "cursor");
	/* Households: each data key comes right after its household's record
	 * (the same prefix, then more), so one walk. Keys (before schema 5): a
	 * look-up in households per data key (households then had the
	 * household key alone as the record's key). */
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		MDB_val hk = { .mv_size = WIRE_HASH_LEN, .mv_data = key.mv_data }, hv;

		if (db == DB_HOUSEHOLDS && evlog_is_household_row(txn->log, &key)) {
			memcpy(last, key.mv_data, prefix);
			have = true;
		} else if (!evlog_is_datakey_row(txn->log, db, &key)) {
			snprintf(fault, len, "%s: a record whose key of %zu bytes is %s",
				 evlog_db_names[db], key.mv_size, db == DB_HOUSEHOLDS ?
				 "neither a household's nor a data key's" : "no data key's");
			rc = ML_ECORRUPT;
		} else if (db == DB_KEYS) {
			mrc = mdb_get(txn->txn, txn->log->dbi[DB_HOUSEHOLDS], &hk, &hv);
			if (mrc == MDB_NOTFOUND)
				rc = orphan(txn->log, db, &key, fault, len);
			else if (mrc)
				break;
		} else if (!have || memcmp(last, key.mv_data, prefix)) {
			rc = orphan(txn->log, db, &key, fault, len);
		}
	}
	mdb_cursor_close(cur);
	if (rc)
		return rc;
	return mrc == MDB_NOTFOUND || !mrc ? 0 : evlog_map_err(mrc, "data keys check");
}

int evlog_datakey_count(struct evlog_txn *txn, uint64_t *n)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int mrc = mdb_cursor_open(txn->txn, txn->log->dbi[datakey_db(txn)], &cur);

	*n = 0;
	if (mrc)
		return evlog_map_err(mrc, "cursor");
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		*n += evlog_is_datakey_row(txn->log, datakey_db(txn), &key);
	mdb_cursor_close(cur);
	return mrc == MDB_NOTFOUND ? 0 : evlog_map_err(mrc, "data keys count");
}

int evlog_datakeys_unchanged(struct evlog_txn *txn, uint64_t before, const char *op)
{
	uint64_t after;
	int rc = evlog_datakey_count(txn, &after);

	if (rc || after == before)
		return rc;
	log_error("data_keys_changed", "op=%s before=%llu after=%llu detail=\"the data keys "
		  "are not those there were: refused, nothing committed\"", op,
		  (unsigned long long)before, (unsigned long long)after);
	return ML_ECORRUPT;
}

/* Copy every record of keys into households; *n the count. A record that is
 * no data key's, or one households has already: ML_ECORRUPT, named in err. */
static int copy_keys(struct evlog_txn *txn, uint64_t *n, char *err, size_t errlen)
{
	MDB_dbi to = txn->log->dbi[DB_HOUSEHOLDS];
	const char *why = NULL;
	MDB_cursor *cur;
	MDB_val key, val;
	int mrc;

	assert(txn->log->old_keys);      /* else dbi[DB_KEYS] is EVLOG_DBI_NONE */
	mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_KEYS], &cur);
	if (mrc)
		return evlog_map_err(mrc, "cursor");
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (!evlog_is_datakey_row(txn->log, DB_KEYS, &key))
			why = "is no data key (the key is not a household key then a platform)";
		else if ((mrc = evlog_wrote(txn, mdb_put(txn->txn, to, &key, &val,
							 MDB_NOOVERWRITE))) == MDB_KEYEXIST)
			why = "is in households already";
		if (why || mrc)
			break;       /* key is the record at fault */
		(*n)++;
	}
	if (why) {
		char hex[2 * WIRE_HASH_LEN + 1];

		evlog_key_hex(&key, hex);
		snprintf(err, errlen, "record %llu of keys (key %s, %zu bytes) %s",
			 (unsigned long long)*n + 1, hex, key.mv_size, why);
	}
	mdb_cursor_close(cur);
	if (why)
		return ML_ECORRUPT;
	return mrc == MDB_NOTFOUND ? 0 : evlog_map_err(mrc, "keys");
}

int evlog_datakeys_migrate(struct evlog_txn *txn, uint64_t *n, char *err, size_t errlen)
{
	struct evlog *log = txn->log;
	int rc;

	*n = 0;
	if (!log->old_keys)
		return 0;        /* no keys database: log->dbi[DB_KEYS] is EVLOG_DBI_NONE */
	rc = copy_keys(txn, n, err, errlen);
	if (!rc)
		rc = evlog_map_err(evlog_wrote(txn, mdb_drop(txn->txn, log->dbi[DB_KEYS], 1)),
				   "keys");
	if (rc)
		return rc;
	log->dbi[DB_KEYS] = EVLOG_DBI_NONE;      /* closed by mdb_drop */
	log->old_keys = false;
	return 0;
}

int evlog_meta_get(struct evlog_txn *txn, const char *name, void *buf, size_t len,
		   size_t *got)
{
	MDB_val val;
	int rc = evlog_get_raw(txn, DB_META, name, strlen(name), &val);

	if (rc)
		return rc;
	memcpy(buf, val.mv_data, val.mv_size < len ? val.mv_size : len);
	*got = val.mv_size;
	return 0;
}

int evlog_meta_put(struct evlog_txn *txn, const char *name, const void *v, size_t len)
{
	MDB_val key = { .mv_size = strlen(name), .mv_data = (void *)name };
	MDB_val val = { .mv_size = len, .mv_data = (void *)v };

	return evlog_map_err(evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_META], &key, &val,
						      0)), "meta");
}

int evlog_meta_del(struct evlog_txn *txn, const char *name)
{
	MDB_val key = { .mv_size = strlen(name), .mv_data = (void *)name };
	int rc = evlog_wrote(txn, mdb_del(txn->txn, txn->log->dbi[DB_META], &key, NULL));

	return rc == MDB_NOTFOUND ? ML_ENOTFOUND : evlog_map_err(rc, "meta");
}

void evlog_attach_kek(struct evlog *log, struct kek *k)
{
	log->kek = k;
}

struct kek *evlog_txn_kek(const struct evlog_txn *txn)
{
	return txn->log->kek;
}

struct kek *evlog_kek(const struct evlog *log)
{
	return log->kek;
}

uint64_t evlog_txn_id(const struct evlog_txn *txn)
{
	return (uint64_t)mdb_txn_id(txn->txn);
}

/* The oldest transaction a reader of the environment still uses, from LMDB's
 * reader table ("pid thread txnid" lines; "-" for a slot not in use). */
struct oldest {
	uint64_t txnid;
};

static int reader_line(const char *msg, void *arg)
{
	struct oldest *o = arg;
	unsigned long long txnid;
	char pid[32], thread[32];

	if (sscanf(msg, " %31s %31s %llu", pid, thread, &txnid) == 3 && txnid < o->txnid)
		o->txnid = txnid;
	return 0;
}

/* Zero one page of the data file. */
static int zero_page(int fd, uint64_t pgno, const uint8_t *zeros, size_t psize)
{
	return fs_pwrite_all(fd, zeros, psize, (off_t)(pgno * psize));
}

/* Zero the pages of one free-database record (a count, then page numbers,
 * none beyond last). */
static int zero_record(int fd, const MDB_val *val, const uint8_t *zeros, size_t psize,
		       size_t last, size_t *pages)
{
	size_t count;
	int rc = 0;

	if (val->mv_size < sizeof(size_t))
		return ML_ECORRUPT;
	memcpy(&count, val->mv_data, sizeof(count));
	if (count >= val->mv_size / sizeof(size_t))
		return ML_ECORRUPT;
	for (size_t i = 1; !rc && i <= count; i++) {
		size_t pgno;

		memcpy(&pgno, (uint8_t *)val->mv_data + i * sizeof(size_t), sizeof(pgno));
		rc = pgno < 2 || pgno > last ? ML_ECORRUPT : zero_page(fd, pgno, zeros, psize);
		*pages += !rc;
	}
	return rc;
}

/* Zero every page listed in the free-database records older than `oldest`,
 * read in rtxn (LMDB opens cursors on its free database in read-only
 * transactions only). */
static int zero_free_pages(MDB_txn *rtxn, int fd, size_t psize, size_t last,
			   uint64_t oldest, size_t *pages)
{
	uint8_t *zeros = calloc(1, psize);
	MDB_cursor *cur;
	MDB_val key, val;
	int mrc, rc = 0;

	if (!zeros)
		return ML_ENOMEM;
	mrc = mdb_cursor_open(rtxn, 0, &cur);    /* 0: LMDB's free database */
	if (mrc) {
		free(zeros);
		return evlog_map_err(mrc, "free list");
	}
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		size_t id;

		if (key.mv_size != sizeof(size_t)) {
			rc = ML_ECORRUPT;
			break;
		}
		memcpy(&id, key.mv_data, sizeof(id));
		if (id >= oldest)
			break;          /* records are in transaction order */
		rc = zero_record(fd, &val, zeros, psize, last, pages);
	}
	mdb_cursor_close(cur);
	free(zeros);
	if (rc)
		return rc;
	return mrc == MDB_NOTFOUND || !mrc ? 0 : evlog_map_err(mrc, "free list");
}

int evlog_scrub_free_pages(struct evlog *log, uint64_t target, uint64_t *clean,
			   size_t *pages)
{
	struct oldest o;
	struct evlog_txn *txn;
	MDB_txn *rtxn = NULL;
	MDB_envinfo info;
	MDB_stat st;
	int dead, fd, rc;

	*pages = 0;
	*clean = 0;
	mdb_reader_check(log->env, &dead);
	rc = mdb_env_stat(log->env, &st);
	if (!rc)
		rc = mdb_env_info(log->env, &info);
	if (!rc)
		rc = mdb_env_get_fd(log->env, &fd);
	if (rc)
		return evlog_map_err(rc, "scrub");
	/* The write transaction keeps other writers (and their page
	 * allocations) out while the pages are overwritten. */
	rc = evlog_txn_begin(log, true, &txn);
	if (rc)
		return rc;
	/* As mdb_find_oldest: the last committed transaction, or an older one
	 * a reader still uses. */
	o.txnid = evlog_txn_id(txn) - 1;
	mdb_reader_list(log->env, reader_line, &o);
	*clean = o.txnid - 1;
	if (*clean < target)
		goto out_abort;
	rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &rtxn);
	if (rc) {
		rc = evlog_map_err(rc, "scrub");
		goto out_abort;
	}
	rc = zero_free_pages(rtxn, fd, st.ms_psize, info.me_last_pgno, o.txnid, pages);
	if (!rc && fdatasync(fd))
		rc = ML_EIO;
	mdb_txn_abort(rtxn);
	log_info("scrub", "pages=%zu clean_upto=%llu error=\"%s\"", *pages,
		 (unsigned long long)*clean, rc ? ml_strerror(rc) : "none");
	if (rc)
		*clean = 0;
out_abort:
	evlog_txn_abort(txn);      /* nothing LMDB reads was changed */
	return rc;
}
