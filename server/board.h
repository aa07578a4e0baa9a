/* board.h - a platform's boards, read from the stored models: the caseload
 * (every case the caller may read, filtered, paged by case id) and the
 * referrals waiting for a decision (oldest first).
 *
 * Loop thread (read transactions). Results are built into caller-provided
 * messages and freed with board_*_release().
 */
#ifndef MAILLAGE_BOARD_H
#define MAILLAGE_BOARD_H

#include <stdint.h>

#include "config.h"
#include "evlog.h"
#include "status.h"
#include "wire.h"

#define BOARD_DEFAULT_LIMIT 100
#define BOARD_MAX_LIMIT 1000

/* Rows of q->platform for org: coordination and auditors of the platform see
 * every case, other members the cases they are related to (referrer, lead,
 * co-referent). ML_EPERM when org is not a member of the platform. */
int board_caseload(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__ListCaseload *q, int64_t now_us,
		   Maillage__V1__Caseload *out, struct status *st);
void board_caseload_release(Maillage__V1__Caseload *out);

/* The platform's undecided referrals, oldest first (coordination and auditors
 * of the platform). */
int board_pending(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		  const Maillage__V1__ListPendingReferrals *q, int64_t now_us,
		  Maillage__V1__PendingReferrals *out, struct status *st);
void board_pending_release(Maillage__V1__PendingReferrals *out);

#endif
