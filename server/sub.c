/* sub.c - one subscription: its position in the log, the pump that reads on
 * while the output has room, heartbeats, the stall timer and the last frame.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <linux/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "clock.h"
#include "err.h"
#include "feed.h"
#include "log.h"
#include "personal.h"
#include "sub.h"

/* Events read per turn before yielding to the other connections. */
#define SUB_EVENTS_PER_TURN 1024

struct sub {
	struct evlog *log;
	const struct config *cfg;
	struct bufferevent *bev;
	struct feed *feed;
	uint64_t request_id;
	uint64_t position;        /* every event up to here was read and, if it
				   * matched, queued */
	struct event *more_ev;    /* read on after a full turn */
	struct event *beat_ev;    /* every heartbeat_s */
	struct event *stall_ev;   /* armed while the output is over the mark */
	struct evbuffer_cb_entry *drain_cb;  /* counts the bytes the peer took */
	uint64_t taken;           /* output bytes the peer took, by the output
				   * buffer, or the kernel's count of acked bytes */
	uint64_t taken_at_arm;    /* ... when the stall timer was last armed */
	sub_end_fn on_end;
	void *arg;
	bool sent;                /* something was queued since the last beat */
	bool ended;
};

/* One turn of reading the log. */
struct turn {
	struct sub *s;
	struct evlog_txn *txn;
	struct evbuffer *out;
	unsigned budget;
	bool full;                /* stopped on the output mark */
};

/* Pack resp as one frame straight into out. */
static int add_frame(struct evbuffer *out, const ml_response *resp)
{
	size_t n = wire_packed_size(resp);
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(out, (ev_ssize_t)(WIRE_FRAME_HEADER + n), &v, 1) < 1)
		return ML_ENOMEM;
	wire_put_be32(v.iov_base, (uint32_t)n);
	wire_pack_to(resp, (uint8_t *)v.iov_base + WIRE_FRAME_HEADER);
	v.iov_len = WIRE_FRAME_HEADER + n;
	return evbuffer_commit_space(out, &v, 1) ? ML_ENOMEM : 0;
}

/* Queue one frame of this subscription: status st (NULL: OK) and the result
 * set by the caller in resp. */
static int send_result(struct sub *s, ml_response *resp, const struct status *st)
{
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	struct status ok;

	if (!st) {
		status_clear(&ok);
		st = &ok;
	}
	wire_status_fill(&status, st);
	resp->request_id = s->request_id;
	resp->status = &status;
	s->sent = true;
	return add_frame(bufferevent_get_output(s->bev), resp);
}

static int read_one(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct turn *t = arg;
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__EventNotification n = MAILLAGE__V1__EVENT_NOTIFICATION__INIT;
	unsigned cost;
	bool match;
	int rc;

	(void)raw;
	(void)rawlen;
	if (evbuffer_get_length(t->out) >= SUB_OUTPUT_HIGH) {
		t->full = true;
		return 1;
	}
	if (t->budget == 0)
		return 1;
	if (ev->position != t->s->position + 1)
		return ML_ECORRUPT;      /* positions are dense */
	rc = feed_match(t->s->feed, t->txn, ev, &match, &cost);
	if (rc)
		return rc;
	t->budget = cost < t->budget ? t->budget - cost : 0;
	if (match) {
		/* Notifications carry no personal data and no household key:
		 * GetCaseHistory (journaled) gives them to those who need them. */
		struct personal_withheld shown;

		personal_withhold(ev, &shown);
		n.event = &shown.ev;
		resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_NOTIFICATION;
		resp.notification = &n;
		rc = send_result(t->s, &resp, NULL);
		if (rc)
			return rc;
	}
	t->s->position = ev->position;
	return 0;
}

/* End the subscription from inside and tell the connection, which may free
 * s at once: touch nothing of s afterwards. */
static void end_self(struct sub *s, int err, const char *why)
{
	sub_end(s, err, why);
	s->on_end(s->arg, why);
}

/* What the peer has taken so far: the bytes the output buffer gave to the
 * socket, and the bytes the peer acknowledged. A slow reader moves the second
 * long before the kernel has room again for the first. */
static uint64_t taken(const struct sub *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(bufferevent_getfd(s->bev), IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		return s->taken;
	return s->taken + ti.tcpi_bytes_acked;
}

static void arm_stall(struct sub *s)
{
	s->taken_at_arm = taken(s);
	event_add(s->stall_ev, &(struct timeval){ .tv_sec = s->cfg->subscriber_stall_s });
}

static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct sub *s = arg;

	(void)buf;
	s->taken += info->n_deleted;
}

/* Read on from the position while the output has room and the turn lasts.
 * Returns -1 when the subscription ended itself (s may be gone), else 0. */
static int pump(struct sub *s, struct evlog_txn *txn)
{
	struct turn t = { .s = s, .txn = txn, .out = bufferevent_get_output(s->bev),
			  .budget = SUB_EVENTS_PER_TURN };
	int rc;

	if (s->ended || s->position >= evlog_last_position(txn))
		return 0;
	rc = evlog_scan(txn, s->position + 1, read_one, &t);
	if (rc) {
		char why[160];

		log_error("subscription_read_failed", "position=%llu error=\"%s\"",
			  (unsigned long long)s->position, ml_strerror(rc));
		snprintf(why, sizeof(why), "cannot read the log after position %llu: %s",
			 (unsigned long long)s->position, ml_strerror(rc));
		end_self(s, rc == ML_ENOMEM ? ML_EFULL :
			 rc == ML_ECORRUPT ? ML_EINTERNAL : ML_EUNAVAIL, why);
		return -1;
	}
	if (t.full) {
		if (!event_pending(s->stall_ev, EV_TIMEOUT, NULL))
			arm_stall(s);
	} else if (t.budget == 0 && s->position < evlog_last_position(txn)) {
		event_active(s->more_ev, EV_TIMEOUT, 0);
	}
	return 0;
}

/* Run pump() in a read transaction of its own. */
static void pump_alone(struct sub *s)
{
	struct evlog_txn *txn;
	int rc = evlog_txn_begin(s->log, false, &txn);

	if (rc) {
		log_error("subscription_read_failed", "error=\"%s\"", ml_strerror(rc));
		end_self(s, ML_EUNAVAIL, "cannot read the log");
		return;
	}
	pump(s, txn);
	evlog_txn_abort(txn);
}

static void on_more(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_alone(arg);
}

static void on_stall(evutil_socket_t fd, short what, void *arg)
{
	struct sub *s = arg;
	char why[200];

	(void)fd;
	(void)what;
	if (taken(s) != s->taken_at_arm) {
		arm_stall(s);        /* slow, but reading: not stalled */
		return;
	}
	snprintf(why, sizeof(why), "notifications left unread for %u s; resume after position %llu",
		 s->cfg->subscriber_stall_s, (unsigned long long)s->position);
	end_self(s, ML_EFULL, why);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct sub *s = arg;
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Heartbeat hb = MAILLAGE__V1__HEARTBEAT__INIT;
	struct evlog_txn *txn;
	int rc;

	(void)fd;
	(void)what;
	if (s->sent || evbuffer_get_length(bufferevent_get_output(s->bev)) >= SUB_OUTPUT_HIGH) {
		s->sent = false;
		return;
	}
	if (!evlog_txn_begin(s->log, false, &txn)) {
		hb.head_position = evlog_last_position(txn);
		rc = pump(s, txn);   /* a wake-up may have been missed */
		evlog_txn_abort(txn);
		if (rc)
			return;
		if (s->sent) {
			s->sent = false;
			return;
		}
	}
	hb.position = s->position;
	hb.server_time = clock_now_us();
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_HEARTBEAT;
	resp.heartbeat = &hb;
	send_result(s, &resp, NULL);
	s->sent = false;
}

static int start_at(struct sub *s, struct evlog_txn *txn, const Maillage__V1__Subscribe *r,
		    struct status *st)
{
	uint64_t head = evlog_last_position(txn);

	if (r->from_now) {
		s->position = head;
		return 0;
	}
	if (r->from_position > head)
		return status_fail(st, ML_EINVAL, "subscribe.from_position",
				   "position %llu is after the end of the log (%llu): "
				   "was the data directory restored from an older backup?",
				   (unsigned long long)r->from_position,
				   (unsigned long long)head);
	s->position = r->from_position;
	return 0;
}

int sub_new(struct event_base *base, struct evlog *log, const struct config *cfg,
	      const struct org *org, const ml_request *req, struct bufferevent *bev,
	      sub_end_fn on_end, void *arg, struct sub **out, struct status *st)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Subscribed ok = MAILLAGE__V1__SUBSCRIBED__INIT;
	struct sub *s = calloc(1, sizeof(*s));
	struct evlog_txn *txn = NULL;
	int rc;

	if (!s)
		return status_fail(st, ML_ENOMEM, NULL, "out of memory");
	s->log = log;
	s->cfg = cfg;
	s->bev = bev;
	s->request_id = req->request_id;
	s->on_end = on_end;
	s->arg = arg;
	s->more_ev = event_new(base, -1, 0, on_more, s);
	s->beat_ev = event_new(base, -1, EV_PERSIST, on_beat, s);
	s->stall_ev = evtimer_new(base, on_stall, s);
	s->drain_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, s);
	if (!s->more_ev || !s->beat_ev || !s->stall_ev || !s->drain_cb) {
		rc = status_fail(st, ML_ENOMEM, NULL, "out of memory");
		goto err_free;
	}
	rc = evlog_txn_begin(log, false, &txn);
	if (rc) {
		rc = status_fail(st, ML_EUNAVAIL, NULL, "cannot read the log: %s",
				 ml_strerror(rc));
		goto err_free;
	}
	rc = feed_new(txn, cfg, org, req, &s->feed, st);
	if (!rc)
		rc = start_at(s, txn, req->subscribe, st);
	ok.head_position = evlog_last_position(txn);
	evlog_txn_abort(txn);
	if (rc)
		goto err_free;
	ok.from_position = s->position;
	ok.heartbeat_ms = cfg->heartbeat_s * 1000;
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_SUBSCRIBED;
	resp.subscribed = &ok;
	if (send_result(s, &resp, NULL)) {
		rc = status_fail(st, ML_ENOMEM, NULL, "out of memory");
		goto err_free;
	}
	event_add(s->beat_ev, &(struct timeval){ .tv_sec = cfg->heartbeat_s });
	event_active(s->more_ev, EV_TIMEOUT, 0);
	*out = s;
	return 0;

err_free:
	sub_free(s);
	return rc;
}

void sub_wake(struct sub *s, struct evlog_txn *txn)
{
	if (!event_pending(s->stall_ev, EV_TIMEOUT, NULL))
		pump(s, txn);
}

void sub_drained(struct sub *s)
{
	if (s->ended || evbuffer_get_length(bufferevent_get_output(s->bev)) >= SUB_OUTPUT_LOW)
		return;
	event_del(s->stall_ev);
	pump_alone(s);
}

void sub_end(struct sub *s, int err, const char *why)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__SubscriptionEnded end = MAILLAGE__V1__SUBSCRIPTION_ENDED__INIT;
	struct status st;

	if (s->ended)
		return;
	s->ended = true;
	event_del(s->more_ev);
	event_del(s->beat_ev);
	event_del(s->stall_ev);
	status_fail(&st, err, NULL, "%s", why);
	end.position = s->position;
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_ENDED;
	resp.ended = &end;
	send_result(s, &resp, &st);
}

uint64_t sub_position(const struct sub *s)
{
	return s->position;
}

static void free_event(struct event *ev)
{
	if (ev)
		event_free(ev);
}

void sub_free(struct sub *s)
{
	if (!s)
		return;
	free_event(s->more_ev);
	free_event(s->beat_ev);
	free_event(s->stall_ev);
	if (s->drain_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(s->bev), s->drain_cb);
	feed_free(s->feed);
	free(s);
}

bool sub_ended(const struct sub *s)
{
	return s->ended;
}
