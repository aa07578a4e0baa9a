/* journal.c - recording and listing reads of personal data. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "journal.h"

#define BODY(b) MAILLAGE__V1__REQUEST__BODY_##b
#define PAGE_DEFAULT 100

bool journal_needed(const ml_request *req)
{
	return req->body_case == BODY(GET_CASE) || req->body_case == BODY(GET_CASE_HISTORY);
}

ml_access_record *journal_record_new(const struct org *org, const char *case_id,
				     const char *query, const char *purpose, int64_t at_us)
{
	ml_access_record *rec = wire_access_record_new();

	if (!rec)
		return NULL;
	rec->at = at_us;
	rec->kind = org ? org->kind : 0;
	if (wire_set_string(&rec->case_id, case_id) ||
	    wire_set_string(&rec->org, org ? org->id : "operator") ||
	    wire_set_string(&rec->query, query) || wire_set_string(&rec->purpose, purpose)) {
		wire_free(rec);
		return NULL;
	}
	return rec;
}

int journal_write(struct evlog_txn *batch, const ml_access_record *rec, uint32_t seq)
{
	struct evlog_txn *txn;
	int rc = evlog_txn_nest(batch, &txn);

	if (rc)
		return rc;
	rc = evlog_journal_put(txn, rec, seq);
	if (rc) {
		evlog_txn_abort(txn);
		return rc;
	}
	return evlog_txn_commit(txn);
}

struct page {
	Maillage__V1__AccessJournal *out;
	size_t limit;
	bool more;
};

static int add_record(void *arg, const ml_access_record *rec)
{
	struct page *p = arg;
	ml_access_record *copy;

	if (p->out->n_records == p->limit) {
		p->more = true;
		return 1;
	}
	copy = journal_record_new(NULL, rec->case_id, rec->query, rec->purpose, rec->at);
	if (!copy || wire_set_string(&copy->org, rec->org)) {
		wire_free(copy);
		return ML_ENOMEM;
	}
	copy->kind = rec->kind;
	p->out->records[p->out->n_records++] = copy;
	return 0;
}

int journal_list(struct evlog_txn *txn, const Maillage__V1__ListAccessJournal *req,
		 Maillage__V1__AccessJournal *out, struct status *st)
{
	static char cursor[EVLOG_CURSOR_LEN];   /* loop thread; packed before the next call */
	struct page p = { .out = out, .limit = req->limit ? req->limit : PAGE_DEFAULT };
	int rc;

	out->records = calloc(p.limit, sizeof(*out->records));
	if (!out->records)
		return status_fail(st, ML_ENOMEM, NULL, "out of memory");
	rc = evlog_journal_scan(txn, req->case_id, req->cursor, add_record, &p, cursor);
	if (rc == ML_EINVAL)
		return status_fail(st, rc, "list_access_journal.cursor",
				   "not a cursor this server gave");
	if (rc)
		return status_fail(st, rc, NULL, "cannot read the access journal: %s",
				   ml_strerror(rc));
	out->next_cursor = p.more ? cursor : "";
	return 0;
}

void journal_list_release(Maillage__V1__AccessJournal *out)
{
	for (size_t i = 0; i < out->n_records; i++)
		wire_free(out->records[i]);
	free(out->records);
	out->records = NULL;
	out->n_records = 0;
}
