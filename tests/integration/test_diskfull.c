/* test_diskfull.c - no room to write (issue 7, item 2).
 *
 * A data directory on a small tmpfs that fills up, and an LMDB map that
 * fills up. Each time: commands are refused with RESOURCE_EXHAUSTED and a
 * message saying which room ran out; reads keep working; every acknowledged
 * command is there and nothing of a refused one is (positions, verify, a
 * restart); a refused command retried with its command_id is recorded once
 * there is room, and an acknowledged one retried after the failed commits is
 * answered as a replay of the same case. Room comes back by itself on the file system (a file is
 * deleted, no restart); the map grows with map_size_mb at a restart.
 *
 * mount(2) needs root (CAP_SYS_ADMIN): without it the tmpfs test is skipped
 * with the reason, never passed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define WINDOW 32            /* referrals in flight while filling */
#define FILL_MAX 400000      /* referrals before giving up filling */
#define TMPFS_SIZE "6m"
#define BALLAST_MB 2         /* deleted to make room */

struct fill {
	long ok;                 /* acknowledged referrals */
	long full;               /* refused with RESOURCE_EXHAUSTED */
	char message[512];       /* the first refusal's message */
	char case_id[64];        /* the first acknowledged referral's case */
	mlc_request *acked;      /* the first acknowledged referral, kept for a retry */
	mlc_request *refused;    /* the first refused referral, kept for a retry */
};

/* A referral with a name of its own. */
static mlc_request *referral(struct harness *h, long n)
{
	char first[32];

	snprintf(first, sizeof(first), "Plein%ld", n);
	return h_refer(h, "vaulx-bron", "Disque", first, "1970-01-01");
}

/* Pipeline referrals on c until the server refuses them for lack of room,
 * then take every answer in flight. Anything but OK or RESOURCE_EXHAUSTED
 * fails the test. */
static void fill(struct harness *h, struct mlc *c, struct fill *f)
{
	mlc_request *window[WINDOW] = { 0 };
	long sent = 0, answered = 0;

	memset(f, 0, sizeof(*f));
	while (answered < sent || (!f->full && sent < FILL_MAX)) {
		while (!f->full && sent < FILL_MAX && sent - answered < WINDOW) {
			mlc_request *req = referral(h, sent);

			assert_int_equal(mlc_send(c, req), 0);
			window[sent++ % WINDOW] = req;
		}
		mlc_response *r = mlc_recv(c);
		mlc_request **req = &window[answered++ % WINDOW];

		assert_non_null(r);
		assert_int_equal(r->request_id, (*req)->request_id);
		if (h_code(r) == ST(OK)) {
			if (!f->ok++) {
				snprintf(f->case_id, sizeof(f->case_id), "%s", r->command->case_id);
				f->acked = *req;
				*req = NULL;
			}
		} else {
			assert_int_equal(h_code(r), ST(RESOURCE_EXHAUSTED));
			if (!f->full++) {
				snprintf(f->message, sizeof(f->message), "%s", r->status->message);
				f->refused = *req;
				*req = NULL;
			}
		}
		h_request_free(*req);
		*req = NULL;
		mlc_response_free(r);
	}
	assert_true(f->full > 0);
	printf("filled: %ld referrals acknowledged, %ld refused: \"%s\"\n", f->ok, f->full,
	       f->message);
}

/* What must still answer while nothing can be written: a ping, a platform
 * query, the log as an auditor reads it. A read of personal data answers
 * only once its access record is written (writer invariant 6): with no room
 * for it, RESOURCE_EXHAUSTED saying so, and nothing disclosed. */
static void reads_work(struct harness *h, uint64_t last, const char *case_id)
{
	struct mlc *c = h_connect(h, "coord-vaulx-bron", NULL, 0);
	mlc_request *get = h_get_case(h, case_id);
	mlc_response *r;

	assert_non_null(c);
	r = h_call(c, get);
	assert_non_null(r);
	printf("GetCase with no room: %s\n", h_code(r) ? r->status->message : "OK");
	if (h_code(r) != ST(OK)) {
		assert_int_equal(h_code(r), ST(RESOURCE_EXHAUSTED));
		assert_non_null(strstr(r->status->message, "access journal"));
		assert_int_equal(r->result_case, MAILLAGE__V1__RESPONSE__RESULT__NOT_SET);
	}
	mlc_response_free(r);
	h_request_free(get);
	mlc_close(c);

	assert_int_equal(h_last_position(h), last);
	r = h_send_as(h, "coord-vaulx-bron",
		      h_platform_query(h, MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD, "vaulx-bron"),
		      ST(OK));
	mlc_response_free(r);
	r = h_send_as(h, "auditor", h_read_events(h, last, 1), ST(OK));
	assert_int_equal(r->events->n_events, 1);
	assert_int_equal(r->events->events[0]->position, last);
	mlc_response_free(r);
}

/* Send *req again (same command_id, a new request_id) on a new connection
 * and free it; it must be answered OK, as a replay or not. Returns the
 * response (free with mlc_response_free). */
static mlc_response *resend(struct harness *h, mlc_request **req, bool replayed)
{
	struct mlc *c = h_connect(h, "bailleur-est", NULL, 0);
	mlc_response *r;

	assert_non_null(c);
	assert_non_null(*req);
	(*req)->request_id = ++h->next_id;
	r = h_call(c, *req);
	assert_int_equal(h_code(r), ST(OK));
	assert_non_null(r->command);
	assert_int_equal(r->command->replayed, replayed);
	h_request_free(*req);
	*req = NULL;
	mlc_close(c);
	return r;
}

/* The refused referral, sent again with its command_id once there is room:
 * recorded now, as a first time (nothing of it was recorded before). */
static void retry_is_recorded(struct harness *h, struct fill *f)
{
	mlc_response_free(resend(h, &f->refused, false));
}

/* The first acknowledged referral, sent again with its command_id after the
 * failed commits: its record survived them, so it is answered as a replay
 * with the same case and nothing new is appended. */
static void retry_is_replayed(struct harness *h, struct fill *f)
{
	uint64_t last = h_last_position(h);
	mlc_response *r = resend(h, &f->acked, true);

	assert_string_equal(r->command->case_id, f->case_id);
	mlc_response_free(r);
	assert_int_equal(h_last_position(h), last);
}

/* Stop cleanly, verify the directory, start again: still at last. */
static void restart_intact(struct harness *h, uint64_t last)
{
	assert_int_equal(h_stop(h, SIGTERM), 0);
	assert_int_equal(h_verify(h), 0);
	assert_int_equal(h_start(h), 0);
	assert_int_equal(h_last_position(h), last);
}

/* Move the data directory of the stopped server h onto a new tmpfs. */
static int onto_tmpfs(struct harness *h)
{
	if (h_sh("mv '%s' '%s.seed' && mkdir '%s'", h->data, h->data, h->data))
		return -1;
	if (mount("tmpfs", h->data, "tmpfs", 0, "size=" TMPFS_SIZE ",mode=0700")) {
		h_sh("rmdir '%s' && mv '%s.seed' '%s'", h->data, h->data, h->data);
		return -1;
	}
	return h_sh("cp -a '%s.seed/.' '%s/' && dd if=/dev/zero of='%s/ballast' bs=1M count=%d "
		     "status=none", h->data, h->data, h->data, BALLAST_MB);
}

static void test_file_system_full(void **state)
{
	struct harness h;
	struct fill f;
	struct mlc *c;
	uint64_t before, last;

	(void)state;
	assert_int_equal(h_setup(&h, NULL), 0);
	assert_int_equal(h_stop(&h, SIGTERM), 0);
	if (geteuid() != 0 || onto_tmpfs(&h)) {
		h_teardown(&h);
		skip();      /* cmocka prints SKIPPED: mounting a tmpfs needs root */
	}
	assert_int_equal(h_start(&h), 0);
	before = h_last_position(&h);
	c = h_connect(&h, "bailleur-est", NULL, 0);
	assert_non_null(c);
	fill(&h, c, &f);
	assert_non_null(strstr(f.message, "no space left on the data directory's file system"));
	assert_non_null(strstr(f.message, "nothing was recorded"));
	last = before + (uint64_t)f.ok;
	reads_work(&h, last, f.case_id);
	assert_true(h_log_contains(&h, "event=storage_full"));

	/* Room is made: writing resumes without a restart. */
	assert_int_equal(h_sh("rm '%s/ballast'", h.data), 0);
	retry_is_replayed(&h, &f);
	retry_is_recorded(&h, &f);
	last++;
	h_expect(&h, "bailleur-est", referral(&h, FILL_MAX + 1), ST(OK));
	last++;
	mlc_close(c);
	restart_intact(&h, last);

	assert_int_equal(h_stop(&h, SIGTERM), 0);
	assert_int_equal(umount(h.data), 0);
	assert_int_equal(h_teardown(&h), 0);
}

static void test_map_full(void **state)
{
	struct harness h;
	struct fill f;
	struct mlc *c;
	uint64_t before, last;

	(void)state;
	assert_int_equal(h_setup(&h, "map_size_mb = 16"), 0);
	before = h_last_position(&h);
	c = h_connect(&h, "bailleur-est", NULL, 0);
	assert_non_null(c);
	fill(&h, c, &f);
	mlc_close(c);
	assert_non_null(strstr(f.message, "maximum size (map_size_mb)"));
	/* The batch whose command met the full map ran its commands directly,
	 * then again nested (writer.c invariant 2): those that fitted are kept. */
	print_message("batches run again nested: %d\n", h_log_count(&h, "event=batch_rerun"));
	if (strncmp(f.message, "cannot commit", 13))      /* met by a command, not the commit */
		assert_true(h_log_count(&h, "event=batch_rerun") >= 1);
	last = before + (uint64_t)f.ok;
	reads_work(&h, last, f.case_id);

	/* The operator grows the map: a larger map_size_mb and a restart. */
	assert_int_equal(h_stop(&h, SIGTERM), 0);
	assert_int_equal(h_verify(&h), 0);
	assert_int_equal(h_sh("sed -i 's/^map_size_mb = 16$/map_size_mb = 64/' '%s'", h.conf), 0);
	assert_int_equal(h_start(&h), 0);
	assert_int_equal(h_last_position(&h), last);
	retry_is_replayed(&h, &f);
	retry_is_recorded(&h, &f);
	last++;
	restart_intact(&h, last);
	assert_int_equal(h_teardown(&h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_system_full),
		cmocka_unit_test(test_map_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
