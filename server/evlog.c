/* evlog.c - the LMDB environment: the hash-chained event log, its indexes and
 * the stored models. With evlog_keys.c and evlog_journal.c (evlog_int.h),
 * the only files that include <lmdb.h>; see evlog.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "crypto.h"
#include "err.h"
#include "evlog_int.h"
#include "log.h"

/* Less room than this on the file system after a failed write: it failed
 * because the file system is full. */
#define EVLOG_ROOM_MIN (1u << 20)

const char *const evlog_db_names[DB_COUNT] = {
	"events", "streams", "command_log", "households", "proj_cases", "meta", "proj_pending",
	"proj_caseload", "keys", "journal", "journal_time", "stream_tails",
};

int evlog_map_err(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return ML_ENOTFOUND;
	case MDB_MAP_FULL:
		log_warn("storage_full", "op=%s error=\"%s\" detail=\"raise map_size_mb and "
			 "restart\"", what, mdb_strerror(rc));
		return ML_EMAPFULL;
	case ENOSPC:
	case EDQUOT:
		log_warn("storage_full", "op=%s error=\"%s\"", what, mdb_strerror(rc));
		return ML_ENOSPACE;
	case ENOMEM:
		return ML_ENOMEM;
	}
	log_error("storage_error", "op=%s error=\"%s\"", what, mdb_strerror(rc));
	return ML_EDB;
}

void evlog_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t evlog_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int evlog_get_raw(struct evlog_txn *txn, int db, const void *k, size_t klen, MDB_val *val)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	int rc = mdb_get(txn->txn, txn->log->dbi[db], &key, val);

	return rc == MDB_NOTFOUND ? ML_ENOTFOUND : evlog_map_err(rc, evlog_db_names[db]);
}

int evlog_put_msg(struct evlog_txn *txn, int db, const void *k, size_t klen,
		  const void *msg, unsigned flags)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	MDB_val val = { .mv_size = wire_packed_size(msg), .mv_data = NULL };
	int rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[db], &key, &val, flags | MDB_RESERVE));

	if (rc)
		return evlog_map_err(rc, evlog_db_names[db]);
	wire_pack_to(msg, val.mv_data);
	return 0;
}

static int read_head(struct evlog_txn *txn, uint64_t *pos, uint8_t *hash)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_EVENTS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*pos = 0;
		if (hash)
			memset(hash, 0, WIRE_HASH_LEN);
		rc = 0;
	} else if (rc == 0) {
		*pos = key.mv_size == 8 ? evlog_get_be64(key.mv_data) : 0;
		if (hash)
			crypto_sha256(val.mv_data, val.mv_size, hash);
		if (!*pos)
			rc = ML_ECORRUPT;
	} else {
		rc = evlog_map_err(rc, "read head");
	}
	mdb_cursor_close(cur);
	return rc;
}

static const char schema_key[] = "schema_version";

static int put_schema(struct evlog_txn *txn)
{
	uint8_t v[4];
	MDB_val k = { .mv_size = sizeof(schema_key) - 1, .mv_data = (void *)schema_key };
	MDB_val nv = { .mv_size = 4, .mv_data = v };

	wire_put_be32(v, EVLOG_SCHEMA_VERSION);
	return evlog_map_err(evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_META], &k, &nv,
						      0)), "meta");
}

/* The schemas whose layout changed: stream_tails added (schema 4), keys
 * moved into households (schema 5), the keys of households begin with the
 * household's anchor (schema 6). */
#define EVLOG_SCHEMA_TAILS 4
#define EVLOG_SCHEMA_KEYS_IN_HOUSEHOLDS 5
#define EVLOG_SCHEMA_ANCHORED 6

/* Refuse a directory whose databases are not those of its schema v
 * (EVLOG_SCHEMA_READ..EVLOG_SCHEMA_VERSION): stream_tails from
 * EVLOG_SCHEMA_TAILS on (a writable open has just made it), keys before
 * EVLOG_SCHEMA_KEYS_IN_HOUSEHOLDS only. */
static int check_layout(const struct evlog *log, uint32_t v, char *err, size_t errlen)
{
	bool no_tails = log->no_tails && v >= EVLOG_SCHEMA_TAILS;

	if (no_tails || (!log->old_keys && v < EVLOG_SCHEMA_KEYS_IN_HOUSEHOLDS))
		snprintf(err, errlen, "'%s' is not a maillage data directory (no '%s' database "
			 "in schema %u)", log->dir, evlog_db_names[no_tails ? DB_TAILS : DB_KEYS], v);
	else if (log->old_keys && v >= EVLOG_SCHEMA_KEYS_IN_HOUSEHOLDS)
		snprintf(err, errlen, "'%s' has a '%s' database in schema %u (data keys belong "
			 "in '%s')", log->dir, evlog_db_names[DB_KEYS], v,
			 evlog_db_names[DB_HOUSEHOLDS]);
	else
		return 0;
	return ML_ESCHEMA;
}

/* What an upgrade did, logged by evlog_open() once it has committed. */
struct upgraded {
	uint32_t from;           /* 0: no upgrade */
	uint64_t commands;       /* records moved into command_log (from 2) */
	uint64_t keys;           /* data keys moved into households */
	uint64_t households;     /* households re-keyed with their anchors */
};

/* Upgrade a directory of schema `from` (EVLOG_SCHEMA_UPGRADE on) in the
 * open's write transaction, so that a crash leaves one schema or the other;
 * open_dbs() has made stream_tails. *up says what was done; nothing is
 * logged here (the transaction may still abort). */
static int upgrade(struct evlog_txn *txn, uint32_t from, struct upgraded *up, char *err,
		   size_t errlen)
{
	char why[256] = "";
	int rc = from == 2 ? evlog_commands_migrate(txn, &up->commands) : 0;

	if (!rc)
		rc = evlog_datakeys_migrate(txn, &up->keys, why, sizeof(why));
	if (!rc)
		rc = evlog_households_anchor(txn, &up->households, why, sizeof(why));
	if (!rc)
		rc = put_schema(txn);
	if (rc)
		snprintf(err, errlen, "cannot upgrade '%s' from schema %u: %s", txn->log->dir,
			 from, why[0] ? why : ml_strerror(rc));
	else
		up->from = from;
	return rc;
}

/* Log the upgrade up, committed: one line. */
static void log_upgraded(const struct upgraded *up)
{
	char commands[32] = "";

	if (up->from == 2)
		snprintf(commands, sizeof(commands), " commands=%llu",
			 (unsigned long long)up->commands);
	log_info("schema_upgraded", "from=%u to=%u%s keys=%llu households=%llu detail=\"%s%s%s"
		 "households keyed by their first referral's position\"", up->from,
		 EVLOG_SCHEMA_VERSION, commands, (unsigned long long)up->keys,
		 (unsigned long long)up->households,
		 up->from == 2 ? "idempotency records moved into command_log; " : "",
		 up->from < EVLOG_SCHEMA_TAILS ? "stream_tails added: each case's next "
		 "events are indexed there first; " : "",
		 up->from < EVLOG_SCHEMA_KEYS_IN_HOUSEHOLDS ? "data keys moved into "
		 "households, beside each household's cases; " : "");
}

/* A new directory gets the schema version, one from EVLOG_SCHEMA_UPGRADE on
 * is upgraded (*up), a read-only open reads one from EVLOG_SCHEMA_READ on as
 * it is; any other version, or databases not of the version, are refused. */
static int check_schema(struct evlog_txn *txn, bool readonly, struct upgraded *up, char *err,
			size_t errlen)
{
	uint32_t oldest = readonly ? EVLOG_SCHEMA_READ : EVLOG_SCHEMA_UPGRADE, v;
	MDB_val val;
	int rc = evlog_get_raw(txn, DB_META, schema_key, sizeof(schema_key) - 1, &val);

	if (rc == ML_ENOTFOUND && !readonly && txn->last_pos == 0 && !txn->log->old_keys) {
		txn->log->anchored = true;
		return put_schema(txn);
	}
	if (rc == ML_ENOTFOUND) {
		snprintf(err, errlen, "'%s' is not a maillage data directory (no schema version)",
			 txn->log->dir);
		return ML_ESCHEMA;
	}
	if (rc)
		return rc;
	v = val.mv_size == 4 ? wire_get_be32(val.mv_data) : 0;
	if (v < oldest || v > EVLOG_SCHEMA_VERSION) {
		snprintf(err, errlen, "'%s' has schema version %u; %s reads versions %u to %u",
			 txn->log->dir, v, readonly ? "a read-only open" : "this maillaged",
			 oldest, EVLOG_SCHEMA_VERSION);
		return ML_ESCHEMA;
	}
	txn->log->anchored = v >= EVLOG_SCHEMA_ANCHORED;
	rc = check_layout(txn->log, v, err, errlen);
	if (!rc && !readonly && v < EVLOG_SCHEMA_VERSION)
		rc = upgrade(txn, v, up, err, errlen);
	return rc;
}

/* Open every database and check (or upgrade) the schema, in one
 * transaction; an upgrade is logged once that transaction has committed. */
static int open_dbs(struct evlog *log, bool readonly, char *err, size_t errlen)
{
	struct upgraded up = { .from = 0 };
	struct evlog_txn *txn;
	int rc = evlog_txn_begin(log, !readonly, &txn);

	if (rc) {
		snprintf(err, errlen, "cannot begin a transaction in '%s': %s", log->dir,
			 ml_strerror(rc));
		return rc;
	}
	for (int i = 0; i < DB_COUNT; i++) {
		/* keys is never made: schema 5 keeps the data keys in households. */
		int mrc = mdb_dbi_open(txn->txn, evlog_db_names[i],
				       readonly || i == DB_KEYS ? 0 : MDB_CREATE, &log->dbi[i]);

		if (mrc == MDB_NOTFOUND && i == DB_TAILS && readonly) {
			log->no_tails = true;      /* schema 3: check_schema() says */
			log->dbi[i] = EVLOG_DBI_NONE;
			continue;
		}
		if (i == DB_KEYS) {
			log->old_keys = !mrc;      /* schema 4 or before: check_schema() says */
			if (mrc == MDB_NOTFOUND) {
				log->dbi[i] = EVLOG_DBI_NONE;
				continue;
			}
		}
		if (mrc) {
			if (mrc == MDB_NOTFOUND && i == DB_COMMANDS)
				snprintf(err, errlen, "'%s' has no '%s' database: a data directory "
					 "of an older maillaged; start the server once on it to "
					 "upgrade it", log->dir, evlog_db_names[i]);
			else if (mrc == MDB_NOTFOUND)
				snprintf(err, errlen, "'%s' is not a maillage data directory "
					 "(no '%s' database)", log->dir, evlog_db_names[i]);
			else
				snprintf(err, errlen, "cannot open database '%s' in '%s': %s",
					 evlog_db_names[i], log->dir, mdb_strerror(mrc));
			rc = mrc == MDB_NOTFOUND ? ML_ESCHEMA : ML_EDB;
			goto err_abort;
		}
	}
	rc = read_head(txn, &txn->last_pos, txn->head_hash);
	if (rc) {
		snprintf(err, errlen, "cannot read the head of the log in '%s': %s",
			 log->dir, ml_strerror(rc));
		goto err_abort;
	}
	log->last_pos = txn->last_pos;
	memcpy(log->head_hash, txn->head_hash, WIRE_HASH_LEN);
	rc = check_schema(txn, readonly, &up, err, errlen);
	if (!rc && (rc = evlog_commands_open(txn)))
		snprintf(err, errlen, "cannot read the command log of '%s': %s", log->dir,
			 ml_strerror(rc));
	if (rc)
		goto err_abort;
	/* Commit even a read-only transaction: the handles it opened live on. */
	rc = evlog_txn_commit(txn);
	if (rc)
		snprintf(err, errlen, "cannot commit the opening of '%s': %s", log->dir,
			 ml_strerror(rc));
	else if (up.from)
		log_upgraded(&up);
	return rc;

err_abort:
	evlog_txn_abort(txn);
	return rc;
}

int evlog_open(const char *dir, size_t map_size, bool readonly,
	       struct evlog **out, char *err, size_t errlen)
{
	struct evlog *log = calloc(1, sizeof(*log));
	int rc;

	if (!log || !(log->dir = strdup(dir)) || evlog_households_init(log)) {
		if (log)
			free(log->dir);
		free(log);
		snprintf(err, errlen, "out of memory");
		return ML_ENOMEM;
	}
	if (!readonly && mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create data directory '%s': %s", dir, strerror(errno));
		rc = ML_EIO;
		goto err_free_log;
	}
	rc = mdb_env_create(&log->env);
	if (rc) {
		snprintf(err, errlen, "cannot create the LMDB environment: %s", mdb_strerror(rc));
		rc = ML_EDB;
		goto err_free_log;
	}
	mdb_env_set_maxdbs(log->env, DB_COUNT + 4);
	if (map_size)
		mdb_env_set_mapsize(log->env, map_size);
	rc = mdb_env_open(log->env, dir, (readonly ? MDB_RDONLY : 0) | MDB_NOTLS, 0600);
	if (rc) {
		snprintf(err, errlen, "cannot open data directory '%s': %s", dir,
			 rc == MDB_INVALID ? "not an LMDB environment" : mdb_strerror(rc));
		rc = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? ML_ECORRUPT : ML_EIO;
		goto err_close_env;
	}
	rc = open_dbs(log, readonly, err, errlen);
	if (rc)
		goto err_close_env;
	*out = log;
	return 0;

err_close_env:
	mdb_env_close(log->env);
err_free_log:
	evlog_households_free(log);
	free(log->dir);
	free(log);
	return rc;
}

bool evlog_exists(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void evlog_close(struct evlog *log)
{
	if (!log)
		return;
	mdb_env_close(log->env);
	evlog_commands_free(log);
	evlog_households_free(log);
	free(log->dir);
	free(log);
}

int evlog_txn_begin(struct evlog *log, bool write, struct evlog_txn **out)
{
	struct evlog_txn *txn = calloc(1, sizeof(*txn));
	int rc;

	if (!txn)
		return ML_ENOMEM;
	txn->log = log;
	txn->write = write;
	rc = mdb_txn_begin(log->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (rc) {
		free(txn);
		return evlog_map_err(rc, "begin");
	}
	if (write) {
		txn->last_pos = log->last_pos;
		memcpy(txn->head_hash, log->head_hash, WIRE_HASH_LEN);
		txn->cmd_seq = log->cmd_seq;
	} else if (log->dbi[DB_EVENTS] && (rc = read_head(txn, &txn->last_pos, NULL))) {
		evlog_txn_abort(txn);
		return rc;
	}
	*out = txn;
	return 0;
}

int evlog_txn_nest(struct evlog_txn *parent, struct evlog_txn **out)
{
	struct evlog_txn *txn = calloc(1, sizeof(*txn));
	int rc;

	if (!txn)
		return ML_ENOMEM;
	*txn = *parent;
	txn->parent = parent;
	rc = mdb_txn_begin(parent->log->env, parent->txn, 0, &txn->txn);
	if (rc) {
		free(txn);
		return evlog_map_err(rc, "begin nested");
	}
	*out = txn;
	return 0;
}

/* Room left on the file system of the data directory, in bytes, for an
 * unprivileged writer (UINT64_MAX when it cannot be told). */
static uint64_t room_left(const struct evlog *log)
{
	struct statvfs vfs;

	if (statvfs(log->dir, &vfs))
		return UINT64_MAX;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

int evlog_txn_commit(struct evlog_txn *txn)
{
	struct evlog_txn *dst = txn->parent;
	int rc = mdb_txn_commit(txn->txn);

	/* LMDB reports a short page write as EIO: on a full file system the
	 * write stopped where the room ran out. */
	if (rc == EIO && txn->write && room_left(txn->log) < EVLOG_ROOM_MIN)
		rc = ENOSPC;

	if (rc == 0 && txn->write) {
		if (!dst) {
			txn->log->last_pos = txn->last_pos;
			memcpy(txn->log->head_hash, txn->head_hash, WIRE_HASH_LEN);
			txn->log->cmd_seq = txn->cmd_seq;
		} else {
			dst->last_pos = txn->last_pos;
			memcpy(dst->head_hash, txn->head_hash, WIRE_HASH_LEN);
			dst->cmd_seq = txn->cmd_seq;
			dst->writes = txn->writes;
			dst->hh_synced |= txn->hh_synced;   /* what the child saw, it too */
		}
	} else if (rc && txn->write && !dst) {
		evlog_commands_rollback(txn->log);
	}
	free(txn);
	return evlog_map_err(rc, "commit");
}

void evlog_txn_abort(struct evlog_txn *txn)
{
	if (!txn)
		return;
	if (txn->write && !txn->parent)
		evlog_commands_rollback(txn->log);
	mdb_txn_abort(txn->txn);
	free(txn);
}

uint64_t evlog_txn_writes(const struct evlog_txn *txn)
{
	return txn->writes;
}

uint64_t evlog_last_position(const struct evlog_txn *txn)
{
	return txn->last_pos;
}

int evlog_append(struct evlog_txn *txn, ml_event *ev)
{
	uint8_t posbuf[8], head[WIRE_HASH_LEN];
	MDB_val key = { .mv_size = 8, .mv_data = posbuf }, val;
	int rc;

	ev->position = txn->last_pos + 1;
	ev->prev_hash.data = txn->head_hash;
	ev->prev_hash.len = WIRE_HASH_LEN;
	evlog_put_be64(posbuf, ev->position);
	if (!evlog_stream_key_ok(ev->case_id))
		return ML_EINVAL;
	val.mv_size = wire_packed_size(ev);
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_EVENTS], &key, &val,
		     MDB_APPEND | MDB_RESERVE));
	if (rc)
		return evlog_map_err(rc, "append event");
	wire_pack_to(ev, val.mv_data);
	/* The event now holds the old head; the new head is its own hash (taken
	 * before the next put: the reserved space is ours until then). */
	crypto_sha256(val.mv_data, val.mv_size, head);
	rc = evlog_stream_add(txn, ev->case_id, ev->case_version, ev->position);
	if (rc)
		return rc;
	memcpy(txn->head_hash, head, WIRE_HASH_LEN);
	ev->prev_hash.data = NULL;
	ev->prev_hash.len = 0;
	txn->last_pos = ev->position;
	return 0;
}

int evlog_event_get(struct evlog_txn *txn, uint64_t pos, ml_event **out)
{
	uint8_t k[8];

	evlog_put_be64(k, pos);
	return GET_MSG(txn, DB_EVENTS, k, 8, wire_event_unpack, out);
}

int evlog_call_event_fn(evlog_event_fn fn, void *arg, const MDB_val *val)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[WIRE_EVENT_ARENA];
	struct wire_arena a;
	ml_event *ev;
	int rc;

	wire_arena_init(&a, mem, sizeof(mem), false);
	ev = wire_event_unpack_in(&a, val->mv_data, val->mv_size);
	rc = ev ? fn(arg, ev, val->mv_data, val->mv_size) : ML_ECORRUPT;
	wire_arena_release(&a);
	return rc;
}

int evlog_scan(struct evlog_txn *txn, uint64_t from, evlog_event_fn fn, void *arg)
{
	uint8_t k[8];
	MDB_val key = { .mv_size = 8, .mv_data = k }, val;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_EVENTS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	evlog_put_be64(k, from);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		rc = evlog_call_event_fn(fn, arg, &val);
		if (rc)
			goto out_close;
	}
	rc = rc == MDB_NOTFOUND ? 0 : evlog_map_err(rc, "scan");
out_close:
	mdb_cursor_close(cur);
	return rc > 0 ? 0 : rc;
}

int evlog_case_get(struct evlog_txn *txn, const char *case_id, ml_case **out)
{
	return GET_MSG(txn, DB_CASES, case_id, strlen(case_id), wire_case_unpack, out);
}

int evlog_case_put(struct evlog_txn *txn, const ml_case *c)
{
	return evlog_put_msg(txn, DB_CASES, c->case_id, strlen(c->case_id), c, 0);
}

int evlog_next_case_number(struct evlog_txn *txn, const char *code, int year, uint32_t *out)
{
	char name[64];
	uint8_t v[4];
	MDB_val val, nv = { .mv_size = 4, .mv_data = v };
	MDB_val key = { .mv_data = name };
	uint32_t n = 0;
	int rc;

	key.mv_size = (size_t)snprintf(name, sizeof(name), "seq/%s/%04d", code, year);
	rc = evlog_get_raw(txn, DB_META, name, key.mv_size, &val);
	if (rc == 0 && val.mv_size == 4)
		n = wire_get_be32(val.mv_data);
	else if (rc != ML_ENOTFOUND)
		return rc ? rc : ML_ECORRUPT;
	wire_put_be32(v, ++n);
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_META], &key, &nv, 0));
	if (rc)
		return evlog_map_err(rc, "meta");
	*out = n;
	return 0;
}

/* proj_pending key: referred_at (u64 BE), then the case id. */
static int pending_key(uint8_t *buf, int64_t referred_at, const char *case_id, MDB_val *key)
{
	size_t n = strlen(case_id);

	if (n + 8 > STREAM_KEY_MAX)
		return ML_EINVAL;
	evlog_put_be64(buf, (uint64_t)referred_at);
	memcpy(buf + 8, case_id, n);
	key->mv_data = buf;
	key->mv_size = n + 8;
	return 0;
}

int evlog_pending_put(struct evlog_txn *txn, int64_t referred_at, const char *case_id)
{
	uint8_t buf[STREAM_KEY_MAX];
	MDB_val key, val = { .mv_size = 0, .mv_data = NULL };
	int rc = pending_key(buf, referred_at, case_id, &key);

	if (rc)
		return rc;
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_PENDING], &key, &val, 0));
	return evlog_map_err(rc, "pending");
}

int evlog_pending_del(struct evlog_txn *txn, int64_t referred_at, const char *case_id)
{
	uint8_t buf[STREAM_KEY_MAX];
	MDB_val key;
	int rc = pending_key(buf, referred_at, case_id, &key);

	if (rc)
		return rc;
	rc = evlog_wrote(txn, mdb_del(txn->txn, txn->log->dbi[DB_PENDING], &key, NULL));
	return rc == MDB_NOTFOUND ? 0 : evlog_map_err(rc, "pending");
}

int evlog_pending_scan(struct evlog_txn *txn, int64_t before, evlog_pending_fn fn, void *arg)
{
	char case_id[STREAM_KEY_MAX];
	MDB_val key, val;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_PENDING], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		int64_t at;

		if (key.mv_size <= 8 || key.mv_size - 8 >= sizeof(case_id)) {
			rc = ML_ECORRUPT;
			goto out_close;
		}
		at = (int64_t)evlog_get_be64(key.mv_data);
		if (at >= before)
			break;
		memcpy(case_id, (uint8_t *)key.mv_data + 8, key.mv_size - 8);
		case_id[key.mv_size - 8] = 0;
		rc = fn(arg, at, case_id);
		if (rc)
			goto out_close;
	}
	rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : evlog_map_err(rc, "pending scan");
out_close:
	mdb_cursor_close(cur);
	return rc > 0 ? 0 : rc;
}

/* proj_caseload key: platform id, a 0 byte, case id. */
static int caseload_key(uint8_t *buf, const char *platform, const char *case_id, MDB_val *key)
{
	size_t p = strlen(platform), c = strlen(case_id);

	if (p + c + 1 > STREAM_KEY_MAX)
		return ML_EINVAL;
	memcpy(buf, platform, p + 1);
	memcpy(buf + p + 1, case_id, c);
	key->mv_data = buf;
	key->mv_size = p + 1 + c;
	return 0;
}

int evlog_caseload_put(struct evlog_txn *txn, const char *platform, const char *case_id)
{
	uint8_t buf[STREAM_KEY_MAX];
	MDB_val key, val = { .mv_size = 0, .mv_data = NULL };
	int rc = caseload_key(buf, platform, case_id, &key);

	if (rc)
		return rc;
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_CASELOAD], &key, &val, 0));
	return evlog_map_err(rc, "caseload");
}

int evlog_caseload_scan(struct evlog_txn *txn, const char *platform, const char *after,
			evlog_case_id_fn fn, void *arg)
{
	uint8_t buf[STREAM_KEY_MAX];
	char case_id[STREAM_KEY_MAX];
	size_t prefix = strlen(platform) + 1;
	MDB_val key, val;
	MDB_cursor *cur;
	int rc = caseload_key(buf, platform, after ? after : "", &key);

	if (rc)
		return rc;
	rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_CASELOAD], &cur);
	if (rc)
		return evlog_map_err(rc, "cursor");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		size_t n = key.mv_size - prefix;

		if (key.mv_size < prefix || memcmp(key.mv_data, buf, prefix))
			break;
		memcpy(case_id, (uint8_t *)key.mv_data + prefix, n);
		case_id[n] = 0;
		if (after && !strcmp(case_id, after))
			continue;
		rc = fn(arg, case_id);
		if (rc)
			goto out_close;
	}
	rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : evlog_map_err(rc, "caseload scan");
out_close:
	mdb_cursor_close(cur);
	return rc > 0 ? 0 : rc;
}

/* The databases derived from the log (DESIGN.md: "can be dropped and
 * rebuilt"); the sequence counters in meta stay, and so do the data keys in
 * households (evlog_keys.c): its rows are those of evlog_is_household_row. */
static const int model_dbs[] = { DB_CASES, DB_HOUSEHOLDS, DB_PENDING, DB_CASELOAD };

/* key is a row of the model kept in db. */
static bool model_row(const struct evlog *log, int db, const MDB_val *key)
{
	return db != DB_HOUSEHOLDS || evlog_is_household_row(log, key);
}

/* Delete the households' rows, one by one: the data keys stay. */
static int clear_households(struct evlog_txn *txn)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_HOUSEHOLDS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		/* After mdb_cursor_del the cursor already sits on the row
		 * that followed the deleted one, and MDB_NEXT returns that
		 * row rather than the one after it: LMDB 0.9's mdb_cursor_del0
		 * sets C_DEL on the cursor and mdb_cursor_next, seeing it,
		 * clears it and does not advance. Behaviour of mdb.c, not
		 * documented in lmdb.h: test_models_rebuild's households side
		 * by side fail if a row is stepped over. */
		if (evlog_is_household_row(txn->log, &key) &&
		    (rc = evlog_wrote(txn, mdb_cursor_del(cur, 0))))
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : evlog_map_err(rc, "clear");
}

int evlog_models_clear(struct evlog_txn *txn)
{
	uint64_t keys;
	int rc = evlog_datakey_count(txn, &keys);

	for (size_t i = 0; !rc && i < sizeof(model_dbs) / sizeof(model_dbs[0]); i++) {
		int db = model_dbs[i];

		rc = db == DB_HOUSEHOLDS ? clear_households(txn) :
		     evlog_map_err(evlog_wrote(txn, mdb_drop(txn->txn, txn->log->dbi[db], 0)),
				   "clear");
	}
	return rc ? rc : evlog_datakeys_unchanged(txn, keys, "clear models");
}

/* "k" as text when printable, else as hex, for fault messages. */
static void show_key(const MDB_val *k, char *out, size_t len)
{
	const uint8_t *p = k->mv_data;
	bool text = true;
	size_t n = 0;

	for (size_t i = 0; i < k->mv_size; i++)
		text = text && ((p[i] >= 0x20 && p[i] < 0x7f) || !p[i]);
	for (size_t i = 0; i < k->mv_size && n + 3 < len; i++)
		n += text ? (size_t)snprintf(out + n, len - n, "%c", p[i] ? p[i] : '/') :
			    (size_t)snprintf(out + n, len - n, "%02x", p[i]);
	out[n < len ? n : len - 1] = 0;
}

/* The cursor's row at op, or the first model row of db after it. */
static int model_get(const struct evlog *log, MDB_cursor *cur, int db, MDB_val *key,
		     MDB_val *val, MDB_cursor_op op)
{
	int rc = mdb_cursor_get(cur, key, val, op);

	while (!rc && !model_row(log, db, key))
		rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
	return rc;
}

/* Walk the model rows of one database of a and b side by side; 1 and fault
 * filled at the first difference. */
static int compare_db(struct evlog_txn *a, struct evlog_txn *b, int db, char *fault,
		      size_t len)
{
	MDB_cursor *ca = NULL, *cb = NULL;
	MDB_val ka, va, kb, vb;
	char key[160];
	int ra, rb, rc;

	rc = mdb_cursor_open(a->txn, a->log->dbi[db], &ca);
	if (!rc)
		rc = mdb_cursor_open(b->txn, b->log->dbi[db], &cb);
	if (rc) {
		rc = evlog_map_err(rc, "cursor");
		goto out_close;
	}
	for (ra = model_get(a->log, ca, db, &ka, &va, MDB_FIRST),
	     rb = model_get(b->log, cb, db, &kb, &vb, MDB_FIRST);
	     !ra && !rb;
	     ra = model_get(a->log, ca, db, &ka, &va, MDB_NEXT),
	     rb = model_get(b->log, cb, db, &kb, &vb, MDB_NEXT)) {
		if (ka.mv_size != kb.mv_size || memcmp(ka.mv_data, kb.mv_data, ka.mv_size)) {
			show_key(&ka, key, sizeof(key));
			snprintf(fault, len, "%s: entry '%s' is not what the log gives",
				 evlog_db_names[db], key);
			rc = 1;
			goto out_close;
		}
		if (va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size)) {
			show_key(&ka, key, sizeof(key));
			snprintf(fault, len, "%s: the value of '%s' differs from the rebuilt one",
				 evlog_db_names[db], key);
			rc = 1;
			goto out_close;
		}
	}
	if (ra != rb) {
		show_key(ra ? &kb : &ka, key, sizeof(key));
		snprintf(fault, len, "%s: '%s' is %s", evlog_db_names[db], key,
			 ra ? "missing" : "there but the log does not give it");
		rc = 1;
	} else {
		rc = ra == MDB_NOTFOUND ? 0 : evlog_map_err(ra, "compare");
	}
out_close:
	if (ca)
		mdb_cursor_close(ca);
	if (cb)
		mdb_cursor_close(cb);
	return rc;
}

/* Each household's record of cases in x is in y, under the same anchor
 * when both have anchors, with the same value: 1 and fault filled at the
 * first that is not, naming it as `missing` says (x is the store checked:
 * "there but the log does not give it"; x is the rebuild: "missing"). The
 * household keys, not the keys of households, are compared: a read-only
 * open of schema 3 to 5 has none of the anchors of the rebuild. */
static int households_in(struct evlog_txn *x, struct evlog_txn *y, const char *missing,
			 char *fault, size_t len)
{
	char hex[2 * WIRE_HASH_LEN + 1];
	const char *what = NULL;
	MDB_cursor *cur;
	MDB_val key, val, other, k = { .mv_size = WIRE_HASH_LEN };
	int rc = 0, mrc = mdb_cursor_open(x->txn, x->log->dbi[DB_HOUSEHOLDS], &cur);

	if (mrc)
		return evlog_map_err(mrc, "cursor");
	for (mrc = model_get(x->log, cur, DB_HOUSEHOLDS, &key, &val, MDB_FIRST); !mrc;
	     mrc = model_get(x->log, cur, DB_HOUSEHOLDS, &key, &val, MDB_NEXT)) {
		struct evlog_hh h;

		k.mv_data = (void *)evlog_row_hk(x->log, DB_HOUSEHOLDS, &key);
		rc = evlog_hh_find(y, k.mv_data, &h);
		if (!rc)
			rc = evlog_get_raw(y, DB_HOUSEHOLDS, h.prefix, h.len, &other);
		if (rc == ML_ENOTFOUND)
			what = missing;
		else if (!rc && x->log->anchored && y->log->anchored &&
			 evlog_get_be64(key.mv_data) != h.at)
			what = "under another anchor than the rebuilt one";
		else if (!rc && (val.mv_size != other.mv_size ||
				 memcmp(val.mv_data, other.mv_data, val.mv_size)))
			what = "not the rebuilt one";
		if (what || rc)
			break;
	}
	mdb_cursor_close(cur);
	if (what) {
		evlog_key_hex(&k, hex);
		snprintf(fault, len, "%s: the record of household %s is %s",
			 evlog_db_names[DB_HOUSEHOLDS], hex, what);
		return 1;
	}
	return rc ? rc : mrc == MDB_NOTFOUND ? 0 : evlog_map_err(mrc, "compare");
}

int evlog_models_compare(struct evlog_txn *a, struct evlog_txn *b, char *fault, size_t len)
{
	for (size_t i = 0; i < sizeof(model_dbs) / sizeof(model_dbs[0]); i++) {
		int db = model_dbs[i];
		int rc = db != DB_HOUSEHOLDS ? compare_db(a, b, db, fault, len) :
			 households_in(a, b, "there but the log does not give it", fault, len);

		if (!rc && db == DB_HOUSEHOLDS)
			rc = households_in(b, a, "missing", fault, len);

		if (rc)
			return rc > 0 ? ML_ECORRUPT : rc;
	}
	return 0;
}

const char *evlog_dir(const struct evlog *log)
{
	return log->dir;
}

int evlog_copy(struct evlog *log, int fd)
{
	return evlog_map_err(mdb_env_copyfd2(log->env, fd, MDB_CP_COMPACT), "copy");
}

/* Loading the models of a rebuild: each row goes at the end of its database
 * (flags MDB_APPEND), so pages are filled instead of split in half, and a
 * row that does not sort after the last one is refused. */
static int load_row(struct evlog_txn *txn, int db, MDB_val *key, MDB_val *val,
		    unsigned flags)
{
	int rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[db], key, val, flags));

	return rc == MDB_KEYEXIST ? ML_EINVAL : evlog_map_err(rc, evlog_db_names[db]);
}

int evlog_case_append(struct evlog_txn *txn, const char *case_id, const void *summary,
		      size_t len)
{
	MDB_val key = { .mv_size = strlen(case_id), .mv_data = (void *)case_id };
	MDB_val val = { .mv_size = len, .mv_data = (void *)summary };

	return load_row(txn, DB_CASES, &key, &val, MDB_APPEND);
}

int evlog_pending_append(struct evlog_txn *txn, int64_t referred_at, const char *case_id)
{
	uint8_t buf[STREAM_KEY_MAX];
	MDB_val key, val = { .mv_size = 0, .mv_data = NULL };
	int rc = pending_key(buf, referred_at, case_id, &key);

	return rc ? rc : load_row(txn, DB_PENDING, &key, &val, MDB_APPEND);
}

int evlog_caseload_append(struct evlog_txn *txn, const char *platform, const char *case_id)
{
	uint8_t buf[STREAM_KEY_MAX];
	MDB_val key, val = { .mv_size = 0, .mv_data = NULL };
	int rc = caseload_key(buf, platform, case_id, &key);

	return rc ? rc : load_row(txn, DB_CASELOAD, &key, &val, MDB_APPEND);
}
