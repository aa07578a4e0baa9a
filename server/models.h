/* models.h - keeping every stored model in step with one event: the case
 * summary (proj_cases), the caseload and pending-referral indexes and the
 * household index. The write path calls it right after each append, in the
 * same transaction; rebuild and verify replay the whole log with the same
 * fold (project.h) and store what it would leave, so a rebuild gives
 * byte-identical models.
 */
#ifndef MAILLAGE_MODELS_H
#define MAILLAGE_MODELS_H

#include "evlog.h"
#include "wire.h"

/* Fold ev into *c (NULL for a new case; the caller frees *c with wire_free())
 * and store the result and the indexes in txn; a new household is anchored
 * at ev's position. 0 or an ML_E* code. */
int models_apply(struct evlog_txn *txn, ml_case **c, const ml_event *ev);

/* Replay every event of src into the empty models of dst (a new
 * environment, or after evlog_models_clear()): each case is folded in
 * memory, then each model is stored at once, in key order. Memory: about
 * the size of proj_cases (every case's packed summary) until it returns.
 * Each transaction may belong to another environment; dst must be a write
 * transaction, and nothing is visible to others before it commits. The
 * data keys of dst are counted before and after the loading, and each must
 * still follow its household's record (log data_keys_orphaned when one does
 * not: a household the log anchors elsewhere). 0, ML_ECORRUPT (an event
 * that does not decode or fit its case, the data keys' count changed, or a
 * key away from its household: abort dst), ML_EINVAL
 * (dst's models not empty), ML_ENOMEM, or a storage error (evlog.h). */
int models_rebuild(struct evlog_txn *src, struct evlog_txn *dst);

#endif
