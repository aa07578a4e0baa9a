/* test_logs.c - the server's log (issue 8, item 5): a whole case's life at
 * log_level = debug, with distinctive personal data in every personal field
 * (identity, address, phone, email, notes, visit notes, a refused referral
 * and a subscriber's notification), leaves none of it in the log; and every
 * line of the log is logfmt: ts=... level=... event=... then key=value pairs.
 */
#include <ctype.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

/* Personal values that appear nowhere but in this test's requests. */
enum {
	LAST_NAME, FIRST_NAME, BIRTH_DATE, ADDRESS, PHONE, EMAIL, NOTES, TENANCY,
	VISIT_NOTES, BAD_BIRTH_DATE, N_SECRETS
};
static const char *const secrets[N_SECRETS] = {
	[LAST_NAME] = "Vrzbnikowa",
	[FIRST_NAME] = "Oxlandrine",
	[BIRTH_DATE] = "1979-08-27",
	[ADDRESS] = "43 allee Plumqvist",
	[PHONE] = "0699887766",
	[EMAIL] = "oxlandrine.vrzb@example.net",
	[NOTES] = "dette-cachee-xylophage",
	[TENANCY] = "BAIL-ZK-9931",
	[VISIT_NOTES] = "note-de-visite-quetzal",
	[BAD_BIRTH_DATE] = "27/08/1979-Vrz",
};

static mlc_request *refer_full(const char *birth_date)
{
	mlc_request *req = h_refer(&H, "vaulx-bron", secrets[LAST_NAME], secrets[FIRST_NAME],
				   birth_date);
	Maillage__V1__Household *hh = req->refer_household->referral->household;

	free(hh->address);
	hh->address = strdup(secrets[ADDRESS]);
	hh->phone = strdup(secrets[PHONE]);
	hh->email = strdup(secrets[EMAIL]);
	hh->notes = strdup(secrets[NOTES]);
	hh->tenant_reference = strdup(secrets[TENANCY]);
	return req;
}

/* Refer, duplicate, acknowledge, accept, visit with notes, read (with a
 * purpose), follow, propose, answer, close, erase. */
static void run_scenario(void)
{
	mlc_response *r = h_send_as(&H, "bailleur-est", refer_full(secrets[BIRTH_DATE]), ST(OK));
	char *id = strdup(r->command->case_id);
	mlc_request *req;
	struct mlc *sub;

	mlc_response_free(r);
	h_expect(&H, "bailleur-est", refer_full(secrets[BIRTH_DATE]), ST(ALREADY_EXISTS));
	h_expect(&H, "bailleur-est", refer_full(secrets[BAD_BIRTH_DATE]), ST(INVALID_ARGUMENT));
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, id), ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, id, "asso-habitat"), ST(OK));

	/* A subscriber receives the visit as it commits. */
	sub = h_connect(&H, "asso-habitat", NULL, 0);
	assert_non_null(sub);
	req = h_subscribe(&H, h_last_position(&H), NULL, id);
	r = h_call(sub, req);
	assert_int_equal(h_code(r), 0);
	mlc_response_free(r);
	h_request_free(req);

	req = h_visit(&H, id, "2026-11-02");
	req->record_visit->visit->notes = strdup(secrets[VISIT_NOTES]);
	h_expect(&H, "asso-habitat", req, ST(OK));
	r = mlc_recv(sub);
	assert_non_null(r);
	assert_int_equal(r->result_case, MAILLAGE__V1__RESPONSE__RESULT_NOTIFICATION);
	mlc_response_free(r);
	mlc_close(sub);

	req = h_get_case(&H, id);
	req->purpose = strdup("preparation de la commission");
	r = h_send_as(&H, "asso-habitat", req, ST(OK));
	assert_string_equal(r->case_->household->phone, secrets[PHONE]);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_history(&H, id), ST(OK));
	h_expect(&H, "ccas-vaulx", h_get_case(&H, id), ST(PERMISSION_DENIED));
	h_expect(&H, "bailleur-est", h_propose(&H, id, "bailleur-est"), ST(OK));
	h_expect(&H, "asso-habitat", h_answer(&H, id, 1, false), ST(OK));
	h_expect(&H, "asso-habitat", h_close(&H, id), ST(OK));
	h_expect(&H, "coord-vaulx-bron",
		 h_erase(&H, id, MAILLAGE__V1__ERASURE_REASON__ERASURE_HOUSEHOLD_REQUEST), ST(OK));
	free(id);
}

/* The server's whole log (stopped first, so that it is complete). */
static char *read_log(size_t *len)
{
	FILE *f = fopen(H.log, "rb");
	char *buf;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static void test_no_personal_data(void **state)
{
	size_t len;
	char *log;

	(void)state;
	run_scenario();
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	log = read_log(&len);
	/* The scan sees the scenario: its debug lines are there. */
	assert_non_null(strstr(log, "level=debug event=command "));
	assert_non_null(strstr(log, "event=request_refused "));
	for (int i = 0; i < N_SECRETS; i++)
		if (strstr(log, secrets[i]))
			fail_msg("'%s' is in the server's log:\n%s", secrets[i], log);
	free(log);
	assert_int_equal(h_start(&H), 0);
}

/* A value: "..." (backslash escapes) or a run of characters other than
 * space, '"' and '='. Returns its end, or NULL. */
static const char *logfmt_value(const char *p)
{
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p == '"' ? p + 1 : NULL;
	}
	if (!*p || *p == ' ')
		return NULL;
	while (*p && *p != ' ' && *p != '"' && *p != '=')
		p++;
	return *p == '"' || *p == '=' ? NULL : p;
}

/* ts=...Z level=L event=E then " key=value" pairs to the end of the line. */
static bool logfmt_line(const char *line)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	const char *p = line;
	int y, mo, d, h, mi, s, n = 0;
	long us;
	bool level = false;

	if (sscanf(p, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%6ldZ %n", &y, &mo, &d, &h, &mi, &s, &us,
		   &n) != 7 || n != 31)
		return false;
	p += n;
	if (strncmp(p, "level=", 6))
		return false;
	p += 6;
	for (int i = 0; i < 4; i++)
		if (!strncmp(p, levels[i], strlen(levels[i])) && p[strlen(levels[i])] == ' ') {
			p += strlen(levels[i]) + 1;
			level = true;
		}
	if (!level || strncmp(p, "event=", 6) || !(islower((unsigned char)p[6])))
		return false;
	for (p += 6; islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'; p++)
		;
	while (*p == ' ') {
		const char *key = ++p;

		while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
			p++;
		if (p == key || *p++ != '=' || !(p = logfmt_value(p)))
			return false;
	}
	return !*p;
}

static void test_logfmt(void **state)
{
	size_t len, lines = 0;
	char *log, *line, *save = NULL;

	(void)state;
	assert_true(logfmt_line("ts=2026-11-24T07:40:11.123456Z level=info event=start "
				"a=1 b=\"two words\" c=\"say \\\"hi\\\"\""));
	assert_false(logfmt_line("ts=2026-11-24T07:40:11.123456Z level=info event=x a=\"open"));
	assert_false(logfmt_line("ts=2026-11-24T07:40:11.123456Z level=loud event=x"));
	assert_false(logfmt_line("ts=2026-11-24T07:40:11.123456Z level=info event=x two words"));
	assert_false(logfmt_line("ERROR: AddressSanitizer"));

	/* The log of the scenario of test_no_personal_data, two starts and
	 * two stops. */
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	log = read_log(&len);
	assert_true(len > 0 && log[len - 1] == '\n');
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!logfmt_line(line))
			fail_msg("not a logfmt line: %s", line);
		lines++;
	}
	assert_true(lines > 20);
	free(log);
	assert_int_equal(h_start(&H), 0);
}

static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "log_level = debug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_personal_data),
		cmocka_unit_test(test_logfmt),
	};

	return cmocka_run_group_tests(tests, setup, h_group_teardown);
}
