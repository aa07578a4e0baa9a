/* project.c - folding a case's events into its CaseSummary. */
#include <string.h>

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

static int apply(ml_case *c, const ml_event *ev)
{
	switch (ev->body_case) {
	case EV(REFERRAL_ACKNOWLEDGED):
		c->state = ST(ACKNOWLEDGED);
		return 0;
	case EV(CASE_ACCEPTED):
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
		c->proposal_count++;
		return 0;
	case EV(SUPPORT_CLOSED):
		c->state = ST(CLOSED);
		c->outcome = ev->support_closed->closure ?
			ev->support_closed->closure->outcome : 0;
		return 0;
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
