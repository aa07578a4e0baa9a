/* evlog_journal.c - the access journal in LMDB: who read a case's personal
 * data, by case (journal) and by age (journal_time, for its retention).
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "evlog_int.h"

/* journal key: case id, 0, at (u64 BE), seq (u32 BE). */
static int journal_key(uint8_t *buf, const char *case_id, int64_t at, uint32_t seq,
		       MDB_val *key)
{
	size_t n = strlen(case_id);

	if (n + 13 > STREAM_KEY_MAX)
		return ML_EINVAL;
	memcpy(buf, case_id, n);
	buf[n] = 0;
	evlog_put_be64(buf + n + 1, (uint64_t)at);
	wire_put_be32(buf + n + 9, seq);
	key->mv_data = buf;
	key->mv_size = n + 13;
	return 0;
}

/* journal_time key: at (u64 BE), seq (u32 BE), case id. */
static int time_key(uint8_t *buf, const char *case_id, int64_t at, uint32_t seq,
		    MDB_val *key)
{
	size_t n = strlen(case_id);

	if (n + 12 > STREAM_KEY_MAX)
		return ML_EINVAL;
	evlog_put_be64(buf, (uint64_t)at);
	wire_put_be32(buf + 8, seq);
	memcpy(buf + 12, case_id, n);
	key->mv_data = buf;
	key->mv_size = n + 12;
	return 0;
}

int evlog_journal_put(struct evlog_txn *txn, const ml_access_record *rec, uint32_t seq)
{
	uint8_t kbuf[STREAM_KEY_MAX], tbuf[STREAM_KEY_MAX];
	MDB_val key, tkey, val, empty = { 0, NULL };
	int rc = journal_key(kbuf, rec->case_id, rec->at, seq, &key);

	/* seq restarts with the server: after a clock step back, a key may be
	 * taken; the next free seq of that microsecond is used. */
	for (int tries = 0; !rc && tries < 64 &&
	     !mdb_get(txn->txn, txn->log->dbi[DB_JOURNAL], &key, &val); tries++)
		rc = journal_key(kbuf, rec->case_id, rec->at, ++seq, &key);
	if (!rc)
		rc = time_key(tbuf, rec->case_id, rec->at, seq, &tkey);
	if (!rc)
		rc = evlog_put_msg(txn, DB_JOURNAL, key.mv_data, key.mv_size, rec,
				   MDB_NOOVERWRITE);
	if (!rc)
		rc = evlog_map_err(evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_JOURNAL_TIME], &tkey,
					   &empty, MDB_NOOVERWRITE)), "journal_time");
	return rc;
}

/* A cursor is the at and seq of the last record given, as hex. */
static void make_cursor(const MDB_val *key, size_t prefix, char *out)
{
	const uint8_t *p = (const uint8_t *)key->mv_data + prefix;

	for (size_t i = 0; i < 12; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int parse_cursor(const char *s, uint8_t out[12])
{
	if (strlen(s) != 24)
		return ML_EINVAL;
	for (size_t i = 0; i < 12; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return ML_EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int evlog_journal_scan(struct evlog_txn *txn, const char *case_id, const char *after,
		       evlog_journal_fn fn, void *arg, char *next)
{
	uint8_t buf[STREAM_KEY_MAX];
	size_t prefix = strlen(case_id) + 1;
	MDB_cursor *cur;
	MDB_val key, val;
	int mrc, rc = 0;

	if (prefix + 12 > STREAM_KEY_MAX)
		return ML_EINVAL;
	memcpy(buf, case_id, prefix);
	memset(buf + prefix, 0, 12);
	if (after && after[0] && parse_cursor(after, buf + prefix))
		return ML_EINVAL;
	mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_JOURNAL], &cur);
	if (mrc)
		return evlog_map_err(mrc, "cursor");
	key.mv_data = buf;
	key.mv_size = prefix + 12;
	next[0] = 0;
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		ml_access_record *rec;

		if (key.mv_size != prefix + 12 || memcmp(key.mv_data, case_id, prefix))
			break;
		if (after && after[0] && !memcmp((uint8_t *)key.mv_data + prefix, buf + prefix, 12))
			continue;
		rec = wire_access_record_unpack(val.mv_data, val.mv_size);
		if (!rec) {
			rc = ML_ECORRUPT;
			break;
		}
		rc = fn(arg, rec);
		wire_free(rec);
		if (!rc)
			make_cursor(&key, prefix, next);
	}
	mdb_cursor_close(cur);
	if (rc)
		return rc > 0 ? 0 : rc;
	return mrc == MDB_NOTFOUND || !mrc ? 0 : evlog_map_err(mrc, "journal scan");
}

int evlog_journal_prune(struct evlog_txn *txn, int64_t before, size_t max, size_t *deleted)
{
	uint8_t buf[STREAM_KEY_MAX];
	char case_id[STREAM_KEY_MAX];
	MDB_cursor *cur;
	MDB_val key, val, jkey;
	int mrc;

	*deleted = 0;
	mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_JOURNAL_TIME], &cur);
	if (mrc)
		return evlog_map_err(mrc, "cursor");
	while (*deleted < max && !(mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST))) {
		const uint8_t *k = key.mv_data;
		size_t n = key.mv_size - 12;

		if (key.mv_size <= 12 || key.mv_size > STREAM_KEY_MAX) {
			mdb_cursor_close(cur);
			return ML_ECORRUPT;
		}
		if ((int64_t)evlog_get_be64(k) >= before)
			break;
		memcpy(case_id, k + 12, n);
		case_id[n] = 0;
		journal_key(buf, case_id, (int64_t)evlog_get_be64(k), wire_get_be32(k + 8), &jkey);
		mrc = evlog_wrote(txn, mdb_del(txn->txn, txn->log->dbi[DB_JOURNAL], &jkey, NULL));
		if (!mrc || mrc == MDB_NOTFOUND)
			mrc = evlog_wrote(txn, mdb_cursor_del(cur, 0));
		if (mrc)
			break;
		(*deleted)++;
	}
	mdb_cursor_close(cur);
	return mrc == MDB_NOTFOUND || !mrc ? 0 : evlog_map_err(mrc, "journal prune");
}
