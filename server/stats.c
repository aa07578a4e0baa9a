/* stats.c - the rehousing pipeline and the statistics of a period. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "deadline.h"
#include "err.h"
#include "stats.h"

#define EV(x) MAILLAGE__V1__EVENT__BODY_##x
#define US_PER_DAY (86400LL * 1000000)
#define MAX_ENUM 32          /* every vocabulary has fewer values */

#define DESC(x) (&maillage__v1__##x##__descriptor)

/* An enum-indexed counter. */
struct tally {
	uint32_t n[MAX_ENUM];
};

static void tally_add(struct tally *t, int value)
{
	if (value > 0 && value < MAX_ENUM)
		t->n[value]++;
}

/* The nonzero counters as Count messages named after the enum's values. */
static int tally_counts(const struct tally *t, const ProtobufCEnumDescriptor *desc,
			Maillage__V1__Count ***out, size_t *n)
{
	*n = 0;
	*out = calloc(MAX_ENUM, sizeof(**out));
	if (!*out)
		return ML_ENOMEM;
	for (int v = 1; v < MAX_ENUM; v++) {
		Maillage__V1__Count *c;

		if (!t->n[v])
			continue;
		c = malloc(sizeof(*c));
		if (!c)
			return ML_ENOMEM;
		maillage__v1__count__init(c);
		c->key = (char *)wire_enum_name(desc, v);
		c->count = t->n[v];
		(*out)[(*n)++] = c;
	}
	return 0;
}

static void counts_free(Maillage__V1__Count **counts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(counts[i]);
	free(counts);
}

/* ---------------------------------------------------------------- pipeline */

struct pipeline {
	struct evlog_txn *txn;
	Maillage__V1__RehousingPipeline *out;
	struct tally *refusals;      /* parallel to out->landlords */
};

/* The index of landlord id in out->landlords, added when new; -1 on ENOMEM. */
static long landlord(struct pipeline *p, const char *id)
{
	Maillage__V1__RehousingPipeline *out = p->out;
	Maillage__V1__LandlordPipeline *l, **more;
	struct tally *tallies;
	size_t i;

	for (i = 0; i < out->n_landlords; i++)
		if (!strcmp(out->landlords[i]->landlord, id))
			return (long)i;
	more = realloc(out->landlords, (i + 1) * sizeof(*more));
	if (more)
		out->landlords = more;
	tallies = realloc(p->refusals, (i + 1) * sizeof(*tallies));
	if (tallies)
		p->refusals = tallies;
	l = more && tallies ? malloc(sizeof(*l)) : NULL;
	if (l)
		maillage__v1__landlord_pipeline__init(l);
	if (!l || !(l->landlord = strdup(id))) {
		free(l);
		return -1;
	}
	memset(&p->refusals[i], 0, sizeof(p->refusals[i]));
	out->landlords[out->n_landlords++] = l;
	return (long)i;
}

static int count_proposals(void *arg, const char *case_id)
{
	struct pipeline *p = arg;
	ml_case *c = NULL;
	int rc = evlog_case_get(p->txn, case_id, &c);

	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	for (size_t i = 0; !rc && i < c->n_proposals; i++) {
		const Maillage__V1__ProposalState *ps = c->proposals[i];
		long k = landlord(p, ps->landlord);
		Maillage__V1__LandlordPipeline *l;

		if (k < 0) {
			rc = ML_ENOMEM;
			break;
		}
		l = p->out->landlords[k];
		l->proposed++;
		l->accepted += ps->answered && ps->accepted;
		l->refused += ps->answered && !ps->accepted;
		l->pending += !ps->answered;
		l->leases_signed += ps->lease_signed;
		if (ps->answered && !ps->accepted)
			tally_add(&p->refusals[k], ps->refusal_reason);
	}
	wire_free(c);
	return rc;
}

int stats_pipeline(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		   const Maillage__V1__GetRehousingPipeline *q,
		   Maillage__V1__RehousingPipeline *out, struct status *st)
{
	struct pipeline p = { .txn = txn, .out = out };
	int rc = auth_platform_member(cfg, org, q->platform, "get_rehousing_pipeline.platform", st);

	if (!rc)
		rc = evlog_caseload_scan(txn, q->platform, NULL, count_proposals, &p);
	for (size_t i = 0; !rc && i < out->n_landlords; i++)
		rc = tally_counts(&p.refusals[i], DESC(proposal_refusal_reason),
				  &out->landlords[i]->refusals_by_reason,
				  &out->landlords[i]->n_refusals_by_reason);
	free(p.refusals);
	if (rc && !st->code)
		status_fail(st, rc, NULL, "cannot read the proposals of '%s': %s", q->platform,
			    ml_strerror(rc));
	return rc;
}

void stats_pipeline_release(Maillage__V1__RehousingPipeline *out)
{
	for (size_t i = 0; i < out->n_landlords; i++) {
		counts_free(out->landlords[i]->refusals_by_reason,
			    out->landlords[i]->n_refusals_by_reason);
		free(out->landlords[i]->landlord);
		free(out->landlords[i]);
	}
	free(out->landlords);
}

/* ------------------------------------------------------------ period stats */

/* Durations in days, for a mean and a median. */
struct durations {
	double *days;
	size_t n, cap;
};

static int durations_add(struct durations *d, int64_t from_us, int64_t to_us)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		double *more = realloc(d->days, cap * sizeof(*more));

		if (!more)
			return ML_ENOMEM;
		d->days = more;
		d->cap = cap;
	}
	/* A closure dated the day support began counts 0 days, not a fraction less. */
	d->days[d->n++] = to_us > from_us ? (double)(to_us - from_us) / (double)US_PER_DAY : 0;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void durations_summary(struct durations *d, double *mean, double *median)
{
	double sum = 0;

	*mean = *median = 0;
	if (!d->n)
		return;
	for (size_t i = 0; i < d->n; i++)
		sum += d->days[i];
	*mean = sum / (double)d->n;
	qsort(d->days, d->n, sizeof(*d->days), by_value);
	*median = d->n % 2 ? d->days[d->n / 2] :
		  (d->days[d->n / 2 - 1] + d->days[d->n / 2]) / 2;
}

struct period {
	struct evlog_txn *txn;
	const char *platform;
	int64_t from_us, to_us;          /* [from, to) */
	Maillage__V1__PlatformStats *out;
	struct tally by_kind, by_reason, by_outcome, by_mode, by_domain, tools;
	struct durations decision, support;
};

/* The case's summary, for the dates a duration starts from. */
static int case_times(struct period *p, const char *case_id, int64_t *referred,
		      int64_t *accepted)
{
	ml_case *c = NULL;
	int rc = evlog_case_get(p->txn, case_id, &c);

	if (rc)
		return rc == ML_ENOTFOUND ? ML_ECORRUPT : rc;
	*referred = c->referred_at;
	*accepted = c->accepted_at;
	wire_free(c);
	return 0;
}

static int decision(struct period *p, const ml_event *ev)
{
	int64_t referred = 0, accepted = 0;
	int rc = case_times(p, ev->case_id, &referred, &accepted);

	return rc ? rc : durations_add(&p->decision, referred, ev->occurred_at);
}

static int closure(struct period *p, const ml_event *ev)
{
	const Maillage__V1__Closure *c = ev->support_closed->closure;
	int64_t referred = 0, accepted = 0;
	int outcome = c ? c->outcome : 0;
	int rc = case_times(p, ev->case_id, &referred, &accepted);

	p->out->closed++;
	tally_add(&p->by_outcome, outcome);
	p->out->eviction_avoided +=
		outcome == MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_KEPT_IN_DWELLING ||
		outcome == MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_REHOUSED_TRANSFER ||
		outcome == MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_ADAPTED_HOUSING;
	if (!rc && accepted)
		rc = durations_add(&p->support, accepted, ev->occurred_at);
	return rc;
}

static void visit(struct period *p, const Maillage__V1__Visit *v)
{
	p->out->visits++;
	if (!v)
		return;
	tally_add(&p->by_mode, v->mode);
	for (size_t i = 0; i < v->n_domains; i++)
		tally_add(&p->by_domain, v->domains[i]);
	for (size_t i = 0; i < v->n_tools; i++)
		tally_add(&p->tools, v->tools[i]);
}

static int count_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct period *p = arg;
	Maillage__V1__PlatformStats *out = p->out;

	(void)raw;
	(void)len;
	if (strcmp(ev->platform, p->platform) || ev->occurred_at < p->from_us ||
	    ev->occurred_at >= p->to_us)
		return 0;
	switch (ev->body_case) {
	case EV(HOUSEHOLD_REFERRED):
		out->referrals++;
		tally_add(&p->by_kind, ev->household_referred->referrer_kind);
		if (ev->household_referred->referral)
			tally_add(&p->by_reason, ev->household_referred->referral->reason);
		return 0;
	case EV(REFERRAL_ACKNOWLEDGED):
		out->acknowledged++;
		return 0;
	case EV(CASE_ACCEPTED):
		out->accepted++;
		return decision(p, ev);
	case EV(REFERRAL_DECLINED):
		out->declined++;
		return decision(p, ev);
	case EV(REFERRAL_WITHDRAWN):
		out->withdrawn++;
		return 0;
	case EV(REFERRAL_EXPIRED):
		out->expired++;
		return 0;
	case EV(SUPPORT_CLOSED):
		return closure(p, ev);
	case EV(VISIT_RECORDED):
		visit(p, ev->visit_recorded->visit);
		return 0;
	case EV(REHOUSING_PROPOSED):
		out->proposals++;
		return 0;
	case EV(PROPOSAL_ANSWERED):
		if (ev->proposal_answered->answer && ev->proposal_answered->answer->accepted)
			out->proposals_accepted++;
		else
			out->proposals_refused++;
		return 0;
	case EV(LEASE_SIGNED):
		out->leases_signed++;
		return 0;
	default:
		return 0;
	}
}

static int period_bounds(const Maillage__V1__GetPlatformStats *q, int64_t *from, int64_t *to,
			 struct status *st)
{
	long f, t;

	if (deadline_days(q->from, &f))
		return status_fail(st, ML_EINVAL, "get_platform_stats.from",
				   "field must be a date YYYY-MM-DD");
	if (deadline_days(q->to, &t))
		return status_fail(st, ML_EINVAL, "get_platform_stats.to",
				   "field must be a date YYYY-MM-DD");
	if (t < f)
		return status_fail(st, ML_EINVAL, "get_platform_stats.to",
				   "the period ends before it starts");
	*from = (int64_t)f * US_PER_DAY;
	*to = (int64_t)(t + 1) * US_PER_DAY;
	return 0;
}

/* Counters into their Count lists, durations into means and medians. */
static int period_finish(struct period *p)
{
	Maillage__V1__PlatformStats *o = p->out;
	int rc = tally_counts(&p->by_kind, DESC(org_kind), &o->referrals_by_kind,
			      &o->n_referrals_by_kind);

	if (!rc)
		rc = tally_counts(&p->by_reason, DESC(referral_reason), &o->referrals_by_reason,
				  &o->n_referrals_by_reason);
	if (!rc)
		rc = tally_counts(&p->by_outcome, DESC(closing_outcome), &o->closures_by_outcome,
				  &o->n_closures_by_outcome);
	if (!rc)
		rc = tally_counts(&p->by_mode, DESC(visit_mode), &o->visits_by_mode,
				  &o->n_visits_by_mode);
	if (!rc)
		rc = tally_counts(&p->by_domain, DESC(domain), &o->visits_by_domain,
				  &o->n_visits_by_domain);
	if (!rc)
		rc = tally_counts(&p->tools, DESC(support_tool), &o->tools_mobilised,
				  &o->n_tools_mobilised);
	o->eviction_avoided_share = o->closed ? (double)o->eviction_avoided / o->closed : 0;
	durations_summary(&p->decision, &o->decision_days_mean, &o->decision_days_median);
	durations_summary(&p->support, &o->support_days_mean, &o->support_days_median);
	return rc;
}

int stats_period(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
		 const Maillage__V1__GetPlatformStats *q, Maillage__V1__PlatformStats *out,
		 struct status *st)
{
	struct period p = { .txn = txn, .platform = q->platform, .out = out };
	int rc = auth_platform_member(cfg, org, q->platform, "get_platform_stats.platform", st);

	if (!rc)
		rc = period_bounds(q, &p.from_us, &p.to_us, st);
	if (rc)
		return rc;
	out->platform = q->platform;
	out->from = q->from;
	out->to = q->to;
	rc = evlog_scan(txn, 1, count_event, &p);
	if (!rc)
		rc = period_finish(&p);
	free(p.decision.days);
	free(p.support.days);
	if (rc)
		return status_fail(st, rc, NULL, "cannot compute the figures of '%s': %s",
				   q->platform, ml_strerror(rc));
	return 0;
}

void stats_period_release(Maillage__V1__PlatformStats *out)
{
	counts_free(out->referrals_by_kind, out->n_referrals_by_kind);
	counts_free(out->referrals_by_reason, out->n_referrals_by_reason);
	counts_free(out->closures_by_outcome, out->n_closures_by_outcome);
	counts_free(out->visits_by_mode, out->n_visits_by_mode);
	counts_free(out->visits_by_domain, out->n_visits_by_domain);
	counts_free(out->tools_mobilised, out->n_tools_mobilised);
}
