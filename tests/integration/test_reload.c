/* test_reload.c - SIGHUP (issue 8, item 4): the configuration file is read
 * again; platform memberships and log_level apply at once, on open
 * connections too, without dropping them; a key that needs a restart is
 * logged and keeps its running value; a file that does not load is refused
 * whole and the server goes on with the configuration it has.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

/* A ping on c answers OK. */
static void ping_ok(struct mlc *c)
{
	mlc_request *req = h_ping(&H);
	mlc_response *r = h_call(c, req);

	assert_int_equal(h_code(r), ST(OK));
	mlc_response_free(r);
	h_request_free(req);
}

/* Send SIGHUP and wait (10 s at most) for one more line holding needle. */
static void reload_until(const char *needle)
{
	int before = h_log_count(&H, needle);

	assert_int_equal(kill(H.pid, SIGHUP), 0);
	for (int i = 0; i < 200 && h_log_count(&H, needle) == before; i++)
		usleep(50000);
	assert_int_equal(h_log_count(&H, needle), before + 1);
}

/* SIGHUP, then wait for the reload's last line. */
static void reload(void)
{
	reload_until("event=reload_done ");
}

/* Rewrite the configuration file: the first occurrence of from becomes to. */
static void conf_replace(const char *from, const char *to)
{
	char buf[16384], *at;
	FILE *f = fopen(H.conf, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	at = strstr(buf, from);
	assert_non_null(at);
	f = fopen(H.conf, "w");
	assert_non_null(f);
	fprintf(f, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	fclose(f);
}

/* A line added to the global section (before the first section). */
static void conf_add_global(const char *line)
{
	char with[512];

	snprintf(with, sizeof(with), "%s\n[platform ", line);
	conf_replace("[platform ", with);
}

/* Refer a household to venissieux on connection c; the status code. */
static int refer_venissieux(struct mlc *c, const char *name)
{
	mlc_request *req = h_refer(&H, "venissieux", name, "Jean", "1975-05-05");
	mlc_response *r = h_call(c, req);
	int code = h_code(r);

	mlc_response_free(r);
	h_request_free(req);
	return code;
}

static void test_membership(void **state)
{
	struct mlc *c = h_connect(&H, "asso-habitat", NULL, 0);

	(void)state;
	assert_non_null(c);
	assert_int_equal(refer_venissieux(c, "Reloadun"), ST(PERMISSION_DENIED));

	/* asso-habitat joins venissieux: its open connection may refer there. */
	conf_replace("platforms = vaulx-bron\n\n[org asso-relais]",
		     "platforms = vaulx-bron, venissieux\n\n[org asso-relais]");
	reload();
	assert_int_equal(h_log_count(&H, "event=members_reloaded organisations=1\n"), 1);
	assert_int_equal(h_log_count(&H, "event=reload_change key=platforms section=\"org asso-habitat\""),
			 1);
	assert_int_equal(refer_venissieux(c, "Reloadun"), ST(OK));
	assert_int_equal(h_log_count(&H, "org=asso-habitat reason="), 0);   /* never closed */

	/* ...and leaves it again. */
	conf_replace("platforms = vaulx-bron, venissieux\n\n[org asso-relais]",
		     "platforms = vaulx-bron\n\n[org asso-relais]");
	reload();
	assert_int_equal(refer_venissieux(c, "Reloaddeux"), ST(PERMISSION_DENIED));
	mlc_close(c);
	assert_int_equal(h_verify(&H), 0);
}

/* A membership change while commands are in flight: the writer pauses
 * between two batches for it, and the commands read meanwhile wait in its
 * queue. The referrals go in one write (one TLS record), so the server
 * holds them all read; with max_inflight = 2 (setup()) the connection
 * takes the next ones as each answer leaves. Every one is answered, in
 * order, and the change applies. */
static void test_members_while_busy(void **state)
{
	enum { N = 50 };
	struct mlc *c = h_connect(&H, "asso-habitat", NULL, 0);
	uint64_t ids[N];
	uint8_t frames[N * 256];
	size_t len = 0, n;
	mlc_request *req;
	mlc_response *r;
	char name[32];
	int answered = 0;

	(void)state;
	assert_non_null(c);
	mlc_set_timeout(c, 5000);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "Enchaine%c%c", 'a' + i / 26, 'a' + i % 26);
		req = h_refer(&H, "vaulx-bron", name, "Paul", "1990-02-02");
		ids[i] = req->request_id;
		n = maillage__v1__request__get_packed_size(req);
		assert_true(len + 4 + n <= sizeof(frames));
		frames[len] = (uint8_t)(n >> 24);
		frames[len + 1] = (uint8_t)(n >> 16);
		frames[len + 2] = (uint8_t)(n >> 8);
		frames[len + 3] = (uint8_t)n;
		len += 4 + maillage__v1__request__pack(req, frames + len + 4);
		h_request_free(req);
	}
	conf_replace("platforms = vaulx-bron\n\n[org asso-relais]",
		     "platforms = vaulx-bron, venissieux\n\n[org asso-relais]");
	assert_int_equal(mlc_send_raw(c, frames, len), 0);
	for (int i = 0; i < N; i++) {
		r = mlc_recv(c);
		if (!r)
			break;       /* lost: do not wait for each of the others */
		answered += r->request_id == ids[i] && h_code(r) == ST(OK);
		mlc_response_free(r);
		if (!i)
			reload();    /* the first is answered, the others in flight */
	}
	assert_int_equal(answered, N);
	assert_int_equal(refer_venissieux(c, "Enchainefin"), ST(OK));
	mlc_close(c);

	conf_replace("platforms = vaulx-bron, venissieux\n\n[org asso-relais]",
		     "platforms = vaulx-bron\n\n[org asso-relais]");
	reload();
	assert_int_equal(h_verify(&H), 0);
}

static void test_log_level(void **state)
{
	struct mlc *c = h_connect(&H, "bailleur-est", NULL, 0);
	mlc_response *r;
	mlc_request *req;
	int opened, debug;

	(void)state;
	assert_non_null(c);
	/* (the log holds the harness's first start, with -v) */
	debug = h_log_count(&H, "level=debug");
	h_expect(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Niveauun", "Ana", "1980-01-01"),
		 ST(OK));
	assert_int_equal(h_log_count(&H, "level=debug"), debug);

	conf_add_global("log_level = debug");
	reload();
	req = h_refer(&H, "vaulx-bron", "Niveaudeux", "Ana", "1980-01-01");
	r = h_call(c, req);
	assert_int_equal(h_code(r), ST(OK));
	mlc_response_free(r);
	h_request_free(req);
	assert_true(h_log_count(&H, "level=debug event=command ") > 0);
	assert_true(h_log_count(&H, "level=debug") > debug);

	/* reload_done is info: wait for the change itself, logged before. */
	conf_replace("log_level = debug", "log_level = warn");
	reload_until("event=reload_change key=log_level");
	ping_ok(c); /* the same connection, still open */
	opened = h_log_count(&H, "level=info event=conn_open");
	mlc_close(c);
	c = h_connect(&H, "bailleur-est", NULL, 0);   /* conn_open is info: dropped */
	ping_ok(c);
	mlc_close(c);
	assert_int_equal(h_log_count(&H, "level=info event=conn_open"), opened);

	conf_replace("log_level = warn", "log_level = info");
	reload();                            /* reload_done is info: back again */
}

static void test_needs_restart(void **state)
{
	char line[64];

	(void)state;
	conf_replace("\nmax_inflight = 2\n", "\nmax_inflight = 7\n");
	snprintf(line, sizeof(line), "listen = 127.0.0.1:%d", H.port);
	conf_replace(line, "listen = 127.0.0.1:1");
	conf_replace("[org auditor]", "[org newcomer]\nkind = CCAS\nplatforms = vaulx-bron\n\n"
		     "[org auditor]");
	reload();
	assert_int_equal(h_log_count(&H, "event=reload_needs_restart key=max_inflight kept=running"), 1);
	assert_int_equal(h_log_count(&H, "event=reload_needs_restart key=listen kept=running"), 1);
	assert_int_equal(h_log_count(&H, "event=reload_needs_restart section=\"org newcomer\""), 1);
	/* Still on its port, with its organisations. */
	h_expect(&H, "auditor", h_ping(&H), ST(OK));
	conf_replace("listen = 127.0.0.1:1", line);
	conf_replace("\nmax_inflight = 7\n", "\nmax_inflight = 2\n");
	conf_replace("[org newcomer]\nkind = CCAS\nplatforms = vaulx-bron\n\n", "");
}

static void test_bad_file_refused(void **state)
{
	struct mlc *c = h_connect(&H, "asso-habitat", NULL, 0);
	char expect[700], away[700];

	(void)state;
	assert_non_null(c);
	/* A membership change and a bad value in the same file: nothing applies. */
	conf_replace("platforms = vaulx-bron\n\n[org asso-relais]",
		     "platforms = vaulx-bron, venissieux\n\n[org asso-relais]");
	conf_add_global("max_batch = lots");
	reload();
	snprintf(expect, sizeof(expect), "event=config_reload_failed error=\"%s:", H.conf);
	assert_int_equal(h_log_count(&H, expect), 1);
	assert_int_equal(h_log_count(&H, "'max_batch' must be a whole number"), 1);
	assert_int_equal(refer_venissieux(c, "Refusun"), ST(PERMISSION_DENIED));
	ping_ok(c);
	mlc_close(c);

	/* A file that cannot be read at all, the same. */
	snprintf(away, sizeof(away), "%s.away", H.conf);
	assert_int_equal(rename(H.conf, away), 0);
	reload();
	snprintf(expect, sizeof(expect), "event=config_reload_failed error=\"cannot open '%s'",
		 H.conf);
	assert_int_equal(h_log_count(&H, expect), 1);
	assert_int_equal(rename(away, H.conf), 0);
	h_expect(&H, "asso-habitat", h_ping(&H), ST(OK));

	conf_replace("max_batch = lots\n", "");
	conf_replace("platforms = vaulx-bron, venissieux\n\n[org asso-relais]",
		     "platforms = vaulx-bron\n\n[org asso-relais]");
}

/* The harness's server, restarted without -v (h_start passes it, and -v
 * holds the level at debug whatever log_level says): through a wrapper
 * script in the test's directory that drops it. With max_inflight = 2, a
 * connection's reads pause and resume at every answer
 * (test_members_while_busy). */
static int setup(void **state)
{
	char real[sizeof(H.bin)], path[sizeof(H.bin) + 32], target[sizeof(H.bin) + 32];
	FILE *f;

	if (h_group_setup(state) || h_stop(&H, SIGTERM))
		return -1;
	memcpy(real, H.bin, sizeof(real));
	if ((size_t)snprintf(H.bin, sizeof(H.bin), "%.400s/bin", H.dir) >= sizeof(H.bin) ||
	    mkdir(H.bin, 0700))
		return -1;
	snprintf(path, sizeof(path), "%s/maillaged", H.bin);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n[ \"$1\" = -v ] && shift\nexec '%s/maillaged' \"$@\"\n", real);
	if (fclose(f) || chmod(path, 0700))
		return -1;
	snprintf(path, sizeof(path), "%s/maillage-admin", H.bin);
	snprintf(target, sizeof(target), "%s/maillage-admin", real);
	if (symlink(target, path))
		return -1;
	conf_add_global("max_inflight = 2");
	return h_start(&H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_members_while_busy),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_needs_restart),
		cmocka_unit_test(test_bad_file_refused),
	};

	return cmocka_run_group_tests(tests, setup, h_group_teardown);
}
