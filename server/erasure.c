/* erasure.c - destroying a household's data key and recording it in each of
 * its cases; the retention rule that does it on a schedule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casestate.h"
#include "erasure.h"
#include "err.h"
#include "log.h"
#include "vault.h"

#define MAX_CASES 256        /* cases of one household on one platform */
#define RETENTION_BATCH 1000 /* households erased per run at most */
#define JOURNAL_BATCH 10000  /* journal records pruned per run at most */

/* The cases of household hk on platform, oldest first. */
struct household {
	ml_case *cases[MAX_CASES];
	size_t n;
};

static void household_release(struct household *h)
{
	for (size_t i = 0; i < h->n; i++)
		wire_free(h->cases[i]);
	h->n = 0;
}

static int household_load(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
			  struct household *h)
{
	ml_household_cases *hc = NULL;
	int rc = evlog_household_get(txn, hk, &hc);

	h->n = 0;
	for (size_t i = 0; !rc && i < hc->n_case_ids; i++) {
		ml_case *c = NULL;

		rc = evlog_case_get(txn, hc->case_ids[i], &c);
		if (!rc && strcmp(c->platform, platform))
			wire_free(c);
		else if (!rc && h->n == MAX_CASES)
			rc = ML_EFULL;
		else if (!rc)
			h->cases[h->n++] = c;
	}
	wire_free(hc);
	if (rc)
		household_release(h);
	return rc;
}

/* Append HouseholdDataErased to case *c. */
static int record_erasure(struct evlog_txn *txn, const struct erasure *e, ml_case **c,
			  struct command_out *out)
{
	Maillage__V1__HouseholdDataErased body = MAILLAGE__V1__HOUSEHOLD_DATA_ERASED__INIT;
	ml_event ev = *e->envelope;
	int rc;

	ev.case_id = (*c)->case_id;
	ev.case_version = (*c)->version + 1;
	ev.platform = (*c)->platform;
	ev.body_case = MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_DATA_ERASED;
	body.reason = e->reason;
	ev.household_data_erased = &body;
	rc = command_append(txn, c, &ev, e->hk);
	if (rc)
		return rc;
	if (!out->event_count++)
		out->first_position = ev.position;
	if (e->envelope->case_id && !strcmp(e->envelope->case_id, (*c)->case_id))
		out->version = (*c)->version;
	return 0;
}

int erasure_apply(struct evlog_txn *txn, const struct erasure *e, struct command_out *out)
{
	struct household h;
	int rc = household_load(txn, e->hk, e->platform, &h);

	if (rc)
		return status_fail(&out->st, rc, NULL, "cannot read the household's cases: %s",
				   ml_strerror(rc));
	for (size_t i = 0; i < h.n; i++)
		if (!casestate_is_final(h.cases[i]->state)) {
			rc = status_fail(&out->st, ML_ESTATE, NULL,
					 "the household's case '%s' is %s on platform '%s': "
					 "close it before erasing", h.cases[i]->case_id,
					 wire_case_state_name(h.cases[i]->state), e->platform);
			goto out_release;
		}
	rc = vault_destroy(txn, e->hk, e->platform);
	if (rc) {
		status_fail(&out->st, rc == ML_ENOTFOUND ? ML_ESTATE : rc, NULL,
			    rc == ML_ENOTFOUND ? "the household's personal data on platform '%s' "
			    "is already erased" : "cannot destroy the data key on platform '%s'",
			    e->platform);
		rc = rc == ML_ENOTFOUND ? ML_ESTATE : rc;
		goto out_release;
	}
	out->destroyed_key = true;
	for (size_t i = 0; !rc && i < h.n; i++)
		rc = record_erasure(txn, e, &h.cases[i], out);
	if (rc)
		status_fail(&out->st, rc, NULL, "cannot record the erasure: %s", ml_strerror(rc));
	out->recorded_at = e->envelope->recorded_at;
out_release:
	household_release(&h);
	return rc;
}

/* Households with a data key (hk | platform), found by the scan. */
struct due {
	struct evlog_txn *txn;
	int64_t cutoff;
	struct {
		uint8_t hk[CRYPTO_SHA256_LEN];
		char platform[65];
	} *list;
	size_t n;
};

/* Due: every case there final, the last one recorded before the cutoff. */
static int collect_due(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct due *d = arg;
	struct household h;
	bool due;
	int rc = household_load(d->txn, hk, platform, &h);

	(void)at;

	if (rc == ML_ENOTFOUND)
		return 0;           /* a key without cases: left for verify to report */
	if (rc)
		return rc;
	due = h.n > 0;
	for (size_t i = 0; due && i < h.n; i++)
		due = casestate_is_final(h.cases[i]->state) && h.cases[i]->updated_at < d->cutoff;
	household_release(&h);
	if (!due)
		return 0;
	memcpy(d->list[d->n].hk, hk, CRYPTO_SHA256_LEN);
	snprintf(d->list[d->n].platform, sizeof(d->list[0].platform), "%s", platform);
	return ++d->n == RETENTION_BATCH ? 1 : 0;
}

/* Erase one due household in its own nested transaction: 1 when erased, 0
 * when it no longer qualifies (a case of it reopened meanwhile), else the
 * error. */
static int erase_due(struct evlog_txn *batch, int64_t now_us, const uint8_t *hk,
		     const char *platform)
{
	ml_event envelope = MAILLAGE__V1__EVENT__INIT;
	struct erasure e = {
		.hk = hk, .platform = platform,
		.reason = MAILLAGE__V1__ERASURE_REASON__ERASURE_RETENTION, .envelope = &envelope,
	};
	struct command_out out;
	struct evlog_txn *txn;
	int rc = evlog_txn_nest(batch, &txn);

	if (rc)
		return rc;
	memset(&out, 0, sizeof(out));
	envelope.recorded_at = now_us;
	envelope.occurred_at = now_us;
	envelope.actor_org = (char *)platform;
	envelope.actor_role = MAILLAGE__V1__ACTOR_ROLE__ROLE_PLATFORM;
	rc = erasure_apply(txn, &e, &out);
	if (rc) {
		evlog_txn_abort(txn);
		log_warn("retention_failed", "platform=%s error=\"%s\"", platform, out.st.message);
		return rc == ML_ESTATE ? 0 : rc;
	}
	log_info("retention_erased", "platform=%s cases=%u first_position=%llu", platform,
		 out.event_count, (unsigned long long)out.first_position);
	rc = evlog_txn_commit(txn);
	return rc ? rc : 1;
}

int erasure_retention(struct evlog_txn *batch, const struct config *cfg, int64_t now_us,
		      unsigned *erased, size_t *pruned)
{
	struct due d = {
		.txn = batch, .cutoff = now_us - (int64_t)cfg->retention_s * 1000000,
		.list = calloc(RETENTION_BATCH, sizeof(*d.list)),
	};
	int rc = d.list ? evlog_datakey_scan(batch, collect_due, &d) : ML_ENOMEM;

	*erased = 0;
	*pruned = 0;
	for (size_t i = 0; rc >= 0 && i < d.n; i++) {
		rc = erase_due(batch, now_us, d.list[i].hk, d.list[i].platform);
		*erased += rc > 0;
	}
	rc = rc > 0 ? 0 : rc;
	free(d.list);
	if (!rc)
		rc = evlog_journal_prune(batch, now_us - (int64_t)cfg->journal_retention_s * 1000000,
					 JOURNAL_BATCH, pruned);
	return rc;
}
