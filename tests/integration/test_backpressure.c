/* test_backpressure.c - a subscriber that stops reading: while 100 000 events
 * are appended the server's memory stays bounded, other clients keep their
 * latency and a reading subscriber gets everything; past subscriber_stall_s
 * the stalled one is cut off with RESOURCE_EXHAUSTED and resumes cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define RES(x) MAILLAGE__V1__RESPONSE__RESULT_##x

/* Under the sanitizers everything is several times slower and freed memory
 * is held in quarantine: fewer events, and no bound on memory (the plain
 * build checks it). */
#if defined(__SANITIZE_ADDRESS__)
#define N_EVENTS 5000
#define CHECK_MEMORY 0
#else
#define N_EVENTS 100000
#define CHECK_MEMORY 1
#endif
#define PRODUCERS 2
#define IN_FLIGHT 200           /* pipelined per producer connection */
#define MAX_PINGS 100000
#define STALL_EVENTS 24000      /* of STALL_NOTES bytes and more: more than */
#define STALL_NOTES 200         /* the socket buffers hold */
#define SLOW_READ_US 12000000   /* how long the slow reader reads slowly */
/* What the server may grow by while a subscriber is stalled (anonymous
 * memory: the LMDB map is file-backed and grows with the log itself). */
#define RSS_GROWTH_LIMIT_KB (16 * 1024)

static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "heartbeat_s = 1\nsubscriber_stall_s = 600");
}

/* The server's anonymous resident memory, in KiB. */
static long server_rss_anon_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)H.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return kb;
}

/* ------------------------------------------------------------------------
 * Threads: producers, a pinger (latency), a stalled subscriber's pings, a
 * reading subscriber.
 */

static atomic_bool producing;

struct producer {
	int batch, id, n;
	size_t notes;          /* bytes of correlation id per referral (bigger events) */
	int failures;
};

/* Refer n new households, IN_FLIGHT at a time on one connection. */
static void *produce(void *arg)
{
	struct producer *p = arg;
	struct mlc *c = h_connect(&H, "bailleur-est", NULL, 0);
	int sent = 0, done = 0;

	if (!c) {
		p->failures = p->n;
		return NULL;
	}
	mlc_set_timeout(c, 120000);    /* a batch of hundreds is slow under the sanitizers */
	while (done < p->n) {
		while (sent < p->n && sent - done < IN_FLIGHT) {
			char first[32];
			mlc_request *req;

			snprintf(first, sizeof(first), "B%dP%dN%d", p->batch, p->id, sent++);
			req = h_refer(&H, "vaulx-bron", "Pression", first, "1966-06-06");
			if (p->notes) {
				/* Not personal, so notifications carry it (they leave
				 * personal fields out). */
				char **pad = &req->correlation_id;

				*pad = malloc(p->notes + 1);
				assert_non_null(*pad);
				memset(*pad, 'n', p->notes);
				(*pad)[p->notes] = 0;
			}
			if (mlc_send(c, req))
				p->failures++;
			h_request_free(req);
		}
		mlc_response *r = mlc_recv(c);

		if (!r) {
			p->failures += p->n - done;
			break;
		}
		p->failures += h_code(r) != 0;
		mlc_response_free(r);
		done++;
	}
	mlc_close(c);
	return NULL;
}

struct pinger {
	int64_t rtt_us[MAX_PINGS];
	int n, failures;
};

/* Ping every 20 ms on one connection while the producers run. */
static void *pinger(void *arg)
{
	struct pinger *p = arg;
	struct mlc *c = h_connect(&H, "auditor", NULL, 0);

	while (c && atomic_load(&producing) && p->n < MAX_PINGS) {
		mlc_request *req = h_ping(&H);
		int64_t t0 = h_now_us();
		mlc_response *r = mlc_call(c, req);

		if (h_code(r) == 0)
			p->rtt_us[p->n++] = h_now_us() - t0;
		else
			p->failures++;
		mlc_response_free(r);
		h_request_free(req);
		usleep(20000);
	}
	p->failures += c == NULL;
	mlc_close(c);
	return NULL;
}

/* The stalled subscriber never reads, but says it is alive every second. */
static void *keep_alive(void *arg)
{
	struct mlc *c = arg;

	while (atomic_load(&producing)) {
		mlc_request *req = h_ping(&H);

		mlc_send(c, req);
		h_request_free(req);
		sleep(1);
	}
	return NULL;
}

struct reader {
	struct mlc *c;
	uint64_t from, to;
	uint64_t got;          /* events received, in order */
	int disorder;
};

/* A subscriber that reads everything, pinging as it goes. */
static void *read_all(void *arg)
{
	struct reader *rd = arg;
	int64_t last_ping = h_now_us();
	uint64_t expect = rd->from + 1;

	while (expect <= rd->to) {
		mlc_response *r = mlc_recv(rd->c);

		if (!r)
			break;
		if (r->result_case == RES(NOTIFICATION)) {
			rd->disorder += r->notification->event->position != expect;
			expect = r->notification->event->position + 1;
			rd->got++;
		}
		mlc_response_free(r);
		if (h_now_us() - last_ping > 500000) {
			mlc_request *req = h_ping(&H);

			mlc_send(rd->c, req);
			h_request_free(req);
			last_ping = h_now_us();
		}
	}
	return NULL;
}

static struct mlc *subscribe(const char *org, uint64_t from)
{
	struct mlc *c = h_connect(&H, org, NULL, 0);
	mlc_request *req = h_subscribe(&H, from, NULL, NULL);
	mlc_response *r;

	assert_non_null(c);
	r = h_call(c, req);
	assert_int_equal(h_code(r), 0);
	assert_int_equal(r->result_case, RES(SUBSCRIBED));
	mlc_response_free(r);
	h_request_free(req);
	return c;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Append n events (referrals with notes bytes of correlation id) with the
 * producers; return the seconds it took; *failures gets the commands that
 * failed. No cmocka assertion: it may run in a thread of its own. */
static double append(int n, size_t notes, int *failures)
{
	static struct producer prod[PRODUCERS];
	static int batches;        /* every household a new one */
	pthread_t t[PRODUCERS];
	int64_t t0 = h_now_us();

	bool started[PRODUCERS];

	*failures = 0;
	for (int i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){ .batch = batches, .id = i, .n = n / PRODUCERS,
					     .notes = notes };
		started[i] = !pthread_create(&t[i], NULL, produce, &prod[i]);
		if (!started[i])
			prod[i].failures = prod[i].n;
	}
	for (int i = 0; i < PRODUCERS; i++) {
		if (started[i])
			pthread_join(t[i], NULL);
		*failures += prod[i].failures;
	}
	batches++;
	return (double)(h_now_us() - t0) / 1e6;
}

/* ------------------------------------------------------------------------
 * The tests.
 */

static void test_stalled_subscriber_costs_bounded_memory(void **state)
{
	static struct pinger pg;
	static struct reader rd;
	uint64_t head = h_last_position(&H);
	struct mlc *stalled;
	pthread_t tp, tk, tr;
	long rss_before, rss_after;
	double secs;
	int failures;

	(void)state;
	stalled = subscribe("coord-vaulx-bron", head);
	rd = (struct reader){ .c = subscribe("auditor", head), .from = head,
			      .to = head + N_EVENTS };
	atomic_store(&producing, true);
	rss_before = server_rss_anon_kb();
	assert_int_equal(pthread_create(&tp, NULL, pinger, &pg), 0);
	assert_int_equal(pthread_create(&tk, NULL, keep_alive, stalled), 0);
	assert_int_equal(pthread_create(&tr, NULL, read_all, &rd), 0);
	secs = append(N_EVENTS, 0, &failures);
	assert_int_equal(failures, 0);
	pthread_join(tr, NULL);
	rss_after = server_rss_anon_kb();
	atomic_store(&producing, false);
	pthread_join(tp, NULL);
	pthread_join(tk, NULL);

	qsort(pg.rtt_us, (size_t)pg.n, sizeof(pg.rtt_us[0]), cmp_i64);
	print_message("%d events appended in %.1f s (%.0f/s) with a stalled subscriber\n",
		      N_EVENTS, secs, N_EVENTS / secs);
	print_message("server anonymous memory: %ld KiB before, %ld KiB after (+%ld KiB)\n",
		      rss_before, rss_after, rss_after - rss_before);
	assert_true(pg.n > 0);
	print_message("ping latency of another client: median %.2f ms, p99 %.2f ms, "
		      "max %.2f ms over %d pings\n", pg.rtt_us[pg.n / 2] / 1000.0,
		      pg.rtt_us[pg.n * 99 / 100] / 1000.0, pg.rtt_us[pg.n - 1] / 1000.0, pg.n);
	assert_int_equal(h_last_position(&H), head + N_EVENTS);
	assert_int_equal(rd.got, N_EVENTS);      /* the reading subscriber got all */
	assert_int_equal(rd.disorder, 0);
	assert_int_equal(pg.failures, 0);
	/* other clients keep their latency: a median under 200 ms is generous
	 * (0.3 ms here, 0.7 ms under the sanitizers); a loop held up by the
	 * stalled subscriber would show seconds */
	assert_true(pg.rtt_us[pg.n / 2] < 200000);
	if (CHECK_MEMORY)
		assert_true(rss_after - rss_before < RSS_GROWTH_LIMIT_KB);
	/* the stalled one is still connected (stall limit 600 s) and, once it
	 * reads, gets the events from where it stopped */
	for (uint64_t p = head + 1; p <= head + 100; ) {
		mlc_response *r = mlc_recv(stalled);

		assert_non_null(r);
		if (r->result_case == RES(NOTIFICATION))
			assert_int_equal(r->notification->event->position, p++);
		mlc_response_free(r);
	}
	mlc_close(stalled);
	mlc_close(rd.c);
}

static void *append_stall_load(void *arg)
{
	append(STALL_EVENTS, STALL_NOTES, arg);
	return NULL;
}

/* Past subscriber_stall_s, a subscriber that does not read is cut off with
 * RESOURCE_EXHAUSTED and the position to resume after: the frames queued
 * before it, then that last frame, reach it if it reads right away. */
static void test_stalled_subscriber_is_disconnected(void **state)
{
	uint64_t head, last, ended = 0;
	struct mlc *stalled;
	pthread_t tk, ta;
	mlc_response *r;
	int64_t t0;
	int failures;

	(void)state;
	assert_int_equal(h_teardown(&H), 0);
	assert_int_equal(h_setup(&H, "heartbeat_s = 1\nsubscriber_stall_s = 2"), 0);
	head = h_last_position(&H);
	stalled = subscribe("coord-vaulx-bron", head);
	atomic_store(&producing, true);
	assert_int_equal(pthread_create(&tk, NULL, keep_alive, stalled), 0);
	assert_int_equal(pthread_create(&ta, NULL, append_stall_load, &failures), 0);
	t0 = h_now_us();
	while (!h_log_contains(&H, "notifications left unread for 2 s") &&
	       h_now_us() - t0 < 300000000)
		usleep(50000);
	atomic_store(&producing, false);
	pthread_join(tk, NULL);
	assert_true(h_log_contains(&H, "event=subscription_ended"));
	last = head;
	while ((r = mlc_recv(stalled))) {
		if (r->result_case == RES(NOTIFICATION)) {
			assert_int_equal(r->notification->event->position, ++last);
		} else if (r->result_case == RES(ENDED)) {
			assert_int_equal(h_code(r), ST(RESOURCE_EXHAUSTED));
			assert_non_null(strstr(r->status->message, "left unread"));
			ended = r->ended->position;
		}
		mlc_response_free(r);
	}
	mlc_close(stalled);
	pthread_join(ta, NULL);
	assert_int_equal(failures, 0);
	print_message("stalled subscriber cut off after position %" PRIu64 " of %d\n",
		      last - head, STALL_EVENTS);
	assert_true(last > head);
	assert_int_equal(ended, last);
	assert_true(last < head + STALL_EVENTS);
	/* resuming from there loses nothing */
	stalled = subscribe("coord-vaulx-bron", last);
	r = mlc_recv(stalled);
	assert_non_null(r);
	assert_int_equal(r->result_case, RES(NOTIFICATION));
	assert_int_equal(r->notification->event->position, last + 1);
	mlc_response_free(r);
	mlc_close(stalled);
}

/* A subscriber that reads, only slowly, keeps its subscription however long
 * its output stays over the mark: the stall limit is about taking nothing.
 * The server sees what a reader takes through the bytes TCP acknowledges,
 * and on loopback (64 KiB segments) the receiver opens its window in steps
 * that can be seconds apart for a reader this slow: with a 2 s limit it was
 * sometimes cut off (under load, and in a sanitizer run). 4 s, for a slow
 * phase three times as long. */
static void test_slow_reader_is_not_cut_off(void **state)
{
	uint64_t head, expect;
	int64_t t0, last_ping = 0;
	struct mlc *slow;
	pthread_t ta;
	mlc_response *r;
	int failures;

	(void)state;
	assert_int_equal(h_teardown(&H), 0);
	assert_int_equal(h_setup(&H, "heartbeat_s = 1\nsubscriber_stall_s = 4"), 0);
	head = h_last_position(&H);
	t0 = h_now_us();
	slow = subscribe("coord-vaulx-bron", head);
	assert_int_equal(pthread_create(&ta, NULL, append_stall_load, &failures), 0);
	for (expect = head + 1; expect <= head + STALL_EVENTS; ) {
		r = mlc_recv(slow);
		if (!r)
			fail_msg("slow reader at position %" PRIu64 ": %s", expect, mlc_error(slow));
		if (r->result_case == RES(ENDED))
			fail_msg("slow reader cut off: %s", r->status->message);
		if (r->result_case == RES(NOTIFICATION))
			assert_int_equal(r->notification->event->position, expect++);
		mlc_response_free(r);
		/* 8 notifications of about 450 bytes per 50 ms, about 70 KB/s:
		 * the output drains very slowly, but it drains */
		if (h_now_us() - t0 < SLOW_READ_US && expect % 8 == 0)
			usleep(50000);
		if (h_now_us() - last_ping > 1000000) {
			mlc_request *ping = h_ping(&H);

			if (mlc_send(slow, ping))
				fail_msg("slow reader at position %" PRIu64 ": ping: %s", expect,
					 mlc_error(slow));
			h_request_free(ping);
			last_ping = h_now_us();
		}
	}
	pthread_join(ta, NULL);
	assert_int_equal(failures, 0);
	mlc_close(slow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_subscriber_costs_bounded_memory),
		cmocka_unit_test(test_stalled_subscriber_is_disconnected),
		cmocka_unit_test(test_slow_reader_is_not_cut_off),
	};

	return cmocka_run_group_tests_name("backpressure", tests, setup, h_group_teardown);
}
