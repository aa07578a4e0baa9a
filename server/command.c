/* command.c - deciding one command: from a request and the case as stored, the
 * event to append (or the refusal), then the case summary and indexes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "casestate.h"
#include "command.h"
#include "crypto.h"
#include "erasure.h"
#include "err.h"
#include "grow.h"
#include "household.h"
#include "log.h"
#include "models.h"
#include "personal.h"
#include "project.h"
#include "validate.h"
#include "vault.h"

#define BODY(b) MAILLAGE__V1__REQUEST__BODY_##b
#define EV(b) MAILLAGE__V1__EVENT__BODY_##b

/* One command in flight on the writer thread. */
struct run {
	const struct command_ctx *ctx;  /* NULL for the server's own events */
	struct evlog_txn *txn;          /* nested in the batch, or the batch itself */
	struct command_out *out;
	const char *case_id;
	ml_case *c;                     /* the case as stored, then as updated */
	ml_event ev;                    /* the event being built */
	union {                         /* its body; fields point into the request */
		Maillage__V1__HouseholdReferred household_referred;
		Maillage__V1__ReferralAcknowledged referral_acknowledged;
		Maillage__V1__CaseAccepted case_accepted;
		Maillage__V1__ReferralDeclined referral_declined;
		Maillage__V1__ReferralWithdrawn referral_withdrawn;
		Maillage__V1__VisitRecorded visit_recorded;
		Maillage__V1__RehousingProposed rehousing_proposed;
		Maillage__V1__SupportClosed support_closed;
		Maillage__V1__PartnerAssigned partner_assigned;
		Maillage__V1__AssignmentReleased assignment_released;
		Maillage__V1__ProcedureStepRecorded procedure_step_recorded;
		Maillage__V1__ProposalAnswered proposal_answered;
		Maillage__V1__LeaseSigned lease_signed;
		Maillage__V1__SupportSuspended support_suspended;
		Maillage__V1__SupportResumed support_resumed;
	} body;
	const struct command_pre *pre;  /* the request's hash, household key */
	const uint8_t *household_key;   /* ReferHousehold: pre's, once checked */
	char new_case_id[64];
	bool emitted;                   /* the decision appended its own events */
};

/* Set the event's occurred_at from a date the sender stated. */
static void occurred_on(struct run *r, const char *date)
{
	int64_t us;

	if (validate_parse_date(date, &us) == 0)
		r->ev.occurred_at = us;
}

/* A partner named on a case must be a member of its platform able to carry
 * support (not a landlord, funder, auditor or coordination). */
static int check_partner(struct run *r, const char *org_id, const char *field)
{
	const struct org *o = config_find_org(r->ctx->cfg, org_id);

	if (!o)
		return status_fail(&r->out->st, ML_EINVAL, field,
				   "unknown organisation '%s'", org_id);
	if (!org_is_member(o, r->c->platform))
		return status_fail(&r->out->st, ML_EINVAL, field,
				   "organisation '%s' is not a member of platform '%s'",
				   org_id, r->c->platform);
	if (!auth_may_carry_support(o))
		return status_fail(&r->out->st, ML_EINVAL, field,
				   "organisation '%s' is a %s and cannot carry support",
				   org_id, wire_org_kind_name(o->kind));
	return 0;
}

static int decide_acknowledge(struct run *r)
{
	Maillage__V1__ReferralAcknowledged *b = &r->body.referral_acknowledged;

	maillage__v1__referral_acknowledged__init(b);
	b->note = r->ctx->req->acknowledge_referral->note;
	r->ev.referral_acknowledged = b;
	return 0;
}

static int decide_accept(struct run *r)
{
	Maillage__V1__Acceptance *a = r->ctx->req->accept_case->acceptance;
	Maillage__V1__CaseAccepted *b = &r->body.case_accepted;
	int rc = check_partner(r, a->lead_partner, "accept_case.acceptance.lead_partner");

	for (size_t i = 0; !rc && i < a->n_co_referents; i++)
		rc = check_partner(r, a->co_referents[i], "accept_case.acceptance.co_referents");
	if (rc)
		return rc;
	maillage__v1__case_accepted__init(b);
	b->acceptance = a;
	r->ev.case_accepted = b;
	return 0;
}

static int decide_decline(struct run *r)
{
	Maillage__V1__ReferralDeclined *b = &r->body.referral_declined;

	maillage__v1__referral_declined__init(b);
	b->decline = r->ctx->req->decline_referral->decline;
	r->ev.referral_declined = b;
	return 0;
}

static int decide_withdraw(struct run *r)
{
	Maillage__V1__ReferralWithdrawn *b = &r->body.referral_withdrawn;

	maillage__v1__referral_withdrawn__init(b);
	b->reason_text = r->ctx->req->withdraw_referral->reason_text;
	r->ev.referral_withdrawn = b;
	return 0;
}

static int decide_visit(struct run *r)
{
	Maillage__V1__VisitRecorded *b = &r->body.visit_recorded;

	maillage__v1__visit_recorded__init(b);
	b->visit = r->ctx->req->record_visit->visit;
	occurred_on(r, b->visit->date);
	r->ev.visit_recorded = b;
	return 0;
}

static int decide_propose(struct run *r)
{
	Maillage__V1__Proposal *p = r->ctx->req->propose_rehousing->proposal;
	Maillage__V1__RehousingProposed *b = &r->body.rehousing_proposed;
	const struct org *sender = r->ctx->org;
	const struct org *landlord;

	if (sender->kind == MAILLAGE__V1__ORG_KIND__LANDLORD && p->landlord[0] &&
	    strcmp(p->landlord, sender->id))
		return status_fail(&r->out->st, ML_EPERM, "propose_rehousing.proposal.landlord",
				   "landlord '%s' may only propose its own dwellings, not '%s''s",
				   sender->id, p->landlord);
	if (!p->landlord[0] && sender->kind != MAILLAGE__V1__ORG_KIND__LANDLORD)
		return status_fail(&r->out->st, ML_EINVAL, "propose_rehousing.proposal.landlord",
				   "field is required when the sender is not the landlord");
	landlord = p->landlord[0] ? config_find_org(r->ctx->cfg, p->landlord) : sender;
	if (!landlord || landlord->kind != MAILLAGE__V1__ORG_KIND__LANDLORD)
		return status_fail(&r->out->st, ML_EINVAL, "propose_rehousing.proposal.landlord",
				   "'%s' is not a declared landlord", p->landlord);
	maillage__v1__rehousing_proposed__init(b);
	b->proposal = p;
	b->proposal_number = r->c->proposal_count + 1;
	r->ev.rehousing_proposed = b;
	return 0;
}

static int decide_close(struct run *r)
{
	Maillage__V1__SupportClosed *b = &r->body.support_closed;

	maillage__v1__support_closed__init(b);
	b->closure = r->ctx->req->close_support->closure;
	occurred_on(r, b->closure->date);
	r->ev.support_closed = b;
	return 0;
}

static int decide_assign(struct run *r)
{
	const Maillage__V1__AssignPartner *a = r->ctx->req->assign_partner;
	Maillage__V1__PartnerAssigned *b = &r->body.partner_assigned;
	bool lead = a->role == MAILLAGE__V1__PARTNER_ROLE__PARTNER_LEAD;
	int rc = check_partner(r, a->partner, "assign_partner.partner");

	if (rc)
		return rc;
	if (lead ? !strcmp(r->c->lead_partner, a->partner) : auth_is_assigned(r->c, a->partner))
		return status_fail(&r->out->st, ML_EINVAL, "assign_partner.partner",
				   "'%s' is already %s of case '%s'", a->partner,
				   lead ? "the lead partner" : "assigned", r->case_id);
	maillage__v1__partner_assigned__init(b);
	b->partner = a->partner;
	b->role = a->role;
	b->previous_lead = lead ? r->c->lead_partner : "";
	r->ev.partner_assigned = b;
	return 0;
}

static int decide_release(struct run *r)
{
	const Maillage__V1__ReleaseAssignment *a = r->ctx->req->release_assignment;
	Maillage__V1__AssignmentReleased *b = &r->body.assignment_released;

	if (!auth_is_assigned(r->c, a->partner))
		return status_fail(&r->out->st, ML_EINVAL, "release_assignment.partner",
				   "'%s' is not assigned to case '%s'", a->partner, r->case_id);
	maillage__v1__assignment_released__init(b);
	b->partner = a->partner;
	b->reason_text = a->reason_text;
	r->ev.assignment_released = b;
	return 0;
}

static int decide_step(struct run *r)
{
	Maillage__V1__ProcedureStepRecorded *b = &r->body.procedure_step_recorded;

	maillage__v1__procedure_step_recorded__init(b);
	b->step = r->ctx->req->record_procedure_step->step;
	occurred_on(r, b->step->date);
	r->ev.procedure_step_recorded = b;
	return 0;
}

/* The proposal numbered n on the case, or a refusal naming field. */
static int find_proposal(struct run *r, uint32_t n, const char *field,
			 const Maillage__V1__ProposalState **out)
{
	if (n < 1 || n > r->c->n_proposals)
		return status_fail(&r->out->st, ML_EINVAL, field,
				   "case '%s' has no proposal %u", r->case_id, n);
	*out = r->c->proposals[n - 1];
	return 0;
}

static int decide_answer(struct run *r)
{
	Maillage__V1__ProposalAnswer *a = r->ctx->req->answer_proposal->answer;
	Maillage__V1__ProposalAnswered *b = &r->body.proposal_answered;
	const Maillage__V1__ProposalState *ps = NULL;
	int rc = find_proposal(r, a->proposal_number, "answer_proposal.answer.proposal_number",
			       &ps);

	if (rc)
		return rc;
	if (ps->answered)
		return status_fail(&r->out->st, ML_ESTATE, NULL,
				   "proposal %u of case '%s' was already %s", a->proposal_number,
				   r->case_id, ps->accepted ? "accepted" : "refused");
	maillage__v1__proposal_answered__init(b);
	b->answer = a;
	r->ev.proposal_answered = b;
	return 0;
}

static int decide_lease(struct run *r)
{
	const Maillage__V1__SignLease *l = r->ctx->req->sign_lease;
	Maillage__V1__LeaseSigned *b = &r->body.lease_signed;
	const Maillage__V1__ProposalState *ps = NULL;
	int rc = find_proposal(r, l->proposal_number, "sign_lease.proposal_number", &ps);

	if (rc)
		return rc;
	if (!ps->accepted || ps->lease_signed)
		return status_fail(&r->out->st, ML_ESTATE, NULL,
				   "proposal %u of case '%s' is %s", l->proposal_number, r->case_id,
				   ps->lease_signed ? "already signed" :
				   ps->answered ? "refused" : "not accepted yet");
	maillage__v1__lease_signed__init(b);
	b->proposal_number = l->proposal_number;
	b->date = l->date;
	occurred_on(r, l->date);
	r->ev.lease_signed = b;
	return 0;
}

static int decide_hold(struct run *r)
{
	Maillage__V1__SupportSuspended *b = &r->body.support_suspended;

	maillage__v1__support_suspended__init(b);
	b->reason_text = r->ctx->req->put_on_hold->reason_text;
	r->ev.support_suspended = b;
	return 0;
}

static int decide_resume(struct run *r)
{
	Maillage__V1__SupportResumed *b = &r->body.support_resumed;

	maillage__v1__support_resumed__init(b);
	b->note = r->ctx->req->resume->note;
	r->ev.support_resumed = b;
	return 0;
}

/* Erasure appends one event to each case of the household on the platform. */
static int decide_erase(struct run *r)
{
	struct erasure e = {
		.hk = r->c->household_key.data, .platform = r->c->platform,
		.reason = r->ctx->req->erase_household_data->reason, .envelope = &r->ev,
	};

	r->emitted = true;
	if (r->c->household_key.len != CRYPTO_SHA256_LEN)
		return status_fail(&r->out->st, ML_ECORRUPT, NULL, "case '%s' has no household key",
				   r->c->case_id);
	return erasure_apply(r->txn, &e, r->out);
}

struct handler {
	int body;
	int event;
	int (*decide)(struct run *r);
};

static const struct handler handlers[] = {
	{ BODY(ACKNOWLEDGE_REFERRAL), EV(REFERRAL_ACKNOWLEDGED), decide_acknowledge },
	{ BODY(ACCEPT_CASE), EV(CASE_ACCEPTED), decide_accept },
	{ BODY(DECLINE_REFERRAL), EV(REFERRAL_DECLINED), decide_decline },
	{ BODY(WITHDRAW_REFERRAL), EV(REFERRAL_WITHDRAWN), decide_withdraw },
	{ BODY(RECORD_VISIT), EV(VISIT_RECORDED), decide_visit },
	{ BODY(PROPOSE_REHOUSING), EV(REHOUSING_PROPOSED), decide_propose },
	{ BODY(CLOSE_SUPPORT), EV(SUPPORT_CLOSED), decide_close },
	{ BODY(ASSIGN_PARTNER), EV(PARTNER_ASSIGNED), decide_assign },
	{ BODY(RELEASE_ASSIGNMENT), EV(ASSIGNMENT_RELEASED), decide_release },
	{ BODY(RECORD_PROCEDURE_STEP), EV(PROCEDURE_STEP_RECORDED), decide_step },
	{ BODY(ANSWER_PROPOSAL), EV(PROPOSAL_ANSWERED), decide_answer },
	{ BODY(SIGN_LEASE), EV(LEASE_SIGNED), decide_lease },
	{ BODY(PUT_ON_HOLD), EV(SUPPORT_SUSPENDED), decide_hold },
	{ BODY(RESUME), EV(SUPPORT_RESUMED), decide_resume },
	{ BODY(ERASE_HOUSEHOLD_DATA), EV(HOUSEHOLD_DATA_ERASED), decide_erase },
};

/* Fill the envelope common to every event of this command. */
static void envelope(struct run *r, int role)
{
	const struct command_ctx *ctx = r->ctx;

	maillage__v1__event__init(&r->ev);
	r->ev.recorded_at = ctx->now_us;
	r->ev.occurred_at = ctx->now_us;
	r->ev.actor_org = ctx->org->id;
	r->ev.actor_role = role;
	r->ev.command_id = ctx->req->command_id;
	r->ev.correlation_id = ctx->req->correlation_id;
}

/* A referral's data key, made here for a household new to the store, is
 * stored under the household's anchor: the position the referral takes,
 * which the household's record of cases gets too (models_apply()). */
int command_append(struct evlog_txn *txn, ml_case **c, ml_event *ev, const uint8_t *hk)
{
	uint64_t create_at = *c ? 0 : evlog_last_position(txn) + 1;
	struct personal_taken taken;
	struct vault_key k;
	int rc = 0;

	memset(&taken, 0, sizeof(taken));
	memset(&k, 0, sizeof(k));
	if (personal_present(ev)) {
		rc = vault_get(txn, hk, ev->platform, create_at, &k);
		if (rc == ML_ENOTFOUND)
			rc = ML_ESTATE;   /* erased: nothing personal may be added */
		if (!rc)
			rc = personal_seal(ev, &k, &taken);
	}
	if (!rc)
		rc = evlog_append(txn, ev);
	if (!rc && create_at && ev->position != create_at)
		rc = ML_EINTERNAL;       /* the key's anchor is not the referral's */
	if (!rc)
		rc = models_apply(txn, c, ev);
	personal_restore(ev, &taken);
	vault_key_wipe(&k);      /* after the append: the box holds its id */
	return rc;
}

/* Append the built event and bring the stored models in step with it. */
static int emit(struct run *r)
{
	struct command_out *out = r->out;
	const uint8_t *hk = r->c ? r->c->household_key.data : r->household_key;
	int rc = r->c && r->c->household_key.len != CRYPTO_SHA256_LEN ? ML_ECORRUPT :
		 command_append(r->txn, &r->c, &r->ev, hk);

	if (rc == ML_ESTATE)
		return status_fail(&out->st, rc, NULL, "the personal data of case '%s' was erased: "
				   "nothing personal may be added to it", r->ev.case_id);
	if (rc)
		return status_fail(&out->st, rc, NULL, "cannot record the event of case '%s': %s",
				   r->ev.case_id, ml_strerror(rc));
	snprintf(out->case_id, sizeof(out->case_id), "%s", r->c->case_id);
	out->version = r->c->version;
	out->first_position = r->ev.position;
	out->event_count = 1;
	out->recorded_at = r->ev.recorded_at;
	return 0;
}

/* ALREADY_EXISTS when the household has an open case on the platform. */
static int check_no_open_case(struct run *r, const char *platform)
{
	ml_household_cases *hc = NULL;
	int rc = evlog_household_get(r->txn, r->household_key, &hc);

	if (rc == ML_ENOTFOUND)
		return 0;
	for (size_t i = 0; !rc && i < hc->n_case_ids; i++) {
		ml_case *c = NULL;

		rc = evlog_case_get(r->txn, hc->case_ids[i], &c);
		if (!rc && !strcmp(c->platform, platform) && !casestate_is_final(c->state)) {
			snprintf(r->out->case_id, sizeof(r->out->case_id), "%s", c->case_id);
			r->out->version = c->version;
			rc = status_fail(&r->out->st, ML_EEXIST, NULL,
					 "household already has open case '%s' on platform '%s'",
					 c->case_id, platform);
		}
		wire_free(c);
	}
	wire_free(hc);
	if (rc && !r->out->st.code)
		status_fail(&r->out->st, rc, NULL, "cannot read the household's cases: %s",
			    ml_strerror(rc));
	return rc;
}

static int refer(struct run *r)
{
	const struct command_ctx *ctx = r->ctx;
	Maillage__V1__Referral *ref = ctx->req->refer_household->referral;
	Maillage__V1__HouseholdReferred *b = &r->body.household_referred;
	const struct platform *p = config_find_platform(ctx->cfg, ref->platform);
	time_t secs = (time_t)(ctx->now_us / 1000000);
	struct tm tm;
	uint32_t number;
	int rc;

	if (ctx->req->expected_version)
		return status_fail(&r->out->st, ML_EINVAL, "expected_version",
				   "a referral creates a case: expected_version must be 0");
	rc = r->pre->household_rc;
	if (rc)
		return status_fail(&r->out->st, rc,
				   "refer_household.referral.household.reference_person",
				   "identity does not normalise to a household key");
	r->household_key = r->pre->household_key;
	rc = check_no_open_case(r, p->id);
	if (rc)
		return rc;
	gmtime_r(&secs, &tm);
	rc = evlog_next_case_number(r->txn, p->code, tm.tm_year + 1900, &number);
	if (rc)
		return status_fail(&r->out->st, rc, NULL, "cannot number the case: %s",
				   ml_strerror(rc));
	snprintf(r->new_case_id, sizeof(r->new_case_id), "%s-%04d-%06u",
		 p->code, tm.tm_year + 1900, number);
	envelope(r, MAILLAGE__V1__ACTOR_ROLE__ROLE_REFERRER);
	r->ev.case_id = r->new_case_id;
	r->ev.case_version = 1;
	r->ev.platform = p->id;
	maillage__v1__household_referred__init(b);
	b->referral = ref;
	b->referrer_kind = ctx->org->kind;
	b->household_key.data = (uint8_t *)r->household_key;
	b->household_key.len = CRYPTO_SHA256_LEN;
	r->ev.body_case = EV(HOUSEHOLD_REFERRED);
	r->ev.household_referred = b;
	return emit(r);
}

/* Load the case, check access, version and transition, then decide. */
static int on_case(struct run *r, const struct handler *h)
{
	const ml_request *req = r->ctx->req;
	struct command_out *out = r->out;
	int role = 0, next, rc;

	rc = evlog_case_get(r->txn, r->case_id, &r->c);
	if (rc && rc != ML_ENOTFOUND)
		return status_fail(&out->st, rc, NULL, "cannot read case '%s': %s",
				   r->case_id, ml_strerror(rc));
	rc = auth_case_access(r->ctx->cfg, r->ctx->org, req, r->case_id, r->c, &role,
			      &out->st);
	if (rc)
		return rc;
	snprintf(out->case_id, sizeof(out->case_id), "%s", r->c->case_id);
	out->version = r->c->version;
	if (req->expected_version && req->expected_version != r->c->version)
		return status_fail(&out->st, ML_ECONFLICT, "expected_version",
				   "case '%s' is at version %u, not %u", r->case_id,
				   r->c->version, req->expected_version);
	next = casestate_next(r->c->state, req->body_case);
	if (!next)
		return status_fail(&out->st, ML_ESTATE, NULL,
				   "case '%s' is %s; '%s' needs %s", r->case_id,
				   wire_case_state_name(r->c->state), wire_body_name(req),
				   casestate_legal_from(req->body_case));
	envelope(r, role);
	r->ev.case_id = r->c->case_id;
	r->ev.case_version = r->c->version + 1;
	r->ev.platform = r->c->platform;
	r->ev.body_case = h->event;
	rc = h->decide(r);
	return rc || r->emitted ? rc : emit(r);
}

static int decide(struct run *r)
{
	const ml_request *req = r->ctx->req;

	if (req->body_case == BODY(REFER_HOUSEHOLD))
		return refer(r);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].body == (int)req->body_case)
			return on_case(r, &handlers[i]);
	return status_fail(&r->out->st, ML_EINVAL, "body", "'%s' is not a command",
			   wire_body_name(req));
}

/* SHA-256 of the request as sent, less its request_id. */
static int request_hash(const ml_request *req, uint8_t hash[CRYPTO_SHA256_LEN])
{
	ml_request copy = *req;
	uint8_t *buf;
	size_t len;

	copy.request_id = 0;
	if (wire_pack(&copy, &buf, &len))
		return ML_ENOMEM;
	crypto_sha256(buf, len, hash);
	free(buf);
	return 0;
}

/* Fill pre whatever household_key() answers; ready stays false. 0 or
 * ML_ENOMEM (the hash). */
static int prepare(const struct config *cfg, const ml_request *req, struct command_pre *pre)
{
	memset(pre, 0, sizeof(*pre));
	if (request_hash(req, pre->request_hash))
		return ML_ENOMEM;
	if (req->body_case == BODY(REFER_HOUSEHOLD))
		pre->household_rc = household_key(cfg->household_secret, CONFIG_SECRET_LEN,
						   req->refer_household->referral->household->
						   reference_person, pre->household_key);
	return 0;
}

int command_prepare(const struct config *cfg, const ml_request *req,
		    struct command_pre *pre)
{
	if (prepare(cfg, req, pre))
		return ML_ENOMEM;
	/* Only a refusal of the identity itself is kept: the writer tries
	 * again after any other failure (ML_ECRYPTO: HMAC out of memory). */
	if (pre->household_rc && pre->household_rc != ML_EINVAL) {
		int rc = pre->household_rc;

		explicit_bzero(pre, sizeof(*pre));
		return rc;
	}
	pre->ready = true;
	return 0;
}

/* Answer a command_id seen before: the stored result, or a refusal. */
static int replay(const struct command_ctx *ctx, const ml_command_record *rec,
		  const uint8_t *hash, struct command_out *out)
{
	const ml_command_result *res = rec->result;

	if (strcmp(rec->actor_org, ctx->org->id) ||
	    rec->request_hash.len != CRYPTO_SHA256_LEN ||
	    memcmp(rec->request_hash.data, hash, CRYPTO_SHA256_LEN))
		return status_fail(&out->st, ML_EINVAL, "command_id",
				   "command_id was already used for a different command");
	if (res) {
		snprintf(out->case_id, sizeof(out->case_id), "%s", res->case_id);
		out->version = res->case_version;
		out->first_position = res->first_position;
		out->event_count = res->event_count;
		out->recorded_at = res->recorded_at;
	}
	out->replayed = true;
	return 0;
}

static int record(struct run *r, const uint8_t *hash)
{
	ml_command_record rec = MAILLAGE__V1__COMMAND_RECORD__INIT;
	ml_command_result res = MAILLAGE__V1__COMMAND_RESULT__INIT;
	int rc;

	res.case_id = r->out->case_id;
	res.case_version = r->out->version;
	res.first_position = r->out->first_position;
	res.event_count = r->out->event_count;
	res.recorded_at = r->out->recorded_at;
	rec.request_hash.data = (uint8_t *)hash;
	rec.request_hash.len = CRYPTO_SHA256_LEN;
	rec.actor_org = r->ctx->org->id;
	rec.result = &res;
	rc = evlog_command_put(r->txn, r->ctx->req->command_id.data, &rec);
	if (rc)
		status_fail(&r->out->st, rc, NULL, "cannot record the command: %s",
			    ml_strerror(rc));
	return rc;
}

/* A refusal decided from what the command read: it leaves the transaction
 * as it was. Any other failure (storage, a corrupt record, memory) may have
 * left it unusable, even without a write: LMDB marks a transaction failed
 * on some read errors too. */
static bool is_decision(int rc)
{
	switch (rc) {
	case ML_EINVAL:
	case ML_ENOTFOUND:
	case ML_EEXIST:
	case ML_EPERM:
	case ML_ESTATE:
	case ML_ECONFLICT:
		return true;
	default:
		return false;
	}
}

/* command_run(), nested in batch or directly in it. */
static int run_command(struct evlog_txn *batch, const struct command_ctx *ctx,
		       struct command_out *out, bool direct)
{
	struct run r = { .ctx = ctx, .out = out, .case_id = wire_case_id(ctx->req),
			 .txn = batch };
	uint64_t writes = evlog_txn_writes(batch);
	struct command_pre own;
	ml_command_record *seen = NULL;
	const uint8_t *hash;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	r.pre = ctx->pre && ctx->pre->ready ? ctx->pre : &own;
	if (r.pre == &own)
		rc = prepare(ctx->cfg, ctx->req, &own);
	hash = r.pre->request_hash;
	if (!rc && !direct)
		rc = evlog_txn_nest(batch, &r.txn);
	if (rc) {
		explicit_bzero(&own, sizeof(own));
		return status_fail(&out->st, rc, NULL, "cannot start the command: %s",
				   ml_strerror(rc));
	}
	rc = evlog_command_get(r.txn, ctx->req->command_id.data, &seen);
	if (rc == 0)
		rc = replay(ctx, seen, hash, out);
	else if (rc == ML_ENOTFOUND && !(rc = decide(&r)))
		rc = record(&r, hash);
	else if (rc != ML_ENOTFOUND && !out->st.code)
		status_fail(&out->st, rc, NULL, "cannot look up the command: %s",
			    ml_strerror(rc));
	wire_free(seen);
	wire_free(r.c);
	explicit_bzero(&own, sizeof(own));      /* a household key */
	if (direct) {
		out->spoiled = rc && (evlog_txn_writes(batch) != writes || !is_decision(rc));
		return rc;
	}
	if (rc || out->replayed) {
		evlog_txn_abort(r.txn);
		return rc;
	}
	rc = evlog_txn_commit(r.txn);
	if (rc)
		return status_fail(&out->st, rc, NULL, "cannot commit the command: %s",
				   ml_strerror(rc));
	return 0;
}

int command_run(struct evlog_txn *batch, const struct command_ctx *ctx,
		struct command_out *out)
{
	return run_command(batch, ctx, out, false);
}

int command_run_direct(struct evlog_txn *batch, const struct command_ctx *ctx,
		       struct command_out *out)
{
	return run_command(batch, ctx, out, true);
}

struct expiry {
	struct evlog_txn *batch;
	const struct config *cfg;
	int64_t now_us;
	unsigned expired;
	char (*due)[64];        /* case ids found due, then expired one by one */
	size_t n_due, cap;
};

/* Collect the due referrals: the index must not change under its own scan. */
static int collect_due(void *arg, int64_t referred_at, const char *case_id)
{
	struct expiry *x = arg;

	(void)referred_at;
	char (*more)[64] = grow_for_one(x->due, x->n_due, &x->cap, sizeof(*more), 64);

	if (!more)
		return ML_ENOMEM;
	x->due = more;
	snprintf(x->due[x->n_due++], sizeof(x->due[0]), "%s", case_id);
	return 0;
}

/* Expire one referral in its own nested transaction (writer thread). */
static int expire_one(struct expiry *x, const char *case_id)
{
	Maillage__V1__ReferralExpired body = MAILLAGE__V1__REFERRAL_EXPIRED__INIT;
	struct command_out out;
	struct run r = { .out = &out, .case_id = case_id };
	int rc = evlog_txn_nest(x->batch, &r.txn);

	if (rc)
		return rc;
	rc = evlog_case_get(r.txn, case_id, &r.c);
	if (rc || !casestate_next(r.c->state, CASESTATE_EXPIRE))
		goto out_abort;       /* gone or already decided: nothing to do */
	maillage__v1__event__init(&r.ev);
	r.ev.case_id = r.c->case_id;
	r.ev.case_version = r.c->version + 1;
	r.ev.platform = r.c->platform;
	r.ev.recorded_at = x->now_us;
	r.ev.occurred_at = x->now_us;
	r.ev.actor_org = r.c->platform;
	r.ev.actor_role = MAILLAGE__V1__ACTOR_ROLE__ROLE_PLATFORM;
	r.ev.body_case = EV(REFERRAL_EXPIRED);
	body.referred_at = r.c->referred_at;
	body.after_seconds = x->cfg->referral_expiry_s;
	r.ev.referral_expired = &body;
	rc = emit(&r);
	if (rc)
		goto out_abort;
	wire_free(r.c);
	x->expired++;
	log_info("referral_expired", "case=%s", case_id);
	return evlog_txn_commit(r.txn);

out_abort:
	wire_free(r.c);
	evlog_txn_abort(r.txn);
	return rc == ML_ENOTFOUND ? 0 : rc;
}

int command_expire(struct evlog_txn *batch, const struct config *cfg, int64_t now_us,
		   unsigned *expired)
{
	struct expiry x = { .batch = batch, .cfg = cfg, .now_us = now_us };
	int64_t cutoff = now_us - (int64_t)cfg->referral_expiry_s * 1000000;
	int rc = evlog_pending_scan(batch, cutoff, collect_due, &x);

	for (size_t i = 0; !rc && i < x.n_due; i++)
		rc = expire_one(&x, x.due[i]);
	free(x.due);
	*expired = x.expired;
	return rc;
}
