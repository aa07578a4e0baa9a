/* mlsub.c - a subscription that survives its connection: reconnect with a
 * growing pause, resume after the last position processed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "mlsub.h"

#define MLSUB_PAUSE_MIN_MS 200
#define MLSUB_PAUSE_MAX_MS 10000

enum session_end {
	SESSION_GO_ON,      /* (a frame handled) keep reading */
	SESSION_RETRY,      /* reconnect; why says what happened */
	SESSION_FATAL,      /* the server refused: err is set */
	SESSION_STOP,       /* a callback asked to stop */
};

struct run {
	const struct mlc_sub_opts *o;
	int heartbeat_ms;        /* from Subscribed; 0 before */
	int64_t last_frame_ms;   /* when the server was last heard */
	int64_t last_ping_ms;    /* when we last sent something */
	uint64_t *position;
	bool first;              /* from_now still applies */
	bool progressed;         /* the last session moved the position */
	int stop;                /* the callback's value */
	char why[512];
	char *err;
	size_t errlen;
};

static void say(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct run *r, const char *fmt, ...)
{
	char line[640];
	va_list ap;

	if (!r->o->on_state)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->on_state(r->o->arg, line);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *code_name(int code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&maillage__v1__status_code__descriptor, code);

	return v ? v->name : "UNKNOWN";
}

/* Worth another try: the server is going away, found us too slow, or failed. */
static bool retryable(int code)
{
	return code == MAILLAGE__V1__STATUS_CODE__UNAVAILABLE ||
	       code == MAILLAGE__V1__STATUS_CODE__RESOURCE_EXHAUSTED ||
	       code == MAILLAGE__V1__STATUS_CODE__INTERNAL;
}

static enum session_end refused(struct run *r, const Maillage__V1__Status *st)
{
	const char *field = st->field && st->field[0] ? st->field : NULL;

	snprintf(r->why, sizeof(r->why), "%s: %s%s%s%s", code_name(st->code), st->message,
		 field ? " (field: " : "", field ? field : "", field ? ")" : "");
	if (retryable(st->code))
		return SESSION_RETRY;
	snprintf(r->err, r->errlen, "%s", r->why);
	return SESSION_FATAL;
}

/* Keep the server sure we are alive: a Ping every heartbeat interval. */
static int keep_alive(struct run *r, struct mlc *c)
{
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	int64_t now = now_ms();

	if (!r->heartbeat_ms || now - r->last_ping_ms < r->heartbeat_ms)
		return 0;
	r->last_ping_ms = now;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	if (mlc_send(c, &req)) {
		snprintf(r->why, sizeof(r->why), "%s", mlc_error(c));
		return -1;
	}
	return 0;
}

/* One frame of our subscription. */
static enum session_end handle(struct run *r, struct mlc *c, const mlc_response *resp)
{
	const Maillage__V1__Event *ev;
	uint64_t pos;

	if (resp->status && resp->status->code)
		return refused(r, resp->status);
	switch (resp->result_case) {
	case MAILLAGE__V1__RESPONSE__RESULT_SUBSCRIBED:
		r->first = false;
		pos = *r->position;
		*r->position = resp->subscribed->from_position;
		r->heartbeat_ms = (int)resp->subscribed->heartbeat_ms;
		r->last_ping_ms = now_ms();
		if (r->heartbeat_ms)
			mlc_set_timeout(c, r->heartbeat_ms);
		say(r, "subscribed after position %llu (head %llu)",
		    (unsigned long long)*r->position,
		    (unsigned long long)resp->subscribed->head_position);
		if (*r->position != pos && r->o->on_position) {
			/* from_now: keep the start, or a restart would skip */
			r->stop = r->o->on_position(r->o->arg, *r->position);
			if (r->stop)
				return SESSION_STOP;
		}
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_NOTIFICATION:
		ev = resp->notification->event;
		if (!ev || ev->position <= *r->position)
			break;     /* never twice */
		r->stop = r->o->on_event(r->o->arg, ev);
		if (r->stop)
			return SESSION_STOP;
		*r->position = ev->position;
		r->progressed = true;
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_HEARTBEAT:
		pos = resp->heartbeat->position;
		if (pos > *r->position) {
			*r->position = pos;
			r->progressed = true;
			r->stop = r->o->on_position ? r->o->on_position(r->o->arg, pos) : 0;
			if (r->stop)
				return SESSION_STOP;
		}
		break;
	default:
		break;
	}
	return SESSION_GO_ON;
}

/* Connect, subscribe after *position, deliver until something ends it. */
static enum session_end session(struct run *r)
{
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__Subscribe sub = *r->o->filter;
	enum session_end end = SESSION_GO_ON;
	mlc_response *resp;
	struct mlc *c;

	r->progressed = false;
	c = mlc_connect(&r->o->conn, r->why, sizeof(r->why));
	if (!c)
		return SESSION_RETRY;
	sub.from_position = *r->position;
	sub.from_now = r->first && r->o->filter->from_now;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	if (mlc_send(c, &req)) {
		snprintf(r->why, sizeof(r->why), "%s", mlc_error(c));
		end = SESSION_RETRY;
		goto out_close;
	}
	r->heartbeat_ms = 0;
	r->last_frame_ms = now_ms();
	for (;;) {
		if (keep_alive(r, c)) {
			end = SESSION_RETRY;
			break;
		}
		resp = mlc_recv(c);
		if (!resp && mlc_timed_out(c) && r->heartbeat_ms &&
		    now_ms() - r->last_frame_ms < 3 * (int64_t)r->heartbeat_ms)
			continue;     /* a quiet interval: ping, wait on */
		if (!resp) {
			if (mlc_timed_out(c) && r->heartbeat_ms)
				snprintf(r->why, sizeof(r->why), "no word from the server for %d ms",
					 3 * r->heartbeat_ms);
			else
				snprintf(r->why, sizeof(r->why), "%s", mlc_error(c));
			end = SESSION_RETRY;
			break;
		}
		if (resp->request_id == req.request_id || resp->request_id == 0) {
			r->last_frame_ms = now_ms();
			end = handle(r, c, resp);
		}
		mlc_response_free(resp);
		if (end != SESSION_GO_ON)
			break;
	}
out_close:
	mlc_close(c);
	return end;
}

static void pause_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int mlc_subscribe(const struct mlc_sub_opts *o, uint64_t *position, char *err, size_t errlen)
{
	struct run r = { .o = o, .position = position, .first = true, .err = err,
			 .errlen = errlen };
	int pause = MLSUB_PAUSE_MIN_MS, failures = 0;

	if (mlc_opts_check(&o->conn, err, errlen))
		return -1;
	for (;;) {
		enum session_end end = session(&r);

		if (end == SESSION_STOP)
			return r.stop;
		if (end == SESSION_FATAL)
			return -1;
		if (r.progressed) {      /* not a session that fails at once, over and over */
			pause = MLSUB_PAUSE_MIN_MS;
			failures = 0;
		}
		if (o->max_attempts && ++failures >= o->max_attempts) {
			snprintf(err, errlen, "gave up after %d attempts: %s", failures, r.why);
			return -1;
		}
		say(&r, "reconnecting in %d ms: %s", pause, r.why);
		pause_ms(pause);
		pause = pause * 2 > MLSUB_PAUSE_MAX_MS ? MLSUB_PAUSE_MAX_MS : pause * 2;
	}
}
