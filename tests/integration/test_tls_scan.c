/* test_tls_scan.c - testssl.sh (Debian's testssl) against the real server:
 * protocols, cipher categories, forward secrecy and the known vulnerabilities.
 * Any finding of severity LOW or worse fails; so does a scan that did not run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define JSON_MAX (4u << 20)

static const char *const bad_severities[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

/* The JSON report of the scan, NUL-terminated (free()). */
static char *scan(void)
{
	char cmd[2000], path[700];
	char *json = malloc(JSON_MAX);
	size_t n;
	FILE *f;

	assert_non_null(json);
	snprintf(path, sizeof(path), "%s/testssl.json", H.dir);
	snprintf(cmd, sizeof(cmd), "testssl --quiet --color 0 --warnings off -p -s -f -U "
		 "--jsonfile '%s' 127.0.0.1:%d > '%s/testssl.out' 2>&1", path, H.port, H.dir);
	if (system(cmd) < 0)
		fail_msg("cannot run testssl");
	f = fopen(path, "r");
	if (!f)
		fail_msg("testssl wrote no report (see %s/testssl.out)", H.dir);
	n = fread(json, 1, JSON_MAX - 1, f);
	fclose(f);
	json[n] = 0;
	return json;
}

/* The value of the next `"key" : "value"` after p, into out. */
static const char *next_value(const char *p, const char *key, char *out, size_t len)
{
	char quoted[64];
	size_t i = 0;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = strstr(p, quoted);
	if (!p)
		return NULL;
	p += strlen(quoted);
	while (isspace((unsigned char)*p) || *p == ':')
		p++;
	if (*p++ != '"')
		return p;
	while (*p && *p != '"' && i + 1 < len)
		out[i++] = *p++;
	out[i] = 0;
	return p;
}

static void test_no_weakness(void **state)
{
	char *json = scan();
	char id[128], severity[32];
	const char *p = json;
	int findings = 0, bad = 0;

	(void)state;
	while ((p = next_value(p, "id", id, sizeof(id))) &&
	       (p = next_value(p, "severity", severity, sizeof(severity)))) {
		findings++;
		for (size_t i = 0; i < sizeof(bad_severities) / sizeof(bad_severities[0]); i++) {
			if (!strcmp(severity, bad_severities[i])) {
				print_message("testssl: %s %s\n", severity, id);
				bad++;
			}
		}
	}
	print_message("testssl: %d findings, %d of severity LOW or worse\n", findings, bad);
	/* the scan ran: TLS 1.2 and 1.3 were looked at */
	assert_non_null(strstr(json, "\"TLS1_2\""));
	assert_non_null(strstr(json, "\"TLS1_3\""));
	assert_true(findings > 20);
	assert_int_equal(bad, 0);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_weakness),
	};

	return cmocka_run_group_tests_name("tls_scan", tests, h_group_setup, h_group_teardown);
}
