/* auth.c - the permission table: kinds and case relations per request. */
#include <string.h>

#include "auth.h"
#include "err.h"

#define KIND(k) (1u << MAILLAGE__V1__ORG_KIND__##k)
#define BODY(b) MAILLAGE__V1__REQUEST__BODY_##b

#define REFERRER_KINDS (KIND(LANDLORD) | KIND(CCAS) | KIND(MDM) | KIND(HOSPITAL) | \
			KIND(SIAO) | KIND(ASSOCIATION))
#define PARTNER_KINDS (KIND(CCAS) | KIND(MDM) | KIND(HOSPITAL) | KIND(SIAO) | \
		       KIND(ASSOCIATION))
#define ANY_KIND (~0u)

struct rule {
	int body;
	unsigned kinds;       /* organisation kinds that may send it */
	unsigned relations;   /* relations to the case that allow it; 0 = no case */
	const char *needs;    /* for the refusal message */
};

static const struct rule rules[] = {
	{ BODY(PING), ANY_KIND, 0, "" },
	{ BODY(GET_CASE), ANY_KIND & ~KIND(FUNDER), AUTH_READERS,
	  "a relation to the case" },
	{ BODY(GET_CASE_HISTORY), ANY_KIND & ~KIND(FUNDER), AUTH_READERS,
	  "a relation to the case" },
	{ BODY(READ_EVENTS), KIND(AUDITOR), 0, "an auditor" },
	/* The case relation applies to a subscription to one case. */
	{ BODY(SUBSCRIBE), ANY_KIND & ~KIND(FUNDER), AUTH_READERS,
	  "a relation to the cases followed (funders get aggregates only)" },
	{ BODY(LIST_CASELOAD), ANY_KIND & ~KIND(FUNDER), 0, "a member of the platform" },
	{ BODY(LIST_PENDING_REFERRALS), KIND(COORDINATION) | KIND(AUDITOR), 0,
	  "the platform's coordination or an auditor" },
	{ BODY(GET_PARTNER_LOAD), KIND(COORDINATION) | KIND(AUDITOR), 0,
	  "the platform's coordination or an auditor" },
	{ BODY(LIST_STALE_CASES), ANY_KIND & ~KIND(FUNDER), 0, "a member of the platform" },
	{ BODY(GET_REHOUSING_PIPELINE), ANY_KIND, 0, "a member of the platform" },
	{ BODY(GET_PLATFORM_STATS), ANY_KIND, 0, "a member of the platform" },
	{ BODY(LIST_DEADLINES), ANY_KIND & ~KIND(FUNDER), 0, "a member of the platform" },
	{ BODY(LIST_ACCESS_JOURNAL), KIND(COORDINATION) | KIND(AUDITOR),
	  AUTH_REL_COORDINATION | AUTH_REL_AUDITOR, "the platform's coordination or an auditor" },
	{ BODY(REFER_HOUSEHOLD), REFERRER_KINDS, 0,
	  "a landlord, CCAS, MDM, hospital, SIAO or association" },
	{ BODY(ACKNOWLEDGE_REFERRAL), KIND(COORDINATION), AUTH_REL_COORDINATION,
	  "the platform's coordination" },
	{ BODY(ACCEPT_CASE), KIND(COORDINATION), AUTH_REL_COORDINATION,
	  "the platform's coordination" },
	{ BODY(DECLINE_REFERRAL), KIND(COORDINATION), AUTH_REL_COORDINATION,
	  "the platform's coordination" },
	{ BODY(WITHDRAW_REFERRAL), REFERRER_KINDS, AUTH_REL_REFERRER,
	  "the referring organisation" },
	{ BODY(RECORD_VISIT), PARTNER_KINDS, AUTH_REL_LEAD | AUTH_REL_CO_REFERENT,
	  "an assigned partner" },
	{ BODY(PROPOSE_REHOUSING), KIND(LANDLORD) | KIND(COORDINATION),
	  AUTH_REL_LANDLORD | AUTH_REL_COORDINATION,
	  "the referring landlord or the platform's coordination" },
	{ BODY(CLOSE_SUPPORT), PARTNER_KINDS | KIND(COORDINATION),
	  AUTH_REL_LEAD | AUTH_REL_COORDINATION,
	  "the lead partner or the platform's coordination" },
	{ BODY(ASSIGN_PARTNER), KIND(COORDINATION), AUTH_REL_COORDINATION,
	  "the platform's coordination" },
	{ BODY(RELEASE_ASSIGNMENT), PARTNER_KINDS | KIND(COORDINATION),
	  AUTH_REL_LEAD | AUTH_REL_CO_REFERENT | AUTH_REL_COORDINATION,
	  "an assigned partner or the platform's coordination" },
	{ BODY(RECORD_PROCEDURE_STEP), KIND(LANDLORD) | PARTNER_KINDS | KIND(COORDINATION),
	  AUTH_REL_LANDLORD | AUTH_REL_LEAD | AUTH_REL_CO_REFERENT | AUTH_REL_COORDINATION,
	  "the referring landlord, an assigned partner or the platform's coordination" },
	{ BODY(ANSWER_PROPOSAL), KIND(LANDLORD) | PARTNER_KINDS,
	  AUTH_REL_LANDLORD | AUTH_REL_LEAD | AUTH_REL_CO_REFERENT,
	  "an assigned partner or the referring landlord" },
	{ BODY(SIGN_LEASE), KIND(LANDLORD) | PARTNER_KINDS,
	  AUTH_REL_LANDLORD | AUTH_REL_LEAD | AUTH_REL_CO_REFERENT,
	  "an assigned partner or the referring landlord" },
	{ BODY(PUT_ON_HOLD), PARTNER_KINDS | KIND(COORDINATION),
	  AUTH_REL_LEAD | AUTH_REL_COORDINATION,
	  "the lead partner or the platform's coordination" },
	{ BODY(RESUME), PARTNER_KINDS | KIND(COORDINATION),
	  AUTH_REL_LEAD | AUTH_REL_COORDINATION,
	  "the lead partner or the platform's coordination" },
	/* And the data-protection role: see auth_request_kind(). */
	{ BODY(ERASE_HOUSEHOLD_DATA), KIND(COORDINATION), AUTH_REL_COORDINATION,
	  "the platform's coordination with the data-protection role" },
};

static const struct rule *find_rule(int body)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].body == body)
			return &rules[i];
	return NULL;
}

int auth_platform_member(const struct config *cfg, const struct org *org,
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

bool auth_is_assigned(const ml_case *c, const char *org_id)
{
	if (!strcmp(c->lead_partner, org_id))
		return true;
	for (size_t i = 0; i < c->n_co_referents; i++)
		if (!strcmp(c->co_referents[i], org_id))
			return true;
	return false;
}

bool auth_may_carry_support(const struct org *org)
{
	return (PARTNER_KINDS & (1u << org->kind)) != 0;
}

unsigned auth_relations(const struct org *org, const ml_case *c)
{
	unsigned rel = 0;

	if (!strcmp(c->referrer, org->id))
		rel |= AUTH_REL_REFERRER;
	if (!strcmp(c->referrer, org->id) && org->kind == MAILLAGE__V1__ORG_KIND__LANDLORD)
		rel |= AUTH_REL_LANDLORD;
	if (!strcmp(c->lead_partner, org->id))
		rel |= AUTH_REL_LEAD;
	for (size_t i = 0; i < c->n_co_referents; i++)
		if (!strcmp(c->co_referents[i], org->id))
			rel |= AUTH_REL_CO_REFERENT;
	if (org_is_member(org, c->platform)) {
		if (org->kind == MAILLAGE__V1__ORG_KIND__COORDINATION)
			rel |= AUTH_REL_COORDINATION;
		if (org->kind == MAILLAGE__V1__ORG_KIND__AUDITOR)
			rel |= AUTH_REL_AUDITOR;
	}
	return rel;
}

/* Coordination and auditors of the case's platform see the household key. */
bool auth_sees_household_key(const struct org *org, const ml_case *c)
{
	return auth_relations(org, c) & (AUTH_REL_COORDINATION | AUTH_REL_AUDITOR);
}

int auth_minimise_case(const struct org *org, ml_case *c)
{
	if (auth_sees_household_key(org, c))
		return 0;
	return wire_set_bytes(&c->household_key, (const uint8_t *)"", 0);
}

int auth_request_kind(const struct config *cfg, const struct org *org,
		      const ml_request *req, struct status *st)
{
	const struct rule *r = find_rule(req->body_case);
	const char *platform;

	if (!r)
		return status_fail(st, ML_EINVAL, "body", "request '%s' is not supported",
				   wire_body_name(req));
	if (!(r->kinds & (1u << org->kind)))
		return status_fail(st, ML_EPERM, NULL,
				   "organisation '%s' (%s) may not send '%s': it needs %s",
				   org->id, wire_org_kind_name(org->kind),
				   wire_body_name(req), r->needs);
	if (req->body_case == BODY(ERASE_HOUSEHOLD_DATA) && !org->data_protection)
		return status_fail(st, ML_EPERM, NULL,
				   "organisation '%s' may not send '%s': it needs %s", org->id,
				   wire_body_name(req), r->needs);
	if (req->body_case != BODY(REFER_HOUSEHOLD))
		return 0;
	platform = req->refer_household->referral->platform;
	if (!config_find_platform(cfg, platform))
		return status_fail(st, ML_EINVAL, "refer_household.referral.platform",
				   "unknown platform '%s'", platform);
	if (!org_is_member(org, platform))
		return status_fail(st, ML_EPERM, "refer_household.referral.platform",
				   "organisation '%s' is not a member of platform '%s'",
				   org->id, platform);
	return 0;
}

/* The ActorRole for the strongest relation that allowed the request. */
static int role_of(unsigned rel)
{
	if (rel & AUTH_REL_COORDINATION)
		return MAILLAGE__V1__ACTOR_ROLE__ROLE_COORDINATION;
	if (rel & AUTH_REL_LEAD)
		return MAILLAGE__V1__ACTOR_ROLE__ROLE_LEAD_PARTNER;
	if (rel & AUTH_REL_CO_REFERENT)
		return MAILLAGE__V1__ACTOR_ROLE__ROLE_CO_REFERENT;
	if (rel & AUTH_REL_LANDLORD)
		return MAILLAGE__V1__ACTOR_ROLE__ROLE_LANDLORD;
	return MAILLAGE__V1__ACTOR_ROLE__ROLE_REFERRER;
}

/* True when org oversees every case of the platform whose code starts case_id. */
static bool oversees_prefix(const struct config *cfg, const struct org *org,
			    const char *case_id)
{
	const char *dash = strchr(case_id, '-');
	const struct platform *p;

	if (!dash)
		return false;
	p = config_platform_by_code(cfg, case_id, (size_t)(dash - case_id));
	return p && org_is_member(org, p->id) &&
	       (org->kind == MAILLAGE__V1__ORG_KIND__COORDINATION ||
		org->kind == MAILLAGE__V1__ORG_KIND__AUDITOR);
}

int auth_case_access(const struct config *cfg, const struct org *org,
		     const ml_request *req, const char *case_id, const ml_case *c,
		     int *role, struct status *st)
{
	const struct rule *r = find_rule(req->body_case);
	unsigned rel = c ? auth_relations(org, c) : 0;

	if (!r || !r->relations)
		return status_fail(st, ML_EINTERNAL, NULL, "request '%s' has no case rule",
				   wire_body_name(req));
	if (!(rel & AUTH_READERS)) {
		if (!c && oversees_prefix(cfg, org, case_id))
			return status_fail(st, ML_ENOTFOUND, NULL, "case '%s' not found",
					   case_id);
		return status_fail(st, ML_EPERM, NULL,
				   "no access to case '%s' for organisation '%s'",
				   case_id, org->id);
	}
	if (!(rel & r->relations))
		return status_fail(st, ML_EPERM, NULL,
				   "organisation '%s' may not send '%s' on case '%s': it needs %s",
				   org->id, wire_body_name(req), case_id, r->needs);
	*role = role_of(rel & r->relations);
	/* A partner releases its own assignment only; coordination any. */
	if (req->body_case == BODY(RELEASE_ASSIGNMENT) &&
	    *role != MAILLAGE__V1__ACTOR_ROLE__ROLE_COORDINATION &&
	    strcmp(req->release_assignment->partner, org->id))
		return status_fail(st, ML_EPERM, "release_assignment.partner",
				   "a partner may release only its own assignment, not '%s''s",
				   req->release_assignment->partner);
	return 0;
}
