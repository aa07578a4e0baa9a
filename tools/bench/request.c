/* request.c - the commands maillage-bench sends, each legal for the case it
 * names in the state the benchmark keeps it in: what a landlord, the
 * platform's coordination and a lead partner would write.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define V1(x) MAILLAGE__V1__##x

static const char *const kind_names[BENCH_KINDS] = {
	[K_VISIT] = "record_visit",
	[K_STEP] = "record_procedure_step",
	[K_REFER] = "refer_household",
	[K_PROPOSE] = "propose_rehousing",
	[K_ANSWER] = "answer_proposal",
	[K_ACK] = "acknowledge_referral",
	[K_CLOSE] = "close_support",
	[K_ACCEPT] = "accept_case",
	[K_HELLO] = "ping",
};

const char *kind_name(enum kind k)
{
	return k < BENCH_KINDS ? kind_names[k] : "unknown";
}

/* A referral of a new household (the n-th of this run), filled as a
 * landlord's system would: composition, debt, needs, contact details. */
static int send_refer(struct bconn *c, const struct bench_opts *o, uint32_t num, uint64_t n)
{
	static Maillage__V1__Need needs[] = { V1(NEED__NEED_BUDGET), V1(NEED__NEED_HOUSING) };
	struct refer r;
	char address[64], tenant[32];

	refer_init(&r, o->platform);
	if (refer_next(&r, o->token, 'b', 0, n, 0))
		return -1;
	snprintf(address, sizeof(address), "%" PRIu64 " rue de la République", n % 200 + 1);
	snprintf(tenant, sizeof(tenant), "L-%08" PRIu64, n);
	r.household.children = (uint32_t)(n % 4);
	r.household.address = address;
	r.household.postal_code = "69120";
	r.household.commune = "Vaulx-en-Velin";
	r.household.phone = "0600000000";
	r.household.debt_cents = 150000 + (int64_t)(n % 5000) * 100;
	r.household.n_needs = sizeof(needs) / sizeof(needs[0]);
	r.household.needs = needs;
	r.household.tenant_reference = tenant;
	r.referral.reason_details = "Impayés depuis six mois après une perte d'emploi.";
	return bconn_send(c, &r.req, K_REFER, num);
}

int request_send(struct bconn *c, const struct bench_opts *o, struct book *b, enum kind kind,
		 uint32_t num, uint64_t n)
{
	static Maillage__V1__Domain domains[] = { V1(DOMAIN__DOMAIN_BUDGET),
						  V1(DOMAIN__DOMAIN_HOUSING) };
	static Maillage__V1__SupportTool tools[] = { V1(SUPPORT_TOOL__TOOL_RENT_PAYMENT_AID) };
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__RecordVisit visit = MAILLAGE__V1__RECORD_VISIT__INIT;
	Maillage__V1__Visit v = MAILLAGE__V1__VISIT__INIT;
	Maillage__V1__RecordProcedureStep step = MAILLAGE__V1__RECORD_PROCEDURE_STEP__INIT;
	Maillage__V1__ProcedureStep ps = MAILLAGE__V1__PROCEDURE_STEP__INIT;
	Maillage__V1__ProposeRehousing propose = MAILLAGE__V1__PROPOSE_REHOUSING__INIT;
	Maillage__V1__Proposal pr = MAILLAGE__V1__PROPOSAL__INIT;
	Maillage__V1__AnswerProposal answer = MAILLAGE__V1__ANSWER_PROPOSAL__INIT;
	Maillage__V1__ProposalAnswer pa = MAILLAGE__V1__PROPOSAL_ANSWER__INIT;
	Maillage__V1__AcknowledgeReferral ack = MAILLAGE__V1__ACKNOWLEDGE_REFERRAL__INIT;
	Maillage__V1__AcceptCase accept = MAILLAGE__V1__ACCEPT_CASE__INIT;
	Maillage__V1__Acceptance acc = MAILLAGE__V1__ACCEPTANCE__INIT;
	Maillage__V1__CloseSupport close = MAILLAGE__V1__CLOSE_SUPPORT__INIT;
	Maillage__V1__Closure cl = MAILLAGE__V1__CLOSURE__INIT;
	struct bcase *k;
	uint8_t command_id[16];
	char dwelling[32], hearing[11];

	if (kind == K_REFER)
		return send_refer(c, o, num, b->households++);
	k = &b->cases[num];
	if (mlc_new_command_id(command_id))
		return -1;
	req.command_id.data = command_id;
	req.command_id.len = sizeof(command_id);
	switch (kind) {
	case K_VISIT:
		v.date = (char *)o->today;
		v.mode = (Maillage__V1__VisitMode)(n % 5 + 1);
		v.n_domains = sizeof(domains) / sizeof(domains[0]);
		v.domains = domains;
		v.n_tools = sizeof(tools) / sizeof(tools[0]);
		v.tools = tools;
		v.household_present = v.mode != V1(VISIT_MODE__VISIT_HOUSEHOLD_ABSENT);
		v.notes = "Point sur le budget et le dossier FSL.";
		visit.case_id = k->id;
		visit.visit = &v;
		req.body_case = V1(REQUEST__BODY_RECORD_VISIT);
		req.record_visit = &visit;
		break;
	case K_STEP:
		/* payment order, CCAPEX referral, summons (with its hearing),
		 * judgment, order to vacate: dated facts, in any order */
		ps.stage = (Maillage__V1__ProcedureStage)(n % 5 + 1);
		ps.date = (char *)o->today;
		ps.amount_cents = 345600;
		if (ps.stage == V1(PROCEDURE_STAGE__STAGE_COURT_SUMMONS)) {
			snprintf(hearing, sizeof(hearing), "%.4s-12-15", o->today);
			ps.hearing_date = hearing;
		}
		step.case_id = k->id;
		step.step = &ps;
		req.body_case = V1(REQUEST__BODY_RECORD_PROCEDURE_STEP);
		req.record_procedure_step = &step;
		break;
	case K_PROPOSE:
		snprintf(dwelling, sizeof(dwelling), "BEH-%06" PRIu64, n % 1000000);
		pr.dwelling_ref = dwelling;
		pr.landlord = (char *)o->landlord;
		pr.commune = "Bron";
		pr.typology = V1(TYPOLOGY__T3);
		pr.rent_cents = 48000;
		pr.kind = V1(REHOUSING_KIND__REHOUSING_TRANSFER);
		propose.case_id = k->id;
		propose.proposal = &pr;
		req.body_case = V1(REQUEST__BODY_PROPOSE_REHOUSING);
		req.propose_rehousing = &propose;
		break;
	case K_ANSWER:
		/* proposals 1..k->proposals are committed; each answered once */
		pa.proposal_number = ++k->answered;
		pa.accepted = pa.proposal_number % 3 == 0;
		if (!pa.accepted) {
			pa.refusal_reason = V1(PROPOSAL_REFUSAL_REASON__REFUSAL_LOCATION);
			pa.text = "Trop loin de l'école des enfants.";
		}
		answer.case_id = k->id;
		answer.answer = &pa;
		req.body_case = V1(REQUEST__BODY_ANSWER_PROPOSAL);
		req.answer_proposal = &answer;
		break;
	case K_ACK:
		ack.case_id = k->id;
		req.body_case = V1(REQUEST__BODY_ACKNOWLEDGE_REFERRAL);
		req.acknowledge_referral = &ack;
		break;
	case K_ACCEPT:
		acc.lead_partner = (char *)o->partners[k->lead];
		acc.support_level = V1(SUPPORT_LEVEL__SUPPORT_INTENSIVE_GLOBAL);
		accept.case_id = k->id;
		accept.acceptance = &acc;
		req.body_case = V1(REQUEST__BODY_ACCEPT_CASE);
		req.accept_case = &accept;
		break;
	case K_CLOSE:
		cl.outcome = V1(CLOSING_OUTCOME__OUTCOME_KEPT_IN_DWELLING);
		cl.date = (char *)o->today;
		close.case_id = k->id;
		close.closure = &cl;
		req.body_case = V1(REQUEST__BODY_CLOSE_SUPPORT);
		req.close_support = &close;
		break;
	default:
		return -1;
	}
	return bconn_send(c, &req, kind, num);
}
