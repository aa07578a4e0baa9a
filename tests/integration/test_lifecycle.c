/* test_lifecycle.c - the rest of the case lifecycle through the real server:
 * partners assigned and released, procedure steps, proposals answered and a
 * lease signed, support put on hold and resumed; each with its rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define NEW(T, init) ({ T *m_ = calloc(1, sizeof(T)); assert_non_null(m_); init(m_); m_; })

static struct harness H;
static char case_id[64];

static int setup(void **state)
{
	mlc_response *r;

	(void)state;
	if (h_setup(&H, NULL))
		return -1;
	r = h_send_as(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Cycle", "Cléo", "1982-02-02"), 0);
	snprintf(case_id, sizeof(case_id), "%s", r->command->case_id);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, case_id), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, case_id, "asso-habitat"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return h_teardown(&H);
}

static mlc_request *assign(const char *partner, int role)
{
	mlc_request *req = h_request(&H);

	req->assign_partner = NEW(Maillage__V1__AssignPartner, maillage__v1__assign_partner__init);
	req->assign_partner->case_id = strdup(case_id);
	req->assign_partner->partner = strdup(partner);
	req->assign_partner->role = role;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ASSIGN_PARTNER;
	return req;
}

static mlc_request *release(const char *partner)
{
	mlc_request *req = h_request(&H);

	req->release_assignment = NEW(Maillage__V1__ReleaseAssignment,
				      maillage__v1__release_assignment__init);
	req->release_assignment->case_id = strdup(case_id);
	req->release_assignment->partner = strdup(partner);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_RELEASE_ASSIGNMENT;
	return req;
}

static mlc_request *step(int stage, const char *date)
{
	mlc_request *req = h_request(&H);
	Maillage__V1__ProcedureStep *s = NEW(Maillage__V1__ProcedureStep,
					     maillage__v1__procedure_step__init);

	s->stage = stage;
	s->date = strdup(date);
	s->amount_cents = 412000;
	req->record_procedure_step = NEW(Maillage__V1__RecordProcedureStep,
					 maillage__v1__record_procedure_step__init);
	req->record_procedure_step->case_id = strdup(case_id);
	req->record_procedure_step->step = s;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_RECORD_PROCEDURE_STEP;
	return req;
}

static mlc_request *answer(uint32_t number, bool accepted)
{
	mlc_request *req = h_request(&H);
	Maillage__V1__ProposalAnswer *a = NEW(Maillage__V1__ProposalAnswer,
					      maillage__v1__proposal_answer__init);

	a->proposal_number = number;
	a->accepted = accepted;
	a->refusal_reason = accepted ? 0 : MAILLAGE__V1__PROPOSAL_REFUSAL_REASON__REFUSAL_LOCATION;
	req->answer_proposal = NEW(Maillage__V1__AnswerProposal,
				   maillage__v1__answer_proposal__init);
	req->answer_proposal->case_id = strdup(case_id);
	req->answer_proposal->answer = a;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ANSWER_PROPOSAL;
	return req;
}

static mlc_request *sign(uint32_t number)
{
	mlc_request *req = h_request(&H);

	req->sign_lease = NEW(Maillage__V1__SignLease, maillage__v1__sign_lease__init);
	req->sign_lease->case_id = strdup(case_id);
	req->sign_lease->proposal_number = number;
	req->sign_lease->date = strdup("2026-11-23");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_SIGN_LEASE;
	return req;
}

static mlc_request *hold(bool on)
{
	mlc_request *req = h_request(&H);

	if (on) {
		req->put_on_hold = NEW(Maillage__V1__PutOnHold, maillage__v1__put_on_hold__init);
		req->put_on_hold->case_id = strdup(case_id);
		req->body_case = MAILLAGE__V1__REQUEST__BODY_PUT_ON_HOLD;
	} else {
		req->resume = NEW(Maillage__V1__Resume, maillage__v1__resume__init);
		req->resume->case_id = strdup(case_id);
		req->body_case = MAILLAGE__V1__REQUEST__BODY_RESUME;
	}
	return req;
}

static Maillage__V1__CaseSummary *summary(mlc_response **keep)
{
	*keep = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, case_id), 0);
	return (*keep)->case_->summary;
}

static void test_partners(void **state)
{
	mlc_response *r;
	Maillage__V1__CaseSummary *s;

	(void)state;
	h_expect(&H, "coord-vaulx-bron", assign("asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT), 0);
	h_expect(&H, "coord-vaulx-bron", assign("asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(INVALID_ARGUMENT));
	/* a landlord cannot carry support; only coordination assigns */
	h_expect(&H, "coord-vaulx-bron", assign("bailleur-est", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(INVALID_ARGUMENT));
	h_expect(&H, "asso-habitat", assign("ccas-vaulx", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(PERMISSION_DENIED));
	/* the co-referent may now record visits */
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-05"), 0);
	s = summary(&r);
	assert_string_equal(s->lead_partner, "asso-habitat");
	assert_int_equal(s->n_co_referents, 1);
	assert_string_equal(s->co_referents[0], "asso-relais");
	mlc_response_free(r);
	/* a partner releases only itself */
	h_expect(&H, "asso-habitat", release("asso-relais"), ST(PERMISSION_DENIED));
	h_expect(&H, "asso-relais", release("asso-relais"), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-06"), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-vaulx-bron", release("asso-relais"), ST(INVALID_ARGUMENT));
	/* a new lead replaces the old one */
	h_expect(&H, "coord-vaulx-bron", assign("asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_LEAD), 0);
	s = summary(&r);
	assert_string_equal(s->lead_partner, "asso-relais");
	assert_int_equal(s->n_co_referents, 0);
	mlc_response_free(r);
	h_expect(&H, "asso-habitat", h_visit(&H, case_id, "2026-11-07"), ST(PERMISSION_DENIED));
}

static void test_procedure_steps(void **state)
{
	mlc_response *r;
	Maillage__V1__CaseSummary *s;

	(void)state;
	h_expect(&H, "bailleur-est", step(MAILLAGE__V1__PROCEDURE_STAGE__STAGE_COURT_SUMMONS, "2026-10-01"), 0);
	h_expect(&H, "bailleur-est", step(MAILLAGE__V1__PROCEDURE_STAGE__STAGE_PAYMENT_ORDER, "2026-06-01"), 0);
	h_expect(&H, "funder-metropole", step(MAILLAGE__V1__PROCEDURE_STAGE__STAGE_JUDGMENT, "2026-11-01"),
		 ST(PERMISSION_DENIED));
	/* the latest stage by date, not by arrival */
	s = summary(&r);
	assert_int_equal(s->procedure_stage, MAILLAGE__V1__PROCEDURE_STAGE__STAGE_COURT_SUMMONS);
	assert_string_equal(s->procedure_stage_date, "2026-10-01");
	mlc_response_free(r);
}

static void test_proposals_and_lease(void **state)
{
	(void)state;
	h_expect(&H, "bailleur-est", h_propose(&H, case_id, "bailleur-est"), 0);
	h_expect(&H, "bailleur-est", h_propose(&H, case_id, "bailleur-est"), 0);
	h_expect(&H, "asso-relais", answer(3, true), ST(INVALID_ARGUMENT));
	h_expect(&H, "asso-relais", answer(1, false), 0);
	h_expect(&H, "asso-relais", answer(1, true), ST(FAILED_PRECONDITION));
	h_expect(&H, "bailleur-est", sign(1), ST(FAILED_PRECONDITION));
	h_expect(&H, "bailleur-est", sign(2), ST(FAILED_PRECONDITION));   /* not accepted yet */
	h_expect(&H, "asso-relais", answer(2, true), 0);
	h_expect(&H, "bailleur-est", sign(2), 0);
	h_expect(&H, "bailleur-est", sign(2), ST(FAILED_PRECONDITION));
}

static void test_hold_and_resume(void **state)
{
	(void)state;
	h_expect(&H, "coord-vaulx-bron", hold(false), ST(FAILED_PRECONDITION));
	h_expect(&H, "asso-relais", hold(true), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-20"), ST(FAILED_PRECONDITION));
	h_expect(&H, "asso-relais", hold(true), ST(FAILED_PRECONDITION));
	h_expect(&H, "coord-vaulx-bron", hold(false), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-21"), 0);
	h_expect(&H, "asso-relais", hold(true), 0);
	/* a case on hold can be closed */
	h_expect(&H, "asso-relais", h_close(&H, case_id), 0);
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partners),
		cmocka_unit_test(test_procedure_steps),
		cmocka_unit_test(test_proposals_and_lease),
		cmocka_unit_test(test_hold_and_resume),
	};

	return cmocka_run_group_tests_name("lifecycle", tests, setup, teardown);
}
