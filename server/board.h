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
#define BOARD_STALE_DAYS 45       /* ListStaleCases without days */
#define BOARD_DEADLINE_DAYS 30    /* ListDeadlines without days */

/* Rows of q->platform for org: coordination and auditors of the platform see
 * every case, other members the cases they are related to (referrer, lead,
 * co-referent). ML_EPERM when org is not a member of the platform. */
int board_caseload(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__ListCaseload *q, int64_t now_us,
		   Maillage__V1__Caseload *out, struct status *st);
void board_caseload_release(Maillage__V1__Caseload *out);

/* Cases in support (or on hold) with no contact for more than q->days, the
 * longest first; cases whose next procedure deadline falls within q->days,
 * the soonest first. Same readers and refusals as board_caseload(). */
int board_stale(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		const Maillage__V1__ListStaleCases *q, int64_t now_us,
		Maillage__V1__CaseList *out, struct status *st);
int board_deadlines(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		    const Maillage__V1__ListDeadlines *q, int64_t now_us,
		    Maillage__V1__CaseList *out, struct status *st);
void board_case_list_release(Maillage__V1__CaseList *out);

/* Open cases (in support or on hold) per organisation of the platform able to
 * carry support, as lead and as co-referent (coordination and auditors). */
int board_partner_load(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		       const Maillage__V1__GetPartnerLoad *q, Maillage__V1__PartnerLoads *out,
		       struct status *st);
void board_partner_load_release(Maillage__V1__PartnerLoads *out);

/* The platform's undecided referrals, oldest first (coordination and auditors
 * of the platform). */
int board_pending(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		  const Maillage__V1__ListPendingReferrals *q, int64_t now_us,
		  Maillage__V1__PendingReferrals *out, struct status *st);
void board_pending_release(Maillage__V1__PendingReferrals *out);

#endif
