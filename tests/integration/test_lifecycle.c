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
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, case_id, "asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT), 0);
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, case_id, "asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(INVALID_ARGUMENT));
	/* a landlord cannot carry support; only coordination assigns */
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, case_id, "bailleur-est", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(INVALID_ARGUMENT));
	h_expect(&H, "asso-habitat", h_assign(&H, case_id, "ccas-vaulx", MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT),
		 ST(PERMISSION_DENIED));
	/* the co-referent may now record visits */
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-05"), 0);
	s = summary(&r);
	assert_string_equal(s->lead_partner, "asso-habitat");
	assert_int_equal(s->n_co_referents, 1);
	assert_string_equal(s->co_referents[0], "asso-relais");
	mlc_response_free(r);
	/* a partner releases only itself */
	h_expect(&H, "asso-habitat", h_release(&H, case_id, "asso-relais"), ST(PERMISSION_DENIED));
	h_expect(&H, "asso-relais", h_release(&H, case_id, "asso-relais"), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-06"), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-vaulx-bron", h_release(&H, case_id, "asso-relais"), ST(INVALID_ARGUMENT));
	/* a new lead replaces the old one */
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, case_id, "asso-relais", MAILLAGE__V1__PARTNER_ROLE__PARTNER_LEAD), 0);
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
	h_expect(&H, "bailleur-est", h_step(&H, case_id, MAILLAGE__V1__PROCEDURE_STAGE__STAGE_COURT_SUMMONS, "2026-10-01", NULL), 0);
	h_expect(&H, "bailleur-est", h_step(&H, case_id, MAILLAGE__V1__PROCEDURE_STAGE__STAGE_PAYMENT_ORDER, "2026-06-01", NULL), 0);
	h_expect(&H, "funder-metropole", h_step(&H, case_id, MAILLAGE__V1__PROCEDURE_STAGE__STAGE_JUDGMENT, "2026-11-01", NULL),
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
	h_expect(&H, "asso-relais", h_answer(&H, case_id, 3, true), ST(INVALID_ARGUMENT));
	h_expect(&H, "asso-relais", h_answer(&H, case_id, 1, false), 0);
	h_expect(&H, "asso-relais", h_answer(&H, case_id, 1, true), ST(FAILED_PRECONDITION));
	h_expect(&H, "bailleur-est", h_sign(&H, case_id, 1), ST(FAILED_PRECONDITION));
	h_expect(&H, "bailleur-est", h_sign(&H, case_id, 2), ST(FAILED_PRECONDITION));   /* not accepted yet */
	h_expect(&H, "asso-relais", h_answer(&H, case_id, 2, true), 0);
	h_expect(&H, "bailleur-est", h_sign(&H, case_id, 2), 0);
	h_expect(&H, "bailleur-est", h_sign(&H, case_id, 2), ST(FAILED_PRECONDITION));
}

static void test_hold_and_resume(void **state)
{
	(void)state;
	h_expect(&H, "coord-vaulx-bron", h_hold(&H, case_id, false), ST(FAILED_PRECONDITION));
	h_expect(&H, "asso-relais", h_hold(&H, case_id, true), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-20"), ST(FAILED_PRECONDITION));
	h_expect(&H, "asso-relais", h_hold(&H, case_id, true), ST(FAILED_PRECONDITION));
	h_expect(&H, "coord-vaulx-bron", h_hold(&H, case_id, false), 0);
	h_expect(&H, "asso-relais", h_visit(&H, case_id, "2026-11-21"), 0);
	h_expect(&H, "asso-relais", h_hold(&H, case_id, true), 0);
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

	return cmocka_run_group_tests_name("lifecycle", tests, setup, h_group_teardown);
}
