/* auth.h - who may send which command and read which case (DESIGN.md
 * sections 2 and 5), in one table.
 *
 * Two checks: by kind (auth_request_kind: the sender's organisation kind and,
 * for a referral, its membership of the platform), done before a command is
 * queued; and by relation to the case (auth_case_access: referrer, lead
 * partner, co-referent, coordination or auditor of the case's platform), done
 * against the case as stored. A sender with no relation at all to a case gets
 * the same answer whether the case exists or not.
 */
#ifndef MAILLAGE_AUTH_H
#define MAILLAGE_AUTH_H

#include <stdbool.h>

#include "config.h"
#include "wire.h"

enum auth_rel {
	AUTH_REL_REFERRER = 1 << 0,
	AUTH_REL_LEAD = 1 << 1,
	AUTH_REL_CO_REFERENT = 1 << 2,
	AUTH_REL_COORDINATION = 1 << 3,  /* coordination member of the case's platform */
	AUTH_REL_AUDITOR = 1 << 4,       /* auditor member of the case's platform */
	AUTH_REL_LANDLORD = 1 << 5,      /* the landlord that referred the case */
};

/* Relations that let an organisation read a case and its history. */
#define AUTH_READERS (AUTH_REL_REFERRER | AUTH_REL_LEAD | AUTH_REL_CO_REFERENT | \
		      AUTH_REL_COORDINATION | AUTH_REL_AUDITOR)

/* 0 when platform exists (else ML_EINVAL on field) and org belongs to it
 * (else ML_EPERM): the check of every platform-wide query. */
int auth_platform_member(const struct config *cfg, const struct org *org,
			 const char *platform, const char *field, struct status *st);

/* True when org_id is the case's lead partner or one of its co-referents. */
bool auth_is_assigned(const ml_case *c, const char *org_id);

/* True for the kinds that may lead or co-refer a case's support (CCAS, MDM,
 * hospital, SIAO, association). */
bool auth_may_carry_support(const struct org *org);

/* The relations of org to case c (a mask of enum auth_rel). */
unsigned auth_relations(const struct org *org, const ml_case *c);

/* Whether org sees the household key of case c, the pseudonymous
 * identifier that links the household's cases across time and platforms:
 * only coordination and auditors of the case's platform need it; other
 * readers (referrer, assigned partners) get the case without it. */
bool auth_sees_household_key(const struct org *org, const ml_case *c);

/* Field-level minimisation of a case summary about to be shown to org: the
 * household key dropped unless auth_sees_household_key(). 0 or ML_ENOMEM.
 * (An event's key, in the referral, is dropped by query.c on its copy.) */
int auth_minimise_case(const struct org *org, ml_case *c);

/* 0 when org's kind may send or run req at all (and, for a referral, org is a
 * member of its platform, which must exist); else ML_EPERM or ML_EINVAL with
 * st filled. */
int auth_request_kind(const struct config *cfg, const struct org *org,
		      const ml_request *req, struct status *st);

/* 0 when org may run req on case c (NULL when it does not exist); *role gets
 * the maillage.v1.ActorRole it acts under. Else ML_EPERM (related but not
 * allowed, or unrelated: "no access") or ML_ENOTFOUND (only for coordination
 * and auditors of the platform whose code prefixes case_id). */
int auth_case_access(const struct config *cfg, const struct org *org,
		     const ml_request *req, const char *case_id, const ml_case *c,
		     int *role, struct status *st);

#endif
