/* models.c - the stored models, as a function of the events. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "models.h"
#include "project.h"

static bool is_pending(int state)
{
	return state == MAILLAGE__V1__CASE_STATE__REFERRED ||
	       state == MAILLAGE__V1__CASE_STATE__ACKNOWLEDGED;
}

/* Remember a new case under its household key. */
static int index_household(struct evlog_txn *txn, const ml_case *c)
{
	ml_household_cases empty = MAILLAGE__V1__HOUSEHOLD_CASES__INIT, next = empty;
	ml_household_cases *hc = NULL;
	int rc;

	if (c->household_key.len != WIRE_HASH_LEN)
		return ML_ECORRUPT;
	rc = evlog_household_get(txn, c->household_key.data, &hc);
	if (rc && rc != ML_ENOTFOUND)
		return rc;
	if (!hc)
		hc = &empty;
	next.case_ids = malloc((hc->n_case_ids + 1) * sizeof(*next.case_ids));
	if (!next.case_ids) {
		rc = ML_ENOMEM;
		goto out_free;
	}
	if (hc->n_case_ids)
		memcpy(next.case_ids, hc->case_ids, hc->n_case_ids * sizeof(*next.case_ids));
	next.case_ids[hc->n_case_ids] = c->case_id;
	next.n_case_ids = hc->n_case_ids + 1;
	rc = evlog_household_put(txn, c->household_key.data, &next);
	free(next.case_ids);
out_free:
	if (hc != &empty)
		wire_free(hc);
	return rc;
}

/* A new case joins its platform's caseload, the pending referrals and its
 * household; a decided one leaves the pending referrals. */
static int index_case(struct evlog_txn *txn, int before, const ml_case *c)
{
	int rc;

	if (!before) {
		rc = evlog_caseload_put(txn, c->platform, c->case_id);
		if (!rc)
			rc = evlog_pending_put(txn, c->referred_at, c->case_id);
		return rc ? rc : index_household(txn, c);
	}
	if (is_pending(before) && !is_pending(c->state))
		return evlog_pending_del(txn, c->referred_at, c->case_id);
	return 0;
}

int models_apply(struct evlog_txn *txn, ml_case **c, const ml_event *ev)
{
	int before = *c ? (*c)->state : 0;
	int rc = project_case_apply(c, ev);

	if (!rc)
		rc = evlog_case_put(txn, *c);
	return rc ? rc : index_case(txn, before, *c);
}

/* A rebuild folds each case in memory and stores it once it leaves the
 * cache (another case takes its slot) or at the end: the stored summary is
 * the fold of all its events either way, as models_apply() stores it after
 * each (byte-identical), without unpacking and packing it at every event. A
 * case lives for months, so its events are close together in the log and a
 * direct-mapped cache of this many slots keeps it. */
#define REPLAY_SLOTS 65536

struct replay {
	struct evlog_txn *dst;
	ml_case **slots;
};

static size_t slot_of(const char *case_id)
{
	size_t h = 5381;

	while (*case_id)
		h = h * 33 + (unsigned char)*case_id++;
	return h % REPLAY_SLOTS;
}

/* Store the case of slot i and empty it. */
static int flush(struct replay *r, size_t i)
{
	int rc = r->slots[i] ? evlog_case_put(r->dst, r->slots[i]) : 0;

	wire_free(r->slots[i]);
	r->slots[i] = NULL;
	return rc;
}

static int replay_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct replay *r = arg;
	size_t i = slot_of(ev->case_id);
	ml_case **c = &r->slots[i];
	int rc = 0, before;

	(void)raw;
	(void)len;
	if (*c && strcmp((*c)->case_id, ev->case_id))
		rc = flush(r, i);
	if (!rc && !*c && (rc = evlog_case_get(r->dst, ev->case_id, c)) == ML_ENOTFOUND)
		rc = 0;
	if (rc)
		return rc;
	before = *c ? (*c)->state : 0;
	rc = project_case_apply(c, ev);
	return rc ? rc : index_case(r->dst, before, *c);
}

int models_rebuild(struct evlog_txn *src, struct evlog_txn *dst)
{
	struct replay r = { .dst = dst, .slots = calloc(REPLAY_SLOTS, sizeof(*r.slots)) };
	int rc = r.slots ? evlog_scan(src, 1, replay_event, &r) : ML_ENOMEM;

	for (size_t i = 0; r.slots && i < REPLAY_SLOTS; i++) {
		if (!rc)
			rc = flush(&r, i);
		else
			wire_free(r.slots[i]);
	}
	free(r.slots);
	return rc;
}
