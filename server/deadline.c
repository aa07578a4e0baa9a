/* deadline.c - legal delays of the eviction procedure, in calendar days. */
#include <stdio.h>
#include <string.h>

#include "deadline.h"
#include "err.h"
#include "validate.h"
#include "wire.h"

#define STAGE(x) MAILLAGE__V1__PROCEDURE_STAGE__STAGE_##x
#define KIND(x) MAILLAGE__V1__DEADLINE_KIND__DEADLINE_##x

int deadline_days(const char *s, long *days)
{
	int64_t us;

	if (validate_parse_date(s, &us))
		return ML_EINVAL;
	*days = (long)(us / (86400LL * 1000000));
	return 0;
}

/* y-m-d of a day number (H. Hinnant's civil_from_days). */
static void civil(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void format_ymd(char out[DEADLINE_DATE_LEN], int y, int m, int d)
{
	snprintf(out, DEADLINE_DATE_LEN, "%04u-%02u-%02u", (unsigned)y % 10000u,
		 (unsigned)m % 100u, (unsigned)d % 100u);
}

void deadline_format(long days, char out[DEADLINE_DATE_LEN])
{
	int y, m, d;

	civil(days, &y, &m, &d);
	format_ymd(out, y, m, d);
}

static int days_in_month(int y, int m)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return len[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* date + n calendar months, the day kept or clamped to the month's end. */
static int add_months(const char *date, int n, char out[DEADLINE_DATE_LEN])
{
	long days;
	int y, m, d;

	if (deadline_days(date, &days))
		return ML_EINVAL;
	civil(days, &y, &m, &d);
	m += n;
	y += (m - 1) / 12;
	m = (m - 1) % 12 + 1;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	format_ymd(out, y, m, d);
	return 0;
}

/* No eviction from 1 November to 31 March: move to the next 1 April. */
static void after_truce(char date[DEADLINE_DATE_LEN])
{
	int y, m;

	if (sscanf(date, "%4d-%2d", &y, &m) != 2 || (m >= 4 && m <= 10))
		return;
	format_ymd(date, m >= 11 ? y + 1 : y, 4, 1);
}

int deadline_next(int stage, const char *date, const char *hearing,
		  char out[DEADLINE_DATE_LEN], int *kind)
{
	long days;

	switch (stage) {
	case STAGE(PAYMENT_ORDER):
		if (deadline_days(date, &days))
			return ML_EINVAL;
		deadline_format(days + 42, out);
		*kind = KIND(PAYMENT_PERIOD_ENDS);
		return 0;
	case STAGE(COURT_SUMMONS):
		if (!hearing[0])
			return ML_ENOTFOUND;
		if (deadline_days(hearing, &days))
			return ML_EINVAL;
		snprintf(out, DEADLINE_DATE_LEN, "%s", hearing);
		*kind = KIND(HEARING);
		return 0;
	case STAGE(ORDER_TO_VACATE):
		if (add_months(date, 2, out))
			return ML_EINVAL;
		break;
	case STAGE(POLICE_ASSISTANCE_REQUESTED):
	case STAGE(POLICE_ASSISTANCE_GRANTED):
		if (deadline_days(date, &days))
			return ML_EINVAL;
		snprintf(out, DEADLINE_DATE_LEN, "%s", date);
		break;
	default:
		return ML_ENOTFOUND;
	}
	after_truce(out);
	*kind = KIND(EVICTION_POSSIBLE);
	return 0;
}
