/* stats.h - a platform's figures, with no personal data: the rehousing
 * pipeline per landlord (from the case summaries) and the statistics of a
 * period (from the events of the period), as platforms report them yearly.
 *
 * Loop thread (read transactions). Results are built into caller-provided
 * messages and freed with stats_*_release().
 */
#ifndef MAILLAGE_STATS_H
#define MAILLAGE_STATS_H

#include "config.h"
#include "evlog.h"
#include "status.h"
#include "wire.h"

/* Proposals of the platform's cases per landlord. Any member of the platform. */
int stats_pipeline(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__GetRehousingPipeline *q,
		   Maillage__V1__RehousingPipeline *out, struct status *st);
void stats_pipeline_release(Maillage__V1__RehousingPipeline *out);

/* The figures of q->from..q->to (inclusive days). Any member of the platform,
 * funders included. ML_EINVAL on bad dates, ML_EPERM for non-members. */
int stats_period(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		 const Maillage__V1__GetPlatformStats *q, Maillage__V1__PlatformStats *out,
		 struct status *st);
void stats_period_release(Maillage__V1__PlatformStats *out);

#endif
