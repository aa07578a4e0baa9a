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

struct replay {
	struct evlog_txn *dst;
};

static int replay_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct replay *r = arg;
	ml_case *c = NULL;
	int rc = evlog_case_get(r->dst, ev->case_id, &c);

	(void)raw;
	(void)len;
	if (rc && rc != ML_ENOTFOUND)
		return rc;
	rc = models_apply(r->dst, &c, ev);
	wire_free(c);
	return rc;
}

int models_rebuild(struct evlog_txn *src, struct evlog_txn *dst)
{
	struct replay r = { .dst = dst };

	return evlog_scan(src, 1, replay_event, &r);
}
