/* erasure.h - erasing a household's personal data by destroying its data
 * key (DESIGN.md section 5), on request (EraseHouseholdData) or by the
 * retention rule. Writer thread only.
 */
#ifndef MAILLAGE_ERASURE_H
#define MAILLAGE_ERASURE_H

#include <stdint.h>

#include "command.h"
#include "config.h"
#include "evlog.h"

struct erasure {
	const uint8_t *hk;           /* the household key (32 bytes) */
	const char *platform;
	int reason;                  /* maillage.v1.ErasureReason */
	const ml_event *envelope;    /* actor, role, command id, times to copy */
};

/* Erase household e->hk on e->platform inside txn: every case of it there
 * must be final (else ML_ESTATE), its data key must exist (else ML_ESTATE:
 * already erased); the key is destroyed and each case gets a
 * HouseholdDataErased event. out gets the status, the first position, the
 * event count and, for the case of e->envelope (when set), its version. */
int erasure_apply(struct evlog_txn *txn, const struct erasure *e, struct command_out *out);

/* The retention rule (writer thread, in the batch txn): erase every household
 * whose cases on a platform are all final and whose last event there was
 * recorded more than cfg->retention_s before now_us, each in its own nested
 * transaction; then prune the access journal of records older than
 * cfg->journal_retention_s. *erased and *pruned get the counts. */
int erasure_retention(struct evlog_txn *batch, const struct config *cfg, int64_t now_us,
		      unsigned *erased, size_t *pruned);

#endif
