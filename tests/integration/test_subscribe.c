/* test_subscribe.c - subscriptions through the real server: catch-up then
 * live with no gap at the seam, resume after a disconnect and after a
 * restart, filters and read rules, heartbeats and silent subscribers, many
 * subscribers at once, the library's reconnect and `maillage watch`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mlsub.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define RES(x) MAILLAGE__V1__RESPONSE__RESULT_##x
#define EV(x) MAILLAGE__V1__EVENT__BODY_##x
#define MAX_SEEN 2048
#define MANY 100

/* What one subscriber received: the events, in order. */
struct seen {
	size_t n;
	uint64_t pos[MAX_SEEN];
	char case_id[MAX_SEEN][24];
	uint32_t version[MAX_SEEN];
	int type[MAX_SEEN];
};

static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "heartbeat_s = 1");
}

static int64_t now_ms(void)
{
	return h_now_us() / 1000;
}

/* Refer n households to platform as org, pipelined on one connection; the
 * case id of the last one goes to last (may be NULL). */
static void refer_many(const char *org, int n, const char *platform, char *last)
{
	static int households;     /* each referral a new household */
	struct mlc *c = h_connect(&H, org, NULL, 0);
	mlc_request **reqs = calloc((size_t)n, sizeof(*reqs));

	assert_non_null(c);
	for (int i = 0; i < n; i++) {
		char first[32];

		snprintf(first, sizeof(first), "Abonne%d", ++households);
		reqs[i] = h_refer(&H, platform, "Suivi", first, "1975-05-05");
		assert_int_equal(mlc_send(c, reqs[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		mlc_response *r = mlc_recv(c);

		assert_non_null(r);
		assert_int_equal(h_code(r), 0);
		if (last && r->request_id == reqs[n - 1]->request_id)
			snprintf(last, 64, "%s", r->command->case_id);
		mlc_response_free(r);
	}
	for (int i = 0; i < n; i++)
		h_request_free(reqs[i]);
	free(reqs);
	mlc_close(c);
}

/* Send req (a Subscribe) as org and read the first answer: with code OK,
 * return the connection, subscribed; otherwise check the refusal, NULL. */
static struct mlc *open_sub(const char *org, mlc_request *req, int code, const char *field)
{
	struct mlc *c = h_connect(&H, org, NULL, 0);
	mlc_response *r;

	assert_non_null(c);
	assert_int_equal(mlc_send(c, req), 0);
	r = mlc_recv(c);
	assert_non_null(r);
	assert_int_equal(r->request_id, req->request_id);
	if (h_code(r) != code)
		fail_msg("subscribe as %s: code %d (%s), expected %d", org, h_code(r),
			 r->status ? r->status->message : "", code);
	if (code) {
		if (field)
			assert_string_equal(r->status->field, field);
		mlc_response_free(r);
		mlc_close(c);
		h_request_free(req);
		return NULL;
	}
	assert_int_equal(r->result_case, RES(SUBSCRIBED));
	assert_int_equal(r->subscribed->heartbeat_ms, 1000);
	mlc_response_free(r);
	h_request_free(req);
	return c;
}

/* Tell the server c is alive (a Ping) when it has not heard from this test
 * for half a second: subscribers silent for 3 heartbeats are closed, and the
 * sanitizer build is slow. */
static void keep_alive(struct mlc *c)
{
	static struct mlc *last;
	static int64_t last_ms;
	mlc_request *ping;

	if (c == last && now_ms() - last_ms < 500)
		return;
	ping = h_ping(&H);
	mlc_send(c, ping);
	h_request_free(ping);
	last = c;
	last_ms = now_ms();
}

/* The next frame of the subscription (Pongs skipped), pinging as it goes;
 * NULL when the connection ends or times out. */
static mlc_response *next_frame(struct mlc *c)
{
	mlc_response *r;

	keep_alive(c);
	while ((r = mlc_recv(c)) && r->result_case == RES(PONG))
		mlc_response_free(r);
	return r;
}

/* The position of the next notification (heartbeats skipped). */
static uint64_t next_event(struct mlc *c)
{
	mlc_response *r;
	uint64_t pos;

	while ((r = next_frame(c)) && r->result_case == RES(HEARTBEAT))
		mlc_response_free(r);
	if (!r)
		fail_msg("no notification: %s", mlc_error(c));
	if (r->result_case != RES(NOTIFICATION))
		fail_msg("frame %d instead of a notification (status %d: %s)", r->result_case,
			 h_code(r), r->status ? r->status->message : "");
	pos = r->notification->event->position;
	mlc_response_free(r);
	return pos;
}

/* Everything the subscription delivers up to position head: notifications
 * until a heartbeat vouches for head. */
static void collect(struct mlc *c, uint64_t head, struct seen *s)
{
	mlc_response *r;

	memset(s, 0, sizeof(*s));
	while ((r = next_frame(c))) {
		if (r->result_case == RES(NOTIFICATION)) {
			const Maillage__V1__Event *ev = r->notification->event;

			assert_true(s->n < MAX_SEEN);
			assert_true(ev->position <= head);
			assert_true(s->n == 0 || ev->position > s->pos[s->n - 1]);
			s->pos[s->n] = ev->position;
			snprintf(s->case_id[s->n], sizeof(s->case_id[0]), "%s", ev->case_id);
			s->version[s->n] = ev->case_version;
			s->type[s->n] = (int)ev->body_case;
			s->n++;
		} else if (r->result_case == RES(HEARTBEAT) && r->heartbeat->position >= head) {
			mlc_response_free(r);
			return;
		}
		mlc_response_free(r);
	}
	fail_msg("subscription ended before position %" PRIu64 ": %s", head, mlc_error(c));
}

/* Subscribe as org from `from` with req's filters, collect up to head. */
static void seen_by(const char *org, mlc_request *req, uint64_t head, struct seen *s)
{
	struct mlc *c = open_sub(org, req, 0, NULL);

	collect(c, head, s);
	mlc_close(c);
}

/* How many of s are events of case_id (at versions from..to, inclusive). */
static size_t count_case(const struct seen *s, const char *case_id, uint32_t from, uint32_t to)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->case_id[i], case_id) && s->version[i] >= from &&
		    s->version[i] <= to)
			n++;
	return n;
}

/* ------------------------------------------------------------------------
 * Catch-up, live, resume.
 */

struct producer {
	mlc_request *reqs[300];
	int n;
	int failures;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct mlc *c = h_connect(&H, "bailleur-est", NULL, 0);

	for (int i = 0; c && i < p->n; i++) {
		mlc_response *r = mlc_call(c, p->reqs[i]);

		p->failures += h_code(r) != 0;
		mlc_response_free(r);
	}
	p->failures += c == NULL;
	mlc_close(c);
	return NULL;
}

/* A subscriber from the start while commands keep arriving: every event,
 * once, in order, with no gap where catch-up meets live. */
static void test_catchup_then_live(void **state)
{
	static struct producer p = { .n = 300 };
	uint64_t start = h_last_position(&H), expect;
	pthread_t t;
	struct mlc *c;

	(void)state;
	refer_many("bailleur-est", 300, "vaulx-bron", NULL);
	for (int i = 0; i < p.n; i++) {
		char first[32];

		snprintf(first, sizeof(first), "Live%d", i);
		p.reqs[i] = h_refer(&H, "vaulx-bron", "Couture", first, "1990-09-09");
	}
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, start, NULL, NULL), 0, NULL);
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	for (expect = start + 1; expect <= start + 600; expect++)
		assert_int_equal(next_event(c), expect);
	pthread_join(t, NULL);
	assert_int_equal(p.failures, 0);
	assert_int_equal(h_last_position(&H), start + 600);
	/* and live from here on */
	refer_many("bailleur-est", 1, "vaulx-bron", NULL);
	assert_int_equal(next_event(c), start + 601);
	mlc_close(c);
	for (int i = 0; i < p.n; i++)
		h_request_free(p.reqs[i]);
}

/* A subscriber that reconnects with its last position gets exactly the
 * events after it; from_now starts at the head. */
static void test_resume_after_disconnect(void **state)
{
	uint64_t head;
	struct mlc *c;
	mlc_request *req;
	mlc_response *r;

	(void)state;
	refer_many("bailleur-est", 20, "vaulx-bron", NULL);
	head = h_last_position(&H);
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, head - 20, NULL, NULL), 0, NULL);
	for (uint64_t i = 1; i <= 7; i++)
		assert_int_equal(next_event(c), head - 20 + i);
	mlc_close(c);
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, head - 13, NULL, NULL), 0, NULL);
	for (uint64_t i = 8; i <= 20; i++)
		assert_int_equal(next_event(c), head - 20 + i);
	mlc_close(c);

	req = h_subscribe(&H, 0, NULL, NULL);
	req->subscribe->from_now = true;
	c = h_connect(&H, "coord-vaulx-bron", NULL, 0);
	r = h_call(c, req);
	assert_int_equal(h_code(r), 0);
	assert_int_equal(r->subscribed->from_position, head);
	assert_int_equal(r->subscribed->head_position, head);
	mlc_response_free(r);
	h_request_free(req);
	refer_many("bailleur-est", 1, "vaulx-bron", NULL);
	assert_int_equal(next_event(c), head + 1);
	mlc_close(c);
}

/* Shutdown ends a subscription with UNAVAILABLE and the position reached;
 * resuming from it after the restart (and after a crash) loses nothing and
 * repeats nothing. */
static void test_resume_after_restart(void **state)
{
	uint64_t head = h_last_position(&H), last = head, ended = 0;
	struct mlc *c;
	mlc_response *r;

	(void)state;
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, head, NULL, NULL), 0, NULL);
	refer_many("bailleur-est", 5, "vaulx-bron", NULL);
	assert_int_equal(next_event(c), head + 1);
	assert_int_equal(next_event(c), head + 2);
	last = head + 2;
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	while ((r = next_frame(c))) {
		if (r->result_case == RES(NOTIFICATION)) {
			assert_int_equal(r->notification->event->position, ++last);
		} else if (r->result_case == RES(ENDED)) {
			assert_int_equal(h_code(r), ST(UNAVAILABLE));
			assert_non_null(strstr(r->status->message, "shutting down"));
			ended = r->ended->position;
		}
		mlc_response_free(r);
	}
	mlc_close(c);
	assert_int_equal(ended, last);
	assert_int_equal(h_start(&H), 0);
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, last, NULL, NULL), 0, NULL);
	for (uint64_t p = last + 1; p <= head + 5; p++)
		assert_int_equal(next_event(c), p);
	refer_many("bailleur-est", 1, "vaulx-bron", NULL);
	assert_int_equal(next_event(c), head + 6);
	mlc_close(c);

	/* a crash: the position is the log's, so it survives too */
	assert_int_equal(h_stop(&H, SIGKILL), 128 + SIGKILL);
	assert_int_equal(h_start(&H), 0);
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, head + 4, NULL, NULL), 0, NULL);
	assert_int_equal(next_event(c), head + 5);
	assert_int_equal(next_event(c), head + 6);
	mlc_close(c);
}

struct stream_load {
	int n, acked;
};

/* Refer n households, all pipelined, until the server goes away. */
static void *stream_referrals(void *arg)
{
	struct stream_load *l = arg;
	struct mlc *c = h_connect(&H, "bailleur-est", NULL, 0);
	mlc_response *r;

	for (int i = 0; c && i < l->n; i++) {
		char first[32];
		mlc_request *req;

		snprintf(first, sizeof(first), "Crash%d", i);
		req = h_refer(&H, "vaulx-bron", "Panne", first, "1955-05-05");
		mlc_send(c, req);
		h_request_free(req);
	}
	while (c && (r = mlc_recv(c))) {
		l->acked += h_code(r) == 0;
		mlc_response_free(r);
	}
	mlc_close(c);
	return NULL;
}

/* Notifications are read from committed data only: after a crash in the
 * middle of a stream of commands, every event a subscriber was told about is
 * in the log, at its position, with its command id. */
static void test_notified_events_survive_a_crash(void **state)
{
	static struct stream_load load = { .n = 3000 };
	static uint8_t ids[3000][16];
	uint64_t head = h_last_position(&H), last;
	struct mlc *c;
	pthread_t t;
	mlc_response *r;
	uint64_t n = 0, pos;

	(void)state;
	c = open_sub("auditor", h_subscribe(&H, head, NULL, NULL), 0, NULL);
	assert_int_equal(pthread_create(&t, NULL, stream_referrals, &load), 0);
	while ((r = next_frame(c))) {
		if (r->result_case == RES(NOTIFICATION)) {
			const Maillage__V1__Event *ev = r->notification->event;

			assert_int_equal(ev->position, head + n + 1);
			assert_int_equal(ev->command_id.len, 16);
			memcpy(ids[n++], ev->command_id.data, 16);
			if (n == 300)
				assert_int_equal(h_stop(&H, SIGKILL), 128 + SIGKILL);
		}
		mlc_response_free(r);
	}
	mlc_close(c);
	pthread_join(t, NULL);
	assert_int_equal(h_start(&H), 0);
	last = h_last_position(&H);
	print_message("notified before the crash: %" PRIu64 "; committed: %" PRIu64
		      "; acknowledged: %d\n", n, last - head, load.acked);
	assert_true(n >= 300);
	assert_true(head + n <= last);
	for (pos = head + 1; pos <= head + n; ) {
		r = h_send_as(&H, "auditor", h_read_events(&H, pos, 0), 0);
		for (size_t i = 0; i < r->events->n_events && pos <= head + n; i++, pos++) {
			assert_int_equal(r->events->events[i]->position, pos);
			assert_memory_equal(r->events->events[i]->command_id.data,
					    ids[pos - head - 1], 16);
		}
		mlc_response_free(r);
	}
	assert_int_equal(h_verify(&H), 0);
}

/* ------------------------------------------------------------------------
 * Filters and read rules.
 */

static void test_read_rules(void **state)
{
	uint64_t from = h_last_position(&H), head;
	char a[64], b[64];
	mlc_response *r;
	struct seen s;
	struct mlc *c;
	mlc_request *req;

	(void)state;
	/* A: bailleur-est's referral, carried by asso-habitat; asso-relais comes
	 * and goes. B: ccas-vaulx's referral. C: on the other platform. */
	refer_many("bailleur-est", 1, "vaulx-bron", a);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, a), 0);
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, a, "asso-habitat"), 0);          /* v3 */
	h_expect(&H, "coord-vaulx-bron", h_assign(&H, a, "asso-relais",
		 MAILLAGE__V1__PARTNER_ROLE__PARTNER_CO_REFERENT), 0);                    /* v4 */
	h_expect(&H, "asso-relais", h_visit(&H, a, "2026-11-02"), 0);                   /* v5 */
	h_expect(&H, "coord-vaulx-bron", h_release(&H, a, "asso-relais"), 0);           /* v6 */
	h_expect(&H, "asso-habitat", h_visit(&H, a, "2026-11-09"), 0);                  /* v7 */
	r = h_send_as(&H, "ccas-vaulx", h_refer(&H, "vaulx-bron", "Autre", "Cas", "1970-01-01"), 0);
	snprintf(b, sizeof(b), "%s", r->command->case_id);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, b), 0);
	refer_many("mdm-venissieux", 1, "venissieux", NULL);
	head = h_last_position(&H);
	assert_int_equal(head, from + 10);

	seen_by("coord-vaulx-bron", h_subscribe(&H, from, NULL, NULL), head, &s);
	assert_int_equal(s.n, 9);                       /* all of A and B, not C */
	assert_int_equal(count_case(&s, a, 1, 7), 7);
	assert_int_equal(count_case(&s, b, 1, 2), 2);

	seen_by("asso-habitat", h_subscribe(&H, from, NULL, NULL), head, &s);
	assert_int_equal(s.n, 5);                       /* from its acceptance on */
	assert_int_equal(count_case(&s, a, 3, 7), 5);

	seen_by("asso-relais", h_subscribe(&H, from, NULL, NULL), head, &s);
	assert_int_equal(s.n, 3);                       /* assigned, its visit, released */
	assert_int_equal(count_case(&s, a, 4, 6), 3);

	seen_by("bailleur-est", h_subscribe(&H, from, NULL, NULL), head, &s);
	assert_int_equal(s.n, 7);                       /* its referral, not B */
	assert_int_equal(count_case(&s, a, 1, 7), 7);

	seen_by("auditor", h_subscribe(&H, from, NULL, NULL), head, &s);
	assert_int_equal(s.n, 10);                      /* both platforms */

	/* filters */
	req = h_subscribe(&H, from, NULL, NULL);
	req->subscribe->n_event_types = 1;
	req->subscribe->event_types = malloc(sizeof(*req->subscribe->event_types));
	req->subscribe->event_types[0] = MAILLAGE__V1__EVENT_TYPE__VISIT_RECORDED;
	seen_by("coord-vaulx-bron", req, head, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.type[0], EV(VISIT_RECORDED));
	assert_int_equal(count_case(&s, a, 5, 5) + count_case(&s, a, 7, 7), 2);

	seen_by("coord-vaulx-bron", h_subscribe(&H, from, NULL, b), head, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(count_case(&s, b, 1, 2), 2);

	seen_by("auditor", h_subscribe(&H, from, "venissieux", NULL), head, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pos[0], head);

	req = h_subscribe(&H, from, NULL, NULL);
	req->subscribe->involved_only = true;
	seen_by("coord-vaulx-bron", req, head, &s);
	assert_int_equal(s.n, 0);                       /* oversees, carries nothing */
	req = h_subscribe(&H, from, NULL, NULL);
	req->subscribe->involved_only = true;
	seen_by("asso-habitat", req, head, &s);
	assert_int_equal(s.n, 5);

	/* refusals */
	open_sub("funder-metropole", h_subscribe(&H, 0, NULL, NULL), ST(PERMISSION_DENIED), NULL);
	open_sub("asso-habitat", h_subscribe(&H, 0, NULL, b), ST(PERMISSION_DENIED), NULL);
	open_sub("coord-vaulx-bron", h_subscribe(&H, 0, NULL, "VNX-2026-999999"),
		 ST(NOT_FOUND), NULL);
	open_sub("coord-vaulx-bron", h_subscribe(&H, 0, "venissieux", NULL),
		 ST(PERMISSION_DENIED), "subscribe.platform");
	open_sub("coord-vaulx-bron", h_subscribe(&H, 0, "nowhere", NULL),
		 ST(INVALID_ARGUMENT), "subscribe.platform");
	open_sub("coord-vaulx-bron", h_subscribe(&H, 0, "venissieux", a),
		 ST(PERMISSION_DENIED), "subscribe.platform");
	open_sub("coord-vaulx-bron", h_subscribe(&H, head + 1, NULL, NULL),
		 ST(INVALID_ARGUMENT), "subscribe.from_position");
	open_sub("coord-vaulx-bron", h_subscribe(&H, 0, NULL, "VNX-26-1"),
		 ST(INVALID_ARGUMENT), "subscribe.case_id");

	/* one subscription per connection; other requests still answered */
	c = open_sub("coord-vaulx-bron", h_subscribe(&H, head, NULL, NULL), 0, NULL);
	req = h_subscribe(&H, 0, NULL, NULL);
	r = h_call(c, req);
	assert_int_equal(h_code(r), ST(FAILED_PRECONDITION));
	mlc_response_free(r);
	h_request_free(req);
	req = h_get_case(&H, a);
	r = h_call(c, req);
	assert_int_equal(h_code(r), 0);
	mlc_response_free(r);
	h_request_free(req);
	mlc_close(c);
}

/* ------------------------------------------------------------------------
 * Heartbeats, silence, many subscribers.
 */

/* An idle subscriber gets heartbeats carrying the head; one that answers
 * them (Ping) stays, one that never says anything is closed after three
 * heartbeat intervals. */
static void test_heartbeats(void **state)
{
	uint64_t head = h_last_position(&H);
	struct mlc *quiet, *alive;
	mlc_response *r;
	int64_t t0 = now_ms();
	int beats = 0;

	(void)state;
	quiet = open_sub("coord-vaulx-bron", h_subscribe(&H, head, NULL, NULL), 0, NULL);
	while ((r = mlc_recv(quiet))) {      /* never a Ping */
		assert_int_equal(r->result_case, RES(HEARTBEAT));
		assert_int_equal(r->heartbeat->position, head);
		assert_int_equal(r->heartbeat->head_position, head);
		assert_true(r->heartbeat->server_time > 0);
		beats++;
		mlc_response_free(r);
	}
	assert_false(mlc_timed_out(quiet));     /* closed, not merely quiet */
	print_message("silent subscriber: %d heartbeats, closed after %" PRId64 " ms\n",
		      beats, now_ms() - t0);
	assert_true(beats >= 1);
	assert_true(now_ms() - t0 >= 2500);
	assert_true(h_log_contains(&H, "subscriber silent for three heartbeat intervals"));
	mlc_close(quiet);

	/* one that pings on every heartbeat stays, well past three intervals */
	alive = open_sub("asso-habitat", h_subscribe(&H, head, NULL, NULL), 0, NULL);
	for (beats = 0; beats < 5; ) {
		r = next_frame(alive);      /* pings */
		assert_non_null(r);
		beats += r->result_case == RES(HEARTBEAT);
		mlc_response_free(r);
	}
	mlc_close(alive);
}

/* Say we are alive on each of the first n subscriptions. */
static void ping_all(struct mlc **subs, int n)
{
	for (int i = 0; i < n; i++) {
		mlc_request *ping = h_ping(&H);

		assert_int_equal(mlc_send(subs[i], ping), 0);
		h_request_free(ping);
	}
}

/* Many subscribers at once each get every event, in order. */
static void test_many_subscribers(void **state)
{
	static struct mlc *subs[MANY];
	uint64_t head = h_last_position(&H);

	(void)state;
	for (int i = 0; i < MANY; i++) {
		subs[i] = open_sub(i % 2 ? "coord-vaulx-bron" : "auditor",
				   h_subscribe(&H, head, "vaulx-bron", NULL), 0, NULL);
		if (i % 10 == 9)
			ping_all(subs, i + 1);     /* opening them all takes a while */
	}
	refer_many("bailleur-est", 50, "vaulx-bron", NULL);
	for (int i = 0; i < MANY; i++) {
		for (uint64_t p = head + 1; p <= head + 50; p++)
			assert_int_equal(next_event(subs[i]), p);
		mlc_close(subs[i]);
	}
}

/* ------------------------------------------------------------------------
 * The client library and maillage watch.
 */

struct follower {
	uint64_t from;
	uint64_t got[64];
	atomic_int n;
	int want;
	int rc;
	char err[256];
	struct mlc_opts conn;
	char addr[32], cert[700], key[700], ca[700];
};

static int follow_event(void *arg, const Maillage__V1__Event *ev)
{
	struct follower *f = arg;
	int n = atomic_load(&f->n);

	f->got[n] = ev->position;
	atomic_store(&f->n, n + 1);
	return n + 1 == f->want ? 7 : 0;
}

static void *follow(void *arg)
{
	struct follower *f = arg;
	Maillage__V1__Subscribe filter = MAILLAGE__V1__SUBSCRIBE__INIT;
	struct mlc_sub_opts o = { .conn = f->conn, .filter = &filter,
				  .on_event = follow_event, .arg = f };
	uint64_t pos = f->from;

	f->rc = mlc_subscribe(&o, &pos, f->err, sizeof(f->err));
	return NULL;
}

static void dev_files(struct follower *f, const char *org)
{
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", H.port);
	snprintf(f->cert, sizeof(f->cert), "%s/%s.crt", H.certs, org);
	snprintf(f->key, sizeof(f->key), "%s/%s.key", H.certs, org);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", H.certs);
	f->conn = (struct mlc_opts){ .addr = f->addr, .cert = f->cert, .key = f->key,
				     .ca = f->ca, .timeout_ms = 5000 };
}

/* mlc_subscribe() across a server restart: it reconnects by itself and
 * resumes, every event once and in order. */
static void test_library_reconnects(void **state)
{
	static struct follower f = { .want = 40 };
	pthread_t t;

	(void)state;
	f.from = h_last_position(&H);
	dev_files(&f, "coord-vaulx-bron");
	refer_many("bailleur-est", 20, "vaulx-bron", NULL);
	assert_int_equal(pthread_create(&t, NULL, follow, &f), 0);
	for (int i = 0; i < 500 && atomic_load(&f.n) < 20; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&f.n), 20);
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	usleep(300000);
	assert_int_equal(h_start(&H), 0);
	refer_many("bailleur-est", 20, "vaulx-bron", NULL);
	pthread_join(t, NULL);
	assert_int_equal(f.rc, 7);
	for (int i = 0; i < 40; i++)
		assert_int_equal(f.got[i], f.from + 1 + (uint64_t)i);
}

/* Run maillage watch as org with args; its output into out. Exit status. */
static int watch(const char *org, const char *args, char *out, size_t len)
{
	char cmd[3000];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s/maillage' --addr 127.0.0.1:%d --cert '%s/%s.crt' "
		 "--key '%s/%s.key' --ca '%s/ca.crt' watch %s 2>/dev/null", H.bin, H.port,
		 H.certs, org, H.certs, org, H.certs, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	return WEXITSTATUS(pclose(p));
}

/* maillage watch keeps its position file: a second run goes on where the
 * first stopped; --json prints one Event per line. */
static void test_watch_resumes(void **state)
{
	uint64_t head = h_last_position(&H);
	char args[1200], out[8192], want[64], posfile[700], *line;
	FILE *f;

	(void)state;
	refer_many("bailleur-est", 5, "vaulx-bron", NULL);
	snprintf(posfile, sizeof(posfile), "%s/watch.pos", H.dir);
	f = fopen(posfile, "w");
	assert_non_null(f);
	fprintf(f, "%" PRIu64 "\n", head);
	fclose(f);
	snprintf(args, sizeof(args), "--position-file '%s' --count 3 --json", posfile);
	assert_int_equal(watch("coord-vaulx-bron", args, out, sizeof(out)), 0);
	line = out;
	for (uint64_t p = head + 1; p <= head + 3; p++) {
		snprintf(want, sizeof(want), "{\"position\":%" PRIu64 ",", p);
		assert_int_equal(strncmp(line, want, strlen(want)), 0);
		assert_non_null(strstr(line, "\"household_referred\":"));
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_int_equal(*line, 0);
	snprintf(args, sizeof(args), "--position-file '%s' --count 2", posfile);
	assert_int_equal(watch("coord-vaulx-bron", args, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "#%" PRIu64 " v1 ", head + 4);
	assert_int_equal(strncmp(out, want, strlen(want)), 0);
	snprintf(want, sizeof(want), "\n#%" PRIu64 " v1 ", head + 5);
	assert_non_null(strstr(out, want));
	f = fopen(posfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(want, sizeof(want), f));
	fclose(f);
	assert_int_equal(strtoull(want, NULL, 10), head + 5);

	/* a refusal is not retried: the funder gets its answer and exit 2; nor
	 * are options that can never work */
	assert_int_equal(watch("funder-metropole", "--count 1", out, sizeof(out)), 2);
	assert_int_equal(watch("no-such-org", "--count 1", out, sizeof(out)), 2);   /* no cert file */
	snprintf(args, sizeof(args), "--position-file '%s'", H.dir);
	assert_int_equal(watch("coord-vaulx-bron", args, out, sizeof(out)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catchup_then_live),
		cmocka_unit_test(test_resume_after_disconnect),
		cmocka_unit_test(test_resume_after_restart),
		cmocka_unit_test(test_notified_events_survive_a_crash),
		cmocka_unit_test(test_read_rules),
		cmocka_unit_test(test_heartbeats),
		cmocka_unit_test(test_many_subscribers),
		cmocka_unit_test(test_library_reconnects),
		cmocka_unit_test(test_watch_resumes),
	};

	return cmocka_run_group_tests_name("subscribe", tests, setup, h_group_teardown);
}
