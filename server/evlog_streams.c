/* evlog_streams.c - each case's events in order: `streams` (case id, 0,
 * version -> position) and, for each case's newest events, its record in
 * `stream_tails` (README "Storage"; layout in evlog.h).
 */
#include <stdbool.h>
#include <string.h>

#include "err.h"
#include "evlog_int.h"

#define STREAM_TAIL_MAX 16
#define TAIL_HEAD 4                       /* the first version */

/* A case's tail: versions below first are all in streams, first..first+n-1
 * here. A case without one (n = 0) has all its versions in streams: a
 * directory of schema 3 had no tails. */
struct tail {
	uint32_t first;                   /* version of pos[0] */
	uint32_t n;                       /* 0: the case has no tail */
	uint64_t pos[STREAM_TAIL_MAX];
};

/* A stored tail's size is valid. */
static bool tail_size_ok(size_t size)
{
	return size > TAIL_HEAD && (size - TAIL_HEAD) % 8 == 0 &&
	       (size - TAIL_HEAD) / 8 <= STREAM_TAIL_MAX;
}

bool evlog_stream_key_ok(const char *case_id)
{
	return strlen(case_id) + 5 <= STREAM_KEY_MAX;
}

/* streams key: case id, a 0 byte, the version (u32 BE). */
static int stream_key(uint8_t *buf, const char *case_id, uint32_t version, MDB_val *key)
{
	size_t n = strlen(case_id);

	if (!evlog_stream_key_ok(case_id))
		return ML_EINVAL;
	memcpy(buf, case_id, n);
	buf[n] = 0;
	wire_put_be32(buf + n + 1, version);
	key->mv_data = buf;
	key->mv_size = n + 5;
	return 0;
}

/* The tail of case_id (t->n = 0 when it has none). ML_ECORRUPT when the
 * stored record is not a tail. */
static int tail_get(struct evlog_txn *txn, const char *case_id, struct tail *t)
{
	MDB_val val;
	int rc = txn->log->no_tails ? ML_ENOTFOUND :
		 evlog_get_raw(txn, DB_TAILS, case_id, strlen(case_id), &val);

	t->first = 0;
	t->n = 0;
	if (rc == ML_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!tail_size_ok(val.mv_size))
		return ML_ECORRUPT;
	t->first = wire_get_be32(val.mv_data);
	t->n = (uint32_t)((val.mv_size - TAIL_HEAD) / 8);
	for (uint32_t i = 0; i < t->n; i++)
		t->pos[i] = evlog_get_be64((const uint8_t *)val.mv_data + TAIL_HEAD + 8 * i);
	return 0;
}

static int tail_put(struct evlog_txn *txn, const char *case_id, const struct tail *t)
{
	MDB_val key = { .mv_size = strlen(case_id), .mv_data = (void *)case_id };
	MDB_val val = { .mv_size = TAIL_HEAD + 8 * (size_t)t->n, .mv_data = NULL };
	int rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_TAILS], &key, &val,
					  MDB_RESERVE));

	if (rc)
		return evlog_map_err(rc, "stream tail");
	wire_put_be32(val.mv_data, t->first);
	for (uint32_t i = 0; i < t->n; i++)
		evlog_put_be64((uint8_t *)val.mv_data + TAIL_HEAD + 8 * i, t->pos[i]);
	return 0;
}

/* One streams record; ML_ECORRUPT when (case_id, version) has one already. */
static int stream_put(struct evlog_txn *txn, const char *case_id, uint32_t version,
		      uint64_t pos)
{
	uint8_t skey[STREAM_KEY_MAX], pbuf[8];
	MDB_val key, val = { .mv_size = 8, .mv_data = pbuf };
	int rc = stream_key(skey, case_id, version, &key);

	if (rc)
		return rc;
	evlog_put_be64(pbuf, pos);
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_STREAMS], &key, &val,
				      MDB_NOOVERWRITE));
	if (rc)
		return rc == MDB_KEYEXIST ? ML_ECORRUPT : evlog_map_err(rc, "append stream");
	return 0;
}

/* The position in streams of (case_id, version), without the tail. */
static int stream_get(struct evlog_txn *txn, const char *case_id, uint32_t version,
		      uint64_t *pos)
{
	uint8_t skey[STREAM_KEY_MAX];
	MDB_val key, val;
	int rc = stream_key(skey, case_id, version, &key);

	if (rc)
		return rc;
	rc = evlog_get_raw(txn, DB_STREAMS, key.mv_data, key.mv_size, &val);
	if (rc)
		return rc;
	if (val.mv_size != 8)
		return ML_ECORRUPT;
	*pos = evlog_get_be64(val.mv_data);
	return 0;
}

int evlog_stream_add(struct evlog_txn *txn, const char *case_id, uint32_t version,
		     uint64_t pos)
{
	struct tail t;
	uint64_t seen;
	int rc = tail_get(txn, case_id, &t);

	if (rc)
		return rc;
	if (!t.n) {
		/* A first tail: streams must end at the version before. */
		rc = stream_get(txn, case_id, version, &seen);
		if (rc != ML_ENOTFOUND)
			return rc ? rc : ML_ECORRUPT;
		rc = version > 1 ? stream_get(txn, case_id, version - 1, &seen) : 0;
		if (rc)
			return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	} else if (t.first + t.n != version) {
		return ML_ECORRUPT;        /* a gap or a repeat in the case's versions */
	}
	if (t.n == STREAM_TAIL_MAX) {
		for (uint32_t i = 0; i < t.n; i++)
			if ((rc = stream_put(txn, case_id, t.first + i, t.pos[i])))
				return rc;
		t.n = 0;
	}
	if (!t.n)
		t.first = version;
	t.pos[t.n++] = pos;
	return tail_put(txn, case_id, &t);
}

int evlog_stream_get(struct evlog_txn *txn, const char *case_id,
		     uint32_t version, uint64_t *pos)
{
	struct tail t;
	int rc = stream_get(txn, case_id, version, pos);

	if (rc != ML_ENOTFOUND)
		return rc;
	rc = tail_get(txn, case_id, &t);
	if (rc)
		return rc;
	if (version < t.first || version - t.first >= t.n)
		return ML_ENOTFOUND;
	*pos = t.pos[version - t.first];
	return 0;
}

/* Find the event at pos with evcur (positioned near it, most often) and call
 * fn with it. */
static int call_at(MDB_cursor *evcur, uint64_t pos, evlog_event_fn fn, void *arg)
{
	uint8_t k[8];
	MDB_val key = { .mv_size = 8, .mv_data = k }, ev;
	int rc;

	evlog_put_be64(k, pos);
	rc = mdb_cursor_get(evcur, &key, &ev, MDB_SET);
	if (rc)
		return rc == MDB_NOTFOUND ? ML_ECORRUPT : evlog_map_err(rc, "events");
	return evlog_call_event_fn(fn, arg, &ev);
}

/* The case's streams records from from_version on, then its tail. Positions
 * ascend, so most events are found on the page of the one before (MDB_SET
 * starts from the cursor's page). */
static int scan(struct evlog_txn *txn, MDB_cursor *cur, MDB_cursor *evcur,
		const char *case_id, uint32_t from_version, evlog_event_fn fn, void *arg)
{
	uint8_t skey[STREAM_KEY_MAX];
	MDB_val key, val;
	struct tail t;
	size_t prefix;
	int rc = stream_key(skey, case_id, from_version, &key);

	if (rc)
		return rc;
	prefix = key.mv_size - 4;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != prefix + 4 || memcmp(key.mv_data, skey, prefix))
			break;
		if (val.mv_size != 8)
			return ML_ECORRUPT;
		rc = call_at(evcur, evlog_get_be64(val.mv_data), fn, arg);
		if (rc)
			return rc;
	}
	if (rc && rc != MDB_NOTFOUND)
		return evlog_map_err(rc, "stream scan");
	rc = tail_get(txn, case_id, &t);
	for (uint32_t i = 0; !rc && i < t.n; i++)
		if (t.first + i >= from_version)
			rc = call_at(evcur, t.pos[i], fn, arg);
	return rc;
}

int evlog_stream_scan(struct evlog_txn *txn, const char *case_id,
		      uint32_t from_version, evlog_event_fn fn, void *arg)
{
	MDB_cursor *cur, *evcur;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_STREAMS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_EVENTS], &evcur);
	if (rc) {
		rc = evlog_map_err(rc, "cursor");
		goto out_close;
	}
	rc = scan(txn, cur, evcur, case_id, from_version, fn, arg);
	mdb_cursor_close(evcur);
out_close:
	mdb_cursor_close(cur);
	return rc > 0 ? 0 : rc;
}

int evlog_stream_count(struct evlog_txn *txn, uint64_t *count)
{
	MDB_stat st;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_stat(txn->txn, txn->log->dbi[DB_STREAMS], &st);

	if (rc)
		return evlog_map_err(rc, "stat");
	*count = st.ms_entries;
	if (txn->log->no_tails)
		return 0;
	rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_TAILS], &cur);
	if (rc)
		return evlog_map_err(rc, "cursor");
	while (!(rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) && tail_size_ok(val.mv_size))
		*count += (val.mv_size - TAIL_HEAD) / 8;
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? evlog_map_err(rc, "stream tails") : ML_ECORRUPT;
}
