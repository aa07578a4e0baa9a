/* test_deadline.c - the next deadline of an eviction procedure: legal delays
 * and the winter truce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "deadline.h"
#include "err.h"
#include "wire.h"

#define STAGE(x) MAILLAGE__V1__PROCEDURE_STAGE__STAGE_##x
#define KIND(x) MAILLAGE__V1__DEADLINE_KIND__DEADLINE_##x

static void expect(int stage, const char *date, const char *hearing, const char *want,
		   int want_kind)
{
	char out[DEADLINE_DATE_LEN];
	int kind = -1;

	assert_int_equal(deadline_next(stage, date, hearing, out, &kind), 0);
	assert_string_equal(out, want);
	assert_int_equal(kind, want_kind);
}

static void test_payment_order(void **state)
{
	(void)state;
	/* six weeks, across a month and a year end */
	expect(STAGE(PAYMENT_ORDER), "2026-03-02", "", "2026-04-13", KIND(PAYMENT_PERIOD_ENDS));
	expect(STAGE(PAYMENT_ORDER), "2026-12-01", "", "2027-01-12", KIND(PAYMENT_PERIOD_ENDS));
	/* not an eviction: the truce does not move it */
	expect(STAGE(PAYMENT_ORDER), "2026-10-01", "", "2026-11-12", KIND(PAYMENT_PERIOD_ENDS));
}

static void test_hearing(void **state)
{
	char out[DEADLINE_DATE_LEN];
	int kind;

	(void)state;
	expect(STAGE(COURT_SUMMONS), "2026-09-01", "2026-12-15", "2026-12-15", KIND(HEARING));
	assert_int_equal(deadline_next(STAGE(COURT_SUMMONS), "2026-09-01", "", out, &kind),
			 ML_ENOTFOUND);
}

static void test_order_to_vacate_and_truce(void **state)
{
	(void)state;
	/* two calendar months, clamped to the month's end */
	expect(STAGE(ORDER_TO_VACATE), "2026-06-15", "", "2026-08-15", KIND(EVICTION_POSSIBLE));
	expect(STAGE(ORDER_TO_VACATE), "2026-07-31", "", "2026-09-30", KIND(EVICTION_POSSIBLE));
	expect(STAGE(ORDER_TO_VACATE), "2027-12-31", "", "2028-04-01", KIND(EVICTION_POSSIBLE));
	/* lands in the truce: 1 April */
	expect(STAGE(ORDER_TO_VACATE), "2026-09-01", "", "2027-04-01", KIND(EVICTION_POSSIBLE));
	expect(STAGE(ORDER_TO_VACATE), "2026-12-20", "", "2027-04-01", KIND(EVICTION_POSSIBLE));
	expect(STAGE(ORDER_TO_VACATE), "2026-08-31", "", "2026-10-31", KIND(EVICTION_POSSIBLE));
	expect(STAGE(POLICE_ASSISTANCE_GRANTED), "2027-03-31", "", "2027-04-01",
	       KIND(EVICTION_POSSIBLE));
	expect(STAGE(POLICE_ASSISTANCE_REQUESTED), "2027-04-01", "", "2027-04-01",
	       KIND(EVICTION_POSSIBLE));
}

static void test_no_deadline(void **state)
{
	char out[DEADLINE_DATE_LEN];
	int kind;

	(void)state;
	assert_int_equal(deadline_next(STAGE(JUDGMENT), "2026-01-01", "", out, &kind), ML_ENOTFOUND);
	assert_int_equal(deadline_next(STAGE(EVICTION_CARRIED_OUT), "2026-01-01", "", out, &kind),
			 ML_ENOTFOUND);
	assert_int_equal(deadline_next(STAGE(PAYMENT_ORDER), "soon", "", out, &kind), ML_EINVAL);
}

static void test_day_numbers(void **state)
{
	char out[DEADLINE_DATE_LEN];
	long days;

	(void)state;
	assert_int_equal(deadline_days("1970-01-01", &days), 0);
	assert_int_equal(days, 0);
	assert_int_equal(deadline_days("2024-02-29", &days), 0);
	deadline_format(days, out);
	assert_string_equal(out, "2024-02-29");
	deadline_format(days + 1, out);
	assert_string_equal(out, "2024-03-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payment_order),
		cmocka_unit_test(test_hearing),
		cmocka_unit_test(test_order_to_vacate_and_truce),
		cmocka_unit_test(test_no_deadline),
		cmocka_unit_test(test_day_numbers),
	};

	return cmocka_run_group_tests_name("deadline", tests, NULL, NULL);
}
