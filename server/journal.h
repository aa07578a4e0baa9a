/* journal.h - the access journal (DESIGN.md section 5): every answer that
 * carries a case's personal data (GetCase, GetCaseHistory, an export) is
 * recorded with who, when, which case, which query and the purpose the
 * reader gave, before the answer leaves the server. Coordination and
 * auditors of the case's platform list it with ListAccessJournal. Records
 * are pruned after cfg->journal_retention_s (erasure.c).
 */
#ifndef MAILLAGE_JOURNAL_H
#define MAILLAGE_JOURNAL_H

#include <stdint.h>

#include "config.h"
#include "evlog.h"
#include "status.h"
#include "wire.h"

/* True for the queries whose answer carries personal data. */
bool journal_needed(const ml_request *req);

/* A new record of org reading case_id with query (e.g. "get_case") at
 * at_us for purpose; NULL when out of memory. wire_free() it. */
ml_access_record *journal_record_new(const struct org *org, const char *case_id,
				     const char *query, const char *purpose, int64_t at_us);

/* Store rec (writer thread) in its own transaction nested in batch, with seq
 * making it unique among the records of the same microsecond. */
int journal_write(struct evlog_txn *batch, const ml_access_record *rec, uint32_t seq);

/* ListAccessJournal: the records of one case, paged (req validated and its
 * case access checked by the caller). out's arrays are freed with
 * journal_list_release(). */
int journal_list(struct evlog_txn *txn, const Maillage__V1__ListAccessJournal *req,
		 Maillage__V1__AccessJournal *out, struct status *st);
void journal_list_release(Maillage__V1__AccessJournal *out);

#endif
