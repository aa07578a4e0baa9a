/* query.h - answering queries from an LMDB read transaction on the loop
 * thread (those that disclose personal data then wait for their access
 * record: conn.c, writer.c).
 */
#ifndef MAILLAGE_QUERY_H
#define MAILLAGE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evlog.h"
#include "wire.h"

/* What a query is answered from. */
struct query_in {
	struct evlog *log;
	const struct config *cfg;
	struct counters *counters;     /* for Ping {counters} */
	size_t connections;            /* open now, likewise */
	const struct org *org;         /* the sender */
	const ml_request *req;         /* validated */
	size_t max_bytes;              /* histories and pages: the rest is paged */
};

/* Answer in->req: a framed Response in a new buffer (*frame, *len; free()
 * it). When the answer carries personal data, *journal gets the access
 * record to store before sending it (journal.h; wire_free() it), else NULL.
 * Returns 0, or ML_ENOMEM when no answer could be built at all: nothing may
 * be sent then. */
int query_run(const struct query_in *in, uint8_t **frame, size_t *len,
	      ml_access_record **journal);

#endif
