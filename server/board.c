/* board.c - the caseload board and the pending referrals of a platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "board.h"
#include "casestate.h"
#include "deadline.h"
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

struct scan {
	struct evlog_txn *txn;
	const struct org *org;
	int64_t now_us;
	uint32_t limit;               /* rows per page; UINT32_MAX: all */
	/* Which readable cases make a row; arg is what the request asked. */
	bool (*keep)(const struct scan *s, const ml_case *c, uint32_t idle_days);
	const void *arg;
	Maillage__V1__CaseloadRow **rows;
	size_t n_rows;
	char *next_cursor;            /* set when a page is full */
	char last[64];
};

static bool in_support(const ml_case *c)
{
	return c->state == MAILLAGE__V1__CASE_STATE__IN_SUPPORT ||
	       c->state == MAILLAGE__V1__CASE_STATE__ON_HOLD;
}

/* Days since the last contact of a case in support: its last visit, or its
 * acceptance when there was none. */
static uint32_t idle_days(const ml_case *c, int64_t now_us)
{
	long visit;

	if (!in_support(c))
		return 0;
	if (c->last_visit_date[0] && deadline_days(c->last_visit_date, &visit) == 0)
		return days_between((int64_t)visit * US_PER_DAY, now_us);
	return days_between(c->accepted_at, now_us);
}

/* ListCaseload: the filters of the request. */
static bool caseload_keep(const struct scan *s, const ml_case *c, uint32_t idle)
{
	const Maillage__V1__ListCaseload *q = s->arg;

	(void)idle;
	return (!q->state || c->state == q->state) &&
	       (!q->partner[0] || auth_is_assigned(c, q->partner)) &&
	       (!q->referrer[0] || !strcmp(c->referrer, q->referrer)) &&
	       (!q->stage || c->procedure_stage == q->stage);
}

/* ListStaleCases: in support, no contact for more than the days asked. */
static bool stale_keep(const struct scan *s, const ml_case *c, uint32_t idle)
{
	const Maillage__V1__ListStaleCases *q = s->arg;

	return in_support(c) && idle > (q->days ? q->days : BOARD_STALE_DAYS);
}

/* ListDeadlines: open, with a procedure deadline within the days asked. */
static bool deadline_keep(const struct scan *s, const ml_case *c, uint32_t idle)
{
	const Maillage__V1__ListDeadlines *q = s->arg;
	char until[DEADLINE_DATE_LEN];

	(void)idle;
	if (casestate_is_final(c->state) || !c->next_deadline[0])
		return false;
	deadline_format((long)(s->now_us / US_PER_DAY) + (q->days ? q->days : BOARD_DEADLINE_DAYS),
			until);
	return strcmp(c->next_deadline, until) <= 0;
}

static int add_row(void *arg, const char *case_id)
{
	struct scan *s = arg;
	Maillage__V1__CaseloadRow *row, **rows;
	ml_case *c = NULL;
	uint32_t idle;
	int rc;

	if (s->n_rows == s->limit) {
		/* A full page: the cursor is the last row's id. */
		s->next_cursor = strdup(s->last);
		return s->next_cursor ? 1 : ML_ENOMEM;
	}
	rc = evlog_case_get(s->txn, case_id, &c);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	idle = idle_days(c, s->now_us);
	if (!(auth_relations(s->org, c) & AUTH_READERS) || !s->keep(s, c, idle)) {
		wire_free(c);
		return 0;
	}
	rc = auth_minimise_case(s->org, c);
	if (rc) {
		wire_free(c);
		return rc;
	}
	rows = grow(s->rows, s->n_rows, sizeof(*rows));
	row = malloc(sizeof(*row));
	if (!rows || !row) {
		free(row);
		if (rows)
			s->rows = rows;
		wire_free(c);
		return ML_ENOMEM;
	}
	maillage__v1__caseload_row__init(row);
	row->summary = c;
	row->days_since_referral = days_between(c->referred_at, s->now_us);
	row->days_without_contact = idle;
	rows[s->n_rows++] = row;
	s->rows = rows;
	snprintf(s->last, sizeof(s->last), "%s", case_id);
	return 0;
}

/* Scan the platform's cases after cursor into s->rows. */
static int scan_cases(struct scan *s, const char *platform, const char *cursor,
		      struct status *st)
{
	int rc = evlog_caseload_scan(s->txn, platform, cursor && cursor[0] ? cursor : NULL,
				     add_row, s);

	if (rc)
		return status_fail(st, rc, NULL, "cannot read the cases of '%s': %s",
				   platform, ml_strerror(rc));
	return 0;
}

int board_caseload(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__ListCaseload *q, int64_t now_us,
		   Maillage__V1__Caseload *out, struct status *st)
{
	struct scan s = {
		.txn = txn, .org = org, .now_us = now_us, .keep = caseload_keep, .arg = q,
		.limit = q->limit ? q->limit : BOARD_DEFAULT_LIMIT,
	};
	int rc = auth_platform_member(cfg, org, q->platform, "list_caseload.platform", st);

	if (!rc && s.limit > BOARD_MAX_LIMIT)
		s.limit = BOARD_MAX_LIMIT;
	if (!rc)
		rc = scan_cases(&s, q->platform, q->cursor, st);
	out->rows = s.rows;
	out->n_rows = s.n_rows;
	if (s.next_cursor)
		out->next_cursor = s.next_cursor;
	return rc;
}

static void free_rows(Maillage__V1__CaseloadRow **rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		wire_free(rows[i]->summary);
		free(rows[i]);
	}
	free(rows);
}

void board_caseload_release(Maillage__V1__Caseload *out)
{
	free_rows(out->rows, out->n_rows);
	if (out->next_cursor != protobuf_c_empty_string)
		free(out->next_cursor);
}

static int by_idle_desc(const void *a, const void *b)
{
	const Maillage__V1__CaseloadRow *x = *(void *const *)a, *y = *(void *const *)b;

	if (x->days_without_contact != y->days_without_contact)
		return x->days_without_contact < y->days_without_contact ? 1 : -1;
	return strcmp(x->summary->case_id, y->summary->case_id);
}

static int by_deadline(const void *a, const void *b)
{
	const Maillage__V1__CaseloadRow *x = *(void *const *)a, *y = *(void *const *)b;
	int d = strcmp(x->summary->next_deadline, y->summary->next_deadline);

	return d ? d : strcmp(x->summary->case_id, y->summary->case_id);
}

/* Every matching case of the platform, sorted. */
static int case_list(struct scan *s, const struct config *cfg, const char *platform,
		     const char *field, int (*order)(const void *, const void *),
		     Maillage__V1__CaseList *out, struct status *st)
{
	int rc = auth_platform_member(cfg, s->org, platform, field, st);

	s->limit = UINT32_MAX;
	if (!rc)
		rc = scan_cases(s, platform, NULL, st);
	if (!rc && s->n_rows)
		qsort(s->rows, s->n_rows, sizeof(*s->rows), order);
	out->rows = s->rows;
	out->n_rows = s->n_rows;
	return rc;
}

int board_stale(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		const Maillage__V1__ListStaleCases *q, int64_t now_us,
		Maillage__V1__CaseList *out, struct status *st)
{
	struct scan s = { .txn = txn, .org = org, .now_us = now_us, .keep = stale_keep, .arg = q };

	return case_list(&s, cfg, q->platform, "list_stale_cases.platform", by_idle_desc, out, st);
}

int board_deadlines(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		    const Maillage__V1__ListDeadlines *q, int64_t now_us,
		    Maillage__V1__CaseList *out, struct status *st)
{
	struct scan s = { .txn = txn, .org = org, .now_us = now_us, .keep = deadline_keep, .arg = q };

	return case_list(&s, cfg, q->platform, "list_deadlines.platform", by_deadline, out, st);
}

void board_case_list_release(Maillage__V1__CaseList *out)
{
	free_rows(out->rows, out->n_rows);
}

struct load {
	struct evlog_txn *txn;
	Maillage__V1__PartnerLoads *out;
};

static Maillage__V1__PartnerLoad *find_load(Maillage__V1__PartnerLoads *out, const char *id)
{
	for (size_t i = 0; i < out->n_partners; i++)
		if (!strcmp(out->partners[i]->partner, id))
			return out->partners[i];
	return NULL;
}

static int count_case(void *arg, const char *case_id)
{
	struct load *l = arg;
	Maillage__V1__PartnerLoad *p;
	ml_case *c = NULL;
	int rc = evlog_case_get(l->txn, case_id, &c);

	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	if (in_support(c)) {
		if ((p = find_load(l->out, c->lead_partner)))
			p->lead++;
		for (size_t i = 0; i < c->n_co_referents; i++)
			if ((p = find_load(l->out, c->co_referents[i])))
				p->co_referent++;
	}
	wire_free(c);
	return 0;
}

int board_partner_load(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		       const Maillage__V1__GetPartnerLoad *q, Maillage__V1__PartnerLoads *out,
		       struct status *st)
{
	struct load l = { .txn = txn, .out = out };
	int rc = auth_platform_member(cfg, org, q->platform, "get_partner_load.platform", st);

	if (rc)
		return rc;
	/* Every organisation of the platform able to carry support, even idle. */
	out->partners = calloc(cfg->n_orgs ? cfg->n_orgs : 1, sizeof(*out->partners));
	if (!out->partners)
		return status_fail(st, ML_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < cfg->n_orgs; i++) {
		const struct org *o = &cfg->orgs[i];
		Maillage__V1__PartnerLoad *p;

		if (!org_is_member(o, q->platform) || !auth_may_carry_support(o))
			continue;
		p = malloc(sizeof(*p));
		if (!p)
			return status_fail(st, ML_ENOMEM, NULL, "out of memory");
		maillage__v1__partner_load__init(p);
		p->partner = o->id;
		p->kind = o->kind;
		out->partners[out->n_partners++] = p;
	}
	rc = evlog_caseload_scan(txn, q->platform, NULL, count_case, &l);
	if (rc)
		return status_fail(st, rc, NULL, "cannot read the cases of '%s': %s",
				   q->platform, ml_strerror(rc));
	return 0;
}

void board_partner_load_release(Maillage__V1__PartnerLoads *out)
{
	for (size_t i = 0; i < out->n_partners; i++)
		free(out->partners[i]);
	free(out->partners);
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
	int rc = auth_platform_member(cfg, org, q->platform, "list_pending_referrals.platform", st);

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
