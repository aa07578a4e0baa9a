/* board.c - the caseload board and the pending referrals of a platform. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "board.h"
#include "err.h"

#define US_PER_DAY (86400LL * 1000000)

static uint32_t days_between(int64_t from_us, int64_t to_us)
{
	return to_us > from_us ? (uint32_t)((to_us - from_us) / US_PER_DAY) : 0;
}

/* Grow an array of pointers by one slot; NULL when out of memory. */
static void *grow(void *array, size_t n, size_t size)
{
	return realloc(array, (n + 1) * size);
}

/* 0 when org may see the whole platform or at least its own cases on it. */
static int check_member(const struct config *cfg, const struct org *org,
			const char *platform, const char *field, struct status *st)
{
	if (!config_find_platform(cfg, platform))
		return status_fail(st, ML_EINVAL, field, "unknown platform '%s'", platform);
	if (!org_is_member(org, platform))
		return status_fail(st, ML_EPERM, field,
				   "organisation '%s' is not a member of platform '%s'",
				   org->id, platform);
	return 0;
}

struct scan {
	struct evlog_txn *txn;
	const struct org *org;
	const Maillage__V1__ListCaseload *q;
	int64_t now_us;
	uint32_t limit;
	Maillage__V1__Caseload *out;
	char last[64];
};

static bool has_partner(const ml_case *c, const char *partner)
{
	if (!strcmp(c->lead_partner, partner))
		return true;
	for (size_t i = 0; i < c->n_co_referents; i++)
		if (!strcmp(c->co_referents[i], partner))
			return true;
	return false;
}

/* The filters of the request, and what the caller may read. */
static bool wanted(const struct scan *s, const ml_case *c)
{
	const Maillage__V1__ListCaseload *q = s->q;

	if (!(auth_relations(s->org, c) & AUTH_READERS))
		return false;
	return (!q->state || c->state == q->state) &&
	       (!q->partner[0] || has_partner(c, q->partner)) &&
	       (!q->referrer[0] || !strcmp(c->referrer, q->referrer)) &&
	       (!q->stage || c->procedure_stage == q->stage);
}

static int add_row(void *arg, const char *case_id)
{
	struct scan *s = arg;
	Maillage__V1__Caseload *out = s->out;
	Maillage__V1__CaseloadRow *row, **rows;
	ml_case *c = NULL;
	int rc;

	if (out->n_rows == s->limit) {
		/* A full page: the cursor is the last row's id. */
		return wire_set_string(&out->next_cursor, s->last) ? ML_ENOMEM : 1;
	}
	rc = evlog_case_get(s->txn, case_id, &c);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	if (!wanted(s, c)) {
		wire_free(c);
		return 0;
	}
	rows = grow(out->rows, out->n_rows, sizeof(*rows));
	row = malloc(sizeof(*row));
	if (!rows || !row) {
		free(row);
		if (rows)
			out->rows = rows;
		wire_free(c);
		return ML_ENOMEM;
	}
	maillage__v1__caseload_row__init(row);
	row->summary = c;
	row->days_since_referral = days_between(c->referred_at, s->now_us);
	rows[out->n_rows++] = row;
	out->rows = rows;
	strncpy(s->last, case_id, sizeof(s->last) - 1);
	return 0;
}

int board_caseload(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__ListCaseload *q, int64_t now_us,
		   Maillage__V1__Caseload *out, struct status *st)
{
	struct scan s = {
		.txn = txn, .org = org, .q = q, .now_us = now_us, .out = out,
		.limit = q->limit ? q->limit : BOARD_DEFAULT_LIMIT,
	};
	int rc = check_member(cfg, org, q->platform, "list_caseload.platform", st);

	if (rc)
		return rc;
	if (s.limit > BOARD_MAX_LIMIT)
		s.limit = BOARD_MAX_LIMIT;
	rc = evlog_caseload_scan(txn, q->platform, q->cursor[0] ? q->cursor : NULL, add_row, &s);
	if (rc)
		return status_fail(st, rc, NULL, "cannot read the caseload of '%s': %s",
				   q->platform, ml_strerror(rc));
	return 0;
}

void board_caseload_release(Maillage__V1__Caseload *out)
{
	for (size_t i = 0; i < out->n_rows; i++) {
		wire_free(out->rows[i]->summary);
		free(out->rows[i]);
	}
	free(out->rows);
	if (out->next_cursor != protobuf_c_empty_string)
		free(out->next_cursor);
}

struct pending {
	struct evlog_txn *txn;
	const char *platform;
	int64_t now_us;
	Maillage__V1__PendingReferrals *out;
};

static int add_pending(void *arg, int64_t referred_at, const char *case_id)
{
	struct pending *p = arg;
	Maillage__V1__PendingReferrals *out = p->out;
	Maillage__V1__PendingReferral *r, **all;
	ml_case *c = NULL;
	int rc = evlog_case_get(p->txn, case_id, &c);

	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	rc = 0;
	if (strcmp(c->platform, p->platform))
		goto out_free;
	all = grow(out->referrals, out->n_referrals, sizeof(*all));
	r = malloc(sizeof(*r));
	if (!all || !r) {
		free(r);
		if (all)
			out->referrals = all;
		rc = ML_ENOMEM;
		goto out_free;
	}
	maillage__v1__pending_referral__init(r);
	r->state = c->state;
	r->referrer_kind = c->referrer_kind;
	r->reason = c->reason;
	r->referred_at = referred_at;
	r->age_days = days_between(referred_at, p->now_us);
	all[out->n_referrals++] = r;
	out->referrals = all;
	if (wire_set_string(&r->case_id, c->case_id) || wire_set_string(&r->referrer, c->referrer))
		rc = ML_ENOMEM;
out_free:
	wire_free(c);
	return rc;
}

int board_pending(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		  const Maillage__V1__ListPendingReferrals *q, int64_t now_us,
		  Maillage__V1__PendingReferrals *out, struct status *st)
{
	struct pending p = { .txn = txn, .platform = q->platform, .now_us = now_us, .out = out };
	int rc = check_member(cfg, org, q->platform, "list_pending_referrals.platform", st);

	if (rc)
		return rc;
	rc = evlog_pending_scan(txn, INT64_MAX, add_pending, &p);
	if (rc)
		return status_fail(st, rc, NULL, "cannot read the pending referrals of '%s': %s",
				   q->platform, ml_strerror(rc));
	return 0;
}

void board_pending_release(Maillage__V1__PendingReferrals *out)
{
	for (size_t i = 0; i < out->n_referrals; i++)
		wire_free(out->referrals[i]);
	free(out->referrals);
}
