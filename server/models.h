/* models.h - keeping every stored model in step with one event: the case
 * summary (proj_cases), the caseload and pending-referral indexes and the
 * household index. The write path calls it right after each append, in the
 * same transaction; rebuild and verify replay the whole log through it, so a
 * rebuild gives byte-identical models.
 */
#ifndef MAILLAGE_MODELS_H
#define MAILLAGE_MODELS_H

#include "evlog.h"
#include "wire.h"

/* Fold ev into *c (NULL for a new case; the caller frees *c with wire_free())
 * and store the result and the indexes in txn. 0 or an ML_E* code. */
int models_apply(struct evlog_txn *txn, ml_case **c, const ml_event *ev);

/* Replay every event of src into the (empty) models of dst. Each transaction
 * may belong to another environment; dst must be a write transaction. */
int models_rebuild(struct evlog_txn *src, struct evlog_txn *dst);

#endif
