/* evlog_commands.c - idempotency records: the command log and its index.
 *
 * A command's record (CommandRecord: request hash, actor, first answer) is
 * appended to `command_log` under the next sequence number (u64 BE); the
 * value is the 16-byte command id, then the packed record. Appending fills
 * one page after the other, where a B-tree keyed by the random command ids
 * rewrote about one page per command (issue 6: the largest share of what a
 * commit wrote).
 *
 * Lookups by command id go through an index in memory: an open-addressing
 * table of (tag, sequence), the tag a keyed 64-bit hash of the id
 * (SipHash-2-4 under a random key: a client choosing ids cannot make the
 * probes long), loaded from the log when the
 * directory is opened and extended by every put. A candidate is confirmed by
 * reading its record and comparing the whole id: an entry left by a
 * transaction that was aborted, whose sequence another command took since,
 * is never taken for a record. The table says where to look; only LMDB says
 * what is there.
 *
 * A read transaction newer than the index (maillage-admin beside a running
 * server) first indexes the records it sees beyond it.
 *
 * Memory (tagindex.h): 16 bytes a slot, at most half the slots in use: 32
 * bytes or less a command recorded (a million commands: 32 MiB at most).
 * Threads: in the server only the writer thread looks up and records
 * commands; maillage-admin is single-threaded.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "evlog_int.h"
#include "log.h"
#include "tagindex.h"

struct evlog_cmd_index {
	struct tagindex table;   /* tag of a command id -> its sequence */
	uint64_t max_seq;        /* every record up to this one is indexed */
	struct crypto_siphash *hash;  /* the tag's, under a key random per process */
};

/* SipHash of the id under the index's random key: a client choosing its
 * ids cannot aim them at a slot. */
static int tag_of(const struct evlog_cmd_index *ix, const uint8_t *id, uint64_t *tag)
{
	return crypto_siphash(ix->hash, id, WIRE_COMMAND_ID_LEN, tag);
}

static int add(struct evlog_cmd_index *ix, const uint8_t *id, uint64_t seq)
{
	uint64_t tag;
	int rc = tag_of(ix, id, &tag);

	if (!rc)
		rc = tagindex_add(&ix->table, tag, seq);
	if (!rc && seq > ix->max_seq)
		ix->max_seq = seq;
	return rc;
}

static struct evlog_cmd_index *index_of(struct evlog *log)
{
	struct evlog_cmd_index *ix = log->cmds;
	uint8_t key[CRYPTO_SIPHASH_KEY_LEN];

	if (ix)
		return ix;
	ix = calloc(1, sizeof(*ix));
	if (ix && (crypto_random(key, sizeof(key)) || crypto_siphash_new(key, &ix->hash))) {
		free(ix);
		ix = NULL;
	}
	explicit_bzero(key, sizeof(key));
	log->cmds = ix;
	return ix;
}

static int get_record(struct evlog_txn *txn, uint64_t seq, MDB_val *val)
{
	uint8_t k[8];

	evlog_put_be64(k, seq);
	return evlog_get_raw(txn, DB_COMMANDS, k, sizeof(k), val);
}

/* Index the records txn sees after ix->max_seq. */
static int catch_up(struct evlog_txn *txn, struct evlog_cmd_index *ix)
{
	MDB_cursor *cur;
	uint8_t k[8];
	MDB_val key = { .mv_size = sizeof(k), .mv_data = k }, val;
	int rc = 0, mrc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_COMMANDS], &cur);

	if (mrc)
		return evlog_map_err(mrc, "cursor");
	evlog_put_be64(k, ix->max_seq + 1);
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !mrc && !rc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		rc = key.mv_size != 8 || val.mv_size < WIRE_COMMAND_ID_LEN ? ML_ECORRUPT :
		     add(ix, val.mv_data, evlog_get_be64(key.mv_data));
	mdb_cursor_close(cur);
	if (!rc && mrc != MDB_NOTFOUND)
		rc = evlog_map_err(mrc, "command_log");
	return rc;
}

/* The log's last sequence as txn sees it in LMDB (0: empty). */
static int read_last_seq(struct evlog_txn *txn, uint64_t *seq)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn->txn, txn->log->dbi[DB_COMMANDS], &cur);

	if (rc)
		return evlog_map_err(rc, "cursor");
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	*seq = !rc && key.mv_size == 8 ? evlog_get_be64(key.mv_data) : 0;
	mdb_cursor_close(cur);
	return rc && rc != MDB_NOTFOUND ? evlog_map_err(rc, "command_log") : 0;
}

/* The last sequence txn sees: a write transaction keeps its own. */
static int last_seq(struct evlog_txn *txn, uint64_t *seq)
{
	if (!txn->write)
		return read_last_seq(txn, seq);
	*seq = txn->cmd_seq;
	return 0;
}

/* The sequence of id's record in txn, or 0. */
static int find(struct evlog_txn *txn, struct evlog_cmd_index *ix, const uint8_t *id,
		MDB_val *val, uint64_t *found)
{
	uint64_t tag;
	int rc = tag_of(ix, id, &tag);

	*found = 0;
	if (rc)
		return rc;
	for (size_t i = tagindex_first(&ix->table, tag); i != TAGINDEX_END;
	     i = tagindex_next(&ix->table, i, tag)) {
		uint64_t seq = ix->table.slots[i].value;

		rc = get_record(txn, seq, val);
		if (rc == ML_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		if (val->mv_size >= WIRE_COMMAND_ID_LEN &&
		    !memcmp(val->mv_data, id, WIRE_COMMAND_ID_LEN)) {
			*found = seq;
			return 0;
		}
	}
	return 0;
}

int evlog_command_get(struct evlog_txn *txn, const uint8_t *id, ml_command_record **out)
{
	struct evlog_cmd_index *ix = index_of(txn->log);
	uint64_t seq = 0, last;
	MDB_val val;
	int rc = ix ? find(txn, ix, id, &val, &seq) : ML_ENOMEM;

	if (!rc && !seq && !(rc = last_seq(txn, &last)) && last > ix->max_seq &&
	    !(rc = catch_up(txn, ix)))
		rc = find(txn, ix, id, &val, &seq);
	if (rc)
		return rc;
	if (!seq)
		return ML_ENOTFOUND;
	*out = wire_command_record_unpack((const uint8_t *)val.mv_data + WIRE_COMMAND_ID_LEN,
					  val.mv_size - WIRE_COMMAND_ID_LEN);
	return *out ? 0 : ML_ECORRUPT;
}

int evlog_command_put(struct evlog_txn *txn, const uint8_t *id, const ml_command_record *rec)
{
	struct evlog_cmd_index *ix = index_of(txn->log);
	uint8_t k[8];
	MDB_val key = { .mv_size = sizeof(k), .mv_data = k };
	MDB_val val = { .mv_size = WIRE_COMMAND_ID_LEN + wire_packed_size(rec) };
	int rc;

	if (!ix)
		return ML_ENOMEM;
	evlog_put_be64(k, txn->cmd_seq + 1);
	rc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_COMMANDS], &key, &val,
		     MDB_APPEND | MDB_RESERVE));
	if (rc)
		return evlog_map_err(rc, "command_log");
	memcpy(val.mv_data, id, WIRE_COMMAND_ID_LEN);
	wire_pack_to(rec, (uint8_t *)val.mv_data + WIRE_COMMAND_ID_LEN);
	rc = add(ix, id, txn->cmd_seq + 1);
	if (!rc)
		txn->cmd_seq++;
	return rc;
}

int evlog_commands_open(struct evlog_txn *txn)
{
	return read_last_seq(txn, &txn->cmd_seq);
}

int evlog_commands_preload(struct evlog *log)
{
	struct evlog_cmd_index *ix = index_of(log);
	struct evlog_txn *txn;
	int rc = ix ? evlog_txn_begin(log, false, &txn) : ML_ENOMEM;

	if (rc)
		return rc;
	rc = catch_up(txn, ix);
	evlog_txn_abort(txn);
	if (!rc)
		log_info("command_index", "commands=%zu slots=%zu", ix->table.used,
			 ix->table.cap);
	return rc;
}

void evlog_commands_rollback(struct evlog *log)
{
	if (log->cmds && log->cmds->max_seq > log->cmd_seq)
		log->cmds->max_seq = log->cmd_seq;
}

void evlog_commands_free(struct evlog *log)
{
	if (!log->cmds)
		return;
	tagindex_free(&log->cmds->table);
	crypto_siphash_free(log->cmds->hash);
	free(log->cmds);
	log->cmds = NULL;
}

int evlog_commands_migrate(struct evlog_txn *txn, uint64_t *n)
{
	MDB_dbi old;
	MDB_cursor *cur;
	MDB_val key, val, nk, nv;
	uint8_t k[8];
	int mrc = mdb_dbi_open(txn->txn, "commands", 0, &old);

	*n = 0;
	if (mrc == MDB_NOTFOUND)
		return 0;
	if (mrc || (mrc = mdb_cursor_open(txn->txn, old, &cur)))
		return evlog_map_err(mrc, "commands");
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !mrc;
	     mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != WIRE_COMMAND_ID_LEN)
			continue;
		evlog_put_be64(k, ++*n);
		nk = (MDB_val){ .mv_size = sizeof(k), .mv_data = k };
		nv = (MDB_val){ .mv_size = WIRE_COMMAND_ID_LEN + val.mv_size };
		mrc = evlog_wrote(txn, mdb_put(txn->txn, txn->log->dbi[DB_COMMANDS], &nk, &nv,
			      MDB_APPEND | MDB_RESERVE));
		if (mrc)
			break;
		memcpy(nv.mv_data, key.mv_data, WIRE_COMMAND_ID_LEN);
		memcpy((uint8_t *)nv.mv_data + WIRE_COMMAND_ID_LEN, val.mv_data, val.mv_size);
	}
	mdb_cursor_close(cur);
	if (mrc == MDB_NOTFOUND)
		mrc = evlog_wrote(txn, mdb_drop(txn->txn, old, 1));
	return evlog_map_err(mrc, "commands");
}
