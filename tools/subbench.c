/* subbench.c - maillage-subbench, the subscription benchmark: delivery latency
 * from commit to notification for many subscribers under a steady command
 * rate, the fill rate of a large log, and the catch-up speed of a subscriber.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include "mlclient.h"

#define PROG "maillage-subbench"
#define BENCH_MAX_FRAME (64u << 20)       /* what a client takes, as mlclient */
#define BENCH_TIMEOUT_MS 30000            /* blocking connections: each step */
#define BENCH_TICK_MS 100                 /* how often the loop looks around */
#define BENCH_CONNECT_LIMIT_S 120         /* every subscriber live by then */
#define BENCH_CONNECT_PARALLEL 64         /* handshakes under way at once */
#define BENCH_PRODUCER_INFLIGHT 1024      /* latency: commands unanswered at most */
#define BENCH_PROGRESS_S 10               /* fill: a progress line this often */
#define SUBSCRIBE_ID 1                    /* request_id of every Subscribe */

static const char usage_text[] =
	"usage: " PROG " [OPTIONS] latency|fill|catchup\n"
	"\n"
	"Benchmarks the subscriptions of a running maillaged over mutual TLS.\n"
	"  latency   SUBSCRIBERS connections (one event loop) subscribe from now as\n"
	"            the subscriber organisation while a producer sends ReferHousehold\n"
	"            commands as the producer organisation, RATE per second for\n"
	"            SECONDS; prints the delivery latency (receive time minus\n"
	"            event.recorded_at) and the commands' round trip\n"
	"  fill      sends ReferHousehold commands, pipelined over CONNECTIONS, until\n"
	"            the log holds EVENTS events; prints the commands per second\n"
	"  catchup   one subscriber (on the event loop too) reads the log from\n"
	"            position 0 up to its head; prints the events per second\n"
	"\n"
	"options:\n"
	"  --addr HOST:PORT         server address (a numeric IP for latency)\n"
	"  --ca FILE                CA that signed the server's certificate\n"
	"  --producer-cert FILE     producer organisation's certificate (latency, fill)\n"
	"  --producer-key FILE      its private key\n"
	"  --subscriber-cert FILE   subscriber organisation's certificate (latency, catchup)\n"
	"  --subscriber-key FILE    its private key\n"
	"  --platform ID            platform referred to and followed (vaulx-bron)\n"
	"  --subscribers N          latency: subscriber connections (1000)\n"
	"  --rate N                 latency: commands per second (25)\n"
	"  --seconds N              latency: how long the producer sends (20)\n"
	"  --drain N                latency: seconds allowed for the last notifications (10)\n"
	"  --events N               fill: the number of events the log must reach (1000000)\n"
	"  --connections N          fill: connections sending at once (4)\n"
	"  --inflight N             fill: commands in flight per connection (256)\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 done, 1 failed (or not every notification arrived), 2 usage.\n";

struct bench_opts {
	const char *addr;
	const char *ca;
	const char *producer_cert;
	const char *producer_key;
	const char *subscriber_cert;
	const char *subscriber_key;
	const char *platform;
	uint64_t subscribers;
	uint64_t rate;
	uint64_t seconds;
	uint64_t drain_s;
	uint64_t events;
	uint64_t connections;
	uint64_t inflight;
	char token[9];          /* this run's mark in household names */
};

/* ------------------------------------------------------------------------- */
/* Clocks and samples. */

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* For intervals. */
static int64_t mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* The server's clock for recorded_at (same machine). */
static int64_t wall_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

static double seconds_between(int64_t from_us, int64_t to_us)
{
	return (double)(to_us - from_us) / 1e6;
}

/* Durations in µs. */
struct samples {
	int64_t *v;
	size_t n, cap;
};

static int samples_add(struct samples *s, int64_t us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		int64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us;
	return 0;
}

static void samples_release(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The sample of rank ceil(permille/1000 * n), in ms; s sorted, not empty. */
static double quantile_ms(const struct samples *s, unsigned permille)
{
	size_t rank = (permille * s->n + 999) / 1000;

	return (double)s->v[rank ? rank - 1 : 0] / 1000.0;
}

/* "median X ms, p90 X ms, p99 X ms, max X ms" (sorts s). */
static void print_quantiles(struct samples *s)
{
	if (s->n == 0) {
		printf("no samples\n");
		return;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
	printf("median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", quantile_ms(s, 500),
	       quantile_ms(s, 900), quantile_ms(s, 990), quantile_ms(s, 1000));
}

/* ------------------------------------------------------------------------- */
/* Requests and responses. */

/* A ReferHousehold request and everything it points to (not to be copied). */
struct refer {
	mlc_request req;
	Maillage__V1__ReferHousehold body;
	Maillage__V1__Referral referral;
	Maillage__V1__Household household;
	Maillage__V1__Person person;
	uint8_t command_id[16];
	char first_name[64];
};

static void refer_init(struct refer *r, const char *platform)
{
	maillage__v1__request__init(&r->req);
	maillage__v1__refer_household__init(&r->body);
	maillage__v1__referral__init(&r->referral);
	maillage__v1__household__init(&r->household);
	maillage__v1__person__init(&r->person);
	r->person.last_name = "Bench";
	r->person.first_name = r->first_name;
	r->person.birth_date = "1980-01-01";
	r->household.adults = 1;
	r->household.reference_person = &r->person;
	r->referral.platform = (char *)platform;
	r->referral.reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	r->referral.household = &r->household;
	r->body.referral = &r->referral;
	r->req.body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	r->req.refer_household = &r->body;
	r->req.command_id.data = r->command_id;
	r->req.command_id.len = sizeof(r->command_id);
}

/* Make r the n-th referral of sender (tag, worker): a fresh command id and a
 * household named by no other referral (an open case of the same household
 * would be refused with ALREADY_EXISTS). 0, or -1 without randomness. */
static int refer_next(struct refer *r, const char *token, char tag, unsigned worker,
		      uint64_t n, uint64_t request_id)
{
	if (mlc_new_command_id(r->command_id))
		return -1;
	snprintf(r->first_name, sizeof(r->first_name), "%s%c%un%" PRIu64, token, tag, worker, n);
	r->req.request_id = request_id;
	return 0;
}

static bool resp_ok(const mlc_response *r)
{
	return !r->status || r->status->code == MAILLAGE__V1__STATUS_CODE__OK;
}

static const char *resp_message(const mlc_response *r)
{
	return r->status && r->status->message && r->status->message[0] ? r->status->message :
									  "no message";
}

/* ------------------------------------------------------------------------- */
/* Blocking connections (mlclient). */

static struct mlc *connect_as(const struct bench_opts *o, const char *cert, const char *key,
			      char *err, size_t errlen)
{
	struct mlc_opts mo = { .addr = o->addr, .cert = cert, .key = key, .ca = o->ca,
			       .timeout_ms = BENCH_TIMEOUT_MS };

	return mlc_connect(&mo, err, errlen);
}

/* The head of the log, asked with a Ping as the producer. 0 or -1. */
static int log_head(const struct bench_opts *o, uint64_t *head)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	mlc_response *resp;
	char err[512];
	struct mlc *c = connect_as(o, o->producer_cert, o->producer_key, err, sizeof(err));
	int rc = -1;

	if (!c) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	resp = mlc_call(c, &req);
	if (!resp)
		fprintf(stderr, PROG ": ping failed: %s\n", mlc_error(c));
	else if (!resp_ok(resp) || !resp->pong)
		fprintf(stderr, PROG ": ping refused: %s\n", resp_message(resp));
	else {
		*head = resp->pong->last_position;
		rc = 0;
	}
	mlc_response_free(resp);
	mlc_close(c);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* The latency producer: a thread with one blocking connection. */

struct producer {
	const struct bench_opts *o;
	uint64_t total;          /* commands to send */
	uint64_t sent, ok, refused;
	int64_t *sent_at;        /* monotonic µs, by request_id - 1 */
	int64_t *sent_wall;      /* the same instants on the server's clock */
	struct samples rtt;
	struct samples to_batch; /* sent -> recorded_at: waiting to be read and batched */
	int64_t started_us, finished_us;
	char err[512];           /* empty unless it failed */
	atomic_bool done;        /* the fields above are final once set */
};

static int producer_answer(struct producer *p, mlc_response *resp)
{
	uint64_t id = resp->request_id;

	if (id == 0 || id > p->sent) {
		snprintf(p->err, sizeof(p->err), "answer to unknown request %" PRIu64 ": %s", id,
			 resp_message(resp));
		return -1;
	}
	if (resp_ok(resp) && resp->result_case == MAILLAGE__V1__RESPONSE__RESULT_COMMAND) {
		p->ok++;
		if (samples_add(&p->to_batch, resp->command->recorded_at - p->sent_wall[id - 1])) {
			snprintf(p->err, sizeof(p->err), "out of memory");
			return -1;
		}
	} else {
		if (p->refused++ == 0)
			fprintf(stderr, PROG ": command %" PRIu64 " refused: %s\n", id,
				resp_message(resp));
	}
	if (samples_add(&p->rtt, mono_us() - p->sent_at[id - 1])) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		return -1;
	}
	return 0;
}

/* Send each command when it is due (open loop: a slow answer does not delay
 * the next command) and take the answers in between. 0 or -1 (p->err). */
static int producer_loop(struct producer *p, struct mlc *c)
{
	struct refer r;

	refer_init(&r, p->o->platform);
	p->started_us = mono_us();
	while (p->ok + p->refused < p->total) {
		int64_t now = mono_us();
		int64_t due = p->started_us + (int64_t)(p->sent * 1000000 / p->o->rate);
		uint64_t waiting = p->sent - p->ok - p->refused;
		mlc_response *resp;

		if (p->sent < p->total && now >= due && waiting < BENCH_PRODUCER_INFLIGHT) {
			if (refer_next(&r, p->o->token, 'l', 0, p->sent, p->sent + 1)) {
				snprintf(p->err, sizeof(p->err), "cannot make a command id");
				return -1;
			}
			mlc_set_timeout(c, BENCH_TIMEOUT_MS);
			p->sent_at[p->sent] = now;
			p->sent_wall[p->sent] = wall_us();
			if (mlc_send(c, &r.req)) {
				snprintf(p->err, sizeof(p->err), "%s", mlc_error(c));
				return -1;
			}
			p->sent++;
			continue;
		}
		/* Wait for an answer, but no longer than the next command is due. */
		mlc_set_timeout(c, p->sent < p->total ?
				(int)((due > now ? due - now : 0) / 1000 + 1) : BENCH_TIMEOUT_MS);
		resp = mlc_recv(c);
		if (!resp) {
			if (mlc_timed_out(c) && p->sent < p->total)
				continue;        /* only timed out: time to send */
			snprintf(p->err, sizeof(p->err), "%s", mlc_error(c));
			return -1;
		}
		if (producer_answer(p, resp)) {
			mlc_response_free(resp);
			return -1;
		}
		mlc_response_free(resp);
	}
	p->finished_us = mono_us();
	return 0;
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct mlc *c = connect_as(p->o, p->o->producer_cert, p->o->producer_key, p->err,
				   sizeof(p->err));

	if (c) {
		producer_loop(p, c);
		mlc_close(c);
	}
	atomic_store(&p->done, true);
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Subscribers: non-blocking connections on one event loop (a fleet), which
 * either follow the log from now while the producer sends (latency) or read
 * it from position 0 up to its head (catch-up). Each connection:
 *
 *   IDLE -> CONNECTING -> SUBSCRIBING -> LIVE
 *              \______________\____________\____> GONE
 */

enum subc_state {
	SUBC_IDLE,          /* not started */
	SUBC_CONNECTING,    /* TCP connect and TLS handshake under way */
	SUBC_SUBSCRIBING,   /* Subscribe sent, Subscribed not yet received */
	SUBC_LIVE,          /* subscribed: notifications arrive, Pings go out */
	SUBC_GONE,          /* failed, refused or disconnected; bev disabled */
};

struct fleet;

struct subc {
	struct fleet *fl;
	struct bufferevent *bev;   /* owns its SSL and socket */
	enum subc_state state;
	size_t index;
	uint64_t next_id;          /* request_id of the next Ping */
	uint64_t position;         /* of the last notification */
};

enum fleet_mode {
	FLEET_LATENCY,      /* from now; a latency sample per notification */
	FLEET_CATCHUP,      /* from position 0 until the head of the log */
};

struct fleet {
	const struct bench_opts *o;
	enum fleet_mode mode;
	struct event_base *base;
	SSL_CTX *ctx;
	struct sockaddr_storage addr;
	int addrlen;
	struct subc *subs;
	size_t n_subs;
	size_t next_start;         /* subs[] started so far */
	size_t connecting, live, gone;
	struct event *tick_ev;
	struct event *ping_ev;     /* added at the first Subscribed */
	int64_t connect_start_us, all_live_us, producer_done_us;
	size_t live_at_start;      /* subscribers live when the producer began */
	size_t gone_at_start;      /* and those that never got there */
	struct rusage ru_start;    /* our cpu time then */
	struct producer prod;
	pthread_t producer_thread;
	bool producer_started;
	bool failed;
	struct samples delivery;
	uint64_t notifications, heartbeats, pings, disorder;
	unsigned reasons_shown;
	/* catch-up */
	uint64_t head;             /* the head of the log when subscribed */
	int64_t subscribe_us, caught_up_us;
};

/* Each change of state goes through here, which keeps the counts. */
static void subc_set_state(struct subc *s, enum subc_state next)
{
	struct fleet *fl = s->fl;

	if (s->state == SUBC_CONNECTING || s->state == SUBC_SUBSCRIBING)
		fl->connecting--;
	else if (s->state == SUBC_LIVE)
		fl->live--;
	s->state = next;
	if (next == SUBC_CONNECTING || next == SUBC_SUBSCRIBING)
		fl->connecting++;
	else if (next == SUBC_LIVE)
		fl->live++;
	else if (next == SUBC_GONE)
		fl->gone++;
}

/* Give up on s (freed with the others at the end); the first reasons are shown. */
static void subc_gone(struct subc *s, const char *why)
{
	if (s->state == SUBC_GONE)
		return;
	if (s->fl->reasons_shown++ < 5)
		fprintf(stderr, PROG ": subscriber %zu: %s\n", s->index, why);
	if (s->bev)
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	subc_set_state(s, SUBC_GONE);
	if (s->fl->mode == FLEET_CATCHUP)
		event_base_loopbreak(s->fl->base);
}

/* Queue req as one frame on bev. 0 or -1. */
static int send_frame(struct bufferevent *bev, const mlc_request *req)
{
	size_t n = maillage__v1__request__get_packed_size(req);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct evbuffer_iovec v;
	uint8_t *p;

	if (evbuffer_reserve_space(out, (ev_ssize_t)(4 + n), &v, 1) < 1)
		return -1;
	p = v.iov_base;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	maillage__v1__request__pack(req, p + 4);
	v.iov_len = 4 + n;
	return evbuffer_commit_space(out, &v, 1);
}

/* The next whole frame of in, decoded and drained; NULL when none is complete
 * yet, or with *bad set when the server sent what no client takes. */
static mlc_response *frame_next(struct evbuffer *in, bool *bad)
{
	uint8_t hdr[4];
	size_t len;
	unsigned char *p;
	mlc_response *resp;

	if (evbuffer_copyout(in, hdr, 4) < 4)
		return NULL;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len > BENCH_MAX_FRAME) {
		*bad = true;
		return NULL;
	}
	if (evbuffer_get_length(in) < 4 + len)
		return NULL;
	p = evbuffer_pullup(in, (ev_ssize_t)(4 + len));
	resp = p ? maillage__v1__response__unpack(NULL, len, p + 4) : NULL;
	evbuffer_drain(in, 4 + len);
	if (!resp)
		*bad = true;
	return resp;
}

static void latency_start_producer(struct fleet *fl);
static void fleet_launch(struct fleet *fl);

static void subc_send_ping(struct subc *s)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;

	req.request_id = s->next_id++;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	if (send_frame(s->bev, &req))
		subc_gone(s, "cannot queue a ping");
	s->fl->pings++;
}

/* Every half heartbeat: a Ping on each live connection, so that the server,
 * which drops subscribers silent for three heartbeats, keeps them. */
static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < fl->n_subs; i++)
		if (fl->subs[i].state == SUBC_LIVE)
			subc_send_ping(&fl->subs[i]);
}

/* Catch-up: every event up to position was delivered; stop at the head. */
static void subc_reached(struct subc *s, uint64_t position)
{
	struct fleet *fl = s->fl;

	if (fl->mode == FLEET_CATCHUP && position >= fl->head && !fl->caught_up_us) {
		fl->caught_up_us = mono_us();
		event_base_loopbreak(fl->base);
	}
}

static void subc_subscribed(struct subc *s, const mlc_response *resp)
{
	struct fleet *fl = s->fl;
	char why[300];

	if (!resp_ok(resp) || resp->result_case != MAILLAGE__V1__RESPONSE__RESULT_SUBSCRIBED) {
		snprintf(why, sizeof(why), "subscribe refused: %s", resp_message(resp));
		subc_gone(s, why);
		return;
	}
	s->position = resp->subscribed->from_position;
	fl->head = resp->subscribed->head_position;
	subc_set_state(s, SUBC_LIVE);
	if (!event_pending(fl->ping_ev, EV_TIMEOUT, NULL)) {
		uint32_t ms = resp->subscribed->heartbeat_ms / 2;
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		if (ms < 100)
			tv = (struct timeval){ .tv_usec = 100000 };
		event_add(fl->ping_ev, &tv);
	}
	subc_reached(s, s->position);
}

static void subc_notified(struct subc *s, const Maillage__V1__EventNotification *n)
{
	struct fleet *fl = s->fl;
	int64_t now = wall_us();

	if (!n || !n->event)
		return;
	if (n->event->position <= s->position)
		fl->disorder++;          /* out of order */
	if (fl->mode == FLEET_CATCHUP && n->event->position != s->position + 1)
		fl->disorder++;          /* a gap: every event is of the platform */
	s->position = n->event->position;
	fl->notifications++;
	if (fl->mode == FLEET_CATCHUP) {
		subc_reached(s, s->position);
	} else if (samples_add(&fl->delivery, now - n->event->recorded_at)) {
		fprintf(stderr, PROG ": out of memory for the latency samples\n");
		fl->failed = true;
		event_base_loopbreak(fl->base);
	}
}

/* One frame from the server on subscriber s. */
static void subc_handle(struct subc *s, const mlc_response *resp)
{
	char why[300];

	if (s->state == SUBC_SUBSCRIBING) {
		subc_subscribed(s, resp);
		return;
	}
	switch (resp->result_case) {
	case MAILLAGE__V1__RESPONSE__RESULT_NOTIFICATION:
		subc_notified(s, resp->notification);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_HEARTBEAT:
		s->fl->heartbeats++;
		if (resp->heartbeat->position > s->position)
			s->position = resp->heartbeat->position;
		subc_reached(s, s->position);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_ENDED:
		snprintf(why, sizeof(why), "subscription ended by the server: %s",
			 resp_message(resp));
		subc_gone(s, why);
		break;
	default:
		if (!resp_ok(resp)) {
			snprintf(why, sizeof(why), "request %" PRIu64 " refused: %s",
				 resp->request_id, resp_message(resp));
			subc_gone(s, why);
		}
		break;  /* a Pong */
	}
}

static void subc_on_read(struct bufferevent *bev, void *arg)
{
	struct subc *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool was_subscribing = s->state == SUBC_SUBSCRIBING;
	mlc_response *resp;
	bool bad = false;

	while (s->state != SUBC_GONE && (resp = frame_next(in, &bad))) {
		subc_handle(s, resp);
		maillage__v1__response__free_unpacked(resp, NULL);
	}
	if (bad)
		subc_gone(s, "the server sent a frame over 64 MiB or not a maillage.v1.Response");
	if (was_subscribing && s->state != SUBC_SUBSCRIBING)
		fleet_launch(s->fl);
}

static void subc_subscribe(struct subc *s)
{
	Maillage__V1__Subscribe sub = MAILLAGE__V1__SUBSCRIBE__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	evutil_socket_t fd = bufferevent_getfd(s->bev);
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sub.from_now = s->fl->mode == FLEET_LATENCY;
	sub.platform = (char *)s->fl->o->platform;
	req.request_id = SUBSCRIBE_ID;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	s->next_id = SUBSCRIBE_ID + 1;
	if (send_frame(s->bev, &req) || bufferevent_enable(s->bev, EV_READ | EV_WRITE)) {
		subc_gone(s, "cannot queue the subscription");
		return;
	}
	s->fl->subscribe_us = mono_us();
	subc_set_state(s, SUBC_SUBSCRIBING);
}

/* What OpenSSL error e says, lowercase where it is a system error. */
static const char *tls_reason(unsigned long e, char *buf, size_t len)
{
	const char *reason = ERR_reason_error_string(e);

	if (ERR_SYSTEM_ERROR(e))
		snprintf(buf, len, "%s", evutil_socket_error_to_string(ERR_GET_REASON(e)));
	else if (reason)
		snprintf(buf, len, "%s", reason);
	else
		ERR_error_string_n(e, buf, len);
	buf[0] = (char)(buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] - 'A' + 'a' : buf[0]);
	return buf;
}

/* "connection closed by server", or the TLS or socket error. */
static void describe_end(struct bufferevent *bev, short what, char *buf, size_t len)
{
	int err = EVUTIL_SOCKET_ERROR();
	unsigned long e = bufferevent_get_openssl_error(bev);
	char reason[200];

	/* libevent queues a bare SSL_ERROR_SYSCALL for a socket error */
	if (e && ERR_GET_LIB(e) == 0)
		e = 0;
	if (e)
		snprintf(buf, len, "tls error: %s", tls_reason(e, reason, sizeof(reason)));
	else if (what & BEV_EVENT_EOF)
		snprintf(buf, len, "connection closed by server");
	else
		snprintf(buf, len, "connection error: %s",
			 err ? evutil_socket_error_to_string(err) : "unknown");
}

static void subc_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct subc *s = arg;
	char why[300];

	if (s->state == SUBC_GONE)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		subc_subscribe(s);
	} else if (s->state == SUBC_CONNECTING) {
		char reason[200];

		describe_end(bev, what, reason, sizeof(reason));
		snprintf(why, sizeof(why), "cannot connect (refused, or the tls handshake "
			 "failed): %s", reason);
		subc_gone(s, why);
	} else {
		describe_end(bev, what, why, sizeof(why));
		subc_gone(s, why);
	}
	if (s->state == SUBC_GONE)
		fleet_launch(s->fl);
}

/* Start the connection of s; 0, or -1 and s is GONE. */
static int subc_connect(struct subc *s)
{
	struct fleet *fl = s->fl;
	SSL *ssl = SSL_new(fl->ctx);

	if (!ssl) {
		subc_gone(s, "cannot create a tls session");
		return -1;
	}
	s->bev = bufferevent_openssl_socket_new(fl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev) {
		SSL_free(ssl);
		subc_gone(s, "cannot create a connection");
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, subc_on_read, NULL, subc_on_event, s);
	subc_set_state(s, SUBC_CONNECTING);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&fl->addr, fl->addrlen)) {
		subc_gone(s, "cannot connect");
		return -1;
	}
	return 0;
}

/* Keep BENCH_CONNECT_PARALLEL handshakes going until every subscriber has
 * started; once all are settled, start the producer. */
static void fleet_launch(struct fleet *fl)
{
	while (fl->next_start < fl->n_subs && fl->connecting < BENCH_CONNECT_PARALLEL)
		subc_connect(&fl->subs[fl->next_start++]);
	if (fl->next_start < fl->n_subs || fl->connecting > 0 || fl->failed)
		return;
	if (fl->mode == FLEET_LATENCY && !fl->producer_started)
		latency_start_producer(fl);
	else if (fl->live == 0)
		event_base_loopbreak(fl->base);     /* catch-up: the reader is gone */
}

static void latency_start_producer(struct fleet *fl)
{
	struct producer *p = &fl->prod;
	int rc;

	fl->all_live_us = mono_us();
	fl->live_at_start = fl->live;
	fl->gone_at_start = fl->gone;
	getrusage(RUSAGE_SELF, &fl->ru_start);
	printf("subscribers            %zu live after %.2f s (%zu failed)\n", fl->live,
	       seconds_between(fl->connect_start_us, fl->all_live_us), fl->gone);
	if (fl->live == 0) {
		fl->failed = true;
		event_base_loopbreak(fl->base);
		return;
	}
	p->o = fl->o;
	p->total = fl->o->rate * fl->o->seconds;
	p->sent_at = calloc(p->total, sizeof(*p->sent_at));
	p->sent_wall = calloc(p->total, sizeof(*p->sent_wall));
	rc = p->sent_at && p->sent_wall ?
	     pthread_create(&fl->producer_thread, NULL, producer_main, p) : ENOMEM;
	if (rc) {
		fprintf(stderr, PROG ": cannot start the producer: %s\n", strerror(rc));
		fl->failed = true;
		event_base_loopbreak(fl->base);
		return;
	}
	fl->producer_started = true;
}

/* Every BENCH_TICK_MS: give up on a slow start; stop once the producer is
 * done and every notification arrived (or the drain time is over). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;
	int64_t now = mono_us();

	(void)fd;
	(void)what;
	if (fl->mode == FLEET_CATCHUP)
		return;
	if (!fl->producer_started) {
		if (now - fl->connect_start_us > (int64_t)BENCH_CONNECT_LIMIT_S * 1000000) {
			fprintf(stderr, PROG ": only %zu of %zu subscribers live after %d s\n",
				fl->live, fl->n_subs, BENCH_CONNECT_LIMIT_S);
			fl->failed = true;
			event_base_loopbreak(fl->base);
		}
		return;
	}
	if (!atomic_load(&fl->prod.done))
		return;
	if (!fl->producer_done_us)
		fl->producer_done_us = now;
	if (fl->notifications >= fl->prod.ok * fl->live_at_start || fl->live == 0 ||
	    now - fl->producer_done_us >= (int64_t)fl->o->drain_s * 1000000)
		event_base_loopbreak(fl->base);
}

/* The client TLS context: our certificate, the CA, the server's address
 * checked against its certificate. NULL after printing why. */
static SSL_CTX *tls_ctx_new(const struct bench_opts *o, const char *cert, const char *key,
			    const char *host)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *what = "cannot create a tls context", *subject = "";
	char reason[200];
	unsigned long e;

	if (!ctx)
		goto err_free;
	what = "cannot require tls 1.2 with";
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto err_free;
	what = "cannot load CA file";
	subject = o->ca;
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1)
		goto err_free;
	what = "cannot load client certificate";
	subject = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto err_free;
	what = "cannot load private key";
	subject = key;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto err_free;
	what = "cannot check the server's address";
	subject = host;
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), host) != 1)
		goto err_free;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;

err_free:
	e = ERR_peek_error();
	fprintf(stderr, PROG ": %s '%s': %s\n", what, subject,
		e ? tls_reason(e, reason, sizeof(reason)) : "failed");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* A numeric "HOST:PORT" or "[HOST]:PORT" into its address and its host. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, int *sslen, char *host,
		      size_t hostlen)
{
	const char *colon = strrchr(addr, ':');
	const char *start = addr[0] == '[' ? addr + 1 : addr;
	size_t n;

	*sslen = (int)sizeof(*ss);
	if (!colon || colon <= start ||
	    evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, sslen))
		goto err_syntax;
	n = (size_t)(colon - start) - (addr[0] == '[');
	if (n == 0 || n >= hostlen)
		goto err_syntax;
	memcpy(host, start, n);
	host[n] = 0;
	return 0;

err_syntax:
	fprintf(stderr, PROG ": address '%s' is not a numeric HOST:PORT\n", addr);
	return -1;
}

static int fleet_init(struct fleet *fl, const struct bench_opts *o, enum fleet_mode mode,
		      size_t n_subs)
{
	char host[128];

	fl->o = o;
	fl->mode = mode;
	atomic_init(&fl->prod.done, false);
	if (parse_addr(o->addr, &fl->addr, &fl->addrlen, host, sizeof(host)))
		return -1;
	fl->ctx = tls_ctx_new(o, o->subscriber_cert, o->subscriber_key, host);
	if (!fl->ctx)
		return -1;
	fl->base = event_base_new();
	fl->n_subs = n_subs;
	fl->subs = calloc(fl->n_subs, sizeof(*fl->subs));
	if (fl->base) {
		fl->tick_ev = event_new(fl->base, -1, EV_PERSIST, on_tick, fl);
		fl->ping_ev = event_new(fl->base, -1, EV_PERSIST, on_ping_timer, fl);
	}
	if (!fl->subs || !fl->tick_ev || !fl->ping_ev ||
	    event_add(fl->tick_ev, &(struct timeval){ .tv_usec = BENCH_TICK_MS * 1000 })) {
		fprintf(stderr, PROG ": cannot set up the event loop\n");
		return -1;
	}
	for (size_t i = 0; i < fl->n_subs; i++) {
		fl->subs[i].fl = fl;
		fl->subs[i].index = i;
	}
	return 0;
}

/* Close s, with a close_notify when it is still open (best effort: the
 * socket is non-blocking and nothing else is waiting to be sent). */
static void subc_close(struct subc *s)
{
	if (!s->bev)
		return;
	if (s->state == SUBC_SUBSCRIBING || s->state == SUBC_LIVE) {
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

		if (ssl && SSL_shutdown(ssl) < 0)
			ERR_clear_error();
	}
	bufferevent_free(s->bev);
	s->bev = NULL;
}

static void fleet_release(struct fleet *fl)
{
	for (size_t i = 0; fl->subs && i < fl->n_subs; i++)
		subc_close(&fl->subs[i]);
	free(fl->subs);
	if (fl->tick_ev)
		event_free(fl->tick_ev);
	if (fl->ping_ev)
		event_free(fl->ping_ev);
	if (fl->base)
		event_base_free(fl->base);
	SSL_CTX_free(fl->ctx);
	free(fl->prod.sent_at);
	free(fl->prod.sent_wall);
	samples_release(&fl->prod.rtt);
	samples_release(&fl->prod.to_batch);
	samples_release(&fl->delivery);
}

static double timeval_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Our own cpu time since the producer began: is the benchmark a limit? */
static void print_own_cpu(const struct fleet *fl, double wall_s)
{
	struct rusage now;
	double user, sys;

	getrusage(RUSAGE_SELF, &now);
	user = timeval_s(now.ru_utime) - timeval_s(fl->ru_start.ru_utime);
	sys = timeval_s(now.ru_stime) - timeval_s(fl->ru_start.ru_stime);
	printf("benchmark cpu          %.1f s user + %.1f s system over %.1f s (%.0f%% of a core)\n",
	       user, sys, wall_s,
	       wall_s > 0 ? 100 * (user + sys) / wall_s : 0.0);
}

/* Print the figures; 0 when every expected notification arrived. */
static int latency_report(struct fleet *fl)
{
	struct producer *p = &fl->prod;
	uint64_t expected = p->ok * fl->live_at_start;
	double sending = seconds_between(p->started_us, p->finished_us ? p->finished_us :
							 mono_us());

	if (p->err[0])
		fprintf(stderr, PROG ": producer: %s\n", p->err);
	printf("commands               %" PRIu64 " sent, %" PRIu64 " ok, %" PRIu64
	       " refused in %.1f s (%.1f/s)\n", p->sent, p->ok, p->refused, sending,
	       sending > 0 ? (double)(p->ok + p->refused) / sending : 0.0);
	printf("command round trip     ");
	print_quantiles(&p->rtt);
	printf("  of which before batch ");
	print_quantiles(&p->to_batch);
	printf("                       (sent -> recorded_at: read by the server, queued for the"
	       " writer)\n");
	printf("notifications          %" PRIu64 " received of %" PRIu64 " expected (%" PRIu64
	       " events x %zu subscribers), %" PRIu64 " missing, %" PRIu64 " out of order\n",
	       fl->notifications, expected, p->ok, fl->live_at_start,
	       expected > fl->notifications ? expected - fl->notifications : 0, fl->disorder);
	printf("delivery latency       ");
	print_quantiles(&fl->delivery);
	printf("                       (receive time - event.recorded_at; recorded_at is stamped\n"
	       "                       when the write batch starts, so this includes the group\n"
	       "                       commit's fsync and the fan-out to every subscriber)\n");
	printf("subscribers lost       %zu during the run; heartbeats %" PRIu64 ", pings %" PRIu64
	       "\n", fl->gone - fl->gone_at_start, fl->heartbeats, fl->pings);
	print_own_cpu(fl, seconds_between(fl->all_live_us, mono_us()));
	return p->err[0] || fl->notifications < expected || fl->disorder ? 1 : 0;
}

static int latency_run(const struct bench_opts *o)
{
	struct fleet fl = { 0 };
	int rc = 1;

	printf("== delivery latency: %" PRIu64 " subscribers, %" PRIu64 " commands/s for %" PRIu64
	       " s\n", o->subscribers, o->rate, o->seconds);
	if (fleet_init(&fl, o, FLEET_LATENCY, o->subscribers))
		goto out;
	fl.connect_start_us = mono_us();
	fleet_launch(&fl);
	if (event_base_dispatch(fl.base) < 0)
		fprintf(stderr, PROG ": event loop failed\n");
	if (fl.producer_started) {
		/* Only after the producer set done, or when the loop failed. */
		pthread_join(fl.producer_thread, NULL);
		rc = latency_report(&fl);
	}
	if (fl.failed)
		rc = 1;
out:
	fleet_release(&fl);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Fill: pipelined referrals over a few blocking connections. */

struct filler {
	const struct bench_opts *o;
	pthread_t thread;
	unsigned index;
	uint64_t count;          /* commands to send */
	uint64_t ok, refused;
	atomic_uint_fast64_t *answered;   /* shared progress */
	atomic_uint *finished;            /* threads done */
	char err[512];
};

static int filler_loop(struct filler *f, struct mlc *c)
{
	struct refer r;
	uint64_t sent = 0, answered = 0;

	refer_init(&r, f->o->platform);
	while (answered < f->count) {
		mlc_response *resp;

		if (sent < f->count && sent - answered < f->o->inflight) {
			if (refer_next(&r, f->o->token, 'f', f->index, sent, sent + 1)) {
				snprintf(f->err, sizeof(f->err), "cannot make a command id");
				return -1;
			}
			if (mlc_send(c, &r.req)) {
				snprintf(f->err, sizeof(f->err), "%s", mlc_error(c));
				return -1;
			}
			sent++;
			continue;
		}
		resp = mlc_recv(c);
		if (!resp) {
			snprintf(f->err, sizeof(f->err), "%s", mlc_error(c));
			return -1;
		}
		if (resp_ok(resp))
			f->ok++;
		else if (f->refused++ == 0)
			fprintf(stderr, PROG ": command refused: %s\n", resp_message(resp));
		mlc_response_free(resp);
		answered++;
		atomic_fetch_add(f->answered, 1);
	}
	return 0;
}

static void *filler_main(void *arg)
{
	struct filler *f = arg;
	struct mlc *c = connect_as(f->o, f->o->producer_cert, f->o->producer_key, f->err,
				   sizeof(f->err));

	if (c) {
		filler_loop(f, c);
		mlc_close(c);
	}
	atomic_fetch_add(f->finished, 1);
	return NULL;
}

/* Wait for the fillers, with a progress line every BENCH_PROGRESS_S. */
static void fill_wait(atomic_uint *finished, unsigned started, atomic_uint_fast64_t *answered,
		      uint64_t need, int64_t t0)
{
	int64_t next = t0 + (int64_t)BENCH_PROGRESS_S * 1000000;

	while (atomic_load(finished) < started) {
		int64_t now = mono_us();

		if (now >= next) {
			uint64_t n = atomic_load(answered);

			printf("fill progress          %" PRIu64 " of %" PRIu64 " commands in %.0f s "
			       "(%.0f/s)\n", n, need, seconds_between(t0, now),
			       (double)n / seconds_between(t0, now));
					next += (int64_t)BENCH_PROGRESS_S * 1000000;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
}

/* Print the outcome of the fill; 0 when every command was accepted. */
static int fill_report(const struct filler *f, unsigned n, uint64_t need, int64_t t0,
		       int64_t t1, const struct bench_opts *o)
{
	uint64_t ok = 0, refused = 0, head = 0;
	double s = seconds_between(t0, t1);
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		ok += f[i].ok;
		refused += f[i].refused;
		if (f[i].err[0]) {
			fprintf(stderr, PROG ": fill connection %u: %s\n", i, f[i].err);
			rc = 1;
		}
	}
	printf("fill                   %" PRIu64 " commands (%" PRIu64 " ok, %" PRIu64
	       " refused) over %u connections, %" PRIu64 " in flight each: %.1f s, "
	       "%.0f commands/s\n", need, ok, refused, n, o->inflight, s,
	       s > 0 ? (double)(ok + refused) / s : 0.0);
	if (log_head(o, &head))
		return 1;
	printf("log head               position %" PRIu64 "\n", head);
	return rc || refused || ok != need ? 1 : 0;
}

static int fill_run(const struct bench_opts *o)
{
	atomic_uint_fast64_t answered;
	atomic_uint finished;
	struct filler *f;
	uint64_t head, need;
	unsigned n = (unsigned)o->connections, started = 0;
	int64_t t0;
	int rc = 1;

	if (log_head(o, &head))
		return 1;
	need = o->events > head ? o->events - head : 0;
	printf("== fill: the log holds %" PRIu64 " events, %" PRIu64 " referrals to reach %" PRIu64
	       "\n", head, need, o->events);
	if (need == 0)
		return 0;
	f = calloc(n, sizeof(*f));
	if (!f) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	atomic_init(&answered, 0);
	atomic_init(&finished, 0);
	t0 = mono_us();
	for (unsigned i = 0; i < n; i++) {
		int err;

		f[i] = (struct filler){ .o = o, .index = i, .answered = &answered,
					.finished = &finished,
					.count = need / n + (i < need % n ? 1 : 0) };
		err = pthread_create(&f[i].thread, NULL, filler_main, &f[i]);
		if (err) {
			fprintf(stderr, PROG ": cannot start a fill thread: %s\n", strerror(err));
			break;
		}
		started++;
	}
	fill_wait(&finished, started, &answered, need, t0);
	for (unsigned i = 0; i < started; i++)
		pthread_join(f[i].thread, NULL);
	if (started == n)
		rc = fill_report(f, n, need, t0, mono_us(), o);
	free(f);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Catch-up: one subscriber from position 0 to the head. */

static int catchup_run(const struct bench_opts *o)
{
	struct fleet fl = { 0 };
	double s;
	int rc = 1;

	printf("== catch-up: one subscriber from position 0\n");
	if (fleet_init(&fl, o, FLEET_CATCHUP, 1))
		goto out;
	getrusage(RUSAGE_SELF, &fl.ru_start);
	fl.connect_start_us = mono_us();
	fleet_launch(&fl);
	if (event_base_dispatch(fl.base) < 0)
		fprintf(stderr, PROG ": event loop failed\n");
	if (!fl.caught_up_us) {
		fprintf(stderr, PROG ": the subscriber stopped at position %" PRIu64 " of %" PRIu64
			"\n", fl.subs[0].position, fl.head);
		goto out;
	}
	s = seconds_between(fl.subscribe_us, fl.caught_up_us);
	printf("catch-up               %" PRIu64 " events (positions 1 to %" PRIu64 ", %" PRIu64
	       " gaps) in %.2f s: %.0f events/s\n", fl.notifications, fl.head, fl.disorder, s,
	       s > 0 ? (double)fl.notifications / s : 0.0);
	print_own_cpu(&fl, seconds_between(fl.connect_start_us, mono_us()));
	rc = fl.disorder ? 1 : 0;
out:
	fleet_release(&fl);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Command line. */

enum opt_id {
	OPT_ADDR = 1000, OPT_CA, OPT_PRODUCER_CERT, OPT_PRODUCER_KEY, OPT_SUBSCRIBER_CERT,
	OPT_SUBSCRIBER_KEY, OPT_PLATFORM, OPT_SUBSCRIBERS, OPT_RATE, OPT_SECONDS, OPT_DRAIN,
	OPT_EVENTS, OPT_CONNECTIONS, OPT_INFLIGHT,
};

static const struct option long_options[] = {
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "producer-cert", required_argument, NULL, OPT_PRODUCER_CERT },
	{ "producer-key", required_argument, NULL, OPT_PRODUCER_KEY },
	{ "subscriber-cert", required_argument, NULL, OPT_SUBSCRIBER_CERT },
	{ "subscriber-key", required_argument, NULL, OPT_SUBSCRIBER_KEY },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "subscribers", required_argument, NULL, OPT_SUBSCRIBERS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse a count of option name between min and max. 0 or -1 (printed). */
static int parse_count(const char *s, const char *name, uint64_t min, uint64_t max,
		       uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, PROG ": bad value '%s' for --%s (%" PRIu64 " to %" PRIu64 ")\n", s,
			name, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* The counts: option id, where it goes, its limits. */
static int parse_count_opt(struct bench_opts *o, int id, const char *arg)
{
	static const struct {
		int id;
		const char *name;
		size_t offset;
		uint64_t min, max;
	} counts[] = {
		{ OPT_SUBSCRIBERS, "subscribers", offsetof(struct bench_opts, subscribers), 1, 100000 },
		{ OPT_RATE, "rate", offsetof(struct bench_opts, rate), 1, 100000 },
		{ OPT_SECONDS, "seconds", offsetof(struct bench_opts, seconds), 1, 86400 },
		{ OPT_DRAIN, "drain", offsetof(struct bench_opts, drain_s), 1, 3600 },
		{ OPT_EVENTS, "events", offsetof(struct bench_opts, events), 0, UINT64_C(1) << 40 },
		{ OPT_CONNECTIONS, "connections", offsetof(struct bench_opts, connections), 1, 256 },
		{ OPT_INFLIGHT, "inflight", offsetof(struct bench_opts, inflight), 1, 65536 },
	};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (counts[i].id == id)
			return parse_count(arg, counts[i].name, counts[i].min, counts[i].max,
					   (uint64_t *)((char *)o + counts[i].offset));
	return -1;
}

static int parse_options(struct bench_opts *o, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_ADDR: o->addr = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_PRODUCER_CERT: o->producer_cert = optarg; break;
		case OPT_PRODUCER_KEY: o->producer_key = optarg; break;
		case OPT_SUBSCRIBER_CERT: o->subscriber_cert = optarg; break;
		case OPT_SUBSCRIBER_KEY: o->subscriber_key = optarg; break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case '?':
			return -1;
		default:
			if (parse_count_opt(o, ch, optarg))
				return -1;
			break;
		}
	}
	return 0;
}

/* The options phase needs, present. */
static int check_needed(const struct bench_opts *o, const char *phase)
{
	bool producer = strcmp(phase, "catchup") != 0;
	bool subscriber = strcmp(phase, "fill") != 0;
	const char *missing = !o->addr ? "--addr" : !o->ca ? "--ca" :
			      producer && !o->producer_cert ? "--producer-cert" :
			      producer && !o->producer_key ? "--producer-key" :
			      subscriber && !o->subscriber_cert ? "--subscriber-cert" :
			      subscriber && !o->subscriber_key ? "--subscriber-key" : NULL;

	if (missing) {
		fprintf(stderr, PROG ": %s needs %s (see --help)\n", phase, missing);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .platform = "vaulx-bron", .subscribers = 1000, .rate = 25,
				.seconds = 20, .drain_s = 10, .events = 1000000, .connections = 4,
				.inflight = 256 };
	uint8_t rnd[16];
	const char *phase;

	if (parse_options(&o, argc, argv))
		return 2;
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage_text);
		return 2;
	}
	phase = argv[optind];
	if (strcmp(phase, "latency") && strcmp(phase, "fill") && strcmp(phase, "catchup")) {
		fprintf(stderr, PROG ": unknown phase '%s' (latency, fill or catchup)\n", phase);
		return 2;
	}
	if (check_needed(&o, phase))
		return 2;
	if (mlc_new_command_id(rnd)) {
		fprintf(stderr, PROG ": cannot get random bytes\n");
		return 1;
	}
	snprintf(o.token, sizeof(o.token), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);     /* lines in order with stderr */
	if (!strcmp(phase, "latency"))
		return latency_run(&o);
	if (!strcmp(phase, "fill"))
		return fill_run(&o);
	return catchup_run(&o);
}
