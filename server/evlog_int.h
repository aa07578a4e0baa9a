/* evlog_int.h - what the files of the LMDB store share (evlog.c, the log and
 * the models; evlog_households.c, where a household's rows are and its record
 * of cases; evlog_keys.c, data keys and free-page scrubbing; evlog_journal.c,
 * the access journal; evlog_commands.c, the idempotency records;
 * evlog_streams.c, each case's events in order; evlog_stat.c, figures).
 * Included by those files only: they are the server's only users of <lmdb.h>.
 */
#ifndef MAILLAGE_EVLOG_INT_H
#define MAILLAGE_EVLOG_INT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

enum {
	DB_EVENTS,
	DB_STREAMS,
	DB_COMMANDS,
	DB_HOUSEHOLDS,
	DB_CASES,
	DB_META,
	DB_PENDING,
	DB_CASELOAD,
	DB_KEYS,                 /* schema 4 and before: the data keys; since
				  * schema 5 they are in households */
	DB_JOURNAL,
	DB_JOURNAL_TIME,
	DB_TAILS,
	DB_COUNT
};

extern const char *const evlog_db_names[DB_COUNT];

/* The handle of a database the directory does not have (keys from schema 5
 * on, stream_tails in a read-only open of schema 3). Not 0: that is LMDB's
 * free database, a valid handle. LMDB refuses this one with EINVAL (mdb.c,
 * TXN_DBI_EXIST: a handle at or past the transaction's count of databases). */
#define EVLOG_DBI_NONE ((MDB_dbi)-1)

#define STREAM_KEY_MAX 256

struct evlog {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];          /* EVLOG_DBI_NONE: not in the directory */
	char *dir;
	/* Head of the committed log; read and written by the writer thread only. */
	uint64_t last_pos;
	uint8_t head_hash[WIRE_HASH_LEN];
	struct kek *kek;
	bool no_tails;           /* a read-only open of schema 3: no stream_tails */
	bool old_keys;           /* the data keys are in keys, not households: a
				  * read-only open of schema 3 or 4, or a writable
				  * one until its upgrade (evlog_datakeys_migrate) */
	/* The command log's last committed sequence and the index of its
	 * records by command id (evlog_commands.c); writer thread only. */
	uint64_t cmd_seq;
	struct evlog_cmd_index *cmds;
	/* The keys of households begin with the household's anchor (schema 6,
	 * evlog_households.c); false: a read-only open of schema 3 to 5, or a
	 * writable one until its upgrade (evlog_households_anchor()). */
	bool anchored;
	struct evlog_hh_index *households;   /* by household key; its own lock */
};

struct evlog_txn {
	struct evlog *log;
	MDB_txn *txn;
	struct evlog_txn *parent;
	bool write;
	uint64_t last_pos;                 /* head as seen by this transaction */
	uint8_t head_hash[WIRE_HASH_LEN];
	uint64_t cmd_seq;                  /* write: the command log's last sequence */
	uint64_t writes;                   /* writes attempted, with those of the
					    * children committed into it */
	bool hh_synced;                    /* the households' index has every
					    * household this transaction sees
					    * (evlog_households.c): true only
					    * while every household record
					    * written goes through
					    * evlog_household_put() or _append();
					    * a child begins with its parent's */
};

/* Count the write to txn that returned rc (a put, a del or a drop), for
 * evlog_txn_writes(); returns rc. A del that found nothing (MDB_NOTFOUND)
 * and a put refused for its key (MDB_KEYEXIST) changed nothing and do not
 * count; any other failure may have left txn changed, or unusable, and
 * does. Every write of evlog*.c goes through it. */
static inline int evlog_wrote(struct evlog_txn *txn, int rc)
{
	if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST)
		txn->writes++;
	return rc;
}

/* The command log (evlog_commands.c). evlog_commands_open(): at open, read
 * its last sequence into txn (0, ML_EDB); the index is built at the first
 * lookup, or by evlog_commands_preload() (evlog.h). evlog_commands_rollback(): a
 * top-level write transaction did not commit: records past log->cmd_seq are
 * no longer counted as indexed (entries left for them are harmless: every
 * hit is checked against LMDB). evlog_commands_free(): at close. Writer
 * thread (or a single-threaded tool) only. */
int evlog_commands_open(struct evlog_txn *txn);
/* Schema 2 kept the records in "commands", by command id: move them into
 * the command log and drop it (nothing to do when it is absent); *n gets
 * how many moved. Runs in the open's write transaction only; logs nothing
 * (evlog_open() logs the upgrade once it has committed). */
int evlog_commands_migrate(struct evlog_txn *txn, uint64_t *n);
void evlog_commands_rollback(struct evlog *log);
void evlog_commands_free(struct evlog *log);

/* Schema 4 and before kept the data keys in "keys": move every record into
 * households, same key and value, and drop keys (evlog_keys.c); *n gets how
 * many moved (0, nothing done, when there is no keys database:
 * !log->old_keys). ML_ECORRUPT when a key of keys is no data key's
 * (evlog_is_datakey_row) or is in households already: err names the record
 * and why. Runs only in the
 * open's write transaction (open_dbs()), and changes the state of txn->log
 * as it goes (log->dbi[DB_KEYS], log->old_keys) before that transaction
 * commits: when the transaction aborts, the evlog is in neither schema and
 * must be discarded (evlog_open() closes it). Logs nothing (evlog_open()
 * logs the upgrade once it has committed). */
int evlog_datakeys_migrate(struct evlog_txn *txn, uint64_t *n, char *err, size_t errlen);

/* A household's anchor, as the keys of households begin with it (schema 6). */
#define EVLOG_ANCHOR_LEN 8

/* The bytes of a key of db (households, or keys before schema 5) before a
 * data key's platform: the household's prefix, its anchor then its key
 * (households since schema 6), or its key alone. */
static inline size_t evlog_hh_prefix_len(const struct evlog *log, int db)
{
	return (db == DB_HOUSEHOLDS && log->anchored ? EVLOG_ANCHOR_LEN : 0) + WIRE_HASH_LEN;
}

/* A record of households that is a household's cases (its key is the
 * household's prefix), not a data key (the prefix, then a platform id). */
static inline bool evlog_is_household_row(const struct evlog *log, const MDB_val *key)
{
	return key->mv_size == evlog_hh_prefix_len(log, DB_HOUSEHOLDS);
}

/* A record of db (households, or keys before schema 5) that is a data key:
 * the household's prefix, then a platform id, never empty. */
static inline bool evlog_is_datakey_row(const struct evlog *log, int db, const MDB_val *key)
{
	return key->mv_size > evlog_hh_prefix_len(log, db);
}

/* The household key in the key of a record of db (households or keys). */
static inline const uint8_t *evlog_row_hk(const struct evlog *log, int db, const MDB_val *key)
{
	return (const uint8_t *)key->mv_data + evlog_hh_prefix_len(log, db) - WIRE_HASH_LEN;
}

/* Where a household's rows are in households (evlog_households.c): the
 * prefix of their keys (anchor then household key; the key alone before
 * schema 6) and the anchor (0 before schema 6). */
struct evlog_hh {
	uint8_t prefix[EVLOG_ANCHOR_LEN + WIRE_HASH_LEN];
	size_t len;
	uint64_t at;
};

/* h for the household hk anchored at `at` (schema 6). */
void evlog_hh_at(struct evlog_hh *h, uint64_t at, const uint8_t *hk);
/* Where hk's rows are: ML_ENOTFOUND when it has no record of cases in txn
 * (schema 6; before, always 0 and the key alone, found or not). */
int evlog_hh_find(struct evlog_txn *txn, const uint8_t *hk, struct evlog_hh *h);
/* The same; when hk has no record yet, *isnew and h for anchor `at`
 * (ML_EINVAL when at is 0). Before schema 6 evlog_hh_find() never misses:
 * the key alone, never new. */
int evlog_hh_place(struct evlog_txn *txn, const uint8_t *hk, uint64_t at, struct evlog_hh *h,
		   bool *isnew);
/* The index's life: made at open (0, ML_ENOMEM), freed at close. */
int evlog_households_init(struct evlog *log);
void evlog_households_free(struct evlog *log);
/* The upgrade to schema 6, in the open's write transaction (after
 * evlog_datakeys_migrate()): every row of households is re-keyed with its
 * household's anchor, the earliest first event of the cases its record
 * lists (from streams); *n the households. ML_ECORRUPT, err naming the
 * record, for a record of cases that does not decode, lists no case or a
 * case with no first event, or a data key not after its household's record.
 * Holds every row in memory meanwhile. Sets log->anchored; logs nothing. */
int evlog_households_anchor(struct evlog_txn *txn, uint64_t *n, char *err, size_t errlen);

/* The first 32 bytes of key (fewer if shorter) in hex, for messages. */
void evlog_key_hex(const MDB_val *key, char hex[2 * WIRE_HASH_LEN + 1]);

/* The streams index (evlog_streams.c): index the event at pos as version
 * `version` of case_id. ML_ECORRUPT when that version is indexed already or
 * does not follow the case's last one (a first version must be 1). */
int evlog_stream_add(struct evlog_txn *txn, const char *case_id, uint32_t version,
		     uint64_t pos);
/* case_id fits a streams key (evlog_append() checks before its first write). */
bool evlog_stream_key_ok(const char *case_id);

/* Call fn with the event stored in val, unpacked into an arena on the stack
 * (no malloc and free per field; none of it is personal data: not wiped). */
int evlog_call_event_fn(evlog_event_fn fn, void *arg, const MDB_val *val);

/* An LMDB return code as an ML_E* code (logged unless ordinary). */
int evlog_map_err(int rc, const char *what);

void evlog_put_be64(uint8_t *p, uint64_t v);
uint64_t evlog_get_be64(const uint8_t *p);

/* The value of k in db (valid while txn lives). ML_ENOTFOUND when absent. */
int evlog_get_raw(struct evlog_txn *txn, int db, const void *k, size_t klen, MDB_val *val);

/* Pack msg straight into a reserved LMDB value. */
int evlog_put_msg(struct evlog_txn *txn, int db, const void *k, size_t klen,
		  const void *msg, unsigned flags);

/* Decode a stored value with unpack; ML_ECORRUPT if it does not decode. */
#define GET_MSG(txn, db, k, klen, unpack, out) ({			\
	MDB_val v_;							\
	int rc_ = evlog_get_raw((txn), (db), (k), (klen), &v_);		\
	if (!rc_) {							\
		*(out) = unpack(v_.mv_data, v_.mv_size);		\
		rc_ = *(out) ? 0 : ML_ECORRUPT;				\
	}								\
	rc_; })

#endif
