/* feed.h - what one subscriber sees of the log: its filters (platform, case,
 * event types, involvement) and the read rule of DESIGN.md section 5 applied
 * at each event's point in the log.
 *
 * The rule: coordination and auditors see every case of their platforms;
 * any other organisation sees an event when it referred the case or was
 * assigned to it (lead or co-referent) just before or just after that event,
 * so it sees its own assignment and its release. Because the rule looks at the
 * case as it stood at the event, the same subscription from the same position
 * always yields the same events: resuming never leaves a gap.
 *
 * Loop thread only; a feed uses the read transaction it is given.
 */
#ifndef MAILLAGE_FEED_H
#define MAILLAGE_FEED_H

#include <stdbool.h>

#include "config.h"
#include "evlog.h"
#include "wire.h"

struct feed;

/* Check the Subscribe of req for org (platform membership, access to the case
 * followed, as it stands in txn) and make its feed. Returns 0, or ML_EINVAL,
 * ML_EPERM, ML_ENOTFOUND with st filled, or ML_ENOMEM / a storage error. */
int feed_new(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
	     const ml_request *req, struct feed **out, struct status *st);
/* Free f and its cached cases (NULL is a no-op). */
void feed_free(struct feed *f);

/* Set *match when ev is delivered to this feed, and *cost to the events read
 * to decide (1, or more when the case had to be refolded from its stream).
 * Events must come in log order (the feed folds the cases it follows as it
 * goes; out of order it refolds from txn). Returns 0, ML_ENOMEM, or a storage
 * error (ML_ECORRUPT, ML_EDB). */
int feed_match(struct feed *f, struct evlog_txn *txn, const ml_event *ev, bool *match,
	       unsigned *cost);

#endif
