/* query.h - answering queries (Ping, GetCase, GetCaseHistory) from an LMDB
 * read transaction on the loop thread; never waits for the writer.
 */
#ifndef MAILLAGE_QUERY_H
#define MAILLAGE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evlog.h"
#include "wire.h"

/* Answer req (already validated) for org: a framed Response in a new buffer
 * (*frame, *len; free() it), at most max_bytes long for histories (the rest
 * is paged with next_version). When the answer carries personal data,
 * *journal gets the access record to store before sending it (journal.h;
 * wire_free() it), else NULL. Returns 0, or ML_ENOMEM when no answer (or
 * no record of it) could be built: nothing may be sent then. */
int query_run(struct evlog *log, const struct config *cfg, const struct org *org,
	      const ml_request *req, size_t max_bytes, uint8_t **frame, size_t *len,
	      ml_access_record **journal);

#endif
