/* project.c - folding a case's events into its CaseSummary. */
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "err.h"
#include "project.h"

#define EV(x) MAILLAGE__V1__EVENT__BODY_##x
#define ST(x) MAILLAGE__V1__CASE_STATE__##x

static int create(ml_case **out, const ml_event *ev)
{
	const Maillage__V1__HouseholdReferred *hr = ev->household_referred;
	const Maillage__V1__Referral *ref = hr->referral;
	ml_case *c = wire_case_new();
	int rc = ML_ENOMEM;

	if (!c || !ref)
		goto err_free;
	c->state = ST(REFERRED);
	c->referrer_kind = hr->referrer_kind;
	c->reason = ref->reason;
	c->referred_at = ev->recorded_at;
	c->debt_cents = ref->household ? ref->household->debt_cents : 0;
	if (wire_set_string(&c->case_id, ev->case_id) ||
	    wire_set_string(&c->platform, ev->platform) ||
	    wire_set_string(&c->referrer, ev->actor_org) ||
	    wire_set_bytes(&c->household_key, hr->household_key.data, hr->household_key.len))
		goto err_free;
	*out = c;
	return 0;

err_free:
	wire_free(c);
	return ref ? rc : ML_ECORRUPT;
}

static int apply_visit(ml_case *c, const Maillage__V1__Visit *v)
{
	c->visit_count++;
	if (v && strcmp(v->date, c->last_visit_date) > 0)
		return wire_set_string(&c->last_visit_date, v->date);
	return 0;
}

static int apply_acceptance(ml_case *c, const Maillage__V1__Acceptance *a)
{
	c->state = ST(IN_SUPPORT);
	if (!a)
		return ML_ECORRUPT;
	c->support_level = a->support_level;
	if (wire_set_string(&c->lead_partner, a->lead_partner))
		return ML_ENOMEM;
	return wire_set_strings(&c->co_referents, &c->n_co_referents,
				a->co_referents, a->n_co_referents);
}

/* Drop partner from the co-referents. */
static int remove_co_referent(ml_case *c, const char *partner)
{
	char **keep = calloc(c->n_co_referents + 1, sizeof(*keep));
	size_t n = 0;
	int rc;

	if (!keep)
		return ML_ENOMEM;
	for (size_t i = 0; i < c->n_co_referents; i++)
		if (strcmp(c->co_referents[i], partner))
			keep[n++] = c->co_referents[i];
	rc = wire_set_strings(&c->co_referents, &c->n_co_referents, keep, n);
	free(keep);
	return rc;
}

/* Partner is no longer assigned, as lead or co-referent. */
static int release(ml_case *c, const char *partner)
{
	int rc = remove_co_referent(c, partner);

	if (!rc && !strcmp(c->lead_partner, partner))
		rc = wire_set_string(&c->lead_partner, "");
	return rc;
}

static int apply_assignment(ml_case *c, const Maillage__V1__PartnerAssigned *a)
{
	char *one[1] = { a->partner };
	char **all;
	int rc;

	if (a->role == MAILLAGE__V1__PARTNER_ROLE__PARTNER_LEAD) {
		rc = wire_set_string(&c->lead_partner, a->partner);
		return rc ? rc : remove_co_referent(c, a->partner);
	}
	all = malloc((c->n_co_referents + 1) * sizeof(*all));
	if (!all)
		return ML_ENOMEM;
	if (c->n_co_referents)
		memcpy(all, c->co_referents, c->n_co_referents * sizeof(*all));
	all[c->n_co_referents] = one[0];
	rc = wire_set_strings(&c->co_referents, &c->n_co_referents, all, c->n_co_referents + 1);
	free(all);
	return rc;
}

/* The latest stage by date, and the deadline that follows it. */
static int apply_step(ml_case *c, const Maillage__V1__ProcedureStep *s)
{
	char next[DEADLINE_DATE_LEN] = "";
	int kind = 0;

	if (!s || strcmp(s->date, c->procedure_stage_date) < 0)
		return 0;
	c->procedure_stage = s->stage;
	if (deadline_next(s->stage, s->date, s->hearing_date, next, &kind))
		kind = 0, next[0] = 0;
	c->next_deadline_kind = kind;
	if (wire_set_string(&c->next_deadline, next))
		return ML_ENOMEM;
	return wire_set_string(&c->procedure_stage_date, s->date);
}

static int apply_proposal(ml_case *c, const ml_event *ev)
{
	const Maillage__V1__Proposal *p = ev->rehousing_proposed->proposal;
	Maillage__V1__ProposalState *ps = wire_case_add_proposal(c);

	c->proposal_count++;
	if (!ps)
		return ML_ENOMEM;
	return wire_set_string(&ps->landlord, p && p->landlord[0] ? p->landlord : ev->actor_org);
}

/* The proposal an answer or a lease names; NULL if there is none. */
static Maillage__V1__ProposalState *proposal(ml_case *c, uint32_t number)
{
	return number >= 1 && number <= c->n_proposals ? c->proposals[number - 1] : NULL;
}

static int apply_answer(ml_case *c, const Maillage__V1__ProposalAnswer *a)
{
	Maillage__V1__ProposalState *ps = a ? proposal(c, a->proposal_number) : NULL;

	if (!ps)
		return ML_ECORRUPT;
	ps->answered = 1;
	ps->accepted = a->accepted;
	ps->refusal_reason = a->refusal_reason;
	return 0;
}

static int apply_lease(ml_case *c, const Maillage__V1__LeaseSigned *l)
{
	Maillage__V1__ProposalState *ps = proposal(c, l->proposal_number);

	if (!ps)
		return ML_ECORRUPT;
	ps->lease_signed = 1;
	return 0;
}

static int apply(ml_case *c, const ml_event *ev)
{
	switch (ev->body_case) {
	case EV(REFERRAL_ACKNOWLEDGED):
		c->state = ST(ACKNOWLEDGED);
		return 0;
	case EV(CASE_ACCEPTED):
		c->accepted_at = ev->recorded_at;
		return apply_acceptance(c, ev->case_accepted->acceptance);
	case EV(REFERRAL_DECLINED):
		c->state = ST(DECLINED);
		c->decline_reason = ev->referral_declined->decline ?
			ev->referral_declined->decline->reason : 0;
		return 0;
	case EV(REFERRAL_WITHDRAWN):
		c->state = ST(WITHDRAWN);
		return 0;
	case EV(VISIT_RECORDED):
		return apply_visit(c, ev->visit_recorded->visit);
	case EV(REHOUSING_PROPOSED):
		return apply_proposal(c, ev);
	case EV(SUPPORT_CLOSED):
		c->state = ST(CLOSED);
		c->outcome = ev->support_closed->closure ?
			ev->support_closed->closure->outcome : 0;
		return 0;
	case EV(PARTNER_ASSIGNED):
		return apply_assignment(c, ev->partner_assigned);
	case EV(ASSIGNMENT_RELEASED):
		return release(c, ev->assignment_released->partner);
	case EV(PROCEDURE_STEP_RECORDED):
		return apply_step(c, ev->procedure_step_recorded->step);
	case EV(PROPOSAL_ANSWERED):
		return apply_answer(c, ev->proposal_answered->answer);
	case EV(LEASE_SIGNED):
		return apply_lease(c, ev->lease_signed);
	case EV(SUPPORT_SUSPENDED):
		c->state = ST(ON_HOLD);
		return 0;
	case EV(SUPPORT_RESUMED):
		c->state = ST(IN_SUPPORT);
		return 0;
	case EV(REFERRAL_EXPIRED):
		c->state = ST(EXPIRED);
		return 0;
	case EV(HOUSEHOLD_DATA_ERASED):
		return 0;       /* the case is unchanged; its personal data is gone */
	default:
		return ML_ECORRUPT;
	}
}

int project_case_apply(ml_case **c, const ml_event *ev)
{
	int rc;

	if (ev->body_case == EV(HOUSEHOLD_REFERRED)) {
		if (*c || ev->case_version != 1)
			return ML_ECORRUPT;
		rc = create(c, ev);
	} else {
		if (!*c || strcmp((*c)->case_id, ev->case_id) ||
		    ev->case_version != (*c)->version + 1)
			return ML_ECORRUPT;
		rc = apply(*c, ev);
	}
	if (rc)
		return rc;
	(*c)->version = ev->case_version;
	(*c)->updated_at = ev->recorded_at;
	return 0;
}
