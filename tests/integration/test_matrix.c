/* test_matrix.c - the whole permission matrix through the real server: every
 * organisation of the development configuration, every request of
 * Request.body, on cases it referred, leads, supports or has nothing to do
 * with, on its own platform and on the other one. The expected answers come
 * from the documentation (DESIGN.md sections 2 and 5, README "Who may do
 * what"), never from server/auth.c, so that a change there shows up here.
 * A refused request on a case the sender has no relation to must answer as
 * one on a case that does not exist; listings hold only readable cases.
 * MATRIX_VERBOSE=1 prints the allowed requests refused for a domain reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define RES(x) MAILLAGE__V1__RESPONSE__RESULT_##x
#define BODY(x) MAILLAGE__V1__REQUEST__BODY_##x

/* Organisation kinds, as numbered in the proto. */
enum {
	LANDLORD = MAILLAGE__V1__ORG_KIND__LANDLORD,
	CCAS = MAILLAGE__V1__ORG_KIND__CCAS,
	MDM = MAILLAGE__V1__ORG_KIND__MDM,
	HOSPITAL = MAILLAGE__V1__ORG_KIND__HOSPITAL,
	SIAO = MAILLAGE__V1__ORG_KIND__SIAO,
	ASSOCIATION = MAILLAGE__V1__ORG_KIND__ASSOCIATION,
	COORDINATION = MAILLAGE__V1__ORG_KIND__COORDINATION,
	FUNDER = MAILLAGE__V1__ORG_KIND__FUNDER,
	AUDITOR = MAILLAGE__V1__ORG_KIND__AUDITOR,
	N_KINDS
};

/* The platforms of the development configuration. */
enum { VNX, VEN, N_PLATFORMS };
static const char *const platform_id[N_PLATFORMS] = { "vaulx-bron", "venissieux" };

/* The organisations of tools/devsetup.sh: kind and memberships. */
struct org_def {
	const char *id;
	int kind;
	bool member[N_PLATFORMS];
	bool dp;                  /* data_protection = yes */
};

enum {
	O_BAILLEUR, O_CCAS, O_MDM, O_HOPITAL, O_SIAO, O_HABITAT, O_RELAIS,
	O_COORD_VNX, O_COORD_VEN, O_FUNDER, O_AUDITOR, N_ORGS
};

static const struct org_def orgs[N_ORGS] = {
	[O_BAILLEUR] = { "bailleur-est", LANDLORD, { true, true } },
	[O_CCAS] = { "ccas-vaulx", CCAS, { true, false } },
	[O_MDM] = { "mdm-venissieux", MDM, { false, true } },
	[O_HOPITAL] = { "hopital-est", HOSPITAL, { true, true } },
	[O_SIAO] = { "siao-rhone", SIAO, { true, true } },
	[O_HABITAT] = { "asso-habitat", ASSOCIATION, { true, false } },
	[O_RELAIS] = { "asso-relais", ASSOCIATION, { true, true } },
	[O_COORD_VNX] = { "coord-vaulx-bron", COORDINATION, { true, false }, true },
	[O_COORD_VEN] = { "coord-venissieux", COORDINATION, { false, true } },
	[O_FUNDER] = { "funder-metropole", FUNDER, { true, true } },
	[O_AUDITOR] = { "auditor", AUDITOR, { true, true } },
};

/* The relation of an organisation to the target of a request, worked out by
 * this test from the fixture (what it referred, who it assigned). */
#define REL_REFERRER  0x001u  /* referred the case */
#define REL_LANDLORD  0x002u  /* referred the case and is a landlord ("the referring landlord") */
#define REL_LEAD      0x004u  /* lead partner of the case */
#define REL_CO        0x008u  /* co-referent of the case */
#define REL_COORD     0x010u  /* coordination, member of the case's platform */
#define REL_AUDITOR   0x020u  /* auditor, member of the case's platform */
#define REL_MEMBER    0x040u  /* member of the platform the request names */
#define REL_ANY       0x080u  /* the request names no case and no platform */
#define REL_READERS   (REL_REFERRER | REL_LEAD | REL_CO | REL_COORD | REL_AUDITOR)

/* Every request of Request.body; release_assignment twice (a partner
 * releasing itself, and releasing another partner), subscribe three times
 * (no filter, a platform, a case). */
enum req {
	R_PING, R_READ_EVENTS, R_SUBSCRIBE_ALL,
	/* on a platform */
	R_SUBSCRIBE_PLATFORM, R_LIST_CASELOAD, R_LIST_PENDING, R_PARTNER_LOAD,
	R_LIST_STALE, R_LIST_DEADLINES, R_PIPELINE, R_STATS, R_REFER,
	/* on a case */
	R_GET_CASE, R_HISTORY, R_SUBSCRIBE_CASE, R_ACKNOWLEDGE, R_ACCEPT, R_DECLINE,
	R_WITHDRAW, R_VISIT, R_PROPOSE, R_CLOSE, R_ASSIGN, R_RELEASE_SELF,
	R_RELEASE_OTHER, R_STEP, R_ANSWER, R_SIGN, R_HOLD, R_RESUME, R_JOURNAL, R_ERASE,
	N_REQS
};
#define FIRST_PLATFORM_REQ R_SUBSCRIBE_PLATFORM
#define FIRST_CASE_REQ R_GET_CASE

static const char *const req_name[N_REQS] = {
	[R_PING] = "ping", [R_READ_EVENTS] = "read_events",
	[R_SUBSCRIBE_ALL] = "subscribe (no filter)",
	[R_SUBSCRIBE_PLATFORM] = "subscribe (platform)", [R_LIST_CASELOAD] = "list_caseload",
	[R_LIST_PENDING] = "list_pending_referrals", [R_PARTNER_LOAD] = "get_partner_load",
	[R_LIST_STALE] = "list_stale_cases", [R_LIST_DEADLINES] = "list_deadlines",
	[R_PIPELINE] = "get_rehousing_pipeline", [R_STATS] = "get_platform_stats",
	[R_REFER] = "refer_household", [R_GET_CASE] = "get_case",
	[R_HISTORY] = "get_case_history", [R_SUBSCRIBE_CASE] = "subscribe (case)",
	[R_ACKNOWLEDGE] = "acknowledge_referral", [R_ACCEPT] = "accept_case",
	[R_DECLINE] = "decline_referral", [R_WITHDRAW] = "withdraw_referral",
	[R_VISIT] = "record_visit", [R_PROPOSE] = "propose_rehousing",
	[R_CLOSE] = "close_support", [R_ASSIGN] = "assign_partner",
	[R_RELEASE_SELF] = "release_assignment (itself)",
	[R_RELEASE_OTHER] = "release_assignment (another partner)",
	[R_STEP] = "record_procedure_step", [R_ANSWER] = "answer_proposal",
	[R_SIGN] = "sign_lease", [R_HOLD] = "put_on_hold", [R_RESUME] = "resume",
	[R_JOURNAL] = "list_access_journal", [R_ERASE] = "erase_household_data",
};

/* The expected permissions: for each request and sender kind, the relations
 * that allow it (0: that kind may never send it). Written from DESIGN.md
 * section 2 (the command table) and 5, and README "Who may do what". */
#define PARTNERS(rel) [CCAS] = (rel), [MDM] = (rel), [HOSPITAL] = (rel), [SIAO] = (rel), \
		      [ASSOCIATION] = (rel)
#define ALL_BUT_FUNDERS(rel) [LANDLORD] = (rel), PARTNERS(rel), [COORDINATION] = (rel), \
			     [AUDITOR] = (rel)
/* Readers of a case: referrer, lead, co-referent, coordination or auditor of
 * the platform; never funders. */
#define READERS [LANDLORD] = REL_REFERRER, PARTNERS(REL_REFERRER | REL_LEAD | REL_CO), \
		[COORDINATION] = REL_COORD, [AUDITOR] = REL_AUDITOR

static const unsigned expected[N_REQS][N_KINDS] = {
	[R_PING] = { ALL_BUT_FUNDERS(REL_ANY), [FUNDER] = REL_ANY },
	[R_READ_EVENTS] = { [AUDITOR] = REL_ANY },
	[R_SUBSCRIBE_ALL] = { ALL_BUT_FUNDERS(REL_ANY) },
	[R_SUBSCRIBE_PLATFORM] = { ALL_BUT_FUNDERS(REL_MEMBER) },
	[R_LIST_CASELOAD] = { ALL_BUT_FUNDERS(REL_MEMBER) },
	[R_LIST_STALE] = { ALL_BUT_FUNDERS(REL_MEMBER) },
	[R_LIST_DEADLINES] = { ALL_BUT_FUNDERS(REL_MEMBER) },
	[R_LIST_PENDING] = { [COORDINATION] = REL_MEMBER, [AUDITOR] = REL_MEMBER },
	[R_PARTNER_LOAD] = { [COORDINATION] = REL_MEMBER, [AUDITOR] = REL_MEMBER },
	[R_PIPELINE] = { ALL_BUT_FUNDERS(REL_MEMBER), [FUNDER] = REL_MEMBER },
	[R_STATS] = { ALL_BUT_FUNDERS(REL_MEMBER), [FUNDER] = REL_MEMBER },
	[R_REFER] = { [LANDLORD] = REL_MEMBER, PARTNERS(REL_MEMBER) },
	[R_GET_CASE] = { READERS },
	[R_HISTORY] = { READERS },
	[R_SUBSCRIBE_CASE] = { READERS },
	[R_ACKNOWLEDGE] = { [COORDINATION] = REL_COORD },
	[R_ACCEPT] = { [COORDINATION] = REL_COORD },
	[R_DECLINE] = { [COORDINATION] = REL_COORD },
	[R_ASSIGN] = { [COORDINATION] = REL_COORD },
	[R_WITHDRAW] = { [LANDLORD] = REL_REFERRER, PARTNERS(REL_REFERRER) },
	[R_VISIT] = { PARTNERS(REL_LEAD | REL_CO) },
	[R_PROPOSE] = { [LANDLORD] = REL_LANDLORD, [COORDINATION] = REL_COORD },
	[R_CLOSE] = { PARTNERS(REL_LEAD), [COORDINATION] = REL_COORD },
	[R_HOLD] = { PARTNERS(REL_LEAD), [COORDINATION] = REL_COORD },
	[R_RESUME] = { PARTNERS(REL_LEAD), [COORDINATION] = REL_COORD },
	/* "the assigned partner itself, or coordination" */
	[R_RELEASE_SELF] = { PARTNERS(REL_LEAD | REL_CO), [COORDINATION] = REL_COORD },
	[R_RELEASE_OTHER] = { [COORDINATION] = REL_COORD },
	[R_STEP] = { [LANDLORD] = REL_LANDLORD, PARTNERS(REL_LEAD | REL_CO),
		     [COORDINATION] = REL_COORD },
	[R_ANSWER] = { [LANDLORD] = REL_LANDLORD, PARTNERS(REL_LEAD | REL_CO) },
	[R_SIGN] = { [LANDLORD] = REL_LANDLORD, PARTNERS(REL_LEAD | REL_CO) },
	/* README "Security and personal data" */
	[R_JOURNAL] = { [COORDINATION] = REL_COORD, [AUDITOR] = REL_AUDITOR },
	/* and only with the data-protection role: see allowed_relations() */
	[R_ERASE] = { [COORDINATION] = REL_COORD },
};

/* Requests that change the case's state or assignments when allowed: each
 * allowed sender gets a fresh case, so that it meets the case in the state
 * and with the relations the matrix expects. */
static bool mutates(int r)
{
	switch (r) {
	case R_GET_CASE: case R_HISTORY: case R_SUBSCRIBE_CASE:
	case R_VISIT: case R_PROPOSE: case R_STEP: case R_JOURNAL:
		return false;
	default:
		return true;
	}
}

/* Fixture shapes: who refers, leads and supports a case. Every organisation
 * that may refer is the referrer of one, every partner is the lead and the
 * co-referent of some, on both platforms where it is a member; two cases
 * have their referrer among the assigned partners. */
struct shape {
	int platform;
	int referrer, lead, co;
};

static const struct shape shapes[] = {
	{ VNX, O_BAILLEUR, O_HABITAT, O_CCAS },
	{ VNX, O_HOPITAL, O_SIAO, O_RELAIS },
	{ VNX, O_CCAS, O_CCAS, O_HOPITAL },       /* referrer leads */
	{ VNX, O_HABITAT, O_RELAIS, O_SIAO },
	{ VEN, O_MDM, O_RELAIS, O_HOPITAL },
	{ VEN, O_BAILLEUR, O_MDM, O_SIAO },
	{ VEN, O_SIAO, O_HOPITAL, O_MDM },
	{ VEN, O_RELAIS, O_MDM, O_RELAIS },       /* referrer is co-referent */
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* The state a fixture case is brought to. */
enum fstate {
	F_REFERRED,
	F_ACKNOWLEDGED,
	F_IN_SUPPORT,           /* accepted with the shape's lead, co-referent assigned */
	F_PROPOSED,             /* in support, proposal 1 (bailleur-est) not answered */
	F_PROPOSAL_ACCEPTED,    /* in support, proposal 1 accepted, lease not signed */
	F_ON_HOLD,
	F_CO_RELEASED,          /* in support, the co-referent released by coordination */
	F_CLOSED,               /* closed by coordination: every command is too late */
};

/* The case requests and the state each is tried in (the state where it is
 * legal, so that an allowed sender gets through; reads and procedure steps
 * also before acceptance). */
static const struct plan_row {
	int req;
	int state;
} case_plan[] = {
	{ R_GET_CASE, F_REFERRED }, { R_GET_CASE, F_IN_SUPPORT },
	{ R_HISTORY, F_REFERRED }, { R_HISTORY, F_IN_SUPPORT },
	{ R_SUBSCRIBE_CASE, F_IN_SUPPORT },
	{ R_ACKNOWLEDGE, F_REFERRED }, { R_ACCEPT, F_ACKNOWLEDGED },
	{ R_DECLINE, F_REFERRED }, { R_WITHDRAW, F_REFERRED },
	{ R_VISIT, F_IN_SUPPORT }, { R_PROPOSE, F_IN_SUPPORT },
	{ R_CLOSE, F_IN_SUPPORT }, { R_ASSIGN, F_IN_SUPPORT },
	{ R_RELEASE_SELF, F_IN_SUPPORT }, { R_RELEASE_OTHER, F_IN_SUPPORT },
	{ R_STEP, F_REFERRED }, { R_STEP, F_IN_SUPPORT },
	{ R_ANSWER, F_PROPOSED }, { R_SIGN, F_PROPOSAL_ACCEPTED },
	{ R_HOLD, F_IN_SUPPORT }, { R_RESUME, F_ON_HOLD },
	{ R_JOURNAL, F_REFERRED }, { R_ERASE, F_IN_SUPPORT },
	/* a released co-referent has no relation left */
	{ R_GET_CASE, F_CO_RELEASED }, { R_HISTORY, F_CO_RELEASED },
	{ R_SUBSCRIBE_CASE, F_CO_RELEASED }, { R_VISIT, F_CO_RELEASED },
	{ R_STEP, F_CO_RELEASED }, { R_RELEASE_SELF, F_CO_RELEASED },
	/* a closed case: the permission is checked before the state (an
	 * outsider must not learn it is closed; a partner releasing another
	 * one is refused as such, whatever the state) */
	{ R_GET_CASE, F_CLOSED }, { R_HISTORY, F_CLOSED }, { R_SUBSCRIBE_CASE, F_CLOSED },
	{ R_ACKNOWLEDGE, F_CLOSED }, { R_ACCEPT, F_CLOSED }, { R_DECLINE, F_CLOSED },
	{ R_WITHDRAW, F_CLOSED }, { R_VISIT, F_CLOSED }, { R_PROPOSE, F_CLOSED },
	{ R_CLOSE, F_CLOSED }, { R_ASSIGN, F_CLOSED }, { R_RELEASE_SELF, F_CLOSED },
	{ R_RELEASE_OTHER, F_CLOSED }, { R_STEP, F_CLOSED }, { R_ANSWER, F_CLOSED },
	{ R_SIGN, F_CLOSED }, { R_HOLD, F_CLOSED }, { R_RESUME, F_CLOSED },
	{ R_JOURNAL, F_CLOSED }, { R_ERASE, F_CLOSED },   /* erasure: only when closed */
};
#define N_PLAN (sizeof(case_plan) / sizeof(case_plan[0]))

struct fcase {
	int shape;
	int state;
	char id[32];
};

/* One (organisation, request, target) combination. */
struct check {
	int row;        /* case_plan row */
	int shape;
	int org;
	int fcase;      /* index in cases */
};

/* What came back. */
struct outcome {
	int code;
	int result;
	char message[512];
	char field[128];
};

#define MAX_CASES 1024
#define MAX_CHECKS (N_PLAN * N_SHAPES * N_ORGS)

static struct mlc *conns[N_ORGS];
static struct fcase cases[MAX_CASES];
static size_t n_cases;
static struct check checks[MAX_CHECKS];
static size_t n_checks;
static char missing_id[N_PLATFORMS][32];   /* a case id that does not exist */
static int households;                     /* each referral a new household */

static struct {
	size_t checked, allowed, denied, compared, domain_refused, mismatches;
} count;

static char *dupstr(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

/* The relations that allow org to send r: its kind's, and for erasure only
 * with the data-protection role, which is the organisation's own. */
static unsigned allowed_relations(int r, int org)
{
	return r == R_ERASE && !orgs[org].dp ? 0 : expected[r][orgs[org].kind];
}

static bool kind_may_send(int r, int org)
{
	return allowed_relations(r, org) != 0;
}

static bool is_allowed(int r, int org, unsigned rel)
{
	return (allowed_relations(r, org) & rel) != 0;
}

/* The relations of org to a fixture case in state state. */
static unsigned case_relations(int org, const struct shape *s, int state)
{
	const struct org_def *o = &orgs[org];
	unsigned rel = 0;

	if (s->referrer == org) {
		rel |= REL_REFERRER;
		if (o->kind == LANDLORD)
			rel |= REL_LANDLORD;
	}
	if (state >= F_IN_SUPPORT) {
		if (s->lead == org)
			rel |= REL_LEAD;
		if (s->co == org && state != F_CO_RELEASED)
			rel |= REL_CO;
	}
	if (o->member[s->platform] && o->kind == COORDINATION)
		rel |= REL_COORD;
	if (o->member[s->platform] && o->kind == AUDITOR)
		rel |= REL_AUDITOR;
	return rel;
}

static int coordination_of(int platform)
{
	return platform == VNX ? O_COORD_VNX : O_COORD_VEN;
}

/* A partner of the platform not yet on the case: the one assign_partner names. */
static int spare_partner(const struct shape *s)
{
	for (int o = 0; o < N_ORGS; o++) {
		int k = orgs[o].kind;

		if (orgs[o].member[s->platform] && k >= CCAS && k <= ASSOCIATION &&
		    o != s->lead && o != s->co)
			return o;
	}
	abort();
}

/* Printed and counted; the test fails at its end when there was any. */
static void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void mismatch(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_error("MISMATCH %s\n", buf);
	count.mismatches++;
}

/* ---- request builders the harness does not have ---- */

/* The Request.body of each platform-wide query of the matrix. */
static const int platform_body[N_REQS] = {
	[R_LIST_CASELOAD] = BODY(LIST_CASELOAD),
	[R_LIST_PENDING] = BODY(LIST_PENDING_REFERRALS),
	[R_PARTNER_LOAD] = BODY(GET_PARTNER_LOAD),
	[R_LIST_STALE] = BODY(LIST_STALE_CASES),
	[R_LIST_DEADLINES] = BODY(LIST_DEADLINES),
	[R_PIPELINE] = BODY(GET_REHOUSING_PIPELINE),
	[R_STATS] = BODY(GET_PLATFORM_STATS),
};

static mlc_request *platform_query(int r, const char *platform)
{
	if (!platform_body[r])
		abort();
	return h_platform_query(&H, platform_body[r], platform);
}

static mlc_request *new_referral(const char *platform)
{
	char first[32];

	snprintf(first, sizeof(first), "Matrice%d", ++households);
	return h_refer(&H, platform, "Permission", first, "1979-03-04");
}

static mlc_request *subscribe_now(const char *platform, const char *case_id)
{
	mlc_request *req = h_subscribe(&H, 0, platform, case_id);

	req->subscribe->from_now = 1;
	return req;
}

/* Request r as org on case_id, a case of shape s. */
static mlc_request *case_request(int r, const char *case_id, const struct shape *s, int org)
{
	const char *self = orgs[org].id;
	bool coord = orgs[org].kind == COORDINATION;

	switch (r) {
	case R_GET_CASE: return h_get_case(&H, case_id);
	case R_HISTORY: return h_history(&H, case_id);
	case R_SUBSCRIBE_CASE: return subscribe_now(NULL, case_id);
	case R_ACKNOWLEDGE: return h_acknowledge(&H, case_id);
	case R_ACCEPT: return h_accept(&H, case_id, orgs[s->lead].id);
	case R_DECLINE: return h_decline(&H, case_id);
	case R_WITHDRAW: return h_withdraw(&H, case_id);
	case R_VISIT: return h_visit(&H, case_id, "2026-11-03");
	case R_PROPOSE: return h_propose(&H, case_id, "bailleur-est");
	case R_CLOSE: return h_close(&H, case_id);
	case R_ASSIGN:
		return h_assign(&H, case_id, orgs[spare_partner(s)].id,
				MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT);
	case R_RELEASE_SELF:
		/* coordination releases the co-referent: its own release */
		return h_release(&H, case_id, coord ? orgs[s->co].id : self);
	case R_RELEASE_OTHER:
		/* an assigned partner that is not the sender */
		return h_release(&H, case_id, org == s->lead || coord ? orgs[s->co].id :
				 orgs[s->lead].id);
	case R_STEP:
		return h_step(&H, case_id, MAILLAGE__V1__PROCEDURE_STAGE__STAGE_PAYMENT_ORDER,
			      "2026-10-01", NULL);
	case R_ANSWER: return h_answer(&H, case_id, 1, true);
	case R_SIGN: return h_sign(&H, case_id, 1);
	case R_HOLD: return h_hold(&H, case_id, true);
	case R_RESUME: return h_hold(&H, case_id, false);
	case R_JOURNAL: return h_journal(&H, case_id, NULL, 0);
	case R_ERASE:
		return h_erase(&H, case_id, MAILLAGE__V1__ERASURE_REASON__ERASURE_HOUSEHOLD_REQUEST);
	default: abort();
	}
}

/* ---- talking to the server ---- */

static struct mlc *conn_of(int org)
{
	char err[256];

	if (!conns[org]) {
		conns[org] = h_connect(&H, orgs[org].id, err, sizeof(err));
		if (!conns[org])
			fail_msg("cannot connect as %s: %s", orgs[org].id, err);
	}
	return conns[org];
}

static void keep(struct outcome *out, const mlc_response *resp)
{
	memset(out, 0, sizeof(*out));
	if (!resp) {
		out->code = -1;
		snprintf(out->message, sizeof(out->message), "(no answer)");
		return;
	}
	out->code = h_code(resp);
	out->result = (int)resp->result_case;
	if (resp->status) {
		snprintf(out->message, sizeof(out->message), "%s",
			 resp->status->message ? resp->status->message : "");
		snprintf(out->field, sizeof(out->field), "%s",
			 resp->status->field ? resp->status->field : "");
	}
}

/* Send req (freed) as org and keep the answer. A subscription goes on a
 * connection of its own, closed after the first answer. */
static void send_as(int org, mlc_request *req, struct outcome *out)
{
	mlc_response *resp;

	if (req->body_case == BODY(SUBSCRIBE)) {
		char err[256];
		struct mlc *c = h_connect(&H, orgs[org].id, err, sizeof(err));

		if (!c)
			fail_msg("cannot connect as %s: %s", orgs[org].id, err);
		resp = mlc_send(c, req) ? NULL : mlc_recv(c);
		mlc_close(c);
	} else {
		resp = h_call(conn_of(org), req);
		if (!resp) {
			/* the connection is gone: the next request gets a new one */
			mlc_close(conns[org]);
			conns[org] = NULL;
		}
	}
	keep(out, resp);
	mlc_response_free(resp);
	h_request_free(req);
}

/* Pipelined on the organisations' connections: each req[i] sent as org[i];
 * every answer must be OK; the case id of each goes to ids[i] when not NULL. */
static void batch(mlc_request **req, const int *org, char (*ids)[32], size_t n)
{
	enum { WINDOW = 64 };

	for (int o = 0; o < N_ORGS; o++) {
		size_t i = 0;

		while (i < n) {
			size_t sent[WINDOW], k = 0;

			for (; i < n && k < WINDOW; i++) {
				if (org[i] != o)
					continue;
				assert_int_equal(mlc_send(conn_of(o), req[i]), 0);
				sent[k++] = i;
			}
			for (size_t j = 0; j < k; j++) {
				mlc_response *r = mlc_recv(conns[o]);
				size_t m = 0;

				if (!r)
					fail_msg("fixture: no answer for %s: %s", orgs[o].id,
						 mlc_error(conns[o]));
				while (m < k && req[sent[m]]->request_id != r->request_id)
					m++;
				assert_true(m < k);
				if (h_code(r))
					fail_msg("fixture: %s got %d: %s", orgs[o].id, h_code(r),
						 r->status->message);
				if (ids)
					snprintf(ids[sent[m]], 32, "%s", r->command->case_id);
				mlc_response_free(r);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		h_request_free(req[i]);
}

/* ---- the fixture ---- */

static int new_case(int shape, int state)
{
	assert_true(n_cases < MAX_CASES);
	cases[n_cases].shape = shape;
	cases[n_cases].state = state;
	return (int)n_cases++;
}

/* Bring every planned case to its state, one pipelined step at a time. */
static void build_cases(void)
{
	mlc_request **req = calloc(n_cases, sizeof(*req));
	int *org = calloc(n_cases, sizeof(*org));
	char (*ids)[32] = calloc(n_cases, sizeof(*ids));
	size_t n;

	assert_non_null(req);
	assert_non_null(org);
	assert_non_null(ids);
	for (int step = 0; step < 9; step++) {
		n = 0;
		for (size_t i = 0; i < n_cases; i++) {
			const struct fcase *c = &cases[i];
			const struct shape *s = &shapes[c->shape];
			int coord = coordination_of(s->platform);

			switch (step) {
			case 0:
				req[n] = new_referral(platform_id[s->platform]);
				org[n++] = s->referrer;
				break;
			case 1:
				if (c->state < F_ACKNOWLEDGED)
					continue;
				req[n] = h_acknowledge(&H, c->id);
				org[n++] = coord;
				break;
			case 2:
				if (c->state < F_IN_SUPPORT)
					continue;
				req[n] = h_accept(&H, c->id, orgs[s->lead].id);
				org[n++] = coord;
				break;
			case 3:
				if (c->state < F_IN_SUPPORT)
					continue;
				req[n] = h_assign(&H, c->id, orgs[s->co].id,
						  MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT);
				org[n++] = coord;
				break;
			case 4:
				if (c->state != F_PROPOSED && c->state != F_PROPOSAL_ACCEPTED)
					continue;
				req[n] = h_propose(&H, c->id, "bailleur-est");
				org[n++] = coord;
				break;
			case 5:
				if (c->state != F_PROPOSAL_ACCEPTED)
					continue;
				req[n] = h_answer(&H, c->id, 1, true);
				org[n++] = s->lead;
				break;
			case 6:
				if (c->state != F_ON_HOLD)
					continue;
				req[n] = h_hold(&H, c->id, true);
				org[n++] = coord;
				break;
			case 7:
				if (c->state != F_CO_RELEASED)
					continue;
				req[n] = h_release(&H, c->id, orgs[s->co].id);
				org[n++] = coord;
				break;
			case 8:
				if (c->state != F_CLOSED)
					continue;
				req[n] = h_close(&H, c->id);
				org[n++] = coord;
				break;
			}
		}
		batch(req, org, step == 0 ? ids : NULL, n);
		if (step == 0)
			for (size_t i = 0; i < n_cases; i++)
				snprintf(cases[i].id, sizeof(cases[i].id), "%s", ids[i]);
	}
	/* A case id of each platform that does not exist: the numbers are low. */
	for (size_t i = 0; i < n_cases; i++) {
		int p = shapes[cases[i].shape].platform;
		const char *dash = strrchr(cases[i].id, '-');

		assert_non_null(dash);
		snprintf(missing_id[p], sizeof(missing_id[p]), "%.*s-999999",
			 (int)(dash - cases[i].id), cases[i].id);
	}
	free(ids);
	free(org);
	free(req);
}

static int setup(void **state)
{
	(void)state;
	return h_setup(&H, NULL);
}

static int teardown(void **state)
{
	for (int o = 0; o < N_ORGS; o++) {
		mlc_close(conns[o]);
		conns[o] = NULL;
	}
	print_message("permission matrix: %zu (organisation, request, target) combinations "
		      "checked: %zu allowed (%zu of them refused afterwards for a domain "
		      "reason), %zu denied; %zu hidden-case answers compared with a missing "
		      "case's; %zu mismatches\n", count.checked, count.allowed,
		      count.domain_refused, count.denied, count.compared, count.mismatches);
	return h_group_teardown(state);
}

/* ---- judging ---- */

/* Check one answer against the table. Denied: exactly want_denied. */
static void judge(int r, int org, unsigned rel, const char *target, int want_denied,
		  const struct outcome *out)
{
	bool allowed = is_allowed(r, org, rel);

	count.checked++;
	if (allowed) {
		count.allowed++;
		if (out->code == ST(PERMISSION_DENIED) || out->code == ST(NOT_FOUND) ||
		    out->code < 0)
			mismatch("%s as %s (relations 0x%x) on %s: expected allowed, got %d: %s",
				 req_name[r], orgs[org].id, rel, target, out->code, out->message);
		else if (out->code != ST(OK))
			count.domain_refused++;
		if (out->code == ST(OK) && (r == R_SUBSCRIBE_ALL || r == R_SUBSCRIBE_PLATFORM ||
					    r == R_SUBSCRIBE_CASE) &&
		    out->result != RES(SUBSCRIBED))
			mismatch("%s as %s on %s: OK without Subscribed (result %d)",
				 req_name[r], orgs[org].id, target, out->result);
		if (out->code != ST(OK) && getenv("MATRIX_VERBOSE"))
			print_message("allowed %s as %s on %s: %d %s\n", req_name[r],
				      orgs[org].id, target, out->code, out->message);
	} else {
		count.denied++;
		if (out->code != want_denied)
			mismatch("%s as %s (relations 0x%x) on %s: expected %s (%d), got %d: %s",
				 req_name[r], orgs[org].id, rel, target,
				 want_denied == ST(NOT_FOUND) ? "NOT_FOUND" : "PERMISSION_DENIED",
				 want_denied, out->code, out->message);
	}
}

/* msg with every occurrence of case_id replaced by "<case>". */
static void normalise(const char *msg, const char *case_id, char *out, size_t len)
{
	size_t idlen = strlen(case_id), o = 0;

	while (*msg && o + 7 < len) {
		if (!strncmp(msg, case_id, idlen)) {
			o += (size_t)snprintf(out + o, len - o, "<case>");
			msg += idlen;
		} else {
			out[o++] = *msg++;
		}
	}
	out[o] = '\0';
}

/* ---- the tests ---- */

/* Requests that name no case: ping, read_events, subscribe; those that name a
 * platform, on each platform (member or not); refer_household. */
static void test_platform_requests(void **state)
{
	struct outcome out;

	(void)state;
	for (int o = 0; o < N_ORGS; o++) {
		send_as(o, h_ping(&H), &out);
		judge(R_PING, o, REL_ANY, "-", ST(PERMISSION_DENIED), &out);
		send_as(o, h_read_events(&H, 0, 10), &out);
		judge(R_READ_EVENTS, o, REL_ANY, "-", ST(PERMISSION_DENIED), &out);
		send_as(o, subscribe_now(NULL, NULL), &out);
		judge(R_SUBSCRIBE_ALL, o, REL_ANY, "-", ST(PERMISSION_DENIED), &out);
	}
	for (int r = FIRST_PLATFORM_REQ; r < FIRST_CASE_REQ; r++) {
		for (int p = 0; p < N_PLATFORMS; p++) {
			for (int o = 0; o < N_ORGS; o++) {
				unsigned rel = orgs[o].member[p] ? REL_MEMBER : 0;
				mlc_request *req;

				if (r == R_SUBSCRIBE_PLATFORM)
					req = subscribe_now(platform_id[p], NULL);
				else if (r == R_REFER)
					req = new_referral(platform_id[p]);
				else
					req = platform_query(r, platform_id[p]);
				send_as(o, req, &out);
				judge(r, o, rel, platform_id[p], ST(PERMISSION_DENIED), &out);
			}
		}
	}
	if (count.mismatches)
		fail_msg("%zu answers differ from the documented permissions", count.mismatches);
}

/* Every case request, on every shape of case, as every organisation; then
 * each on a case that does not exist, which must answer an organisation
 * without a relation exactly as the hidden case did. */
static void test_case_requests(void **state)
{
	static struct outcome missing[N_PLAN][N_PLATFORMS][N_ORGS];
	static struct outcome got[MAX_CHECKS];
	size_t before = count.mismatches;

	(void)state;
	/* Plan: a case per (request, shape) for those who are refused or do not
	 * change it, and a fresh one for each allowed sender that does. */
	for (size_t row = 0; row < N_PLAN; row++) {
		int r = case_plan[row].req, st = case_plan[row].state;

		for (size_t s = 0; s < N_SHAPES; s++) {
			int shared = new_case((int)s, st);

			for (int o = 0; o < N_ORGS; o++) {
				unsigned rel = case_relations(o, &shapes[s], st);
				struct check *k = &checks[n_checks++];

				k->row = (int)row;
				k->shape = (int)s;
				k->org = o;
				k->fcase = is_allowed(r, o, rel) && mutates(r) ?
					   new_case((int)s, st) : shared;
			}
		}
	}
	build_cases();

	for (size_t i = 0; i < n_checks; i++) {
		const struct check *k = &checks[i];
		const struct shape *s = &shapes[k->shape];
		const struct fcase *c = &cases[k->fcase];
		int r = case_plan[k->row].req;
		char target[96];

		snprintf(target, sizeof(target), "%s (%s, shape %d)", c->id,
			 platform_id[s->platform], k->shape);
		send_as(k->org, case_request(r, c->id, s, k->org), &got[i]);
		judge(r, k->org, case_relations(k->org, s, c->state), target,
		      ST(PERMISSION_DENIED), &got[i]);
	}

	/* A missing case: NOT_FOUND for the platform's coordination and
	 * auditors (when their kind may send the request), refused for all. */
	for (size_t row = 0; row < N_PLAN; row++) {
		int r = case_plan[row].req;

		for (int p = 0; p < N_PLATFORMS; p++) {
			const struct shape *s = NULL;

			for (size_t i = 0; !s; i++)
				if (shapes[i].platform == p)
					s = &shapes[i];
			for (int o = 0; o < N_ORGS; o++) {
				bool oversees = orgs[o].member[p] && (orgs[o].kind == COORDINATION ||
								      orgs[o].kind == AUDITOR);
				int want = oversees && kind_may_send(r, o) ? ST(NOT_FOUND) :
					   ST(PERMISSION_DENIED);

				send_as(o, case_request(r, missing_id[p], s, o), &missing[row][p][o]);
				judge(r, o, 0, missing_id[p], want, &missing[row][p][o]);
			}
		}
	}

	/* Hidden equals missing, for every organisation without a relation. */
	for (size_t i = 0; i < n_checks; i++) {
		const struct check *k = &checks[i];
		const struct shape *s = &shapes[k->shape];
		const struct fcase *c = &cases[k->fcase];
		const struct outcome *m = &missing[k->row][s->platform][k->org];
		char a[512], b[512];

		if (case_relations(k->org, s, c->state))
			continue;
		count.compared++;
		normalise(got[i].message, c->id, a, sizeof(a));
		normalise(m->message, missing_id[s->platform], b, sizeof(b));
		if (got[i].code != m->code || strcmp(a, b) || strcmp(got[i].field, m->field))
			mismatch("%s as %s: hidden case %s answers %d '%s' (field '%s'), "
				 "missing case %s answers %d '%s' (field '%s')",
				 req_name[case_plan[k->row].req], orgs[k->org].id, c->id,
				 got[i].code, got[i].message, got[i].field, missing_id[s->platform],
				 m->code, m->message, m->field);
	}
	if (count.mismatches > before)
		fail_msg("%zu answers differ from the documented permissions",
			 count.mismatches - before);
}

/* The relations of org to a case as a listing shows it. */
static unsigned summary_relations(int org, const Maillage__V1__CaseSummary *c)
{
	const struct org_def *o = &orgs[org];
	unsigned rel = 0;

	if (!strcmp(c->referrer, o->id))
		rel |= REL_REFERRER;
	if (!strcmp(c->lead_partner, o->id))
		rel |= REL_LEAD;
	for (size_t i = 0; i < c->n_co_referents; i++)
		if (!strcmp(c->co_referents[i], o->id))
			rel |= REL_CO;
	for (int p = 0; p < N_PLATFORMS; p++)
		if (!strcmp(c->platform, platform_id[p]) && o->member[p])
			rel |= o->kind == COORDINATION ? REL_COORD :
			       o->kind == AUDITOR ? REL_AUDITOR : 0;
	return rel;
}

/* Every case of platform p that org's caseload lists (all pages), as a
 * newline-separated string of ids. */
static char *caseload_of(int org, int p, size_t *n)
{
	size_t cap = 4096, len = 0;
	char *ids = malloc(cap), cursor[128] = "";

	assert_non_null(ids);
	ids[0] = '\0';
	*n = 0;
	do {
		mlc_request *req = platform_query(R_LIST_CASELOAD, platform_id[p]);
		mlc_response *resp;

		req->list_caseload->limit = 1000;
		if (cursor[0]) {
			free(req->list_caseload->cursor);
			req->list_caseload->cursor = dupstr(cursor);
		}
		resp = h_call(conn_of(org), req);
		h_request_free(req);
		assert_int_equal(h_code(resp), 0);
		for (size_t i = 0; i < resp->caseload->n_rows; i++) {
			const Maillage__V1__CaseSummary *c = resp->caseload->rows[i]->summary;

			if (!(summary_relations(org, c) & REL_READERS))
				mismatch("list_caseload as %s on %s lists case %s (referrer %s, "
					 "lead %s), which it may not read", orgs[org].id,
					 platform_id[p], c->case_id, c->referrer, c->lead_partner);
			while (len + strlen(c->case_id) + 2 > cap) {
				cap *= 2;
				ids = realloc(ids, cap);
				assert_non_null(ids);
			}
			len += (size_t)sprintf(ids + len, "%s\n", c->case_id);
			(*n)++;
		}
		snprintf(cursor, sizeof(cursor), "%s", resp->caseload->next_cursor);
		mlc_response_free(resp);
	} while (cursor[0]);
	return ids;
}

/* The listings: a caseload lists exactly the cases of the platform its
 * sender may read (coordination's caseload is every case), and no row of the
 * stale or deadline lists is a case the sender may not read. */
static void test_listings(void **state)
{
	size_t before = count.mismatches;

	(void)state;
	for (int p = 0; p < N_PLATFORMS; p++) {
		int coord = coordination_of(p);
		size_t n_all, n;
		char *all = caseload_of(coord, p, &n_all);

		assert_true(n_all > 100);
		for (int o = 0; o < N_ORGS; o++) {
			char *mine, *line;
			size_t want = 0;

			if (!orgs[o].member[p] || orgs[o].kind == FUNDER || o == coord)
				continue;
			mine = caseload_of(o, p, &n);
			/* every readable case of coordination's list is in mine */
			for (line = all; *line; line = strchr(line, '\n') + 1) {
				char id[32], needle[40];
				mlc_request *req;
				mlc_response *resp;

				snprintf(id, sizeof(id), "%.*s", (int)(strchr(line, '\n') - line), line);
				req = h_get_case(&H, id);
				resp = h_call(conn_of(coord), req);
				h_request_free(req);
				assert_int_equal(h_code(resp), 0);
				if (summary_relations(o, resp->case_->summary) & REL_READERS) {
					want++;
					snprintf(needle, sizeof(needle), "%s\n", id);
					if (!strstr(mine, needle))
						mismatch("list_caseload as %s on %s omits case %s, "
							 "which it may read", orgs[o].id,
							 platform_id[p], id);
				}
				mlc_response_free(resp);
			}
			if (n != want)
				mismatch("list_caseload as %s on %s: %zu rows, %zu readable cases",
					 orgs[o].id, platform_id[p], n, want);
			free(mine);
		}
		free(all);

		for (int o = 0; o < N_ORGS; o++) {
			for (int r = R_LIST_STALE; r <= R_LIST_DEADLINES; r++) {
				mlc_request *req;
				mlc_response *resp;

				if (!orgs[o].member[p] || orgs[o].kind == FUNDER)
					continue;
				req = platform_query(r, platform_id[p]);
				if (r == R_LIST_STALE)
					req->list_stale_cases->days = 0;
				else
					req->list_deadlines->days = 3650;
				resp = h_call(conn_of(o), req);
				h_request_free(req);
				assert_int_equal(h_code(resp), 0);
				for (size_t i = 0; i < resp->cases->n_rows; i++) {
					const Maillage__V1__CaseSummary *c = resp->cases->rows[i]->summary;

					if (!(summary_relations(o, c) & REL_READERS))
						mismatch("%s as %s on %s lists case %s, which it may "
							 "not read", req_name[r], orgs[o].id,
							 platform_id[p], c->case_id);
				}
				mlc_response_free(resp);
			}
		}
	}
	if (count.mismatches > before)
		fail_msg("%zu listings differ from what the sender may read",
			 count.mismatches - before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform_requests),
		cmocka_unit_test(test_case_requests),
		cmocka_unit_test(test_listings),
	};

	return cmocka_run_group_tests_name("matrix", tests, setup, teardown);
}
