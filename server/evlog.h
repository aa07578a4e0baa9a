/* evlog.h - the event log and every stored model, in one LMDB environment.
 *
 * Named databases (DESIGN.md section 3):
 *   events      position (u64 BE)              -> packed Event (hash-chained)
 *   streams     case id, 0, version (u32 BE)   -> position (u64 BE); each
 *               case's newest events are in stream_tails instead
 *   stream_tails case id                      -> first version (u32 BE), then
 *               up to 16 positions (u64 BE) (evlog_streams.c)
 *   command_log sequence (u64 BE)              -> command id (16 bytes), packed
 *               CommandRecord; indexed by command id in memory (evlog_commands.c)
 *   households  anchor (u64 BE), household key (32 bytes) -> packed
 *               HouseholdCases; anchor, household key, platform id -> packed
 *               DataKey: the data keys, beside their household's cases. The
 *               anchor: the position of the household's first case's first
 *               event (evlog_households.c, evlog_keys.c; before schema 6 the
 *               household key came first, without it)
 *   proj_cases  case id                        -> packed CaseSummary
 *   meta        name                           -> value ("schema_version",
 *               "seq/CODE/YEAR" case number counters)
 *   proj_pending referred_at (u64 BE), case id  -> nothing: the referrals
 *               waiting for a decision, oldest first
 *   proj_caseload platform id, 0, case id     -> nothing: each platform's cases
 *   keys        (schema 4 and before) the data keys, as in households now
 *   journal     case id, 0, at (u64 BE), seq (u32 BE) -> packed AccessRecord
 *   journal_time at (u64 BE), seq (u32 BE), case id -> nothing: the journal by
 *               age, for its retention (evlog_journal.c)
 *
 * Threads: write transactions are begun, nested and committed only by the
 * writer thread, one at a time. Read transactions may be used by any thread,
 * each by the thread that began it. Everything a getter returns is a copy
 * (valid after the transaction ends), freed with wire_free().
 *
 * Errors: ML_ENOTFOUND (no such key), ML_EMAPFULL (map full), ML_ENOSPACE
 * (file system full), ML_EDB
 * (any other LMDB failure; logged), ML_ECORRUPT (a stored value that does not
 * decode, or an index out of step with the log), ML_ENOMEM.
 */
#ifndef MAILLAGE_EVLOG_H
#define MAILLAGE_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define EVLOG_SCHEMA_VERSION 6
/* A directory of this version or a later one (below EVLOG_SCHEMA_VERSION) is
 * upgraded when the server opens it, in the open's one write transaction:
 * 2 moves its idempotency records into the command log; 2 and 3 get the
 * (empty) stream_tails; 2, 3 and 4 have their data keys moved from keys into
 * households; 2 to 5 have the keys of households re-keyed with each
 * household's anchor (evlog_households.c). */
#define EVLOG_SCHEMA_UPGRADE 2
/* A read-only open (maillage-admin verify and export, the checks of a
 * backup) reads a directory of this version or a later one as it is. */
#define EVLOG_SCHEMA_READ 3

struct evlog;
struct evlog_txn;
struct kek;

/* Open (creating if needed, mode 0700) the data directory dir with a map of
 * map_size bytes (0: the size the environment was last used with), upgrading
 * an older schema when writable (EVLOG_SCHEMA_UPGRADE). Refuses a directory
 * of another schema version, or whose databases are not its version's
 * (ML_ESCHEMA), or one whose log does not decode (ML_ECORRUPT). On failure
 * writes a message naming dir into err. */
int evlog_open(const char *dir, size_t map_size, bool readonly,
	       struct evlog **out, char *err, size_t errlen);
void evlog_close(struct evlog *log);

/* True when dir holds an LMDB environment (a data.mdb file); says nothing of
 * its schema, which evlog_open() checks. */
bool evlog_exists(const char *dir);

/* The key-encryption key of the data directory (kek.h), kept with the
 * environment for whoever opens data keys in one of its transactions;
 * evlog does not use it. */
void evlog_attach_kek(struct evlog *log, struct kek *k);
struct kek *evlog_txn_kek(const struct evlog_txn *txn);
struct kek *evlog_kek(const struct evlog *log);

/* The data directory log was opened on. */
const char *evlog_dir(const struct evlog *log);

/* Write a compacting copy of the environment (LMDB's, free pages left out)
 * into fd, from one read snapshot; writers go on meanwhile. ML_ENOSPACE,
 * ML_EDB (logged). fd is not synced. */
int evlog_copy(struct evlog *log, int fd);

/* Transactions. evlog_txn_commit() and evlog_txn_abort() free txn, whatever
 * the outcome. A nested transaction (write only) sees its parent's changes;
 * committing it hands them to the parent, aborting it leaves no trace. The
 * outermost commit is durable (fsync) when it returns 0. */
int evlog_txn_begin(struct evlog *log, bool write, struct evlog_txn **out);
int evlog_txn_nest(struct evlog_txn *parent, struct evlog_txn **out);
int evlog_txn_commit(struct evlog_txn *txn);
void evlog_txn_abort(struct evlog_txn *txn);

/* How many writes (puts, deletes, drops) may have changed txn, those of the
 * nested transactions committed into it included: every write but a delete
 * that found nothing and a put refused for its key. A caller that compares
 * it before and after an operation learns whether the operation may have
 * changed txn: one that failed without such a write left no trace. */
uint64_t evlog_txn_writes(const struct evlog_txn *txn);

/* The position of the last event visible in txn (0 for an empty log). */
uint64_t evlog_last_position(const struct evlog_txn *txn);

/* Append ev: sets ev->position (next dense position) and ev->prev_hash (the
 * SHA-256 of the previous event's stored bytes; 32 zero bytes for the first),
 * stores it in events and its (case_id, case_version) in the streams index.
 * ev->prev_hash points into txn memory afterwards: do not free it.
 * ML_EINVAL (before any write) when case_id is too long for the index;
 * ML_ECORRUPT when case_version repeats one indexed or does not follow the
 * case's last one. */
int evlog_append(struct evlog_txn *txn, ml_event *ev);

/* The event at pos. */
int evlog_event_get(struct evlog_txn *txn, uint64_t pos, ml_event **out);

/* Call fn for each event of case_id with version >= from_version, in order,
 * with the decoded event (freed after fn returns) and its stored bytes (valid
 * only during fn). fn returns 0 to go on, > 0 to stop, < 0 to fail with that
 * code. Returns 0 or the error. */
typedef int (*evlog_event_fn)(void *arg, const ml_event *ev,
			      const uint8_t *raw, size_t rawlen);
int evlog_stream_scan(struct evlog_txn *txn, const char *case_id,
		      uint32_t from_version, evlog_event_fn fn, void *arg);

/* Call fn for every event from position `from` on, in order (same contract). */
int evlog_scan(struct evlog_txn *txn, uint64_t from, evlog_event_fn fn, void *arg);

/* The position of (case_id, version) in the streams index. */
int evlog_stream_get(struct evlog_txn *txn, const char *case_id,
		     uint32_t version, uint64_t *pos);

/* Count the entries of the streams index (for verification). */
int evlog_stream_count(struct evlog_txn *txn, uint64_t *count);

/* Case summaries (the write side's model). */
int evlog_case_get(struct evlog_txn *txn, const char *case_id, ml_case **out);
int evlog_case_put(struct evlog_txn *txn, const ml_case *c);

/* Idempotency records, by 16-byte command id (evlog_commands.c). Lookups go
 * through an index in memory, built from the command log at the first one
 * (about a second per million commands): evlog_commands_preload() builds it
 * now (the server, at start, before it accepts connections). 0, ML_ENOMEM,
 * ML_EDB, ML_ECORRUPT. Writer thread (or a single-threaded tool) only. */
int evlog_commands_preload(struct evlog *log);
int evlog_command_get(struct evlog_txn *txn, const uint8_t *id, ml_command_record **out);
int evlog_command_put(struct evlog_txn *txn, const uint8_t *id, const ml_command_record *rec);

/* Cases of a household, by 32-byte household key (evlog_households.c). A
 * household's rows in households are keyed by its anchor: the log position of
 * its first case's first event (the referral that made it known). A put of
 * a household with no record yet stores it under anchor `at` (that
 * referral's position; 0: ML_EINVAL); otherwise `at` is not used. Lookups go
 * through an index in memory, built from households at the first one:
 * evlog_households_preload() builds it now (the server, at start). Writer
 * thread for puts; lookups from any thread. Errors: ML_ENOTFOUND (no record
 * of hk), ML_EINVAL (a new household with no anchor), ML_ENOMEM (the index),
 * ML_ECORRUPT (a key of households that is no anchor then a household key;
 * a record that does not decode), ML_EDB. */
int evlog_households_preload(struct evlog *log);
int evlog_household_get(struct evlog_txn *txn, const uint8_t *hk, ml_household_cases **out);
int evlog_household_put(struct evlog_txn *txn, const uint8_t *hk, uint64_t at,
			const ml_household_cases *hc);

/* Take the next case number for platform code and year (1, 2, ...). */
int evlog_next_case_number(struct evlog_txn *txn, const char *code, int year,
			   uint32_t *out);

/* Referrals waiting for a decision (REFERRED or ACKNOWLEDGED). */
int evlog_pending_put(struct evlog_txn *txn, int64_t referred_at, const char *case_id);
int evlog_pending_del(struct evlog_txn *txn, int64_t referred_at, const char *case_id);

/* Call fn for each pending referral referred before `before` (µs), oldest
 * first; the case id is valid during fn only. Same return contract as
 * evlog_stream_scan. Do not change proj_pending from fn. */
typedef int (*evlog_pending_fn)(void *arg, int64_t referred_at, const char *case_id);
int evlog_pending_scan(struct evlog_txn *txn, int64_t before, evlog_pending_fn fn, void *arg);

/* Every case of a platform, by case id. */
int evlog_caseload_put(struct evlog_txn *txn, const char *platform, const char *case_id);

/* Call fn for each case of platform whose id sorts after `after` (NULL: from
 * the first), in case id order; the id is valid during fn only. Same return
 * contract as evlog_stream_scan. */
typedef int (*evlog_case_id_fn)(void *arg, const char *case_id);
int evlog_caseload_scan(struct evlog_txn *txn, const char *platform, const char *after,
			evlog_case_id_fn fn, void *arg);

/* Empty every model (proj_cases, proj_pending, proj_caseload, and the
 * households' cases in households) before a rebuild; the data keys in
 * households stay: counted before and after, ML_ECORRUPT (logged; abort
 * txn) when they differ (evlog_datakeys_unchanged()). Write transaction. */
int evlog_models_clear(struct evlog_txn *txn);

/* Loading emptied models (a rebuild, after evlog_models_clear()): each
 * call stores one row at the end of its database, so the rows of a database
 * must come in its key order (above): case id for proj_cases,
 * (referred_at as u64 BE, case id) for proj_pending, (platform, case id) for
 * proj_caseload; all compared as bytes (memcmp, a shorter key before a
 * longer one it begins). A row not above the previous one: ML_EINVAL,
 * nothing stored. Households are the exception: their rows, each under its
 * anchor `at` (not 0), go among the data keys that stay in households, so
 * they may come in any order (appended when they sort last, as into a fresh
 * environment in the order of their anchors; else put where they sort), and
 * a household already there is refused (ML_EINVAL, nothing stored). summary
 * is a packed CaseSummary, stored as given. Write transaction. */
int evlog_case_append(struct evlog_txn *txn, const char *case_id, const void *summary,
		      size_t len);
int evlog_household_append(struct evlog_txn *txn, const uint8_t *hk, uint64_t at,
			   const ml_household_cases *hc);
int evlog_pending_append(struct evlog_txn *txn, int64_t referred_at, const char *case_id);
int evlog_caseload_append(struct evlog_txn *txn, const char *platform, const char *case_id);

/* Named values of meta (e.g. "master_key_check"): at most len bytes copied
 * into buf, *got the stored length. ML_ENOTFOUND when absent. */
int evlog_meta_get(struct evlog_txn *txn, const char *name, void *buf, size_t len,
		   size_t *got);
int evlog_meta_put(struct evlog_txn *txn, const char *name, const void *val, size_t len);
int evlog_meta_del(struct evlog_txn *txn, const char *name);

/* Data keys (DESIGN.md section 5), by household key and platform (not
 * empty: ML_EINVAL), stored after the household's record of cases, under
 * its anchor. ML_ENOTFOUND for a household with no record. */
int evlog_datakey_get(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
		      ml_data_key **out);
/* The data key at anchor `at` exactly (0: where hk's record is), so that a
 * key found by evlog_datakey_scan() is read and replaced where it is, even
 * one away from its household's record (which verify names): the key
 * rotation re-wraps every key. _replace_at(): an existing one only
 * (ML_ENOTFOUND else). */
int evlog_datakey_get_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk,
			 const char *platform, ml_data_key **out);
int evlog_datakey_replace_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk,
			     const char *platform, const ml_data_key *k);
/* replace: overwrite an existing one (else ML_EDB when there is one). A
 * household with no record yet: stored under anchor `at`, the position its
 * referral will take (0: ML_EINVAL), and its record must follow in the same
 * transaction (evlog_household_put() with the same `at`). */
int evlog_datakey_put(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
		      uint64_t at, const ml_data_key *k, bool replace);
/* ML_ENOTFOUND when there is no such key (or no record of hk: a key away
 * from its household's record stays; verify names it). */
int evlog_datakey_del(struct evlog_txn *txn, const uint8_t *hk, const char *platform);

/* Call fn for every data key's household key, platform (valid during fn
 * only) and anchor (0 before schema 6), in key order. Same return contract
 * as evlog_stream_scan. Do not change households (where the data keys are)
 * from fn. */
typedef int (*evlog_datakey_fn)(void *arg, const uint8_t *hk, const char *platform,
				uint64_t at);
int evlog_datakey_scan(struct evlog_txn *txn, evlog_datakey_fn fn, void *arg);

/* Every data key has its household's record of cases in households (one
 * walk of households; schema 4 and before, a look-up per key of keys): 0;
 * ML_ECORRUPT with fault naming, after the database's name, the first data
 * key without one ("households: data key of household <hex> on platform
 * '<p>' has no household record"), or a record of households that is
 * neither a household's nor a data key's, or one of keys that is no data
 * key's; or a storage error. */
int evlog_datakeys_check(struct evlog_txn *txn, char *fault, size_t len);

/* *n gets the number of data keys txn sees (a walk of households, keys
 * before schema 5). 0 or a storage error. */
int evlog_datakey_count(struct evlog_txn *txn, uint64_t *n);
/* The guard of a rebuild (evlog_models_clear(), models_rebuild()): txn
 * still holds `before` data keys (counted with evlog_datakey_count() in the
 * same transaction, before op changed households). 0; ML_ECORRUPT, logged
 * (event data_keys_changed, naming op), when the count differs: the caller
 * must abort txn, so that no data key is lost; or a storage error. */
int evlog_datakeys_unchanged(struct evlog_txn *txn, uint64_t before, const char *op);

/* LMDB's txnid of txn: for a write transaction the id it will commit as;
 * for a read transaction the id of the last commit its snapshot holds. */
uint64_t evlog_txn_id(const struct evlog_txn *txn);

/* Overwrite with zeros, and sync, every page of the data file that LMDB
 * holds free and that no reader can reach any more: what deleted values (a
 * destroyed data key) left behind in copy-on-write page copies. Runs in its
 * own write transaction (writer thread, or before it starts; no other write
 * transaction open) and changes nothing LMDB reads. Pages freed by
 * transaction T can be overwritten once no reader is on a snapshot older
 * than T + 1: *clean gets the newest such T. When that is below target
 * nothing is done (a reader lags; try later). *pages gets how many pages
 * were overwritten. */
int evlog_scrub_free_pages(struct evlog *log, uint64_t target, uint64_t *clean,
			   size_t *pages);

/* The access journal. */
int evlog_journal_put(struct evlog_txn *txn, const ml_access_record *rec, uint32_t seq);

/* Call fn for each record of case_id after cursor `after` (NULL: from the
 * first), oldest first; *next (at least EVLOG_CURSOR_LEN bytes) gets the cursor of the last
 * record given. Same return contract as evlog_stream_scan. */
#define EVLOG_CURSOR_LEN 32
typedef int (*evlog_journal_fn)(void *arg, const ml_access_record *rec);
int evlog_journal_scan(struct evlog_txn *txn, const char *case_id, const char *after,
		       evlog_journal_fn fn, void *arg, char *next);

/* Delete at most max records recorded before `before` (µs); *deleted gets
 * how many. */
int evlog_journal_prune(struct evlog_txn *txn, int64_t before, size_t max, size_t *deleted);

/* Compare the model databases of a and b (two environments) byte for byte;
 * households by household key (a read-only open of schema 3 to 5 has no
 * anchors), anchors too when both have them: 0, or ML_ECORRUPT with the
 * first difference described in fault. */
int evlog_models_compare(struct evlog_txn *a, struct evlog_txn *b, char *fault, size_t len);

/* Figures about the environment (evlog_stat.c), for the metrics. */
struct evlog_stat {
	uint64_t map_bytes;     /* the map size: the most the data file may grow to */
	uint64_t used_bytes;    /* pages up to the highest one in use, times the
				 * page size; pages freed below it are reused
				 * before the file grows */
	uint64_t last_txn_id;   /* the last committed write transaction */
};

/* Read them; any thread, no transaction needed (the figures of the last
 * commit seen). 0 or ML_EDB. */
int evlog_stat_read(struct evlog *log, struct evlog_stat *out);

#endif
