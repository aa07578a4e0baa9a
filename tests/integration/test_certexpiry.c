/* test_certexpiry.c - certificates that expire: a client certificate that
 * expires while its connection is open gets one UNAUTHENTICATED frame
 * (request_id 0) at that instant and the connection is closed, a new
 * handshake with it is refused with the reason in the log, others go on; one
 * with a far expiry stays; the server's own certificate is announced when it
 * expires within 30 days and logged when it has expired (and still served).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

static char ca_dir[700];    /* a throwaway `openssl ca` database on the development CA */
static char own_dir[700];   /* the server's certificate and key, ours to replace */

/* t as "2026-11-24T07:40:11Z" (iso 8601) or "20261124074011Z" (openssl ca). */
static void fmt_time(time_t t, bool iso, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y%m%d%H%M%SZ", &tm);
}

/* The wall clock in microseconds: time() may lag it by a tick, and the
 * server fires at the second exactly. */
static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ca_dir/NAME.crt and NAME.key: subject CN=cn from the development CA, valid
 * from not_before to not_after, with the extensions of section ext ("client"
 * or "server"). 0 or the status of the failed command. */
static int issue(const char *name, const char *cn, const char *ext, time_t not_before,
		 time_t not_after)
{
	char start[32], end[32];

	fmt_time(not_before, false, start, sizeof(start));
	fmt_time(not_after, false, end, sizeof(end));
	return h_sh("cd '%s' && rm -f %s.crt %s.key && "
		  "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-subj '/O=maillage test/CN=%s' -keyout %s.key -out %s.csr 2>/dev/null && "
		  "openssl ca -batch -config ca.cnf -in %s.csr -out %s.crt -startdate %s "
		  "-enddate %s -extensions %s -notext -preserveDN >/dev/null 2>&1",
		  ca_dir, name, name, cn, name, name, name, name, start, end, ext);
}

/* Connect with ca_dir/NAME.crt and NAME.key. */
static struct mlc *connect_issued(const char *name)
{
	char cert[800], key[800], ca[700], addr[64], err[256];
	struct mlc_opts o = { .addr = addr, .cert = cert, .key = key, .ca = ca,
			      .timeout_ms = 5000 };

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", H.port);
	snprintf(cert, sizeof(cert), "%s/%s.crt", ca_dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", ca_dir, name);
	snprintf(ca, sizeof(ca), "%s/ca.crt", H.certs);
	return mlc_connect(&o, err, sizeof(err));
}

/* A Ping on c answered OK as org. */
static bool ping_ok(struct mlc *c, const char *org)
{
	mlc_request *req = h_ping(&H);
	mlc_response *r = c ? mlc_call(c, req) : NULL;
	bool ok = h_code(r) == 0 && r->pong && !strcmp(r->pong->org, org);

	mlc_response_free(r);
	h_request_free(req);
	return ok;
}

/* The default server, on a copy of the development server certificate (so
 * that a test may replace it and reload), and an `openssl ca` database. */
static int setup(void **state)
{
	char conf[16384], line[1024];
	size_t n = 0;
	FILE *f;

	(void)state;
	if (h_setup(&H, NULL) || h_stop(&H, SIGTERM))
		return -1;
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", H.dir);
	snprintf(own_dir, sizeof(own_dir), "%s/own", H.dir);
	if (h_sh("mkdir -p '%s' '%s' && touch '%s/index.txt' && cp '%s/server.crt' '%s/server.key' '%s'",
	       ca_dir, own_dir, ca_dir, H.certs, H.certs, own_dir))
		return -1;
	snprintf(line, sizeof(line), "%s/ca.cnf", ca_dir);
	f = fopen(line, "w");
	if (!f)
		return -1;
	fprintf(f, "[ca]\ndefault_ca = test\n[test]\ndatabase = %s/index.txt\n"
		"new_certs_dir = %s\ncertificate = %s/ca.crt\nprivate_key = %s/ca.key\n"
		"serial = %s/serial\nrand_serial = yes\nunique_subject = no\n"
		"default_md = sha256\npolicy = policy\n"
		"[policy]\norganizationName = optional\ncommonName = supplied\n"
		"[client]\nbasicConstraints = critical,CA:FALSE\n"
		"keyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n"
		"[server]\nbasicConstraints = critical,CA:FALSE\n"
		"keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n"
		"subjectAltName = DNS:localhost,IP:127.0.0.1\n",
		ca_dir, ca_dir, H.certs, H.certs, ca_dir);
	fclose(f);
	/* tls_cert and tls_key name our copies */
	f = fopen(H.conf, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < sizeof(conf) - 2048) {
		if (!strncmp(line, "tls_cert =", 10))
			snprintf(line, sizeof(line), "tls_cert = %s/server.crt\n", own_dir);
		else if (!strncmp(line, "tls_key =", 9))
			snprintf(line, sizeof(line), "tls_key = %s/server.key\n", own_dir);
		n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%s", line);
	}
	fclose(f);
	f = fopen(H.conf, "w");
	if (!f)
		return -1;
	fputs(conf, f);
	fclose(f);
	return h_start(&H);
}

static void test_expires_while_open(void **state)
{
	char iso[32], msg[160], needle[200];
	time_t not_after = time(NULL) + 4;
	struct mlc *other, *c;
	mlc_response *r = NULL;
	int pings = 0;

	(void)state;
	/* another organisation's connection, opened before */
	other = h_connect(&H, "asso-habitat", NULL, 0);
	assert_true(ping_ok(other, "asso-habitat"));

	assert_int_equal(issue("short", "ccas-vaulx", "client", time(NULL) - 60, not_after), 0);
	c = connect_issued("short");
	assert_non_null(c);
	assert_true(ping_ok(c, "ccas-vaulx"));

	/* nothing until notAfter, then one frame; the other connection works
	 * throughout */
	mlc_set_timeout(c, 250);
	while (!r && time(NULL) < not_after + 3) {
		r = mlc_recv(c);
		if (!r) {
			assert_true(mlc_timed_out(c));
			assert_true(ping_ok(other, "asso-habitat"));
			pings++;
		}
	}
	assert_non_null(r);
	assert_true(wall_us() >= (int64_t)not_after * 1000000);
	assert_true(pings >= 8);
	fmt_time(not_after, true, iso, sizeof(iso));
	snprintf(msg, sizeof(msg), "client certificate expired at %s; "
		 "connect again with a renewed certificate", iso);
	assert_int_equal(r->request_id, 0);
	assert_int_equal(h_code(r), ST(UNAUTHENTICATED));
	assert_string_equal(r->status->message, msg);
	mlc_response_free(r);

	/* then the connection is closed (after the linger time at most) */
	mlc_set_timeout(c, 5000);
	assert_null(mlc_recv(c));
	assert_false(mlc_timed_out(c));
	mlc_close(c);
	snprintf(needle, sizeof(needle), "org=ccas-vaulx not_after=%s", iso);
	assert_true(h_log_wait(&H, needle, 1, 5000));
	assert_int_equal(h_log_count(&H, "event=cert_expired"), 1);

	/* a new handshake with it is refused, and the log says why */
	c = connect_issued("short");
	assert_false(c && ping_ok(c, "ccas-vaulx"));
	mlc_close(c);
	snprintf(needle, sizeof(needle), "reason=\"handshake failed: client certificate refused: "
		 "certificate has expired (subject CN 'ccas-vaulx', depth 0, not after %s)\"", iso);
	assert_true(h_log_wait(&H, needle, 1, 5000));

	assert_true(ping_ok(other, "asso-habitat"));
	mlc_close(other);
}

static void test_far_expiry_stays(void **state)
{
	time_t now = time(NULL);
	struct mlc *c;

	(void)state;
	assert_int_equal(issue("far", "ccas-vaulx", "client", now - 60, now + 86400), 0);
	c = connect_issued("far");
	assert_true(ping_ok(c, "ccas-vaulx"));
	/* as long as the other test waited: nothing arrives, the connection stays */
	mlc_set_timeout(c, 5000);
	assert_null(mlc_recv(c));
	assert_true(mlc_timed_out(c));
	assert_true(ping_ok(c, "ccas-vaulx"));
	mlc_close(c);
}

/* Serve DIR/NAME.crt and NAME.key: copy them over the server's and reload;
 * the reload is the reloads-th. */
static void serve(const char *dir, const char *name, int reloads)
{
	assert_int_equal(h_sh("cp '%s/%s.crt' '%s/server.crt' && cp '%s/%s.key' '%s/server.key'",
			    dir, name, own_dir, dir, name, own_dir), 0);
	assert_int_equal(kill(H.pid, SIGHUP), 0);
	assert_true(h_log_wait(&H, "event=tls_reloaded", reloads, 5000));
}

/* A new connection as the auditor works. */
static bool auditor_ok(void)
{
	struct mlc *c = h_connect(&H, "auditor", NULL, 0);
	bool ok = ping_ok(c, "auditor");

	mlc_close(c);
	return ok;
}

static void test_server_certificate(void **state)
{
	time_t now = time(NULL);
	char iso[32], needle[1000];

	(void)state;
	assert_int_equal(h_log_count(&H, "event=tls_cert_expires_soon"), 0);
	assert_int_equal(h_log_count(&H, "event=tls_cert_expired"), 0);

	/* ten days (and an hour) left: a warning with the days */
	assert_int_equal(issue("soon", "localhost", "server", now - 60, now + 10 * 86400 + 3600), 0);
	serve(ca_dir, "soon", 1);
	fmt_time(now + 10 * 86400 + 3600, true, iso, sizeof(iso));
	snprintf(needle, sizeof(needle), "level=warn event=tls_cert_expires_soon file=\"%s/server.crt\" "
		 "not_after=%s days=10", own_dir, iso);
	assert_int_equal(h_log_count(&H, needle), 1);
	assert_true(auditor_ok());

	/* expired: an error, and it is still served (clients refuse it) */
	assert_int_equal(issue("past", "localhost", "server", now - 3 * 86400, now - 86400 - 60), 0);
	serve(ca_dir, "past", 2);
	fmt_time(now - 86400 - 60, true, iso, sizeof(iso));
	snprintf(needle, sizeof(needle), "level=error event=tls_cert_expired file=\"%s/server.crt\" "
		 "not_after=%s days=-1", own_dir, iso);
	assert_int_equal(h_log_count(&H, needle), 1);
	assert_int_equal(kill(H.pid, 0), 0);
	assert_null(h_connect(&H, "auditor", NULL, 0));

	/* renewed (the development certificate, 825 days): nothing more */
	serve(H.certs, "server", 3);
	assert_true(auditor_ok());
	assert_int_equal(h_log_count(&H, "event=tls_cert_expires_soon"), 1);
	assert_int_equal(h_log_count(&H, "event=tls_cert_expired"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expires_while_open),
		cmocka_unit_test(test_far_expiry_stays),
		cmocka_unit_test(test_server_certificate),
	};

	return cmocka_run_group_tests_name("certexpiry", tests, setup, h_group_teardown);
}
