/* conn.c - a client connection from handshake to close: framing, dispatch,
 * back-pressure and timeouts. The state diagram is in conn.h.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth.h"
#include "clock.h"
#include "command.h"
#include "conn.h"
#include "err.h"
#include "frame.h"
#include "log.h"
#include "query.h"
#include "server.h"
#include "sub.h"
#include "tls.h"
#include "validate.h"
#include "writer.h"

/* Frames handled per read callback before yielding to other connections. */
#define CONN_FRAMES_PER_EVENT 64
/* Reads stop while max_output_bytes of replies wait, and resume once the
 * output is below a quarter of it. */
#define CONN_OUTPUT_LOW(c) ((c)->srv->cfg->max_output_bytes / 4)
/* How long a closing connection waits for the peer to close after its last reply. */
#define CONN_LINGER_SECONDS 2

struct conn {
	struct server *srv;
	struct conn *next;             /* in srv->conns */
	struct bufferevent *bev;       /* NULL once CLOSED */
	struct event *frame_timer;     /* a deadline: for the handshake, then for
					* each frame once started, then for the
					* peer to close once CLOSING (linger) */
	struct event *cert_timer;      /* the peer certificate's notAfter; NULL
					* until the handshake is done */
	enum conn_state state;
	uint64_t id;
	char peer[64];                 /* address:port */
	char cn[128];                  /* certificate subject CN */
	const struct org *org;         /* NULL: not a declared organisation */
	unsigned inflight;             /* commands at the writer */
	struct sub *sub;               /* its subscription, NULL when none */
	bool counted;                  /* in srv->org_conns */
};

static const char *const state_names[] = { "handshake", "open", "closing", "closed" };

static void conn_process(struct conn *c);

/* Close after read_s seconds without a byte from the peer, and after write_s
 * seconds in which replies waited and the peer took none of them (0: no
 * write limit; a subscriber's stall is sub.c's to judge). */
static void set_timeouts(struct conn *c, unsigned read_s, unsigned write_s)
{
	struct timeval rtv = { .tv_sec = read_s }, wtv = { .tv_sec = write_s };

	bufferevent_set_timeouts(c->bev, &rtv, write_s ? &wtv : NULL);
}

/* The only place a connection changes state. */
static void conn_set_state(struct conn *c, enum conn_state next)
{
	static const unsigned allowed[] = {
		[CONN_HANDSHAKE] = 1u << CONN_OPEN | 1u << CONN_CLOSED,
		[CONN_OPEN] = 1u << CONN_CLOSING | 1u << CONN_CLOSED,
		[CONN_CLOSING] = 1u << CONN_CLOSED,
		[CONN_CLOSED] = 0,
	};

	if (!(allowed[c->state] & (1u << next))) {
		log_error("conn_bad_transition", "conn=%llu from=%s to=%s",
			  (unsigned long long)c->id, state_names[c->state], state_names[next]);
		return;
	}
	c->state = next;
	switch (next) {
	case CONN_OPEN:
		event_del(c->frame_timer);      /* the handshake deadline */
		set_timeouts(c, c->srv->cfg->idle_timeout_s, c->srv->cfg->idle_timeout_s);
		break;
	case CONN_CLOSING:
		/* Input is read and dropped from now on (see linger()). */
		event_del(c->frame_timer);
		if (c->sub)
			sub_end(c->sub, ML_EUNAVAIL, "the connection is closing");
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_set_state(c, CONN_CLOSED);
		break;
	case CONN_CLOSED:
		event_del(c->frame_timer);
		sub_free(c->sub);
		c->sub = NULL;
		bufferevent_free(c->bev);
		c->bev = NULL;
		server_schedule_reap(c->srv);
		break;
	case CONN_HANDSHAKE:
		break;
	}
}

static void close_now(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSED)
		return;
	log_info("conn_close", "conn=%llu peer=%s org=%s reason=\"%s\"",
		 (unsigned long long)c->id, c->peer, c->org ? c->org->id : "-", why);
	conn_set_state(c, CONN_CLOSED);
}

/* Pause reading while too many commands are in flight or too much output
 * waits; resume when both are back under their limits. */
static void update_reading(struct conn *c)
{
	size_t out;

	if (c->state != CONN_OPEN)
		return;
	out = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->inflight >= c->srv->cfg->max_inflight || out >= c->srv->cfg->max_output_bytes ||
	    c->srv->stopping) {
		bufferevent_disable(c->bev, EV_READ);
		event_del(c->frame_timer);
	} else if (!(bufferevent_get_enabled(c->bev) & EV_READ) && out < CONN_OUTPUT_LOW(c)) {
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

/* libevent is done with a frame given by reference: wipe it (it may carry
 * personal data), then free it. */
static void frame_done(const void *data, size_t len, void *arg)
{
	(void)arg;
	wire_frame_free((uint8_t *)data, len);
}

/* Queue a framed reply (taking buf); with no buffer, answer INTERNAL. A
 * reply with personal data (a journaled query's answer) is given to the
 * output buffer by reference, and frame_done() wipes it once sent or
 * dropped; any other is copied, so that the replies to many commands leave
 * in one TLS record (by reference, each is a record of its own: a third of
 * the command throughput). */
static void send_frame(struct conn *c, uint8_t *buf, size_t len, uint64_t request_id,
		       bool personal)
{
	if (c->state != CONN_OPEN && c->state != CONN_CLOSING) {
		wire_frame_free(buf, len);
		return;
	}
	if (!buf) {
		struct status st;

		status_fail(&st, ML_EINTERNAL, NULL, "the server could not build the reply");
		if (wire_status_frame(request_id, &st, &buf, &len))
			return;
	}
	if (!personal) {
		evbuffer_add(bufferevent_get_output(c->bev), buf, len);
		wire_frame_free(buf, len);
	} else if (evbuffer_add_reference(bufferevent_get_output(c->bev), buf, len, frame_done,
					  NULL)) {
		wire_frame_free(buf, len);    /* not queued: libevent did not take it */
	}
}

static void send_status(struct conn *c, uint64_t request_id, const struct status *st)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	wire_status_frame(request_id, st, &buf, &len);
	send_frame(c, buf, len, request_id, false);
}

static void refuse(struct conn *c, uint64_t request_id, int err, const char *field,
		   const char *msg)
{
	struct status st;

	status_fail(&st, err, field, "%s", msg);
	send_status(c, request_id, &st);
}

static void submit_command(struct conn *c, ml_request *req)
{
	struct writer_job *job;

	if (c->srv->stopping || !c->srv->writer) {
		refuse(c, req->request_id, ML_EUNAVAIL, NULL,
		       "the server is shutting down; retry with the same command_id");
		wire_free(req);
		return;
	}
	job = writer_job_new(c, c->org, req);
	if (!job) {
		refuse(c, req->request_id, ML_EFULL, NULL, "out of memory");
		wire_free(req);
		return;
	}
	/* Off the writer, the busier thread: what needs no database. Not
	 * ready (out of memory, HMAC failed): the writer computes it itself. */
	if (command_prepare(c->srv->cfg, req, &job->pre))
		log_debug("command_prepare_failed", "conn=%llu detail=\"left to the writer\"",
			  (unsigned long long)c->id);
	c->inflight++;
	writer_submit(c->srv->writer, job);
}

/* Answer a query; one that carries personal data waits for its access
 * record to be committed by the writer (writer.c, invariant 6). */
static void run_query(struct conn *c, ml_request *req)
{
	struct query_in in = {
		.log = c->srv->log, .cfg = c->srv->cfg, .counters = c->srv->counters,
		.connections = c->srv->n_conns, .org = c->org, .req = req,
		.max_bytes = c->srv->cfg->max_frame_bytes,
	};
	ml_access_record *journal = NULL;
	struct writer_job *job;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (query_run(&in, &buf, &len, &journal) || !journal) {
		send_frame(c, buf, len, req->request_id, false);     /* nothing personal */
		wire_free(req);
		return;
	}
	job = c->srv->writer && !c->srv->stopping ? writer_job_new(c, c->org, req) : NULL;
	if (!job) {
		wire_frame_free(buf, len);
		wire_free(journal);
		refuse(c, req->request_id, ML_EUNAVAIL, NULL, "the server cannot record this read "
		       "in the access journal now (shutting down or out of memory); retry");
		wire_free(req);
		return;
	}
	job->kind = WRITER_JOURNAL;
	job->journal = journal;
	job->reply = buf;
	job->reply_len = len;
	c->inflight++;
	writer_submit(c->srv->writer, job);
}

/* Close once the frames queued are flushed, or after the linger time if the
 * peer does not read them. */
static void close_after_last_frame(struct conn *c)
{
	conn_set_state(c, CONN_CLOSING);
	if (c->state == CONN_CLOSING)
		event_add(c->frame_timer, &(struct timeval){ .tv_sec = CONN_LINGER_SECONDS });
}

/* The subscription ended itself (stalled subscriber, unreadable log): its
 * last frame is queued; close once it is flushed, or after the linger time
 * if the peer does not read it. */
static void on_sub_end(void *arg, const char *why)
{
	struct conn *c = arg;

	log_warn("subscription_ended", "conn=%llu org=%s reason=\"%s\"",
		 (unsigned long long)c->id, c->org->id, why);
	if (c->state != CONN_OPEN)
		return;
	close_after_last_frame(c);
}

/* Subscribe (owned req): one subscription per connection. The subscriber's
 * output is kept under SUB_OUTPUT_HIGH and it must send something (a Ping)
 * within three heartbeat intervals, or it is taken for dead. */
static void subscribe(struct conn *c, ml_request *req)
{
	struct status st;
	unsigned timeout = 3 * c->srv->cfg->heartbeat_s;

	status_clear(&st);
	if (c->sub)
		status_fail(&st, ML_ESTATE, NULL, "this connection already has a subscription");
	else
		sub_new(c->srv->base, c->srv->log, c->srv->cfg, c->org, req, c->bev,
			  on_sub_end, c, &c->sub, &st);
	log_info("subscribe", "conn=%llu org=%s from=%llu code=%s", (unsigned long long)c->id,
		 c->org->id, (unsigned long long)req->subscribe->from_position,
		 wire_status_code_name(st.code));
	if (st.code) {
		send_status(c, req->request_id, &st);
	} else {
		bufferevent_setwatermark(c->bev, EV_WRITE, SUB_OUTPUT_LOW, 0);
		set_timeouts(c, timeout, 0);
	}
	wire_free(req);
}

/* One decoded request (owned): check it, then answer or queue it. */
static void dispatch(struct conn *c, ml_request *req)
{
	struct status st;

	status_clear(&st);
	if (!c->org) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "certificate '%s' is not a declared organisation", c->cn);
		refuse(c, req->request_id, ML_EUNAUTH, NULL, msg);
		wire_free(req);
		conn_set_state(c, CONN_CLOSING);
		return;
	}
	if (validate_request(req, &st) || auth_request_kind(c->srv->cfg, c->org, req, &st)) {
		log_info("request_refused", "conn=%llu org=%s request=%s code=%s field=%s",
			 (unsigned long long)c->id, c->org->id, wire_body_name(req),
			 wire_status_code_name(st.code), st.field[0] ? st.field : "-");
		send_status(c, req->request_id, &st);
		wire_free(req);
		return;
	}
	if (validate_is_command(req))
		submit_command(c, req);
	else if (req->body_case == MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE)
		subscribe(c, req);
	else
		run_query(c, req);
}

/* Handle up to CONN_FRAMES_PER_EVENT whole frames from the input. */
static void conn_process(struct conn *c)
{
	struct evbuffer *in;
	int handled = 0;
	size_t len;
	int rc = 0;

	while (c->state == CONN_OPEN && (bufferevent_get_enabled(c->bev) & EV_READ)) {
		in = bufferevent_get_input(c->bev);
		rc = frame_peek(in, c->srv->cfg->max_frame_bytes, &len);
		if (rc == ML_EFULL) {
			char msg[160];

			snprintf(msg, sizeof(msg), "frame of %zu bytes exceeds the limit of %zu bytes",
				 len, c->srv->cfg->max_frame_bytes);
			log_warn("frame_too_large", "conn=%llu org=%s bytes=%zu",
				 (unsigned long long)c->id, c->org ? c->org->id : "-", len);
			refuse(c, 0, ML_EFULL, NULL, msg);
			conn_set_state(c, CONN_CLOSING);
			return;
		}
		if (rc == 0)
			break;
		if (handled++ == CONN_FRAMES_PER_EVENT) {
			/* Let other connections run; come back through the loop. */
			bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
		{
			const uint8_t *payload = frame_payload(in, len);
			ml_request *req = payload ? wire_request_unpack(payload, len) : NULL;

			frame_consume(in, len);
			/* The next frame has its own frame_timeout_s. */
			event_del(c->frame_timer);
			if (req)
				dispatch(c, req);
			else
				refuse(c, 0, payload ? ML_EINVAL : ML_EFULL, NULL,
				       payload ? "frame is not a maillage.v1.Request" : "out of memory");
		}
		update_reading(c);
	}
	/* A partial frame must complete within frame_timeout_s. */
	if (c->state == CONN_OPEN && evbuffer_get_length(bufferevent_get_input(c->bev)) &&
	    (bufferevent_get_enabled(c->bev) & EV_READ)) {
		if (!event_pending(c->frame_timer, EV_TIMEOUT, NULL)) {
			struct timeval tv = { .tv_sec = c->srv->cfg->frame_timeout_s };

			event_add(c->frame_timer, &tv);
		}
	} else if (c->state == CONN_OPEN) {
		event_del(c->frame_timer);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		struct evbuffer *in = bufferevent_get_input(bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_process(c);
}

/* The last reply is flushed: half-close, and keep reading (dropping the
 * input) until the peer closes or CONN_LINGER_SECONDS pass. Closing at once
 * with unread input would reset the connection and could destroy the reply
 * before the client reads it. */
static void linger(struct conn *c)
{
	struct timeval tv = { .tv_sec = CONN_LINGER_SECONDS };

	if (event_pending(c->frame_timer, EV_TIMEOUT, NULL))
		return;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_enable(c->bev, EV_READ);
	event_add(c->frame_timer, &tv);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		linger(c);
		return;
	}
	update_reading(c);
	if (c->sub && c->state == CONN_OPEN)
		sub_drained(c->sub);
}

/* Arm cert_timer for the peer certificate's notAfter (iso gets it, may be
 * NULL). False, leaving it unarmed, when that has passed. The certificate
 * follows the wall clock, libevent's timers a coarse monotonic one: the
 * timer checks again when it fires (a little early, or the clock went back). */
static bool cert_timer_arm(struct conn *c, char *iso, size_t isolen)
{
	time_t not_after = 0;
	int64_t left;

	tls_peer_not_after(c->bev, &not_after, iso, isolen);   /* unreadable: passed */
	left = (int64_t)not_after * 1000000 - clock_now_us();
	if (left <= 0)
		return false;
	event_add(c->cert_timer, &(struct timeval){ .tv_sec = left / 1000000,
						    .tv_usec = left % 1000000 });
	return true;
}

/* The client certificate expired while the connection was open: one
 * UNAUTHENTICATED frame with request_id 0 (and its subscription, if any,
 * ended with the same status: resuming would fail), then close as after any
 * last reply. */
static void on_cert_expired(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char when[32], msg[160];

	(void)fd;
	(void)what;
	if (c->state != CONN_OPEN || cert_timer_arm(c, when, sizeof(when)))
		return;   /* closing already, or rearmed: not yet */
	snprintf(msg, sizeof(msg), "client certificate expired at %s; "
		 "connect again with a renewed certificate", when);
	log_info("cert_expired", "conn=%llu org=%s not_after=%s", (unsigned long long)c->id,
		 c->org ? c->org->id : "-", when);
	refuse(c, 0, ML_EUNAUTH, NULL, msg);
	if (c->sub)
		sub_end(c->sub, ML_EUNAUTH, msg);
	close_after_last_frame(c);
}

/* Count c in its organisation's connections; past max_connections_per_org
 * it is told RESOURCE_EXHAUSTED and closed (false). */
static bool count_org(struct conn *c)
{
	unsigned *n = &c->srv->org_conns[c->org - c->srv->cfg->orgs];
	unsigned max = c->srv->cfg->max_connections_per_org;
	char msg[256];

	if (*n < max) {
		(*n)++;
		c->counted = true;
		return true;
	}
	snprintf(msg, sizeof(msg), "organisation '%s' has %u connections open, the most "
		 "allowed (max_connections_per_org); close one and retry", c->org->id, *n);
	log_warn("connection_refused", "conn=%llu org=%s reason=\"max_connections_per_org (%u) "
		 "reached\"", (unsigned long long)c->id, c->org->id, max);
	refuse(c, 0, ML_EFULL, NULL, msg);
	close_after_last_frame(c);
	return false;
}

static void handshake_done(struct conn *c)
{
	if (tls_peer_cn(c->bev, c->cn, sizeof(c->cn))) {
		close_now(c, "peer certificate has no usable subject CN");
		return;
	}
	c->cert_timer = evtimer_new(c->srv->base, on_cert_expired, c);
	if (!c->cert_timer) {
		close_now(c, "out of memory for the certificate expiry timer");
		return;
	}
	c->org = config_find_org(c->srv->cfg, c->cn);
	log_info("conn_open", "conn=%llu peer=%s org=%s%s", (unsigned long long)c->id,
		 c->peer, c->cn, c->org ? "" : " unauthenticated=true");
	conn_set_state(c, CONN_OPEN);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (c->org && !count_org(c))
		return;
	if (!cert_timer_arm(c, NULL, 0))
		event_active(c->cert_timer, EV_TIMEOUT, 1);   /* expired meanwhile */
	update_reading(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char err[256];

	if (what & BEV_EVENT_CONNECTED) {
		handshake_done(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		char why[80];

		if (what & BEV_EVENT_WRITING)
			snprintf(why, sizeof(why), "replies left unread for %u s",
				 c->srv->cfg->idle_timeout_s);
		else
			snprintf(why, sizeof(why), "%s", c->sub ? "subscriber silent for three "
				 "heartbeat intervals (no Ping)" : "idle timeout");
		close_now(c, why);
	} else if (what & BEV_EVENT_ERROR) {
		char why[320];

		snprintf(why, sizeof(why), "%s%s%s",
			 c->state == CONN_HANDSHAKE ? "handshake failed" : "connection error",
			 tls_error(bev, err, sizeof(err))[0] ? ": " : "", err);
		close_now(c, why);
	} else if (what & BEV_EVENT_EOF) {
		close_now(c, "closed by peer");
	}
}

/* The frame timer: the handshake's deadline, a frame's, or the linger time. */
static void on_frame_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	close_now(c, c->state == CONN_HANDSHAKE ? "handshake timeout" :
		  c->state == CONN_CLOSING ? "closed after its last reply" :
		  "incomplete frame timeout");
}

void conn_accept(struct server *srv, evutil_socket_t fd, const char *peer)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	/* Replies and notifications are whole frames: send them at once rather
	 * than wait for the peer's delayed ACK (Nagle). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->bev = tls_bufferevent_new(srv->tls, srv->base, fd);
	c->frame_timer = evtimer_new(srv->base, on_frame_timeout, c);
	if (!c->bev || !c->frame_timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->frame_timer)
			event_free(c->frame_timer);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW(c), 0);
	/* A deadline, not a read timeout: a byte now and then must not keep a
	 * handshake going. */
	event_add(c->frame_timer, &(struct timeval){ .tv_sec = srv->cfg->handshake_timeout_s });
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = srv->conns;
	srv->conns = c;
	srv->n_conns++;
}

void conn_command_done(struct server *srv, struct writer_job *job)
{
	struct conn *c = job->owner;

	(void)srv;
	c->inflight--;
	log_debug("command", "conn=%llu org=%s request=%s code=%s",
		  (unsigned long long)c->id, job->org->id, wire_body_name(job->req),
		  wire_status_code_name(job->status_code));
	send_frame(c, job->reply, job->reply_len, job->req->request_id,
		   job->kind == WRITER_JOURNAL);
	job->reply = NULL;
	writer_job_free(job);
	if (c->state == CONN_CLOSED)
		server_schedule_reap(c->srv);
	else if (c->state == CONN_OPEN && c->srv->stopping && !c->inflight)
		conn_set_state(c, CONN_CLOSING);
	else
		update_reading(c);
}

bool conn_close_if_revoked(struct conn *c)
{
	if (!c->bev || c->state == CONN_HANDSHAKE || !tls_peer_revoked(c->srv->tls, c->bev))
		return false;
	close_now(c, "certificate revoked");
	return true;
}

void conn_wake(struct conn *c, struct evlog_txn *txn)
{
	if (c->sub && c->state == CONN_OPEN)
		sub_wake(c->sub, txn);
}

void conn_drain(struct conn *c)
{
	if (c->sub && c->state == CONN_OPEN) {
		char why[120];

		snprintf(why, sizeof(why), "the server is shutting down; resume after position %llu",
			 (unsigned long long)sub_position(c->sub));
		sub_end(c->sub, ML_EUNAVAIL, why);
	}
	if (c->state == CONN_HANDSHAKE)
		close_now(c, "server shutting down");
	else if (c->state == CONN_OPEN && !c->inflight)
		conn_set_state(c, CONN_CLOSING);
	else if (c->state == CONN_OPEN)
		bufferevent_disable(c->bev, EV_READ);
}

bool conn_reapable(const struct conn *c)
{
	return c->state == CONN_CLOSED && c->inflight == 0;
}

struct conn *conn_next(const struct conn *c)
{
	return c->next;
}

struct conn **conn_next_ref(struct conn *c)
{
	return &c->next;
}

void conn_free(struct conn *c)
{
	if (c->counted)
		c->srv->org_conns[c->org - c->srv->cfg->orgs]--;
	sub_free(c->sub);
	if (c->bev)
		bufferevent_free(c->bev);
	event_free(c->frame_timer);
	if (c->cert_timer)
		event_free(c->cert_timer);
	free(c);
}

enum conn_state conn_get_state(const struct conn *c)
{
	return c->state;
}

struct sub *conn_get_sub(const struct conn *c)
{
	return c->sub;
}
